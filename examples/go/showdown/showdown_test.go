package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
	"time"
)

// TestSidesAgree runs every side (the optional ones too) on a tiny stream
// and checks that each one's sampled answers agree with the exact oracle.
func TestSidesAgree(t *testing.T) {
	c := config{series: 500, rate: 20_000, window: 2 * time.Second, steady: 500 * time.Millisecond,
		duration: 200 * time.Millisecond, batch: 1024, sample: 100, reqEvery: time.Millisecond,
		seed: 1, alpha: 0.01, burst: 4, hostAlloc: 32, sides: allIDs()}
	c.pane = c.window / 60
	for c.window%c.pane != 0 {
		c.pane--
	}
	if err := validate(&c); err != nil {
		t.Fatal(err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	out := devnull
	if testing.Verbose() {
		out = os.Stdout
	}
	runs, err := run(&c, out, devnull)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(sideSpecs) {
		t.Fatalf("%d sides ran, want %d", len(runs), len(sideSpecs))
	}
	for _, r := range runs {
		switch {
		case r.err != nil:
			t.Errorf("%s: %v", r.id, r.err)
		case r.agreeBad != 0 || r.agreeOK != c.sample:
			t.Errorf("%s: %d/%d disagree: %s", r.name, r.agreeBad, r.agreeOK+r.agreeBad, r.agreeFirst)
		case r.nread != c.series:
			t.Errorf("%s: read %d series, want %d", r.name, r.nread, c.series)
		case r.reqErrors != 0:
			t.Errorf("%s: %d request errors", r.name, r.reqErrors)
		}
	}
}

func TestSelectMatchesSort(t *testing.T) {
	rng := uint64(3)
	for n := 1; n < 300; n += 7 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(splitmix(&rng)%50) - 10 // duplicates and negatives
		}
		w := append([]float64(nil), v...)
		if got, want := quantilesBySelect(v), quantilesBySort(w); got != want {
			t.Fatalf("n=%d: select %v, sort %v", n, got, want)
		}
	}
}

func TestParseGCSetting(t *testing.T) {
	for in, want := range map[string]gcSetting{
		"env":                      processGC,
		"":                         processGC,
		"gogc=400":                 {400, processGC.limit},
		"gogc=off,memlimit=512MiB": {-1, 512 << 20},
		"memlimit=2GiB":            {processGC.gogc, 2 << 30},
		"gogc=50, memlimit=off":    {50, math.MaxInt64},
	} {
		got, err := parseGCSetting(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"gogc", "gogc=-1", "gogc=x", "memlimit=0", "memlimit=12TB", "foo=1"} {
		if _, err := parseGCSetting(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// apply restores what was set before.
	restore := gcSetting{gogc: 321, limit: 1 << 40}.apply()
	if g := debug.SetGCPercent(321); g != 321 {
		t.Errorf("GOGC %d after apply, want 321", g)
	}
	restore()
	if g := debug.SetGCPercent(processGC.gogc); g != processGC.gogc {
		t.Errorf("GOGC %d after restore, want %d", g, processGC.gogc)
	}
}

func TestVerdicts(t *testing.T) {
	c := &sideRun{id: "c", steadyRate: 1e6, req: [3]time.Duration{0, 100, 200}, peakHeap: 1000, peakRSS: 1000, agreeOK: 5}
	c.gcAll.gcCPUFrac = 0.01
	wa := &sideRun{id: "wa", steadyRate: 2e6, req: [3]time.Duration{0, 100, 300}, peakHeap: 100, peakRSS: 600, agreeOK: 5}
	vs := verdicts(wa, c)
	want := map[string]bool{"ingest/s (steady)": true, "req p99": true, "req p999": false,
		"GC CPU (whole run)": true, "Go heap (peak)": true, "RSS (peak)": false}
	for _, v := range vs {
		if v.met() != want[v.column] {
			t.Errorf("%s: met %v (ratio %g), want %v", v.column, v.met(), v.ratio, want[v.column])
		}
	}
	if w := vs[0].winner("wa", "c"); w != "wa wins" {
		t.Errorf("ingest winner %q", w)
	}
	if w := vs[1].winner("wa", "c"); w != "tie" {
		t.Errorf("p99 winner %q", w)
	}
	if w := vs[2].winner("wa", "c"); w != "c wins" {
		t.Errorf("p999 winner %q", w)
	}
	if r := ratioOf(0, 0); r != 1 {
		t.Errorf("0/0 = %g, want 1 (tie)", r)
	}
}
