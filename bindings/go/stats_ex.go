package windowagg

/*
#include "helpers.h"
*/
import "C"

import "unsafe"

// StatsEx is the extensible stats read (layout of aggregator_stats_ex).
// Today it holds exactly Stats; aggregates added to the library are appended
// as new fields here, so code reading StatsEx keeps compiling and running
// against newer and older libraries (see the struct_size rule next to
// aggregator_stats_ex in windowagg.h: a library older than the header this
// package was built with leaves the newer fields 0).
type StatsEx struct {
	structSize uint32
	reserved   uint32
	Stats      Stats
}

// StatsEx returns the current windows of every series merged, through the
// extensible read (aggregator_get_stats_ex).
func (a *Aggregator) StatsEx() (StatsEx, error) {
	h := a.readLock()
	if h == nil {
		return StatsEx{}, ErrClosed
	}
	r := C.wa_get_stats_ex(h)
	a.unlock()
	if r.status != 0 {
		return StatsEx{}, errFrom(r.status, r.msg)
	}
	return *(*StatsEx)(unsafe.Pointer(&r.s)), nil
}

// KeyStatsEx returns series key's stats through the extensible read
// (aggregator_get_key_stats_ex); ErrNotFound if the key has no series.
func (a *Aggregator) KeyStatsEx(key uint64) (StatsEx, error) {
	h := a.readLock()
	if h == nil {
		return StatsEx{}, ErrClosed
	}
	r := C.wa_get_key_stats_ex(h, C.uint64_t(key))
	a.unlock()
	if r.status != 0 {
		return StatsEx{}, errFrom(r.status, r.msg)
	}
	return *(*StatsEx)(unsafe.Pointer(&r.s)), nil
}
