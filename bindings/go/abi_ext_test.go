package windowagg

import (
	"errors"
	"math"
	"sort"
	"testing"
)

// The extensible pages (aggregator_list_stats_ex, aggregator_poll_windows_ex)
// give the same entries as the fixed ones, with a StatsEx per entry whose
// struct_size is the record's stats part (the size this package was built
// with). Record sizes other than the package's are covered from C
// (tests/abi/test_abi_ext.cpp): the Go binding always passes its own.

func feedTumbling(t *testing.T, advance bool) *Aggregator {
	t.Helper()
	a, err := New(WithTumblingWindow(100))
	if err != nil {
		t.Fatal(err)
	}
	var v []float64
	var ts []int64
	var keys []uint64
	for i := 0; i < 300; i++ {
		v = append(v, float64(i)*0.5-20)
		ts = append(ts, int64(i*7))
		keys = append(keys, uint64(i%5)*1000003)
	}
	if err := a.Push(v, ts, keys); err != nil {
		t.Fatal(err)
	}
	if !advance {
		return a
	}
	if err := a.Advance(5000); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestStatsPageExMatchesStatsPage(t *testing.T) {
	a := feedTumbling(t, false)
	defer a.Close()
	qs := []float64{0.5, 0.9}
	var c1, c2 Cursor
	fixed := make([]KeyStats, 2)
	ex := make([]KeyStatsEx, 2)
	q1 := make([]float64, 4)
	q2 := make([]float64, 4)
	total := 0
	for !c1.Done() {
		n1, err := a.StatsPage(&c1, fixed, qs, q1)
		if err != nil {
			t.Fatal(err)
		}
		n2, err := a.StatsPageEx(&c2, ex, qs, q2)
		if err != nil {
			t.Fatal(err)
		}
		if n1 != n2 || c1 != c2 {
			t.Fatalf("page: %d entries (cursor %+v) vs Ex %d (cursor %+v)", n1, c1, n2, c2)
		}
		for i := 0; i < n1; i++ {
			if ex[i].Key != fixed[i].Key || !sameStats(ex[i].Stats.Stats, fixed[i].Stats) {
				t.Errorf("entry %d: Ex %+v, fixed %+v", i, ex[i], fixed[i])
			}
			if ex[i].Stats.structSize != uint32(abiStructs()[4].cSize) || ex[i].Stats.reserved != 0 {
				t.Errorf("entry %d: struct_size %d reserved %d", i, ex[i].Stats.structSize, ex[i].Stats.reserved)
			}
			one, err := a.KeyStatsEx(ex[i].Key)
			if err != nil || one.structSize != ex[i].Stats.structSize || !sameStats(one.Stats, ex[i].Stats.Stats) {
				t.Errorf("entry %d: KeyStatsEx %+v, %v", i, one, err)
			}
		}
		for j := 0; j < n1*len(qs); j++ {
			if q1[j] != q2[j] || math.IsNaN(q1[j]) {
				t.Errorf("quantile %d: %v vs %v", j, q1[j], q2[j])
			}
		}
		total += n1
	}
	if total != 5 || !c2.Done() {
		t.Fatalf("listed %d series (done %v), want 5", total, c2.Done())
	}
	all, allQ, err := a.AllStatsEx(nil, qs, nil)
	if err != nil || len(all) != 5 || len(allQ) != 10 {
		t.Fatalf("AllStatsEx: %d entries, %d quantiles, %v", len(all), len(allQ), err)
	}
	if _, err := a.StatsPageEx(&Cursor{}, nil, nil, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty dst: %v, want ErrInvalidArgument", err)
	}
}

func TestPollWindowsExMatchesPollWindows(t *testing.T) {
	a := feedTumbling(t, true)
	defer a.Close()
	b := feedTumbling(t, true)
	defer b.Close()
	qs := []float64{0.5}
	fixed := make([]Window, 3)
	ex := make([]WindowEx, 3)
	q1 := make([]float64, 3)
	q2 := make([]float64, 3)
	// The queue's order across series follows each handle's series table,
	// which differs between handles: compare the windows by (start, key).
	type polled struct {
		key   uint64
		stats Stats
		q     float64
	}
	var got1, got2 []polled
	for {
		n1, err := a.PollWindows(fixed, qs, q1)
		if err != nil {
			t.Fatal(err)
		}
		n2, err := b.PollWindowsEx(ex, qs, q2)
		if err != nil {
			t.Fatal(err)
		}
		if n1 != n2 {
			t.Fatalf("%d windows vs Ex %d", n1, n2)
		}
		for i := 0; i < n1; i++ {
			got1 = append(got1, polled{fixed[i].Key, fixed[i].Stats, q1[i]})
			got2 = append(got2, polled{ex[i].Key, ex[i].Stats.Stats, q2[i]})
		}
		if n1 == 0 {
			break
		}
	}
	byWindowThenKey := func(g []polled) func(i, j int) bool {
		return func(i, j int) bool {
			if g[i].stats.WindowStart != g[j].stats.WindowStart {
				return g[i].stats.WindowStart < g[j].stats.WindowStart
			}
			return g[i].key < g[j].key
		}
	}
	sort.Slice(got1, byWindowThenKey(got1))
	sort.Slice(got2, byWindowThenKey(got2))
	for i := range got1 {
		if got2[i].key != got1[i].key || !sameStats(got2[i].stats, got1[i].stats) || got1[i].q != got2[i].q {
			t.Errorf("window %d: Ex %+v, fixed %+v", i, got2[i], got1[i])
		}
	}
	total := len(got1)
	if total != 105 {
		t.Errorf("polled %d windows, want 105", total)
	}
	if p, _, err := b.PendingWindows(); err != nil || p != 0 {
		t.Errorf("pending after draining: %d, %v", p, err)
	}
	c, err := New(WithCountWindow(4))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.PollWindowsEx(ex, nil, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("count handle: %v, want ErrUnsupported", err)
	}
	c.Close()
	if _, err := c.PollWindowsEx(ex, nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("closed handle: %v, want ErrClosed", err)
	}
}
