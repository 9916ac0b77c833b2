package prometheus_test

import (
	"math"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	windowagg "github.com/windowagg/windowagg/bindings/go"
	wprom "github.com/windowagg/windowagg/bindings/go/prometheus"
)

// p50 scrapes reg and returns the 0.5 quantile of the only series of name.
func p50(t *testing.T, reg *prom.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, q := range mf.GetMetric()[0].GetSummary().GetQuantile() {
				if q.GetQuantile() == 0.5 {
					return q.GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s p50 in the scrape", name)
	return 0
}

// TestCollectorWallClock: with Opts.WallClock a series that went quiet shows
// an empty window (NaN quantiles) after one window width, without Advance.
func TestCollectorWallClock(t *testing.T) {
	const width = 200 * time.Millisecond
	agg, err := windowagg.New(windowagg.WithSlidingWindow(width, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	reg := prom.NewPedanticRegistry()
	reg.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "lat", Quantiles: []float64{0.5}, WallClock: true}))
	now := time.Now().UnixNano()
	if err := agg.Push([]float64{5, 5, 5}, []int64{now, now, now}, []uint64{1, 1, 1}); err != nil {
		t.Fatal(err)
	}
	if v := p50(t, reg, "lat"); v != 5 {
		t.Fatalf("p50 while fresh = %v", v)
	}
	time.Sleep(width + width/2)
	if v := p50(t, reg, "lat"); !math.IsNaN(v) {
		t.Fatalf("p50 after %v of quiet = %v, want NaN (empty window)", width+width/2, v)
	}
}
