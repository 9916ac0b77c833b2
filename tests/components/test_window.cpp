// The window seam (core/window.h) on its own: the shape picks the kind, the
// operations the pipeline calls reach it, and a window's serialized form
// (Write -> Validate -> Load) rebuilds the same window, byte for byte, for
// every kind. Linked to the fault-injection build of the core.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "core/fault_injection.h"
#include "core/memory.h"
#include "core/pane_window.h"
#include "core/window.h"
#include "core/wire.h"
#include "memory_scope.hpp"

namespace wa = windowagg::internal;

namespace {

// A handle's configuration for one kind, validated as a handle's is.
wa::Config ConfigFor(wa::WindowKind kind, bool quantiles) {
  wa::Config c;
  c.kind = kind;
  c.quantiles = quantiles;
  if (kind == wa::WindowKind::kCount) {
    c.window_size = 2000;  // not small: the window keeps its sketch
  } else {
    c.window_size = 100;
    if (kind == wa::WindowKind::kSliding) c.pane_width = 10;
    if (kind == wa::WindowKind::kHopping) c.slide = 20;
  }
  wa::ValidateConfig(&c);
  return c;
}

struct Setup : windowagg_test::Scoped {
  explicit Setup(const wa::Config& c)
      : geometry(wa::PaneWindow::GeometryFor(c)),
        shape{c.kind, static_cast<uint64_t>(c.window_size), &geometry, c.quantiles},
        map(c.relative_accuracy) {}
  wa::PaneGeometry geometry;
  wa::WindowShape shape;
  wa::SketchMapping map;
};

// Values the view's quantile source holds (its exact values, or its
// sketches' counts).
uint64_t QuantileSourceCount(const wa::WindowView& v) {
  if (v.exact) return v.exact_na + v.exact_nb;
  uint64_t n = 0;
  for (const wa::Sketch* s : v.sketches) n += s->count();
  return n;
}

std::vector<uint8_t> Bytes(const wa::Window& w) {
  wa::WireSink count;
  w.Write(count);
  std::vector<uint8_t> out(count.size());
  wa::WireSink sink(out.data(), out.size());
  w.Write(sink);
  REQUIRE_FALSE(sink.overflowed());
  return out;
}

// What a push does through the seam: reserve each run (one pane's worth of
// event time per run), then add them all without allocating.
int64_t PushThroughSeam(Setup& s, wa::Window& w, std::mt19937_64& rng, int64_t t0, size_t n) {
  std::vector<double> x(n);
  std::vector<int64_t> t(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = static_cast<double>(rng() % 100000) / 8.0 - 1000.0;
    t[i] = t0 + static_cast<int64_t>(i);
  }
  const int64_t width = s.geometry.pane;
  auto runs = [&](auto&& f) {
    for (size_t i = 0; i < n;) {
      size_t run = 1;
      const int64_t pane = wa::PaneOf(t[i], width);
      while (i + run < n && wa::PaneOf(t[i + run], width) == pane) ++run;
      f(i, run, pane);
      i += run;
    }
  };
  runs([&](size_t i, size_t run, int64_t pane) {
    REQUIRE(w.ReserveRun(x.data() + i, t.data() + i, run, pane, s.map, s.scope));
  });
  {
    WINDOWAGG_NO_ALLOCATION_HERE();
    runs([&](size_t i, size_t run, int64_t pane) {
      REQUIRE(w.AddRun(x.data() + i, t.data() + i, run, pane, s.map, s.scope));
    });
    w.EndReservation();
  }
  return t0 + static_cast<int64_t>(n) - 1;
}

}  // namespace

TEST_CASE("window seam: the shape picks the kind", "[components][window]") {
  for (auto kind : {wa::WindowKind::kCount, wa::WindowKind::kSliding, wa::WindowKind::kTumbling,
                    wa::WindowKind::kHopping}) {
    Setup s(ConfigFor(kind, true));
    {
      wa::Window w(s.shape, &s.scope);
      const bool counted = kind == wa::WindowKind::kCount;
      CHECK((w.get_if<wa::CountWindow>() != nullptr) == counted);
      CHECK((w.get_if<wa::PaneWindow>() != nullptr) == !counted);
      CHECK(wa::CountWindow::Serves(kind) == counted);
      CHECK(wa::PaneWindow::Serves(kind) == !counted);
      // What the kind means for the pipeline: lateness, closing into the queue.
      CHECK(wa::Window::Timed(s.shape) == !counted);
      CHECK(wa::Window::Emits(s.shape) ==
            (kind == wa::WindowKind::kTumbling || kind == wa::WindowKind::kHopping));
      w.Free(s.scope);
    }
    REQUIRE(s.account.bytes() == 0);
  }
}

TEST_CASE("window seam: write, validate and load rebuild the same window, every kind",
          "[components][window]") {
  std::mt19937_64 rng(13);
  for (auto kind : {wa::WindowKind::kCount, wa::WindowKind::kSliding, wa::WindowKind::kTumbling,
                    wa::WindowKind::kHopping}) {
    for (bool quantiles : {false, true}) {
      INFO("kind " << static_cast<int>(kind) << " quantiles " << quantiles);
      Setup s(ConfigFor(kind, quantiles));
      {
        wa::Window w(s.shape, &s.scope);
        int64_t wm = PushThroughSeam(s, w, rng, 0, 3000);
        // Time windows: move to the watermark, as the handle would.
        std::vector<wa::Moments> emitted;
        w.Advance(wm, [&](const wa::WindowView& v) { emitted.push_back(v.moments); });
        const std::vector<uint8_t> bytes = Bytes(w);

        wa::WireSource in(bytes.data(), bytes.size());
        const wa::Window::StoredView view = wa::Window::Validate(in, s.shape, s.map, &wm);
        REQUIRE(in.remaining() == 0);
        wa::WindowView before;
        const int64_t as_of = w.Summarize(true, wm, &before);
        CHECK(wa::Window::Held(view) >= before.moments.count);

        wa::Window back(s.shape, &s.scope);
        back.Load(view, s.map, s.scope);
        CHECK(Bytes(back) == bytes);
        wa::WindowView after;
        CHECK(back.Summarize(true, wm, &after) == as_of);
        CHECK(after.start == before.start);
        CHECK(after.end == before.end);
        CHECK(after.moments.count == before.moments.count);
        CHECK(after.moments.min == before.moments.min);
        CHECK(after.moments.max == before.moments.max);
        // (The same values answer quantiles: compact windows from the values
        // themselves, restored ones from their panes' sketches.)
        CHECK(QuantileSourceCount(after) == QuantileSourceCount(before));
        CHECK(back.FirstOpenWindow() == w.FirstOpenWindow());

        // Both continue identically.
        std::mt19937_64 r1 = rng, r2 = rng;
        PushThroughSeam(s, w, r1, wm + 1, 500);
        PushThroughSeam(s, back, r2, wm + 1, 500);
        CHECK(Bytes(back) == Bytes(w));
        w.Free(s.scope);
        back.Free(s.scope);
      }
      REQUIRE(s.account.bytes() == 0);
    }
  }
}

TEST_CASE("window seam: a stored window of the wrong size is refused", "[components][window]") {
  for (auto kind : {wa::WindowKind::kCount, wa::WindowKind::kTumbling}) {
    Setup s(ConfigFor(kind, true));
    wa::Window w(s.shape, &s.scope);
    std::mt19937_64 rng(3);
    int64_t wm = PushThroughSeam(s, w, rng, 0, 300);
    std::vector<uint8_t> bytes = Bytes(w);
    bytes.pop_back();  // truncated
    wa::WireSource in(bytes.data(), bytes.size());
    try {
      (void)wa::Window::Validate(in, s.shape, s.map, &wm);
      FAIL("a truncated window was accepted");
    } catch (const wa::Error& e) {
      CHECK(e.status() == wa::Status::kCorrupt);
    }
    w.Free(s.scope);
  }
}

TEST_CASE("window seam: undone reservations leave the window as it was",
          "[components][window]") {
  for (auto kind : {wa::WindowKind::kCount, wa::WindowKind::kSliding, wa::WindowKind::kTumbling}) {
    Setup s(ConfigFor(kind, true));
    wa::Window w(s.shape, &s.scope);
    std::mt19937_64 rng(5);
    int64_t wm = PushThroughSeam(s, w, rng, 0, 1500);
    const std::vector<uint8_t> before = Bytes(w);
    // A push that reserves runs in the current pane and in a new one, then
    // fails before applying.
    std::vector<double> x(50, 3.5);
    std::vector<int64_t> t(50, wm + 1);
    const int64_t pane = wa::PaneOf(wm + 1, s.geometry.pane);
    REQUIRE(w.ReserveRun(x.data(), t.data(), x.size(), pane, s.map, s.scope));
    const int64_t later = wm + 1000;
    std::vector<int64_t> t2(50, later);
    REQUIRE(w.ReserveRun(x.data(), t2.data(), x.size(), wa::PaneOf(later, s.geometry.pane), s.map,
                         s.scope));
    w.UndoReservations();
    CHECK(Bytes(w) == before);
    wa::WindowView v;
    w.Summarize(true, wm, &v);
    CHECK(v.moments.count > 0);
    w.Free(s.scope);
  }
}
