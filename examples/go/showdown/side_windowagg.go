package main

import (
	"fmt"
	"sync"
	"time"

	windowagg "github.com/windowagg/windowagg/bindings/go"
)

// The windowagg sides: the same sliding windows kept in native memory by the
// library (per-pane moments and a DDSketch-style sketch per series), the Go
// heap holding only the handle. Keys are the library's own hash of the
// series name (windowagg.HashString), so numeric and string pushes name the
// same series.
// defaultGCWA is the GC setting bindings/go/README.md (GC guidance) tells a
// service whose big state is native to apply; the windowagg sides run with it.
const defaultGCWA = "gogc=400"

// defaultWASlice is how many values one Push call hands over (0: the whole
// generated batch of 4096). A read no longer waits for a push's slice in
// the library (it is let in between two runs of a series, see the README's
// Thread safety), so slicing a batch buys no latency and costs per-call
// work: on the 2-core machine (default flags, -sides wa, two alternating
// runs each) whole batches ingested 7.86M and 8.13M/s against 5.70M and
// 5.98M/s in slices of 256, with request p99 87-88us vs 94-98us.
const defaultWASlice = 0

func init() {
	keyHash = windowagg.HashString
	sideSpecs = append(sideSpecs,
		sideSpec{true, "wab", "windowagg through its Batcher (WithAsyncFlush): the producer calls Add(key, ts, v) per event",
			func(c *config, u *universe) (side, error) { return newWA(c, u, waBatcher) }},
		sideSpec{true, "wa", "windowagg, Push ([]float64, []int64, []uint64; zero-copy, one cgo call per -wa-slice values)",
			func(c *config, u *universe) (side, error) { return newWA(c, u, waBatch) }},
		sideSpec{false, "was", "windowagg, PushStrings of whole batches (string keys packed into one reused buffer)",
			func(c *config, u *universe) (side, error) { return newWA(c, u, waStrings) }},
	)
}

type waMode int

const (
	waBatch waMode = iota
	waBatcher
	waStrings
)

type waSide struct {
	mode  waMode
	u     *universe
	agg   *windowagg.Aggregator
	bat   *windowagg.Batcher
	keys  []string // PushStrings scratch
	slice int      // values per Push call (0 = whole batch)

	qmu   sync.Mutex // guards qbuf (readers only; a push never takes it)
	qbuf  []float64
	stats []windowagg.KeyStats
	qall  []float64
}

func newWA(c *config, u *universe, mode waMode) (side, error) {
	agg, err := windowagg.New(windowagg.WithSlidingWindow(c.window, c.pane), windowagg.WithAccuracy(c.alpha))
	if err != nil {
		return nil, err
	}
	w := &waSide{mode: mode, u: u, agg: agg, qbuf: make([]float64, 3), slice: c.waSlice}
	switch mode {
	case waBatcher:
		size := 4096
		if c.waSlice > 0 {
			size = c.waSlice
		}
		w.bat = windowagg.NewBatcher(agg, windowagg.WithBatchSize(size), windowagg.WithFlushInterval(100*time.Millisecond),
			windowagg.WithAsyncFlush())
	case waStrings:
		w.keys = make([]string, 0, c.batch)
	}
	return w, nil
}

func (w *waSide) name() string {
	switch w.mode {
	case waBatcher:
		return "windowagg Batcher.Add/event"
	case waStrings:
		return "windowagg PushStrings/batch"
	}
	return "windowagg Push/batch"
}

func (w *waSide) ingest(b *batch) {
	var err error
	switch w.mode {
	case waBatch:
		step := b.len()
		if w.slice > 0 {
			step = w.slice
		}
		for lo := 0; lo < b.len() && err == nil; lo += step {
			hi := min(lo+step, b.len())
			err = w.agg.Push(b.vals[lo:hi], b.ts[lo:hi], b.keys[lo:hi])
		}
	case waStrings:
		w.keys = w.keys[:0]
		for _, s := range b.ser {
			w.keys = append(w.keys, w.u.names[s])
		}
		err = w.agg.PushStrings(b.vals, b.ts, w.keys)
	case waBatcher:
		for i := range b.vals {
			if err = w.bat.Add(b.keys[i], b.ts[i], b.vals[i]); err != nil {
				break
			}
		}
	}
	if err != nil {
		panic(fmt.Sprintf("windowagg push: %v", err))
	}
}

func (w *waSide) flush() {
	if w.bat != nil {
		if err := w.bat.Flush(); err != nil {
			panic(err)
		}
	}
}

func (w *waSide) query(i int32) (result, bool) {
	// One cgo call (stats and quantiles), no allocation; the Go lock only
	// guards the reused quantile buffer among readers.
	w.qmu.Lock()
	st, q, err := w.agg.KeyStatsQuantiles(w.u.keys[i], qs[:], w.qbuf)
	r := result{Count: st.Count, Sum: st.Sum, Mean: st.Mean, Min: st.Min, Max: st.Max}
	if err == nil {
		copy(r.Q[:], q)
	}
	w.qmu.Unlock()
	return r, err == nil
}

func (w *waSide) readAll() int {
	var err error
	w.stats, w.qall, err = w.agg.AllStats(w.stats, qs[:], w.qall)
	if err != nil {
		panic(err)
	}
	return len(w.stats)
}

func (w *waSide) note() string {
	mem, _ := w.agg.MemoryUsage()
	n, _ := w.agg.KeyCount()
	return fmt.Sprintf("native state %s for %d series (windowagg MemoryUsage, outside the Go heap; RSS includes it), library %s",
		siBytes(float64(mem)), n, windowagg.Version())
}

func (w *waSide) nativeBytes() uint64 {
	mem, _ := w.agg.MemoryUsage()
	return mem
}

func (w *waSide) close() {
	if w.bat != nil {
		w.bat.Close()
	}
	w.agg.Close()
	w.stats, w.qall = nil, nil
}
