package windowagg_test

import (
	"errors"
	"fmt"
	"math"
	"time"

	windowagg "github.com/windowagg/windowagg/bindings/go"
)

// The original design's three calls, ported one line each.
func ExampleNewCount() {
	a, err := windowagg.NewCount(4) // aggregator_new(4)
	if err != nil {
		panic(err)
	}
	defer a.Close() // aggregator_free

	fmt.Println(a.ProcessBatch([]float64{1, 2}))    // mean of 1 2
	fmt.Println(a.ProcessBatch([]float64{3, 4, 5})) // mean of the last 4: 2 3 4 5
	// Output:
	// 1.5
	// 3.5
}

// A count window per series, fed with one batch and read per key.
func ExampleAggregator_Push() {
	a, err := windowagg.New(windowagg.WithCountWindow(3))
	if err != nil {
		panic(err)
	}
	defer a.Close()

	values := []float64{10, 1, 20, 2, 30, 3, 40}
	keys := []uint64{7, 8, 7, 8, 7, 8, 7}
	if err := a.Push(values, nil, keys); err != nil {
		panic(err)
	}
	for _, k := range []uint64{7, 8} {
		s, _ := a.KeyStats(k)
		fmt.Printf("series %d: count=%d sum=%g mean=%g min=%g max=%g\n", k, s.Count, s.Sum, s.Mean, s.Min, s.Max)
	}
	n, _ := a.KeyCount()
	fmt.Println("series:", n)
	// Output:
	// series 7: count=3 sum=90 mean=30 min=20 max=40
	// series 8: count=3 sum=6 mean=2 min=1 max=3
	// series: 2
}

// Quantiles within the sketch's relative accuracy; q=0 and q=1 are exact.
func ExampleAggregator_Quantiles() {
	a, _ := windowagg.New(windowagg.WithCountWindow(1000), windowagg.WithAccuracy(0.01))
	defer a.Close()
	values := make([]float64, 1000)
	for i := range values {
		values[i] = float64(i + 1) // 1..1000
	}
	a.Push(values, nil, nil)
	q, _ := a.Quantiles([]float64{0, 0.5, 0.99, 1}, nil)
	fmt.Println("min:", q[0], "max:", q[3])
	fmt.Println("p50 within 1%:", math.Abs(q[1]-500) <= 0.01*500)
	fmt.Println("p99 within 1%:", math.Abs(q[2]-990) <= 0.01*990)
	// Output:
	// min: 1 max: 1000
	// p50 within 1%: true
	// p99 within 1%: true
}

// Tumbling windows are delivered when the watermark passes their end.
func ExampleAggregator_PollWindows() {
	a, _ := windowagg.New(windowagg.WithTumblingWindow(time.Second))
	defer a.Close()

	sec := int64(time.Second)
	values := []float64{1, 2, 3, 4, 5}
	ts := []int64{0, sec / 2, sec, 3 * sec / 2, 2 * sec} // event times in ns
	a.Push(values, ts, nil)
	a.Advance(3 * sec) // no more data: close [2s, 3s) too

	windows := make([]windowagg.Window, 16)
	n, _ := a.PollWindows(windows, nil, nil)
	for _, w := range windows[:n] {
		fmt.Printf("[%v, %v) count=%d sum=%g\n", time.Duration(w.Stats.WindowStart),
			time.Duration(w.Stats.WindowEnd), w.Stats.Count, w.Stats.Sum)
	}
	// Output:
	// [0s, 1s) count=2 sum=3
	// [1s, 2s) count=2 sum=7
	// [2s, 3s) count=1 sum=5
}

// String keys: the series id is HashString(name) and the name is kept.
func ExampleAggregator_PushStrings() {
	a, _ := windowagg.New(windowagg.WithCountWindow(100))
	defer a.Close()
	a.PushStrings([]float64{120, 80, 95}, nil, []string{"GET /", "GET /", "POST /ingest"})

	id := windowagg.HashString("GET /")
	s, _ := a.KeyStats(id)
	name, _ := a.KeyName(id)
	fmt.Printf("%s: count=%d mean=%g\n", name, s.Count, s.Mean)
	// Output:
	// GET /: count=2 mean=100
}

// Errors carry the library's message and match the sentinels.
func ExampleError() {
	a, _ := windowagg.New()
	defer a.Close()
	_, err := a.KeyStats(12345)
	fmt.Println(errors.Is(err, windowagg.ErrNotFound))
	a.Close()
	fmt.Println(a.Push([]float64{1}, nil, nil))
	// Output:
	// true
	// windowagg: aggregator is closed
}

// A Batcher lets many goroutines add single events without allocating.
func ExampleBatcher() {
	a, _ := windowagg.New(windowagg.WithSlidingWindow(time.Minute, time.Second))
	defer a.Close()
	b := windowagg.NewBatcher(a, windowagg.WithBatchSize(4096), windowagg.WithFlushInterval(100*time.Millisecond))

	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < 10; i++ {
		b.Add(1, now+int64(i)*int64(time.Millisecond), float64(i))
	}
	b.Close() // flushes the rest

	s, _ := a.KeyStats(1)
	fmt.Printf("count=%d sum=%g\n", s.Count, s.Sum)
	// Output:
	// count=10 sum=45
}

// WithAsyncFlush: a producer goroutine that is the bottleneck hands full
// buffers to the Batcher's own goroutine and goes on; Flush waits for every
// event added before it.
func ExampleWithAsyncFlush() {
	a, _ := windowagg.New(windowagg.WithSlidingWindow(time.Minute, time.Second))
	defer a.Close()
	b := windowagg.NewBatcher(a, windowagg.WithAsyncFlush(), windowagg.WithBatchSize(256))
	defer b.Close()

	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < 10_000; i++ {
		b.Add(uint64(i%4), now+int64(i)*int64(time.Millisecond), 1)
	}
	if err := b.Flush(); err != nil {
		fmt.Println(err)
	}

	s, _ := a.KeyStats(0)
	fmt.Printf("key 0: count=%d\n", s.Count)
	// Output:
	// key 0: count=2500
}

// Batcher.Observe is the per-request path: a series by name (or a label
// set's Name), a latency as a time.Duration, stamped with the host clock.
func ExampleBatcher_Observe() {
	a, _ := windowagg.New(windowagg.WithSlidingWindow(time.Minute, time.Second), windowagg.WithWallClock())
	defer a.Close()
	rec := windowagg.NewBatcher(a)

	route := windowagg.MustLabels("method", "GET", "route", "/cart")
	for i := 1; i <= 4; i++ {
		rec.ObserveDuration(route.Name, time.Duration(i)*100*time.Millisecond)
	}
	rec.Close() // flushes the rest

	s, _ := a.KeyStats(route.ID)
	name, _ := a.KeyName(route.ID)
	fmt.Printf("%s count=%d max=%gs\n", name, s.Count, s.Max)
	// Output:
	// method="GET",route="/cart" count=4 max=0.4s
}

// Per-row rolling aggregates, pandas' df.groupby(key).rolling("60s"): each
// row gets the aggregates of its key's last 60 seconds (t-60s, t].
func ExampleRolling() {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) int64 { return start.Add(time.Duration(s) * time.Second).UnixNano() }
	latency := []float64{10, 100, 30, 200, 20, math.NaN()}
	ts := []int64{at(0), at(5), at(30), at(40), at(70), at(80)}
	host := []uint64{1, 2, 1, 2, 1, 1}
	r, err := windowagg.Rolling(latency, ts, host, windowagg.RollingOptions{
		Window:     60 * time.Second,
		Aggregates: []windowagg.RollingAggregate{windowagg.RollingCount, windowagg.RollingMean, windowagg.RollingMax},
		Quantiles:  []float64{0.5},
	})
	if err != nil {
		panic(err)
	}
	for i := range latency {
		fmt.Printf("host %d t=%2ds count %v mean %v max %v median %v\n",
			host[i], (ts[i]-ts[0])/int64(time.Second), r.Count[i], r.Mean[i], r.Max[i], r.Quantiles[0][i])
	}
	// Output:
	// host 1 t= 0s count 1 mean 10 max 10 median 10
	// host 2 t= 5s count 1 mean 100 max 100 median 100
	// host 1 t=30s count 2 mean 20 max 30 median 20
	// host 2 t=40s count 2 mean 150 max 200 median 150
	// host 1 t=70s count 2 mean 25 max 30 median 25
	// host 1 t=80s count 2 mean 25 max 30 median 25
}
