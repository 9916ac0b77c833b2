// Relative-error quantile sketch (DDSketch-style): logarithmic buckets, one
// store per sign plus a zero count. Counts can be decremented, so windows
// evict exactly; stores add bucket-wise, so merges are exact.
#ifndef WINDOWAGG_CORE_SKETCH_H_
#define WINDOWAGG_CORE_SKETCH_H_

#include <cstddef>
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

// Counts for a contiguous range of bucket indexes, grown on demand.
class DenseStore {
 public:
  DenseStore() = default;
  DenseStore(const DenseStore&) = delete;
  DenseStore& operator=(const DenseStore&) = delete;
  void Swap(DenseStore& o) noexcept {
    std::swap(counts_, o.counts_);
    std::swap(offset_, o.offset_);
    std::swap(size_, o.size_);
    std::swap(total_, o.total_);
  }

  void Free(const MemoryScope& scope) noexcept;
  // Ensures [lo, hi] is covered; may allocate (strong guarantee).
  void Cover(int32_t lo, int32_t hi, const MemoryScope& scope);
  void Add(int32_t i, uint64_t n, const MemoryScope& scope) {
    if (i < offset_ || i >= offset_ + static_cast<int32_t>(size_)) Cover(i, i, scope);
    counts_[i - offset_] += n;
    total_ += n;
  }
  // Precondition: at least n counted at i.
  void Remove(int32_t i, uint64_t n) {
    counts_[i - offset_] -= n;
    total_ -= n;
  }
  void AddUnchecked(int32_t i) {
    ++counts_[i - offset_];
    ++total_;
  }
  uint64_t At(int32_t i) const {
    return (i < offset_ || i >= offset_ + static_cast<int32_t>(size_)) ? 0
                                                                        : counts_[i - offset_];
  }
  uint64_t total() const { return total_; }
  bool has_range() const { return size_ != 0; }
  int32_t lo() const { return offset_; }
  int32_t hi() const { return offset_ + static_cast<int32_t>(size_) - 1; }
  size_t bytes() const { return AllocatedSize(counts_); }
  const uint64_t* data() const { return counts_; }

  // Bounds of the non-zero counts; false when empty.
  bool NonZeroRange(int32_t* lo, int32_t* hi) const;

  void MergeFrom(const DenseStore& o, const MemoryScope& scope);
  void SubtractFrom(const DenseStore& o);  // o must be contained in this
  void Clear() {
    for (uint32_t k = 0; k < size_; ++k) counts_[k] = 0;
    total_ = 0;
  }

 private:
  uint64_t* counts_ = nullptr;
  int32_t offset_ = 0;
  uint32_t size_ = 0;
  uint64_t total_ = 0;
};

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
  void AddSpan(const double* x, size_t n, const SketchMapping& map);
  void RemoveSpan(const double* x, size_t n, const SketchMapping& map);

  void MergeFrom(const Sketch& o);
  void SubtractFrom(const Sketch& o);  // o's counts must all be in this
  void CopyFrom(const Sketch& o);
  void Clear();

  uint64_t count() const { return pos_.total() + neg_.total() + zero_; }
  uint64_t zero_count() const { return zero_; }
  const DenseStore& positive() const { return pos_; }
  const DenseStore& negative() const { return neg_; }
  size_t bytes() const { return pos_.bytes() + neg_.bytes(); }
  const MemoryScope* scope() const { return scope_; }

  // Restores raw state (serialization). Counts are copied.
  void Load(uint64_t zero, int32_t pos_lo, const uint64_t* pos, uint32_t npos,
            int32_t neg_lo, const uint64_t* neg, uint32_t nneg);

  // The rank-floor(q*(n-1)) value of the union of `parts`, clamped to
  // [min, max]; q = 0 and q = 1 give min and max. NaN if all are empty.
  static double Quantile(const Sketch* const* parts, size_t nparts, double q,
                         const SketchMapping& map, double min, double max);

 private:
  void Free() noexcept;

  const MemoryScope* scope_;
  DenseStore pos_;
  DenseStore neg_;
  uint64_t zero_ = 0;
};

}  // namespace windowagg

#endif  // WINDOWAGG_CORE_SKETCH_H_
