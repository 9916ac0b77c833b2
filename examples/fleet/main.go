// Command fleet shows windowagg state merged across processes.
//
//	fleet merger -listen 127.0.0.1:0 -expect 3
//	fleet shard  -merger http://127.0.0.1:PORT -shard 0 -shards 3   (and 1, 2)
//
// Each shard generates the same deterministic synthetic stream (see
// StreamConfig), keeps the events of its shard (by hash of the series name,
// or round robin with -partition event), aggregates them into a keyed
// tumbling-window handle and POSTs the handle's serialized state
// (MarshalBinary) to the merger. The merger merges every state it receives
// (MergeBinary) into one handle and serves the merged per-series windows:
//
//	GET  /windows   every window of every series as JSON (503 until -expect states arrived;
//	                ?partial=1 answers anyway)
//	GET  /status    states merged, series, merged state size
//	POST /state     a serialized state (body), merged into the fleet's handle
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: fleet shard|merger [flags] (fleet <mode> -h for the flags)\n")
	os.Exit(2)
}

// streamFlags registers the stream flags (shards only: the merger never sees events).
func streamFlags(fs *flag.FlagSet, s *StreamConfig) {
	fs.Uint64Var(&s.Seed, "seed", 1, "stream seed")
	fs.IntVar(&s.Series, "series", 60, "number of series")
	fs.IntVar(&s.Events, "events", 60000, "events in the whole stream (all shards)")
	fs.Int64Var(&s.Start, "start", 1_700_000_000_000_000_000, "event time of the first event, ns")
	fs.DurationVar(&s.Span, "span", 2*time.Minute, "event time the stream covers")
	fs.DurationVar(&s.Jitter, "jitter", 2*time.Second, "timestamps are out of order by less than this")
}

// aggFlags registers the window flags, which must be the same in every
// process: states of different geometry refuse to merge.
func aggFlags(fs *flag.FlagSet, a *AggConfig) {
	fs.DurationVar(&a.Window, "window", 10*time.Second, "tumbling window width")
	fs.DurationVar(&a.Lateness, "lateness", 2*time.Second, "allowed lateness (>= -jitter: nothing is late)")
	fs.Float64Var(&a.Alpha, "alpha", 0.01, "quantile relative accuracy")
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "shard":
		err = runShard(os.Args[2:])
	case "merger":
		err = runMerger(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
