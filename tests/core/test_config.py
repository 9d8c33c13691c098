"""config.load_config / load_sync_config: every variable's good and bad paths.

A bad variable must become a ConfigError that names the variable, says what is wrong and how
to fix it (the Worker answers 503 with ``to_json()``), and never repeats a secret.
"""

from __future__ import annotations

import base64
import json
import tomllib
import traceback
from pathlib import Path

import pytest

from edgecache.config import Config, ConfigError, load_config, load_sync_config
from edgecache.momento.cells import Endpoints, default_endpoints
from edgecache.writes import MAX_BODY_BYTES, MOMENTO_ITEM_BYTES, RECORD_RESERVE_BYTES, WriteRecord

# Distinctive secret values: if any of them shows up in an error, it leaked.
API_KEY = "momento-api-key-7f3c1a"
ADMIN = "admin-token-b4e9d2"
WEBHOOK = "webhook-secret-91ac55"
WEBHOOK_OLD = "webhook-secret-old-0d17"
SECRETS = (API_KEY, ADMIN, WEBHOOK, WEBHOOK_OLD)

ROOT = Path(__file__).resolve().parents[2]


def env(**overrides: str | None) -> dict[str, str]:
    """A valid environment with every secret set; ``NAME=None`` removes a variable."""
    base = {
        "ORIGIN_URL": "https://api.example.com",
        "MOMENTO_API_KEY": API_KEY,
        "ADMIN_TOKEN": ADMIN,
        "WEBHOOK_SECRET": WEBHOOK,
        "WEBHOOK_SECRET_PREVIOUS": WEBHOOK_OLD,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def v1_key(claims: object) -> str:
    return base64.b64encode(json.dumps(claims).encode()).decode()


def config_error(loader, environment) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        loader(environment)
    return info.value


def assert_explains(err: ConfigError, variable: str, *fix_mentions: str) -> None:
    """Names the variable, says what is wrong and how to fix it, in str() and in to_json()."""
    assert err.variable == variable
    assert err.problem.strip() and err.fix.strip()
    text = str(err)
    assert text.startswith(f"{variable}: ") and "Fix: " in text
    assert err.problem in text and err.fix in text
    body = err.to_json()
    assert body["variable"] == variable and body["problem"] == err.problem and body["fix"] == err.fix
    assert body["error"]
    json.dumps(body)  # a 503 body: must serialise
    for mention in fix_mentions:
        assert mention in err.fix


def assert_no_secret(err: ConfigError, *extra: str) -> None:
    shown = [str(err), repr(err), json.dumps(err.to_json()), "".join(traceback.format_exception(err))]
    for secret in SECRETS + extra:
        for text in shown:
            assert secret not in text


# -- the good paths ----------------------------------------------------------------------


def test_minimal_environment_gets_documented_defaults() -> None:
    config = load_config({"ORIGIN_URL": "https://api.example.com/", "MOMENTO_API_KEY": API_KEY})
    assert config.origin_url == "https://api.example.com"  # no trailing slash to double up
    assert config.momento_token == API_KEY  # not base64 JSON: sent as given (v2 / opaque)
    assert list(config.regions) == ["us-east-1"]
    assert config.default_region == "us-east-1"
    assert config.regions["us-east-1"].endpoints == default_endpoints("us-east-1")
    assert config.admin_token is None  # admin endpoints off
    assert config.allow_country_override is False  # dev only, off by default (issue 2)
    assert config.max_body_bytes == 1_000_000  # 1 MB default (issue 2)
    assert 60 <= config.queue_ttl_seconds <= 24 * 3600  # Momento caps TTLs at 24 h
    assert config.queue_topic
    assert config.momento_timeout > 0 and config.origin_timeout > 0
    assert config.routes and all(r.mode in ("cache", "write-behind", "pass") for r in config.routes)


def test_secrets_are_not_in_the_config_repr() -> None:
    config = load_config(env())
    sync = load_sync_config(env())
    for secret in SECRETS:
        assert secret not in repr(config) and secret not in repr(sync)


def test_values_are_stripped_and_blank_counts_as_unset() -> None:
    config = load_config(env(ORIGIN_URL="  https://api.example.com  ", ADMIN_TOKEN="   ", QUEUE_TOPIC=""))
    assert config.origin_url == "https://api.example.com"
    assert config.admin_token is None
    assert config.queue_topic  # falls back to the default, not ""


def test_v1_api_key_is_decoded_to_the_inner_key() -> None:
    raw = v1_key({"api_key": "inner-jwt-abc", "endpoint": "cell-us-east-1-1.prod.a.momentohq.com"})
    assert load_config(env(MOMENTO_API_KEY=raw)).momento_token == "inner-jwt-abc"


def test_jwt_style_key_is_sent_as_given() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert load_config(env(MOMENTO_API_KEY=jwt)).momento_token == jwt


def test_regions_plain_list_with_defaults_and_overrides() -> None:
    config = load_config(env(MOMENTO_REGIONS=" us-east-1 , eu-central-1=http://127.0.0.1:9/eu-central-1/ ,"))
    assert list(config.regions) == ["us-east-1", "eu-central-1"]
    assert config.default_region == "us-east-1"  # the first region when DEFAULT_REGION is unset
    assert config.regions["us-east-1"].endpoints == default_endpoints("us-east-1")
    eu = config.regions["eu-central-1"].endpoints
    assert eu == Endpoints("http://127.0.0.1:9/eu-central-1", "http://127.0.0.1:9/eu-central-1")


def test_regions_json_form_sets_rest_and_grpc_apart() -> None:
    raw = json.dumps({
        "us-east-1": "http://standin/us-east-1/",
        "eu-central-1": {"rest_url": "https://rest.example/", "grpc_url": "https://grpc.example"},
    })
    config = load_config(env(MOMENTO_REGIONS=raw, DEFAULT_REGION="eu-central-1"))
    assert config.regions["us-east-1"].endpoints == Endpoints("http://standin/us-east-1", "http://standin/us-east-1")
    assert config.regions["eu-central-1"].endpoints == Endpoints("https://rest.example", "https://grpc.example")
    assert config.default_region == "eu-central-1"


def test_cache_name_shared_or_per_region() -> None:
    shared = load_config(env(MOMENTO_REGIONS="us-east-1,eu-central-1", MOMENTO_CACHE="mycache"))
    assert {r.cache for r in shared.regions.values()} == {"mycache"}
    per = load_config(env(MOMENTO_REGIONS="us-east-1,eu-central-1",
                          MOMENTO_CACHE='{"us-east-1": "c-us", "eu-central-1": "c-eu", "extra": "x"}'))
    assert per.regions["us-east-1"].cache == "c-us" and per.regions["eu-central-1"].cache == "c-eu"


def test_routes_are_parsed() -> None:
    config = load_config(env(ROUTES='[{"pattern": "/api/*", "mode": "pass"}]'))
    assert [(r.pattern, r.mode) for r in config.routes] == [("/api/*", "pass")]


@pytest.mark.parametrize("raw, expected", [("true", True), ("1", True), ("YES", True), ("on", True),
                                           ("false", False), ("0", False), ("No", False), ("off", False)])
def test_allow_country_override_spellings(raw: str, expected: bool) -> None:
    assert load_config(env(ALLOW_COUNTRY_OVERRIDE=raw)).allow_country_override is expected


def test_numbers_in_range_are_accepted_at_both_ends() -> None:
    low = load_config(env(QUEUE_TTL_SECONDS="60", MAX_BODY_BYTES="1", MOMENTO_TIMEOUT_MS="50", ORIGIN_TIMEOUT_MS="100"))
    assert (low.queue_ttl_seconds, low.max_body_bytes, low.momento_timeout, low.origin_timeout) == (60, 1, 0.05, 0.1)
    high = load_config(env(QUEUE_TTL_SECONDS="86400", MOMENTO_TIMEOUT_MS="30000", ORIGIN_TIMEOUT_MS="60000"))
    assert (high.queue_ttl_seconds, high.momento_timeout, high.origin_timeout) == (86400, 30.0, 60.0)
    assert load_config(env(MAX_BODY_BYTES="2.0e3")).max_body_bytes == 2000  # a whole number, however written


def test_sync_config_reads_both_webhook_secrets_and_limits() -> None:
    sync = load_sync_config(env(MAX_ATTEMPTS="3", SYNC_SUBREQUEST_BUDGET="100", SYNC_WALL_MS="10000",
                                LEASE_SECONDS="30", BACKOFF_BASE_MS="500", BACKOFF_CAP_MS="9000",
                                WEBHOOK_MAX_AGE_SECONDS="120"))
    assert sync.webhook_secrets == (WEBHOOK, WEBHOOK_OLD)  # rotation: the new one first
    assert (sync.max_attempts, sync.subrequest_budget, sync.lease_seconds) == (3, 100, 30)
    assert (sync.wall_seconds, sync.backoff_base_seconds, sync.backoff_cap_seconds) == (10.0, 0.5, 9.0)
    assert sync.webhook_max_age_seconds == 120
    assert load_sync_config(env(WEBHOOK_SECRET_PREVIOUS=None)).webhook_secrets == (WEBHOOK,)


def test_sync_wall_may_be_exactly_half_the_lease() -> None:
    assert load_sync_config(env(SYNC_WALL_MS="30000", LEASE_SECONDS="60")).wall_seconds == 30.0


@pytest.mark.parametrize("environment", ["edge", "sync"])
def test_shipped_wrangler_vars_load(environment: str) -> None:
    """The [vars] committed in wrangler.toml, plus the documented secrets, are a valid config."""
    toml = tomllib.loads((ROOT / "wrangler.toml").read_text())
    variables = toml["vars"] if environment == "edge" else toml["env"]["sync"]["vars"]
    secrets = {"MOMENTO_API_KEY": API_KEY, "ADMIN_TOKEN": ADMIN, "WEBHOOK_SECRET": WEBHOOK}
    config = load_config({**variables, **secrets})
    assert config.default_region in config.regions
    if environment == "sync":
        load_sync_config({**variables, **secrets})


# -- the bad paths: one per variable and way of being wrong -----------------------------

EDGE_CASES = [
    # (variable, overrides, words the fix must contain)
    ("ORIGIN_URL", {"ORIGIN_URL": None}, ["https://"]),
    ("ORIGIN_URL", {"ORIGIN_URL": "   "}, ["https://"]),
    ("ORIGIN_URL", {"ORIGIN_URL": "api.example.com"}, ["https://"]),
    ("ORIGIN_URL", {"ORIGIN_URL": "ftp://api.example.com"}, ["https://"]),
    ("ORIGIN_URL", {"ORIGIN_URL": "https://"}, ["https://"]),
    ("MOMENTO_API_KEY", {"MOMENTO_API_KEY": None}, ["wrangler secret put MOMENTO_API_KEY"]),
    ("MOMENTO_API_KEY", {"MOMENTO_API_KEY": v1_key({"api_key": 5})}, ["Momento console"]),
    ("MOMENTO_API_KEY", {"MOMENTO_API_KEY": v1_key({"endpoint": "cell-1"})}, ["Momento console"]),
    ("MOMENTO_API_KEY", {"MOMENTO_API_KEY": base64.b64encode(b"{not json").decode()}, ["Momento console"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": "{not json"}, ["us-east-1"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": "{}"}, ["us-east-1"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": " , ,"}, ["us-east-1"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": '{"us-east-1": 5}'}, ["us-east-1"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": '{"us-east-1": {"rest_url": "http://a"}}'}, ["us-east-1"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": '{"us-east-1": {"rest_url": 1, "grpc_url": 2}}'}, ["us-east-1"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": "us-east-1,mars-north-1"}, ["mars-north-1=https://"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": "=http://standin/x"}, ["us-east-1"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": "us-east-1=standin.local"}, ["https://"]),
    ("MOMENTO_REGIONS", {"MOMENTO_REGIONS": '{"us-east-1": "ftp://standin"}'}, ["https://"]),
    ("MOMENTO_CACHE", {"MOMENTO_CACHE": "{not json"}, ["us-east-1"]),
    ("MOMENTO_CACHE", {"MOMENTO_REGIONS": "us-east-1,eu-central-1", "MOMENTO_CACHE": '{"us-east-1": "c"}'},
     ["MOMENTO_REGIONS"]),
    ("MOMENTO_CACHE", {"MOMENTO_CACHE": '{"us-east-1": 7}'}, ["MOMENTO_REGIONS"]),
    ("MOMENTO_CACHE", {"MOMENTO_CACHE": '{"us-east-1": " "}'}, ["MOMENTO_REGIONS"]),
    ("DEFAULT_REGION", {"MOMENTO_REGIONS": "us-east-1", "DEFAULT_REGION": "eu-central-1"}, ["MOMENTO_REGIONS"]),
    ("ROUTES", {"ROUTES": "[{"}, ["pattern"]),
    ("ROUTES", {"ROUTES": '{"pattern": "/*", "mode": "cache"}'}, ["pattern"]),
    ("ROUTES", {"ROUTES": '[{"pattern": "/*", "mode": "fast"}]'}, ["pattern"]),
    ("QUEUE_TTL_SECONDS", {"QUEUE_TTL_SECONDS": "59"}, ["QUEUE_TTL_SECONDS", "remove it"]),
    ("QUEUE_TTL_SECONDS", {"QUEUE_TTL_SECONDS": "86401"}, ["QUEUE_TTL_SECONDS"]),
    ("QUEUE_TTL_SECONDS", {"QUEUE_TTL_SECONDS": "one day"}, ["QUEUE_TTL_SECONDS"]),
    ("QUEUE_TTL_SECONDS", {"QUEUE_TTL_SECONDS": "3600.5"}, ["QUEUE_TTL_SECONDS"]),
    ("QUEUE_TTL_SECONDS", {"QUEUE_TTL_SECONDS": "nan"}, ["QUEUE_TTL_SECONDS"]),
    ("QUEUE_TTL_SECONDS", {"QUEUE_TTL_SECONDS": "inf"}, ["QUEUE_TTL_SECONDS"]),
    ("MAX_BODY_BYTES", {"MAX_BODY_BYTES": "0"}, ["MAX_BODY_BYTES"]),
    ("MAX_BODY_BYTES", {"MAX_BODY_BYTES": "4000001"}, ["MAX_BODY_BYTES"]),
    ("MAX_BODY_BYTES", {"MAX_BODY_BYTES": "1MB"}, ["MAX_BODY_BYTES"]),
    ("MOMENTO_TIMEOUT_MS", {"MOMENTO_TIMEOUT_MS": "49"}, ["MOMENTO_TIMEOUT_MS"]),
    ("MOMENTO_TIMEOUT_MS", {"MOMENTO_TIMEOUT_MS": "30001"}, ["MOMENTO_TIMEOUT_MS"]),
    ("ORIGIN_TIMEOUT_MS", {"ORIGIN_TIMEOUT_MS": "99"}, ["ORIGIN_TIMEOUT_MS"]),
    ("ORIGIN_TIMEOUT_MS", {"ORIGIN_TIMEOUT_MS": "-5000"}, ["ORIGIN_TIMEOUT_MS"]),
    ("ALLOW_COUNTRY_OVERRIDE", {"ALLOW_COUNTRY_OVERRIDE": "maybe"}, ["true or false"]),
]

SYNC_CASES = [
    ("WEBHOOK_SECRET", {"WEBHOOK_SECRET": None}, ["wrangler secret put WEBHOOK_SECRET"]),
    ("WEBHOOK_SECRET", {"WEBHOOK_SECRET": " "}, ["wrangler secret put WEBHOOK_SECRET"]),
    ("WEBHOOK_MAX_AGE_SECONDS", {"WEBHOOK_MAX_AGE_SECONDS": "4"}, ["WEBHOOK_MAX_AGE_SECONDS"]),
    ("WEBHOOK_MAX_AGE_SECONDS", {"WEBHOOK_MAX_AGE_SECONDS": "3601"}, ["WEBHOOK_MAX_AGE_SECONDS"]),
    ("MAX_ATTEMPTS", {"MAX_ATTEMPTS": "0"}, ["MAX_ATTEMPTS"]),
    ("MAX_ATTEMPTS", {"MAX_ATTEMPTS": "101"}, ["MAX_ATTEMPTS"]),
    ("MAX_ATTEMPTS", {"MAX_ATTEMPTS": "three"}, ["MAX_ATTEMPTS"]),
    ("SYNC_SUBREQUEST_BUDGET", {"SYNC_SUBREQUEST_BUDGET": "9"}, ["SYNC_SUBREQUEST_BUDGET"]),
    ("SYNC_SUBREQUEST_BUDGET", {"SYNC_SUBREQUEST_BUDGET": "10001"}, ["SYNC_SUBREQUEST_BUDGET"]),
    ("SYNC_WALL_MS", {"SYNC_WALL_MS": "999"}, ["SYNC_WALL_MS"]),
    ("SYNC_WALL_MS", {"SYNC_WALL_MS": "900001"}, ["SYNC_WALL_MS"]),
    ("SYNC_WALL_MS", {"SYNC_WALL_MS": "40000", "LEASE_SECONDS": "60"}, ["LEASE_SECONDS"]),
    ("BACKOFF_BASE_MS", {"BACKOFF_BASE_MS": "9"}, ["BACKOFF_BASE_MS"]),
    ("BACKOFF_BASE_MS", {"BACKOFF_BASE_MS": "fast"}, ["BACKOFF_BASE_MS"]),
    ("BACKOFF_CAP_MS", {"BACKOFF_CAP_MS": "9"}, ["BACKOFF_CAP_MS"]),
    ("BACKOFF_CAP_MS", {"BACKOFF_CAP_MS": "86400001"}, ["BACKOFF_CAP_MS"]),
    ("LEASE_SECONDS", {"LEASE_SECONDS": "4"}, ["LEASE_SECONDS"]),
    ("LEASE_SECONDS", {"LEASE_SECONDS": "3601"}, ["LEASE_SECONDS"]),
]


def _case_id(case) -> str:
    variable, overrides, _ = case
    return f"{variable}={overrides.get(variable, overrides)!r}"


@pytest.mark.parametrize("case", EDGE_CASES, ids=_case_id)
def test_bad_edge_variable_is_named_with_a_fix(case) -> None:
    variable, overrides, mentions = case
    err = config_error(load_config, env(**overrides))
    assert_explains(err, variable, *mentions)
    assert_no_secret(err)


@pytest.mark.parametrize("case", SYNC_CASES, ids=_case_id)
def test_bad_sync_variable_is_named_with_a_fix(case) -> None:
    variable, overrides, mentions = case
    err = config_error(load_sync_config, env(**overrides))
    assert_explains(err, variable, *mentions)
    assert_no_secret(err)


def test_numeric_errors_name_the_range_and_the_value_given() -> None:
    err = config_error(load_config, env(MAX_BODY_BYTES="5000000"))
    assert "1" in err.problem and str(MAX_BODY_BYTES) in err.problem and "'5000000'" in err.problem


def test_max_body_bytes_stops_where_a_base64_record_still_fits_one_momento_item() -> None:
    assert load_config(env(MAX_BODY_BYTES=str(MAX_BODY_BYTES))).max_body_bytes == MAX_BODY_BYTES
    err = config_error(load_config, env(MAX_BODY_BYTES="4000000"))  # the old stated maximum
    assert err.variable == "MAX_BODY_BYTES" and "base64" in err.problem and "5 MB" in err.problem
    # The bound is real: a record at it, with generous kept headers, is one Momento item.
    record = WriteRecord(id="w" * 40, method="PUT", path="/api/items/" + "7" * 200,
                         headers=(("content-type", "application/json"), ("authorization", "x" * 8000)),
                         body=b"\xff" * MAX_BODY_BYTES, received_at=1e9, region="ap-northeast-1",
                         entry_key="e:" + "k" * 200, resource="/api/items/7", entry_ttl=60)
    assert len(record.encode()) + len(record.id) + 16 <= MOMENTO_ITEM_BYTES
    bigger = WriteRecord(**{**record.__dict__, "body": b"\xff" * (MAX_BODY_BYTES + RECORD_RESERVE_BYTES)})
    assert len(bigger.encode()) > MOMENTO_ITEM_BYTES  # so the reserve is not slack for free


def test_unknown_default_region_is_named_with_the_configured_ones() -> None:
    err = config_error(load_config, env(MOMENTO_REGIONS="us-east-1,eu-central-1", DEFAULT_REGION="ap-south-1"))
    assert "ap-south-1" in err.problem and "us-east-1" in err.problem and "eu-central-1" in err.problem


def test_missing_cache_map_entry_names_the_region() -> None:
    err = config_error(load_config, env(MOMENTO_REGIONS="us-east-1,eu-central-1", MOMENTO_CACHE='{"us-east-1": "c"}'))
    assert "eu-central-1" in err.problem and "us-east-1" not in err.problem


def test_routes_error_carries_the_rule_problem() -> None:
    err = config_error(load_config, env(ROUTES='[{"pattern": "/a", "mode": "cache"}, {"pattern": "b", "mode": "cache"}]'))
    assert "rule 2" in err.problem


# -- secrets never leak -----------------------------------------------------------------


@pytest.mark.parametrize(
    "inner",
    [{"api_key": 12345, "endpoint": "cell-secret-endpoint"}, {"apikey": "inner-secret-value-33"}],
)
def test_malformed_v1_key_is_not_echoed_raw_or_decoded(inner) -> None:
    raw = v1_key(inner)
    err = config_error(load_config, env(MOMENTO_API_KEY=raw))
    assert_explains(err, "MOMENTO_API_KEY")
    assert_no_secret(err, raw, "inner-secret-value-33", "cell-secret-endpoint", "12345")


def test_undecodable_v1_key_is_not_echoed() -> None:
    raw = base64.b64encode(b'{"api_key": "half-a-secret-8812').decode()  # JSON cut short
    err = config_error(load_config, env(MOMENTO_API_KEY=raw))
    assert err.variable == "MOMENTO_API_KEY"
    assert_no_secret(err, raw, "half-a-secret-8812")


def test_base64_of_a_non_object_is_an_opaque_key_not_a_broken_v1_key() -> None:
    """Only base64 of a JSON *object* is read as v1 (a JWT segment may be valid base64)."""
    raw = base64.b64encode(b'"just-a-string"').decode()
    assert load_config(env(MOMENTO_API_KEY=raw)).momento_token == raw


@pytest.mark.parametrize(
    "case", [c for c in EDGE_CASES + SYNC_CASES if c[0] not in ("MOMENTO_API_KEY", "WEBHOOK_SECRET")], ids=_case_id
)
def test_no_error_repeats_any_secret_even_with_secrets_in_odd_places(case) -> None:
    """Secrets set to values that look like other inputs still do not surface."""
    variable, overrides, _ = case
    loader = load_sync_config if any(variable == c[0] for c in SYNC_CASES) else load_config
    odd = {"MOMENTO_API_KEY": "us-east-1-secretish-key", "ADMIN_TOKEN": "https://admin-secret.example",
           "WEBHOOK_SECRET": "[{\"pattern\": \"/leak\"}]"}
    err = config_error(loader, {**env(**overrides), **odd})
    for secret in odd.values():
        assert secret not in str(err) and secret not in json.dumps(err.to_json())


def test_config_error_is_an_exception_with_a_stable_json_shape() -> None:
    err = ConfigError("X", "is broken.", "mend it")
    assert isinstance(err, Exception)
    assert set(err.to_json()) == {"error", "variable", "problem", "fix"}
    assert str(err) == "X: is broken. Fix: mend it"


def test_config_is_frozen() -> None:
    config = load_config(env())
    assert isinstance(config, Config)
    with pytest.raises(AttributeError):
        config.origin_url = "https://elsewhere"  # type: ignore[misc]


def test_credential_headers_default_to_the_common_api_key_headers_and_extend_but_never_drop_authorization() -> None:
    default = load_config(env()).credential_headers
    assert {"authorization", "cookie", "x-api-key", "api-key", "x-auth-token"} <= set(default)
    custom = load_config(env(CREDENTIAL_HEADERS=" X-Tenant-Token , x-api-key ")).credential_headers
    assert custom == ("authorization", "cookie", "x-tenant-token", "x-api-key")
    err = config_error(load_config, env(CREDENTIAL_HEADERS="x api key"))
    assert err.variable == "CREDENTIAL_HEADERS" and "'x api key'" in err.problem and "x-api-key" in err.fix


def test_a_sync_option_on_the_wrong_mode_is_a_routes_error_with_its_own_fix() -> None:
    err = config_error(load_config, env(ROUTES='[{"pattern": "/a/*", "mode": "cache", "coalesce": true}]'))
    assert_explains(err, "ROUTES")
    assert "rule 1" in err.problem and "coalesce" in err.problem
    assert "write-behind" in err.fix and "remove coalesce" in err.fix


def test_sync_options_reach_the_config() -> None:
    config = load_config(env(ROUTES='[{"pattern": "/a/*", "mode": "write-behind", "coalesce": true, '
                                    '"bulk_url": "/api/_bulk", "bulk_max": 7}]'))
    [route] = config.routes
    assert (route.coalesce, route.bulk_url, route.bulk_max) == (True, "/api/_bulk", 7)


def test_order_wait_defaults_to_two_seconds_and_is_read_in_milliseconds() -> None:
    assert load_sync_config(env()).order_wait_seconds == 2.0
    assert load_sync_config(env(ORDER_WAIT_MS="0")).order_wait_seconds == 0.0
    assert load_sync_config(env(ORDER_WAIT_MS="750")).order_wait_seconds == 0.75


def test_an_order_wait_as_long_as_the_sync_run_is_refused_with_the_fix() -> None:
    assert load_sync_config(env(ORDER_WAIT_MS="19999", SYNC_WALL_MS="20000")).order_wait_seconds == 19.999
    with pytest.raises(ConfigError) as caught:
        load_sync_config(env(ORDER_WAIT_MS="20000", SYNC_WALL_MS="20000"))
    assert caught.value.variable == "ORDER_WAIT_MS" and "SYNC_WALL_MS" in caught.value.fix
