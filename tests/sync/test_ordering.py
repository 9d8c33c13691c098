"""The cross-region decisions (``sync.ordering``), pure: verdicts from ids alone."""

from __future__ import annotations

from edgecache.hlc import Stamp
from edgecache.keys import normalise_url
from edgecache.sync.ordering import Queued, closes_at, decide
from edgecache.writes import WriteRecord, new_write_id, write_id_stamp, write_id_tag
from edgecache.keys import resource_tag

MS = 1_800_000_000_000


def write(ms: int, path: str = "/items/1", n: int = 0, region: str = "ap-northeast-1") -> WriteRecord:
    return WriteRecord(id=new_write_id(Stamp(ms, n), f"{ms % 65536:04x}{n:04x}", normalise_url(path)), method="PUT",
                       path=path, headers=(), body=b"x", received_at=ms / 1000, region=region,
                       entry_key="entry:" + path, resource=normalise_url(path), entry_ttl=60)


def queued(region: str, *records: WriteRecord, complete: bool = True) -> Queued:
    return Queued(region, tuple(r.id for r in records), complete)


def test_a_write_id_carries_its_stamp_and_resource_tag() -> None:
    record = write(MS + 5, n=3)
    assert write_id_stamp(record.id) == Stamp(MS + 5, 3)
    assert write_id_tag(record.id) == resource_tag("/items/1")
    assert write_id_stamp("0" * 12 + "ab" * 8) is None and write_id_tag("0" * 12 + "ab" * 8) is None  # older form


def test_closes_after_the_wait_from_its_stamp() -> None:
    assert closes_at(write(MS), 2.0) == MS / 1000 + 2.0


def test_nothing_elsewhere_means_send() -> None:
    mine = write(MS + 10)
    verdicts = decide([mine], {}, {"eu-central-1": queued("eu-central-1")})
    assert verdicts[mine.id].action == "send"


def test_an_older_write_to_the_resource_queued_elsewhere_goes_first_and_holds_the_rest_of_the_resource() -> None:
    older_there = write(MS + 5, region="eu-central-1")
    mine, mine_later, other_item = write(MS + 10), write(MS + 20), write(MS + 10, "/items/2", n=1)
    verdicts = decide([mine, other_item, mine_later], {}, {"eu-central-1": queued("eu-central-1", older_there)})
    assert (verdicts[mine.id].action, verdicts[mine.id].by, verdicts[mine.id].region) == ("wait", older_there.id, "eu-central-1")
    assert verdicts[mine_later.id].action == "wait"  # behind its resource's first write
    assert verdicts[other_item.id].action == "send"  # another resource does not wait


def test_a_newer_write_elsewhere_does_not_hold_an_older_one_here() -> None:
    mine, newer_there = write(MS + 10), write(MS + 11, region="eu-central-1")
    assert decide([mine], {}, {"eu-central-1": queued("eu-central-1", newer_there)})[mine.id].action == "send"


def test_a_write_older_than_the_applied_marker_is_superseded_by_it() -> None:
    mine, applied = write(MS + 10), write(MS + 30, region="eu-central-1")
    verdict = decide([mine], {mine.resource: applied.id}, {})[mine.id]
    assert (verdict.action, verdict.by) == ("superseded", applied.id)
    newer = write(MS + 40)
    assert decide([newer], {newer.resource: applied.id}, {})[newer.id].action == "send"


def test_an_unreadable_or_truncated_queue_elsewhere_makes_writes_wait() -> None:
    mine = write(MS + 10)
    assert decide([mine], {}, {"eu-central-1": None})[mine.id].action == "wait"
    other = write(MS + 1, "/items/9", region="eu-central-1")
    assert decide([mine], {}, {"eu-central-1": queued("eu-central-1", other, complete=False)})[mine.id].action == "wait"
    # ... unless the truncated read already reached past the write: then it saw every older one
    assert decide([write(MS)], {}, {"eu-central-1": queued("eu-central-1", other, complete=False)})[write(MS).id].action == "send"


def test_an_older_form_id_elsewhere_may_touch_any_resource() -> None:
    mine = write(MS + 10)
    legacy = f"{MS:012x}" + "ab" * 8
    assert decide([mine], {}, {"eu-central-1": Queued("eu-central-1", (legacy,), True)})[mine.id].action == "wait"
