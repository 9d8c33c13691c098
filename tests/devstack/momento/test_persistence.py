"""``--data PATH``: the stand-in's keyspaces in SQLite (``_sqlite.py``), across restarts.

The contract suite runs against the SQLite journal too (``sqlite`` in ``conftest.py``);
here: each journaled operation reloaded on its own, TTLs across a restart under the fake
clock (expiry is absolute, so time passing while the stand-in is down counts), and the
real process killed with SIGKILL and started again on the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from devstack.momento import MomentoStandIn, http_fetch
from edgecache.momento import Endpoints, MomentoClient

from .support import CACHE, OTHER_CACHE, REGIONS, TOKEN, FakeClock

REPO = Path(__file__).resolve().parents[3]
CLI = [sys.executable, "-m", "devstack.momento"]


def engine(path: Path, clock: FakeClock) -> MomentoStandIn:
    return MomentoStandIn(token=TOKEN, regions=REGIONS, caches=[CACHE, OTHER_CACHE], clock=clock, data=path)


def everything(standin: MomentoStandIn) -> dict[tuple[str, str], dict[bytes, object]]:
    return {(r, c): standin.keyspace(r, c).snapshot() for r in REGIONS for c in (CACHE, OTHER_CACHE)}


def reloaded(path: Path, clock: FakeClock) -> dict[tuple[str, str], dict[bytes, object]]:
    again = engine(path, clock)
    try:
        return everything(again)
    finally:
        again.close()


def test_each_change_is_on_disk_when_the_operation_returns(tmp_path):
    path, clock = tmp_path / "m.sqlite", FakeClock()
    live = engine(path, clock)
    us, eu, other = live.keyspace("us-east-1"), live.keyspace("eu-central-1"), live.keyspace("us-east-1", OTHER_CACHE)
    steps = [
        lambda: us.set(b"k", b"\x00v\xff", 60_000),
        lambda: eu.set(b"k", b"eu's own", 30_000),  # same key, another region: another row
        lambda: other.set(b"k", b"other cache", 30_000),
        lambda: us.set(b"k", b"replaced", 90_000),
        lambda: us.set_if(b"k", b"lost", 60_000, "absent"),
        lambda: us.set_if(b"k", b"won", 60_000, "present"),
        lambda: us.increment(b"n", 41, 60_000),
        lambda: us.increment(b"n", 1, 70_000),
        lambda: us.sorted_set_put(b"q", [(b"a", 1.0), (b"b", 2.0), (b"c", float("inf"))], 60_000, False),
        lambda: us.sorted_set_put(b"q", [(b"a", 5.0), (b"d", -1.5)], 120_000, False),  # re-score, keep the TTL
        lambda: us.sorted_set_put(b"q", [(b"e", 0.5)], 120_000, True),  # refresh the TTL
        lambda: us.sorted_set_remove(b"q", [b"b", b"not-there"]),
        lambda: us.update_ttl(b"q", decrease_to_ms=10_000),
        lambda: us.update_ttl(b"k", increase_to_ms=200_000),
        lambda: us.set(b"q", b"an item now", 60_000),  # a set's key reused for an item: no stray elements
        lambda: us.sorted_set_put(b"k", [(b"x", 1.0)], 60_000, False),  # refused: k holds an item
        lambda: us.sorted_set_put(b"s2", [(b"only", 1.0)], 60_000, False),
        lambda: us.sorted_set_remove(b"s2", [b"only"]),  # emptied: gone
        lambda: us.delete(b"n"),
        lambda: eu.flush(),
    ]
    for number, step in enumerate(steps):
        with contextlib.suppress(Exception):  # the refused step must leave the file alone too
            step()
        clock.advance(1)
        assert reloaded(path, clock) == everything(live), f"step {number} diverged"
    final = reloaded(path, clock)
    assert final[("us-east-1", CACHE)][b"q"][:2] == ("item", b"an item now")
    assert final[("us-east-1", CACHE)][b"k"][1] == b"won" and b"n" not in final[("us-east-1", CACHE)]
    assert final[("eu-central-1", CACHE)] == {} and final[("us-east-1", OTHER_CACHE)][b"k"][1] == b"other cache"
    live.close()


def test_ttls_run_on_while_the_stand_in_is_down(tmp_path):
    path, clock = tmp_path / "m.sqlite", FakeClock()
    first = engine(path, clock)
    ks = first.keyspace("us-east-1")
    ks.set(b"short", b"s", 5_000)
    ks.set(b"long", b"l", 60_000)
    ks.sorted_set_put(b"queue", [(b"w1", 1.0)], 20_000, False)
    first.close()

    clock.advance(10)  # down for 10 s: "short" expired meanwhile
    second = engine(path, clock)
    ks = second.keyspace("us-east-1")
    assert ks.get(b"short") is None
    assert ks.get(b"long") == b"l" and ks.remaining_ms(b"long") == 50_000
    assert ks.sorted_set(b"queue") == {b"w1": 1.0} and ks.remaining_ms(b"queue") == 10_000
    second.close()

    clock.advance(15)
    third = engine(path, clock)
    ks = third.keyspace("us-east-1")
    assert ks.sorted_set(b"queue") is None and ks.get(b"long") == b"l"
    assert ks.counts() == {"items": 1, "sorted_sets": 0}
    third.close()
    with sqlite3.connect(path) as db:  # the expired rows were purged at start, not just skipped
        assert db.execute("SELECT key FROM entries").fetchall() == [(b"long",)]
        assert db.execute("SELECT count(*) FROM elements").fetchone() == (0,)


def test_memory_is_the_default_and_keeps_nothing(tmp_path):
    clock = FakeClock()
    standin = MomentoStandIn(token=TOKEN, regions=REGIONS, clock=clock)
    assert standin.data is None
    standin.keyspace("us-east-1").set(b"k", b"v", 60_000)
    standin.close()
    assert MomentoStandIn(token=TOKEN, regions=REGIONS, clock=clock).keyspace("us-east-1").get(b"k") is None
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_database_is_refused_with_the_fix(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not sqlite " * 200)
    result = subprocess.run([*CLI, "--port", "0", "--token", TOKEN, "--data", str(bad)], cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "cannot use" in result.stderr and "--memory" in result.stderr and "delete the file" in result.stderr
    result = subprocess.run([*CLI, "--port", "0", "--token", TOKEN, "--data", str(bad), "--memory"], cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


async def start(data: Path) -> tuple[asyncio.subprocess.Process, str, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, "--port", "0", "--token", TOKEN, "--regions", ",".join(REGIONS), "--data", str(data), "--quiet",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
    assert first.startswith("Momento stand-in listening on http://127.0.0.1:"), first
    banner = [(await asyncio.wait_for(proc.stdout.readline(), 5)).decode() for _ in range(len(REGIONS) + 2)]
    return proc, first.split()[-1], banner


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    with contextlib.suppress(Exception):
        await proc.communicate()


def client(root: str, region: str) -> MomentoClient:
    base = f"{root}/{region}"
    return MomentoClient(fetch=http_fetch, endpoints=Endpoints(base, base), token=TOKEN, cache=CACHE)


async def test_acknowledged_writes_survive_kill_9_of_the_process(tmp_path):
    data = tmp_path / "run" / "momento.sqlite"  # the directory is created on first start
    proc, root, banner = await start(data)
    try:
        assert f"persisted to {data}" in banner[-1] and "--memory" in banner[-1]
        await client(root, "us-east-1").set("write:1", b"queued body", ttl_seconds=3600)
        await client(root, "us-east-1").sorted_set_put("queue", {"write:1": 17.0}, ttl_seconds=3600)
        await client(root, "eu-central-1").set("write:1", b"eu copy", ttl_seconds=3600)
        proc.send_signal(signal.SIGKILL)  # no clean stop: only what was committed before each answer
        assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
    finally:
        await stop(proc)

    proc, root, _ = await start(data)
    try:
        assert await client(root, "us-east-1").get("write:1") == b"queued body"
        assert await client(root, "us-east-1").sorted_set_fetch_by_score("queue") == [(b"write:1", 17.0)]
        assert await client(root, "eu-central-1").get("write:1") == b"eu copy"
        assert await client(root, "eu-central-1").sorted_set_fetch_by_score("queue") == []
    finally:
        await stop(proc)  # SIGKILL again: the WAL side files stay behind

    assert data.with_name(data.name + "-wal").exists()
    data.unlink()  # what make dev prints to start empty: rm the file (the stale -wal is not replayed)
    proc, root, _ = await start(data)
    try:
        assert await client(root, "us-east-1").get("write:1") is None
        assert await client(root, "us-east-1").sorted_set_fetch_by_score("queue") == []
    finally:
        await stop(proc)
