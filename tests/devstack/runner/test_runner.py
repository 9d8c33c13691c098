"""The Pyodide runner serves a Worker entry module the way the Cloudflare runtime would.

Everything here goes through real processes: ``node devstack/runner/serve.mjs`` with npm
pyodide 0.28.2 and the PyPI ``workers`` SDK, serving tests/devstack/runner/fixtures/worker.py over
HTTP on a free 127.0.0.1 port. One runner per configuration is shared by the module (Pyodide
starts in seconds) and stopped in the fixture's teardown.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess

import pytest

from tests.loopback import Sink, http
from tests.devstack.runner.support import FIXTURES, ROOT, SERVE, require_runtime, run_to_exit, start_runner

pytestmark = pytest.mark.node

WORKER = FIXTURES / "worker.py"
VARS = FIXTURES / "dev.vars"
POINTS = FIXTURES / "region_points.py"


@pytest.fixture(scope="module")
def notify_sink():
    """Where the Worker's scheduled() sends its waitUntil POST (env NOTIFY_URL)."""
    with Sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def runner(notify_sink):
    """The fixture Worker with the dev country override on and the fixture region points."""
    require_runtime()
    proc, url = start_runner(WORKER, "--vars", str(VARS), "--var", "ALLOW_COUNTRY_OVERRIDE=true",
                             "--var", f"NOTIFY_URL={notify_sink.url}/scheduled", "--country-points", str(POINTS))
    yield proc, url
    proc.stop()


@pytest.fixture(scope="module")
def runner_no_override():
    """Same Worker, override off (the production setting): X-Edge-Country must be ignored."""
    require_runtime()
    proc, url = start_runner(WORKER, "--vars", str(VARS), "--country-points", str(POINTS), name="plain")
    yield proc, url
    proc.stop()


def idle(url: str) -> dict:
    """Wait until no request, cron run or waitUntil work is pending (instead of sleeping)."""
    answer = http("GET", f"{url}/__runner/idle?timeout_ms=10000")
    assert answer.status == 200, answer.text
    return answer.json()


# -- requests and responses -----------------------------------------------------------------

def test_get_returns_the_workers_json_and_env_vars_from_the_vars_file(runner):
    _, url = runner
    answer = http("GET", f"{url}/env")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    # The dotenv grammar wrangler reads: comments dropped, `export`, quotes, \n in "..." only.
    assert answer.json() == {
        "GREETING": "hello world",
        "SECRET_TOKEN": "s3cr=t",
        "MULTILINE": "line one\nline two",
        "ALLOW_COUNTRY_OVERRIDE": "true",
        "QUOTED_HASH": "a # not a comment",
    }


def test_a_path_starting_with_two_slashes_reaches_the_worker(runner):
    # Found by tests/e2e/test_fuzz.py: the runner parsed "//%2F" as a host and answered 500.
    _, url = runner
    answer = http("GET", f"{url}//%2F")
    assert (answer.status, answer.body) == (404, b"not found")  # the fixture Worker's own answer


def test_a_host_header_that_is_no_host_is_a_400_not_a_runner_error(runner):
    # Found by tests/e2e/test_fuzz.py: "Host: identity, gzip" made new Request() throw (500).
    proc, url = runner
    answer = http("GET", f"{url}/env", headers={"host": "identity, gzip"})
    assert answer.status == 400 and "cannot reach a Worker" in answer.json()["error"]
    assert "runner error" not in proc.output()


def test_post_round_trips_a_binary_body_byte_for_byte(runner):
    _, url = runner
    body = bytes(range(256)) * 257 + b"\x00\xff\r\n"  # every byte value, not valid UTF-8
    answer = http("POST", f"{url}/echo", body, {"content-type": "application/x-test-bytes"})
    assert answer.status == 200
    assert answer.body == body
    assert answer.headers["x-echo-length"] == str(len(body))
    assert answer.headers["x-echo-method"] == "POST"
    assert answer.headers["content-type"] == "application/x-test-bytes"


def test_request_headers_reach_the_worker_with_cloudflare_additions(runner):
    _, url = runner
    answer = http("GET", f"{url}/headers", headers={"X-Custom": "a, b", "Connection": "keep-alive",
                                                     "CF-Connecting-IP": "203.0.113.9"})
    seen = answer.json()
    assert seen["x-custom"] == "a, b"  # comma-joined values kept (python_request_headers_preserve_commas)
    assert "connection" not in seen  # hop-by-hop headers never reach a Worker
    assert seen["cf-connecting-ip"] == "127.0.0.1"  # the edge sets it; a client cannot spoof it
    assert seen["cf-ipcountry"] == "US"
    assert seen["cf-ray"].endswith("-IAD")


def test_a_worker_exception_is_a_500_and_its_traceback_is_logged(runner):
    proc, url = runner
    answer = http("GET", f"{url}/boom")
    assert answer.status == 500
    assert answer.text == "Worker threw exception: ValueError: boom on purpose\n"
    assert proc.wait_for_line(r'raise ValueError\("boom on purpose"\)', 5)
    assert http("GET", f"{url}/env").status == 200  # and it keeps serving


def test_content_encoding_set_by_the_worker_is_applied_by_the_runtime(runner):
    _, url = runner
    answer = http("GET", f"{url}/gzip")
    assert answer.headers["content-encoding"] == "gzip"
    assert gzip.decompress(answer.body) == b"compress me " * 50


def test_print_and_console_log_become_prefixed_log_lines(runner):
    proc, url = runner
    assert http("GET", f"{url}/print").status == 200
    assert proc.wait_for_line(r"^hello from python print$", 5)
    assert proc.wait_for_line(r"^hello from js console$", 5)
    assert proc.wait_for_line(r"^GET /print → 200 \d+ms$", 5)


# -- what production lacks, lacks here too ----------------------------------------------------

def test_a_module_pyodide_lacks_fails_at_request_time(runner):
    _, url = runner
    answer = http("GET", f"{url}/missing-module")
    assert answer.status == 500
    assert "ModuleNotFoundError: No module named 'tkinter'" in answer.text


def test_host_site_packages_are_not_visible_to_the_worker(runner):
    _, url = runner
    import pytest as host_module  # noqa: F401  present in the venv that runs these tests

    answer = http("GET", f"{url}/import?name=pytest")
    assert answer.status == 500
    assert "No module named 'pytest'" in answer.text
    assert http("GET", f"{url}/import?name=json").text == "json"  # the stdlib is there


def test_the_bundle_is_read_only(runner):
    _, url = runner
    answer = http("GET", f"{url}/write-bundle")
    assert answer.json()["error"] == "OSError"
    assert answer.json()["errno"] is not None
    assert not (FIXTURES / "written-by-worker.txt").exists()


# -- ctx.waitUntil ----------------------------------------------------------------------------

def test_wait_until_work_finishes_after_the_response(runner):
    _, url = runner
    with Sink() as sink:
        answer = http("POST", f"{url}/notify?url={sink.url}/hook&delay_ms=1500", b"\x01payload\xfe")
        assert answer.status == 202
        # Ordering, not durations: when the answer is in, the waitUntil work is still pending.
        busy = http("GET", f"{url}/__runner/idle?timeout_ms=0")
        assert (busy.status, busy.json()["waitUntilPending"]) == (504, 1), busy.text
        assert sink.received == []  # the response did not wait for the background work
        snapshot = idle(url)
        assert [(r.method, r.path, r.body) for r in sink.received] == [("POST", "/hook", b"\x01payload\xfe")]
        assert snapshot["waitUntilPending"] == 0


def test_a_failing_wait_until_is_logged_and_the_runner_keeps_serving(runner):
    proc, url = runner
    before = idle(url)["waitUntilFailed"]
    assert http("GET", f"{url}/notify-fail").status == 200
    after = idle(url)
    assert after["waitUntilFailed"] == before + 1
    assert proc.wait_for_line(r"^waitUntil from GET /notify-fail failed after \d+ms:$", 5)
    assert proc.wait_for_line(r"RuntimeError: background work failed on purpose", 5)
    assert http("GET", f"{url}/env").status == 200


# -- request.cf -------------------------------------------------------------------------------

def test_cf_has_the_default_location_without_an_override_header(runner):
    _, url = runner
    assert http("GET", f"{url}/cf").json() == {
        "country": "US", "continent": "NA", "latitude": "39.04", "longitude": "-77.49",
        "city": "Ashburn", "colo": "IAD", "timezone": "America/New_York",
    }


def test_x_edge_country_moves_the_request_when_the_override_is_on(runner):
    proc, url = runner
    cf = http("GET", f"{url}/cf", headers={"X-Edge-Country": "jp"}).json()
    assert cf == {"country": "JP", "continent": "AS", "latitude": "36.2", "longitude": "138.25",
                  "city": None, "colo": "IAD", "timezone": None}
    de = http("GET", f"{url}/cf", headers={"X-Edge-Country": "DE"}).json()
    assert (de["country"], de["continent"], de["latitude"], de["longitude"]) == ("DE", "EU", "51.17", "10.45")
    assert proc.wait_for_line(r"GET /cf → 200 \d+ms \(cf\.country=JP \(36\.2,138\.25\)\)", 5)


def test_a_country_without_a_point_sets_only_the_country(runner):
    _, url = runner
    cf = http("GET", f"{url}/cf", headers={"X-Edge-Country": "ZZ"}).json()
    assert (cf["country"], cf["continent"], cf["latitude"], cf["longitude"]) == ("ZZ", None, None, None)


def test_x_edge_country_is_ignored_when_the_override_is_off(runner_no_override):
    proc, url = runner_no_override
    cf = http("GET", f"{url}/cf", headers={"X-Edge-Country": "JP"}).json()
    assert (cf["country"], cf["continent"], cf["latitude"]) == ("US", "NA", "39.04")
    assert proc.wait_for_line(r"x-edge-country ignored \(ALLOW_COUNTRY_OVERRIDE is off\)", 5)


# -- scheduled() ------------------------------------------------------------------------------

def test_scheduled_fires_on_demand_at_the_wrangler_url(runner):
    _, url = runner
    answer = http("GET", f"{url}/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*&time=1800000000000")
    assert (answer.status, answer.text) == (200, "ok")
    calls = http("GET", f"{url}/scheduled-calls").json()
    # env and ctx arrive as None, as workerd passes them to class-based handlers.
    assert {"cron": "*/5 * * * *", "scheduledTime": 1800000000000, "env": None, "ctx": None} in calls


def test_a_failing_scheduled_handler_answers_exception_and_is_logged(runner):
    proc, url = runner
    answer = http("GET", f"{url}/cdn-cgi/handler/scheduled?cron=fail")
    assert (answer.status, answer.text) == (500, "exception")
    assert proc.wait_for_line(r"RuntimeError: scheduled failed on purpose", 5)
    assert proc.wait_for_line(r'scheduled "fail" \(/cdn-cgi/handler/scheduled\) → exception', 5)


def test_scheduled_wait_until_work_completes_before_the_trigger_answers(runner, notify_sink):
    """The scheduled URL answers once the event, its waitUntil work included, has finished."""
    _, url = runner
    before = len(notify_sink.received)
    answer = http("GET", f"{url}/cdn-cgi/handler/scheduled?cron=notify")
    assert (answer.status, answer.text) == (200, "ok")
    # No waiting: the POST made in waitUntil has already arrived when the trigger answers.
    assert [(r.path, r.body) for r in notify_sink.received[before:]] == [("/scheduled", b"scheduled")]


def test_cron_schedule_uses_cloudflares_dialect():
    """--print-config shows the next fires without starting Pyodide (time is a parameter)."""
    out = subprocess.run(
        ["node", str(SERVE), "--entry", str(WORKER), "--print-config", "--now", "2026-01-01T00:02:30Z",
         "--crons", "*/5 * * * *; 0 17 * * 1"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    crons = {c["expr"]: c["next"] for c in json.loads(out.stdout)["crons"]}
    assert crons["*/5 * * * *"] == ["2026-01-01T00:05:00.000Z", "2026-01-01T00:10:00.000Z", "2026-01-01T00:15:00.000Z"]
    # Weekday 1 is Sunday on Cloudflare; 2026-01-04 is a Sunday.
    assert crons["0 17 * * 1"][0] == "2026-01-04T17:00:00.000Z"


def test_cron_timers_fire_each_matching_minute_and_rearm():
    """armCrons with a fake clock: what the runner uses to fire scheduled() on schedule."""
    script = """
import { armCrons, parseCron } from "./devstack/runner/cron.mjs";
let now = Date.parse("2026-01-01T00:00:30Z");
const timers = [];
const fired = [];
armCrons([parseCron("* * * * *")], (expr, at) => fired.push([expr, new Date(at).toISOString()]), {
  now: () => now,
  setTimer: (fn, ms) => { timers.push({ fn, at: now + ms }); return {}; },
  clearTimer: () => {},
});
for (let i = 0; i < 3; i += 1) {
  timers.sort((a, b) => a.at - b.at);
  const t = timers.shift();
  now = t.at;
  t.fn();
}
console.log(JSON.stringify(fired));
"""
    out = subprocess.run(["node", "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [
        ["* * * * *", "2026-01-01T00:01:00.000Z"],
        ["* * * * *", "2026-01-01T00:02:00.000Z"],
        ["* * * * *", "2026-01-01T00:03:00.000Z"],
    ]


def test_a_bad_cron_expression_is_a_usage_error():
    out = subprocess.run(["node", str(SERVE), "--entry", str(WORKER), "--crons", "0 17 * * 0"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2
    assert "Cloudflare numbers weekdays 1-7 with 1 = Sunday" in out.stderr


# -- start-up failures and shutdown -------------------------------------------------------------

def test_an_entry_importing_a_module_pyodide_lacks_fails_at_start():
    require_runtime()
    code, output = run_to_exit(FIXTURES / "broken_import.py")
    assert code == 1
    assert "startup failed: ModuleNotFoundError: No module named '_tkinter'" in output
    assert 'File "/session/metadata/broken_import.py", line 4' in output  # the traceback points at it
    assert "ready on" not in output


def test_an_entry_without_a_default_class_fails_at_start():
    require_runtime()
    code, output = run_to_exit(FIXTURES / "no_default.py")
    assert code == 1
    assert "There is no 'Default' class defined in the Python Worker's main module" in output
    assert "must define `class Default(WorkerEntrypoint)`" in output
    assert "ready on" not in output


def test_a_missing_entry_file_is_a_usage_error_before_pyodide_loads():
    out = subprocess.run(["node", str(SERVE), "--entry", "no/such/worker.py"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2
    assert "--entry no/such/worker.py: no such file" in out.stderr


def test_sigterm_lets_wait_until_work_finish_then_exits_cleanly():
    require_runtime()
    proc, url = start_runner(WORKER, name="stopping")
    try:
        with Sink() as sink:
            assert http("POST", f"{url}/notify?url={sink.url}/late&delay_ms=300", b"last").status == 202
            os.killpg(proc.pid, signal.SIGTERM)
            assert proc.wait_exit(10) == 0
            assert [r.body for r in sink.received] == [b"last"]
        assert proc.wait_for_line(r"^SIGTERM: stopping$", 1)
    finally:
        proc.stop()
