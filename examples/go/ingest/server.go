package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	windowagg "github.com/windowagg/windowagg/bindings/go"
	wprom "github.com/windowagg/windowagg/bindings/go/prometheus"
)

// maxSeriesLen bounds a series name (bytes).
const maxSeriesLen = 256

// maxEventIDLen bounds an event_id (bytes of its JSON text).
const maxEventIDLen = 256

// server is the /ingest service over one windowagg handle.
type server struct {
	agg      *windowagg.Aggregator
	reg      *prometheus.Registry
	log      *slog.Logger
	maxBody  int64
	maxAhead time.Duration // 0: no bound
	memLimit uint64        // library bytes; 0: no limit
	bufs     sync.Pool     // *pushBuf
	qs       []float64
	now      func() time.Time

	// mu is the ingest lock: it orders the id check, the push and the log
	// append of each request, so that the log replays in the order the state
	// saw, and a snapshot is a cut between two requests.
	mu  sync.Mutex
	dd  *dedup
	wal *walLog // nil without -snapshot
}

// pushBuf is the per-request scratch of a push, reused across requests.
type pushBuf struct {
	vals []float64
	ts   []int64
	keys []string
	evs  []event
	ids  []string
	wevs []walEvent
	rec  []byte
}

// event is one ingested point. Pointers tell "missing" from zero; value is
// kept raw and parsed here, so that out-of-range numbers (1e999) are
// reported as non-finite and a string is reported as not a number.
type event struct {
	EventID   json.RawMessage `json:"event_id"`
	Timestamp *int64          `json:"timestamp"`
	Series    *string         `json:"series"`
	Value     json.RawMessage `json:"value"`
}

func newServer(agg *windowagg.Aggregator, log *slog.Logger, o options) *server {
	s := &server{agg: agg, log: log, maxBody: o.maxBody, maxAhead: o.maxAhead, memLimit: o.memoryLimit,
		qs: []float64{0.5, 0.99, 0.999}, now: time.Now, dd: newDedup(o.dedupIDs)}
	s.bufs.New = func() any { return &pushBuf{} }
	help := "Windowed values of each ingested series (windowagg sliding window): count, sum and quantiles."
	if o.nativeHistograms {
		help = "Windowed values of each ingested series (windowagg sliding window) as a native gauge histogram."
	}
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(
		wprom.NewCollector(agg, wprom.Opts{Namespace: "ingest", Name: "window", HandleMetrics: true, MaxSeries: o.metricsMaxSeries,
			NativeHistogram: o.nativeHistograms, Help: help}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return s
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ingest", s.ingest)
	mux.HandleFunc("GET /stats", s.stats)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

type errorJSON struct {
	Error string `json:"error"`
	Index *int   `json:"index,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, idx int, format string, args ...any) {
	e := errorJSON{Error: fmt.Sprintf(format, args...)}
	if idx >= 0 {
		e.Index = &idx
	}
	writeJSON(w, code, e)
}

// ingest handles POST /ingest: one JSON event or a JSON array of events.
// 400: the body is not JSON (or not an object/array); 422: valid JSON that
// is not a valid event (wrong types, missing fields, non-finite value, bad
// timestamp). The whole request is validated first and pushed as one batch,
// so it is applied whole or not at all.
func (s *server) ingest(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, -1, "body larger than %d bytes", s.maxBody)
			return
		}
		fail(w, http.StatusBadRequest, -1, "reading body: %v", err)
		return
	}
	b := s.bufs.Get().(*pushBuf)
	defer s.bufs.Put(b)
	b.evs = b.evs[:0]

	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		fail(w, http.StatusBadRequest, -1, "empty body: expected a JSON event or an array of events")
		return
	}
	if !json.Valid(trimmed) {
		var x any
		err := json.Unmarshal(trimmed, &x)
		fail(w, http.StatusBadRequest, -1, "malformed JSON: %v", err)
		return
	}
	switch trimmed[0] {
	case '[':
		err = json.Unmarshal(trimmed, &b.evs)
	case '{':
		b.evs = append(b.evs, event{})
		err = json.Unmarshal(trimmed, &b.evs[0])
	default:
		fail(w, http.StatusBadRequest, -1, "expected a JSON object or array, got %q", trimmed[:1])
		return
	}
	if err != nil {
		// Valid JSON of the wrong shape: a field of the wrong type.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			fail(w, http.StatusUnprocessableEntity, -1, "field %q: JSON %s where %s was expected", te.Field, te.Value, te.Type)
			return
		}
		fail(w, http.StatusUnprocessableEntity, -1, "%v", err)
		return
	}

	n := len(b.evs)
	b.vals, b.ts, b.keys, b.ids = b.vals[:0], b.ts[:0], b.keys[:0], b.ids[:0]
	var horizon int64 = math.MaxInt64
	if s.maxAhead > 0 {
		horizon = s.now().UnixNano() + int64(s.maxAhead)
	}
	for i := range b.evs {
		e := &b.evs[i]
		switch {
		case e.Series == nil:
			fail(w, http.StatusUnprocessableEntity, i, "event %d: missing series", i)
			return
		case *e.Series == "":
			fail(w, http.StatusUnprocessableEntity, i, "event %d: empty series", i)
			return
		case len(*e.Series) > maxSeriesLen:
			fail(w, http.StatusUnprocessableEntity, i, "event %d: series longer than %d bytes", i, maxSeriesLen)
			return
		case e.Timestamp == nil:
			fail(w, http.StatusUnprocessableEntity, i, "event %d: missing timestamp (int64 nanoseconds)", i)
			return
		case *e.Timestamp <= 0:
			fail(w, http.StatusUnprocessableEntity, i, "event %d: bad timestamp %d: must be positive nanoseconds since the epoch", i, *e.Timestamp)
			return
		case *e.Timestamp > horizon:
			fail(w, http.StatusUnprocessableEntity, i,
				"event %d: timestamp %d is %v ahead of the server clock, more than -max-ahead %v allows (it would make every later event late)",
				i, *e.Timestamp, time.Duration(*e.Timestamp-(horizon-int64(s.maxAhead))).Round(time.Millisecond), s.maxAhead)
			return
		case len(e.Value) == 0 || string(e.Value) == "null":
			fail(w, http.StatusUnprocessableEntity, i, "event %d: missing value", i)
			return
		}
		raw := string(e.Value)
		if c := raw[0]; c != '-' && (c < '0' || c > '9') {
			fail(w, http.StatusUnprocessableEntity, i, "event %d: value must be a JSON number, got %s", i, raw)
			return
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			fail(w, http.StatusUnprocessableEntity, i, "event %d: bad value %s", i, raw)
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			fail(w, http.StatusUnprocessableEntity, i, "event %d: non-finite value %s", i, raw)
			return
		}
		id, msg := eventID(e.EventID)
		if msg != "" {
			fail(w, http.StatusUnprocessableEntity, i, "event %d: %s", i, msg)
			return
		}
		b.vals = append(b.vals, v)
		b.ts = append(b.ts, *e.Timestamp)
		b.keys = append(b.keys, *e.Series)
		b.ids = append(b.ids, id)
	}
	accepted, dups, wait, code, err := s.apply(b)
	if err != nil {
		if code == http.StatusInternalServerError {
			s.log.Error("push failed", "err", err, "events", n)
		}
		fail(w, code, -1, "%v", err)
		return
	}
	// Acknowledge only what is on disk: the record of this request, or of
	// the request that first carried a retried event_id.
	if s.wal != nil && wait > 0 {
		if err := s.wal.waitDurable(wait); err != nil {
			s.log.Error("write-ahead log", "err", err)
			fail(w, http.StatusServiceUnavailable, -1, "not durable: %v", err)
			return
		}
	}
	clear(b.keys) // don't keep request strings alive in the pool
	clear(b.ids)
	clear(b.wevs)
	clear(b.evs)
	writeJSON(w, http.StatusOK, map[string]int{"accepted": accepted, "duplicates": dups})
}

// eventID returns the dedup key of a raw event_id: "" for none (missing,
// null or ""), the string for a JSON string, "#" + the JSON text for a number. Anything else is
// refused (msg says why).
func eventID(raw json.RawMessage) (id, msg string) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", ""
	}
	if len(raw) > maxEventIDLen {
		return "", fmt.Sprintf("event_id longer than %d bytes", maxEventIDLen)
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", "bad event_id"
		}
		return s, "" // "" (empty): no id, like a missing one
	case c == '-' || (c >= '0' && c <= '9'):
		return "#" + string(raw), ""
	}
	return "", "event_id must be a string or a number, got " + string(raw)
}

// apply drops the events whose event_id was already accepted (within the
// horizon, or earlier in this request), pushes the rest as one batch and
// appends them to the write-ahead log, all under the ingest lock. It returns
// the events accepted and recognised as duplicates, and the log record to
// wait for before acknowledging; on error the HTTP status and nothing was
// applied.
func (s *server) apply(b *pushBuf) (accepted, dups int, wait uint64, code int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Compact the batch to the new events.
	var inBatch map[string]struct{}
	k := 0
	for i := range b.vals {
		id := b.ids[i]
		if id != "" {
			if seq, ok := s.dd.lookup(id); ok {
				dups++
				wait = max(wait, seq)
				continue
			}
			if inBatch == nil {
				inBatch = make(map[string]struct{})
			}
			if _, ok := inBatch[id]; ok {
				dups++
				continue
			}
			inBatch[id] = struct{}{}
		}
		b.vals[k], b.ts[k], b.keys[k], b.ids[k] = b.vals[i], b.ts[i], b.keys[i], id
		k++
	}
	b.vals, b.ts, b.keys, b.ids = b.vals[:k], b.ts[:k], b.keys[:k], b.ids[:k]
	if k == 0 {
		return 0, dups, wait, 0, nil
	}
	if s.memLimit > 0 {
		if used, err := s.agg.MemoryUsage(); err == nil && used >= s.memLimit {
			return 0, 0, 0, http.StatusServiceUnavailable, fmt.Errorf(
				"memory limit reached: the series hold %d bytes, -memory-limit is %d; nothing from this request was applied", used, s.memLimit)
		}
	}
	if err := s.agg.PushStrings(b.vals, b.ts, b.keys); err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, windowagg.ErrValue), errors.Is(err, windowagg.ErrInvalidArgument):
			code = http.StatusUnprocessableEntity
		case errors.Is(err, windowagg.ErrKeyLimit), errors.Is(err, windowagg.ErrMemoryLimit), errors.Is(err, windowagg.ErrNoMemory):
			code = http.StatusServiceUnavailable
		case errors.Is(err, windowagg.ErrClosed):
			code = http.StatusServiceUnavailable
		}
		return 0, 0, 0, code, err
	}
	var seq uint64
	if s.wal != nil {
		b.wevs = b.wevs[:0]
		for i := range b.vals {
			b.wevs = append(b.wevs, walEvent{ts: b.ts[i], value: b.vals[i], series: b.keys[i], id: b.ids[i]})
		}
		b.rec = encodeRecord(b.rec[:0], b.wevs)
		if seq, err = s.wal.append(b.rec); err != nil {
			// The state holds events the log does not: nothing is
			// acknowledged from now on (the error is sticky).
			s.log.Error("write-ahead log append failed; refusing further ingestion", "err", err)
			return 0, 0, 0, http.StatusServiceUnavailable, fmt.Errorf("not durable: %v", err)
		}
		if cap(b.rec) > 1<<20 {
			b.rec = nil
		}
	}
	for _, id := range b.ids {
		if id != "" {
			s.dd.add(id, seq)
		}
	}
	return k, dups, max(wait, seq), 0, nil
}

// statsResponse is GET /stats's answer; NaN fields (empty window) are null.
type statsResponse struct {
	Series      string   `json:"series"`
	Count       uint64   `json:"count"`
	Sum         float64  `json:"sum"`
	Mean        *float64 `json:"mean"`
	Min         *float64 `json:"min"`
	Max         *float64 `json:"max"`
	Variance    *float64 `json:"variance"`
	Stddev      *float64 `json:"stddev"`
	P50         *float64 `json:"p50"`
	P99         *float64 `json:"p99"`
	P999        *float64 `json:"p999"`
	WindowStart int64    `json:"window_start"`
	WindowEnd   int64    `json:"window_end"`
	Watermark   *int64   `json:"watermark"`
	Late        uint64   `json:"late"`
	Rejected    uint64   `json:"rejected"`
	Total       uint64   `json:"total"`
}

func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// stats handles GET /stats?series=NAME.
func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("series")
	if name == "" {
		fail(w, http.StatusBadRequest, -1, "missing query parameter series")
		return
	}
	key := windowagg.HashString(name)
	st, err := s.agg.KeyStats(key)
	if errors.Is(err, windowagg.ErrNotFound) {
		fail(w, http.StatusNotFound, -1, "unknown series %q", name)
		return
	}
	if err == nil {
		// A different name with the same 64-bit id is not this series.
		if kn, kerr := s.agg.KeyName(key); kerr == nil && kn != name {
			fail(w, http.StatusNotFound, -1, "unknown series %q", name)
			return
		}
	}
	var q []float64
	if err == nil {
		var qb [3]float64
		q, err = s.agg.KeyQuantiles(key, s.qs, qb[:])
	}
	if err != nil {
		s.log.Error("stats failed", "series", name, "err", err)
		fail(w, http.StatusInternalServerError, -1, "%v", err)
		return
	}
	resp := statsResponse{
		Series: name, Count: st.Count, Sum: st.Sum, Mean: num(st.Mean), Min: num(st.Min), Max: num(st.Max),
		Variance: num(st.Variance), Stddev: num(st.Stddev), P50: num(q[0]), P99: num(q[1]), P999: num(q[2]),
		WindowStart: st.WindowStart, WindowEnd: st.WindowEnd, Late: st.Late, Rejected: st.Rejected, Total: st.Total,
	}
	if st.Watermark != math.MinInt64 {
		wm := st.Watermark
		resp.Watermark = &wm
	}
	writeJSON(w, http.StatusOK, resp)
}
