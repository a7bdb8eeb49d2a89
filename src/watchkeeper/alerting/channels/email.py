"""Email receiver config (``email_configs``); SMTP settings default to the global ``smtp_*`` values."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig
from .sending import ChannelError, SendContext, read_secret

__all__ = ["EmailConfig", "send"]


@dataclass
class EmailConfig(ChannelConfig):
    KIND = "email"
    GO_TYPE = "config.plain"
    SEND_RESOLVED = False
    RENAMES = {"from": "from_"}

    to: str | None = None
    from_: str | None = None
    hello: str | None = None
    smarthost: str | None = None
    auth_username: str | None = None
    auth_password: str | None = secret()
    auth_password_file: str | None = None
    auth_secret: str | None = secret()
    auth_secret_file: str | None = None
    auth_identity: str | None = None
    headers: dict[str, str] | None = None
    html: str = '{{ template "email.default.html" . }}'
    text: str | None = None
    require_tls: bool | None = None
    tls_config: dict[str, Any] | None = None
    force_implicit_tls: bool | None = None
    threading: dict[str, Any] | None = None

    def check(self) -> None:
        super().check()
        if not self.to:
            raise ValueError("missing to address in email config")
        self.exclusive(self.auth_password, self.auth_password_file, "auth_password")
        self.exclusive(self.auth_secret, self.auth_secret_file, "auth_secret")
        # Header names are case-insensitive; Alertmanager canonicalises them and rejects duplicates.
        normalized: dict[str, str] = {}
        for k, v in (self.headers or {}).items():
            canon = "-".join(p.capitalize() for p in str(k).split("-"))
            if canon in normalized:
                raise ValueError(f'duplicate header "{canon}" in email config')
            normalized[canon] = v
        self.headers = normalized

    def resolve(self, glob: GlobalConfig) -> None:
        if self.tls_config is None:
            self.tls_config = glob.smtp_tls_config
        if not self.smarthost:
            if not glob.smtp_smarthost:
                raise ValueError("no global SMTP smarthost set")
            self.smarthost = glob.smtp_smarthost
        if not self.from_:
            if not glob.smtp_from:
                raise ValueError("no global SMTP from set")
            self.from_ = glob.smtp_from
        self.hello = self.hello or glob.smtp_hello
        self.auth_username = self.auth_username or glob.smtp_auth_username
        if not self.auth_password and not self.auth_password_file:
            self.auth_password, self.auth_password_file = (
                glob.smtp_auth_password,
                glob.smtp_auth_password_file,
            )
        if not self.auth_secret and not self.auth_secret_file:
            self.auth_secret, self.auth_secret_file = glob.smtp_auth_secret, glob.smtp_auth_secret_file
        self.auth_identity = self.auth_identity or glob.smtp_auth_identity
        if self.require_tls is None:
            self.require_tls = glob.smtp_require_tls
        if self.force_implicit_tls is None:
            self.force_implicit_tls = glob.smtp_force_implicit_tls


def _tls_context(tls: dict[str, Any] | None) -> ssl.SSLContext:
    tls = tls or {}
    ctx = ssl.create_default_context(cafile=tls.get("ca_file"))
    if tls.get("cert_file"):
        ctx.load_cert_chain(tls["cert_file"], tls.get("key_file"))
    if tls.get("insecure_skip_verify"):
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def build_message(cfg: EmailConfig, ctx: SendContext) -> EmailMessage:
    """The MIME message: configured headers rendered (Subject/To/From defaulted), a text part (the
    configured ``text`` or watchkeeper's ``email.default.text``) and the HTML part as alternative."""
    msg = EmailMessage()
    headers = {"Subject": '{{ template "email.default.subject" . }}', "To": cfg.to, "From": cfg.from_}
    headers.update(cfg.headers or {})
    for name, value in headers.items():
        msg[name] = ctx.render(value)
    msg["Date"] = formatdate(ctx.now / 1e9)
    msg["Message-Id"] = make_msgid(domain=(cfg.hello or "localhost"))
    msg.set_content(ctx.render(cfg.text if cfg.text is not None else '{{ template "email.default.text" . }}'))
    if cfg.html:
        msg.add_alternative(ctx.render(cfg.html, html=True), subtype="html")
    return msg


async def send(cfg: EmailConfig, ctx: SendContext) -> None:
    """Deliver over SMTP: implicit TLS on port 465 or with ``force_implicit_tls``, otherwise STARTTLS
    (mandatory with ``require_tls``, else used when offered), then AUTH when a username is set."""
    host, _, port_text = str(cfg.smarthost).rpartition(":")
    port = int(port_text)
    implicit = bool(cfg.force_implicit_tls) or (cfg.force_implicit_tls is None and port == 465)
    tls = _tls_context(cfg.tls_config)
    password = read_secret(cfg.auth_password, cfg.auth_password_file)
    msg = build_message(cfg, ctx)
    recipients = [a.strip() for a in str(msg["To"]).split(",") if a.strip()]
    try:
        await aiosmtplib.send(
            msg,
            sender=str(msg["From"]),
            recipients=recipients,
            hostname=host,
            port=port,
            local_hostname=cfg.hello,
            use_tls=implicit,
            start_tls=False if implicit else (True if cfg.require_tls else None),
            tls_context=tls,
            username=cfg.auth_username or None,
            password=password if cfg.auth_username else None,
            timeout=30,
        )
    except aiosmtplib.SMTPResponseException as exc:
        # 4xx replies are transient by SMTP's own definition; 5xx are permanent.
        raise ChannelError(f"SMTP {exc.code}: {exc.message}", retryable=400 <= exc.code < 500) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP {host}:{port}: {exc}", retryable=True) from None
