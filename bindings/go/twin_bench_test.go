package windowagg

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// Go twins of native benchmarks (benchmarks/, windowagg_bench), for the
// "within 10% of the native twin at batch 4096" check: the same window,
// value distribution, keys and batch, one Push per batch, CPU time per value
// per value: thread-cpu-ns/value is the CPU time of the pushing thread (the
// goroutine is locked to it), the unit of the native CPU column (divided by
// 4096); cpu-ns/value is the whole process's, which adds the Go runtime's
// own work (sysmon handing the P off during a long cgo call, on a loaded
// machine). bindings/go/twin_ratio.sh runs both sides and prints the ratios.

// twinValues: the native value pool's distribution (lognormal, median 200,
// sigma 0.8: benchmarks/bench_main.cc ValuePool).
func twinValues(n int) []float64 {
	rng := rand.New(rand.NewPCG(42, 42))
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Exp(math.Log(200) + 0.8*rng.NormFloat64())
	}
	return v
}

const (
	twinPool  = 1 << 17 // kPool
	twinBatch = 4096
	twinStep  = 10_000 // kStepNs
)

// BenchmarkTwin: binding_ref/kind:count/window:65536/q:1/threading:shared/batch:4096,
// push/kind:sliding/window:60s/q:1/batch:4096 and
// keyed/impl:windowagg/dist:uniform/series:1000/real_time/threads:1.
func BenchmarkTwin(b *testing.B) {
	vals := twinValues(twinPool)
	b.Run("binding_ref/kind:count/window:65536/q:1/threading:shared/batch:4096", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		a := newAgg(b, WithCountWindow(65536))
		for off := 0; off < 65536+4096; off += twinBatch { // warm: a full window
			a.Push(vals[off:off+twinBatch], nil, nil)
		}
		off := 0
		cpu0, t0 := processCPU(), threadCPU()
		for b.Loop() {
			if off+twinBatch > twinPool {
				off = 0
			}
			if err := a.Push(vals[off:off+twinBatch], nil, nil); err != nil {
				b.Fatal(err)
			}
			off += twinBatch
		}
		reportThreadCPUPerValue(b, t0, twinBatch)
		reportCPUPerValue(b, cpu0, twinBatch)
	})
	b.Run("push/kind:sliding/window:60s/q:1/batch:4096", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		a := newAgg(b, WithSlidingWindow(time.Minute, time.Second))
		ts := make([]int64, twinPool)
		for i := range ts {
			ts[i] = int64(i) * twinStep
		}
		off := 0
		var pausedT, pausedP int64 // the native twin pauses timing for the shift
		next := func() {
			if off+twinBatch > twinPool {
				t0, p0 := threadCPU(), processCPU()
				shift := int64(off) * twinStep
				for i := range ts {
					ts[i] += shift
				}
				off = 0
				pausedT += threadCPU() - t0
				pausedP += processCPU() - p0
			}
			if err := a.Push(vals[off:off+twinBatch], ts[off:off+twinBatch], nil); err != nil {
				b.Fatal(err)
			}
			off += twinBatch
		}
		for warm := 0; warm < int((time.Minute+2*time.Second)/twinStep); warm += twinBatch {
			next()
		}
		pausedT, pausedP = 0, 0
		cpu0, t0 := processCPU(), threadCPU()
		for b.Loop() {
			next()
		}
		reportThreadCPUPerValue(b, t0+pausedT, twinBatch)
		reportCPUPerValue(b, cpu0+pausedP, twinBatch)
	})
	b.Run("keyed/impl:windowagg/dist:uniform/series:1000/threads:1", func(b *testing.B) {
		const pool, series = 1 << 20, 1000
		keys := make([]uint64, pool)
		rng := rand.New(rand.NewPCG(7, series))
		for i := range keys {
			keys[i] = splitMix(rng.Uint64N(series)) & 0x7FFFFFFFFFFFFFFF
		}
		kv := make([]float64, pool)
		for i := range kv {
			kv[i] = vals[i%twinPool]
		}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		a := newAgg(b, WithCountWindow(100))
		all := make([]uint64, series)
		for r := range all {
			all[r] = splitMix(uint64(r)) & 0x7FFFFFFFFFFFFFFF
		}
		if err := a.Push(kv[:series], nil, all); err != nil {
			b.Fatal(err)
		}
		off := 0
		cpu0, t0 := processCPU(), threadCPU()
		for b.Loop() {
			if off+twinBatch > pool {
				off = 0
			}
			if err := a.Push(kv[off:off+twinBatch], nil, keys[off:off+twinBatch]); err != nil {
				b.Fatal(err)
			}
			off += twinBatch
		}
		reportThreadCPUPerValue(b, t0, twinBatch)
		reportCPUPerValue(b, cpu0, twinBatch)
	})
}

func reportThreadCPUPerValue(b *testing.B, t0 int64, batch int) {
	b.ReportMetric(float64(threadCPU()-t0)/float64(b.N)/float64(batch), "thread-cpu-ns/value")
}
