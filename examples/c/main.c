/*
 * windowagg C example: a synthetic request-latency stream (microseconds,
 * event timestamps in nanoseconds) goes through two handles at once:
 *   - a 10 s sliding time window (250 ms panes), read every 5 s of event time;
 *   - 1 s tumbling windows, polled as they close.
 * A few samples arrive 2 s late to show late-data accounting.
 *
 * usage: windowagg-example-c [samples]   (default 1000000, about 50 s of
 *                                        event time at 20k requests/s)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <windowagg/windowagg.h>

#define NS_PER_SEC 1000000000LL
#define BATCH 4096

static const double kQ[] = {0.5, 0.99, 0.999};
#define NQ (sizeof kQ / sizeof kQ[0])

/* splitmix64: small, fast, and the same stream on every platform. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_u64(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double next_unit(void) { return (double)(next_u64() >> 11) * 0x1.0p-53; }

/* Lognormal-ish without libm: a product of independent factors has a
 * roughly normal logarithm. One request in 500 takes a slow path. */
static double next_latency_us(void) {
  double x = 180.0;
  for (int k = 0; k < 4; ++k) x *= 0.6 + 0.8 * next_unit();
  if (next_u64() % 500 == 0) x *= 5.0 + 45.0 * next_unit();
  return x;
}

static int check(int status, const char* what) {
  if (status != AGGREGATOR_OK) {
    fprintf(stderr, "%s failed: %s (%s)\n", what, aggregator_status_string(status),
            aggregator_last_error());
  }
  return status;
}

static double rel_sec(int64_t t, int64_t base) { return (double)(t - base) / 1e9; }

static int print_sliding(const aggregator* a, int64_t base) {
  aggregator_stats s;
  double q[NQ];
  if (check(aggregator_get_stats(a, &s), "aggregator_get_stats") ||
      check(aggregator_get_quantiles(a, kQ, NQ, q), "aggregator_get_quantiles"))
    return 1;
  printf("sliding 10s @%6.1fs  n=%-7" PRIu64 " mean=%7.1f sd=%7.1f min=%6.1f "
         "p50=%7.1f p99=%7.1f p999=%8.1f max=%8.1f late=%" PRIu64 "\n",
         rel_sec(s.watermark, base), s.count, s.mean, s.stddev, s.min, q[0], q[1],
         q[2], s.max, s.late);
  return 0;
}

static int drain_windows(aggregator* a, int64_t base) {
  aggregator_window w[16];
  double q[16 * NQ];
  size_t n = 0;
  do {
    if (check(aggregator_poll_windows(a, w, 16, kQ, NQ, q, &n), "aggregator_poll_windows"))
      return 1;
    for (size_t i = 0; i < n; ++i) {
      const aggregator_stats* s = &w[i].stats;
      printf("tumbling [%5.1fs,%5.1fs) n=%-6" PRIu64 " mean=%7.1f p50=%7.1f "
             "p99=%7.1f p999=%8.1f max=%8.1f\n",
             rel_sec(s->window_start, base), rel_sec(s->window_end, base), s->count,
             s->mean, q[i * NQ], q[i * NQ + 1], q[i * NQ + 2], s->max);
    }
  } while (n == 16);
  return 0;
}

int main(int argc, char** argv) {
  long long samples = argc > 1 ? atoll(argv[1]) : 1000000;
  if (samples <= 0) {
    fprintf(stderr, "usage: %s [samples > 0]\n", argv[0]);
    return 2;
  }
  printf("windowagg %s: %lld synthetic latencies (us)\n", aggregator_version(), samples);

  aggregator_config cfg;
  aggregator_config_init(&cfg);
  cfg.window_kind = AGGREGATOR_WINDOW_SLIDING;
  cfg.window_size = 10 * NS_PER_SEC;
  cfg.pane_width = NS_PER_SEC / 4; /* 40 panes: the window slides in 250 ms steps */
  cfg.allowed_lateness = NS_PER_SEC / 4;
  aggregator* sliding = NULL;
  if (check(aggregator_create(&cfg, &sliding), "aggregator_create(sliding)")) return 1;

  aggregator_config_init(&cfg);
  cfg.window_kind = AGGREGATOR_WINDOW_TUMBLING;
  cfg.window_size = NS_PER_SEC;
  cfg.allowed_lateness = NS_PER_SEC / 4;
  aggregator* tumbling = NULL;
  if (check(aggregator_create(&cfg, &tumbling), "aggregator_create(tumbling)")) {
    aggregator_free(sliding);
    return 1;
  }

  static double values[BATCH];
  static int64_t ts[BATCH];
  const int64_t base = 1700000000LL * NS_PER_SEC; /* a realistic epoch in ns */
  int64_t now = base, next_report = base + 5 * NS_PER_SEC;
  int rc = 0;

  for (long long done = 0; done < samples && rc == 0;) {
    size_t n = samples - done < BATCH ? (size_t)(samples - done) : BATCH;
    for (size_t i = 0; i < n; ++i) {
      now += 25000 + (int64_t)(next_u64() % 50000); /* ~20k requests/s */
      values[i] = next_latency_us();
      /* One sample in 1000 is delivered 2 s late: counted, not folded in. */
      ts[i] = next_u64() % 1000 == 0 ? now - 2 * NS_PER_SEC : now;
    }
    done += (long long)n;
    if (check(aggregator_push(sliding, values, ts, NULL, n), "aggregator_push(sliding)") ||
        check(aggregator_push(tumbling, values, ts, NULL, n), "aggregator_push(tumbling)")) {
      rc = 1;
      break;
    }
    rc = drain_windows(tumbling, base);
    if (rc == 0 && now >= next_report) {
      rc = print_sliding(sliding, base);
      next_report += 5 * NS_PER_SEC;
    }
  }

  if (rc == 0) {
    /* End of stream: move event time past the last window so it closes. */
    printf("end of stream\n");
    rc = check(aggregator_advance(tumbling, now + 2 * NS_PER_SEC), "aggregator_advance") ||
         drain_windows(tumbling, base) || print_sliding(sliding, base);
  }
  if (rc == 0) {
    uint64_t mem_s = 0, mem_t = 0, pending = 0, dropped = 0;
    aggregator_stats total;
    rc = check(aggregator_memory_usage(sliding, &mem_s), "aggregator_memory_usage") ||
         check(aggregator_memory_usage(tumbling, &mem_t), "aggregator_memory_usage") ||
         check(aggregator_pending_windows(tumbling, &pending, &dropped),
               "aggregator_pending_windows") ||
         check(aggregator_get_stats(tumbling, &total), "aggregator_get_stats");
    if (rc == 0)
      printf("accepted=%" PRIu64 " late=%" PRIu64 " memory: sliding=%" PRIu64
             " B tumbling=%" PRIu64 " B, windows pending=%" PRIu64 " dropped=%" PRIu64 "\n",
             total.total, total.late, mem_s, mem_t, pending, dropped);
  }
  aggregator_free(tumbling);
  aggregator_free(sliding);
  return rc;
}
