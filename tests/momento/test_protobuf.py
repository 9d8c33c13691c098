"""The proto3 wire codec: known vectors from the encoding spec, then properties."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgecache.momento.protobuf import (
    I32,
    I64,
    LEN,
    VARINT,
    DecodeError,
    Field,
    Writer,
    decode_varint,
    encode_varint,
    iter_fields,
    zigzag_decode,
    zigzag_encode,
)

U64 = (1 << 64) - 1


def parse_fields(data: bytes) -> list[Field]:
    """Every field of one message, as a list (the codec itself only iterates)."""
    return list(iter_fields(data))


@pytest.mark.parametrize(
    "value, hex_",
    [
        (0, "00"),
        (1, "01"),
        (127, "7f"),
        (128, "8001"),
        (150, "9601"),  # the spec's first example
        (300, "ac02"),
        (60000, "e0d403"),  # the TTL in momento.md's SortedSetPut example
        (U64, "ffffffffffffffffff01"),
    ],
)
def test_varint_vectors(value: int, hex_: str) -> None:
    assert encode_varint(value).hex() == hex_
    assert decode_varint(bytes.fromhex(hex_)) == (value, len(hex_) // 2)


@pytest.mark.parametrize(
    "value, hex_",
    [
        (-1, "ffffffffffffffffff01"),
        (-5, "fbffffffffffffffff01"),
        (-(1 << 63), "80808080808080808001"),
    ],
)
def test_negative_int64_is_ten_byte_twos_complement(value: int, hex_: str) -> None:
    encoded = Writer().int64(1, value).getvalue()
    assert encoded.hex() == "08" + hex_
    (field,) = parse_fields(encoded)
    assert field.as_int64() == value
    assert field.as_uint64() == value & U64


@pytest.mark.parametrize(
    "signed, unsigned",
    [(0, 0), (-1, 1), (1, 2), (-2, 3), (2147483647, 4294967294), (-2147483648, 4294967295)],
)
def test_zigzag_table(signed: int, unsigned: int) -> None:
    # encoding spec, "Signed Integers"
    assert zigzag_encode(signed) == unsigned
    assert zigzag_decode(unsigned) == signed


def test_sint32_on_the_wire() -> None:
    data = Writer().sint32(6, -1).sint32(2, 0).sint32(4, -2147483648).getvalue()
    assert data.hex() == "3001" + "1000" + "20ffffffff0f"
    assert [f.as_sint32() for f in parse_fields(data)] == [-1, 0, -2147483648]


def test_sint32_range_checked() -> None:
    with pytest.raises(ValueError):
        Writer().sint32(1, 2**31)


def test_double_is_little_endian_wire_type_1() -> None:
    data = Writer().double(2, 42.5).getvalue()
    assert data.hex() == "11" + "0000000000404540"
    assert parse_fields(data)[0].as_double() == 42.5


def test_length_delimited_and_nested() -> None:
    inner = Writer().bytes(1, b"w1").double(2, 42.5).getvalue()
    outer = Writer().bytes(1, b"q").message(2, inner).message(3, b"").getvalue()
    fields = parse_fields(outer)
    assert [(f.number, f.wire_type) for f in fields] == [(1, LEN), (2, LEN), (3, LEN)]
    assert parse_fields(fields[1].as_bytes())[1].as_double() == 42.5
    assert fields[2].as_bytes() == b""


def test_string_and_bool() -> None:
    data = Writer().string(3, "héllo").bool(4, True).bool(5, False).getvalue()
    fields = parse_fields(data)
    assert fields[0].as_string() == "héllo"
    assert [fields[1].as_bool(), fields[2].as_bool()] == [True, False]


def test_reader_returns_unknown_fields_of_every_wire_type() -> None:
    data = (
        Writer().uint64(1, 7).getvalue()
        + bytes([(9 << 3) | I32]) + struct.pack("<I", 0xDEADBEEF)  # fixed32
        + bytes([(10 << 3) | I64]) + struct.pack("<d", 1.5)
        + bytes([(11 << 3) | 3]) + Writer().uint64(1, 5).bytes(2, b"x").getvalue() + bytes([(11 << 3) | 4])  # group
        + Writer().bytes(12, b"tail").getvalue()
    )
    fields = parse_fields(data)
    assert [(f.number, f.wire_type) for f in fields] == [(1, VARINT), (9, I32), (10, I64), (12, LEN)]
    assert fields[1].value == struct.pack("<I", 0xDEADBEEF)
    assert fields[3].as_bytes() == b"tail"


@pytest.mark.parametrize(
    "hex_, why",
    [
        ("08", "truncated varint"),
        ("08ffffffffffffffffffff01", "varint longer than 10 bytes"),
        ("0a05616263", "truncated"),
        ("11000000", "truncated"),
        ("0d0000", "truncated"),
        ("0e00", "wire type 6"),
        ("0f00", "wire type 7"),
        ("0000", "field number 0"),
        ("1b0801", "never closed"),  # group 3 with no end
        ("1b08011205", "truncated group member"),
    ],
)
def test_malformed_input_raises_decode_error(hex_: str, why: str) -> None:
    with pytest.raises(DecodeError):
        parse_fields(bytes.fromhex(hex_))


def test_known_field_with_wrong_wire_type_is_an_error() -> None:
    (field,) = parse_fields(Writer().uint64(1, 3).getvalue())
    with pytest.raises(DecodeError, match="wire type 0, expected 2"):
        field.as_bytes()
    with pytest.raises(DecodeError):
        Field(1, LEN, b"\xff").as_string()


@given(st.integers(min_value=0, max_value=U64))
def test_varint_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded) == (value, len(encoded))
    assert len(encoded) <= 10


@given(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1))
def test_int64_and_sint64_round_trip(value: int) -> None:
    assert parse_fields(Writer().int64(1, value).getvalue())[0].as_int64() == value
    assert parse_fields(Writer().sint64(1, value).getvalue())[0].as_sint64() == value
    assert zigzag_decode(zigzag_encode(value)) == value


@given(st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1))
def test_sint32_round_trip(value: int) -> None:
    assert parse_fields(Writer().sint32(1, value).getvalue())[0].as_sint32() == value
    assert parse_fields(Writer().int32(1, value).getvalue())[0].as_int32() == value


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_double_round_trip(value: float) -> None:
    decoded = parse_fields(Writer().double(1, value).getvalue())[0].as_double()
    assert decoded == value or (math.isnan(value) and math.isnan(decoded))


@given(st.lists(st.tuples(st.integers(1, 1000), st.binary(max_size=40)), max_size=8))
def test_bytes_fields_round_trip(pairs: list[tuple[int, bytes]]) -> None:
    w = Writer()
    for number, value in pairs:
        w.bytes(number, value)
    assert [(f.number, f.as_bytes()) for f in parse_fields(w.getvalue())] == pairs
