// Vectorized per-value loops, compiled for several ISAs and dispatched at
// load time (GCC target_clones), so one binary runs on any x86-64.
#ifndef WINDOWAGG_CORE_KERNELS_H_
#define WINDOWAGG_CORE_KERNELS_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace windowagg::internal {

// Index of the first NaN or +-Inf in x[0..n), or n if none.
size_t FindNonFinite(const double* x, size_t n);

// Smallest and largest of x[0..n) (n > 0, no NaN).
struct MinMax {
  double min;
  double max;
};
MinMax SpanMinMax(const double* x, size_t n);

// Length of the longest prefix of t with lo <= t[i] < hi and t
// non-decreasing: the values that fall into one pane in arrival order.
size_t SortedRunLength(const int64_t* t, size_t n, int64_t lo, int64_t hi);

// Smallest |x| the sketch indexes; smaller magnitudes (zero, -0.0,
// subnormals) count as zero.
inline constexpr double kMinIndexable = 2.2250738585072014e-308;

// Log-linear bucket index of |x| (x normal): log2|x| approximated by
// exponent + (mantissa - 1), which is monotone and within a factor 1/ln 2 of
// the true log's slope, times `multiplier` (buckets per unit). Costs a few
// integer ops instead of a libm log.
inline int32_t BucketIndex(double x, double multiplier) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  int32_t e = static_cast<int32_t>((b >> 52) & 0x7FF) - 1023;
  uint64_t mb = (b & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
  double m;
  std::memcpy(&m, &mb, sizeof m);
  // floor() by truncation and a correction: exact for |l| < 2^31 and no
  // libm call in builds without SSE4.1.
  double l = (static_cast<double>(e) + (m - 1.0)) * multiplier;
  int32_t i = static_cast<int32_t>(l);
  return i - (static_cast<double>(i) > l);
}

struct BucketIndexRange {
  int32_t lo;          // smallest index written
  int32_t hi;          // largest index written
  bool all_positive;   // every x >= kMinIndexable
};

// out[i] = BucketIndex(x[i], multiplier) for all i (any sign; see above),
// bit-identical to the scalar function.
BucketIndexRange ComputeBucketIndexes(const double* x, size_t n, double multiplier,
                                      int32_t* out);

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_KERNELS_H_
