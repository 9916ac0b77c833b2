package windowagg

import (
	"errors"
	"testing"
	"time"
)

// TestWallClock: under WithWallClock a quiet series' window empties by the
// host's clock, without Advance; without it the last window stays.
func TestWallClock(t *testing.T) {
	const width = 200 * time.Millisecond
	wall, err := New(WithSlidingWindow(width, 0), WithWallClock())
	if err != nil {
		t.Fatal(err)
	}
	defer wall.Close()
	plain, err := New(WithSlidingWindow(width, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	now := time.Now().UnixNano()
	for _, a := range []*Aggregator{wall, plain} {
		if err := a.Push([]float64{1, 2, 3, 4}, []int64{now, now, now, now}, []uint64{7, 7, 7, 7}); err != nil {
			t.Fatal(err)
		}
		if s, err := a.KeyStats(7); err != nil || s.Count != 4 {
			t.Fatalf("before: %+v %v", s, err)
		}
	}
	time.Sleep(width + width/2)
	if s, err := wall.KeyStats(7); err != nil || s.Count != 0 {
		t.Fatalf("wall clock: window after %v of quiet holds %d values (err %v), want 0", width+width/2, s.Count, err)
	}
	if q, err := wall.KeyQuantiles(7, []float64{0.5}, nil); err != nil || q[0] == q[0] {
		t.Fatalf("wall clock: p50 of an empty window = %v (err %v), want NaN", q, err)
	}
	if s, err := plain.KeyStats(7); err != nil || s.Count != 4 {
		t.Fatalf("event time: %+v %v (the window stays until Advance)", s, err)
	}
	if _, err := New(WithCountWindow(10), WithWallClock()); !errors.Is(err, ErrConfig) {
		t.Fatalf("count window + WithWallClock: %v, want ErrConfig", err)
	}
	// SetWallClock on a handle without the option.
	if err := plain.SetWallClock(true); err != nil {
		t.Fatal(err)
	}
	if s, _ := plain.KeyStats(7); s.Count != 0 {
		t.Fatalf("after SetWallClock: %d values", s.Count)
	}
}
