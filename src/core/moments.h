// Exact aggregates of a bag of values: count, compensated sum, Welford mean
// and M2, min, max. Mergeable (Chan et al.), so panes, blocks and series
// combine without revisiting values.
#ifndef WINDOWAGG_CORE_MOMENTS_H_
#define WINDOWAGG_CORE_MOMENTS_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace windowagg {

// s + c += x, exactly representable error kept in c (Knuth's TwoSum: correct
// whatever the magnitudes, unlike Fast2Sum; no branch, so it vectorizes).
inline void TwoSumAdd(double& s, double& c, double x) {
  double t = s + x;
  double z = t - s;
  c += (s - (t - z)) + (x - z);
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

  double Sum() const { return sum + comp; }
  bool empty() const { return count == 0; }

  void Add(double x) {
    ++count;
    TwoSumAdd(sum, comp, x);
    double d = x - mean;
    mean += d / static_cast<double>(count);
    m2 += d * (x - mean);
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
    mean += delta * (static_cast<double>(o.count) / n);
    m2 += o.m2 + delta * delta * (static_cast<double>(count) * static_cast<double>(o.count) / n);
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
};

// Moments of a span, vectorized (see kernels.cc). n may be 0.
Moments SummarizeSpan(const double* x, size_t n);

}  // namespace windowagg

#endif  // WINDOWAGG_CORE_MOMENTS_H_
