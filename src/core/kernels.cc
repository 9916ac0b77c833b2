// Per-value loops. Each is written as kLanes independent lanes combined in a
// fixed order at the end, so the compiler vectorizes them without being
// allowed to reassociate, and every ISA (AVX-512, AVX2, SSE2 via
// target_clones) produces bit-identical results.
#include <cstring>

#include "core/kernels.h"
#include "core/moments.h"

namespace windowagg {
namespace {
constexpr size_t kLanes = 8;
}  // namespace

#define WINDOWAGG_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

WINDOWAGG_MULTIVERSION
Moments SummarizeSpan(const double* x, size_t n) {
  Moments m;
  if (n == 0) return m;
  double s[kLanes] = {}, c[kLanes] = {};
  double lo[kLanes], hi[kLanes];
  for (size_t j = 0; j < kLanes; ++j) {
    lo[j] = std::numeric_limits<double>::infinity();
    hi[j] = -std::numeric_limits<double>::infinity();
  }
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      double v = x[i + j];
      double t = s[j] + v;
      double z = t - s[j];
      c[j] += (s[j] - (t - z)) + (v - z);
      s[j] = t;
      lo[j] = v < lo[j] ? v : lo[j];
      hi[j] = v > hi[j] ? v : hi[j];
    }
  }
  for (size_t j = 0; i < n; ++i, ++j) {
    double v = x[i];
    TwoSumAdd(s[j], c[j], v);
    lo[j] = v < lo[j] ? v : lo[j];
    hi[j] = v > hi[j] ? v : hi[j];
  }
  for (size_t j = 0; j < kLanes; ++j) {
    TwoSumAdd(m.sum, m.comp, s[j]);
    m.comp += c[j];
    m.min = lo[j] < m.min ? lo[j] : m.min;
    m.max = hi[j] > m.max ? hi[j] : m.max;
  }
  m.count = n;
  double mean = m.Sum() / static_cast<double>(n);
  // Second pass over data still in cache: deviations from the mean, with the
  // usual correction term for the mean's own rounding error.
  double q[kLanes] = {}, d1[kLanes] = {};
  i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      double d = x[i + j] - mean;
      q[j] += d * d;
      d1[j] += d;
    }
  }
  for (size_t j = 0; i < n; ++i, ++j) {
    double d = x[i] - mean;
    q[j] += d * d;
    d1[j] += d;
  }
  double qs = 0, ds = 0;
  for (size_t j = 0; j < kLanes; ++j) {
    qs += q[j];
    ds += d1[j];
  }
  m.mean = mean + ds / static_cast<double>(n);
  double m2 = qs - ds * ds / static_cast<double>(n);
  m.m2 = m2 < 0 ? 0 : m2;
  return m;
}

WINDOWAGG_MULTIVERSION
size_t FindNonFinite(const double* x, size_t n) {
  // Branch-free scan in blocks; the exact index is found only on a hit.
  constexpr uint64_t kExp = 0x7FF0000000000000ull;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    uint64_t any = 0;
    for (size_t j = 0; j < 64; ++j) {
      uint64_t b;
      std::memcpy(&b, &x[i + j], sizeof b);
      any |= static_cast<uint64_t>((b & kExp) == kExp);
    }
    if (any) break;
  }
  for (; i < n; ++i) {
    uint64_t b;
    std::memcpy(&b, &x[i], sizeof b);
    if ((b & kExp) == kExp) return i;
  }
  return n;
}

WINDOWAGG_MULTIVERSION
size_t SortedRunLength(const int64_t* t, size_t n, int64_t lo, int64_t hi) {
  // Longest prefix with lo <= t[i] < hi and t non-decreasing.
  if (n == 0 || t[0] < lo || t[0] >= hi) return 0;
  size_t i = 1;
  for (; i + 32 <= n; i += 32) {
    unsigned bad = 0;
    for (size_t j = 0; j < 32; ++j) {
      int64_t v = t[i + j];
      bad |= static_cast<unsigned>(v < t[i + j - 1]) | static_cast<unsigned>(v >= hi);
    }
    if (bad) break;
  }
  for (; i < n; ++i) {
    if (t[i] < t[i - 1] || t[i] >= hi) return i;
  }
  return n;
}

WINDOWAGG_MULTIVERSION
void ComputeBucketIndexes(const double* x, size_t n, double multiplier, int32_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = BucketIndex(x[i], multiplier);
}

}  // namespace windowagg
