"""HTTP body content encodings shared by the text and OTLP push endpoints."""

from __future__ import annotations

import zlib

from .errors import IngestError

__all__ = ["DEFAULT_MAX_DECODED_BYTES", "decompress_body"]

DEFAULT_MAX_DECODED_BYTES = 256 << 20


def decompress_body(body: bytes, content_encoding: str | None, max_decoded_bytes: int) -> bytes:
    """Undo ``gzip``/``deflate`` (bounded; 413 beyond ``max_decoded_bytes``); 415 for others."""
    enc = (content_encoding or "identity").strip().lower()
    if enc in ("", "identity"):
        data = body
    elif enc in ("gzip", "x-gzip", "deflate"):
        # wbits: 16+ for a gzip wrapper, 32+ lets zlib detect zlib/gzip for "deflate".
        d = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in enc else 32 + zlib.MAX_WBITS)
        try:
            data = d.decompress(body, max_decoded_bytes + 1)
        except zlib.error as err:
            raise IngestError(400, f"invalid {enc} body: {err}") from None
        if not d.eof and len(data) <= max_decoded_bytes:
            raise IngestError(400, f"invalid {enc} body: truncated compressed stream")
    else:
        raise IngestError(415, f"unsupported Content-Encoding {content_encoding!r}: use gzip or none")
    if len(data) > max_decoded_bytes:
        raise IngestError(413, f"decoded body exceeds the limit of {max_decoded_bytes} bytes")
    return data
