// Format version 1 (all integers and doubles little-endian):
//
//   header   magic "WAGG" | u32 version | u64 total length | u64 config fingerprint
//   config   u32 kind | i64 window_size | i64 slide | i64 pane_width |
//            i64 allowed_lateness | f64 relative_accuracy | u8 quantiles |
//            u32 nonfinite | u64 max_keys | u32 key_policy | i64 key_ttl |
//            u64 memory_limit | u64 max_pending_windows
//   handle   u8 has_watermark | i64 watermark | u64 clock | u32 timestamp_mode |
//            u64 tick | u64 dropped_windows (legacy: windows dropped from a full
//            queue before issue 12; carried, never increased)
//   series   u64 count, then per series, sorted by key:
//            u64 key | u32 name length | name | u64 late | u64 rejected |
//            u64 total | i64 last_event | u64 last_touch | window
//     COUNT  u64 window total | u64 n | f64 values[n], oldest first
//     panes  i64 closed_below | u32 pane count | per pane: i64 index | moments | sketch
//   queue    u64 count | per closed window: u64 key | stats | sketch
//   trailer  u64 XXH3-64 of every byte before it
//
//   moments  u64 count | f64 sum | f64 comp | f64 mean | f64 m2 | f64 min | f64 max
//   sketch   u64 zero count | store (positive) | store (negative)
//   store    u32 n | n x (i32 bucket index, strictly increasing | u64 count > 0)
//   stats    the aggregator_stats fields in declaration order
//
// Raw panes and windows (issue 14: a pane with few values keeps the values
// themselves, see Sketch) have no format of their own: their sketch is
// written as the bucket counts their values fall into, the bytes a bucket
// sketch of the same values writes. So v1 stays byte-identical (golden
// files, every reader) and a restored pane or window is in bucket form: its
// quantiles are within alpha, no longer exact. (A v2 storing raw values
// would keep exactness across restore; it needs a v1 reader in every
// binding and doubles the restore paths, for windows that are at most one
// window length old.)
//
// Restore parses everything twice: once to validate every length, count and
// invariant without allocating, once to build. Series are written sorted by
// key and stores as their non-zero buckets, so restoring and writing again
// gives the same bytes.
#include "state/state.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>


#include "absl/strings/str_format.h"
#include "core/error.h"
#include "core/kernels.h"
#include "core/key_hash.h"
#include "core/time_math.h"

namespace windowagg::internal {

namespace {
constexpr char kMagic[4] = {'W', 'A', 'G', 'G'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 4 + 4 + 8 + 8;
constexpr size_t kTrailerSize = 8;
constexpr uint32_t kMaxStoreBuckets = 1u << 24;  // far above any real range


// Appends little-endian fields; counts only when `out` is null. Writing is
// bounds-checked: a field that would pass `cap` is not written, the sink
// stops writing and records the overflow (it keeps counting, so size() is
// then the size the whole state needs). Whatever the caller's view of the
// state, no byte past buf[cap) is ever written.
class Sink {
 public:
  Sink() = default;  // counting only
  Sink(uint8_t* out, size_t cap) : out_(out), cap_(cap) {}
  size_t size() const { return n_; }
  const uint8_t* data() const { return out_; }
  bool overflowed() const { return overflowed_; }

  void Bytes(const void* p, size_t len) {
    if (out_ != nullptr && !overflowed_) {
      if (len > cap_ - n_) {
        overflowed_ = true;
      } else if (len != 0) {
        std::memcpy(out_ + n_, p, len);
      }
    }
    n_ += len;
  }
  void U8(uint8_t v) { Bytes(&v, 1); }
  void U32(uint32_t v) { Le(v); }
  void U64(uint64_t v) { Le(v); }
  void I32(int32_t v) { Le(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { Le(static_cast<uint64_t>(v)); }
  void F64(double v) { Le(std::bit_cast<uint64_t>(v)); }

 private:
  template <class U>
  void Le(U v) {
    uint8_t b[sizeof(U)];
    for (size_t i = 0; i < sizeof(U); ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    Bytes(b, sizeof(U));
  }
  uint8_t* out_ = nullptr;
  size_t cap_ = 0;
  size_t n_ = 0;
  bool overflowed_ = false;
};

// Bounds-checked little-endian reads; every failure names what was read.
class Source {
 public:
  Source(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  size_t remaining() const { return n_ - pos_; }
  size_t position() const { return pos_; }

  const uint8_t* Bytes(size_t len, const char* what) {
    if (len > remaining()) {
      Fail(Status::kCorrupt, "truncated state: %s needs %u bytes at offset %u, %u remain", what,
           len, pos_, remaining());
    }
    const uint8_t* p = p_ + pos_;
    pos_ += len;
    return p;
  }
  uint8_t U8(const char* what) { return Bytes(1, what)[0]; }
  uint32_t U32(const char* what) { return Le<uint32_t>(what); }
  uint64_t U64(const char* what) { return Le<uint64_t>(what); }
  int32_t I32(const char* what) { return static_cast<int32_t>(Le<uint32_t>(what)); }
  int64_t I64(const char* what) { return static_cast<int64_t>(Le<uint64_t>(what)); }
  double F64(const char* what) { return std::bit_cast<double>(Le<uint64_t>(what)); }
  double Finite(const char* what) {
    double v = F64(what);
    if (!std::isfinite(v)) Fail(Status::kCorrupt, "%s is not finite (%g)", what, v);
    return v;
  }

 private:
  template <class U>
  U Le(const char* what) {
    const uint8_t* b = Bytes(sizeof(U), what);
    U v = 0;
    for (size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(b[i]) << (8 * i);
    return v;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

void WriteConfig(Sink& s, const Config& c) {
  s.U32(static_cast<uint32_t>(c.kind));
  s.I64(c.window_size);
  s.I64(c.slide);
  s.I64(c.pane_width);
  s.I64(c.allowed_lateness);
  s.F64(c.relative_accuracy);
  s.U8(c.quantiles ? 1 : 0);
  s.U32(static_cast<uint32_t>(c.nonfinite));
  s.U64(c.max_keys);
  s.U32(static_cast<uint32_t>(c.key_policy));
  s.I64(c.key_ttl);
  s.U64(c.memory_limit);
  s.U64(c.max_pending_windows);
}

uint64_t Fingerprint(const Config& c) {
  uint8_t buf[128];
  Sink s(buf, sizeof buf);
  WriteConfig(s, c);
  return XXH3_64bits(buf, s.size());
}

void WriteMoments(Sink& s, const Moments& m) {
  s.U64(m.count);
  s.F64(m.sum);
  s.F64(m.comp);
  s.F64(m.mean);
  s.F64(m.m2);
  s.F64(m.min);
  s.F64(m.max);
}

// One sign's buckets of a sketch. A raw sketch (a pane or window that
// kept its values) writes the buckets its values fall into: the bytes a
// bucket-form sketch of the same values writes, so format v1 is unchanged
// and a restored pane or window is in bucket form.
void WriteStore(Sink& s, const Sketch& k, bool negative) {
  uint32_t n = 0;
  k.ForEachBucket(negative, [&](int32_t, uint64_t) { ++n; });
  s.U32(n);
  k.ForEachBucket(negative, [&](int32_t i, uint64_t c) {
    s.I32(i);
    s.U64(c);
  });
}

void WriteSketch(Sink& s, const Sketch& k) {
  s.U64(k.zero_count());
  WriteStore(s, k, false);
  WriteStore(s, k, true);
}

void WriteStats(Sink& s, const Stats& st) {
  s.U64(st.count);
  s.F64(st.sum);
  s.F64(st.mean);
  s.F64(st.min);
  s.F64(st.max);
  s.F64(st.variance);
  s.F64(st.stddev);
  s.I64(st.window_start);
  s.I64(st.window_end);
  s.U64(st.late);
  s.U64(st.rejected);
  s.U64(st.total);
  s.I64(st.watermark);
}

// A parsed sketch: views into the input, valid while it lives.
struct SketchView {
  uint64_t zero = 0;
  uint32_t npos = 0, nneg = 0;
  const uint8_t* pos = nullptr;  // npos x (i32, u64)
  const uint8_t* neg = nullptr;
  uint64_t total = 0;
};

constexpr size_t kEntrySize = 12;

// Bucket indexes a finite double can have under this accuracy.
struct IndexRange {
  int32_t lo;
  int32_t hi;
  explicit IndexRange(const SketchMapping& map)
      : lo(map.Index(kMinIndexable)), hi(map.Index(std::numeric_limits<double>::max())) {}
};

void ReadStore(Source& in, uint32_t* n, const uint8_t** entries, uint64_t* total,
               const IndexRange& valid, const char* what) {
  *n = in.U32(what);
  if (*n > kMaxStoreBuckets || size_t{*n} * kEntrySize > in.remaining()) {
    Fail(Status::kCorrupt, "%s declares %u buckets, more than the input holds", what, *n);
  }
  *entries = in.Bytes(size_t{*n} * kEntrySize, what);
  Source e(*entries, size_t{*n} * kEntrySize);
  *total = 0;
  int32_t prev = 0;
  for (uint32_t k = 0; k < *n; ++k) {
    int32_t index = e.I32(what);
    uint64_t count = e.U64(what);
    if (index < valid.lo || index > valid.hi) {
      Fail(Status::kCorrupt, "%s bucket index %d is outside [%d, %d], where finite values go",
           what, index, valid.lo, valid.hi);
    }
    if (k > 0 && index <= prev) {
      Fail(Status::kCorrupt, "%s bucket indexes are not strictly increasing", what);
    }
    if (count == 0) Fail(Status::kCorrupt, "%s stores an empty bucket", what);
    prev = index;
    if (__builtin_add_overflow(*total, count, total)) {
      Fail(Status::kCorrupt, "%s bucket counts overflow", what);
    }
  }
}

SketchView ReadSketch(Source& in, const IndexRange& valid, const char* what) {
  SketchView v;
  v.zero = in.U64(what);
  uint64_t tp, tn;
  ReadStore(in, &v.npos, &v.pos, &tp, valid, what);
  ReadStore(in, &v.nneg, &v.neg, &tn, valid, what);
  if (__builtin_add_overflow(tp, tn, &v.total) ||
      __builtin_add_overflow(v.total, v.zero, &v.total)) {
    Fail(Status::kCorrupt, "%s counts overflow", what);
  }
  return v;
}

void LoadSketch(const SketchView& v, Sketch* out) {
  Source p(v.pos, size_t{v.npos} * kEntrySize), n(v.neg, size_t{v.nneg} * kEntrySize);
  for (uint32_t k = 0; k < v.npos; ++k) {
    int32_t i = p.I32("bucket");
    out->AddCounts(false, i, p.U64("bucket"));
  }
  for (uint32_t k = 0; k < v.nneg; ++k) {
    int32_t i = n.I32("bucket");
    out->AddCounts(true, i, n.U64("bucket"));
  }
  out->AddZeros(v.zero);
}

// ---- Semantic invariants ----------------------------------------------------
//
// The checksum only says the bytes are the ones written; a blob whose fields
// contradict each other (crafted, or from a buggy writer that recomputed the
// checksum) must be refused too. These checks accept exactly what the core
// can produce from finite inputs (moments.h: sums may overflow to +-Inf, M2
// to +Inf; means stay in [min, max]) and refuse what cannot arise. Rounding
// slack: n values of magnitude <= M summed (recursive or compensated) are
// off by at most (n-1)u/(1-(n-1)u) * n*M (u = 2^-53, Higham's gamma); we
// allow n*M*(n+2)*2^-52, twice that, for n <= 2^50 (beyond, no real stream,
// the bound is not checked). Bounds are computed in long double, so they do
// not overflow where the double they bound does.

constexpr uint64_t kMaxCheckedCount = uint64_t{1} << 50;

struct ValueBounds {
  bool checked;        // false: count too large for a meaningful bound
  long double lo, hi;  // of the sum
  long double tol;     // of the mean, and of each value's deviation
};

ValueBounds BoundsOf(uint64_t count, double min, double max) {
  ValueBounds b{count <= kMaxCheckedCount, 0, 0, 0};
  if (!b.checked) return b;
  const long double n = static_cast<long double>(count);
  const long double mag = std::max(std::fabs(static_cast<long double>(min)),
                                   std::fabs(static_cast<long double>(max)));
  b.tol = mag * (n + 2) * 0x1p-52L + std::numeric_limits<double>::denorm_min();
  b.lo = n * min - n * b.tol;
  b.hi = n * max + n * b.tol;
  return b;
}

// A sum (or its high part) of `count` values in [min, max]: finite within
// the bounds, +Inf only if the upper bound is beyond DBL_MAX, -Inf likewise,
// NaN only if both are.
bool SumPossible(double v, const ValueBounds& b) {
  if (!b.checked) return true;
  constexpr long double kBig = std::numeric_limits<double>::max();
  const bool up = b.hi >= kBig, down = b.lo <= -kBig;
  if (std::isnan(v)) return up && down;
  if (std::isinf(v)) return v > 0 ? up : down;
  return v >= b.lo && v <= b.hi;
}

void CheckSum(double sum, double comp, uint64_t count, double min, double max, const char* what) {
  const ValueBounds b = BoundsOf(count, min, max);
  if (!std::isfinite(comp)) {
    Fail(Status::kCorrupt, "%s: the sum's compensation is %g (always finite)", what, comp);
  }
  const double total = std::isfinite(sum) ? sum + comp : sum;  // Moments::Sum()
  if (!SumPossible(sum, b) || !SumPossible(total, b)) {
    Fail(Status::kCorrupt,
         "%s: sum %g of %u values is impossible for values in [min %g, max %g]", what, total,
         count, min, max);
  }
}

void CheckMean(double mean, uint64_t count, double min, double max, const char* what) {
  const ValueBounds b = BoundsOf(count, min, max);
  if (!std::isfinite(mean) ||
      (b.checked && (mean < min - b.tol || mean > max + b.tol))) {
    Fail(Status::kCorrupt, "%s: mean %g is outside [min %g, max %g]", what, mean, min, max);
  }
}

// Sum of squared deviations (scale 1: M2; scale 1/(n-1): the variance):
// never NaN or negative; at most n * (spread)^2 * scale, a quarter of which
// is the exact maximum; +Inf only where M2's bound (scale 1) is beyond
// DBL_MAX (a variance is M2 / (n-1), Inf once M2 overflowed).
void CheckSpread(double v, uint64_t count, double min, double max, long double scale,
                 const char* what, const char* field) {
  if (std::isnan(v) || v < 0) Fail(Status::kCorrupt, "%s: %s is %g", what, field, v);
  const ValueBounds b = BoundsOf(count, min, max);
  if (!b.checked) return;
  const long double spread = static_cast<long double>(max) - min + 2 * b.tol;
  const long double m2_bound = static_cast<long double>(count) * spread * spread;
  const bool possible = std::isinf(v) ? m2_bound >= std::numeric_limits<double>::max()
                                      : v <= m2_bound * scale;
  if (!possible) {
    Fail(Status::kCorrupt, "%s: %s %g is impossible for %u values in [min %g, max %g]", what,
         field, v, count, min, max);
  }
}

Moments ReadMoments(Source& in, const char* what) {
  Moments m;
  m.count = in.U64(what);
  // sum and m2 may be non-finite (overflow, see moments.h); checked below.
  m.sum = in.F64(what);
  m.comp = in.F64(what);
  m.mean = in.F64(what);
  m.m2 = in.F64(what);
  m.min = in.Finite(what);
  m.max = in.Finite(what);
  if (m.count == 0) Fail(Status::kCorrupt, "%s: a stored pane is empty", what);
  if (m.min > m.max) Fail(Status::kCorrupt, "%s: min %g > max %g", what, m.min, m.max);
  CheckSum(m.sum, m.comp, m.count, m.min, m.max, what);
  CheckMean(m.mean, m.count, m.min, m.max, what);
  CheckSpread(m.m2, m.count, m.min, m.max, 1, what, "sum of squared deviations");
  return m;
}

Stats ReadStats(Source& in) {
  Stats st;
  st.count = in.U64("window count");
  st.sum = in.F64("window sum");
  st.mean = in.F64("window mean");
  st.min = in.F64("window min");
  st.max = in.F64("window max");
  st.variance = in.F64("window variance");
  st.stddev = in.F64("window stddev");
  st.window_start = in.I64("window start");
  st.window_end = in.I64("window end");
  st.late = in.U64("window late");
  st.rejected = in.U64("window rejected");
  st.total = in.U64("window total");
  st.watermark = in.I64("window watermark");
  if (st.count == 0 || !std::isfinite(st.min) || !std::isfinite(st.max) || st.min > st.max ||
      !std::isfinite(st.mean)) {
    Fail(Status::kCorrupt, "a queued window has invalid stats (count %u, min %g, max %g)",
         st.count, st.min, st.max);
  }
  const char* what = "queued window stats";
  if (!SumPossible(st.sum, BoundsOf(st.count, st.min, st.max))) {
    Fail(Status::kCorrupt, "%s: sum %g of %u values is impossible for values in [min %g, max %g]",
         what, st.sum, st.count, st.min, st.max);
  }
  // A window's reported mean is clamped to [min, max] when it is made
  // (MakeStats), so a queued one outside it, by any rounding, never arose.
  if (!(st.mean >= st.min && st.mean <= st.max)) {
    Fail(Status::kCorrupt, "%s: mean %g is outside [min %g, max %g]", what, st.mean, st.min,
         st.max);
  }
  if (st.count < 2) {
    if (!std::isnan(st.variance)) {
      Fail(Status::kCorrupt, "%s: variance %g of a single value (must be NaN)", what, st.variance);
    }
  } else {
    CheckSpread(st.variance, st.count, st.min, st.max,
                1.0L / static_cast<long double>(st.count - 1), what, "variance");
  }
  const double sd = std::sqrt(st.variance);
  if (std::bit_cast<uint64_t>(sd) != std::bit_cast<uint64_t>(st.stddev) &&
      !(std::isnan(sd) && std::isnan(st.stddev))) {
    Fail(Status::kCorrupt, "%s: stddev %g is not the square root of variance %g", what,
         st.stddev, st.variance);
  }
  if (st.total < st.count) {
    Fail(Status::kCorrupt, "%s: the series had accepted %u values, the window holds %u", what,
         st.total, st.count);
  }
  return st;
}

// A sketch holding exactly the values of a pane or window in [min, max]
// (quantiles on): each store is non-empty exactly when a value falls in
// its range, and its top bucket is that of the extreme value.
int32_t EntryIndex(const uint8_t* entries, uint32_t k) {
  Source e(entries + size_t{k} * kEntrySize, kEntrySize);
  return e.I32("bucket");
}

void CheckSketchRange(const SketchView& v, double min, double max, const SketchMapping& map,
                      const char* what) {
  const bool pos = max >= kMinIndexable, neg = min <= -kMinIndexable;
  const bool zero = min < kMinIndexable && max > -kMinIndexable;
  if ((v.npos > 0) != pos || (v.nneg > 0) != neg || (v.zero > 0 && !zero)) {
    Fail(Status::kCorrupt,
         "%s: its buckets (%u positive, %u negative, %u zeros) contradict min %g, max %g", what,
         v.npos, v.nneg, v.zero, min, max);
  }
  if ((pos && EntryIndex(v.pos, v.npos - 1) != map.Index(max)) ||
      (neg && EntryIndex(v.neg, v.nneg - 1) != map.Index(min))) {
    Fail(Status::kCorrupt, "%s: its largest bucket is not that of min %g / max %g", what, min,
         max);
  }
}

}  // namespace

// ---- Writing ---------------------------------------------------------------

class StateWriter {
 public:
  // What one serialization writes besides the series and the queue: read
  // once, so the sizing pass and the writing pass agree.
  struct View {
    Aggregator::Watermark wm;
    uint64_t clock;
    uint32_t mode;
    uint64_t tick;
    ScratchVector<Series*> series;  // sorted by key
  };

  // One consistent view of the handle. The caller holds the table
  // exclusively (no push, read, removal or merge runs: the series and the
  // clock counters stay as they are), and must not hold the queue lock yet:
  // closing windows emits them into the queue. aggregator_advance may still
  // raise the watermark meanwhile; the view keeps the one read here, and
  // every series is brought up to date with exactly that one.
  static void Freeze(Aggregator& a, View* v) {
    v->wm = a.CurrentWatermark();
    v->series.clear();
    for (auto& shard : a.table_.shards()) {
      for (auto& [key, series] : shard->map) {
        a.BringUpToDate(series, v->wm);  // canonical: nothing left to close
        v->series.push_back(series);
      }
    }
    std::sort(v->series.begin(), v->series.end(),
              [](Series* x, Series* y) { return x->key < y->key; });
    v->clock = a.clock_.load();
    v->mode = static_cast<uint32_t>(a.timestamp_mode_.load());
    v->tick = a.tick_.load();
  }

  // The table held exclusively and the queue lock held (polls and merges
  // change the queue): writes the view and the queue as they are now.
  static void Write(Aggregator& a, const View& v, Sink& s) {
    s.Bytes(kMagic, 4);
    s.U32(kFormatVersion);
    size_t length_at = s.size();
    s.U64(0);  // total length, patched below
    s.U64(Fingerprint(a.config_));
    WriteConfig(s, a.config_);
    s.U8(v.wm.set ? 1 : 0);
    s.I64(v.wm.set ? v.wm.value : 0);
    s.U64(v.clock);
    s.U32(v.mode);
    s.U64(v.tick);
    s.U64(a.dropped_windows_);
    s.U64(v.series.size());
    for (Series* x : v.series) WriteSeries(s, *x);
    s.U64(a.queue_.size());
    for (const ClosedWindow& w : a.queue_) {
      s.U64(w.key);
      WriteStats(s, w.stats);
      WriteSketch(s, w.sketch);
    }
    size_t total = s.size() + kTrailerSize;
    if (s.data() != nullptr && !s.overflowed()) {
      uint8_t* base = const_cast<uint8_t*>(s.data());
      for (size_t i = 0; i < 8; ++i) base[length_at + i] = static_cast<uint8_t>(total >> (8 * i));
      s.U64(XXH3_64bits(base, s.size()));
    } else {
      s.U64(0);
    }
  }

  // Sizes, then (if `fill` says where, given the size) writes the state, in
  // one hold of the locks: table exclusively, then the closed-window queue.
  // Returns the size; *written is what was written into the buffer fill
  // returned (0 when it returned null).
  template <class Fill>
  static size_t Serialize(Aggregator& a, Fill&& fill, size_t* written) {
    SeriesTable::TableLock table(a.table_, true);
    View v;
    Freeze(a, &v);
    absl::MutexLock queue(&a.queue_mu_);
    Sink counter;
    Write(a, v, counter);
    const size_t need = counter.size();
    *written = 0;
    auto [buf, cap] = fill(need);
    if (buf == nullptr) return need;
    Sink out(buf, cap);
    Write(a, v, out);
    if (out.overflowed() || out.size() != need) {
      // Cannot happen while the locks exclude every change; were it to,
      // nothing past cap was written and the caller hears of it.
      Fail(out.overflowed() ? Status::kBuffer : Status::kInternal,
           "the state changed while it was written (%u bytes counted, %u to write, buffer %u)",
           need, out.size(), cap);
    }
    *written = out.size();
    return need;
  }

 private:
  static void WriteSeries(Sink& s, const Series& x) {
    s.U64(x.key);
    std::string_view name = x.name();
    s.U32(static_cast<uint32_t>(name.size()));
    s.Bytes(name.data(), name.size());
    s.U64(x.late);
    s.U64(x.rejected);
    s.U64(x.total);
    s.I64(x.total ? x.last_event : 0);
    s.U64(x.last_touch);
    if (x.count) {
      const CountWindow& c = *x.count;
      s.U64(c.total());
      s.U64(c.size());
      const double *a, *b;
      size_t na, nb;
      c.Segments(&a, &na, &b, &nb);
      for (size_t i = 0; i < na; ++i) s.F64(a[i]);
      for (size_t i = 0; i < nb; ++i) s.F64(b[i]);
      return;
    }
    const PaneWindow& p = *x.panes;
    s.I64(p.closed_below());
    s.U32(static_cast<uint32_t>(p.pane_count()));
    for (const Pane& pane : p.panes()) {
      s.I64(pane.index);
      WriteMoments(s, pane.moments);
      WriteSketch(s, pane.sketch);
    }
  }
};

size_t SerializedSize(Aggregator& a) {
  size_t written;
  return StateWriter::Serialize(
      a, [](size_t) { return std::pair<uint8_t*, size_t>{nullptr, 0}; }, &written);
}

bool Serialize(Aggregator& a, uint8_t* buf, size_t cap, size_t* size) {
  size_t written = 0;
  bool fits = false;
  *size = StateWriter::Serialize(
      a,
      [&](size_t need) {
        fits = buf != nullptr && need <= cap;
        return std::pair<uint8_t*, size_t>{fits ? buf : nullptr, cap};
      },
      &written);
  return fits;
}

void SerializeInto(Aggregator& a, ScratchVector<uint8_t>* out) {
  size_t written = 0;
  StateWriter::Serialize(
      a,
      [&](size_t need) {
        out->resize(need);
        return std::pair<uint8_t*, size_t>{out->data(), out->size()};
      },
      &written);
  out->resize(written);
}

// ---- Reading ---------------------------------------------------------------

class StateReader {
 public:
  // Validates the envelope and the configuration; positions `in` after it.
  static Config ReadHeader(Source& in, const uint8_t* buf, size_t len) {
    if (len < kHeaderSize + kTrailerSize) {
      Fail(Status::kCorrupt, "%u bytes is too short for serialized state (at least %u)", len,
           kHeaderSize + kTrailerSize);
    }
    const uint8_t* magic = in.Bytes(4, "magic");
    if (std::memcmp(magic, kMagic, 4) != 0) {
      Fail(Status::kCorrupt, "not windowagg state: the magic number is wrong");
    }
    uint32_t version = in.U32("format version");
    if (version != kFormatVersion) {
      Fail(Status::kVersion,
           "format version %u is not supported (this library reads version %u)", version,
           kFormatVersion);
    }
    uint64_t declared = in.U64("total length");
    if (declared > len) {
      Fail(Status::kCorrupt, "declared size %u is larger than the %u bytes given (truncated?)",
           declared, len);
    }
    if (declared < len) {
      Fail(Status::kCorrupt, "%u trailing bytes after the state's declared %u bytes",
           len - declared, declared);
    }
    uint64_t stored_sum = 0;
    for (size_t i = 0; i < 8; ++i) stored_sum |= uint64_t{buf[len - 8 + i]} << (8 * i);
    if (XXH3_64bits(buf, len - kTrailerSize) != stored_sum) {
      Fail(Status::kCorrupt, "checksum mismatch: the state was altered or damaged");
    }
    uint64_t fingerprint = in.U64("config fingerprint");
    Config c;
    c.kind = static_cast<WindowKind>(in.U32("window_kind"));
    c.window_size = in.I64("window_size");
    c.slide = in.I64("slide");
    c.pane_width = in.I64("pane_width");
    c.allowed_lateness = in.I64("allowed_lateness");
    c.relative_accuracy = in.F64("relative_accuracy");
    uint8_t q = in.U8("quantiles");
    if (q > 1) Fail(Status::kCorrupt, "quantiles flag is %u", q);
    c.quantiles = q == 1;
    c.nonfinite = static_cast<NonFinitePolicy>(in.U32("nonfinite_policy"));
    c.max_keys = in.U64("max_keys");
    c.key_policy = static_cast<KeyPolicy>(in.U32("key_policy"));
    c.key_ttl = in.I64("key_ttl");
    c.memory_limit = in.U64("memory_limit");
    c.max_pending_windows = in.U64("max_pending_windows");
    if (Fingerprint(c) != fingerprint) {
      Fail(Status::kCorrupt, "the configuration fingerprint does not match the configuration");
    }
    Config checked = c;
    try {
      ValidateConfig(&checked);
    } catch (const Error& e) {
      Fail(Status::kCorrupt, "stored configuration is invalid: %s", e.what());
    }
    if (checked.slide != c.slide || checked.pane_width != c.pane_width) {
      Fail(Status::kCorrupt, "stored configuration is not in resolved form");
    }
    return c;
  }

  struct Handle {
    bool has_wm;
    int64_t wm;
    uint64_t clock;
    uint32_t mode;
    uint64_t tick;
    uint64_t dropped;
  };

  static Handle ReadHandle(Source& in) {
    Handle h;
    uint8_t has = in.U8("has_watermark");
    if (has > 1) Fail(Status::kCorrupt, "has_watermark flag is %u", has);
    h.has_wm = has == 1;
    h.wm = in.I64("watermark");
    h.clock = in.U64("clock");
    h.mode = in.U32("timestamp mode");
    if (h.mode > 2) Fail(Status::kCorrupt, "timestamp mode %u is unknown", h.mode);
    h.tick = in.U64("tick");
    h.dropped = in.U64("dropped windows");
    if (!h.has_wm && h.wm != 0) {
      Fail(Status::kCorrupt, "watermark %d is stored but has_watermark is 0", h.wm);
    }
    return h;
  }

  // One pass over the body. With `target` null it only validates; otherwise
  // it builds into target (restore: an empty handle; merge: an existing one).
  static void ReadBody(Source& in, const Config& c, const Handle& h, Aggregator* target,
                       ScratchVector<uint64_t>* keys = nullptr) {
    uint64_t nseries = in.U64("series count");
    // Each series takes at least 52 bytes: bounds the count before use.
    if (nseries > in.remaining() / 52) {
      Fail(Status::kCorrupt, "series count %u is larger than the input can hold", nseries);
    }
    uint64_t prev_key = 0;
    uint64_t live = 0;
    uint64_t held_all = 0;  // values held by every window: a read merges them
    for (uint64_t i = 0; i < nseries; ++i) {
      uint64_t key = in.U64("series key");
      if (i > 0 && key <= prev_key) {
        Fail(Status::kCorrupt, "series keys are not strictly increasing at series %u", i);
      }
      prev_key = key;
      if (keys != nullptr) keys->push_back(key);
      uint32_t name_len = in.U32("name length");
      const uint8_t* name = in.Bytes(name_len, "series name");
      uint64_t late = in.U64("late"), rejected = in.U64("rejected"), total = in.U64("total");
      int64_t last_event = in.I64("last_event");
      uint64_t last_touch = in.U64("last_touch");
      // A named series lives under its name's hash (KeyHash, as a push
      // computes it); the overflow series has no name.
      if (name_len > 0 && (key == kOverflowKey || KeyHash(name, name_len) != key)) {
        Fail(Status::kCorrupt, "series %u: key %u is not the hash of its %u-byte name", i, key,
             name_len);
      }
      if (key != kOverflowKey) ++live;
      if (total == 0 && last_event != 0) {
        Fail(Status::kCorrupt, "series %u: last_event %d but no value was accepted", i,
             last_event);
      }
      if (total > 0 && (!h.has_wm || h.mode == 0)) {
        Fail(Status::kCorrupt,
             "series %u: total %u values accepted, but the handle has %s", i, total,
             h.has_wm ? "no timestamp mode" : "no watermark");
      }
      Series* s = nullptr;
      if (target != nullptr) {
        s = target->table_.Insert(key, {reinterpret_cast<const char*>(name), name_len});
        s->late = late;
        s->rejected = rejected;
        s->last_event = last_event;
        s->total = total;
        s->last_touch = last_touch;
        target->table_.LruNoteRestored(s);
      }
      uint64_t held = c.kind == WindowKind::kCount ? ReadCountWindow(in, c, s, target)
                                                   : ReadPanes(in, c, h, s, target);
      if (total < held) {
        Fail(Status::kCorrupt, "series %u: total %u accepted values, but its window holds %u", i,
             total, held);
      }
      if (__builtin_add_overflow(held_all, held, &held_all)) {
        Fail(Status::kCorrupt, "series %u: the windows hold more than 2^64 values in all", i);
      }
    }
    if (c.max_keys != 0 && live > c.max_keys) {
      Fail(Status::kCorrupt, "%u live series, above the configuration's max_keys = %u", live,
           c.max_keys);
    }
    uint64_t nqueue = in.U64("queued window count");
    if (nqueue > in.remaining() / 120) {
      Fail(Status::kCorrupt, "queued window count %u is larger than the input can hold", nqueue);
    }
    if (nqueue > 0 && c.kind != WindowKind::kTumbling && c.kind != WindowKind::kHopping) {
      Fail(Status::kCorrupt, "%u queued windows, but only TUMBLING and HOPPING handles close windows",
           nqueue);
    }
    // No bound by max_pending_windows: serialization closes every due
    // window into the queue, so a state may legitimately hold more.
    const SketchMapping map(c.relative_accuracy);
    for (uint64_t i = 0; i < nqueue; ++i) {
      uint64_t key = in.U64("queued window key");
      Stats st = ReadStats(in);
      CheckWindowBounds(st, c, i);
      SketchView sv = ReadSketch(in, IndexRange(map), "queued window sketch");
      if (c.quantiles ? sv.total != st.count : sv.total != 0) {
        Fail(Status::kCorrupt, "queued window %u: sketch holds %u values, stats say %u", i,
             sv.total, st.count);
      }
      if (c.quantiles) CheckSketchRange(sv, st.min, st.max, map, "queued window sketch");
      if (target != nullptr) {
        ClosedWindow w{key, st, Sketch(&target->scope_)};
        LoadSketch(sv, &w.sketch);
        absl::MutexLock lock(&target->queue_mu_);
        target->queue_.Reserve(1);
        target->queue_.PushReserved(std::move(w));
      }
    }
  }

 private:
  // Both return the number of values the window holds.
  static uint64_t ReadCountWindow(Source& in, const Config& c, Series* s, Aggregator* target) {
    uint64_t wtotal = in.U64("count window total");
    uint64_t n = in.U64("count window size");
    uint64_t cap = static_cast<uint64_t>(c.window_size);
    if (n != std::min(wtotal, cap)) {
      Fail(Status::kCorrupt, "count window holds %u values of %u (capacity %u)", n, wtotal, cap);
    }
    if (n > in.remaining() / 8) {
      Fail(Status::kCorrupt, "count window declares %u values, more than the input holds", n);
    }
    const uint8_t* raw = in.Bytes(n * 8, "count window values");
    Source vals(raw, n * 8);
    ScratchVector<double> values;
    if (target != nullptr) values.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
      double v = vals.Finite("count window value");
      if (target != nullptr) values[i] = v;
    }
    if (target == nullptr) return wtotal;
    Sketch* sketch = c.quantiles && !s->count->small() ? &s->count_sketch : nullptr;
    s->count->Restore(values.data(), n, wtotal, sketch, target->mapping_, s->scope);
    return wtotal;
  }

  static uint64_t ReadPanes(Source& in, const Config& c, const Handle& h, Series* s,
                            Aggregator* target) {
    int64_t closed_below = in.I64("closed_below");
    uint32_t npanes = in.U32("pane count");
    const SketchMapping map(c.relative_accuracy);
    const IndexRange valid(map);
    const int64_t pane_width = c.kind == WindowKind::kSliding ? c.pane_width : c.slide;
    uint64_t held = 0;
    if (npanes > in.remaining() / 80) {
      Fail(Status::kCorrupt, "pane count %u is larger than the input can hold", npanes);
    }
    int64_t prev = 0;
    for (uint32_t k = 0; k < npanes; ++k) {
      int64_t index = in.I64("pane index");
      if (k > 0 && index <= prev) {
        Fail(Status::kCorrupt, "pane indexes are not strictly increasing (%d after %d)", index,
             prev);
      }
      if (index < closed_below) {
        Fail(Status::kCorrupt, "pane %d is below the closed bound %d", index, closed_below);
      }
      prev = index;
      // A pane holds values no later than the watermark.
      if (!h.has_wm || index > PaneOf(h.wm, pane_width)) {
        Fail(Status::kCorrupt, "pane %d holds values after the watermark (%s)", index,
             h.has_wm ? absl::StrFormat("%d", h.wm) : std::string("none"));
      }
      Moments m = ReadMoments(in, "pane moments");  // never empty (see UndoReservations)
      if (__builtin_add_overflow(held, m.count, &held)) {
        Fail(Status::kCorrupt, "pane %d: value counts overflow", index);
      }
      SketchView sv = ReadSketch(in, valid, "pane sketch");
      if (c.quantiles ? sv.total != m.count : sv.total != 0) {
        Fail(Status::kCorrupt, "pane %d: sketch holds %u values, moments count %u", index,
             sv.total, m.count);
      }
      if (c.quantiles) CheckSketchRange(sv, m.min, m.max, map, "pane sketch");
      if (target == nullptr) continue;
      Pane& pane = s->panes->AppendRestored(Pane{index, m, Sketch(&s->scope)});
      LoadSketch(sv, &pane.sketch);
    }
    if (target == nullptr) return held;
    s->panes->set_closed_below(closed_below);
    return held;
  }

  // A queued window is one the geometry has: [k*S, k*S + D) clamped to the
  // int64 range, closed at its end plus the lateness (saturating).
  static void CheckWindowBounds(const Stats& st, const Config& c, uint64_t i) {
    const Wide start = st.window_start, end = st.window_end;
    const bool clamped = st.window_start == kTimeMin || st.window_end == kTimeMax;
    if (start > end || end - start > c.window_size ||
        (!clamped && (end - start != c.window_size || FloorDiv(start, c.slide) * c.slide != start))) {
      Fail(Status::kCorrupt, "queued window %u: [%d, %d) is not a window of this geometry", i,
           st.window_start, st.window_end);
    }
    // (This library records end + lateness; older ones recorded the
    // watermark at emission, which is at least that: golden files have it.)
    if (st.watermark < Saturate(end + c.allowed_lateness)) {
      Fail(Status::kCorrupt, "queued window %u: closed at watermark %d, before its end %d plus "
           "the lateness %d", i, st.watermark, st.window_end, c.allowed_lateness);
    }
  }
};

namespace {
struct Parsed {
  Config config;
  StateReader::Handle handle;
  size_t body_offset;
  ScratchVector<uint64_t> keys;
};

Parsed Validate(const uint8_t* buf, size_t len) {
  if (buf == nullptr && len > 0) Fail(Status::kInvalidArgument, "buf is NULL");
  Source in(buf, len);
  Parsed p;
  p.config = StateReader::ReadHeader(in, buf, len);
  p.handle = StateReader::ReadHandle(in);
  p.body_offset = in.position();
  StateReader::ReadBody(in, p.config, p.handle, nullptr, &p.keys);
  if (in.remaining() != kTrailerSize) {
    Fail(Status::kCorrupt, "%u unexpected bytes before the checksum", in.remaining() - kTrailerSize);
  }
  return p;
}
}  // namespace

class StateApplier {
 public:
  static void SetHandle(Aggregator* a, const StateReader::Handle& h) {
    if (h.has_wm) a->RaiseWatermark(h.wm);
    a->clock_.store(h.clock);
    a->timestamp_mode_.store(static_cast<int>(h.mode));
    a->tick_.store(h.tick);
    absl::MutexLock lock(&a->queue_mu_);
    a->dropped_windows_ = h.dropped;
  }

  // A new handle from validated bytes.
  static Aggregator* Build(const Parsed& p, const uint8_t* buf, size_t len, bool thread_safe) {
    Config c = p.config;
    c.thread_safe = thread_safe;
    std::unique_ptr<Aggregator, void (*)(Aggregator*)> a(Aggregator::Create(c),
                                                        &Aggregator::Destroy);
    SetHandle(a.get(), p.handle);
    Source in(buf + p.body_offset, len - p.body_offset);
    StateReader::ReadBody(in, c, p.handle, a.get());
    return a.release();
  }
};

Aggregator* Restore(const uint8_t* buf, size_t len, bool thread_safe) {
  Parsed p = Validate(buf, len);
  return StateApplier::Build(p, buf, len, thread_safe);
}

void MergeSerialized(Aggregator* dst, const uint8_t* buf, size_t len) {
  Parsed p = Validate(buf, len);
  if (!SameGeometry(p.config, dst->config())) {
    Fail(Status::kMismatch,
         "the state's configuration (window kind %u, size %d, slide %d, pane %d, lateness %d, "
         "accuracy %g, quantiles %d) differs from this handle's",
         static_cast<uint32_t>(p.config.kind), p.config.window_size, p.config.slide,
         p.config.pane_width, p.config.allowed_lateness, p.config.relative_accuracy,
         p.config.quantiles ? 1 : 0);
  }
  // The state as a private handle first: building it can fail without
  // touching dst, and merging it in is then two-phase (Aggregator::Merge).
  std::unique_ptr<Aggregator, void (*)(Aggregator*)> src(
      StateApplier::Build(p, buf, len, /*thread_safe=*/false), &Aggregator::Destroy);
  SeriesTable::TableLock table(dst->table_, true);
  int mode = dst->timestamp_mode_.load();
  if (mode != 0 && p.handle.mode != 0 && static_cast<uint32_t>(mode) != p.handle.mode) {
    Fail(Status::kMismatch, "one state uses timestamps and the other the arrival clock");
  }
  if (dst->config().max_keys != 0) {
    // The budget holds for merges too, checked before anything changes.
    uint64_t fresh = 0;
    for (uint64_t key : p.keys) fresh += key != kOverflowKey && dst->table_.Find(key) == nullptr;
    uint64_t live = dst->table_.live_keys();
    if (live + fresh > dst->config().max_keys) {
      Fail(Status::kKeyLimit, "the merge would make %u live series, above max_keys = %u",
           live + fresh, dst->config().max_keys);
    }
  }
  dst->account_.CheckRoom(len, "merging this state");
  dst->Merge(*src);
}

void MergeHandles(Aggregator* dst, Aggregator& src) {
  // src in one consistent pass (see StateWriter::Serialize), then merged.
  ScratchVector<uint8_t> bytes;
  SerializeInto(src, &bytes);
  MergeSerialized(dst, bytes.data(), bytes.size());
}

}  // namespace windowagg::internal
