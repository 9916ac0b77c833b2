#include "core/sketch.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace windowagg {

SketchMapping::SketchMapping(double alpha) : alpha_(alpha) {
  // A bucket spans 1/multiplier in the log-linear scale L; since dL/dln|x| >= 1,
  // it spans at most 1/multiplier in ln|x|. Choosing 1/multiplier = ln(gamma),
  // gamma = (1+alpha)/(1-alpha), bounds each bucket's hi/lo by gamma, which is
  // what the harmonic-mean representative needs for relative error alpha.
  multiplier_ = 1.0 / std::log((1.0 + alpha) / (1.0 - alpha));
}

namespace {
// Inverse of the log-linear approximation: L = e + (m - 1) -> m * 2^e.
double InverseLogLinear(double l) {
  double e = std::floor(l);
  return std::ldexp(1.0 + (l - e), static_cast<int>(e));
}
}  // namespace

double SketchMapping::Value(int32_t i) const {
  double lo = InverseLogLinear(static_cast<double>(i) / multiplier_);
  double hi = InverseLogLinear(static_cast<double>(i + 1) / multiplier_);
  if (std::isinf(hi)) return lo;
  // 2*lo*hi/(lo+hi), written to avoid overflow near DBL_MAX.
  return 2.0 * lo * (hi / (lo + hi));
}

void DenseStore::Free(const MemoryScope& scope) noexcept {
  scope.Deallocate(counts_);
  counts_ = nullptr;
  size_ = 0;
  offset_ = 0;
  total_ = 0;
}

void DenseStore::Cover(int32_t lo, int32_t hi, const MemoryScope& scope) {
  int64_t new_lo = lo, new_hi = hi;
  if (size_ != 0) {
    if (lo >= offset_ && hi <= this->hi()) return;
    new_lo = std::min<int64_t>(lo, offset_);
    new_hi = std::max<int64_t>(hi, this->hi());
    // Grow with slack on the side that grew, so a drifting range does not
    // reallocate on every new bucket.
    int64_t slack = std::max<int64_t>(8, static_cast<int64_t>(size_) / 2);
    if (new_lo < offset_) new_lo -= slack;
    if (new_hi > this->hi()) new_hi += slack;
  } else {
    new_lo -= 4;
    new_hi += 4;
  }
  new_lo = std::max<int64_t>(new_lo, std::numeric_limits<int32_t>::min() / 2);
  new_hi = std::min<int64_t>(new_hi, std::numeric_limits<int32_t>::max() / 2);
  size_t n = static_cast<size_t>(new_hi - new_lo + 1);
  auto* fresh = static_cast<uint64_t*>(scope.Allocate(n * sizeof(uint64_t)));
  std::fill(fresh, fresh + n, 0);
  if (size_ != 0) {
    std::copy(counts_, counts_ + size_, fresh + (offset_ - new_lo));
    scope.Deallocate(counts_);
  }
  counts_ = fresh;
  offset_ = static_cast<int32_t>(new_lo);
  size_ = static_cast<uint32_t>(n);
}

bool DenseStore::NonZeroRange(int32_t* lo, int32_t* hi) const {
  if (total_ == 0) return false;
  uint32_t a = 0, b = size_;
  while (counts_[a] == 0) ++a;
  while (counts_[b - 1] == 0) --b;
  *lo = offset_ + static_cast<int32_t>(a);
  *hi = offset_ + static_cast<int32_t>(b) - 1;
  return true;
}

void DenseStore::MergeFrom(const DenseStore& o, const MemoryScope& scope) {
  int32_t lo, hi;
  if (!o.NonZeroRange(&lo, &hi)) return;
  Cover(lo, hi, scope);
  for (int32_t i = lo; i <= hi; ++i) counts_[i - offset_] += o.counts_[i - o.offset_];
  total_ += o.total_;
}

void DenseStore::SubtractFrom(const DenseStore& o) {
  int32_t lo, hi;
  if (!o.NonZeroRange(&lo, &hi)) return;
  for (int32_t i = lo; i <= hi; ++i) counts_[i - offset_] -= o.counts_[i - o.offset_];
  total_ -= o.total_;
}

Sketch::Sketch(Sketch&& o) noexcept : scope_(o.scope_), zero_(o.zero_) {
  pos_.Swap(o.pos_);
  neg_.Swap(o.neg_);
  o.zero_ = 0;
}

Sketch& Sketch::operator=(Sketch&& o) noexcept {
  if (this != &o) {
    Free();
    scope_ = o.scope_;
    pos_.Swap(o.pos_);
    neg_.Swap(o.neg_);
    zero_ = o.zero_;
    o.zero_ = 0;
  }
  return *this;
}

void Sketch::Free() noexcept {
  if (scope_ == nullptr) return;
  pos_.Free(*scope_);
  neg_.Free(*scope_);
  zero_ = 0;
}

void Sketch::Clear() {
  pos_.Clear();
  neg_.Clear();
  zero_ = 0;
}

void Sketch::AddSpan(const double* x, size_t n, const SketchMapping& map) {
  constexpr size_t kChunk = 256;
  int32_t idx[kChunk];
  for (size_t base = 0; base < n; base += kChunk) {
    size_t m = std::min(kChunk, n - base);
    ComputeBucketIndexes(x + base, m, map.multiplier(), idx);
    // One range check per chunk for the common all-positive case.
    int32_t lo = std::numeric_limits<int32_t>::max(), hi = std::numeric_limits<int32_t>::min();
    bool all_positive = true;
    for (size_t k = 0; k < m; ++k) {
      all_positive &= x[base + k] >= kMinIndexable;
      lo = idx[k] < lo ? idx[k] : lo;
      hi = idx[k] > hi ? idx[k] : hi;
    }
    if (all_positive) {
      pos_.Cover(lo, hi, *scope_);
      for (size_t k = 0; k < m; ++k) pos_.AddUnchecked(idx[k]);
      continue;
    }
    for (size_t k = 0; k < m; ++k) {
      double v = x[base + k];
      if (v >= kMinIndexable) {
        pos_.Add(idx[k], 1, *scope_);
      } else if (v <= -kMinIndexable) {
        neg_.Add(idx[k], 1, *scope_);
      } else {
        ++zero_;
      }
    }
  }
}

void Sketch::RemoveSpan(const double* x, size_t n, const SketchMapping& map) {
  constexpr size_t kChunk = 256;
  int32_t idx[kChunk];
  for (size_t base = 0; base < n; base += kChunk) {
    size_t m = std::min(kChunk, n - base);
    ComputeBucketIndexes(x + base, m, map.multiplier(), idx);
    for (size_t k = 0; k < m; ++k) {
      double v = x[base + k];
      if (v >= kMinIndexable) {
        pos_.Remove(idx[k], 1);
      } else if (v <= -kMinIndexable) {
        neg_.Remove(idx[k], 1);
      } else {
        --zero_;
      }
    }
  }
}

void Sketch::MergeFrom(const Sketch& o) {
  // Cover both ranges first so a failed allocation leaves this unchanged.
  int32_t lo, hi;
  if (o.pos_.NonZeroRange(&lo, &hi)) pos_.Cover(lo, hi, *scope_);
  if (o.neg_.NonZeroRange(&lo, &hi)) neg_.Cover(lo, hi, *scope_);
  pos_.MergeFrom(o.pos_, *scope_);
  neg_.MergeFrom(o.neg_, *scope_);
  zero_ += o.zero_;
}

void Sketch::SubtractFrom(const Sketch& o) {
  pos_.SubtractFrom(o.pos_);
  neg_.SubtractFrom(o.neg_);
  zero_ -= o.zero_;
}

void Sketch::CopyFrom(const Sketch& o) {
  Clear();
  MergeFrom(o);
}

void Sketch::Load(uint64_t zero, int32_t pos_lo, const uint64_t* pos, uint32_t npos,
                  int32_t neg_lo, const uint64_t* neg, uint32_t nneg) {
  Clear();
  if (npos) pos_.Cover(pos_lo, pos_lo + static_cast<int32_t>(npos) - 1, *scope_);
  if (nneg) neg_.Cover(neg_lo, neg_lo + static_cast<int32_t>(nneg) - 1, *scope_);
  for (uint32_t k = 0; k < npos; ++k)
    if (pos[k]) pos_.Add(pos_lo + static_cast<int32_t>(k), pos[k], *scope_);
  for (uint32_t k = 0; k < nneg; ++k)
    if (neg[k]) neg_.Add(neg_lo + static_cast<int32_t>(k), neg[k], *scope_);
  zero_ = zero;
}

double Sketch::Quantile(const Sketch* const* parts, size_t nparts, double q,
                        const SketchMapping& map, double min, double max) {
  uint64_t n = 0;
  for (size_t p = 0; p < nparts; ++p) n += parts[p]->count();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  if (q <= 0) return min;
  if (q >= 1) return max;
  auto rank = static_cast<uint64_t>(std::floor(q * static_cast<double>(n - 1)));
  if (rank >= n) rank = n - 1;
  auto clamp = [&](double v) { return v < min ? min : (v > max ? max : v); };

  // Negative values: largest magnitude (highest index) first.
  int32_t lo = std::numeric_limits<int32_t>::max(), hi = std::numeric_limits<int32_t>::min();
  for (size_t p = 0; p < nparts; ++p) {
    int32_t a, b;
    if (parts[p]->neg_.NonZeroRange(&a, &b)) {
      lo = std::min(lo, a);
      hi = std::max(hi, b);
    }
  }
  for (int64_t i = hi; i >= lo; --i) {
    uint64_t c = 0;
    for (size_t p = 0; p < nparts; ++p) c += parts[p]->neg_.At(static_cast<int32_t>(i));
    if (rank < c) return clamp(-map.Value(static_cast<int32_t>(i)));
    rank -= c;
  }
  uint64_t zeros = 0;
  for (size_t p = 0; p < nparts; ++p) zeros += parts[p]->zero_;
  if (rank < zeros) return clamp(0.0);
  rank -= zeros;
  lo = std::numeric_limits<int32_t>::max();
  hi = std::numeric_limits<int32_t>::min();
  for (size_t p = 0; p < nparts; ++p) {
    int32_t a, b;
    if (parts[p]->pos_.NonZeroRange(&a, &b)) {
      lo = std::min(lo, a);
      hi = std::max(hi, b);
    }
  }
  for (int64_t i = lo; i <= hi; ++i) {
    uint64_t c = 0;
    for (size_t p = 0; p < nparts; ++p) c += parts[p]->pos_.At(static_cast<int32_t>(i));
    if (rank < c) return clamp(map.Value(static_cast<int32_t>(i)));
    rank -= c;
  }
  return max;
}

}  // namespace windowagg
