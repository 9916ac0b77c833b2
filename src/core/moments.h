// Exact aggregates of a bag of values: count, compensated sum, Welford mean
// and M2, min, max. Mergeable (Chan et al.), so panes, blocks and series
// combine without revisiting values.
//
// Every finite input is accepted, so the fields must stay meaningful when
// double arithmetic overflows (values or spreads near DBL_MAX):
//   - sum may overflow to +-Inf (or NaN once both directions overflowed),
//     like any IEEE summation; Sum() then answers the overflowed high part.
//     comp is always finite (TwoSumAdd drops an overflowed error term).
//   - mean is always finite and within [min, max] (up to rounding): where
//     x - mean would overflow, the update is done in scaled form.
//   - m2 is in [0, +Inf]: +Inf when the sum of squared deviations overflows
//     (e.g. {1e200, -1e200}: variance Inf, as NumPy reports); never NaN.
// Serialized state stores these fields as they are (Moments::Write), and
// restore accepts exactly these domains (Moments::Read, moments.cc).
#ifndef WINDOWAGG_CORE_MOMENTS_H_
#define WINDOWAGG_CORE_MOMENTS_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace windowagg::internal {

class WireSink;
class WireSource;

// s + c += x, exactly representable error kept in c (Knuth's TwoSum: correct
// whatever the magnitudes, unlike Fast2Sum; no branch, so it vectorizes).
// Near DBL_MAX an intermediate (t - s) or t itself overflows and the error
// term is Inf/NaN: it is dropped (a select, not a branch), so c stays
// finite and a finite s + c never turns into NaN.
inline void TwoSumAdd(double& s, double& c, double x) {
  double t = s + x;
  double z = t - s;
  double e = (s - (t - z)) + (x - z);
  c += e - e == 0 ? e : 0;
  s = t;
}

struct Moments {
  uint64_t count = 0;
  double sum = 0;   // high part of the compensated sum
  double comp = 0;  // low part
  double mean = 0;
  double m2 = 0;  // sum of squared deviations from the mean
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  // The compensated sum; once the high part overflowed, that (+-Inf/NaN).
  double Sum() const { return std::isfinite(sum) ? sum + comp : sum; }
  bool empty() const { return count == 0; }

  void Add(double x) {
    ++count;
    TwoSumAdd(sum, comp, x);
    double d = x - mean;
    if (std::isfinite(d)) [[likely]] {
      mean += d / static_cast<double>(count);
      m2 += d * (x - mean);
    } else {
      // |x - mean| > DBL_MAX: the squared deviation overflows; keep the
      // mean finite (count >= 2 here, so each term is within range).
      double n = static_cast<double>(count);
      mean += x / n - mean / n;
      m2 = std::numeric_limits<double>::infinity();
    }
    min = x < min ? x : min;
    max = x > max ? x : max;
  }

  void Merge(const Moments& o) {
    if (o.count == 0) return;
    if (count == 0) {
      *this = o;
      return;
    }
    double n = static_cast<double>(count + o.count);
    double delta = o.mean - mean;
    if (std::isfinite(delta)) [[likely]] {
      mean += delta * (static_cast<double>(o.count) / n);
      m2 += o.m2 + delta * delta * (static_cast<double>(count) * static_cast<double>(o.count) / n);
    } else {
      // The means are more than DBL_MAX apart: weighted average in scaled
      // form (finite), and the squared spread overflows.
      mean = mean * (static_cast<double>(count) / n) + o.mean * (static_cast<double>(o.count) / n);
      m2 = std::numeric_limits<double>::infinity();
    }
    count += o.count;
    TwoSumAdd(sum, comp, o.sum);
    TwoSumAdd(sum, comp, o.comp);
    min = o.min < min ? o.min : min;
    max = o.max > max ? o.max : max;
  }

  // Sample variance (divisor n-1); NaN below two values.
  double Variance() const {
    if (count < 2) return std::numeric_limits<double>::quiet_NaN();
    double v = m2 / static_cast<double>(count - 1);
    return v < 0 ? 0 : v;
  }

  // ---- Serialized form (moments.cc) ----------------------------------------
  //   u64 count | f64 sum | f64 comp | f64 mean | f64 m2 | f64 min | f64 max
  void Write(WireSink& s) const;
  // Reads the moments of a stored, non-empty bag and checks they are ones
  // the accumulator can produce from finite values (allocates nothing);
  // throws Error(kCorrupt) naming `what` and the field otherwise.
  static Moments Read(WireSource& in, const char* what);
};

// Restore's plausibility checks for stored aggregates of `count` finite
// values in [min, max] (moments.cc states the rounding slack they allow).
// Whether `sum` (a sum, or its high part) can be such values' sum.
bool SumPossible(double sum, uint64_t count, double min, double max);
// Throws Error(kCorrupt) ("<what>: <field> ...") unless v can be a sum of
// squared deviations of such values times `scale` (1: M2; 1/(n-1): the
// sample variance).
void CheckSpread(double v, uint64_t count, double min, double max, long double scale,
                 const char* what, const char* field);

// Moments of a span, vectorized (see kernels.cc). n may be 0.
Moments SummarizeSpan(const double* x, size_t n);

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_MOMENTS_H_
