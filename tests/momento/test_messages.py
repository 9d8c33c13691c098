"""Our message encoders against the bytes Momento's own generated JS code produces.

``golden/golden.json`` is made by ``golden/make_golden.mjs`` from
``@gomomento/generated-types-webtext`` (what the official browser SDK serialises with).
Every case there must have a twin in CASES here: same message, same values. The node-marked
test re-runs the script so the checked-in file cannot go stale.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgecache.momento import messages as m
from edgecache.momento.protobuf import Writer

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "golden.json"
SCRIPT = HERE / "golden" / "make_golden.mjs"
REPO = HERE.parent.parent
GENERATED_TYPES = REPO / "node_modules" / "@gomomento" / "generated-types-webtext"

E = m.SortedSetElement
LEASE = dict(cache_key=b"lease", cache_body=b"holder-1", ttl_milliseconds=30000)

CASES: dict[str, object] = {
    # -- requests --------------------------------------------------------------------
    "sorted_set_put_momento_md": m.SortedSetPutRequest(b"q", [E(b"w1", 42.5)], 60000, True),
    "sorted_set_put_many": m.SortedSetPutRequest(
        b"queue", [E(b"a", 0.0), E(b"b", -1.5), E(b"", 1e300), E(b"\x00\xff", 1700000000123.0)], 86400000, False
    ),
    "sorted_set_put_empty": m.SortedSetPutRequest(),
    "sorted_set_fetch_sdk_default": m.SortedSetFetchRequest(b"queue", by_score=m.ByScore()),
    "sorted_set_fetch_bounds_desc": m.SortedSetFetchRequest(
        b"queue",
        order=m.ORDER_DESCENDING,
        by_score=m.ByScore(min_score=0.0, max_score=10.5, max_exclusive=True, offset=3, count=20),
    ),
    "sorted_set_fetch_negative_min": m.SortedSetFetchRequest(
        b"queue", by_score=m.ByScore(min_score=-5.25, min_exclusive=True, count=1)
    ),
    "sorted_set_fetch_by_index_values_only": m.SortedSetFetchRequest(
        b"queue", with_scores=False, by_index=m.ByIndex(0, -1)
    ),
    "sorted_set_fetch_by_index_unbounded": m.SortedSetFetchRequest(b"queue", by_index=m.ByIndex()),
    "sorted_set_fetch_by_index_extremes": m.SortedSetFetchRequest(b"queue", by_index=m.ByIndex(-(2**31), 2**31 - 1)),
    "sorted_set_remove_some": m.SortedSetRemoveRequest(b"queue", [b"a", b"\x00\xff"]),
    "sorted_set_remove_some_empty": m.SortedSetRemoveRequest(b"queue", []),
    "sorted_set_remove_all": m.SortedSetRemoveRequest(b"queue", None),
    "sorted_set_length_request": m.SortedSetLengthRequest(b"queue"),
    "set_if_not_exists_request": m.SetIfNotExistsRequest(**LEASE),
    "set_if_present": m.SetIfRequest(**LEASE, condition="present"),
    "set_if_present_and_not_equal": m.SetIfRequest(**LEASE, condition="present_and_not_equal", value_to_check=b"old"),
    "set_if_absent": m.SetIfRequest(**LEASE, condition="absent"),
    "set_if_equal": m.SetIfRequest(**LEASE, condition="equal", value_to_check=b"old"),
    "set_if_equal_empty_value": m.SetIfRequest(**LEASE, condition="equal"),
    "set_if_absent_or_equal": m.SetIfRequest(**LEASE, condition="absent_or_equal", value_to_check=b"old"),
    "set_if_not_equal": m.SetIfRequest(**LEASE, condition="not_equal", value_to_check=b"old"),
    "increment_one": m.IncrementRequest(b"counter", 1, 60000),
    "increment_negative": m.IncrementRequest(b"counter", -5, 60000),
    "increment_min_safe": m.IncrementRequest(b"counter", -(2**53 - 1)),
    "increment_max_safe": m.IncrementRequest(b"counter", 2**53 - 1),
    "increment_zero": m.IncrementRequest(b"counter", 0, 1),
    "update_ttl_overwrite": m.UpdateTtlRequest(b"queue", overwrite_to_milliseconds=86400000),
    "update_ttl_overwrite_zero": m.UpdateTtlRequest(b"queue", overwrite_to_milliseconds=0),
    "update_ttl_increase": m.UpdateTtlRequest(b"queue", increase_to_milliseconds=5000),
    "update_ttl_decrease": m.UpdateTtlRequest(b"queue", decrease_to_milliseconds=1000),
    "get_request": m.GetRequest(b"page:/api/items?id=1"),
    "get_request_binary": m.GetRequest(b"\x00\xff\x10"),
    "set_request": m.SetRequest(b"k", b"v", 300000),
    "set_request_no_ttl": m.SetRequest(b"k", b""),
    "delete_request": m.DeleteRequest(b"k"),
    "get_batch_request": m.GetBatchRequest([m.GetRequest(b"write:w1"), m.GetRequest(b"\x00\xff")]),
    "get_batch_request_empty": m.GetBatchRequest(),
    "set_batch_request": m.SetBatchRequest([m.SetRequest(b"write:w1", b'{"id":"w1"}', 86400000),
                                            m.SetRequest(b"k", b"", 1000)]),
    # -- responses -------------------------------------------------------------------
    "sorted_set_put_response": m.SortedSetPutResponse(),
    "sorted_set_remove_response": m.SortedSetRemoveResponse(),
    "set_response": m.SetResponse(),
    "set_response_ok": m.SetResponse(m.RESULT_OK),
    "set_response_error": m.SetResponse(0, "too big"),
    "delete_response": m.DeleteResponse(),
    "sorted_set_fetch_found_scores": m.SortedSetFetchResponse(
        True, [E(b"w1", 1700000000123.0), E(b"w2", 0.0), E(b"w3", -2.5)]
    ),
    "sorted_set_fetch_found_values": m.SortedSetFetchResponse(True, [E(b"w1"), E(b"\x00\xff")], with_scores=False),
    "sorted_set_fetch_found_empty": m.SortedSetFetchResponse(True, []),
    "sorted_set_fetch_missing": m.SortedSetFetchResponse(False),
    "sorted_set_length_found": m.SortedSetLengthResponse(True, 42),
    "sorted_set_length_found_zero": m.SortedSetLengthResponse(True, 0),
    "sorted_set_length_missing": m.SortedSetLengthResponse(False),
    "set_if_stored": m.SetIfResponse(True),
    "set_if_not_stored": m.SetIfResponse(False),
    "set_if_not_exists_stored": m.SetIfNotExistsResponse(True),
    "set_if_not_exists_not_stored": m.SetIfNotExistsResponse(False),
    "increment_response": m.IncrementResponse(7),
    "increment_response_negative": m.IncrementResponse(-3),
    "increment_response_zero": m.IncrementResponse(0),
    "update_ttl_set": m.UpdateTtlResponse("set"),
    "update_ttl_not_set": m.UpdateTtlResponse("not_set"),
    "update_ttl_missing": m.UpdateTtlResponse("missing"),
    "get_hit": m.GetResponse(True, b'{"ok":true}'),
    "get_hit_empty_body": m.GetResponse(True),
    "get_miss": m.GetResponse(False, message="not here"),
}


def _golden() -> dict[str, dict[str, str]]:
    return json.loads(GOLDEN.read_text())["cases"]


def test_every_golden_case_has_a_python_twin() -> None:
    assert sorted(_golden()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_encode_matches_google_protobuf_js(name: str) -> None:
    golden = _golden()[name]
    message = CASES[name]
    assert golden["message"].lstrip("_") == type(message).__name__
    assert message.encode().hex() == golden["hex"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(CASES))
def test_decode_of_golden_bytes_gives_the_message_back(name: str) -> None:
    message = CASES[name]
    assert type(message).decode(bytes.fromhex(_golden()[name]["hex"])) == message  # type: ignore[attr-defined]


def test_momento_md_sorted_set_put_example() -> None:
    # momento.md §3: sortedSetPutElement('c1', 'q', 'w1', 42.5) with the default 60 s TTL.
    request = m.SortedSetPutRequest(
        set_name=b"q", elements=[m.SortedSetElement(b"w1", 42.5)], ttl_milliseconds=60000, refresh_ttl=True
    )
    expected = "0a0171" "120d0a027731110000000000404540" "18e0d403" "2001"
    assert request.encode().hex() == expected
    assert m.SortedSetPutRequest.decode(bytes.fromhex(expected)) == request


@pytest.mark.parametrize("name", sorted(CASES))
def test_decoders_skip_unknown_fields(name: str) -> None:
    # A newer server may add fields (any number, any wire type); old readers must not care.
    extra = Writer().uint64(900, 1).bytes(901, b"new").double(902, 1.0).getvalue()
    extra += bytes([0xAD, 0x38]) + b"\x0d\x0c\x0b\x0a"  # tag of field 901, wire type 5 (fixed32)
    data = bytes.fromhex(_golden()[name]["hex"]) + extra
    message = CASES[name]
    assert type(message).decode(data) == message  # type: ignore[attr-defined]


def test_oneof_last_one_wins_when_decoding() -> None:
    data = m.SortedSetFetchRequest(b"s", by_index=m.ByIndex(1, 2)).encode() + Writer().message(5, m.ByScore().encode()).getvalue()
    decoded = m.SortedSetFetchRequest.decode(data)
    assert decoded.by_index is None and decoded.by_score == m.ByScore()


def test_by_score_without_count_decodes_to_proto_default() -> None:
    assert m.ByScore.decode(b"\x0a\x00\x1a\x00").count == 0


def test_setif_without_condition_decodes_to_empty_condition() -> None:
    assert m.SetIfRequest.decode(m.SetRequest(b"k", b"v").encode()).condition == ""


@pytest.mark.parametrize(
    "message, match",
    [
        (m.SortedSetFetchRequest(b"s", by_score=m.ByScore(), by_index=m.ByIndex()), "one oneof"),
        (m.UpdateTtlRequest(b"k", increase_to_milliseconds=1, overwrite_to_milliseconds=2), "one oneof"),
        (m.SetIfRequest(b"k", b"v", 1, condition="sometimes"), "unknown condition"),
        (m.UpdateTtlResponse("maybe"), "not one of"),
    ],
)
def test_invalid_messages_refuse_to_encode(message: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        message.encode()  # type: ignore[attr-defined]


def test_rpcs_cover_every_method_the_client_and_sdk_use() -> None:
    assert set(m.RPCS) == {
        "Get", "Set", "Delete", "SetIf", "SetIfNotExists", "Increment", "UpdateTtl",
        "SortedSetPut", "SortedSetFetch", "SortedSetRemove", "SortedSetLength", "GetBatch", "SetBatch",
    }  # fmt: skip
    assert m.STREAMING == {"GetBatch", "SetBatch"}
    for request_type, response_type in m.RPCS.values():
        assert request_type.decode(request_type().encode()) == request_type()
        assert callable(response_type.decode)


_scores = st.floats(allow_nan=False)
_elements = st.lists(st.builds(m.SortedSetElement, st.binary(max_size=12), _scores), max_size=5)


@given(st.binary(max_size=16), _elements, st.integers(0, 2**64 - 1), st.booleans())
def test_sorted_set_put_round_trip(name: bytes, elements: list, ttl: int, refresh: bool) -> None:
    message = m.SortedSetPutRequest(name, elements, ttl, refresh)
    assert m.SortedSetPutRequest.decode(message.encode()) == message


@given(
    st.one_of(st.none(), _scores), st.booleans(), st.one_of(st.none(), _scores), st.booleans(),
    st.integers(0, 2**32 - 1), st.integers(-(2**31), 2**31 - 1),
)  # fmt: skip
def test_by_score_round_trip(
    lo: float | None, lo_x: bool, hi: float | None, hi_x: bool, offset: int, count: int
) -> None:
    message = m.ByScore(lo, lo_x and lo is not None, hi, hi_x and hi is not None, offset, count)
    assert m.ByScore.decode(message.encode()) == message


@given(st.integers(-(2**63), 2**63 - 1))
def test_increment_round_trip(value: int) -> None:
    assert m.IncrementResponse.decode(m.IncrementResponse(value).encode()).value == value
    assert m.IncrementRequest.decode(m.IncrementRequest(b"k", value).encode()).amount == value


@pytest.mark.node
def test_golden_file_is_what_the_script_makes_now(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; cannot regenerate the golden bytes")
    if not GENERATED_TYPES.is_dir():
        pytest.skip("node_modules/@gomomento/generated-types-webtext is missing (run npm ci)")
    out = tmp_path / "golden.json"
    subprocess.run([node, str(SCRIPT), str(out)], cwd=REPO, check=True, timeout=60)
    assert out.read_text() == GOLDEN.read_text(), "golden.json is stale: run node tests/momento/golden/make_golden.mjs"
