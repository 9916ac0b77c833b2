package main

// Regression tests for issue 12 (items 4, 7, 8, 9, 10, 18).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newTestServer starts s in-process (with its log when o.snapshot is set).
func newTestServer(t *testing.T, o options) (*server, *httptest.Server) {
	t.Helper()
	agg, err := newAggregator(o)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(agg, quiet, o)
	if o.snapshot != "" {
		seq, err := s.restore(o.snapshot)
		if err != nil {
			agg.Close()
			t.Fatal(err)
		}
		w, _, err := openWAL(walDir(o.snapshot), seq, quiet, s.applyRecord)
		if err != nil {
			agg.Close()
			t.Fatal(err)
		}
		s.wal = w
	}
	ts := httptest.NewServer(s.handler())
	t.Cleanup(func() {
		ts.Close()
		if s.wal != nil {
			s.wal.close()
		}
		agg.Close()
	})
	return s, ts
}

func TestDefaultsAreBounded(t *testing.T) {
	var o options
	defineFlags(flag.NewFlagSet("ingest", flag.ContinueOnError), &o)
	if o.maxKeys == 0 || o.memoryLimit == 0 || o.metricsMaxSeries == 0 || o.maxAhead == 0 || o.dedupIDs == 0 {
		t.Fatalf("unbounded default: %+v", o)
	}
}

func TestMaxKeysAndMetricsCap(t *testing.T) {
	o := testOptions()
	o.maxKeys, o.metricsMaxSeries = 50, 20
	_, ts := newTestServer(t, o)
	var evs []ev
	for i := 0; i < 50; i++ {
		evs = append(evs, ev{"", t0 + int64(i), fmt.Sprint("s", i), 1})
	}
	body, _ := json.Marshal(evs)
	if code, m := post(t, ts.URL, string(body)); code != 200 {
		t.Fatalf("50 series: %d %v", code, m)
	}
	if code, m := post(t, ts.URL, fmt.Sprintf(`{"timestamp":%d,"series":"one-too-many","value":1}`, t0+100)); code != 503 ||
		!strings.Contains(fmt.Sprint(m["error"]), "max_keys") {
		t.Fatalf("51st series: %d %v, want 503 naming max_keys", code, m)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := bytes.Count(text, []byte("ingest_window_count{")); n != 20 {
		t.Errorf("/metrics exposes %d series, want the cap of 20", n)
	}
	if !bytes.Contains(text, []byte("ingest_window_series_omitted 30")) {
		t.Errorf("/metrics lacks ingest_window_series_omitted 30")
	}
}

func TestMemoryLimit(t *testing.T) {
	o := testOptions()
	o.memoryLimit = 1 // any state is past it
	_, ts := newTestServer(t, o)
	post(t, ts.URL, fmt.Sprintf(`{"timestamp":%d,"series":"a","value":1}`, t0))
	if code, m := post(t, ts.URL, fmt.Sprintf(`{"timestamp":%d,"series":"a","value":1}`, t0+1)); code != 503 ||
		!strings.Contains(fmt.Sprint(m["error"]), "memory") {
		t.Fatalf("past -memory-limit: %d %v", code, m)
	}
}

func TestFarFutureTimestampRefused(t *testing.T) {
	o := testOptions()
	o.maxAhead = 5 * time.Minute
	s, ts := newTestServer(t, o)
	now := time.Unix(0, t0)
	s.now = func() time.Time { return now }
	body := fmt.Sprintf(`[{"timestamp":%d,"series":"victim","value":1},{"timestamp":9000000000000000000,"series":"attacker","value":1}]`, t0)
	code, m := post(t, ts.URL, body)
	if code != 422 || m["index"] != 1.0 || !strings.Contains(fmt.Sprint(m["error"]), "event 1") ||
		!strings.Contains(fmt.Sprint(m["error"]), "-max-ahead") {
		t.Fatalf("event at 9e18: %d %v, want 422 naming event 1 and -max-ahead", code, m)
	}
	// within the bound: accepted; later events now are not late
	if code, m := post(t, ts.URL, fmt.Sprintf(`{"timestamp":%d,"series":"victim","value":1}`, t0+int64(4*time.Minute))); code != 200 {
		t.Fatalf("4 min ahead: %d %v", code, m)
	}
	if code, m := post(t, ts.URL, fmt.Sprintf(`{"timestamp":%d,"series":"victim","value":2}`, t0+int64(4*time.Minute)+1)); code != 200 {
		t.Fatalf("next event: %d %v", code, m)
	}
	if _, m := getStats(t, ts.URL, "victim"); m["count"] != 2.0 || m["late"] != 0.0 {
		t.Fatalf("victim: %v", m)
	}
}

func TestEventIDRetriesCountOnce(t *testing.T) {
	o := testOptions()
	o.dedupIDs = 1000
	_, ts := newTestServer(t, o)
	one := fmt.Sprintf(`{"event_id":"same-id","timestamp":%d,"series":"retry","value":5}`, t0)
	for i := 0; i < 3; i++ {
		code, m := post(t, ts.URL, one)
		want := map[string]any{"accepted": 1.0, "duplicates": 0.0}
		if i > 0 {
			want = map[string]any{"accepted": 0.0, "duplicates": 1.0}
		}
		if code != 200 || m["accepted"] != want["accepted"] || m["duplicates"] != want["duplicates"] {
			t.Fatalf("POST %d: %d %v, want %v", i, code, m, want)
		}
	}
	// a batch retried with one new event, and an id repeated inside a batch
	body := fmt.Sprintf(`[{"event_id":"same-id","timestamp":%d,"series":"retry","value":5},
		{"event_id":7,"timestamp":%d,"series":"retry","value":1},{"event_id":7,"timestamp":%d,"series":"retry","value":1},
		{"event_id":"7","timestamp":%d,"series":"retry","value":1},{"timestamp":%d,"series":"retry","value":1}]`, t0, t0+1, t0+2, t0+3, t0+4)
	if code, m := post(t, ts.URL, body); code != 200 || m["accepted"] != 3.0 || m["duplicates"] != 2.0 {
		t.Fatalf("mixed batch: %d %v, want 3 accepted 2 duplicates", code, m)
	}
	if _, m := getStats(t, ts.URL, "retry"); m["count"] != 4.0 {
		t.Fatalf("count %v, want 4", m["count"])
	}
	if code, m := post(t, ts.URL, fmt.Sprintf(`{"event_id":{"a":1},"timestamp":%d,"series":"retry","value":5}`, t0)); code != 422 {
		t.Fatalf("object event_id: %d %v", code, m)
	}
}

func TestDedupHorizonIsBounded(t *testing.T) {
	d := newDedup(3)
	for i := 0; i < 5; i++ {
		d.add(fmt.Sprint(i), uint64(i))
	}
	if _, ok := d.lookup("1"); ok {
		t.Fatal("id 1 is past the horizon of 3 but still remembered")
	}
	var got []string
	d.each(func(id string, _ uint64) { got = append(got, id) })
	if fmt.Sprint(got) != "[2 3 4]" || len(d.seen) != 3 {
		t.Fatalf("horizon %v (%d in map)", got, len(d.seen))
	}
}

// The log and the snapshot carry the id horizon: a retry after a restart
// (with or without a snapshot in between) is still recognised, and the
// events come back from the log alone.
func TestDurableAcrossRestarts(t *testing.T) {
	o := testOptions()
	o.dedupIDs = 1000
	o.snapshot = filepath.Join(t.TempDir(), "state.bin")
	first := func(s *server, ts *httptest.Server, id string, n int) {
		t.Helper()
		code, m := post(t, ts.URL, fmt.Sprintf(`{"event_id":%q,"timestamp":%d,"series":"d","value":1}`, id, t0+int64(n)))
		if code != 200 {
			t.Fatalf("%s: %d %v", id, code, m)
		}
	}
	s1, ts1 := newTestServer(t, o)
	first(s1, ts1, "a", 1)
	ts1.Close()
	s1.wal.close() // a crash: no snapshot
	s2, ts2 := newTestServer(t, o)
	if _, m := getStats(t, ts2.URL, "d"); m["count"] != 1.0 {
		t.Fatalf("after replay of the log: %v", m)
	}
	if code, m := post(t, ts2.URL, fmt.Sprintf(`{"event_id":"a","timestamp":%d,"series":"d","value":1}`, t0+1)); code != 200 || m["duplicates"] != 1.0 {
		t.Fatalf("retry after a crash: %d %v", code, m)
	}
	first(s2, ts2, "b", 2)
	if err := s2.snapshot(o.snapshot); err != nil {
		t.Fatal(err)
	}
	first(s2, ts2, "c", 3)
	ts2.Close()
	s2.wal.close()
	segs, _ := listSegments(walDir(o.snapshot))
	if len(segs) != 1 {
		t.Errorf("the snapshot did not drop the log it covers: %d segments", len(segs))
	}
	_, ts3 := newTestServer(t, o)
	body := fmt.Sprintf(`[{"event_id":"a","timestamp":%d,"series":"d","value":1},{"event_id":"b","timestamp":%d,"series":"d","value":1},{"event_id":"c","timestamp":%d,"series":"d","value":1}]`, t0+1, t0+2, t0+3)
	if code, m := post(t, ts3.URL, body); code != 200 || m["duplicates"] != 3.0 {
		t.Fatalf("retries after snapshot + log: %d %v", code, m)
	}
	if _, m := getStats(t, ts3.URL, "d"); m["count"] != 3.0 {
		t.Fatalf("after snapshot + log: %v", m)
	}
}

func TestTornLogTailIsCut(t *testing.T) {
	o := testOptions()
	o.snapshot = filepath.Join(t.TempDir(), "state.bin")
	s1, ts1 := newTestServer(t, o)
	post(t, ts1.URL, fmt.Sprintf(`{"timestamp":%d,"series":"t","value":1}`, t0))
	ts1.Close()
	s1.wal.close()
	segs, _ := listSegments(walDir(o.snapshot))
	f, _ := os.OpenFile(segs[len(segs)-1].path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{40, 0, 0, 0, 1, 2}) // half a record: a write cut by a crash
	f.Close()
	_, ts2 := newTestServer(t, o)
	if _, m := getStats(t, ts2.URL, "t"); m["count"] != 1.0 {
		t.Fatalf("after a torn tail: %v", m)
	}
}

func TestRestartWithOtherSettingsRefused(t *testing.T) {
	o := testOptions()
	o.snapshot = filepath.Join(t.TempDir(), "state.bin")
	s1, ts1 := newTestServer(t, o)
	post(t, ts1.URL, fmt.Sprintf(`{"timestamp":%d,"series":"a","value":1}`, t0))
	if err := s1.snapshot(o.snapshot); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		flag   string
		change func(*options)
	}{
		{"-window", func(o *options) { o.window = 2 * time.Minute }},
		{"-max-keys", func(o *options) { o.maxKeys = 3 }},
		{"-lateness", func(o *options) { o.lateness = time.Second }},
	} {
		o2 := o
		c.change(&o2)
		agg, err := newAggregator(o2)
		if err != nil {
			t.Fatal(err)
		}
		s := newServer(agg, quiet, o2)
		_, err = s.restore(o.snapshot)
		agg.Close()
		if err == nil || !strings.Contains(err.Error(), c.flag) || !strings.Contains(err.Error(), "refusing to start") {
			t.Errorf("restart with another %s: %v", c.flag, err)
		}
	}
}

func TestUnrestorableSnapshotRefused(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"garbage":         []byte("not a snapshot at all"),
		"damaged":         append(append([]byte(nil), snapMagic...), 1, 0, 0, 0, 9, 9),
		"corrupt library": encodeSnapshot(0, newDedup(0), []byte("WAGG broken state")),
	} {
		o := testOptions()
		o.snapshot = filepath.Join(dir, name)
		os.WriteFile(o.snapshot, data, 0o644)
		agg, _ := newAggregator(o)
		s := newServer(agg, quiet, o)
		_, err := s.restore(o.snapshot)
		agg.Close()
		if err == nil || !strings.Contains(err.Error(), "refusing to start") {
			t.Errorf("%s snapshot: %v, want a refusal", name, err)
		}
		if got, _ := os.ReadFile(o.snapshot); !bytes.Equal(got, data) {
			t.Errorf("%s snapshot was changed", name)
		}
	}
}

// ---- kill -9 under concurrent load ----------------------------------------

type killClient struct {
	series  string
	next    int
	pending []ev // sent, not acknowledged yet: resent (same ids) until it is
	acked   int
}

func (c *killClient) batch() []ev {
	if c.pending == nil {
		for i := 0; i < 20; i++ {
			c.pending = append(c.pending, ev{fmt.Sprintf("%s-%d", c.series, c.next), t0 + int64(c.next), c.series, 1})
			c.next++
		}
	}
	return c.pending
}

// buildBinary builds the ingest command into dir and returns its path.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ingest")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// startBinary runs the ingest binary and returns it with its base URL.
func startBinary(t *testing.T, bin string, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr, ok := listenAddr(out)
	if !ok {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("server did not start; stderr:\n%s", stderr)
	}
	return cmd, "http://" + addr, stderr
}

// listenAddr reads the server's stdout until its "listening on ADDR" line
// (false after 20 s) and keeps draining it afterwards.
func listenAddr(out io.Reader) (string, bool) {
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				line <- a
			}
		}
	}()
	select {
	case addr := <-line:
		return addr, true
	case <-time.After(20 * time.Second):
		return "", false
	}
}

// TestKill9Durability: 8 clients post batches of 20 events with event_ids;
// the server is SIGKILLed at a random moment, 20 times, and restarted on
// the same snapshot and log. After each restart every acknowledged event
// must be there, and none twice: for each client, acked <= count <= acked +
// its one unacknowledged batch. Clients then resend the unacknowledged batch
// (same ids) until it is acknowledged, so at the end count == events sent.
func TestKill9Durability(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	args := []string{"-snapshot", filepath.Join(dir, "state.bin"), "-snapshot-interval", "150ms",
		"-window", "1h", "-lateness", "1h", "-max-ahead", "0"}
	clients := make([]*killClient, 8)
	for i := range clients {
		clients[i] = &killClient{series: fmt.Sprint("k", i)}
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	send := func(base string, c *killClient) bool {
		body, _ := json.Marshal(c.batch())
		resp, err := hc.Post(base+"/ingest", "application/json", bytes.NewReader(body))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var m map[string]int
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&m) != nil ||
			m["accepted"]+m["duplicates"] != len(c.pending) {
			return false
		}
		c.acked += len(c.pending)
		c.pending = nil
		return true
	}
	count := func(base, series string) int {
		resp, err := hc.Get(base + "/stats?series=" + series)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == 404 {
			return 0
		}
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return int(m["count"].(float64))
	}
	const rounds = 20
	var acked, lost, dup, kills int
	deadline := time.Now().Add(45 * time.Second)
	for r := 0; r <= rounds; r++ {
		cmd, base, stderr := startBinary(t, bin, args...)
		for _, c := range clients {
			got := count(base, c.series)
			if got < c.acked {
				lost += c.acked - got
				t.Errorf("round %d: %s has %d events, %d were acknowledged; server log:\n%s", r, c.series, got, c.acked, stderr)
			}
			if got > c.acked+len(c.pending) {
				dup += got - c.acked - len(c.pending)
				t.Errorf("round %d: %s has %d events, at most %d were sent", r, c.series, got, c.acked+len(c.pending))
			}
		}
		if r == rounds || time.Now().After(deadline) {
			// Last: resend what is unacknowledged, then everything sent is
			// there exactly once.
			for _, c := range clients {
				for c.pending != nil {
					if !send(base, c) {
						t.Fatalf("final resend to a live server failed; log:\n%s", stderr)
					}
				}
				if got := count(base, c.series); got != c.next {
					t.Errorf("%s: %d events, %d sent and acknowledged", c.series, got, c.next)
				}
				acked += c.acked
			}
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			break
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for _, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if !send(base, c) {
						time.Sleep(2 * time.Millisecond)
					}
				}
			}()
		}
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		kills++
		close(stop)
		wg.Wait()
		cmd.Wait()
	}
	t.Logf("kill -9 durability: %d kills under load from %d clients, %d events acknowledged, %d lost, %d duplicated",
		kills, len(clients), acked, lost, dup)
}
