"""Where each Momento region lives, and what to send as the API key.

Momento runs one *cell* per AWS region (momento.md §1). Its REST API is served from
``api.cache.<cell>.prod.a.momentohq.com`` and its gRPC-web API, the one the official
browser SDK uses, from ``web.cache.<cell>.prod.a.momentohq.com``. Cell names have changed
before, so :data:`CELLS` is only the default: configuration may give any endpoints
(a local stand-in, ``http://127.0.0.1:PORT/<region>``, included).

API keys come in two shapes (momento.md §1; ``@gomomento/sdk-core`` ``decodeAuthToken``):

- v1: base64 of ``{"api_key": "...", "endpoint": "<cell>.prod.a.momentohq.com"}``. The
  server wants the inner ``api_key``. The SDK's test is "is this canonical base64?"; we
  also require the decoded text to start with ``{`` so a v2 key that happens to be
  valid base64 is not misread.
- v2 (a JWT) and any other string: sent as given; they work in every region.

Errors:

    InvalidApiKeyError (ValueError)   looks like a v1 key but is not one; never echoes the key
    UnknownRegionError (KeyError)     no default cell for that region name
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

__all__ = [
    "CELLS",
    "Endpoints",
    "ApiKey",
    "InvalidApiKeyError",
    "UnknownRegionError",
    "endpoints_for_cell",
    "default_endpoints",
    "decode_api_key",
]

# momento.md §1, "Cells documented".
CELLS: dict[str, str] = {
    "us-east-1": "cell-us-east-1-1",
    "us-east-2": "cell-1-us-east-2-1",
    "us-west-2": "cell-4-us-west-2-1",
    "eu-west-1": "cell-1-eu-west-1-1",
    "eu-west-2": "cell-1-eu-west-2-1",
    "eu-central-1": "cell-1-eu-central-1-1",
    "eu-north-1": "cell-1-eu-north-1-1",
    "ap-south-1": "cell-1-ap-south-1-1",
    "ap-northeast-1": "cell-ap-northeast-1-1",
    "ap-southeast-1": "cell-1-ap-southeast-1-1",
    "ap-southeast-2": "cell-1-ap-southeast-2-1",
}

_CELL_SUFFIX = ".prod.a.momentohq.com"
_MALFORMED = object()


class InvalidApiKeyError(ValueError):
    """The key looks like a v1 (base64 JSON) key but does not carry a usable ``api_key``."""


class UnknownRegionError(KeyError):
    """No documented cell for this region; give its endpoints in configuration instead."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Endpoints:
    """Base URLs without a trailing slash; a path prefix is kept (a stand-in may use one)."""

    rest_url: str
    grpc_url: str


@dataclass(frozen=True)
class ApiKey:
    token: str
    endpoint_cell: str | None = None

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"ApiKey(token=<redacted>, endpoint_cell={self.endpoint_cell!r})"


def endpoints_for_cell(cell: str) -> Endpoints:
    return Endpoints(
        rest_url=f"https://api.cache.{cell}{_CELL_SUFFIX}",
        grpc_url=f"https://web.cache.{cell}{_CELL_SUFFIX}",
    )


def default_endpoints(region: str) -> Endpoints:
    try:
        cell = CELLS[region]
    except KeyError:
        raise UnknownRegionError(
            f"no documented Momento cell for region {region!r} (known: {', '.join(CELLS)})"
        ) from None
    return endpoints_for_cell(cell)


def decode_api_key(raw: str) -> ApiKey:
    """The token to send, and the cell a v1 key names (None for v2 keys)."""
    key = raw.strip()
    payload = _canonical_base64(key)
    if payload is None or not payload.lstrip().startswith(b"{"):
        return ApiKey(token=key, endpoint_cell=None)  # v2 (JWT) or any other opaque key
    try:
        claims = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        claims = _MALFORMED
    # Raised outside the except block on purpose: a JSONDecodeError keeps the decoded key
    # in ``.doc``, and even a suppressed ``__context__`` is reachable by a log formatter.
    if claims is _MALFORMED:
        raise InvalidApiKeyError("the API key is base64 but not the JSON of a v1 key")
    token = claims.get("api_key") if isinstance(claims, dict) else None
    if not isinstance(token, str) or not token:
        raise InvalidApiKeyError("the API key decodes to JSON without a string 'api_key' (not a v1 key)")
    endpoint = claims.get("endpoint")
    cell = endpoint.removesuffix(_CELL_SUFFIX) if isinstance(endpoint, str) and endpoint else None
    return ApiKey(token=token, endpoint_cell=cell)


def _canonical_base64(text: str) -> bytes | None:
    """The decoded bytes if ``text`` is canonical standard base64 (sdk-core ``isBase64``)."""
    if not text:
        return None
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if base64.b64encode(decoded).decode("ascii") == text else None
