"""Round-trip times between any two points of the world, calibrated on measured ones.

``rtt_ms(a, b) = overhead + per_km x great_circle_km(a, b)``: light in fibre covers about
200 km per ms, so a straight fibre would give 0.01 ms of RTT per km; real paths detour
(``path_factor = per_km / 0.01``) and every round trip pays routers, queues and the far
end's network stack (``overhead``). Both are fitted by least squares on the measured AWS
inter-region round trips in ``data.CALIBRATION_RTT_MS``; ``python -m benchmarks.geo.model``
prints the fit and its error per pair.

Points reuse the edge's own tables (``edgecache.edge._region_data``): a country's point (the
population-weighted centroid of its places) stands for its users *and* for the Cloudflare
colo that serves them; a Momento region is its AWS region's city.

Assumptions beyond the fit (parameters of :class:`Model`, printed with every run):

* ``access_ms`` — the user's last mile to the nearest colo (10 ms: a typical fixed/mobile
  broadband access RTT; Cloudflare says its network is within ~50 ms of ~95 % of the
  internet-connected population, so 10 ms is the typical, not the worst, case). Paid by
  every request, direct or not; direct traffic also crosses the same access network.
* ``momento_service_ms`` — Momento's own time per call (1 ms; Momento publishes
  sub-millisecond server-side p50 for small items).
* ``origin_service_ms`` — the origin's own time to answer (50 ms: the "slow origin" this
  project exists for; set it to 0 to compare pure network paths).
* ``worker_ms`` — the edge Worker's runtime and CPU per request (2 ms, the order of what
  ``make bench --stack`` measures for Pyodide beyond the network).
* ``colo_cache_ms`` — one Workers Cache API lookup in the colo (1 ms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgecache.edge._region_data import COUNTRY_POINTS, REGION_POINTS
from edgecache.edge.regions import great_circle_km

from .data import CALIBRATION_POINTS, CALIBRATION_RTT_MS, CALIBRATION_SOURCE, INTERNET_USERS_M

__all__ = ["Fit", "Model", "fit", "users", "country_point", "region_point", "REGIONS"]

REGIONS: tuple[str, ...] = tuple(REGION_POINTS)
STRAIGHT_FIBRE_MS_PER_KM = 2 / 200  # there and back at ~200 km/ms (refractive index ~1.47)


@dataclass(frozen=True)
class Fit:
    overhead_ms: float
    per_km_ms: float
    residuals: tuple[tuple[str, str, float, float], ...]  # a, b, measured, modelled

    @property
    def path_factor(self) -> float:
        return self.per_km_ms / STRAIGHT_FIBRE_MS_PER_KM

    @property
    def rms_ms(self) -> float:
        return math.sqrt(sum((m - p) ** 2 for _, _, m, p in self.residuals) / len(self.residuals))

    @property
    def mean_abs_pct(self) -> float:
        return 100 * sum(abs(m - p) / m for _, _, m, p in self.residuals) / len(self.residuals)

    @property
    def max_abs_pct(self) -> float:
        return 100 * max(abs(m - p) / m for _, _, m, p in self.residuals)

    def to_json(self) -> dict:
        return {"overhead_ms": round(self.overhead_ms, 2), "per_km_ms": round(self.per_km_ms, 5),
                "path_factor": round(self.path_factor, 3), "rms_error_ms": round(self.rms_ms, 1),
                "mean_abs_error_pct": round(self.mean_abs_pct, 1), "max_abs_error_pct": round(self.max_abs_pct, 1),
                "source": CALIBRATION_SOURCE,
                "points": [{"a": a, "b": b, "measured_ms": m, "model_ms": round(p, 1)} for a, b, m, p in self.residuals]}


def country_point(code: str) -> tuple[float, float]:
    lat, lon, _ = COUNTRY_POINTS[code]
    return lat, lon


def continent(code: str) -> str:
    return COUNTRY_POINTS[code][2]


def region_point(name: str) -> tuple[float, float]:
    return REGION_POINTS[name]


def calibration_point(name: str) -> tuple[float, float]:
    """A region of the calibration table: a Momento region, or one that only calibrates."""
    return REGION_POINTS.get(name) or CALIBRATION_POINTS[name]


REGION_CONTINENTS = {"us-east-1": "NA", "us-east-2": "NA", "us-west-2": "NA", "eu-west-1": "EU", "eu-west-2": "EU",
                     "eu-central-1": "EU", "eu-north-1": "EU", "ap-south-1": "AS", "ap-northeast-1": "AS",
                     "ap-southeast-1": "AS", "ap-southeast-2": "OC"}


def region_continent(name: str) -> str:
    return REGION_CONTINENTS[name]


def users() -> dict[str, float]:
    """Country -> internet users (millions), only countries the region tables can locate."""
    return {code: weight for code, weight in INTERNET_USERS_M.items() if code in COUNTRY_POINTS}


def fit() -> Fit:
    """Least-squares line through (distance, measured RTT) of the calibration pairs, each
    weighted by 1/measured²: relative error counts, so the short hops edgecache relies on
    (colo to a nearby region) are fitted as well as the long ones."""
    xs, ys, pairs = [], [], []
    for (a, b), measured in CALIBRATION_RTT_MS.items():
        xs.append(great_circle_km(calibration_point(a), calibration_point(b)))
        ys.append(measured)
        pairs.append((a, b))
    ws = [1 / y ** 2 for y in ys]
    total = sum(ws)
    mx = sum(w * x for w, x in zip(ws, xs)) / total
    my = sum(w * y for w, y in zip(ws, ys)) / total
    slope = (sum(w * (x - mx) * (y - my) for w, x, y in zip(ws, xs, ys))
             / sum(w * (x - mx) ** 2 for w, x in zip(ws, xs)))
    intercept = my - slope * mx
    residuals = tuple((a, b, y, intercept + slope * x) for (a, b), x, y in zip(pairs, xs, ys))
    return Fit(intercept, slope, residuals)


@dataclass(frozen=True)
class Model:
    overhead_ms: float
    per_km_ms: float
    access_ms: float = 10.0
    momento_service_ms: float = 1.0
    origin_service_ms: float = 50.0
    worker_ms: float = 2.0
    colo_cache_ms: float = 1.0

    @classmethod
    def calibrated(cls, **assumptions: float) -> "Model":
        f = fit()
        return cls(f.overhead_ms, f.per_km_ms, **assumptions)

    def rtt_ms(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """Round trip between two data centres (or a colo and a region). A colo talking to a
        region in its own city still pays the overhead: that is the measured intercept."""
        return self.overhead_ms + self.per_km_ms * great_circle_km(a, b)

    def colo_to_region(self, country: str, region: str) -> float:
        return self.rtt_ms(country_point(country), region_point(region))

    def region_to_region(self, a: str, b: str) -> float:
        return 0.0 if a == b else self.rtt_ms(region_point(a), region_point(b))

    def user_to_origin(self, country: str, origin: str) -> float:
        """The user's own round trip to the origin, no edge in between (the "direct" path)."""
        return self.access_ms + self.colo_to_region(country, origin)

    def assumptions(self) -> dict:
        return {"access_ms": self.access_ms, "momento_service_ms": self.momento_service_ms,
                "origin_service_ms": self.origin_service_ms, "worker_ms": self.worker_ms,
                "colo_cache_ms": self.colo_cache_ms}


def main() -> None:
    f = fit()
    print(f"RTT model fitted on {len(f.residuals)} measured AWS inter-region round trips ({CALIBRATION_SOURCE})")
    print(f"   rtt_ms = {f.overhead_ms:.1f} + {f.per_km_ms:.4f} x km   (fibre-path factor {f.path_factor:.2f})")
    print(f"   {'pair':34} {'km':>6} {'measured':>9} {'model':>7} {'error':>7}")
    for a, b, measured, modelled in f.residuals:
        km = great_circle_km(calibration_point(a), calibration_point(b))
        print(f"   {a + ' - ' + b:34} {km:6.0f} {measured:9.0f} {modelled:7.1f} {100 * (modelled - measured) / measured:+6.1f}%")
    print(f"   RMS error {f.rms_ms:.1f} ms, mean |error| {f.mean_abs_pct:.1f} %, max |error| {f.max_abs_pct:.1f} %")


if __name__ == "__main__":
    main()
