// Relative-error quantile sketch (DDSketch-style): logarithmic buckets, one
// store per sign plus a zero count. Counts can be decremented, so windows
// evict exactly; stores add bucket-wise, so merges are exact.
#ifndef WINDOWAGG_CORE_SKETCH_H_
#define WINDOWAGG_CORE_SKETCH_H_

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/functional/function_ref.h"
#include "core/kernels.h"
#include "core/memory.h"

namespace windowagg::internal {

// Maps |x| to a bucket and back with relative accuracy alpha: every x in
// bucket i satisfies |Value(i) - x| <= alpha * x.
class SketchMapping {
 public:
  explicit SketchMapping(double alpha);
  double alpha() const { return alpha_; }
  double multiplier() const { return multiplier_; }
  int32_t Index(double x) const { return BucketIndex(x, multiplier_); }
  // The value that represents bucket i (harmonic mean of its bounds).
  double Value(int32_t i) const;

 private:
  double alpha_;
  double multiplier_;  // buckets per unit of the log-linear approximation
};

// Counts per bucket index. Starts sparse — sorted (index, count) pairs, so
// a quiet pane or series costs a few bytes per distinct bucket — and turns
// dense (a contiguous array over the index range, O(1) per value) once it
// holds more than kSparseMax buckets or a count passes 2^32.
class BucketStore {
 public:
  static constexpr uint32_t kSparseMax = 48;
  // A dense array never spans more buckets than this (256 KiB); a store
  // whose values span more stays sparse, however many buckets it has.
  static constexpr int64_t kMaxDenseBuckets = int64_t{1} << 15;

  BucketStore() = default;
  BucketStore(const BucketStore&) = delete;
  BucketStore& operator=(const BucketStore&) = delete;
  void Swap(BucketStore& o) noexcept {
    BucketStore t;
    t.Assign(*this);
    Assign(o);
    o.Assign(t);
    t.buf_ = nullptr;
  }

  void Free(const MemoryScope& scope) noexcept;
  void Add(int32_t i, uint64_t n, const MemoryScope& scope) {
    if (dense_ && i >= offset_ && i < offset_ + static_cast<int32_t>(size_)) {
      Dense()[i - offset_] += n;
      total_ += n;
      return;
    }
    AddSlow(i, n, scope);
  }
  // Makes room for n more counts in at most `distinct` buckets not stored
  // yet, all in [lo, hi], on top of what this call reserved before (a push
  // reserves every run before it applies any): adding them then allocates
  // nothing. Changes only the representation, never a count.
  void Reserve(int32_t lo, int32_t hi, uint64_t distinct, uint64_t n, const MemoryScope& scope);
  // Reserve for the bucket indexes idx[0..m) (sorted, unique) of n values:
  // a sparse store gets an entry (count 0 until the values land) for each
  // missing one, so a later reservation that turns it dense covers them.
  void ReserveExact(const int32_t* idx, size_t m, uint64_t n, const MemoryScope& scope);
  // Ends this call's reservations (after applying them).
  void ClearPending() { pending_ = 0; }
  // Undoes this call's reservations: pending room and empty entries.
  void Undo();
  bool Covers(int32_t lo, int32_t hi) const {
    return dense_ && lo >= offset_ && hi < offset_ + static_cast<int32_t>(size_);
  }
  // Sparse only: buckets among idx[0..n) (sorted, unique) not stored yet.
  uint32_t CountMissing(const int32_t* idx, size_t n) const;

  // Precondition: at least n counted at i.
  void Remove(int32_t i, uint64_t n);
  uint64_t total() const { return total_; }
  size_t bytes() const { return AllocatedSize(buf_); }
  bool dense() const { return dense_; }

  // Dense fast path: makes [lo, hi] directly addressable (turning dense).
  // False (nothing changes) when the span would pass kMaxDenseBuckets.
  bool CoverDense(int32_t lo, int32_t hi, const MemoryScope& scope);
  // Dense only, indexes covered (CoverDense) / present.
  void AddUncheckedSpan(const int32_t* idx, size_t n) {
    uint64_t* c = Dense();
    for (size_t k = 0; k < n; ++k) ++c[idx[k] - offset_];
    total_ += n;
  }
  void RemoveUncheckedSpan(const int32_t* idx, size_t n) {
    uint64_t* c = Dense();
    for (size_t k = 0; k < n; ++k) --c[idx[k] - offset_];
    total_ -= n;
  }

  // Calls f(index, count) for non-zero buckets in index order (descending
  // if asked) while f returns true.
  template <class F>
  void ForEachWhile(bool descending, F&& f) const {
    if (dense_) {
      const uint64_t* c = Dense();
      if (descending) {
        for (uint32_t k = size_; k-- > 0;)
          if (c[k] && !f(offset_ + static_cast<int32_t>(k), c[k])) return;
      } else {
        for (uint32_t k = 0; k < size_; ++k)
          if (c[k] && !f(offset_ + static_cast<int32_t>(k), c[k])) return;
      }
      return;
    }
    const Entry* e = Sparse();
    if (descending) {
      for (uint32_t k = size_; k-- > 0;)
        if (!f(e[k].index, uint64_t{e[k].count})) return;
    } else {
      for (uint32_t k = 0; k < size_; ++k)
        if (!f(e[k].index, uint64_t{e[k].count})) return;
    }
  }

  // counts[i - lo] += count(i) for every bucket i in [lo, hi] (the caller
  // makes [lo, hi] cover this store's non-zero range).
  void AddInto(uint64_t* counts, int32_t lo, int32_t hi) const {
    if (dense_) {
      int32_t a = std::max(lo, offset_), b = std::min(hi, offset_ + static_cast<int32_t>(size_) - 1);
      const uint64_t* c = Dense() + (a - offset_);
      uint64_t* d = counts + (a - lo);
      for (int32_t k = 0; k <= b - a; ++k) d[k] += c[k];
      return;
    }
    // (Entries a push reserved hold 0 until it commits, and may lie
    // outside [lo, hi], which covers only non-zero counts: skip them.)
    const Entry* e = Sparse();
    for (uint32_t k = 0; k < size_; ++k) {
      if (e[k].count != 0) counts[e[k].index - lo] += e[k].count;
    }
  }

  // Bounds of the non-zero counts; false when empty.
  bool NonZeroRange(int32_t* lo, int32_t* hi) const;
  // Calls f(index, count) for every non-zero bucket in increasing order.
  template <class F>
  void ForEach(F&& f) const {
    if (dense_) {
      const uint64_t* c = Dense();
      for (uint32_t k = 0; k < size_; ++k)
        if (c[k]) f(offset_ + static_cast<int32_t>(k), c[k]);
    } else {
      const Entry* e = Sparse();
      for (uint32_t k = 0; k < size_; ++k) f(e[k].index, uint64_t{e[k].count});
    }
  }

  void MergeFrom(const BucketStore& o, const MemoryScope& scope);
  void Clear();

 private:
  struct Entry {
    int32_t index;
    uint32_t count;
  };
  uint64_t* Dense() const { return static_cast<uint64_t*>(buf_); }
  Entry* Sparse() const { return static_cast<Entry*>(buf_); }
  uint32_t Find(int32_t i) const;  // sparse: first entry with index >= i
  void AddSlow(int32_t i, uint64_t n, const MemoryScope& scope);
  void MakeDense(int32_t lo, int32_t hi, const MemoryScope& scope);
  void MakeSparse(const MemoryScope& scope, uint64_t extra = 0);
  void GrowSparse(uint64_t need, const MemoryScope& scope);
  bool DenseFits(int32_t lo, int32_t hi) const;
  // Bounds of what the buffer holds (dense: its whole range); false if none.
  bool StoredRange(int32_t* lo, int32_t* hi) const;
  void Assign(const BucketStore& o) {
    buf_ = o.buf_;
    offset_ = o.offset_;
    size_ = o.size_;
    cap_ = o.cap_;
    dense_ = o.dense_;
    pending_ = o.pending_;
    total_ = o.total_;
  }

  void* buf_ = nullptr;
  int32_t offset_ = 0;     // dense: index of buf_[0]
  uint32_t size_ = 0;      // dense: buckets in buf_; sparse: entries used
  uint32_t cap_ : 31 = 0;  // sparse: entries allocated
  uint32_t dense_ : 1 = 0;
  uint32_t pending_ = 0;   // sparse: new entries reserved by the current call
  uint64_t total_ = 0;
};
static_assert(sizeof(BucketStore) == 32, "one per sign in every pane: keep it small");

class WireSink;
class WireSource;

// ---- Serialized form of a sketch: what a validated read returns -----------
//   sketch  u64 zero count | store (positive) | store (negative)
//   store   u32 n | n x (i32 bucket index, strictly increasing | u64 count > 0)
// (Sketch::Write, Sketch::Validate, Sketch::Load; sketch.cc.)

// One sign's stored buckets: a view into the input, valid while it lives.
struct StoreView {
  uint32_t n = 0;
  const uint8_t* entries = nullptr;  // n x (i32 index, u64 count)
  uint64_t total = 0;
  static constexpr size_t kEntrySize = 12;
  // A store holds at most this many buckets (far above any real range).
  static constexpr uint32_t kMaxBuckets = 1u << 24;

  // Reads and validates one store: indexes strictly increasing and those of
  // finite values under `map`, counts non-zero and not overflowing.
  static StoreView Read(WireSource& in, const SketchMapping& map, const char* what);
  // Index of the k-th stored bucket (k < n).
  int32_t IndexAt(uint32_t k) const;
};

// A validated stored sketch.
struct SketchView {
  uint64_t zero = 0;
  StoreView pos, neg;
  uint64_t total = 0;  // every count, the zeros included

  // Throws Error(kCorrupt) naming `what` unless the buckets are those of a
  // bag of values whose extremes are exactly min and max (quantiles on):
  // each store non-empty exactly when a value falls in its range, its top
  // bucket that of the extreme value.
  void CheckRange(double min, double max, const SketchMapping& map, const char* what) const;
};

// A sketch of a bag of values, in one of two forms:
//   - raw: the values themselves (8 bytes each, quantiles exact). A
//     raw-capable sketch (the default: panes, closed windows, merged reads)
//     starts raw and stays raw while that is no bigger than its buckets
//     would be;
//   - buckets: one BucketStore per sign plus a zero count (relative error
//     alpha). Bucket-only sketches (count windows, which remove values one
//     by one) are constructed with raw = false.
// A raw sketch turns into buckets (for good) only inside a reservation that
// starts a call (Reserve/ReserveOne/ReserveMerge with nothing pending), so a
// commit never converts and never allocates. Both forms give the same
// bucket counts (ForEachBucket, zero_count): serialized state is the same
// bytes whichever form wrote it, and restored state is always buckets.
//
// The object is two words: the scope and one heap block (the raw values, or
// both stores and the zero count), allocated with the first reservation, so
// an empty pane or a handle without quantiles pays 16 bytes.
class Sketch {
 public:
  explicit Sketch(const MemoryScope* scope = nullptr, bool raw = true)
      : scope_(scope), rep_(raw ? kRawOk : 0) {}
  ~Sketch() { Free(); }
  Sketch(Sketch&& o) noexcept : scope_(o.scope_), rep_(o.rep_) { o.rep_ &= kRawOk; }
  Sketch& operator=(Sketch&& o) noexcept {
    if (this != &o) {
      Free();
      scope_ = o.scope_;
      rep_ = o.rep_;
      o.rep_ &= kRawOk;
    }
    return *this;
  }
  Sketch(const Sketch&) = delete;
  Sketch& operator=(const Sketch&) = delete;

  // Adds one value (reserved: allocates nothing; unreserved: may allocate).
  void Add(double x, const SketchMapping& map) {
    if (Raw* r = raw()) {
      if (r->n < r->cap) {
        r->values()[r->n++] = x;
        if (r->pending) --r->pending;
        return;
      }
    } else if (Buckets* b = buckets()) {
      b->Add(x, map, *scope_);
      return;
    }
    AddUnreserved(x, map);
  }
  // Precondition: x was added and not yet removed.
  void Remove(double x, const SketchMapping& map);
  // Reserve, then Add/AddSpan of the same values allocates nothing (the
  // two-phase push: every allocation happens before any state changes).
  // Reservations of one call add up until ClearPending/UndoReservations.
  void Reserve(const double* x, size_t n, const SketchMapping& map);
  void ReserveOne(double x, const SketchMapping& map) {
    if (Raw* r = raw()) {
      if (uint64_t{r->n} + r->pending < r->cap) {
        ++r->pending;
        return;
      }
    } else if (Buckets* b = buckets()) {
      b->ReserveOne(x, map, *scope_);
      return;
    }
    Reserve(&x, 1, map);
  }
  // Makes MergeReserved(o) allocation-free. (A raw sketch with
  // reservations pending cannot turn into buckets, not knowing their
  // buckets: a merge of bucket-form o must be the call's first reservation.)
  void ReserveMerge(const Sketch& o);
  void ClearPending() {
    if (Raw* r = raw()) {
      r->pending = 0;
    } else if (Buckets* b = buckets()) {
      b->pos.ClearPending();
      b->neg.ClearPending();
    }
  }
  void UndoReservations() {
    if (Raw* r = raw()) {
      r->pending = 0;
    } else if (Buckets* b = buckets()) {
      b->pos.Undo();
      b->neg.Undo();
    }
  }
  void AddSpan(const double* x, size_t n, const SketchMapping& map);
  void RemoveSpan(const double* x, size_t n, const SketchMapping& map);

  void MergeFrom(const Sketch& o);
  // MergeFrom of a raw sketch holding x[0..n): values kept outside a
  // sketch (compact pane windows) join it as raw panes would.
  void MergeValues(const double* x, size_t n, const SketchMapping& map);
  // MergeFrom after ReserveMerge(o): allocates nothing.
  void MergeReserved(const Sketch& o);
  void Clear();

  uint64_t count() const;
  // Values that go to no bucket (|x| < kMinIndexable).
  uint64_t zero_count() const;
  // True while the sketch holds its values themselves (quantiles exact).
  bool raw_form() const { return (rep_ & kRawRep) != 0; }
  // The raw values, unordered (raw form only).
  const double* raw_values() const { return raw() ? raw()->values() : nullptr; }
  // Bytes of the heap block(s) this sketch owns.
  size_t bytes() const;
  const MemoryScope* scope() const { return scope_; }

  // Calls f(index, count) for every non-empty bucket of the sign's store,
  // in increasing index order: the counts the bucket form holds (a raw
  // sketch computes them from its values).
  template <class F>
  void ForEachBucket(bool negative, F&& f) const {
    if (const Buckets* b = buckets()) {
      (negative ? b->neg : b->pos).ForEach(f);
    } else if (raw()) {
      ForEachRawBucket(negative, absl::FunctionRef<void(int32_t, uint64_t)>(f));
    }
  }

  // Adds raw counts (restoring serialized state): turns the sketch into
  // buckets.
  void AddCounts(bool negative, int32_t index, uint64_t n) {
    Buckets* b = EnsureBuckets();
    (negative ? b->neg : b->pos).Add(index, n, *scope_);
  }
  void AddZeros(uint64_t n) {
    if (n) EnsureBuckets()->zero += n;
  }

  // out[j] = the rank-floor(q[j]*(n-1)) value of the union of `parts`;
  // q = 0 and q = 1 give min and max; NaN if all are empty. When every
  // part is raw the answer is that order statistic exactly; otherwise raw
  // parts' values join the buckets and the answer is within alpha, clamped
  // to [min, max]. One walk over the buckets answers every q.
  static void Quantiles(const Sketch* const* parts, size_t nparts, const double* q, size_t nq,
                        const SketchMapping& map, double min, double max, double* out);

  // ---- Serialized form (sketch.cc; layout above SketchView) ---------------
  // Writes the bucket counts (ForEachBucket, zero_count): a raw sketch
  // writes the buckets its values fall into, the bytes a bucket sketch of
  // the same values writes.
  void Write(WireSink& s) const;
  // Writes the bytes a sketch of the values x[0..n) writes (for values
  // kept outside a sketch: compact pane windows).
  static void WriteValues(WireSink& s, const double* x, size_t n, const SketchMapping& map);
  // Reads and validates a stored sketch (allocates nothing); throws
  // Error(kCorrupt) naming `what`.
  static SketchView Validate(WireSource& in, const SketchMapping& map, const char* what);
  // Adds a validated sketch's counts (allocates; turns into buckets).
  void Load(const SketchView& v);

 private:
  struct Buckets {
    BucketStore pos;
    BucketStore neg;
    uint64_t zero = 0;
    void Add(double x, const SketchMapping& map, const MemoryScope& scope) {
      if (x >= kMinIndexable) {
        pos.Add(map.Index(x), 1, scope);
      } else if (x <= -kMinIndexable) {
        neg.Add(map.Index(x), 1, scope);
      } else {
        ++zero;
      }
    }
    void ReserveOne(double x, const SketchMapping& map, const MemoryScope& scope) {
      if (x >= kMinIndexable) {
        int32_t i = map.Index(x);
        if (!pos.Covers(i, i)) pos.ReserveExact(&i, 1, 1, scope);
      } else if (x <= -kMinIndexable) {
        int32_t i = map.Index(x);
        if (!neg.Covers(i, i)) neg.ReserveExact(&i, 1, 1, scope);
      }
    }
    void Reserve(const double* x, size_t n, const SketchMapping& map, const MemoryScope& scope);
    void AddSpan(const double* x, size_t n, const SketchMapping& map, const MemoryScope& scope);
  };
  // Raw values: a header and the values right after it.
  struct Raw {
    uint32_t n;        // values held
    uint32_t cap;      // values the block has room for
    uint32_t pending;  // values reserved by the current call, not added yet
    uint32_t unused;
    double alpha;      // the mapping's accuracy (merges index with it)
    double* values() { return reinterpret_cast<double*>(this + 1); }
    const double* values() const { return reinterpret_cast<const double*>(this + 1); }
  };
  static_assert(sizeof(Raw) == 24, "values stay 8-aligned after the header");
  static constexpr uintptr_t kRawRep = 1;  // the block is Raw (else Buckets)
  static constexpr uintptr_t kRawOk = 2;   // may hold raw values
  static constexpr uintptr_t kTags = 3;

  void* block() const { return reinterpret_cast<void*>(rep_ & ~kTags); }
  Raw* raw() const { return (rep_ & kRawRep) ? static_cast<Raw*>(block()) : nullptr; }
  Buckets* buckets() const {
    return (rep_ & kRawRep) ? nullptr : static_cast<Buckets*>(block());
  }
  // True while values would go raw (raw-capable, nothing or raw held).
  bool raw_mode() const { return (rep_ & kRawRep) || rep_ == kRawOk; }
  Buckets* EnsureBuckets();
  // ReserveMerge of raw values: stays raw while raw (up to its bound).
  void ReserveValuesMerge(const double* x, size_t n, const SketchMapping& map);
  // Turns the raw values (if any) into buckets, then has `then` reserve
  // more in them; the sketch is unchanged if either throws.
  Buckets* ConvertToBuckets(const SketchMapping& map, absl::FunctionRef<void(Buckets*)> then);
  // Room for `need` raw values in all (the held ones included).
  void GrowRaw(uint64_t need, double alpha);
  // Whether buckets holding the raw values plus x[0..n) take fewer bytes
  // than the raw block that would hold them.
  bool BucketsSmaller(const double* x, size_t n, const SketchMapping& map) const;
  void AddUnreserved(double x, const SketchMapping& map);
  void ForEachRawBucket(bool negative, absl::FunctionRef<void(int32_t, uint64_t)> f) const;
  // f(index, count) for the buckets of the values x[0..n) of one sign, in
  // increasing index order.
  static void ForEachBucketOf(const double* x, size_t n, const SketchMapping& map, bool negative,
                              absl::FunctionRef<void(int32_t, uint64_t)> f);
  void Free() noexcept;

  const MemoryScope* scope_;
  uintptr_t rep_;  // block pointer | kRawRep | kRawOk
};
static_assert(sizeof(Sketch) == 16, "one per pane: keep it two words");

// out[j] = the rank-floor(q[j]*(n-1)) value of values[0..n) (q = 0: the
// least, 1: the greatest), NaN for every j if n = 0. Reorders `values`.
void OrderStatistics(double* values, size_t n, const double* q, size_t nq, double* out);

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_SKETCH_H_
