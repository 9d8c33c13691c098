"""Batch RPC messages: GetBatch and SetBatch, many items in one call.

Both are *server-streaming* gRPC-web calls (``@gomomento/generated-types-webtext``
``CacheclientServiceClientPb.js``: ``getBatch``/``setBatch`` use ``serverStreaming``): one
request message, then one response message per item, in request order, then the trailers.
So the responses are the unary ones, ``GetResponse`` and ``SetResponse`` (``items``); only the
requests are new:

    _GetBatchRequest { repeated _GetRequest items = 1; }
    _SetBatchRequest { repeated _SetRequest items = 1; }

The official SDK builds them this way (sdk-web ``sendGetBatch``/``sendSetBatch``) and reads
the n-th streamed answer as the n-th key's (``CacheGetBatch.Success(results, keys)``).
"""

from __future__ import annotations

from ..protobuf import Writer, iter_fields
from .items import GetRequest, SetRequest

__all__ = ["GetBatchRequest", "SetBatchRequest"]


class _Items:
    """``repeated <item message> items = 1;``: the shape of both batch requests."""

    item_type: type = GetRequest

    def __init__(self, items: list | None = None) -> None:
        self.items = list(items or [])

    def encode(self) -> bytes:
        w = Writer()
        for item in self.items:
            w.message(1, item.encode())
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes):  # -> an instance of cls
        return cls([cls.item_type.decode(f.as_bytes()) for f in iter_fields(data) if f.number == 1])

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.items == self.items  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.items!r})"

    __hash__ = object.__hash__


class GetBatchRequest(_Items):
    """_GetBatchRequest { repeated _GetRequest items = 1; }"""

    item_type = GetRequest


class SetBatchRequest(_Items):
    """_SetBatchRequest { repeated _SetRequest items = 1; }"""

    item_type = SetRequest
