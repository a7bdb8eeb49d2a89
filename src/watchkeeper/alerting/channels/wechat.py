"""WeChat receiver config (``wechat_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig

__all__ = ["WechatConfig"]


@dataclass
class WechatConfig(ChannelConfig):
    KIND = "wechat"
    SEND_RESOLVED = False
    URL_FIELDS = ("api_url",)

    api_secret: str | None = secret()
    api_secret_file: str | None = None
    corp_id: str | None = None
    message: str = '{{ template "wechat.default.message" . }}'
    message_type: str = "text"
    api_url: str | None = None
    to_user: str = '{{ template "wechat.default.to_user" . }}'
    to_party: str = '{{ template "wechat.default.to_party" . }}'
    to_tag: str = '{{ template "wechat.default.to_tag" . }}'
    agent_id: str = '{{ template "wechat.default.agent_id" . }}'

    def check(self) -> None:
        super().check()
        self.exclusive(self.api_secret, self.api_secret_file, "api_secret")
        if self.message_type not in ("text", "markdown"):
            raise ValueError(
                f'weChat message type "{self.message_type}" does not match valid options text,markdown'
            )

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        url = self.api_url or glob.wechat_api_url
        self.api_url = url if url.endswith("/") else url + "/"
        if not self.api_secret and not self.api_secret_file:
            if not glob.wechat_api_secret and not glob.wechat_api_secret_file:
                raise ValueError("no global Wechat Api Secret set either inline or in a file")
            self.api_secret, self.api_secret_file = glob.wechat_api_secret, glob.wechat_api_secret_file
        if not self.corp_id:
            if not glob.wechat_api_corp_id:
                raise ValueError("no global Wechat CorpID set")
            self.corp_id = glob.wechat_api_corp_id
