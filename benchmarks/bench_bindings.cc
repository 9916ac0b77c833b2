// Native twins of the Go binding's BenchmarkPush (bindings/go/bench_test.go):
// the same count window (65536 values), the same batch sizes (1, 16, 256,
// 4096, 65536), quantiles on / off, threading SHARED (the Go default) and
// SINGLE (WithSingleThreaded). scripts/bench.sh divides the Go numbers by
// these to get "Go vs native" ratios from one run.
//
//   binding_ref/kind:count/window:65536/q:1/threading:shared/batch:4096
//
// Values come from the same pool as the other native benchmarks (lognormal);
// the Go benchmark uses exponential values — both positive, latency-like.
#include <string>

#include "bench_common.h"

namespace wabench {
namespace {

constexpr int64_t kGoWindow = 65536;  // bindings/go/bench_test.go: benchWindow = 1 << 16

void BM_BindingRef(benchmark::State& st, bool quantiles, bool single, size_t batch) {
  aggregator_config cfg;
  aggregator_config_init(&cfg);
  cfg.window_kind = AGGREGATOR_WINDOW_COUNT;
  cfg.window_size = kGoWindow;
  cfg.quantiles = quantiles ? 1 : 0;
  cfg.threading = single ? AGGREGATOR_THREADING_SINGLE : AGGREGATOR_THREADING_SHARED;
  aggregator* a = nullptr;
  if (aggregator_create(&cfg, &a) != AGGREGATOR_OK) {
    st.SkipWithError(aggregator_last_error());
    return;
  }
  Feed feed(false);
  Warm(a, feed, static_cast<size_t>(kGoWindow) + 4096, false);
  for (auto _ : st) {
    const double* v;
    const int64_t* t;
    feed.Next(batch, &st, &v, &t);
    if (aggregator_push(a, v, nullptr, nullptr, batch) != AGGREGATOR_OK) {
      st.SkipWithError(aggregator_last_error());
      break;
    }
  }
  SetPerValueCounters(st, batch);
  SetMemoryCounter(st, a);
  aggregator_free(a);
}

}  // namespace

void RegisterBindingRefBenchmarks() {
  const size_t kBatches[] = {1, 16, 256, 4096, 65536};
  for (int q = 1; q >= 0; --q) {
    for (int single = 0; single <= 1; ++single) {
      if (q == 0 && single) continue;  // Go has no "noquantiles + single" variant
      for (size_t batch : kBatches) {
        std::string name = "binding_ref/kind:count/window:65536/q:" + std::to_string(q) +
                           "/threading:" + (single ? "single" : "shared") +
                           "/batch:" + std::to_string(batch);
        benchmark::RegisterBenchmark(name.c_str(), BM_BindingRef, q == 1, single == 1, batch);
      }
    }
  }
}

}  // namespace wabench
