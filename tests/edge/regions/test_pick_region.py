"""``edgecache.edge.regions``: distances, nearest region and the per-request fallback order."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgecache.edge._region_data import CONTINENT_POINTS, COUNTRY_POINTS, REGION_POINTS
from edgecache.edge.regions import KNOWN_REGIONS, RegionChoice, great_circle_km, nearest_region, pick_region

from .support import chord_km, nearest

ALL = list(KNOWN_REGIONS)
TWO = ["us-east-1", "eu-central-1"]
TOKYO = {"latitude": "35.68950", "longitude": "139.69171"}  # as Cloudflare sends them: strings


# -- great_circle_km / nearest_region ---------------------------------------------------------


def test_great_circle_km_known_distances() -> None:
    assert great_circle_km((51.5074, -0.1278), (51.5074, -0.1278)) == 0.0
    assert 340 < great_circle_km((51.5074, -0.1278), (48.8566, 2.3522)) < 347  # London-Paris
    assert math.isclose(great_circle_km((0, 0), (0, 180)), math.pi * 6371.0088, rel_tol=1e-9)
    assert math.isclose(great_circle_km((0, 179.5), (0, -179.5)), great_circle_km((0, 0), (0, 1)))


@given(
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
)
def test_great_circle_km_agrees_with_chord_formula(a, b) -> None:
    assert math.isclose(great_circle_km(a, b), chord_km(a, b), rel_tol=1e-6, abs_tol=1e-3)
    assert great_circle_km(a, b) == pytest.approx(great_circle_km(b, a))


def test_each_region_city_is_nearest_to_itself() -> None:
    for region, (lat, lon) in REGION_POINTS.items():
        assert nearest_region(lat, lon, ALL) == region


@given(
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.lists(st.sampled_from(ALL), min_size=1, unique=True),
)
def test_nearest_region_matches_independent_distance_and_ignores_order(lat, lon, candidates) -> None:
    expected = nearest((lat, lon), REGION_POINTS, among=candidates)
    assert nearest_region(lat, lon, candidates) == expected
    assert nearest_region(lat, lon, list(reversed(candidates))) == expected


def test_nearest_region_skips_unknown_names_and_needs_one_known() -> None:
    assert nearest_region(35.7, 139.7, ["my-own-cell", "eu-central-1"]) == "eu-central-1"
    with pytest.raises(ValueError, match="known location"):
        nearest_region(35.7, 139.7, ["my-own-cell"])
    with pytest.raises(ValueError):
        nearest_region(35.7, 139.7, [])


# -- pick_region: the order ---------------------------------------------------------------------


def test_coordinates_first() -> None:
    cf = {**TOKYO, "country": "DE", "continent": "EU"}
    assert pick_region(cf, ALL, "us-east-1") == RegionChoice("ap-northeast-1", "coordinates")


def test_coordinates_pick_among_configured_only() -> None:
    # Tokyo: Frankfurt ~9,350 km, Ashburn ~10,900 km.
    assert pick_region(TOKYO, TWO, "us-east-1") == RegionChoice("eu-central-1", "coordinates")
    assert nearest((35.6895, 139.69171), REGION_POINTS, among=TWO) == "eu-central-1"
    # Sao Paulo: Ashburn ~7,600 km, Frankfurt ~9,800 km.
    cf = {"latitude": "-23.55", "longitude": "-46.63"}
    assert pick_region(cf, TWO, "eu-central-1") == RegionChoice("us-east-1", "coordinates")


def test_numbers_work_as_well_as_strings() -> None:
    assert pick_region({"latitude": 35.6895, "longitude": 139.69}, ALL, "us-east-1").reason == "coordinates"
    assert pick_region({"latitude": " 35.6895 ", "longitude": "+139.69"}, ALL, "us-east-1").reason == "coordinates"
    assert pick_region({"latitude": "90", "longitude": "-180"}, ALL, "us-east-1").reason == "coordinates"


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        ("nan", "139.69"),
        ("35.68", "NaN"),
        ("inf", "0"),
        ("-Infinity", "0"),
        ("91", "0"),
        ("-90.5", "0"),
        ("0", "180.01"),
        ("0", "-181"),
        ("1e1", "1e1"),  # float() would take it; Cloudflare never sends it
        ("3_5", "13_9"),
        ("", ""),
        ("35.68", None),
        (None, "139.69"),
        ("abc", "def"),
        (True, False),
        (float("nan"), 10.0),
        (10**400, 10.0),
        ([35.6], [139.6]),
    ],
)
def test_bad_coordinates_fall_through_to_country(latitude, longitude) -> None:
    cf = {"latitude": latitude, "longitude": longitude, "country": "DE", "continent": "AS"}
    assert pick_region(cf, ALL, "us-east-1") == RegionChoice("eu-central-1", "country")


def test_partial_cf_only_latitude_uses_country() -> None:
    cf = {"latitude": "35.68950", "country": "JP"}
    assert pick_region(cf, ALL, "us-east-1") == RegionChoice("ap-northeast-1", "country")


@pytest.mark.parametrize(
    ("country", "region"),
    [("JP", "ap-northeast-1"), ("jp", "ap-northeast-1"), ("gb", "eu-west-2"), ("In", "ap-south-1"), ("AU", "ap-southeast-2")],
)
def test_country_uses_table_when_its_region_is_configured(country: str, region: str) -> None:
    assert pick_region({"country": country}, ALL, "us-east-1") == RegionChoice(region, "country")


def test_country_falls_back_to_nearest_configured_to_its_point() -> None:
    # JP's own region is not configured: Frankfurt is nearer to Japan than Ashburn.
    assert pick_region({"country": "JP"}, TWO, "us-east-1") == RegionChoice("eu-central-1", "country")
    # Brazil: Ashburn is nearer than Frankfurt.
    assert pick_region({"country": "BR"}, TWO, "eu-central-1") == RegionChoice("us-east-1", "country")
    # Checked against the independent distance for every country, with only these two.
    for code, (lat, lon, _) in COUNTRY_POINTS.items():
        choice = pick_region({"country": code}, TWO, "us-east-1")
        assert choice == RegionChoice(nearest((lat, lon), REGION_POINTS, among=TWO), "country"), code


@pytest.mark.parametrize("country", ["XX", "T1", "t1", "xx", "ZZ", "zz", "QQ", "J", "JPN", "", "  ", 81, None, "日本"])
def test_unknown_country_falls_through_to_continent(country) -> None:
    cf = {"country": country, "continent": "EU"}
    assert pick_region(cf, ALL, "us-east-1") == RegionChoice("eu-central-1", "continent")


def test_continent_nearest_configured_to_its_point() -> None:
    assert pick_region({"continent": "eu"}, ALL, "us-east-1") == RegionChoice("eu-central-1", "continent")
    assert pick_region({"continent": "OC"}, ALL, "us-east-1") == RegionChoice("ap-southeast-2", "continent")
    assert pick_region({"continent": "SA"}, ALL, "eu-west-1") == RegionChoice("us-east-1", "continent")
    for continent, point in CONTINENT_POINTS.items():
        expected = nearest(point, REGION_POINTS, among=TWO)
        assert pick_region({"continent": continent}, TWO, "us-east-1") == RegionChoice(expected, "continent")


@pytest.mark.parametrize("cf", [None, {}, {"continent": "T1"}, {"country": "XX", "continent": "XX"}, {"continent": 7}, {"colo": "NRT"}])
def test_nothing_usable_gives_default(cf) -> None:
    assert pick_region(cf, ALL, "eu-west-1") == RegionChoice("eu-west-1", "default")


# -- pick_region: configuration -----------------------------------------------------------------


def test_default_must_be_configured() -> None:
    with pytest.raises(ValueError, match="not one of the configured"):
        pick_region(TOKYO, TWO, "ap-northeast-1")
    with pytest.raises(ValueError, match="no region"):
        pick_region(TOKYO, [], "us-east-1")
    with pytest.raises(TypeError):
        pick_region(TOKYO, "us-east-1", "us-east-1")


def test_custom_regions_without_a_location_only_serve_as_default() -> None:
    assert pick_region(TOKYO, ["staging"], "staging") == RegionChoice("staging", "default")
    assert pick_region(TOKYO, ["staging", "us-east-1"], "staging") == RegionChoice("us-east-1", "coordinates")
    assert pick_region({"country": "JP"}, ["staging", "us-east-1"], "staging") == RegionChoice("us-east-1", "country")


cf_values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.sampled_from(["35.6895", "-33.87", "200", "nan", "XX", "T1", "jp", "EU", "OC", "an"]),
    st.sampled_from(sorted(COUNTRY_POINTS)),
)


@given(
    st.dictionaries(st.sampled_from(["latitude", "longitude", "country", "continent", "city"]), cf_values),
    st.lists(st.sampled_from([*ALL, "custom-1"]), min_size=1, unique=True),
    st.data(),
)
def test_only_configured_regions_are_ever_returned(cf, configured, draw) -> None:
    default = draw.draw(st.sampled_from(configured))
    choice = pick_region(cf, configured, default)
    assert choice.region in configured
    assert choice.reason in {"coordinates", "country", "continent", "default"}
    if choice.reason == "default":
        assert choice.region == default
