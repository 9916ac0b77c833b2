// windowagg C++ example (windowagg.hpp): per-endpoint request latencies with
// string keys through 10 s hopping windows (every 2 s), then per-series stats,
// a state snapshot restored and merged, and the error model.
//
// usage: windowagg-example-cpp [samples]   (default 200000, ~20 s of event time)
#include <windowagg/windowagg.hpp>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr std::array<double, 3> kQ{0.5, 0.99, 0.999};

struct Endpoint {
  std::string_view name;
  double median_us;
};
constexpr std::array<Endpoint, 4> kEndpoints{{
    {"/api/users", 300}, {"/api/orders", 900}, {"/api/search", 2500}, {"/healthz", 40}}};

void print_window(const windowagg::ClosedWindow& w,
                  const std::unordered_map<uint64_t, std::string_view>& names) {
  std::printf("hopping [%5.1fs,%5.1fs) %-12s n=%-6" PRIu64
              " mean=%8.1f p50=%8.1f p99=%8.1f p999=%8.1f\n",
              double(w.stats.window_start) / kSec, double(w.stats.window_end) / kSec,
              std::string(names.at(w.key)).c_str(), w.stats.count, w.stats.mean,
              w.quantiles[0], w.quantiles[1], w.quantiles[2]);
}

}  // namespace

int main(int argc, char** argv) try {
  long long samples = argc > 1 ? std::atoll(argv[1]) : 200000;
  if (samples <= 0) {
    std::fprintf(stderr, "usage: %s [samples > 0]\n", argv[0]);
    return 2;
  }
  std::printf("windowagg %s (C++ wrapper)\n", std::string(windowagg::version()).c_str());

  std::unordered_map<uint64_t, std::string_view> names;
  for (const auto& e : kEndpoints) names[windowagg::key_hash(e.name)] = e.name;

  const auto cfg = windowagg::Config::hopping(10 * kSec, 2 * kSec).allowed_lateness(kSec / 2);
  windowagg::Aggregator agg(cfg);

  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> noise(0.0, 0.5);
  std::uniform_int_distribution<size_t> pick(0, kEndpoints.size() - 1);
  std::uniform_int_distribution<int64_t> gap(50'000, 150'000);  // ~10k requests/s

  constexpr size_t kBatch = 2048;
  std::vector<double> values;
  std::vector<int64_t> ts;
  std::vector<std::string_view> keys;
  int64_t now = 0;
  for (long long done = 0; done < samples;) {
    size_t n = static_cast<size_t>(std::min<long long>(kBatch, samples - done));
    values.clear();
    ts.clear();
    keys.clear();
    for (size_t i = 0; i < n; ++i) {
      const Endpoint& e = kEndpoints[pick(rng)];
      now += gap(rng);
      values.push_back(e.median_us * noise(rng));
      ts.push_back(now);
      keys.push_back(e.name);
    }
    agg.push_named(values, keys, ts);
    done += static_cast<long long>(n);
    for (const auto& w : agg.poll_windows(kQ))
      if (w.key == windowagg::key_hash("/api/search")) print_window(w, names);
  }
  std::printf("\nseries (current window), %" PRIu64 " keys, %" PRIu64 " bytes:\n",
              agg.key_count(), agg.memory_usage());
  for (const auto& s : agg.list_stats(kQ))
    std::printf("  %-12s n=%-6" PRIu64 " total=%-7" PRIu64 " p50=%8.1f p99=%8.1f\n",
                agg.key_name(s.key).c_str(), s.stats.count, s.stats.total, s.quantiles[0],
                s.quantiles[1]);

  agg.advance(now + 11 * kSec);  // end of stream: close every window
  std::printf("%zu windows closed at end of stream\n", agg.poll_windows(kQ).size());

  // Snapshot, restore, merge: e.g. handing state to another process or
  // combining shards. Merging a state into a copy of itself doubles it.
  std::vector<std::byte> snapshot = agg.serialize();
  auto copy = windowagg::Aggregator::restore(snapshot);
  const uint64_t restored = copy.stats().total;
  copy.merge(snapshot);
  std::printf("snapshot %zu bytes: original total=%" PRIu64 ", restored=%" PRIu64
              ", restored+merged=%" PRIu64 "\n",
              snapshot.size(), agg.stats().total, restored, copy.stats().total);

  // Errors are exceptions carrying the status and the library's message.
  try {
    windowagg::Aggregator bad(windowagg::Config::hopping(10 * kSec, 3 * kSec));
  } catch (const windowagg::Error& e) {
    std::printf("invalid config refused: status %d: %s\n", e.status(), e.detail().c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
