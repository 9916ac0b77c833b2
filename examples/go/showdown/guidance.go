package main

import (
	"fmt"
	"os"
)

// printGuidance prints GOGC/GOMEMLIMIT advice drawn from this run's numbers.
func printGuidance(out *os.File, c *config, runs []*sideRun) {
	fmt.Fprintln(out, "\nGOGC / GOMEMLIMIT guidance (from this run):")
	var goBig, wa *sideRun
	for _, r := range runs {
		if r.err != nil {
			continue
		}
		if isWA(r.id) {
			if wa == nil || r.gc.cycles > wa.gc.cycles {
				wa = r
			}
		} else if goBig == nil || r.peakHeap > goBig.peakHeap {
			goBig = r
		}
	}
	fmt.Fprintln(out, "  - GOMEMLIMIT caps the Go heap only; memory held by a C library (windowagg's state) is outside it. Set GOMEMLIMIT to")
	fmt.Fprintln(out, "    (container limit) - (native state, see windowagg MemoryUsage) - (headroom for stacks and the runtime), not to the container limit.")
	if goBig != nil {
		fmt.Fprintf(out, "  - State in the Go heap (%s): %s live, heap peak %s at %s (the goal is live x (1+GOGC/100)). A GOMEMLIMIT\n",
			goBig.name, siBytes(float64(goBig.liveHeap)), siBytes(float64(goBig.peakHeap)), goBig.gcSet)
		fmt.Fprintf(out, "    must stay well above the live heap (say >= %s): close to it the GC runs back to back, each cycle marking all of it.\n",
			siBytes(float64(goBig.liveHeap)*1.5))
		fmt.Fprintln(out, "    Raising GOGC trades RAM for fewer cycles; the cost of each cycle grows with the pointers in the live heap.")
	}
	if wa != nil {
		cyc := float64(wa.gc.cycles) / wa.gc.wall.Seconds()
		fmt.Fprintf(out, "  - State out of the Go heap (%s): %s native (so GOMEMLIMIT = limit - %s - headroom) and a live heap of %s,\n",
			wa.name, siBytes(float64(wa.native)), siBytes(float64(wa.native)), siBytes(float64(wa.liveHeap)))
		fmt.Fprintf(out, "    so at GOGC=100 the heap goal is tiny and every allocation the host makes brings a collection sooner. Run with %s\n", wa.gcSet)
		fmt.Fprintf(out, "    (bindings/go/README.md): %.1f cycles/s here at %s/s allocated, heap peak %s. Feed per-event producers through\n",
			cyc, siBytes(wa.gc.allocRate), siBytes(float64(wa.peakHeap)))
		fmt.Fprintln(out, "    windowagg's Batcher, which allocates nothing per event, and read with KeyStatsQuantiles (one cgo call, no allocation).")
	}
}
