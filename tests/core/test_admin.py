"""admin: the admin token check and the per-region queue report."""

from __future__ import annotations

import inspect
import json

import pytest

from edgecache import admin
from edgecache.admin import STALE_WRITE_SECONDS, check_admin, queue_report
from edgecache.config import load_config
from edgecache.http import Headers, Request
from edgecache.regional import RegionalClients
from edgecache.writes import WriteState

from .support import REGIONS, START, TOKEN, CountingFetch, FakeClock, record, standin

US, EU = REGIONS
ADMIN = "admin-secret-c0ffee"


def config(**overrides: str | None):
    env = {
        "ORIGIN_URL": "https://origin.example",
        "MOMENTO_API_KEY": TOKEN,
        "MOMENTO_REGIONS": ",".join(f"{r}=http://x/{r}" for r in REGIONS),
        "ADMIN_TOKEN": ADMIN,
    }
    env.update(overrides)
    return load_config({k: v for k, v in env.items() if v is not None})


def request(authorization: str | None) -> Request:
    headers = Headers({"Authorization": authorization} if authorization is not None else {})
    return Request("GET", "https://edge.example/_edge/queue", headers)


# -- check_admin ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_right_token_passes_whatever_the_scheme_case(scheme: str) -> None:
    # RFC 9110 §11.1: the auth scheme is case-insensitive, and one or more spaces follow it.
    assert check_admin(request(f"{scheme} {ADMIN}"), config()) is None
    assert check_admin(request(f"{scheme}  {ADMIN}"), config()) is None


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Bearer {ADMIN}x", f"Bearer {ADMIN[:-1]}", ADMIN, f"Basic {ADMIN}",
     f"Bearer {ADMIN.upper()}", "Bearer ☃", f"Bearer{ADMIN}"],
)
def test_wrong_or_missing_token_is_401(authorization: str | None) -> None:
    response = check_admin(request(authorization), config())
    assert response is not None and response.status == 401
    assert json.loads(response.body)["error"]
    assert ADMIN not in response.body.decode()


def test_missing_and_wrong_token_are_indistinguishable() -> None:
    """The answer must not tell a prober whether a token was sent or how close it was."""
    missing = check_admin(request(None), config())
    wrong = check_admin(request("Bearer guess"), config())
    almost = check_admin(request(f"Bearer {ADMIN[:-1]}"), config())
    assert missing.status == wrong.status == almost.status == 401
    assert missing.body == wrong.body == almost.body
    assert missing.headers.items() == wrong.headers.items() == almost.headers.items()


def test_without_admin_token_the_endpoints_are_off() -> None:
    response = check_admin(request("Bearer "), config(ADMIN_TOKEN=None))
    assert response.status == 503
    body = json.loads(response.body)
    assert body["variable"] == "ADMIN_TOKEN" and "ADMIN_TOKEN" in body["fix"]


def test_without_admin_token_even_an_empty_bearer_is_refused() -> None:
    """An unset token must not compare equal to an empty one."""
    for auth in (None, "", "Bearer ", "Bearer None"):
        assert check_admin(request(auth), config(ADMIN_TOKEN=None)).status == 503


def test_comparison_is_constant_time() -> None:
    """Timing cannot be asserted reliably in a unit test, so this pins the mechanism: the
    token is compared with hmac.compare_digest, never with == (which stops at the first
    differing byte)."""
    source = inspect.getsource(admin.check_admin)
    assert "compare_digest" in source
    assert "== expected" not in source and "expected ==" not in source


# -- queue_report --------------------------------------------------------------------------


class Setup:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.standin = standin(self.clock)
        self.fetch = CountingFetch(self.standin)
        self.regions = RegionalClients(config(), self.fetch)


async def report(setup: Setup, now: float) -> dict:
    response = await queue_report(setup.regions, now)
    assert response.status == 200
    assert response.headers.get("content-type") == "application/json"
    assert response.headers.get("cache-control") == "no-store"
    return json.loads(response.body)


async def test_report_covers_every_region() -> None:
    s = Setup()
    us = s.regions.queue(US)
    await us.add("a", START * 1000)
    await us.add("b", (START + 5) * 1000)
    await s.regions.queue(EU).dead_letter(record(1, region=EU).to(WriteState.REPLAYING).to(WriteState.FAILED), START)
    body = await report(s, START + 30)
    assert body == {
        "regions": [
            {"region": US, "depth": 2, "oldest_age_seconds": 30.0, "dead_letters": 0},
            {"region": EU, "depth": 0, "oldest_age_seconds": None, "dead_letters": 1},
        ],
        "at_risk": [],
    }


async def test_writes_near_the_24h_limit_are_flagged() -> None:
    assert STALE_WRITE_SECONDS < 24 * 3600  # warn before Momento's 24 h TTL cap loses the write
    s = Setup()
    await s.regions.queue(EU).add("old", START * 1000)
    await s.regions.queue(US).add("young", (START + 7200) * 1000)
    body = await report(s, START + STALE_WRITE_SECONDS)
    us, eu = body["regions"]
    assert body["at_risk"] == [EU]
    assert "warning" in eu and "warning" not in us
    body = await report(s, START + STALE_WRITE_SECONDS - 0.5)
    assert body["at_risk"] == [] and all("warning" not in r for r in body["regions"])


async def test_a_failing_region_is_reported_not_fatal() -> None:
    s = Setup()
    await s.regions.queue(US).add("a", START * 1000)
    s.standin.add_fault(region=EU, grpc_status=14)  # every EU call fails until cleared
    body = await report(s, START + 1)
    us, eu = body["regions"]
    assert us["depth"] == 1
    assert set(eu) == {"region", "error"} and eu["region"] == EU and eu["error"]
    assert TOKEN not in json.dumps(body)


async def test_a_non_momento_failure_is_not_swallowed() -> None:
    """Only Momento's own errors become a report line; a bug must surface as a bug."""
    s = Setup()

    class Boom(Exception):
        pass

    async def broken(request):
        if "/eu-central-1/" in request.url:
            raise Boom("programming error")
        return await s.standin.handle(request)

    regions = RegionalClients(config(), broken)
    with pytest.raises(Boom):
        await queue_report(regions, START)


def test_the_at_risk_age_is_the_last_sixth_of_the_queue_ttl() -> None:
    from edgecache.admin import at_risk_after
    from edgecache.sync.replay import keep_alive_after

    assert at_risk_after(3600) == 3000 and at_risk_after(86_400) == STALE_WRITE_SECONDS == 20 * 3600
    assert keep_alive_after(3600) == at_risk_after(3600)  # one TTL policy for both
