package windowagg

import (
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// The per-request path of the Batcher: Observe and ObserveDuration.
//
// Observations go to stripes (obsShard), each with its own buffer and lock,
// at least 4*GOMAXPROCS of them. Go has no public per-P storage, so a call
// picks its stripe by a hash of the series name's address: a series keeps to
// one stripe while it is uncontended, and a goroutine that finds that stripe
// locked takes the next free one (TryLock), so goroutines recording the same
// series spread out instead of queueing. Measured against a sync.Pool of
// stripes (per P) and a random stripe per call, this cost the least CPU per
// event at 1, 2 and 8 goroutines (README, "Per-request path"); the pool's
// Get/Put alone was about 4 ns per call in the profile. A stripe keeps a
// buffer of values per series and knows each series' name and id, so the
// per-event work is a lookup of the name (by the string's address in a small
// cache, else a map) and one append: a name is hashed and registered once
// per stripe, not once per event. A flush pushes a stripe's events grouped
// by series, in one Push, because the library applies runs of equal keys
// much faster than interleaved keys.

// maxStripeSeries bounds the series table of one stripe: past it the stripe
// is flushed and its table forgotten (names stay registered on the handle).
const maxStripeSeries = 1024

// stripeCacheSize: entries of a stripe's cache of the name strings it was
// given last (by address), which spares hashing the name.
const (
	stripeCacheBits = 5
	stripeCacheSize = 1 << stripeCacheBits
)

type stripeSeries struct {
	id  uint64
	n   int       // values buffered: buf[:n]
	buf []float64 // len == cap; grown (doubling) when full
}

type stripeCacheEntry struct {
	name string // the string as given (kept alive, so its address is not reused)
	i    uint32
}

type obsShard struct {
	mu     sync.Mutex
	n      int               // events buffered
	series []stripeSeries    // index -> id and buffered values
	names  map[string]uint32 // series name -> index
	cache  [stripeCacheSize]stripeCacheEntry
	_      [64]byte // keep two stripes' hot words off one cache line
}

func (ss *stripeSeries) grow() {
	nb := make([]float64, max(16, 2*len(ss.buf)))
	copy(nb, ss.buf[:ss.n])
	ss.buf = nb
}

// lookup returns the index of series in s (s.mu held), through the address
// cache, then the map.
func (s *obsShard) lookup(series string, h uint64) (uint32, bool) {
	p := unsafe.StringData(series)
	e := &s.cache[h>>(64-stripeCacheBits)]
	if unsafe.StringData(e.name) == p && len(e.name) == len(series) && p != nil {
		return e.i, true
	}
	i, ok := s.names[series]
	if ok {
		e.name, e.i = series, i
	}
	return i, ok
}

func (s *obsShard) forget() {
	clear(s.names)
	clear(s.series)
	s.series = s.series[:0]
	s.cache = [stripeCacheSize]stripeCacheEntry{}
}

type obsState struct {
	stripes []*obsShard // a power of two, at least 4*GOMAXPROCS (at NewBatcher)

	// Under Batcher.flushMu:
	out   batchBuf // the grouped batch of one stripe
	stamp int64    // last flush time given (host clock, UnixNano), never decreasing
}

func (o *obsState) init() {
	n := 8
	for n < 4*runtime.GOMAXPROCS(0) {
		n *= 2
	}
	o.stripes = make([]*obsShard, n)
	for i := range o.stripes {
		o.stripes[i] = &obsShard{names: map[string]uint32{}}
	}
}

// Observe records value v of the series named series, at the host's clock:
// the per-request path (one call per request, from any number of
// goroutines). For a series named by several labels pass a LabelSet's Name
// (Observe(ls.Name, v)); the collector exports its labels.
//
// The event time is the time of the flush that pushes the event
// (time.Now().UnixNano(), never decreasing from one flush to the next), so
// an event is placed at most one flush interval (WithFlushInterval, 100ms by
// default) after it happened, and no event is late however the goroutines
// interleave. This suits time windows in UnixNano, the unit of
// WithWallClock; under WithoutTimestamps (count windows) no time is pushed.
// Do not mix Observe with Add's explicit event times on one handle: Add's
// times are then compared with the host clock's.
//
// The series' name is registered for its id (HashString(series); see
// RegisterName) the first time a stripe sees it; a name whose id is
// registered to another name is refused (ErrInvalidArgument, a hash
// collision). Errors are about this event only: ErrClosed after Close, an
// *Error matching ErrValue for a non-finite v (unless the handle skips
// them). What a flush drops is reported as for Add (WithErrorHandler, or the
// next Flush/Close). Observe allocates nothing once the stripe has seen the
// name.
func (b *Batcher) Observe(series string, v float64) error {
	if b.rejectNonFin && v-v != 0 { // NaN or ±Inf
		return &Error{Status: StatusValue, Msg: fmt.Sprintf(
			"Batcher.Observe: value %g for series %q is not finite: non-finite values are refused "+
				"(nonfinite_policy = REJECT); the event was not added", v, series)}
	}
	h := addrHash(series)
	s := b.takeStripe(h)
	if b.closedObs.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	i, ok := s.lookup(series, h)
	if !ok {
		var err error
		if i, err = b.addStripeSeries(s, series, h); err != nil {
			return err // s.mu released by addStripeSeries
		}
	}
	ss := &s.series[i]
	if ss.n == len(ss.buf) {
		ss.grow()
	}
	ss.buf[ss.n] = v // no slice header written back per event
	ss.n++
	s.n++
	full := s.n >= b.size
	s.mu.Unlock()
	if full {
		b.flushStripes(s)
	}
	return nil
}

// addrHash mixes the address and length of s (not its bytes: cheap, and
// enough to pick a stripe and a cache slot).
func addrHash(s string) uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))^uintptr(len(s))) * 0x9E3779B97F4A7C15
}

// takeStripe returns a stripe for series, locked. The stripe is chosen by
// a hash of the string's address and length (so a name given as the same
// string keeps to one stripe, whose flushes then carry runs of one series,
// and its lookups hit the stripe's cache); when that stripe is busy the
// next ones are tried (TryLock), so goroutines recording the same series
// spread over stripes instead of queueing on one lock.
func (b *Batcher) takeStripe(h uint64) *obsShard {
	st := b.obs.stripes
	mask := uint64(len(st) - 1)
	first := h >> 24
	for k := uint64(0); k <= mask; k++ {
		s := st[(first+k)&mask]
		if s.mu.TryLock() {
			return s
		}
	}
	s := st[first&mask]
	s.mu.Lock()
	return s
}

// ObserveDuration is Observe of d in seconds (d.Seconds()), the base unit
// of Prometheus and of client_golang's Observe(time.Since(start).Seconds()).
func (b *Batcher) ObserveDuration(series string, d time.Duration) error {
	return b.Observe(series, float64(d)/1e9)
}

// addStripeSeries adds series to stripe s (held, s.mu locked) and returns
// its index. On error it returns with s.mu unlocked. A full table is
// flushed and forgotten first (which releases and retakes s.mu).
func (b *Batcher) addStripeSeries(s *obsShard, series string, h uint64) (uint32, error) {
	for len(s.series) >= maxStripeSeries {
		s.mu.Unlock()
		b.flushStripes(s)
		s.mu.Lock()
		if b.closedObs.Load() {
			s.mu.Unlock()
			return 0, ErrClosed
		}
		if i, ok := s.lookup(series, h); ok {
			return i, nil
		}
	}
	id := HashString(series)
	name, err := b.agg.names.registered(id, series)
	if err != nil {
		s.mu.Unlock()
		return 0, err
	}
	i := uint32(len(s.series))
	s.series = append(s.series, stripeSeries{id: id})
	s.names[name] = i
	return i, nil
}

// flushStripes pushes the given stripes' events (all stripes if none are
// given), one Push per stripe, grouped by series.
func (b *Batcher) flushStripes(only ...*obsShard) {
	if len(only) == 0 {
		only = b.obs.stripes
	}
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	for _, s := range only {
		b.flushStripeLocked(s)
	}
}

// flushStripeLocked (flushMu held) moves s's events, grouped by series,
// into obs.out, stamps them and pushes them; drops are reported as Add's.
func (b *Batcher) flushStripeLocked(s *obsShard) {
	o := &b.obs
	s.mu.Lock()
	n := s.n
	if n == 0 {
		if len(s.series) >= maxStripeSeries {
			s.forget()
		}
		s.mu.Unlock()
		return
	}
	out := &o.out
	out.vals = growF64(out.vals, n)
	out.keys = growU64(out.keys, n)
	p := 0
	for j := range s.series {
		ss := &s.series[j]
		m := copy(out.vals[p:], ss.buf[:ss.n])
		k := out.keys[p : p+m]
		for x := range k {
			k[x] = ss.id
		}
		p += m
		ss.n = 0
		if len(ss.buf) > 256 && 4*m < len(ss.buf) {
			ss.buf = nil // a burst's buffer: not kept for a quiet series
		}
	}
	s.n = 0
	if len(s.series) >= maxStripeSeries {
		s.forget()
	}
	s.mu.Unlock()

	if !b.noTS {
		now := time.Now().UnixNano()
		if now < o.stamp {
			now = o.stamp
		}
		o.stamp = now
		out.ts = growI64(out.ts, n)
		for j := range out.ts {
			out.ts[j] = now
		}
	}
	b.pushReport(out)
}

func growF64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func growU64(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n)
	}
	return s[:n]
}

func growI64(s []int64, n int) []int64 {
	if cap(s) < n {
		return make([]int64, n)
	}
	return s[:n]
}

// registered is register that also returns the registry's copy of name, so
// that a stripe's table shares it instead of keeping a copy of its own.
func (r *nameRegistry) registered(id uint64, name string) (string, error) {
	if err := r.register(id, name); err != nil {
		return "", err
	}
	return r.get(id), nil
}
