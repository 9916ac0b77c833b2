// A minimal driver for profilers: one configuration, a fixed number of
// values, no framework.
//
//   windowagg_profile_driver KIND QUANTILES BATCH VALUES [SERIES ZIPF [THREADS]]
//     KIND: count10k | count1m | sliding | tumbling | hopping | keyed
//     keyed: count window 100, SERIES series, ZIPF 0/1 (Zipf 1.1), THREADS
//     threads pushing VALUES/THREADS each into the one handle (keyed only)
//
//   perf record -e cpu-clock -g ./windowagg_profile_driver count10k 1 4096 200000000
//   valgrind --tool=callgrind ./windowagg_profile_driver count10k 0 4096 2000000
#include <windowagg/windowagg.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <thread>
#include <vector>

namespace {

constexpr int64_t kStep = 10'000;
constexpr int64_t kSec = 1'000'000'000;

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return (x ^ (x >> 31)) & 0x7FFFFFFFFFFFFFFFull;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s KIND QUANTILES BATCH VALUES [SERIES ZIPF]\n", argv[0]);
    return 2;
  }
  const char* kind = argv[1];
  const bool q = std::atoi(argv[2]) != 0;
  const size_t batch = std::strtoull(argv[3], nullptr, 10);
  const size_t total = std::strtoull(argv[4], nullptr, 10);
  const size_t series = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 0;
  const bool zipf = argc > 6 && std::atoi(argv[6]) != 0;
  const int threads = argc > 7 ? std::max(1, std::atoi(argv[7])) : 1;

  aggregator_config cfg;
  aggregator_config_init(&cfg);
  cfg.quantiles = q;
  bool timed = false, keyed = false;
  if (!std::strcmp(kind, "count10k")) {
    cfg.window_size = 10'000;
  } else if (!std::strcmp(kind, "count1m")) {
    cfg.window_size = 1'000'000;
  } else if (!std::strcmp(kind, "sliding")) {
    cfg.window_kind = AGGREGATOR_WINDOW_SLIDING;
    cfg.window_size = 60 * kSec;
    cfg.pane_width = kSec;
    timed = true;
  } else if (!std::strcmp(kind, "tumbling")) {
    cfg.window_kind = AGGREGATOR_WINDOW_TUMBLING;
    cfg.window_size = kSec;
    timed = true;
  } else if (!std::strcmp(kind, "hopping")) {
    cfg.window_kind = AGGREGATOR_WINDOW_HOPPING;
    cfg.window_size = 10 * kSec;
    cfg.slide = kSec;
    timed = true;
  } else if (!std::strcmp(kind, "keyed")) {
    cfg.window_size = 100;
    keyed = true;
  } else {
    std::fprintf(stderr, "unknown kind %s\n", kind);
    return 2;
  }
  aggregator* a = nullptr;
  if (aggregator_create(&cfg, &a) != AGGREGATOR_OK) {
    std::fprintf(stderr, "create: %s\n", aggregator_last_error());
    return 1;
  }

  const size_t pool = size_t{1} << 17;
  std::vector<double> v(pool);
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> d(std::log(200.0), 0.8);
  for (double& x : v) x = d(rng);
  std::vector<int64_t> ts(timed ? pool : 0);
  for (size_t i = 0; i < ts.size(); ++i) ts[i] = static_cast<int64_t>(i) * kStep;
  std::vector<uint64_t> keys(keyed ? pool : 0);
  if (keyed) {
    std::vector<double> cdf;
    double acc = 0;
    if (zipf) {
      cdf.resize(series);
      for (size_t r = 0; r < series; ++r) cdf[r] = acc += std::pow(double(r + 1), -1.1);
    }
    std::uniform_real_distribution<double> u(0, 1);
    for (auto& k : keys) {
      size_t r = zipf ? size_t(std::lower_bound(cdf.begin(), cdf.end(), u(rng) * acc) - cdf.begin())
                      : size_t(u(rng) * double(series));
      k = SplitMix(std::min(r, series - 1));
    }
    std::vector<uint64_t> all(4096);
    for (size_t r = 0; r < series; r += 4096) {
      size_t n = std::min<size_t>(4096, series - r);
      for (size_t i = 0; i < n; ++i) all[i] = SplitMix(r + i);
      aggregator_push(a, v.data(), nullptr, all.data(), n);
    }
  }

  std::clock_t cpu0 = std::clock();
  auto start = std::chrono::steady_clock::now();
  if (keyed && threads > 1) {
    std::vector<std::thread> pool_threads;
    for (int th = 0; th < threads; ++th) {
      pool_threads.emplace_back([&, th] {
        size_t p = (pool / threads) * th;
        p -= p % batch;
        for (size_t done = 0; done < total / threads; done += batch) {
          if (p + batch > pool) p = 0;
          if (aggregator_push(a, v.data() + p, nullptr, keys.data() + p, batch) != AGGREGATOR_OK) {
            std::fprintf(stderr, "push: %s\n", aggregator_last_error());
            std::exit(1);
          }
          p += batch;
        }
      });
    }
    for (auto& t : pool_threads) t.join();
  }
  size_t pos = 0;
  for (size_t done = 0; done < (keyed && threads > 1 ? 0 : total); done += batch) {
    if (pos + batch > pool) {
      if (timed)
        for (auto& t : ts) t += static_cast<int64_t>(pos) * kStep;
      pos = 0;
      if (timed) {
        aggregator_window w[64];
        size_t got;
        if (cfg.window_kind != AGGREGATOR_WINDOW_SLIDING)
          aggregator_poll_windows(a, w, 64, nullptr, 0, nullptr, &got);
      }
    }
    int rc = aggregator_push(a, v.data() + pos, timed ? ts.data() + pos : nullptr,
                             keyed ? keys.data() + pos : nullptr, batch);
    if (rc != AGGREGATOR_OK) {
      std::fprintf(stderr, "push: %s\n", aggregator_last_error());
      return 1;
    }
    pos += batch;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double cpu = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
  uint64_t mem = 0;
  aggregator_memory_usage(a, &mem);
  std::printf("%s q=%d batch=%zu values=%zu threads=%d: %.3f ns/value wall, %.3f ns/value CPU "
              "(all threads), memory %llu bytes\n",
              kind, q, batch, total, threads, secs * 1e9 / double(total),
              cpu * 1e9 / double(total), static_cast<unsigned long long>(mem));
  aggregator_free(a);
  return 0;
}
