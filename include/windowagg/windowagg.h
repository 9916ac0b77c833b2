/*
 * windowagg — windowed aggregates over numeric streams, behind a stable C ABI.
 *
 * This header is the whole contract for FFI hosts (C, C++, Go via cgo,
 * Python via ctypes). Every exported symbol starts with `aggregator_`.
 *
 * Conventions every call keeps
 * ----------------------------
 *  - Calls that can fail return an `int` status: 0 (AGGREGATOR_OK) on
 *    success, one of the AGGREGATOR_E* codes otherwise. The text of the most
 *    recent failure on the calling thread is `aggregator_last_error()`; the
 *    generic text of a code is `aggregator_status_string()`.
 *  - No C++ exception, abort or exit crosses this boundary.
 *  - A push is applied whole or not at all: a rejected batch leaves the state
 *    exactly as it was, and the message names the element index and reason.
 *  - The library never keeps a pointer to host memory after a call returns.
 *    Memory the library returns (strings) is owned by the library; the host
 *    never frees it. Memory the host passes is only read during the call.
 *  - Thread-safety: unless the handle was created with
 *    AGGREGATOR_THREADING_SINGLE, every call on a handle may run concurrently
 *    with every other call on the same handle, except aggregator_free, which
 *    must be the last call on a handle. With AGGREGATOR_THREADING_SINGLE the
 *    host guarantees that at most one call on that handle runs at a time
 *    (any thread, one at a time).
 *  - State is allocated through mimalloc's explicit API; the library never
 *    replaces the host's malloc or operator new.
 *
 * Window semantics (see README "Window semantics" for examples)
 * ----------------------------------------------------------------
 *  - COUNT: the last `window_size` accepted values of a series, exactly.
 *    Timestamps are accepted but ignored; bounds are arrival sequence numbers.
 *  - SLIDING (time): event time is cut into panes of `pane_width` units
 *    (pane p covers [p*pane_width, (p+1)*pane_width), floor division, so
 *    negative times work). With watermark W, the window is the
 *    window_size/pane_width panes ending with the pane that contains W.
 *  - TUMBLING: windows [k*D, (k+1)*D) of width D = window_size.
 *  - HOPPING: windows [k*S, k*S + D) for every k, D = window_size, S = slide.
 *  - Watermark: the largest accepted event time pushed to the handle so far,
 *    or the value given to aggregator_advance if larger. It starts "empty".
 *    It is one per handle, shared by every series.
 *  - Late values: a value with timestamp t < watermark - allowed_lateness
 *    (evaluated value by value, in batch order), or whose SLIDING pane is
 *    already older than the window, is counted in `late` and left out. So is
 *    a value whose window has already closed, which only happens at the end
 *    of time: at watermark INT64_MAX every window is closed.
 *  - Tumbling/hopping window [s, e) closes when watermark >= e +
 *    allowed_lateness (saturating: bounds past INT64_MAX clamp to INT64_MAX);
 *    a closed window that received at least one value is queued per handle
 *    until the host polls it (aggregator_poll_windows); within one series,
 *    windows are queued in order of their start. A window joins the queue
 *    when the handle next looks at its series after the watermark closed it
 *    (a push to it, a read, poll, pending count or serialization), never
 *    later than the next poll that has room for it (see max_pending_windows:
 *    no closed window is ever dropped); its stats.watermark is the watermark that
 *    closes it, min(end, INT64_MAX) + allowed_lateness (saturating), and its
 *    late/rejected/total are the series' counters when the watermark closed
 *    it (before any later push to the series). Reads (aggregator_get_stats)
 *    of a tumbling/hopping series describe the window containing the
 *    watermark that closes first: [e - D, e) with e the end of the pane
 *    (tumbling: window; hopping: slide) that contains the watermark.
 *  - Reported bounds: SLIDING [start of the oldest pane, end of the newest
 *    pane); COUNT [arrival number of the oldest value in the window, number of
 *    values the series accepted); before any data, both are 0.
 *  - Without timestamps the clock is arrival order: the i-th element pushed
 *    to a handle (counting from 0 over the handle's lifetime, all series
 *    together, skipped non-finite elements included) has event time i. A handle's first non-empty push fixes
 *    whether it uses timestamps; mixing is refused (AGGREGATOR_EINVAL). The
 *    first push to be applied fixes it, atomically: of concurrent first
 *    pushes with and without timestamps, one is applied, the other refused.
 *  - Tumbling/hopping: a value is applied to every window containing it or
 *    counted late, never to some of them only (a push racing
 *    aggregator_advance may find some of its windows closed: late).
 *
 * Aggregates
 * ----------
 *  count, sum (compensated: Neumaier), mean, min, max, variance (sample
 *  variance, divisor n-1, like pandas' default ddof=1; NaN when n < 2),
 *  stddev = sqrt(variance). Empty window: count 0, sum 0, other fields NaN.
 *  Every finite value is accepted, DBL_MAX included; where double arithmetic
 *  overflows the answer is IEEE's: sum +-Inf (NaN once partial sums
 *  overflowed both ways), variance +Inf (e.g. {1e200, -1e200}, as NumPy);
 *  mean stays in [min, max]. Such state serializes and restores like any.
 *  Quantiles come from a relative-error sketch (DDSketch-style log buckets,
 *  one store per sign plus a zero count): for 0 < q < 1 the answer x' for the
 *  true rank-floor(q*(n-1)) value x satisfies |x' - x| <= alpha*|x|; q = 0 and
 *  q = 1 return the exact min and max. Values with |x| < 2.2250738585072014e-308
 *  (zero, -0.0 and subnormals) are counted as zero by the sketch only; every
 *  other aggregate uses them exactly.
 */
#ifndef WINDOWAGG_WINDOWAGG_H_
#define WINDOWAGG_WINDOWAGG_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define AGGREGATOR_API __declspec(dllexport)
#elif defined(__GNUC__)
#define AGGREGATOR_API __attribute__((visibility("default")))
#else
#define AGGREGATOR_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ------------------------------------------------------------ */

#define WINDOWAGG_VERSION_MAJOR 1
#define WINDOWAGG_VERSION_MINOR 0
#define WINDOWAGG_VERSION_PATCH 0
#define WINDOWAGG_VERSION_NUMBER \
  (WINDOWAGG_VERSION_MAJOR * 10000 + WINDOWAGG_VERSION_MINOR * 100 + \
   WINDOWAGG_VERSION_PATCH)
#define WINDOWAGG_VERSION_STRING "1.0.0"

/* The version of the library actually loaded ("1.0.0"); static storage. */
AGGREGATOR_API const char* aggregator_version(void);
/* WINDOWAGG_VERSION_NUMBER of the library actually loaded. */
AGGREGATOR_API unsigned aggregator_version_number(void);

/* ---- Status codes ------------------------------------------------------- */

enum {
  AGGREGATOR_OK = 0,
  AGGREGATOR_EINVAL = 1,           /* bad argument: NULL pointer, bad length, bad q */
  AGGREGATOR_ECONFIG = 2,          /* invalid configuration; message names the field */
  AGGREGATOR_EVALUE = 3,           /* NaN/Inf value under AGGREGATOR_NONFINITE_REJECT */
  AGGREGATOR_ENOTFOUND = 4,        /* unknown series key */
  AGGREGATOR_EBUFFER = 5,          /* output buffer too small; nothing written */
  AGGREGATOR_ENOMEM = 6,           /* allocation failed; state unchanged (every call:
                                      a push or merge reserves all it needs before it
                                      changes anything) */
  AGGREGATOR_EKEYLIMIT = 7,        /* max_keys reached under AGGREGATOR_KEYS_REJECT */
  AGGREGATOR_EMEMLIMIT = 8,        /* memory_limit reached; state unchanged */
  AGGREGATOR_ECORRUPT = 9,         /* serialized state is malformed */
  AGGREGATOR_EVERSION = 10,        /* serialized state of an unknown format version */
  AGGREGATOR_EMISMATCH = 11,       /* merge of states with different configurations */
  AGGREGATOR_EUNSUPPORTED = 12,    /* operation not defined for this window kind */
  AGGREGATOR_EINTERNAL = 13        /* a bug: please report with the message */
};

/* Generic text for a status code ("invalid argument", ...); static storage,
 * never NULL (unknown codes give "unknown status"). */
AGGREGATOR_API const char* aggregator_status_string(int status);

/* Detailed message of the last failed call on the calling thread, or "" if
 * none failed yet. Thread-local; valid until the next aggregator_* call on the
 * same thread. Successful calls do not clear it. */
AGGREGATOR_API const char* aggregator_last_error(void);

/* Status code (AGGREGATOR_E*) of the last failed call on the calling thread,
 * or AGGREGATOR_OK if none failed yet; set together with
 * aggregator_last_error(), same lifetime. It is how a host classifies the
 * failure of a call that returns no status: aggregator_new (NULL:
 * AGGREGATOR_ECONFIG for a capacity out of range, AGGREGATOR_ENOMEM) and
 * aggregator_process_batch (NaN). Every binding reports such a failure with
 * this status, so the same failure is the same error everywhere. */
AGGREGATOR_API int aggregator_last_status(void);

/* ---- The original three calls (signatures frozen) ----------------------- */

typedef struct aggregator aggregator;

/* A count window over the last `capacity` values (1 <= capacity <= 2^32),
 * thread-safe, every exact stat kept; quantiles are OFF (the original design
 * never asked for them, and the sketch triples the per-value cost): create
 * from a config for quantiles. NULL on failure: aggregator_last_status() is
 * AGGREGATOR_ECONFIG (capacity out of range) or AGGREGATOR_ENOMEM, and
 * aggregator_last_error() says why. The bindings' name for this constructor
 * is "new_count" (Go NewCount, Python Aggregator.new_count, C++
 * Aggregator::new_count); each raises the status above. */
AGGREGATOR_API aggregator* aggregator_new(long long capacity);

/* Pushes `len` values and returns the mean over the window afterwards (over
 * everything pushed while fewer than `capacity` values have arrived; NaN while
 * empty). On failure returns NaN, applies nothing and sets the last error.
 * `len == 0` is not an error (returns the current mean). Works on any handle:
 * on keyed or time-window handles it pushes to series 0 and returns the mean
 * of series 0's current window. */
AGGREGATOR_API double aggregator_process_batch(aggregator* a, const double* data,
                                               size_t len);

/* Frees the handle and all its state. NULL is a no-op. Must be the last call
 * on the handle; no other call on it may be running. When the handle held
 * 16 MiB or more, the allocator also gives the calling thread's free memory
 * back to the OS (a heap walk, ~ms), so the process's RSS falls now, not
 * when this thread next allocates. Memory the allocator's other threads
 * hold (pushes made on other threads) is reused by later allocations but
 * stays resident until those threads allocate again. */
AGGREGATOR_API void aggregator_free(aggregator* a);

/* ---- Configuration ------------------------------------------------------ */

enum {
  AGGREGATOR_WINDOW_COUNT = 0,
  AGGREGATOR_WINDOW_SLIDING = 1,
  AGGREGATOR_WINDOW_TUMBLING = 2,
  AGGREGATOR_WINDOW_HOPPING = 3
};

enum { /* non-finite values (NaN, +Inf, -Inf) */
  AGGREGATOR_NONFINITE_REJECT = 0, /* the batch is refused with AGGREGATOR_EVALUE */
  AGGREGATOR_NONFINITE_SKIP = 1    /* the value is left out and counted in `rejected` */
};

enum { /* what happens when a push would create key number max_keys + 1 */
  AGGREGATOR_KEYS_REJECT = 0,      /* the batch is refused with AGGREGATOR_EKEYLIMIT */
  AGGREGATOR_KEYS_EVICT_LRU = 1,   /* the least recently updated series is dropped
                                      (its closed windows queued first); choosing
                                      victims is no scan of the series: they come
                                      off LRU lists kept up to date by each push */
  AGGREGATOR_KEYS_OVERFLOW = 2     /* the value goes to AGGREGATOR_OVERFLOW_KEY */
};

enum {
  AGGREGATOR_THREADING_SHARED = 0, /* any number of concurrent calls per handle */
  AGGREGATOR_THREADING_SINGLE = 1  /* one call at a time per handle; no locking */
};

/* The series values pushed without keys belong to. */
#define AGGREGATOR_DEFAULT_KEY ((uint64_t)0)
/* The series that collects new keys beyond max_keys under KEYS_OVERFLOW. */
#define AGGREGATOR_OVERFLOW_KEY ((uint64_t)0xFFFFFFFFFFFFFFFFull)

/* Create configuration. Always call aggregator_config_init first: it sets
 * struct_size and every default, so a host compiled against an older header
 * keeps working with a newer library (fields past struct_size are defaulted).
 * Time fields are in the host's event-time unit (nanoseconds by convention). */
typedef struct aggregator_config {
  uint32_t struct_size;      /* sizeof(aggregator_config); set by init */
  uint32_t window_kind;      /* AGGREGATOR_WINDOW_*; default COUNT */
  int64_t window_size;       /* COUNT: values (1..2^32); time kinds: width D > 0. Default 1024 */
  int64_t slide;             /* HOPPING: S, 0 < S <= D, D % S == 0 and D/S <= 2^20 (each value is in D/S windows). Default 0 */
  int64_t pane_width;        /* SLIDING: 0 = D/k, k the smallest divisor of D >= 60 (1 if D < 60); else must divide D */
  int64_t allowed_lateness;  /* >= 0; default 0 */
  double relative_accuracy;  /* sketch alpha, 1e-4 <= alpha <= 0.5; default 0.01 */
  uint32_t quantiles;        /* 1 = keep the sketch (default), 0 = no quantiles */
  uint32_t nonfinite_policy; /* AGGREGATOR_NONFINITE_*; default REJECT */
  uint64_t max_keys;         /* live series budget; 0 = unlimited (default) */
  uint32_t key_policy;       /* AGGREGATOR_KEYS_*; default REJECT */
  uint32_t threading;        /* AGGREGATOR_THREADING_*; default SHARED */
  int64_t key_ttl;           /* drop a series idle this long in event time; 0 = never */
  uint64_t memory_limit;     /* bytes; 0 = unlimited (default). Checked before each push,
                                key creation and merge: one that would start at or past the
                                ceiling (new series count ~1 KiB each) is refused whole with
                                AGGREGATOR_EMEMLIMIT; one that starts below it is applied
                                whole, so use can pass the ceiling by one batch's growth. */
  uint64_t max_pending_windows; /* > 0; default 65536. How many closed windows
                                   pushes, reads and polls queue for polling. No
                                   window is ever dropped: once the queue holds
                                   this many, further closed windows wait in their
                                   series (as the panes they already are, counted
                                   in memory_usage, so memory_limit bounds them:
                                   a push then gets AGGREGATOR_EMEMLIMIT) and each
                                   poll closes more as it makes room, so a host
                                   polling until it gets 0 receives every window.
                                   Calls that must close a series whole queue past
                                   this bound: serialize/serialized_size, merge,
                                   remove_key, and series leaving through key_ttl
                                   or EVICT_LRU. */
} aggregator_config;

/* Fills `cfg` with defaults and sets cfg->struct_size. NULL is a no-op. */
AGGREGATOR_API void aggregator_config_init(aggregator_config* cfg);

/* Creates a handle. On success *out is the new handle; on failure *out is
 * NULL and the message names the offending field. */
AGGREGATOR_API int aggregator_create(const aggregator_config* cfg, aggregator** out);

/* Copies the handle's configuration (with defaults resolved, e.g. pane_width)
 * into *out. out->struct_size must be set (aggregator_config_init does it). */
AGGREGATOR_API int aggregator_get_config(const aggregator* a, aggregator_config* out);

/* ---- Pushing data ------------------------------------------------------- */

/* Pushes `len` values. `timestamps` (event times) and `keys` (series ids) are
 * optional parallel arrays of the same length; NULL means "none" (arrival
 * clock / AGGREGATOR_DEFAULT_KEY). `values` may be NULL only when len == 0.
 * Applied whole or not at all. Late and skipped values are not errors. */
AGGREGATOR_API int aggregator_push(aggregator* a, const double* values,
                                   const int64_t* timestamps, const uint64_t* keys,
                                   size_t len);

/* Like aggregator_push with byte-string keys: key i is the bytes
 * key_bytes[key_offsets[i] .. key_offsets[i+1]) (so `key_offsets` has len+1
 * non-decreasing entries; key_offsets[0] need not be 0). The series id is
 * aggregator_key_hash(key); the name is kept for listing. Two different names
 * with the same id are refused (AGGREGATOR_EINVAL). */
AGGREGATOR_API int aggregator_push_named(aggregator* a, const double* values,
                                         const int64_t* timestamps,
                                         const uint8_t* key_bytes,
                                         const uint32_t* key_offsets, size_t len);

/* Stable 64-bit hash of a byte-string key: XXH3_64bits with seed 0 (xxHash
 * 0.8). The same in every process, platform and binding. */
AGGREGATOR_API uint64_t aggregator_key_hash(const void* bytes, size_t len);

/* Advances the watermark to `watermark` (no effect if not larger): closes
 * tumbling/hopping windows (queued by the next poll, read or push; see
 * "Tumbling/hopping" above), slides time windows, expires idle keys. */
AGGREGATOR_API int aggregator_advance(aggregator* a, int64_t watermark);

/* ---- Reading ------------------------------------------------------------ */

typedef struct aggregator_stats {
  uint64_t count;      /* values in the window */
  double sum;
  double mean;
  double min;
  double max;
  double variance;     /* sample variance (n-1) */
  double stddev;
  int64_t window_start; /* inclusive; COUNT: arrival number of the oldest value */
  int64_t window_end;   /* exclusive */
  uint64_t late;       /* values left out as late, lifetime of the series */
  uint64_t rejected;   /* non-finite values skipped, lifetime of the series */
  uint64_t total;      /* values accepted, lifetime of the series */
  int64_t watermark;   /* the handle's watermark when read; INT64_MIN while empty.
                          COUNT windows: arrival number of the next value */
} aggregator_stats;

/* Stats of the current window of series `key`. AGGREGATOR_ENOTFOUND if the
 * key has no series. */
AGGREGATOR_API int aggregator_get_key_stats(const aggregator* a, uint64_t key,
                                            aggregator_stats* out);

/* Stats of all series together: the current windows of every series merged
 * (counters summed). A handle with no series gives an empty window. */
AGGREGATOR_API int aggregator_get_stats(const aggregator* a, aggregator_stats* out);

/* Extensible stats read. aggregator_stats has no size field, so it can never
 * grow; aggregator_stats_ex can: new aggregates are only ever APPENDED after
 * the last field, never inserted or reordered.
 *
 * The struct_size rule (like aggregator_config, zstd/sqlite style):
 *  - Call aggregator_stats_ex_init first: it zeroes the struct and sets
 *    struct_size = sizeof(aggregator_stats_ex) as this header declares it.
 *  - struct_size must be a multiple of 8, at least 8 and at most 4096, else
 *    AGGREGATOR_EINVAL and nothing written.
 *  - SMALLER than the library's struct (a host built against an older
 *    header): the library writes only bytes [8, struct_size), i.e. only the
 *    fields that host knows; nothing at or past struct_size is touched.
 *  - LARGER than the library's struct (a host built against a newer header,
 *    running on an older library): the fields this library knows are
 *    written and the bytes past them, up to struct_size, are ZERO-FILLED,
 *    so an aggregate the library does not know reads as 0. A host that must
 *    tell "0" from "not known" compares the field's offset with the size
 *    the library reports through aggregator_stats_ex_size().
 *  - struct_size and reserved are never written by the reads. */
typedef struct aggregator_stats_ex {
  uint32_t struct_size;   /* bytes of this struct the host has; set by init */
  uint32_t reserved;      /* 0 */
  aggregator_stats stats; /* the same fields as aggregator_get_key_stats */
  /* new aggregates are appended here */
} aggregator_stats_ex;

/* Zeroes *out and sets out->struct_size = sizeof(aggregator_stats_ex).
 * NULL is a no-op. */
AGGREGATOR_API void aggregator_stats_ex_init(aggregator_stats_ex* out);

/* sizeof(aggregator_stats_ex) of the library actually loaded. */
AGGREGATOR_API size_t aggregator_stats_ex_size(void);

/* aggregator_get_key_stats / aggregator_get_stats into the extensible
 * struct (rule above). Same errors as those calls, plus AGGREGATOR_EINVAL
 * for a bad struct_size. */
AGGREGATOR_API int aggregator_get_key_stats_ex(const aggregator* a, uint64_t key,
                                               aggregator_stats_ex* out);
AGGREGATOR_API int aggregator_get_stats_ex(const aggregator* a, aggregator_stats_ex* out);

/* n quantiles q[i] in [0, 1] of series `key`'s window into out[i]. Empty
 * window: NaN. AGGREGATOR_EUNSUPPORTED if quantiles were turned off. */
AGGREGATOR_API int aggregator_get_key_quantiles(const aggregator* a, uint64_t key,
                                                const double* q, size_t n,
                                                double* out);

/* Quantiles over all series' windows merged. */
AGGREGATOR_API int aggregator_get_quantiles(const aggregator* a, const double* q,
                                            size_t n, double* out);

/* Iteration over series. Zero-initialize, then call until `done` is set.
 * Every series that exists for the whole iteration is returned exactly
 * once; series added or removed meanwhile may or may not be. Each call
 * needs cap >= 1 (cap 0 is refused with AGGREGATOR_EINVAL naming `cap`,
 * cursor unchanged), so a loop calling until `done` always ends: a call
 * either returns at least one entry or sets `done`. */
typedef struct aggregator_cursor {
  uint64_t position; /* opaque */
  uint32_t started;  /* opaque */
  uint32_t done;     /* set by the library when nothing is left */
} aggregator_cursor;

typedef struct aggregator_key_stats {
  uint64_t key;
  aggregator_stats stats;
} aggregator_key_stats;

/* Fills up to `cap` entries of `out` with the stats of the next series; if
 * nq > 0 also fills out_q[i*nq + j] with quantile q[j] of entry i (out_q has
 * room for cap*nq doubles). *n_out is the number filled. */
AGGREGATOR_API int aggregator_list_stats(const aggregator* a, aggregator_cursor* cursor,
                                         aggregator_key_stats* out, size_t cap,
                                         const double* q, size_t nq, double* out_q,
                                         size_t* n_out);

/* Extensible pages: aggregator_list_stats into records that grow with
 * aggregator_stats_ex. One record per series: the key, then an
 * aggregator_stats_ex (so every aggregate a stats read has appears in a
 * listing too, at the same place). New aggregates are appended to
 * aggregator_stats_ex only; the record grows with it, never otherwise. */
typedef struct aggregator_key_stats_ex {
  uint64_t key;
  aggregator_stats_ex stats; /* stats.struct_size = elem_size - 8 (set by the library) */
} aggregator_key_stats_ex;

/* aggregator_list_stats into `cap` records of `elem_size` bytes each (pass
 * sizeof(aggregator_key_stats_ex)); record i starts at
 * (char*)out + i*elem_size. The record rule (aggregator_stats_ex's
 * struct_size rule, applied to each record's `stats` with struct_size =
 * elem_size - 8):
 *  - elem_size must be a multiple of 8, at least 16 and at most 4104
 *    (stats part in [8, 4096]), and cap*elem_size must fit in size_t; else
 *    AGGREGATOR_EINVAL naming elem_size, nothing written, cursor unchanged.
 *  - SMALLER than this library's record (a host built against an older
 *    header): each record gets the key and the stats fields that fit in
 *    elem_size; nothing at or past (char*)out + n*elem_size is written.
 *  - LARGER (a newer header): the fields this library knows, then zeros up
 *    to elem_size. The library's record size is 8 + aggregator_stats_ex_size().
 *  - The library writes stats.struct_size (elem_size - 8) and
 *    stats.reserved (0) of each record it fills, so each record's stats is
 *    the aggregator_stats_ex that aggregator_get_key_stats_ex would give at
 *    that struct_size; records past *n_out are not touched.
 * Everything else is aggregator_list_stats': the same cursor, paging (cap 0:
 * AGGREGATOR_EINVAL naming cap), quantiles, locking and errors, and the
 * same entries (equal to its page for the same cursor and cap). Thread
 * safety as every call (any thread, concurrently with other calls on the
 * handle). Ownership: out, q and out_q are host memory, written only during
 * the call. The records are built in a library scratch page of cap entries:
 * AGGREGATOR_ENOMEM if it cannot be allocated (nothing written, cursor
 * unchanged). */
AGGREGATOR_API int aggregator_list_stats_ex(const aggregator* a, aggregator_cursor* cursor,
                                            void* out, size_t elem_size, size_t cap,
                                            const double* q, size_t nq, double* out_q,
                                            size_t* n_out);

/* ---- Keys --------------------------------------------------------------- */

AGGREGATOR_API int aggregator_key_count(const aggregator* a, uint64_t* out);

/* Lists the next series ids into keys[0..cap). If `names` is not NULL, the
 * byte name of each listed key (empty for numeric keys) is packed into
 * names[0..names_cap) with name_offsets[0..n] (cap+1 entries) delimiting it;
 * the page ends early when names_cap is full (at least one key is returned or
 * AGGREGATOR_EBUFFER). */
AGGREGATOR_API int aggregator_list_keys(const aggregator* a, aggregator_cursor* cursor,
                                        uint64_t* keys, size_t cap, uint8_t* names,
                                        size_t names_cap, uint32_t* name_offsets,
                                        size_t* n_out);

/* Copies the byte name of `key` into buf (not NUL-terminated) and sets *len.
 * Numeric keys have an empty name. If cap < name length: AGGREGATOR_EBUFFER,
 * nothing written, *len set to the length needed. */
AGGREGATOR_API int aggregator_key_name(const aggregator* a, uint64_t key, uint8_t* buf,
                                       size_t cap, size_t* len);

/* Drops series `key` (its already-queued closed windows stay queued).
 * AGGREGATOR_ENOTFOUND if absent. */
AGGREGATOR_API int aggregator_remove_key(aggregator* a, uint64_t key);

/* ---- Closed windows (TUMBLING, HOPPING) --------------------------------- */

typedef struct aggregator_window {
  uint64_t key;
  aggregator_stats stats; /* window_start/window_end are the window's bounds */
} aggregator_window;

/* Moves up to `cap` closed windows, oldest first, into out[0..cap); if nq > 0
 * also their quantiles into out_q[i*nq + j]. *n_out = windows moved; windows
 * not moved stay queued. Windows waiting in their series (queue full) are
 * closed first, up to max(cap, max_pending_windows) queued, so call it until
 * *n_out is 0 to drain everything (each series' windows in order).
 * AGGREGATOR_EUNSUPPORTED on COUNT/SLIDING handles. */
AGGREGATOR_API int aggregator_poll_windows(aggregator* a, aggregator_window* out,
                                           size_t cap, const double* q, size_t nq,
                                           double* out_q, size_t* n_out);

/* One closed window through the extensible poll: the same layout as
 * aggregator_key_stats_ex (key, then an aggregator_stats_ex whose
 * window_start/window_end are the window's bounds). */
typedef struct aggregator_window_ex {
  uint64_t key;
  aggregator_stats_ex stats; /* stats.struct_size = elem_size - 8 (set by the library) */
} aggregator_window_ex;

/* aggregator_poll_windows into `cap` records of `elem_size` bytes each (pass
 * sizeof(aggregator_window_ex)); record i starts at (char*)out +
 * i*elem_size. elem_size follows the record rule of
 * aggregator_list_stats_ex (bad size: AGGREGATOR_EINVAL naming elem_size,
 * checked before anything leaves the queue; older/smaller records get the
 * fields that fit, newer/larger ones zeros past the known fields; nothing at
 * or past (char*)out + n*elem_size is written). Everything else is
 * aggregator_poll_windows': the same windows in the same order, the same
 * queue semantics (windows not moved stay queued; call until *n_out is 0 to
 * drain; cap 0 moves nothing and needs no out), quantiles, locking, errors
 * (AGGREGATOR_EUNSUPPORTED on COUNT/SLIDING handles), thread safety and
 * ownership. The records are built in a library scratch page of cap
 * entries, allocated before any window leaves the queue: AGGREGATOR_ENOMEM
 * then moves nothing. */
AGGREGATOR_API int aggregator_poll_windows_ex(aggregator* a, void* out, size_t elem_size,
                                              size_t cap, const double* q, size_t nq,
                                              double* out_q, size_t* n_out);

/* *pending: closed windows waiting to be polled, those queued plus those
 * waiting in their series because the queue was full (max_pending_windows);
 * exact when no other call runs at the same time. *dropped: always 0 (no
 * closed window is dropped; kept for ABI compatibility). */
AGGREGATOR_API int aggregator_pending_windows(const aggregator* a, uint64_t* pending,
                                              uint64_t* dropped);

/* ---- Memory ------------------------------------------------------------- */

/* Bytes the library holds for this handle (all series, queues, tables). */
AGGREGATOR_API int aggregator_memory_usage(const aggregator* a, uint64_t* bytes);

/* Bytes held for one series. */
AGGREGATOR_API int aggregator_key_memory_usage(const aggregator* a, uint64_t key,
                                               uint64_t* bytes);

/* Tells the library that the calling thread is about to end. The library's
 * allocator keeps per-thread state, which it hands over when the thread's
 * C exit handlers run; a host whose threads end without running them (a Go
 * goroutine locked to its OS thread that returns: Go ends the thread
 * without them) calls this last on such a thread, else what that thread
 * allocated for a handle stays resident after aggregator_free. The thread
 * may still call the library afterwards (the state is set up again), at a
 * small cost. Thread-safe; touches no handle; never fails. */
AGGREGATOR_API void aggregator_thread_done(void);

/* ---- Serialized state --------------------------------------------------- */

/* Bytes aggregator_serialize needs right now. */
AGGREGATOR_API int aggregator_serialized_size(const aggregator* a, size_t* size);

/* Writes the whole state (config, series, panes, sketches, counters,
 * watermark) into buf. If cap is too small: AGGREGATOR_EBUFFER, nothing
 * written, *written = size needed. Versioned, little-endian, checksummed.
 * Concurrent calls on the handle (push, advance, poll, merge, ...) are
 * safe: the state is sized and written in one pass under the handle's
 * locks, from one view (one watermark, due windows closed once); no byte
 * past buf[cap) is ever written, and on success *written is exactly the
 * number of bytes written. A size from aggregator_serialized_size can be
 * outdated by then (other threads changed the state): AGGREGATOR_EBUFFER
 * with the new size; call again with a buffer that large. */
AGGREGATOR_API int aggregator_serialize(const aggregator* a, void* buf, size_t cap,
                                        size_t* written);

/* Builds a new handle from serialized bytes. `threading` picks the new
 * handle's AGGREGATOR_THREADING_* (it is not part of the state). Everything
 * is validated before anything is built; on failure *out is NULL. Beyond
 * the envelope (length, checksum, configuration), fields that contradict
 * each other are AGGREGATOR_ECORRUPT, the message naming the field: a named
 * series' key not the hash of its name, a window holding more values than
 * its series accepted, sums/means/variances impossible for the stored count,
 * min and max, sketches disagreeing with them, panes after the watermark,
 * more series than max_keys. (More queued windows than max_pending_windows
 * is valid: serialization closes every due window into the queue.) */
AGGREGATOR_API int aggregator_restore(const void* buf, size_t len, uint32_t threading,
                                      aggregator** out);

/* Merges `src` into `dst` (src is read in one consistent pass, as by
 * aggregator_serialize, even while other threads use it; same window geometry, accuracy and quantile flag
 * required, else AGGREGATOR_EMISMATCH): series present in both combine pane
 * by pane — counts, sums, min, max and moments exactly, sketches bucket-wise
 * (quantiles keep alpha); other series are copied. COUNT windows: src's
 * window values are appended after dst's (as if they arrived later), so the
 * result is the last N of the concatenation. Counters add up, the watermark
 * is the larger one, src's queued closed windows are appended to dst's
 * queue (a window closed in one state arrives as its own partial window);
 * src values for windows dst has already closed count as late in dst.
 * The key budget (max_keys) is checked first: AGGREGATOR_EKEYLIMIT; then
 * memory_limit, with src's memory usage as the estimate: AGGREGATOR_EMEMLIMIT.
 * Handles merge directly, without bytes. Both handles are locked for the
 * merge, in a fixed order, so merges in opposite directions on two threads
 * are safe. dst == src is refused. src's values are only read (its due
 * windows are closed first, as any read of it would). */
AGGREGATOR_API int aggregator_merge(aggregator* dst, const aggregator* src);

/* Merges serialized state into `dst`. */
AGGREGATOR_API int aggregator_merge_serialized(aggregator* dst, const void* buf,
                                               size_t len);

/* ---- Per-row rolling aggregates (no handle) ------------------------------ */

/* pandas' df.groupby(key).rolling(window).agg(...) in one call: for every
 * input row, the aggregates of that row's window within its key, written
 * to host arrays (one value per row, in input row order). Nothing is kept
 * between calls; no handle is involved.
 *
 * Windows, for row i of key k (the rows of k taken in input order):
 *  - AGGREGATOR_WINDOW_COUNT: the last `window` rows of k up to and
 *    including row i (pandas rolling(N)); timestamps are ignored.
 *  - AGGREGATOR_WINDOW_SLIDING: the rows j <= i of k with
 *    t_i - window < t_j <= t_i (pandas rolling("60s"), closed='right'; rows
 *    after i with the same time are not in i's window, as in pandas).
 *    Timestamps are required and must be non-decreasing within each key
 *    (rows of different keys may interleave freely); otherwise
 *    AGGREGATOR_EINVAL naming both rows. Any unit; `window` is in it.
 * Missing values, as pandas: NaN and +-Inf are left out of every aggregate
 * (pandas turns Inf into NaN before rolling), except that COUNT counts the
 * non-NaN values (Inf included, like pandas' count). A row's output is NaN
 * when its window has fewer than min_periods finite values (COUNT: fewer
 * than min_periods rows), or the aggregate needs more (VAR/STD: 2; MEAN,
 * MIN, MAX, QUANTILE: 1). SUM of no value is 0.
 * Aggregates: COUNT, SUM (compensated), MEAN, MIN, MAX, VAR (sample
 * variance, ddof 1), STD = sqrt(VAR), QUANTILE q: EXACT, pandas'
 * rolling().quantile(q) with interpolation 'linear': with n finite values
 * in the window sorted v[0..n-1] and h = q*(n-1), v[floor(h)] +
 * (v[floor(h)+1] - v[floor(h)]) * (h - floor(h)) (no sketch, no alpha).
 * Cost: amortized O(1) per row for COUNT..STD (a two-stack sliding window
 * of the library's moments: only merges, no subtraction, so no drift),
 * O(log m) per row and quantile (m = rows of the key), plus one hashing
 * pass over the keys; scratch memory O(len), freed before returning.
 */
enum {
  AGGREGATOR_ROLLING_COUNT = 0,
  AGGREGATOR_ROLLING_SUM = 1,
  AGGREGATOR_ROLLING_MEAN = 2,
  AGGREGATOR_ROLLING_MIN = 3,
  AGGREGATOR_ROLLING_MAX = 4,
  AGGREGATOR_ROLLING_VAR = 5,
  AGGREGATOR_ROLLING_STD = 6,
  AGGREGATOR_ROLLING_QUANTILE = 7
};

/* Options of aggregator_rolling. Call aggregator_rolling_options_init first
 * (it sets struct_size and the defaults). The struct_size rule is
 * aggregator_config's: a smaller struct (older host) gets defaults for the
 * fields it lacks; a larger one (newer host) must have its unknown tail 0,
 * else AGGREGATOR_EINVAL. */
typedef struct aggregator_rolling_options {
  uint32_t struct_size;  /* sizeof(aggregator_rolling_options); set by init */
  uint32_t window_kind;  /* AGGREGATOR_WINDOW_COUNT (default) or AGGREGATOR_WINDOW_SLIDING */
  int64_t window;        /* COUNT: rows; SLIDING: time units. > 0; default 0 (must be set) */
  int64_t min_periods;   /* -1 (default): COUNT window, SLIDING 1 (pandas' defaults);
                            else >= 0, and <= window for COUNT */
} aggregator_rolling_options;

/* One requested output column. */
typedef struct aggregator_rolling_output {
  uint32_t aggregate;  /* AGGREGATOR_ROLLING_* */
  uint32_t reserved;   /* 0 */
  double q;            /* QUANTILE: in [0, 1]; ignored otherwise */
  double* out;         /* room for `len` doubles: out[i] is row i's value */
} aggregator_rolling_output;

/* Fills *opt with defaults and sets opt->struct_size. NULL is a no-op. */
AGGREGATOR_API void aggregator_rolling_options_init(aggregator_rolling_options* opt);

/* Computes outputs[0..n_outputs) for rows [0, len): values[i] with the
 * optional timestamps[i] (required for SLIDING) and keys[i] (NULL: one key).
 * Errors (AGGREGATOR_EINVAL unless said otherwise), each with a message naming
 * the argument or row: NULL opt/values/outputs/out with len > 0, a bad
 * struct_size, a window kind other than COUNT/SLIDING, window <= 0,
 * min_periods < -1 or > window (COUNT), an unknown aggregate, reserved != 0,
 * q outside [0, 1], an out array overlapping an input or another out, len >
 * 2^32-1, SLIDING without timestamps or with a key's timestamps decreasing;
 * AGGREGATOR_ENOMEM. On any error NOTHING is written to any out array (all
 * checks and allocations happen first). Thread-safe: no shared state; the
 * inputs are only read, and only during the call. */
AGGREGATOR_API int aggregator_rolling(const aggregator_rolling_options* opt,
                                      const double* values, const int64_t* timestamps,
                                      const uint64_t* keys, size_t len,
                                      const aggregator_rolling_output* outputs,
                                      size_t n_outputs);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WINDOWAGG_WINDOWAGG_H_ */
