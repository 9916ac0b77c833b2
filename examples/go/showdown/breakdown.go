package main

import (
	"fmt"
	"io"
	"math"
	"runtime/metrics"
	"slices"
	"time"
)

// tailBreakdown says where the paced phase's request time went: each
// request's time is split into its read (the side's query call: lock waits
// plus the read itself — for windowagg the cgo call, i.e. the library's lock
// waits and work plus the cgo crossing) and the rest (HTTP plumbing and JSON
// in Go, GC assists, waiting for a CPU), over all requests and over the
// slowest 1% and 0.1%; plus the process-wide runtime counters of the phase.
type tailBreakdown struct {
	n          int
	read, rest [3]time.Duration // p50, p99, p999 over all requests
	nOver      int              // requests whose read overlapped an ingest call
	readOver   [3]time.Duration // read p50/p99/p999 of those
	readAlone  [3]time.Duration // and of the others
	slow       [2]tailSlice     // requests at or above p99, p999
	schedN     uint64           // goroutine schedulings (runtime/metrics /sched/latencies)
	sched      [2]time.Duration // p99, p999 of the wait runnable -> running (bucket upper bounds)
	assist     float64          // GC assist CPU-seconds
	mutex      float64          // seconds waited on sync.Mutex/RWMutex, all goroutines
	cycles     uint64
	wall       time.Duration
}

type tailSlice struct {
	n                int
	readMed, restMed time.Duration
	readMax, restMax time.Duration
	readShare        float64 // sum(read) / sum(total) over the slice
	over             int     // of them, reads that overlapped an ingest call
}

func (l *latencies) breakdown(a, z gcSnap) tailBreakdown {
	l.mu.Lock()
	defer l.mu.Unlock()
	var t tailBreakdown
	t.n = len(l.ns)
	t.cycles = z.cycles - a.cycles
	t.wall = z.at.Sub(a.at)
	t.assist = z.assist - a.assist
	t.mutex = z.mutex - a.mutex
	t.schedN, t.sched = histDelta(a.schedLat, z.schedLat, 0.99, 0.999)
	if t.n == 0 {
		return t
	}
	rest := make([]int64, t.n)
	for i := range rest {
		rest[i] = max(l.ns[i]-l.rd[i], 0)
	}
	t.read = quantiles3(slices.Clone(l.rd))
	var ro, ra []int64
	for i, o := range l.ov {
		if o {
			ro = append(ro, l.rd[i])
		} else {
			ra = append(ra, l.rd[i])
		}
	}
	t.nOver = len(ro)
	t.readOver, t.readAlone = quantiles3(ro), quantiles3(ra)
	t.rest = quantiles3(slices.Clone(rest))
	order := make([]int, t.n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return int(l.ns[x] - l.ns[y]) })
	for k, q := range []float64{0.99, 0.999} {
		from := exactRank(q, t.n)
		idx := order[from:]
		var sr, st int64
		rd := make([]int64, 0, len(idx))
		rs := make([]int64, 0, len(idx))
		over := 0
		for _, i := range idx {
			if l.ov[i] {
				over++
			}
			sr += l.rd[i]
			st += l.ns[i]
			rd = append(rd, l.rd[i])
			rs = append(rs, rest[i])
		}
		slices.Sort(rd)
		slices.Sort(rs)
		s := tailSlice{n: len(idx), readMed: time.Duration(rd[len(rd)/2]), restMed: time.Duration(rs[len(rs)/2]),
			readMax: time.Duration(rd[len(rd)-1]), restMax: time.Duration(rs[len(rs)-1]), over: over}
		if st > 0 {
			s.readShare = float64(sr) / float64(st)
		}
		t.slow[k] = s
	}
	return t
}

func quantiles3(v []int64) [3]time.Duration {
	slices.Sort(v)
	var out [3]time.Duration
	if len(v) == 0 {
		return out
	}
	for i, q := range qs {
		out[i] = time.Duration(v[exactRank(q, len(v))])
	}
	return out
}

// histDelta returns the count and the given quantiles (bucket upper bounds)
// of what a runtime/metrics histogram recorded between two reads.
func histDelta(a, b *metrics.Float64Histogram, q1, q2 float64) (uint64, [2]time.Duration) {
	var out [2]time.Duration
	if a == nil || b == nil {
		return 0, out
	}
	var tot uint64
	d := make([]uint64, len(b.Counts))
	for i := range d {
		d[i] = b.Counts[i] - a.Counts[i]
		tot += d[i]
	}
	if tot == 0 {
		return 0, out
	}
	for k, q := range []float64{q1, q2} {
		target := uint64(math.Ceil(q * float64(tot)))
		var run uint64
		for i, c := range d {
			run += c
			if run >= target {
				x := b.Buckets[i+1]
				if math.IsInf(x, 1) {
					x = b.Buckets[i]
				}
				out[k] = time.Duration(x * 1e9)
				break
			}
		}
	}
	return tot, out
}

func (t tailBreakdown) print(out io.Writer) {
	if t.n == 0 {
		return
	}
	fmt.Fprintf(out, "    request split (paced, %d requests): read = the side's query call, p50/p99/p999 %s/%s/%s; rest = HTTP+JSON+GC assist+CPU wait, %s/%s/%s\n",
		t.n, fmtDur(t.read[0]), fmtDur(t.read[1]), fmtDur(t.read[2]), fmtDur(t.rest[0]), fmtDur(t.rest[1]), fmtDur(t.rest[2]))
	for k, name := range []string{"slowest 1%", "slowest 0.1%"} {
		s := t.slow[k]
		fmt.Fprintf(out, "    %s (%d): read median %s (max %s), rest median %s (max %s); read is %.0f%% of their time; %d of %d reads overlapped an ingest call\n",
			name, s.n, fmtDur(s.readMed), fmtDur(s.readMax), fmtDur(s.restMed), fmtDur(s.restMax), 100*s.readShare, s.over, s.n)
	}
	fmt.Fprintf(out, "    reads overlapping an ingest call (%d): p50/p99/p999 %s/%s/%s; the others (%d): %s/%s/%s\n",
		t.nOver, fmtDur(t.readOver[0]), fmtDur(t.readOver[1]), fmtDur(t.readOver[2]),
		t.n-t.nOver, fmtDur(t.readAlone[0]), fmtDur(t.readAlone[1]), fmtDur(t.readAlone[2]))
	fmt.Fprintf(out, "    runtime (paced): %d GC cycles, GC assist %.1f ms CPU, sync.Mutex/RWMutex waits %.2f ms total, goroutines waiting for a CPU p99/p999 %s/%s (%d schedulings)\n",
		t.cycles, 1e3*t.assist, 1e3*t.mutex, fmtDur(t.sched[0]), fmtDur(t.sched[1]), t.schedN)
}
