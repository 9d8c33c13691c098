"""A plain async ``fetch`` that answers like Momento: REST items and topics, gRPC-web RPCs.

It decodes the client's real request bytes with the same codec the stand-in server uses
(``grpcweb.decode_request_body`` + ``messages.RPCS``), keeps state in dicts, and replies in
the shapes Momento uses: REST 404 bodies "Key Not Found"/"Cache Not Found", gRPC errors as
a trailers frame (or, with ``trailers_only``, as HTTP headers), and text-mode bodies whose
data and trailers frames are base64'd separately, as a server flushing twice would send.

Only what the client tests need; the contract with the real service is the golden bytes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from edgecache.http import Request, Response
from edgecache.momento import grpcweb
from edgecache.momento import messages as m

TOKEN = "secret-token-abc123"
CACHE = "edge"
REST_URL = "https://rest.momento.test/us-east-1"
GRPC_URL = "https://grpc.momento.test/us-east-1"


class GrpcAbort(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class FakeMomento:
    token: str = TOKEN
    cache: str = CACHE
    chunked: bool = True  # answer gRPC-web text as two separately padded base64 chunks
    binary: bool = False  # answer application/grpc-web+proto instead of text
    trailers_only: bool = False  # send gRPC errors as HTTP headers with an empty body
    items: dict[bytes, bytes] = field(default_factory=dict)
    sorted_sets: dict[bytes, dict[bytes, float]] = field(default_factory=dict)
    published: list[tuple[str, str, bytes]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    rpc_log: list[tuple[str, object]] = field(default_factory=list)
    ttls: dict[bytes, int] = field(default_factory=dict)

    async def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        url = urlsplit(request.url)
        if request.url.startswith(GRPC_URL + "/cache_client.Scs/"):
            return self._grpc(request, url.path.rsplit("/", 1)[1])
        if request.url.startswith(REST_URL + "/"):
            return self._rest(request, url.path[len(urlsplit(REST_URL).path) :], parse_qs(url.query))
        return Response(404, body=b"no such route")

    # -- REST ----------------------------------------------------------------------------

    def _rest(self, request: Request, path: str, query: dict[str, list[str]]) -> Response:
        if request.headers.get("authorization") != self.token:
            return Response(401, body=b"Invalid token")
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if parts[0] == "topics" and len(parts) == 3 and request.method == "POST":
            if parts[1] != self.cache:
                return Response(404, body=b"Cache Not Found")
            self.published.append((parts[2], request.headers.get("content-type") or "", request.body))
            return Response(204)
        if parts[0] != "cache" or len(parts) != 2:
            return Response(404, body=b"Not Found")
        if parts[1] != self.cache:
            return Response(404, body=b"Cache Not Found")
        if "key" in query:
            key = query["key"][0].encode()
        elif "key_base64" in query:
            text = query["key_base64"][0]
            key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        else:
            return Response(400, body=b"key or key_base64 is required")
        if request.method == "GET":
            if key not in self.items:
                return Response(404, body=b"Key Not Found")
            return Response(200, {"content-type": "application/octet-stream"}, self.items[key])
        if request.method == "PUT":
            if "ttl_seconds" not in query:
                return Response(400, body=b"ttl_seconds is required")
            self.items[key] = request.body
            self.ttls[key] = int(query["ttl_seconds"][0]) * 1000
            return Response(204)
        if request.method == "DELETE":
            self.items.pop(key, None)
            return Response(204)
        return Response(405)

    # -- gRPC-web ------------------------------------------------------------------------

    def _grpc(self, request: Request, method: str) -> Response:
        try:
            if request.headers.get("authorization") != self.token:
                raise GrpcAbort(16, "Invalid signature")
            if request.headers.get("cache") != self.cache:
                raise GrpcAbort(5, f"Cache not found: {request.headers.get('cache')}")
            request_type, _ = m.RPCS[method]
            payload = grpcweb.decode_request_body(request.body, request.headers.get("content-type"))
            message = request_type.decode(payload)
            self.rpc_log.append((method, message))
            reply = getattr(self, f"_rpc_{method}")(message)
        except GrpcAbort as abort:
            return self.grpc_error(abort.status, abort.message)
        return self.grpc_ok(reply.encode())

    def grpc_ok(self, payload: bytes) -> Response:
        ctype = grpcweb.CONTENT_TYPE_PROTO if self.binary else grpcweb.CONTENT_TYPE_TEXT
        data, trailers = grpcweb.encode_data_frame(payload), grpcweb.encode_trailers_frame(0)
        if self.binary:
            body = data + trailers
        elif self.chunked:
            body = grpcweb.encode_text(data) + grpcweb.encode_text(trailers)
        else:
            body = grpcweb.encode_text(data + trailers)
        return Response(200, {"content-type": ctype}, body)

    def grpc_error(self, status: int, message: str) -> Response:
        if self.trailers_only:
            headers = {
                "content-type": grpcweb.CONTENT_TYPE_TEXT,
                "grpc-status": str(status),
                "grpc-message": grpcweb.encode_grpc_message(message),
            }
            return Response(200, headers)
        body = grpcweb.encode_response_body(None, status, message)
        return Response(200, {"content-type": grpcweb.CONTENT_TYPE_TEXT}, body)

    def _rpc_SortedSetPut(self, msg: m.SortedSetPutRequest) -> m.SortedSetPutResponse:
        target = self.sorted_sets.setdefault(msg.set_name, {})
        for element in msg.elements:
            target[element.value] = element.score
        self.ttls[msg.set_name] = msg.ttl_milliseconds
        return m.SortedSetPutResponse()

    def _rpc_SortedSetFetch(self, msg: m.SortedSetFetchRequest) -> m.SortedSetFetchResponse:
        if msg.set_name not in self.sorted_sets:
            return m.SortedSetFetchResponse(found=False)
        rng = msg.by_score or m.ByScore()
        pairs = sorted(self.sorted_sets[msg.set_name].items(), key=lambda kv: (kv[1], kv[0]))

        def inside(score: float) -> bool:
            if rng.min_score is not None and (score < rng.min_score or (rng.min_exclusive and score == rng.min_score)):
                return False
            if rng.max_score is not None and (score > rng.max_score or (rng.max_exclusive and score == rng.max_score)):
                return False
            return True

        pairs = [kv for kv in pairs if inside(kv[1])]
        if msg.order == m.ORDER_DESCENDING:
            pairs.reverse()
        pairs = pairs[rng.offset :]
        if rng.count > 0:
            pairs = pairs[: rng.count]
        elements = [m.SortedSetElement(value, score) for value, score in pairs]
        return m.SortedSetFetchResponse(found=True, elements=elements, with_scores=msg.with_scores)

    def _rpc_SortedSetRemove(self, msg: m.SortedSetRemoveRequest) -> m.SortedSetRemoveResponse:
        if msg.values is None:
            self.sorted_sets.pop(msg.set_name, None)
        elif msg.set_name in self.sorted_sets:
            for value in msg.values:
                self.sorted_sets[msg.set_name].pop(value, None)
            if not self.sorted_sets[msg.set_name]:
                del self.sorted_sets[msg.set_name]
        return m.SortedSetRemoveResponse()

    def _rpc_SortedSetLength(self, msg: m.SortedSetLengthRequest) -> m.SortedSetLengthResponse:
        if msg.set_name not in self.sorted_sets:
            return m.SortedSetLengthResponse(found=False)
        return m.SortedSetLengthResponse(found=True, length=len(self.sorted_sets[msg.set_name]))

    def _rpc_SetIf(self, msg: m.SetIfRequest) -> m.SetIfResponse:
        if msg.condition != "absent":
            raise GrpcAbort(3, f"condition {msg.condition!r} not supported by this fake")
        if msg.cache_key in self.items:
            return m.SetIfResponse(stored=False)
        self.items[msg.cache_key] = msg.cache_body
        self.ttls[msg.cache_key] = msg.ttl_milliseconds
        return m.SetIfResponse(stored=True)

    def _rpc_Increment(self, msg: m.IncrementRequest) -> m.IncrementResponse:
        current = self.items.get(msg.cache_key, b"0")
        try:
            value = int(current.decode()) + msg.amount
        except ValueError:
            raise GrpcAbort(9, "the value is not an integer") from None
        self.items[msg.cache_key] = str(value).encode()
        return m.IncrementResponse(value)

    def _rpc_UpdateTtl(self, msg: m.UpdateTtlRequest) -> m.UpdateTtlResponse:
        if msg.cache_key not in self.items and msg.cache_key not in self.sorted_sets:
            return m.UpdateTtlResponse("missing")
        assert msg.overwrite_to_milliseconds is not None
        self.ttls[msg.cache_key] = msg.overwrite_to_milliseconds
        return m.UpdateTtlResponse("set")
