package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// (a) The typical service: a map from series name to a struct that keeps
// its recent events as a slice of {time.Time, float64}, evicting the old
// ones from the front as new ones arrive, and answering quantiles by sorting
// a copy. time.Time carries a *Location, so every event is a pointer the
// GC has to scan; the slices are re-sliced from the front and reallocated by
// append, which is the allocation churn a real service has.
type typicalSide struct {
	mu     sync.Mutex
	u      *universe
	size   int64
	pane   int64
	wm     int64
	cc     cutoffCache
	series map[string]*typicalSeries
}

type event struct {
	at time.Time
	v  float64
}

type typicalSeries struct {
	events []event
}

func newTypical(u *universe, size, pane int64) side {
	return &typicalSide{u: u, size: size, pane: pane, cc: cutoffCache{size: size, pane: pane}, series: make(map[string]*typicalSeries)}
}

func (t *typicalSide) name() string { return "(a) map+[]struct{time.Time}" }

const lockChunk = 256 // Go sides hold their lock for at most this many events

func (t *typicalSide) ingest(b *batch) {
	for lo := 0; lo < b.len(); lo += lockChunk {
		hi := min(lo+lockChunk, b.len())
		t.mu.Lock()
		for i := lo; i < hi; i++ {
			name := t.u.names[b.ser[i]]
			s := t.series[name]
			if s == nil {
				s = &typicalSeries{}
				t.series[name] = s
			}
			ts := b.ts[i]
			if ts > t.wm {
				t.wm = ts
			}
			cut := time.Unix(0, t.cc.at(t.wm))
			k := 0
			for k < len(s.events) && s.events[k].at.Before(cut) {
				k++
			}
			s.events = append(s.events[k:], event{at: time.Unix(0, ts), v: b.vals[i]})
		}
		t.mu.Unlock()
	}
}

func (t *typicalSide) flush() {}

// window copies the values in the current window (what a handler does).
func (t *typicalSide) window(s *typicalSeries) []float64 {
	cut := time.Unix(0, t.cc.at(t.wm))
	out := make([]float64, 0, len(s.events))
	for _, e := range s.events {
		if !e.at.Before(cut) {
			out = append(out, e.v)
		}
	}
	return out
}

func (t *typicalSide) query(idx int32) (result, bool) {
	t.mu.Lock()
	s := t.series[t.u.names[idx]]
	if s == nil {
		t.mu.Unlock()
		return result{}, false
	}
	v := t.window(s)
	t.mu.Unlock()
	r := summarize(v)
	r.Q = quantilesBySort(v)
	return r, true
}

func (t *typicalSide) readAll() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	var sink float64
	for _, s := range t.series {
		v := t.window(s)
		slices.Sort(v)
		if len(v) > 0 {
			for _, q := range qs {
				sink += v[exactRank(q, len(v))]
			}
		}
		n++
	}
	_ = sink
	return n
}

func (t *typicalSide) note() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n, c int
	for _, s := range t.series {
		n += len(s.events)
		c += cap(s.events)
	}
	return fmt.Sprintf("%d events held in %d slices (cap %d), 32 B/event incl. a pointer", n, len(t.series), c)
}

func (t *typicalSide) close() { t.series = nil }
