package prometheus_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	windowagg "github.com/windowagg/windowagg/bindings/go"
	wprom "github.com/windowagg/windowagg/bindings/go/prometheus"
)

func gather(t *testing.T, reg *prom.Registry, name string) []*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

// TestSummaryCountSumMonotonic: _count/_sum are lifetime totals, so they
// never go down when values leave the window (rate() sees no reset);
// quantiles are the window's.
func TestSummaryCountSumMonotonic(t *testing.T) {
	agg, err := windowagg.New(windowagg.WithCountWindow(10))
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	reg := prom.NewPedanticRegistry()
	reg.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "lat", Quantiles: []float64{0.5}}))
	var prev uint64
	for round := 1; round <= 5; round++ {
		vals := make([]float64, 200)
		for i := range vals {
			vals[i] = float64(round)
		}
		if err := agg.Push(vals, nil, nil); err != nil {
			t.Fatal(err)
		}
		s := gather(t, reg, "lat")[0].GetSummary()
		if s.GetSampleCount() != uint64(200*round) || s.GetSampleCount() < prev {
			t.Fatalf("round %d: _count = %d, want %d (lifetime, monotonic)", round, s.GetSampleCount(), 200*round)
		}
		wantSum := float64(200 * round * (round + 1) / 2)
		if s.GetSampleSum() != wantSum {
			t.Fatalf("round %d: _sum = %v, want %v", round, s.GetSampleSum(), wantSum)
		}
		if q := s.GetQuantile()[0].GetValue(); q != float64(round) {
			t.Fatalf("round %d: window p50 = %v", round, q)
		}
		prev = s.GetSampleCount()
	}
}

// TestNamesAndLabelSets: series fed by id through the Batcher keep their
// names (AddString) and several labels (AddLabels).
func TestNamesAndLabelSets(t *testing.T) {
	agg, err := windowagg.New(windowagg.WithSlidingWindow(time.Minute, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	plain := prom.NewPedanticRegistry()
	plain.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "lat", KeyLabel: "endpoint"}))
	multi := prom.NewPedanticRegistry()
	multi.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "lat", Labels: []string{"method", "route", "status"}}))
	b := windowagg.NewBatcher(agg)
	now := time.Now().UnixNano()
	ls := windowagg.MustLabels("route", "/cart", "method", "POST", "status", "201")
	for i := 0; i < 10; i++ {
		if err := b.AddString("GET /home", now, 1); err != nil {
			t.Fatal(err)
		}
		if err := b.AddLabels(ls, now, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if name, _ := agg.KeyName(windowagg.HashString("GET /home")); name != "GET /home" {
		t.Fatalf("KeyName = %q", name)
	}
	got := map[string]uint64{}
	for _, m := range gather(t, plain, "lat") {
		got[m.GetLabel()[0].GetValue()] = m.GetSummary().GetSampleCount()
	}
	if got["GET /home"] != 10 || got[ls.Name] != 10 || len(got) != 2 {
		t.Fatalf("endpoint labels: %v", got)
	}
	seen := map[[3]string]uint64{}
	for _, m := range gather(t, multi, "lat") {
		var k [3]string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "method":
				k[0] = l.GetValue()
			case "route":
				k[1] = l.GetValue()
			case "status":
				k[2] = l.GetValue()
			}
		}
		seen[k] = m.GetSummary().GetSampleCount()
	}
	if seen[[3]string{"POST", "/cart", "201"}] != 10 || seen[[3]string{"GET /home", "", ""}] != 10 {
		t.Fatalf("label sets: %v", seen)
	}
	if kv, ok := windowagg.ParseLabels(`a="x,\"y\"",b=""`); !ok || len(kv) != 4 || kv[1] != `x,"y"` || kv[3] != "" {
		t.Fatalf("ParseLabels: %q %v", kv, ok)
	}
	if _, ok := windowagg.ParseLabels("GET /home"); ok {
		t.Fatal("a plain name parsed as labels")
	}
}

// nativeBuckets decodes a native histogram's positive buckets (index -> count).
func nativeBuckets(h *dto.Histogram) map[int]uint64 {
	out := map[int]uint64{}
	idx, cnt := 0, int64(0)
	d := 0
	for si, sp := range h.GetPositiveSpan() {
		if si == 0 {
			idx = int(sp.GetOffset())
		} else {
			idx += int(sp.GetOffset())
		}
		for j := uint32(0); j < sp.GetLength(); j++ {
			cnt += h.GetPositiveDelta()[d]
			d++
			out[idx] += uint64(cnt)
			idx++
		}
	}
	return out
}

// TestNativeHistogramFleet: three instances fed disjoint shares of one
// stream; their native histograms summed bucket-wise (what PromQL's sum()
// does) give the whole stream's p50/p99/p999 within the documented bound
// (1+alpha)*2^(2^-schema) - 1, from any point of the answering bucket.
func TestNativeHistogramFleet(t *testing.T) {
	const alpha = 0.01
	rng := rand.New(rand.NewPCG(1, 2))
	stream := make([]float64, 30000)
	for i := range stream {
		stream[i] = math.Exp(rng.NormFloat64()*0.8 - 3) // lognormal latencies, seconds
	}
	schema := wprom.SchemaFor(alpha)
	if schema != 6 {
		t.Fatalf("schema for alpha 0.01 = %d, want 6", schema)
	}
	sum := map[int]uint64{}
	var total uint64
	now := time.Now().UnixNano()
	for inst := 0; inst < 3; inst++ {
		agg, err := windowagg.New(windowagg.WithSlidingWindow(time.Hour, 0), windowagg.WithAccuracy(alpha))
		if err != nil {
			t.Fatal(err)
		}
		defer agg.Close()
		reg := prom.NewPedanticRegistry()
		reg.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "lat", NativeHistogram: true}))
		var share []float64
		var ts []int64
		var keys []string
		for i := inst; i < len(stream); i += 3 {
			share = append(share, stream[i])
			ts = append(ts, now)
			keys = append(keys, "GET /api")
		}
		if err := agg.PushStrings(share, ts, keys); err != nil {
			t.Fatal(err)
		}
		ms := gather(t, reg, "lat")
		if len(ms) != 1 {
			t.Fatalf("instance %d: %d series", inst, len(ms))
		}
		h := ms[0].GetHistogram()
		if h.GetSchema() != schema || h.GetSampleCount() != uint64(len(share)) {
			t.Fatalf("instance %d: schema %d count %d", inst, h.GetSchema(), h.GetSampleCount())
		}
		for k, c := range nativeBuckets(h) {
			sum[k] += c
			total += c
		}
		c := gather(t, reg, "lat_observed_count_total")
		if len(c) != 1 || c[0].GetCounter().GetValue() != float64(len(share)) {
			t.Fatalf("instance %d: lifetime counter %v", inst, c)
		}
	}
	if total != uint64(len(stream)) {
		t.Fatalf("summed buckets hold %d values, want %d", total, len(stream))
	}
	sorted := append([]float64(nil), stream...)
	sort.Float64s(sorted)
	idx := make([]int, 0, len(sum))
	for k := range sum {
		idx = append(idx, k)
	}
	sort.Ints(idx)
	base := math.Pow(2, math.Pow(2, -float64(schema)))
	bound := (1+alpha)*base - 1
	n := float64(len(stream))
	for _, q := range []float64{0.5, 0.99, 0.999} {
		// histogram_quantile: the bucket where the cumulative count reaches q*n
		rank := q * n
		var cum uint64
		k := idx[len(idx)-1]
		for _, i := range idx {
			cum += sum[i]
			if float64(cum) >= rank {
				k = i
				break
			}
		}
		lo, hi := math.Pow(base, float64(k-1)), math.Pow(base, float64(k))
		xlo := sorted[max(0, int(math.Floor(q*(n-1)))-1)]
		xhi := sorted[min(len(sorted)-1, int(math.Ceil(q*n)))]
		if hi > xhi*(1+bound) || lo < xlo*(1-bound) {
			t.Fatalf("q%v: bucket (%g, %g] vs exact [%g, %g], bound %.4f", q, lo, hi, xlo, xhi, bound)
		}
		t.Logf("q%v: fleet bucket (%.6g, %.6g], exact %.6g (bound %.2f%%)", q, lo, hi, sorted[int(q*(n-1))], 100*bound)
	}
}

// TestObservedSeries: the per-request path (Batcher.Observe/ObserveDuration,
// host-clock stamps) reaches the collector by name and by label set, with
// the window moved by the wall clock.
func TestObservedSeries(t *testing.T) {
	agg, err := windowagg.New(windowagg.WithSlidingWindow(time.Minute, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	plain := prom.NewPedanticRegistry()
	plain.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "lat", KeyLabel: "endpoint", WallClock: true}))
	b := windowagg.NewBatcher(agg)
	ls := windowagg.MustLabels("route", "/cart", "method", "GET")
	for i := 0; i < 5; i++ {
		if err := b.Observe("GET /obs", 0.25); err != nil {
			t.Fatal(err)
		}
		if err := b.ObserveDuration(ls.Name, 40*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range gather(t, plain, "lat") {
		s := m.GetSummary()
		if s.GetSampleCount() != 5 {
			t.Fatalf("%v: count %d, want 5", m.GetLabel(), s.GetSampleCount())
		}
		got[m.GetLabel()[0].GetValue()] = s.GetSampleSum()
	}
	if len(got) != 2 || got["GET /obs"] != 1.25 || math.Abs(got[ls.Name]-0.2) > 1e-12 {
		t.Fatalf("sums by endpoint: %v", got)
	}
}
