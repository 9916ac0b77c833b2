package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// StreamConfig describes the synthetic keyed event stream. Every process
// that is given the same StreamConfig generates exactly the same events, in
// the same order, so shards can each keep their part and a reference run can
// replay the whole.
type StreamConfig struct {
	Seed   uint64        // PCG seed
	Series int           // number of series
	Events int           // total number of events, all series together
	Start  int64         // event time of the first event (ns since the epoch)
	Span   time.Duration // event time covered by the stream
	Jitter time.Duration // each timestamp is base + U[0, Jitter): out of order by less than Jitter
}

// Event is one observation of a series.
type Event struct {
	Series string
	TS     int64 // event time, ns
	Value  float64
}

// SeriesName is the name of series i. Three families with different value
// distributions cover the sketch's stores: positive (latency), both signs
// (temperature delta) and many exact zeros (queue depth).
func SeriesName(i int) string {
	switch i % 3 {
	case 0:
		return fmt.Sprintf("svc-%03d/latency_ms", i)
	case 1:
		return fmt.Sprintf("svc-%03d/temp_delta", i)
	default:
		return fmt.Sprintf("svc-%03d/queue_depth", i)
	}
}

// Generate calls fn for each event k = 0..Events-1 in stream order. Base
// times are non-decreasing; with allowed lateness >= Jitter no event is ever
// late, in the whole stream or in any subsequence of it.
func Generate(cfg StreamConfig, fn func(k int, e Event)) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed_f1ee7))
	names := make([]string, cfg.Series)
	scale := make([]float64, cfg.Series)
	for i := range names {
		names[i] = SeriesName(i)
		scale[i] = 1 + float64(i%7)
	}
	for k := 0; k < cfg.Events; k++ {
		base := cfg.Start + int64(float64(cfg.Span)*float64(k)/float64(cfg.Events))
		ts := base
		if cfg.Jitter > 0 {
			ts += rng.Int64N(int64(cfg.Jitter))
		}
		i := rng.IntN(cfg.Series)
		var v float64
		switch i % 3 {
		case 0: // log-normal latency, ms
			v = scale[i] * math.Exp(0.8*rng.NormFloat64())
		case 1: // both signs
			v = scale[i] * 2 * rng.NormFloat64()
		default: // integer depth, about a third exact zeros
			v = math.Floor(rng.ExpFloat64() * scale[i] / 2)
		}
		fn(k, Event{Series: names[i], TS: ts, Value: v})
	}
}

// ShardOf says which of n shards event k of series name belongs to.
// "series": by hash of the series name (each series lives in one shard);
// "event": round robin over events (every series is split across shards,
// so its windows are combined pane by pane in the merger).
func ShardOf(partition string, seriesID uint64, k, n int) int {
	if partition == "event" {
		return k % n
	}
	return int(seriesID % uint64(n))
}
