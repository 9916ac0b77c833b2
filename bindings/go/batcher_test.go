package windowagg

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issue 12 item 6: one bad event must not discard its batch, and every
// dropped event must reach the producer.

func TestBatcherNaNRefusedByAddKeepsTheRest(t *testing.T) {
	a := newAgg(t, WithCountWindow(100000))
	b := NewBatcher(a, WithoutTimestamps()) // default options: timer flush, no handler
	for i := 0; i < 4000; i++ {
		if err := b.Add(uint64(i%10), 0, 1); err != nil {
			t.Fatal(err)
		}
		if i == 2000 {
			err := b.Add(3, 0, math.NaN())
			var we *Error
			if !errors.Is(err, ErrValue) || !errors.As(err, &we) || !strings.Contains(err.Error(), "NaN") {
				t.Fatalf("Add(NaN) = %v, want an ErrValue naming the value", err)
			}
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if total := keyedTotal(t, a); total != 4000 || b.Dropped() != 0 {
		t.Fatalf("kept %d of 4000 good events (dropped %d)", total, b.Dropped())
	}
}

func TestBatcherSkipPolicyPassesNonFinite(t *testing.T) {
	a := newAgg(t, WithCountWindow(100), WithSkipNonFinite())
	b := NewBatcher(a, WithFlushInterval(0), WithoutTimestamps())
	b.Add(1, 0, 1)
	if err := b.Add(1, 0, math.Inf(1)); err != nil {
		t.Fatalf("Add(+Inf) under SKIP: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := a.KeyStats(1)
	if err != nil || s.Count != 1 || s.Rejected != 1 {
		t.Fatalf("stats %+v %v, want count 1 rejected 1", s, err)
	}
}

func keyedTotal(t *testing.T, a *Aggregator) uint64 {
	t.Helper()
	keys, err := a.Keys()
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, k := range keys {
		s, err := a.KeyStats(k)
		if err != nil {
			t.Fatal(err)
		}
		total += s.Count
	}
	return total
}

func TestBatcherOverBudgetKeyDropsOnlyItself(t *testing.T) {
	a := newAgg(t, WithCountWindow(100000), WithMaxKeys(5, KeysReject))
	b := NewBatcher(a, WithFlushInterval(0), WithoutTimestamps())
	for i := 0; i < 4000; i++ {
		if i == 1234 {
			b.Add(77, 0, 5) // a 6th series: over the budget
		}
		if err := b.Add(uint64(i%5), 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	err := b.Flush()
	var fe *FlushError
	if !errors.As(err, &fe) || fe.Dropped != 1 || len(fe.Events) != 1 || fe.Events[0].Key != 77 ||
		fe.Events[0].Value != 5 || !errors.Is(err, ErrKeyLimit) {
		t.Fatalf("Flush = %v, want a FlushError naming the one event of key 77 (ErrKeyLimit)", err)
	}
	if got := keyedTotal(t, a); got != 4000 {
		t.Fatalf("kept %d of 4000 good events", got)
	}
	if b.Dropped() != 1 {
		t.Fatalf("Dropped = %d", b.Dropped())
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close after the report: %v", err)
	}
}

func TestBatcherTimerFlushReportsToHandler(t *testing.T) {
	a := newAgg(t, WithCountWindow(100000), WithMaxKeys(2, KeysReject))
	var mu sync.Mutex
	var got []DroppedEvent
	b := NewBatcher(a, WithFlushInterval(5*time.Millisecond), WithoutTimestamps(), WithErrorHandler(func(err error) {
		var fe *FlushError
		if !errors.As(err, &fe) {
			t.Errorf("handler got %T %v", err, err)
			return
		}
		mu.Lock()
		got = append(got, fe.Events...)
		mu.Unlock()
	}))
	for i := 0; i < 3000; i++ {
		b.Add(uint64(i%2), 0, 1)
		if i%1000 == 500 {
			b.Add(uint64(100+i), 0, 2) // new key beyond the budget of 2
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 3 && b.Len() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handler saw %d dropped events, want 3", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v (drops already went to the handler)", err)
	}
	for j, d := range got {
		if d.Key != uint64(100+500+1000*j) || !errors.Is(d.Err, ErrKeyLimit) {
			t.Fatalf("dropped[%d] = %+v", j, d)
		}
	}
	if total := keyedTotal(t, a); total != 3000 {
		t.Fatalf("kept %d of 3000 good events", total)
	}
}

func TestBatcherTimerDropsWithoutHandlerReachClose(t *testing.T) {
	a := newAgg(t, WithCountWindow(1000), WithMaxKeys(1, KeysReject))
	b := NewBatcher(a, WithFlushInterval(2*time.Millisecond), WithoutTimestamps())
	b.Add(1, 0, 1)
	b.Add(2, 0, 1) // over the budget
	deadline := time.Now().Add(5 * time.Second)
	for b.Dropped() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("timer flush did not run")
		}
		time.Sleep(2 * time.Millisecond)
	}
	err := b.Close()
	var fe *FlushError
	if !errors.As(err, &fe) || fe.Dropped != 1 || fe.Events[0].Key != 2 {
		t.Fatalf("Close = %v, want the timer flush's drop", err)
	}
}

// Splitting keeps batch order, so event-time semantics (lateness against a
// watermark raised by earlier events) match one push of the whole batch.
func TestBatcherSplitKeepsOrder(t *testing.T) {
	a := newAgg(t, WithTumblingWindow(1000), WithMaxKeys(1, KeysReject))
	b := NewBatcher(a, WithFlushInterval(0))
	b.Add(1, 5000, 1)
	b.Add(2, 5001, 1) // dropped: over budget
	b.Add(1, 100, 1)  // late behind 5000: counted late, not kept
	b.Add(1, 5002, 3)
	if err := b.Flush(); !errors.Is(err, ErrKeyLimit) {
		t.Fatalf("Flush = %v", err)
	}
	s, err := a.KeyStats(1)
	if err != nil || s.Count != 2 || s.Sum != 4 || s.Late != 1 {
		t.Fatalf("stats %+v %v: want count 2, sum 4, late 1", s, err)
	}
}

// WithAsyncFlush: the Batcher's goroutine pushes full buffers; nothing is
// lost or reordered, Flush and Close wait for what was added before them,
// and drops are reported as in the synchronous mode.

func TestBatcherAsyncKeepsEveryEventInOrder(t *testing.T) {
	a := newAgg(t, WithCountWindow(100))
	b := NewBatcher(a, WithAsyncFlush(), WithBatchSize(64), WithFlushInterval(0), WithoutTimestamps())
	const producers, each = 4, 5000
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// One key per producer, values counting up: the window
				// (the last 100) shows whether the order survived.
				if err := b.Add(uint64(p), 0, float64(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}(p)
	}
	wg.Wait()
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	for p := 0; p < producers; p++ {
		s, err := a.KeyStats(uint64(p))
		if err != nil || s.Total != each || s.Count != 100 {
			t.Fatalf("key %d: %+v %v, want %d values accepted, 100 in the window", p, s, err, each)
		}
		if s.Min != float64(each-100) || s.Max != float64(each-1) {
			t.Fatalf("key %d: window [%g, %g], want [%d, %d] (order lost)", p, s.Min, s.Max, each-100, each-1)
		}
	}
	if b.Len() != 0 || b.Dropped() != 0 {
		t.Fatalf("Len %d Dropped %d after Flush", b.Len(), b.Dropped())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := b.Add(1, 0, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v, want ErrClosed", err)
	}
}

func TestBatcherAsyncDropsReachFlush(t *testing.T) {
	a := newAgg(t, WithCountWindow(100000), WithMaxKeys(5, KeysReject))
	b := NewBatcher(a, WithAsyncFlush(), WithBatchSize(100), WithFlushInterval(0), WithoutTimestamps())
	for i := 0; i < 4000; i++ {
		if i == 1234 {
			b.Add(77, 0, 5) // a 6th series: over the budget, pushed by the Batcher's goroutine
		}
		if err := b.Add(uint64(i%5), 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	err := b.Flush()
	var fe *FlushError
	if !errors.As(err, &fe) || fe.Dropped != 1 || fe.Events[0].Key != 77 || !errors.Is(err, ErrKeyLimit) {
		t.Fatalf("Flush = %v, want a FlushError naming the one event of key 77", err)
	}
	if got := keyedTotal(t, a); got != 4000 {
		t.Fatalf("kept %d of 4000 good events", got)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBatcherAsyncCloseReleasesABlockedAdd(t *testing.T) {
	// The handler blocks the Batcher's goroutine inside its first flush,
	// so both buffers fill and the next Add waits for room; Close must
	// release it with ErrClosed (and not deadlock).
	a := newAgg(t, WithCountWindow(100000), WithMaxKeys(1, KeysReject))
	inHandler := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	b := NewBatcher(a, WithAsyncFlush(), WithBatchSize(2), WithFlushInterval(0), WithoutTimestamps(),
		WithErrorHandler(func(error) {
			once.Do(func() { close(inHandler); <-release })
		}))
	b.Add(1, 0, 1)
	b.Add(2, 0, 1) // key 2 is over the budget: the first flush calls the handler
	b.Add(1, 0, 1) // finds the buffer full: hands it over, goes into the other
	<-inHandler
	b.Add(1, 0, 1) // the second buffer is full too
	blocked := make(chan error)
	go func() { blocked <- b.Add(1, 0, 1) }()
	select {
	case err := <-blocked:
		t.Fatalf("Add with both buffers full returned %v, want it to wait", err)
	case <-time.After(50 * time.Millisecond):
	}
	closed := make(chan error)
	go func() { closed <- b.Close() }()
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Add = %v after Close, want ErrClosed", err)
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
	// Everything added before Close was pushed: 3 events of key 1.
	if s, err := a.KeyStats(1); err != nil || s.Count != 3 {
		t.Fatalf("key 1: %+v %v, want 3 values", s, err)
	}
}
