package windowagg

/*
#include "helpers.h"
*/
import "C"

import (
	"runtime"
	"sort"
	"strconv"
	"time"
	"unsafe"
)

// RollingAggregate is a per-row rolling aggregate (AGGREGATOR_ROLLING_* in
// windowagg.h).
type RollingAggregate uint32

// Per-row rolling aggregates. Quantiles are asked for through
// RollingOptions.Quantiles.
const (
	RollingCount    RollingAggregate = 0 // non-NaN values in the window (Inf included, as pandas' count)
	RollingSum      RollingAggregate = 1 // compensated sum of the finite values (0 for none)
	RollingMean     RollingAggregate = 2
	RollingMin      RollingAggregate = 3
	RollingMax      RollingAggregate = 4
	RollingVar      RollingAggregate = 5 // sample variance (n-1)
	RollingStd      RollingAggregate = 6 // sqrt(RollingVar)
	RollingQuantile RollingAggregate = 7 // exact, pandas' 'linear' interpolation
)

// NoMinPeriods as RollingOptions.MinPeriods is pandas' min_periods=0: every
// row gets a value (NaN where the aggregate has no value to give).
const NoMinPeriods = -1

// RollingOptions selects the window and the aggregates of Rolling.
type RollingOptions struct {
	// Exactly one of Rows (the last Rows rows of the row's key) and Window
	// (the time span (t - Window, t] over the timestamps) is set.
	Rows   int
	Window time.Duration
	// TimeUnit is what one timestamp unit is (default time.Nanosecond, as
	// time.Time.UnixNano gives); Window must be a whole number of it.
	TimeUnit time.Duration
	// MinPeriods: 0 = pandas' default (Rows: Rows; Window: 1); n > 0: rows
	// with fewer than n finite values in the window get NaN; NoMinPeriods:
	// pandas' min_periods=0.
	MinPeriods int
	// Aggregates to compute (RollingQuantile is not one of them: use
	// Quantiles); empty: count, mean, std, min, max.
	Aggregates []RollingAggregate
	// Quantiles in [0, 1], each computed exactly (pandas'
	// rolling().quantile(q), interpolation 'linear').
	Quantiles []float64
}

// RollingResult holds one value per input row, in input order, for each
// aggregate asked for (nil for the others).
type RollingResult struct {
	Count, Sum, Mean, Min, Max, Var, Std []float64
	// Quantiles[j] is RollingOptions.Quantiles[j] of each row's window.
	Quantiles [][]float64
}

// Rolling computes per-row rolling aggregates in one library call
// (aggregator_rolling), pandas' df.groupby(key).rolling(window).agg(...):
// for each row, the aggregates of the row's window within its key. keys may
// be nil (one key); timestamps are required for a time Window and ignored
// for Rows. Rows need not be in time order: if they are not, they are
// processed in time order (stable: ties keep their input order) and the
// results are still returned in input order. NaN and ±Inf values are left
// out of every aggregate (pandas' semantics; RollingCount counts Inf). Rows
// whose window has too few values (MinPeriods) get NaN.
//
// Errors are *Error with StatusInvalidArgument (bad window, lengths,
// aggregate or quantile, with a message naming it) or StatusNoMemory.
// Safe for concurrent use: no state is shared between calls.
func Rolling(values []float64, timestamps []int64, keys []uint64, opts RollingOptions) (*RollingResult, error) {
	n := len(values)
	if len(keys) != 0 && len(keys) != n {
		return nil, lengthError("keys", len(keys), n)
	}
	var kind C.uint32_t
	var window int64
	switch {
	case opts.Rows > 0 && opts.Window == 0:
		kind, window = C.AGGREGATOR_WINDOW_COUNT, int64(opts.Rows)
		timestamps = nil
	case opts.Rows == 0 && opts.Window > 0:
		unit := opts.TimeUnit
		if unit == 0 {
			unit = time.Nanosecond
		}
		if unit < 0 || opts.Window%unit != 0 {
			return nil, argError("RollingOptions: Window " + opts.Window.String() + " is not a whole number of TimeUnit " + unit.String())
		}
		kind, window = C.AGGREGATOR_WINDOW_SLIDING, int64(opts.Window/unit)
		if len(timestamps) != n {
			return nil, lengthError("timestamps", len(timestamps), n)
		}
	default:
		return nil, argError("RollingOptions: set exactly one of Rows > 0 (the last N rows) and Window > 0 (a time span); got Rows " +
			strconv.Itoa(opts.Rows) + ", Window " + opts.Window.String())
	}
	minPeriods := int64(opts.MinPeriods)
	switch {
	case opts.MinPeriods == 0:
		minPeriods = -1 // the library's "pandas default"
	case opts.MinPeriods == NoMinPeriods:
		minPeriods = 0
	case opts.MinPeriods < 0:
		return nil, argError("RollingOptions: MinPeriods " + strconv.Itoa(opts.MinPeriods) + " (0: default, NoMinPeriods, or > 0)")
	}
	aggs := opts.Aggregates
	if len(aggs) == 0 && len(opts.Quantiles) == 0 {
		aggs = []RollingAggregate{RollingCount, RollingMean, RollingStd, RollingMin, RollingMax}
	}
	codes := make([]uint32, 0, len(aggs)+len(opts.Quantiles))
	qs := make([]float64, 0, cap(codes))
	for _, a := range aggs {
		if a >= RollingQuantile {
			return nil, argError("RollingOptions: Aggregates holds " + strconv.Itoa(int(a)) + ", not a RollingAggregate (quantiles go in Quantiles)")
		}
		codes = append(codes, uint32(a))
		qs = append(qs, 0)
	}
	for _, q := range opts.Quantiles {
		codes = append(codes, uint32(RollingQuantile))
		qs = append(qs, q)
	}

	// Time order, if the rows are not in it (each key's rows must be).
	var perm []int
	if kind == C.AGGREGATOR_WINDOW_SLIDING {
		for i := 1; i < n; i++ {
			if timestamps[i] < timestamps[i-1] {
				perm = make([]int, n)
				for j := range perm {
					perm[j] = j
				}
				sort.SliceStable(perm, func(a, b int) bool { return timestamps[perm[a]] < timestamps[perm[b]] })
				break
			}
		}
	}
	v, t, k := values, timestamps, keys
	if perm != nil {
		v, t = make([]float64, n), make([]int64, n)
		for i, p := range perm {
			v[i], t[i] = values[p], timestamps[p]
		}
		if len(keys) != 0 {
			k = make([]uint64, n)
			for i, p := range perm {
				k[i] = keys[p]
			}
		}
	}
	out := make([]float64, len(codes)*n)
	tp, kp := optI64ptr(t), optU64ptr(k)
	var codesP *C.uint32_t
	var qsP *C.double
	if len(codes) != 0 {
		codesP = (*C.uint32_t)(unsafe.Pointer(unsafe.SliceData(codes)))
		qsP = f64ptr(qs)
	}
	r := C.wa_rolling(kind, C.int64_t(window), C.int64_t(minPeriods), f64ptr(v), tp, kp, C.size_t(n),
		codesP, qsP, C.size_t(len(codes)), f64ptr(out))
	runtime.KeepAlive(codes)
	if r.status != 0 {
		if r.msg == nil && r.status == C.AGGREGATOR_ENOMEM {
			return nil, &Error{Status: StatusNoMemory, Msg: "Rolling: could not allocate the output descriptors"}
		}
		return nil, errFrom(r.status, r.msg)
	}
	if perm != nil { // back to input order
		back := make([]float64, len(out))
		for j := range codes {
			col, dst := out[j*n:(j+1)*n], back[j*n:(j+1)*n]
			for i, p := range perm {
				dst[p] = col[i]
			}
		}
		out = back
	}
	res := &RollingResult{}
	for j, a := range codes {
		col := out[j*n : (j+1)*n : (j+1)*n]
		switch RollingAggregate(a) {
		case RollingCount:
			res.Count = col
		case RollingSum:
			res.Sum = col
		case RollingMean:
			res.Mean = col
		case RollingMin:
			res.Min = col
		case RollingMax:
			res.Max = col
		case RollingVar:
			res.Var = col
		case RollingStd:
			res.Std = col
		case RollingQuantile:
			res.Quantiles = append(res.Quantiles, col)
		}
	}
	return res, nil
}
