// Entry point: registers every benchmark family, then runs the usual
// Google Benchmark command line (--benchmark_filter, --benchmark_out, ...).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "bench_common.h"

namespace wabench {

const std::vector<double>& ValuePool() {
  static const std::vector<double> pool = [] {
    std::vector<double> v(kPool);
    std::mt19937_64 rng(42);
    // Latencies in microseconds: median ~200, long right tail.
    std::lognormal_distribution<double> d(std::log(200.0), 0.8);
    for (double& x : v) x = d(rng);
    return v;
  }();
  return pool;
}

Feed::Feed(bool timestamps) : timestamps_(timestamps) {
  if (timestamps_) {
    ts_.resize(kPool);
    for (size_t i = 0; i < kPool; ++i) ts_[i] = static_cast<int64_t>(i) * kStepNs;
  }
}

void Feed::Next(size_t n, benchmark::State* st, const double** v, const int64_t** t) {
  wrapped_ = false;
  if (pos_ + n > kPool) {
    if (timestamps_) {
      if (st) st->PauseTiming();
      const int64_t shift = static_cast<int64_t>(pos_) * kStepNs;
      for (int64_t& x : ts_) x += shift;
      if (st) st->ResumeTiming();
    }
    pos_ = 0;
    wrapped_ = true;
  }
  *v = ValuePool().data() + pos_;
  *t = timestamps_ ? ts_.data() + pos_ : nullptr;
  pos_ += n;
}

size_t WindowSpec::warm_values() const {
  switch (kind) {
    case AGGREGATOR_WINDOW_COUNT:
      return static_cast<size_t>(size) + 4096;
    default:
      // One window plus a few panes of event time.
      return static_cast<size_t>((size + 2 * kSecond) / kStepNs);
  }
}

aggregator* MakeHandle(const WindowSpec& w, bool quantiles, benchmark::State* st) {
  aggregator_config cfg;
  aggregator_config_init(&cfg);
  cfg.window_kind = w.kind;
  cfg.window_size = w.size;
  cfg.slide = w.slide;
  cfg.pane_width = w.pane;
  cfg.quantiles = quantiles ? 1 : 0;
  aggregator* a = nullptr;
  int rc = aggregator_create(&cfg, &a);
  if (rc != AGGREGATOR_OK) {
    std::string msg = std::string("aggregator_create: ") + aggregator_last_error();
    if (st) {
      st->SkipWithError(msg.c_str());
    } else {
      std::fprintf(stderr, "%s\n", msg.c_str());
      std::exit(1);
    }
    return nullptr;
  }
  return a;
}

void Warm(aggregator* a, Feed& feed, size_t n, bool timestamps) {
  for (size_t done = 0; done < n; done += 4096) {
    const double* v;
    const int64_t* t;
    feed.Next(4096, nullptr, &v, &t);
    if (aggregator_push(a, v, timestamps ? t : nullptr, nullptr, 4096) != AGGREGATOR_OK) {
      std::fprintf(stderr, "warm-up push failed: %s\n", aggregator_last_error());
      std::exit(1);
    }
    if (feed.wrapped()) {
      aggregator_window wins[64];
      size_t got = 0;
      do {
        aggregator_poll_windows(a, wins, 64, nullptr, 0, nullptr, &got);
      } while (got == 64);
    }
  }
}

void SetPerValueCounters(benchmark::State& st, size_t values_per_iteration) {
  const double items = static_cast<double>(st.iterations()) *
                       static_cast<double>(values_per_iteration);
  st.SetItemsProcessed(static_cast<int64_t>(items));
  // rate = items * 1e-9 / s; inverted: ns per value.
  st.counters["ns_per_value"] = benchmark::Counter(
      items * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void SetMemoryCounter(benchmark::State& st, const aggregator* a) {
  uint64_t bytes = 0;
  if (a != nullptr && aggregator_memory_usage(a, &bytes) == AGGREGATOR_OK) {
    st.counters["mem_bytes"] = benchmark::Counter(static_cast<double>(bytes));
  }
}

}  // namespace wabench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  wabench::RegisterPushBenchmarks();
  wabench::RegisterScalingBenchmarks();
  wabench::RegisterKeyedBenchmarks();
  wabench::RegisterBindingRefBenchmarks();
  benchmark::AddCustomContext("windowagg_version", aggregator_version());
  benchmark::AddCustomContext("value_pool", std::to_string(wabench::kPool) + " lognormal doubles");
  benchmark::AddCustomContext("event_step_ns", std::to_string(wabench::kStepNs));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
