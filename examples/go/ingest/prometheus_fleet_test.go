package main

// The fleet test on a real Prometheus (issue 15, item 4): three ingest
// instances in native-histogram mode, fed disjoint shares of one stream,
// scraped every second by a Prometheus server (Debian's package, native
// histograms on); the fleet p50/p99/p999 from PromQL
//
//	histogram_quantile(q, sum(ingest_window))
//
// must agree with the exact quantiles of the whole stream within the
// collector's documented bound (1+alpha)*2^(2^-schema) - 1.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	wprom "github.com/windowagg/windowagg/bindings/go/prometheus"
)

const (
	fleetAlpha     = 0.01
	fleetInstances = 3
	fleetEvents    = 60_000
	fleetRounds    = 12 // the stream is pushed in rounds, about a second apart
	fleetBatch     = 1000
	fleetMetric    = "ingest_window"
	fleetSeries    = "GET /api"
)

// findPrometheus returns the prometheus binary: on PATH, else Debian's
// /usr/bin/prometheus, else "".
func findPrometheus() string {
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if fi, err := os.Stat("/usr/bin/prometheus"); err == nil && !fi.IsDir() {
		return "/usr/bin/prometheus"
	}
	return ""
}

// freeLoopbackPort returns a port that was free on 127.0.0.1 a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startChild starts cmd so that it dies with the test process (Pdeathsig)
// and is killed and reaped at the end of the test, also on failure. The
// channel is closed when it has exited.
func startChild(t *testing.T, cmd *exec.Cmd) <-chan struct{} {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return done
}

// startIngest runs one ingest instance on a free loopback port and returns
// its host:port.
func startIngest(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	startChild(t, cmd)
	addr, ok := listenAddr(out)
	if !ok {
		t.Fatalf("ingest did not start; stderr:\n%s", stderr)
	}
	return addr
}

// promAPI queries Prometheus' HTTP API and returns the "data" member.
func promAPI(ctx context.Context, base, path string, params url.Values) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+path+"?"+params.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %d %q", path, resp.StatusCode, b)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s %v: %s", path, params, r.Error)
	}
	return r.Data, nil
}

// promScalar evaluates an instant query that yields one sample.
func promScalar(ctx context.Context, base, query string) (float64, error) {
	data, err := promAPI(ctx, base, "/api/v1/query", url.Values{"query": {query}})
	if err != nil {
		return 0, err
	}
	var v struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return 0, err
	}
	if len(v.Result) != 1 {
		return 0, fmt.Errorf("%s: %d samples", query, len(v.Result))
	}
	s, _ := v.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// fleetPost posts evs as one JSON array to an ingest instance.
func fleetPost(ctx context.Context, addr string, evs []ev) error {
	body, err := json.Marshal(evs)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/ingest", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m struct{ Accepted int }
	if resp.StatusCode != 200 || json.Unmarshal(b, &m) != nil || m.Accepted != len(evs) {
		return fmt.Errorf("POST %s: %d %s", addr, resp.StatusCode, b)
	}
	return nil
}

// startPrometheus starts the server on a free loopback port with native
// histograms on and returns its base URL once it is ready, or "" if it
// exited before (the port was taken; fatal when last is set).
func startPrometheus(ctx context.Context, t *testing.T, bin, cfgPath, dataDir string, last bool) string {
	t.Helper()
	port := freeLoopbackPort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	promLog := &bytes.Buffer{}
	prom := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+dataDir,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--enable-feature=native-histograms",
		"--log.level=warn")
	prom.Stdout, prom.Stderr = promLog, promLog
	done := make(chan struct{})
	// Registered before startChild's cleanup, so it runs after it: the log
	// is read once the process has been reaped.
	t.Cleanup(func() {
		<-done
		if t.Failed() {
			t.Logf("prometheus log (%s):\n%s", base, promLog)
		}
	})
	exited := startChild(t, prom)
	go func() { <-exited; close(done) }()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		select {
		case <-exited:
			if last {
				t.Fatalf("prometheus exited before it was ready:\n%s", promLog)
			}
			t.Logf("prometheus exited before it was ready (trying another port):\n%s", promLog)
			return ""
		case <-ctx.Done():
			t.Fatalf("prometheus did not become ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestPrometheusFleet: see the top of the file. It also writes the fleet
// and per-instance p99 over the test's span (query_range, 1s steps) as CSV
// to $WINDOWAGG_FLEET_CSV, default <tmp>/windowagg-prometheus-fleet/fleet_p99.csv
// (docs/prometheus-fleet-p99.png is drawn from it by scripts/plot_fleet_p99.py).
func TestPrometheusFleet(t *testing.T) {
	promBin := findPrometheus()
	if promBin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus not found on PATH or at /usr/bin/prometheus; CI is set, so the fleet test must run: install Debian's prometheus package (scripts/setup.sh does)")
		}
		t.Skip("prometheus not found on PATH or at /usr/bin/prometheus (Debian package prometheus; scripts/setup.sh installs it): skipping the fleet test on a real Prometheus")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	dir := t.TempDir()

	bin := filepath.Join(dir, "ingest")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	buildTook := time.Since(began)

	// Three instances, windows long enough that nothing leaves them.
	addrs := make([]string, fleetInstances)
	for i := range addrs {
		addrs[i] = startIngest(t, bin, "-native-histograms", "-window", "10m",
			"-alpha", strconv.FormatFloat(fleetAlpha, 'g', -1, 64), "-dedup-ids", "0")
	}

	// Prometheus on a free loopback port, temp data dir, 1s scrapes.
	targets := "'" + strings.Join(addrs, "', '") + "'"
	cfg := `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ingest
    static_configs:
      - targets: [` + targets + `]
`
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The free port may be taken by another process before Prometheus binds
	// it: then it exits at once, and it is started again on another port.
	var promBase string
	for attempt := 1; promBase == ""; attempt++ {
		promBase = startPrometheus(ctx, t, promBin, cfgPath, filepath.Join(dir, "tsdb"), attempt == 3)
	}
	// Prometheus starts scraping a few seconds after it is ready (target
	// discovery is throttled): wait for the first scrape of every instance.
	upQ := fmt.Sprintf("count(up{job=\"ingest\"} == 1) == %d", fleetInstances)
	for {
		if v, err := promScalar(ctx, promBase, upQ); err == nil && v == fleetInstances {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Prometheus did not scrape the %d instances", fleetInstances)
		}
		time.Sleep(200 * time.Millisecond)
	}
	spanStart := time.Now()

	// One stream of lognormal latencies (seconds), disjoint shares: event i
	// goes to instance i%3, in rounds a second apart, with timestamps of the
	// push time. From the middle on, instance 2's share is slower (a bad
	// host: x1.6), so the instances' p99s part and the fleet's lies between.
	rng := rand.New(rand.NewPCG(15, 4))
	stream := make([]float64, fleetEvents)
	for i := range stream {
		stream[i] = math.Exp(rng.NormFloat64()*0.8 - 3)
		if i%fleetInstances == 2 && i >= fleetEvents/2 {
			stream[i] *= 1.6
		}
	}
	per := fleetEvents / fleetRounds
	for r := 0; r < fleetRounds; r++ {
		if r > 0 {
			time.Sleep(time.Second)
		}
		now := time.Now().UnixNano()
		shares := make([][]ev, fleetInstances)
		for i := r * per; i < (r+1)*per; i++ {
			k := i % fleetInstances
			shares[k] = append(shares[k], ev{fmt.Sprint("e", i), now, fleetSeries, stream[i]})
		}
		for k, share := range shares {
			for len(share) > 0 {
				n := min(fleetBatch, len(share))
				if err := fleetPost(ctx, addrs[k], share[:n]); err != nil {
					t.Fatal(err)
				}
				share = share[n:]
			}
		}
	}
	pushed := time.Now()

	// Wait until a scrape after the last push is in: the summed window
	// count is the whole stream (each instance holds at most its share).
	countQ := fmt.Sprintf("histogram_count(sum(%s))", fleetMetric)
	for {
		c, err := promScalar(ctx, promBase, countQ)
		if err == nil && c == fleetEvents {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Prometheus never saw all %d values (%s = %v, %v)", fleetEvents, countQ, c, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	seen := time.Now()

	sorted := append([]float64(nil), stream...)
	sort.Float64s(sorted)
	schema := wprom.SchemaFor(fleetAlpha)
	bound := (1+fleetAlpha)*math.Pow(2, math.Pow(2, -float64(schema))) - 1
	n := float64(len(sorted))
	for _, q := range []float64{0.5, 0.99, 0.999} {
		query := fmt.Sprintf("histogram_quantile(%g, sum(%s))", q, fleetMetric)
		got, err := promScalar(ctx, promBase, query)
		if err != nil {
			t.Fatal(err)
		}
		exact := sorted[int(math.Floor(q*(n-1)))]
		// Prometheus ranks at q*n, the exact quantile at floor(q*(n-1)):
		// either neighbour is as exact, so the bound applies to the range.
		xlo := sorted[max(0, int(math.Floor(q*(n-1)))-1)]
		xhi := sorted[min(len(sorted)-1, int(math.Ceil(q*n)))]
		t.Logf("fleet p%g: PromQL %.6g, exact %.6g, relative error %+.3f%% (bound %.3f%%)",
			q*100, got, exact, 100*(got/exact-1), 100*bound)
		if got < xlo*(1-bound) || got > xhi*(1+bound) {
			t.Errorf("%s = %g; exact %g (neighbours %g..%g), outside the bound %.4f", query, got, exact, xlo, xhi, bound)
		}
	}

	// The p99 over the test's span, for the README's picture.
	csvPath := os.Getenv("WINDOWAGG_FLEET_CSV")
	if csvPath == "" {
		csvPath = filepath.Join(os.TempDir(), "windowagg-prometheus-fleet", "fleet_p99.csv")
	}
	if err := writeFleetCSV(ctx, promBase, csvPath, spanStart, time.Now(), addrs, sorted[int(math.Floor(0.99*(n-1)))]); err != nil {
		t.Fatal(err)
	}
	t.Logf("p99 time series: %s", csvPath)
	t.Logf("times: build %v, start..last push %v, last push..Prometheus has it %v, total %v",
		buildTook.Round(time.Millisecond), pushed.Sub(spanStart).Round(time.Millisecond),
		seen.Sub(pushed).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// writeFleetCSV writes, per 1s step from start to end, the fleet p99
// (histogram_quantile over sum), each instance's p99 and the exact p99 of
// the whole stream, as "unix_seconds,series,p99_seconds" rows.
func writeFleetCSV(ctx context.Context, base, path string, start, end time.Time, addrs []string, exact float64) error {
	var b strings.Builder
	b.WriteString("unix_seconds,series,p99_seconds\n")
	names := map[string]string{}
	for i, a := range addrs {
		names[a] = fmt.Sprintf("instance %d", i)
	}
	for _, query := range []string{
		fmt.Sprintf("histogram_quantile(0.99, sum(%s))", fleetMetric),
		fmt.Sprintf("histogram_quantile(0.99, %s)", fleetMetric),
	} {
		data, err := promAPI(ctx, base, "/api/v1/query_range", url.Values{
			"query": {query},
			"start": {strconv.FormatInt(start.Unix(), 10)},
			"end":   {strconv.FormatInt(end.Unix()+1, 10)},
			"step":  {"1"},
		})
		if err != nil {
			return err
		}
		var m struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
		for _, r := range m.Result {
			name := "fleet"
			if inst, ok := r.Metric["instance"]; ok {
				name = names[inst]
			}
			for _, v := range r.Values {
				s, _ := v[1].(string)
				at, _ := v[0].(float64)
				fmt.Fprintf(&b, "%.3f,%s,%s\n", at, name, s)
			}
		}
	}
	fmt.Fprintf(&b, "%d,exact,%g\n%d,exact,%g\n", start.Unix(), exact, end.Unix()+1, exact)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
