#!/usr/bin/env python3
"""Writes events.csv: synthetic request latencies of a few services.

Columns: timestamp (ISO 8601, UTC, millisecond resolution), series, value.
Deterministic (fixed seed), so the shipped events.csv can be regenerated.
"""

import csv
import datetime as dt
import os
import sys

import numpy as np


def main(path: str) -> None:
    rng = np.random.default_rng(42)
    start = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    series = {  # name: (events per second, median latency ms, spread)
        "api/login": (1.0, 40.0, 0.4),
        "api/search": (2.5, 120.0, 0.6),
        "db/query": (2.0, 8.0, 0.9),
        "cache/get": (3.0, 0.6, 0.3),
    }
    rows = []
    for name, (rate, median, sigma) in series.items():
        n = rng.poisson(rate * 180)  # three minutes of traffic
        offsets = np.sort(rng.uniform(0, 180, n))
        values = median * rng.lognormal(0.0, sigma, n)
        for off, v in zip(offsets, values):
            ts = start + dt.timedelta(milliseconds=int(off * 1000))
            rows.append((ts, name, round(float(v), 3)))
    rows.sort(key=lambda r: r[0])
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "series", "value"])
        for ts, name, v in rows:
            w.writerow([ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", name, v])
    print(f"wrote {len(rows)} events to {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "events.csv"))
