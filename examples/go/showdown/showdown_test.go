package main

import (
	"os"
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
