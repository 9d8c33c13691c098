"""A minimal proto3 wire codec: just what Momento's cache messages need.

Why not the ``protobuf`` package: the Workers run in Pyodide with no third-party packages
(pyproject ``dependencies = []``), and the dozen messages we exchange use five encodings.
Like h11, this is bytes in, bytes out; no I/O.

Wire format (protobuf encoding spec, "Message Structure"): every field is a *tag* varint
``(field_number << 3) | wire_type`` followed by its value:

    wire type 0  VARINT   int32/int64/uint32/uint64/bool/enum; sint32/sint64 zigzag-encoded
    wire type 1  I64      double (little-endian IEEE 754), fixed64
    wire type 2  LEN      bytes, string, embedded message, packed repeated
    wire type 3/4         SGROUP/EGROUP (deprecated groups: skipped when read, never written)
    wire type 5  I32      float, fixed32 (skipped when unknown)

Negative ``int64`` values are their 64-bit two's complement as an unsigned varint, so always
10 bytes; ``sint32``/``sint64`` use zigzag so that small negatives stay small.

Default-value omission (proto3 implicit presence) is the *caller's* decision, not the
writer's: :class:`Writer` writes whatever it is given. The message classes in
``messages/`` mirror google-protobuf JS's generated ``serializeBinaryToWriter`` line by
line — a singular scalar is written only when it differs from its default, while a oneof
member is written whenever it is set, even when empty or zero.

Errors:

    DecodeError (ValueError)   truncated data, over-long varint, unknown wire type in a
                               position we cannot skip, or a known field with the wrong wire type
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator

__all__ = [
    "VARINT",
    "I64",
    "LEN",
    "SGROUP",
    "EGROUP",
    "I32",
    "DecodeError",
    "Field",
    "Writer",
    "encode_varint",
    "decode_varint",
    "zigzag_encode",
    "zigzag_decode",
    "to_int64",
    "to_int32",
    "iter_fields",
]

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5

_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1


class DecodeError(ValueError):
    """The bytes are not a well-formed protobuf message."""


# -- scalars ---------------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    """Base-128 varint, least significant group first. A negative value is taken as its
    64-bit two's complement (the ``int64``/``int32`` rule), hence 10 bytes."""
    if value < 0:
        value &= _U64
    if value > _U64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """``(value, next_pos)``; the value is unsigned, truncated to 64 bits like every
    protobuf runtime does. At most 10 bytes, as the spec allows."""
    result = 0
    shift = 0
    end = len(data)
    for i in range(pos, min(pos + 10, end)):
        byte = data[i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _U64, i + 1
        shift += 7
    if end - pos >= 10:
        raise DecodeError("varint longer than 10 bytes")
    raise DecodeError("truncated varint")


def zigzag_encode(value: int) -> int:
    """sint32/sint64: 0→0, -1→1, 1→2, -2→3 … (encoding spec, "Signed Integers")."""
    return (value << 1) ^ -1 if value < 0 else value << 1


def zigzag_decode(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def to_int64(value: int) -> int:
    """An unsigned 64-bit varint read back as ``int64`` (two's complement)."""
    value &= _U64
    return value - (1 << 64) if value & (1 << 63) else value


def to_int32(value: int) -> int:
    """An unsigned varint read back as ``int32``/enum: the low 32 bits, signed."""
    value &= _U32
    return value - (1 << 32) if value & (1 << 31) else value


# -- writing ---------------------------------------------------------------------------


class Writer:
    """Appends fields to a buffer. Every method writes unconditionally (see module doc)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def _tag(self, number: int, wire_type: int) -> None:
        if not 1 <= number <= 0x1FFFFFFF:
            raise ValueError(f"bad field number {number}")
        self._buf += encode_varint((number << 3) | wire_type)

    def uint64(self, number: int, value: int) -> "Writer":
        if not 0 <= value <= _U64:
            raise ValueError(f"field {number}: uint64 out of range: {value}")
        self._tag(number, VARINT)
        self._buf += encode_varint(value)
        return self

    def uint32(self, number: int, value: int) -> "Writer":
        if not 0 <= value <= _U32:
            raise ValueError(f"field {number}: uint32 out of range: {value}")
        return self.uint64(number, value)

    def int64(self, number: int, value: int) -> "Writer":
        if not -(1 << 63) <= value < (1 << 63):
            raise ValueError(f"field {number}: int64 out of range: {value}")
        self._tag(number, VARINT)
        self._buf += encode_varint(value)
        return self

    def int32(self, number: int, value: int) -> "Writer":
        """int32 and enums: a negative value is still sign-extended to 10 bytes."""
        if not -(1 << 31) <= value < (1 << 31):
            raise ValueError(f"field {number}: int32 out of range: {value}")
        return self.int64(number, value)

    enum = int32

    def sint32(self, number: int, value: int) -> "Writer":
        if not -(1 << 31) <= value < (1 << 31):
            raise ValueError(f"field {number}: sint32 out of range: {value}")
        return self.uint64(number, zigzag_encode(value))

    def sint64(self, number: int, value: int) -> "Writer":
        if not -(1 << 63) <= value < (1 << 63):
            raise ValueError(f"field {number}: sint64 out of range: {value}")
        return self.uint64(number, zigzag_encode(value))

    def bool(self, number: int, value: bool) -> "Writer":
        return self.uint64(number, 1 if value else 0)

    def double(self, number: int, value: float) -> "Writer":
        self._tag(number, I64)
        self._buf += struct.pack("<d", value)
        return self

    def bytes(self, number: int, value: bytes) -> "Writer":
        self._tag(number, LEN)
        self._buf += encode_varint(len(value))
        self._buf += value
        return self

    def string(self, number: int, value: str) -> "Writer":
        return self.bytes(number, value.encode("utf-8"))

    message = bytes
    """An embedded message is its encoding as a LEN field (an empty message is ``b""``)."""

    def getvalue(self) -> bytes:
        return bytes(self._buf)


# -- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field as found on the wire. ``value`` is an ``int`` for VARINT and the raw
    payload ``bytes`` for LEN, I64 (8 bytes) and I32 (4 bytes)."""

    number: int
    wire_type: int
    value: int | bytes

    def _need(self, wire_type: int) -> None:
        if self.wire_type != wire_type:
            raise DecodeError(f"field {self.number}: wire type {self.wire_type}, expected {wire_type}")

    def as_uint64(self) -> int:
        self._need(VARINT)
        return self.value  # type: ignore[return-value]

    def as_uint32(self) -> int:
        return self.as_uint64() & _U32

    def as_int64(self) -> int:
        return to_int64(self.as_uint64())

    def as_int32(self) -> int:
        return to_int32(self.as_uint64())

    as_enum = as_int32

    def as_sint32(self) -> int:
        return to_int32(zigzag_decode(self.as_uint64() & _U32))

    def as_sint64(self) -> int:
        return zigzag_decode(self.as_uint64())

    def as_bool(self) -> bool:
        return self.as_uint64() != 0

    def as_double(self) -> float:
        self._need(I64)
        return struct.unpack("<d", self.value)[0]  # type: ignore[arg-type]

    def as_bytes(self) -> bytes:
        self._need(LEN)
        return self.value  # type: ignore[return-value]

    def as_string(self) -> str:
        try:
            return self.as_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"field {self.number}: string is not UTF-8") from exc


def iter_fields(data: bytes) -> Iterator[Field]:
    """Every field of one message in wire order, groups skipped.

    Unknown fields are *returned*, not dropped: the message decoders ignore numbers they do
    not know, which is what lets an older client read a newer server's replies.
    """
    view = memoryview(data)
    pos, end = 0, len(view)
    while pos < end:
        tag, pos = decode_varint(view, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise DecodeError("field number 0")
        if wire_type == VARINT:
            value, pos = decode_varint(view, pos)
            yield Field(number, wire_type, value)
        elif wire_type in (I64, I32, LEN):
            if wire_type == LEN:
                size, pos = decode_varint(view, pos)
            else:
                size = 8 if wire_type == I64 else 4
            if pos + size > end:
                raise DecodeError(f"field {number}: truncated ({size} bytes announced, {end - pos} left)")
            yield Field(number, wire_type, bytes(view[pos : pos + size]))
            pos += size
        elif wire_type == SGROUP:
            pos = _skip_group(view, pos, number)
        else:
            raise DecodeError(f"field {number}: unexpected wire type {wire_type}")


def _skip_group(view: memoryview, pos: int, number: int) -> int:
    """Skip a (deprecated) group up to its matching EGROUP; returns the position after it."""
    end = len(view)
    while pos < end:
        tag, pos = decode_varint(view, pos)
        inner, wire_type = tag >> 3, tag & 7
        if wire_type == EGROUP:
            if inner != number:
                raise DecodeError(f"group {number} closed by {inner}")
            return pos
        if wire_type == VARINT:
            _, pos = decode_varint(view, pos)
        elif wire_type == I64:
            pos += 8
        elif wire_type == I32:
            pos += 4
        elif wire_type == LEN:
            size, pos = decode_varint(view, pos)
            pos += size
        elif wire_type == SGROUP:
            pos = _skip_group(view, pos, inner)
        else:
            raise DecodeError(f"field {inner}: unexpected wire type {wire_type}")
        if pos > end:
            raise DecodeError(f"group {number}: truncated")
    raise DecodeError(f"group {number}: never closed")
