"""Momento for edgecache: a sans-I/O codec (protobuf, gRPC-web, messages) and an async
client that reaches Momento only through the injected ``edgecache.http`` fetch.

Modules, one concept each:

    protobuf   proto3 wire format (varint, zigzag, int64, double, length-delimited)
    grpcweb    gRPC-web frames, base64 text mode, trailers; client and server helpers
    messages   the cache_client messages used here, encode and decode both ways, and RPCS
    errors     the MomentoError tree
    cells      region → cell endpoints, API key decoding
    client     MomentoClient (REST for items and topics, gRPC-web for the rest)
"""

from .cells import (
    CELLS,
    ApiKey,
    Endpoints,
    InvalidApiKeyError,
    UnknownRegionError,
    decode_api_key,
    default_endpoints,
    endpoints_for_cell,
)
from .client import MomentoClient
from .errors import (
    CacheNotFoundError,
    LimitExceededError,
    MomentoAuthError,
    MomentoError,
    MomentoRequestError,
    MomentoTimeoutError,
    MomentoUnavailableError,
)
from .messages import RPCS

__all__ = [
    "MomentoClient",
    "Endpoints",
    "ApiKey",
    "CELLS",
    "default_endpoints",
    "endpoints_for_cell",
    "decode_api_key",
    "InvalidApiKeyError",
    "UnknownRegionError",
    "MomentoError",
    "MomentoAuthError",
    "CacheNotFoundError",
    "LimitExceededError",
    "MomentoUnavailableError",
    "MomentoTimeoutError",
    "MomentoRequestError",
    "RPCS",
]
