"""benchmarks.chaos's pure parts: the plan is a function of its seed, and the counting says
lost only for a broken promise."""

from __future__ import annotations

from benchmarks.chaos.plan import KILLABLE, make_plan
from benchmarks.chaos.tally import Outcome, tally


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    assert make_plan(7, 50, 4) == make_plan(7, 50, 4)
    assert make_plan(7, 50, 4) != make_plan(8, 50, 4)


def test_every_service_is_killed_once_before_any_twice_and_events_fall_between_writes():
    plan = make_plan(3, 40, 5, flaps=2, momento_faults=3)
    kills = [e.target for e in plan.events if e.kind == "kill"]
    assert sorted(kills) == sorted([*KILLABLE, *KILLABLE[:2]])
    assert all(1 <= e.at_write < 40 for e in plan.events)
    assert [e.at_write for e in plan.events] == sorted(e.at_write for e in plan.events)
    assert [e.kind for e in plan.events].count("flap") == 2
    faults = [e.fault for e in plan.events if e.kind == "momento"]
    assert len(faults) == 3 and all(f["count"] >= 1 for f in faults)


def test_writes_go_to_own_and_shared_items_from_every_country():
    plan = make_plan(1, 300, 0, flaps=0, momento_faults=0)
    own = [w for w in plan.writes if not w.shared]
    shared = [w for w in plan.writes if w.shared]
    assert len({w.path for w in own}) == len(own)  # one write per own item
    assert 1 < len({w.path for w in shared}) <= 4
    assert {w.country for w in plan.writes} == {"JP", "DE", "US"}


def test_each_acknowledged_write_is_counted_once_by_what_became_of_it():
    outcomes = [
        Outcome(0, 202, "w-once"),
        Outcome(1, 202, "w-twice"),
        Outcome(2, 202, "w-queued"),
        Outcome(3, 202, "w-dead"),
        Outcome(4, 202, "w-lost"),
        Outcome(5, 201),  # the origin's own answer: Momento could not queue it
        Outcome(6, 502),
        Outcome(7, None, note="RemoteDisconnected"),
    ]
    log = [{"idempotency_key": k} for k in ("w-once", "w-twice", "w-twice", "fallback-key", None)]
    statuses = {"w-once": {"status": "synced"}, "w-twice": {"status": "synced"}, "w-queued": {"status": "queued"},
                "w-dead": {"status": "failed", "reason": "origin answered 422"}, "w-lost": {"status": "synced"}}
    figures = tally(outcomes, log, statuses)
    assert (figures.sent, figures.acknowledged, figures.answered_by_origin) == (8, 5, 1)
    assert (figures.applied_once, figures.applied_twice) == (1, 1)
    assert figures.still_queued == ["w-queued"]
    assert figures.dead_lettered == {"w-dead": "origin answered 422"}
    assert figures.lost == ["w-lost"]  # synced, says its record, yet the origin never applied it
    assert dict(figures.not_acknowledged) == {"502": 1, "no answer (RemoteDisconnected)": 1}
    assert not figures.ok


def test_a_clean_run_is_ok_and_prints_every_figure():
    figures = tally([Outcome(0, 202, "a"), Outcome(1, None)], [{"idempotency_key": "a"}], {"a": {"status": "synced"}})
    assert figures.ok
    text = "\n".join(figures.lines())
    for label in ("acknowledged (202)     1", "applied once           1", "applied twice          0",
                  "lost                   0", "still queued           0", "dead-lettered          0"):
        assert label in text
