// Keyed push: one handle, 1k / 100k / 1M series, uniform or Zipf(1.1) keys,
// count window of 100 per series (quantiles on, the default), batches of
// 4096 (value, key) pairs; 1 and 2 threads pushing into the same handle.
// Same-run baseline: the obvious C++ alternative, a
// std::unordered_map<uint64_t, per-key window> with the same exact stats
// (ring of the last 100 values, running sum and sum of squares, min/max
// recomputed from the ring when the evicted value was the min or the max).
// Also evict_lru/*: the cost of one EVICT_LRU eviction at max_keys 10^4 and
// 10^5 against a push into an existing key (BM_EvictLru).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
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

// EVICT_LRU at its budget (issue 12): a handle holding max_keys series,
// count window of 16, each push one value. case "new_key": the key is new,
// so every push evicts the least recently updated series; case
// "existing_key" (the same-run baseline): the key exists, nothing is
// evicted. The ratio new/existing is the price of one eviction. Cases
// "existing_batch4096" (EVICT_LRU) and "existing_batch4096_reject" (REJECT)
// push 4096 values into existing keys: the hot path's cost of LRU upkeep.
enum class LruCase { kNewKey, kExistingKey, kExistingBatch, kExistingBatchReject };

void BM_EvictLru(benchmark::State& st, uint64_t max_keys, LruCase which) {
  const bool new_key = which == LruCase::kNewKey;
  const bool batch = which == LruCase::kExistingBatch || which == LruCase::kExistingBatchReject;
  aggregator_config c;
  aggregator_config_init(&c);
  c.window_kind = AGGREGATOR_WINDOW_COUNT;
  c.window_size = 16;
  c.max_keys = max_keys;
  c.key_policy = which == LruCase::kExistingBatchReject ? AGGREGATOR_KEYS_REJECT
                                                       : AGGREGATOR_KEYS_EVICT_LRU;
  aggregator* a = nullptr;
  if (aggregator_create(&c, &a) != AGGREGATOR_OK) {
    st.SkipWithError(aggregator_last_error());
    return;
  }
  std::vector<uint64_t> keys(kBatch);
  std::vector<double> vals(kBatch, 1.0);
  uint64_t next = 0;
  while (next < max_keys) {  // fill the budget, untimed
    size_t n = static_cast<size_t>(std::min<uint64_t>(kBatch, max_keys - next));
    for (size_t i = 0; i < n; ++i) keys[i] = KeyOf(next++);
    aggregator_push(a, vals.data(), nullptr, keys.data(), n);
  }
  // batch: 4096 values into existing keys (uniform), the hot path's share
  // of LRU upkeep under EVICT_LRU and, as its baseline, REJECT.
  std::vector<uint64_t> pool;
  if (batch) {
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<uint64_t> d(0, max_keys - 1);
    pool.resize(kKeyPool / 16);
    for (auto& k : pool) k = KeyOf(d(rng));
  }
  uint64_t existing = 0;
  size_t pos = 0;
  for (auto _ : st) {
    int rc;
    if (batch) {
      if (pos + kBatch > pool.size()) pos = 0;
      rc = aggregator_push(a, vals.data(), nullptr, pool.data() + pos, kBatch);
      pos += kBatch;
    } else {
      // new_key: the oldest series is evicted; existing_key: round robin
      // over the live keys (every one is a hit).
      uint64_t key = new_key ? KeyOf(next++) : KeyOf(existing++ % max_keys);
      rc = aggregator_push(a, vals.data(), nullptr, &key, 1);
    }
    if (rc != AGGREGATOR_OK) {
      st.SkipWithError(aggregator_last_error());
      break;
    }
  }
  if (batch) SetPerValueCounters(st, kBatch);
  st.counters["max_keys"] = benchmark::Counter(static_cast<double>(max_keys));
  SetMemoryCounter(st, a);
  aggregator_free(a);
}

// ---- Issue 14: sliding keyed, one value per call, readers during pushes --

// Keyed SLIDING 1 min / 1 s panes, quantiles on, over `series` series
// (uniform keys), batches of 4096 with timestamps advancing `step` ns per
// value, so each series receives per_minute = 60 s / (step * series) values
// a minute (600: the showdown's rate, panes of ~10 values; 6 at 100k series
// and step 100 µs: ~6 panes per series). Warmed for 70 s of event time first.
int64_t SlidingStep(size_t series, uint64_t per_minute) {
  return 60 * kSecond / static_cast<int64_t>(per_minute * series);
}

aggregator* MakeSlidingKeyed(benchmark::State* st) {
  aggregator_config c;
  aggregator_config_init(&c);
  c.window_kind = AGGREGATOR_WINDOW_SLIDING;
  c.window_size = 60 * kSecond;
  c.pane_width = kSecond;
  c.quantiles = 1;
  aggregator* a = nullptr;
  if (aggregator_create(&c, &a) != AGGREGATOR_OK) {
    if (st) st->SkipWithError(aggregator_last_error());
    return nullptr;
  }
  return a;
}

// Pushes batch number `b` (4096 values) of the sliding feed.
int PushSlidingBatch(aggregator* a, const std::vector<uint64_t>& keys, int64_t step, uint64_t b,
                     std::vector<int64_t>* ts) {
  const auto& vals = KeyedValues();
  size_t pos = static_cast<size_t>((b * kBatch) % (kKeyPool - kBatch + 1));
  pos -= pos % kBatch;
  ts->resize(kBatch);
  for (size_t i = 0; i < kBatch; ++i) {
    (*ts)[i] = static_cast<int64_t>(b * kBatch + i) * step;
  }
  return aggregator_push(a, vals.data() + pos, ts->data(), keys.data() + pos, kBatch);
}

uint64_t WarmSliding(aggregator* a, const std::vector<uint64_t>& keys, size_t series,
                     int64_t step) {
  std::vector<int64_t> ts;
  uint64_t b = 0;
  // Every series first, then 70 s of event time.
  std::vector<uint64_t> all(kBatch);
  std::vector<int64_t> t0(kBatch, 0);
  const auto& vals = KeyedValues();
  for (size_t r = 0; r < series; r += kBatch) {
    size_t n = std::min(kBatch, series - r);
    for (size_t i = 0; i < n; ++i) all[i] = KeyOf(r + i);
    aggregator_push(a, vals.data(), t0.data(), all.data(), n);
  }
  const uint64_t warm = static_cast<uint64_t>(70 * kSecond / step) / kBatch + 1;
  for (; b < warm; ++b) PushSlidingBatch(a, keys, step, b, &ts);
  return b;
}

void BM_KeyedSliding(benchmark::State& st, size_t series, uint64_t per_minute) {
  const auto& keys = KeyPool(series, false);
  aggregator* a = MakeSlidingKeyed(&st);
  if (a == nullptr) return;
  const int64_t step = SlidingStep(series, per_minute);
  uint64_t b = WarmSliding(a, keys, series, step);
  std::vector<int64_t> ts;
  for (auto _ : st) {
    if (PushSlidingBatch(a, keys, step, b++, &ts) != AGGREGATOR_OK) {
      st.SkipWithError(aggregator_last_error());
      break;
    }
  }
  SetPerValueCounters(st, kBatch);
  SetMemoryCounter(st, a);
  uint64_t bytes = 0;
  aggregator_memory_usage(a, &bytes);
  st.counters["bytes_per_series"] = benchmark::Counter(static_cast<double>(bytes) / series);
  st.counters["series"] = benchmark::Counter(static_cast<double>(series));
  st.counters["per_minute"] = benchmark::Counter(static_cast<double>(per_minute));
  aggregator_free(a);
}

// One value per call into an existing series (count window 100, quantiles
// on, 1,000 or 100k series, keys round robin), threading SHARED or SINGLE.
// Same-run baseline: the same call shape on the unordered_map of windows
// (a non-inlined function per value: find the key, push).
void BM_OneValue(benchmark::State& st, size_t series, uint32_t threading) {
  aggregator_config c;
  aggregator_config_init(&c);
  c.window_size = kWindow;
  c.threading = threading;
  aggregator* a = nullptr;
  if (aggregator_create(&c, &a) != AGGREGATOR_OK) {
    st.SkipWithError(aggregator_last_error());
    return;
  }
  const auto& vals = KeyedValues();
  std::vector<uint64_t> all(kBatch);
  for (size_t r = 0; r < series; r += kBatch) {
    size_t n = std::min(kBatch, series - r);
    for (size_t i = 0; i < n; ++i) all[i] = KeyOf(r + i);
    aggregator_push(a, vals.data(), nullptr, all.data(), n);
  }
  std::vector<uint64_t> keys(series);
  for (size_t r = 0; r < series; ++r) keys[r] = KeyOf(r);
  size_t k = 0, v = 0;
  for (auto _ : st) {
    if (aggregator_push(a, &vals[v], nullptr, &keys[k], 1) != AGGREGATOR_OK) {
      st.SkipWithError(aggregator_last_error());
      break;
    }
    if (++k == series) k = 0;
    if (++v == kKeyPool) v = 0;
  }
  SetPerValueCounters(st, 1);
  SetMemoryCounter(st, a);
  aggregator_free(a);
}

__attribute__((noinline)) void MapPushOne(std::unordered_map<uint64_t, KeyWindow>* m, uint64_t key,
                                          double v) {
  (*m)[key].Push(v);
}

void BM_OneValueMap(benchmark::State& st, size_t series) {
  const auto& vals = KeyedValues();
  std::unordered_map<uint64_t, KeyWindow> map;
  map.reserve(series);
  std::vector<uint64_t> keys(series);
  for (size_t r = 0; r < series; ++r) map[keys[r] = KeyOf(r)].Push(vals[r]);
  size_t k = 0, v = 0;
  for (auto _ : st) {
    MapPushOne(&map, keys[k], vals[v]);
    if (++k == series) k = 0;
    if (++v == kKeyPool) v = 0;
  }
  SetPerValueCounters(st, 1);
}

// Readers during pushes: one thread pushes the sliding feed flat out (100k
// series, batch 4096) while the benchmark thread reads one key's stats and
// three quantiles (p50, p90, p99) per iteration, 20 µs apart; counters give
// the read latency distribution (p50/p99/p999/max, µs) and the push rate
// reached.
// case "idle" is the same-run baseline: the same reads, nobody pushing.
// Reads are kReadGap apart (a request stream, not a tight loop).
constexpr std::chrono::microseconds kReadGap{20};

void BM_ReadDuringPush(benchmark::State& st, size_t series, bool pushing) {
  const auto& keys = KeyPool(series, false);
  aggregator* a = MakeSlidingKeyed(&st);
  if (a == nullptr) return;
  const int64_t step = SlidingStep(series, 6);
  uint64_t b0 = WarmSliding(a, keys, series, step);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> pushed{0};
  std::thread pusher;
  if (pushing) {
    pusher = std::thread([&] {
      std::vector<int64_t> ts;
      uint64_t b = b0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (PushSlidingBatch(a, keys, step, b++, &ts) != AGGREGATOR_OK) break;
        pushed.fetch_add(kBatch, std::memory_order_relaxed);
      }
    });
  }
  const uint64_t key = KeyOf(0);
  const double q[3] = {0.5, 0.9, 0.99};
  double out[3];
  aggregator_stats s;
  std::vector<double> lat;
  // Touched before the clock starts: a page fault of the reader's own
  // buffer waits behind the pusher's allocator mapping memory (the
  // process's mmap lock), which made this benchmark's p999 its own.
  lat.resize(1 << 20);
  lat.clear();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) {
    auto r0 = std::chrono::steady_clock::now();
    int rc = aggregator_get_key_stats(a, key, &s);
    if (rc == AGGREGATOR_OK) rc = aggregator_get_key_quantiles(a, key, q, 3, out);
    auto r1 = std::chrono::steady_clock::now();
    if (rc != AGGREGATOR_OK) {
      st.SkipWithError(aggregator_last_error());
      break;
    }
    benchmark::DoNotOptimize(out);
    lat.push_back(std::chrono::duration<double, std::micro>(r1 - r0).count());
    // Requests arrive on their own schedule (a spin, not a sleep: no
    // scheduler granularity): a reader in a tight loop would mostly win
    // the shard lock back before the pusher wakes, hiding the wait.
    while (std::chrono::steady_clock::now() - r1 < kReadGap) {
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop.store(true);
  if (pusher.joinable()) pusher.join();
  if (!lat.empty()) {
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) {
      return lat[std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())))];
    };
    st.counters["read_p50_us"] = pct(0.50);
    st.counters["read_p99_us"] = pct(0.99);
    st.counters["read_p999_us"] = pct(0.999);
    st.counters["read_max_us"] = lat.back();
    st.counters["reads"] = static_cast<double>(lat.size());
  }
  st.counters["push_values_per_s"] = static_cast<double>(pushed.load()) / secs;
  aggregator_free(a);
}

}  // namespace

void RegisterKeyedBenchmarks() {
  // {series, values per series per minute}; 100k series at 600 a minute is
  // the showdown's feed (examples/go/showdown): ~700 MB of state, and 70 s
  // of event time (70M values) to warm up.
  const std::pair<size_t, uint64_t> kSliding[] = {
      {1'000, 60}, {1'000, 600}, {100'000, 6}, {100'000, 60}, {100'000, 600}};
  for (const auto& [series, per_minute] : kSliding) {
    const std::string name = "keyed_sliding/impl:windowagg/window:60s/pane:1s/q:1/series:" +
                             std::to_string(series) + "/per_minute:" + std::to_string(per_minute);
    benchmark::RegisterBenchmark(name.c_str(), BM_KeyedSliding, series, per_minute);
  }
  for (size_t series : {size_t{1'000}, size_t{100'000}}) {
    const std::string tail = "/series:" + std::to_string(series);
    benchmark::RegisterBenchmark(("one_value/impl:windowagg/threading:shared" + tail).c_str(),
                                 BM_OneValue, series, uint32_t{AGGREGATOR_THREADING_SHARED});
    benchmark::RegisterBenchmark(("one_value/impl:windowagg/threading:single" + tail).c_str(),
                                 BM_OneValue, series, uint32_t{AGGREGATOR_THREADING_SINGLE});
    benchmark::RegisterBenchmark(("one_value/impl:unordered_map" + tail).c_str(), BM_OneValueMap,
                                 series);
  }
  for (bool pushing : {false, true}) {
    benchmark::RegisterBenchmark(
        (std::string("read_during_push/case:") + (pushing ? "pushing" : "idle") +
         "/window:60s/pane:1s/q:1/series:100000/batch:4096")
            .c_str(),
        BM_ReadDuringPush, size_t{100'000}, pushing)
        ->MinTime(2.0)
        ->UseRealTime();
  }
  const std::pair<LruCase, const char*> kLruCases[] = {
      {LruCase::kExistingKey, "existing_key"},
      {LruCase::kNewKey, "new_key"},
      {LruCase::kExistingBatch, "existing_batch4096"},
      {LruCase::kExistingBatchReject, "existing_batch4096_reject"}};
  for (uint64_t max_keys : {uint64_t{10'000}, uint64_t{100'000}}) {
    for (const auto& [which, label] : kLruCases) {
      std::string name = std::string("evict_lru/case:") + label + "/max_keys:" +
                         std::to_string(max_keys);
      benchmark::RegisterBenchmark(name.c_str(), BM_EvictLru, max_keys, which);
    }
  }
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
