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

from dataclasses import dataclass, field

from ..protobuf import Writer, iter_fields
from .items import GetRequest, SetRequest

__all__ = ["GetBatchRequest", "SetBatchRequest"]


@dataclass
class GetBatchRequest:
    """_GetBatchRequest { repeated _GetRequest items = 1; }"""

    items: list[GetRequest] = field(default_factory=list)

    def encode(self) -> bytes:
        w = Writer()
        for item in self.items:
            w.message(1, item.encode())
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "GetBatchRequest":
        return cls([GetRequest.decode(f.as_bytes()) for f in iter_fields(data) if f.number == 1])


@dataclass
class SetBatchRequest:
    """_SetBatchRequest { repeated _SetRequest items = 1; }"""

    items: list[SetRequest] = field(default_factory=list)

    def encode(self) -> bytes:
        w = Writer()
        for item in self.items:
            w.message(1, item.encode())
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> "SetBatchRequest":
        return cls([SetRequest.decode(f.as_bytes()) for f in iter_fields(data) if f.number == 1])
