package peerbench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/HdrHistogram/hdrhistogram-go"
	vm "github.com/VictoriaMetrics/metrics"
	prom "github.com/prometheus/client_golang/prometheus"
	windowagg "github.com/windowagg/windowagg/bindings/go"
)

// The per-request harness: goroutines record request latencies
// (time.Duration, log-normal, 1 µs .. ~10 s) with an endpoint label, one call
// per request, as a Go service does. Every peer gets the endpoint as a
// string and the latency as a time.Duration. The peers that need an object
// per endpoint get it from one read-only Go map built ahead (the same lookup
// for all: what a service does with vec.WithLabelValues cached per route);
// windowagg is given the string itself (Batcher.ObserveDuration resolves
// names on its own). Each peer is at the settings its users use, printed by
// the benchmark next to its name.

var endpoints = []string{"GET /", "GET /cart", "POST /cart", "GET /item", "GET /search",
	"POST /login", "GET /api/v1/orders", "DELETE /cart"}

const latencyPool = 1 << 16

func requestLatencies() []time.Duration {
	rng := rand.New(rand.NewPCG(21, 22))
	d := make([]time.Duration, latencyPool)
	for i := range d {
		us := math.Max(1, math.Exp(6+1.5*rng.NormFloat64())) // µs
		d[i] = time.Duration(us * float64(time.Microsecond))
	}
	return d
}

// recorder is one peer set up for the endpoints: observe is the
// per-request call; stop releases what the peer started (tickers).
type recorder struct {
	observe func(ep string, d time.Duration)
	stop    func()
}

type perRequestPeer struct {
	name     string
	settings string
	make     func(tb testing.TB) recorder
}

// byEndpoint builds one object per endpoint, looked up per request.
func byEndpoint[T any](mk func(ep string) T) map[string]T {
	m := make(map[string]T, len(endpoints))
	for _, ep := range endpoints {
		m[ep] = mk(ep)
	}
	return m
}

var perRequestPeers = []perRequestPeer{
	{"windowagg", "Batcher.ObserveDuration; 1m sliding window, 1s panes, alpha 0.01; batch 4096, flush 100ms",
		func(tb testing.TB) recorder {
			a, err := windowagg.New(windowagg.WithSlidingWindow(time.Minute, time.Second), windowagg.WithAccuracy(0.01))
			if err != nil {
				tb.Fatal(err)
			}
			b := windowagg.NewBatcher(a)
			return recorder{
				observe: func(ep string, d time.Duration) { b.ObserveDuration(ep, d) },
				stop: func() {
					if err := b.Close(); err != nil {
						tb.Error(err)
					}
					a.Close()
				},
			}
		}},
	{"hdrhistogram-windowed", "hdrhistogram-go NewWindowed(6, 1µs, 1min, 3 sigfigs), Rotate every 10s; a mutex per endpoint",
		func(tb testing.TB) recorder {
			type hw struct {
				mu sync.Mutex
				w  *hdrhistogram.WindowedHistogram
			}
			m := byEndpoint(func(string) *hw { return &hw{w: hdrhistogram.NewWindowed(6, 1, 60_000_000, 3)} })
			stop := ticker(10*time.Second, func() {
				for _, h := range m {
					h.mu.Lock()
					h.w.Rotate()
					h.mu.Unlock()
				}
			})
			return recorder{observe: func(ep string, d time.Duration) {
				h := m[ep]
				h.mu.Lock()
				h.w.Current.RecordValue(d.Microseconds())
				h.mu.Unlock()
			}, stop: stop}
		}},
	{"ddsketch", "sketches-go NewDefaultDDSketch(0.01); a mutex per endpoint (not windowed)",
		func(tb testing.TB) recorder {
			type ds struct {
				mu sync.Mutex
				s  *ddsketch.DDSketch
			}
			m := byEndpoint(func(string) *ds {
				s, err := ddsketch.NewDefaultDDSketch(0.01)
				if err != nil {
					tb.Fatal(err)
				}
				return &ds{s: s}
			})
			return recorder{observe: func(ep string, d time.Duration) {
				s := m[ep]
				s.mu.Lock()
				s.s.Add(d.Seconds())
				s.mu.Unlock()
			}, stop: func() {}}
		}},
	{"vm-histogram", "VictoriaMetrics metrics Set.NewHistogram (vmrange buckets)",
		func(tb testing.TB) recorder {
			set := vm.NewSet()
			m := byEndpoint(func(ep string) *vm.Histogram {
				return set.NewHistogram(fmt.Sprintf("request_duration_seconds{endpoint=%q}", ep))
			})
			return updaterRecorder(m)
		}},
	{"vm-summary", "VictoriaMetrics metrics Set.NewSummary (window 5m, quantiles .5 .9 .97 .99 1)",
		func(tb testing.TB) recorder {
			set := vm.NewSet()
			m := byEndpoint(func(ep string) *vm.Summary {
				return set.NewSummary(fmt.Sprintf("request_duration_seconds{endpoint=%q}", ep))
			})
			return updaterRecorder(m)
		}},
	{"prom-histogram", "client_golang HistogramVec, DefBuckets (11 buckets); observer per endpoint",
		func(tb testing.TB) recorder {
			v := prom.NewHistogramVec(prom.HistogramOpts{Name: "request_duration_seconds", Help: "x",
				Buckets: prom.DefBuckets}, []string{"endpoint"})
			return observerRecorder(v)
		}},
	{"prom-native-histogram", "client_golang HistogramVec, NativeHistogramBucketFactor 1.1, MaxBucketNumber 100, MinResetDuration 1h",
		func(tb testing.TB) recorder {
			v := prom.NewHistogramVec(prom.HistogramOpts{Name: "request_duration_seconds", Help: "x",
				NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 100,
				NativeHistogramMinResetDuration: time.Hour}, []string{"endpoint"})
			return observerRecorder(v)
		}},
	{"prom-summary", "client_golang SummaryVec, Objectives {.5: .05, .9: .01, .99: .001}, MaxAge 1m (5 age buckets)",
		func(tb testing.TB) recorder {
			v := prom.NewSummaryVec(prom.SummaryOpts{Name: "request_duration_seconds", Help: "x",
				Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}, MaxAge: time.Minute},
				[]string{"endpoint"})
			return observerRecorder(v)
		}},
}

// updaterRecorder: VictoriaMetrics' Histogram and Summary, one per endpoint.
func updaterRecorder[T interface{ Update(float64) }](m map[string]T) recorder {
	return recorder{observe: func(ep string, d time.Duration) { m[ep].Update(d.Seconds()) }, stop: func() {}}
}

// observerRecorder: a client_golang vector's observer per endpoint, cached.
func observerRecorder(v interface {
	WithLabelValues(...string) prom.Observer
}) recorder {
	m := byEndpoint(func(ep string) prom.Observer { return v.WithLabelValues(ep) })
	return recorder{observe: func(ep string, d time.Duration) { m[ep].Observe(d.Seconds()) }, stop: func() {}}
}

func ticker(every time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// goroutineCounts: 1, 2 and GOMAXPROCS (without repeats), and 8, the
// issue's service.
func goroutineCounts() []int {
	out := []int{1}
	for _, g := range []int{2, runtime.GOMAXPROCS(0), 8} {
		dup := false
		for _, o := range out {
			dup = dup || o == g
		}
		if !dup {
			out = append(out, g)
		}
	}
	return out
}

// runGoroutines splits b.N requests over g goroutines; ns/op is wall time
// per request, all goroutines together (as b.RunParallel reports it).
func runGoroutines(b *testing.B, g int, lat []time.Duration, observe func(string, time.Duration)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := 0; w < g; w++ {
		n := b.N / g
		if w < b.N%g {
			n++
		}
		wg.Add(1)
		go func(w, n int) {
			defer wg.Done()
			<-start
			j := w * (latencyPool / 8)
			for i := 0; i < n; i++ {
				observe(endpoints[(i+w)&7], lat[j&(latencyPool-1)])
				j++
			}
		}(w, n)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	close(start)
	wg.Wait()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time in ns (every thread: the
// recording goroutines, and any flusher, ticker or GC work they cause). On a
// shared machine it is steadier than wall time, which counts the time other
// processes hold the cores.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

var printSettings sync.Once

// BenchmarkPerRequest: ns and allocations per recorded request, per peer and
// goroutine count, in one run. Reproduce the README table with
//
//	go test -run '^$' -bench PerRequest -benchtime 2s -count 3 | python3 table.py
func BenchmarkPerRequest(b *testing.B) {
	printSettings.Do(func() {
		fmt.Fprintf(os.Stdout, "settings: GOMAXPROCS=%d %s\n", runtime.GOMAXPROCS(0), runtime.Version())
		for _, p := range perRequestPeers {
			fmt.Fprintf(os.Stdout, "settings: %s: %s\n", p.name, p.settings)
		}
	})
	lat := requestLatencies()
	for _, g := range goroutineCounts() {
		for _, p := range perRequestPeers {
			b.Run(fmt.Sprintf("g=%d/%s", g, p.name), func(b *testing.B) {
				r := p.make(b)
				defer r.stop()
				b.ReportAllocs()
				runGoroutines(b, g, lat, r.observe)
			})
		}
	}
}
