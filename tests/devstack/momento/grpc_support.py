"""Raw gRPC-web calls for the tests that need more control than ``MomentoClient`` gives
(binary mode, missing headers, RPCs the client does not use), built with the project's
own codec so nothing here re-implements framing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgecache.http import Response
from edgecache.momento import grpcweb

from .support import CACHE, TOKEN, Harness


@dataclass
class GrpcResult:
    response: Response
    status: int
    message: str
    payload: bytes | None
    message_obj: Any


async def call(h: Harness, method: str, request: Any, response_type: type | None = None, *, text: bool = True,
               cache: str | None = CACHE, token: str | None = TOKEN, region: str = "us-east-1",
               body: bytes | None = None) -> GrpcResult:
    headers = [
        ("content-type", grpcweb.CONTENT_TYPE_TEXT if text else grpcweb.CONTENT_TYPE_PROTO),
        ("x-grpc-web", "1"),
    ]
    if token is not None:
        headers.append(("authorization", token))
    if cache is not None:
        headers.append(("cache", cache))
    if body is None:
        body = grpcweb.encode_request_body(request.encode(), text=text)
    response = await h.request("POST", f"/{region}/cache_client.Scs/{method}", headers=headers, body=body)
    reply = grpcweb.decode_response(response.headers, response.body, text=text)
    decoded = response_type.decode(reply.payload) if (response_type and reply.payload is not None) else None
    return GrpcResult(response, reply.status, reply.message, reply.payload, decoded)
