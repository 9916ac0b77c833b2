#!/usr/bin/env python3
"""Draws the fleet p99 picture of the README from the Prometheus fleet test's CSV.

    cd examples/go && WINDOWAGG_FLEET_CSV=/tmp/fleet_p99.csv \
        go test -count=1 -run TestPrometheusFleet -v ./ingest
    python3 scripts/plot_fleet_p99.py /tmp/fleet_p99.csv docs/prometheus-fleet-p99.png

The CSV (written by TestPrometheusFleet in examples/go/ingest) has rows
"unix_seconds,series,p99_seconds": series "fleet" is
histogram_quantile(0.99, sum(ingest_window)), "instance N" the instance's own
histogram_quantile(0.99, ingest_window), "exact" the exact p99 of the whole
stream (two points: a horizontal line). Needs matplotlib (pip install matplotlib);
the PNG is committed, so the test command does not run this.
"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src: str, dst: str) -> None:
    series = defaultdict(list)
    with open(src, newline="") as f:
        for row in csv.DictReader(f):
            series[row["series"]].append((float(row["unix_seconds"]), float(row["p99_seconds"])))
    t0 = min(t for pts in series.values() for t, _ in pts)
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    for name in sorted(n for n in series if n.startswith("instance")):
        pts = sorted(series[name])
        ax.plot([t - t0 for t, _ in pts], [v * 1e3 for _, v in pts], marker=".", lw=1, alpha=0.7,
                label=f"{name}: histogram_quantile(0.99, ingest_window)")
    pts = sorted(series["fleet"])
    ax.plot([t - t0 for t, _ in pts], [v * 1e3 for _, v in pts], marker="o", lw=2.5, color="black",
            label="fleet: histogram_quantile(0.99, sum(ingest_window))")
    pts = sorted(series["exact"])
    ax.plot([t - t0 for t, _ in pts], [v * 1e3 for _, v in pts], ls="--", color="tab:red",
            label="exact p99 of the whole stream (end of test)")
    ax.set_xlabel("seconds since the pushes began (Prometheus query_range, 1 s steps)")
    ax.set_ylabel("p99 latency (ms)")
    ax.set_title("Fleet p99 of 3 /ingest instances (native histograms) on Prometheus 2.42")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot_fleet_p99.py FLEET_CSV OUT_PNG")
    main(sys.argv[1], sys.argv[2])
