// Brute-force reference of aggregator_rolling (pandas' groupby().rolling()
// rules, windowagg.h): every row's window recomputed from scratch. Used by
// tests/rolling/test_rolling.cpp and tests/fuzz/fuzz_rolling.cpp.
#ifndef WINDOWAGG_TESTS_REFERENCE_ROLLING_REFERENCE_HPP_
#define WINDOWAGG_TESTS_REFERENCE_ROLLING_REFERENCE_HPP_

#include <windowagg/windowagg.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace ref_rolling {

struct Rows {
  std::vector<double> v;
  std::vector<int64_t> t;   // empty: none
  std::vector<uint64_t> k;  // empty: one key
};

// Row i's window: indices of the rows of its key in it. Time windows hold
// t_i - w < t_j <= t_i (rows j <= i), computed without overflow (the rows of
// a key are in time order, so t_i >= t_j).
inline std::vector<size_t> WindowOf(const Rows& c, size_t i, bool time, int64_t w) {
  std::vector<size_t> same;
  for (size_t j = 0; j <= i; ++j) {
    if (c.k.empty() || c.k[j] == c.k[i]) same.push_back(j);
  }
  if (!time) {
    size_t n = same.size() > static_cast<size_t>(w) ? static_cast<size_t>(w) : same.size();
    return std::vector<size_t>(same.end() - static_cast<ptrdiff_t>(n), same.end());
  }
  std::vector<size_t> out;
  for (size_t j : same) {
    uint64_t d = static_cast<uint64_t>(c.t[i]) - static_cast<uint64_t>(c.t[j]);
    if (d < static_cast<uint64_t>(w)) out.push_back(j);
  }
  return out;
}

// Whether every key's timestamps are non-decreasing (time windows need it).
inline bool KeysInTimeOrder(const Rows& c) {
  for (size_t i = 0; i < c.v.size(); ++i) {
    for (size_t j = i + 1; j < c.v.size(); ++j) {
      if ((c.k.empty() || c.k[j] == c.k[i]) && c.t[j] < c.t[i]) return false;
    }
  }
  return true;
}

// Row i's value of `aggregate` (q for QUANTILE). minp -1: the default.
inline double Value(const Rows& c, size_t i, bool time, int64_t w, int64_t minp,
                    uint32_t aggregate, double q) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (minp < 0) minp = time ? 1 : w;
  std::vector<size_t> win = WindowOf(c, i, time, w);
  std::vector<double> xs;
  size_t non_nan = 0;
  for (size_t j : win) {
    if (!std::isnan(c.v[j])) ++non_nan;
    if (std::isfinite(c.v[j])) xs.push_back(c.v[j]);
  }
  const size_t n = xs.size();
  if (aggregate == AGGREGATOR_ROLLING_COUNT) {
    return win.size() >= static_cast<size_t>(minp) ? static_cast<double>(non_nan) : nan;
  }
  if (n < static_cast<size_t>(minp)) return nan;
  long double sum = 0;
  for (double x : xs) sum += x;
  long double mean = n ? sum / n : 0;
  long double ss = 0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  std::sort(xs.begin(), xs.end());
  switch (aggregate) {
    case AGGREGATOR_ROLLING_SUM: return static_cast<double>(sum);
    case AGGREGATOR_ROLLING_MEAN: return n ? static_cast<double>(mean) : nan;
    case AGGREGATOR_ROLLING_MIN: return n ? xs.front() : nan;
    case AGGREGATOR_ROLLING_MAX: return n ? xs.back() : nan;
    case AGGREGATOR_ROLLING_VAR: return n >= 2 ? static_cast<double>(ss / (n - 1)) : nan;
    case AGGREGATOR_ROLLING_STD:
      return n >= 2 ? std::sqrt(static_cast<double>(ss / (n - 1))) : nan;
    case AGGREGATOR_ROLLING_QUANTILE: {
      if (n == 0) return nan;
      double h = q * static_cast<double>(n - 1);
      size_t k = static_cast<size_t>(h);
      if (k + 1 >= n || static_cast<double>(k) == h) return xs[k];
      return xs[k] + (xs[k + 1] - xs[k]) * (h - static_cast<double>(k));
    }
  }
  return nan;
}

}  // namespace ref_rolling

#endif  // WINDOWAGG_TESTS_REFERENCE_ROLLING_REFERENCE_HPP_
