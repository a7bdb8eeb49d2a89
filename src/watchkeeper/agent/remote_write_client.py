"""Remote-write 1.0 on the sending side: encode ``prometheus.WriteRequest`` bodies and POST them.

The encoder writes the protobuf wire format by hand (the message has four fields in three
types); the agent sends about a thousand series per interval, and the encoded label block of
each series is cached across intervals since a host's label sets barely change.

The client uses ``http.client`` rather than an async stack: one keep-alive connection, one
request in flight, which is all an in-order queue drain needs and keeps the agent small.
"""

from __future__ import annotations

import base64
import http.client
import ssl
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import cramjam

from .collectors import MetricFamily

__all__ = [
    "RemoteWriteClient",
    "SendResult",
    "TLSOptions",
    "WriteRequestEncoder",
    "remote_write_headers",
]

_DOUBLE = struct.Struct("<d")


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _len_field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _uvarint(len(payload)) + payload


def _sample(value: float, ts_ms: int) -> bytes:
    # Sample{double value = 1; int64 timestamp = 2}; negative int64 is a 10-byte varint.
    return b"\x09" + _DOUBLE.pack(value) + b"\x10" + _uvarint(ts_ms & 0xFFFFFFFFFFFFFFFF)


class WriteRequestEncoder:
    """Turns metric families into snappy-compressed ``WriteRequest`` bodies.

    ``extra_labels`` (e.g. ``job``/``instance``) are added to every series unless the series
    already has that label, as Prometheus' ``honor_labels`` would keep it.
    """

    def __init__(self, *, extra_labels: Mapping[str, str] | None = None, cache_limit: int = 100_000) -> None:
        self.extra_labels = dict(extra_labels or {})
        self.cache_limit = cache_limit
        self._labels_cache: dict[tuple[tuple[str, str], ...], bytes] = {}

    def _labels_bytes(self, key: tuple[tuple[str, str], ...]) -> bytes:
        enc = self._labels_cache.get(key)
        if enc is None:
            parts = []
            for name, value in key:
                label = _len_field(0x0A, name.encode()) + _len_field(0x12, value.encode())
                parts.append(_len_field(0x0A, label))
            enc = b"".join(parts)
            if len(self._labels_cache) >= self.cache_limit:
                self._labels_cache.clear()  # series churned a lot; start over rather than grow
            self._labels_cache[key] = enc
        return enc

    def encode_protobuf(self, families: Iterable[MetricFamily], ts_ms: int) -> bytes:
        """The uncompressed ``WriteRequest``: one ``TimeSeries`` per sample, all at ``ts_ms``.

        A series repeated within the round (say a textfile redefining a collector's series) is
        sent once: receivers reject a whole request holding two values for one series and time.
        """
        out = []
        seen: set[tuple[tuple[str, str], ...]] = set()
        for fam in families:
            for labels, value in fam.samples:
                merged = dict(self.extra_labels)
                merged.update(labels)
                merged.setdefault("__name__", fam.name)
                key = tuple(sorted((k, v) for k, v in merged.items() if v != ""))
                if key in seen:
                    continue
                seen.add(key)
                series = self._labels_bytes(key) + _len_field(0x12, _sample(value, ts_ms))
                out.append(_len_field(0x0A, series))
        return b"".join(out)

    def encode(self, families: Iterable[MetricFamily], ts_ms: int) -> bytes:
        """Snappy block-compressed body, ready to POST."""
        return bytes(cramjam.snappy.compress_raw(self.encode_protobuf(families, ts_ms)))


def remote_write_headers() -> dict[str, str]:
    return {
        "Content-Encoding": "snappy",
        "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
        "User-Agent": "watchkeeper-agent",
    }


@dataclass(frozen=True)
class SendResult:
    """Outcome of one POST: ``status`` 0 means no HTTP response (connection error, timeout)."""

    status: int
    message: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """5xx, 429 and transport errors are retried; other 4xx mean the data will never be accepted."""
        return self.status == 0 or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class TLSOptions:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    server_name: str = ""
    insecure_skip_verify: bool = False


class RemoteWriteClient:
    """POSTs bodies to one remote-write URL over a reused connection."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        basic_auth: tuple[str, str] | None = None,
        bearer_token: str = "",
        tls: TLSOptions | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"remote write URL must be http(s)://host[:port]/path, got {url!r}")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._headers = remote_write_headers()
        if basic_auth is not None:
            token = base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        elif bearer_token:
            self._headers["Authorization"] = f"Bearer {bearer_token}"
        self._ssl = self._ssl_context(tls or TLSOptions()) if self._https else None
        self._server_name = (tls.server_name if tls else "") or self._host
        self._conn: http.client.HTTPConnection | None = None

    @staticmethod
    def _ssl_context(tls: TLSOptions) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=tls.ca_file or None)
        if tls.cert_file:
            ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
        if tls.insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._ssl is not None:
                self._conn = _SNIConnection(
                    self._host, self._port, timeout=self._timeout, context=self._ssl,
                    server_name=self._server_name,
                )
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._conn

    def send(self, body: bytes) -> SendResult:
        """POST one snappy body; never raises for network trouble (returns status 0)."""
        conn = self._connect()
        try:
            conn.request("POST", self._path, body=body, headers=self._headers)
            resp = conn.getresponse()
            text = resp.read(4096).decode("utf-8", "replace")
            if resp.will_close or resp.status >= 300:
                self.close()
            return SendResult(resp.status, text.strip())
        except (OSError, http.client.HTTPException) as err:
            self.close()
            return SendResult(0, f"{type(err).__name__}: {err}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _SNIConnection(http.client.HTTPSConnection):
    """HTTPS with a TLS server name that may differ from the host dialled (``tls_config.server_name``)."""

    def __init__(
        self, host: str, port: int, *, timeout: float, context: ssl.SSLContext, server_name: str
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._sni = server_name
        self._ctx = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._ctx.wrap_socket(self.sock, server_hostname=self._sni)
