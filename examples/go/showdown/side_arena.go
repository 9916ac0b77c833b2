package main

import (
	"fmt"
	"sync"
)

// (c) A tuned, pointer-free layout: all values live in a few large
// []float64 chunks (and timestamps in parallel []int64 chunks), each series
// owning a fixed-capacity ring region inside them; series metadata is one
// []arenaSeries slice of plain ints, and the index is a pre-sized
// open-addressing hash table of uint64 keys -> int32. The GC sees a handful
// of pointer-free spans and nothing to scan. A series that outgrows its
// region moves to a 1.5x larger one; freed regions are reused by size.
type arenaSide struct {
	mu      sync.Mutex
	u       *universe
	size    int64
	pane    int64
	wm      int64
	cc      cutoffCache
	initCap int32

	vals  [][]float64 // chunks
	ts    [][]int64
	used  int32 // slots used in the last chunk
	meta  []arenaSeries
	tkeys []uint64 // open addressing: key, 0 = empty
	tidx  []int32  // series index
	mask  uint64
	free  map[int32][]arenaRegion

	scratch []float64
}

type arenaRegion struct{ chunk, off int32 }

type arenaSeries struct {
	chunk, off, cap int32
	head, n         int32
}

const arenaChunk = 1 << 20 // slots per chunk (8 MiB of values + 8 MiB of timestamps)

func newArena(u *universe, size, pane int64, expected int) side {
	tsize := uint64(1)
	for tsize < uint64(2*len(u.names)) {
		tsize <<= 1
	}
	return &arenaSide{u: u, size: size, pane: pane, initCap: int32(expected), cc: cutoffCache{size: size, pane: pane},
		tkeys: make([]uint64, tsize), tidx: make([]int32, tsize), mask: tsize - 1,
		meta: make([]arenaSeries, 0, len(u.names)), free: map[int32][]arenaRegion{}}
}

func (a *arenaSide) name() string { return "(c) flat arena+int index" }

func (a *arenaSide) alloc(c int32) arenaRegion {
	if l := a.free[c]; len(l) > 0 {
		r := l[len(l)-1]
		a.free[c] = l[:len(l)-1]
		return r
	}
	if len(a.vals) == 0 || int(a.used)+int(c) > len(a.vals[len(a.vals)-1]) {
		n := max(arenaChunk, int(c))
		a.vals = append(a.vals, make([]float64, n))
		a.ts = append(a.ts, make([]int64, n))
		a.used = 0
	}
	r := arenaRegion{int32(len(a.vals) - 1), a.used}
	a.used += c
	return r
}

// lookup finds or inserts key; returns the series index.
func (a *arenaSide) lookup(key uint64, insert bool) (int32, bool) {
	if key == 0 {
		key = 1 // 0 marks an empty slot
	}
	h := (key * 0x9e3779b97f4a7c15) >> 20
	for i := h & a.mask; ; i = (i + 1) & a.mask {
		switch a.tkeys[i] {
		case key:
			return a.tidx[i], true
		case 0:
			if !insert {
				return -1, false
			}
			if uint64(len(a.meta))*4 >= uint64(len(a.tkeys))*3 {
				a.grow()
				return a.lookup(key, insert)
			}
			r := a.alloc(a.initCap)
			a.meta = append(a.meta, arenaSeries{chunk: r.chunk, off: r.off, cap: a.initCap})
			a.tkeys[i], a.tidx[i] = key, int32(len(a.meta)-1)
			return a.tidx[i], true
		}
	}
}

func (a *arenaSide) grow() {
	ok, oi := a.tkeys, a.tidx
	a.tkeys, a.tidx = make([]uint64, 2*len(ok)), make([]int32, 2*len(ok))
	a.mask = uint64(len(a.tkeys) - 1)
	for j, k := range ok {
		if k == 0 {
			continue
		}
		h := (k * 0x9e3779b97f4a7c15) >> 20
		i := h & a.mask
		for a.tkeys[i] != 0 {
			i = (i + 1) & a.mask
		}
		a.tkeys[i], a.tidx[i] = k, oi[j]
	}
}

func (a *arenaSide) push(s *arenaSeries, ts int64, v float64) {
	if s.n == s.cap {
		nc := s.cap + s.cap/2 + 1
		r := a.alloc(nc)
		ov, ot := a.vals[s.chunk][s.off:s.off+s.cap], a.ts[s.chunk][s.off:s.off+s.cap]
		nv, nt := a.vals[r.chunk][r.off:r.off+nc], a.ts[r.chunk][r.off:r.off+nc]
		for i := range s.n {
			j := (s.head + i) % s.cap
			nv[i], nt[i] = ov[j], ot[j]
		}
		a.free[s.cap] = append(a.free[s.cap], arenaRegion{s.chunk, s.off})
		s.chunk, s.off, s.cap, s.head = r.chunk, r.off, nc, 0
	}
	j := s.head + s.n
	if j >= s.cap {
		j -= s.cap
	}
	a.vals[s.chunk][s.off+j], a.ts[s.chunk][s.off+j] = v, ts
	s.n++
}

func (a *arenaSide) evict(s *arenaSeries, cut int64) {
	ts := a.ts[s.chunk][s.off : s.off+s.cap]
	for s.n > 0 && ts[s.head] < cut {
		s.head++
		if s.head == s.cap {
			s.head = 0
		}
		s.n--
	}
}

func (a *arenaSide) appendWindow(dst []float64, s *arenaSeries, cut int64) []float64 {
	vs, ts := a.vals[s.chunk][s.off:s.off+s.cap], a.ts[s.chunk][s.off:s.off+s.cap]
	for i := range s.n {
		j := s.head + i
		if j >= s.cap {
			j -= s.cap
		}
		if ts[j] >= cut {
			dst = append(dst, vs[j])
		}
	}
	return dst
}

func (a *arenaSide) ingest(b *batch) {
	for lo := 0; lo < b.len(); lo += lockChunk {
		hi := min(lo+lockChunk, b.len())
		a.mu.Lock()
		for i := lo; i < hi; i++ {
			idx, _ := a.lookup(b.keys[i], true)
			s := &a.meta[idx]
			if b.ts[i] > a.wm {
				a.wm = b.ts[i]
			}
			a.evict(s, a.cc.at(a.wm))
			a.push(s, b.ts[i], b.vals[i])
		}
		a.mu.Unlock()
	}
}

func (a *arenaSide) flush() {}

func (a *arenaSide) query(i int32) (result, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	idx, ok := a.lookup(a.u.keys[i], false)
	if !ok {
		return result{}, false
	}
	a.scratch = a.appendWindow(a.scratch[:0], &a.meta[idx], a.cc.at(a.wm))
	res := summarize(a.scratch)
	res.Q = quantilesBySelect(a.scratch)
	return res, true
}

func (a *arenaSide) readAll() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	cut := a.cc.at(a.wm)
	var sink float64
	for i := range a.meta {
		a.scratch = a.appendWindow(a.scratch[:0], &a.meta[i], cut)
		q := quantilesBySelect(a.scratch)
		sink += q[0]
	}
	_ = sink
	return len(a.meta)
}

func (a *arenaSide) note() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var n int
	for i := range a.meta {
		n += int(a.meta[i].n)
	}
	return fmt.Sprintf("%d values in %d chunks of %d slots (16 B/slot), %d series", n, len(a.vals), arenaChunk, len(a.meta))
}

func (a *arenaSide) close() { a.vals, a.ts, a.meta = nil, nil, nil }
