"""SMS through Twilio's Messages API (``twilio_configs``; watchkeeper's addition, Alertmanager has none).

One ``POST {api_url}Accounts/{account_sid}/Messages.json`` per recipient, form-encoded ``To``, ``From``
(or ``MessagingServiceSid``) and ``Body``, with HTTP basic auth ``account_sid:auth_token``. Twilio takes
a body of at most 1,600 characters; a longer message is cut to 1,599 and ends with ``…``.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from ..schema import secret
from .base import ChannelConfig
from .fanout import FanOut
from .sending import ChannelError, SendContext, post_form, read_secret

__all__ = ["TwilioConfig", "send", "truncate_body", "MAX_BODY", "DEFAULT_API_URL"]

DEFAULT_API_URL = "https://api.twilio.com/2010-04-01/"
MAX_BODY = 1600  # Twilio's limit for one message's Body, in characters
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


@dataclass
class TwilioConfig(ChannelConfig):
    KIND = "twilio"
    URL_FIELDS = ("api_url",)
    RENAMES = {"from": "from_"}

    api_url: str = DEFAULT_API_URL
    account_sid: str | None = None
    auth_token: str | None = secret()
    auth_token_file: str | None = None
    from_: str | None = None
    messaging_service_sid: str | None = None
    to: list[str] | str | None = None
    message: str = '{{ template "twilio.default.message" . }}'
    timeout: str | None = None

    def __post_init__(self) -> None:
        self._fanout = FanOut()  # not a config field: which recipients already have the current message

    def check(self) -> None:
        super().check()
        if not self.account_sid:
            raise ValueError("missing account_sid in twilio config")
        if not _ACCOUNT_SID.fullmatch(str(self.account_sid)):
            raise ValueError(f'invalid account_sid "{self.account_sid}" in twilio config: '
                             "a Twilio Account SID is AC followed by 32 hex digits")
        if not self.auth_token and not self.auth_token_file:
            raise ValueError("one of auth_token or auth_token_file must be configured")
        self.exclusive(self.auth_token, self.auth_token_file, "auth_token")
        if bool(self.from_) == bool(self.messaging_service_sid):
            raise ValueError(
                "exactly one of from or messaging_service_sid must be configured in twilio config"
            )
        if self.messaging_service_sid and not _SERVICE_SID.fullmatch(str(self.messaging_service_sid)):
            raise ValueError(
                f'invalid messaging_service_sid "{self.messaging_service_sid}" in twilio config: '
                "a Messaging Service SID is MG followed by 32 hex digits"
            )
        if isinstance(self.to, str):
            self.to = [self.to]
        if not self.to or not isinstance(self.to, list) or not all(isinstance(t, str) and t for t in self.to):
            raise ValueError(
                "missing to in twilio config: a list of phone numbers (E.164, e.g. +15551234567)"
            )
        if not self.api_url.endswith("/"):
            self.api_url += "/"


def truncate_body(text: str) -> str:
    """Twilio's Body limit, with ``…`` marking the cut (as Alertmanager marks its truncations)."""
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - 1] + "…"


async def send(cfg: TwilioConfig, ctx: SendContext) -> None:
    """One message per recipient; a retry sends only to recipients whose message failed."""
    token = read_secret(cfg.auth_token, cfg.auth_token_file)
    url = f"{cfg.api_url}Accounts/{cfg.account_sid}/Messages.json"
    body = truncate_body(ctx.render(cfg.message))
    if cfg.from_:
        sender = {"From": str(cfg.from_)}
    else:
        sender = {"MessagingServiceSid": str(cfg.messaging_service_sid)}
    basic = base64.b64encode(f"{cfg.account_sid}:{token}".encode()).decode()
    headers = {"Accept": "application/json", "Authorization": f"Basic {basic}"}

    async def send_one(to: str) -> None:
        fields = {"To": to, **sender, "Body": body}
        try:
            await post_form(
                ctx, url, fields, http_config=cfg.http_config, headers=headers, timeout=cfg.timeout
            )
        except ChannelError as exc:  # Twilio's JSON error (code, message) is in the text
            raise ChannelError(f"SMS to {to}: {exc}", retryable=exc.retryable) from None

    await cfg._fanout.send(ctx, cfg.to or [], send_one, what="SMS")
