"""The API token check shared by REST, gRPC-web and the admin API.

momento.md §2: REST takes the token in ``Authorization`` (bare, no "Bearer") or in
``?token=``, never both (400). gRPC-web takes it only in the ``authorization`` header (§3).
The comparison is constant-time, and no message here ever repeats what was sent.
"""

from __future__ import annotations

import hmac
from typing import Mapping

from edgecache.http import Headers

from ._errors import InvalidArgument, Unauthenticated

__all__ = ["check_rest_token", "check_header_token"]


def check_rest_token(headers: Headers, query: Mapping[str, list[str]], expected: str) -> None:
    header = headers.get("authorization")
    in_query = query.get("token")
    if header is not None and in_query:
        raise InvalidArgument("Provide the auth token in the Authorization header or the token query parameter, not both")
    _check(header if header is not None else (in_query[0] if in_query else None), expected)


def check_header_token(headers: Headers, expected: str) -> None:
    _check(headers.get("authorization"), expected)


def _check(given: str | None, expected: str) -> None:
    if not given:
        raise Unauthenticated("Missing auth token")
    if not hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8")):
        raise Unauthenticated("Invalid auth token")
