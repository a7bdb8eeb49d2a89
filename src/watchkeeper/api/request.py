"""Reading Prometheus API requests: merged query/form parameters and bounded bodies."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import MultiDict
from starlette.requests import Request

from .errors import bad_data

__all__ = ["BodyTooLarge", "form_params", "read_body"]

_FORM = "application/x-www-form-urlencoded"
# Grafana posts long queries and many match[] selectors as forms; 10 MiB is Go's own form limit.
_MAX_FORM_BYTES = 10 << 20


async def form_params(request: Request) -> MultiDict:
    """URL query parameters plus, for form POSTs, the form fields (Go's ``r.Form``)."""
    items = list(request.query_params.multi_items())
    if request.method in ("POST", "PUT") and request.headers.get("content-type", "").startswith(_FORM):
        try:
            body = await read_body(request, _MAX_FORM_BYTES)
        except BodyTooLarge as e:
            raise bad_data(f"error parsing form: {e}") from None
        items.extend(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return MultiDict(items)


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body too large: limit is {limit} bytes")
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with ``BodyTooLarge`` as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
