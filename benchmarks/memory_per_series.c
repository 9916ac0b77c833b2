/* Bytes per series at alpha = 1% (aggregator_memory_usage / series), two
 * tables. Values are 1 + k/10 for pseudo-random k in [0, 100000) (uniform
 * over [1, 10001]), spread evenly over one minute of event time, one push
 * of all of them with keys interleaved.
 *
 *  1. The README's table: one row per window kind, one column per values
 *     per series (2,000 series).
 *  2. The memory goal of issue 14: a sliding 1 min window with 1 s panes,
 *     quantiles on, at 10 .. 10,000 values per series per minute (every
 *     value still in the window): bytes per series, bytes per held value,
 *     and the goal (<= 8 B per held value + 512 B while panes are small,
 *     <= 16 KiB at any rate).
 *
 * Build and run (from a build tree, e.g. build/release):
 *   cc -O2 -I include benchmarks/memory_per_series.c \
 *      -L build/release/lib -lwindowagg -Wl,-rpath,$PWD/build/release/lib \
 *      -o /tmp/memory_per_series && /tmp/memory_per_series */
#include <stdio.h>
#include <stdlib.h>
#include <windowagg/windowagg.h>

static const int64_t S = 1000000000LL;

/* Pushes n values per series to nk series of a handle made from c; returns
 * bytes per series. */
static double measure(const aggregator_config* c, int timed, int nk, int n) {
  aggregator* a;
  if (aggregator_create(c, &a) != AGGREGATOR_OK) {
    fprintf(stderr, "aggregator_create failed\n");
    exit(1);
  }
  size_t total = (size_t)nk * (size_t)n;
  double* v = malloc(sizeof(double) * total);
  int64_t* ts = malloc(sizeof(int64_t) * total);
  uint64_t* k = malloc(sizeof(uint64_t) * total);
  uint64_t x = 7;
  for (size_t i = 0; i < total; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    v[i] = 1 + ((x >> 20) % 100000) / 10.0;
    k[i] = i % (size_t)nk;
    ts[i] = (int64_t)i * (60 * S / (int64_t)total);
  }
  aggregator_push(a, v, timed ? ts : NULL, k, total);
  uint64_t m0;
  aggregator_memory_usage(a, &m0);
  aggregator_free(a);
  free(v);
  free(ts);
  free(k);
  return (double)m0 / nk;
}

int main(void) {
  const char* names[] = {"count(100)", "count(10000)", "sliding(60s,1s)", "tumbling(60s)",
                         "hopping(60s,10s)"};
  int per[] = {1, 10, 100, 1000};
  printf("bytes per series, alpha = 1%%, 2000 series, values per series:\n");
  printf("%-18s %8d %8d %8d %8d\n", "window", per[0], per[1], per[2], per[3]);
  for (int kind = 0; kind < 5; kind++) {
    printf("%-18s", names[kind]);
    for (int pi = 0; pi < 4; pi++) {
      aggregator_config c;
      aggregator_config_init(&c);
      switch (kind) {
        case 0: c.window_size = 100; break;
        case 1: c.window_kind = 0; c.window_size = 10000; break;
        case 2: c.window_kind = 1; c.window_size = 60 * S; c.pane_width = S; break;
        case 3: c.window_kind = 2; c.window_size = 60 * S; break;
        case 4: c.window_kind = 3; c.window_size = 60 * S; c.slide = 10 * S; break;
      }
      printf(" %8.0f", measure(&c, kind != 0, 2000, per[pi]));
    }
    printf("\n");
  }

  int rate[] = {10, 100, 600, 1000, 10000};
  const int nk = 500;
  printf("\nsliding 60 s window, 1 s panes, quantiles on, alpha = 1%%, %d series\n", nk);
  printf("%14s %12s %12s %14s %10s\n", "values/min", "B/series", "B/held value",
         "goal B/series", "goal met");
  for (int ri = 0; ri < 5; ri++) {
    aggregator_config c;
    aggregator_config_init(&c);
    c.window_kind = 1;
    c.window_size = 60 * S;
    c.pane_width = S;
    c.quantiles = 1;
    double b = measure(&c, 1, nk, rate[ri]);
    /* 8 B a held value + 512 B a series; never more than 16 KiB. */
    double goal = 8.0 * rate[ri] + 512;
    if (goal > 16384) goal = 16384;
    printf("%14d %12.0f %12.1f %14.0f %10s\n", rate[ri], b, b / rate[ri], goal,
           b <= goal ? "yes" : "no");
  }
  return 0;
}
