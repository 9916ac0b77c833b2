// Shared helpers for the windowagg Catch2 tests (C ABI only).
#ifndef WINDOWAGG_TESTS_TEST_UTIL_HPP_
#define WINDOWAGG_TESTS_TEST_UTIL_HPP_

#include <catch2/catch.hpp>

#include <windowagg/windowagg.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <map>
#include <set>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "reference_model.hpp"

namespace tu {

// Owning handle.
struct Handle {
  aggregator* a = nullptr;
  Handle() = default;
  explicit Handle(aggregator* p) : a(p) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : a(o.a) { o.a = nullptr; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      aggregator_free(a);
      a = o.a;
      o.a = nullptr;
    }
    return *this;
  }
  ~Handle() { aggregator_free(a); }
  aggregator* get() const { return a; }
  operator aggregator*() const { return a; }
};

inline aggregator_config default_config() {
  aggregator_config c;
  std::memset(&c, 0xAB, sizeof c);  // init must set every field
  aggregator_config_init(&c);
  return c;
}

// Defaults plus a window geometry.
inline aggregator_config window_config(uint32_t kind, int64_t size, int64_t slide = 0,
                                       int64_t lateness = 0) {
  aggregator_config c = default_config();
  c.window_kind = kind;
  c.window_size = size;
  c.slide = slide;
  c.allowed_lateness = lateness;
  return c;
}

inline Handle make(const aggregator_config& c) {
  aggregator* a = nullptr;
  int rc = aggregator_create(&c, &a);
  INFO("aggregator_create: " << rc << " " << aggregator_last_error());
  REQUIRE(rc == AGGREGATOR_OK);
  REQUIRE(a != nullptr);
  return Handle(a);
}

inline std::string last_error() {
  const char* e = aggregator_last_error();
  return e ? std::string(e) : std::string("<NULL>");
}

inline aggregator_stats get_stats(const aggregator* a) {
  aggregator_stats s;
  std::memset(&s, 0, sizeof s);
  int rc = aggregator_get_stats(a, &s);
  INFO("aggregator_get_stats: " << last_error());
  REQUIRE(rc == AGGREGATOR_OK);
  return s;
}

inline aggregator_stats get_key_stats(const aggregator* a, uint64_t k) {
  aggregator_stats s;
  std::memset(&s, 0, sizeof s);
  int rc = aggregator_get_key_stats(a, k, &s);
  INFO("aggregator_get_key_stats(" << k << "): " << last_error());
  REQUIRE(rc == AGGREGATOR_OK);
  return s;
}

inline bool same_double(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return a == b;
}

// Bitwise equality of two stats structs (for "state exactly unchanged").
inline bool stats_identical(const aggregator_stats& x, const aggregator_stats& y) {
  return x.count == y.count && same_double(x.sum, y.sum) && same_double(x.mean, y.mean) &&
         same_double(x.min, y.min) && same_double(x.max, y.max) &&
         same_double(x.variance, y.variance) && same_double(x.stddev, y.stddev) &&
         x.window_start == y.window_start && x.window_end == y.window_end && x.late == y.late &&
         x.rejected == y.rejected && x.total == y.total && x.watermark == y.watermark;
}

inline std::string describe(const aggregator_stats& s) {
  std::ostringstream o;
  o.precision(17);
  o << "{count=" << s.count << " sum=" << s.sum << " mean=" << s.mean << " min=" << s.min
    << " max=" << s.max << " var=" << s.variance << " sd=" << s.stddev << " ws=" << s.window_start
    << " we=" << s.window_end << " late=" << s.late << " rej=" << s.rejected << " total=" << s.total
    << " wm=" << s.watermark << "}";
  return o.str();
}

inline std::string describe(const ref::Stats& s) {
  std::ostringstream o;
  o.precision(17);
  o << "{count=" << s.s.count << " sum=" << (double)s.s.sum << " mean=" << s.s.mean
    << " min=" << s.s.min << " max=" << s.s.max << " var=" << s.s.variance << " sd=" << s.s.stddev
    << " ws=" << s.window_start << " we=" << s.window_end << " late=" << s.late
    << " rej=" << s.rejected << " total=" << s.total << " wm=" << s.watermark << "}";
  return o.str();
}

enum CheckFlags : unsigned {
  kCheckValues = 1,    // count, sum, mean, min, max, variance, stddev
  kCheckCounters = 2,  // late, rejected, total
  kCheckBounds = 4,    // window_start, window_end
  kCheckWatermark = 8,
  kCheckAll = 15,
};

// Returns an empty string when the library's stats agree with the
// reference, else a description of the first difference.
inline std::string compare_stats(const aggregator_stats& got, const ref::Stats& want,
                                 unsigned flags = kCheckAll, double rel = 1e-9) {
  std::ostringstream err;
  const ref::Summary& s = want.s;
  if (flags & kCheckValues) {
    if (got.count != s.count) err << "count ";
    if (s.count == 0) {
      if (got.sum != 0) err << "sum(empty) ";
      if (!std::isnan(got.mean)) err << "mean(empty) ";
      if (!std::isnan(got.min)) err << "min(empty) ";
      if (!std::isnan(got.max)) err << "max(empty) ";
      if (!std::isnan(got.variance)) err << "variance(empty) ";
      if (!std::isnan(got.stddev)) err << "stddev(empty) ";
    } else {
      double sum_tol = rel * s.abs_sum + 1e-300;
      if (!(std::fabs(got.sum - (double)s.sum) <= sum_tol)) err << "sum ";
      double mean_tol = rel * (s.abs_sum / (double)s.count) + 1e-300;
      if (!(std::fabs(got.mean - s.mean) <= mean_tol)) err << "mean ";
      if (got.min != s.min) err << "min ";
      if (got.max != s.max) err << "max ";
      if (s.count < 2) {
        if (!std::isnan(got.variance)) err << "variance(n<2 must be NaN) ";
        if (!std::isnan(got.stddev)) err << "stddev(n<2 must be NaN) ";
      } else {
        double var_tol = rel * s.sq_mean * 10 + 1e-300;
        if (!(std::fabs(got.variance - s.variance) <= var_tol)) err << "variance ";
        double sd_tol = std::sqrt(var_tol) + rel * s.stddev;
        if (!(std::fabs(got.stddev - s.stddev) <= sd_tol)) err << "stddev ";
      }
    }
  }
  if (flags & kCheckCounters) {
    if (got.late != want.late) err << "late ";
    if (got.rejected != want.rejected) err << "rejected ";
    if (got.total != want.total) err << "total ";
  }
  if (flags & kCheckBounds) {
    if (got.window_start != want.window_start) err << "window_start ";
    if (got.window_end != want.window_end) err << "window_end ";
  }
  if ((flags & kCheckWatermark) && got.watermark != want.watermark) err << "watermark ";
  std::string e = err.str();
  if (e.empty()) return e;
  return "mismatch in [" + e + "]\n  got  " + describe(got) + "\n  want " + describe(want);
}

// Quantile check against the exact rank value. `sorted` is the sorted window.
// Returns "" on success. For q == 0 / q == 1 the answer must be the exact
// min / max. Otherwise |x' - x| <= alpha*|x| (+1e-12 relative slack) where x is
// the value at rank floor(q*(n-1)); when q*(n-1) is within 1e-9 of an integer,
// the neighbouring rank is accepted too (floating-point rounding of the rank).
// Values with |x| < DBL_MIN are counted as zero by the sketch: then any
// |x'| < DBL_MIN is accepted.
inline bool quantile_ok(double got, double x, double alpha) {
  if (std::fabs(x) < DBL_MIN && std::fabs(got) < DBL_MIN) return true;
  return std::fabs(got - x) <= (alpha + 1e-12) * std::fabs(x);
}

inline std::string check_quantile(double got, double q, const std::vector<double>& sorted,
                                  double alpha) {
  std::ostringstream err;
  err.precision(17);
  size_t n = sorted.size();
  if (n == 0) {
    if (!std::isnan(got)) err << "q=" << q << " on empty window: got " << got << " want NaN";
    return err.str();
  }
  if (q == 0.0) {
    if (got != sorted.front()) err << "q=0 got " << got << " want exact min " << sorted.front();
    return err.str();
  }
  if (q == 1.0) {
    if (got != sorted.back()) err << "q=1 got " << got << " want exact max " << sorted.back();
    return err.str();
  }
  double r = q * (double)(n - 1);
  size_t idx = ref::rank_index(q, n);
  if (quantile_ok(got, sorted[idx], alpha)) return "";
  double frac = r - std::floor(r);
  if (frac > 1 - 1e-9 && idx + 1 < n && quantile_ok(got, sorted[idx + 1], alpha)) return "";
  if (frac < 1e-9 && idx > 0 && quantile_ok(got, sorted[idx - 1], alpha)) return "";
  err << "q=" << q << " n=" << n << " rank=" << idx << " got " << got << " want " << sorted[idx]
      << " (rel err " << std::fabs(got - sorted[idx]) / std::fabs(sorted[idx]) << " > alpha "
      << alpha << ")";
  return err.str();
}

// Zipf(s) sampler over {0..n-1} via a precomputed CDF.
class Zipf {
 public:
  Zipf(size_t n, double s) : cdf_(n) {
    double acc = 0;
    for (size_t i = 0; i < n; ++i) {
      acc += 1.0 / std::pow((double)(i + 1), s);
      cdf_[i] = acc;
    }
    for (auto& c : cdf_) c /= acc;
  }
  template <class R>
  size_t operator()(R& rng) {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    size_t i = (size_t)(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    return std::min(i, cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

// splitmix64: distinct, well-spread key ids.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Drains every closed window of `a` with pages of `cap` (and nq quantiles).
inline std::vector<aggregator_window> poll_all(aggregator* a, size_t cap, const double* q,
                                               size_t nq, std::vector<double>* qs) {
  std::vector<aggregator_window> out;
  std::vector<aggregator_window> buf(cap);
  std::vector<double> qbuf(cap * nq + 1);
  for (int guard = 0; guard < 10000000; ++guard) {
    size_t n = 12345;
    int rc = aggregator_poll_windows(a, buf.data(), cap, q, nq, nq ? qbuf.data() : nullptr, &n);
    INFO("aggregator_poll_windows: " << last_error());
    REQUIRE(rc == AGGREGATOR_OK);
    REQUIRE(n <= cap);
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
    if (qs) qs->insert(qs->end(), qbuf.begin(), qbuf.begin() + n * nq);
  }
  return out;
}

}  // namespace tu

#endif  // WINDOWAGG_TESTS_TEST_UTIL_HPP_
