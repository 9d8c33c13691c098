"""Lost-update detection at the edge (``conflicts: "etag"``): what a queued write remembers of
the representation it was based on, and what that costs (``edge.lost_updates``)."""

from __future__ import annotations

import json

from edgecache.edge.lost_updates import base_of, entry_of
from edgecache.entries import INVALIDATED, CachedEntry
from edgecache.http import Headers

from .support import ROUTES, EdgeWorld, body_json
from .test_write import stored_record

CHECKED = [{"pattern": "/api/checked/:id", "mode": "write-behind", "ttl": 60, "conflicts": "etag"}, *ROUTES]
JSON = {"content-type": "application/json"}


def world() -> EdgeWorld:
    return EdgeWorld(ROUTES=json.dumps(CHECKED))


def calls(w: EdgeWorld) -> list[str]:
    """The Momento calls of the last request: a REST Get of the cache is "Get"."""
    names = [r.url.split("?")[0].rsplit("/", 1)[-1] for r in w.momento_calls()]
    return ["Get" if name == "edgecache" else name for name in names]


async def write(w: EdgeWorld, method: str, path: str, body: str = '{"n":1}', **headers: str):
    """One queued write: (its record, the Momento calls before the 202); then its waitUntil work."""
    response = await w.request(method, path, body, headers=headers, run_background=False)
    assert response.status == 202, response.body
    before = calls(w)
    await w.run_background()
    return stored_record(w, "us-east-1", body_json(response)["write_id"]), before


async def put(w: EdgeWorld, path: str, body: str = '{"n":1}', **headers: str):
    return await write(w, "PUT", path, body, **JSON, **headers)


async def test_a_cached_etag_becomes_the_replays_if_match_for_one_get_before_the_two():
    w = world()
    w.origin.answer("/api/checked/1", 200, '{"n":0}', content_type="application/json", etag='"v1"')
    await w.request("GET", "/api/checked/1")

    record, made = await put(w, "/api/checked/1")

    assert made[0] == "Get" and sorted(made[1:]) == ["SetBatch", "SortedSetPut"]  # the Get first, then the two
    assert not w.origin_calls()
    assert ("if-match", '"v1"') in record.headers and record.based_on is None
    assert w.events("write.queued")[-1]["base"] == "the cached representation's ETag"


async def test_the_clients_if_match_is_kept_and_nothing_is_read():
    w = world()
    w.origin.answer("/api/checked/1", 200, '{"n":0}', content_type="application/json", etag='"v1"')
    await w.request("GET", "/api/checked/1")

    record, made = await put(w, "/api/checked/1", **{"if-match": '"client-saw-this"'})

    assert sorted(made) == ["SetBatch", "SortedSetPut"]  # the usual two, no Get
    assert [v for k, v in record.headers if k == "if-match"] == ['"client-saw-this"']


async def test_a_write_on_the_users_own_pending_write_is_based_on_it():
    w = world()
    first, _ = await put(w, "/api/checked/1", '{"n":1}')
    second, _ = await put(w, "/api/checked/1", '{"n":2}')

    assert second.based_on == first.id and first.based_on is None  # nothing was cached before the first
    assert "if-match" not in dict(second.headers) and "if-match" not in dict(first.headers)
    assert json.loads(second.encode())["based_on"] == first.id
    assert "based_on" not in json.loads(first.encode())


async def test_a_delete_is_based_on_the_pending_write_too():
    w = world()
    first, _ = await put(w, "/api/checked/1")
    deleted, made = await write(w, "DELETE", "/api/checked/1", "")
    assert deleted.based_on == first.id and made[0] == "Get"


async def test_a_momento_error_on_the_read_queues_the_write_unchecked_and_says_so():
    w = world()
    w.origin.answer("/api/checked/1", 200, '{"n":0}', content_type="application/json", etag='"v1"')
    await w.request("GET", "/api/checked/1")
    w.standin.add_fault(region="us-east-1", error_status=503, match="rest.get", count=1)

    record, made = await put(w, "/api/checked/1")

    assert made[0] == "Get" and len(made) == 3
    assert "if-match" not in dict(record.headers) and record.based_on is None
    [warning] = [e for e in w.events("cache.unavailable") if "base" in e.get("reason", "")]
    assert warning["level"] == "warning" and warning["operation"] == "get"
    assert w.events("write.queued")[-1]["base"] == "unchecked: the cache could not be read"


async def test_a_patch_reuses_its_read_for_the_base():
    w = world()
    w.origin.answer("/api/checked/1", 200, '{"n":0}', content_type="application/json", etag='"v1"')
    await w.request("GET", "/api/checked/1")

    patch = {"content-type": "application/merge-patch+json"}
    record, made = await write(w, "PATCH", "/api/checked/1", '{"n":5}', **patch)
    assert made.count("Get") == 1 and len(made) == 3  # the PATCH's own Get, then the two
    assert ("if-match", '"v1"') in record.headers

    again, made = await write(w, "PATCH", "/api/checked/1", '{"n":6}', **patch)
    assert made.count("Get") == 1 and again.based_on == record.id


async def test_a_route_without_conflicts_reads_nothing_and_adds_no_if_match():
    w = world()
    w.origin.answer("/api/items/1", 200, '{"n":0}', content_type="application/json", etag='"v1"')
    await w.request("GET", "/api/items/1")
    record, made = await put(w, "/api/items/1")
    assert sorted(made) == ["SetBatch", "SortedSetPut"]
    assert record.headers == (("content-type", "application/json"),) and record.based_on is None
    assert "base" not in w.events("write.queued")[-1]


# -- the pure decision ------------------------------------------------------------------------


def entry(dirty: str | None = None, **headers: str) -> CachedEntry:
    return CachedEntry(200, Headers({"content-type": "application/json", **headers}), b"{}", 0.0, 60, dirty_write=dirty)


def test_base_of_each_case_with_its_reason():
    none = Headers()
    assert base_of(Headers({"if-match": '"c"'}), entry(etag='"v1"')).replay_headers() == ()  # the client's is kept
    assert base_of(none, entry(etag='"v1"')).if_match == '"v1"'
    pending = base_of(none, entry(dirty="abc123", etag='"v1"'))
    assert (pending.based_on, pending.if_match) == ("abc123", None)
    for unchecked, why in [(None, "no cached"), (entry(), "no ETag"), (entry(etag='W/"v1"'), "weak")]:
        decided = base_of(none, unchecked)
        assert (decided.if_match, decided.based_on) == (None, None) and why in decided.reason


def test_entry_of_takes_only_real_entries():
    assert entry_of(None) is None and entry_of(INVALIDATED) is None and entry_of(b"garbage") is None
    assert entry_of(entry(etag='"v1"').encode()).headers.get("etag") == '"v1"'
