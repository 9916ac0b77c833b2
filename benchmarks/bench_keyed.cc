// Keyed push: one handle, 1k / 100k / 1M series, uniform or Zipf(1.1) keys,
// count window of 100 per series (quantiles on, the default), batches of
// 4096 (value, key) pairs; 1 and 2 threads pushing into the same handle.
// Same-run baseline: the obvious C++ alternative, a
// std::unordered_map<uint64_t, per-key window> with the same exact stats
// (ring of the last 100 values, running sum and sum of squares, min/max
// recomputed from the ring when the evicted value was the min or the max).
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench_common.h"

namespace wabench {
namespace {

constexpr size_t kKeyPool = size_t{1} << 20;
constexpr size_t kBatch = 4096;
constexpr int64_t kWindow = 100;

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Series id of rank r (0 = hottest under Zipf): scrambled, never the
// overflow key.
uint64_t KeyOf(uint64_t r) { return SplitMix(r) & 0x7FFFFFFFFFFFFFFFull; }

// kKeyPool keys drawn from the distribution; cached per (series, zipf).
const std::vector<uint64_t>& KeyPool(size_t series, bool zipf) {
  static std::map<std::pair<size_t, bool>, std::vector<uint64_t>> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto& keys = cache[{series, zipf}];
  if (!keys.empty()) return keys;
  keys.resize(kKeyPool);
  std::mt19937_64 rng(7 + series + (zipf ? 1 : 0));
  if (!zipf) {
    std::uniform_int_distribution<uint64_t> d(0, series - 1);
    for (auto& k : keys) k = KeyOf(d(rng));
  } else {
    // Inverse CDF of P(r) ~ 1/(r+1)^1.1 over `series` ranks.
    std::vector<double> cdf(series);
    double acc = 0;
    for (size_t r = 0; r < series; ++r) {
      acc += 1.0 / std::pow(static_cast<double>(r + 1), 1.1);
      cdf[r] = acc;
    }
    std::uniform_real_distribution<double> u(0.0, acc);
    for (auto& k : keys) {
      size_t r = static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
      k = KeyOf(std::min(r, series - 1));
    }
  }
  return keys;
}

// Distinct series the pool touches (reported as a counter).
size_t DistinctKeys(const std::vector<uint64_t>& keys) {
  std::vector<uint64_t> k(keys);
  std::sort(k.begin(), k.end());
  return static_cast<size_t>(std::unique(k.begin(), k.end()) - k.begin());
}

// Values parallel to the key pool (the value pool, repeated).
const std::vector<double>& KeyedValues() {
  static const std::vector<double> v = [] {
    std::vector<double> out(kKeyPool);
    const auto& pool = ValuePool();
    for (size_t i = 0; i < kKeyPool; ++i) out[i] = pool[i % pool.size()];
    return out;
  }();
  return v;
}

struct Shared {
  aggregator* handle = nullptr;
  double distinct = 0;
};
Shared g_shared;

void BM_KeyedWindowagg(benchmark::State& st, size_t series, bool zipf) {
  const auto& keys = KeyPool(series, zipf);
  const auto& vals = KeyedValues();
  if (st.thread_index() == 0) {
    WindowSpec w{"count", "100", AGGREGATOR_WINDOW_COUNT, kWindow, 0, 0};
    g_shared.handle = MakeHandle(w, /*quantiles=*/true, &st);
    // Create every series before timing: creation is not the steady state.
    std::vector<uint64_t> all(kBatch);
    for (size_t r = 0; r < series; r += kBatch) {
      size_t n = std::min(kBatch, series - r);
      for (size_t i = 0; i < n; ++i) all[i] = KeyOf(r + i);
      aggregator_push(g_shared.handle, vals.data(), nullptr, all.data(), n);
    }
    g_shared.distinct = static_cast<double>(DistinctKeys(keys));
  }
  // The benchmark loop starts with a barrier across threads: read the shared
  // handle only inside it, after thread 0 has made it.
  aggregator* a = nullptr;
  size_t pos = (kKeyPool / static_cast<size_t>(st.threads())) *
               static_cast<size_t>(st.thread_index());
  pos -= pos % kBatch;
  for (auto _ : st) {
    if (a == nullptr) {
      a = g_shared.handle;
      if (a == nullptr) {
        st.SkipWithError("no handle");
        break;
      }
    }
    if (pos + kBatch > kKeyPool) pos = 0;
    if (aggregator_push(a, vals.data() + pos, nullptr, keys.data() + pos, kBatch) !=
        AGGREGATOR_OK) {
      st.SkipWithError(aggregator_last_error());
      break;
    }
    pos += kBatch;
  }
  SetPerValueCounters(st, kBatch);
  if (st.thread_index() == 0) {
    SetMemoryCounter(st, g_shared.handle);
    st.counters["series"] = benchmark::Counter(static_cast<double>(series));
    st.counters["distinct_in_pool"] = benchmark::Counter(g_shared.distinct);
  }
  // (The loop ends with a barrier too, so thread 0 frees last.)
  if (st.thread_index() == 0) {
    aggregator_free(g_shared.handle);
    g_shared.handle = nullptr;
  }
}

// The obvious alternative: one struct per key in a std::unordered_map.
struct KeyWindow {
  std::array<double, kWindow> ring;
  uint32_t head = 0;
  uint32_t n = 0;
  double sum = 0, sumsq = 0;
  double min = INFINITY, max = -INFINITY;

  void Push(double v) {
    if (n < kWindow) {
      ring[n++] = v;
      sum += v;
      sumsq += v * v;
      min = std::min(min, v);
      max = std::max(max, v);
      return;
    }
    double old = ring[head];
    ring[head] = v;
    head = head + 1 == kWindow ? 0 : head + 1;
    sum += v - old;
    sumsq += v * v - old * old;
    if (old == min || old == max) {
      // Honest recompute: the evicted value was an extreme.
      min = INFINITY;
      max = -INFINITY;
      for (double x : ring) {
        min = std::min(min, x);
        max = std::max(max, x);
      }
    } else {
      min = std::min(min, v);
      max = std::max(max, v);
    }
  }
};

void BM_KeyedUnorderedMap(benchmark::State& st, size_t series, bool zipf) {
  const auto& keys = KeyPool(series, zipf);
  const auto& vals = KeyedValues();
  std::unordered_map<uint64_t, KeyWindow> map;
  map.reserve(series);
  for (size_t r = 0; r < series; ++r) map[KeyOf(r)].Push(vals[r % kKeyPool]);
  size_t pos = 0;
  for (auto _ : st) {
    if (pos + kBatch > kKeyPool) pos = 0;
    const uint64_t* k = keys.data() + pos;
    const double* v = vals.data() + pos;
    for (size_t i = 0; i < kBatch; ++i) map[k[i]].Push(v[i]);
    benchmark::ClobberMemory();
    pos += kBatch;
  }
  SetPerValueCounters(st, kBatch);
  st.counters["series"] = benchmark::Counter(static_cast<double>(series));
  st.counters["approx_bytes"] = benchmark::Counter(
      static_cast<double>(map.size() * (sizeof(KeyWindow) + 2 * sizeof(void*) + sizeof(uint64_t)) +
                          map.bucket_count() * sizeof(void*)));
}

}  // namespace

void RegisterKeyedBenchmarks() {
  const size_t kSeries[] = {1'000, 100'000, 1'000'000};
  for (int zipf = 0; zipf <= 1; ++zipf) {
    for (size_t series : kSeries) {
      std::string tail = std::string("/dist:") + (zipf ? "zipf" : "uniform") +
                         "/series:" + std::to_string(series);
      benchmark::RegisterBenchmark(("keyed/impl:windowagg" + tail).c_str(), BM_KeyedWindowagg,
                                   series, zipf == 1)
          ->Threads(1)
          ->Threads(2)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("keyed/impl:unordered_map" + tail).c_str(),
                                   BM_KeyedUnorderedMap, series, zipf == 1)
          ->Threads(1)
          ->UseRealTime();
    }
  }
}

}  // namespace wabench
