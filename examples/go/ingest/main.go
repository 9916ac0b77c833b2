// Command ingest is an HTTP ingestion service that keeps windowed stats of
// every series in windowagg (native memory, out of the Go heap):
//
//	POST /ingest          one JSON event or an array of them:
//	                      {"event_id": "...", "timestamp": <int64 ns>, "series": "...", "value": <number>}
//	                      200 {"accepted": n, "duplicates": d}; 400 bad JSON; 422 invalid event (the reason
//	                      and index in the body); 503 over a limit (-max-keys, -memory-limit)
//	GET  /stats?series=S  windowed count/sum/mean/min/max/variance/stddev + p50/p99/p999 (404 unknown series;
//	                      NaN fields are null)
//	GET  /metrics         Prometheus text: one Summary per series, at most -metrics-max-series of them
//	                      (windowagg's collector) + Go runtime metrics; with -native-histograms each
//	                      series' window is a native gauge histogram instead (protobuf scrape format),
//	                      which sum() aggregates across instances (see examples/go/README.md)
//
// Durability: with -snapshot PATH every accepted request is appended to a
// write-ahead log (PATH.wal/) and fsync'd before it is acknowledged
// (concurrent requests share an fsync), the state is snapshotted to PATH
// every -snapshot-interval and at shutdown (which drops the log segments it
// covers), and at start the snapshot is restored and the log replayed. A
// snapshot that cannot be restored, or that was written with other window
// or key settings than the flags give, stops the start with a message.
//
// Retries: an event whose event_id is among the last -dedup-ids accepted ids
// is not counted again (it is reported in "duplicates"); the horizon is kept
// in the snapshot and the log, so it survives restarts and crashes.
//
// Event time may run at most -max-ahead past the server's clock (422 for an
// event beyond it): one far-future timestamp would otherwise raise the
// watermark for good and make every later event late.
//
// SIGTERM or SIGINT shut it down gracefully (in-flight requests finish, for
// at most -shutdown-timeout; then their connections are closed, and the
// snapshot is written either way).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	windowagg "github.com/windowagg/windowagg/bindings/go"
)

type options struct {
	addr             string
	window           time.Duration
	pane             time.Duration
	lateness         time.Duration
	alpha            float64
	maxKeys          uint64
	keyTTL           time.Duration
	snapshot         string
	maxBody          int64
	shutdownTimeout  time.Duration
	maxAhead         time.Duration
	memoryLimit      uint64
	metricsMaxSeries int
	dedupIDs         int
	snapshotInterval time.Duration
	nativeHistograms bool
}

func main() {
	var o options
	defineFlags(flag.CommandLine, &o)
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(o, log); err != nil {
		log.Error("ingest", "err", err)
		os.Exit(1)
	}
}

// defineFlags registers the command's flags, with their defaults, on fs.
func defineFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free one; the address is printed)")
	fs.DurationVar(&o.window, "window", time.Minute, "sliding window length (event time)")
	fs.DurationVar(&o.pane, "pane", 0, "pane width (0 = window/60); must divide -window")
	fs.DurationVar(&o.lateness, "lateness", 5*time.Second, "allowed lateness behind the newest timestamp")
	fs.Float64Var(&o.alpha, "alpha", 0.01, "quantile sketch relative accuracy")
	fs.Uint64Var(&o.maxKeys, "max-keys", 100_000, "series limit (0 = unlimited; beyond it requests that create a series are refused with 503); about 1.2 KiB per series")
	fs.Uint64Var(&o.memoryLimit, "memory-limit", 512<<20, "bytes the series may hold (library memory; 0 = unlimited); at or past it requests are refused with 503")
	fs.IntVar(&o.metricsMaxSeries, "metrics-max-series", 10_000, "series exposed per GET /metrics (0 = all); ingest_window_series_omitted counts the rest")
	fs.DurationVar(&o.maxAhead, "max-ahead", 5*time.Minute, "how far an event's timestamp may be ahead of the server's clock (0 = no bound); beyond it the request gets 422")
	fs.IntVar(&o.dedupIDs, "dedup-ids", 200_000, "event_ids remembered to recognise retries (the last N accepted; 0 = no deduplication)")
	fs.DurationVar(&o.snapshotInterval, "snapshot-interval", time.Minute, "write the snapshot (and drop the log it covers) this often (0 = only at shutdown)")
	fs.DurationVar(&o.keyTTL, "key-ttl", 0, "drop series idle this long in event time (0 = never)")
	fs.StringVar(&o.snapshot, "snapshot", "", "keep the state durable here: snapshot file, plus write-ahead log directory PATH.wal")
	fs.Int64Var(&o.maxBody, "max-body", 8<<20, "largest accepted request body in bytes")
	fs.BoolVar(&o.nativeHistograms, "native-histograms", false, "export each series' window on /metrics as a Prometheus native gauge histogram (the collector's NativeHistogram mode: aggregatable across instances with sum(); needs Prometheus with --enable-feature=native-histograms) instead of a Summary")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for in-flight requests")
}

func newAggregator(o options) (*windowagg.Aggregator, error) {
	opts := []windowagg.Option{
		windowagg.WithSlidingWindow(o.window, o.pane),
		windowagg.WithLateness(o.lateness),
		windowagg.WithAccuracy(o.alpha),
	}
	if o.maxKeys > 0 {
		opts = append(opts, windowagg.WithMaxKeys(o.maxKeys, windowagg.KeysReject))
	}
	if o.keyTTL > 0 {
		opts = append(opts, windowagg.WithKeyTTL(o.keyTTL))
	}
	return windowagg.New(opts...)
}

func run(o options, log *slog.Logger) error {
	agg, err := newAggregator(o)
	if err != nil {
		return err
	}
	defer agg.Close()
	s := newServer(agg, log, o)
	if o.snapshot != "" {
		seq, err := s.restore(o.snapshot)
		if err != nil {
			return err
		}
		w, n, err := openWAL(walDir(o.snapshot), seq, log, s.applyRecord)
		if err != nil {
			return err
		}
		s.wal = w
		if n > 0 {
			log.Info("write-ahead log replayed", "records", n, "log_position", w.lastSeq())
		}
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	// The address line on stdout is what scripts (and the test) read.
	fmt.Printf("listening on %s\n", ln.Addr())
	log.Info("listening", "addr", ln.Addr().String(), "window", o.window, "max_keys", o.maxKeys,
		"memory_limit", o.memoryLimit, "max_ahead", o.maxAhead, "library", windowagg.Version())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var tick <-chan time.Time
	if o.snapshot != "" && o.snapshotInterval > 0 {
		t := time.NewTicker(o.snapshotInterval)
		defer t.Stop()
		tick = t.C
	}
loop:
	for {
		select {
		case err := <-serveErr:
			return err
		case <-ctx.Done():
			break loop
		case <-tick:
			if err := s.snapshot(o.snapshot); err != nil {
				log.Error("periodic snapshot", "err", err)
			}
		}
	}
	stop()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running (a client holding a partial body): close
		// their connections. Nothing acknowledged is lost: it is in the log.
		log.Warn("shutdown timed out; closing the remaining connections", "err", err)
		srv.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if o.snapshot != "" {
		if err := s.snapshot(o.snapshot); err != nil {
			log.Error("final snapshot; the write-ahead log keeps everything since the last one", "err", err)
		}
		if err := s.wal.close(); err != nil {
			return fmt.Errorf("closing the write-ahead log: %w", err)
		}
	}
	log.Info("shutdown complete")
	return nil
}
