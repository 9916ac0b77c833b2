// How push cost and memory grow with the count window's size, 10^3..10^7,
// at batch 4096 (window filled before timing).
#include <string>

#include "bench_common.h"

namespace wabench {
namespace {

void BM_Scaling(benchmark::State& st, int64_t window, bool quantiles) {
  WindowSpec w{"count", std::to_string(window), AGGREGATOR_WINDOW_COUNT, window, 0, 0};
  aggregator* a = MakeHandle(w, quantiles, &st);
  if (a == nullptr) return;
  Feed feed(false);
  Warm(a, feed, w.warm_values(), false);
  constexpr size_t kBatch = 4096;
  for (auto _ : st) {
    const double* v;
    const int64_t* t;
    feed.Next(kBatch, &st, &v, &t);
    if (aggregator_push(a, v, nullptr, nullptr, kBatch) != AGGREGATOR_OK) {
      st.SkipWithError(aggregator_last_error());
      break;
    }
  }
  SetPerValueCounters(st, kBatch);
  SetMemoryCounter(st, a);
  aggregator_free(a);
}

}  // namespace

void RegisterScalingBenchmarks() {
  for (int q = 0; q <= 1; ++q) {
    for (int64_t window = 1000; window <= 10'000'000; window *= 10) {
      std::string name = "scaling/kind:count/window:" + std::to_string(window) +
                         "/q:" + std::to_string(q) + "/batch:4096";
      benchmark::RegisterBenchmark(name.c_str(), BM_Scaling, window, q == 1);
    }
  }
}

}  // namespace wabench
