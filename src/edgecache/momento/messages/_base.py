"""What every message module shares: enum values and the field-less message."""

from __future__ import annotations

from ..protobuf import Writer, iter_fields

__all__ = ["ORDER_ASCENDING", "ORDER_DESCENDING", "RESULT_OK", "RESULT_HIT", "RESULT_MISS"]

ORDER_ASCENDING, ORDER_DESCENDING = 0, 1  # _SortedSetFetchRequest.Order
RESULT_OK, RESULT_HIT, RESULT_MISS = 1, 2, 3  # ECacheResult { Invalid = 0; Ok = 1; Hit = 2; Miss = 3; }

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

def _key_only(key: bytes) -> bytes:
    """Messages whose only field is ``bytes <key> = 1``."""
    return Writer().bytes(1, key).getvalue() if key else _EMPTY


def _decode_key_only(data: bytes) -> bytes:
    key = b""
    for f in iter_fields(data):
        if f.number == 1:
            key = f.as_bytes()
    return key
