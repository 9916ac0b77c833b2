#include "core/config.h"

#include <cmath>

#include "core/error.h"

namespace windowagg::internal {

void ValidateConfig(Config* c) {
  switch (c->kind) {
    case WindowKind::kCount:
    case WindowKind::kSliding:
    case WindowKind::kTumbling:
    case WindowKind::kHopping:
      break;
    default:
      Fail(Status::kConfig, "window_kind %u is not a window kind (0..3)",
           static_cast<uint32_t>(c->kind));
  }
  if (c->window_size <= 0) {
    Fail(Status::kConfig, "window_size must be > 0, got %d", c->window_size);
  }
  if (c->kind == WindowKind::kCount && c->window_size > kMaxCountWindow) {
    Fail(Status::kConfig, "window_size %d is too large for a count window (max 2^32 values)",
         c->window_size);
  }
  if (c->allowed_lateness < 0) {
    Fail(Status::kConfig, "allowed_lateness must be >= 0, got %d", c->allowed_lateness);
  }
  if (!(c->relative_accuracy >= 1e-4 && c->relative_accuracy <= 0.5)) {
    Fail(Status::kConfig, "relative_accuracy must be in [0.0001, 0.5], got %g",
         c->relative_accuracy);
  }
  if (c->nonfinite != NonFinitePolicy::kReject && c->nonfinite != NonFinitePolicy::kSkip) {
    Fail(Status::kConfig, "nonfinite_policy %u is not a policy (0 = REJECT, 1 = SKIP)",
         static_cast<uint32_t>(c->nonfinite));
  }
  if (c->key_policy != KeyPolicy::kReject && c->key_policy != KeyPolicy::kEvictLru &&
      c->key_policy != KeyPolicy::kOverflow) {
    Fail(Status::kConfig, "key_policy %u is not a policy (0..2)",
         static_cast<uint32_t>(c->key_policy));
  }
  if (c->key_ttl < 0) Fail(Status::kConfig, "key_ttl must be >= 0, got %d", c->key_ttl);
  if (c->max_pending_windows == 0) {
    Fail(Status::kConfig, "max_pending_windows must be > 0");
  }

  const int64_t d = c->window_size;
  switch (c->kind) {
    case WindowKind::kCount:
      if (c->slide != 0) Fail(Status::kConfig, "slide applies to HOPPING windows only");
      if (c->pane_width != 0) {
        Fail(Status::kConfig, "pane_width applies to SLIDING windows only");
      }
      return;
    case WindowKind::kSliding: {
      if (c->slide != 0) Fail(Status::kConfig, "slide applies to HOPPING windows only");
      if (c->pane_width < 0) {
        Fail(Status::kConfig, "pane_width must be >= 0 (0 = window_size/60), got %d",
             c->pane_width);
      }
      if (c->pane_width == 0) {
        // D/k for the smallest k >= 60 that divides D: about 60 panes, and
        // the widest panes that tile the window exactly (1 when D < 60).
        int64_t k = 60;
        if (d < 60) {
          k = d;
        } else {
          while (d % k != 0 && k < 60 + (int64_t{1} << 20)) ++k;
        }
        if (d % k != 0) {
          Fail(Status::kConfig,
               "window_size %d has no divisor k in [60, 60 + 2^20]: set pane_width", d);
        }
        c->pane_width = d / k;
      }
      if (c->pane_width > d || d % c->pane_width != 0) {
        Fail(Status::kConfig, "pane_width %d must divide window_size %d", c->pane_width, d);
      }
      if (d / c->pane_width > kMaxPanesPerSeries) {
        Fail(Status::kConfig, "pane_width %d is too small: window_size/pane_width must be <= 2^20",
             c->pane_width);
      }
      return;
    }
    case WindowKind::kTumbling:
      if (c->pane_width != 0) {
        Fail(Status::kConfig, "pane_width applies to SLIDING windows only");
      }
      if (c->slide != 0 && c->slide != d) {
        Fail(Status::kConfig, "slide applies to HOPPING windows only (TUMBLING slides by window_size)");
      }
      c->slide = d;
      break;
    case WindowKind::kHopping:
      if (c->pane_width != 0) {
        Fail(Status::kConfig, "pane_width applies to SLIDING windows only");
      }
      if (c->slide <= 0) Fail(Status::kConfig, "slide must be > 0, got %d", c->slide);
      if (c->slide > d) {
        Fail(Status::kConfig, "slide %d must not exceed window_size %d", c->slide, d);
      }
      if (d % c->slide != 0) {
        Fail(Status::kConfig, "slide %d must divide window_size %d", c->slide, d);
      }
      // Each value belongs to window_size/slide windows and each of them is
      // emitted: bounded like a SLIDING window's panes (restore validates
      // the stored configuration through here too).
      if (d / c->slide > kMaxPanesPerSeries) {
        Fail(Status::kConfig,
             "slide %d is too small: window_size/slide = %d windows per value, at most 2^20",
             c->slide, d / c->slide);
      }
      break;
  }
}

bool SameGeometry(const Config& a, const Config& b) {
  return a.kind == b.kind && a.window_size == b.window_size && a.slide == b.slide &&
         a.pane_width == b.pane_width && a.allowed_lateness == b.allowed_lateness &&
         a.relative_accuracy == b.relative_accuracy && a.quantiles == b.quantiles;
}

}  // namespace windowagg::internal
