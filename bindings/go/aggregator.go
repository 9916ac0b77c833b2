package windowagg

/*
#include "helpers.h"
*/
import "C"

import (
	"encoding/binary"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultKey is the series that values pushed without keys belong to.
const DefaultKey uint64 = 0

// OverflowKey is the series collecting new keys beyond the key budget under
// KeysOverflow.
const OverflowKey uint64 = math.MaxUint64

// WindowKind selects the window type.
type WindowKind uint32

const (
	WindowCount    WindowKind = 0 // the last N values
	WindowSliding  WindowKind = 1 // the last D of event time, pane granularity
	WindowTumbling WindowKind = 2 // fixed windows of width D
	WindowHopping  WindowKind = 3 // windows of width D every S
)

func (k WindowKind) String() string {
	switch k {
	case WindowCount:
		return "count"
	case WindowSliding:
		return "sliding"
	case WindowTumbling:
		return "tumbling"
	case WindowHopping:
		return "hopping"
	}
	return "WindowKind(" + strconv.Itoa(int(k)) + ")"
}

// KeyPolicy says what happens when a push would create one key more than
// the budget set with WithMaxKeys.
type KeyPolicy uint32

const (
	KeysReject   KeyPolicy = 0 // the batch fails with ErrKeyLimit
	KeysEvictLRU KeyPolicy = 1 // the least recently updated series is dropped
	KeysOverflow KeyPolicy = 2 // the value goes to OverflowKey
)

// Config is a handle's resolved configuration (see Aggregator.Config).
// Time fields are in event-time units: nanoseconds when timestamps are
// UnixNano, which is what the time.Duration values of the options assume.
type Config struct {
	Window            WindowKind
	Size              int64         // COUNT: values; time kinds: width D in event-time units
	Slide             time.Duration // HOPPING
	PaneWidth         time.Duration // SLIDING
	AllowedLateness   time.Duration
	RelativeAccuracy  float64
	Quantiles         bool
	SkipNonFinite     bool
	MaxKeys           uint64
	KeyPolicy         KeyPolicy
	SingleThreaded    bool
	KeyTTL            time.Duration
	MemoryLimit       uint64
	MaxPendingWindows uint64
}

func configFromC(c *C.aggregator_config) Config {
	return Config{
		Window:            WindowKind(c.window_kind),
		Size:              int64(c.window_size),
		Slide:             time.Duration(c.slide),
		PaneWidth:         time.Duration(c.pane_width),
		AllowedLateness:   time.Duration(c.allowed_lateness),
		RelativeAccuracy:  float64(c.relative_accuracy),
		Quantiles:         c.quantiles != 0,
		SkipNonFinite:     c.nonfinite_policy == C.AGGREGATOR_NONFINITE_SKIP,
		MaxKeys:           uint64(c.max_keys),
		KeyPolicy:         KeyPolicy(c.key_policy),
		SingleThreaded:    c.threading == C.AGGREGATOR_THREADING_SINGLE,
		KeyTTL:            time.Duration(c.key_ttl),
		MemoryLimit:       uint64(c.memory_limit),
		MaxPendingWindows: uint64(c.max_pending_windows),
	}
}

// config wraps the C struct, initialized by aggregator_config_init.
type config struct {
	c    C.aggregator_config
	wall bool
}

// Option configures New. Options are applied in order over the library's
// defaults (a count window of 1024 values, alpha 0.01, quantiles on,
// non-finite values rejected, unlimited keys, thread-safe). Invalid values are
// reported by New as ErrConfig with a message naming the field.
type Option func(*config)

// WithCountWindow makes a count window over the last n values of each series.
func WithCountWindow(n int64) Option {
	return func(c *config) {
		c.c.window_kind = C.AGGREGATOR_WINDOW_COUNT
		c.c.window_size = C.int64_t(n)
	}
}

// WithSlidingWindow makes a sliding event-time window of width d, advancing
// in panes of width pane (0: d/60). pane must divide d.
func WithSlidingWindow(d, pane time.Duration) Option {
	return func(c *config) {
		c.c.window_kind = C.AGGREGATOR_WINDOW_SLIDING
		c.c.window_size = C.int64_t(d)
		c.c.pane_width = C.int64_t(pane)
	}
}

// WithTumblingWindow makes fixed, non-overlapping windows [k*d, (k+1)*d).
func WithTumblingWindow(d time.Duration) Option {
	return func(c *config) {
		c.c.window_kind = C.AGGREGATOR_WINDOW_TUMBLING
		c.c.window_size = C.int64_t(d)
	}
}

// WithHoppingWindow makes windows [k*slide, k*slide+d); slide must divide d
// and d/slide must be at most 2^20 (each value belongs to d/slide windows).
func WithHoppingWindow(d, slide time.Duration) Option {
	return func(c *config) {
		c.c.window_kind = C.AGGREGATOR_WINDOW_HOPPING
		c.c.window_size = C.int64_t(d)
		c.c.slide = C.int64_t(slide)
	}
}

// WithLateness accepts values up to d older than the watermark and keeps
// tumbling/hopping windows open that much longer.
func WithLateness(d time.Duration) Option {
	return func(c *config) { c.c.allowed_lateness = C.int64_t(d) }
}

// WithAccuracy sets the quantile sketch's relative accuracy alpha
// (1e-4 <= alpha <= 0.5; default 0.01).
func WithAccuracy(alpha float64) Option {
	return func(c *config) { c.c.relative_accuracy = C.double(alpha) }
}

// WithoutQuantiles drops the quantile sketch (less memory, faster pushes);
// quantile reads then fail with ErrUnsupported.
func WithoutQuantiles() Option {
	return func(c *config) { c.c.quantiles = 0 }
}

// WithSkipNonFinite skips NaN and ±Inf values (counted in Stats.Rejected)
// instead of refusing the batch with ErrValue.
func WithSkipNonFinite() Option {
	return func(c *config) { c.c.nonfinite_policy = C.AGGREGATOR_NONFINITE_SKIP }
}

// WithMaxKeys caps the number of live series (0: unlimited).
func WithMaxKeys(n uint64, policy KeyPolicy) Option {
	return func(c *config) {
		c.c.max_keys = C.uint64_t(n)
		c.c.key_policy = C.uint32_t(policy)
	}
}

// WithKeyTTL drops a series idle for d of event time (0: never).
func WithKeyTTL(d time.Duration) Option {
	return func(c *config) { c.c.key_ttl = C.int64_t(d) }
}

// WithMemoryLimit refuses pushes (ErrMemoryLimit) that would take the handle
// past bytes of library memory (0: unlimited).
func WithMemoryLimit(bytes uint64) Option {
	return func(c *config) { c.c.memory_limit = C.uint64_t(bytes) }
}

// WithMaxPendingWindows sets how many closed windows pushes, reads and polls
// queue for PollWindows (default 65536). No window is ever dropped: past it,
// closed windows wait in their series (counted in MemoryUsage, so
// WithMemoryLimit bounds them with ErrMemoryLimit) and each PollWindows
// closes more as it makes room; poll until it returns 0 to get them all.
func WithMaxPendingWindows(n uint64) Option {
	return func(c *config) { c.c.max_pending_windows = C.uint64_t(n) }
}

// WithSingleThreaded creates the handle without internal locking in the
// library. The Go wrapper then serializes every call on the handle with its
// own mutex, so it stays safe to share between goroutines; this pays off
// when one goroutine owns the handle.
func WithSingleThreaded() Option {
	return func(c *config) { c.c.threading = C.AGGREGATOR_THREADING_SINGLE }
}

// WithWallClock makes the host's clock drive a time window (sliding,
// tumbling, hopping): every read (Stats, KeyStats, Quantiles, KeyQuantiles,
// StatsPage, AllStats, PollWindows, PendingWindows) first advances the
// watermark to time.Now().UnixNano(), so windows slide, tumbling/hopping
// windows close and series idle past WithKeyTTL expire while no data
// arrives, without the service calling Advance. Timestamps must then be
// UnixNano (what the time.Duration options assume). COUNT windows have no
// time: New refuses the option with ErrConfig. The setting belongs to this Go
// handle, not to the serialized state: Restore/UnmarshalBinary give a handle
// without it (call SetWallClock).
func WithWallClock() Option {
	return func(c *config) { c.wall = true }
}

// SetWallClock turns WithWallClock's behaviour on or off for this handle.
// It refuses COUNT windows with ErrConfig.
func (a *Aggregator) SetWallClock(on bool) error {
	if on {
		cfg, err := a.Config()
		if err != nil {
			return err
		}
		if cfg.Window == WindowCount {
			return &Error{Status: StatusConfig, Msg: "SetWallClock: a COUNT window has no time to advance (window_kind = COUNT)"}
		}
	}
	a.wall.Store(on)
	return nil
}

// Aggregator is a handle to windowed aggregation state held in native memory,
// outside the Go heap. All methods are safe for concurrent use. Close frees
// the native state; a handle that becomes unreachable without Close is freed
// by a runtime cleanup. An Aggregator must not be copied.
//
// The zero value is a closed aggregator that UnmarshalBinary can fill.
type Aggregator struct {
	// mu guards h: methods hold it shared for the duration of their C call,
	// Close holds it exclusively. Under WithSingleThreaded every method
	// holds it exclusively.
	mu      sync.RWMutex
	h       *C.aggregator
	single  bool
	wall    atomic.Bool // WithWallClock: reads advance to the host's clock first
	cleanup runtime.Cleanup
	packs   sync.Pool // *keyPack, reused buffers for string keys
	names   nameRegistry
	totals  atomic.Pointer[totalsTable] // EnableTotals
}

// cleanupsRun counts handles freed by the cleanup (tests use it).
var cleanupsRun atomic.Int64

func freeHandle(h *C.aggregator) {
	C.aggregator_free(h)
	cleanupsRun.Add(1)
}

func (a *Aggregator) attach(h *C.aggregator, single bool) {
	a.h = h
	a.single = single
	a.cleanup = runtime.AddCleanup(a, freeHandle, h)
}

// New creates an aggregator from options over the library's defaults.
func New(opts ...Option) (*Aggregator, error) {
	cfg := config{c: C.wa_config_default()}
	for _, o := range opts {
		o(&cfg)
	}
	r := C.wa_create(cfg.c)
	if err := errFrom(r.status, r.msg); err != nil {
		return nil, err
	}
	a := &Aggregator{}
	a.attach(r.h, cfg.c.threading == C.AGGREGATOR_THREADING_SINGLE)
	if cfg.wall {
		if err := a.SetWallClock(true); err != nil {
			a.Close()
			return nil, &Error{Status: StatusConfig, Msg: "WithWallClock: a COUNT window has no time to advance " +
				"(window_kind = COUNT); use WithSlidingWindow, WithTumblingWindow or WithHoppingWindow"}
		}
	}
	return a, nil
}

// NewCount is the original design's constructor (aggregator_new): a count
// window over the last capacity values, thread-safe, quantiles OFF (quantile
// reads fail with ErrUnsupported; use New(WithCountWindow(n)) for them). A
// capacity outside 1..2^32 is ErrConfig, as in C, C++ and Python.
func NewCount(capacity int64) (*Aggregator, error) {
	r := C.wa_new_count(C.longlong(capacity))
	if err := errFrom(r.status, r.msg); err != nil {
		return nil, err
	}
	a := &Aggregator{}
	a.attach(r.h, false)
	return a, nil
}

// lock takes the handle lock for a call and returns the handle, or nil if
// the aggregator is closed (then the lock is already released).
func (a *Aggregator) lock() *C.aggregator {
	if a.single {
		a.mu.Lock()
	} else {
		a.mu.RLock()
	}
	h := a.h
	if h == nil {
		a.unlock()
	}
	return h
}

// readLock is lock for reads: under WithWallClock it first advances the
// watermark to the host's clock (inside the same lock, one more C call).
func (a *Aggregator) readLock() *C.aggregator {
	h := a.lock()
	if h != nil && a.wall.Load() {
		r := C.wa_advance(h, C.int64_t(time.Now().UnixNano()))
		if r.msg != nil {
			C.free(unsafe.Pointer(r.msg))
		}
	}
	return h
}

func (a *Aggregator) unlock() {
	if a.single {
		a.mu.Unlock()
	} else {
		a.mu.RUnlock()
	}
}

// Close frees the native state. It is idempotent, safe to call concurrently
// with itself and with other methods (it waits for running calls); every
// method called afterwards returns ErrClosed.
func (a *Aggregator) Close() error {
	a.mu.Lock()
	h := a.h
	if h != nil {
		a.h = nil
		a.cleanup.Stop()
		C.aggregator_free(h)
	}
	a.mu.Unlock()
	return nil
}

// Config returns the handle's configuration with defaults resolved.
func (a *Aggregator) Config() (Config, error) {
	h := a.lock()
	if h == nil {
		return Config{}, ErrClosed
	}
	r := C.wa_get_config(h)
	a.unlock()
	if err := errFrom(r.status, r.msg); err != nil {
		return Config{}, err
	}
	return configFromC(&r.c), nil
}

// threadDone tells the library that the calling thread (locked, about to
// end with its goroutine) will not call it again (aggregator_thread_done).
func threadDone() { C.aggregator_thread_done() }

func f64ptr(s []float64) *C.double { return (*C.double)(unsafe.Pointer(unsafe.SliceData(s))) }
func i64ptr(s []int64) *C.int64_t  { return (*C.int64_t)(unsafe.Pointer(unsafe.SliceData(s))) }
func u64ptr(s []uint64) *C.uint64_t {
	return (*C.uint64_t)(unsafe.Pointer(unsafe.SliceData(s)))
}

// optI64ptr / optU64ptr: NULL for an empty slice (an optional C array).
func optI64ptr(s []int64) *C.int64_t {
	if len(s) == 0 {
		return nil
	}
	return i64ptr(s)
}

func optU64ptr(s []uint64) *C.uint64_t {
	if len(s) == 0 {
		return nil
	}
	return u64ptr(s)
}

// ProcessBatch is the original design's call (aggregator_process_batch):
// it pushes values to the default series and returns the mean of its current
// window; NaN on any failure (use Push to see the error) or after Close.
func (a *Aggregator) ProcessBatch(values []float64) float64 {
	h := a.lock()
	if h == nil {
		return math.NaN()
	}
	m := C.aggregator_process_batch(h, f64ptr(values), C.size_t(len(values)))
	a.unlock()
	return float64(m)
}

// Push hands a batch to the library in one call, without copying: values,
// plus optional event timestamps and series keys (nil or empty for none:
// arrival clock / DefaultKey), which must have the same length as values.
// The batch is applied whole or not at all. Push makes no allocation.
func (a *Aggregator) Push(values []float64, timestamps []int64, keys []uint64) error {
	n := len(values)
	if len(timestamps) != 0 && len(timestamps) != n {
		return lengthError("timestamps", len(timestamps), n)
	}
	if len(keys) != 0 && len(keys) != n {
		return lengthError("keys", len(keys), n)
	}
	tp, kp := optI64ptr(timestamps), optU64ptr(keys)
	h := a.lock()
	if h == nil {
		return ErrClosed
	}
	r := C.wa_push(h, f64ptr(values), tp, kp, C.size_t(n))
	a.unlock()
	if r.status != 0 {
		return errFrom(r.status, r.msg)
	}
	if t := a.totals.Load(); t != nil {
		t.add(values, keys, nil)
	}
	return nil
}

// keyPack is a reusable buffer of packed byte-string keys.
type keyPack struct {
	bytes []byte
	offs  []uint32
}

func (a *Aggregator) getPack() *keyPack {
	if p, ok := a.packs.Get().(*keyPack); ok {
		p.bytes = p.bytes[:0]
		p.offs = p.offs[:0]
		return p
	}
	return &keyPack{bytes: make([]byte, 0, 4096), offs: make([]uint32, 0, 256)}
}

func (a *Aggregator) putPack(p *keyPack) {
	if cap(p.bytes) > 16<<20 || cap(p.offs) > 4<<20 {
		return // don't keep a huge buffer alive
	}
	a.packs.Put(p)
}

func (a *Aggregator) pushPacked(values []float64, timestamps []int64, p *keyPack) error {
	n := len(values)
	if len(p.bytes) > math.MaxUint32 {
		return argError("string keys of one batch exceed 4 GiB in total")
	}
	if cap(p.bytes) == 0 {
		p.bytes = make([]byte, 0, 1)
	}
	kb := unsafe.SliceData(p.bytes[:1]) // never NULL, even when every key is empty
	var tp *C.int64_t
	if len(timestamps) != 0 {
		tp = i64ptr(timestamps)
	}
	h := a.lock()
	if h == nil {
		return ErrClosed
	}
	r := C.wa_push_named(h, f64ptr(values), tp, (*C.uint8_t)(unsafe.Pointer(kb)),
		(*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(p.offs))), C.size_t(n))
	a.unlock()
	return errFrom(r.status, r.msg)
}

// PushStrings is Push with byte-string series keys. The keys are packed into
// a reused buffer (one per concurrent caller, pooled per handle) and passed
// in one call; the series id of a key is HashString(key) and its name is kept
// for listing (KeyName). keys may be nil (DefaultKey for every value).
func (a *Aggregator) PushStrings(values []float64, timestamps []int64, keys []string) error {
	return pushNamed(a, values, timestamps, keys)
}

// PushBytes is PushStrings with []byte keys.
func (a *Aggregator) PushBytes(values []float64, timestamps []int64, keys [][]byte) error {
	return pushNamed(a, values, timestamps, keys)
}

// pushNamed packs string or []byte keys into one pooled buffer plus offsets.
func pushNamed[K ~string | ~[]byte](a *Aggregator, values []float64, timestamps []int64, keys []K) error {
	if keys == nil {
		return a.Push(values, timestamps, nil)
	}
	n := len(values)
	if len(timestamps) != 0 && len(timestamps) != n {
		return lengthError("timestamps", len(timestamps), n)
	}
	if len(keys) != n {
		return lengthError("keys", len(keys), n)
	}
	p := a.getPack()
	p.offs = append(p.offs, 0)
	for _, k := range keys {
		p.bytes = append(p.bytes, k...)
		p.offs = append(p.offs, uint32(len(p.bytes)))
	}
	err := a.pushPacked(values, timestamps, p)
	a.putPack(p)
	if t := a.totals.Load(); t != nil && err == nil {
		t.add(values, nil, func(i int) uint64 { return HashString(string(keys[i])) })
	}
	return err
}

// Advance moves the watermark to wm if larger: closes tumbling/hopping
// windows, slides time windows and expires idle keys without new data.
func (a *Aggregator) Advance(wm int64) error {
	h := a.lock()
	if h == nil {
		return ErrClosed
	}
	r := C.wa_advance(h, C.int64_t(wm))
	a.unlock()
	return errFrom(r.status, r.msg)
}

// Stats describes one window. Its layout matches aggregator_stats, so slices
// of it are filled by the library in place.
type Stats struct {
	Count       uint64  // values in the window
	Sum         float64 // compensated sum
	Mean        float64
	Min         float64
	Max         float64
	Variance    float64 // sample variance (n-1); NaN when Count < 2
	Stddev      float64
	WindowStart int64  // inclusive (COUNT: arrival number of the oldest value)
	WindowEnd   int64  // exclusive
	Late        uint64 // values left out as late, lifetime of the series
	Rejected    uint64 // non-finite values skipped, lifetime
	Total       uint64 // values accepted, lifetime
	Watermark   int64  // math.MinInt64 while empty (COUNT: next arrival number)
}

// KeyStats is one series' stats (layout of aggregator_key_stats).
type KeyStats struct {
	Key   uint64
	Stats Stats
}

// Window is one closed tumbling/hopping window (layout of aggregator_window);
// Stats.WindowStart and Stats.WindowEnd are its bounds.
type Window struct {
	Key   uint64
	Stats Stats
}

// Stats returns the current windows of every series merged.
func (a *Aggregator) Stats() (Stats, error) {
	h := a.readLock()
	if h == nil {
		return Stats{}, ErrClosed
	}
	r := C.wa_get_stats(h)
	a.unlock()
	if r.status != 0 {
		return Stats{}, errFrom(r.status, r.msg)
	}
	return *(*Stats)(unsafe.Pointer(&r.s)), nil
}

// KeyStats returns the stats of series key's current window (ErrNotFound if
// the key has no series).
func (a *Aggregator) KeyStats(key uint64) (Stats, error) {
	h := a.readLock()
	if h == nil {
		return Stats{}, ErrClosed
	}
	r := C.wa_get_key_stats(h, C.uint64_t(key))
	a.unlock()
	if r.status != 0 {
		return Stats{}, errFrom(r.status, r.msg)
	}
	return *(*Stats)(unsafe.Pointer(&r.s)), nil
}

func sized(dst []float64, n int) []float64 {
	if cap(dst) < n {
		return make([]float64, n)
	}
	return dst[:n]
}

// Quantiles returns the quantiles qs (each in [0, 1]) over every series'
// window merged, written into dst's storage if it has room. NaN for an empty
// window; q = 0 and q = 1 are the exact min and max.
func (a *Aggregator) Quantiles(qs []float64, dst []float64) ([]float64, error) {
	dst = sized(dst, len(qs))
	h := a.readLock()
	if h == nil {
		return nil, ErrClosed
	}
	if len(qs) == 0 {
		a.unlock()
		return dst, nil
	}
	r := C.wa_get_quantiles(h, f64ptr(qs), C.size_t(len(qs)), f64ptr(dst))
	a.unlock()
	if r.status != 0 {
		return nil, errFrom(r.status, r.msg)
	}
	return dst, nil
}

// KeyQuantiles is Quantiles for one series.
func (a *Aggregator) KeyQuantiles(key uint64, qs []float64, dst []float64) ([]float64, error) {
	dst = sized(dst, len(qs))
	h := a.readLock()
	if h == nil {
		return nil, ErrClosed
	}
	if len(qs) == 0 {
		a.unlock()
		return dst, nil
	}
	r := C.wa_get_key_quantiles(h, C.uint64_t(key), f64ptr(qs), C.size_t(len(qs)), f64ptr(dst))
	a.unlock()
	if r.status != 0 {
		return nil, errFrom(r.status, r.msg)
	}
	return dst, nil
}

// KeyStatsQuantiles is KeyStats and KeyQuantiles in one cgo call: the
// series' stats, and its quantiles qs written into dst's storage if it has
// room (no allocation then). It is the read for a request handler: one
// crossing into C and one binding lock instead of two. The two reads are
// each consistent; a push running concurrently may land between them (as
// between two separate calls). ErrNotFound if the key has no series.
func (a *Aggregator) KeyStatsQuantiles(key uint64, qs []float64, dst []float64) (Stats, []float64, error) {
	dst = sized(dst, len(qs))
	h := a.readLock()
	if h == nil {
		return Stats{}, nil, ErrClosed
	}
	r := C.wa_get_key_stats_q(h, C.uint64_t(key), f64ptr(qs), C.size_t(len(qs)), f64ptr(dst))
	a.unlock()
	if r.status != 0 {
		return Stats{}, nil, errFrom(r.status, r.msg)
	}
	return *(*Stats)(unsafe.Pointer(&r.s)), dst, nil
}

// Cursor iterates over series across calls of StatsPage or KeysPage. The
// zero value starts at the beginning. Every series that exists for the whole
// iteration is returned exactly once.
type Cursor struct {
	position uint64
	started  uint32
	done     uint32
}

// Done reports whether the iteration has returned every series.
func (c *Cursor) Done() bool { return c.done != 0 }

func (c *Cursor) toC() C.aggregator_cursor {
	return *(*C.aggregator_cursor)(unsafe.Pointer(c))
}

func (c *Cursor) fromC(cc C.aggregator_cursor) {
	*c = *(*Cursor)(unsafe.Pointer(&cc))
}

// StatsPage fills dst with the stats of the next len(dst) series and, if qs
// is not empty, dstQ[i*len(qs)+j] with quantile qs[j] of entry i (dstQ needs
// len(dst)*len(qs) room). It returns how many entries it filled; iterate
// until cur.Done().
func (a *Aggregator) StatsPage(cur *Cursor, dst []KeyStats, qs, dstQ []float64) (int, error) {
	qp, qop, err := pageArgs(len(dst), qs, dstQ)
	if err != nil {
		return 0, err
	}
	h := a.readLock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.wa_list_stats(h, cur.toC(), (*C.aggregator_key_stats)(unsafe.Pointer(unsafe.SliceData(dst))),
		C.size_t(len(dst)), qp, C.size_t(len(qs)), qop)
	a.unlock()
	if r.status != 0 {
		return 0, errFrom(r.status, r.msg)
	}
	cur.fromC(r.cur)
	return int(r.n), nil
}

// pageArgs checks the arguments every page call shares (StatsPage,
// PollWindows and their Ex forms): a non-empty dst of n entries and room
// for n*len(qs) quantiles; it returns the C pointers of qs and dstQ (nil
// without quantiles).
func pageArgs(n int, qs, dstQ []float64) (qp, qop *C.double, err error) {
	if len(dstQ) < n*len(qs) {
		return nil, nil, argError("dstQ has length " + strconv.Itoa(len(dstQ)) + ", needs len(dst)*len(qs) = " +
			strconv.Itoa(n*len(qs)))
	}
	if n == 0 {
		return nil, nil, argError("dst is empty")
	}
	if len(qs) != 0 {
		qp, qop = f64ptr(qs), f64ptr(dstQ)
	}
	return qp, qop, nil
}

// AllStats reads every series' stats (and quantiles qs of each, if qs is not
// empty), paging through the library in large pages. It reuses the storage
// of dst and dstQ and returns them resliced: the quantiles of entry i are
// dstQ[i*len(qs) : (i+1)*len(qs)].
func (a *Aggregator) AllStats(dst []KeyStats, qs []float64, dstQ []float64) ([]KeyStats, []float64, error) {
	return allPages(a.StatsPage, dst, qs, dstQ)
}

// allPages is AllStats over any page call (StatsPage, StatsPageEx).
func allPages[T any](page func(*Cursor, []T, []float64, []float64) (int, error),
	dst []T, qs []float64, dstQ []float64) ([]T, []float64, error) {
	nq := len(qs)
	dst = dst[:0]
	dstQ = dstQ[:0]
	var cur Cursor
	for !cur.Done() {
		if cap(dst)-len(dst) < 64 {
			grow := max(len(dst), 256)
			dst = append(dst[:cap(dst)], make([]T, grow)...)[:len(dst)]
		}
		room := cap(dst) - len(dst)
		if need := cap(dst) * nq; cap(dstQ) < need {
			nd := make([]float64, len(dstQ), need)
			copy(nd, dstQ)
			dstQ = nd
		}
		pg := dst[len(dst):cap(dst)]
		pageQ := dstQ[len(dst)*nq : (len(dst)+room)*nq]
		n, err := page(&cur, pg, qs, pageQ)
		if err != nil {
			return dst, dstQ, err
		}
		dst = dst[:len(dst)+n]
		dstQ = dstQ[:len(dst)*nq]
		if n == 0 && !cur.Done() {
			return dst, dstQ, &Error{Status: StatusInternal, Msg: "list_stats returned an empty page before the end"}
		}
	}
	return dst, dstQ, nil
}

// PollWindows moves up to len(dst) closed windows (oldest first) into dst and,
// if qs is not empty, their quantiles into dstQ[i*len(qs)+j]. It returns the
// number moved; windows not moved stay queued. Only tumbling and hopping
// handles have closed windows (others: ErrUnsupported).
func (a *Aggregator) PollWindows(dst []Window, qs, dstQ []float64) (int, error) {
	qp, qop, err := pageArgs(len(dst), qs, dstQ)
	if err != nil {
		return 0, err
	}
	h := a.readLock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.wa_poll_windows(h, (*C.aggregator_window)(unsafe.Pointer(unsafe.SliceData(dst))),
		C.size_t(len(dst)), qp, C.size_t(len(qs)), qop)
	a.unlock()
	if r.status != 0 {
		return 0, errFrom(r.status, r.msg)
	}
	return int(r.n), nil
}

// PendingWindows returns the number of closed windows waiting for
// PollWindows (queued, or waiting in their series while the queue is full),
// and dropped, which is always 0: no closed window is dropped (the result
// stays for compatibility).
func (a *Aggregator) PendingWindows() (pending, dropped uint64, err error) {
	h := a.readLock()
	if h == nil {
		return 0, 0, ErrClosed
	}
	r := C.wa_pending_windows(h)
	a.unlock()
	if r.status != 0 {
		return 0, 0, errFrom(r.status, r.msg)
	}
	return uint64(r.a), uint64(r.b), nil
}

// KeyCount returns the number of live series.
func (a *Aggregator) KeyCount() (int, error) {
	h := a.lock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.wa_key_count(h)
	a.unlock()
	if r.status != 0 {
		return 0, errFrom(r.status, r.msg)
	}
	return int(r.a), nil
}

// KeysPage lists the next len(dst) series ids into dst; iterate until
// cur.Done().
func (a *Aggregator) KeysPage(cur *Cursor, dst []uint64) (int, error) {
	if len(dst) == 0 {
		return 0, argError("dst is empty")
	}
	h := a.lock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.wa_list_keys(h, cur.toC(), u64ptr(dst), C.size_t(len(dst)), nil, 0, nil)
	a.unlock()
	if r.status != 0 {
		return 0, errFrom(r.status, r.msg)
	}
	cur.fromC(r.cur)
	return int(r.n), nil
}

// Keys returns the ids of every live series.
func (a *Aggregator) Keys() ([]uint64, error) {
	n, err := a.KeyCount()
	if err != nil {
		return nil, err
	}
	out := make([]uint64, 0, n+16)
	var cur Cursor
	for !cur.Done() {
		if cap(out)-len(out) < 64 {
			out = append(out[:cap(out)], make([]uint64, max(len(out), 256))...)[:len(out)]
		}
		k, err := a.KeysPage(&cur, out[len(out):cap(out)])
		if err != nil {
			return out, err
		}
		out = out[:len(out)+k]
		if k == 0 && !cur.Done() {
			return out, &Error{Status: StatusInternal, Msg: "list_keys returned an empty page before the end"}
		}
	}
	return out, nil
}

// Key is a series id and its byte name ("" for numeric keys).
type Key struct {
	ID   uint64
	Name string
}

// NamedKeys returns every live series with its name, in pages that carry the
// names in one buffer per call.
func (a *Aggregator) NamedKeys() ([]Key, error) {
	const page = 512
	ids := make([]uint64, page)
	offs := make([]uint32, page+1)
	names := make([]byte, 64<<10)
	var out []Key
	var cur Cursor
	for !cur.Done() {
		h := a.lock()
		if h == nil {
			return out, ErrClosed
		}
		r := C.wa_list_keys(h, cur.toC(), u64ptr(ids), C.size_t(page),
			(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(names))), C.size_t(len(names)),
			(*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(offs))))
		a.unlock()
		if r.status != 0 {
			err := errFrom(r.status, r.msg)
			if Status(r.status) == StatusBuffer && len(names) < 1<<30 {
				names = make([]byte, 4*len(names)) // one name larger than the buffer
				continue
			}
			return out, err
		}
		cur.fromC(r.cur)
		n := int(r.n)
		for i := 0; i < n; i++ {
			out = append(out, Key{ID: ids[i], Name: string(names[offs[i]:offs[i+1]])})
		}
		if n == 0 && !cur.Done() {
			return out, &Error{Status: StatusInternal, Msg: "list_keys returned an empty page before the end"}
		}
	}
	return out, nil
}

// KeyName returns the byte name of series key: the one pushed with it
// (PushStrings, PushBytes) or registered for it (RegisterName, Batcher's
// AddString/AddLabels); "" for a numeric key without a name.
func (a *Aggregator) KeyName(key uint64) (string, error) {
	buf := make([]byte, 64)
	for {
		h := a.lock()
		if h == nil {
			return "", ErrClosed
		}
		r := C.wa_key_name(h, C.uint64_t(key), (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(buf))), C.size_t(len(buf)))
		a.unlock()
		if r.status == 0 {
			if r.n == 0 {
				return a.names.get(key), nil // a name registered on the Go side, or ""
			}
			return string(buf[:r.n]), nil
		}
		err := errFrom(r.status, r.msg)
		if Status(r.status) != StatusBuffer || int(r.n) <= len(buf) {
			return "", err
		}
		buf = make([]byte, int(r.n))
	}
}

// RemoveKey drops series key (its queued closed windows stay queued).
func (a *Aggregator) RemoveKey(key uint64) error {
	h := a.lock()
	if h == nil {
		return ErrClosed
	}
	r := C.wa_remove_key(h, C.uint64_t(key))
	a.unlock()
	return errFrom(r.status, r.msg)
}

// MemoryUsage returns the bytes of native memory the handle holds.
func (a *Aggregator) MemoryUsage() (uint64, error) {
	h := a.lock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.wa_memory_usage(h)
	a.unlock()
	if r.status != 0 {
		return 0, errFrom(r.status, r.msg)
	}
	return uint64(r.a), nil
}

// KeyMemoryUsage returns the bytes held for one series.
func (a *Aggregator) KeyMemoryUsage(key uint64) (uint64, error) {
	h := a.lock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.wa_key_memory_usage(h, C.uint64_t(key))
	a.unlock()
	if r.status != 0 {
		return 0, errFrom(r.status, r.msg)
	}
	return uint64(r.a), nil
}

// MarshalBinary serializes the whole state (versioned, checksummed).
func (a *Aggregator) MarshalBinary() ([]byte, error) {
	h := a.lock()
	if h == nil {
		return nil, ErrClosed
	}
	defer a.unlock()
	r := C.wa_serialized_size(h)
	if r.status != 0 {
		return nil, errFrom(r.status, r.msg)
	}
	size := int(r.n)
	for tries := 0; ; tries++ {
		buf := make([]byte, size)
		w := C.wa_serialize(h, unsafe.Pointer(unsafe.SliceData(buf)), C.size_t(len(buf)))
		if w.status == 0 {
			// The library sizes and writes in one locked pass and never
			// writes past len(buf); never hand out a blob that says otherwise.
			if int(w.n) > len(buf) || int(w.n) < 8+8 ||
				binary.LittleEndian.Uint64(buf[8:16]) != uint64(w.n) {
				return nil, &Error{Status: StatusInternal, Msg: "aggregator_serialize reported " +
					strconv.Itoa(int(w.n)) + " bytes written into a " + strconv.Itoa(len(buf)) +
					"-byte buffer that does not hold a whole state"}
			}
			return buf[:w.n], nil
		}
		err := errFrom(w.status, w.msg)
		// The state can grow between the two calls (concurrent pushes).
		if Status(w.status) != StatusBuffer || tries > 8 {
			return nil, err
		}
		size = max(int(w.n), size) + size/8 + 64
	}
}

func restore(data []byte, single bool) (*C.aggregator, error) {
	th := C.uint32_t(C.AGGREGATOR_THREADING_SHARED)
	if single {
		th = C.AGGREGATOR_THREADING_SINGLE
	}
	var p unsafe.Pointer
	if len(data) != 0 {
		p = unsafe.Pointer(unsafe.SliceData(data))
	}
	r := C.wa_restore(p, C.size_t(len(data)), th)
	if err := errFrom(r.status, r.msg); err != nil {
		return nil, err
	}
	return r.h, nil
}

// Restore builds a new thread-safe aggregator from MarshalBinary output.
func Restore(data []byte) (*Aggregator, error) {
	h, err := restore(data, false)
	if err != nil {
		return nil, err
	}
	a := &Aggregator{}
	a.attach(h, false)
	return a, nil
}

// UnmarshalBinary replaces a's state (if any) with serialized state. It
// works on the zero Aggregator too. On error a is unchanged.
func (a *Aggregator) UnmarshalBinary(data []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	h, err := restore(data, a.single)
	if err != nil {
		return err
	}
	if old := a.h; old != nil {
		a.cleanup.Stop()
		C.aggregator_free(old)
	}
	a.attach(h, a.single)
	return nil
}

// lockPair takes both handles' locks in a fixed order (by address) so that
// a.Merge(b) and b.Merge(a) running at once cannot deadlock with a Close.
func lockPair(a, b *Aggregator) (ha, hb *C.aggregator) {
	first, second := a, b
	if uintptr(unsafe.Pointer(b)) < uintptr(unsafe.Pointer(a)) {
		first, second = b, a
	}
	h1 := first.lock()
	if h1 == nil {
		return nil, nil
	}
	h2 := second.lock()
	if h2 == nil {
		first.unlock()
		return nil, nil
	}
	if first == a {
		return h1, h2
	}
	return h2, h1
}

// Merge adds other's state into a (same configuration required, else
// ErrMismatch): counts, sums, extremes and moments exactly, sketches
// bucket-wise.
func (a *Aggregator) Merge(other *Aggregator) error {
	if other == nil || other == a {
		return argError("merge source must be another aggregator")
	}
	ha, hb := lockPair(a, other)
	if ha == nil {
		return ErrClosed
	}
	r := C.wa_merge(ha, hb)
	a.unlock()
	other.unlock()
	return errFrom(r.status, r.msg)
}

// MergeBinary adds serialized state (MarshalBinary output) into a.
func (a *Aggregator) MergeBinary(data []byte) error {
	var p unsafe.Pointer
	if len(data) != 0 {
		p = unsafe.Pointer(unsafe.SliceData(data))
	}
	h := a.lock()
	if h == nil {
		return ErrClosed
	}
	r := C.wa_merge_serialized(h, p, C.size_t(len(data)))
	a.unlock()
	return errFrom(r.status, r.msg)
}

// Version returns the version of the library actually loaded ("1.0.0").
func Version() string { return C.GoString(C.aggregator_version()) }

// VersionNumber returns major*10000 + minor*100 + patch of the loaded library.
func VersionNumber() uint { return uint(C.aggregator_version_number()) }

var emptyKey [1]byte

// HashKey returns the stable 64-bit id of a byte-string key (XXH3-64, seed
// 0): the series id PushBytes and PushStrings use for it.
func HashKey(key []byte) uint64 {
	p := unsafe.Pointer(&emptyKey[0])
	if len(key) != 0 {
		p = unsafe.Pointer(unsafe.SliceData(key))
	}
	return uint64(C.aggregator_key_hash(p, C.size_t(len(key))))
}

// HashString is HashKey for a string, without copying it.
func HashString(key string) uint64 {
	p := unsafe.Pointer(&emptyKey[0])
	if len(key) != 0 {
		p = unsafe.Pointer(unsafe.StringData(key))
	}
	return uint64(C.aggregator_key_hash(p, C.size_t(len(key))))
}
