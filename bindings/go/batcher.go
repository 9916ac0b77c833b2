package windowagg

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Batcher is an allocation-free front for producers that have one event at a
// time. Goroutines call Add; events are appended to reused buffers under a
// mutex and handed to the Aggregator in one Push when the buffer is full or
// when the flush interval elapses (WithAsyncFlush: the push of a full buffer
// runs on the Batcher's goroutine while producers fill the other one). It
// turns per-event cgo calls (about 30 ns of overhead each) into one call per
// batch, and allocates nothing per event, which matters once the state has
// left the Go heap: a host that allocates an object per event makes the GC
// run more often, not less, when its heap shrinks.
//
// Batching delays visibility: reads on the Aggregator see an event after the
// flush that carries it. Flush forces one.
//
// No event is dropped silently, and a bad event never costs its neighbours:
//
//   - Add refuses what it can check alone: a non-finite value on a handle
//     that rejects them (the default) returns an *Error matching ErrValue,
//     and the event is not buffered.
//   - A flush whose batch the library refuses for one element's sake
//     (ErrValue, ErrKeyLimit, ErrInvalidArgument: the batch is applied whole
//     or not at all) splits the batch in halves and pushes them in order,
//     recursively, so every event that the library accepts on its own is
//     kept, in the original order, and only the offending events are
//     dropped. A refusal that is not about one element (ErrMemoryLimit,
//     ErrNoMemory, ErrClosed, ...) drops the batch. Either way the dropped
//     events, each with the library's reason, are reported as a *FlushError:
//     to the WithErrorHandler handler if one is set (from whichever goroutine
//     flushed), otherwise by the next Flush or Close. Dropped counts them all.
type Batcher struct {
	agg          *Aggregator
	size         int
	noTS         bool
	rejectNonFin bool
	onError      func(error)

	mu     sync.Mutex // guards cur and closed
	cur    batchBuf
	closed bool
	room   sync.Cond // (on mu) signalled when cur is swapped out or the Batcher closes

	async bool          // WithAsyncFlush: full buffers go to the loop goroutine
	kick  chan struct{} // (async) a full buffer waits; capacity 1

	flushMu sync.Mutex // serializes flushes; guards spare and pending
	spare   batchBuf
	pending *FlushError // drops not yet reported (no handler)

	dropped atomic.Uint64

	obs       obsState    // Observe's stripes (observe.go)
	closedObs atomic.Bool // set by Close before it flushes the stripes

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

// DroppedEvent is one event a flush could not push, with the library's
// reason for refusing it.
type DroppedEvent struct {
	Key       uint64
	Timestamp int64 // as given to Add (ignored under WithoutTimestamps)
	Value     float64
	Err       error
}

// maxListedDrops bounds FlushError.Events when drops of several flushes are
// kept for the next Flush or Close.
const maxListedDrops = 4096

// FlushError reports the events one or more flushes dropped. Events lists
// them in order (at most 4096; Dropped counts every one). errors.Is matches
// the reasons: errors.Is(err, ErrKeyLimit).
type FlushError struct {
	Dropped int
	Events  []DroppedEvent
}

func (e *FlushError) Error() string {
	s := "windowagg: batcher dropped " + strconv.Itoa(e.Dropped) + " event"
	if e.Dropped != 1 {
		s += "s"
	}
	if len(e.Events) > 0 {
		d := e.Events[0]
		s += fmt.Sprintf("; first: key %d, timestamp %d, value %g: %v", d.Key, d.Timestamp, d.Value, d.Err)
	}
	return s
}

// Unwrap returns the distinct reasons, for errors.Is and errors.As.
func (e *FlushError) Unwrap() []error {
	var out []error
	for _, d := range e.Events {
		dup := false
		for _, o := range out {
			if o.Error() == d.Err.Error() {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, d.Err)
		}
		if len(out) == 16 {
			break
		}
	}
	return out
}

func (e *FlushError) merge(o *FlushError) {
	e.Dropped += o.Dropped
	room := maxListedDrops - len(e.Events)
	if room > len(o.Events) {
		room = len(o.Events)
	}
	if room > 0 {
		e.Events = append(e.Events, o.Events[:room]...)
	}
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

// WithErrorHandler receives, as a *FlushError, the events each flush
// dropped, whichever goroutine ran the flush (the timer, an Add that found
// the buffer full or, with WithAsyncFlush, the Batcher's own goroutine,
// Flush or Close). The handler runs on that goroutine with the flush lock
// held: it must not call Flush or Close. Without a handler the drops are
// kept (counts, and the first 4096 events) and returned by the next Flush or
// Close.
func WithErrorHandler(f func(error)) BatcherOption {
	return func(b *Batcher, _ *time.Duration) { b.onError = f }
}

// WithAsyncFlush hands a full buffer to the Batcher's own goroutine, which
// pushes it while Add goes on filling the other buffer: a producer no
// longer waits for the push, and producing and pushing run on two cores at
// once. Add blocks only while both buffers are full (the push of the one
// before is still running): the backlog stays at two buffers. Without it,
// the Add that finds the buffer full pushes it on the calling goroutine.
// Flush and Close still return after every event added before them is
// pushed.
func WithAsyncFlush() BatcherOption {
	return func(b *Batcher, _ *time.Duration) { b.async = true }
}

// WithoutTimestamps pushes without event times (the arrival clock): the ts
// argument of Add is ignored. Use it for count windows fed without times.
func WithoutTimestamps() BatcherOption {
	return func(b *Batcher, _ *time.Duration) { b.noTS = true }
}

// NewBatcher returns a Batcher feeding agg. Close it to flush the rest and
// stop its timer; closing the Batcher does not close agg.
func NewBatcher(agg *Aggregator, opts ...BatcherOption) *Batcher {
	b := &Batcher{agg: agg, size: 4096, rejectNonFin: true}
	if cfg, err := agg.Config(); err == nil {
		b.rejectNonFin = !cfg.SkipNonFinite
	}
	interval := 100 * time.Millisecond
	for _, o := range opts {
		o(b, &interval)
	}
	b.cur = newBatchBuf(b.size)
	b.spare = newBatchBuf(b.size)
	b.room.L = &b.mu
	b.obs.init()
	if b.async {
		b.kick = make(chan struct{}, 1)
	}
	if interval > 0 || b.async {
		b.stop = make(chan struct{})
		b.done = make(chan struct{})
		go b.loop(interval)
	}
	return b
}

func (b *Batcher) loop(interval time.Duration) {
	defer close(b.done)
	if b.async {
		// Its pushes from one OS thread: the library's allocator keeps a heap
		// per thread, and blocks freed on another thread than the one that
		// allocated them cost more (the showdown's feed in C, pushes
		// alternating between threads: 1.6x the time per value). Never
		// unlocked: the thread ends with the loop (Close). Go ends it without
		// the C thread-exit handlers, so the loop hands the thread's
		// allocator heap over itself, before Close returns: else the memory
		// of a handle freed after Close stayed resident (the showdown's wa
		// side started with the wab side's 650 MiB in 3 of 4 runs).
		runtime.LockOSThread()
		defer threadDone()
	}
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-b.stop:
			return
		case <-tick:
			b.flushStripes()
			b.flushLocked(false)
		case <-b.kick: // (nil without WithAsyncFlush)
			b.flushLocked(false)
		}
	}
}

// Add appends one event (series key, event time ts, value v). It returns an
// error only about this event: ErrClosed after Close, or an *Error matching
// ErrValue for a non-finite v on a handle that rejects non-finite values (the
// event is not added). When the buffer is full, the calling goroutine
// flushes it first (WithAsyncFlush: hands it to the Batcher's goroutine,
// waiting only while the other buffer is still being pushed); what that
// flush dropped goes to the error handler (or the next Flush/Close), not to
// this Add, whose event was buffered. Add allocates nothing on success.
func (b *Batcher) Add(key uint64, ts int64, v float64) error {
	if b.rejectNonFin && (math.IsNaN(v) || math.IsInf(v, 0)) {
		return &Error{Status: StatusValue, Msg: fmt.Sprintf(
			"Batcher.Add: value %g for key %d (timestamp %d) is not finite: non-finite values are refused "+
				"(nonfinite_policy = REJECT); the event was not added", v, key, ts)}
	}
	b.mu.Lock()
	for len(b.cur.vals) >= b.size {
		if b.closed {
			b.mu.Unlock()
			return ErrClosed
		}
		if b.async {
			select {
			case b.kick <- struct{}{}:
			default: // (already asked)
			}
			b.room.Wait()
			continue
		}
		b.mu.Unlock()
		b.flushLocked(false)
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

// Len returns the number of events (Add's and Observe's) waiting for a
// flush.
func (b *Batcher) Len() int {
	b.mu.Lock()
	n := len(b.cur.vals)
	b.mu.Unlock()
	for _, s := range b.obs.stripes {
		s.mu.Lock()
		n += s.n
		s.mu.Unlock()
	}
	return n
}

// Dropped returns the number of events flushes have dropped so far.
func (b *Batcher) Dropped() uint64 { return b.dropped.Load() }

// flushLocked swaps the current buffer for the spare one under mu (so
// producers wait only for the swap), pushes the full one outside mu, and
// reports what it dropped: to the handler, or kept in pending. With take, it
// returns (and clears) the pending report instead of keeping it.
func (b *Batcher) flushLocked(take bool) *FlushError {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	if len(b.cur.vals) == 0 {
		b.mu.Unlock()
		return b.takePending(take)
	}
	b.cur, b.spare = b.spare, b.cur
	b.room.Broadcast()
	b.mu.Unlock()
	b.pushReport(&b.spare)
	return b.takePending(take)
}

// pushReport (flushMu held) pushes buf, salvages what it can of a refused
// batch, empties buf and reports the drops: to the handler, or kept in
// pending.
func (b *Batcher) pushReport(full *batchBuf) {
	var fe *FlushError
	if err := b.push(full, 0, len(full.vals)); err != nil {
		fe = &FlushError{}
		b.salvage(full, 0, len(full.vals), err, fe)
	}
	full.vals, full.ts, full.keys = full.vals[:0], full.ts[:0], full.keys[:0]
	if fe != nil {
		b.dropped.Add(uint64(fe.Dropped))
		if b.onError != nil {
			b.onError(fe)
		} else if b.pending == nil {
			b.pending = fe
		} else {
			b.pending.merge(fe)
		}
	}
}

func (b *Batcher) takePending(take bool) *FlushError {
	if !take {
		return nil
	}
	p := b.pending
	b.pending = nil
	return p
}

func (b *Batcher) push(buf *batchBuf, lo, hi int) error {
	var ts []int64
	if !b.noTS {
		ts = buf.ts[lo:hi]
	}
	return b.agg.Push(buf.vals[lo:hi], ts, buf.keys[lo:hi])
}

// perElement reports whether the library refused a batch for one element's
// sake (so that a part of the batch without it may be accepted).
func perElement(err error) bool {
	return errors.Is(err, ErrValue) || errors.Is(err, ErrKeyLimit) || errors.Is(err, ErrInvalidArgument)
}

// salvage handles buf[lo:hi], which the library refused with err: it pushes
// the halves in order and recurses into a refused half, down to single
// events, which are dropped with their own error. O(k log n) pushes for k
// bad events among n.
func (b *Batcher) salvage(buf *batchBuf, lo, hi int, err error, fe *FlushError) {
	if hi-lo == 1 || !perElement(err) {
		for i := lo; i < hi; i++ {
			fe.Dropped++
			if len(fe.Events) < maxListedDrops {
				d := DroppedEvent{Key: buf.keys[i], Value: buf.vals[i], Err: err}
				if i < len(buf.ts) {
					d.Timestamp = buf.ts[i] // Observe's events under WithoutTimestamps have none
				}
				fe.Events = append(fe.Events, d)
			}
		}
		return
	}
	mid := lo + (hi-lo)/2
	if err := b.push(buf, lo, mid); err != nil {
		b.salvage(buf, lo, mid, err, fe)
	}
	if err := b.push(buf, mid, hi); err != nil {
		b.salvage(buf, mid, hi, err, fe)
	}
}

// Flush pushes every pending event now. It returns a *FlushError listing the
// events this flush dropped, together with those of earlier flushes not yet
// reported (when no error handler is set); nil if none were dropped.
func (b *Batcher) Flush() error {
	b.flushStripes()
	if fe := b.flushLocked(true); fe != nil {
		return fe
	}
	return nil
}

// Close stops the timer, flushes pending events and makes later Adds return
// ErrClosed. It returns what Flush would. It is idempotent.
func (b *Batcher) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.closedObs.Store(true)
	b.room.Broadcast() // (an async Add waiting for room returns ErrClosed)
	b.mu.Unlock()
	if b.stop != nil {
		close(b.stop)
		<-b.done
	}
	return b.Flush()
}

// AddString is Add for the series named name: its id is HashString(name)
// and the name is registered for the id (RegisterName), so KeyName and the
// Prometheus collector show it. It allocates nothing once the name is
// registered.
func (b *Batcher) AddString(name string, ts int64, v float64) error {
	id := HashString(name)
	if err := b.agg.names.register(id, name); err != nil {
		return err
	}
	return b.Add(id, ts, v)
}

// AddLabels is Add for the series of label set ls (see Labels); its name is
// registered for its id, and the collector exports its labels.
func (b *Batcher) AddLabels(ls LabelSet, ts int64, v float64) error {
	if err := b.agg.names.register(ls.ID, ls.Name); err != nil {
		return err
	}
	return b.Add(ls.ID, ts, v)
}
