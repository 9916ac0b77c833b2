package windowagg

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// Issue 15 item 1: the per-request path. Every observation reaches its
// series (by name, registered), from any number of goroutines, stamped by
// the host clock so none is late, with no allocation per call.

func TestObserveCountsNamesAndStamps(t *testing.T) {
	a := newAgg(t, WithSlidingWindow(time.Minute, time.Second))
	b := NewBatcher(a, WithBatchSize(64), WithFlushInterval(time.Millisecond))
	ls := MustLabels("method", "GET", "route", "/cart")
	names := []string{"GET /", "POST /cart", ls.Name}
	const goroutines, per = 8, 3000
	before := time.Now().UnixNano()
	inGoroutines(goroutines, func(g int) {
		for i := 0; i < per; i++ {
			// names built per call too (new string addresses)
			name := names[(g+i)%len(names)]
			if i%5 == 0 {
				name = strings.Clone(name)
			}
			if err := b.ObserveDuration(name, time.Duration(i%100+1)*time.Millisecond); err != nil {
				t.Error(err)
				return
			}
		}
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixNano()
	var total uint64
	for _, n := range names {
		id := HashString(n)
		s, err := a.KeyStats(id)
		if err != nil {
			t.Fatalf("%q: %v", n, err)
		}
		if s.Late != 0 || s.Min < 0.001 || s.Max > 0.1+1e-12 {
			t.Fatalf("%q: %+v (want no late value, values 1ms..100ms in seconds)", n, s)
		}
		if s.Watermark < before || s.Watermark > after {
			t.Fatalf("%q: watermark %d not a host-clock time in [%d, %d]", n, s.Watermark, before, after)
		}
		if got, err := a.KeyName(id); err != nil || got != n {
			t.Fatalf("KeyName(%d) = %q, %v; want %q", id, got, err, n)
		}
		total += s.Count
	}
	if total != goroutines*per || b.Dropped() != 0 {
		t.Fatalf("%d observations in the windows, %d dropped; want %d", total, b.Dropped(), goroutines*per)
	}
	if err := b.Observe("GET /", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Observe after Close: %v, want ErrClosed", err)
	}
}

func TestObserveRefusals(t *testing.T) {
	a := newAgg(t, WithCountWindow(100))
	b := NewBatcher(a, WithFlushInterval(0), WithoutTimestamps())
	defer b.Close()
	if err := b.Observe("x", math.NaN()); !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("Observe(NaN) = %v, want ErrValue naming the series", err)
	}
	if err := b.Observe("x", math.Inf(-1)); !errors.Is(err, ErrValue) {
		t.Fatalf("Observe(-Inf) = %v, want ErrValue", err)
	}
	// A name whose id is registered to another name: refused, not buffered.
	if err := a.names.register(HashString("y"), "not y"); err != nil {
		t.Fatal(err)
	}
	if err := b.Observe("y", 1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Observe of a colliding name = %v, want ErrInvalidArgument", err)
	}
	if err := b.Observe("x", 2); err != nil {
		t.Fatal(err)
	}
	if n := b.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1 (only the good event)", n)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if s, err := a.KeyStats(HashString("x")); err != nil || s.Count != 1 || s.Sum != 2 {
		t.Fatalf("x: %+v %v", s, err)
	}
}

// A flush the library refuses for one event (a new series past max_keys)
// keeps the rest and reports the dropped events, as Add's flushes do.
func TestObserveFlushReportsDrops(t *testing.T) {
	a := newAgg(t, WithCountWindow(100), WithMaxKeys(2, KeysReject))
	b := NewBatcher(a, WithFlushInterval(0), WithoutTimestamps())
	for i := 0; i < 30; i++ {
		if err := b.Observe(fmt.Sprint("s", i%3), float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	err := b.Close()
	var fe *FlushError
	if !errors.As(err, &fe) || !errors.Is(err, ErrKeyLimit) || fe.Dropped != 10 || b.Dropped() != 10 {
		t.Fatalf("Close = %v, want a FlushError of the 10 events of the third series", err)
	}
	if total := keyedTotal(t, a); total != 20 {
		t.Fatalf("kept %d of the 20 events of the first two series", total)
	}
}

// Past maxStripeSeries names a stripe forgets its table after a flush; every
// observation still lands in its series.
func TestObserveManySeries(t *testing.T) {
	a := newAgg(t, WithCountWindow(10))
	b := NewBatcher(a, WithFlushInterval(0), WithoutTimestamps())
	const n = 3 * maxStripeSeries
	for round := 0; round < 2; round++ {
		for i := 0; i < n; i++ {
			if err := b.Observe(fmt.Sprint("series-", i), 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if k, _ := a.KeyCount(); k != n {
		t.Fatalf("%d series, want %d", k, n)
	}
	if total := keyedTotal(t, a); total != 2*n {
		t.Fatalf("%d events, want %d", total, 2*n)
	}
}

func TestObserveAllocatesNothing(t *testing.T) {
	a := newAgg(t, WithSlidingWindow(time.Minute, time.Second))
	b := NewBatcher(a, WithBatchSize(256), WithFlushInterval(0))
	defer b.Close()
	ls := MustLabels("route", "/cart", "status", "200")
	_ = b.ObserveDuration("GET /", time.Millisecond)
	_ = b.Observe(ls.Name, 1)
	// Across flushes too (batch 256): 0 per call on average.
	if n := testing.AllocsPerRun(2000, func() {
		_ = b.ObserveDuration("GET /", time.Millisecond)
		_ = b.Observe(ls.Name, 1)
	}); n != 0 {
		t.Fatalf("Observe allocates %v per call", n)
	}
}
