// Shared pieces of the native benchmarks: input pools, handle construction,
// counters. Everything goes through the public C ABI.
//
// Benchmark names are '/'-separated key:value fields (report.py parses them):
//   push/kind:count/window:10000/q:1/batch:4096
//   baseline/kind:plain_sum/batch:4096
//   keyed/impl:windowagg/dist:zipf/series:100000/real_time/threads:2
//   binding_ref/kind:count/window:65536/q:1/threading:shared/batch:4096
#ifndef WINDOWAGG_BENCHMARKS_BENCH_COMMON_H_
#define WINDOWAGG_BENCHMARKS_BENCH_COMMON_H_

#include <benchmark/benchmark.h>
#include <windowagg/windowagg.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace wabench {

// Values per pool: batches are successive slices of one pool of values (and
// timestamps), 1 MiB of doubles, so a batch comes from L2/L3 like a host
// buffer that was just filled, never straight from registers.
inline constexpr size_t kPool = size_t{1} << 17;

// Event time advances this much per value (ns): a 100k values/s stream.
inline constexpr int64_t kStepNs = 10'000;
inline constexpr int64_t kSecond = 1'000'000'000;

// Latency-like values: lognormal, positive, deterministic.
const std::vector<double>& ValuePool();

// Successive batches from the pool; timestamps keep advancing by kStepNs per
// value across wraps (the pool's timestamps are shifted while the timer is
// paused, once per kPool values).
class Feed {
 public:
  explicit Feed(bool timestamps);
  // Next `n` values (n divides kPool). `st` may be null (untimed use).
  void Next(size_t n, benchmark::State* st, const double** v, const int64_t** t);
  bool wrapped() const { return wrapped_; }

 private:
  std::vector<int64_t> ts_;
  size_t pos_ = 0;
  bool timestamps_;
  bool wrapped_ = false;
};

struct WindowSpec {
  std::string name;   // "count", "sliding", "tumbling", "hopping"
  std::string label;  // window field of the benchmark name, e.g. "10000", "60s"
  uint32_t kind = AGGREGATOR_WINDOW_COUNT;
  int64_t size = 0;
  int64_t slide = 0;
  int64_t pane = 0;
  bool timed() const { return kind != AGGREGATOR_WINDOW_COUNT; }
  // Values pushed before timing so the window is in steady state (full,
  // evicting / closing windows).
  size_t warm_values() const;
};

// Creates a handle (threading SHARED, the default) or aborts the benchmark.
aggregator* MakeHandle(const WindowSpec& w, bool quantiles, benchmark::State* st);

// Pushes `n` values from `feed` in batches of 4096 (untimed warm-up).
void Warm(aggregator* a, Feed& feed, size_t n, bool timestamps);

// items_processed, and ns_per_value = (rate)^-1 in nanoseconds. With
// Threads(k) + UseRealTime the per-thread values are summed and divided by
// wall time, so ns_per_value is the handle's aggregate cost per value.
void SetPerValueCounters(benchmark::State& st, size_t values_per_iteration);

// Handle memory as a counter (bytes), from aggregator_memory_usage.
void SetMemoryCounter(benchmark::State& st, const aggregator* a);

void RegisterPushBenchmarks();
void RegisterKeyedBenchmarks();
void RegisterScalingBenchmarks();
void RegisterBindingRefBenchmarks();  // bench_bindings.cc: the Go benchmark's twins

}  // namespace wabench

#endif  // WINDOWAGG_BENCHMARKS_BENCH_COMMON_H_
