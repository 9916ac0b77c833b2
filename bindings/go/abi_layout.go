package windowagg

/*
#include "helpers.h"
*/
import "C"

import "unsafe"

// The Go side of the ABI facts this package copies from windowagg.h, next to
// C's truth (cgo's view of the header), in one table each. init checks the
// layouts (a mismatch would corrupt memory, so it panics at load);
// abi_test.go reports every mismatch and also checks that the tables cover
// every enumerator the header declares and that the package calls every
// exported function.

// abiField is one field of a mirror: its offset in the Go type and in C.
type abiField struct {
	name         string
	goOff, cOff  uintptr
	goSize, cSiz uintptr
}

// abiStruct is a Go type passed to C as-is (zero-copy) and its C struct.
type abiStruct struct {
	goName, cName  string
	goSize, cSize  uintptr
	goAlign, cAlgn uintptr
	fields         []abiField
}

func abiStructs() []abiStruct {
	var s Stats
	var c C.aggregator_stats
	var ks KeyStats
	var ck C.aggregator_key_stats
	var w Window
	var cw C.aggregator_window
	var cur Cursor
	var ccur C.aggregator_cursor
	var sx StatsEx
	var csx C.aggregator_stats_ex
	var kx KeyStatsEx
	var ckx C.aggregator_key_stats_ex
	var wx WindowEx
	var cwx C.aggregator_window_ex
	f := func(name string, goOff, cOff, goSize, cSize uintptr) abiField {
		return abiField{name, goOff, cOff, goSize, cSize}
	}
	return []abiStruct{
		{"Stats", "aggregator_stats", unsafe.Sizeof(s), unsafe.Sizeof(c), unsafe.Alignof(s), unsafe.Alignof(c), []abiField{
			f("count", unsafe.Offsetof(s.Count), unsafe.Offsetof(c.count), unsafe.Sizeof(s.Count), unsafe.Sizeof(c.count)),
			f("sum", unsafe.Offsetof(s.Sum), unsafe.Offsetof(c.sum), unsafe.Sizeof(s.Sum), unsafe.Sizeof(c.sum)),
			f("mean", unsafe.Offsetof(s.Mean), unsafe.Offsetof(c.mean), unsafe.Sizeof(s.Mean), unsafe.Sizeof(c.mean)),
			f("min", unsafe.Offsetof(s.Min), unsafe.Offsetof(c.min), unsafe.Sizeof(s.Min), unsafe.Sizeof(c.min)),
			f("max", unsafe.Offsetof(s.Max), unsafe.Offsetof(c.max), unsafe.Sizeof(s.Max), unsafe.Sizeof(c.max)),
			f("variance", unsafe.Offsetof(s.Variance), unsafe.Offsetof(c.variance), unsafe.Sizeof(s.Variance), unsafe.Sizeof(c.variance)),
			f("stddev", unsafe.Offsetof(s.Stddev), unsafe.Offsetof(c.stddev), unsafe.Sizeof(s.Stddev), unsafe.Sizeof(c.stddev)),
			f("window_start", unsafe.Offsetof(s.WindowStart), unsafe.Offsetof(c.window_start), unsafe.Sizeof(s.WindowStart), unsafe.Sizeof(c.window_start)),
			f("window_end", unsafe.Offsetof(s.WindowEnd), unsafe.Offsetof(c.window_end), unsafe.Sizeof(s.WindowEnd), unsafe.Sizeof(c.window_end)),
			f("late", unsafe.Offsetof(s.Late), unsafe.Offsetof(c.late), unsafe.Sizeof(s.Late), unsafe.Sizeof(c.late)),
			f("rejected", unsafe.Offsetof(s.Rejected), unsafe.Offsetof(c.rejected), unsafe.Sizeof(s.Rejected), unsafe.Sizeof(c.rejected)),
			f("total", unsafe.Offsetof(s.Total), unsafe.Offsetof(c.total), unsafe.Sizeof(s.Total), unsafe.Sizeof(c.total)),
			f("watermark", unsafe.Offsetof(s.Watermark), unsafe.Offsetof(c.watermark), unsafe.Sizeof(s.Watermark), unsafe.Sizeof(c.watermark)),
		}},
		{"KeyStats", "aggregator_key_stats", unsafe.Sizeof(ks), unsafe.Sizeof(ck), unsafe.Alignof(ks), unsafe.Alignof(ck), []abiField{
			f("key", unsafe.Offsetof(ks.Key), unsafe.Offsetof(ck.key), unsafe.Sizeof(ks.Key), unsafe.Sizeof(ck.key)),
			f("stats", unsafe.Offsetof(ks.Stats), unsafe.Offsetof(ck.stats), unsafe.Sizeof(ks.Stats), unsafe.Sizeof(ck.stats)),
		}},
		{"Window", "aggregator_window", unsafe.Sizeof(w), unsafe.Sizeof(cw), unsafe.Alignof(w), unsafe.Alignof(cw), []abiField{
			f("key", unsafe.Offsetof(w.Key), unsafe.Offsetof(cw.key), unsafe.Sizeof(w.Key), unsafe.Sizeof(cw.key)),
			f("stats", unsafe.Offsetof(w.Stats), unsafe.Offsetof(cw.stats), unsafe.Sizeof(w.Stats), unsafe.Sizeof(cw.stats)),
		}},
		{"Cursor", "aggregator_cursor", unsafe.Sizeof(cur), unsafe.Sizeof(ccur), unsafe.Alignof(cur), unsafe.Alignof(ccur), []abiField{
			f("position", unsafe.Offsetof(cur.position), unsafe.Offsetof(ccur.position), unsafe.Sizeof(cur.position), unsafe.Sizeof(ccur.position)),
			f("started", unsafe.Offsetof(cur.started), unsafe.Offsetof(ccur.started), unsafe.Sizeof(cur.started), unsafe.Sizeof(ccur.started)),
			f("done", unsafe.Offsetof(cur.done), unsafe.Offsetof(ccur.done), unsafe.Sizeof(cur.done), unsafe.Sizeof(ccur.done)),
		}},
		{"StatsEx", "aggregator_stats_ex", unsafe.Sizeof(sx), unsafe.Sizeof(csx), unsafe.Alignof(sx), unsafe.Alignof(csx), []abiField{
			f("struct_size", unsafe.Offsetof(sx.structSize), unsafe.Offsetof(csx.struct_size), unsafe.Sizeof(sx.structSize), unsafe.Sizeof(csx.struct_size)),
			f("reserved", unsafe.Offsetof(sx.reserved), unsafe.Offsetof(csx.reserved), unsafe.Sizeof(sx.reserved), unsafe.Sizeof(csx.reserved)),
			f("stats", unsafe.Offsetof(sx.Stats), unsafe.Offsetof(csx.stats), unsafe.Sizeof(sx.Stats), unsafe.Sizeof(csx.stats)),
		}},
		{"KeyStatsEx", "aggregator_key_stats_ex", unsafe.Sizeof(kx), unsafe.Sizeof(ckx), unsafe.Alignof(kx), unsafe.Alignof(ckx), []abiField{
			f("key", unsafe.Offsetof(kx.Key), unsafe.Offsetof(ckx.key), unsafe.Sizeof(kx.Key), unsafe.Sizeof(ckx.key)),
			f("stats", unsafe.Offsetof(kx.Stats), unsafe.Offsetof(ckx.stats), unsafe.Sizeof(kx.Stats), unsafe.Sizeof(ckx.stats)),
		}},
		{"WindowEx", "aggregator_window_ex", unsafe.Sizeof(wx), unsafe.Sizeof(cwx), unsafe.Alignof(wx), unsafe.Alignof(cwx), []abiField{
			f("key", unsafe.Offsetof(wx.Key), unsafe.Offsetof(cwx.key), unsafe.Sizeof(wx.Key), unsafe.Sizeof(cwx.key)),
			f("stats", unsafe.Offsetof(wx.Stats), unsafe.Offsetof(cwx.stats), unsafe.Sizeof(wx.Stats), unsafe.Sizeof(cwx.stats)),
		}},
	}
}

// abiStructMismatches lists every way the Go mirrors differ from C.
func abiStructMismatches() []string {
	var out []string
	for _, st := range abiStructs() {
		if st.goSize != st.cSize {
			out = append(out, st.goName+" size "+itoa(st.goSize)+" != "+st.cName+" size "+itoa(st.cSize))
		}
		if st.goAlign != st.cAlgn {
			out = append(out, st.goName+" alignment "+itoa(st.goAlign)+" != "+st.cName+" alignment "+itoa(st.cAlgn))
		}
		for _, fl := range st.fields {
			if fl.goOff != fl.cOff || fl.goSize != fl.cSiz {
				out = append(out, st.goName+"."+fl.name+" at "+itoa(fl.goOff)+" ("+itoa(fl.goSize)+" bytes) != "+
					st.cName+"."+fl.name+" at "+itoa(fl.cOff)+" ("+itoa(fl.cSiz)+" bytes)")
			}
		}
	}
	return out
}

func itoa(v uintptr) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// abiConst is one enumerator of windowagg.h: its value in C and in the Go
// constant that mirrors it. Enumerators the package only uses as C names
// (C.AGGREGATOR_NONFINITE_SKIP in an Option) have no Go constant and are not
// listed; abi_test.go checks they are referenced as C names instead.
type abiConst struct {
	cName   string
	cValue  int64
	goValue int64
}

func abiConsts() []abiConst {
	return []abiConst{
		{"AGGREGATOR_OK", C.AGGREGATOR_OK, int64(StatusOK)},
		{"AGGREGATOR_EINVAL", C.AGGREGATOR_EINVAL, int64(StatusInvalidArgument)},
		{"AGGREGATOR_ECONFIG", C.AGGREGATOR_ECONFIG, int64(StatusConfig)},
		{"AGGREGATOR_EVALUE", C.AGGREGATOR_EVALUE, int64(StatusValue)},
		{"AGGREGATOR_ENOTFOUND", C.AGGREGATOR_ENOTFOUND, int64(StatusNotFound)},
		{"AGGREGATOR_EBUFFER", C.AGGREGATOR_EBUFFER, int64(StatusBuffer)},
		{"AGGREGATOR_ENOMEM", C.AGGREGATOR_ENOMEM, int64(StatusNoMemory)},
		{"AGGREGATOR_EKEYLIMIT", C.AGGREGATOR_EKEYLIMIT, int64(StatusKeyLimit)},
		{"AGGREGATOR_EMEMLIMIT", C.AGGREGATOR_EMEMLIMIT, int64(StatusMemoryLimit)},
		{"AGGREGATOR_ECORRUPT", C.AGGREGATOR_ECORRUPT, int64(StatusCorrupt)},
		{"AGGREGATOR_EVERSION", C.AGGREGATOR_EVERSION, int64(StatusVersion)},
		{"AGGREGATOR_EMISMATCH", C.AGGREGATOR_EMISMATCH, int64(StatusMismatch)},
		{"AGGREGATOR_EUNSUPPORTED", C.AGGREGATOR_EUNSUPPORTED, int64(StatusUnsupported)},
		{"AGGREGATOR_EINTERNAL", C.AGGREGATOR_EINTERNAL, int64(StatusInternal)},
		{"AGGREGATOR_WINDOW_COUNT", C.AGGREGATOR_WINDOW_COUNT, int64(WindowCount)},
		{"AGGREGATOR_WINDOW_SLIDING", C.AGGREGATOR_WINDOW_SLIDING, int64(WindowSliding)},
		{"AGGREGATOR_WINDOW_TUMBLING", C.AGGREGATOR_WINDOW_TUMBLING, int64(WindowTumbling)},
		{"AGGREGATOR_WINDOW_HOPPING", C.AGGREGATOR_WINDOW_HOPPING, int64(WindowHopping)},
		{"AGGREGATOR_KEYS_REJECT", C.AGGREGATOR_KEYS_REJECT, int64(KeysReject)},
		{"AGGREGATOR_KEYS_EVICT_LRU", C.AGGREGATOR_KEYS_EVICT_LRU, int64(KeysEvictLRU)},
		{"AGGREGATOR_KEYS_OVERFLOW", C.AGGREGATOR_KEYS_OVERFLOW, int64(KeysOverflow)},
		{"AGGREGATOR_ROLLING_COUNT", C.AGGREGATOR_ROLLING_COUNT, int64(RollingCount)},
		{"AGGREGATOR_ROLLING_SUM", C.AGGREGATOR_ROLLING_SUM, int64(RollingSum)},
		{"AGGREGATOR_ROLLING_MEAN", C.AGGREGATOR_ROLLING_MEAN, int64(RollingMean)},
		{"AGGREGATOR_ROLLING_MIN", C.AGGREGATOR_ROLLING_MIN, int64(RollingMin)},
		{"AGGREGATOR_ROLLING_MAX", C.AGGREGATOR_ROLLING_MAX, int64(RollingMax)},
		{"AGGREGATOR_ROLLING_VAR", C.AGGREGATOR_ROLLING_VAR, int64(RollingVar)},
		{"AGGREGATOR_ROLLING_STD", C.AGGREGATOR_ROLLING_STD, int64(RollingStd)},
		{"AGGREGATOR_ROLLING_QUANTILE", C.AGGREGATOR_ROLLING_QUANTILE, int64(RollingQuantile)},
	}
}
