package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	windowagg "github.com/windowagg/windowagg/bindings/go"
)

// The stream of the integration test: 60 series, 60,000 events over two
// minutes of event time, 10 s tumbling windows (13 per series).
var testStream = StreamConfig{
	Seed: 42, Series: 60, Events: 60000, Start: 1_700_000_000_000_000_000,
	Span: 2 * time.Minute, Jitter: 2 * time.Second,
}

func streamArgs(s StreamConfig, a AggConfig) []string {
	return []string{
		"-seed", fmt.Sprint(s.Seed), "-series", fmt.Sprint(s.Series), "-events", fmt.Sprint(s.Events),
		"-start", fmt.Sprint(s.Start), "-span", s.Span.String(), "-jitter", s.Jitter.String(),
		"-window", a.Window.String(), "-lateness", a.Lateness.String(), "-alpha", fmt.Sprint(a.Alpha),
	}
}

func aggArgs(a AggConfig) []string {
	return []string{"-window", a.Window.String(), "-lateness", a.Lateness.String(), "-alpha", fmt.Sprint(a.Alpha)}
}

// buildFleet compiles the command once per test binary run.
func buildFleet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fleet")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startMerger starts the merger on a free loopback port and returns its base URL.
func startMerger(t *testing.T, ctx context.Context, bin string, a AggConfig, expect int) string {
	t.Helper()
	args := append([]string{"merger", "-listen", "127.0.0.1:0", "-expect", fmt.Sprint(expect)}, aggArgs(a)...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // this test's own child, by handle
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("merger did not announce its address: %v", err)
	}
	base := strings.TrimSpace(line[strings.LastIndex(line, " ")+1:])
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("merger address %q", line)
	}
	return base
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return resp.StatusCode
}

// exactWindows computes the reference straight from the events, in Go
// float64 without windowagg: values per (series, window start).
func exactWindows(s StreamConfig, width time.Duration) map[string]map[int64][]float64 {
	out := map[string]map[int64][]float64{}
	w := int64(width)
	Generate(s, func(_ int, e Event) {
		m := out[e.Series]
		if m == nil {
			m = map[int64][]float64{}
			out[e.Series] = m
		}
		start := e.TS - ((e.TS%w)+w)%w
		m[start] = append(m[start], e.Value)
	})
	return out
}

// lowerQuantile is the value of rank floor(q*(n-1)) of sorted xs: the value
// windowagg's guarantee is stated against.
func lowerQuantile(sorted []float64, q float64) float64 {
	return sorted[int(math.Floor(q*float64(len(sorted)-1)))]
}

func relClose(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestFleetMergeEqualsSingleProcess(t *testing.T) {
	bin := buildFleet(t)
	const shards = 3
	for _, tc := range []struct {
		partition string
		agg       AggConfig
	}{
		// Each series lives in one shard; windows may close in the shard
		// before shipping and travel as finished windows.
		{"series", AggConfig{Window: 10 * time.Second, Lateness: 2 * time.Second, Alpha: 0.01}},
		// Every series is split across the three shards: its windows must
		// still be open in every state when merged, so the lateness spans
		// the stream and the merger closes them all at the end.
		{"event", AggConfig{Window: 10 * time.Second, Lateness: 3 * time.Minute, Alpha: 0.01}},
	} {
		t.Run(tc.partition, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			began := time.Now()
			base := startMerger(t, ctx, bin, tc.agg, shards)

			var procs []*exec.Cmd
			var outs []*strings.Builder
			for i := 0; i < shards; i++ {
				args := append([]string{"shard", "-merger", base, "-shard", fmt.Sprint(i),
					"-shards", fmt.Sprint(shards), "-partition", tc.partition}, streamArgs(testStream, tc.agg)...)
				cmd := exec.CommandContext(ctx, bin, args...)
				var out strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				procs, outs = append(procs, cmd), append(outs, &out)
			}
			var shardEvents, shardBytes int
			for i, cmd := range procs {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("shard %d: %v\n%s", i, err, outs[i])
				}
				var rep ShardReport
				if err := json.Unmarshal([]byte(outs[i].String()), &rep); err != nil {
					t.Fatalf("shard %d report %q: %v", i, outs[i], err)
				}
				if tc.partition == "event" && rep.ClosedInShard != 0 {
					t.Fatalf("shard %d closed %d windows before shipping", i, rep.ClosedInShard)
				}
				shardEvents += rep.Events
				shardBytes += rep.StateBytes
				t.Logf("shard %d: %d events, %d series, state %d bytes (%.0f B/series), %d windows closed in the shard",
					i, rep.Events, rep.Series, rep.StateBytes, float64(rep.StateBytes)/float64(rep.Series), rep.ClosedInShard)
			}
			if shardEvents != testStream.Events {
				t.Fatalf("shards saw %d events, want %d", shardEvents, testStream.Events)
			}
			var merged []WindowResult
			if code := getJSON(t, base+"/windows", &merged); code != http.StatusOK {
				t.Fatalf("GET /windows: %d", code)
			}
			var status map[string]any
			getJSON(t, base+"/status", &status)
			t.Logf("fleet of %d shards + merger: %v wall; merger status %v", shards, time.Since(began).Round(time.Millisecond), status)

			// Reference 1: one process fed the whole stream.
			single, n, err := Aggregate(testStream, tc.agg, tc.partition, 0, 1, 1024)
			if err != nil {
				t.Fatal(err)
			}
			defer single.Close()
			if n != testStream.Events {
				t.Fatalf("single process saw %d events", n)
			}
			want, err := ClosedWindows(single)
			if err != nil {
				t.Fatal(err)
			}
			// Reference 2: the exact values, from the events themselves.
			exact := exactWindows(testStream, tc.agg.Window)
			compareWindows(t, merged, want, exact, tc.agg.Alpha)
		})
	}
}

// compareWindows checks the merged windows against the single-process run
// and against exact values computed from the events:
//   - count, min, max: identical;
//   - sum: within 1e-12 relative (Neumaier sums of the same values in other groupings);
//   - mean within 1e-12, variance within 1e-9 relative (Chan merge of moments);
//   - quantiles: within alpha*|x| of the exact rank-floor(q*(n-1)) value x
//     (the library's guarantee), and within 2*alpha of the single process's
//     sketch answer (the number of those that are bit-identical is logged:
//     bucket-wise merges of the same values give the same sketch).
func compareWindows(t *testing.T, merged, want []WindowResult, exact map[string]map[int64][]float64, alpha float64) {
	t.Helper()
	if len(merged) != len(want) {
		t.Fatalf("merged has %d windows, single process %d", len(merged), len(want))
	}
	nExact := 0
	for _, m := range exact {
		nExact += len(m)
	}
	if len(want) != nExact {
		t.Fatalf("single process has %d windows, the events make %d", len(want), nExact)
	}
	identicalQ, totalQ := 0, 0
	worst := 0.0
	for i := range merged {
		g, w := merged[i], want[i]
		id := fmt.Sprintf("%s [%d,%d)", g.Series, g.Start, g.End)
		if g.Series != w.Series || g.Start != w.Start || g.End != w.End {
			t.Fatalf("window %d: merged %s, single process %s [%d,%d)", i, id, w.Series, w.Start, w.End)
		}
		vals := slices.Clone(exact[g.Series][g.Start])
		slices.Sort(vals)
		var exactSum float64
		for _, v := range vals {
			exactSum += v
		}
		if g.Count != w.Count || g.Count != uint64(len(vals)) {
			t.Errorf("%s: count merged %d, single %d, exact %d", id, g.Count, w.Count, len(vals))
			continue
		}
		if g.Min != w.Min || g.Max != w.Max || g.Min != vals[0] || g.Max != vals[len(vals)-1] {
			t.Errorf("%s: min/max merged %v/%v, single %v/%v, exact %v/%v", id, g.Min, g.Max, w.Min, w.Max, vals[0], vals[len(vals)-1])
		}
		if !relClose(g.Sum, w.Sum, 1e-12) || !relClose(g.Sum, exactSum, 1e-9) {
			t.Errorf("%s: sum merged %v, single %v, exact %v", id, g.Sum, w.Sum, exactSum)
		}
		if !relClose(g.Mean, w.Mean, 1e-12) {
			t.Errorf("%s: mean merged %v, single %v", id, g.Mean, w.Mean)
		}
		switch {
		case (g.Variance == nil) != (w.Variance == nil):
			t.Errorf("%s: variance merged %v, single %v", id, g.Variance, w.Variance)
		case g.Variance != nil && !relClose(*g.Variance, *w.Variance, 1e-9):
			t.Errorf("%s: variance merged %v, single %v", id, *g.Variance, *w.Variance)
		}
		for j, q := range Quantiles {
			x := lowerQuantile(vals, q)
			gq, wq := g.Quantiles[j], w.Quantiles[j]
			totalQ++
			if gq == wq {
				identicalQ++
			}
			if err := math.Abs(gq - x); err > alpha*math.Abs(x)*(1+1e-9) {
				t.Errorf("%s: q%v merged %v, exact %v: error %.3g > alpha", id, q, gq, x, err/math.Abs(x))
			} else if x != 0 {
				worst = max(worst, err/math.Abs(x))
			}
			if math.Abs(gq-wq) > 2*alpha*math.Abs(wq)*(1+1e-9) {
				t.Errorf("%s: q%v merged %v, single process %v: beyond 2 alpha", id, q, gq, wq)
			}
		}
	}
	t.Logf("%d windows of %d series equal; quantiles: %d/%d bit-identical to the single process, worst relative error vs exact %.4f (alpha %.2f)",
		len(merged), len(exact), identicalQ, totalQ, worst, alpha)
}

// TestStateSizePerSeries measures the serialized state per series for the
// README: tumbling 10 s windows, alpha 0.01, one open window per series
// holding n values of the latency family (and the state with quantiles off).
func TestStateSizePerSeries(t *testing.T) {
	const series = 1000
	for _, perWindow := range []int{1, 10, 100, 1000} {
		for _, quantiles := range []bool{true, false} {
			opts := []windowagg.Option{windowagg.WithTumblingWindow(10 * time.Second), windowagg.WithAccuracy(0.01)}
			if !quantiles {
				opts = append(opts, windowagg.WithoutQuantiles())
			}
			agg, err := windowagg.New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			empty, _ := agg.MarshalBinary()
			s := StreamConfig{Seed: 7, Series: series * 3, Events: series * 3 * perWindow,
				Start: testStream.Start, Span: 9 * time.Second}
			var vals []float64
			var ts []int64
			var names []string
			Generate(s, func(_ int, e Event) {
				if strings.HasSuffix(e.Series, "latency_ms") {
					vals, ts, names = append(vals, e.Value), append(ts, e.TS), append(names, e.Series)
				}
			})
			if err := agg.PushStrings(vals, ts, names); err != nil {
				t.Fatal(err)
			}
			keys, _ := agg.KeyCount()
			state, err := agg.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("quantiles=%-5v ~%4d values/window (%.0f avg): %6.0f bytes/series on the wire (%d series, %d bytes; empty handle %d)",
				quantiles, perWindow, float64(len(vals))/float64(keys), float64(len(state)-len(empty))/float64(keys), keys, len(state), len(empty))
			agg.Close()
		}
	}
}

// TestMergerRefusesBadStates: a state of another geometry (400, nothing
// merged), a second state from the same shard (409), and garbage (400).
func TestMergerRefusesBadStates(t *testing.T) {
	cfg := AggConfig{Window: 10 * time.Second, Lateness: 2 * time.Second, Alpha: 0.01}
	agg, err := NewAggregator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	m := &merger{agg: agg, expect: 2, maxBody: 1 << 20, shards: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(m.handleState))
	defer srv.Close()
	post := func(shard string, body []byte) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("X-Shard", shard)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	state := func(c AggConfig) []byte {
		a, n, err := Aggregate(StreamConfig{Seed: 1, Series: 5, Events: 500, Start: testStream.Start,
			Span: 30 * time.Second}, c, "series", 0, 1, 64)
		if err != nil || n != 500 {
			t.Fatal(err, n)
		}
		defer a.Close()
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := state(cfg)
	other := state(AggConfig{Window: 5 * time.Second, Lateness: 2 * time.Second, Alpha: 0.01})
	if code := post("0", other); code != http.StatusBadRequest {
		t.Fatalf("state of another window size: %d, want 400", code)
	}
	if code := post("0", good[:len(good)-1]); code != http.StatusBadRequest {
		t.Fatalf("truncated state: %d, want 400", code)
	}
	if n, _ := agg.KeyCount(); n != 0 {
		t.Fatalf("refused states left %d series behind", n)
	}
	if code := post("0", good); code != http.StatusOK {
		t.Fatalf("good state: %d", code)
	}
	if code := post("0", good); code != http.StatusConflict {
		t.Fatalf("same shard twice: %d, want 409", code)
	}
	if s, _ := agg.Stats(); s.Total != 500 {
		t.Fatalf("merged total %d, want 500", s.Total)
	}
}
