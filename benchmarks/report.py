#!/usr/bin/env python3
"""Turns windowagg_bench's Google Benchmark JSON into a Markdown summary with
same-run ratios and target checks, plus PNG plots.

usage: report.py native.json [--out DIR]

Writes DIR/summary.md and (when matplotlib is importable) DIR/push_<kind>.png,
DIR/keyed.png and DIR/scaling.png. Needs only the standard library for the
tables; matplotlib (pip install matplotlib) for the plots.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import defaultdict

BATCHES = [1, 64, 4096, 65536]
KINDS = ["count", "sliding", "tumbling", "hopping"]


def parse_name(name: str) -> dict:
    """'push/kind:count/window:10000/q:1/batch:4096' -> fields (+ 'family')."""
    parts = name.split("/")
    out = {"family": parts[0]}
    for p in parts[1:]:
        if ":" in p:
            k, v = p.split(":", 1)
            out[k] = v
        else:
            out[p] = True
    return out


def load(path: str) -> tuple[list[dict], dict]:
    with open(path) as f:
        doc = json.load(f)
    rows = []
    has_aggregates = any(b.get("run_type") == "aggregate" for b in doc["benchmarks"])
    for b in doc["benchmarks"]:
        if has_aggregates:
            if b.get("run_type") != "aggregate" or b.get("aggregate_name") != "median":
                continue
        r = parse_name(b.get("run_name", b["name"]))
        r["name"] = b.get("run_name", b["name"])
        r["error"] = b.get("error_message") if b.get("error_occurred") else None
        r["ns"] = b.get("ns_per_value")
        r["mem"] = b.get("mem_bytes", b.get("approx_bytes"))
        r["threads"] = int(r.get("threads", b.get("threads", 1)))
        # CPU time per value (keyed: summed over threads), for noisy machines.
        iters_values = {"keyed": 4096, "scaling": 4096}.get(r["family"], int(r.get("batch", 1)))
        unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        r["cpu_ns"] = b.get("cpu_time", float("nan")) * unit / iters_values
        r["real_ns"] = b.get("real_time", float("nan")) * unit / iters_values
        rows.append(r)
    return rows, doc.get("context", {})


def fmt(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def fmt_bytes(x) -> str:
    if x is None:
        return "—"
    for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if x >= div:
            return f"{x / div:.1f} {unit}"
    return f"{x:.0f} B"


def ratio(a, b) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def build(rows: list[dict], context: dict) -> tuple[str, list[tuple]]:
    by = {r["name"]: r for r in rows}
    base = {(r["kind"], int(r["batch"])): r["ns"] for r in rows if r["family"] == "baseline"}
    md = []
    checks = []  # (target, measured, limit, ok, note)

    md.append("# windowagg native benchmarks\n")
    ctx = [f"{k}: {context[k]}" for k in ("date", "host_name", "num_cpus", "mhz_per_cpu",
                                          "windowagg_version", "value_pool", "event_step_ns")
           if k in context]
    if "library_build_type" in context:
        # Google Benchmark's own build (Debian's package), not windowagg's.
        ctx.append(f"libbenchmark build: {context['library_build_type']}")
    if "load_avg" in context:
        ctx.append("load_avg: " + ", ".join(f"{x:.2f}" for x in context["load_avg"]))
    md.append("Run context — " + "; ".join(ctx) + "\n")
    md.append("ns/value is Google Benchmark's rate counter inverted: CPU time per value for "
              "single-threaded runs, wall time per value (all threads together) for keyed runs. "
              "Ratios compare numbers of this same run.\n")

    # ---- Baselines and push matrix -----------------------------------------
    md.append("## Push throughput (ns/value) by batch size\n")
    hdr = "| benchmark | " + " | ".join(f"batch {b}" for b in BATCHES) + \
          " | ×plain sum @4096 | ×original @4096 | memory |"
    md.append(hdr)
    md.append("|" + "---|" * (len(BATCHES) + 4))
    groups = defaultdict(dict)
    meta = {}
    for r in rows:
        if r["family"] not in ("push", "baseline", "process_batch"):
            continue
        if r["family"] == "baseline":
            key = f"baseline: {r['kind']}"
        else:
            key = f"{r['family']} {r['kind']} window={r['window']} quantiles={'on' if r['q'] == '1' else 'off'}"
        groups[key][int(r["batch"])] = r
        meta[key] = r
    order = sorted(groups, key=lambda k: (not k.startswith("baseline"), k.startswith("process"),
                                          KINDS.index(meta[k]["kind"]) if meta[k]["kind"] in KINDS else -1,
                                          len(meta[k].get("window", "")), meta[k].get("window", ""),
                                          meta[k].get("q", "")))
    for key in order:
        cells = []
        for b in BATCHES:
            r = groups[key].get(b)
            cells.append("err" if r and r["error"] else fmt(r["ns"]) if r else "—")
        r4 = groups[key].get(4096)
        ns4 = r4["ns"] if r4 else None
        mem = fmt_bytes(r4["mem"]) if r4 and r4.get("mem") is not None else "—"
        md.append(f"| {key} | " + " | ".join(cells) +
                  f" | {fmt(ratio(ns4, base.get(('plain_sum', 4096))), 2)}"
                  f" | {fmt(ratio(ns4, base.get(('original', 4096))), 2)} | {mem} |")
    md.append("")

    # ---- Targets ------------------------------------------------------------
    def push(kind, window, q, batch=4096):
        return by.get(f"push/kind:{kind}/window:{window}/q:{q}/batch:{batch}")

    sum4 = base.get(("plain_sum", 4096))
    for window in ("10000", "1000000"):
        r = push("count", window, "0")
        if r:
            checks.append((f"count {window}, exact stats, quantiles off", r["ns"], 1.0, "ns/value"))
            checks.append((f"count {window}, exact stats ÷ plain sum loop", ratio(r["ns"], sum4), 1.25, "×"))
        r = push("count", window, "1")
        if r:
            checks.append((f"count {window}, with sketch", r["ns"], 3.0, "ns/value"))
    for kind, window in (("tumbling", "1s"), ("sliding", "60s"), ("hopping", "10s_1s")):
        r = push(kind, window, "1")
        if r:
            checks.append((f"{kind} {window}, with sketch", r["ns"], 2.5, "ns/value"))
        r = push(kind, window, "0")
        if r:
            checks.append((f"{kind} {window}, sketch off", r["ns"], 0.25, "ns/value"))

    def keyed(impl, dist, series, threads):
        return by.get(f"keyed/impl:{impl}/dist:{dist}/series:{series}/real_time/threads:{threads}")

    for dist, limit in (("uniform", 30.0), ("zipf", 10.0)):
        r = keyed("windowagg", dist, 100000, 1)
        if r:
            checks.append((f"keyed {dist}, 100k series, 1 thread (wall)", r["ns"], limit, "ns/value"))
            checks.append((f"keyed {dist}, 100k series, 1 thread (CPU)", r["cpu_ns"], limit, "ns/value"))
    for dist in ("uniform", "zipf"):
        for series in (1000, 100000, 1000000):
            r1, r2 = keyed("windowagg", dist, series, 1), keyed("windowagg", dist, series, 2)
            if r1 and r2 and r2["ns"]:
                checks.append((f"keyed {dist} {series} series: 2 threads ÷ 1 thread throughput",
                               r1["ns"] / r2["ns"], 1.7, "× (higher is better)"))

    # EVICT_LRU (issue 12): one eviction against a push into an existing key,
    # same run, CPU time (an eviction used to scan every series).
    for max_keys in (10000, 100000):
        new = by.get(f"evict_lru/case:new_key/max_keys:{max_keys}")
        old = by.get(f"evict_lru/case:existing_key/max_keys:{max_keys}")
        if new and old:
            checks.append((f"EVICT_LRU one new key per push ÷ push to an existing key, max_keys {max_keys} (CPU)",
                           ratio(new["cpu_ns"], old["cpu_ns"]), 10.0, "×"))

    md.append("## Targets (batch 4096)\n")
    md.append("| target | measured | limit | met |")
    md.append("|---|---|---|---|")
    for name, val, limit, unit in checks:
        higher = "higher" in unit
        ok = val is not None and (val >= limit if higher else val <= limit)
        md.append(f"| {name} | {fmt(val)} {unit.split(' ')[0]} | "
                  f"{'≥' if higher else '≤'} {limit} | {'yes' if ok else '**no**'} |")
    md.append("\nKeyed wall-clock numbers include time the thread was not running; on a "
              "machine shared with other jobs (see load_avg) the CPU figure is the better "
              "estimate of single-thread cost, and the 2-thread ratio needs two idle cores.\n")

    # ---- Keyed --------------------------------------------------------------
    krow = [r for r in rows if r["family"] == "keyed"]
    if krow:
        md.append("## Keyed push (count window 100 per series, quantiles on, batch 4096)\n")
        md.append("| impl | keys | series | threads | ns/value (wall) | CPU ns/value | "
                  "×unordered_map | ×1 thread throughput | memory |")
        md.append("|---|---|---|---|---|---|---|---|---|")
        for r in sorted(krow, key=lambda r: (r["dist"], int(r["series"]), r["impl"] != "windowagg",
                                             r["threads"])):
            um = keyed("unordered_map", r["dist"], r["series"], 1)
            one = keyed(r["impl"], r["dist"], r["series"], 1)
            speed = ratio(one["ns"], r["ns"]) if one and r["threads"] > 1 else None
            md.append(f"| {r['impl']} | {r['dist']} | {r['series']} | {r['threads']} | "
                      f"{fmt(r['ns'])} | {fmt(r['cpu_ns'])} | "
                      f"{fmt(ratio(r['ns'], um['ns']) if um else None, 2)} | {fmt(speed, 2)} | "
                      f"{fmt_bytes(r['mem'])} |")
        md.append("\nunordered_map memory is an estimate (entries × (struct + node) + buckets); "
                  "windowagg's is aggregator_memory_usage.\n")

    # ---- Scaling ------------------------------------------------------------
    srow = [r for r in rows if r["family"] == "scaling"]
    if srow:
        md.append("## Scaling: count window size at batch 4096\n")
        md.append("| window | quantiles | ns/value | ×plain sum | memory | bytes/value in window |")
        md.append("|---|---|---|---|---|---|")
        for r in sorted(srow, key=lambda r: (r["q"], int(r["window"]))):
            mem = r.get("mem")
            md.append(f"| {int(r['window']):,} | {'on' if r['q'] == '1' else 'off'} | {fmt(r['ns'])} | "
                      f"{fmt(ratio(r['ns'], sum4), 2)} | {fmt_bytes(mem)} | "
                      f"{fmt(mem / int(r['window']) if mem else None, 1)} |")
        md.append("")

    errs = [r for r in rows if r["error"]]
    if errs:
        md.append("## Errors\n")
        for r in errs:
            md.append(f"- {r['name']}: {r['error']}")
        md.append("")
    return "\n".join(md), checks


def push_baselines(rows: list[dict]) -> dict:
    """baseline name -> {batch: ns/value} (plain sum loop, original design)."""
    base = defaultdict(dict)
    for r in rows:
        if r["family"] == "baseline" and r["ns"]:
            base[r["kind"]][int(r["batch"])] = r["ns"]
    return base


def plot_push_kind(ax, rows: list[dict], base: dict, kind: str, short: bool,
                   **marker) -> bool:
    """One window kind's push cost per batch size, with the baselines, on a
    log-log ax; False (nothing drawn) when the run has no such rows."""
    series = defaultdict(dict)
    for r in rows:
        if r["family"] in ("push", "process_batch") and r.get("kind") == kind and r["ns"]:
            window, q = (r["window"], "q") if short else (f"window {r['window']}", "quantiles")
            label = (f"{'process_batch ' if r['family'] == 'process_batch' else ''}"
                     f"{window}, {q} {'on' if r['q'] == '1' else 'off'}")
            series[label][int(r["batch"])] = r["ns"]
    if not series:
        return False
    for label, pts in sorted(series.items()):
        xs = sorted(pts)
        ax.plot(xs, [pts[x] for x in xs], marker="o", label=label, **marker)
    for name, style in (("plain_sum", ":"), ("original", "--")):
        pts = base.get(name, {})
        if pts:
            xs = sorted(pts)
            ax.plot(xs, [pts[x] for x in xs], linestyle=style, color="gray",
                    label=f"baseline: {name.replace('_', ' ')}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    return True


def plots(rows: list[dict], out: str) -> list[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: matplotlib not importable; no plots (pip install matplotlib)",
              file=sys.stderr)
        return []
    written = []
    base = push_baselines(rows)
    for kind in KINDS:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        if not plot_push_kind(ax, rows, base, kind, short=False):
            plt.close(fig)
            continue
        ax.set_xlabel("values per push (batch size)")
        ax.set_ylabel("ns/value")
        ax.set_title(f"windowagg push cost — {kind} window")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(out, f"push_{kind}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    krow = [r for r in rows if r["family"] == "keyed" and r["ns"]]
    if krow:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        lines = defaultdict(dict)
        for r in krow:
            lines[(r["impl"], r["dist"], r["threads"])][int(r["series"])] = r["ns"]
        for (impl, dist, th), pts in sorted(lines.items()):
            xs = sorted(pts)
            ax.plot(xs, [pts[x] for x in xs], marker="o",
                    linestyle="-" if impl == "windowagg" else "--",
                    label=f"{impl}, {dist}, {th} thread{'s' if th > 1 else ''}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("live series")
        ax.set_ylabel("ns/value (wall, all threads)")
        ax.set_title("keyed push, count window 100, batch 4096")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(out, "keyed.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    srow = [r for r in rows if r["family"] == "scaling" and r["ns"]]
    if srow:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax2 = ax.twinx()
        for q, color in (("0", "tab:blue"), ("1", "tab:orange")):
            pts = sorted((int(r["window"]), r["ns"], r.get("mem")) for r in srow if r["q"] == q)
            if not pts:
                continue
            lab = f"quantiles {'on' if q == '1' else 'off'}"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=color,
                    label=f"ns/value, {lab}")
            ax2.plot([p[0] for p in pts], [(p[2] or 0) / 2**20 for p in pts], marker="x",
                     linestyle="--", color=color, label=f"memory, {lab}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax2.set_yscale("log")
        ax.set_xlabel("count window size (values)")
        ax.set_ylabel("ns/value")
        ax2.set_ylabel("memory (MiB)")
        ax.set_title("count window: cost and memory vs window size (batch 4096)")
        ax.grid(True, which="both", alpha=0.3)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
        fig.tight_layout()
        path = os.path.join(out, "scaling.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="Google Benchmark JSON from windowagg_bench")
    ap.add_argument("--out", default=None, help="output directory (default: the JSON's)")
    args = ap.parse_args()
    out = args.out or os.path.dirname(os.path.abspath(args.json))
    os.makedirs(out, exist_ok=True)
    rows, context = load(args.json)
    md, checks = build(rows, context)
    pngs = plots(rows, out)
    if pngs:
        md += "\n## Plots\n\n" + "\n".join(f"![{os.path.basename(p)}]({os.path.basename(p)})"
                                            for p in pngs) + "\n"
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(md)
    missed = [c for c in checks if c[1] is None or
              (c[1] < c[2] if "higher" in c[3] else c[1] > c[2])]
    print(f"report.py: {len(checks) - len(missed)}/{len(checks)} targets met; "
          f"{os.path.join(out, 'summary.md')}" + (f", {len(pngs)} plots" if pngs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
