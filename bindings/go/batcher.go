package windowagg

import (
	"sync"
	"time"
)

// Batcher is an allocation-free front for producers that have one event at a
// time. Goroutines call Add; events are appended to reused buffers under a
// mutex and handed to the Aggregator in one Push when the buffer is full or
// when the flush interval elapses. It turns per-event cgo calls (about 30 ns
// of overhead each) into one call per batch, and allocates nothing per event,
// which matters once the state has left the Go heap: a host that allocates an
// object per event makes the GC run more often, not less, when its heap
// shrinks.
//
// Batching delays visibility: reads on the Aggregator see an event after the
// flush that carries it. Flush forces one.
type Batcher struct {
	agg     *Aggregator
	size    int
	noTS    bool
	onError func(error)

	mu     sync.Mutex // guards cur and closed
	cur    batchBuf
	closed bool

	flushMu sync.Mutex // serializes flushes; guards spare
	spare   batchBuf

	stop chan struct{}
	done chan struct{}
}

type batchBuf struct {
	vals []float64
	ts   []int64
	keys []uint64
}

func newBatchBuf(n int) batchBuf {
	return batchBuf{vals: make([]float64, 0, n), ts: make([]int64, 0, n), keys: make([]uint64, 0, n)}
}

// BatcherOption configures NewBatcher.
type BatcherOption func(*Batcher, *time.Duration)

// WithBatchSize sets the number of events per Push (default 4096).
func WithBatchSize(n int) BatcherOption {
	return func(b *Batcher, _ *time.Duration) {
		if n > 0 {
			b.size = n
		}
	}
}

// WithFlushInterval flushes pending events at least every d (default 100ms;
// 0 disables the timer, leaving flushes to size, Flush and Close).
func WithFlushInterval(d time.Duration) BatcherOption {
	return func(_ *Batcher, iv *time.Duration) { *iv = d }
}

// WithErrorHandler receives the errors of background (timer) flushes, which
// have no caller to return them to. By default they are dropped.
func WithErrorHandler(f func(error)) BatcherOption {
	return func(b *Batcher, _ *time.Duration) { b.onError = f }
}

// WithoutTimestamps pushes without event times (the arrival clock): the ts
// argument of Add is ignored. Use it for count windows fed without times.
func WithoutTimestamps() BatcherOption {
	return func(b *Batcher, _ *time.Duration) { b.noTS = true }
}

// NewBatcher returns a Batcher feeding agg. Close it to flush the rest and
// stop its timer; closing the Batcher does not close agg.
func NewBatcher(agg *Aggregator, opts ...BatcherOption) *Batcher {
	b := &Batcher{agg: agg, size: 4096}
	interval := 100 * time.Millisecond
	for _, o := range opts {
		o(b, &interval)
	}
	b.cur = newBatchBuf(b.size)
	b.spare = newBatchBuf(b.size)
	if interval > 0 {
		b.stop = make(chan struct{})
		b.done = make(chan struct{})
		go b.loop(interval)
	}
	return b
}

func (b *Batcher) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			if err := b.flush(); err != nil && b.onError != nil {
				b.onError(err)
			}
		}
	}
}

// Add appends one event (series key, event time ts, value v). When the
// buffer is full, the calling goroutine flushes it and returns the flush's
// error. Add allocates nothing.
func (b *Batcher) Add(key uint64, ts int64, v float64) error {
	b.mu.Lock()
	for len(b.cur.vals) >= b.size {
		if b.closed {
			b.mu.Unlock()
			return ErrClosed
		}
		b.mu.Unlock()
		if err := b.flush(); err != nil {
			return err
		}
		b.mu.Lock()
	}
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.cur.vals = append(b.cur.vals, v)
	b.cur.ts = append(b.cur.ts, ts)
	b.cur.keys = append(b.cur.keys, key)
	b.mu.Unlock()
	return nil
}

// Len returns the number of events waiting for a flush.
func (b *Batcher) Len() int {
	b.mu.Lock()
	n := len(b.cur.vals)
	b.mu.Unlock()
	return n
}

// flush swaps the current buffer for the spare one under mu (so producers
// wait only for the swap) and pushes the full one outside mu.
func (b *Batcher) flush() error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	if len(b.cur.vals) == 0 {
		b.mu.Unlock()
		return nil
	}
	b.cur, b.spare = b.spare, b.cur
	b.mu.Unlock()
	full := &b.spare
	ts := full.ts
	if b.noTS {
		ts = nil
	}
	err := b.agg.Push(full.vals, ts, full.keys)
	full.vals, full.ts, full.keys = full.vals[:0], full.ts[:0], full.keys[:0]
	return err
}

// Flush pushes every pending event now. A batch the library refuses is
// dropped (it is applied whole or not at all) and its error returned.
func (b *Batcher) Flush() error { return b.flush() }

// Close stops the timer, flushes pending events and makes later Adds return
// ErrClosed. It is idempotent.
func (b *Batcher) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	if b.stop != nil {
		close(b.stop)
		<-b.done
	}
	return b.flush()
}
