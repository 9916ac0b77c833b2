// libFuzzer target: the input drives a random sequence of C ABI calls over a
// random configuration; after every call the answer is checked against the
// brute-force reference model (tests/reference/reference_model.hpp):
// counts, late/rejected/total counters, bounds and watermark exact, min/max
// exact, sums/means/variances within a relative tolerance, quantiles within
// alpha (q = 0 / 1 exact), statuses as the header says, refused calls leave
// the state unchanged.
//
// Input layout: 8 config bytes, then one opcode byte per call followed by
// the call's operand bytes (zeros once the input is exhausted).
#include <windowagg/windowagg.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "fuzz_common.hpp"
#include "reference_model.hpp"

namespace {

using fz::Input;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
const double kQs[] = {0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0};
constexpr size_t kNq = sizeof(kQs) / sizeof(kQs[0]);

struct Summary {  // what the model says about one window
  ref::Stats st;
  std::vector<double> sorted;
};

std::string DescribeRef(const ref::Stats& s) {
  char b[512];
  std::snprintf(b, sizeof b,
                "{count=%llu sum=%.17g mean=%.17g min=%.17g max=%.17g var=%.17g ws=%lld we=%lld "
                "late=%llu rej=%llu total=%llu wm=%lld}",
                (unsigned long long)s.s.count, (double)s.s.sum, s.s.mean, s.s.min, s.s.max,
                s.s.variance, (long long)s.window_start, (long long)s.window_end,
                (unsigned long long)s.late, (unsigned long long)s.rejected,
                (unsigned long long)s.total, (long long)s.watermark);
  return b;
}

// Values: count/min/max exact, sum/mean/variance relative to the data's scale.
void CompareValues(const aggregator_stats& got, const ref::Summary& s, const char* what,
                   const ref::Stats* full) {
  auto fail = [&](const char* field) {
    fz::Die("%s: %s differs\n  got  %s\n  want %s", what, field, fz::Describe(got).c_str(),
            full ? DescribeRef(*full).c_str() : "(window values)");
  };
  const double rel = 1e-9;
  if (got.count != s.count) fail("count");
  if (s.count == 0) {
    if (got.sum != 0 || !std::isnan(got.mean) || !std::isnan(got.min) || !std::isnan(got.max) ||
        !std::isnan(got.variance) || !std::isnan(got.stddev))
      fail("empty-window fields");
    return;
  }
  if (!(std::fabs(got.sum - (double)s.sum) <= rel * s.abs_sum + 1e-300)) fail("sum");
  if (!(std::fabs(got.mean - s.mean) <= rel * (s.abs_sum / (double)s.count) + 1e-300))
    fail("mean");
  if (got.min != s.min) fail("min");
  if (got.max != s.max) fail("max");
  if (s.count < 2) {
    if (!std::isnan(got.variance) || !std::isnan(got.stddev)) fail("variance(n<2)");
  } else {
    double tol = rel * s.sq_mean * 10 + 1e-300;
    if (!(std::fabs(got.variance - s.variance) <= tol)) fail("variance");
    if (!(std::fabs(got.stddev - s.stddev) <= std::sqrt(tol) + rel * s.stddev)) fail("stddev");
  }
}

void CompareStats(const aggregator_stats& got, const ref::Stats& want, bool bounds,
                  const char* what) {
  CompareValues(got, want.s, what, &want);
  auto fail = [&](const char* field) {
    fz::Die("%s: %s differs\n  got  %s\n  want %s", what, field, fz::Describe(got).c_str(),
            DescribeRef(want).c_str());
  };
  if (got.late != want.late) fail("late");
  if (got.rejected != want.rejected) fail("rejected");
  if (got.total != want.total) fail("total");
  if (bounds) {
    if (got.window_start != want.window_start) fail("window_start");
    if (got.window_end != want.window_end) fail("window_end");
    if (got.watermark != want.watermark) fail("watermark");
  }
}

bool QuantileOk(double got, double x, double alpha) {
  if (std::fabs(x) < DBL_MIN && std::fabs(got) < DBL_MIN) return true;
  return std::fabs(got - x) <= (alpha + 1e-12) * std::fabs(x);
}

void CheckQuantile(double got, double q, const std::vector<double>& sorted, double alpha,
                   const char* what) {
  size_t n = sorted.size();
  if (n == 0) {
    FZ_CHECK(std::isnan(got), "%s: q=%g on an empty window gave %.17g, want NaN", what, q, got);
    return;
  }
  if (q == 0.0) {
    FZ_CHECK(got == sorted.front(), "%s: q=0 gave %.17g, want min %.17g", what, got,
             sorted.front());
    return;
  }
  if (q == 1.0) {
    FZ_CHECK(got == sorted.back(), "%s: q=1 gave %.17g, want max %.17g", what, got,
             sorted.back());
    return;
  }
  double r = q * (double)(n - 1);
  size_t idx = ref::rank_index(q, n);
  if (QuantileOk(got, sorted[idx], alpha)) return;
  double frac = r - std::floor(r);
  if (frac > 1 - 1e-9 && idx + 1 < n && QuantileOk(got, sorted[idx + 1], alpha)) return;
  if (frac < 1e-9 && idx > 0 && QuantileOk(got, sorted[idx - 1], alpha)) return;
  fz::Die("%s: q=%g n=%zu rank %zu gave %.17g, want %.17g within alpha %g", what, q, n, idx, got,
          sorted[idx], alpha);
}

class Harness {
 public:
  explicit Harness(Input& in) : in_(in) {
    aggregator_config_init(&cfg_);
    ref::Config rc;
    uint8_t k = in.U8();
    cfg_.window_kind = k % 4;
    static const int64_t kSizes[] = {1, 2, 3, 4, 6, 10, 12, 60, 100, 1000, 3600, int64_t{1} << 40};
    int64_t d = kSizes[in.U8() % (sizeof kSizes / sizeof kSizes[0])];
    if (cfg_.window_kind == AGGREGATOR_WINDOW_COUNT) d = 1 + in.U8() % 70;  // small and large rings
    cfg_.window_size = d;
    uint8_t sub = in.U8();
    if (cfg_.window_kind == AGGREGATOR_WINDOW_HOPPING) {
      int64_t m = 1 + sub % 6;
      while (d % m != 0) --m;
      cfg_.slide = d / m;
    }
    if (cfg_.window_kind == AGGREGATOR_WINDOW_SLIDING && (sub & 0x80)) {
      int64_t m = 1 + (sub & 0x7f) % 12;
      while (d % m != 0) --m;
      cfg_.pane_width = d / m;
    }
    static const int64_t kLate[] = {0, 0, 1, 5, 100, 1000000, kMax};
    cfg_.allowed_lateness = kLate[in.U8() % 7];
    uint8_t flags = in.U8();
    cfg_.quantiles = flags & 1;
    cfg_.nonfinite_policy = (flags >> 1) & 1;
    cfg_.threading = (flags >> 2) & 1;
    timestamps_ = (flags >> 3) & 1;
    named_ = (flags >> 4) & 1;
    static const double kAlpha[] = {0.01, 0.05, 0.001, 0.5, 1e-4};
    cfg_.relative_accuracy = kAlpha[(flags >> 5) % 5];
    scale_ = in.U8() % 4;
    int rc_create = aggregator_create(&cfg_, &h_);
    if (rc_create == AGGREGATOR_ECONFIG && cfg_.window_kind == AGGREGATOR_WINDOW_SLIDING &&
        cfg_.pane_width == 0 && d == (int64_t{1} << 40)) {
      // Older libraries refused D = 2^40 with pane_width 0 ("no divisor near
      // window_size/60"; docs/bad-input.md, "default pane width"); the
      // default is D/64 = 2^34 now, so this only keeps old regressions going.
      cfg_.pane_width = int64_t{1} << 34;
      rc_create = aggregator_create(&cfg_, &h_);
    }
    FZ_CHECK(rc_create == AGGREGATOR_OK, "create failed: %d", rc_create);
    rc.kind = cfg_.window_kind;
    rc.window_size = cfg_.window_size;
    rc.slide = cfg_.slide;
    rc.pane_width = cfg_.pane_width;
    rc.lateness = cfg_.allowed_lateness;
    rc.skip_nonfinite = cfg_.nonfinite_policy == AGGREGATOR_NONFINITE_SKIP;
    model_ = std::make_unique<ref::Model>(rc);
    // Key pool: numeric ids, or byte names (ids = their hash).
    static const char* kNames[] = {"", "a", "series/1", "\xff\x00z", "latency.p99"};
    for (int i = 0; i < 5; ++i) {
      if (named_) {
        std::string n(kNames[i], i == 3 ? 3 : std::strlen(kNames[i]));
        names_.push_back(n);
        ids_.push_back(aggregator_key_hash(n.data(), n.size()));
      } else {
        static const uint64_t kIds[] = {0, 1, 2, 0x8000000000000000ull, 0xFFFFFFFFFFFFFFFEull};
        ids_.push_back(kIds[i]);
      }
    }
  }
  ~Harness() { aggregator_free(h_); }

  void Run() {
    trace_ = std::getenv("FZ_DEBUG") != nullptr;
    if (trace_)
      std::fprintf(stderr, "config kind %u D %lld S %lld P %lld L %lld q %u nonfinite %u ts %d named %d\n",
                   cfg_.window_kind, (long long)cfg_.window_size, (long long)cfg_.slide,
                   (long long)cfg_.pane_width, (long long)cfg_.allowed_lateness, cfg_.quantiles,
                   cfg_.nonfinite_policy, (int)timestamps_, (int)named_);
    if (trace_) std::fprintf(stderr, "alpha %g\n", cfg_.relative_accuracy);
    int steps = 0;
    while (!in_.empty() && steps++ < 400) {
      uint8_t op = in_.U8();
      if (trace_) std::fprintf(stderr, "op %d\n", op % 16);
      switch (op % 16) {
        case 0: case 1: case 2: case 3: Push(); break;
        case 4: Advance(); break;
        case 5: AllStats(); break;
        case 6: KeyStats(); break;
        case 7: Quantiles(); break;
        case 8: Poll(); break;
        case 9: Remove(); break;
        case 10: RoundTrip(); break;
        case 11: ListStats(); break;
        case 12: BadCalls(); break;
        case 13: MergeIntoFresh(); break;
        case 14: ProcessBatch(); break;
        default: KeyCount(); break;
      }
      if (trace_) {
        uint64_t bytes = 0;
        aggregator_memory_usage(h_, &bytes);
        std::fprintf(stderr, "  memory_usage %llu\n", (unsigned long long)bytes);
      }
      if (trace_) {  // find the first call after which the answers differ
        CheckEveryKey();
        AllStats();
      }
    }
    if (trace_) {
      uint64_t bytes = 0;
      aggregator_memory_usage(h_, &bytes);
      std::fprintf(stderr, "memory_usage %llu bytes, serialized %zu bytes\n",
                   (unsigned long long)bytes, fz::Serialize(h_).size());
    }
    // Final: everything agrees, then close every window and compare.
    AllStats();
    ListStats();
    if (Closes() && mode_ == 1) {
      FZ_STATUS(aggregator_advance(h_, kMax), AGGREGATOR_OK);
      model_->advance(kMax);
      Poll();
    }
  }

 private:
  bool Closes() const {
    return cfg_.window_kind == AGGREGATOR_WINDOW_TUMBLING ||
           cfg_.window_kind == AGGREGATOR_WINDOW_HOPPING;
  }
  bool TimeKind() const { return cfg_.window_kind != AGGREGATOR_WINDOW_COUNT; }

  double Value() {
    uint8_t sel = in_.U8();
    static const double kScale[] = {1.0, 1e-3, 1e6, 1e9};
    switch (sel % 32) {
      case 0: return std::numeric_limits<double>::quiet_NaN();
      case 1: return std::numeric_limits<double>::infinity();
      case 2: return -std::numeric_limits<double>::infinity();
      case 3: return -0.0;
      case 4: return 0.0;
      case 5: return 4.9406564584124654e-324 * (1 + in_.U8());  // subnormal
      case 6: return -2.2250738585072014e-308;                 // -DBL_MIN
      case 7: return (double)(int16_t)in_.U16();
      default: {
        double v = (double)(int32_t)in_.U32() / 65536.0;
        return v * kScale[scale_];
      }
    }
  }

  // Tumbling/hopping: timestamps and advances stop at INT64_MAX - 1 until the
  // final flush. At W = INT64_MAX every window whose end + lateness saturates
  // is already closed, and the library counts a value landing in it as late
  // (the header says so since issue 12 item 15); the reference model instead
  // re-opens and re-closes the window, so the fuzzer stays below INT64_MAX.
  // Covered by tests/catalogue ("closed window at the saturated end").
  int64_t Time() {
    int64_t t = RawTime();
    if (Closes() && t == kMax) t = kMax - 1;
    // Hopping windows that would start below INT64_MIN (k*S < INT64_MIN,
    // e.g. S = 1 and t < INT64_MIN + D) have no int64 index: the library
    // emits only those with k >= INT64_MIN / S, the reference model wraps
    // k around. Keep event times at least D above INT64_MIN there.
    if (cfg_.window_kind == AGGREGATOR_WINDOW_HOPPING && t < kMin + cfg_.window_size)
      t = kMin + cfg_.window_size;
    return t;
  }

  int64_t RawTime() {
    uint8_t sel = in_.U8();
    int64_t base = model_->has_watermark() ? model_->watermark() : 0;
    int64_t span = std::max<int64_t>(cfg_.window_size, 1);
    if (span > 1000000) span = 1000000;
    switch (sel % 16) {
      case 0: return kMin;
      case 1: return kMax;
      case 2: return kMin + (int64_t)in_.U8();
      case 3: return kMax - (int64_t)in_.U8();
      case 4: return (int64_t)in_.U64();
      case 5: return base;  // duplicate
      default: {
        __int128 t = (__int128)base + (int16_t)in_.U16() % (3 * span + 1) - span / 2;
        if (t > kMax) t = kMax;
        if (t < kMin) t = kMin;
        return (int64_t)t;
      }
    }
  }

  bool HasNonFinite(const std::vector<double>& v) {
    for (double x : v)
      if (!std::isfinite(x)) return true;
    return false;
  }

  // Snapshot for "refused call leaves the state unchanged".
  std::vector<uint8_t> Snapshot() { return fz::Serialize(h_); }

  void Push() {
    size_t n = in_.U8() % 17;
    uint8_t how = in_.U8();
    bool with_ts = (how & 1) ? timestamps_ : !timestamps_;  // mostly the handle's choice
    if ((how & 0x70) != 0) with_ts = timestamps_;
    bool keyed = how & 2;
    std::vector<double> v(n);
    std::vector<int64_t> ts(n);
    std::vector<uint64_t> keys(n);
    std::vector<uint8_t> kb;
    std::vector<uint32_t> offs(n + 1);
    uint32_t off0 = in_.U8() % 3;
    offs[0] = off0;
    kb.resize(off0);
    for (size_t i = 0; i < n; ++i) {
      v[i] = Value();
      ts[i] = Time();
      size_t ki = in_.U8() % ids_.size();
      keys[i] = ids_[ki];
      if (named_) {
        kb.insert(kb.end(), names_[ki].begin(), names_[ki].end());
        offs[i + 1] = (uint32_t)kb.size();
      }
    }
    const int64_t* tp = with_ts ? ts.data() : nullptr;
    if (trace_) {
      for (size_t i = 0; i < n; ++i)
        std::fprintf(stderr, "  push v=%.17g t=%lld key=%llu\n", v[i], (long long)ts[i],
                     (unsigned long long)keys[i]);
    }
    const uint64_t* kp = keyed && !named_ ? keys.data() : nullptr;
    bool use_named = keyed && named_;

    int want = AGGREGATOR_OK;
    int mode = with_ts ? 1 : 2;
    if (n > 0 && mode_ != 0 && mode_ != mode) want = AGGREGATOR_EINVAL;
    else if (n > 0 && cfg_.nonfinite_policy == AGGREGATOR_NONFINITE_REJECT && HasNonFinite(v))
      want = AGGREGATOR_EVALUE;

    std::vector<uint8_t> before;
    if (want != AGGREGATOR_OK) before = Snapshot();
    int rc = use_named ? aggregator_push_named(h_, v.data(), tp, kb.data(), offs.data(), n)
                       : aggregator_push(h_, v.data(), tp, kp, n);
    if (trace_) std::fprintf(stderr, "  push rc %d (ts %d keyed %d named %d)\n", rc, (int)with_ts, (int)keyed, (int)use_named);
    FZ_CHECK(rc == want, "push of %zu values (ts %d, keys %d, named %d) returned %d, want %d", n,
             (int)with_ts, (int)keyed, (int)use_named, rc, want);
    if (rc != AGGREGATOR_OK) {
      FZ_CHECK(Snapshot() == before, "a refused push changed the state");
      return;
    }
    if (n == 0) return;
    mode_ = mode;
    model_->push(v.data(), tp, keyed ? keys.data() : nullptr, n);
  }

  void ProcessBatch() {
    size_t n = in_.U8() % 5;
    std::vector<double> v(n);
    for (auto& x : v) x = Value();
    bool refuse = n > 0 && ((mode_ == 1) ||
                            (cfg_.nonfinite_policy == AGGREGATOR_NONFINITE_REJECT && HasNonFinite(v)));
    double mean = aggregator_process_batch(h_, v.data(), n);
    if (refuse) {
      FZ_CHECK(std::isnan(mean), "refused process_batch returned %.17g", mean);
      return;
    }
    if (n > 0) {
      mode_ = 2;
      model_->push(v.data(), nullptr, nullptr, n);
    }
    if (!model_->has_key(0)) {
      FZ_CHECK(std::isnan(mean), "process_batch without series 0 returned %.17g", mean);
      return;
    }
    ref::Summary s = ref::summarize(model_->key_window(0));
    if (s.count == 0) {
      FZ_CHECK(std::isnan(mean), "empty window mean %.17g", mean);
    } else {
      FZ_CHECK(std::fabs(mean - s.mean) <= 1e-9 * (s.abs_sum / (double)s.count) + 1e-300,
               "process_batch mean %.17g, want %.17g", mean, s.mean);
    }
  }

  void Advance() {
    int64_t w = Time();
    if (trace_) std::fprintf(stderr, "  advance %lld\n", (long long)w);
    FZ_STATUS(aggregator_advance(h_, w), AGGREGATOR_OK);
    if (TimeKind()) model_->advance(w);
    // COUNT: advance moves the handle's watermark only; windows ignore it.
    else model_->advance(w);
  }

  // The model's handle stats, as comparable with `got`.
  ref::Stats WantAll(const aggregator_stats& got) {
    ref::Stats want = model_->all_stats();
    if (model_->key_count() == 0) {
      // No series: "an empty window"; the header leaves its bounds open (the
      // library reports 0, 0), so only the watermark is compared.
      want.window_start = got.window_start;
      want.window_end = got.window_end;
    }
    return want;
  }

  void AllStats() {
    aggregator_stats got;
    FZ_STATUS(aggregator_get_stats(h_, &got), AGGREGATOR_OK);
    CompareStats(got, WantAll(got), TimeKind(), "get_stats");
  }

  void KeyStats() {
    uint64_t k = ids_[in_.U8() % ids_.size()];
    aggregator_stats got;
    int rc = aggregator_get_key_stats(h_, k, &got);
    if (!model_->has_key(k)) {
      FZ_CHECK(rc == AGGREGATOR_ENOTFOUND, "unknown key %llu gave %d", (unsigned long long)k, rc);
      return;
    }
    FZ_CHECK(rc == AGGREGATOR_OK, "key stats rc %d", rc);
    CompareStats(got, model_->key_stats(k), true, "get_key_stats");
  }

  void Quantiles() {
    uint8_t sel = in_.U8();
    std::vector<double> q(kQs, kQs + kNq);
    bool bad = false;
    if (sel & 0x10) {
      static const double kBad[] = {-0.0001, 1.0001, std::numeric_limits<double>::quiet_NaN(),
                                    -std::numeric_limits<double>::infinity()};
      q.push_back(kBad[(sel >> 5) & 3]);
      bad = true;
    }
    if (sel & 0x08) q.push_back((double)in_.U16() / 65535.0);
    std::vector<double> out(q.size(), -12345.0);
    bool key = sel & 1;
    uint64_t k = ids_[(sel >> 1) % ids_.size()];
    int rc = key ? aggregator_get_key_quantiles(h_, k, q.data(), q.size(), out.data())
                 : aggregator_get_quantiles(h_, q.data(), q.size(), out.data());
    int want = !cfg_.quantiles ? AGGREGATOR_EUNSUPPORTED
               : bad            ? AGGREGATOR_EINVAL
               : (key && !model_->has_key(k)) ? AGGREGATOR_ENOTFOUND
                                              : AGGREGATOR_OK;
    if (rc != want && want != AGGREGATOR_OK && rc != AGGREGATOR_OK) {
      // Several reasons apply: any of them is a fair answer.
      bool fair = rc == AGGREGATOR_EUNSUPPORTED || rc == AGGREGATOR_EINVAL ||
                  (rc == AGGREGATOR_ENOTFOUND && key && !model_->has_key(k));
      FZ_CHECK(fair, "quantiles returned %d, want %d", rc, want);
      return;
    }
    FZ_CHECK(rc == want, "quantiles (key %d) returned %d, want %d", (int)key, rc, want);
    if (rc != AGGREGATOR_OK) return;
    std::vector<double> w = key ? model_->key_window(k) : model_->all_window();
    std::sort(w.begin(), w.end());
    for (size_t i = 0; i < q.size(); ++i)
      CheckQuantile(out[i], q[i], w, cfg_.relative_accuracy, key ? "key quantiles" : "quantiles");
  }

  void Poll() {
    uint8_t sel = in_.U8();
    size_t cap = 1 + sel % 5;
    bool with_q = (sel & 0x20) && cfg_.quantiles;
    std::vector<aggregator_window> buf(cap);
    std::vector<double> qbuf(cap * kNq);
    if (!Closes()) {
      size_t n = 99;
      FZ_STATUS(aggregator_poll_windows(h_, buf.data(), cap, nullptr, 0, nullptr, &n),
                AGGREGATOR_EUNSUPPORTED);
      return;
    }
    if (with_q == false && cfg_.quantiles == 0 && (sel & 0x20)) {
      size_t n = 99;
      int rc = aggregator_poll_windows(h_, buf.data(), cap, kQs, kNq, qbuf.data(), &n);
      FZ_CHECK(rc == AGGREGATOR_EUNSUPPORTED, "poll with quantiles on a no-quantile handle: %d",
               rc);
      return;
    }
    uint64_t pending = 0, dropped = 0;
    FZ_STATUS(aggregator_pending_windows(h_, &pending, &dropped), AGGREGATOR_OK);
    std::vector<ref::ClosedWindow> want = model_->take_closed();
    if (trace_) {
      for (auto& w : want)
        std::fprintf(stderr, "  model closed key %llu [%lld, %lld) n=%zu\n",
                     (unsigned long long)w.key, (long long)w.start, (long long)w.end,
                     w.values.size());
    }
    FZ_CHECK(pending == want.size(), "pending %llu, model closed %zu",
             (unsigned long long)pending, want.size());
    std::vector<aggregator_window> got;
    std::vector<double> gotq;
    for (int guard = 0; guard < 100000; ++guard) {
      size_t n = 0;
      FZ_STATUS(aggregator_poll_windows(h_, buf.data(), cap, with_q ? kQs : nullptr,
                                        with_q ? kNq : 0, qbuf.data(), &n),
                AGGREGATOR_OK);
      FZ_CHECK(n <= cap, "poll gave %zu > cap %zu", n, cap);
      if (n == 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + n);
      if (with_q) gotq.insert(gotq.end(), qbuf.begin(), qbuf.begin() + n * kNq);
    }
    FZ_CHECK(got.size() == want.size(), "polled %zu windows, model closed %zu", got.size(),
             want.size());
    std::map<std::tuple<uint64_t, int64_t, int64_t>, size_t> index;
    for (size_t i = 0; i < want.size(); ++i)
      index[{want[i].key, want[i].start, want[i].end}] = i;
    std::map<uint64_t, int64_t> last_start;
    for (size_t i = 0; i < got.size(); ++i) {
      const aggregator_window& g = got[i];
      auto it = index.find({g.key, g.stats.window_start, g.stats.window_end});
      FZ_CHECK(it != index.end(), "polled window key %llu [%lld, %lld) not closed by the model",
               (unsigned long long)g.key, (long long)g.stats.window_start,
               (long long)g.stats.window_end);
      auto ls = last_start.find(g.key);
      FZ_CHECK(ls == last_start.end() || ls->second <= g.stats.window_start,  // clamped starts may tie
               "windows of key %llu not queued in order of start", (unsigned long long)g.key);
      last_start[g.key] = g.stats.window_start;
      std::vector<double> vals = want[it->second].values;
      CompareValues(g.stats, ref::summarize(vals), "polled window", nullptr);
      if (with_q) {
        std::sort(vals.begin(), vals.end());
        for (size_t j = 0; j < kNq; ++j)
          CheckQuantile(gotq[i * kNq + j], kQs[j], vals, cfg_.relative_accuracy,
                        "polled window quantiles");
      }
      index.erase(it);
    }
  }

  void Remove() {
    uint64_t k = ids_[in_.U8() % ids_.size()];
    int rc = aggregator_remove_key(h_, k);
    bool had = model_->remove_key(k);
    FZ_CHECK(rc == (had ? AGGREGATOR_OK : AGGREGATOR_ENOTFOUND), "remove_key rc %d, model had %d",
             rc, (int)had);
  }

  void KeyCount() {
    uint64_t n = 0;
    FZ_STATUS(aggregator_key_count(h_, &n), AGGREGATOR_OK);
    FZ_CHECK(n == model_->key_count(), "key_count %llu, model %zu", (unsigned long long)n,
             model_->key_count());
  }

  void CheckEveryKey() {
    for (uint64_t k : model_->keys()) {
      aggregator_stats got;
      FZ_STATUS(aggregator_get_key_stats(h_, k, &got), AGGREGATOR_OK);
      CompareStats(got, model_->key_stats(k), true, "get_key_stats (every key)");
    }
  }

  void ListStats() {
    aggregator_cursor cur{};
    size_t cap = 1 + in_.U8() % 4;
    std::vector<aggregator_key_stats> buf(cap);
    size_t seen = 0;
    for (int guard = 0; !cur.done && guard < 1000; ++guard) {
      size_t n = 0;
      FZ_STATUS(aggregator_list_stats(h_, &cur, buf.data(), cap, nullptr, 0, nullptr, &n),
                AGGREGATOR_OK);
      for (size_t i = 0; i < n; ++i) {
        FZ_CHECK(model_->has_key(buf[i].key), "listed key %llu unknown to the model",
                 (unsigned long long)buf[i].key);
        CompareStats(buf[i].stats, model_->key_stats(buf[i].key), true, "list_stats");
      }
      seen += n;
    }
    FZ_CHECK(seen == model_->key_count(), "listed %zu keys, model has %zu", seen,
             model_->key_count());
  }

  // serialize -> restore -> serialize: byte-identical; continue on the copy.
  void RoundTrip() {
    std::vector<uint8_t> s1 = fz::Serialize(h_);
    aggregator* b = nullptr;
    FZ_STATUS(aggregator_restore(s1.data(), s1.size(), cfg_.threading, &b), AGGREGATOR_OK);
    std::vector<uint8_t> s2 = fz::Serialize(b);
    FZ_CHECK(s1 == s2, "serialize after restore differs (%zu vs %zu bytes)", s1.size(),
             s2.size());
    aggregator_free(h_);
    h_ = b;
  }

  void MergeIntoFresh() {
    aggregator* f = nullptr;
    FZ_STATUS(aggregator_create(&cfg_, &f), AGGREGATOR_OK);
    FZ_STATUS(aggregator_merge(f, h_), AGGREGATOR_OK);
    aggregator_stats x, y;
    FZ_STATUS(aggregator_get_stats(h_, &x), AGGREGATOR_OK);
    CompareStats(x, WantAll(x), TimeKind(), "stats of the merge source");
    FZ_STATUS(aggregator_get_stats(f, &y), AGGREGATOR_OK);
    CompareStats(y, WantAll(y), TimeKind(), "stats after merge into a fresh handle");
    // The copy behaves like the original from here on.
    aggregator_free(h_);
    h_ = f;
  }

  void BadCalls() {
    std::vector<uint8_t> before = Snapshot();
    double v = 1;
    aggregator_stats st;
    FZ_STATUS(aggregator_push(nullptr, &v, nullptr, nullptr, 1), AGGREGATOR_EINVAL);
    FZ_STATUS(aggregator_push(h_, nullptr, nullptr, nullptr, 3), AGGREGATOR_EINVAL);
    FZ_STATUS(aggregator_get_stats(h_, nullptr), AGGREGATOR_EINVAL);
    FZ_STATUS(aggregator_get_stats(nullptr, &st), AGGREGATOR_EINVAL);
    FZ_STATUS(aggregator_merge(h_, h_), AGGREGATOR_EINVAL);
    FZ_STATUS(aggregator_push(h_, nullptr, nullptr, nullptr, 0), AGGREGATOR_OK);
    FZ_CHECK(Snapshot() == before, "refused calls changed the state");
  }

  Input& in_;
  aggregator_config cfg_;
  aggregator* h_ = nullptr;
  std::unique_ptr<ref::Model> model_;
  bool timestamps_ = false, named_ = false;
  int scale_ = 0;
  int mode_ = 0;
  bool trace_ = false;  // 0 unknown, 1 timestamps, 2 arrival clock
  std::vector<uint64_t> ids_;
  std::vector<std::string> names_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  Harness h(in);
  h.Run();
  return 0;
}
