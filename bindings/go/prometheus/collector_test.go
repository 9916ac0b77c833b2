package prometheus_test

import (
	"math"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	windowagg "github.com/windowagg/windowagg/bindings/go"
	wprom "github.com/windowagg/windowagg/bindings/go/prometheus"
)

func TestCollector(t *testing.T) {
	agg, err := windowagg.New(windowagg.WithCountWindow(1000))
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	agg.EnableTotals() // _count/_sum are totals from here (NewCollector turns them on too)
	// numeric series 42: 1..100; named series "checkout": 10 x 5.0
	vals := make([]float64, 100)
	keys := make([]uint64, 100)
	for i := range vals {
		vals[i] = float64(i + 1)
		keys[i] = 42
	}
	if err := agg.Push(vals, nil, keys); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 10)
	fives := make([]float64, 10)
	for i := range names {
		names[i] = "checkout"
		fives[i] = 5
	}
	if err := agg.PushStrings(fives, nil, names); err != nil {
		t.Fatal(err)
	}

	c := wprom.NewCollector(agg, wprom.Opts{Namespace: "app", Name: "latency_ms",
		Quantiles: []float64{0.5, 0.99}, HandleMetrics: true})
	reg := prom.NewPedanticRegistry()
	reg.MustRegister(c)
	if n, err := testutil.GatherAndCount(reg, "app_latency_ms"); err != nil || n != 2 {
		t.Fatalf("series exposed: %d, %v", n, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
		if mf.GetName() != "app_latency_ms" {
			continue
		}
		for _, m := range mf.GetMetric() {
			label := m.GetLabel()[0]
			if label.GetName() != "series" {
				t.Fatalf("label %v", label)
			}
			s := m.GetSummary()
			switch label.GetValue() {
			case "42":
				if s.GetSampleCount() != 100 || s.GetSampleSum() != 5050 {
					t.Fatalf("series 42: %v", s)
				}
				for _, q := range s.GetQuantile() {
					want := map[float64]float64{0.5: 50, 0.99: 99}[q.GetQuantile()]
					if math.Abs(q.GetValue()-want) > 0.01*want {
						t.Fatalf("series 42 q%v = %v, want %v", q.GetQuantile(), q.GetValue(), want)
					}
				}
			case "checkout":
				if s.GetSampleCount() != 10 || s.GetSampleSum() != 50 {
					t.Fatalf("checkout: %v", s)
				}
			default:
				t.Fatalf("unexpected series label %q", label.GetValue())
			}
		}
	}
	for _, n := range []string{"app_latency_ms", "app_latency_ms_series", "app_latency_ms_memory_bytes"} {
		if !found[n] {
			t.Fatalf("metric %s missing (have %v)", n, found)
		}
	}
	// series removed from the handle disappear from the next scrape
	if err := agg.RemoveKey(42); err != nil {
		t.Fatal(err)
	}
	if n, _ := testutil.GatherAndCount(reg, "app_latency_ms"); n != 1 {
		t.Fatalf("after RemoveKey: %d series", n)
	}
	// a closed handle exposes nothing instead of failing the scrape
	agg.Close()
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("scrape of a closed handle: %v", err)
	}
}

func TestCollectorWithoutQuantiles(t *testing.T) {
	agg, err := windowagg.New(windowagg.WithoutQuantiles())
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	agg.Push([]float64{1, 2, 3}, nil, []uint64{1, 1, 2})
	reg := prom.NewPedanticRegistry()
	reg.MustRegister(wprom.NewCollector(agg, wprom.Opts{}))
	if n, err := testutil.GatherAndCount(reg, "windowagg_window"); err != nil || n != 2 {
		t.Fatalf("%d, %v", n, err)
	}
}

// Issue 12 item 18: a scrape's size is bounded by MaxSeries, and the series
// left out are counted.
func TestCollectorMaxSeries(t *testing.T) {
	agg, err := windowagg.New(windowagg.WithCountWindow(10))
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	const n = 5000
	vals := make([]float64, n)
	keys := make([]uint64, n)
	for i := range vals {
		vals[i], keys[i] = float64(i), uint64(i+1)
	}
	if err := agg.Push(vals, nil, keys); err != nil {
		t.Fatal(err)
	}
	reg := prom.NewPedanticRegistry()
	reg.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "w", MaxSeries: 1500}))
	if got, err := testutil.GatherAndCount(reg, "w"); err != nil || got != 1500 {
		t.Fatalf("series exposed: %d, %v; want 1500", got, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	omitted := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "w_series_omitted" {
			omitted = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if omitted != n-1500 {
		t.Fatalf("w_series_omitted = %v, want %d", omitted, n-1500)
	}
	// under the cap: everything, nothing omitted
	reg2 := prom.NewPedanticRegistry()
	reg2.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "w", MaxSeries: 10000}))
	if got, err := testutil.GatherAndCount(reg2, "w"); err != nil || got != n {
		t.Fatalf("series exposed under the cap: %d, %v", got, err)
	}
}
