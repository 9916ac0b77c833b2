// What the window kinds share, whatever the kind: the shape a handle's
// configuration gives the windows of all its series, and what a read or an
// emitted window sees of one (bounds, moments, where its quantiles come
// from). Neutral ground for the kinds (count_window.h, pane_window.h) and
// the seam over them (window.h).
#ifndef WINDOWAGG_CORE_WINDOW_VIEW_H_
#define WINDOWAGG_CORE_WINDOW_VIEW_H_

#include <cstddef>
#include <cstdint>

#include "core/config.h"
#include "core/memory.h"
#include "core/moments.h"

namespace windowagg::internal {

class Sketch;
struct PaneGeometry;

// What a handle's configuration fixes for the windows of all its series
// (a new kind adds the fields it needs here).
struct WindowShape {
  WindowKind kind = WindowKind::kCount;
  uint64_t count_capacity = 0;             // COUNT: window_size
  const PaneGeometry* geometry = nullptr;  // time windows; must outlive the windows
  bool quantiles = false;                  // windows keep sketches
};

// A window being reported or emitted.
struct WindowView {
  int64_t start = 0;
  int64_t end = 0;
  Moments moments;
  ScratchVector<const Sketch*> sketches;  // their union is the window's sketch
  // Set instead of sketches where the window's values themselves are at
  // hand (small count windows, compact pane windows): quantiles are exact.
  // Two spans (a ring's two segments); the second may be empty.
  bool exact = false;
  const double* exact_a = nullptr;
  size_t exact_na = 0;
  const double* exact_b = nullptr;
  size_t exact_nb = 0;

  // Where a kind that keeps its values in pieces copies them for the view.
  ScratchVector<double> exact_values;

  void SetExact(const double* a, size_t na, const double* b = nullptr, size_t nb = 0) {
    sketches.clear();
    exact = true;
    exact_a = a;
    exact_na = na;
    exact_b = b;
    exact_nb = nb;
  }
  void ClearExact() { exact = false; }
};

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_WINDOW_VIEW_H_
