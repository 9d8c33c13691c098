"""An independent great-circle distance for checking ``edgecache.edge.regions`` and its table.

Chord length between unit vectors, not the haversine the code under test uses: the two
formulas agree to well under a metre, so a slip in either shows up as a wrong region.
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088


def chord_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    def unit(p: tuple[float, float]) -> tuple[float, float, float]:
        phi, lam = math.radians(p[0]), math.radians(p[1])
        return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)

    chord = math.dist(unit(a), unit(b))
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, chord / 2))


def nearest(point: tuple[float, float], regions: dict[str, tuple[float, float]], among=None) -> str:
    names = [r for r in regions if among is None or r in among]
    return min(names, key=lambda r: (chord_km(point, regions[r]), r))
