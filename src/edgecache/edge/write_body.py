"""What a queued write may carry: checked before any 202, so no write is promised that the
origin will refuse, and no stranger's body is served from the shared cache as anything but
the JSON the route takes.

* ``Content-Encoding`` on a write → 415 (RFC 9110 §15.5.16 names 415 for an unsupported
  content coding): the cache would serve the coded bytes as the representation, and the
  replay would not carry the coding. Refused, not decoded.
* A PUT (or merge-patch PATCH) of a media type outside the route's ``write_content_types`` (default JSON and merge patch) →
  415 (RFC 9110 §15.5.16).
* A JSON body (``application/json``, ``*+json``) that is not UTF-8, not JSON, or nested
  deeper than ``json_bounds.MAX_DEPTH`` → 400.

DELETE carries no representation and is not checked. No Momento calls.
"""

from __future__ import annotations

from ..http import Request
from ..json_bounds import MAX_DEPTH, JSONBodyError, loads_bounded
from ..responses import Answer, error_response
from ..routes import Route

__all__ = ["check"]


def check(request: Request, route: Route) -> None:
    """Return when this route may queue the write body; raise :class:`Answer` with the 4xx
    (the edge's one "stop and answer this" pattern) when it must not."""
    if request.method not in ("PUT", "PATCH"):
        return
    coding = (request.headers.get("content-encoding") or "").strip().lower()
    if coding and coding != "identity":
        raise Answer(error_response(415, "content-encoded write bodies are not accepted", content_encoding=coding,
                                    fix="send the body without Content-Encoding"))
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if request.method == "PATCH" and media_type != "application/merge-patch+json":
        return  # other patch formats pass through to the origin synchronously: nothing promised
    if media_type not in route.write_content_types:
        raise Answer(error_response(415, "this route does not take writes of this media type",
                                    content_type=media_type or None, accepted=list(route.write_content_types),
                                    fix="send one of the accepted media types (the route's write_content_types)"))
    if media_type == "application/merge-patch+json":
        return  # parsed, depth-bounded, by the merge patch itself (EdgeApp._patched_entry)
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            loads_bounded(request.body)
        except JSONBodyError as exc:
            raise Answer(error_response(400, "the write body is not valid JSON", detail=exc.problem,
                                        fix=f"send a UTF-8 JSON document nested at most {MAX_DEPTH} deep")) from exc
