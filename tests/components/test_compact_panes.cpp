// The compact form of a pane window on its own (issue 14 item 4): RawPanes
// against a model of pane -> values, and a compact PaneWindow against a
// brute-force window (exact moments and order statistics of the values its
// panes hold), through its turn into panes and back, merges of either form
// into either, the serialized bytes of both forms, and allocation failure
// at every allocation of a reservation. Linked to the fault-injection
// build of the core.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/fault_injection.h"
#include "core/memory.h"
#include "core/moments.h"
#include "core/pane_window.h"
#include "core/raw_panes.h"
#include "core/sketch.h"
#include "core/wire.h"
#include "memory_scope.hpp"

namespace wa = windowagg::internal;
namespace fi = windowagg::internal::fault_injection;

namespace {

constexpr double kAlpha = 0.01;
const std::vector<double> kQs = {0, 0.01, 0.25, 0.5, 0.75, 0.99, 0.999, 1};

using Model = std::map<int64_t, std::vector<double>>;

std::vector<double> Flatten(const Model& m, int64_t lo, int64_t hi) {
  std::vector<double> out;
  for (const auto& [p, v] : m) {
    if (p >= lo && p <= hi) out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

double Rank(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  if (q <= 0) return v.front();
  if (q >= 1) return v.back();
  auto r = static_cast<size_t>(std::floor(q * static_cast<double>(v.size() - 1)));
  return v[std::min(r, v.size() - 1)];
}

// A sliding window of 60 panes of width 10 with quantiles; compact up to
// `compact` values (0: always panes).
struct Window : windowagg_test::Scoped {
  wa::PaneGeometry geo;
  wa::SketchMapping map{kAlpha};
  std::optional<wa::PaneWindow> pw;

  explicit Window(uint32_t compact, bool sliding = true) {
    geo.sliding = sliding;
    geo.pane = 10;
    geo.width = 600;
    geo.panes_per_window = 60;
    geo.quantiles = true;
    geo.compact_values = compact;
    geo.alpha = kAlpha;
    pw.emplace(&geo, &scope);
  }
  ~Window() {
    pw.reset();
    CHECK(account.bytes() == 0);  // every block given back
  }

  // What a push does: reserve every run, then apply them allocation-free.
  // Runs are (pane, values); returns false if a run's pane was closed.
  bool Push(const std::vector<std::pair<int64_t, std::vector<double>>>& runs) {
    try {
      for (const auto& [pane, v] : runs) {
        if (!pw->ReserveRun(v.data(), nullptr, v.size(), pane, map, scope)) {
          pw->UndoReservations();
          return false;
        }
      }
    } catch (...) {
      pw->UndoReservations();
      throw;
    }
    WINDOWAGG_NO_ALLOCATION_HERE();
    for (const auto& [pane, v] : runs) REQUIRE(pw->AddRun(v.data(), nullptr, v.size(), pane, map, scope));
    pw->EndReservation();
    return true;
  }

  std::vector<uint8_t> Bytes() const {
    wa::WireSink count;
    pw->Write(count);
    std::vector<uint8_t> out(count.size());
    wa::WireSink sink(out.data(), out.size());
    pw->Write(sink);
    REQUIRE_FALSE(sink.overflowed());
    return out;
  }

  std::vector<double> Quantiles(const wa::WindowView& view) const {
    std::vector<double> out(kQs.size());
    if (view.exact) {
      std::vector<double> v(view.exact_a, view.exact_a + view.exact_na);
      v.insert(v.end(), view.exact_b, view.exact_b + view.exact_nb);
      wa::OrderStatistics(v.data(), v.size(), kQs.data(), kQs.size(), out.data());
    } else {
      wa::Sketch::Quantiles(view.sketches.data(), view.sketches.size(), kQs.data(), kQs.size(),
                            map, view.moments.min, view.moments.max, out.data());
    }
    return out;
  }

  // The window at watermark wm against the model's panes in it.
  void CheckAgainst(const Model& model, int64_t wm, bool exact_quantiles) {
    pw->Advance(wm, [](const wa::WindowView&) {});
    wa::WindowView view;
    pw->Current(wm, &view);
    const int64_t cur = wa::PaneOf(wm, geo.pane);
    std::vector<double> in = Flatten(model, cur - geo.panes_per_window + 1, cur);
    std::string held;
    for (uint32_t k = 0; k < pw->raw_panes().pane_count(); ++k)
      held += std::to_string(pw->raw_panes().index(k)) + ":" + std::to_string(pw->raw_panes().count(k)) + " ";
    std::string in_model;
    for (auto& [p, v] : model) in_model += std::to_string(p) + ":" + std::to_string(v.size()) + " ";
    INFO("wm " << wm << " cur " << cur << " compact " << pw->compact() << " held " << held << " model " << in_model);
    REQUIRE(view.moments.count == in.size());
    if (in.empty()) return;
    wa::Moments ref = wa::SummarizeSpan(in.data(), in.size());
    CHECK(view.moments.min == ref.min);
    CHECK(view.moments.max == ref.max);
    CHECK(view.moments.Sum() == Approx(ref.Sum()).epsilon(1e-12));
    CHECK(view.moments.mean == Approx(ref.mean).epsilon(1e-12));
    std::vector<double> got = Quantiles(view);
    for (size_t j = 0; j < kQs.size(); ++j) {
      INFO("q " << kQs[j] << " of " << in.size() << " values, compact " << pw->compact());
      const double want = Rank(in, kQs[j]);
      if (exact_quantiles) {
        CHECK(got[j] == want);
      } else {
        CHECK(std::fabs(got[j] - want) <= kAlpha * std::fabs(want) * 1.0000001);
      }
    }
  }
};

std::vector<double> RandomValues(std::mt19937_64& rng, size_t n) {
  std::vector<double> v(n);
  // Spread over four decades, both signs, some repeats.
  for (double& x : v) {
    x = std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000.0, static_cast<int>(rng() % 14));
    if (rng() % 5 == 0) x = -x;
  }
  return v;
}

}  // namespace

TEST_CASE("raw panes: values grouped by pane, any insertion order, rings wrapping, against a model",
          "[compact_panes]") {
  std::mt19937_64 rng(41);
  for (int round = 0; round < 200; ++round) {
    windowagg_test::Scoped s;
    {
      wa::RawPanes raw;
      Model model;
      for (int call = 0; call < 20; ++call) {
        // A call: a few runs into panes near the newest, then maybe a pop.
        std::vector<std::pair<int64_t, std::vector<double>>> runs;
        const size_t nruns = 1 + rng() % 4;
        const int64_t newest = model.empty() ? 100 : model.rbegin()->first;
        for (size_t r = 0; r < nruns; ++r) {
          const int64_t pane = newest + static_cast<int64_t>(rng() % 8) - 5;
          runs.push_back({pane, RandomValues(rng, 1 + rng() % 30)});
        }
        for (const auto& [pane, v] : runs) raw.Reserve(pane, v.size(), s.scope);
        {
          WINDOWAGG_NO_ALLOCATION_HERE();
          for (const auto& [pane, v] : runs) {
            raw.Add(pane, v.data(), v.size());
            auto& m = model[pane];
            m.insert(m.end(), v.begin(), v.end());
          }
        }
        raw.ClearPending(s.scope);
        // Chunks held: the live values' (the first may start mid-chunk)
        // and one spare at most.
        REQUIRE(raw.chunk_count() <=
                (raw.value_count() + wa::RawPanes::kChunkValues - 1) / wa::RawPanes::kChunkValues + 2);
        if (rng() % 3 == 0 && !model.empty()) {
          const uint32_t k = static_cast<uint32_t>(rng() % (model.size() + 1));
          raw.PopFront(k);
          for (uint32_t j = 0; j < k; ++j) model.erase(model.begin());
        }
        REQUIRE(raw.pane_count() == model.size());
        size_t total = 0;
        std::vector<double> all;
        auto it = model.begin();
        raw.ForEachPane(0, raw.pane_count(), [&](uint32_t k, int64_t index, std::span<const double> got) {
          REQUIRE(raw.index(k) == it->first);
          REQUIRE(index == it->first);
          // Within a pane, values keep their arrival order.
          REQUIRE(std::vector<double>(got.begin(), got.end()) == it->second);
          total += got.size();
          all.insert(all.end(), it->second.begin(), it->second.end());
          ++it;
        });
        REQUIRE(it == model.end());
        REQUIRE(raw.value_count() == total);
        // All of them, in pane order, in one piece; and any pane range.
        wa::ScratchVector<double> copied;
        raw.CopyValues(0, raw.pane_count(), &copied);
        REQUIRE(std::vector<double>(copied.begin(), copied.end()) == all);
        if (raw.pane_count() >= 2) {
          copied.clear();
          raw.CopyValues(1, raw.pane_count() - 1, &copied);
          std::vector<double> middle;
          auto mid = std::next(model.begin());
          for (size_t j = 1; j + 1 < model.size(); ++j, ++mid) {
            middle.insert(middle.end(), mid->second.begin(), mid->second.end());
          }
          REQUIRE(std::vector<double>(copied.begin(), copied.end()) == middle);
        }

        // LowerBound, around and between every live pane (its front probe
        // and its binary search), against the model's.
        if (!model.empty()) {
          for (int64_t q = model.begin()->first - 2; q <= model.rbegin()->first + 2; ++q) {
            const auto want = static_cast<uint32_t>(
                std::distance(model.begin(), model.lower_bound(q)));
            REQUIRE(raw.LowerBound(q) == want);
          }
        } else {
          REQUIRE(raw.LowerBound(0) == 0);
        }
        CHECK(s.account.bytes() == static_cast<uint64_t>(s.series_bytes));
      }
      raw.Free(s.scope);
    }
    REQUIRE(s.account.bytes() == 0);
  }
}

TEST_CASE("raw panes: an undone reservation leaves nothing; an emptied block is freed",
          "[compact_panes]") {
  windowagg_test::Scoped s;
  wa::RawPanes raw;
  raw.Reserve(7, 100, s.scope);
  CHECK(raw.pending());
  CHECK(s.account.bytes() > 0);
  raw.ClearPending(s.scope);  // nothing was added: the block goes
  CHECK(s.account.bytes() == 0);
  CHECK(raw.empty());
  std::vector<double> v = {1, 2, 3};
  raw.Reserve(7, 3, s.scope);
  raw.Add(7, v.data(), v.size());
  raw.ClearPending(s.scope);
  CHECK(raw.value_count() == 3);
  raw.PopFront(1);
  raw.ClearPending(s.scope);
  CHECK(s.account.bytes() == 0);
  // Every pane slides out while a call still holds room (a reader's advance
  // between two runs of a push): the block stays, and growing it then has
  // no values to copy (UBSan refused the copy from a null span once).
  raw.Reserve(9, 4, s.scope);
  raw.Add(9, v.data(), 2);
  raw.PopFront(1);
  CHECK(raw.empty());
  std::vector<double> many(1000, 2.5);
  raw.Reserve(10, many.size(), s.scope);
  raw.Add(10, many.data(), many.size());
  raw.ClearPending(s.scope);
  CHECK(raw.value_count() == 1000);
  raw.Free(s.scope);
  CHECK(s.account.bytes() == 0);
}

TEST_CASE("compact pane window: randomized streams against a brute-force window",
          "[compact_panes]") {
  std::mt19937_64 rng(42);
  for (bool sliding : {true, false}) {
    for (int round = 0; round < 60; ++round) {
      INFO("sliding " << sliding << " round " << round);
      // A small compact bound so streams cross it both ways.
      Window w(/*compact=*/64 + static_cast<uint32_t>(rng() % 200), sliding);
      Model model;
      int64_t wm = 0;
      bool saw_compact = false, saw_panes = false;
      for (int call = 0; call < 60; ++call) {
        // Rates change: quiet stretches, bursts, jumps of the watermark.
        const int mode = static_cast<int>(rng() % 10);
        const int64_t step = mode == 0 ? 700 : static_cast<int64_t>(rng() % 40);
        wm += step;
        const size_t nvalues = mode < 3 ? 1 + rng() % 4 : (mode < 8 ? rng() % 40 : 100 + rng() % 300);
        std::vector<std::pair<int64_t, std::vector<double>>> runs;
        for (size_t i = 0; i < nvalues;) {
          const int64_t t = wm - static_cast<int64_t>(rng() % 50);  // some out of order
          const int64_t pane = wa::PaneOf(t, w.geo.pane);
          const size_t run = 1 + rng() % 8;
          runs.push_back({pane, RandomValues(rng, run)});
          i += run;
        }
        // The reference takes what the window takes: runs in open panes.
        std::vector<std::pair<int64_t, std::vector<double>>> open;
        for (auto& r : runs) {
          if (w.pw->PaneOpen(r.first)) open.push_back(r);
        }
        REQUIRE(w.Push(open));
        for (const auto& [pane, v] : open) {
          auto& m = model[pane];
          m.insert(m.end(), v.begin(), v.end());
        }
        // Panes before the window are gone from the reference as well.
        const int64_t cur = wa::PaneOf(wm, w.geo.pane);
        w.CheckAgainst(model, wm, /*exact_quantiles=*/w.pw->compact());
        // (Panes before the window read at wm are in none that is still read;
        // Flatten picks the window's panes either way.)
        while (!model.empty() && model.begin()->first < cur - w.geo.panes_per_window + 1) {
          model.erase(model.begin());
        }
        (w.pw->compact() ? saw_compact : saw_panes) = true;
        CHECK(w.account.bytes() == static_cast<uint64_t>(w.series_bytes));
      }
      CHECK(saw_compact);
      (void)saw_panes;
    }
  }
}

TEST_CASE("compact pane window: turns into panes past its bound and back once empty",
          "[compact_panes]") {
  Window w(/*compact=*/100);
  std::mt19937_64 rng(43);
  REQUIRE(w.Push({{0, RandomValues(rng, 60)}}));
  CHECK(w.pw->compact());
  CHECK(w.pw->raw_panes().value_count() == 60);
  // One call's runs all go where its first went: past the bound within a
  // call stays compact until the next call.
  REQUIRE(w.Push({{1, RandomValues(rng, 30)}, {2, RandomValues(rng, 30)}}));
  CHECK(w.pw->compact());
  REQUIRE(w.Push({{3, RandomValues(rng, 5)}}));
  CHECK_FALSE(w.pw->compact());
  CHECK(w.pw->pane_count() == 4);
  // The panes slide out: compact again, nothing held.
  w.pw->Advance(10000, [](const wa::WindowView&) {});
  CHECK(w.pw->empty());
  CHECK(w.account.bytes() == 0);
  REQUIRE(w.Push({{1000, RandomValues(rng, 3)}}));
  CHECK(w.pw->compact());
}

TEST_CASE("compact pane window: writes the bytes the panes form writes", "[compact_panes]") {
  std::mt19937_64 rng(44);
  for (int round = 0; round < 50; ++round) {
    Window compact(wa::PaneWindow::kCompactValues), panes(0);
    // One run per pane: both forms summarize a pane's values in one span.
    std::vector<std::pair<int64_t, std::vector<double>>> runs;
    int64_t pane = static_cast<int64_t>(rng() % 1000);
    for (int k = 0; k < 1 + static_cast<int>(rng() % 60); ++k) {
      runs.push_back({pane, RandomValues(rng, 1 + rng() % 30)});
      pane += 1 + static_cast<int64_t>(rng() % 3);
    }
    REQUIRE(compact.Push(runs));
    REQUIRE(panes.Push(runs));
    REQUIRE(compact.pw->compact());
    REQUIRE_FALSE(panes.pw->compact());
    CHECK(compact.Bytes() == panes.Bytes());
  }
}

TEST_CASE("compact pane window: merges of either form into either", "[compact_panes]") {
  std::mt19937_64 rng(45);
  for (int round = 0; round < 40; ++round) {
    for (uint32_t into_bound : {0u, 64u, 2048u}) {
      for (uint32_t from_bound : {0u, 64u, 2048u}) {
        INFO("round " << round << " into " << into_bound << " from " << from_bound);
        Window into(into_bound), from(from_bound), both(2048);
        Model model;
        for (auto* w : {&into, &from}) {
          std::vector<std::pair<int64_t, std::vector<double>>> runs;
          for (int k = 0; k < 1 + static_cast<int>(rng() % 6); ++k) {
            runs.push_back({static_cast<int64_t>(rng() % 20), RandomValues(rng, 1 + rng() % 40)});
          }
          REQUIRE(w->Push(runs));
          REQUIRE(both.Push(runs));
          for (const auto& [p, v] : runs) {
            auto& m = model[p];
            m.insert(m.end(), v.begin(), v.end());
          }
        }
        // (The geometries are equal but for the bound: merges need the same shape.)
        into.pw->ReserveMerge(*from.pw, false, into.map, into.scope);
        {
          WINDOWAGG_NO_ALLOCATION_HERE();
          CHECK(into.pw->MergeFrom(*from.pw, false, into.map, into.scope) == 0);
        }
        into.CheckAgainst(model, 199, /*exact_quantiles=*/into.pw->compact());
        wa::WindowView a, b;
        into.pw->Current(199, &a);
        both.pw->Current(199, &b);
        CHECK(a.moments.count == b.moments.count);
      }
    }
  }
}

TEST_CASE("compact pane window: a failed reservation changes nothing", "[compact_panes][allocation_failure]") {
  std::mt19937_64 rng(46);
  for (uint32_t bound : {64u, 2048u}) {
    Window w(bound);
    REQUIRE(w.Push({{0, RandomValues(rng, 50)}, {2, RandomValues(rng, 10)}}));
    const std::vector<uint8_t> before = w.Bytes();
    // Growth (2048) or the turn into panes (64), with a new pane in between.
    const std::vector<std::pair<int64_t, std::vector<double>>> call = {
        {1, RandomValues(rng, 40)}, {3, RandomValues(rng, 200)}};
    bool done = false;
    for (uint64_t n = 1; n < 500 && !done; ++n) {
      fi::FailNth(n);
      try {
        done = w.Push(call);
      } catch (const std::bad_alloc&) {
      }
      fi::Disarm();
      if (done) break;
      INFO("bound " << bound << " failing allocation " << n);
      // (The form may have changed, compact to panes: never the values.)
      CHECK(w.Bytes() == before);
      CHECK(w.account.bytes() == static_cast<uint64_t>(w.series_bytes));
    }
    REQUIRE(done);
  }
}
