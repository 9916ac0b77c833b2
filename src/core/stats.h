// A window's summary as the C ABI returns it.
#ifndef WINDOWAGG_CORE_STATS_H_
#define WINDOWAGG_CORE_STATS_H_

#include <cstdint>

#include "core/moments.h"

namespace windowagg::internal {

struct Series;

// Mirrors aggregator_stats field for field.
struct Stats {
  uint64_t count;
  double sum, mean, min, max, variance, stddev;
  int64_t window_start, window_end;
  uint64_t late, rejected, total;
  int64_t watermark;
};

// Mirrors aggregator_key_stats and aggregator_window.
struct KeyedStats {
  uint64_t key;
  Stats stats;
};

// The stats of moments m over [start, end); the counters are the series'
// (zero without one). The mean always lies in [min, max].
Stats MakeStats(const Moments& m, int64_t start, int64_t end, const Series* s,
                int64_t watermark);

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_STATS_H_
