// Command ingest is an HTTP ingestion service that keeps windowed stats of
// every series in windowagg (native memory, out of the Go heap):
//
//	POST /ingest          one JSON event or an array of them:
//	                      {"event_id": "...", "timestamp": <int64 ns>, "series": "...", "value": <number>}
//	                      200 {"accepted": n}; 400 bad JSON; 422 invalid event (the reason and index in the body)
//	GET  /stats?series=S  windowed count/sum/mean/min/max/variance/stddev + p50/p99/p999 (404 unknown series;
//	                      NaN fields are null)
//	GET  /metrics         Prometheus text: one Summary per series (windowagg's collector) + Go runtime metrics
//
// SIGTERM or SIGINT shut it down gracefully (in-flight requests finish).
// With -snapshot PATH the state is restored from PATH at start and written
// there at shutdown (if the library supports serialized state).
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
	"path/filepath"
	"syscall"
	"time"

	windowagg "github.com/windowagg/windowagg/bindings/go"
)

type options struct {
	addr            string
	window          time.Duration
	pane            time.Duration
	lateness        time.Duration
	alpha           float64
	maxKeys         uint64
	keyTTL          time.Duration
	snapshot        string
	maxBody         int64
	shutdownTimeout time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free one; the address is printed)")
	flag.DurationVar(&o.window, "window", time.Minute, "sliding window length (event time)")
	flag.DurationVar(&o.pane, "pane", 0, "pane width (0 = window/60); must divide -window")
	flag.DurationVar(&o.lateness, "lateness", 5*time.Second, "allowed lateness behind the newest timestamp")
	flag.Float64Var(&o.alpha, "alpha", 0.01, "quantile sketch relative accuracy")
	flag.Uint64Var(&o.maxKeys, "max-keys", 0, "series limit (0 = unlimited; beyond it pushes are refused with 503)")
	flag.DurationVar(&o.keyTTL, "key-ttl", 0, "drop series idle this long in event time (0 = never)")
	flag.StringVar(&o.snapshot, "snapshot", "", "restore state from this file at start and write it at shutdown")
	flag.Int64Var(&o.maxBody, "max-body", 8<<20, "largest accepted request body in bytes")
	flag.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for in-flight requests")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(o, log); err != nil {
		log.Error("ingest", "err", err)
		os.Exit(1)
	}
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

// restoreSnapshot replaces agg's state with the snapshot at path, if any.
// A library without serialized state (ErrUnsupported), a missing file or a
// bad snapshot are logged and the service starts empty.
func restoreSnapshot(agg *windowagg.Aggregator, path string, log *slog.Logger) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		log.Info("no snapshot yet, starting empty", "path", path)
		return
	}
	if err != nil {
		log.Warn("cannot read snapshot, starting empty", "path", path, "err", err)
		return
	}
	if err := agg.UnmarshalBinary(data); err != nil {
		if errors.Is(err, windowagg.ErrUnsupported) {
			log.Warn("library does not support serialized state; snapshot ignored", "err", err)
		} else {
			log.Warn("snapshot not restored, starting empty", "path", path, "err", err)
		}
		return
	}
	n, _ := agg.KeyCount()
	log.Info("snapshot restored", "path", path, "bytes", len(data), "series", n)
}

// writeSnapshot writes agg's state to path atomically (temp file + rename).
func writeSnapshot(agg *windowagg.Aggregator, path string, log *slog.Logger) error {
	data, err := agg.MarshalBinary()
	if errors.Is(err, windowagg.ErrUnsupported) {
		log.Warn("library does not support serialized state; no snapshot written", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("snapshot: %w", err)
	}
	log.Info("snapshot written", "path", path, "bytes", len(data))
	return nil
}

func run(o options, log *slog.Logger) error {
	agg, err := newAggregator(o)
	if err != nil {
		return err
	}
	defer agg.Close()
	if o.snapshot != "" {
		restoreSnapshot(agg, o.snapshot, log)
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newServer(agg, log, o.maxBody).handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	// The address line on stdout is what scripts (and the test) read.
	fmt.Printf("listening on %s\n", ln.Addr())
	log.Info("listening", "addr", ln.Addr().String(), "window", o.window, "library", windowagg.Version())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	stop()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if o.snapshot != "" {
		if err := writeSnapshot(agg, o.snapshot, log); err != nil {
			return err
		}
	}
	log.Info("shutdown complete")
	return nil
}
