"""``make chaos``: writes keep their promise while the local stack is killed around them.

The whole local stack runs as real processes (``devstack.stack``: both Workers in Pyodide, the
Momento stand-in persisting to SQLite, the demo origin). N writes go to the edge from three
regions while the run ``kill -9``s each Worker runner and the stand-in at random points (the
supervisor restarts them), flaps the origin, and injects Momento 5xx, 429 and latency; then it
drains the queues and counts, per write, what its client was told against what the origin
applied (by ``Idempotency-Key``). A printed figure, not a timed test: it must show 0 lost and
0 applied twice, and exits 1 otherwise.

    plan     the writes and the events between them, from the seed alone
    driver   carries a plan out against a running stack, drains, gathers what to count
    tally    the counting (what "applied once", "lost", ... mean)

``tests/e2e/test_chaos.py`` runs a short fixed-seed version in ``make test``.
"""

from .driver import CHAOS_SYNC_VARS, CHAOS_WORKER_VARS, ChaosResult, run_chaos
from .plan import Plan, make_plan
from .tally import Figures, Outcome, tally

__all__ = ["run_chaos", "ChaosResult", "CHAOS_SYNC_VARS", "CHAOS_WORKER_VARS", "Plan", "make_plan", "Figures",
           "Outcome", "tally"]
