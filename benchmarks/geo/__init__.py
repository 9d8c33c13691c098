"""``make bench-geo``: the world latency model, the real Workers under it, and the region planner.

    data.py      internet users per country, measured inter-region RTTs (sources cited there)
    model.py     points and round-trip times (great circle x fibre-path factor + overhead)
    sim.py       EdgeApp/SyncApp under the model on a virtual-time event loop
    __main__.py  every country x configuration -> benchmarks/out/geo.json, PNG plots, table
    plan.py      which Momento regions to create for a user mix (``python -m benchmarks.geo.plan``)
"""
