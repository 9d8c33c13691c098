"""Which Momento region serves a request: the configured region nearest to the client.

The edge Worker calls :func:`pick_region` once per request with ``request.cf`` (as a plain
mapping: the entry converts the JS object, e.g. ``request.cf.to_py()``). Cloudflare's
geolocation (MaxMind GeoIP) fills these ``cf`` fields, each of which may be absent:

* ``latitude`` / ``longitude``: decimal degrees as **strings** (``"35.68950"``).
* ``country``: ISO 3166-1 alpha-2, ``"XX"`` when unknown, ``"T1"`` for Tor.
* ``continent``: ``AF AN AS EU NA OC SA`` (``"T1"`` for Tor in the rules language).

Order, first that applies (the reason is returned with the region, for logs and
``Cache-Status``-style explanations):

1. ``"coordinates"``: valid latitude and longitude → nearest configured region.
2. ``"country"``: a known code → the table's nearest region if it is configured, else the
   configured region nearest to the country's point.
3. ``"continent"``: a known code → the configured region nearest to the continent's point.
4. ``"default"``: the configured default (also when no configured region has a known
   location, e.g. a custom region name given with its own endpoint).

Malformed values are ignored, never raised: a bad ``cf`` degrades to the next rule. The points
and the per-country table are generated into ``_region_data`` by
``tools/derive_region_table.py`` (population-weighted country points from GeoNames).

Cost per call: at most one haversine per configured region (11 at most), no allocation beyond
the answer. Only configured regions are ever returned.

Errors (both are configuration mistakes, never caused by a request; config validation calls
:func:`pick_region` once so they surface at load time):

    ValueError  ``configured`` is empty, or ``default`` is not in it
    TypeError   ``configured`` is a single string instead of a sequence of names
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ._region_data import CONTINENT_POINTS, COUNTRY_POINTS, NEAREST_REGION, REGION_POINTS

__all__ = ["KNOWN_REGIONS", "Reason", "RegionChoice", "great_circle_km", "nearest_region", "pick_region"]

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius; the generator uses the same value

Reason = Literal["coordinates", "country", "continent", "default"]

# The regions this module can locate (the 11 documented Momento cells, momento.md §1).
KNOWN_REGIONS: tuple[str, ...] = tuple(REGION_POINTS)

# (lat, lon) in radians and cos(lat), computed once so a request pays only for its own point.
_REGION_RAD: dict[str, tuple[float, float, float]] = {
    name: (math.radians(lat), math.radians(lon), math.cos(math.radians(lat)))
    for name, (lat, lon) in REGION_POINTS.items()
}

# Cloudflare sends plain decimals ("35.68950", "-122.41940"). Anything else (exponents,
# "nan", "inf", underscores that float() would accept) is not a coordinate it sends.
_DECIMAL = re.compile(r"[+-]?\d{1,3}(?:\.\d{1,20})?")


@dataclass(frozen=True, slots=True)
class RegionChoice:
    region: str
    reason: Reason


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (lat, lon) points in degrees (haversine)."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest_region(lat: float, lon: float, candidates: Iterable[str]) -> str:
    """The candidate nearest to (lat, lon); ties go to the smaller name.

    Candidates this module cannot locate (not in :data:`KNOWN_REGIONS`) are skipped; if none
    is left, ``ValueError``.
    """
    phi, lam = math.radians(lat), math.radians(lon)
    cos_phi = math.cos(phi)
    best: str | None = None
    best_h = 2.0
    for name in candidates:
        where = _REGION_RAD.get(name)
        if where is None:
            continue
        r_phi, r_lam, r_cos = where
        # The haversine term grows with distance, so comparing it skips asin/sqrt per region.
        h = math.sin((r_phi - phi) / 2) ** 2 + cos_phi * r_cos * math.sin((r_lam - lam) / 2) ** 2
        if best is None or (h, name) < (best_h, best):
            best, best_h = name, h
    if best is None:
        raise ValueError(f"no candidate region with a known location (known: {', '.join(KNOWN_REGIONS)})")
    return best


def pick_region(cf: Mapping[str, object] | None, configured: Sequence[str], default: str) -> RegionChoice:
    """Choose the configured region for a request; see the module docstring for the order."""
    if isinstance(configured, str):
        raise TypeError("configured must be a sequence of region names, not one string")
    if not configured:
        raise ValueError("no region is configured")
    if default not in configured:
        raise ValueError(f"default region {default!r} is not one of the configured regions ({', '.join(configured)})")
    locatable = [name for name in configured if name in _REGION_RAD]
    if cf is None or not locatable:
        return RegionChoice(default, "default")

    point = _coordinates(cf.get("latitude"), cf.get("longitude"))
    if point is not None:
        return RegionChoice(nearest_region(point[0], point[1], locatable), "coordinates")

    country = _code(cf.get("country"))
    if country is not None and country in COUNTRY_POINTS:
        region = NEAREST_REGION[country]
        if region not in locatable:
            lat, lon, _continent = COUNTRY_POINTS[country]
            region = nearest_region(lat, lon, locatable)
        return RegionChoice(region, "country")

    continent = _code(cf.get("continent"))
    if continent is not None and continent in CONTINENT_POINTS:
        lat, lon = CONTINENT_POINTS[continent]
        return RegionChoice(nearest_region(lat, lon, locatable), "continent")

    return RegionChoice(default, "default")


def _coordinates(latitude: object, longitude: object) -> tuple[float, float] | None:
    lat = _degrees(latitude)
    lon = _degrees(longitude)
    if lat is None or lon is None or not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    return lat, lon


def _degrees(value: object) -> float | None:
    if isinstance(value, str):
        text = value.strip()
        return float(text) if _DECIMAL.fullmatch(text) else None
    # Numbers too (a test harness or a future runtime may pass them); bool is an int, not a degree.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            return None
        return number if math.isfinite(number) else None
    return None


def _code(value: object) -> str | None:
    # "XX" (unknown) and "T1" (Tor) are in no table, so they fall through like any unknown code.
    if isinstance(value, str) and len(value) == 2:
        return value.upper()
    return None
