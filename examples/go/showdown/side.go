package main

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"time"
)

// quantiles every side reports, per series.
var qs = [3]float64{0.5, 0.99, 0.999}

// result is one series' windowed answer.
type result struct {
	Count uint64
	Sum   float64
	Mean  float64
	Min   float64
	Max   float64
	Q     [3]float64 // p50, p99, p999
}

// side is one implementation of "100k sliding windows with quantiles".
type side interface {
	name() string
	// ingest applies a batch of events. It may be called concurrently with
	// query (the request loop) and must do its own locking.
	ingest(b *batch)
	// flush makes everything ingested so far visible to queries.
	flush()
	// query answers one series by index (for the request handler and the
	// agreement check). ok=false if the series is unknown.
	query(s int32) (result, bool)
	// readAll computes count + p50/p99/p999 for every series once and
	// returns how many series it read.
	readAll() int
	// note is an extra line for the report (native memory etc.).
	note() string
	close()
}

// exactRank is the rank every side and the library use: floor(q*(n-1)).
func exactRank(q float64, n int) int {
	if n <= 0 {
		return -1
	}
	return int(math.Floor(q * float64(n-1)))
}

// quantilesBySort is the typical service's way: sort a copy.
func quantilesBySort(v []float64) [3]float64 {
	var out [3]float64
	if len(v) == 0 {
		return [3]float64{math.NaN(), math.NaN(), math.NaN()}
	}
	slices.Sort(v)
	for i, q := range qs {
		out[i] = v[exactRank(q, len(v))]
	}
	return out
}

// quantilesBySelect is the tuned way: three selections, largest rank first,
// each on the prefix the previous one left (v is permuted).
func quantilesBySelect(v []float64) [3]float64 {
	var out [3]float64
	n := len(v)
	if n == 0 {
		return [3]float64{math.NaN(), math.NaN(), math.NaN()}
	}
	hi := n
	for i := len(qs) - 1; i >= 0; i-- {
		k := exactRank(qs[i], n)
		out[i] = selectK(v[:hi], k)
		hi = k + 1
	}
	return out
}

// selectK returns the k-th smallest element of v (0-based), permuting v so
// that v[:k] <= v[k] <= v[k+1:] (Hoare quickselect, median of three).
func selectK(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for hi > lo {
		if hi-lo < 16 {
			// insertion sort the small range
			for i := lo + 1; i <= hi; i++ {
				x := v[i]
				j := i - 1
				for j >= lo && v[j] > x {
					v[j+1] = v[j]
					j--
				}
				v[j+1] = x
			}
			return v[k]
		}
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// summarize fills count/sum/mean/min/max from window values.
func summarize(v []float64) result {
	r := result{Count: uint64(len(v)), Min: math.NaN(), Max: math.NaN(), Mean: math.NaN()}
	if len(v) == 0 {
		return r
	}
	r.Min, r.Max = v[0], v[0]
	for _, x := range v {
		r.Sum += x
		r.Min = min(r.Min, x)
		r.Max = max(r.Max, x)
	}
	r.Mean = r.Sum / float64(len(v))
	return r
}

// statsJSON is the small JSON answer of the request loop's endpoint.
type statsJSON struct {
	Series string   `json:"series"`
	Count  uint64   `json:"count"`
	Mean   *float64 `json:"mean"`
	Max    *float64 `json:"max"`
	P50    *float64 `json:"p50"`
	P99    *float64 `json:"p99"`
	P999   *float64 `json:"p999"`
}

func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// statsHandler is the in-process HTTP endpoint the request loop hits:
// GET /stats?series=NAME -> small JSON document. It stores the duration of
// its sd.query call in *readNs (the request loop's breakdown).
func statsHandler(u *universe, sd side, readNs *int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("series")
		idx, ok := u.index[name]
		if !ok {
			http.Error(w, "unknown series", http.StatusNotFound)
			return
		}
		t := time.Now()
		res, ok := sd.query(idx)
		*readNs = int64(time.Since(t))
		if !ok {
			http.Error(w, "unknown series", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(statsJSON{
			Series: name, Count: res.Count, Mean: num(res.Mean), Max: num(res.Max),
			P50: num(res.Q[0]), P99: num(res.Q[1]), P999: num(res.Q[2]),
		})
	})
}
