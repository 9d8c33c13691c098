"""Regions → cell endpoints, and API key decoding (momento.md §1)."""

from __future__ import annotations

import base64
import json

import pytest

from edgecache.momento.cells import (
    CELLS,
    ApiKey,
    Endpoints,
    InvalidApiKeyError,
    UnknownRegionError,
    decode_api_key,
    default_endpoints,
    endpoints_for_cell,
)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ0IjoiZyIsImlkIjoiYWJjIn0.c2lnbmF0dXJl"


def _v1(claims: object) -> str:
    return base64.b64encode(json.dumps(claims).encode()).decode()


def test_documented_cells() -> None:
    assert len(CELLS) == 11
    assert default_endpoints("us-west-2") == Endpoints(
        "https://api.cache.cell-4-us-west-2-1.prod.a.momentohq.com",
        "https://web.cache.cell-4-us-west-2-1.prod.a.momentohq.com",
    )
    assert default_endpoints("us-east-1").rest_url == "https://api.cache.cell-us-east-1-1.prod.a.momentohq.com"
    assert default_endpoints("ap-northeast-1").grpc_url == "https://web.cache.cell-ap-northeast-1-1.prod.a.momentohq.com"
    for region, cell in CELLS.items():
        assert cell.startswith("cell-") and region in cell
        assert default_endpoints(region) == endpoints_for_cell(cell)


def test_unknown_region_is_a_key_error_that_reads_well() -> None:
    with pytest.raises(KeyError) as caught:
        default_endpoints("mars-north-1")
    assert isinstance(caught.value, UnknownRegionError)
    assert str(caught.value).startswith("no documented Momento cell for region 'mars-north-1'")


def test_v1_key_sends_the_inner_api_key() -> None:
    raw = _v1({"api_key": "inner.jwt.token", "endpoint": "cell-4-us-west-2-1.prod.a.momentohq.com"})
    assert decode_api_key(raw) == ApiKey("inner.jwt.token", "cell-4-us-west-2-1")
    assert decode_api_key(f"  {raw}\n").token == "inner.jwt.token"
    assert decode_api_key(_v1({"api_key": "k", "endpoint": "cell-1-eu-west-1-1"})).endpoint_cell == "cell-1-eu-west-1-1"
    assert decode_api_key(_v1({"api_key": "k"})).endpoint_cell is None


@pytest.mark.parametrize("raw", [JWT, "plain-opaque-key", "YWJjZA==", base64.b64encode(b"[1, 2]").decode()])
def test_v2_and_other_keys_are_used_as_given(raw: str) -> None:
    assert decode_api_key(raw) == ApiKey(raw, None)


@pytest.mark.parametrize(
    "raw",
    [
        _v1({"endpoint": "cell-1-eu-west-1-1", "secret": "s3cr3t-value"}),
        _v1({"api_key": 12345, "endpoint": "cell-1"}),
        _v1({"api_key": ""}),
        base64.b64encode(b'{"api_key": "s3cr3t-value", ').decode(),
    ],
)
def test_malformed_v1_key_raises_without_echoing_it(raw: str) -> None:
    with pytest.raises(ValueError) as caught:
        decode_api_key(raw)
    assert isinstance(caught.value, InvalidApiKeyError)
    text = str(caught.value) + repr(caught.value)
    assert raw not in text and "s3cr3t" not in text
    # no chained JSONDecodeError either: its .doc would hold the decoded key
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_api_key_repr_hides_the_token() -> None:
    assert "inner" not in repr(ApiKey("inner-secret", "cell-1"))
