"""Scalar-item RPC messages: Get, Set, Delete, SetIf, SetIfNotExists, Increment, UpdateTtl.

The edge sends Get/Set/Delete over REST; their gRPC messages exist for the stand-in and the
oracle test, which compares them with the official SDK's. SetIf carries the lease (absent)
and the replayer's compare-and-set (equal).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protobuf import Field, Writer, iter_fields
from ._base import _EMPTY, RESULT_HIT, RESULT_MISS, _decode_key_only, _Empty, _key_only


def _encode_item(key: bytes, body: bytes, ttl_milliseconds: int) -> Writer:
    """``bytes cache_key = 1; bytes cache_body = 2; uint64 ttl_milliseconds = 3;`` (shared by
    _SetRequest, _SetIfRequest, _SetIfNotExistsRequest)."""
    w = Writer()
    if key:
        w.bytes(1, key)
    if body:
        w.bytes(2, body)
    if ttl_milliseconds:
        w.uint64(3, ttl_milliseconds)
    return w


def _read_item(msg: "_Item", f: Field) -> bool:
    """Reads one of the three shared item fields into ``msg``; False if ``f`` is another."""
    if f.number == 1:
        msg.cache_key = f.as_bytes()
    elif f.number == 2:
        msg.cache_body = f.as_bytes()
    elif f.number == 3:
        msg.ttl_milliseconds = f.as_uint64()
    else:
        return False
    return True


@dataclass
class _Item:
    cache_key: bytes = b""
    cache_body: bytes = b""
    ttl_milliseconds: int = 0

    def encode(self) -> bytes:
        return _encode_item(self.cache_key, self.cache_body, self.ttl_milliseconds).getvalue()

    @classmethod
    def decode(cls, data: bytes):  # -> an instance of cls
        msg = cls()
        for f in iter_fields(data):
            _read_item(msg, f)
        return msg


@dataclass
class SetRequest(_Item):
    """_SetRequest { bytes cache_key = 1; bytes cache_body = 2; uint64 ttl_milliseconds = 3; }"""


@dataclass
class SetResponse:
    """_SetResponse { ECacheResult result = 1; string message = 2; }

    A unary Set leaves both unset (an empty message). In a SetBatch stream each item's answer
    says ``Ok (1)``; the official SDK reads anything else as that item's error, with
    ``message`` as its text (sdk-web ``sendSetBatch``)."""

    result: int = 0
    message: str = ""

    def encode(self) -> bytes:
        w = Writer()
        if self.result:
            w.enum(1, self.result)
        if self.message:
            w.string(2, self.message)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SetResponse":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.result = f.as_enum()
            elif f.number == 2:
                msg.message = f.as_string()
        return msg


@dataclass
class SetIfNotExistsRequest(_Item):
    """_SetIfNotExistsRequest { bytes cache_key = 1; bytes cache_body = 2; uint64 ttl_milliseconds = 3; }
    The older RPC: the SDK now sends ``SetIf`` with ``absent`` instead (momento.md §3)."""


def _stored_oneof(stored: bool) -> bytes:
    """``oneof result { _Stored stored = 1; _NotStored not_stored = 2; }``"""
    return Writer().message(1 if stored else 2, _EMPTY).getvalue()


def _decode_stored(data: bytes) -> bool:
    stored = False
    for f in iter_fields(data):
        if f.number in (1, 2):
            f.as_bytes()
            stored = f.number == 1
    return stored


@dataclass
class SetIfNotExistsResponse:
    """_SetIfNotExistsResponse { oneof result { _Stored stored = 1; _NotStored not_stored = 2; } }"""

    stored: bool = False

    def encode(self) -> bytes:
        return _stored_oneof(self.stored)

    @classmethod
    def decode(cls, data: bytes) -> "SetIfNotExistsResponse":
        return cls(_decode_stored(data))


# _SetIfRequest's condition oneof: name -> (field number, carries value_to_check). The
# messages are in common.proto: Present {}, PresentAndNotEqual { bytes value_to_check = 1; },
# Absent {}, Equal {…}, AbsentOrEqual {…}, NotEqual {…}.
SET_IF_CONDITIONS: dict[str, tuple[int, bool]] = {
    "present": (4, False),
    "present_and_not_equal": (5, True),
    "absent": (6, False),
    "equal": (7, True),
    "absent_or_equal": (8, True),
    "not_equal": (9, True),
}
_CONDITION_BY_FIELD = {number: name for name, (number, _) in SET_IF_CONDITIONS.items()}


@dataclass
class SetIfRequest(_Item):
    """_SetIfRequest { bytes cache_key = 1; bytes cache_body = 2; uint64 ttl_milliseconds = 3;
    oneof condition { common.Present present = 4; common.PresentAndNotEqual present_and_not_equal = 5;
    common.Absent absent = 6; common.Equal equal = 7; common.AbsentOrEqual absent_or_equal = 8;
    common.NotEqual not_equal = 9; } }

    ``value_to_check`` is the compared value of the four conditions that carry one. A
    decoded request without a condition has ``condition=""`` (the server should reject it).
    """

    condition: str = "absent"
    value_to_check: bytes = b""

    def encode(self) -> bytes:
        try:
            number, has_value = SET_IF_CONDITIONS[self.condition]
        except KeyError:
            raise ValueError(
                f"SetIfRequest: unknown condition {self.condition!r} (known: {', '.join(SET_IF_CONDITIONS)})"
            ) from None
        w = _encode_item(self.cache_key, self.cache_body, self.ttl_milliseconds)
        inner = Writer()
        if has_value and self.value_to_check:
            inner.bytes(1, self.value_to_check)
        return w.message(number, inner.getvalue()).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SetIfRequest":
        msg = cls(condition="")
        for f in iter_fields(data):
            if _read_item(msg, f):
                continue
            name = _CONDITION_BY_FIELD.get(f.number)
            if name is not None:
                msg.condition, msg.value_to_check = name, b""
                for g in iter_fields(f.as_bytes()):
                    if g.number == 1 and SET_IF_CONDITIONS[name][1]:
                        msg.value_to_check = g.as_bytes()
        return msg


@dataclass
class SetIfResponse:
    """_SetIfResponse { oneof result { _Stored stored = 1; _NotStored not_stored = 2; } }"""

    stored: bool = False

    def encode(self) -> bytes:
        return _stored_oneof(self.stored)

    @classmethod
    def decode(cls, data: bytes) -> "SetIfResponse":
        return cls(_decode_stored(data))


@dataclass
class IncrementRequest:
    """_IncrementRequest { bytes cache_key = 1; int64 amount = 2; uint64 ttl_milliseconds = 3; }"""

    cache_key: bytes = b""
    amount: int = 0
    ttl_milliseconds: int = 0

    def encode(self) -> bytes:
        w = Writer()
        if self.cache_key:
            w.bytes(1, self.cache_key)
        if self.amount:
            w.int64(2, self.amount)  # negative: 10-byte two's complement
        if self.ttl_milliseconds:
            w.uint64(3, self.ttl_milliseconds)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "IncrementRequest":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.cache_key = f.as_bytes()
            elif f.number == 2:
                msg.amount = f.as_int64()
            elif f.number == 3:
                msg.ttl_milliseconds = f.as_uint64()
        return msg


@dataclass
class IncrementResponse:
    """_IncrementResponse { int64 value = 1; }"""

    value: int = 0

    def encode(self) -> bytes:
        return Writer().int64(1, self.value).getvalue() if self.value else _EMPTY

    @classmethod
    def decode(cls, data: bytes) -> "IncrementResponse":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.value = f.as_int64()
        return msg


_TTL_FIELDS = (("increase_to_milliseconds", 2), ("decrease_to_milliseconds", 3), ("overwrite_to_milliseconds", 4))


@dataclass
class UpdateTtlRequest:
    """_UpdateTtlRequest { bytes cache_key = 1; oneof update_ttl { uint64 increase_to_milliseconds = 2;
    uint64 decrease_to_milliseconds = 3; uint64 overwrite_to_milliseconds = 4; } }"""

    cache_key: bytes = b""
    increase_to_milliseconds: int | None = None
    decrease_to_milliseconds: int | None = None
    overwrite_to_milliseconds: int | None = None

    def encode(self) -> bytes:
        chosen = [(name, number) for name, number in _TTL_FIELDS if getattr(self, name) is not None]
        if len(chosen) > 1:
            raise ValueError(f"UpdateTtlRequest: {' and '.join(n for n, _ in chosen)} are one oneof; set one")
        w = Writer()
        if self.cache_key:
            w.bytes(1, self.cache_key)
        for name, number in chosen:
            w.uint64(number, getattr(self, name))  # oneof member: written even when 0
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "UpdateTtlRequest":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.cache_key = f.as_bytes()
            for name, number in _TTL_FIELDS:
                if f.number == number:
                    for other, _ in _TTL_FIELDS:
                        setattr(msg, other, None)
                    setattr(msg, name, f.as_uint64())
        return msg


_TTL_RESULTS = {"set": 1, "not_set": 2, "missing": 3}


@dataclass
class UpdateTtlResponse:
    """_UpdateTtlResponse { oneof result { _Set set = 1; _NotSet not_set = 2; _Missing missing = 3; } }

    ``result`` is ``"set"``, ``"not_set"`` or ``"missing"``; ``""`` if the reply had none.
    """

    result: str = "set"

    def encode(self) -> bytes:
        try:
            number = _TTL_RESULTS[self.result]
        except KeyError:
            raise ValueError(f"UpdateTtlResponse: result {self.result!r} is not one of {', '.join(_TTL_RESULTS)}") from None
        return Writer().message(number, _EMPTY).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "UpdateTtlResponse":
        msg = cls(result="")
        names = {number: name for name, number in _TTL_RESULTS.items()}
        for f in iter_fields(data):
            if f.number in names:
                f.as_bytes()
                msg.result = names[f.number]
        return msg


@dataclass
class GetRequest:
    """_GetRequest { bytes cache_key = 1; }"""

    cache_key: bytes = b""

    def encode(self) -> bytes:
        return _key_only(self.cache_key)

    @classmethod
    def decode(cls, data: bytes) -> "GetRequest":
        return cls(_decode_key_only(data))


@dataclass
class GetResponse:
    """_GetResponse { ECacheResult result = 1; bytes cache_body = 2; string message = 3; }
    ``hit`` is ``result == Hit (2)``; a miss is sent as ``Miss (3)``."""

    hit: bool = False
    cache_body: bytes = b""
    message: str = ""

    def encode(self) -> bytes:
        w = Writer().enum(1, RESULT_HIT if self.hit else RESULT_MISS)
        if self.cache_body:
            w.bytes(2, self.cache_body)
        if self.message:
            w.string(3, self.message)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "GetResponse":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.hit = f.as_enum() == RESULT_HIT
            elif f.number == 2:
                msg.cache_body = f.as_bytes()
            elif f.number == 3:
                msg.message = f.as_string()
        return msg


@dataclass
class DeleteRequest:
    """_DeleteRequest { bytes cache_key = 1; }"""

    cache_key: bytes = b""

    def encode(self) -> bytes:
        return _key_only(self.cache_key)

    @classmethod
    def decode(cls, data: bytes) -> "DeleteRequest":
        return cls(_decode_key_only(data))


class DeleteResponse(_Empty):
    """_DeleteResponse {}"""
