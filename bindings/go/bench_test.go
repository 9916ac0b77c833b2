package windowagg

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// goCountWindow is the pure-Go baseline: the same count window as a ring of
// values with running sums (count, sum, sum of squares: mean and variance).
// It keeps no min/max structure and no quantile sketch.
type goCountWindow struct {
	ring       []float64
	head, n    int
	sum, sumSq float64
}

func newGoCountWindow(capacity int) *goCountWindow {
	return &goCountWindow{ring: make([]float64, capacity)}
}

func (w *goCountWindow) push(vs []float64) {
	for _, v := range vs {
		if w.n == len(w.ring) {
			old := w.ring[w.head]
			w.sum -= old
			w.sumSq -= old * old
		} else {
			w.n++
		}
		w.ring[w.head] = v
		w.sum += v
		w.sumSq += v * v
		w.head++
		if w.head == len(w.ring) {
			w.head = 0
		}
	}
}

func (w *goCountWindow) mean() float64 { return w.sum / float64(w.n) }

var benchSizes = []int{1, 16, 256, 4096, 65536}

const benchWindow = 1 << 16

func benchValues(n int) []float64 {
	rng := rand.New(rand.NewPCG(7, 8))
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.ExpFloat64() * 100
	}
	return v
}

func reportPerValue(b *testing.B, batch int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(batch), "ns/value")
}

func reportCPUPerValue(b *testing.B, cpu0 int64, batch int) {
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/float64(batch), "cpu-ns/value")
}

// BenchmarkPush compares, per batch size and in the same run: an empty cgo
// call (the floor of any C call), aggregator_push of an empty batch called
// straight (push-nothing-raw) and through Push (push-nothing: adds the
// binding's own lock and checks), Push into a count window with the
// quantile sketch, without it, and the pure-Go ring.
func BenchmarkPush(b *testing.B) {
	values := benchValues(1 << 20)
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("batch=%d/empty-cgo", size), func(b *testing.B) {
			for b.Loop() {
				emptyCgoCall()
			}
			reportPerValue(b, size)
		})
		b.Run(fmt.Sprintf("batch=%d/push-nothing-raw", size), func(b *testing.B) {
			a := newAgg(b, WithCountWindow(benchWindow))
			for b.Loop() {
				rawPushNothing(a)
			}
			reportPerValue(b, size)
		})
		b.Run(fmt.Sprintf("batch=%d/push-nothing", size), func(b *testing.B) {
			a := newAgg(b, WithCountWindow(benchWindow))
			for b.Loop() {
				a.Push(nil, nil, nil)
			}
			reportPerValue(b, size)
		})
		for _, v := range []struct {
			name string
			opts []Option
		}{
			{"windowagg", []Option{WithCountWindow(benchWindow)}},
			{"windowagg-noquantiles", []Option{WithCountWindow(benchWindow), WithoutQuantiles()}},
			{"windowagg-single", []Option{WithCountWindow(benchWindow), WithSingleThreaded()}},
		} {
			b.Run(fmt.Sprintf("batch=%d/%s", size, v.name), func(b *testing.B) {
				a := newAgg(b, v.opts...)
				off := 0
				cpu0 := processCPU()
				for b.Loop() {
					if off+size > len(values) {
						off = 0
					}
					if err := a.Push(values[off:off+size], nil, nil); err != nil {
						b.Fatal(err)
					}
					off += size
				}
				reportPerValue(b, size)
				reportCPUPerValue(b, cpu0, size)
			})
		}
		b.Run(fmt.Sprintf("batch=%d/purego", size), func(b *testing.B) {
			w := newGoCountWindow(benchWindow)
			off := 0
			for b.Loop() {
				if off+size > len(values) {
					off = 0
				}
				w.push(values[off : off+size])
				off += size
			}
			reportPerValue(b, size)
			_ = w.mean()
		})
	}
}

// BenchmarkPushKeyed pushes batches spread over 1,000 series.
func BenchmarkPushKeyed(b *testing.B) {
	values := benchValues(1 << 20)
	keys := make([]uint64, len(values))
	for i := range keys {
		keys[i] = uint64(i*7919) % 1000
	}
	for _, size := range []int{256, 4096, 65536} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			a := newAgg(b, WithCountWindow(1024))
			off := 0
			for b.Loop() {
				if off+size > len(values) {
					off = 0
				}
				a.Push(values[off:off+size], nil, keys[off:off+size])
				off += size
			}
			reportPerValue(b, size)
		})
	}
}

// splitMix scrambles a series rank into an id, as benchmarks/bench_keyed.cc.
func splitMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// BenchmarkPushSliding: 1-minute sliding windows with 1s panes over 1,000
// series, timestamps advancing 1µs per value.
func BenchmarkPushSliding(b *testing.B) {
	values := benchValues(1 << 20)
	keys := make([]uint64, len(values))
	for i := range keys {
		keys[i] = uint64(i*7919) % 1000
	}
	const size = 4096
	a := newAgg(b, WithSlidingWindow(time.Minute, time.Second))
	ts := make([]int64, size)
	var now int64
	off := 0
	for b.Loop() {
		if off+size > len(values) {
			off = 0
		}
		for i := range ts {
			ts[i] = now
			now += int64(time.Microsecond)
		}
		a.Push(values[off:off+size], ts, keys[off:off+size])
		off += size
	}
	reportPerValue(b, size)
}

func BenchmarkBatcherAdd(b *testing.B) {
	a := newAgg(b, WithCountWindow(benchWindow))
	bt := NewBatcher(a, WithFlushInterval(0), WithoutTimestamps())
	defer bt.Close()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		bt.Add(uint64(i&63), 0, float64(i))
		i++
	}
}

func BenchmarkBatcherAddParallel(b *testing.B) {
	a := newAgg(b, WithCountWindow(benchWindow))
	bt := NewBatcher(a, WithFlushInterval(0), WithoutTimestamps())
	defer bt.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			bt.Add(uint64(i&63), 0, float64(i))
			i++
		}
	})
}

func BenchmarkQuantiles(b *testing.B) {
	a := newAgg(b, WithCountWindow(benchWindow))
	a.Push(benchValues(benchWindow), nil, nil)
	qs := []float64{0.5, 0.99, 0.999}
	dst := make([]float64, 3)
	b.ReportAllocs()
	for b.Loop() {
		a.Quantiles(qs, dst)
	}
}

func BenchmarkAllStats(b *testing.B) {
	const nkeys = 100000
	a := newAgg(b, WithCountWindow(64))
	vals := benchValues(nkeys * 4)
	keys := make([]uint64, len(vals))
	for i := range keys {
		keys[i] = uint64(i % nkeys)
	}
	a.Push(vals, nil, keys)
	qs := []float64{0.5, 0.99, 0.999}
	dst, dstQ, _ := a.AllStats(nil, qs, nil) // warm: steady state reuses both
	b.ReportAllocs()
	for b.Loop() {
		dst, dstQ, _ = a.AllStats(dst, qs, dstQ)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/nkeys, "ns/series")
}

// BenchmarkBatcherObserve: the per-request path (8 endpoint names, 1m
// sliding window, host-clock stamps), one goroutine and b.RunParallel
// (GOMAXPROCS goroutines); ns and cpu-ns per observation, native flush
// included. Profile it with -cpuprofile: runtime.cgocall under
// flushStripeLocked is the library's share, the rest is the Go buffering.
// The peer comparison is peerbench's BenchmarkPerRequest.
func BenchmarkBatcherObserve(b *testing.B) {
	eps := []string{"GET /", "GET /cart", "POST /cart", "GET /item", "GET /search",
		"POST /login", "GET /api/v1/orders", "DELETE /cart"}
	lat := benchValues(1 << 16)
	for _, parallel := range []bool{false, true} {
		b.Run(fmt.Sprintf("parallel=%v", parallel), func(b *testing.B) {
			a := newAgg(b, WithSlidingWindow(time.Minute, time.Second))
			bt := NewBatcher(a)
			defer bt.Close()
			b.ReportAllocs()
			cpu0 := processCPU()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						bt.Observe(eps[i&7], lat[i&(1<<16-1)]*1e-6)
						i++
					}
				})
			} else {
				i := 0
				for b.Loop() {
					bt.Observe(eps[i&7], lat[i&(1<<16-1)]*1e-6)
					i++
				}
			}
			reportCPUPerValue(b, cpu0, 1)
		})
	}
}
