package main

import (
	"fmt"
	"sync"
)

// (b) A series map holding rings: per series a growable ring of float64
// values and one of int64 timestamps (both pointer-free backing arrays), so
// the GC scans only the map and the 100k ring headers. Eviction advances
// the head; quantiles by selection on a copy into a reused scratch buffer.
type ringSide struct {
	mu      sync.Mutex
	u       *universe
	size    int64
	pane    int64
	wm      int64
	cc      cutoffCache
	initCap int
	series  map[string]*ring
	scratch []float64
}

type ring struct {
	vals    []float64
	ts      []int64
	head, n int
}

func newRing(u *universe, size, pane int64, expected int) side {
	return &ringSide{u: u, size: size, pane: pane, initCap: expected, cc: cutoffCache{size: size, pane: pane},
		series: make(map[string]*ring, len(u.names))}
}

func (r *ringSide) name() string { return "(b) map+[]float64 rings" }

func (g *ring) push(ts int64, v float64) {
	if g.n == len(g.vals) {
		nc := max(8, 2*len(g.vals))
		nv, nt := make([]float64, nc), make([]int64, nc)
		for i := range g.n {
			j := (g.head + i) % len(g.vals)
			nv[i], nt[i] = g.vals[j], g.ts[j]
		}
		g.vals, g.ts, g.head = nv, nt, 0
	}
	j := g.head + g.n
	if j >= len(g.vals) {
		j -= len(g.vals)
	}
	g.vals[j], g.ts[j] = v, ts
	g.n++
}

func (g *ring) evict(cut int64) {
	for g.n > 0 && g.ts[g.head] < cut {
		g.head++
		if g.head == len(g.vals) {
			g.head = 0
		}
		g.n--
	}
}

// appendWindow appends the values with ts >= cut to dst.
func (g *ring) appendWindow(dst []float64, cut int64) []float64 {
	for i := range g.n {
		j := g.head + i
		if j >= len(g.vals) {
			j -= len(g.vals)
		}
		if g.ts[j] >= cut {
			dst = append(dst, g.vals[j])
		}
	}
	return dst
}

func (r *ringSide) ingest(b *batch) {
	for lo := 0; lo < b.len(); lo += lockChunk {
		hi := min(lo+lockChunk, b.len())
		r.mu.Lock()
		for i := lo; i < hi; i++ {
			name := r.u.names[b.ser[i]]
			g := r.series[name]
			if g == nil {
				g = &ring{vals: make([]float64, r.initCap), ts: make([]int64, r.initCap)}
				r.series[name] = g
			}
			if b.ts[i] > r.wm {
				r.wm = b.ts[i]
			}
			g.evict(r.cc.at(r.wm))
			g.push(b.ts[i], b.vals[i])
		}
		r.mu.Unlock()
	}
}

func (r *ringSide) flush() {}

func (r *ringSide) query(idx int32) (result, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.series[r.u.names[idx]]
	if g == nil {
		return result{}, false
	}
	r.scratch = g.appendWindow(r.scratch[:0], r.cc.at(r.wm))
	res := summarize(r.scratch)
	res.Q = quantilesBySelect(r.scratch)
	return res, true
}

func (r *ringSide) readAll() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	cut := r.cc.at(r.wm)
	var sink float64
	for _, g := range r.series {
		r.scratch = g.appendWindow(r.scratch[:0], cut)
		q := quantilesBySelect(r.scratch)
		sink += q[0]
	}
	_ = sink
	return len(r.series)
}

func (r *ringSide) note() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n, c int
	for _, g := range r.series {
		n += g.n
		c += len(g.vals)
	}
	return fmt.Sprintf("%d values in %d rings (capacity %d, 16 B/slot)", n, len(r.series), c)
}

func (r *ringSide) close() { r.series = nil }
