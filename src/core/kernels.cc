// Per-value loops. Each is written as kLanes independent lanes combined in a
// fixed order at the end, so the compiler vectorizes them without being
// allowed to reassociate, and every ISA (AVX-512, AVX2, SSE2 via
// target_clones) produces bit-identical results.
#include <cmath>
#include <cstring>

#include "core/kernels.h"
#include "core/moments.h"

namespace windowagg::internal {
namespace {
constexpr size_t kLanes = 8;
}  // namespace

#define WINDOWAGG_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

namespace {
// Eight lanes as two 4-wide GCC vectors: each ISA clone lowers them to its
// registers with the same per-lane IEEE operations, so results are
// bit-identical whichever clone runs.
typedef double V4 __attribute__((vector_size(32)));

// The helpers must be inlined into each clone: compiled on their own (as
// -O0 does with plain `inline`) they are "default"-target functions taking
// V4 in memory, while an AVX clone passes V4 in ymm registers — a silent ABI
// mismatch (GCC's -Wpsabi note) that made every Debug-build aggregate wrong.
#define WINDOWAGG_LANE_HELPER [[gnu::always_inline]] inline

WINDOWAGG_LANE_HELPER V4 Load(const double* p) {
  V4 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
WINDOWAGG_LANE_HELPER V4 Splat(double x) { return V4{x, x, x, x}; }
WINDOWAGG_LANE_HELPER V4 Min(V4 a, V4 b) { return a < b ? a : b; }
WINDOWAGG_LANE_HELPER V4 Max(V4 a, V4 b) { return a > b ? a : b; }

// TwoSum on every lane: s + c += v exactly.
WINDOWAGG_LANE_HELPER void TwoSum(V4& s, V4& c, V4 v) {
  V4 t = s + v;
  V4 z = t - s;
  c += (s - (t - z)) + (v - z);
  s = t;
}

WINDOWAGG_LANE_HELPER void Spill(V4 a, V4 b, double* out) {
  __builtin_memcpy(out, &a, sizeof a);
  __builtin_memcpy(out + 4, &b, sizeof b);
}
}  // namespace

WINDOWAGG_MULTIVERSION
Moments SummarizeSpan(const double* x, size_t n) {
  Moments m;
  if (n == 0) return m;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  V4 s0 = Splat(0), s1 = Splat(0), c0 = Splat(0), c1 = Splat(0);
  V4 lo0 = Splat(kInf), lo1 = Splat(kInf), hi0 = Splat(-kInf), hi1 = Splat(-kInf);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    V4 a = Load(x + i), b = Load(x + i + 4);
    TwoSum(s0, c0, a);
    TwoSum(s1, c1, b);
    lo0 = Min(a, lo0);
    lo1 = Min(b, lo1);
    hi0 = Max(a, hi0);
    hi1 = Max(b, hi1);
  }
  double sl[kLanes], cl[kLanes], lol[kLanes], hil[kLanes];
  Spill(s0, s1, sl);
  Spill(c0, c1, cl);
  Spill(lo0, lo1, lol);
  Spill(hi0, hi1, hil);
  for (size_t j = 0; i < n; ++i, ++j) {
    double v = x[i];
    TwoSumAdd(sl[j], cl[j], v);
    lol[j] = v < lol[j] ? v : lol[j];
    hil[j] = v > hil[j] ? v : hil[j];
  }
  for (size_t j = 0; j < kLanes; ++j) {
    TwoSumAdd(m.sum, m.comp, sl[j]);
    // A lane whose TwoSum overflowed in between (values near DBL_MAX) has
    // an Inf/NaN compensation: drop it (see TwoSumAdd), keeping comp finite.
    m.comp += cl[j] - cl[j] == 0 ? cl[j] : 0;
    m.min = lol[j] < m.min ? lol[j] : m.min;
    m.max = hil[j] > m.max ? hil[j] : m.max;
  }
  m.count = n;
  double mean = m.Sum() / static_cast<double>(n);
  // Second pass over data still in cache: deviations from the mean, with the
  // usual correction term for the mean's own rounding error.
  V4 mv = Splat(mean), q0 = Splat(0), q1 = Splat(0), d0 = Splat(0), d1 = Splat(0);
  i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    V4 a = Load(x + i) - mv, b = Load(x + i + 4) - mv;
    q0 += a * a;
    q1 += b * b;
    d0 += a;
    d1 += b;
  }
  double ql[kLanes], dl[kLanes];
  Spill(q0, q1, ql);
  Spill(d0, d1, dl);
  for (size_t j = 0; i < n; ++i, ++j) {
    double d = x[i] - mean;
    ql[j] += d * d;
    dl[j] += d;
  }
  double qs = 0, ds = 0;
  for (size_t j = 0; j < kLanes; ++j) {
    qs += ql[j];
    ds += dl[j];
  }
  m.mean = mean + ds / static_cast<double>(n);
  double m2 = qs - ds * ds / static_cast<double>(n);
  m.m2 = m2 < 0 ? 0 : m2;
  if (!std::isfinite(m.mean) || std::isnan(m.m2)) [[unlikely]] {
    // The sum or the deviations overflowed (values or spread near DBL_MAX):
    // the two-pass mean is Inf/NaN. Welford keeps the mean finite and M2 in
    // [0, Inf] (see moments.h); count, sum, min and max stay as computed.
    Moments w;
    for (size_t k = 0; k < n; ++k) w.Add(x[k]);
    m.mean = w.mean;
    m.m2 = w.m2;
  }
  return m;
}

WINDOWAGG_MULTIVERSION
MinMax SpanMinMax(const double* x, size_t n) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  V4 lo0 = Splat(kInf), lo1 = Splat(kInf), hi0 = Splat(-kInf), hi1 = Splat(-kInf);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    V4 a = Load(x + i), b = Load(x + i + 4);
    lo0 = Min(a, lo0);
    lo1 = Min(b, lo1);
    hi0 = Max(a, hi0);
    hi1 = Max(b, hi1);
  }
  double lo[8], hi[8];
  Spill(lo0, lo1, lo);
  Spill(hi0, hi1, hi);
  MinMax r{kInf, -kInf};
  for (int k = 0; k < 8; ++k) {
    r.min = lo[k] < r.min ? lo[k] : r.min;
    r.max = hi[k] > r.max ? hi[k] : r.max;
  }
  for (; i < n; ++i) {
    r.min = x[i] < r.min ? x[i] : r.min;
    r.max = x[i] > r.max ? x[i] : r.max;
  }
  return r;
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
  // Longest prefix with lo <= t[i] < hi and t non-decreasing; blocks of 16
  // are checked branch-free, the exact end found only in the failing block.
  typedef int64_t I4 __attribute__((vector_size(32)));
  if (n == 0 || t[0] < lo || t[0] >= hi) return 0;
  const I4 hiv = {hi, hi, hi, hi};
  size_t i = 1;
  for (; i + 16 <= n; i += 16) {
    I4 bad = {0, 0, 0, 0};
    for (size_t j = 0; j < 16; j += 4) {
      I4 cur, prev;
      __builtin_memcpy(&cur, t + i + j, sizeof cur);
      __builtin_memcpy(&prev, t + i + j - 1, sizeof prev);
      bad |= (cur < prev) | (cur >= hiv);
    }
    if ((bad[0] | bad[1] | bad[2] | bad[3]) != 0) break;
  }
  for (; i < n; ++i) {
    if (t[i] < t[i - 1] || t[i] >= hi) return i;
  }
  return n;
}

WINDOWAGG_MULTIVERSION
BucketIndexRange ComputeBucketIndexes(const double* x, size_t n, double multiplier,
                                      int32_t* out) {
  // BucketIndex, four lanes at a time, in exact integer/double tricks that
  // need no AVX-512 conversions: (e + 1023) becomes a double through the
  // 2^52 exponent trick, and floor() through rounding at 1.5 * 2^52.
  typedef int64_t I4 __attribute__((vector_size(32)));
  typedef int32_t I4x32 __attribute__((vector_size(16)));
  constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
  const V4 k = Splat(multiplier);
  const V4 two52 = Splat(4503599627370496.0 + 1023.0);
  const I4 exp_mask = {0x7FF, 0x7FF, 0x7FF, 0x7FF};
  const I4 mant_mask = {0x000FFFFFFFFFFFFFll, 0x000FFFFFFFFFFFFFll, 0x000FFFFFFFFFFFFFll,
                        0x000FFFFFFFFFFFFFll};
  const I4 one_bits = {0x3FF0000000000000ll, 0x3FF0000000000000ll, 0x3FF0000000000000ll,
                       0x3FF0000000000000ll};
  const I4 two52_bits = {0x4330000000000000ll, 0x4330000000000000ll, 0x4330000000000000ll,
                         0x4330000000000000ll};
  BucketIndexRange r{std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(),
                     true};
  I4 pos_all = {-1, -1, -1, -1};
  I4x32 lo = {r.lo, r.lo, r.lo, r.lo}, hi = {r.hi, r.hi, r.hi, r.hi};
  const V4 min_ok = Splat(kMinIndexable);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    V4 v = Load(x + i);
    I4 b;
    __builtin_memcpy(&b, &v, sizeof b);
    I4 biased = (b >> 52) & exp_mask;  // e + 1023, sign dropped
    I4 eb = biased | two52_bits;
    V4 e;
    __builtin_memcpy(&e, &eb, sizeof e);
    e -= two52;  // exact: e as a double
    I4 mb = (b & mant_mask) | one_bits;
    V4 m;
    __builtin_memcpy(&m, &mb, sizeof m);
    V4 l = (e + (m - 1.0)) * k;
    V4 rounded = l + kRound;
    I4 ri;
    __builtin_memcpy(&ri, &rounded, sizeof ri);
    I4 idx = (ri << 32) >> 32;            // nearest integer, sign-extended
    idx += (rounded - kRound) > l;        // mask is -1 where rounding went up
    I4x32 idx32 = __builtin_convertvector(idx, I4x32);
    __builtin_memcpy(out + i, &idx32, sizeof idx32);
    lo = idx32 < lo ? idx32 : lo;
    hi = idx32 > hi ? idx32 : hi;
    pos_all &= v >= min_ok;
  }
  for (int j = 0; j < 4; ++j) {
    r.lo = std::min(r.lo, lo[j]);
    r.hi = std::max(r.hi, hi[j]);
    r.all_positive &= pos_all[j] != 0;
  }
  for (; i < n; ++i) {
    out[i] = BucketIndex(x[i], multiplier);
    r.lo = std::min(r.lo, out[i]);
    r.hi = std::max(r.hi, out[i]);
    r.all_positive &= x[i] >= kMinIndexable;
  }
  return r;
}

}  // namespace windowagg::internal
