/* Generator of the format-v1 golden files (tests/golden/*.wagg + golden.json).
 *
 * Built as the CMake target `make_golden` but never run at test time: the
 * files are committed, and a future library must still read them. Run it by
 * hand only to add a file (never to rewrite an existing one):
 *
 *   build/release/tests/golden/make_golden tests/golden
 *
 * Each state is built deterministically through the C ABI. golden.json holds,
 * per file, what a reader must answer straight after restoring it: the
 * handle's stats and quantiles, each series' stats, quantiles and name, and
 * the queued closed windows (polled oldest first) with their quantiles.
 * Doubles are written as strings with "%.17g" (exact round trip; "nan" for
 * NaN), integers as JSON numbers (u64/i64 exact: parse them as integers). */
#include <windowagg/windowagg.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double kQ[] = {0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0};
#define NQ (sizeof kQ / sizeof kQ[0])

static void check(int rc, const char* what) {
  if (rc != AGGREGATOR_OK) {
    fprintf(stderr, "make_golden: %s failed: %d %s\n", what, rc, aggregator_last_error());
    exit(1);
  }
}

static void put_double(FILE* f, double d) {
  if (isnan(d)) fprintf(f, "\"nan\"");
  else fprintf(f, "\"%.17g\"", d);
}

static void put_stats(FILE* f, const aggregator_stats* s) {
  fprintf(f, "{\"count\": %llu, \"sum\": ", (unsigned long long)s->count);
  put_double(f, s->sum);
  fprintf(f, ", \"mean\": ");
  put_double(f, s->mean);
  fprintf(f, ", \"min\": ");
  put_double(f, s->min);
  fprintf(f, ", \"max\": ");
  put_double(f, s->max);
  fprintf(f, ", \"variance\": ");
  put_double(f, s->variance);
  fprintf(f, ", \"stddev\": ");
  put_double(f, s->stddev);
  fprintf(f,
          ", \"window_start\": %lld, \"window_end\": %lld, \"late\": %llu, \"rejected\": %llu, "
          "\"total\": %llu, \"watermark\": %lld}",
          (long long)s->window_start, (long long)s->window_end, (unsigned long long)s->late,
          (unsigned long long)s->rejected, (unsigned long long)s->total,
          (long long)s->watermark);
}

static void put_q(FILE* f, const double* q, size_t n) {
  fprintf(f, "[");
  for (size_t i = 0; i < n; ++i) {
    if (i) fprintf(f, ", ");
    put_double(f, q[i]);
  }
  fprintf(f, "]");
}

static int g_first_file = 1;

/* Serializes `a` to <dir>/<name>, then describes it: the expectations are
 * read from a handle restored from the written bytes (what a reader sees). */
static void emit(FILE* json, const char* dir, const char* name, aggregator* a) {
  size_t size = 0, written = 0;
  check(aggregator_serialized_size(a, &size), "serialized_size");
  uint8_t* buf = malloc(size);
  check(aggregator_serialize(a, buf, size, &written), "serialize");
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* out = fopen(path, "wb");
  if (!out || fwrite(buf, 1, written, out) != written || fclose(out) != 0) {
    fprintf(stderr, "make_golden: cannot write %s\n", path);
    exit(1);
  }
  aggregator* r = NULL;
  check(aggregator_restore(buf, written, AGGREGATOR_THREADING_SHARED, &r), "restore");
  free(buf);

  aggregator_config cfg;
  aggregator_config_init(&cfg);
  check(aggregator_get_config(r, &cfg), "get_config");

  fprintf(json, "%s    {\n      \"file\": \"%s\",\n      \"bytes\": %zu,\n", g_first_file ? "" : ",\n",
          name, written);
  g_first_file = 0;
  fprintf(json,
          "      \"config\": {\"window_kind\": %u, \"window_size\": %lld, \"slide\": %lld, "
          "\"pane_width\": %lld, \"allowed_lateness\": %lld, \"relative_accuracy\": ",
          cfg.window_kind, (long long)cfg.window_size, (long long)cfg.slide,
          (long long)cfg.pane_width, (long long)cfg.allowed_lateness);
  put_double(json, cfg.relative_accuracy);
  fprintf(json, ", \"quantiles\": %u, \"nonfinite_policy\": %u},\n", cfg.quantiles,
          cfg.nonfinite_policy);

  aggregator_stats st;
  double q[NQ];
  check(aggregator_get_stats(r, &st), "get_stats");
  fprintf(json, "      \"all\": {\"stats\": ");
  put_stats(json, &st);
  if (cfg.quantiles) {
    check(aggregator_get_quantiles(r, kQ, NQ, q), "get_quantiles");
    fprintf(json, ", \"q\": ");
    put_q(json, q, NQ);
  }
  fprintf(json, "},\n      \"keys\": [");

  /* Series in key order (the library's listing order is its own). */
  uint64_t nkeys = 0;
  check(aggregator_key_count(r, &nkeys), "key_count");
  uint64_t* keys = calloc(nkeys + 1, sizeof *keys);
  aggregator_cursor cur;
  memset(&cur, 0, sizeof cur);
  size_t got = 0;
  while (!cur.done) {
    size_t n = 0;
    check(aggregator_list_keys(r, &cur, keys + got, nkeys - got + 1, NULL, 0, NULL, &n),
          "list_keys");
    got += n;
  }
  for (size_t i = 0; i < got; ++i)
    for (size_t j = i + 1; j < got; ++j)
      if (keys[j] < keys[i]) {
        uint64_t t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
      }
  for (size_t i = 0; i < got; ++i) {
    uint8_t name_buf[256];
    size_t len = 0;
    check(aggregator_key_name(r, keys[i], name_buf, sizeof name_buf, &len), "key_name");
    check(aggregator_get_key_stats(r, keys[i], &st), "get_key_stats");
    fprintf(json, "%s\n        {\"key\": %llu, \"name_hex\": \"", i ? "," : "",
            (unsigned long long)keys[i]);
    for (size_t b = 0; b < len; ++b) fprintf(json, "%02x", name_buf[b]);
    fprintf(json, "\", \"stats\": ");
    put_stats(json, &st);
    if (cfg.quantiles) {
      check(aggregator_get_key_quantiles(r, keys[i], kQ, NQ, q), "get_key_quantiles");
      fprintf(json, ", \"q\": ");
      put_q(json, q, NQ);
    }
    fprintf(json, "}");
  }
  free(keys);
  fprintf(json, "\n      ],\n      \"windows\": [");

  if (cfg.window_kind == AGGREGATOR_WINDOW_TUMBLING || cfg.window_kind == AGGREGATOR_WINDOW_HOPPING) {
    int first = 1;
    for (;;) {
      aggregator_window w;
      size_t n = 0;
      check(aggregator_poll_windows(r, &w, 1, cfg.quantiles ? kQ : NULL, cfg.quantiles ? NQ : 0,
                                    q, &n),
            "poll_windows");
      if (n == 0) break;
      fprintf(json, "%s\n        {\"key\": %llu, \"stats\": ", first ? "" : ",",
              (unsigned long long)w.key);
      first = 0;
      put_stats(json, &w.stats);
      if (cfg.quantiles) {
        fprintf(json, ", \"q\": ");
        put_q(json, q, NQ);
      }
      fprintf(json, "}");
    }
  }
  fprintf(json, "\n      ]\n    }");
  aggregator_free(r);
}

static aggregator* make(uint32_t kind, int64_t size, int64_t slide, int64_t lateness,
                        uint32_t quantiles, uint32_t nonfinite) {
  aggregator_config c;
  aggregator_config_init(&c);
  c.window_kind = kind;
  c.window_size = size;
  c.slide = slide;
  c.allowed_lateness = lateness;
  c.quantiles = quantiles;
  c.nonfinite_policy = nonfinite;
  aggregator* a = NULL;
  check(aggregator_create(&c, &a), "create");
  return a;
}

/* Deterministic values: a fixed LCG, mixed signs and magnitudes. */
static uint64_t g_lcg = 0x2545F4914F6CDD1Dull;
static double next_value(void) {
  g_lcg = g_lcg * 6364136223846793005ull + 1442695040888963407ull;
  int64_t m = (int64_t)(g_lcg >> 33) % 200001 - 100000; /* -1e5 .. 1e5 */
  return (double)m / 64.0;                              /* exact binary fractions */
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : ".";
  char path[4096];
  snprintf(path, sizeof path, "%s/golden.json", dir);
  FILE* json = fopen(path, "w");
  if (!json) {
    fprintf(stderr, "make_golden: cannot write %s\n", path);
    return 1;
  }
  fprintf(json, "{\n  \"format_version\": 1,\n  \"library_version\": \"%s\",\n  \"q\": [",
          aggregator_version());
  for (size_t i = 0; i < NQ; ++i) fprintf(json, "%s%.17g", i ? ", " : "", kQ[i]);
  fprintf(json, "],\n  \"files\": [\n");

  /* 1. COUNT window with quantiles, uint64 keys; key 7 wraps its ring. */
  {
    aggregator* a = make(AGGREGATOR_WINDOW_COUNT, 50, 0, 0, 1, AGGREGATOR_NONFINITE_REJECT);
    double v[80];
    uint64_t k[80];
    for (int i = 0; i < 80; ++i) {
      v[i] = next_value();
      k[i] = i < 70 ? 7 : (i % 2 ? 0xFFFFFFFFFFFFFFFEull : 0);
    }
    v[3] = -0.0;
    v[71] = 4.9406564584124654e-324; /* subnormal: counted as zero by the sketch */
    check(aggregator_push(a, v, NULL, k, 80), "push count");
    emit(json, dir, "count_quantiles.wagg", a);
    aggregator_free(a);
  }
  /* 2. SLIDING (pane width resolved from 0), byte-named keys, negative
   *    timestamps, lateness 30 and late values. */
  {
    aggregator* a = make(AGGREGATOR_WINDOW_SLIDING, 600, 0, 30, 1, AGGREGATOR_NONFINITE_REJECT);
    static const char* names[] = {"alpha", "", "bin\0\xff"};
    static const uint32_t lens[] = {5, 0, 5};
    double v[120];
    int64_t t[120];
    uint8_t kb[120 * 5];
    uint32_t off[121];
    off[0] = 0;
    for (int i = 0; i < 120; ++i) {
      v[i] = next_value();
      t[i] = -1000 + 9 * i - (i % 7 == 3 ? 40 : 0); /* some out of order, some too late */
      int n = i % 3;
      memcpy(kb + off[i], names[n], lens[n]);
      off[i + 1] = off[i] + lens[n];
    }
    check(aggregator_push_named(a, v, t, kb, off, 120), "push sliding");
    emit(json, dir, "sliding_named.wagg", a);
    aggregator_free(a);
  }
  /* 3. TUMBLING, uint64 keys, negative timestamps, windows closed and left
   *    queued (not polled), plus open ones. */
  {
    aggregator* a = make(AGGREGATOR_WINDOW_TUMBLING, 100, 0, 10, 1, AGGREGATOR_NONFINITE_REJECT);
    double v[60];
    int64_t t[60];
    uint64_t k[60];
    for (int i = 0; i < 60; ++i) {
      v[i] = next_value();
      t[i] = -250 + 7 * i;
      k[i] = (i % 2) ? 0x8000000000000000ull : 11;
    }
    check(aggregator_push(a, v, t, k, 60), "push tumbling");
    emit(json, dir, "tumbling_queued.wagg", a);
    aggregator_free(a);
  }
  /* 4. HOPPING (D 60, S 20), named keys, NaN skipped and counted, without
   *    quantiles, negative timestamps, watermark advanced past the data. */
  {
    aggregator* a = make(AGGREGATOR_WINDOW_HOPPING, 60, 20, 5, 0, AGGREGATOR_NONFINITE_SKIP);
    static const char* names[] = {"cpu/host-1", "cpu/host-2"};
    double v[40];
    int64_t t[40];
    uint8_t kb[40 * 10];
    uint32_t off[41];
    off[0] = 0;
    for (int i = 0; i < 40; ++i) {
      v[i] = i % 9 == 4 ? NAN : next_value();
      t[i] = -90 + 4 * i;
      memcpy(kb + off[i], names[i % 2], 10);
      off[i + 1] = off[i] + 10;
    }
    check(aggregator_push_named(a, v, t, kb, off, 40), "push hopping");
    check(aggregator_advance(a, 75), "advance hopping");
    emit(json, dir, "hopping_named.wagg", a);
    aggregator_free(a);
  }
  fprintf(json, "\n  ]\n}\n");
  fclose(json);
  return 0;
}
