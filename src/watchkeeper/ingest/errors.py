"""The one error type push decoders raise; the HTTP layer maps ``status`` to the response."""

from __future__ import annotations

__all__ = ["IngestError"]


class IngestError(Exception):
    """A push body was rejected.

    ``status`` is the HTTP status the endpoint should answer with: 400 for a malformed or
    invalid body, 413 when it is too large, 415 for an unsupported content type or encoding.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"IngestError({self.status}, {self.message!r})"
