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
	if bad := abiStructMismatches(); len(bad) > 0 {
		panic("windowagg: Go struct layout does not match windowagg.h: " + bad[0])
	}
}

// rawPushNothing calls aggregator_push with an empty batch, bypassing the
// Go wrapper (no lock, no checks): the benchmarks' split of call overhead.
func rawPushNothing(a *Aggregator) { C.wa_push(a.h, nil, nil, nil, 0) }
