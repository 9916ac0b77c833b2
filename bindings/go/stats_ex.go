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

// KeyStatsEx is one series of StatsPageEx / AllStatsEx (layout of
// aggregator_key_stats_ex): its key and its StatsEx, so aggregates appended
// to StatsEx appear in listings too.
type KeyStatsEx struct {
	Key   uint64
	Stats StatsEx
}

// WindowEx is one closed window of PollWindowsEx (layout of
// aggregator_window_ex); Stats.Stats.WindowStart/WindowEnd are its bounds.
type WindowEx struct {
	Key   uint64
	Stats StatsEx
}

// StatsPageEx is StatsPage through the extensible page
// (aggregator_list_stats_ex): the same entries, cursor and errors, with a
// StatsEx per series. dst is written in place (records of
// unsafe.Sizeof(KeyStatsEx{}), the size this package was built with).
func (a *Aggregator) StatsPageEx(cur *Cursor, dst []KeyStatsEx, qs, dstQ []float64) (int, error) {
	qp, qop, err := pageArgs(len(dst), qs, dstQ)
	if err != nil {
		return 0, err
	}
	h := a.readLock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.wa_list_stats_ex(h, cur.toC(), unsafe.Pointer(unsafe.SliceData(dst)),
		C.size_t(unsafe.Sizeof(KeyStatsEx{})), C.size_t(len(dst)), qp, C.size_t(len(qs)), qop)
	a.unlock()
	if r.status != 0 {
		return 0, errFrom(r.status, r.msg)
	}
	cur.fromC(r.cur)
	return int(r.n), nil
}

// AllStatsEx is AllStats through StatsPageEx.
func (a *Aggregator) AllStatsEx(dst []KeyStatsEx, qs []float64, dstQ []float64) ([]KeyStatsEx, []float64, error) {
	return allPages(a.StatsPageEx, dst, qs, dstQ)
}

// PollWindowsEx is PollWindows through the extensible poll
// (aggregator_poll_windows_ex): the same windows in the same order, the same
// queue semantics (windows not moved stay queued) and errors, with a StatsEx
// per window.
func (a *Aggregator) PollWindowsEx(dst []WindowEx, qs, dstQ []float64) (int, error) {
	qp, qop, err := pageArgs(len(dst), qs, dstQ)
	if err != nil {
		return 0, err
	}
	h := a.readLock()
	if h == nil {
		return 0, ErrClosed
	}
	r := C.wa_poll_windows_ex(h, unsafe.Pointer(unsafe.SliceData(dst)), C.size_t(unsafe.Sizeof(WindowEx{})),
		C.size_t(len(dst)), qp, C.size_t(len(qs)), qop)
	a.unlock()
	if r.status != 0 {
		return 0, errFrom(r.status, r.msg)
	}
	return int(r.n), nil
}
