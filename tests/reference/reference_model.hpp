// Brute-force reference model of windowagg's window semantics.
//
// It implements the contract of include/windowagg/windowagg.h literally and
// recomputes every answer from the raw list of retained (timestamp, value)
// events of each series. It is deliberately simple: no panes, no sketches, no
// incremental aggregates. Correctness over speed.
//
// What it models (the header's words in brackets):
//  - one watermark W per handle: the largest accepted event time, or the
//    value given to advance() if larger; empty until then;
//  - the late rule, value by value in batch order: t < W - L, and for SLIDING
//    also pane(t) older than the window's oldest pane;
//  - arrival clock: without timestamps the i-th element pushed to the handle
//    (all series together, skipped non-finite elements included) has time i;
//  - COUNT windows: the last N accepted values per series, timestamps ignored;
//  - SLIDING: panes floor(t/P); window = D/P panes ending with pane(W);
//  - TUMBLING / HOPPING: windows [kS, kS+D); window closes when
//    W >= end + L (saturating at INT64_MAX); windows with data are queued;
//    reads describe [e-D, e) with e the end of the slide that contains W;
//  - stats: count, sum, mean, min, max, sample variance (n-1), stddev;
//    quantile = sorted window value at rank floor(q*(n-1)).
// The model does not model key budgets, TTL or memory limits: those are
// tested with small deterministic scenarios.
#ifndef WINDOWAGG_TESTS_REFERENCE_MODEL_HPP_
#define WINDOWAGG_TESTS_REFERENCE_MODEL_HPP_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace ref {

using i128 = __int128;

enum Kind : uint32_t { COUNT = 0, SLIDING = 1, TUMBLING = 2, HOPPING = 3 };

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

inline int64_t clamp64(i128 v) {
  if (v > (i128)kMax) return kMax;
  if (v < (i128)kMin) return kMin;
  return (int64_t)v;
}

// floor(a / b) for b > 0, exact for the whole int64 range.
inline i128 floor_div(i128 a, i128 b) {
  i128 q = a / b;
  if ((a % b) != 0 && (a < 0)) --q;
  return q;
}

struct Config {
  uint32_t kind = COUNT;
  int64_t window_size = 1024;  // D (time kinds) or N (COUNT)
  int64_t slide = 0;           // S for HOPPING
  int64_t pane_width = 0;      // P for SLIDING; 0 = largest divisor of D <= max(1, D/60)
  int64_t lateness = 0;        // L
  bool skip_nonfinite = false; // NONFINITE_SKIP; otherwise the model must not see NaN/Inf
};

// Summary of a list of values, computed exactly (long double two-pass).
struct Summary {
  uint64_t count = 0;
  long double sum = 0;      // Neumaier in long double: as exact as we need
  double mean = NAN, min = NAN, max = NAN, variance = NAN, stddev = NAN;
  double abs_sum = 0;       // sum of |x|, for tolerances
  double sq_mean = 0;       // mean of x^2, for tolerances
};

inline Summary summarize(const std::vector<double>& v) {
  Summary s;
  s.count = v.size();
  if (v.empty()) { s.sum = 0; return s; }
  long double sum = 0, c = 0, abs_sum = 0, sq = 0;
  double mn = v[0], mx = v[0];
  for (double x : v) {
    long double t = sum + x;
    if (std::fabs((double)sum) >= std::fabs(x)) c += (sum - t) + x; else c += (x - t) + sum;
    sum = t;
    abs_sum += std::fabs(x);
    sq += (long double)x * x;
    if (x < mn) mn = x;
    if (x > mx) mx = x;
  }
  sum += c;
  s.sum = sum;
  long double mean = sum / (long double)v.size();
  s.mean = (double)mean;
  s.min = mn;
  s.max = mx;
  s.abs_sum = (double)abs_sum;
  s.sq_mean = (double)(sq / (long double)v.size());
  if (v.size() >= 2) {
    long double m2 = 0, corr = 0;
    for (double x : v) { long double d = (long double)x - mean; m2 += d * d; corr += d; }
    // corrected two-pass algorithm
    long double var = (m2 - corr * corr / (long double)v.size()) / (long double)(v.size() - 1);
    if (var < 0) var = 0;
    s.variance = (double)var;
    s.stddev = std::sqrt((double)var);
  }
  return s;
}

// Exact rank quantile: value at index floor(q*(n-1)) of the sorted values.
inline size_t rank_index(double q, size_t n) {
  if (n == 0) return 0;
  double r = std::floor(q * (double)(n - 1));
  if (r < 0) r = 0;
  if (r > (double)(n - 1)) r = (double)(n - 1);
  return (size_t)r;
}

struct Stats {
  Summary s;
  int64_t window_start = 0, window_end = 0;
  uint64_t late = 0, rejected = 0, total = 0;
  int64_t watermark = kMin;
};

struct ClosedWindow {
  uint64_t key;
  int64_t start, end;         // reported (clamped) bounds
  std::vector<double> values; // the window's values
};

class Model {
 public:
  explicit Model(const Config& c) : cfg_(c) {
    if (cfg_.kind == SLIDING) {
      if (cfg_.pane_width == 0) {
        int64_t p = std::max<int64_t>(1, cfg_.window_size / 60);
        while (cfg_.window_size % p != 0) --p;
        cfg_.pane_width = p;
      }
      npanes_ = cfg_.window_size / cfg_.pane_width;
    }
    if (cfg_.kind == TUMBLING) cfg_.slide = cfg_.window_size;
  }

  const Config& config() const { return cfg_; }
  bool has_watermark() const { return has_wm_; }
  int64_t watermark() const { return wm_; }
  int64_t next_arrival() const { return next_arrival_; }

  // Pushes a batch the library accepted. ts == nullptr: arrival clock.
  // keys == nullptr: default key 0. Non-finite values must only be passed
  // when skip_nonfinite is set.
  void push(const double* v, const int64_t* ts, const uint64_t* keys, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      int64_t t = ts ? ts[i] : next_arrival_;
      ++next_arrival_;
      uint64_t key = keys ? keys[i] : 0;
      push_one(v[i], t, key);
    }
  }

  void advance(int64_t w) {
    if (!has_wm_ || w > wm_) {
      has_wm_ = true;
      wm_ = w;
      close_windows();
    }
  }

  bool has_key(uint64_t k) const { return series_.count(k) != 0; }
  size_t key_count() const { return series_.size(); }
  std::vector<uint64_t> keys() const {
    std::vector<uint64_t> out;
    for (auto& kv : series_) out.push_back(kv.first);
    return out;
  }
  bool remove_key(uint64_t k) {
    auto it = series_.find(k);
    if (it == series_.end()) return false;
    for (auto& w : it->second.open) open_index_.erase({close_at(w.first), k, w.first});
    series_.erase(it);
    return true;
  }

  // Values of series k's current window (unsorted).
  std::vector<double> key_window(uint64_t k) {
    auto it = series_.find(k);
    if (it == series_.end()) throw std::logic_error("ref: unknown key");
    return window_values(it->second);
  }
  std::vector<double> all_window() {
    std::vector<double> out;
    for (auto& kv : series_) {
      auto v = window_values(kv.second);
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }

  Stats key_stats(uint64_t k) {
    auto it = series_.find(k);
    if (it == series_.end()) throw std::logic_error("ref: unknown key");
    Series& s = it->second;
    Stats st;
    st.s = summarize(window_values(s));
    st.late = s.late;
    st.rejected = s.rejected;
    st.total = s.total;
    if (cfg_.kind == COUNT) {
      st.window_start = (int64_t)(s.total - s.ring.size());
      st.window_end = (int64_t)s.total;
      st.watermark = (int64_t)s.total;
    } else {
      bounds(st.window_start, st.window_end);
      st.watermark = has_wm_ ? wm_ : kMin;
    }
    return st;
  }

  // All series merged (bounds: time kinds only; COUNT bounds are left 0).
  Stats all_stats() {
    Stats st;
    st.s = summarize(all_window());
    for (auto& kv : series_) {
      st.late += kv.second.late;
      st.rejected += kv.second.rejected;
      st.total += kv.second.total;
    }
    if (cfg_.kind != COUNT) {
      bounds(st.window_start, st.window_end);
      st.watermark = has_wm_ ? wm_ : kMin;
    }
    return st;
  }

  // Closed windows queued since the last call, in closing order.
  std::vector<ClosedWindow> take_closed() {
    std::vector<ClosedWindow> out;
    out.swap(closed_);
    return out;
  }
  size_t pending_closed() const { return closed_.size(); }

  // Reported bounds of the current window (time kinds).
  void bounds(int64_t& start, int64_t& end) const {
    if (!has_wm_) { start = end = 0; return; }
    if (cfg_.kind == SLIDING) {
      i128 pw = floor_div(wm_, cfg_.pane_width);
      start = clamp64((pw - npanes_ + 1) * (i128)cfg_.pane_width);
      end = clamp64((pw + 1) * (i128)cfg_.pane_width);
    } else if (cfg_.kind == TUMBLING || cfg_.kind == HOPPING) {
      i128 e = (floor_div(wm_, cfg_.slide) + 1) * (i128)cfg_.slide;
      start = clamp64(e - cfg_.window_size);
      end = clamp64(e);
    } else {
      start = end = 0;
    }
  }

 private:
  struct Series {
    uint64_t late = 0, rejected = 0, total = 0;
    std::deque<double> ring;                    // COUNT
    std::multimap<int64_t, double> events;      // SLIDING: by timestamp
    std::map<int64_t, std::vector<double>> open; // TUMBLING/HOPPING: k -> values of window [kS, kS+D)
  };

  // The time at which window k closes: min(end, MAX) + L, saturating.
  int64_t close_at(int64_t k) const {
    i128 end = (i128)k * cfg_.slide + cfg_.window_size;
    return clamp64((i128)clamp64(end) + cfg_.lateness);
  }

  bool is_late(int64_t t) const {
    if (cfg_.kind == COUNT || !has_wm_) return false;
    if ((i128)t < (i128)wm_ - cfg_.lateness) return true;
    if (cfg_.kind == SLIDING) {
      i128 oldest = floor_div(wm_, cfg_.pane_width) - npanes_ + 1;
      if (floor_div(t, cfg_.pane_width) < oldest) return true;
    }
    return false;
  }

  void push_one(double x, int64_t t, uint64_t key) {
    Series& s = series_[key];
    if (!std::isfinite(x)) {
      if (!cfg_.skip_nonfinite) throw std::logic_error("ref: non-finite value under REJECT");
      ++s.rejected;
      return;
    }
    if (is_late(t)) { ++s.late; return; }
    ++s.total;
    switch (cfg_.kind) {
      case COUNT:
        s.ring.push_back(x);
        if ((int64_t)s.ring.size() > cfg_.window_size) s.ring.pop_front();
        return;
      case SLIDING:
        if (!has_wm_ || t > wm_) { has_wm_ = true; wm_ = t; }
        s.events.emplace(t, x);
        return;
      default: {
        // Add to every window containing t, then move the watermark.
        i128 m = floor_div(t, cfg_.slide);
        int64_t per = cfg_.window_size / cfg_.slide;
        for (i128 k = m - per + 1; k <= m; ++k) {
          int64_t kk = (int64_t)k;
          auto it = s.open.find(kk);
          if (it == s.open.end()) {
            it = s.open.emplace(kk, std::vector<double>{}).first;
            open_index_.insert({close_at(kk), key, kk});
          }
          it->second.push_back(x);
        }
        if (!has_wm_ || t > wm_) { has_wm_ = true; wm_ = t; }
        close_windows();
        return;
      }
    }
  }

  void close_windows() {
    while (!open_index_.empty()) {
      auto it = open_index_.begin();
      int64_t at; uint64_t key; int64_t k;
      std::tie(at, key, k) = *it;
      if (!(has_wm_ && wm_ >= at)) break;
      open_index_.erase(it);
      Series& s = series_.at(key);
      auto w = s.open.find(k);
      ClosedWindow cw;
      cw.key = key;
      i128 start = (i128)k * cfg_.slide;
      cw.start = clamp64(start);
      cw.end = clamp64(start + cfg_.window_size);
      cw.values = std::move(w->second);
      s.open.erase(w);
      closed_.push_back(std::move(cw));
    }
  }

  std::vector<double> window_values(Series& s) {
    std::vector<double> out;
    switch (cfg_.kind) {
      case COUNT:
        out.assign(s.ring.begin(), s.ring.end());
        break;
      case SLIDING: {
        if (!has_wm_) break;
        i128 oldest = floor_div(wm_, cfg_.pane_width) - npanes_ + 1;
        i128 lo = oldest * cfg_.pane_width;  // first time in the window
        if (lo > (i128)kMin) {
          auto end = s.events.lower_bound((int64_t)std::min<i128>(lo, (i128)kMax));
          if (lo > (i128)kMax) end = s.events.end();
          s.events.erase(s.events.begin(), end);  // never needed again
        }
        for (auto& e : s.events) out.push_back(e.second);
        break;
      }
      default: {
        if (!has_wm_) break;
        i128 e = (floor_div(wm_, cfg_.slide) + 1) * (i128)cfg_.slide;
        i128 start = e - cfg_.window_size;
        int64_t k = (int64_t)(start / cfg_.slide);  // exact: D % S == 0
        auto it = s.open.find(k);
        if (it != s.open.end()) out = it->second;
        break;
      }
    }
    return out;
  }

  Config cfg_;
  int64_t npanes_ = 0;
  bool has_wm_ = false;
  int64_t wm_ = kMin;
  int64_t next_arrival_ = 0;
  std::map<uint64_t, Series> series_;
  std::set<std::tuple<int64_t, uint64_t, int64_t>> open_index_;  // (close_at, key, k)
  std::vector<ClosedWindow> closed_;
};

}  // namespace ref

#endif  // WINDOWAGG_TESTS_REFERENCE_MODEL_HPP_
