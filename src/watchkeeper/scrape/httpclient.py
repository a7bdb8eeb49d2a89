"""HTTP client side of scraping and HTTP SD: auth, TLS, headers, body limits.

Scrapes go through ``aiohttp`` (``make_scrape_session``/``fetch_body``): a scrape
is one small GET every interval per target, and aiohttp spends well under half
the CPU per request that ``httpx`` does. HTTP SD keeps ``httpx.AsyncClient``
(``make_client``). Options mirror Prometheus' common HTTP client config.
Credentials given as files are re-read on every request, as upstream does, so
rotated secrets take effect without a reload.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from pathlib import Path

import aiohttp
import httpx

from .config import SCRAPE_PROTOCOL_HEADERS, HTTPClientConfig

__all__ = [
    "ScrapeError",
    "make_client",
    "make_scrape_session",
    "auth_headers",
    "accept_header",
    "fetch_body",
    "USER_AGENT",
]

USER_AGENT = "Prometheus/3.0.0 (watchkeeper)"


class ScrapeError(Exception):
    """A scrape (or SD request) failed; the message is what Prometheus would show as lastError."""


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as e:
        raise ScrapeError(f"unable to read file {path}: {e}") from None


def auth_headers(cfg: HTTPClientConfig) -> dict[str, str]:
    """Authorization header for this request (reads *_file secrets now)."""
    if cfg.basic_auth is not None:
        ba = cfg.basic_auth
        user = _read(ba.username_file) if ba.username_file else ba.username
        pw = _read(ba.password_file) if ba.password_file else ba.password
        token = base64.b64encode(f"{user}:{pw}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    if cfg.authorization is not None:
        az = cfg.authorization
        cred = _read(az.credentials_file) if az.credentials_file else az.credentials
        return {"Authorization": f"{az.type} {cred}".rstrip()}
    if cfg.bearer_token or cfg.bearer_token_file:
        tok = _read(cfg.bearer_token_file) if cfg.bearer_token_file else cfg.bearer_token
        return {"Authorization": f"Bearer {tok}"}
    return {}


def _ssl_context(cfg: HTTPClientConfig) -> ssl.SSLContext | bool:
    tls = cfg.tls_config
    if not (tls.ca_file or tls.cert_file or tls.insecure_skip_verify or tls.ca):
        return True
    ctx = ssl.create_default_context(cafile=tls.ca_file or None, cadata=tls.ca or None)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file or None)
    return ctx


def make_client(cfg: HTTPClientConfig) -> httpx.AsyncClient:
    """An AsyncClient honouring TLS, redirects and proxy settings (auth is added per request)."""
    return httpx.AsyncClient(
        verify=_ssl_context(cfg),
        follow_redirects=cfg.follow_redirects,
        proxy=cfg.proxy_url or None,
        trust_env=cfg.proxy_from_environment,
        headers={"User-Agent": USER_AGENT},
    )


def make_scrape_session(cfg: HTTPClientConfig) -> aiohttp.ClientSession:
    """A scrape session honouring TLS and proxy-from-environment (redirects, proxy URL and auth
    are per request). Cookies are not kept, as in Prometheus. Call from a running event loop."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=_ssl_context(cfg)),
        trust_env=cfg.proxy_from_environment,
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def accept_header(protocols: list[str]) -> str:
    """The Accept header Prometheus sends for ``scrape_protocols`` (weights 0.6, 0.5, ...)."""
    weight = len(SCRAPE_PROTOCOL_HEADERS) + 1
    vals = []
    for p in protocols:
        v = SCRAPE_PROTOCOL_HEADERS[p]
        if p in ("PrometheusText1.0.0", "OpenMetricsText1.0.0"):
            v += ";escaping=allow-utf-8"
        vals.append(f"{v};q=0.{weight}")
        weight -= 1
    vals.append(f"*/*;q=0.{weight}")
    return ",".join(vals)


def _go_style(e: BaseException, url: str) -> str:
    """Describe a connection failure the way Go's net/http does where we can tell what happened."""
    cause: BaseException | None = e
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectorError):
            cause = cause.os_error
        if isinstance(cause, ConnectionRefusedError):
            return f"dial tcp {httpx.URL(url).netloc.decode()}: connect: connection refused"
        if isinstance(cause, socket.gaierror):
            return f"dial tcp: lookup {httpx.URL(url).host}: no such host"
        cause = cause.__cause__ or cause.__context__
    return str(e) or type(e).__name__


def _format_seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}".rstrip("0").rstrip(".")


async def fetch_body(
    session: aiohttp.ClientSession,
    cfg: HTTPClientConfig,
    url: str,
    *,
    accept: str,
    timeout_ms: int,
    body_size_limit: int = 0,
    gzip: bool = True,
    server_name: str = "",
) -> tuple[bytes, str]:
    """GET ``url`` like Prometheus' scraper; returns (decoded body, Content-Type)."""
    headers = {
        "Accept": accept,
        "Accept-Encoding": "gzip" if gzip else "identity",
        "X-Prometheus-Scrape-Timeout-Seconds": _format_seconds(timeout_ms),
    }
    headers.update(auth_headers(cfg))
    try:
        async with (
            asyncio.timeout(timeout_ms / 1000),
            session.get(
                url,
                headers=headers,
                allow_redirects=cfg.follow_redirects,
                proxy=cfg.proxy_url or None,
                server_hostname=server_name or None,
            ) as resp,
        ):
            if resp.status != 200:
                raise ScrapeError(f"server returned HTTP status {resp.status} {resp.reason}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_any():
                size += len(chunk)
                if body_size_limit and size > body_size_limit:
                    raise ScrapeError("body size limit exceeded")
                chunks.append(chunk)
            return b"".join(chunks), resp.headers.get("Content-Type", "")
    except TimeoutError:
        raise ScrapeError(f'Get "{url}": context deadline exceeded') from None
    except (aiohttp.ClientError, ValueError) as e:
        raise ScrapeError(f'Get "{url}": {_go_style(e, url)}') from None
