// Randomized differential driver: the same random operations go to the
// library (through the C ABI) and to the brute-force reference model, and
// every read is compared.
#ifndef WINDOWAGG_TESTS_DIFF_DRIVER_HPP_
#define WINDOWAGG_TESTS_DIFF_DRIVER_HPP_

#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "test_util.hpp"

namespace diff {

enum class Order { InOrder, OutOfOrder, Late };
enum class KeyDist { None, Uniform, Zipf };

struct Params {
  const char* name = "";
  uint32_t kind = AGGREGATOR_WINDOW_COUNT;
  int64_t window_size = 600;
  int64_t slide = 0;
  int64_t pane_width = 0;
  int64_t lateness = 0;
  bool quantiles = true;
  double alpha = 0.01;
  bool timestamps = true;
  Order order = Order::InOrder;
  int64_t t0 = 0;         // first clock value
  int64_t step_max = 3;   // clock advances by U{0..step_max} per value
  int64_t jitter = 0;     // out-of-order displacement bound
  KeyDist keys = KeyDist::None;
  size_t nkeys = 1;
  bool named = false;     // keys through aggregator_push_named
  uint32_t threading = AGGREGATOR_THREADING_SHARED;
  bool removes = false;   // interleave aggregator_remove_key
  bool advances = true;   // interleave aggregator_advance (timestamps only)
  size_t values = 100000; // values pushed in total (>= 10^5 operations)
  uint64_t seed = 1;
  int max_batch = 64;
};

inline std::string describe(const Params& p) {
  std::ostringstream o;
  o << p.name << " kind=" << p.kind << " D=" << p.window_size << " S=" << p.slide
    << " P=" << p.pane_width << " L=" << p.lateness << " q=" << p.quantiles
    << " ts=" << p.timestamps << " order=" << (int)p.order << " t0=" << p.t0
    << " keys=" << (int)p.keys << "x" << p.nkeys << " named=" << p.named << " seed=" << p.seed;
  return o.str();
}

static const double kQs[] = {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0};
static const size_t kNq = sizeof(kQs) / sizeof(kQs[0]);

class Driver {
 public:
  explicit Driver(const Params& p) : p_(p), rng_(p.seed), zipf_(std::max<size_t>(p.nkeys, 1), 1.1) {
    aggregator_config c = tu::default_config();
    c.window_kind = p.kind;
    c.window_size = p.window_size;
    c.slide = p.slide;
    c.pane_width = p.pane_width;
    c.allowed_lateness = p.lateness;
    c.quantiles = p.quantiles ? 1 : 0;
    c.relative_accuracy = p.alpha;
    c.threading = p.threading;
    h_ = tu::make(c);
    ref::Config rc;
    rc.kind = p.kind;
    rc.window_size = p.window_size;
    rc.slide = p.slide;
    rc.pane_width = p.pane_width;
    rc.lateness = p.lateness;
    model_ = std::make_unique<ref::Model>(rc);
    clock_ = p.t0;
    for (size_t i = 0; i < std::max<size_t>(p.nkeys, 1); ++i) {
      if (p.named) {
        std::string name = i == 0 ? std::string() : "series/" + std::to_string(i) + "/" +
                                                        std::string(i % 7, 'x');
        names_.push_back(name);
        key_ids_.push_back(aggregator_key_hash(name.data(), name.size()));
      } else {
        key_ids_.push_back(i == 0 ? 0 : tu::mix64(i + 1000 * p.seed));
      }
    }
  }

  void run() {
    size_t pushed = 0;
    uint64_t ops = 0;
    while (pushed < p_.values) {
      int op = (int)u(0, 999);
      ++ops;
      if (op < 700) {
        pushed += push_batch();
      } else if (op < 800) {
        check_all_stats();
      } else if (op < 880) {
        check_some_key();
      } else if (op < 930) {
        if (p_.quantiles) check_quantiles();
      } else if (op < 960) {
        if (p_.timestamps && p_.advances && p_.kind != AGGREGATOR_WINDOW_COUNT) do_advance();
      } else if (op < 975) {
        if (p_.keys != KeyDist::None) check_list_stats();
      } else if (op < 985) {
        if (p_.removes && p_.keys != KeyDist::None) do_remove();
      } else {
        check_key_count();
      }
      if (failures_ > 0) break;
    }
    // Final checks, then flush every window.
    check_all_stats();
    check_list_stats();
    if (p_.kind == AGGREGATOR_WINDOW_TUMBLING || p_.kind == AGGREGATOR_WINDOW_HOPPING) {
      int64_t w = ref::kMax;
      REQUIRE(aggregator_advance(h_, w) == AGGREGATOR_OK);
      model_->advance(w);
      check_polled();
    }
    INFO(describe(p_) << " ops=" << ops);
    CHECK(pushed >= p_.values);
    CHECK(polled_windows_ + reads_ > 0);
  }

  size_t polled_windows() const { return polled_windows_; }
  uint64_t late_values() const { return late_seen_; }

 private:
  int64_t u(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  double ud(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }

  size_t batch_size() {
    int r = (int)u(0, 99);
    if (r < 5) return 0;
    if (r < 25) return 1;
    if (r < 75) return (size_t)u(2, 16);
    return (size_t)u(17, p_.max_batch);
  }

  double value() {
    int r = (int)u(0, 99);
    if (r < 3) return 0.0;
    if (r < 10) return (double)u(-5, 5);  // duplicates
    if (r < 15) return ud(-1e6, 1e6);
    if (r < 20) return ud(1e-3, 1e-1);
    return ud(-1000, 1000);
  }

  int64_t sat_add(int64_t a, int64_t b) { return ref::clamp64((ref::i128)a + b); }

  // fresh: the key has no series yet. Its first value is never late, so
  // whether a late value creates a series (unspecified) never matters.
  // The clock stops at INT64_MAX - 2: at W == INT64_MAX the windows whose end
  // clamps to INT64_MAX are closed while still accepting values, which the
  // header leaves open (tested separately with explicit cases).
  static constexpr int64_t kClockMax = ref::kMax - 2;

  int64_t timestamp(bool fresh) {
    clock_ = std::min(sat_add(clock_, u(0, p_.step_max)), kClockMax);
    int64_t back = 0;
    if (fresh) return clock_;
    switch (p_.order) {
      case Order::InOrder: back = 0; break;
      case Order::OutOfOrder: back = u(0, p_.jitter); break;
      case Order::Late: back = u(0, 9) < 7 ? u(0, p_.lateness) : u(0, p_.jitter); break;
    }
    return ref::clamp64((ref::i128)clock_ - back);
  }

  size_t key_index() {
    if (p_.keys == KeyDist::Uniform) return (size_t)u(0, (int64_t)p_.nkeys - 1);
    if (p_.keys == KeyDist::Zipf) return zipf_(rng_);
    return 0;
  }

  size_t push_batch() {
    size_t n = batch_size();
    std::vector<double> v(n);
    std::vector<int64_t> t(n);
    std::vector<uint64_t> k(n);
    std::vector<size_t> ki(n);
    std::set<uint64_t> in_batch;
    for (size_t i = 0; i < n; ++i) {
      v[i] = value();
      ki[i] = key_index();
      k[i] = key_ids_[ki[i]];
      bool fresh = !model_->has_key(k[i]) && !in_batch.count(k[i]);
      in_batch.insert(k[i]);
      if (p_.timestamps) t[i] = timestamp(fresh);
    }
    const double* vp = n ? v.data() : (u(0, 1) ? nullptr : v.data());
    const int64_t* tp = p_.timestamps ? t.data() : nullptr;
    int rc;
    if (p_.named) {
      std::string bytes = "prefix!";  // key_offsets[0] need not be 0
      std::vector<uint32_t> off;
      off.push_back((uint32_t)bytes.size());
      for (size_t i = 0; i < n; ++i) {
        bytes += names_[ki[i]];
        off.push_back((uint32_t)bytes.size());
      }
      rc = aggregator_push_named(h_, vp, tp, (const uint8_t*)bytes.data(), off.data(), n);
    } else {
      const uint64_t* kp = p_.keys == KeyDist::None ? nullptr : k.data();
      rc = aggregator_push(h_, vp, tp, kp, n);
    }
    INFO(describe(p_) << " push n=" << n << ": " << tu::last_error());
    REQUIRE(rc == AGGREGATOR_OK);
    model_->push(v.data(), tp, p_.keys == KeyDist::None ? nullptr : k.data(), n);
    if (p_.kind == AGGREGATOR_WINDOW_TUMBLING || p_.kind == AGGREGATOR_WINDOW_HOPPING) check_polled();
    return n;
  }

  unsigned flags_all() const {
    // COUNT windows: the merged bounds/watermark of several series are not
    // defined by the header; with one series they are the series' own.
    if (p_.kind == AGGREGATOR_WINDOW_COUNT) {
      if (p_.keys != KeyDist::None) return tu::kCheckValues | tu::kCheckCounters;
      return tu::kCheckAll;
    }
    // Reads of a tumbling/hopping series at W == INT64_MAX describe a window
    // that is already closed; the header does not say what they return.
    return tu::kCheckAll;
  }

  bool read_undefined() const {
    return (p_.kind == AGGREGATOR_WINDOW_TUMBLING || p_.kind == AGGREGATOR_WINDOW_HOPPING) &&
           model_->has_watermark() && model_->watermark() == ref::kMax;
  }

  void check_all_stats() {
    if (read_undefined()) return;
    ++reads_;
    aggregator_stats s = tu::get_stats(h_);
    if (model_->key_count() == 0) {
      // "A handle with no series gives an empty window."
      CHECK(s.count == 0);
      return;
    }
    // One COUNT series: the merged view is the series itself.
    ref::Stats want = (p_.kind == AGGREGATOR_WINDOW_COUNT && p_.keys == KeyDist::None)
                          ? model_->key_stats(0)
                          : model_->all_stats();
    std::string e = tu::compare_stats(s, want, flags_all());
    if (!e.empty()) {
      ++failures_;
      FAIL_CHECK(describe(p_) << " aggregator_get_stats " << e);
    }
  }

  void check_key(uint64_t key) {
    if (read_undefined()) return;
    ++reads_;
    aggregator_stats s;
    int rc = aggregator_get_key_stats(h_, key, &s);
    if (!model_->has_key(key)) {
      if (rc != AGGREGATOR_ENOTFOUND) {
        ++failures_;
        FAIL_CHECK(describe(p_) << " key " << key << " should be absent, rc=" << rc);
      }
      return;
    }
    ref::Stats want = model_->key_stats(key);
    if (rc == AGGREGATOR_ENOTFOUND && want.total == 0 && want.rejected == 0) {
      // A series that only ever saw late values may not exist: the header
      // does not say whether a late value creates its series.
      return;
    }
    if (rc != AGGREGATOR_OK) {
      ++failures_;
      FAIL_CHECK(describe(p_) << " get_key_stats(" << key << ") rc=" << rc << " " << tu::last_error());
      return;
    }
    std::string e = tu::compare_stats(s, want, tu::kCheckAll);
    if (!e.empty()) {
      ++failures_;
      FAIL_CHECK(describe(p_) << " aggregator_get_key_stats(" << key << ") " << e);
    }
  }

  void check_some_key() {
    if (p_.keys == KeyDist::None) {
      if (model_->has_key(0)) check_key(0);
      return;
    }
    check_key(key_ids_[key_index()]);
  }

  void check_quantiles() {
    if (read_undefined()) return;
    ++reads_;
    double out[kNq];
    int rc = aggregator_get_quantiles(h_, kQs, kNq, out);
    REQUIRE(rc == AGGREGATOR_OK);
    std::vector<double> w = model_->all_window();
    std::sort(w.begin(), w.end());
    for (size_t j = 0; j < kNq; ++j) {
      std::string e = tu::check_quantile(out[j], kQs[j], w, p_.alpha);
      if (!e.empty()) {
        ++failures_;
        FAIL_CHECK(describe(p_) << " aggregator_get_quantiles " << e);
        return;
      }
    }
    if (p_.keys != KeyDist::None) {
      uint64_t key = key_ids_[key_index()];
      rc = aggregator_get_key_quantiles(h_, key, kQs, kNq, out);
      if (!model_->has_key(key)) {
        CHECK(rc == AGGREGATOR_ENOTFOUND);
        return;
      }
      if (rc == AGGREGATOR_ENOTFOUND && model_->key_stats(key).total == 0) return;
      REQUIRE(rc == AGGREGATOR_OK);
      std::vector<double> kw = model_->key_window(key);
      std::sort(kw.begin(), kw.end());
      for (size_t j = 0; j < kNq; ++j) {
        std::string e = tu::check_quantile(out[j], kQs[j], kw, p_.alpha);
        if (!e.empty()) {
          ++failures_;
          FAIL_CHECK(describe(p_) << " aggregator_get_key_quantiles(" << key << ") " << e);
          return;
        }
      }
    }
  }

  void do_advance() {
    int64_t w = sat_add(clock_, u(0, p_.window_size / 4));
    if (u(0, 4) == 0) w = sat_add(clock_, -u(0, p_.window_size));  // no effect if not larger
    w = std::min(w, kClockMax);  // keep W == INT64_MAX for the final flush
    REQUIRE(aggregator_advance(h_, w) == AGGREGATOR_OK);
    model_->advance(w);
    if (w > clock_) clock_ = w;
    if (p_.kind == AGGREGATOR_WINDOW_TUMBLING || p_.kind == AGGREGATOR_WINDOW_HOPPING) check_polled();
  }

  void do_remove() {
    uint64_t key = key_ids_[key_index()];
    int rc = aggregator_remove_key(h_, key);
    bool had = model_->has_key(key);
    if (had) {
      if (rc == AGGREGATOR_ENOTFOUND && model_->key_stats(key).total == 0) {
        model_->remove_key(key);
        return;
      }
      INFO(describe(p_) << " remove_key(" << key << "): " << tu::last_error());
      REQUIRE(rc == AGGREGATOR_OK);
      model_->remove_key(key);
      last_start_.erase(key);
    } else {
      CHECK(rc == AGGREGATOR_ENOTFOUND);
    }
  }

  void check_key_count() {
    uint64_t n = 0;
    REQUIRE(aggregator_key_count(h_, &n) == AGGREGATOR_OK);
    // Series that only saw late values may or may not exist.
    size_t lo = 0, hi = model_->key_count();
    for (uint64_t k : model_->keys())
      if (model_->key_stats(k).total > 0 || model_->key_stats(k).rejected > 0) ++lo;
    if (!(n >= lo && n <= hi)) {
      ++failures_;
      FAIL_CHECK(describe(p_) << " key_count " << n << " not in [" << lo << "," << hi << "]");
    }
  }

  void check_list_stats() {
    size_t cap = (size_t)u(1, 7);
    bool with_q = p_.quantiles && u(0, 1);
    std::vector<aggregator_key_stats> page(cap);
    std::vector<double> qout(cap * kNq);
    aggregator_cursor cur;
    std::memset(&cur, 0, sizeof cur);
    std::map<uint64_t, int> seen;
    for (int guard = 0; !cur.done; ++guard) {
      REQUIRE(guard < 1000000);
      size_t n = 9999;
      int rc = aggregator_list_stats(h_, &cur, page.data(), cap, with_q ? kQs : nullptr,
                                     with_q ? kNq : 0, with_q ? qout.data() : nullptr, &n);
      INFO("aggregator_list_stats: " << tu::last_error());
      REQUIRE(rc == AGGREGATOR_OK);
      REQUIRE(n <= cap);
      for (size_t i = 0; i < n; ++i) {
        uint64_t key = page[i].key;
        ++seen[key];
        if (!model_->has_key(key)) {
          ++failures_;
          FAIL_CHECK(describe(p_) << " list_stats returned unknown key " << key);
          continue;
        }
        if (read_undefined()) continue;
        std::string e = tu::compare_stats(page[i].stats, model_->key_stats(key), tu::kCheckAll);
        if (!e.empty()) {
          ++failures_;
          FAIL_CHECK(describe(p_) << " list_stats key " << key << " " << e);
        }
        if (with_q) {
          std::vector<double> kw = model_->key_window(key);
          std::sort(kw.begin(), kw.end());
          for (size_t j = 0; j < kNq; ++j) {
            std::string qe = tu::check_quantile(qout[i * kNq + j], kQs[j], kw, p_.alpha);
            if (!qe.empty()) {
              ++failures_;
              FAIL_CHECK(describe(p_) << " list_stats quantiles key " << key << " " << qe);
              break;
            }
          }
        }
      }
    }
    for (auto& kv : seen) {
      if (kv.second != 1) {
        ++failures_;
        FAIL_CHECK(describe(p_) << " list_stats returned key " << kv.first << " " << kv.second << " times");
      }
    }
    for (uint64_t key : model_->keys()) {
      if (!seen.count(key)) {
        ref::Stats st = model_->key_stats(key);
        if (st.total == 0 && st.rejected == 0) continue;  // only-late series: may not exist
        ++failures_;
        FAIL_CHECK(describe(p_) << " list_stats missed key " << key);
      }
    }
    if (p_.named && u(0, 3) == 0) check_names();
  }

  void check_names() {
    size_t cap = (size_t)u(1, 9);
    std::vector<uint64_t> keys(cap);
    std::vector<uint8_t> names(4096);
    std::vector<uint32_t> offs(cap + 1);
    aggregator_cursor cur;
    std::memset(&cur, 0, sizeof cur);
    std::map<uint64_t, std::string> by_id;
    for (size_t i = 0; i < names_.size(); ++i) by_id[key_ids_[i]] = names_[i];
    std::set<uint64_t> seen;
    for (int guard = 0; !cur.done; ++guard) {
      REQUIRE(guard < 1000000);
      size_t n = 0;
      int rc = aggregator_list_keys(h_, &cur, keys.data(), cap, names.data(), names.size(),
                                    offs.data(), &n);
      INFO("aggregator_list_keys: " << tu::last_error());
      REQUIRE(rc == AGGREGATOR_OK);
      for (size_t i = 0; i < n; ++i) {
        CHECK(seen.insert(keys[i]).second);
        REQUIRE(offs[i] <= offs[i + 1]);
        REQUIRE(offs[i + 1] <= names.size());
        std::string got((const char*)names.data() + offs[i], offs[i + 1] - offs[i]);
        REQUIRE(by_id.count(keys[i]));
        CHECK(got == by_id[keys[i]]);
        // and through aggregator_key_name
        std::vector<uint8_t> buf(by_id[keys[i]].size() + 1);
        size_t len = 777;
        REQUIRE(aggregator_key_name(h_, keys[i], buf.data(), buf.size(), &len) == AGGREGATOR_OK);
        CHECK(std::string((const char*)buf.data(), len) == by_id[keys[i]]);
      }
    }
  }

  void check_polled() {
    uint64_t pending = 0, dropped = 0;
    REQUIRE(aggregator_pending_windows(h_, &pending, &dropped) == AGGREGATOR_OK);
    std::vector<ref::ClosedWindow> want = model_->take_closed();
    if (pending != want.size() || dropped != 0) {
      ++failures_;
      FAIL_CHECK(describe(p_) << " pending_windows " << pending << " (dropped " << dropped
                              << "), reference has " << want.size() << " newly closed; W="
                              << model_->watermark());
    }
    size_t cap = (size_t)u(1, 8);
    bool with_q = p_.quantiles && u(0, 2) == 0;
    std::vector<double> qs;
    std::vector<aggregator_window> got =
        tu::poll_all(h_, cap, with_q ? kQs : nullptr, with_q ? kNq : 0, with_q ? &qs : nullptr);
    polled_windows_ += got.size();
    // Within one series, windows come in order of their start.
    for (auto& w : got) {
      auto it = last_start_.find(w.key);
      if (it != last_start_.end() && !(w.stats.window_start > it->second)) {
        ++failures_;
        FAIL_CHECK(describe(p_) << " key " << w.key << " window start " << w.stats.window_start
                                << " polled after " << it->second);
      }
      last_start_[w.key] = w.stats.window_start;
    }
    // Compare as multisets of (key, start, end) -> stats.
    std::vector<size_t> gi(got.size()), wi(want.size());
    for (size_t i = 0; i < gi.size(); ++i) gi[i] = i;
    for (size_t i = 0; i < wi.size(); ++i) wi[i] = i;
    std::sort(gi.begin(), gi.end(), [&](size_t a, size_t b) {
      return std::make_tuple(got[a].key, got[a].stats.window_start, got[a].stats.window_end) <
             std::make_tuple(got[b].key, got[b].stats.window_start, got[b].stats.window_end);
    });
    std::sort(wi.begin(), wi.end(), [&](size_t a, size_t b) {
      return std::make_tuple(want[a].key, want[a].start, want[a].end) <
             std::make_tuple(want[b].key, want[b].start, want[b].end);
    });
    if (got.size() != want.size()) {
      ++failures_;
      std::ostringstream o;
      o << describe(p_) << " polled " << got.size() << " windows, reference closed " << want.size()
        << " (W=" << model_->watermark() << ")\n  got:";
      for (size_t i = 0; i < std::min<size_t>(gi.size(), 6); ++i)
        o << " (" << got[gi[i]].key << ",[" << got[gi[i]].stats.window_start << ","
          << got[gi[i]].stats.window_end << ") n=" << got[gi[i]].stats.count << ")";
      o << "\n  want:";
      for (size_t i = 0; i < std::min<size_t>(wi.size(), 6); ++i)
        o << " (" << want[wi[i]].key << ",[" << want[wi[i]].start << "," << want[wi[i]].end
          << ") n=" << want[wi[i]].values.size() << ")";
      FAIL_CHECK(o.str());
      return;
    }
    for (size_t i = 0; i < gi.size(); ++i) {
      const aggregator_window& g = got[gi[i]];
      const ref::ClosedWindow& w = want[wi[i]];
      ref::Stats rs;
      rs.s = ref::summarize(w.values);
      rs.window_start = w.start;
      rs.window_end = w.end;
      std::string e;
      if (g.key != w.key) e = "key ";
      e += tu::compare_stats(g.stats, rs, tu::kCheckValues | tu::kCheckBounds);
      if (!e.empty()) {
        ++failures_;
        FAIL_CHECK(describe(p_) << " closed window key " << w.key << " [" << w.start << ","
                                << w.end << ") " << e);
        return;
      }
      if (with_q) {
        std::vector<double> sv = w.values;
        std::sort(sv.begin(), sv.end());
        for (size_t j = 0; j < kNq; ++j) {
          std::string qe = tu::check_quantile(qs[gi[i] * kNq + j], kQs[j], sv, p_.alpha);
          if (!qe.empty()) {
            ++failures_;
            FAIL_CHECK(describe(p_) << " closed window quantiles key " << w.key << " [" << w.start
                                    << "," << w.end << ") " << qe);
            return;
          }
        }
      }
    }
  }

  Params p_;
  std::mt19937_64 rng_;
  tu::Zipf zipf_;
  tu::Handle h_;
  std::unique_ptr<ref::Model> model_;
  int64_t clock_ = 0;
  std::vector<uint64_t> key_ids_;
  std::vector<std::string> names_;
  std::map<uint64_t, int64_t> last_start_;
  size_t polled_windows_ = 0;
  uint64_t late_seen_ = 0;
  uint64_t reads_ = 0;
  int failures_ = 0;
};

inline void run(const Params& p) {
  INFO(describe(p));
  Driver d(p);
  d.run();
}

}  // namespace diff

#endif  // WINDOWAGG_TESTS_DIFF_DRIVER_HPP_
