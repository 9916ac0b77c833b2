package peerbench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/HdrHistogram/hdrhistogram-go"
	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	windowagg "github.com/windowagg/windowagg/bindings/go"
)

// latencies: a log-normal mix in microseconds, 1 µs .. ~10 s.
func latencies(n int) []float64 {
	rng := rand.New(rand.NewPCG(11, 12))
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Max(1, math.Exp(6+1.5*rng.NormFloat64()))
	}
	return v
}

var qs = []float64{0.5, 0.99, 0.999}

// peer is one quantile structure: add a batch, answer qs. settings is
// printed next to its numbers.
type peer struct {
	name     string
	settings string
	make     func(tb testing.TB) (add func([]float64), query func([]float64))
}

const alpha = 0.01

var peers = []peer{
	{"windowagg", "count window 2^22 (holds the stream), alpha 0.01, single-threaded handle; Push per batch", func(tb testing.TB) (func([]float64), func([]float64)) {
		// a count window larger than the stream: every value stays in it,
		// like the unwindowed peers
		a, err := windowagg.New(windowagg.WithCountWindow(1<<22), windowagg.WithAccuracy(alpha),
			windowagg.WithSingleThreaded())
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { a.Close() })
		return func(v []float64) { a.Push(v, nil, nil) },
			func(dst []float64) { a.Quantiles(qs, dst) }
	}},
	{"windowagg-batch1", "as windowagg, one Push per value", func(tb testing.TB) (func([]float64), func([]float64)) {
		a, err := windowagg.New(windowagg.WithCountWindow(1<<22), windowagg.WithAccuracy(alpha),
			windowagg.WithSingleThreaded())
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { a.Close() })
		return func(v []float64) {
				for i := range v {
					a.Push(v[i:i+1], nil, nil)
				}
			},
			func(dst []float64) { a.Quantiles(qs, dst) }
	}},
	{"ddsketch", "sketches-go NewDefaultDDSketch(0.01)", func(tb testing.TB) (func([]float64), func([]float64)) {
		s, err := ddsketch.NewDefaultDDSketch(alpha)
		if err != nil {
			tb.Fatal(err)
		}
		return func(v []float64) {
				for _, x := range v {
					s.Add(x)
				}
			},
			func(dst []float64) {
				r, _ := s.GetValuesAtQuantiles(qs)
				copy(dst, r)
			}
	}},
	{"hdrhistogram", "hdrhistogram-go New(1, 1e8, 2 sigfigs)", func(tb testing.TB) (func([]float64), func([]float64)) {
		// 2 significant digits: 1% relative precision, like alpha
		h := hdrhistogram.New(1, 100_000_000, 2)
		return func(v []float64) {
				for _, x := range v {
					h.RecordValue(int64(x))
				}
			},
			func(dst []float64) {
				for i, q := range qs {
					dst[i] = float64(h.ValueAtQuantile(q * 100))
				}
			}
	}},
	{"prometheus-summary", "client_golang Summary, Objectives {.5: .05, .9: .01, .99: .001}, MaxAge 1m (the usual set: no p999, reported as NaN)", func(tb testing.TB) (func([]float64), func([]float64)) {
		s := prom.NewSummary(prom.SummaryOpts{Name: "x", Help: "x",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}, MaxAge: time.Minute})
		return func(v []float64) {
				for _, x := range v {
					s.Observe(x)
				}
			},
			func(dst []float64) {
				var m dto.Metric
				s.Write(&m)
				for i, q := range qs {
					dst[i] = math.NaN() // not an objective
					for _, sq := range m.GetSummary().GetQuantile() {
						if sq.GetQuantile() == q {
							dst[i] = sq.GetValue()
						}
					}
				}
			}
	}},
}

// BenchmarkIngest: ns per value added, in batches of 4096.
func BenchmarkIngest(b *testing.B) {
	printPeerSettings()
	vals := latencies(1 << 20)
	const batch = 4096
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			add, _ := p.make(b)
			off := 0
			for b.Loop() {
				if off+batch > len(vals) {
					off = 0
				}
				add(vals[off : off+batch])
				off += batch
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/batch, "ns/value")
		})
	}
}

// BenchmarkQuery: p50/p99/p999 of 1M values; also reports each answer's
// worst relative error against the exact rank-floor(q*(n-1)) value.
func BenchmarkQuery(b *testing.B) {
	printPeerSettings()
	vals := latencies(1 << 20)
	sorted := slices.Clone(vals)
	slices.Sort(sorted)
	for _, p := range peers {
		if p.name == "windowagg-batch1" {
			continue
		}
		b.Run(p.name, func(b *testing.B) {
			add, query := p.make(b)
			for off := 0; off < len(vals); off += 4096 {
				add(vals[off:min(off+4096, len(vals))])
			}
			dst := make([]float64, len(qs))
			for b.Loop() {
				query(dst)
			}
			worst := 0.0
			for i, q := range qs {
				want := sorted[int(math.Floor(q*float64(len(sorted)-1)))]
				if !math.IsNaN(dst[i]) {
					worst = math.Max(worst, math.Abs(dst[i]-want)/want)
				}
			}
			b.ReportMetric(worst, "max-rel-err")
		})
	}
}

var peerSettingsOnce sync.Once

func printPeerSettings() {
	peerSettingsOnce.Do(func() {
		for _, p := range peers {
			fmt.Printf("settings: %s: %s\n", p.name, p.settings)
		}
	})
}

func TestPeersAgree(t *testing.T) {
	vals := latencies(200000)
	sorted := slices.Clone(vals)
	slices.Sort(sorted)
	for _, p := range peers {
		add, query := p.make(t)
		add(vals)
		dst := make([]float64, len(qs))
		query(dst)
		for i, q := range qs {
			want := sorted[int(math.Floor(q*float64(len(sorted)-1)))]
			rel := math.Abs(dst[i]-want) / want
			t.Log(fmt.Sprintf("%-20s q=%-6v got %-12.2f want %-12.2f rel err %.4f", p.name, q, dst[i], want, rel))
			if p.name == "windowagg" && rel > alpha {
				t.Errorf("windowagg q=%v: relative error %v > alpha", q, rel)
			}
		}
	}
}
