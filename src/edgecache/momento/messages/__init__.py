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

Layout: ``sorted_sets`` (the queues), ``items`` (scalar keys, conditional writes, counters,
TTLs), ``batches`` (GetBatch/SetBatch requests), ``_base`` (shared enum values); ``RPCS``
maps each method to its two messages, and ``STREAMING`` names the server-streaming ones
(their response message comes once per item).
"""

from __future__ import annotations

from ._base import ORDER_ASCENDING, ORDER_DESCENDING, RESULT_HIT, RESULT_MISS, RESULT_OK
from .batches import GetBatchRequest, SetBatchRequest
from .items import (
    SET_IF_CONDITIONS,
    DeleteRequest,
    DeleteResponse,
    GetRequest,
    GetResponse,
    IncrementRequest,
    IncrementResponse,
    SetIfNotExistsRequest,
    SetIfNotExistsResponse,
    SetIfRequest,
    SetIfResponse,
    SetRequest,
    SetResponse,
    UpdateTtlRequest,
    UpdateTtlResponse,
)
from .sorted_sets import (
    ByIndex,
    ByScore,
    SortedSetElement,
    SortedSetFetchRequest,
    SortedSetFetchResponse,
    SortedSetLengthRequest,
    SortedSetLengthResponse,
    SortedSetPutRequest,
    SortedSetPutResponse,
    SortedSetRemoveRequest,
    SortedSetRemoveResponse,
)


__all__ = [
    "ORDER_ASCENDING",
    "ORDER_DESCENDING",
    "RESULT_OK",
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
    "GetBatchRequest",
    "SetBatchRequest",
    "RPCS",
    "STREAMING",
]

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
    "GetBatch": (GetBatchRequest, GetResponse),
    "SetBatch": (SetBatchRequest, SetResponse),
}

STREAMING = frozenset({"GetBatch", "SetBatch"})
"""Server-streaming methods: one response message per request item, then the trailers."""
