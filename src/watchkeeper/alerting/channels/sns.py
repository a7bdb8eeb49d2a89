"""Amazon SNS receiver config (``sns_configs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import ChannelConfig

__all__ = ["SNSConfig"]

_SIGV4_KEYS = {"region", "access_key", "secret_key", "profile", "role_arn", "use_fips_sts_endpoint"}


@dataclass
class SNSConfig(ChannelConfig):
    KIND = "sns"
    URL_FIELDS = ("api_url",)

    api_url: str | None = None
    sigv4: dict[str, Any] | None = None
    topic_arn: str | None = None
    phone_number: str | None = None
    target_arn: str | None = None
    subject: str = '{{ template "sns.default.subject" . }}'
    message: str = '{{ template "sns.default.message" . }}'
    attributes: dict[str, str] | None = None

    def check(self) -> None:
        super().check()
        given = [x for x in (self.target_arn, self.topic_arn, self.phone_number) if x]
        if len(given) != 1:
            raise ValueError("must provide either a Target ARN, Topic ARN, or Phone Number for SNS config")
        for k in self.sigv4 or {}:
            if k not in _SIGV4_KEYS:
                raise ValueError(f"field {k} not found in type sigv4.plain")
        if self.sigv4 and bool(self.sigv4.get("access_key")) != bool(self.sigv4.get("secret_key")):
            raise ValueError(
                "must provide a AWS SigV4 Access key and Secret Key if credentials are specified "
                "in the SigV4 config"
            )
