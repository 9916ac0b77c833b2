package windowagg

/*
#cgo pkg-config: windowagg
#include "helpers.h"
*/
import "C"

import (
	"unsafe"
)

// errFrom turns a helper's (status, copied message) into an error, freeing
// the copy. The fast path (status 0) does nothing.
func errFrom(status C.int, msg *C.char) error {
	if status == 0 {
		return nil
	}
	m := ""
	if msg != nil {
		m = C.GoString(msg)
		C.free(unsafe.Pointer(msg))
	}
	return &Error{Status: Status(status), Msg: m}
}

// emptyCgoCall is a no-op C call: the baseline cost of crossing into C,
// used by the benchmarks.
func emptyCgoCall() { C.wa_noop() }

// Compile-time layout checks: Stats, KeyStats, Window and Cursor are passed
// to C as-is (zero-copy), so they must match the C structs byte for byte.
var (
	_ [unsafe.Sizeof(Stats{}) - unsafe.Sizeof(C.aggregator_stats{})]byte
	_ [unsafe.Sizeof(C.aggregator_stats{}) - unsafe.Sizeof(Stats{})]byte
	_ [unsafe.Sizeof(KeyStats{}) - unsafe.Sizeof(C.aggregator_key_stats{})]byte
	_ [unsafe.Sizeof(C.aggregator_key_stats{}) - unsafe.Sizeof(KeyStats{})]byte
	_ [unsafe.Sizeof(Window{}) - unsafe.Sizeof(C.aggregator_window{})]byte
	_ [unsafe.Sizeof(C.aggregator_window{}) - unsafe.Sizeof(Window{})]byte
	_ [unsafe.Sizeof(Cursor{}) - unsafe.Sizeof(C.aggregator_cursor{})]byte
	_ [unsafe.Sizeof(C.aggregator_cursor{}) - unsafe.Sizeof(Cursor{})]byte
)

func init() {
	var s Stats
	var c C.aggregator_stats
	var ks KeyStats
	var ck C.aggregator_key_stats
	var w Window
	var cw C.aggregator_window
	var cur Cursor
	var ccur C.aggregator_cursor
	ok := unsafe.Offsetof(s.Count) == unsafe.Offsetof(c.count) &&
		unsafe.Offsetof(s.Sum) == unsafe.Offsetof(c.sum) &&
		unsafe.Offsetof(s.Mean) == unsafe.Offsetof(c.mean) &&
		unsafe.Offsetof(s.Min) == unsafe.Offsetof(c.min) &&
		unsafe.Offsetof(s.Max) == unsafe.Offsetof(c.max) &&
		unsafe.Offsetof(s.Variance) == unsafe.Offsetof(c.variance) &&
		unsafe.Offsetof(s.Stddev) == unsafe.Offsetof(c.stddev) &&
		unsafe.Offsetof(s.WindowStart) == unsafe.Offsetof(c.window_start) &&
		unsafe.Offsetof(s.WindowEnd) == unsafe.Offsetof(c.window_end) &&
		unsafe.Offsetof(s.Late) == unsafe.Offsetof(c.late) &&
		unsafe.Offsetof(s.Rejected) == unsafe.Offsetof(c.rejected) &&
		unsafe.Offsetof(s.Total) == unsafe.Offsetof(c.total) &&
		unsafe.Offsetof(s.Watermark) == unsafe.Offsetof(c.watermark) &&
		unsafe.Offsetof(ks.Key) == unsafe.Offsetof(ck.key) &&
		unsafe.Offsetof(ks.Stats) == unsafe.Offsetof(ck.stats) &&
		unsafe.Offsetof(w.Key) == unsafe.Offsetof(cw.key) &&
		unsafe.Offsetof(w.Stats) == unsafe.Offsetof(cw.stats) &&
		unsafe.Offsetof(cur.position) == unsafe.Offsetof(ccur.position) &&
		unsafe.Offsetof(cur.started) == unsafe.Offsetof(ccur.started) &&
		unsafe.Offsetof(cur.done) == unsafe.Offsetof(ccur.done)
	if !ok {
		panic("windowagg: Go struct layout does not match windowagg.h")
	}
}

// rawPushNothing calls aggregator_push with an empty batch, bypassing the
// Go wrapper (no lock, no checks): the benchmarks' split of call overhead.
func rawPushNothing(a *Aggregator) { C.wa_push(a.h, nil, nil, nil, 0) }
