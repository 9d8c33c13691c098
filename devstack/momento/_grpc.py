"""Momento's gRPC-web API for one region (momento.md §3), on top of the project's codec.

    POST <region base>/cache_client.Scs/<Method>
    content-type: application/grpc-web-text (base64 frames; what @gomomento/sdk-web sends)
                | application/grpc-web+proto (raw frames)
    authorization: <token>        cache: <cache name>

Framing and messages are ``edgecache.momento.grpcweb`` and ``edgecache.momento.messages``
(the same classes the client uses, checked against Momento's generated JS code by the
golden tests): this module only maps an RPC onto the keyspace.

The answer is always HTTP 200 in the mode the caller used: a data frame then a trailers
frame ``grpc-status: 0`` on success, a trailers frame alone on failure (16 token, 5 cache,
3 argument, 8 limit, 9 precondition, 12 unknown method). Why not the trailers-only form
(status in HTTP headers) by default: both are valid gRPC-web, and the frame keeps
``grpc-message`` out of header-size limits; the client and the SDK read either.

Two wire-shape knobs (``MomentoStandIn(grpc_flush_per_frame=…, grpc_trailers_only=…)``),
off by default, each a shape real gRPC-web servers send and clients must read
(grpc/grpc ``doc/PROTOCOL-WEB.md``):

``flush_per_frame``  text mode only: each frame base64'd and padded on its own, so the body
                     is several padded chunks glued together ("the server runtime will
                     always base64-encode and flush gRPC messages atomically"; "the entire
                     response body is not necessarily a valid base64-encoded entity").
``trailers_only``    a failure carries ``grpc-status``/``grpc-message`` (percent-encoded) as
                     HTTP headers with an empty body ("Trailers-only responses … Trailers may
                     be sent together with response headers, with no message in the body";
                     momento.md §3). Successes still end in a trailers frame.

``encode_answer`` is the one place both are applied (injected faults use it too).
"""

from __future__ import annotations

from typing import Callable

from edgecache.http import Request, Response
from edgecache.momento import grpcweb
from edgecache.momento import messages as m
from edgecache.momento.protobuf import DecodeError

from ._auth import check_header_token
from ._errors import CacheNotFound, InvalidArgument, RouteNotFound, StandInError
from ._ranges import select
from ._store import Keyspace

__all__ = ["GRPC_PREFIX", "grpc_op", "handle_grpc", "encode_answer", "SERVED_METHODS"]

GRPC_PREFIX = "cache_client.Scs"


def _get(ks: Keyspace, req: m.GetRequest) -> m.GetResponse:
    value = ks.get(req.cache_key)
    return m.GetResponse(hit=True, cache_body=value) if value is not None else m.GetResponse(hit=False)


def _set(ks: Keyspace, req: m.SetRequest) -> m.SetResponse:
    ks.set(req.cache_key, req.cache_body, req.ttl_milliseconds)
    return m.SetResponse()


def _delete(ks: Keyspace, req: m.DeleteRequest) -> m.DeleteResponse:
    ks.delete(req.cache_key)
    return m.DeleteResponse()


def _set_if_not_exists(ks: Keyspace, req: m.SetIfNotExistsRequest) -> m.SetIfNotExistsResponse:
    return m.SetIfNotExistsResponse(ks.set_if(req.cache_key, req.cache_body, req.ttl_milliseconds, "absent"))


def _set_if(ks: Keyspace, req: m.SetIfRequest) -> m.SetIfResponse:
    return m.SetIfResponse(ks.set_if(req.cache_key, req.cache_body, req.ttl_milliseconds, req.condition, req.value_to_check))


def _increment(ks: Keyspace, req: m.IncrementRequest) -> m.IncrementResponse:
    return m.IncrementResponse(ks.increment(req.cache_key, req.amount, req.ttl_milliseconds))


def _update_ttl(ks: Keyspace, req: m.UpdateTtlRequest) -> m.UpdateTtlResponse:
    result = ks.update_ttl(
        req.cache_key,
        overwrite_ms=req.overwrite_to_milliseconds,
        increase_to_ms=req.increase_to_milliseconds,
        decrease_to_ms=req.decrease_to_milliseconds,
    )
    return m.UpdateTtlResponse(result)


def _sorted_set_put(ks: Keyspace, req: m.SortedSetPutRequest) -> m.SortedSetPutResponse:
    ks.sorted_set_put(req.set_name, [(e.value, e.score) for e in req.elements], req.ttl_milliseconds, req.refresh_ttl)
    return m.SortedSetPutResponse()


def _sorted_set_fetch(ks: Keyspace, req: m.SortedSetFetchRequest) -> m.SortedSetFetchResponse:
    scores = ks.sorted_set(req.set_name)
    if scores is None:
        return m.SortedSetFetchResponse(found=False)
    chosen = select(scores, req.order, req.by_score, req.by_index)
    elements = [m.SortedSetElement(value, score) for value, score in chosen]
    return m.SortedSetFetchResponse(found=True, elements=elements, with_scores=req.with_scores)


def _sorted_set_remove(ks: Keyspace, req: m.SortedSetRemoveRequest) -> m.SortedSetRemoveResponse:
    ks.sorted_set_remove(req.set_name, req.values)
    return m.SortedSetRemoveResponse()


def _sorted_set_length(ks: Keyspace, req: m.SortedSetLengthRequest) -> m.SortedSetLengthResponse:
    scores = ks.sorted_set(req.set_name)
    return m.SortedSetLengthResponse(found=False) if scores is None else m.SortedSetLengthResponse(True, len(scores))


def _get_batch(ks: Keyspace, req: m.GetBatchRequest) -> list[m.GetResponse]:
    """One answer per key, in request order (a server stream: see ``messages.batches``)."""
    return [_get(ks, item) for item in req.items]


def _set_batch(ks: Keyspace, req: m.SetBatchRequest) -> list[m.SetResponse]:
    """Each item stored on its own, answered ``Ok`` as Momento's stream does. An invalid item
    (empty key, TTL 0, too big) fails the whole call before anything is stored: the stand-in
    is stricter than needed, never laxer."""
    for item in req.items:
        ks.check_set(item.cache_key, item.cache_body, item.ttl_milliseconds)
    for item in req.items:
        ks.set(item.cache_key, item.cache_body, item.ttl_milliseconds)
    return [m.SetResponse(result=m.RESULT_OK) for _ in req.items]


_HANDLERS: dict[str, Callable[[Keyspace, object], object]] = {
    "Get": _get,
    "Set": _set,
    "Delete": _delete,
    "SetIfNotExists": _set_if_not_exists,
    "SetIf": _set_if,
    "Increment": _increment,
    "UpdateTtl": _update_ttl,
    "SortedSetPut": _sorted_set_put,
    "SortedSetFetch": _sorted_set_fetch,
    "SortedSetRemove": _sorted_set_remove,
    "SortedSetLength": _sorted_set_length,
    "GetBatch": _get_batch,
    "SetBatch": _set_batch,
}  # type: ignore[dict-item]
SERVED_METHODS = tuple(_HANDLERS)


def grpc_op(method: str) -> str:
    return f"grpc.{method}"


def encode_answer(payload: bytes | list[bytes] | None, status: int = 0, message: str = "", *, text: bool,
                  flush_per_frame: bool = False, trailers_only: bool = False) -> Response:
    """An HTTP 200 gRPC-web answer in the caller's mode: ``payload``'s data frame (unless
    None; one per message for a list, a server stream) then the trailers frame, shaped by the
    two knobs in the module docstring."""
    content_type = grpcweb.CONTENT_TYPE_TEXT if text else grpcweb.CONTENT_TYPE_PROTO
    if trailers_only and payload is None and status != 0:
        headers = [("content-type", content_type), ("grpc-status", str(int(status)))]
        if message:
            headers.append(("grpc-message", grpcweb.encode_grpc_message(message)))
        return Response(200, headers, b"")
    payloads = [] if payload is None else [payload] if isinstance(payload, bytes) else payload
    frames = [grpcweb.encode_data_frame(one) for one in payloads]
    frames.append(grpcweb.encode_trailers_frame(status, message))
    if not text:
        body = b"".join(frames)
    elif flush_per_frame:
        body = b"".join(grpcweb.encode_text(frame) for frame in frames)
    else:
        body = grpcweb.encode_text(b"".join(frames))
    return Response(200, [("content-type", content_type)], body)


def handle_grpc(request: Request, method: str, keyspaces: dict[str, Keyspace], token: str, *,
                flush_per_frame: bool = False, trailers_only: bool = False) -> tuple[Response, int | None]:
    """The response and its grpc-status (None when the body was not gRPC-web at all)."""
    try:
        text = grpcweb.is_text_mode(request.headers.get("content-type"))
    except grpcweb.GrpcWebError as exc:
        body = f"gRPC-web wants content-type application/grpc-web-text or application/grpc-web+proto ({exc})"
        return Response(415, [("content-type", "text/plain; charset=utf-8")], body.encode()), None
    shape = {"text": text, "flush_per_frame": flush_per_frame, "trailers_only": trailers_only}
    try:
        reply = _call(request, method, keyspaces, token)
    except StandInError as exc:
        return encode_answer(None, exc.grpc_status, exc.message, **shape), int(exc.grpc_status)
    if isinstance(reply, list):  # a server stream: one message per item
        return encode_answer([one.encode() for one in reply], **shape), 0
    return encode_answer(reply.encode(), **shape), 0  # type: ignore[attr-defined]


def _call(request: Request, method: str, keyspaces: dict[str, Keyspace], token: str) -> object:
    if request.method != "POST":
        raise RouteNotFound(f"gRPC-web calls are POST, not {request.method}")
    handler = _HANDLERS.get(method)
    if handler is None or method not in m.RPCS:
        raise RouteNotFound(f"Method {GRPC_PREFIX}/{method} is not served by this stand-in")
    check_header_token(request.headers, token)
    cache = request.headers.get("cache")
    if not cache:
        raise InvalidArgument("Missing cache header: gRPC-web calls name their cache in the `cache` header")
    keyspace = keyspaces.get(cache)
    if keyspace is None:
        raise CacheNotFound(cache)
    request_type, _ = m.RPCS[method]
    try:
        payload = grpcweb.decode_request_body(request.body, request.headers.get("content-type"))
        message = request_type.decode(payload)
    except (grpcweb.GrpcWebError, DecodeError, ValueError) as exc:
        raise InvalidArgument(f"Could not read the {request_type.__name__}: {exc}") from exc
    return handler(keyspace, message)
