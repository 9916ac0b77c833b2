#!/usr/bin/env python3
"""Markdown table from BenchmarkPerRequest output (stdin).

    go test -run '^$' -bench PerRequest -benchtime 2s -count 3 | python3 table.py

One row per peer, its settings (as the benchmark printed them) next to its
numbers: medians over the -count runs of CPU ns and wall ns per request per
goroutine count, each with its ratio to the fastest Go-native peer (every
peer but windowagg) of the same goroutine count in the same run, and the
allocations per request.
"""
import re
import statistics
import sys

settings, runs = [], {}
for line in sys.stdin:
    if line.startswith("settings: "):
        if line not in settings:
            settings.append(line)
        continue
    m = re.match(r"BenchmarkPerRequest/g=(\d+)/(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)", line)
    if not m:
        continue
    g, peer, ns, rest = int(m.group(1)), m.group(2), float(m.group(3)), m.group(4)
    f = {u: float(v) for v, u in re.findall(r"([\d.]+) (\S+)", rest)}
    runs.setdefault((g, peer), []).append((ns, f.get("cpu-ns/op", float("nan")), f.get("allocs/op", 0)))

if not runs:
    sys.exit("no BenchmarkPerRequest lines on stdin")
conf = {}
for line in settings:
    name, _, text = line[len("settings: "):].strip().partition(": ")
    conf[name] = text
gs = sorted({g for g, _ in runs})
med = {k: tuple(statistics.median(x[i] for x in r) for i in range(3)) for k, r in runs.items()}
best = {}
for g in gs:
    peers = [v for (gg, p), v in med.items() if gg == g and p != "windowagg"]
    best[g] = (min(v[0] for v in peers), min(v[1] for v in peers))
names = sorted({p for _, p in runs}, key=lambda p: med.get((gs[0], p), (0, float("inf")))[1])
head = ["peer", "settings"] + [f"CPU ns, {g} goroutine{'s' if g > 1 else ''} (× fastest)" for g in gs] + \
       [f"wall ns, {g} (× fastest)" for g in gs] + ["allocs/op"]
print("| " + " | ".join(head) + " |")
print("| --- | --- | " + " | ".join(["---:"] * (2 * len(gs) + 1)) + " |")
for p in names:
    cells = [f"**{p}**" if p == "windowagg" else p, conf.get(p, "")]
    for idx in (1, 0):
        for g in gs:
            v = med.get((g, p))
            cells.append("" if v is None else f"{v[idx]:.1f} ({v[idx] / best[g][idx]:.2f})")
    cells.append(f"{max(med[(g, p)][2] for g in gs if (g, p) in med):g}")
    print("| " + " | ".join(cells) + " |")
print()
print("Ratios are to the fastest peer other than windowagg at the same goroutine count, same run.")
for s in settings:
    if s.startswith("settings: GOMAXPROCS"):
        print(s[len("settings: "):].strip())
