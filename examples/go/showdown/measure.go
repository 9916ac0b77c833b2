package main

import (
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var pageSize = int64(os.Getpagesize())

// rssBytes reads the resident set size from /proc/self/statm.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n * pageSize
}

const (
	mGCCPU    = "/cpu/classes/gc/total:cpu-seconds"
	mCycles   = "/gc/cycles/total:gc-cycles"
	mPauses   = "/sched/pauses/total/gc:seconds"
	mHeapObj  = "/memory/classes/heap/objects:bytes"
	mHeapLive = "/gc/heap/live:bytes"
	mTotalCPU = "/cpu/classes/total:cpu-seconds"
	mAllocs   = "/gc/heap/allocs:bytes"
	mAssist   = "/cpu/classes/gc/mark/assist:cpu-seconds"
	mSchedLat = "/sched/latencies:seconds"
	mMutex    = "/sync/mutex/wait/total:seconds"
)

// gcSnap is the GC state at one instant.
type gcSnap struct {
	at       time.Time
	gcCPU    float64
	totalCPU float64
	cycles   uint64
	allocs   uint64
	pauses   *metrics.Float64Histogram
	numGC    uint32
	assist   float64                   // GC assist CPU-seconds
	schedLat *metrics.Float64Histogram // time goroutines waited runnable for a CPU
	mutex    float64                   // seconds goroutines waited on sync.Mutex/RWMutex
}

func snapGC() gcSnap {
	s := []metrics.Sample{{Name: mGCCPU}, {Name: mCycles}, {Name: mPauses}, {Name: mTotalCPU}, {Name: mAllocs},
		{Name: mAssist}, {Name: mSchedLat}, {Name: mMutex}}
	metrics.Read(s)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return gcSnap{at: time.Now(), gcCPU: s[0].Value.Float64(), cycles: s[1].Value.Uint64(),
		pauses: s[2].Value.Float64Histogram(), totalCPU: s[3].Value.Float64(),
		allocs: s[4].Value.Uint64(), numGC: ms.NumGC, assist: s[5].Value.Float64(),
		schedLat: s[6].Value.Float64Histogram(), mutex: s[7].Value.Float64()}
}

// gcDelta is what happened between two snapshots.
type gcDelta struct {
	wall       time.Duration
	cycles     uint64
	gcCPUFrac  float64 // GC CPU seconds / (wall * GOMAXPROCS)
	gcCores    float64 // GC CPU seconds / wall (cores busy with GC)
	allocRate  float64 // bytes/s
	pauseP99   time.Duration
	pauseMax   time.Duration
	pauseExact bool // from MemStats.PauseNs (per cycle) rather than histogram buckets
}

func diffGC(a, b gcSnap) gcDelta {
	d := gcDelta{wall: b.at.Sub(a.at), cycles: b.cycles - a.cycles}
	w := d.wall.Seconds()
	d.gcCores = (b.gcCPU - a.gcCPU) / w
	d.gcCPUFrac = d.gcCores / float64(runtime.GOMAXPROCS(0))
	d.allocRate = float64(b.allocs-a.allocs) / w
	// Exact per-cycle pauses from MemStats when the ring still holds them all.
	n := int(b.numGC - a.numGC)
	if n <= 256 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p := make([]time.Duration, 0, n)
		for i := range n {
			g := b.numGC - uint32(i) // cycle number (1-based)
			p = append(p, time.Duration(ms.PauseNs[(g+255)%256]))
		}
		d.pauseExact = true
		if n > 0 {
			slices.Sort(p)
			d.pauseMax = p[len(p)-1]
			d.pauseP99 = p[exactRank(0.99, len(p))]
		}
		return d
	}
	// Otherwise the runtime/metrics histogram (each STW pause, bucket upper bound).
	h := b.pauses
	counts := make([]uint64, len(h.Counts))
	var tot uint64
	for i := range counts {
		counts[i] = h.Counts[i] - a.pauses.Counts[i]
		tot += counts[i]
	}
	if tot == 0 {
		return d
	}
	upper := func(i int) time.Duration {
		x := h.Buckets[i+1]
		if math.IsInf(x, 1) {
			x = h.Buckets[i]
		}
		return time.Duration(x * 1e9)
	}
	target := uint64(math.Ceil(0.99 * float64(tot)))
	var run uint64
	for i, c := range counts {
		run += c
		if run >= target && d.pauseP99 == 0 {
			d.pauseP99 = upper(i)
		}
		if c > 0 {
			d.pauseMax = upper(i)
		}
	}
	return d
}

// sampler tracks peak Go heap (live objects + unswept garbage) and RSS
// while a side runs.
type sampler struct {
	stop     chan struct{}
	done     sync.WaitGroup
	peakHeap atomic.Int64
	peakRSS  atomic.Int64
}

func startSampler(every time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		m := []metrics.Sample{{Name: mHeapObj}}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			metrics.Read(m)
			if h := int64(m[0].Value.Uint64()); h > s.peakHeap.Load() {
				s.peakHeap.Store(h)
			}
			if r := rssBytes(); r > s.peakRSS.Load() {
				s.peakRSS.Store(r)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) reset() { s.peakHeap.Store(0); s.peakRSS.Store(0) }

func (s *sampler) close() { close(s.stop); s.done.Wait() }

// goRuntimeBytes is the memory the Go runtime has mapped and not returned
// to the OS (heap, stacks, its own metadata): its share of the RSS, at most.
func goRuntimeBytes() uint64 {
	m := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(m)
	return m[0].Value.Uint64() - m[1].Value.Uint64()
}

func heapLive() uint64 {
	m := []metrics.Sample{{Name: mHeapLive}}
	metrics.Read(m)
	return m[0].Value.Uint64()
}

// latencies is a preallocated, pointer-free record of request latencies:
// per request its total time, the time of its read (the side's query) and
// whether it overlapped an ingest call.
type latencies struct {
	mu  sync.Mutex
	ns  []int64
	rd  []int64
	ov  []bool
	max int
}

func newLatencies(capacity int) *latencies {
	return &latencies{ns: make([]int64, 0, capacity), rd: make([]int64, 0, capacity),
		ov: make([]bool, 0, capacity), max: capacity}
}

func (l *latencies) add(d, read time.Duration, overlapped bool) {
	l.mu.Lock()
	if len(l.ns) < l.max {
		l.ns = append(l.ns, int64(d))
		l.rd = append(l.rd, int64(read))
		l.ov = append(l.ov, overlapped)
	}
	l.mu.Unlock()
}

func (l *latencies) reset() {
	l.mu.Lock()
	l.ns, l.rd, l.ov = l.ns[:0], l.rd[:0], l.ov[:0]
	l.mu.Unlock()
}

// quantiles returns p50, p99, p999 (rank floor(q*(n-1))) and the count.
func (l *latencies) quantiles() ([3]time.Duration, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [3]time.Duration
	if len(l.ns) == 0 {
		return out, 0
	}
	s := slices.Clone(l.ns)
	slices.Sort(s)
	for i, q := range qs {
		out[i] = time.Duration(s[exactRank(q, len(s))])
	}
	return out, len(s)
}
