package windowagg

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func newAgg(t testing.TB, opts ...Option) *Aggregator {
	t.Helper()
	a, err := New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// skipUnsupported skips the test when the library reports the operation as
// not (yet) implemented.
func skipUnsupported(t *testing.T, err error, what string) {
	t.Helper()
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("%s: library returns AGGREGATOR_EUNSUPPORTED (%v)", what, err)
	}
}

// refStats is the plain Go reference for a window's contents.
type refStats struct {
	count                               int
	sum, mean, min, max, variance, sdev float64
}

func reference(xs []float64) refStats {
	r := refStats{count: len(xs), mean: math.NaN(), min: math.NaN(), max: math.NaN(), variance: math.NaN(), sdev: math.NaN()}
	if len(xs) == 0 {
		return r
	}
	r.min, r.max = xs[0], xs[0]
	for _, x := range xs {
		r.sum += x
		r.min = min(r.min, x)
		r.max = max(r.max, x)
	}
	r.mean = r.sum / float64(len(xs))
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - r.mean) * (x - r.mean)
		}
		r.variance = ss / float64(len(xs)-1)
		r.sdev = math.Sqrt(r.variance)
	}
	return r
}

func approx(a, b, rel float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func checkStats(t *testing.T, ctx string, got Stats, want refStats) {
	t.Helper()
	if got.Count != uint64(want.count) {
		t.Fatalf("%s: count = %d, want %d", ctx, got.Count, want.count)
	}
	for _, c := range []struct {
		name      string
		got, want float64
		rel       float64
	}{
		{"sum", got.Sum, want.sum, 1e-9},
		{"mean", got.Mean, want.mean, 1e-9},
		{"min", got.Min, want.min, 0},
		{"max", got.Max, want.max, 0},
		{"variance", got.Variance, want.variance, 1e-7},
		{"stddev", got.Stddev, want.sdev, 1e-7},
	} {
		if !approx(c.got, c.want, c.rel) {
			t.Fatalf("%s: %s = %v, want %v", ctx, c.name, c.got, c.want)
		}
	}
}

// checkQuantiles checks the sketch's guarantee: q=0/1 exact extremes, else
// within alpha relative error of the rank-floor(q*(n-1)) value.
func checkQuantiles(t *testing.T, ctx string, window []float64, qs, got []float64, alpha float64) {
	t.Helper()
	s := slices.Clone(window)
	slices.Sort(s)
	for i, q := range qs {
		if len(s) == 0 {
			if !math.IsNaN(got[i]) {
				t.Fatalf("%s: q=%v of empty window = %v, want NaN", ctx, q, got[i])
			}
			continue
		}
		want := s[int(math.Floor(q*float64(len(s)-1)))]
		tol := alpha*math.Abs(want) + 1e-12
		if q == 0 || q == 1 {
			tol = 0
		}
		if math.Abs(got[i]-want) > tol {
			t.Fatalf("%s: q=%v = %v, want %v (±%v)", ctx, q, got[i], want, tol)
		}
	}
}

func TestVersion(t *testing.T) {
	v := Version()
	if strings.Count(v, ".") != 2 {
		t.Fatalf("Version() = %q", v)
	}
	if n := VersionNumber(); n < 10000 {
		t.Fatalf("VersionNumber() = %d", n)
	}
}

func TestHostKeepsGlibcMalloc(t *testing.T) {
	m := hostMallocObject()
	if !strings.Contains(m, "libc.so") || strings.Contains(m, "mimalloc") {
		t.Fatalf("malloc in the Go test binary resolves to %q, want glibc", m)
	}
	if l := libraryObject(); !strings.Contains(l, "windowagg") {
		t.Fatalf("aggregator_new resolves to %q", l)
	}
	t.Logf("malloc from %s, library %s", m, libraryObject())
}

func TestHashKey(t *testing.T) {
	if HashKey(nil) != HashString("") || HashKey([]byte{}) != HashString("") {
		t.Fatal("empty key hashes differ")
	}
	// XXH3_64bits("", seed 0)
	if got := HashString(""); got != 0x2D06800538D394C2 {
		t.Fatalf("HashString(\"\") = %#x, want XXH3 0x2d06800538d394c2", got)
	}
	// XXH3_64bits("api.latency"), as Python's xxhash.xxh3_64_intdigest gives it
	if got := HashString("api.latency"); got != 0xaaf9b4f5d9876964 {
		t.Fatalf("HashString(\"api.latency\") = %#x, want 0xaaf9b4f5d9876964", got)
	}
	if HashKey([]byte("api.latency")) != HashString("api.latency") {
		t.Fatal("HashKey and HashString differ")
	}
	if HashString("a") == HashString("b") {
		t.Fatal("hash collision on trivial keys")
	}
}

func TestProcessBatch(t *testing.T) {
	a, err := NewCount(4)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if m := a.ProcessBatch(nil); !math.IsNaN(m) {
		t.Fatalf("empty mean = %v, want NaN", m)
	}
	if m := a.ProcessBatch([]float64{1, 2}); m != 1.5 {
		t.Fatalf("mean = %v, want 1.5", m)
	}
	if m := a.ProcessBatch([]float64{3, 4, 5}); m != 3.5 {
		t.Fatalf("mean = %v, want 3.5", m)
	}
	if m := a.ProcessBatch([]float64{}); m != 3.5 {
		t.Fatalf("mean after empty batch = %v, want 3.5", m)
	}
	if m := a.ProcessBatch([]float64{math.NaN()}); !math.IsNaN(m) {
		t.Fatalf("NaN batch: %v, want NaN (refused)", m)
	}
	if m := a.ProcessBatch(nil); m != 3.5 {
		t.Fatalf("refused batch changed state: mean %v", m)
	}
	if _, err := NewCount(0); !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, ErrConfig) {
		t.Fatalf("NewCount(0) error = %v", err)
	}
}

func TestCountWindowMatchesReference(t *testing.T) {
	const capacity = 1000
	const alpha = 0.01
	a := newAgg(t, WithCountWindow(capacity), WithAccuracy(alpha))
	rng := rand.New(rand.NewPCG(1, 2))
	var all []float64
	qs := []float64{0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1}
	var dst []float64
	for round := 0; round < 60; round++ {
		n := rng.IntN(300)
		batch := make([]float64, n)
		for i := range batch {
			switch rng.IntN(4) {
			case 0:
				batch[i] = rng.NormFloat64() * 100
			case 1:
				batch[i] = math.Exp(rng.NormFloat64() * 3)
			case 2:
				batch[i] = -rng.ExpFloat64()
			default:
				batch[i] = float64(rng.IntN(10))
			}
		}
		if err := a.Push(batch, nil, nil); err != nil {
			t.Fatal(err)
		}
		all = append(all, batch...)
		window := all[max(0, len(all)-capacity):]
		s, err := a.Stats()
		if err != nil {
			t.Fatal(err)
		}
		checkStats(t, "round", s, reference(window))
		if s.Total != uint64(len(all)) {
			t.Fatalf("total = %d, want %d", s.Total, len(all))
		}
		if len(all) > 0 && (s.WindowStart != int64(len(all)-len(window)) || s.WindowEnd != int64(len(all))) {
			t.Fatalf("bounds = [%d,%d), want [%d,%d)", s.WindowStart, s.WindowEnd, len(all)-len(window), len(all))
		}
		ks, err := a.KeyStats(DefaultKey)
		if len(all) > 0 {
			if err != nil {
				t.Fatal(err)
			}
			checkStats(t, "key 0", ks, reference(window))
		}
		dst, err = a.Quantiles(qs, dst)
		if err != nil {
			t.Fatal(err)
		}
		checkQuantiles(t, "all", window, qs, dst, alpha)
		if len(all) > 0 {
			kq, err := a.KeyQuantiles(DefaultKey, qs, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkQuantiles(t, "key 0", window, qs, kq, alpha)
		}
	}
}

func TestKeys(t *testing.T) {
	const capacity = 50
	a := newAgg(t, WithCountWindow(capacity))
	rng := rand.New(rand.NewPCG(3, 4))
	keyIDs := []uint64{1, 7, 42, 1 << 40, math.MaxUint64 - 1}
	per := map[uint64][]float64{}
	for round := 0; round < 20; round++ {
		n := 1 + rng.IntN(100)
		vals := make([]float64, n)
		keys := make([]uint64, n)
		for i := range vals {
			vals[i] = rng.Float64()*10 - 5
			keys[i] = keyIDs[rng.IntN(len(keyIDs))]
			per[keys[i]] = append(per[keys[i]], vals[i])
		}
		if err := a.Push(vals, nil, keys); err != nil {
			t.Fatal(err)
		}
	}
	totalCount := 0
	for _, k := range keyIDs {
		w := per[k][max(0, len(per[k])-capacity):]
		totalCount += len(w)
		s, err := a.KeyStats(k)
		if err != nil {
			t.Fatalf("KeyStats(%d): %v", k, err)
		}
		checkStats(t, "key", s, reference(w))
	}
	s, err := a.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != uint64(totalCount) {
		t.Fatalf("merged count = %d, want %d", s.Count, totalCount)
	}
	n, err := a.KeyCount()
	if err != nil || n != len(keyIDs) {
		t.Fatalf("KeyCount = %d, %v", n, err)
	}
	keys, err := a.Keys()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := slices.Clone(keyIDs)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("Keys = %v, want %v", keys, want)
	}
	if name, err := a.KeyName(7); err != nil || name != "" {
		t.Fatalf("KeyName(7) = %q, %v; want numeric key's empty name", name, err)
	}
	if m, err := a.KeyMemoryUsage(7); err != nil || m == 0 {
		t.Fatalf("KeyMemoryUsage = %d, %v", m, err)
	}
	if m, err := a.MemoryUsage(); err != nil || m == 0 {
		t.Fatalf("MemoryUsage = %d, %v", m, err)
	}
	if err := a.RemoveKey(7); err != nil {
		t.Fatal(err)
	}
	if _, err := a.KeyStats(7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("KeyStats after RemoveKey: %v, want ErrNotFound", err)
	}
	if err := a.RemoveKey(7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second RemoveKey: %v, want ErrNotFound", err)
	}
	if _, err := a.KeyMemoryUsage(7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("KeyMemoryUsage of removed key: %v, want ErrNotFound", err)
	}
	if n, _ := a.KeyCount(); n != len(keyIDs)-1 {
		t.Fatalf("KeyCount after remove = %d", n)
	}
}

func TestStringKeys(t *testing.T) {
	a := newAgg(t, WithCountWindow(100))
	names := []string{"api.latency", "db.query", "a-much-longer-series-name/with/slashes?and=query"}
	var vals []float64
	var keys []string
	for i := 0; i < 30; i++ {
		vals = append(vals, float64(i))
		keys = append(keys, names[i%3])
	}
	if err := a.PushStrings(vals, nil, keys); err != nil {
		t.Fatal(err)
	}
	bkeys := [][]byte{[]byte(names[0]), []byte(names[1])}
	if err := a.PushBytes([]float64{100, 200}, nil, bkeys); err != nil {
		t.Fatal(err)
	}
	s, err := a.KeyStats(HashString(names[0]))
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 11 || s.Max != 100 {
		t.Fatalf("series %q: count %d max %v, want 11, 100", names[0], s.Count, s.Max)
	}
	for _, n := range names {
		got, err := a.KeyName(HashString(n))
		if err != nil || got != n {
			t.Fatalf("KeyName = %q, %v; want %q", got, err, n)
		}
	}
	nk, err := a.NamedKeys()
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]string{}
	for _, k := range nk {
		got[k.ID] = k.Name
	}
	for _, n := range names {
		if got[HashString(n)] != n {
			t.Fatalf("NamedKeys = %v, missing %q", nk, n)
		}
	}
	// mismatched lengths are refused before the call
	if err := a.PushStrings([]float64{1}, nil, []string{"a", "b"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("PushStrings length mismatch: %v", err)
	}
	// nil keys: default series
	if err := a.PushStrings([]float64{1}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.KeyStats(DefaultKey); err != nil {
		t.Fatal(err)
	}
	// concurrent string pushes share the pooled buffers safely
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ks := []string{names[g%3], names[(g+1)%3]}
			for i := 0; i < 200; i++ {
				if err := a.PushStrings([]float64{1, 2}, nil, ks); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestAllStats(t *testing.T) {
	const nkeys = 1000
	a := newAgg(t, WithCountWindow(64))
	vals := make([]float64, 0, nkeys*3)
	keys := make([]uint64, 0, nkeys*3)
	for k := uint64(1); k <= nkeys; k++ {
		for j := 0; j < 3; j++ {
			vals = append(vals, float64(k*10)+float64(j))
			keys = append(keys, k)
		}
	}
	if err := a.Push(vals, nil, keys); err != nil {
		t.Fatal(err)
	}
	qs := []float64{0, 0.5, 1}
	all, allQ, err := a.AllStats(nil, qs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != nkeys || len(allQ) != nkeys*len(qs) {
		t.Fatalf("AllStats: %d entries, %d quantiles", len(all), len(allQ))
	}
	seen := map[uint64]bool{}
	for i, e := range all {
		if seen[e.Key] {
			t.Fatalf("key %d listed twice", e.Key)
		}
		seen[e.Key] = true
		if e.Stats.Count != 3 || e.Stats.Min != float64(e.Key*10) || e.Stats.Sum != float64(e.Key*30+3) {
			t.Fatalf("key %d: %+v", e.Key, e.Stats)
		}
		q := allQ[i*3 : i*3+3]
		if q[0] != e.Stats.Min || q[2] != e.Stats.Max {
			t.Fatalf("key %d quantiles %v, stats %+v", e.Key, q, e.Stats)
		}
	}
	// reusing the storage gives the same answer without growing
	all2, allQ2, err := a.AllStats(all, qs, allQ)
	if err != nil || len(all2) != nkeys || &all2[0] != &all[0] || &allQ2[0] != &allQ[0] {
		t.Fatalf("AllStats reuse: %d entries, err %v", len(all2), err)
	}
	// small pages visit every key exactly once
	var cur Cursor
	page := make([]KeyStats, 7)
	count := 0
	seen = map[uint64]bool{}
	for !cur.Done() {
		n, err := a.StatsPage(&cur, page, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page[:n] {
			if seen[e.Key] {
				t.Fatalf("key %d paged twice", e.Key)
			}
			seen[e.Key] = true
		}
		count += n
		if count > nkeys {
			t.Fatal("paging does not end")
		}
	}
	if count != nkeys {
		t.Fatalf("paged %d keys, want %d", count, nkeys)
	}
	if _, err := a.StatsPage(&Cursor{}, page, qs, make([]float64, 3)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("short dstQ: %v", err)
	}
}

func TestTumblingWindows(t *testing.T) {
	a := newAgg(t, WithTumblingWindow(10))
	vals := make([]float64, 30)
	ts := make([]int64, 30)
	keys := make([]uint64, 30)
	for i := range vals {
		vals[i] = float64(i)
		ts[i] = int64(i)
		keys[i] = 5
	}
	if err := a.Push(vals, ts, keys); err != nil {
		t.Fatal(err)
	}
	dst := make([]Window, 8)
	qs := []float64{0, 1}
	dstQ := make([]float64, len(dst)*len(qs))
	n, err := a.PollWindows(dst, qs, dstQ)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("polled %d windows, want 2 ([0,10) and [10,20) closed at watermark 29): %+v", n, dst[:n])
	}
	for i, w := range dst[:n] {
		start := int64(i * 10)
		if w.Key != 5 || w.Stats.WindowStart != start || w.Stats.WindowEnd != start+10 || w.Stats.Count != 10 ||
			w.Stats.Sum != float64(10*start+45) {
			t.Fatalf("window %d = %+v", i, w)
		}
		if dstQ[i*2] != float64(start) || dstQ[i*2+1] != float64(start+9) {
			t.Fatalf("window %d quantiles %v", i, dstQ[i*2:i*2+2])
		}
	}
	if n, _ := a.PollWindows(dst, nil, nil); n != 0 {
		t.Fatalf("polled %d windows twice", n)
	}
	// the open window [20,30)
	s, err := a.KeyStats(5)
	if err != nil {
		t.Fatal(err)
	}
	if s.WindowStart != 20 || s.WindowEnd != 30 || s.Count != 10 || s.Watermark != 29 {
		t.Fatalf("open window stats %+v", s)
	}
	if err := a.Advance(30); err != nil {
		t.Fatal(err)
	}
	if p, _, err := a.PendingWindows(); err != nil || p != 1 {
		t.Fatalf("PendingWindows = %d, %v; want 1", p, err)
	}
	n, err = a.PollWindows(dst[:1], nil, nil)
	if err != nil || n != 1 || dst[0].Stats.WindowStart != 20 || dst[0].Stats.Sum != 245 {
		t.Fatalf("after Advance(30): n=%d err=%v %+v", n, err, dst[0])
	}
	// late data: t=5 < watermark 30
	if err := a.Push([]float64{1}, []int64{5}, []uint64{5}); err != nil {
		t.Fatal(err)
	}
	if s, _ := a.KeyStats(5); s.Late != 1 {
		t.Fatalf("late = %d, want 1", s.Late)
	}
	// mixing timestamped and arrival-clock pushes is refused
	if err := a.Push([]float64{1}, nil, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("push without timestamps on a timestamped handle: %v", err)
	}
}

func TestHoppingWindows(t *testing.T) {
	a := newAgg(t, WithHoppingWindow(10, 5))
	vals := make([]float64, 20)
	ts := make([]int64, 20)
	for i := range vals {
		vals[i] = 1
		ts[i] = int64(i)
	}
	if err := a.Push(vals, ts, nil); err != nil {
		t.Fatal(err)
	}
	dst := make([]Window, 10)
	n, err := a.PollWindows(dst, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]int64{{-5, 5, 5}, {0, 10, 10}, {5, 15, 10}}
	if n != len(want) {
		t.Fatalf("polled %d windows, want %d: %+v", n, len(want), dst[:n])
	}
	for i, w := range want {
		s := dst[i].Stats
		if s.WindowStart != w[0] || s.WindowEnd != w[1] || s.Count != uint64(w[2]) {
			t.Fatalf("window %d = [%d,%d) count %d, want %v", i, s.WindowStart, s.WindowEnd, s.Count, w)
		}
	}
}

func TestSlidingWindow(t *testing.T) {
	a := newAgg(t, WithSlidingWindow(100, 10))
	cfg, err := a.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Window != WindowSliding || cfg.Size != 100 || cfg.PaneWidth != 10 {
		t.Fatalf("Config = %+v", cfg)
	}
	vals := make([]float64, 200)
	ts := make([]int64, 200)
	for i := range vals {
		vals[i] = float64(i)
		ts[i] = int64(i)
	}
	if err := a.Push(vals, ts, nil); err != nil {
		t.Fatal(err)
	}
	s, err := a.Stats()
	if err != nil {
		t.Fatal(err)
	}
	checkStats(t, "sliding", s, reference(vals[100:]))
	if s.WindowStart != 100 || s.WindowEnd != 200 {
		t.Fatalf("bounds [%d,%d), want [100,200)", s.WindowStart, s.WindowEnd)
	}
	if err := a.Advance(249); err != nil {
		t.Fatal(err)
	}
	s, _ = a.Stats()
	checkStats(t, "after advance", s, reference(vals[150:]))
	if _, err := a.PollWindows(make([]Window, 1), nil, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("PollWindows on sliding: %v, want ErrUnsupported", err)
	}
	// default pane width is D/60
	b := newAgg(t, WithSlidingWindow(time.Minute, 0))
	if cfg, _ := b.Config(); cfg.PaneWidth != time.Second {
		t.Fatalf("default pane = %v, want 1s", cfg.PaneWidth)
	}
}

func TestErrors(t *testing.T) {
	a := newAgg(t, WithCountWindow(10))
	err := a.Push([]float64{1, 2}, []int64{1}, nil)
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "timestamps") {
		t.Fatalf("ts length mismatch: %v", err)
	}
	if err := a.Push([]float64{1, 2}, nil, []uint64{1, 2, 3}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("keys length mismatch: %v", err)
	}
	// NaN refused whole, the message names the element
	if err := a.Push([]float64{1, 2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	err = a.Push([]float64{3, 4, math.NaN(), 5}, nil, nil)
	var e *Error
	if !errors.Is(err, ErrValue) || !errors.As(err, &e) || e.Status != StatusValue || !strings.Contains(e.Msg, "2") {
		t.Fatalf("NaN push: %v (want ErrValue naming index 2)", err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Fatal("ErrValue matches ErrNotFound")
	}
	if !errors.Is(err, &Error{Status: StatusValue}) {
		t.Fatal("errors.Is with an *Error target of the same status")
	}
	if s, _ := a.Stats(); s.Count != 2 || s.Sum != 3 {
		t.Fatalf("rejected batch changed state: %+v", s)
	}
	if _, err := a.KeyStats(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := a.Quantiles([]float64{1.5}, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("q=1.5: %v", err)
	}
	if _, err := a.PollWindows(make([]Window, 4), nil, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("PollWindows on a count window: %v", err)
	}
	// config errors name the field
	for _, c := range []struct {
		opt   Option
		field string
	}{
		{WithCountWindow(0), "window_size"},
		{WithAccuracy(0.9), "relative_accuracy"},
		{WithHoppingWindow(10, 3), "slide"},
		{WithSlidingWindow(100, 7), "pane_width"},
		{WithLateness(-1), "allowed_lateness"},
	} {
		_, err := New(c.opt)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("config error for %s: %v", c.field, err)
		}
	}
	// skip policy
	b := newAgg(t, WithSkipNonFinite())
	if err := b.Push([]float64{1, math.Inf(1), math.NaN(), 2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if s, _ := b.Stats(); s.Count != 2 || s.Rejected != 2 {
		t.Fatalf("skip policy: %+v", s)
	}
	// no quantiles
	c := newAgg(t, WithoutQuantiles())
	c.Push([]float64{1}, nil, nil)
	if _, err := c.Quantiles([]float64{0.5}, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Quantiles without sketch: %v", err)
	}
	// key limit
	d := newAgg(t, WithMaxKeys(2, KeysReject))
	if err := d.Push([]float64{1, 2}, nil, []uint64{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := d.Push([]float64{1, 3}, nil, []uint64{1, 3}); !errors.Is(err, ErrKeyLimit) {
		t.Fatalf("third key: %v, want ErrKeyLimit", err)
	}
	if s, _ := d.KeyStats(1); s.Count != 1 {
		t.Fatalf("refused batch applied partly: %+v", s)
	}
	o := newAgg(t, WithMaxKeys(2, KeysOverflow))
	if err := o.Push([]float64{1, 2, 3}, nil, []uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if s, err := o.KeyStats(OverflowKey); err != nil || s.Count != 1 || s.Sum != 3 {
		t.Fatalf("overflow series: %+v, %v", s, err)
	}
	// the library's message is read on the thread of the failing call: many
	// goroutines failing differently each get their own message
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if g%2 == 0 {
					_, err := a.KeyStats(uint64(1000 + g))
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("got %v", err)
						return
					}
				} else {
					err := a.Push([]float64{1, math.NaN()}, nil, nil)
					var e *Error
					if !errors.As(err, &e) || e.Status != StatusValue || !strings.Contains(e.Msg, "1") {
						t.Errorf("got %v", err)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestMemoryLimit(t *testing.T) {
	a := newAgg(t, WithMemoryLimit(1<<20), WithCountWindow(1<<16))
	keys := make([]uint64, 1000)
	vals := make([]float64, 1000)
	var err error
	var keysBefore int
	var before Stats
	for round := 0; round < 1000 && err == nil; round++ {
		for i := range keys {
			keys[i] = uint64(round*1000 + i + 1)
			vals[i] = 1
		}
		keysBefore, _ = a.KeyCount()
		before, _ = a.Stats()
		err = a.Push(vals, nil, keys)
	}
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("pushing ever more keys under a 1 MiB limit: %v, want ErrMemoryLimit", err)
	}
	// the refused batch must leave the state exactly as it was
	after, _ := a.Stats()
	keysAfter, _ := a.KeyCount()
	if keysAfter != keysBefore || after.Total != before.Total || after.Count != before.Count {
		t.Errorf("refused batch (%v) changed the state: keys %d -> %d, total %d -> %d, count %d -> %d",
			err, keysBefore, keysAfter, before.Total, after.Total, before.Count, after.Count)
	}
	// The ceiling is checked before each push (windowagg.h): the last
	// accepted batch may pass it by its own growth, never by more.
	if m, _ := a.MemoryUsage(); m > 2<<20 {
		t.Errorf("MemoryUsage %d: more than one batch past the 1 MiB limit", m)
	}
}

// COUNT windows: "Timestamps are accepted but ignored" (windowagg.h), so a
// value is never late there.
func TestCountWindowIgnoresTimestamps(t *testing.T) {
	a := newAgg(t, WithCountWindow(100))
	if err := a.Push([]float64{1, 2, 3}, []int64{10, 5, 11}, nil); err != nil {
		t.Fatal(err)
	}
	s, err := a.KeyStats(DefaultKey)
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 3 || s.Late != 0 || s.Sum != 6 {
		t.Errorf("COUNT window fed timestamps {10, 5, 11}: count %d late %d sum %v, want 3, 0, 6", s.Count, s.Late, s.Sum)
	}
}

func TestEmptySlices(t *testing.T) {
	a := newAgg(t)
	if err := a.Push(nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Push([]float64{}, []int64{}, []uint64{}); err != nil {
		t.Fatal(err)
	}
	if err := a.PushStrings([]float64{}, nil, []string{}); err != nil {
		t.Fatal(err)
	}
	if err := a.PushBytes(nil, nil, [][]byte{}); err != nil {
		t.Fatal(err)
	}
	if q, err := a.Quantiles(nil, nil); err != nil || len(q) != 0 {
		t.Fatal(q, err)
	}
	s, err := a.Stats()
	if err != nil || s.Count != 0 || s.Sum != 0 || !math.IsNaN(s.Mean) {
		t.Fatalf("empty stats %+v, %v", s, err)
	}
	if q, err := a.Quantiles([]float64{0.5}, nil); err != nil || !math.IsNaN(q[0]) {
		t.Fatalf("empty quantile %v, %v", q, err)
	}
	all, _, err := a.AllStats(nil, nil, nil)
	if err != nil || len(all) != 0 {
		t.Fatalf("AllStats of no series: %v, %v", all, err)
	}
}

func TestUseAfterClose(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	a.Push([]float64{1}, nil, nil)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	calls := map[string]func() error{
		"Push":        func() error { return a.Push([]float64{1}, nil, nil) },
		"PushStrings": func() error { return a.PushStrings([]float64{1}, nil, []string{"x"}) },
		"PushBytes":   func() error { return a.PushBytes([]float64{1}, nil, [][]byte{{1}}) },
		"Stats":       func() error { _, err := a.Stats(); return err },
		"KeyStats":    func() error { _, err := a.KeyStats(0); return err },
		"Quantiles":   func() error { _, err := a.Quantiles([]float64{0.5}, nil); return err },
		"KeyQuant":    func() error { _, err := a.KeyQuantiles(0, []float64{0.5}, nil); return err },
		"KeyStatsQ":   func() error { _, _, err := a.KeyStatsQuantiles(0, []float64{0.5}, nil); return err },
		"AllStats":    func() error { _, _, err := a.AllStats(nil, nil, nil); return err },
		"PollWindows": func() error { _, err := a.PollWindows(make([]Window, 1), nil, nil); return err },
		"Pending":     func() error { _, _, err := a.PendingWindows(); return err },
		"Advance":     func() error { return a.Advance(1) },
		"Keys":        func() error { _, err := a.Keys(); return err },
		"NamedKeys":   func() error { _, err := a.NamedKeys(); return err },
		"KeyName":     func() error { _, err := a.KeyName(0); return err },
		"RemoveKey":   func() error { return a.RemoveKey(0) },
		"KeyCount":    func() error { _, err := a.KeyCount(); return err },
		"Memory":      func() error { _, err := a.MemoryUsage(); return err },
		"KeyMemory":   func() error { _, err := a.KeyMemoryUsage(0); return err },
		"Config":      func() error { _, err := a.Config(); return err },
		"Marshal":     func() error { _, err := a.MarshalBinary(); return err },
		"MergeBinary": func() error { return a.MergeBinary([]byte{1}) },
		"Merge":       func() error { b := newAgg(t); return a.Merge(b) },
		"MergeInto":   func() error { b := newAgg(t); return b.Merge(a) },
	}
	for name, f := range calls {
		if err := f(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if m := a.ProcessBatch([]float64{1}); !math.IsNaN(m) {
		t.Errorf("ProcessBatch after Close = %v, want NaN", m)
	}
	var zero Aggregator
	if _, err := zero.Stats(); !errors.Is(err, ErrClosed) {
		t.Errorf("zero Aggregator: %v", err)
	}
}

func TestConcurrentClose(t *testing.T) {
	for round := 0; round < 20; round++ {
		a, err := New(WithCountWindow(100))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				<-start
				vals := []float64{1, 2, 3}
				keys := []uint64{uint64(g), 1, 2}
				for {
					var err error
					switch g % 3 {
					case 0:
						err = a.Push(vals, nil, keys)
					case 1:
						_, err = a.Stats()
					default:
						_, _, err = a.AllStats(nil, []float64{0.5}, nil)
					}
					if errors.Is(err, ErrClosed) {
						return
					}
					if err != nil {
						t.Errorf("unexpected error: %v", err)
						return
					}
				}
			}(g)
		}
		for c := 0; c < 4; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				time.Sleep(time.Millisecond)
				if err := a.Close(); err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
}

func TestCleanupFreesForgottenHandle(t *testing.T) {
	before := cleanupsRun.Load()
	func() {
		for i := 0; i < 10; i++ {
			a, err := New()
			if err != nil {
				t.Fatal(err)
			}
			a.Push([]float64{1, 2, 3}, nil, nil)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for cleanupsRun.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("no forgotten handle was freed by the cleanup")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	// a closed handle's cleanup is cancelled (no double free)
	a, _ := New()
	a.Close()
	a = nil
	runtime.GC()
	runtime.GC()
}

// Each goroutine's batch g, i has values derived from (g, i, j) only, so the
// totals are independent of the interleaving.
func batchValues(g, i int, vals []float64, keys []uint64) {
	for j := range vals {
		vals[j] = float64((g*7919+i*31+j*17)%1000) - 300
		keys[j] = uint64(g % 5)
	}
}

func TestConcurrentPushMatchesSequential(t *testing.T) {
	const goroutines, batches, size = 64, 1000, 8
	opts := []Option{WithCountWindow(1 << 20), WithAccuracy(0.01)}
	conc := newAgg(t, opts...)
	seq := newAgg(t, opts...)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			vals := make([]float64, size)
			keys := make([]uint64, size)
			for i := 0; i < batches; i++ {
				batchValues(g, i, vals, keys)
				if err := conc.Push(vals, nil, keys); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	vals := make([]float64, size)
	keys := make([]uint64, size)
	for g := 0; g < goroutines; g++ {
		for i := 0; i < batches; i++ {
			batchValues(g, i, vals, keys)
			if err := seq.Push(vals, nil, keys); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	qs := []float64{0, 0.1, 0.5, 0.9, 0.99, 1}
	for k := uint64(0); k < 5; k++ {
		c, err1 := conc.KeyStats(k)
		s, err2 := seq.KeyStats(k)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if c.Count != s.Count || c.Sum != s.Sum || c.Min != s.Min || c.Max != s.Max || c.Total != s.Total ||
			!approx(c.Variance, s.Variance, 1e-9) {
			t.Fatalf("key %d: concurrent %+v, sequential %+v", k, c, s)
		}
		cq, _ := conc.KeyQuantiles(k, qs, nil)
		sq, _ := seq.KeyQuantiles(k, qs, nil)
		if !slices.Equal(cq, sq) {
			t.Fatalf("key %d quantiles: concurrent %v, sequential %v", k, cq, sq)
		}
	}
	c, _ := conc.Stats()
	if c.Count != goroutines*batches*size {
		t.Fatalf("total count %d, want %d", c.Count, goroutines*batches*size)
	}
}

func TestSingleThreadedHandleIsSafe(t *testing.T) {
	a := newAgg(t, WithSingleThreaded(), WithCountWindow(1<<20))
	if cfg, _ := a.Config(); !cfg.SingleThreaded {
		t.Fatal("Config().SingleThreaded = false")
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals := []float64{1, 2, 3, 4}
			for i := 0; i < 500; i++ {
				if err := a.Push(vals, nil, nil); err != nil {
					t.Error(err)
					return
				}
				if _, err := a.Stats(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s, _ := a.Stats(); s.Count != 16*500*4 || s.Sum != 16*500*10 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPushAllocatesNothing(t *testing.T) {
	a := newAgg(t, WithCountWindow(4096))
	vals := make([]float64, 256)
	keys := make([]uint64, 256)
	for i := range vals {
		vals[i] = float64(i)
		keys[i] = uint64(i % 16)
	}
	if n := testing.AllocsPerRun(200, func() {
		if err := a.Push(vals, nil, keys); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Fatalf("Push with uint64 keys: %v allocs per call, want 0", n)
	}
	if n := testing.AllocsPerRun(200, func() { a.Push(vals, nil, nil) }); n != 0 {
		t.Fatalf("Push without keys: %v allocs per call, want 0", n)
	}
	ta := newAgg(t, WithSlidingWindow(time.Minute, time.Second))
	ts := make([]int64, 256)
	for i := range ts {
		ts[i] = int64(i) * int64(time.Millisecond)
	}
	if n := testing.AllocsPerRun(200, func() { ta.Push(vals, ts, keys) }); n != 0 {
		t.Fatalf("Push with timestamps and keys: %v allocs per call, want 0", n)
	}
	qs := []float64{0.5, 0.99}
	dst := make([]float64, 2)
	if n := testing.AllocsPerRun(200, func() { a.KeyQuantiles(1, qs, dst); a.Stats() }); n != 0 {
		t.Fatalf("Stats/KeyQuantiles: %v allocs per call, want 0", n)
	}
	if n := testing.AllocsPerRun(200, func() { a.KeyStatsQuantiles(1, qs, dst) }); n != 0 {
		t.Fatalf("KeyStatsQuantiles: %v allocs per call, want 0", n)
	}
	skeys := make([]string, 256)
	for i := range skeys {
		skeys[i] = "series-" + string(rune('a'+i%16))
	}
	a.PushStrings(vals, nil, skeys) // warm the pool
	if n := testing.AllocsPerRun(200, func() { a.PushStrings(vals, nil, skeys) }); n > 0.05 {
		t.Logf("PushStrings: %v allocs per call (pool refills after GC)", n)
	}
}

// inGoroutines runs f(0) .. f(n-1) in n goroutines and waits for them.
func inGoroutines(n int, f func(g int)) {
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			f(g)
		}(g)
	}
	wg.Wait()
}

func TestBatcher(t *testing.T) {
	a := newAgg(t, WithCountWindow(1<<20))
	b := NewBatcher(a, WithBatchSize(100), WithFlushInterval(0), WithoutTimestamps())
	inGoroutines(8, func(g int) {
		for i := 0; i < 10000; i++ {
			if err := b.Add(uint64(g), int64(i), float64(i%10)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(1, 1, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	s, err := a.Stats()
	if err != nil || s.Count != 80000 || s.Sum != 8*1000*45 {
		t.Fatalf("stats after batcher: %+v, %v", s, err)
	}
	if n, _ := a.KeyCount(); n != 8 {
		t.Fatalf("KeyCount = %d", n)
	}
}

func TestBatcherTimerFlush(t *testing.T) {
	a := newAgg(t, WithTumblingWindow(int64ToDur(1000)))
	errs := make(chan error, 1)
	b := NewBatcher(a, WithFlushInterval(5*time.Millisecond), WithErrorHandler(func(err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	defer b.Close()
	for i := 0; i < 5; i++ {
		b.Add(9, int64(i), 1)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		s, err := a.KeyStats(9)
		if err == nil && s.Count == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timer did not flush: %+v %v", s, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// a NaN is refused by Add itself, not by a later flush
	if err := b.Add(9, 10, math.NaN()); !errors.Is(err, ErrValue) {
		t.Fatalf("Add(NaN) = %v, want ErrValue", err)
	}
	select {
	case err := <-errs:
		t.Fatalf("handler called for an event Add refused: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
}

func int64ToDur(n int64) time.Duration { return time.Duration(n) }

func TestBatcherAddAllocatesNothing(t *testing.T) {
	a := newAgg(t, WithCountWindow(1<<16))
	b := NewBatcher(a, WithBatchSize(512), WithFlushInterval(0), WithoutTimestamps())
	defer b.Close()
	i := 0
	if n := testing.AllocsPerRun(5000, func() {
		i++
		if err := b.Add(uint64(i%32), 0, float64(i)); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Fatalf("Batcher.Add: %v allocs per call, want 0", n)
	}
}

// sameStats compares field by field with NaN equal to NaN (variance and
// stddev are NaN below two values, and NaN != NaN for ==).
func sameStats(x, y Stats) bool { return fmt.Sprintf("%+v", x) == fmt.Sprintf("%+v", y) }

func TestSerialization(t *testing.T) {
	opts := []Option{WithTumblingWindow(100)}
	a := newAgg(t, opts...)
	vals := []float64{1, 2, 3, 4, 5, 6}
	ts := []int64{1, 2, 3, 150, 160, 170}
	keys := []uint64{1, 1, 2, 1, 2, 2}
	if err := a.Push(vals, ts, keys); err != nil {
		t.Fatal(err)
	}
	data, err := a.MarshalBinary()
	skipUnsupported(t, err, "MarshalBinary")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(data)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, k := range []uint64{1, 2} {
		x, _ := a.KeyStats(k)
		y, err := r.KeyStats(k)
		if err != nil || !sameStats(x, y) {
			t.Fatalf("restored key %d: %+v vs %+v (%v)", k, y, x, err)
		}
	}
	var z Aggregator
	if err := z.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if x, y := must(a.Stats()), must(z.Stats()); !sameStats(x, y) {
		t.Fatalf("UnmarshalBinary: %+v vs %+v", y, x)
	}
	if p, _, _ := z.PendingWindows(); p != 2 {
		t.Fatalf("restored pending windows = %d, want 2", p)
	}
	// merge: counts add
	if err := z.Merge(r); err != nil {
		t.Fatal(err)
	}
	if s := must(z.KeyStats(2)); s.Count != 4 || s.Sum != 22 {
		t.Fatalf("merged key 2: %+v", s)
	}
	if err := z.MergeBinary(data); err != nil {
		t.Fatal(err)
	}
	if s := must(z.KeyStats(2)); s.Count != 6 {
		t.Fatalf("MergeBinary key 2: %+v", s)
	}
	if err := z.Merge(&z); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("self merge: %v", err)
	}
	other := newAgg(t, WithCountWindow(10))
	if err := z.Merge(other); !errors.Is(err, ErrMismatch) {
		t.Fatalf("merge of another configuration: %v", err)
	}
	// corruption is detected
	bad := slices.Clone(data)
	bad[len(bad)/2] ^= 0x5a
	if _, err := Restore(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped byte: %v, want ErrCorrupt", err)
	}
	if _, err := Restore(data[:len(data)/2]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated: %v, want ErrCorrupt", err)
	}
	if err := z.UnmarshalBinary(nil); err == nil {
		t.Fatal("UnmarshalBinary(nil) succeeded")
	}
	if _, err := z.Stats(); err != nil {
		t.Fatalf("failed UnmarshalBinary broke the handle: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// KeyStatsQuantiles answers what KeyStats and KeyQuantiles answer, in one call.
func TestKeyStatsQuantiles(t *testing.T) {
	a := newAgg(t, WithSlidingWindow(time.Minute, time.Second))
	vals := make([]float64, 3000)
	ts := make([]int64, len(vals))
	keys := make([]uint64, len(vals))
	for i := range vals {
		vals[i] = float64(i%97) + 0.5
		ts[i] = int64(i) * int64(time.Millisecond)
		keys[i] = uint64(i % 3)
	}
	if err := a.Push(vals, ts, keys); err != nil {
		t.Fatal(err)
	}
	qs := []float64{0.5, 0.99, 0.999}
	for k := uint64(0); k < 3; k++ {
		s, q, err := a.KeyStatsQuantiles(k, qs, make([]float64, 0, 8))
		if err != nil {
			t.Fatal(err)
		}
		ws, _ := a.KeyStats(k)
		wq, _ := a.KeyQuantiles(k, qs, nil)
		if s != ws || len(q) != len(qs) || cap(q) != 8 {
			t.Fatalf("key %d: stats %+v (want %+v), q len %d cap %d", k, s, ws, len(q), cap(q))
		}
		for i := range q {
			if q[i] != wq[i] {
				t.Fatalf("key %d: q[%d] = %g, KeyQuantiles says %g", k, i, q[i], wq[i])
			}
		}
		if s, q, err := a.KeyStatsQuantiles(k, nil, nil); err != nil || s != ws || len(q) != 0 {
			t.Fatalf("no quantiles: %+v %v %v", s, q, err)
		}
	}
	if _, _, err := a.KeyStatsQuantiles(99, qs, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown key: %v, want ErrNotFound", err)
	}
	if _, _, err := a.KeyStatsQuantiles(1, []float64{2}, nil); err == nil {
		t.Fatal("q = 2 accepted")
	}
}
