// Relative-error quantile sketch (DDSketch-style): logarithmic buckets, one
// store per sign plus a zero count. Counts can be decremented, so windows
// evict exactly; stores add bucket-wise, so merges are exact.
#ifndef WINDOWAGG_CORE_SKETCH_H_
#define WINDOWAGG_CORE_SKETCH_H_

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/kernels.h"
#include "core/memory.h"

namespace windowagg {

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

class Sketch {
 public:
  explicit Sketch(const MemoryScope* scope = nullptr) : scope_(scope) {}
  ~Sketch() { Free(); }
  Sketch(Sketch&& o) noexcept;
  Sketch& operator=(Sketch&& o) noexcept;
  Sketch(const Sketch&) = delete;
  Sketch& operator=(const Sketch&) = delete;

  void Add(double x, const SketchMapping& map) {
    if (x >= kMinIndexable) {
      pos_.Add(map.Index(x), 1, *scope_);
    } else if (x <= -kMinIndexable) {
      neg_.Add(map.Index(x), 1, *scope_);
    } else {
      ++zero_;
    }
  }
  // Precondition: x was added and not yet removed.
  void Remove(double x, const SketchMapping& map) {
    if (x >= kMinIndexable) {
      pos_.Remove(map.Index(x), 1);
    } else if (x <= -kMinIndexable) {
      neg_.Remove(map.Index(x), 1);
    } else {
      --zero_;
    }
  }
  // Reserve, then Add/AddSpan of the same values allocates nothing (the
  // two-phase push: every allocation happens before any state changes).
  void Reserve(const double* x, size_t n, const SketchMapping& map);
  void ReserveOne(double x, const SketchMapping& map) {
    if (x >= kMinIndexable) {
      int32_t i = map.Index(x);
      if (!pos_.Covers(i, i)) pos_.ReserveExact(&i, 1, 1, *scope_);
    } else if (x <= -kMinIndexable) {
      int32_t i = map.Index(x);
      if (!neg_.Covers(i, i)) neg_.ReserveExact(&i, 1, 1, *scope_);
    }
  }
  // Makes MergeFrom(o) allocation-free.
  void ReserveMerge(const Sketch& o);
  void ClearPending() {
    pos_.ClearPending();
    neg_.ClearPending();
  }
  void UndoReservations() {
    pos_.Undo();
    neg_.Undo();
  }
  void AddSpan(const double* x, size_t n, const SketchMapping& map);
  void RemoveSpan(const double* x, size_t n, const SketchMapping& map);

  void MergeFrom(const Sketch& o);
  // MergeFrom after ReserveMerge(o): allocates nothing.
  void MergeReserved(const Sketch& o);
  void Clear();

  uint64_t count() const { return pos_.total() + neg_.total() + zero_; }
  uint64_t zero_count() const { return zero_; }
  const BucketStore& positive() const { return pos_; }
  const BucketStore& negative() const { return neg_; }
  size_t bytes() const { return pos_.bytes() + neg_.bytes(); }
  const MemoryScope* scope() const { return scope_; }

  // Adds raw counts (restoring serialized state).
  void AddCounts(bool negative, int32_t index, uint64_t n) {
    (negative ? neg_ : pos_).Add(index, n, *scope_);
  }
  void AddZeros(uint64_t n) { zero_ += n; }

  // out[j] = the rank-floor(q[j]*(n-1)) value of the union of `parts`,
  // clamped to [min, max]; q = 0 and q = 1 give min and max; NaN if all are
  // empty. One walk over the buckets answers every q.
  static void Quantiles(const Sketch* const* parts, size_t nparts, const double* q, size_t nq,
                        const SketchMapping& map, double min, double max, double* out);

 private:
  void Free() noexcept;

  const MemoryScope* scope_;
  BucketStore pos_;
  BucketStore neg_;
  uint64_t zero_ = 0;
};

}  // namespace windowagg

#endif  // WINDOWAGG_CORE_SKETCH_H_
