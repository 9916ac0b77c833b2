/* Helpers for the cgo package: see cgo.go. Each makes one library call and
 * captures the thread-local error text inside the same C call. */
#ifndef WINDOWAGG_GO_HELPERS_H_
#define WINDOWAGG_GO_HELPERS_H_
#include <stdlib.h>
#include <string.h>
#include <windowagg/windowagg.h>

// Every helper below makes ONE library call (wa_get_key_stats_q: two) and, if it failed, copies
// aggregator_last_error() before returning. The message is thread-local in
// the library and a goroutine may move to another OS thread between two cgo
// calls, so it must be read inside the same cgo call as the failing call.
// Results come back by value so that no Go pointer escapes per call.

typedef struct { int status; char* msg; } wa_res;
typedef struct { int status; char* msg; size_t n; } wa_n_res;
typedef struct { int status; char* msg; uint64_t a; uint64_t b; } wa_u64_res;
typedef struct { int status; char* msg; aggregator* h; } wa_handle_res;
typedef struct { int status; char* msg; aggregator_stats s; } wa_stats_res;
typedef struct { int status; char* msg; aggregator_config c; } wa_config_res;
typedef struct { int status; char* msg; size_t n; aggregator_cursor cur; } wa_page_res;

static inline char* wa_errdup(void) {
	const char* m = aggregator_last_error();
	if (m == NULL) m = "";
	size_t n = strlen(m);
	char* p = (char*)malloc(n + 1);
	if (p != NULL) memcpy(p, m, n + 1);
	return p;
}

#define WA_MSG(st) ((st) != 0 ? wa_errdup() : NULL)

static inline void wa_noop(void) {}

static inline aggregator_config wa_config_default(void) {
	aggregator_config c;
	memset(&c, 0, sizeof c);
	aggregator_config_init(&c);
	return c;
}

static inline wa_handle_res wa_create(aggregator_config cfg) {
	wa_handle_res r;
	r.h = NULL;
	r.status = aggregator_create(&cfg, &r.h);
	r.msg = WA_MSG(r.status);
	return r;
}

// aggregator_new returns no status: the library's own status of the failure
// (aggregator_last_status, ECONFIG for a bad capacity) is read in the same
// C call, so NewCount reports what C, C++ and Python report.
static inline wa_handle_res wa_new_count(long long capacity) {
	wa_handle_res r;
	r.h = aggregator_new(capacity);
	r.status = 0;
	if (r.h == NULL) {
		r.status = aggregator_last_status();
		if (r.status == 0) r.status = AGGREGATOR_EINTERNAL;
	}
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_config_res wa_get_config(const aggregator* a) {
	wa_config_res r;
	r.c = wa_config_default();
	r.status = aggregator_get_config(a, &r.c);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_res wa_push(aggregator* a, const double* v, const int64_t* ts,
                      const uint64_t* k, size_t n) {
	wa_res r;
	r.status = aggregator_push(a, v, ts, k, n);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_res wa_push_named(aggregator* a, const double* v, const int64_t* ts,
                            const uint8_t* kb, const uint32_t* ko, size_t n) {
	wa_res r;
	r.status = aggregator_push_named(a, v, ts, kb, ko, n);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_res wa_advance(aggregator* a, int64_t wm) {
	wa_res r;
	r.status = aggregator_advance(a, wm);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_stats_res wa_get_stats(const aggregator* a) {
	wa_stats_res r;
	memset(&r.s, 0, sizeof r.s);
	r.status = aggregator_get_stats(a, &r.s);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_stats_res wa_get_key_stats(const aggregator* a, uint64_t key) {
	wa_stats_res r;
	memset(&r.s, 0, sizeof r.s);
	r.status = aggregator_get_key_stats(a, key, &r.s);
	r.msg = WA_MSG(r.status);
	return r;
}

typedef struct { int status; char* msg; aggregator_stats_ex s; } wa_stats_ex_res;

static inline wa_stats_ex_res wa_get_stats_ex(const aggregator* a) {
	wa_stats_ex_res r;
	aggregator_stats_ex_init(&r.s);
	r.status = aggregator_get_stats_ex(a, &r.s);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_stats_ex_res wa_get_key_stats_ex(const aggregator* a, uint64_t key) {
	wa_stats_ex_res r;
	aggregator_stats_ex_init(&r.s);
	r.status = aggregator_get_key_stats_ex(a, key, &r.s);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_res wa_get_quantiles(const aggregator* a, const double* q, size_t n, double* out) {
	wa_res r;
	r.status = aggregator_get_quantiles(a, q, n, out);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_res wa_get_key_quantiles(const aggregator* a, uint64_t key, const double* q,
                                   size_t n, double* out) {
	wa_res r;
	r.status = aggregator_get_key_quantiles(a, key, q, n, out);
	r.msg = WA_MSG(r.status);
	return r;
}

// The one exception to "one library call": a series' stats and quantiles
// read in one cgo call (KeyStatsQuantiles), so a request handler crosses
// into C once. Two library reads, each consistent on its own; the first
// failure is reported and the second call is not made.
static inline wa_stats_res wa_get_key_stats_q(const aggregator* a, uint64_t key, const double* q,
                                         size_t n, double* out) {
	wa_stats_res r;
	memset(&r.s, 0, sizeof r.s);
	r.status = aggregator_get_key_stats(a, key, &r.s);
	if (r.status == 0 && n > 0) r.status = aggregator_get_key_quantiles(a, key, q, n, out);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_page_res wa_list_stats(const aggregator* a, aggregator_cursor cur,
                                 aggregator_key_stats* out, size_t cap, const double* q,
                                 size_t nq, double* out_q) {
	wa_page_res r;
	r.n = 0;
	r.status = aggregator_list_stats(a, &cur, out, cap, q, nq, out_q, &r.n);
	r.msg = WA_MSG(r.status);
	r.cur = cur;
	return r;
}

static inline wa_page_res wa_list_stats_ex(const aggregator* a, aggregator_cursor cur, void* out,
                                    size_t elem_size, size_t cap, const double* q, size_t nq,
                                    double* out_q) {
	wa_page_res r;
	r.n = 0;
	r.status = aggregator_list_stats_ex(a, &cur, out, elem_size, cap, q, nq, out_q, &r.n);
	r.msg = WA_MSG(r.status);
	r.cur = cur;
	return r;
}

static inline wa_page_res wa_list_keys(const aggregator* a, aggregator_cursor cur, uint64_t* keys,
                                size_t cap, uint8_t* names, size_t names_cap,
                                uint32_t* name_offsets) {
	wa_page_res r;
	r.n = 0;
	r.status = aggregator_list_keys(a, &cur, keys, cap, names, names_cap, name_offsets, &r.n);
	r.msg = WA_MSG(r.status);
	r.cur = cur;
	return r;
}

static inline wa_u64_res wa_key_count(const aggregator* a) {
	wa_u64_res r;
	r.a = 0; r.b = 0;
	r.status = aggregator_key_count(a, &r.a);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_n_res wa_key_name(const aggregator* a, uint64_t key, uint8_t* buf, size_t cap) {
	wa_n_res r;
	r.n = 0;
	r.status = aggregator_key_name(a, key, buf, cap, &r.n);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_res wa_remove_key(aggregator* a, uint64_t key) {
	wa_res r;
	r.status = aggregator_remove_key(a, key);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_n_res wa_poll_windows(aggregator* a, aggregator_window* out, size_t cap,
                                const double* q, size_t nq, double* out_q) {
	wa_n_res r;
	r.n = 0;
	r.status = aggregator_poll_windows(a, out, cap, q, nq, out_q, &r.n);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_n_res wa_poll_windows_ex(aggregator* a, void* out, size_t elem_size, size_t cap,
                                   const double* q, size_t nq, double* out_q) {
	wa_n_res r;
	r.n = 0;
	r.status = aggregator_poll_windows_ex(a, out, elem_size, cap, q, nq, out_q, &r.n);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_u64_res wa_pending_windows(const aggregator* a) {
	wa_u64_res r;
	r.a = 0; r.b = 0;
	r.status = aggregator_pending_windows(a, &r.a, &r.b);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_u64_res wa_memory_usage(const aggregator* a) {
	wa_u64_res r;
	r.a = 0; r.b = 0;
	r.status = aggregator_memory_usage(a, &r.a);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_u64_res wa_key_memory_usage(const aggregator* a, uint64_t key) {
	wa_u64_res r;
	r.a = 0; r.b = 0;
	r.status = aggregator_key_memory_usage(a, key, &r.a);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_n_res wa_serialized_size(const aggregator* a) {
	wa_n_res r;
	r.n = 0;
	r.status = aggregator_serialized_size(a, &r.n);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_n_res wa_serialize(const aggregator* a, void* buf, size_t cap) {
	wa_n_res r;
	r.n = 0;
	r.status = aggregator_serialize(a, buf, cap, &r.n);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_handle_res wa_restore(const void* buf, size_t len, uint32_t threading) {
	wa_handle_res r;
	r.h = NULL;
	r.status = aggregator_restore(buf, len, threading, &r.h);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_res wa_merge(aggregator* dst, const aggregator* src) {
	wa_res r;
	r.status = aggregator_merge(dst, src);
	r.msg = WA_MSG(r.status);
	return r;
}

static inline wa_res wa_merge_serialized(aggregator* dst, const void* buf, size_t len) {
	wa_res r;
	r.status = aggregator_merge_serialized(dst, buf, len);
	r.msg = WA_MSG(r.status);
	return r;
}

// aggregator_rolling with its output structs built here, on the C side:
// each aggregator_rolling_output carries a pointer into the Go buffer `out`
// (nout * n doubles, output j at out + j*n), and Go memory must not hold Go
// pointers that C reads (cgo's pointer rules), so Go passes plain arrays.
static inline wa_res wa_rolling(uint32_t kind, int64_t window, int64_t min_periods,
                                const double* v, const int64_t* ts, const uint64_t* k, size_t n,
                                const uint32_t* aggs, const double* qs, size_t nout, double* out) {
	wa_res r;
	aggregator_rolling_options opt;
	aggregator_rolling_options_init(&opt);
	opt.window_kind = kind;
	opt.window = window;
	opt.min_periods = min_periods;
	aggregator_rolling_output stack[16];
	aggregator_rolling_output* outs = stack;
	if (nout > 16) {
		outs = (aggregator_rolling_output*)malloc(nout * sizeof *outs);
		if (outs == NULL) {
			r.status = AGGREGATOR_ENOMEM;
			r.msg = NULL;
			return r;
		}
	}
	for (size_t j = 0; j < nout; ++j) {
		outs[j].aggregate = aggs[j];
		outs[j].reserved = 0;
		outs[j].q = qs[j];
		outs[j].out = out + j * n;
	}
	r.status = aggregator_rolling(&opt, v, ts, k, n, outs, nout);
	r.msg = WA_MSG(r.status);
	if (outs != stack) free(outs);
	return r;
}

#endif
