"""Sorted-set RPC messages: SortedSetPut, SortedSetFetch, SortedSetRemove, SortedSetLength.

The write queue and the dead-letter queue are sorted sets (``edgecache.queue``); see the
package docstring for the encoding rules every message here follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..protobuf import Writer, iter_fields
from ._base import _EMPTY, _decode_key_only, _key_only, ORDER_ASCENDING, _Empty


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
