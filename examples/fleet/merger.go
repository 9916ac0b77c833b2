package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"

	windowagg "github.com/windowagg/windowagg/bindings/go"
)

type merger struct {
	agg     *windowagg.Aggregator
	expect  int
	maxBody int64
	mu      sync.Mutex
	shards  map[string]int // X-Shard -> state bytes received
	bytes   int
}

func (m *merger) handleState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a serialized state", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, m.maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	shard := r.Header.Get("X-Shard")
	m.mu.Lock()
	defer m.mu.Unlock()
	// One state per shard: a retried POST must not be counted twice, since
	// merging the same state twice would double every count.
	if _, dup := m.shards[shard]; dup && shard != "" {
		http.Error(w, "state of shard "+shard+" already merged", http.StatusConflict)
		return
	}
	if err := m.agg.MergeBinary(body); err != nil {
		// Corrupt, wrong version or other geometry: the handle is unchanged.
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if shard == "" {
		shard = "anon-" + strconv.Itoa(len(m.shards))
	}
	m.shards[shard] = len(body)
	m.bytes += len(body)
	writeJSON(w, map[string]any{"merged": len(m.shards), "bytes": len(body)})
}

func (m *merger) status() map[string]any {
	m.mu.Lock()
	states, received := len(m.shards), m.bytes
	m.mu.Unlock()
	keys, _ := m.agg.KeyCount()
	state, _ := m.agg.MarshalBinary()
	return map[string]any{"states": states, "expect": m.expect, "received_bytes": received,
		"series": keys, "merged_state_bytes": len(state)}
}

func (m *merger) handleWindows(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	states := len(m.shards)
	m.mu.Unlock()
	if states < m.expect && r.URL.Query().Get("partial") == "" {
		http.Error(w, fmt.Sprintf("%d of %d states merged so far", states, m.expect), http.StatusServiceUnavailable)
		return
	}
	res, err := ClosedWindows(m.agg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if s := r.URL.Query().Get("series"); s != "" {
		kept := res[:0]
		for _, x := range res {
			if x.Series == s {
				kept = append(kept, x)
			}
		}
		res = kept
	}
	writeJSON(w, res)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintf(os.Stderr, "fleet merger: writing the answer: %v\n", err)
	}
}

func runMerger(args []string) error {
	fs := flag.NewFlagSet("merger", flag.ExitOnError)
	var a AggConfig
	aggFlags(fs, &a)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	expect := fs.Int("expect", 1, "number of shard states that make the result complete")
	maxBody := fs.Int64("max-state", 256<<20, "largest state accepted, bytes")
	fs.Parse(args)
	agg, err := NewAggregator(a)
	if err != nil {
		return err
	}
	defer agg.Close()
	m := &merger{agg: agg, expect: *expect, maxBody: *maxBody, shards: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/state", m.handleState)
	mux.HandleFunc("/windows", m.handleWindows)
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, m.status()) })
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	// The first line on stdout is the address (a test or script reads it).
	fmt.Printf("merger listening on http://%s\n", ln.Addr())
	return http.Serve(ln, mux)
}
