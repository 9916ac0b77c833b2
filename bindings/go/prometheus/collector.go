// Package prometheus exposes a windowagg.Aggregator to a Prometheus registry
// with Prometheus semantics: each series is a Summary whose _count and _sum
// are monotonic lifetime totals (windowagg.Aggregator.EnableTotals, turned on
// by NewCollector) and whose quantiles are those of the series' current
// window, as a client_golang Summary with MaxAge; or, with
// Opts.NativeHistogram, a native (gauge) histogram of the window that sums
// across instances. Series names become labels: a plain name (PushStrings,
// Batcher.Observe, Batcher.AddString) in the KeyLabel label, a label set
// (windowagg.Labels; Batcher.Observe(ls.Name, v), Batcher.AddLabels) in
// several labels (Opts.Labels).
//
//	agg, _ := windowagg.New(windowagg.WithSlidingWindow(time.Minute, 0))
//	prom.MustRegister(wprom.NewCollector(agg, wprom.Opts{Name: "request_latency_seconds"}))
//
// Windows are event-time windows: they move when data arrives or the service
// calls Advance. Set Opts.WallClock (or create the handle with
// windowagg.WithWallClock) to have them move by the host's clock instead, so
// a series that goes quiet shows an empty window (NaN quantiles) after one
// window width, as a client_golang Summary with MaxAge does.
//
// Each scrape reads every series in one paged AllStats pass (one cgo call
// per page, not per series). Numeric keys are labelled with their decimal id,
// byte-string keys with their name.
package prometheus

import (
	"errors"
	"math"
	"strconv"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	windowagg "github.com/windowagg/windowagg/bindings/go"
)

// Opts configures a Collector.
type Opts struct {
	// Namespace, Subsystem and Name build the metric name (Name defaults to
	// "windowagg_window").
	Namespace, Subsystem, Name string
	// Help defaults to a description of the window.
	Help string
	// KeyLabel names the series label (default "series").
	KeyLabel string
	// Quantiles to expose (default 0.5, 0.9, 0.99, 0.999).
	Quantiles []float64
	// ConstLabels are added to every metric.
	ConstLabels prom.Labels
	// HandleMetrics adds <name>_series (live series) and
	// <name>_memory_bytes (native memory held) gauges.
	HandleMetrics bool
	// MaxSeries caps the series exposed per scrape (0: all). A handle with
	// more exposes the first MaxSeries in the library's listing order, and
	// the <name>_series_omitted gauge says how many were left out (0 when
	// none), so one scrape's size and cost stay bounded whatever the number
	// of series.
	MaxSeries int
	// WallClock makes each scrape advance agg's watermark to the host's
	// clock (time.Now().UnixNano()) before reading, so windows slide and
	// quiet series empty (and, with windowagg.WithKeyTTL, expire) by wall
	// time, like client_golang's Summary MaxAge, without the service calling
	// Advance. Event timestamps must be UnixNano. Not for COUNT windows (they
	// have no time; the option is ignored there). A handle created with
	// windowagg.WithWallClock does the same on every read, scrapes included.
	WallClock bool
	// Labels, if set, are the label names of series named by a label set
	// (windowagg.Labels / Batcher.AddLabels): each series' name is decoded
	// into these labels (a label the set lacks is ""; one not listed here is
	// left out). A series with a plain name or a bare id gets it in the
	// first label. Unset: one label, KeyLabel, holding the series' name (a
	// label set's encoded name) or decimal id.
	Labels []string
	// NativeHistogram exports each series' current window as a Prometheus
	// native histogram (a gauge histogram: it goes down as values leave the
	// window; query it without rate(), e.g.
	// histogram_quantile(0.99, sum(<name>))) instead of a Summary, plus the
	// lifetime counters <name>_observed_count_total and
	// <name>_observed_sum_total. The schema is the smallest whose bucket
	// ratio 2^(2^-schema) is at most the sketch's gamma = (1+alpha)/(1-alpha)
	// (alpha 0.01: schema 6, 1.09% buckets). Each of the sketch's buckets
	// goes, whole, into the native bucket holding its representative value
	// (the value the sketch answers for it, within alpha of every value in
	// it); the sketch's buckets are log-linear, not exact powers of a base, so
	// they cannot be copied one to one. A quantile read from these buckets
	// (also after summing the histograms of several instances) is within
	// (1+alpha)*2^(2^-schema) - 1 of the true value (alpha 0.01: 2.1%).
	// Cost: the buckets are read from the library as every rank's value
	// (one quantile call per series of its window's count), O(window count)
	// per series per scrape. Handles without quantiles export counts only.
	NativeHistogram bool
}

// Collector is a prometheus.Collector over an Aggregator. It is safe for
// concurrent scrapes.
type Collector struct {
	agg       *windowagg.Aggregator
	desc      *prom.Desc
	countD    *prom.Desc // NativeHistogram: lifetime counters
	sumD      *prom.Desc
	seriesD   *prom.Desc
	memoryD   *prom.Desc
	omittedD  *prom.Desc
	quantiles []float64
	maxSeries int
	wallClock bool
	labels    []string // Opts.Labels (nil: one KeyLabel label)
	native    bool
	schema    int32

	mu    sync.Mutex // guards the buffers and the label cache
	stats []windowagg.KeyStats
	qbuf  []float64
	ranks []float64 // NativeHistogram: rank quantiles
	vals  []float64
	gen   uint32
	label map[uint64]labelEntry
}

type labelEntry struct {
	values []string
	gen    uint32
}

var _ prom.Collector = (*Collector)(nil)

// SchemaFor returns the native-histogram schema NewCollector uses for a
// sketch of relative accuracy alpha: the smallest schema (at most 8) whose
// bucket ratio 2^(2^-schema) is <= gamma = (1+alpha)/(1-alpha).
func SchemaFor(alpha float64) int32 {
	g := math.Log2((1 + alpha) / (1 - alpha))
	s := int32(math.Ceil(-math.Log2(g)))
	return max(-4, min(8, s))
}

// NewCollector returns a Collector reading agg. It does not own agg. It turns
// on agg's lifetime totals (EnableTotals): _count and _sum count the values
// pushed from then on.
func NewCollector(agg *windowagg.Aggregator, o Opts) *Collector {
	if o.Name == "" {
		o.Name = "windowagg_window"
	}
	if o.Help == "" {
		if o.NativeHistogram {
			o.Help = "Windowed distribution of each series (windowagg): the current window as a native gauge histogram."
		} else {
			o.Help = "Windowed aggregate of each series (windowagg): lifetime count and sum, quantiles of the current window."
		}
	}
	if o.KeyLabel == "" {
		o.KeyLabel = "series"
	}
	if o.Quantiles == nil {
		o.Quantiles = []float64{0.5, 0.9, 0.99, 0.999}
	}
	agg.EnableTotals()
	name := prom.BuildFQName(o.Namespace, o.Subsystem, o.Name)
	varLabels := []string{o.KeyLabel}
	if len(o.Labels) > 0 {
		varLabels = append([]string(nil), o.Labels...)
	}
	c := &Collector{
		agg:       agg,
		desc:      prom.NewDesc(name, o.Help, varLabels, o.ConstLabels),
		quantiles: append([]float64(nil), o.Quantiles...),
		label:     map[uint64]labelEntry{},
		maxSeries: o.MaxSeries,
		wallClock: o.WallClock,
		native:    o.NativeHistogram,
	}
	if len(o.Labels) > 0 {
		c.labels = varLabels
	}
	if o.NativeHistogram {
		c.quantiles = nil // the buckets carry the distribution
		alpha := 0.01
		if cfg, err := agg.Config(); err == nil {
			alpha = cfg.RelativeAccuracy
		}
		c.schema = SchemaFor(alpha)
		c.countD = prom.NewDesc(name+"_observed_count_total",
			"Values observed per series since the collector started (monotonic).", varLabels, o.ConstLabels)
		c.sumD = prom.NewDesc(name+"_observed_sum_total",
			"Sum of the values observed per series since the collector started.", varLabels, o.ConstLabels)
	}
	if o.MaxSeries > 0 {
		c.omittedD = prom.NewDesc(name+"_series_omitted",
			"Series left out of this scrape by the collector's MaxSeries cap.", nil, o.ConstLabels)
	}
	if o.HandleMetrics {
		c.seriesD = prom.NewDesc(name+"_series", "Live series in the windowagg handle.", nil, o.ConstLabels)
		c.memoryD = prom.NewDesc(name+"_memory_bytes", "Native memory held by the windowagg handle.", nil, o.ConstLabels)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prom.Desc) {
	ch <- c.desc
	if c.countD != nil {
		ch <- c.countD
		ch <- c.sumD
	}
	if c.seriesD != nil {
		ch <- c.seriesD
		ch <- c.memoryD
	}
	if c.omittedD != nil {
		ch <- c.omittedD
	}
}

// capped reads the stats of at most c.maxSeries series, page by page.
func (c *Collector) capped(qs []float64) error {
	nq := len(qs)
	if cap(c.stats) < c.maxSeries {
		c.stats = make([]windowagg.KeyStats, 0, c.maxSeries)
	}
	if cap(c.qbuf) < c.maxSeries*nq {
		c.qbuf = make([]float64, 0, c.maxSeries*nq)
	}
	c.stats, c.qbuf = c.stats[:0], c.qbuf[:0]
	var cur windowagg.Cursor
	for !cur.Done() && len(c.stats) < c.maxSeries {
		room := min(c.maxSeries-len(c.stats), 1024)
		page := c.stats[len(c.stats) : len(c.stats)+room]
		pageQ := c.qbuf[len(c.stats)*nq : (len(c.stats)+room)*nq]
		n, err := c.agg.StatsPage(&cur, page, qs, pageQ)
		if err != nil {
			return err
		}
		if n == 0 && !cur.Done() {
			break
		}
		c.stats = c.stats[:len(c.stats)+n]
		c.qbuf = c.qbuf[:len(c.stats)*nq]
	}
	return nil
}

func (c *Collector) read(qs []float64) error {
	if c.maxSeries > 0 {
		return c.capped(qs)
	}
	var err error
	c.stats, c.qbuf, err = c.agg.AllStats(c.stats, qs, c.qbuf)
	return err
}

// labelsFor returns the label values of key: decoded from its name (a label
// set) or its name or decimal id. Cached between scrapes; entries of series
// that disappeared are pruned after each scrape.
func (c *Collector) labelsFor(key uint64) []string {
	if e, ok := c.label[key]; ok {
		c.label[key] = labelEntry{e.values, c.gen}
		return e.values
	}
	name, _ := c.agg.KeyName(key)
	if name == "" {
		name = strconv.FormatUint(key, 10)
	}
	var vals []string
	if c.labels == nil {
		vals = []string{name}
	} else {
		vals = make([]string, len(c.labels))
		if kv, ok := windowagg.ParseLabels(name); ok {
			for i := 0; i < len(kv); i += 2 {
				for j, l := range c.labels {
					if l == kv[i] {
						vals[j] = kv[i+1]
					}
				}
			}
		} else {
			vals[0] = name
		}
	}
	c.label[key] = labelEntry{vals, c.gen}
	return vals
}

// histogram reads series key's window as native-histogram buckets: the
// value of every rank 0..n-1 (q = (r+0.5)/(n-1), so floor(q*(n-1)) = r
// exactly; q = 1 for the last), each the representative of its sketch
// bucket (or the exact value, for small count windows), mapped to the
// bucket of c.schema holding it.
func (c *Collector) histogram(key uint64, n uint64) (pos, neg map[int]int64, zero uint64, placed uint64, err error) {
	pos, neg = map[int]int64{}, map[int]int64{}
	if n == 0 {
		return pos, neg, 0, 0, nil
	}
	if uint64(cap(c.ranks)) < n {
		c.ranks = make([]float64, n)
		c.vals = make([]float64, n)
	}
	qs := c.ranks[:n]
	for r := range qs {
		if n == 1 || uint64(r) == n-1 {
			qs[r] = 1
		} else {
			qs[r] = (float64(r) + 0.5) / float64(n-1)
		}
	}
	vals, err := c.agg.KeyQuantiles(key, qs, c.vals[:n])
	if err != nil {
		return nil, nil, 0, 0, err
	}
	scale := math.Ldexp(1, int(c.schema))
	for _, v := range vals {
		if math.IsNaN(v) {
			continue // the window emptied between the two reads
		}
		placed++
		switch {
		case v == 0:
			zero++
		case v > 0:
			pos[int(math.Ceil(math.Log2(v)*scale))]++
		default:
			neg[int(math.Ceil(math.Log2(-v)*scale))]++
		}
	}
	return pos, neg, zero, placed, nil
}

// Collect implements prometheus.Collector: one Summary (or native
// histogram) per series.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wallClock {
		_ = c.agg.Advance(time.Now().UnixNano()) // ErrClosed: the read below says so
	}
	qs := c.quantiles
	err := c.read(qs)
	if errors.Is(err, windowagg.ErrClosed) {
		return
	}
	if errors.Is(err, windowagg.ErrUnsupported) && len(qs) > 0 {
		// a handle without the sketch: counts and sums only
		qs = nil
		err = c.read(nil)
	}
	if err != nil {
		ch <- prom.NewInvalidMetric(c.desc, err)
		return
	}
	c.gen++
	nq := len(qs)
	for i, e := range c.stats {
		lv := c.labelsFor(e.Key)
		tot, _ := c.agg.LifetimeTotals(e.Key)
		if c.native {
			pos, neg, zero, placed, err := c.histogram(e.Key, e.Stats.Count)
			if errors.Is(err, windowagg.ErrUnsupported) || errors.Is(err, windowagg.ErrNotFound) {
				pos, neg, zero, placed, err = nil, nil, 0, 0, nil
			}
			if err != nil {
				ch <- prom.NewInvalidMetric(c.desc, err)
				continue
			}
			sum := e.Stats.Sum
			if placed == 0 {
				sum = 0
			}
			m, err := prom.NewConstNativeHistogram(c.desc, placed, sum, pos, neg, zero, c.schema, 0, time.Time{}, lv...)
			if err != nil {
				m = prom.NewInvalidMetric(c.desc, err)
			}
			ch <- m
			ch <- prom.MustNewConstMetric(c.countD, prom.CounterValue, float64(tot.Count), lv...)
			ch <- prom.MustNewConstMetric(c.sumD, prom.CounterValue, tot.Sum, lv...)
			continue
		}
		var qm map[float64]float64
		if nq > 0 {
			qm = make(map[float64]float64, nq)
			for j, q := range qs {
				qm[q] = c.qbuf[i*nq+j]
			}
		}
		ch <- prom.MustNewConstSummary(c.desc, tot.Count, tot.Sum, qm, lv...)
	}
	for k, e := range c.label {
		if e.gen != c.gen {
			delete(c.label, k)
		}
	}
	if c.seriesD != nil {
		if n, err := c.agg.KeyCount(); err == nil {
			ch <- prom.MustNewConstMetric(c.seriesD, prom.GaugeValue, float64(n))
		}
		if m, err := c.agg.MemoryUsage(); err == nil {
			ch <- prom.MustNewConstMetric(c.memoryD, prom.GaugeValue, float64(m))
		}
	}
	if c.omittedD != nil {
		if n, err := c.agg.KeyCount(); err == nil {
			ch <- prom.MustNewConstMetric(c.omittedD, prom.GaugeValue, float64(max(0, n-len(c.stats))))
		}
	}
}
