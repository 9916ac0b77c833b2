package main

import (
	"fmt"
	"math"
)

// batch is one slice of the synthetic stream, in struct-of-arrays form so
// every side can take what it needs without conversion: the series index
// (for the string name in names[]), the uint64 series key, the event time
// and the value. The buffers are reused: generating a batch allocates nothing.
type batch struct {
	ser  []int32
	keys []uint64
	ts   []int64
	vals []float64
}

func newBatch(n int) *batch {
	return &batch{
		ser:  make([]int32, 0, n),
		keys: make([]uint64, 0, n),
		ts:   make([]int64, 0, n),
		vals: make([]float64, 0, n),
	}
}

func (b *batch) len() int { return len(b.vals) }

// universe is what every side shares: series names and their uint64 keys.
type universe struct {
	names []string
	keys  []uint64
	index map[string]int32 // name -> series index (used by request parsing only)
}

func newUniverse(n int, keyHash func(string) uint64) *universe {
	u := &universe{names: make([]string, n), keys: make([]uint64, n), index: make(map[string]int32, n)}
	for i := range n {
		// Looks like a real metric name: host + metric.
		name := fmt.Sprintf("host-%05d.%s", i/4, metricNames[i%4])
		u.names[i] = name
		u.keys[i] = keyHash(name)
		u.index[name] = int32(i)
	}
	return u
}

var metricNames = [4]string{"http.latency_ms", "db.latency_ms", "rpc.latency_ms", "queue.wait_ms"}

// generator produces the same deterministic stream for every side: event i
// has timestamp t0 + i*1e9/rate (event time advances at the target rate no
// matter how fast a side ingests), and a log-normal value scaled per series
// (latency-like, heavy right tail). Series come in bursts of `burst` values
// of one uniformly chosen series, the way agents ship a few points of a
// metric at a time (every side gets the same stream, so the locality this
// gives helps them all alike).
type generator struct {
	rng     uint64
	i       int64
	rate    int64
	t0      int64
	nSeries uint64
	scale   []float64
	table   []float64
	keys    []uint64
	burst   int   // values per series burst (agents send several points of a series at once)
	cur     int32 // series of the current burst
	left    int   // values left in it
}

const tableBits = 16

func newGenerator(seed uint64, rate int64, burst int, u *universe) *generator {
	g := &generator{rng: seed, rate: rate, t0: 1_700_000_000 * 1e9, nSeries: uint64(len(u.names)), keys: u.keys, burst: max(burst, 1)}
	g.scale = make([]float64, len(u.names))
	r := seed ^ 0x9e3779b97f4a7c15
	for i := range g.scale {
		// log-uniform base in [1, 100) ms
		g.scale[i] = math.Pow(100, unit(splitmix(&r)))
	}
	g.table = make([]float64, 1<<tableBits)
	for i := range g.table {
		// Box-Muller normal -> log-normal(0, 0.8)
		u1 := (float64(splitmix(&r)>>11) + 0.5) / (1 << 53)
		u2 := unit(splitmix(&r))
		z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
		g.table[i] = math.Exp(0.8 * z)
	}
	return g
}

func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// ts returns the event time of event number i.
func (g *generator) tsOf(i int64) int64 { return g.t0 + i*1_000_000_000/g.rate }

// next fills b with n events (b is reset first).
func (g *generator) next(b *batch, n int) {
	b.ser, b.keys, b.ts, b.vals = b.ser[:n], b.keys[:n], b.ts[:n], b.vals[:n]
	for j := range n {
		x := splitmix(&g.rng)
		if g.left == 0 {
			g.cur = int32((x >> 32) * g.nSeries >> 32)
			g.left = g.burst
			x = splitmix(&g.rng)
		}
		g.left--
		s := g.cur
		b.ser[j] = s
		b.keys[j] = g.keys[s]
		b.ts[j] = g.t0 + g.i*1_000_000_000/g.rate
		b.vals[j] = g.scale[s] * g.table[x&(1<<tableBits-1)]
		g.i++
	}
}

// windowCutoff is the first event time inside the sliding window at
// watermark w: windowagg's SLIDING semantics are "the size/pane panes ending
// with the pane that contains the watermark", so every side uses the same
// pane-aligned cutoff and all sides hold exactly the same values.
func windowCutoff(w, size, pane int64) int64 {
	p := floorDiv(w, pane)
	return (p - size/pane + 1) * pane
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// cutoffCache memoizes windowCutoff: it changes only when the watermark
// enters a new pane.
type cutoffCache struct {
	size, pane  int64
	lo, hi, cut int64
	valid       bool
}

func (c *cutoffCache) at(w int64) int64 {
	if c.valid && w >= c.lo && w < c.hi {
		return c.cut
	}
	p := floorDiv(w, c.pane)
	c.lo, c.hi = p*c.pane, (p+1)*c.pane
	c.cut = (p - c.size/c.pane + 1) * c.pane
	c.valid = true
	return c.cut
}
