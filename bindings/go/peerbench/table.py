#!/usr/bin/env python3
"""Markdown table from BenchmarkPerRequest output (stdin).

    go test -run '^$' -bench PerRequest -benchtime 2s -count 3 | python3 table.py

Medians over the -count runs, per goroutine count: wall ns and CPU ns per
request, allocations, and each one's ratio to the fastest Go-native peer
(every peer but windowagg) of the same goroutine count in the same run.
The peers' settings, as the benchmark printed them, follow the table.
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
print("| goroutines | peer | ns/request | vs fastest peer | CPU ns/request | vs fastest peer | allocs |")
print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
for g in sorted({g for g, _ in runs}):
    rows = {p: tuple(statistics.median(x[i] for x in r) for i in range(3))
            for (gg, p), r in runs.items() if gg == g}
    peers = {p: v for p, v in rows.items() if p != "windowagg"}
    best_wall = min(v[0] for v in peers.values())
    best_cpu = min(v[1] for v in peers.values())
    for p, (ns, cpu, allocs) in sorted(rows.items(), key=lambda kv: kv[1][1]):
        name = f"**{p}**" if p == "windowagg" else p
        print(f"| {g} | {name} | {ns:.1f} | {ns / best_wall:.2f} | {cpu:.1f} | {cpu / best_cpu:.2f} | {allocs:g} |")
print()
for s in settings:
    print("- " + s[len("settings: "):].strip())
