/* The showdown's feed without Go (examples/go/showdown): 100,000 series, a
 * 1-minute sliding window with 1 s panes and quantiles (alpha = 1%), 10^6
 * values per second of event time (~600 per series per minute), pushed in
 * batches of 4,096 values with random keys, `burst` values of one key
 * after another (the showdown's default is 8; 1 scatters every value). Prints, every ~8 s of event
 * time, the library's state (aggregator_memory_usage) and the process's
 * RSS, then the steady-state cost per value: wall time over the values
 * pushed after the first 60 s of event time (the window full), then the
 * cost of a cold read: the stats and p50/p99/p999 of every series, in a
 * scattered order (what a request for one series costs once the state is
 * much bigger than the caches).
 *
 *   sliding_feed [seconds of event time, default 120] [burst, default 1]
 *
 * Build and run (from a build tree, e.g. build/release):
 *   cc -O2 -I include benchmarks/sliding_feed.c \
 *      -L build/release/lib -lwindowagg -Wl,-rpath,$PWD/build/release/lib \
 *      -o /tmp/sliding_feed && /tmp/sliding_feed 90
 * Against another build: link a second binary to that build's library and
 * alternate the two (the machine's noise moves both). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <windowagg/windowagg.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rss_mib(void) {
  long size = 0, resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == NULL) return 0;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
  fclose(f);
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static double state_mib(aggregator* a) {
  uint64_t bytes = 0;
  aggregator_memory_usage(a, &bytes);
  return (double)bytes / 1048576.0;
}

int main(int argc, char** argv) {
  enum { kBatch = 4096 };
  const uint64_t series = 100000;
  const int64_t sec = 1000000000LL;
  const double rate = 1e6;  // values per second of event time
  const double seconds = argc > 1 ? atof(argv[1]) : 120;
  const int burst = argc > 2 ? atoi(argv[2]) : 1;
  if (burst < 1) {
    fprintf(stderr, "burst must be >= 1\n");
    return 2;
  }

  aggregator_config c;
  aggregator_config_init(&c);
  c.window_kind = AGGREGATOR_WINDOW_SLIDING;
  c.window_size = 60 * sec;
  c.pane_width = sec;
  c.quantiles = 1;
  aggregator* a = NULL;
  if (aggregator_create(&c, &a) != AGGREGATOR_OK) {
    fprintf(stderr, "create: %s\n", aggregator_last_error());
    return 1;
  }
  static double v[kBatch];
  static int64_t t[kBatch];
  static uint64_t k[kBatch];
  uint64_t rng = 88172645463325252ULL;  // xorshift64
  uint64_t key = 0;
  int left = 0;  // values left in the current key's burst
  int64_t now = 0;
  const long total = (long)(rate * seconds);
  double t0 = 0;
  long steady = 0;
  for (long done = 0; done < total; done += kBatch) {
    if (now >= 60 * sec && t0 == 0) t0 = now_s();
    for (size_t i = 0; i < kBatch; ++i) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      if (left == 0) {
        key = rng % series;
        left = burst;
      }
      --left;
      k[i] = key;
      v[i] = 1.0 + (double)(rng >> 40) / 1e3;  // spread over ~4 decades
      now += (int64_t)(sec / rate);
      t[i] = now;
    }
    if (aggregator_push(a, v, t, k, kBatch) != AGGREGATOR_OK) {
      fprintf(stderr, "push: %s\n", aggregator_last_error());
      return 1;
    }
    if (t0 != 0) steady += kBatch;
    if ((done / kBatch) % 2000 == 0) {
      printf("t=%6.1fs  state %7.1f MiB  rss %7.1f MiB\n", (double)now / 1e9, state_mib(a),
             rss_mib());
    }
  }
  const double elapsed = t0 != 0 ? now_s() - t0 : 0;
  printf("end t=%.1fs  state %.1f MiB  rss %.1f MiB\n", (double)now / 1e9, state_mib(a),
         rss_mib());
  if (steady > 0) {
    printf("steady: %.1f ns/value (%ld values, bursts of %d)\n", elapsed * 1e9 / (double)steady, steady,
           burst);
  }
  /* Every series once, stride 7919 (prime to the series count). */
  const double q[3] = {0.5, 0.99, 0.999};
  double qs[3];
  aggregator_stats st;
  double checksum = 0;
  const double r0 = now_s();
  for (uint64_t i = 0; i < series; ++i) {
    const uint64_t key = (i * 7919) % series;
    if (aggregator_get_key_stats(a, key, &st) != AGGREGATOR_OK ||
        aggregator_get_key_quantiles(a, key, q, 3, qs) != AGGREGATOR_OK) {
      fprintf(stderr, "read: %s\n", aggregator_last_error());
      return 1;
    }
    checksum += qs[1] + (double)st.count;
  }
  printf("cold read: %.2f us per series (stats + 3 quantiles, %lu series; checksum %.6g)\n",
         (now_s() - r0) * 1e6 / (double)series, (unsigned long)series, checksum);
  aggregator_free(a);
  return 0;
}
