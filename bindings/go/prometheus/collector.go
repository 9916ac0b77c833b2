// Package prometheus exposes a windowagg.Aggregator to a Prometheus registry:
// every series' current window becomes one Summary-style metric (count, sum
// and quantile-labelled values) with the series key as a label.
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
}

// Collector is a prometheus.Collector over an Aggregator. It is safe for
// concurrent scrapes.
type Collector struct {
	agg       *windowagg.Aggregator
	desc      *prom.Desc
	seriesD   *prom.Desc
	memoryD   *prom.Desc
	omittedD  *prom.Desc
	quantiles []float64
	maxSeries int
	wallClock bool

	mu    sync.Mutex // guards the buffers and the label cache
	stats []windowagg.KeyStats
	qbuf  []float64
	gen   uint32
	label map[uint64]labelEntry
}

type labelEntry struct {
	label string
	gen   uint32
}

var _ prom.Collector = (*Collector)(nil)

// NewCollector returns a Collector reading agg. It does not own agg.
func NewCollector(agg *windowagg.Aggregator, o Opts) *Collector {
	if o.Name == "" {
		o.Name = "windowagg_window"
	}
	if o.Help == "" {
		o.Help = "Windowed aggregate of each series (windowagg): count, sum and quantiles of the current window."
	}
	if o.KeyLabel == "" {
		o.KeyLabel = "series"
	}
	if o.Quantiles == nil {
		o.Quantiles = []float64{0.5, 0.9, 0.99, 0.999}
	}
	name := prom.BuildFQName(o.Namespace, o.Subsystem, o.Name)
	c := &Collector{
		agg:       agg,
		desc:      prom.NewDesc(name, o.Help, []string{o.KeyLabel}, o.ConstLabels),
		quantiles: append([]float64(nil), o.Quantiles...),
		label:     map[uint64]labelEntry{},
		maxSeries: o.MaxSeries,
		wallClock: o.WallClock,
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

// labelFor returns the label of key: its name if it has one, else its
// decimal id. Names are cached between scrapes; entries of series that
// disappeared are pruned after each scrape.
func (c *Collector) labelFor(key uint64) string {
	if e, ok := c.label[key]; ok {
		c.label[key] = labelEntry{e.label, c.gen}
		return e.label
	}
	l := ""
	if name, err := c.agg.KeyName(key); err == nil {
		l = name
	}
	if l == "" {
		l = strconv.FormatUint(key, 10)
	}
	c.label[key] = labelEntry{l, c.gen}
	return l
}

// Collect implements prometheus.Collector: one Summary per series.
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
		var qm map[float64]float64
		if nq > 0 {
			qm = make(map[float64]float64, nq)
			for j, q := range qs {
				qm[q] = c.qbuf[i*nq+j]
			}
		}
		ch <- prom.MustNewConstSummary(c.desc, e.Stats.Count, e.Stats.Sum, qm, c.labelFor(e.Key))
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
