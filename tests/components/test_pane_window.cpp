// The pane window and its sketches on their own (issue 14 item 4, "memory
// follows the data"): a pane keeps its values raw while that is no bigger
// than buckets, turns into buckets in a reservation once buckets are
// smaller, and reads answer exact order statistics when every pane of the
// window is raw, within alpha when some are buckets. Linked to the
// fault-injection build of the core (internal headers, allocation hook).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <optional>
#include <random>
#include <vector>

#include "core/fault_injection.h"
#include "core/memory.h"
#include "core/pane_window.h"
#include "core/sketch.h"
#include "memory_scope.hpp"

namespace wa = windowagg::internal;
namespace fi = windowagg::internal::fault_injection;

namespace {

constexpr double kAlpha = 0.01;

// A handle-less owner of one series' pane window: its account, its scope.
struct Fixture : windowagg_test::Scoped {
  wa::PaneGeometry geo;
  wa::SketchMapping map{kAlpha};
  std::optional<wa::PaneWindow> pw;

  explicit Fixture(bool sliding = true) {
    geo.sliding = sliding;
    geo.pane = 10;
    geo.width = 600;
    geo.panes_per_window = 60;
    pw.emplace(&geo, &scope);
  }

  // What a push does: reserve every run, then apply it (no allocation).
  void Push(int64_t pane, const std::vector<double>& v) {
    wa::Pane& p = pw->ReservePane(pane);
    p.sketch.Reserve(v.data(), v.size(), map);
    {
      WINDOWAGG_NO_ALLOCATION_HERE();
      pw->AddRun(v.data(), v.size(), pane, true, map);
    }
  }
  // One value at a time, as the keyed path does.
  void PushOne(int64_t pane, double x) {
    pw->ReservePane(pane).sketch.ReserveOne(x, map);
    WINDOWAGG_NO_ALLOCATION_HERE();
    pw->Add(x, pane * geo.pane, true, map);
  }

  std::vector<double> Quantiles(int64_t wm, const std::vector<double>& q) {
    wa::WindowView view;
    pw->Current(wm, &view);
    std::vector<double> out(q.size());
    wa::Sketch::Quantiles(view.sketches.data(), view.sketches.size(), q.data(), q.size(), map,
                          view.moments.min, view.moments.max, out.data());
    return out;
  }
};

double Exact(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  if (q <= 0) return v.front();
  if (q >= 1) return v.back();
  auto r = static_cast<size_t>(std::floor(q * static_cast<double>(v.size() - 1)));
  return v[std::min(r, v.size() - 1)];
}

const std::vector<double> kQs = {0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1};

}  // namespace

TEST_CASE("pane window: a pane with few values keeps them raw, 8 bytes each",
          "[pane_window]") {
  Fixture f;
  std::vector<double> all;
  for (int64_t p = 0; p < 60; ++p) {
    std::vector<double> v;
    for (int k = 0; k < 10; ++k) v.push_back(1 + static_cast<double>((p * 7919 + k * 104729) % 10000));
    f.Push(p, v);
    all.insert(all.end(), v.begin(), v.end());
  }
  size_t sketch_bytes = 0;
  for (const wa::Pane& p : f.pw->panes()) {
    REQUIRE(p.sketch.raw_form());
    REQUIRE(p.sketch.count() == 10);
    sketch_bytes += p.sketch.bytes();
  }
  // The raw block: a 24-byte header and 10 values, in the allocator's
  // smallest class that fits (<= 8 B of slack a value here).
  CHECK(sketch_bytes <= 60 * (24 + 10 * 8 + 24));
  // Every byte is charged to the series and the handle, exactly.
  CHECK(f.account.bytes() == static_cast<uint64_t>(f.series_bytes));
  // Quantiles of an all-raw window are the order statistics themselves.
  std::vector<double> got = f.Quantiles(599, kQs);
  for (size_t j = 0; j < kQs.size(); ++j) CHECK(got[j] == Exact(all, kQs[j]));
  f.pw.reset();
  CHECK(f.account.bytes() == 0);
}

TEST_CASE("pane window: a pane turns into buckets only when they are smaller",
          "[pane_window]") {
  Fixture f;
  // Many values over few buckets: buckets are far smaller.
  std::vector<double> dup;
  for (int k = 0; k < 500; ++k) dup.push_back(100 + (k % 5));
  f.Push(0, dup);
  REQUIRE_FALSE(f.pw->panes().front().sketch.raw_form());
  CHECK(f.pw->panes().front().sketch.bytes() < 500 * 8);
  CHECK(f.pw->panes().front().sketch.count() == 500);
  // Distinct values spread over many decades: raw stays smaller.
  std::vector<double> wide;
  for (int k = 0; k < 200; ++k) wide.push_back(std::ldexp(1.0 + k / 1000.0, k * 4 - 400));
  f.Push(1, wide);
  CHECK(f.pw->panes().back().sketch.raw_form());
  // One value at a time grows the raw block; it converts at a growth once
  // the buckets are smaller (values repeat).
  for (int k = 0; k < 400; ++k) f.PushOne(2, 7.0 + (k % 3));
  const wa::Pane& p2 = f.pw->panes().back();
  CHECK_FALSE(p2.sketch.raw_form());
  CHECK(p2.sketch.count() == 400);
  CHECK(p2.moments.count == 400);
  CHECK(f.account.bytes() == static_cast<uint64_t>(f.series_bytes));
}

TEST_CASE("pane window: mixed raw and bucket panes read within alpha", "[pane_window]") {
  std::mt19937_64 rng(14);
  for (int round = 0; round < 50; ++round) {
    Fixture f;
    std::vector<double> all;
    int64_t panes = 1 + static_cast<int64_t>(rng() % 60);
    for (int64_t p = 0; p < panes; ++p) {
      std::vector<double> v;
      // Some panes repeat a handful of values (they go buckets), others hold
      // a few distinct ones (they stay raw); both signs and zeros.
      bool heavy = rng() % 3 == 0;
      size_t n = heavy ? 300 + rng() % 300 : 1 + rng() % 12;
      for (size_t k = 0; k < n; ++k) {
        double x = heavy ? static_cast<double>(rng() % 7) - 2
                         : std::ldexp(static_cast<double>(rng() % 1000) - 500,
                                      static_cast<int>(rng() % 20) - 10);
        v.push_back(x);
      }
      f.Push(p, v);
      all.insert(all.end(), v.begin(), v.end());
    }
    bool any_raw = false, any_buckets = false;
    for (const wa::Pane& p : f.pw->panes()) (p.sketch.raw_form() ? any_raw : any_buckets) = true;
    std::vector<double> got = f.Quantiles(599, kQs);
    for (size_t j = 0; j < kQs.size(); ++j) {
      double want = Exact(all, kQs[j]);
      INFO("round " << round << " q " << kQs[j] << " raw " << any_raw << " buckets "
                    << any_buckets);
      if (!any_buckets) {
        CHECK(got[j] == want);
      } else {
        CHECK(std::fabs(got[j] - want) <= kAlpha * std::fabs(want) + 1e-300);
      }
    }
  }
}

TEST_CASE("pane window: raw panes answer exact order statistics (randomized)",
          "[pane_window]") {
  std::mt19937_64 rng(4114);
  std::uniform_real_distribution<double> q01(0, 1);
  for (int round = 0; round < 200; ++round) {
    Fixture f;
    std::vector<std::vector<double>> panes(60);
    size_t per = 1 + rng() % 8;  // <= 8 values: a raw block is never bigger
    for (int64_t p = 0; p < 60; ++p) {
      if (rng() % 4 == 0) continue;  // empty panes are not stored
      size_t n = 1 + rng() % per;
      for (size_t k = 0; k < n; ++k) {
        double x;
        switch (rng() % 4) {
          case 0: x = 0.0; break;
          case 1: x = -static_cast<double>(rng() % 100); break;
          case 2: x = std::ldexp(static_cast<double>(rng() % 4096), static_cast<int>(rng() % 80) - 40); break;
          default: x = static_cast<double>(rng() % 1000) / 7; break;
        }
        panes[p].push_back(x);
      }
      if (rng() % 2) {
        f.Push(p, panes[p]);
      } else {
        for (double x : panes[p]) f.PushOne(p, x);
      }
    }
    // The window at watermark wm covers the last 60 panes; slide it too.
    int64_t slide = static_cast<int64_t>(rng() % 30);
    int64_t wm = 599 + slide * 10;
    f.pw->Advance(wm, [](const wa::WindowView&) {});
    std::vector<double> all;
    for (int64_t p = slide; p < 60; ++p) all.insert(all.end(), panes[p].begin(), panes[p].end());
    for (const wa::Pane& p : f.pw->panes()) REQUIRE(p.sketch.raw_form());
    std::vector<double> qs = kQs;
    for (int k = 0; k < 5; ++k) qs.push_back(q01(rng));
    std::vector<double> got = f.Quantiles(wm, qs);
    for (size_t j = 0; j < qs.size(); ++j) {
      if (all.empty()) {
        CHECK(std::isnan(got[j]));
      } else {
        INFO("round " << round << " q " << qs[j] << " n " << all.size());
        CHECK(got[j] == Exact(all, qs[j]));
      }
    }
  }
}

TEST_CASE("pane window: merging raw and bucket panes", "[pane_window]") {
  Fixture a, b;
  std::vector<double> few = {3, 1, 2}, many;
  for (int k = 0; k < 600; ++k) many.push_back(5 + k % 4);
  a.Push(0, few);
  b.Push(0, many);
  b.Push(1, few);
  // Bucket pane into a raw one (converts at the reservation), raw into raw,
  // raw into buckets: counts add up, allocation only in the reservation.
  for (const wa::Pane& p : b.pw->panes()) {
    wa::Pane& into = a.pw->ReservePane(p.index);
    into.sketch.ReserveMerge(p.sketch);
  }
  {
    WINDOWAGG_NO_ALLOCATION_HERE();
    for (const wa::Pane& p : b.pw->panes()) {
      wa::Pane& into = a.pw->PaneAt(p.index);
      into.moments.Merge(p.moments);
      into.sketch.MergeReserved(p.sketch);
      into.sketch.ClearPending();
    }
  }
  CHECK(a.pw->panes()[0].sketch.count() == 603);
  CHECK_FALSE(a.pw->panes()[0].sketch.raw_form());
  CHECK(a.pw->panes()[1].sketch.count() == 3);
  CHECK(a.pw->panes()[1].sketch.raw_form());
  wa::Sketch closed(&a.scope);
  for (const wa::Pane& p : a.pw->panes()) closed.MergeFrom(p.sketch);
  CHECK(closed.count() == 606);
}

TEST_CASE("pane window: a failed conversion leaves the raw pane as it was",
          "[pane_window][allocation_failure]") {
  Fixture f;
  std::vector<double> first = {1, 2, 3, 4, 5, 6, 7};
  f.Push(0, first);
  REQUIRE(f.pw->panes().front().sketch.raw_form());
  std::vector<double> more(1000, 2.0);  // buckets will be smaller: converts
  // Fail each allocation of the reservation in turn, until one runs through.
  bool converted = false;
  for (uint64_t n = 1; n < 100 && !converted; ++n) {
    const uint64_t before = f.account.bytes();
    fi::FailNth(n);
    try {
      f.pw->ReservePane(0).sketch.Reserve(more.data(), more.size(), f.map);
      converted = true;
    } catch (const std::bad_alloc&) {
    }
    fi::Disarm();
    if (converted) break;
    f.pw->UndoReservations();
    const wa::Sketch& s = f.pw->panes().front().sketch;
    CHECK(s.raw_form());
    CHECK(s.count() == first.size());
    CHECK(f.account.bytes() == before);
    std::vector<double> got = f.Quantiles(599, {0, 0.5, 1});
    CHECK(got == std::vector<double>{1, 4, 7});
  }
  REQUIRE(converted);
  f.pw->UndoReservations();
  // Unfailed, it converts and takes the values.
  f.Push(0, more);
  CHECK_FALSE(f.pw->panes().front().sketch.raw_form());
  CHECK(f.pw->panes().front().sketch.count() == 1007);
}
