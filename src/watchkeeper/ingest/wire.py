"""Minimal protobuf wire-format reading for the hand-decoded push formats.

Remote write is decoded by hand (see remote_write.py for why); these helpers walk
fields and varints on a ``bytes`` object and raise ``IngestError`` on anything malformed.
"""

from __future__ import annotations

import struct

from .errors import IngestError

__all__ = ["read_uvarint", "skip_field", "read_key", "read_len", "unpack_double"]

unpack_double = struct.Struct("<d").unpack_from


def read_uvarint(buf: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """Read an unsigned varint at ``pos``; return (value, next position)."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise IngestError(400, f"truncated body: varint ({what}) runs past the end at byte {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if shift == 63 and b > 1:
                raise IngestError(400, f"invalid varint ({what}) at byte {pos - 1}: overflows 64 bits")
            return result, pos
        shift += 7
        if shift > 63:
            raise IngestError(400, f"invalid varint ({what}) at byte {pos - 1}: longer than 10 bytes")


def read_key(buf: bytes, pos: int, end: int, what: str) -> tuple[int, int, int]:
    """Read a field key; return (field number, wire type, next position)."""
    key, pos = read_uvarint(buf, pos, end, what)
    field, wire = key >> 3, key & 7
    if field == 0:
        raise IngestError(400, f"invalid field number 0 in {what} at byte {pos - 1}")
    return field, wire, pos


def read_len(buf: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """Read a length prefix and check the payload fits; return (payload end, payload start)."""
    ln, pos = read_uvarint(buf, pos, end, what)
    if pos + ln > end:
        raise IngestError(
            400, f"truncated body: {what} at byte {pos} claims {ln} bytes but only {end - pos} remain"
        )
    return pos + ln, pos


def skip_field(buf: bytes, pos: int, end: int, wire: int, what: str) -> int:
    """Skip the value of a field of wire type ``wire`` starting at ``pos``."""
    if wire == 0:
        return read_uvarint(buf, pos, end, what)[1]
    if wire == 1:
        nxt = pos + 8
    elif wire == 2:
        return read_len(buf, pos, end, what)[0]
    elif wire == 5:
        nxt = pos + 4
    else:
        raise IngestError(400, f"unsupported protobuf wire type {wire} in {what} at byte {pos}")
    if nxt > end:
        raise IngestError(400, f"truncated body: fixed-size field in {what} runs past byte {end}")
    return nxt
