"""benchmarks.burst's counting and checks, on a tiny burst (no stack, no timing)."""

from __future__ import annotations

from benchmarks.burst import EDGE_OPS_PER_WRITE, Ack, Applied, origin_calls, sync_momento_calls, verify


def ack(write_id: str, path: str, seq: int, region: str = "us-east-1") -> Ack:
    return Ack(write_id, path, region, asked_at=100.0 + seq, acked_at=100.5 + seq, seq=seq)


def applied(key: str, path: str, seq: int, at: float | None = None) -> Applied:
    return Applied(key, path, at if at is not None else 200.0 + seq, seq)


def test_a_clean_run_counts_nothing_wrong():
    acks = [ack("w1", "/a", 0), ack("w2", "/b", 1), ack("w3", "/a", 2)]
    log = [applied("w2", "/b", 1), applied("w1", "/a", 2), applied("w3", "/a", 3, at=250.0)]
    result = verify(acks, log)
    assert (result.lost, result.applied_twice, result.out_of_order) == ([], [], [])
    assert result.applied == 3 and result.last_applied_at == 250.0


def test_lost_twice_and_reordered_writes_are_each_counted():
    acks = [ack("w1", "/a", 0), ack("w2", "/a", 1), ack("w3", "/b", 2), ack("w4", "/c", 3)]
    log = [applied("w2", "/a", 1), applied("w1", "/a", 2),  # /a the wrong way round
           applied("w3", "/b", 3), applied("w3", "/b", 4),  # w3 twice
           applied("other", "/z", 5)]                         # not ours: ignored; w4 never applied
    result = verify(acks, log)
    assert result.lost == ["w4"]
    assert result.applied_twice == ["w3"]
    assert result.out_of_order == ["/a"]
    assert result.applied == 3
    assert "lost 1, applied twice 1, out of order 1" in result.line()
    assert result.line(queued=1).startswith("lost 0,") and "1 still queued" in result.line(queued=1)


def test_a_write_applied_later_than_its_successor_is_out_of_order_even_if_one_is_missing():
    acks = [ack("w1", "/a", 0), ack("w2", "/a", 1), ack("w3", "/a", 2)]
    result = verify(acks, [applied("w3", "/a", 1), applied("w1", "/a", 2)])
    assert result.out_of_order == ["/a"] and result.lost == ["w2"]


def test_sync_calls_are_the_stand_ins_counts_less_the_edges_own():
    acks = [ack("w1", "/a", 0), ack("w2", "/b", 1), ack("w3", "/c", 2, region="eu-central-1")]
    before = {"regions": {"us-east-1": {"ops": {"rest.set": 10}}, "eu-central-1": {"ops": {}}}}
    edge = {op: 2 * n for op, n in EDGE_OPS_PER_WRITE.items()}  # the two us-east-1 writes
    after = {"regions": {
        "us-east-1": {"ops": {"rest.set": 10, "grpc.SortedSetPut": edge["grpc.SortedSetPut"],
                              "rest.publish": edge["rest.publish"] + 1, "grpc.GetBatch": 1,
                              "grpc.SetBatch": edge["grpc.SetBatch"] + 2}},
        "eu-central-1": {"ops": {op: n for op, n in EDGE_OPS_PER_WRITE.items()}},
    }}
    calls = sync_momento_calls(before, after, acks)
    assert calls["us-east-1"] == {"grpc.GetBatch": 1, "grpc.SetBatch": 2, "rest.publish": 1}  # a continuation
    assert calls["eu-central-1"] == {}


def test_origin_calls_are_read_from_its_access_log():
    lines = [
        "2026-12-02 01:52:06,287 origin PUT /api/items/b45-w0 → 200 2ms (key=k1)",
        "2026-12-02 01:52:06,288 origin PUT /api/items/b45-w0 → 200 1ms (key=k1, replayed)",
        "2026-12-02 01:52:06,289 origin PUT /api/items/b45-s1 → 200 1ms (key=k2)",
        "2026-12-02 01:52:06,290 origin GET /api/items/b45-w0 → 200 1ms",
        "origin ready on http://127.0.0.1:1 (db :memory:)",
    ]
    assert origin_calls(lines, "b45-w") == 2
