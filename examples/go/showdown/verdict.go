package main

import (
	"fmt"
	"io"
)

// The goals of the showdown (issue 14, goal 1): windowagg Push/batch (wa)
// against the tuned pointer-free Go arena (c), default flags, one run.
const (
	goalIngest = 2.0 // wa ingest/s >= 2x c's
	goalReq    = 1.0 // wa request p99 and p999 <= c's
	goalGC     = 1.0 // wa whole-run GC CPU <= c's
	goalHeap   = 0.1 // wa Go heap <= 1/10 of c's
	goalRSS    = 0.5 // wa RSS <= 1/2 of c's
)

// verdict is one column's comparison of a windowagg side with the arena.
type verdict struct {
	column   string
	wa, c    string  // the two values, formatted
	ratio    float64 // wa / c
	higherOK bool    // higher is better (ingest)
	goal     float64 // the ratio the goal asks for (>= when higherOK, else <=)
}

func (v verdict) met() bool {
	if v.higherOK {
		return v.ratio >= v.goal
	}
	return v.ratio <= v.goal
}

// winner names who wins the column (a ratio within 2% of 1 is a tie).
func (v verdict) winner(wa, c string) string {
	switch r := v.ratio; {
	case r > 0.98 && r < 1.02:
		return "tie"
	case (r > 1) == v.higherOK:
		return wa + " wins"
	}
	return c + " wins"
}

// ratioOf is a/b with 0/0 = 1 (both nothing: a tie) and x/0 = +Inf.
func ratioOf(a, b float64) float64 {
	switch {
	case a == 0 && b == 0:
		return 1
	case b == 0:
		return inf
	}
	return a / b
}

var inf = 1e308

func fmtRatio(r float64) string {
	switch {
	case r >= inf:
		return "inf"
	case r >= 100 || r < 0.01 && r > 0:
		return fmt.Sprintf("%.3gx", r)
	}
	return fmt.Sprintf("%.2fx", r)
}

func verdicts(wa, c *sideRun) []verdict {
	gcCPU := func(r *sideRun) float64 { return r.gcAll.gcCPUFrac }
	return []verdict{
		{"ingest/s (steady)", siCount(wa.steadyRate), siCount(c.steadyRate), ratioOf(wa.steadyRate, c.steadyRate), true, goalIngest},
		{"req p99", fmtDur(wa.req[1]), fmtDur(c.req[1]), ratioOf(float64(wa.req[1]), float64(c.req[1])), false, goalReq},
		{"req p999", fmtDur(wa.req[2]), fmtDur(c.req[2]), ratioOf(float64(wa.req[2]), float64(c.req[2])), false, goalReq},
		{"GC CPU (whole run)", fmt.Sprintf("%.2f%%", 100*gcCPU(wa)), fmt.Sprintf("%.2f%%", 100*gcCPU(c)),
			ratioOf(gcCPU(wa), gcCPU(c)), false, goalGC},
		{"Go heap (peak)", siBytes(float64(wa.peakHeap)), siBytes(float64(c.peakHeap)), ratioOf(float64(wa.peakHeap), float64(c.peakHeap)), false, goalHeap},
		{"RSS (peak)", siBytes(float64(wa.peakRSS)), siBytes(float64(c.peakRSS)), ratioOf(float64(wa.peakRSS), float64(c.peakRSS)), false, goalRSS},
	}
}

// printVerdicts ends the report: for every windowagg side, one line per
// column against the arena (c), with who wins, the ratio and the goal.
func printVerdicts(out io.Writer, runs []*sideRun) {
	var c *sideRun
	for _, r := range runs {
		if r.id == "c" && r.err == nil {
			c = r
		}
	}
	fmt.Fprintln(out, "\nVerdict (goals of issue 14 for windowagg vs the tuned Go arena (c): ingest >= 2x, req p99 and p999 <= 1x,")
	fmt.Fprintln(out, "whole-run GC CPU <= 1x, Go heap <= 0.1x, RSS <= 0.5x, agreement exact / within alpha):")
	if c == nil {
		fmt.Fprintln(out, "  no verdict: side c did not run (add it to -sides)")
		return
	}
	for _, r := range runs {
		if r.err != nil || r.id == "c" || !isWA(r.id) {
			continue
		}
		met := 0
		vs := verdicts(r, c)
		for _, v := range vs {
			st := "MISSED"
			if v.met() {
				st, met = "met", met+1
			}
			op := "<="
			if v.higherOK {
				op = ">="
			}
			fmt.Fprintf(out, "  %-4s %-19s %-22s %-9s %-14s goal %s %gx: %s\n", r.id, v.column,
				fmt.Sprintf("%s vs c %s", v.wa, v.c), v.winner(r.id, "c"), r.id+"/c="+fmtRatio(v.ratio), op, v.goal, st)
		}
		agree := r.agreeBad == 0 && c.agreeBad == 0 && r.agreeOK > 0
		st := "MISSED"
		if agree {
			st, met = "met", met+1
		}
		fmt.Fprintf(out, "  %-4s %-19s %s %d/%d within alpha (max rel err %.2g), c exact %d/%d: %s\n", r.id, "agreement",
			r.id, r.agreeOK, r.agreeOK+r.agreeBad, r.maxQErr, c.agreeOK, c.agreeOK+c.agreeBad, st)
		fmt.Fprintf(out, "  %-4s %d of %d goals met\n", r.id, met, len(vs)+1)
	}
}

func isWA(id string) bool { return len(id) >= 2 && id[:2] == "wa" }
