#!/usr/bin/env python3
"""Reads a CSV of events and prints windowed stats per series.

CSV columns: ``timestamp`` (ISO 8601), ``series`` (name), ``value`` (number).
The events are pushed in batches, as a service would receive them, into two
aggregators keyed by series name:

* tumbling 1-minute windows: every closed window is polled and printed
  (count, mean, p50, p99, max);
* a sliding 60-second window (1 s panes): the last minute of each series at
  the end of the file.

Usage::

    WINDOWAGG_LIBRARY=build/release/lib/libwindowagg.so \\
        python3 examples/python/windowed_stats.py [events.csv] [--batch 500]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

import numpy as np

try:
    import windowagg
except ImportError:  # running from a checkout without `pip install bindings/python`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "bindings", "python"))
    import windowagg


def read_events(path: str):
    """(timestamps as datetime64[ms], series names, values) from the CSV."""
    ts, names, values = [], [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            ts.append(row["timestamp"].rstrip("Z"))
            names.append(row["series"])
            values.append(float(row["value"]))
    return np.array(ts, dtype="datetime64[ms]"), names, np.array(values)


def fmt_time(ms: int) -> str:
    return str(np.datetime64(int(ms), "ms").astype("datetime64[s]")).replace("T", " ")


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Windowed stats per series from a CSV of events.")
    ap.add_argument("csv", nargs="?", default=os.path.join(here, "events.csv"))
    ap.add_argument("--batch", type=int, default=500, help="events per push")
    args = ap.parse_args()

    ts, names, values = read_events(args.csv)
    qs = [0.5, 0.99]
    print(f"{len(values)} events from {args.csv}; windowagg {windowagg.version()}\n")

    tumbling = windowagg.Aggregator(window="tumbling", size="1min", time_unit="ms")
    sliding = windowagg.Aggregator(window="sliding", size="60s", pane="1s", time_unit="ms")
    with tumbling, sliding:
        print(f"{'window start (UTC)':<20} {'series':<11} {'count':>6} {'mean':>9} "
              f"{'p50':>9} {'p99':>9} {'max':>9}")
        for start in range(0, len(values), args.batch):
            sl = slice(start, start + args.batch)
            for agg in (tumbling, sliding):
                agg.push(values[sl], timestamps=ts[sl], keys=names[sl])
            print_closed(tumbling, qs)
        tumbling.advance(ts[-1] + np.timedelta64(1, "m"))  # end of input: close the last windows
        print_closed(tumbling, qs)

        print(f"\nLast 60 s (sliding window, 1 s panes) ending {fmt_time(int(ts[-1].astype(np.int64)))}:")
        df = sliding.all_stats(quantiles=qs, names=True)
        order = np.argsort(df["name"])
        print(f"{'series':<11} {'count':>6} {'mean':>9} {'p50':>9} {'p99':>9} {'max':>9} {'stddev':>9}")
        for i in order:
            print(f"{df['name'][i]:<11} {df['count'][i]:>6} {df['mean'][i]:>9.2f} {df['q0.5'][i]:>9.2f} "
                  f"{df['q0.99'][i]:>9.2f} {df['max'][i]:>9.2f} {df['stddev'][i]:>9.2f}")
        total = sliding.stats()
        print(f"{'(all)':<11} {total.count:>6} {total.mean:>9.2f} "
              f"{sliding.quantiles(0.5):>9.2f} {sliding.quantiles(0.99):>9.2f} {total.max:>9.2f} "
              f"{total.stddev:>9.2f}")


def print_closed(agg: windowagg.Aggregator, qs) -> None:
    w = agg.poll_windows(quantiles=qs, names=True)
    order = np.lexsort((w["name"], w["window_start"]))
    for i in order:
        print(f"{fmt_time(w['window_start'][i]):<20} {w['name'][i]:<11} {w['count'][i]:>6} "
              f"{w['mean'][i]:>9.2f} {w['q0.5'][i]:>9.2f} {w['q0.99'][i]:>9.2f} {w['max'][i]:>9.2f}")


if __name__ == "__main__":
    main()
