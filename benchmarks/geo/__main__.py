"""``make bench-geo``: every country under every configuration, through the real Workers.

Writes ``benchmarks/out/geo.json`` and two PNGs next to it (``geo-continents.png``,
``geo-cdf.png``) and prints the summary table. Fields of geo.json:

    model          the fitted RTT line (overhead_ms, per_km_ms, path_factor, fit errors and
                   every calibration point) and the assumptions (access_ms, service times)
    users_source   where the users-per-country weights come from
    configs[]      one per (origin, Momento region set):
      name, origin, regions            the configuration
      countries{CC: {...}}             per country: region (picked by the edge), users_m,
                                       continent, hit, miss, write_ack, to_origin, pass_read,
                                       direct_read, direct_write, l1_hit (ms, user-seen) and
                                       round_trips (Momento/origin calls the edge made per
                                       request kind, counted from the real code)
      weighted{scope: {figure: {p50, p95}}}   user-weighted percentiles, scope "all" or
                                       "outside" (users outside the origin's continent)
      continents{XX: {figure: p50}}    user-weighted p50 per continent
    headline       outside the origin's continent, all regions: p50 hit/write ack/l1 hit
                   edgecache vs direct, the ratios, and the l1 hit over the user's access RTT
                   (l1_vs_access) and over access + Worker (l1_vs_colo_request)
"""

from __future__ import annotations

import argparse
import json
import os

from .model import REGIONS, Model, continent, fit, region_continent, users
from .data import USERS_SOURCE
from .sim import simulate_country

FIGURES = ("hit", "l1_hit", "miss", "write_ack", "to_origin", "pass_read", "direct_read", "direct_write")
# The order regions join a configuration: the origin's own first, then the biggest user pools.
EXPANSION = ("us-east-1", "eu-central-1", "ap-northeast-1", "ap-south-1", "ap-southeast-1", "us-west-2",
             "ap-southeast-2", "eu-west-1", "eu-west-2", "us-east-2", "eu-north-1")


def region_set(origin: str, k: int) -> tuple[str, ...]:
    chosen = [origin]
    for name in EXPANSION:
        if len(chosen) >= k:
            break
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def weighted_percentile(pairs: list[tuple[float, float]], q: float) -> float:
    """Value below which a fraction ``q`` of the weight lies (pairs of value, weight)."""
    pairs = sorted(pairs)
    total = sum(w for _, w in pairs)
    running = 0.0
    for value, weight in pairs:
        running += weight
        if running >= q * total:
            return value
    return pairs[-1][0]


def summarise(countries: dict, origin: str) -> dict:
    home = region_continent(origin)
    scopes = {"all": list(countries.values()), "outside": [c for c in countries.values() if c["continent"] != home]}
    weighted = {scope: {f: {"p50": round(weighted_percentile([(c[f], c["users_m"]) for c in rows], 0.5), 1),
                            "p95": round(weighted_percentile([(c[f], c["users_m"]) for c in rows], 0.95), 1)}
                        for f in FIGURES} for scope, rows in scopes.items()}
    by_continent: dict[str, dict] = {}
    for code in sorted({c["continent"] for c in countries.values()}):
        rows = [c for c in countries.values() if c["continent"] == code]
        by_continent[code] = {f: round(weighted_percentile([(c[f], c["users_m"]) for c in rows], 0.5), 1)
                              for f in FIGURES}
    return {"weighted": weighted, "continents": by_continent}


def run(model: Model, origins: list[str], sizes: list[int]) -> dict:
    weights = users()
    configs = []
    for origin in origins:
        for k in sizes:
            regions = region_set(origin, k)
            countries = {}
            for code, users_m in weights.items():
                result = simulate_country(model, code, origin, regions).to_json()
                result.update(users_m=users_m, continent=continent(code))
                countries[code] = result
            name = f"origin {origin}, Momento in {len(regions)} region{'s' if len(regions) > 1 else ''}"
            configs.append({"name": name, "origin": origin, "regions": list(regions), "countries": countries,
                            **summarise(countries, origin)})
    return {"model": {**fit().to_json(), "assumptions": model.assumptions()}, "users_source": USERS_SOURCE,
            "configs": configs}


def headline(result: dict) -> dict:
    best = max((c for c in result["configs"] if c["origin"] == result["configs"][0]["origin"]),
               key=lambda c: len(c["regions"]))
    w = best["weighted"]["outside"]
    return {"config": best["name"],
            "outside_p50_ms": {f: w[f]["p50"] for f in ("hit", "l1_hit", "write_ack", "direct_read", "direct_write")},
            "read_ratio": round(w["direct_read"]["p50"] / w["hit"]["p50"], 1),
            "write_ratio": round(w["direct_write"]["p50"] / w["write_ack"]["p50"], 1),
            "l1_read_ratio": round(w["direct_read"]["p50"] / w["l1_hit"]["p50"], 1),
            "l1_vs_access": round(w["l1_hit"]["p50"] / (result["model"]["assumptions"]["access_ms"]), 2),
            "l1_vs_colo_request": round(w["l1_hit"]["p50"] / (result["model"]["assumptions"]["access_ms"]
                                                             + result["model"]["assumptions"]["worker_ms"]), 2)}


def table(result: dict) -> str:
    lines = ["| configuration | users | hit p50 | hit p95 | l1 hit p50 | write ack p50 | to origin p50 | "
             "pass-through read p50 | direct read p50 |", "|---|---|---|---|---|---|---|---|---|"]
    for c in result["configs"]:
        for scope in ("all", "outside"):
            w = c["weighted"][scope]
            label = "all" if scope == "all" else f"outside {region_continent(c['origin'])}"
            lines.append(f"| {c['name']} | {label} | {w['hit']['p50']:.0f} | {w['hit']['p95']:.0f} | "
                         f"{w['l1_hit']['p50']:.0f} | {w['write_ack']['p50']:.0f} | {w['to_origin']['p50']:.0f} | "
                         f"{w['pass_read']['p50']:.0f} | {w['direct_read']['p50']:.0f} |")
    return "\n".join(lines)


def plot(result: dict, out_dir: str) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    origin = result["configs"][0]["origin"]
    best = max((c for c in result["configs"] if c["origin"] == origin), key=lambda c: len(c["regions"]))
    continents = list(best["continents"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    width = 0.27
    for ax, (title, edge_key, direct_key) in zip(axes, (("read (hit)", "hit", "direct_read"),
                                                        ("write (ack)", "write_ack", "direct_write"))):
        xs = range(len(continents))
        ax.bar([x - width for x in xs], [best["continents"][k][direct_key] for k in continents], width,
               label="direct to origin", color="#b0b0b0")
        ax.bar(list(xs), [best["continents"][k][edge_key] for k in continents], width, label="edgecache",
               color="#f38020")
        if edge_key == "hit":
            ax.bar([x + width for x in xs], [best["continents"][k]["l1_hit"] for k in continents], width,
                   label="edgecache + l1_ttl", color="#7a3d00")
        ax.set_xticks(list(xs), continents)
        ax.set_title(f"p50 {title}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("ms (user-weighted p50)")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Per continent: {best['name']}", fontsize=9)
    fig.tight_layout()
    path = os.path.join(out_dir, "geo-continents.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    paths.append(path)

    fig, ax = plt.subplots(figsize=(7, 3.8))
    for c in result["configs"]:
        rows = sorted((r["hit"], r["users_m"]) for r in c["countries"].values())
        total = sum(w for _, w in rows)
        xs, ys, acc = [], [], 0.0
        for value, weight in rows:
            acc += weight
            xs.append(value)
            ys.append(acc / total)
        ax.step(xs, ys, where="post", label=f"hit: {c['name']}", linewidth=1)
    for origin_name in sorted({c["origin"] for c in result["configs"]}):
        c = next(c for c in result["configs"] if c["origin"] == origin_name)
        rows = sorted((r["direct_read"], r["users_m"]) for r in c["countries"].values())
        total = sum(w for _, w in rows)
        acc, xs, ys = 0.0, [], []
        for value, weight in rows:
            acc += weight
            xs.append(value)
            ys.append(acc / total)
        ax.step(xs, ys, where="post", linestyle="--", color="black" if "ap-" in origin_name else "grey",
                label=f"direct read, origin {origin_name}", linewidth=1)
    ax.set_xlabel("read latency, ms")
    ax.set_ylabel("share of internet users")
    ax.set_xlim(0, 400)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="lower right")
    ax.set_title("CDF of user-weighted read latency per configuration", fontsize=9)
    fig.tight_layout()
    path = os.path.join(out_dir, "geo-cdf.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.geo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--origins", default="ap-northeast-1,us-east-1")
    parser.add_argument("--sizes", default=f"1,3,6,{len(REGIONS)}")
    parser.add_argument("--out", default="benchmarks/out")
    parser.add_argument("--origin-service-ms", type=float, default=50.0)
    parser.add_argument("--access-ms", type=float, default=10.0)
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args()
    model = Model.calibrated(origin_service_ms=args.origin_service_ms, access_ms=args.access_ms)
    from .model import main as print_fit
    print_fit()
    result = run(model, args.origins.split(","), [int(k) for k in args.sizes.split(",")])
    result["headline"] = headline(result)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "geo.json"), "w") as out:
        json.dump(result, out, separators=(",", ":"), sort_keys=True)
    print(f"\nassumptions: {model.assumptions()}  (users: {USERS_SOURCE})")
    print("user-weighted latency, ms (edge figures include the user's access and the Worker):\n")
    print(table(result))
    h = result["headline"]
    print(f"\nheadline ({h['config']}; users outside the origin's continent, p50):")
    print(f"   read hit {h['outside_p50_ms']['hit']:.0f} ms vs direct {h['outside_p50_ms']['direct_read']:.0f} ms: "
          f"{h['read_ratio']}x   (with l1_ttl {h['outside_p50_ms']['l1_hit']:.0f} ms: {h['l1_read_ratio']}x, "
          f"{h['l1_vs_access']}x the user's access RTT, "
          f"{h['l1_vs_colo_request']}x a request to any Worker in the colo)")
    print(f"   write ack {h['outside_p50_ms']['write_ack']:.0f} ms vs direct {h['outside_p50_ms']['direct_write']:.0f} ms: "
          f"{h['write_ratio']}x")
    if not args.no_plots:
        for path in plot(result, args.out):
            print(f"wrote {path}")
    print(f"wrote {os.path.join(args.out, 'geo.json')}")


if __name__ == "__main__":
    main()
