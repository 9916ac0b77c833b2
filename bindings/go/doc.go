// Package windowagg computes windowed aggregates (count, sum, mean, min, max,
// variance/stddev and quantiles) over high-rate numeric streams, keeping all
// of the state in native memory through the windowagg C library, where the Go
// garbage collector never scans it.
//
// Create an Aggregator with New and options (count, sliding, tumbling or
// hopping windows; sketch accuracy; key budget; NaN policy), push batches
// of values with optional event timestamps and series keys, and read a
// window's Stats and Quantiles per series (KeyStats, KeyQuantiles) or for
// all series merged (Stats, Quantiles); AllStats reads every series at once.
// Tumbling and hopping windows are delivered when they close: PollWindows
// moves them into a slice the caller owns, and Advance moves the watermark
// when no data arrives.
//
// Each call crosses into C once (about 30 ns of overhead), so push batches:
// with a few thousand values per Push the crossing is noise. Slices are
// passed to C without copying, and Push makes no allocation. For producers
// that have one event at a time, a Batcher collects events into reused
// buffers and pushes them by size or time, allocating nothing per event;
// its Observe and ObserveDuration are the per-request path (a series by
// name or label set, a time.Duration, stamped with the host clock, striped
// so that goroutines do not contend).
//
// With the state out of the Go heap, the heap is small and the GC's target
// with it: a service that still allocates per request may then collect more
// often. Set GOGC higher or a GOMEMLIMIT sized to the process if that shows.
//
// Errors from the library are *Error values carrying the status and the
// library's message; errors.Is matches them against ErrInvalidArgument,
// ErrNotFound and the other sentinels. Every method returns ErrClosed after
// Close. All methods are safe for concurrent use.
//
// Linking: the package uses `#cgo pkg-config: windowagg`. With an installed
// library nothing else is needed; with an in-tree build, set
// PKG_CONFIG_PATH=<build>/pkgconfig and LD_LIBRARY_PATH=<build>.
package windowagg
