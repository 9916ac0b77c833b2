package main

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	windowagg "github.com/windowagg/windowagg/bindings/go"
)

// AggConfig is the window geometry every shard, the merger and a reference
// run must share: states merge only between handles of the same geometry
// (window kind and size, lateness, accuracy, quantile flag).
type AggConfig struct {
	Window   time.Duration // tumbling window width
	Lateness time.Duration // allowed lateness (also keeps windows open this long)
	Alpha    float64       // quantile sketch relative accuracy
}

// Quantiles reported for every window.
var Quantiles = []float64{0.5, 0.9, 0.99}

// NewAggregator makes a keyed tumbling-window handle of config c.
func NewAggregator(c AggConfig) (*windowagg.Aggregator, error) {
	return windowagg.New(
		windowagg.WithTumblingWindow(c.Window),
		windowagg.WithLateness(c.Lateness),
		windowagg.WithAccuracy(c.Alpha),
		windowagg.WithMaxPendingWindows(1<<22),
	)
}

// WindowResult is one closed window of one series, as the merger serves it.
type WindowResult struct {
	Series    string    `json:"series"`
	Start     int64     `json:"start"` // ns, inclusive
	End       int64     `json:"end"`   // ns, exclusive
	Count     uint64    `json:"count"`
	Sum       float64   `json:"sum"`
	Mean      float64   `json:"mean"`
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	Variance  *float64  `json:"variance"` // sample variance; null when count < 2
	Quantiles []float64 `json:"quantiles"`
}

// ClosedWindows returns every window of a's state as if the stream had
// ended: it restores a copy of the state, advances the copy's watermark to
// the end of time (which closes every open window), and polls all closed
// windows. a itself is left as it was, so a merger can keep merging.
// Results are sorted by series name, then window start.
func ClosedWindows(a *windowagg.Aggregator) ([]WindowResult, error) {
	state, err := a.MarshalBinary()
	if err != nil {
		return nil, err
	}
	cp, err := windowagg.Restore(state)
	if err != nil {
		return nil, err
	}
	defer cp.Close()
	if err := cp.Advance(math.MaxInt64); err != nil {
		return nil, err
	}
	keys, err := cp.NamedKeys()
	if err != nil {
		return nil, err
	}
	names := make(map[uint64]string, len(keys))
	for _, k := range keys {
		names[k.ID] = k.Name
	}
	var out []WindowResult
	buf := make([]windowagg.Window, 1024)
	qbuf := make([]float64, len(buf)*len(Quantiles))
	for {
		n, err := cp.PollWindows(buf, Quantiles, qbuf)
		if err != nil {
			return nil, err
		}
		for i, w := range buf[:n] {
			name, ok := names[w.Key]
			if !ok {
				return nil, fmt.Errorf("closed window of series %#x that has no name", w.Key)
			}
			r := WindowResult{
				Series: name, Start: w.Stats.WindowStart, End: w.Stats.WindowEnd,
				Count: w.Stats.Count, Sum: w.Stats.Sum, Mean: w.Stats.Mean,
				Min: w.Stats.Min, Max: w.Stats.Max,
				Quantiles: slices.Clone(qbuf[i*len(Quantiles) : (i+1)*len(Quantiles)]),
			}
			if !math.IsNaN(w.Stats.Variance) {
				v := w.Stats.Variance
				r.Variance = &v
			}
			out = append(out, r)
		}
		if n < len(buf) {
			break
		}
	}
	if _, dropped, err := cp.PendingWindows(); err != nil {
		return nil, err
	} else if dropped != 0 {
		return nil, errors.New("closed windows were dropped: raise WithMaxPendingWindows")
	}
	slices.SortFunc(out, func(x, y WindowResult) int {
		return cmp.Or(cmp.Compare(x.Series, y.Series), cmp.Compare(x.Start, y.Start))
	})
	return out, nil
}
