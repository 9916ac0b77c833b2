package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const t0 = int64(1_700_000_000_000_000_000)

func testOptions() options {
	return options{window: time.Minute, lateness: 5 * time.Second, alpha: 0.01, maxBody: 1 << 20}
}

func post(t *testing.T, base, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(base+"/ingest", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("POST %s: non-JSON answer %q", body, b)
	}
	return resp.StatusCode, m
}

func getStats(t *testing.T, base, series string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/stats?series=" + url.QueryEscape(series))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET stats %s: non-JSON answer %q", series, b)
	}
	return resp.StatusCode, m
}

type ev struct {
	EventID   string  `json:"event_id"`
	Timestamp int64   `json:"timestamp"`
	Series    string  `json:"series"`
	Value     float64 `json:"value"`
}

// checkService posts events to base and checks answers and error codes.
func checkService(t *testing.T, base string) {
	// One event, then a batch of 1000 for the same series.
	if code, m := post(t, base, fmt.Sprintf(`{"event_id":"e0","timestamp":%d,"series":"api.latency","value":1000}`, t0)); code != 200 || m["accepted"] != 1.0 {
		t.Fatalf("single event: %d %v", code, m)
	}
	var evs []ev
	vals := []float64{1000}
	for i := 1; i <= 1000; i++ {
		v := float64(i)
		evs = append(evs, ev{fmt.Sprint("e", i), t0 + int64(i)*int64(time.Millisecond), "api.latency", v})
		vals = append(vals, v)
	}
	// and another series in the same request
	evs = append(evs, ev{"x", t0 + 1001*int64(time.Millisecond), "db latency/ms", -2.5})
	body, _ := json.Marshal(evs)
	if code, m := post(t, base, string(body)); code != 200 || m["accepted"] != 1001.0 {
		t.Fatalf("batch: %d %v", code, m)
	}

	code, m := getStats(t, base, "api.latency")
	if code != 200 {
		t.Fatalf("stats: %d %v", code, m)
	}
	slices.Sort(vals)
	n := len(vals)
	var sum float64
	for _, v := range vals {
		sum += v
	}
	if m["count"] != float64(n) || m["sum"] != sum || m["min"] != 1.0 || m["max"] != 1000.0 {
		t.Errorf("stats: got %v, want count %d sum %g min 1 max 1000", m, n, sum)
	}
	if math.Abs(m["mean"].(float64)-sum/float64(n)) > 1e-9 {
		t.Errorf("mean %v, want %g", m["mean"], sum/float64(n))
	}
	for _, q := range []struct {
		field string
		q     float64
	}{{"p50", 0.5}, {"p99", 0.99}, {"p999", 0.999}} {
		want := vals[int(math.Floor(q.q*float64(n-1)))]
		got, _ := m[q.field].(float64)
		if math.Abs(got-want) > 0.01*want {
			t.Errorf("%s = %v, want %g within 1%%", q.field, m[q.field], want)
		}
	}
	if code, m := getStats(t, base, "db latency/ms"); code != 200 || m["count"] != 1.0 || m["mean"] != -2.5 ||
		m["variance"] != nil || m["stddev"] != nil {
		t.Errorf("one-value series (variance/stddev NaN -> null): %d %v", code, m)
	}

	// Errors.
	for _, c := range []struct {
		name, body string
		code       int
		reason     string
	}{
		{"malformed", `{"series": "a",`, 400, "malformed JSON"},
		{"not json", `hello`, 400, "malformed JSON"},
		{"empty", ``, 400, "empty body"},
		{"scalar", `42`, 400, "expected a JSON object or array"},
		{"missing series", fmt.Sprintf(`{"timestamp":%d,"value":1}`, t0), 422, "missing series"},
		{"empty series", fmt.Sprintf(`{"timestamp":%d,"series":"","value":1}`, t0), 422, "empty series"},
		{"missing value", fmt.Sprintf(`{"timestamp":%d,"series":"a"}`, t0), 422, "missing value"},
		{"non-finite", fmt.Sprintf(`{"timestamp":%d,"series":"a","value":1e999}`, t0), 422, "non-finite"},
		{"string value", fmt.Sprintf(`{"timestamp":%d,"series":"a","value":"NaN"}`, t0), 422, "value"},
		{"missing timestamp", `{"series":"a","value":1}`, 422, "missing timestamp"},
		{"negative timestamp", `{"series":"a","value":1,"timestamp":-5}`, 422, "bad timestamp"},
		{"float timestamp", `{"series":"a","value":1,"timestamp":1.5}`, 422, "timestamp"},
		{"string timestamp", `{"series":"a","value":1,"timestamp":"now"}`, 422, "timestamp"},
		{"bad element in array", fmt.Sprintf(`[{"timestamp":%d,"series":"ok","value":1},{"timestamp":%d,"value":2}]`, t0+5, t0+6), 422, "event 1: missing series"},
	} {
		code, m := post(t, base, c.body)
		if code != c.code || !strings.Contains(fmt.Sprint(m["error"]), c.reason) {
			t.Errorf("%s: got %d %v, want %d with %q", c.name, code, m, c.code, c.reason)
		}
	}
	// A refused request is applied whole or not at all: "ok" must not exist.
	if code, _ := getStats(t, base, "ok"); code != 404 {
		t.Errorf("series of a refused batch exists: %d", code)
	}
	if code, m := getStats(t, base, "nope"); code != 404 || !strings.Contains(fmt.Sprint(m["error"]), "unknown series") {
		t.Errorf("unknown series: %d %v", code, m)
	}
	if code, _ := getStats(t, base, ""); code != 400 {
		t.Errorf("missing series param: %d", code)
	}
	if resp, err := http.Get(base + "/ingest"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /ingest: %v %v", resp.StatusCode, err)
	}

	// Metrics.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`ingest_window_count{series="api.latency"} 1001`,
		`ingest_window_sum{series="api.latency"} ` + fmt.Sprint(sum),
		`ingest_window{series="api.latency",quantile="0.99"}`,
		`ingest_window_count{series="db latency/ms"} 1`,
		`ingest_window_series 2`,
		`go_gc_duration_seconds`,
	} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestInProcess(t *testing.T) {
	agg, err := newAggregator(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ts := httptest.NewServer(newServer(agg, log, testOptions()).handler())
	defer ts.Close()
	checkService(t, ts.URL)

	// Body too large.
	big := "[" + strings.Repeat(fmt.Sprintf(`{"timestamp":%d,"series":"a","value":1},`, t0), 40000) + "{}]"
	if code, _ := post(t, ts.URL, big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: %d", code)
	}
}

// TestSubprocess builds the command, runs it on a loopback port, talks to it,
// sends SIGTERM and checks it exits cleanly (and that a snapshot, when the
// library supports serialized state, brings the data back after a restart).
func TestSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	snap := filepath.Join(dir, "state.bin")

	start := func() (*exec.Cmd, string, *bytes.Buffer) {
		return startBinary(t, bin, "-snapshot", snap)
	}
	stopGracefully := func(cmd *exec.Cmd, stderr *bytes.Buffer) {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("no exit 20s after SIGTERM; stderr:\n%s", stderr)
		}
		if !strings.Contains(stderr.String(), "shutdown complete") {
			t.Errorf("no graceful shutdown in the log:\n%s", stderr)
		}
	}

	cmd, base, stderr := start()
	checkService(t, base)
	stopGracefully(cmd, stderr)

	// Restart: with serialized state the data is back, without it the
	// service logged that and started empty.
	cmd, base, stderr = start()
	code, m := getStats(t, base, "api.latency")
	stopGracefully(cmd, stderr)
	log := stderr.String()
	switch {
	case strings.Contains(log, "snapshot restored"):
		if code != 200 || m["count"] != 1001.0 {
			t.Errorf("after restore: %d %v", code, m)
		}
		t.Logf("snapshot restored across the restart: %v", m["count"])
	case strings.Contains(log, "does not support serialized state"):
		t.Logf("library without serialized state: %s", log)
	default:
		t.Errorf("snapshot neither restored nor reported unsupported:\n%s", log)
	}
}
