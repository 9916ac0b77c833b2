// Moments in serialized state: the writer, and the reader that accepts
// exactly what the accumulator can produce from finite inputs.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/moments.h"
#include "core/wire.h"

namespace windowagg::internal {

// ---- Semantic invariants ----------------------------------------------------
//
// The checksum only says the bytes are the ones written; a blob whose fields
// contradict each other (crafted, or from a buggy writer that recomputed the
// checksum) must be refused too. These checks accept exactly what the core
// can produce from finite inputs (moments.h: sums may overflow to +-Inf, M2
// to +Inf; means stay in [min, max]) and refuse what cannot arise. Rounding
// slack: n values of magnitude <= M summed (recursive or compensated) are
// off by at most (n-1)u/(1-(n-1)u) * n*M (u = 2^-53, Higham's gamma); we
// allow n*M*(n+2)*2^-52, twice that, for n <= 2^50 (beyond, no real stream,
// the bound is not checked). Bounds are computed in long double, so they do
// not overflow where the double they bound does.

namespace {

constexpr uint64_t kMaxCheckedCount = uint64_t{1} << 50;

struct ValueBounds {
  bool checked;        // false: count too large for a meaningful bound
  long double lo, hi;  // of the sum
  long double tol;     // of the mean, and of each value's deviation
};

ValueBounds BoundsOf(uint64_t count, double min, double max) {
  ValueBounds b{count <= kMaxCheckedCount, 0, 0, 0};
  if (!b.checked) return b;
  const long double n = static_cast<long double>(count);
  const long double mag = std::max(std::fabs(static_cast<long double>(min)),
                                   std::fabs(static_cast<long double>(max)));
  b.tol = mag * (n + 2) * 0x1p-52L + std::numeric_limits<double>::denorm_min();
  b.lo = n * min - n * b.tol;
  b.hi = n * max + n * b.tol;
  return b;
}

// A sum (or its high part) of `count` values in [min, max]: finite within
// the bounds, +Inf only if the upper bound is beyond DBL_MAX, -Inf likewise,
// NaN only if both are.
bool SumPossible(double v, const ValueBounds& b) {
  if (!b.checked) return true;
  constexpr long double kBig = std::numeric_limits<double>::max();
  const bool up = b.hi >= kBig, down = b.lo <= -kBig;
  if (std::isnan(v)) return up && down;
  if (std::isinf(v)) return v > 0 ? up : down;
  return v >= b.lo && v <= b.hi;
}

void CheckSum(double sum, double comp, uint64_t count, double min, double max, const char* what) {
  const ValueBounds b = BoundsOf(count, min, max);
  if (!std::isfinite(comp)) {
    Fail(Status::kCorrupt, "%s: the sum's compensation is %g (always finite)", what, comp);
  }
  const double total = std::isfinite(sum) ? sum + comp : sum;  // Moments::Sum()
  if (!SumPossible(sum, b) || !SumPossible(total, b)) {
    Fail(Status::kCorrupt,
         "%s: sum %g of %u values is impossible for values in [min %g, max %g]", what, total,
         count, min, max);
  }
}

void CheckMean(double mean, uint64_t count, double min, double max, const char* what) {
  const ValueBounds b = BoundsOf(count, min, max);
  if (!std::isfinite(mean) ||
      (b.checked && (mean < min - b.tol || mean > max + b.tol))) {
    Fail(Status::kCorrupt, "%s: mean %g is outside [min %g, max %g]", what, mean, min, max);
  }
}

}  // namespace

bool SumPossible(double sum, uint64_t count, double min, double max) {
  return SumPossible(sum, BoundsOf(count, min, max));
}

// Sum of squared deviations (scale 1: M2; scale 1/(n-1): the variance):
// never NaN or negative; at most n * (spread)^2 * scale, a quarter of which
// is the exact maximum; +Inf only where M2's bound (scale 1) is beyond
// DBL_MAX (a variance is M2 / (n-1), Inf once M2 overflowed).
void CheckSpread(double v, uint64_t count, double min, double max, long double scale,
                 const char* what, const char* field) {
  if (std::isnan(v) || v < 0) Fail(Status::kCorrupt, "%s: %s is %g", what, field, v);
  const ValueBounds b = BoundsOf(count, min, max);
  if (!b.checked) return;
  const long double spread = static_cast<long double>(max) - min + 2 * b.tol;
  const long double m2_bound = static_cast<long double>(count) * spread * spread;
  const bool possible = std::isinf(v) ? m2_bound >= std::numeric_limits<double>::max()
                                      : v <= m2_bound * scale;
  if (!possible) {
    Fail(Status::kCorrupt, "%s: %s %g is impossible for %u values in [min %g, max %g]", what,
         field, v, count, min, max);
  }
}

void Moments::Write(WireSink& s) const {
  s.U64(count);
  s.F64(sum);
  s.F64(comp);
  s.F64(mean);
  s.F64(m2);
  s.F64(min);
  s.F64(max);
}

Moments Moments::Read(WireSource& in, const char* what) {
  Moments m;
  m.count = in.U64(what);
  // sum and m2 may be non-finite (overflow, see moments.h); checked below.
  m.sum = in.F64(what);
  m.comp = in.F64(what);
  m.mean = in.F64(what);
  m.m2 = in.F64(what);
  m.min = in.Finite(what);
  m.max = in.Finite(what);
  if (m.count == 0) Fail(Status::kCorrupt, "%s: a stored pane is empty", what);
  if (m.min > m.max) Fail(Status::kCorrupt, "%s: min %g > max %g", what, m.min, m.max);
  CheckSum(m.sum, m.comp, m.count, m.min, m.max, what);
  CheckMean(m.mean, m.count, m.min, m.max, what);
  CheckSpread(m.m2, m.count, m.min, m.max, 1, what, "sum of squared deviations");
  return m;
}

}  // namespace windowagg::internal
