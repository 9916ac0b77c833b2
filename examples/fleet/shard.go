package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	windowagg "github.com/windowagg/windowagg/bindings/go"
)

// ShardReport is what a shard prints (one JSON line on stdout) when done.
type ShardReport struct {
	Shard         int    `json:"shard"`
	Events        int    `json:"events"`
	Series        int    `json:"series"`
	StateBytes    int    `json:"state_bytes"`
	ClosedInShard uint64 `json:"closed_in_shard"` // windows closed before shipping (queued in the state)
}

// Aggregate builds the state of shard `shard` of `shards` (shards <= 1: the
// whole stream) in batches of `batch` events.
func Aggregate(s StreamConfig, a AggConfig, partition string, shard, shards, batch int) (*windowagg.Aggregator, int, error) {
	agg, err := NewAggregator(a)
	if err != nil {
		return nil, 0, err
	}
	var (
		vals  = make([]float64, 0, batch)
		ts    = make([]int64, 0, batch)
		names = make([]string, 0, batch)
		ids   = map[string]uint64{}
		n     int
		perr  error
	)
	flush := func() {
		if len(vals) > 0 && perr == nil {
			perr = agg.PushStrings(vals, ts, names)
		}
		vals, ts, names = vals[:0], ts[:0], names[:0]
	}
	Generate(s, func(k int, e Event) {
		if shards > 1 {
			id, ok := ids[e.Series]
			if !ok {
				id = windowagg.HashString(e.Series)
				ids[e.Series] = id
			}
			if ShardOf(partition, id, k, shards) != shard {
				return
			}
		}
		n++
		vals, ts, names = append(vals, e.Value), append(ts, e.TS), append(names, e.Series)
		if len(vals) == batch {
			flush()
		}
	})
	flush()
	if perr != nil {
		agg.Close()
		return nil, 0, perr
	}
	return agg, n, nil
}

func runShard(args []string) error {
	fs := flag.NewFlagSet("shard", flag.ExitOnError)
	var s StreamConfig
	var a AggConfig
	streamFlags(fs, &s)
	aggFlags(fs, &a)
	merger := fs.String("merger", "", "merger base URL, e.g. http://127.0.0.1:8080")
	shard := fs.Int("shard", 0, "this shard's index, 0..shards-1")
	shards := fs.Int("shards", 1, "number of shards")
	partition := fs.String("partition", "series", `"series" (hash of the series name) or "event" (round robin: series split across shards)`)
	batch := fs.Int("batch", 1024, "events per push")
	wait := fs.Duration("wait", 30*time.Second, "how long to retry while the merger is not up")
	fs.Parse(args)
	if *merger == "" {
		return errors.New("-merger is required")
	}
	if *shard < 0 || *shard >= *shards {
		return fmt.Errorf("-shard %d outside 0..%d", *shard, *shards-1)
	}
	if *partition != "series" && *partition != "event" {
		return fmt.Errorf("-partition %q: want series or event", *partition)
	}
	agg, n, err := Aggregate(s, a, *partition, *shard, *shards, *batch)
	if err != nil {
		return err
	}
	defer agg.Close()
	pending, _, err := agg.PendingWindows()
	if err != nil {
		return err
	}
	if *partition == "event" && pending > 0 {
		// A window split across shards must still be open when it is merged:
		// closed windows travel as finished partial windows and are not combined.
		fmt.Fprintf(os.Stderr, "fleet shard %d: warning: %d windows closed before shipping; with "+
			"-partition event raise -lateness past the stream's span\n", *shard, pending)
	}
	state, err := agg.MarshalBinary()
	if err != nil {
		return err
	}
	keys, err := agg.KeyCount()
	if err != nil {
		return err
	}
	if err := postState(*merger+"/state", *shard, state, *wait); err != nil {
		return err
	}
	rep := ShardReport{Shard: *shard, Events: n, Series: keys, StateBytes: len(state), ClosedInShard: pending}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// postState POSTs the state, retrying connection errors (the merger may still
// be starting) until `wait` has passed. A refusal by the merger is final.
func postState(url string, shard int, state []byte, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	client := &http.Client{Timeout: 30 * time.Second}
	for {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(state))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("X-Shard", strconv.Itoa(shard))
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("merger refused the state: %s: %s", resp.Status, bytes.TrimSpace(body))
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("merger not reachable: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
