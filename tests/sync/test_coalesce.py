"""sync.coalesce: planning a batch into units, and what a sent write's outcome means for the
older writes of its unit. Pure: records in, records out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edgecache.sync.coalesce import Unit, aftermath, plan, resolve
from edgecache.writes import WriteRecord, WriteState, new_write_id

NOW = 1_800_000_000.0
R, S, Q, F = WriteState.REPLAYING, WriteState.SYNCED, WriteState.QUEUED, WriteState.FAILED


def write(n: int, method: str = "PUT", resource: str = "/a", **headers: str) -> WriteRecord:
    kept = (("content-type", "application/json"),) + tuple((k.replace("_", "-"), v) for k, v in headers.items())
    return WriteRecord(id=new_write_id(NOW + n, f"{n:08x}"), method=method, path=resource, headers=kept,
                       body=b"{}", received_at=NOW + n, region="us-east-1", entry_key="entry:" + resource,
                       resource=resource, entry_ttl=60).to(R)


def always(record: WriteRecord) -> bool:
    return True


def shape(units_per_resource: list[list[Unit]]) -> list[list[tuple[list[str], str]]]:
    return [[([older.id for older in unit.older], unit.newest.id) for unit in units] for units in units_per_resource]


def test_the_docstring_example():
    a = [write(1), write(2), write(3, "DELETE"), write(4, "PATCH"), write(5), write(6)]
    assert shape(plan(a, always)) == [[([a[0].id, a[1].id], a[2].id), ([], a[3].id), ([a[4].id], a[5].id)]]


def test_without_coalesce_every_write_is_its_own_unit_in_order():
    a = [write(1), write(2), write(3, "DELETE")]
    assert shape(plan(a, lambda record: False)) == [[([], a[0].id), ([], a[1].id), ([], a[2].id)]]


def test_resources_are_planned_apart_and_interleaving_does_not_stop_coalescing():
    a1, b1, a2, b2, a3 = write(1), write(2, resource="/b"), write(3), write(4, resource="/b"), write(5)
    assert shape(plan([a1, b1, a2, b2, a3], always)) == [[([a1.id, a2.id], a3.id)], [([b1.id], b2.id)]]


def test_only_the_routes_that_coalesce_do():
    a1, b1, a2, b2 = write(1), write(2, resource="/b"), write(3), write(4, resource="/b")
    only_a = plan([a1, b1, a2, b2], lambda record: record.resource == "/a")
    assert shape(only_a) == [[([a1.id], a2.id)], [([], b1.id), ([], b2.id)]]


@pytest.mark.parametrize("barrier", [
    {"method": "PATCH"}, {"if_match": '"v1"'}, {"if_none_match": "*"}, {"if_unmodified_since": "Tue, 01 Dec 2026"},
])
def test_a_patch_or_conditional_write_is_a_barrier_on_both_sides(barrier):
    method = barrier.pop("method", "PUT")
    a = [write(1), write(2, method, **barrier), write(3)]
    assert shape(plan(a, always)) == [[([], a[0].id), ([], a[1].id), ([], a[2].id)]]


def test_post_is_never_coalesced():
    a = [write(1, "POST"), write(2, "POST")]
    assert shape(plan(a, always)) == [[([], a[0].id), ([], a[1].id)]]


# -- aftermath --------------------------------------------------------------------------------


def unit_of(*records: WriteRecord) -> Unit:
    return Unit(records[:-1], records[-1])


def test_a_synced_newest_supersedes_the_others_in_the_same_step():
    older = [write(1), write(2)]
    newest = write(3).to(S, attempts=1, finished_at=NOW + 9, origin_status=200)
    after = aftermath(unit_of(*older, write(3)), newest, NOW + 10)
    assert [(r.id, r.state, r.superseded_by, r.finished_at) for r in after.superseded] == \
        [(older[0].id, S, newest.id, NOW + 10), (older[1].id, S, newest.id, NOW + 10)]
    assert (after.dead_lettered, after.again, after.waiting) == ((), None, ())


def test_a_retried_newest_keeps_the_others_waiting_untouched():
    older = [write(1), write(2)]
    retried = write(3).to(Q, attempts=1, next_attempt_at=NOW + 30)
    after = aftermath(unit_of(*older, write(3)), retried, NOW)
    assert after.waiting == tuple(older) and (after.superseded, after.dead_lettered, after.again) == ((), (), None)


def test_a_newest_refused_on_its_only_attempt_sends_the_rest_as_a_unit_again():
    older = [write(1), write(2)]
    refused = write(3).to(F, attempts=1, origin_status=409, finished_at=NOW, last_error="origin answered 409")
    after = aftermath(unit_of(*older, write(3)), refused, NOW)
    assert after.again == Unit((older[0],), older[1])
    assert (after.superseded, after.dead_lettered, after.waiting) == ((), (), ())


@pytest.mark.parametrize("attempts, status", [(4, 503), (4, None), (2, 409), (1, None)])
def test_a_newest_that_may_have_been_applied_takes_the_rest_to_the_dlq(attempts, status):
    older = [write(1), write(2)]
    failed = write(3).to(F, attempts=attempts, origin_status=status, finished_at=NOW, last_error="gave up")
    after = aftermath(unit_of(*older, write(3)), failed, NOW)
    assert [(r.id, r.state) for r in after.dead_lettered] == [(older[0].id, F), (older[1].id, F)]
    assert all(failed.id in r.last_error for r in after.dead_lettered)
    assert (after.superseded, after.again, after.waiting) == ((), None, ())


def test_a_unit_of_one_has_no_aftermath():
    synced = write(1).to(S, attempts=1, finished_at=NOW)
    assert aftermath(unit_of(write(1)), synced, NOW) == aftermath(unit_of(write(1)), write(1).to(Q), NOW)
    assert aftermath(unit_of(write(1)), synced, NOW).superseded == ()


# -- resolve: a unit whose newest is bound to a write outside the batch ----------------------------


def bound_unit() -> tuple[Unit, WriteRecord]:
    newer = write(9)
    older = [write(1), write(2)]
    return Unit((older[0],), replace(older[1], coalesced_into=newer.id)), newer


def test_resolve_by_a_synced_newer_write_supersedes_the_whole_unit():
    unit, newer = bound_unit()
    synced = newer.to(S, attempts=1, finished_at=NOW, origin_status=200)
    after = resolve(unit, synced, NOW + 1)
    assert [(r.id, r.state, r.superseded_by, r.coalesced_into) for r in after.superseded] == \
        [(r.id, S, newer.id, None) for r in unit.records]


def test_resolve_by_a_queued_newer_write_waits():
    unit, newer = bound_unit()
    after = resolve(unit, newer.to(Q, attempts=1), NOW)
    assert after.waiting == unit.records and (after.superseded, after.dead_lettered, after.again) == ((), (), None)


@pytest.mark.parametrize("fate", ["refused", "gave up", "gone"])
def test_resolve_by_a_failed_or_missing_newer_write_dead_letters_the_unit_never_sends_it(fate):
    # Even a refusal: outside its batch, writes after the refused one may have gone since.
    unit, newer = bound_unit()
    stored = {"refused": newer.to(F, attempts=1, origin_status=409, finished_at=NOW),
              "gave up": newer.to(F, attempts=4, finished_at=NOW), "gone": None}[fate]
    after = resolve(unit, stored, NOW)
    assert [(r.id, r.state) for r in after.dead_lettered] == [(r.id, F) for r in unit.records]
    assert all(newer.id in r.last_error for r in after.dead_lettered) and after.again is None


def test_the_again_unit_is_no_longer_bound_to_the_refused_write():
    older = [write(1), replace(write(2), coalesced_into="x")]
    refused = write(3).to(F, attempts=1, origin_status=409, finished_at=NOW)
    assert aftermath(unit_of(*older, write(3)), refused, NOW).again.newest.coalesced_into is None


def test_a_settled_write_ends_its_unit():
    resumed = write(2).to(S, attempts=1, finished_at=NOW)
    a = [write(1), resumed, write(3)]
    assert shape(plan(a, always)) == [[([a[0].id], resumed.id), ([], a[2].id)]]
