"""responses: the one JSON shape every self-made answer has."""

from __future__ import annotations

import json

from edgecache.http import Headers
from edgecache.responses import error_response, json_response


def test_json_response_is_json_and_never_cached() -> None:
    response = json_response(200, {"b": 1, "a": [1, 2]})
    assert response.status == 200
    assert json.loads(response.body) == {"b": 1, "a": [1, 2]}
    assert response.headers.get("content-type") == "application/json"
    assert response.headers.get("cache-control") == "no-store"


def test_json_body_is_deterministic() -> None:
    assert json_response(200, {"b": 1, "a": 2}).body == json_response(200, {"a": 2, "b": 1}).body


def test_extra_headers_are_kept_but_cannot_override_the_json_headers() -> None:
    response = json_response(202, {}, Headers({"Location": "/_edge/writes/1", "Content-Type": "text/html",
                                               "Cache-Control": "max-age=600"}))
    assert response.headers.get("location") == "/_edge/writes/1"
    assert response.headers.get_all("content-type") == ["application/json"]
    assert response.headers.get_all("cache-control") == ["no-store"]


def test_error_response_shape() -> None:
    response = error_response(413, "request body is too large", limit_bytes=1000)
    assert response.status == 413
    assert json.loads(response.body) == {"error": "request body is too large", "limit_bytes": 1000}
    assert response.headers.get("content-type") == "application/json"


def test_non_ascii_survives() -> None:
    assert json.loads(json_response(200, {"name": "Zoë ☃"}).body) == {"name": "Zoë ☃"}
