// The sketch's parts on their own (no handle, no C ABI): the log mapping,
// the bucket store's sparse/dense representations and its reservations, and
// the sketch's quantiles, removal and merge, each against brute force.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "core/fault_injection.h"
#include "core/memory.h"
#include "core/sketch.h"
#include "memory_scope.hpp"

namespace wa = windowagg::internal;

namespace {

using windowagg_test::Scoped;

std::map<int32_t, uint64_t> Contents(const wa::BucketStore& s) {
  std::map<int32_t, uint64_t> out;
  s.ForEach([&](int32_t i, uint64_t c) { out[i] += c; });
  return out;
}

// The value of rank floor(q * (n - 1)) of the sorted values: the sketch's
// documented quantile definition.
double RankValue(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::floor(q * static_cast<double>(v.size() - 1)))];
}

std::map<int32_t, uint64_t> Buckets(const wa::Sketch& s, bool negative) {
  std::map<int32_t, uint64_t> out;
  s.ForEachBucket(negative, [&](int32_t i, uint64_t c) { out[i] += c; });
  return out;
}

}  // namespace

TEST_CASE("mapping: every value is within alpha of its bucket's value", "[components][sketch]") {
  for (double alpha : {0.001, 0.01, 0.05}) {
    wa::SketchMapping map(alpha);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> exponent(-300, 300);
    for (int k = 0; k < 20000; ++k) {
      double x = std::pow(10.0, exponent(rng));
      double v = map.Value(map.Index(x));
      INFO("alpha " << alpha << " x " << x << " bucket value " << v);
      REQUIRE(std::abs(v - x) <= alpha * x * (1 + 1e-12));
    }
  }
}

TEST_CASE("bucket store: sparse and dense hold the same counts", "[components][sketch]") {
  Scoped m;
  std::mt19937_64 rng(11);
  for (int32_t spread : {8, 40, 200, 5000}) {
    wa::BucketStore store;
    std::map<int32_t, uint64_t> expect;
    std::uniform_int_distribution<int32_t> idx(-spread, spread);
    for (int k = 0; k < 3000; ++k) {
      int32_t i = idx(rng);
      store.Add(i, 1, m.scope);
      ++expect[i];
      if (k % 3 == 0) {  // remove something present
        auto it = expect.begin();
        std::advance(it, static_cast<long>(rng() % expect.size()));
        store.Remove(it->first, 1);
        if (--it->second == 0) expect.erase(it);
      }
    }
    uint64_t total = 0;
    for (auto& [i, c] : expect) total += c;
    INFO("spread " << spread << (store.dense() ? " dense" : " sparse"));
    REQUIRE(store.total() == total);
    REQUIRE(Contents(store) == expect);
    // More distinct buckets than the sparse form keeps: dense (when the span fits).
    if (expect.size() > wa::BucketStore::kSparseMax) REQUIRE(store.dense());
    int32_t lo, hi;
    REQUIRE(store.NonZeroRange(&lo, &hi) == !expect.empty());
    if (!expect.empty()) {
      REQUIRE(lo == expect.begin()->first);
      REQUIRE(hi == expect.rbegin()->first);
    }
    // Descending walk visits the same buckets in reverse.
    std::vector<int32_t> down;
    store.ForEachWhile(true, [&](int32_t i, uint64_t) {
      down.push_back(i);
      return true;
    });
    REQUIRE(std::is_sorted(down.rbegin(), down.rend()));
    REQUIRE(down.size() == expect.size());
    store.Free(m.scope);
  }
  REQUIRE(m.account.bytes() == 0);
  REQUIRE(m.series_bytes == 0);
}

TEST_CASE("bucket store: a span wider than the dense limit stays sparse", "[components][sketch]") {
  Scoped m;
  wa::BucketStore store;
  const int32_t far = static_cast<int32_t>(wa::BucketStore::kMaxDenseBuckets) + 10;
  for (int32_t k = 0; k < 100; ++k) store.Add(k, 1, m.scope);
  store.Add(far, 1, m.scope);
  REQUIRE_FALSE(store.dense());
  REQUIRE(store.total() == 101);
  REQUIRE_FALSE(store.CoverDense(0, far, m.scope));
  REQUIRE(Contents(store).size() == 101);
  store.Free(m.scope);
  REQUIRE(m.account.bytes() == 0);
}

TEST_CASE("bucket store: a count past 2^32 turns the store dense", "[components][sketch]") {
  Scoped m;
  wa::BucketStore store;
  store.Add(3, uint64_t{1} << 33, m.scope);
  store.Add(4, 1, m.scope);
  REQUIRE(store.dense());
  REQUIRE(Contents(store) == std::map<int32_t, uint64_t>{{3, uint64_t{1} << 33}, {4, 1}});
  store.Free(m.scope);
}

TEST_CASE("bucket store: a reservation makes the adds allocation-free; undo restores",
          "[components][sketch]") {
  Scoped m;
  wa::BucketStore store;
  for (int32_t k = 0; k < 10; ++k) store.Add(k * 2, 1, m.scope);
  const auto before = Contents(store);

  std::vector<int32_t> idx;
  for (int32_t k = 100; k < 160; ++k) idx.push_back(k);  // 60 new buckets: forces dense
  store.ReserveExact(idx.data(), idx.size(), idx.size(), m.scope);
  {
    WINDOWAGG_NO_ALLOCATION_HERE();
    for (int32_t i : idx) store.Add(i, 1, m.scope);
  }
  store.ClearPending();
  REQUIRE(store.total() == 70);

  // Undo: a reservation that was never applied leaves the counts as they were.
  wa::BucketStore other;
  for (int32_t k = 0; k < 10; ++k) other.Add(k * 2, 1, m.scope);
  int32_t one = 1000;
  other.ReserveExact(&one, 1, 1, m.scope);
  other.Undo();
  REQUIRE(Contents(other) == before);
  REQUIRE(other.total() == 10);
  store.Free(m.scope);
  other.Free(m.scope);
  REQUIRE(m.account.bytes() == 0);
}

TEST_CASE("bucket store: merge adds bucket-wise", "[components][sketch]") {
  Scoped m;
  std::mt19937_64 rng(5);
  for (int32_t spread : {10, 400}) {
    wa::BucketStore a, b;
    std::map<int32_t, uint64_t> expect;
    std::uniform_int_distribution<int32_t> idx(-spread, spread);
    for (int k = 0; k < 500; ++k) {
      int32_t i = idx(rng), j = idx(rng) + spread / 2;
      a.Add(i, 1, m.scope);
      b.Add(j, 2, m.scope);
      expect[i] += 1;
      expect[j] += 2;
    }
    a.MergeFrom(b, m.scope);
    REQUIRE(Contents(a) == expect);
    REQUIRE(a.total() == 1500);
    a.Free(m.scope);
    b.Free(m.scope);
  }
  REQUIRE(m.account.bytes() == 0);
}

TEST_CASE("sketch: quantiles within alpha of the exact rank value", "[components][sketch]") {
  Scoped m;
  const double alpha = 0.01;
  wa::SketchMapping map(alpha);
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> lognormal(0, 2);
  std::normal_distribution<double> normal(0, 100);
  for (int dist = 0; dist < 4; ++dist) {
    // Both forms: raw (exact while it stays raw) and buckets.
    const bool raw = dist >= 2;
    const int n = raw ? 300 : 20000;
    wa::Sketch sketch(&m.scope, raw);
    std::vector<double> values;
    for (int k = 0; k < n; ++k) {
      double x = dist % 2 == 0 ? lognormal(rng) : normal(rng);
      if (k % 100 == 0) x = 0;
      values.push_back(x);
      sketch.Add(x, map);
    }
    REQUIRE(sketch.count() == values.size());
    const double qs[] = {0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0};
    double out[7];
    const wa::Sketch* parts[] = {&sketch};
    double lo = *std::min_element(values.begin(), values.end());
    double hi = *std::max_element(values.begin(), values.end());
    wa::Sketch::Quantiles(parts, 1, qs, 7, map, lo, hi, out);
    for (int j = 0; j < 7; ++j) {
      double exact = RankValue(values, qs[j]);
      INFO("dist " << dist << " q " << qs[j] << " exact " << exact << " sketch " << out[j]
                   << (sketch.raw_form() ? " (raw)" : " (buckets)"));
      REQUIRE(std::abs(out[j] - exact) <= alpha * std::abs(exact) + 1e-300);
      if (sketch.raw_form()) REQUIRE(out[j] == exact);
    }
  }
}

TEST_CASE("sketch: removing what was added is exact; merge equals the union",
          "[components][sketch]") {
  Scoped m;
  wa::SketchMapping map(0.01);
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-50, 50);
  // Bucket form: removal is what count windows need (they never go raw).
  wa::Sketch all(&m.scope, false), left(&m.scope, false), right(&m.scope, false);
  std::vector<double> values;
  for (int k = 0; k < 4000; ++k) {
    double x = u(rng);
    values.push_back(x);
    all.Add(x, map);
    (k % 2 ? left : right).Add(x, map);
  }
  left.MergeFrom(right);
  REQUIRE(Buckets(left, false) == Buckets(all, false));
  REQUIRE(Buckets(left, true) == Buckets(all, true));
  REQUIRE(left.zero_count() == all.zero_count());

  // Remove every other value from `all` and compare with a sketch of the rest.
  wa::Sketch rest(&m.scope, false);
  for (size_t k = 0; k < values.size(); ++k) {
    if (k % 2) {
      all.Remove(values[k], map);
    } else {
      rest.Add(values[k], map);
    }
  }
  REQUIRE(all.count() == rest.count());
  REQUIRE(Buckets(all, false) == Buckets(rest, false));
  REQUIRE(Buckets(all, true) == Buckets(rest, true));
}

TEST_CASE("sketch: Reserve then AddSpan allocates nothing", "[components][sketch]") {
  Scoped m;
  wa::SketchMapping map(0.01);
  std::mt19937_64 rng(21);
  std::lognormal_distribution<double> lognormal(1, 3);
  wa::Sketch sketch(&m.scope);  // starts raw, turns into buckets as it grows
  for (int round = 0; round < 20; ++round) {
    std::vector<double> x(257);
    for (double& v : x) v = (rng() % 2 ? 1 : -1) * lognormal(rng);
    sketch.Reserve(x.data(), x.size(), map);
    {
      WINDOWAGG_NO_ALLOCATION_HERE();
      sketch.AddSpan(x.data(), x.size(), map);
    }
    sketch.ClearPending();
  }
  REQUIRE(sketch.count() == 20 * 257);
}
