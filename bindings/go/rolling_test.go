package windowagg

import (
	"errors"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"
)

// bruteRolling: row i's window recomputed from scratch (rows of its key up
// to i: the last `rows`, or those with t_i - w < t_j), pandas' rules.
func bruteRolling(values []float64, ts []int64, keys []uint64, i int, rows int, w int64, q float64) (nrows, nfinite int, count, sum, mean, min, max, variance, quant float64) {
	var win []int
	for j := 0; j <= i; j++ {
		if keys == nil || keys[j] == keys[i] {
			if rows == 0 && ts[i]-w >= ts[j] {
				continue
			}
			win = append(win, j)
		}
	}
	if rows > 0 && len(win) > rows {
		win = win[len(win)-rows:]
	}
	var xs []float64
	for _, j := range win {
		if !math.IsNaN(values[j]) {
			count++
		}
		if !math.IsInf(values[j], 0) && !math.IsNaN(values[j]) {
			xs = append(xs, values[j])
		}
	}
	nrows, nfinite = len(win), len(xs)
	nan := math.NaN()
	min, max, mean, variance, quant = nan, nan, nan, nan, nan
	for _, x := range xs {
		sum += x
	}
	if len(xs) > 0 {
		mean = sum / float64(len(xs))
		sort.Float64s(xs)
		min, max = xs[0], xs[len(xs)-1]
		h := q * float64(len(xs)-1)
		k := int(h)
		quant = xs[k]
		if k+1 < len(xs) {
			quant = xs[k] + (xs[k+1]-xs[k])*(h-float64(k))
		}
	}
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		variance = ss / float64(len(xs)-1)
	}
	return
}

func closeOrBothNaN(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*(1+math.Abs(b))
}

func TestRollingMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	n := 600
	values := make([]float64, n)
	ts := make([]int64, n)
	keys := make([]uint64, n)
	for i := range values {
		switch r := rng.Intn(100); {
		case r < 5:
			values[i] = math.NaN()
		case r < 7:
			values[i] = math.Inf(1)
		default:
			values[i] = math.Round(rng.NormFloat64()*100) / 4
		}
		keys[i] = uint64(rng.Intn(5)) * 0x9E3779B97F4A7C15
		ts[i] = int64(rng.Intn(10000)) * int64(time.Second) // not in time order: Rolling sorts
	}
	for _, opts := range []RollingOptions{
		{Rows: 7, MinPeriods: NoMinPeriods},
		{Rows: 1},
		{Window: 90 * time.Second},
		{Window: 1500 * time.Millisecond, TimeUnit: time.Millisecond},
	} {
		tsIn := ts
		if opts.TimeUnit == time.Millisecond {
			tsIn = make([]int64, n)
			for i := range ts {
				tsIn[i] = ts[i] / int64(time.Millisecond)
			}
		}
		opts.Aggregates = []RollingAggregate{RollingCount, RollingSum, RollingMean, RollingMin, RollingMax, RollingVar, RollingStd}
		opts.Quantiles = []float64{0.99}
		got, err := Rolling(values, tsIn, keys, opts)
		if err != nil {
			t.Fatal(err)
		}
		// The reference needs each key's rows in time order: walk rows in
		// stable time order, as Rolling does.
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		if opts.Rows == 0 {
			sort.SliceStable(order, func(a, b int) bool { return ts[order[a]] < ts[order[b]] })
		}
		v2, t2, k2 := make([]float64, n), make([]int64, n), make([]uint64, n)
		for i, p := range order {
			v2[i], t2[i], k2[i] = values[p], ts[p], keys[p]
		}
		w := int64(opts.Window)
		for i, p := range order {
			nrows, nfinite, c, s, m, lo, hi, va, q := bruteRolling(v2, t2, k2, i, opts.Rows, w, 0.99)
			minp := opts.MinPeriods
			switch {
			case minp == 0 && opts.Rows > 0:
				minp = opts.Rows
			case minp == 0:
				minp = 1
			case minp == NoMinPeriods:
				minp = 0
			}
			nan := math.NaN()
			if nrows < minp {
				c = nan
			}
			if nfinite < minp {
				s, m, lo, hi, va, q = nan, nan, nan, nan, nan, nan
			}
			for name, pair := range map[string][2]float64{
				"count": {got.Count[p], c}, "sum": {got.Sum[p], s},
				"mean": {got.Mean[p], m}, "min": {got.Min[p], lo}, "max": {got.Max[p], hi},
				"var": {got.Var[p], va}, "std": {got.Std[p], math.Sqrt(va)}, "p99": {got.Quantiles[0][p], q},
			} {
				if !closeOrBothNaN(pair[0], pair[1]) {
					t.Fatalf("%+v row %d %s: got %v want %v", opts, p, name, pair[0], pair[1])
				}
			}
		}
	}
}

func TestRollingErrors(t *testing.T) {
	v := []float64{1, 2, 3}
	cases := []struct {
		opts RollingOptions
		ts   []int64
		keys []uint64
		want string
	}{
		{RollingOptions{}, nil, nil, "exactly one of Rows"},
		{RollingOptions{Rows: 2, Window: time.Second}, nil, nil, "exactly one of Rows"},
		{RollingOptions{Window: time.Second}, nil, nil, "timestamps has length 0"},
		{RollingOptions{Rows: 2}, nil, []uint64{1}, "keys has length 1"},
		{RollingOptions{Rows: 2, MinPeriods: 3}, nil, nil, "min_periods 3 is larger"},
		{RollingOptions{Rows: 2, Quantiles: []float64{2}}, nil, nil, "q is 2"},
		{RollingOptions{Rows: 2, Aggregates: []RollingAggregate{RollingQuantile}}, nil, nil, "not a RollingAggregate"},
		{RollingOptions{Window: 1500 * time.Microsecond, TimeUnit: time.Millisecond}, []int64{1, 2, 3}, nil, "not a whole number"},
	}
	for _, c := range cases {
		_, err := Rolling(v, c.ts, c.keys, c.opts)
		if err == nil || !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want ErrInvalidArgument with %q", c.opts, err, c.want)
		}
	}
}
