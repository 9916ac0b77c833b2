// The count window on its own (no handle, no C ABI): after any sequence of
// pushes its values, aggregates and sketch equal a brute-force recomputation
// over the last N values, for small windows (ring only) and large ones
// (blocks + Two-Stacks), and restore rebuilds the same state.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <random>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/count_window.h"
#include "core/fault_injection.h"
#include "core/memory.h"
#include "core/sketch.h"
#include "memory_scope.hpp"

namespace wa = windowagg::internal;

namespace {

using windowagg_test::Scoped;

std::vector<std::pair<int32_t, uint64_t>> Buckets(const wa::Sketch& s, bool negative) {
  std::vector<std::pair<int32_t, uint64_t>> out;
  s.ForEachBucket(negative, [&](int32_t i, uint64_t c) { out.emplace_back(i, c); });
  return out;
}

std::vector<double> WindowValues(const wa::CountWindow& w) {
  const double *a, *b;
  size_t na, nb;
  w.Segments(&a, &na, &b, &nb);
  std::vector<double> out(a, a + na);
  out.insert(out.end(), b, b + nb);
  return out;
}

void RequireMatches(const wa::CountWindow& w, const std::deque<double>& expect,
                    const wa::Sketch* sketch, const wa::SketchMapping& map) {
  std::vector<double> want(expect.begin(), expect.end());
  REQUIRE(w.size() == want.size());
  REQUIRE(WindowValues(w) == want);
  wa::Moments got = w.Summary();
  REQUIRE(got.count == want.size());
  if (want.empty()) return;
  double sum = 0;
  for (double x : want) sum += x;
  double mean = sum / static_cast<double>(want.size());
  double m2 = 0;
  for (double x : want) m2 += (x - mean) * (x - mean);
  REQUIRE(got.min == *std::min_element(want.begin(), want.end()));
  REQUIRE(got.max == *std::max_element(want.begin(), want.end()));
  REQUIRE(got.Sum() == Approx(sum).epsilon(1e-12).margin(1e-9));
  REQUIRE(got.mean == Approx(mean).epsilon(1e-12).margin(1e-9));
  if (want.size() > 1) {
    REQUIRE(got.Variance() == Approx(m2 / static_cast<double>(want.size() - 1)).epsilon(1e-9));
  }
  if (sketch != nullptr) {
    // The sketch holds exactly the window's values: bucket for bucket the
    // sketch of a fresh recomputation.
    Scoped fresh;
    wa::Sketch recomputed(&fresh.scope);
    for (double x : want) recomputed.Add(x, map);
    REQUIRE(sketch->count() == want.size());
    REQUIRE(sketch->zero_count() == recomputed.zero_count());
    REQUIRE(Buckets(*sketch, false) == Buckets(recomputed, false));
    REQUIRE(Buckets(*sketch, true) == Buckets(recomputed, true));
  }
}

}  // namespace

TEST_CASE("count window: equals the last N values after random pushes", "[components][count]") {
  std::mt19937_64 rng(17);
  std::normal_distribution<double> normal(10, 50);
  wa::SketchMapping map(0.01);
  for (uint64_t capacity : {1u, 7u, 64u, 1024u, 1025u, 5000u}) {
    for (bool with_sketch : {false, true}) {
      Scoped m;
      {
      wa::CountWindow w(capacity, &m.scope, /*quantiles=*/with_sketch);
      // Small windows keep only the ring (exact quantiles from it); large
      // ones keep their sketch equal to the window.
      const wa::Sketch* sk = w.sketch();
      REQUIRE((sk != nullptr) == (with_sketch && !w.small()));
      std::deque<double> expect;
      for (int round = 0; round < 60; ++round) {
        // Batch sizes from 0 to ~3 windows, and single values.
        size_t n = round % 5 == 0 ? 1 : rng() % (3 * capacity + 2);
        std::vector<double> x(n);
        for (double& v : x) v = normal(rng);
        if (round % 3 == 1) {  // the keyed path: one value at a time
          w.Reserve(n, m.scope);
          for (double v : x) w.PushOne(v, map, m.scope);
          w.EndReservation();
        } else {
          w.Push(x.data(), x.size(), map, m.scope);
        }
        for (double v : x) {
          expect.push_back(v);
          if (expect.size() > capacity) expect.pop_front();
        }
        INFO("capacity " << capacity << " round " << round << " n " << n);
        RequireMatches(w, expect, sk, map);
      }
      w.Free(m.scope);
      }
      REQUIRE(m.account.bytes() == 0);
    }
  }
}

TEST_CASE("count window: a reservation makes the pushes allocation-free", "[components][count]") {
  Scoped m;
  wa::SketchMapping map(0.01);
  for (uint64_t capacity : {100u, 4096u}) {
    wa::CountWindow w(capacity, &m.scope, /*quantiles=*/false);
    std::mt19937_64 rng(2);
    for (int round = 0; round < 30; ++round) {
      size_t n = 1 + rng() % 300;
      w.Reserve(n, m.scope);
      {
        WINDOWAGG_NO_ALLOCATION_HERE();
        for (size_t k = 0; k < n; ++k) {
          w.PushOne(static_cast<double>(rng() % 1000), map, m.scope);
        }
      }
      w.EndReservation();
    }
    w.Free(m.scope);
  }
  REQUIRE(m.account.bytes() == 0);
}

TEST_CASE("count window: restore rebuilds the same window", "[components][count]") {
  wa::SketchMapping map(0.01);
  std::mt19937_64 rng(4);
  for (uint64_t capacity : {10u, 3000u}) {
    Scoped m;
    wa::CountWindow w(capacity, &m.scope, /*quantiles=*/false);
    std::vector<double> all;
    for (int k = 0; k < 7777; ++k) all.push_back(static_cast<double>(rng() % 100000) / 7.0);
    w.Push(all.data(), all.size(), map, m.scope);
    std::vector<double> held = WindowValues(w);

    wa::CountWindow back(capacity, &m.scope, /*quantiles=*/false);
    back.Restore(held.data(), held.size(), w.total(), map, m.scope);
    REQUIRE(back.total() == w.total());
    REQUIRE(WindowValues(back) == held);
    wa::Moments a = w.Summary(), b = back.Summary();
    REQUIRE(a.count == b.count);
    REQUIRE(a.min == b.min);
    REQUIRE(a.max == b.max);
    REQUIRE(a.Sum() == Approx(b.Sum()).epsilon(1e-12));
    // Both continue identically.
    std::vector<double> more(capacity / 2 + 3, 1.5);
    w.Push(more.data(), more.size(), map, m.scope);
    back.Push(more.data(), more.size(), map, m.scope);
    REQUIRE(WindowValues(back) == WindowValues(w));
    w.Free(m.scope);
    back.Free(m.scope);
    REQUIRE(m.account.bytes() == 0);
  }
}
