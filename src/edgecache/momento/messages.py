"""Momento's cache RPC messages (package ``cache_client``), encoded both ways.

The client encodes requests and decodes responses; the local stand-in server decodes
requests and encodes responses with these same classes, so both directions exist for
every message and ``decode(encode(m)) == m``.

Field numbers come from ``cacheclient.proto`` as compiled into
``@gomomento/generated-types-webtext`` 0.126.0 (``dist/cacheclient_pb.js``, the authority;
momento.md §3 lists most of them). Each ``encode`` mirrors the generated
``serializeBinaryToWriter``: a singular scalar is written only when it is not its default
(``if (f.length > 0)``, ``if (f !== 0)``, ``if (f)``), a oneof member whenever it is set
(``if (f != null)``), even when it is an empty message or zero. The golden tests compare
our bytes with that JS code's bytes.

Decoding ignores unknown field numbers (a newer server may add fields) and takes the last
value of a singular field or oneof, as protobuf parsers do. What an unset field decodes
to is the proto3 default, which is not always our dataclass default: a ``ByScore`` without
field 6 decodes with ``count=0``, not ``-1``.

A fresh dataclass instance is a valid message; unset oneofs are ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .protobuf import Field, Writer, iter_fields

__all__ = [
    "ORDER_ASCENDING",
    "ORDER_DESCENDING",
    "RESULT_HIT",
    "RESULT_MISS",
    "SET_IF_CONDITIONS",
    "SortedSetElement",
    "SortedSetPutRequest",
    "SortedSetPutResponse",
    "ByScore",
    "ByIndex",
    "SortedSetFetchRequest",
    "SortedSetFetchResponse",
    "SortedSetRemoveRequest",
    "SortedSetRemoveResponse",
    "SortedSetLengthRequest",
    "SortedSetLengthResponse",
    "SetIfNotExistsRequest",
    "SetIfNotExistsResponse",
    "SetIfRequest",
    "SetIfResponse",
    "IncrementRequest",
    "IncrementResponse",
    "UpdateTtlRequest",
    "UpdateTtlResponse",
    "GetRequest",
    "GetResponse",
    "SetRequest",
    "SetResponse",
    "DeleteRequest",
    "DeleteResponse",
    "RPCS",
]

ORDER_ASCENDING, ORDER_DESCENDING = 0, 1  # _SortedSetFetchRequest.Order
RESULT_HIT, RESULT_MISS = 2, 3  # ECacheResult { Invalid = 0; Ok = 1; Hit = 2; Miss = 3; }

_EMPTY = b""  # an empty message (common._Unbounded, _Missing, _Stored, …) encodes to nothing


class _Empty:
    """A message with no fields: every response that only says "done"."""

    def encode(self) -> bytes:
        return _EMPTY

    @classmethod
    def decode(cls, data: bytes):  # -> an instance of cls
        for _ in iter_fields(data):  # still validates; unknown fields ignored
            pass
        return cls()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    __hash__ = object.__hash__


# -- sorted sets ------------------------------------------------------------------------


@dataclass
class SortedSetElement:
    """_SortedSetElement { bytes value = 1; double score = 2; }"""

    value: bytes = b""
    score: float = 0.0

    def encode(self) -> bytes:
        w = Writer()
        if self.value:
            w.bytes(1, self.value)
        if self.score != 0.0:  # JS `f !== 0.0`: -0.0 is omitted too, NaN is written
            w.double(2, self.score)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SortedSetElement":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.value = f.as_bytes()
            elif f.number == 2:
                msg.score = f.as_double()
        return msg


@dataclass
class SortedSetPutRequest:
    """_SortedSetPutRequest { bytes set_name = 1; repeated _SortedSetElement elements = 2;
    uint64 ttl_milliseconds = 3; bool refresh_ttl = 4; }"""

    set_name: bytes = b""
    elements: list[SortedSetElement] = field(default_factory=list)
    ttl_milliseconds: int = 0
    refresh_ttl: bool = False

    def encode(self) -> bytes:
        w = Writer()
        if self.set_name:
            w.bytes(1, self.set_name)
        for element in self.elements:
            w.message(2, element.encode())
        if self.ttl_milliseconds:
            w.uint64(3, self.ttl_milliseconds)
        if self.refresh_ttl:
            w.bool(4, True)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SortedSetPutRequest":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.set_name = f.as_bytes()
            elif f.number == 2:
                msg.elements.append(SortedSetElement.decode(f.as_bytes()))
            elif f.number == 3:
                msg.ttl_milliseconds = f.as_uint64()
            elif f.number == 4:
                msg.refresh_ttl = f.as_bool()
        return msg


class SortedSetPutResponse(_Empty):
    """_SortedSetPutResponse {}"""


def _score(score: float, exclusive: bool) -> bytes:
    """_ByScore._Score { double score = 1; bool exclusive = 2; }"""
    w = Writer()
    if score != 0.0:
        w.double(1, score)
    if exclusive:
        w.bool(2, True)
    return w.getvalue()


def _decode_score(data: bytes) -> tuple[float, bool]:
    score, exclusive = 0.0, False
    for f in iter_fields(data):
        if f.number == 1:
            score = f.as_double()
        elif f.number == 2:
            exclusive = f.as_bool()
    return score, exclusive


@dataclass
class ByScore:
    """_SortedSetFetchRequest._ByScore {
        oneof min { common._Unbounded unbounded_min = 1; _Score min_score = 2; }
        oneof max { common._Unbounded unbounded_max = 3; _Score max_score = 4; }
        uint32 offset = 5; sint32 count = 6; }

    ``None`` bounds are sent as ``_Unbounded``, as the SDK does; ``count=-1`` means "all"
    (the service reserves negative counts for that).
    """

    min_score: float | None = None
    min_exclusive: bool = False
    max_score: float | None = None
    max_exclusive: bool = False
    offset: int = 0
    count: int = -1

    def encode(self) -> bytes:
        w = Writer()
        if self.min_score is None:
            w.message(1, _EMPTY)
        else:
            w.message(2, _score(self.min_score, self.min_exclusive))
        if self.max_score is None:
            w.message(3, _EMPTY)
        else:
            w.message(4, _score(self.max_score, self.max_exclusive))
        if self.offset:
            w.uint32(5, self.offset)
        if self.count:
            w.sint32(6, self.count)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "ByScore":
        msg = cls(count=0)
        for f in iter_fields(data):
            if f.number == 1:
                f.as_bytes()
                msg.min_score, msg.min_exclusive = None, False
            elif f.number == 2:
                msg.min_score, msg.min_exclusive = _decode_score(f.as_bytes())
            elif f.number == 3:
                f.as_bytes()
                msg.max_score, msg.max_exclusive = None, False
            elif f.number == 4:
                msg.max_score, msg.max_exclusive = _decode_score(f.as_bytes())
            elif f.number == 5:
                msg.offset = f.as_uint32()
            elif f.number == 6:
                msg.count = f.as_sint32()
        return msg


@dataclass
class ByIndex:
    """_SortedSetFetchRequest._ByIndex {
        oneof start { common._Unbounded unbounded_start = 1; sint32 inclusive_start_index = 2; }
        oneof end   { common._Unbounded unbounded_end = 3;   sint32 exclusive_end_index = 4; } }

    Being oneof members, the indexes are written even when 0.
    """

    start: int | None = None
    end: int | None = None

    def encode(self) -> bytes:
        w = Writer()
        if self.start is None:
            w.message(1, _EMPTY)
        else:
            w.sint32(2, self.start)
        if self.end is None:
            w.message(3, _EMPTY)
        else:
            w.sint32(4, self.end)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "ByIndex":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                f.as_bytes()
                msg.start = None
            elif f.number == 2:
                msg.start = f.as_sint32()
            elif f.number == 3:
                f.as_bytes()
                msg.end = None
            elif f.number == 4:
                msg.end = f.as_sint32()
        return msg


@dataclass
class SortedSetFetchRequest:
    """_SortedSetFetchRequest { bytes set_name = 1; Order order = 2; bool with_scores = 3;
    oneof range { _ByIndex by_index = 4; _ByScore by_score = 5; } }"""

    set_name: bytes = b""
    order: int = ORDER_ASCENDING
    with_scores: bool = True
    by_score: ByScore | None = None
    by_index: ByIndex | None = None

    def encode(self) -> bytes:
        if self.by_score is not None and self.by_index is not None:
            raise ValueError("SortedSetFetchRequest: by_score and by_index are one oneof; set one")
        w = Writer()
        if self.set_name:
            w.bytes(1, self.set_name)
        if self.order:
            w.enum(2, self.order)
        if self.with_scores:
            w.bool(3, True)
        if self.by_index is not None:
            w.message(4, self.by_index.encode())
        if self.by_score is not None:
            w.message(5, self.by_score.encode())
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SortedSetFetchRequest":
        msg = cls(with_scores=False)
        for f in iter_fields(data):
            if f.number == 1:
                msg.set_name = f.as_bytes()
            elif f.number == 2:
                msg.order = f.as_enum()
            elif f.number == 3:
                msg.with_scores = f.as_bool()
            elif f.number == 4:
                msg.by_index, msg.by_score = ByIndex.decode(f.as_bytes()), None
            elif f.number == 5:
                msg.by_score, msg.by_index = ByScore.decode(f.as_bytes()), None
        return msg


@dataclass
class SortedSetFetchResponse:
    """_SortedSetFetchResponse { oneof sorted_set { _Found found = 1; _Missing missing = 2; } }
      _Found { oneof elements { _ValuesWithScores values_with_scores = 1; _Values values = 2; } }
      _ValuesWithScores { repeated _SortedSetElement elements = 1; }
      _Values { repeated bytes values = 1; }

    The values-only form (``with_scores=False``) decodes to elements with score 0.0.
    """

    found: bool = False
    elements: list[SortedSetElement] = field(default_factory=list)
    with_scores: bool = True

    def encode(self) -> bytes:
        w = Writer()
        if not self.found:
            return w.message(2, _EMPTY).getvalue()
        inner = Writer()
        if self.with_scores:
            inner.message(1, _encode_repeated_messages(1, self.elements))
        else:
            values = Writer()
            for element in self.elements:
                values.bytes(1, element.value)
            inner.message(2, values.getvalue())
        return w.message(1, inner.getvalue()).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SortedSetFetchResponse":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.found, msg.elements, msg.with_scores = True, [], True
                for g in iter_fields(f.as_bytes()):
                    if g.number == 1:
                        msg.with_scores = True
                        msg.elements = [
                            SortedSetElement.decode(h.as_bytes()) for h in iter_fields(g.as_bytes()) if h.number == 1
                        ]
                    elif g.number == 2:
                        msg.with_scores = False
                        msg.elements = [
                            SortedSetElement(h.as_bytes(), 0.0) for h in iter_fields(g.as_bytes()) if h.number == 1
                        ]
            elif f.number == 2:
                f.as_bytes()
                msg.found, msg.elements, msg.with_scores = False, [], True
        return msg


def _encode_repeated_messages(number: int, items: list[SortedSetElement]) -> bytes:
    w = Writer()
    for item in items:
        w.message(number, item.encode())
    return w.getvalue()


@dataclass
class SortedSetRemoveRequest:
    """_SortedSetRemoveRequest { bytes set_name = 1;
    oneof remove_elements { _All all = 2; _Some some = 3; } }  _Some { repeated bytes values = 1; }

    ``values=None`` removes every element (``all``).
    """

    set_name: bytes = b""
    values: list[bytes] | None = None

    def encode(self) -> bytes:
        w = Writer()
        if self.set_name:
            w.bytes(1, self.set_name)
        if self.values is None:
            w.message(2, _EMPTY)
        else:
            some = Writer()
            for value in self.values:
                some.bytes(1, value)
            w.message(3, some.getvalue())
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SortedSetRemoveRequest":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.set_name = f.as_bytes()
            elif f.number == 2:
                f.as_bytes()
                msg.values = None
            elif f.number == 3:
                msg.values = [g.as_bytes() for g in iter_fields(f.as_bytes()) if g.number == 1]
        return msg


class SortedSetRemoveResponse(_Empty):
    """_SortedSetRemoveResponse {}"""


@dataclass
class SortedSetLengthRequest:
    """_SortedSetLengthRequest { bytes set_name = 1; }"""

    set_name: bytes = b""

    def encode(self) -> bytes:
        return _key_only(self.set_name)

    @classmethod
    def decode(cls, data: bytes) -> "SortedSetLengthRequest":
        return cls(_decode_key_only(data))


@dataclass
class SortedSetLengthResponse:
    """_SortedSetLengthResponse { oneof sorted_set { _Found found = 1; _Missing missing = 2; } }
    _Found { uint32 length = 1; }"""

    found: bool = False
    length: int = 0

    def encode(self) -> bytes:
        w = Writer()
        if not self.found:
            return w.message(2, _EMPTY).getvalue()
        inner = Writer()
        if self.length:
            inner.uint32(1, self.length)
        return w.message(1, inner.getvalue()).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SortedSetLengthResponse":
        msg = cls()
        for f in iter_fields(data):
            if f.number == 1:
                msg.found, msg.length = True, 0
                for g in iter_fields(f.as_bytes()):
                    if g.number == 1:
                        msg.length = g.as_uint32()
            elif f.number == 2:
                f.as_bytes()
                msg.found, msg.length = False, 0
        return msg


# -- scalar items -----------------------------------------------------------------------


def _key_only(key: bytes) -> bytes:
    """Messages whose only field is ``bytes <key> = 1``."""
    return Writer().bytes(1, key).getvalue() if key else _EMPTY


def _decode_key_only(data: bytes) -> bytes:
    key = b""
    for f in iter_fields(data):
        if f.number == 1:
            key = f.as_bytes()
    return key


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


class SetResponse(_Empty):
    """_SetResponse {}: 0.126.0 still declares ``ECacheResult result = 1; string message = 2``,
    which the service leaves unset; decoding ignores them."""


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


# Method name (the last part of ``POST <base>/cache_client.Scs/<Method>``) → (request, response).
RPCS: dict[str, tuple[type, type]] = {
    "Get": (GetRequest, GetResponse),
    "Set": (SetRequest, SetResponse),
    "Delete": (DeleteRequest, DeleteResponse),
    "SetIf": (SetIfRequest, SetIfResponse),
    "SetIfNotExists": (SetIfNotExistsRequest, SetIfNotExistsResponse),
    "Increment": (IncrementRequest, IncrementResponse),
    "UpdateTtl": (UpdateTtlRequest, UpdateTtlResponse),
    "SortedSetPut": (SortedSetPutRequest, SortedSetPutResponse),
    "SortedSetFetch": (SortedSetFetchRequest, SortedSetFetchResponse),
    "SortedSetRemove": (SortedSetRemoveRequest, SortedSetRemoveResponse),
    "SortedSetLength": (SortedSetLengthRequest, SortedSetLengthResponse),
}
