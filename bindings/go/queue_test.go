package windowagg

import (
	"errors"
	"math"
	"testing"
)

// Issue 12, item 5: closed windows past WithMaxPendingWindows are never
// dropped. A hopping batch job producing far more windows than the queue
// holds polls every one of them (against a brute-force count), each
// series' windows in order, and an unpolled backlog is bounded by the
// memory limit with a clean ErrMemoryLimit.

const qD, qS = 20, 5 // hopping: each value is in 4 windows

func queueJob(n, keys int) (vals []float64, ts []int64, ks []uint64) {
	for i := 0; i < n; i++ {
		k := uint64((i*7919)^(i>>3)) % uint64(keys)
		vals = append(vals, float64(i%97)-40)
		ts = append(ts, int64(i/3))
		ks = append(ks, k)
	}
	return
}

type winID struct {
	key   uint64
	start int64
}

func bruteWindows(ts []int64, ks []uint64) map[winID]uint64 {
	w := map[winID]uint64{}
	for i := range ts {
		last := ts[i] / qS
		for m := last - qD/qS + 1; m <= last; m++ {
			w[winID{ks[i], m * qS}]++
		}
	}
	return w
}

func pollEverything(t *testing.T, a *Aggregator, page int) []Window {
	t.Helper()
	var all []Window
	dst := make([]Window, page)
	for {
		n, err := a.PollWindows(dst, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return all
		}
		all = append(all, dst[:n]...)
	}
}

func checkWindows(t *testing.T, got []Window, want map[winID]uint64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("polled %d windows, brute force has %d", len(got), len(want))
	}
	last := map[uint64]int64{}
	for _, w := range got {
		if p, ok := last[w.Key]; ok && w.Stats.WindowStart <= p {
			t.Fatalf("key %d: window %d polled after %d", w.Key, w.Stats.WindowStart, p)
		}
		last[w.Key] = w.Stats.WindowStart
		if c, ok := want[winID{w.Key, w.Stats.WindowStart}]; !ok || c != w.Stats.Count {
			t.Fatalf("key %d window %d: count %d, brute force %d (present %v)", w.Key,
				w.Stats.WindowStart, w.Stats.Count, c, ok)
		}
	}
}

func TestQueueNeverDropsWindows(t *testing.T) {
	vals, ts, ks := queueJob(30000, 40)
	want := bruteWindows(ts, ks)
	a := newAgg(t, WithHoppingWindow(qD, qS), WithMaxPendingWindows(500))
	for i := 0; i < len(vals); i += 1000 {
		if err := a.Push(vals[i:i+1000], ts[i:i+1000], ks[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Advance(math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	pending, dropped, err := a.PendingWindows()
	if err != nil || pending != uint64(len(want)) || dropped != 0 {
		t.Fatalf("PendingWindows = %d, %d, %v; want %d, 0 (max pending 500)", pending, dropped,
			err, len(want))
	}
	checkWindows(t, pollEverything(t, a, 64), want)
	if pending, dropped, _ := a.PendingWindows(); pending != 0 || dropped != 0 {
		t.Fatalf("after polling: pending %d, dropped %d", pending, dropped)
	}
}

func TestQueueBacklogBoundedByMemoryLimit(t *testing.T) {
	vals, ts, ks := queueJob(400000, 200)
	a := newAgg(t, WithHoppingWindow(qD, qS), WithMaxPendingWindows(1000),
		WithMemoryLimit(4<<20))
	accepted := 0
	var err error
	for i := 0; i < len(vals); i += 1000 {
		before, _ := a.MarshalBinary()
		if err = a.Push(vals[i:i+1000], ts[i:i+1000], ks[i:i+1000]); err != nil {
			after, _ := a.MarshalBinary()
			if string(after) != string(before) {
				t.Fatalf("the refused push changed the state")
			}
			break
		}
		accepted = i + 1000
	}
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("never polling under a 4 MiB limit: %v, want ErrMemoryLimit", err)
	}
	if err := a.Advance(math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	checkWindows(t, pollEverything(t, a, 256), bruteWindows(ts[:accepted], ks[:accepted]))
}
