"""Email receiver config (``email_configs``); SMTP settings default to the global ``smtp_*`` values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig

__all__ = ["EmailConfig"]


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
