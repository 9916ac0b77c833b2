// Command showdown feeds the same synthetic telemetry through windowagg and
// through three pure-Go implementations of the same sliding windows, one
// after the other in one process, and prints what each costs the Go runtime:
// ingest throughput, heap, RSS, GC cycles and CPU, GC pauses, the latency of
// a concurrent request loop, the cost of reading every series' quantiles,
// and whether all sides agree.
//
//	go run ./showdown                      # defaults: 100k series, 1M values/s, 1m windows
//	go run ./showdown -series 10000 -rate 200000 -window 10s -duration 3s
//	go run ./showdown -sides a,c,wa        # a subset
//
// Event time is compressed: event i has timestamp t0 + i/rate, whatever the
// wall clock says. Each side goes through three phases:
//
//  1. fill: one window of event time (window*rate values), as fast as it can;
//  2. steady: -steady of event time as fast as it can, the window sliding:
//     this gives "ingest/s";
//  3. paced: -duration of wall-clock time at -rate values/s, like a service
//     under its real load: GC cycles, GC CPU, pauses and request latency are
//     measured here.
//
// A request loop (GET /stats?series=... through an in-process http.Handler,
// JSON answer) runs during all phases; its latency is recorded in phase 3.
package main

import (
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

type config struct {
	series    int
	rate      int64
	window    time.Duration
	pane      time.Duration
	steady    time.Duration
	duration  time.Duration
	batch     int
	sides     string
	sample    int
	reqEvery  time.Duration
	seed      uint64
	alpha     float64
	burst     int
	hostAlloc int

	gcGo, gcWA gcSetting // GC setting of the pure-Go sides / the windowagg sides
	waSlice    int       // values per windowagg Push call (0 = the whole batch)

	profileSide                          string // side whose paced phase is profiled
	traceOut, cpuOut, blockOut, mutexOut string // profile files (empty = none)
}

// sideSpec names a side and how to build it.
type sideSpec struct {
	byDefault bool // part of a run without -sides
	id        string
	desc      string
	build     func(c *config, u *universe) (side, error)
}

// sideSpecs lists the sides known to this build (windowagg ones register
// themselves from side_windowagg.go).
var sideSpecs = []sideSpec{
	{false, "a", "typical service: map[string]*series, []struct{time.Time; float64}, sort a copy",
		func(c *config, u *universe) (side, error) { return newTypical(u, int64(c.window), int64(c.pane)), nil }},
	{false, "b", "map[string]*ring of []float64 + []int64 rings, quickselect",
		func(c *config, u *universe) (side, error) {
			return newRing(u, int64(c.window), int64(c.pane), c.expectedPerSeries()), nil
		}},
	{true, "c", "pointer-free: chunked []float64/[]int64 arena + open-addressing uint64->int32 index",
		func(c *config, u *universe) (side, error) {
			return newArena(u, int64(c.window), int64(c.pane), c.expectedPerSeries()), nil
		}},
}

func (c *config) expectedPerSeries() int {
	e := float64(c.rate) * c.window.Seconds() / float64(c.series)
	return int(e*1.25) + 8
}

// keyHash maps series names to uint64 keys for the sides that take numeric
// keys (FNV-1a unless a windowagg build overrides it with the library's).
var keyHash = func(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func main() {
	var c config
	flag.IntVar(&c.series, "series", 100_000, "number of series")
	flag.Int64Var(&c.rate, "rate", 1_000_000, "values per second of event time (and the paced phase's wall-clock rate)")
	flag.DurationVar(&c.window, "window", time.Minute, "sliding window length (event time)")
	flag.DurationVar(&c.pane, "pane", 0, "pane width (0 = window/60, windowagg's default)")
	flag.DurationVar(&c.steady, "steady", 3*time.Second, "event time ingested flat out after the window is full (throughput phase)")
	flag.DurationVar(&c.duration, "duration", 4*time.Second, "wall-clock length of the paced phase (GC and latency phase)")
	flag.IntVar(&c.batch, "batch", 4096, "values per generated batch (and per windowagg Push)")
	flag.StringVar(&c.sides, "sides", "", "comma-separated sides to run, of "+allIDs()+" (default: "+defaultIDs()+")")
	flag.IntVar(&c.sample, "sample", 200, "series checked for agreement")
	flag.DurationVar(&c.reqEvery, "req-interval", time.Millisecond, "pause between requests of the request loop")
	flag.Uint64Var(&c.seed, "seed", 42, "random seed of the generator")
	flag.Float64Var(&c.alpha, "alpha", 0.01, "windowagg sketch relative accuracy")
	flag.IntVar(&c.burst, "burst", 8, "values per series burst in the stream")
	flag.IntVar(&c.hostAlloc, "host-alloc", 0, "bytes the producer allocates per event (decoding stand-in; the same for every side, 0 = none)")
	gcGo := flag.String("gc-go", "env", "GC setting of the pure-Go sides: env (the process's GOGC/GOMEMLIMIT) or gogc=N|off,memlimit=SIZE|off")
	gcWA := flag.String("gc-wa", defaultGCWA, "GC setting of the windowagg sides (bindings/go/README.md, GC guidance): env or gogc=N|off,memlimit=SIZE|off")
	flag.IntVar(&c.waSlice, "wa-slice", defaultWASlice, "values per windowagg Push call: each generated batch is pushed in slices of this many (0 = whole batch)")
	flag.StringVar(&c.profileSide, "profile-side", "wa", "side whose paced phase -trace/-cpuprofile/-blockprofile/-mutexprofile record")
	flag.StringVar(&c.traceOut, "trace", "", "write a runtime/trace of the profiled side's paced phase to this file")
	flag.StringVar(&c.cpuOut, "cpuprofile", "", "write a CPU profile of the profiled side's paced phase to this file")
	flag.StringVar(&c.blockOut, "blockprofile", "", "write a block profile (events >= 10us) of the profiled side's paced phase to this file")
	flag.StringVar(&c.mutexOut, "mutexprofile", "", "write a mutex profile of the profiled side's paced phase to this file")
	flag.Parse()
	var err error
	if c.gcGo, err = parseGCSetting(*gcGo); err == nil {
		c.gcWA, err = parseGCSetting(*gcWA)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "showdown:", err)
		os.Exit(2)
	}
	if c.pane == 0 {
		// windowagg's default is window/60; keep it when it divides the
		// window, else take the nearest smaller divisor.
		c.pane = max(c.window/60, 1)
		for c.window%c.pane != 0 {
			c.pane--
		}
	}
	if err := validate(&c); err != nil {
		fmt.Fprintln(os.Stderr, "showdown:", err)
		os.Exit(2)
	}
	if _, err := run(&c, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "showdown:", err)
		os.Exit(1)
	}
}

func allIDs() string {
	ids := make([]string, len(sideSpecs))
	for i, s := range sideSpecs {
		ids[i] = s.id
	}
	return strings.Join(ids, ",")
}

func defaultIDs() string {
	var ids []string
	for _, s := range sideSpecs {
		if s.byDefault {
			ids = append(ids, s.id)
		}
	}
	return strings.Join(ids, ",")
}

func validate(c *config) error {
	switch {
	case c.series < 1:
		return fmt.Errorf("-series must be >= 1")
	case c.rate < 1:
		return fmt.Errorf("-rate must be >= 1")
	case c.window <= 0 || c.pane <= 0 || c.window%c.pane != 0:
		return fmt.Errorf("-window must be > 0 and a multiple of -pane")
	case c.batch < 1:
		return fmt.Errorf("-batch must be >= 1")
	case c.steady < 0 || c.duration < 0:
		return fmt.Errorf("-steady and -duration must be >= 0")
	case c.waSlice < 0:
		return fmt.Errorf("-wa-slice must be >= 0")
	case c.hostAlloc < 0:
		return fmt.Errorf("-host-alloc must be >= 0")
	}
	return nil
}

// sideRun is everything measured for one side.
type sideRun struct {
	id, name   string
	err        error
	fillWall   time.Duration
	steadyRate float64
	pacedRate  float64
	gc         gcDelta
	gcAll      gcDelta          // the whole run of the side (fill included)
	reqAll     [3]time.Duration // request latency over the whole run of the side
	nreqAll    int
	native     uint64 // bytes held outside the Go heap (windowagg sides)
	startRSS   int64  // RSS when the side started (after the previous side was freed)
	peakHeap   int64
	peakRSS    int64
	endRSS     int64  // RSS at the end of the paced phase, split below
	endGo      uint64 // of it, the Go runtime's (mapped, not released)
	endNative  uint64 // and the native state (windowagg sides)
	liveHeap   uint64
	req        [3]time.Duration
	nreq       int
	tail       tailBreakdown // where the slow requests' time went
	gcSet      gcSetting
	reqErrors  int64
	readAll    time.Duration
	nread      int
	note       string
	results    map[int32]result
	agreeOK    int
	agreeBad   int
	agreeFirst string
	maxQErr    float64
}

func run(c *config, out, logw *os.File) ([]*sideRun, error) {
	want := map[string]bool{}
	if c.sides != "" {
		for _, id := range strings.Split(c.sides, ",") {
			id = strings.TrimSpace(id)
			found := false
			for _, s := range sideSpecs {
				if s.id == id {
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("unknown side %q (known: %s)", id, allIDs())
			}
			want[id] = true
		}
	}
	u := newUniverse(c.series, keyHash)
	fillN := int64(c.window.Seconds() * float64(c.rate))
	steadyN := int64(c.steady.Seconds() * float64(c.rate))
	pacedN := int64(c.duration.Seconds() * float64(c.rate))
	total := fillN + steadyN + pacedN

	fmt.Fprintf(out, "windowagg GC showdown: %d series, %s values/s of event time, %v sliding windows (panes of %v), p50/p99/p999 per series\n",
		c.series, siCount(float64(c.rate)), c.window, c.pane)
	fmt.Fprintf(out, "per side: fill %s values, steady %s values flat out, paced %v wall at %s/s (= %s values); GOMAXPROCS=%d, %s\n",
		siCount(float64(fillN)), siCount(float64(steadyN)), c.duration, siCount(float64(c.rate)), siCount(float64(pacedN)),
		runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(out, "GC settings: pure-Go sides %s (-gc-go %s); windowagg sides %s (-gc-wa, bindings/go/README.md GC guidance); process started with %s\n",
		c.gcGo, gcSource(c.gcGo), c.gcWA, processGC)
	waPush := "whole batches"
	if c.waSlice > 0 && c.waSlice < c.batch {
		waPush = fmt.Sprintf("slices of %d values", c.waSlice)
	}
	fmt.Fprintf(out, "stream: batches of %d, bursts of %d values per series; the producer allocates %d B per event (same for every side); windowagg Push: %s\n",
		c.batch, c.burst, c.hostAlloc, waPush)
	fmt.Fprintf(out, "request loop: GET /stats?series=... via an in-process http.Handler every %v, JSON answer\n", c.reqEvery)
	for _, spec := range sideSpecs {
		if (len(want) > 0 && want[spec.id]) || (len(want) == 0 && spec.byDefault) {
			fmt.Fprintf(out, "  %-4s %s\n", spec.id, spec.desc)
		}
	}
	fmt.Fprintln(out)

	// Oracle: exact windowed answers for the sampled series, from the same stream.
	sample := sampleSeries(c.series, c.sample)
	fmt.Fprintf(logw, "computing exact reference for %d sampled series...\n", len(sample))
	ref := oracle(c, u, sample, total)

	var runs []*sideRun
	for _, spec := range sideSpecs {
		if (len(want) > 0 && !want[spec.id]) || (len(want) == 0 && !spec.byDefault) {
			continue
		}
		r := runSide(c, u, spec, sample, fillN, steadyN, pacedN, logw)
		if r.err == nil {
			check(r, ref, c.alpha)
		}
		runs = append(runs, r)
	}
	printTable(out, c, runs)
	printGuidance(out, c, runs)
	printVerdicts(out, runs)
	return runs, nil
}

func gcSource(g gcSetting) string {
	if g == processGC {
		return "the process's own"
	}
	return "applied"
}

func sampleSeries(n, k int) []int32 {
	k = min(k, n)
	out := make([]int32, 0, k)
	for i := range k {
		out = append(out, int32(int64(i)*int64(n)/int64(k)))
	}
	return out
}

// oracle replays the stream and keeps the events of the sampled series
// only, then answers them exactly (rank floor(q*(n-1))).
func oracle(c *config, u *universe, sample []int32, total int64) map[int32]result {
	keep := make(map[int32]bool, len(sample))
	for _, s := range sample {
		keep[s] = true
	}
	vals := map[int32][]float64{}
	tss := map[int32][]int64{}
	g := newGenerator(c.seed, c.rate, c.burst, u)
	b := newBatch(c.batch)
	var wm int64
	for done := int64(0); done < total; {
		n := int(min(int64(c.batch), total-done))
		g.next(b, n)
		for i := range n {
			if keep[b.ser[i]] {
				vals[b.ser[i]] = append(vals[b.ser[i]], b.vals[i])
				tss[b.ser[i]] = append(tss[b.ser[i]], b.ts[i])
			}
		}
		wm = b.ts[n-1]
		done += int64(n)
	}
	cut := windowCutoff(wm, int64(c.window), int64(c.pane))
	ref := make(map[int32]result, len(sample))
	for _, s := range sample {
		var w []float64
		for i, t := range tss[s] {
			if t >= cut {
				w = append(w, vals[s][i])
			}
		}
		r := summarize(w)
		r.Q = quantilesBySort(w)
		ref[s] = r
	}
	return ref
}

func runSide(c *config, u *universe, spec sideSpec, sample []int32, fillN, steadyN, pacedN int64, logw *os.File) *sideRun {
	r := &sideRun{id: spec.id, gcSet: c.gcGo}
	if isWA(spec.id) {
		r.gcSet = c.gcWA
	}
	restoreGC := r.gcSet.apply()
	defer restoreGC()
	runtime.GC()
	debug.FreeOSMemory()
	r.startRSS = rssBytes()

	sd, err := spec.build(c, u)
	if err != nil {
		r.name, r.err = spec.id, err
		fmt.Fprintf(logw, "side %s: %v\n", spec.id, err)
		return r
	}
	r.name = sd.name()
	fmt.Fprintf(logw, "%s: fill...", r.name)

	smp := startSampler(20 * time.Millisecond)
	lat := newLatencies(1 << 16) // harness buffers stay small: they sit in every side's Go heap
	latAll := newLatencies(1 << 17)
	var measuring atomic.Bool
	var reqErrs atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var readNs int64
		requestLoop(statsHandler(u, sd, &readNs), &readNs, u, c.reqEvery, lat, latAll, &measuring, &reqErrs, stop)
	}()

	f := &feeder{sd: sd, g: newGenerator(c.seed, c.rate, c.burst, u), b: newBatch(c.batch),
		hostAlloc: c.hostAlloc}
	if c.hostAlloc > 0 {
		f.hold = make([][]byte, 0, c.batch)
	}

	all0 := snapGC()
	t0 := time.Now()
	f.feed(fillN, 0)
	r.fillWall = time.Since(t0)
	fmt.Fprintf(logw, " %.1fs, steady...", r.fillWall.Seconds())

	t1 := time.Now()
	f.feed(steadyN, 0)
	if steadyN > 0 {
		r.steadyRate = float64(steadyN) / time.Since(t1).Seconds()
	}
	fmt.Fprintf(logw, " %.1fs, paced...", time.Since(t1).Seconds())

	smp.reset()
	lat.reset()
	prof := startProfiles(c, spec.id, logw)
	measuring.Store(true)
	a := snapGC()
	f.feed(pacedN, c.rate)
	z := snapGC()
	measuring.Store(false)
	prof.stop()
	r.gc = diffGC(a, z)
	r.gcAll = diffGC(all0, z)
	if pacedN > 0 {
		r.pacedRate = float64(pacedN) / r.gc.wall.Seconds()
	}
	r.peakHeap, r.peakRSS = smp.peakHeap.Load(), smp.peakRSS.Load()
	r.liveHeap = heapLive()
	r.endRSS, r.endGo, r.endNative = rssBytes(), goRuntimeBytes(), nativeOf(sd)
	close(stop)
	wg.Wait()
	smp.close()
	r.req, r.nreq = lat.quantiles()
	r.tail = lat.breakdown(a, z)
	r.reqAll, r.nreqAll = latAll.quantiles()
	r.reqErrors = reqErrs.Load()
	fmt.Fprintf(logw, " %.1fs, read all...", r.gc.wall.Seconds())

	sd.flush()
	t2 := time.Now()
	r.nread = sd.readAll()
	r.readAll = time.Since(t2)
	r.results = make(map[int32]result, len(sample))
	for _, s := range sample {
		if res, ok := sd.query(s); ok {
			r.results[s] = res
		}
	}
	r.note = sd.note()
	r.native = nativeOf(sd)
	fmt.Fprintf(logw, " %.2fs\n", r.readAll.Seconds())
	sd.close()
	sd = nil
	runtime.GC()
	debug.FreeOSMemory()
	return r
}

// nativeOf is the memory a side holds outside the Go heap (windowagg
// sides; 0 for the others).
func nativeOf(sd side) uint64 {
	if nb, ok := sd.(interface{ nativeBytes() uint64 }); ok {
		return nb.nativeBytes()
	}
	return 0
}

// ingestSeq counts the producer's entries into and exits from a side's
// ingest (odd while inside), so a request can tell whether its read
// overlapped an ingest call.
var ingestSeq atomic.Uint64

// feeder is the producer: it generates batches and hands them to a side.
// Per event it allocates hostAlloc bytes, standing for the objects a real
// service makes while decoding an event (the same for every side); they are
// alive until the batch is handed over.
type feeder struct {
	sd        side
	g         *generator
	b         *batch
	hostAlloc int
	hold      [][]byte
}

// feed pushes n events through the side in batches; with rate > 0 it paces
// the batches so that event j is offered no earlier than j/rate after the
// start (a side that cannot keep up simply falls behind; its achieved rate
// is reported).
func (f *feeder) feed(n int64, rate int64) {
	start := time.Now()
	for done := int64(0); done < n; {
		k := int(min(int64(cap(f.b.vals)), n-done))
		if rate > 0 {
			due := start.Add(time.Duration(float64(done) / float64(rate) * 1e9))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		f.g.next(f.b, k)
		if f.hostAlloc > 0 {
			f.hold = f.hold[:k]
			for j := range k {
				o := make([]byte, f.hostAlloc)
				o[0] = byte(f.b.ser[j])
				f.hold[j] = o
			}
		}
		ingestSeq.Add(1) // odd: inside ingest
		f.sd.ingest(f.b)
		ingestSeq.Add(1)
		clear(f.hold)
		done += int64(k)
	}
	f.sd.flush()
}

// requestLoop is the service's other work: small JSON requests, each timed.
// readNs is where the handler leaves the duration of its sd.query call (the
// read proper: lock waits and the side's own work, for windowagg the cgo
// call) so that each request's time splits into read and the rest (HTTP
// plumbing, JSON, GC assists, waiting for a CPU).
func requestLoop(h http.Handler, readNs *int64, u *universe, every time.Duration, lat, latAll *latencies, measuring *atomic.Bool, errs *atomic.Int64, stop chan struct{}) {
	rng := uint64(7)
	paths := make([]string, 0, 1024)
	for range 1024 {
		s := (splitmix(&rng) >> 32) * uint64(len(u.names)) >> 32
		paths = append(paths, "/stats?series="+url.QueryEscape(u.names[s]))
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		t := time.Now()
		*readNs = 0
		seq := ingestSeq.Load()
		req := httptest.NewRequest(http.MethodGet, paths[i%len(paths)], nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		d := time.Since(t)
		overlapped := seq&1 == 1 || ingestSeq.Load() != seq
		latAll.add(d, 0, false)
		if measuring.Load() {
			lat.add(d, time.Duration(*readNs), overlapped)
			if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
				errs.Add(1)
			}
		}
		time.Sleep(every)
	}
}

// check compares a side's sampled answers with the exact reference: count,
// min and max exactly, sum/mean to 1e-9 relative, quantiles exactly for the
// pure-Go sides and within alpha (relative) for windowagg's sketch.
func check(r *sideRun, ref map[int32]result, alpha float64) {
	sketch := strings.HasPrefix(r.id, "wa")
	for s, want := range ref {
		got, ok := r.results[s]
		why := ""
		switch {
		case !ok:
			why = "missing"
		case got.Count != want.Count:
			why = fmt.Sprintf("count %d != %d", got.Count, want.Count)
		case !sameF(got.Min, want.Min) || !sameF(got.Max, want.Max):
			why = fmt.Sprintf("min/max %g/%g != %g/%g", got.Min, got.Max, want.Min, want.Max)
		case !closeRel(got.Sum, want.Sum, 1e-9) || !closeRel(got.Mean, want.Mean, 1e-9):
			why = fmt.Sprintf("sum %g != %g", got.Sum, want.Sum)
		}
		if why == "" {
			for i := range qs {
				e := relErr(got.Q[i], want.Q[i])
				r.maxQErr = max(r.maxQErr, e)
				tol := 0.0
				if sketch {
					tol = alpha * (1 + 1e-9)
				}
				if e > tol {
					why = fmt.Sprintf("p%g %g vs exact %g (rel err %.3g)", qs[i]*100, got.Q[i], want.Q[i], e)
					break
				}
			}
		}
		if why == "" {
			r.agreeOK++
		} else {
			r.agreeBad++
			if r.agreeFirst == "" {
				r.agreeFirst = fmt.Sprintf("series %d: %s", s, why)
			}
		}
	}
}

func sameF(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func relErr(got, want float64) float64 {
	if sameF(got, want) {
		return 0
	}
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

func closeRel(a, b, tol float64) bool { return sameF(a, b) || relErr(a, b) <= tol }

func printTable(out *os.File, c *config, runs []*sideRun) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "side\tingest/s\tGo heap\tRSS\tGC/s\tGC CPU\tGC CPU all\tpause p99\tpause max\treq p50\treq p99\treq p999\tread all q\tagree\t")
	for _, r := range runs {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\t\t\t\t\t\n", r.name, "error: "+r.err.Error())
			continue
		}
		agree := fmt.Sprintf("ok %d/%d", r.agreeOK, r.agreeOK+r.agreeBad)
		if r.agreeBad > 0 {
			agree = fmt.Sprintf("BAD %d/%d", r.agreeBad, r.agreeOK+r.agreeBad)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%.1f%%\t%.1f%%\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.name, siCount(r.steadyRate), siBytes(float64(r.peakHeap)), siBytes(float64(r.peakRSS)),
			float64(r.gc.cycles)/r.gc.wall.Seconds(), 100*r.gc.gcCPUFrac, 100*r.gcAll.gcCPUFrac,
			pauseStr(r.gc.cycles, r.gc.pauseP99), pauseStr(r.gc.cycles, r.gc.pauseMax),
			fmtDur(r.req[0]), fmtDur(r.req[1]), fmtDur(r.req[2]), fmtDur(r.readAll), agree)
	}
	tw.Flush()
	fmt.Fprintf(out, "\ningest/s: steady phase, flat out (window full and sliding). Go heap / RSS: peaks during the paced phase (heap = live + not yet swept, sampled every 20ms).\n")
	fmt.Fprintf(out, "GC/s, GC CPU (GC cpu-seconds / (wall x GOMAXPROCS=%d), runtime/metrics), pauses (per-cycle STW, MemStats.PauseNs) and req latency: paced phase at %s values/s.\n",
		runtime.GOMAXPROCS(0), siCount(float64(c.rate)))
	fmt.Fprintf(out, "GC CPU all: the same over the side's whole run, fill included (a big heap may see no cycle in a short paced phase; this shows what its cycles cost).\n")
	fmt.Fprintf(out, "read all q: every series' p50/p99/p999 once. agree: %d sampled series vs an exact oracle (count/min/max exact, sum 1e-9, quantiles exact or within alpha=%g for the sketch).\n\n",
		c.sample, c.alpha)
	for _, r := range runs {
		if r.err != nil {
			continue
		}
		perCycle := 0.0
		if r.gcAll.cycles > 0 {
			perCycle = r.gcAll.gcCores * r.gcAll.wall.Seconds() / float64(r.gcAll.cycles)
		}
		fmt.Fprintf(out, "%s: fill %.1fs; paced %s/s achieved, GC %.1f%% of one core, alloc %s/s; heap live %s; %d requests (%d errors); read %d series; max quantile rel err %.2g\n",
			r.name, r.fillWall.Seconds(), siCount(r.pacedRate), 100*r.gc.gcCores, siBytes(r.gc.allocRate),
			siBytes(float64(r.liveHeap)), r.nreq, r.reqErrors, r.nread, r.maxQErr)
		fmt.Fprintf(out, "    whole run (fill included, %.1fs): %d GC cycles, %.2f GC cpu-s (%.3f s/cycle), GC %.1f%% of one core, pause max %s, req p99/p999 %s/%s (%d)",
			r.gcAll.wall.Seconds(), r.gcAll.cycles, r.gcAll.gcCores*r.gcAll.wall.Seconds(), perCycle, 100*r.gcAll.gcCores, fmtDur(r.gcAll.pauseMax),
			fmtDur(r.reqAll[1]), fmtDur(r.reqAll[2]), r.nreqAll)
		if !r.gc.pauseExact {
			fmt.Fprintf(out, "; pauses from histogram buckets (upper bounds)")
		}
		fmt.Fprintf(out, "\n    %s; RSS at side start %s; GC setting %s\n", r.note, siBytes(float64(r.startRSS)), r.gcSet)
		fmt.Fprintf(out, "    RSS at the end of the paced phase %s = Go runtime (mapped, not released) %s + native state %s + the rest (allocator overhead, code, C stacks) %s\n",
			siBytes(float64(r.endRSS)), siBytes(float64(r.endGo)), siBytes(float64(r.endNative)),
			siBytes(float64(r.endRSS)-float64(r.endGo)-float64(r.endNative)))
		r.tail.print(out)
		if r.agreeBad > 0 {
			fmt.Fprintf(out, "    DISAGREES: %s\n", r.agreeFirst)
		}
	}
}

// pauseStr prints "-" when the phase had no GC cycle at all.
func pauseStr(cycles uint64, d time.Duration) string {
	if cycles == 0 {
		return "-"
	}
	return fmtDur(d)
}

func siCount(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2fG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func siBytes(x float64) string {
	switch {
	case x >= 1<<30:
		return fmt.Sprintf("%.2fGiB", x/(1<<30))
	case x >= 1<<20:
		return fmt.Sprintf("%.0fMiB", x/(1<<20))
	case x >= 1<<10:
		return fmt.Sprintf("%.0fKiB", x/(1<<10))
	}
	return fmt.Sprintf("%.0fB", x)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d >= time.Microsecond:
		return fmt.Sprintf("%.0fus", float64(d)/1e3)
	}
	return fmt.Sprintf("%dns", int64(d))
}
