#include "core/sketch.h"

#include "core/error.h"
#include "core/wire.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

namespace windowagg::internal {

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

void BucketStore::Free(const MemoryScope& scope) noexcept {
  scope.Deallocate(buf_);
  buf_ = nullptr;
  offset_ = 0;
  size_ = cap_ = 0;
  dense_ = false;
  pending_ = 0;
  total_ = 0;
}

uint32_t BucketStore::Find(int32_t i) const {
  const Entry* e = Sparse();
  uint32_t lo = 0, hi = size_;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (e[mid].index < i) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

void BucketStore::MakeDense(int32_t lo, int32_t hi, const MemoryScope& scope) {
  // Covers [lo, hi] plus everything stored, with slack on the sides that
  // grew so a drifting range does not reallocate on every new bucket.
  int64_t new_lo = lo, new_hi = hi;
  int32_t cur_lo, cur_hi;
  bool any = StoredRange(&cur_lo, &cur_hi);
  if (any) {
    int64_t span = int64_t{cur_hi} - cur_lo + 1;
    int64_t slack = std::max<int64_t>(8, span / 2);
    if (new_lo < cur_lo) new_lo -= slack; else new_lo = cur_lo;
    if (new_hi > cur_hi) new_hi += slack; else new_hi = cur_hi;
  } else {
    new_lo -= 4;
    new_hi += 4;
  }
  new_lo = std::max<int64_t>(new_lo, std::numeric_limits<int32_t>::min() / 2);
  new_hi = std::min<int64_t>(new_hi, std::numeric_limits<int32_t>::max() / 2);
  size_t n = static_cast<size_t>(new_hi - new_lo + 1);
  auto* fresh = static_cast<uint64_t*>(scope.Allocate(n * sizeof(uint64_t)));
  std::fill(fresh, fresh + n, 0);
  ForEach([&](int32_t i, uint64_t c) { fresh[i - new_lo] = c; });
  scope.Deallocate(buf_);
  buf_ = fresh;
  offset_ = static_cast<int32_t>(new_lo);
  size_ = static_cast<uint32_t>(n);
  cap_ = 0;
  dense_ = true;
  pending_ = 0;
}

bool BucketStore::StoredRange(int32_t* lo, int32_t* hi) const {
  if (size_ == 0) return false;
  if (dense_) {
    *lo = offset_;
    *hi = offset_ + static_cast<int32_t>(size_) - 1;
  } else {
    // Every entry, the empty ones a reservation made included.
    *lo = Sparse()[0].index;
    *hi = Sparse()[size_ - 1].index;
  }
  return true;
}

bool BucketStore::DenseFits(int32_t lo, int32_t hi) const {
  int32_t a, b;
  if (!StoredRange(&a, &b)) {
    a = lo;
    b = hi;
  }
  return int64_t{std::max(b, hi)} - std::min(a, lo) + 1 <= kMaxDenseBuckets;
}

bool BucketStore::CoverDense(int32_t lo, int32_t hi, const MemoryScope& scope) {
  if (dense_ && lo >= offset_ && hi < offset_ + static_cast<int32_t>(size_)) return true;
  if (!DenseFits(lo, hi)) return false;
  MakeDense(lo, hi, scope);
  return true;
}

void BucketStore::MakeSparse(const MemoryScope& scope, uint64_t extra) {
  uint32_t k = 0;
  ForEach([&](int32_t, uint64_t) { ++k; });
  uint64_t cap = std::max<uint64_t>({kSparseMax, uint64_t{k} * 2, k + extra});
  auto* fresh = static_cast<Entry*>(scope.Allocate(cap * sizeof(Entry)));
  uint32_t m = 0;
  ForEach([&](int32_t i, uint64_t c) {
    // A dense bucket above 2^32 cannot be sparse; such stores never get here
    // (only wide, thinly filled ranges do), but stay correct if they would.
    fresh[m++] = Entry{i, static_cast<uint32_t>(std::min<uint64_t>(c, UINT32_MAX))};
  });
  scope.Deallocate(buf_);
  buf_ = fresh;
  offset_ = 0;
  size_ = m;
  cap_ = static_cast<uint32_t>(cap);
  dense_ = false;
}

void BucketStore::GrowSparse(uint64_t need, const MemoryScope& scope) {
  // Doubling up to kSparseMax (then dense takes over), doubling past it only
  // for stores too wide to be dense.
  uint64_t cap = cap_ == 0 ? 4 : (size_ < kSparseMax ? std::min<uint64_t>(cap_ * 2, kSparseMax)
                                                       : uint64_t{cap_} * 2);
  cap = std::max(cap, need);
  auto* fresh = static_cast<Entry*>(scope.Allocate(cap * sizeof(Entry)));
  if (size_) std::memcpy(fresh, buf_, size_ * sizeof(Entry));
  scope.Deallocate(buf_);
  buf_ = fresh;
  cap_ = static_cast<uint32_t>(cap);
}

uint32_t BucketStore::CountMissing(const int32_t* idx, size_t n) const {
  uint32_t missing = 0;
  const Entry* e = Sparse();
  for (size_t k = 0; k < n; ++k) {
    uint32_t at = Find(idx[k]);
    missing += at == size_ || e[at].index != idx[k];
  }
  return missing;
}

void BucketStore::Reserve(int32_t lo, int32_t hi, uint64_t distinct, uint64_t n,
                          const MemoryScope& scope) {
  if (n == 0 || Covers(lo, hi)) return;
  if (dense_) {
    if (DenseFits(lo, hi)) {
      MakeDense(lo, hi, scope);  // still covers what earlier reservations covered
      return;
    }
    // Far-away buckets (see AddSlow): back to sparse entries, with room for
    // these and for any empty bucket of the dense range, which values this
    // call reserved earlier may still fill.
    uint64_t zeros = 0;
    for (uint32_t k = 0; k < size_; ++k) zeros += Dense()[k] == 0;
    MakeSparse(scope, distinct + zeros);
    pending_ = static_cast<uint32_t>(std::min<uint64_t>(distinct + zeros, UINT32_MAX));
    return;
  }
  uint64_t need = uint64_t{size_} + pending_ + distinct;
  // Turning dense now would not cover buckets reserved earlier in this call
  // (their range is not kept), so a store with pending entries stays sparse
  // until the call ends. Sparse counts are 32-bit: near that, go dense.
  bool sparse = pending_ > 0 ||
                (total_ + n < (uint64_t{1} << 31) &&
                 (!DenseFits(lo, hi) || (need <= kSparseMax && n < kSparseMax)));
  if (!sparse) {
    // Many values at once go dense right away (what adding them one by one
    // would reach anyway, without the regrowing).
    MakeDense(lo, hi, scope);
    return;
  }
  if (need > cap_) GrowSparse(need, scope);
  pending_ = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{pending_} + distinct, UINT32_MAX));
}

void BucketStore::ReserveExact(const int32_t* idx, size_t m, uint64_t n,
                               const MemoryScope& scope) {
  if (m == 0 || Covers(idx[0], idx[m - 1])) return;
  if (dense_ || pending_ > 0 || total_ + n >= (uint64_t{1} << 31)) {
    Reserve(idx[0], idx[m - 1], m, n, scope);
    return;
  }
  if (m == 1) {
    // One value (the keyed path): present, or one empty entry put in place.
    const uint32_t k = Find(idx[0]);
    if (k < size_ && Sparse()[k].index == idx[0]) return;
    if (size_ + 1 > kSparseMax && DenseFits(idx[0], idx[0])) {
      MakeDense(idx[0], idx[0], scope);
      return;
    }
    if (size_ == cap_) GrowSparse(size_ + 1, scope);
    Entry* e = Sparse();
    std::memmove(e + k + 1, e + k, (size_ - k) * sizeof(Entry));
    e[k] = Entry{idx[0], 0};
    ++size_;
    return;
  }
  const uint32_t missing = CountMissing(idx, m);
  const uint64_t need = uint64_t{size_} + missing;
  if (DenseFits(idx[0], idx[m - 1]) && (need > kSparseMax || n >= kSparseMax)) {
    MakeDense(idx[0], idx[m - 1], scope);  // covers every entry, placeholders too
    return;
  }
  if (missing == 0) return;
  if (need > cap_) GrowSparse(need, scope);
  // Merge the missing indexes in as empty entries, from the back.
  Entry* e = Sparse();
  size_t from = size_, out = size_ + missing;
  for (size_t k = m; k-- > 0;) {
    while (from > 0 && e[from - 1].index > idx[k]) e[--out] = e[--from];
    if (from > 0 && e[from - 1].index == idx[k]) {
      e[--out] = e[--from];
    } else {
      e[--out] = Entry{idx[k], 0};
    }
  }
  size_ += missing;
}

void BucketStore::Undo() {
  pending_ = 0;
  if (dense_) return;
  Entry* e = Sparse();
  uint32_t kept = 0;
  for (uint32_t k = 0; k < size_; ++k) {
    if (e[k].count != 0) e[kept++] = e[k];
  }
  size_ = kept;
}

void BucketStore::AddSlow(int32_t i, uint64_t n, const MemoryScope& scope) {
  if (dense_) {
    if (DenseFits(i, i)) {
      MakeDense(i, i, scope);
      Dense()[i - offset_] += n;
      total_ += n;
      return;
    }
    // A far-away bucket: a dense array over the whole span could take
    // megabytes (alpha 1e-4 spans ~5M buckets); go back to sparse entries.
    MakeSparse(scope);
  }
  uint32_t k = Find(i);
  Entry* e = Sparse();
  if (k < size_ && e[k].index == i) {
    if (uint64_t{e[k].count} + n <= UINT32_MAX) {
      e[k].count += static_cast<uint32_t>(n);
      total_ += n;
      return;
    }
  } else if (n <= UINT32_MAX &&
             (size_ < cap_ || size_ < kSparseMax || !DenseFits(i, i))) {
    // Room reserved (or kept) in place first: a reserved add never allocates.
    if (size_ == cap_) {
      GrowSparse(size_ + 1, scope);
      e = Sparse();
    }
    std::memmove(e + k + 1, e + k, (size_ - k) * sizeof(Entry));
    e[k] = Entry{i, static_cast<uint32_t>(n)};
    ++size_;
    total_ += n;
    return;
  }
  MakeDense(i, i, scope);
  Dense()[i - offset_] += n;
  total_ += n;
}

void BucketStore::Remove(int32_t i, uint64_t n) {
  total_ -= n;
  if (dense_) {
    Dense()[i - offset_] -= n;
    return;
  }
  uint32_t k = Find(i);
  Entry* e = Sparse();
  e[k].count -= static_cast<uint32_t>(n);
  if (e[k].count == 0) {
    std::memmove(e + k, e + k + 1, (size_ - k - 1) * sizeof(Entry));
    --size_;
  }
}

bool BucketStore::NonZeroRange(int32_t* lo, int32_t* hi) const {
  if (total_ == 0) return false;
  if (!dense_) {
    *lo = Sparse()[0].index;
    *hi = Sparse()[size_ - 1].index;
    return true;
  }
  const uint64_t* c = Dense();
  uint32_t a = 0, b = size_;
  while (c[a] == 0) ++a;
  while (c[b - 1] == 0) --b;
  *lo = offset_ + static_cast<int32_t>(a);
  *hi = offset_ + static_cast<int32_t>(b) - 1;
  return true;
}

void BucketStore::MergeFrom(const BucketStore& o, const MemoryScope& scope) {
  int32_t lo, hi;
  if (!o.NonZeroRange(&lo, &hi)) return;
  if (dense_ && !Covers(lo, hi)) CoverDense(lo, hi, scope);
  o.ForEach([&](int32_t i, uint64_t c) { Add(i, c, scope); });
}

void BucketStore::Clear() {
  if (dense_) {
    std::fill(Dense(), Dense() + size_, 0);
  } else {
    size_ = 0;
  }
  total_ = 0;
}

// ---- Sketch: raw values or buckets ----------------------------------------

void Sketch::Free() noexcept {
  void* p = block();
  if (p == nullptr) return;
  if (Buckets* b = buckets()) {
    b->pos.Free(*scope_);
    b->neg.Free(*scope_);
  }
  scope_->Deallocate(p);
  rep_ &= kRawOk;
}

uint64_t Sketch::count() const {
  if (const Raw* r = raw()) return r->n;
  if (const Buckets* b = buckets()) return b->pos.total() + b->neg.total() + b->zero;
  return 0;
}

uint64_t Sketch::zero_count() const {
  if (const Raw* r = raw()) {
    uint64_t z = 0;
    for (uint32_t k = 0; k < r->n; ++k) z += std::fabs(r->values()[k]) < kMinIndexable;
    return z;
  }
  if (const Buckets* b = buckets()) return b->zero;
  return 0;
}

size_t Sketch::bytes() const {
  if (block() == nullptr) return 0;
  size_t n = AllocatedSize(block());
  if (const Buckets* b = buckets()) n += b->pos.bytes() + b->neg.bytes();
  return n;
}

void Sketch::Clear() {
  if (Raw* r = raw()) {
    r->n = 0;
    r->pending = 0;
  } else if (Buckets* b = buckets()) {
    b->pos.Clear();
    b->neg.Clear();
    b->zero = 0;
  }
}

Sketch::Buckets* Sketch::EnsureBuckets() {
  if (Buckets* b = buckets()) return b;
  if (const Raw* r = raw()) return ConvertToBuckets(SketchMapping(r->alpha), [](Buckets*) {});
  auto* b = new (scope_->Allocate(sizeof(Buckets))) Buckets();
  rep_ = reinterpret_cast<uintptr_t>(b) | (rep_ & kRawOk);
  return b;
}

Sketch::Buckets* Sketch::ConvertToBuckets(const SketchMapping& map,
                                          absl::FunctionRef<void(Buckets*)> then) {
  if (Buckets* b = buckets()) {
    then(b);
    return b;
  }
  // Built aside, the raw values and whatever `then` reserves: the sketch
  // changes only once nothing can fail any more.
  Raw* r = raw();
  auto* b = new (scope_->Allocate(sizeof(Buckets))) Buckets();
  try {
    if (r != nullptr && r->n > 0) {
      b->Reserve(r->values(), r->n, map, *scope_);
      b->AddSpan(r->values(), r->n, map, *scope_);
      b->pos.ClearPending();
      b->neg.ClearPending();
    }
    then(b);
  } catch (...) {
    b->pos.Free(*scope_);
    b->neg.Free(*scope_);
    scope_->Deallocate(b);
    throw;
  }
  if (r != nullptr) scope_->Deallocate(r);
  rep_ = reinterpret_cast<uintptr_t>(b) | (rep_ & kRawOk);
  return b;
}

void Sketch::GrowRaw(uint64_t need, double alpha) {
  Raw* r = raw();
  const uint64_t cap = r ? r->cap : 0;
  if (need <= cap) return;
  // 1.5x growth, then whatever the allocator's size class leaves over.
  uint64_t want = std::max<uint64_t>({need, cap + cap / 2, 2});
  void* p = scope_->Allocate(sizeof(Raw) + want * sizeof(double));
  auto* fresh = static_cast<Raw*>(p);
  const uint64_t usable = (AllocatedSize(p) - sizeof(Raw)) / sizeof(double);
  fresh->n = r ? r->n : 0;
  fresh->cap = static_cast<uint32_t>(std::min<uint64_t>(usable, UINT32_MAX));
  fresh->pending = r ? r->pending : 0;
  fresh->unused = 0;
  fresh->alpha = alpha;
  if (r != nullptr) {
    std::memcpy(fresh->values(), r->values(), r->n * sizeof(double));
    scope_->Deallocate(r);
  }
  rep_ = reinterpret_cast<uintptr_t>(fresh) | kRawRep | (rep_ & kRawOk);
}

namespace {
// Bytes a bucket store takes for `distinct` buckets spanning `span`
// indexes (how BucketStore grows: sparse up to kSparseMax entries, else a
// dense range with a little slack), rounded like the allocator's classes.
uint64_t StoreBytes(uint64_t distinct, uint64_t span) {
  if (distinct == 0) return 0;
  if (distinct <= BucketStore::kSparseMax ||
      span > static_cast<uint64_t>(BucketStore::kMaxDenseBuckets)) {
    uint64_t cap = 4;
    while (cap < distinct) cap = std::min<uint64_t>(cap * 2, std::max<uint64_t>(distinct, 48));
    return cap * 8;
  }
  return (span + 8) * 8;
}
}  // namespace

bool Sketch::BucketsSmaller(const double* x, size_t n, const SketchMapping& map) const {
  const Raw* r = raw();
  const uint64_t held = r ? r->n : 0, total = held + n;
  const uint64_t raw_bytes = sizeof(Raw) + total * sizeof(double);
  // The bucket form never takes less than its block and two entries.
  if (raw_bytes <= sizeof(Buckets) + 16) return false;
  thread_local ScratchVector<int32_t> scratch[2];
  ScratchVector<int32_t>* idx = scratch;
  idx[0].clear();
  idx[1].clear();
  auto take = [&](const double* v, size_t m) {
    for (size_t k = 0; k < m; ++k) {
      if (v[k] >= kMinIndexable) {
        idx[0].push_back(map.Index(v[k]));
      } else if (v[k] <= -kMinIndexable) {
        idx[1].push_back(map.Index(v[k]));
      }
    }
  };
  if (r != nullptr) take(r->values(), r->n);
  take(x, n);
  uint64_t bucket_bytes = sizeof(Buckets);
  for (int s = 0; s < 2; ++s) {
    ScratchVector<int32_t>& v = idx[s];
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    const uint64_t span = static_cast<uint64_t>(int64_t{v.back()} - v.front() + 1);
    const uint64_t distinct = static_cast<uint64_t>(std::unique(v.begin(), v.end()) - v.begin());
    bucket_bytes += StoreBytes(distinct, span);
  }
  return bucket_bytes < raw_bytes;
}

// Raw blocks stay below this many values whatever the data: past it the
// bucket form is taken (it is smaller for all but extremely spread values,
// and sorting the indexes to compare would cost too much per growth).
constexpr uint64_t kRawMaxValues = uint64_t{1} << 16;

void Sketch::Reserve(const double* x, size_t n, const SketchMapping& map) {
  if (n == 0) return;
  if (!raw_mode()) {
    EnsureBuckets()->Reserve(x, n, map, *scope_);
    return;
  }
  Raw* r = raw();
  const uint64_t pending = r ? r->pending : 0;
  const uint64_t need = (r ? r->n : 0) + pending + n;
  if (r != nullptr && need <= r->cap) {
    r->pending += static_cast<uint32_t>(n);
    return;
  }
  // Growing: the moment to compare forms. Only a call's first reservation
  // may convert: values reserved before in this call are not known yet.
  if (pending == 0 && (need > kRawMaxValues || BucketsSmaller(x, n, map))) {
    ConvertToBuckets(map, [&](Buckets* b) { b->Reserve(x, n, map, *scope_); });
    return;
  }
  GrowRaw(need, map.alpha());
  raw()->pending += static_cast<uint32_t>(n);
}

void Sketch::AddUnreserved(double x, const SketchMapping& map) {
  if (raw_mode()) {
    Reserve(&x, 1, map);
    if (Raw* r = raw()) {
      r->values()[r->n++] = x;
      --r->pending;
      return;
    }
  }
  Buckets* b = EnsureBuckets();
  b->Add(x, map, *scope_);
  b->pos.ClearPending();
  b->neg.ClearPending();
}

void Sketch::AddSpan(const double* x, size_t n, const SketchMapping& map) {
  if (Raw* r = raw()) {
    if (uint64_t{r->n} + n <= r->cap) {
      std::memcpy(r->values() + r->n, x, n * sizeof(double));
      r->n += static_cast<uint32_t>(n);
      r->pending -= static_cast<uint32_t>(std::min<uint64_t>(r->pending, n));
      return;
    }
  }
  if (raw_mode() || block() == nullptr) {
    // Unreserved (not the push path): reserve now, then add.
    Reserve(x, n, map);
    if (raw()) {
      AddSpan(x, n, map);
      return;
    }
    buckets()->AddSpan(x, n, map, *scope_);
    ClearPending();
    return;
  }
  buckets()->AddSpan(x, n, map, *scope_);
}

void Sketch::Buckets::AddSpan(const double* x, size_t n, const SketchMapping& map,
                              const MemoryScope& scope) {
  constexpr size_t kChunk = 256;
  int32_t idx[kChunk];
  for (size_t base = 0; base < n; base += kChunk) {
    size_t m = std::min(kChunk, n - base);
    BucketIndexRange r = ComputeBucketIndexes(x + base, m, map.multiplier(), idx);
    // Common case (the store reserved for these values): every value
    // positive and the store dense over them: plain increments.
    if (r.all_positive && pos.Covers(r.lo, r.hi)) {
      pos.AddUncheckedSpan(idx, m);
      continue;
    }
    for (size_t k = 0; k < m; ++k) {
      double v = x[base + k];
      if (v >= kMinIndexable) {
        pos.Add(idx[k], 1, scope);
      } else if (v <= -kMinIndexable) {
        neg.Add(idx[k], 1, scope);
      } else {
        ++zero;
      }
    }
  }
}

void Sketch::Remove(double x, const SketchMapping& map) {
  if (Raw* r = raw()) {
    double* v = r->values();
    for (uint32_t k = r->n; k-- > 0;) {
      if (std::memcmp(&v[k], &x, sizeof x) == 0) {
        v[k] = v[--r->n];
        return;
      }
    }
    return;
  }
  Buckets* b = buckets();
  if (x >= kMinIndexable) {
    b->pos.Remove(map.Index(x), 1);
  } else if (x <= -kMinIndexable) {
    b->neg.Remove(map.Index(x), 1);
  } else {
    --b->zero;
  }
}

void Sketch::RemoveSpan(const double* x, size_t n, const SketchMapping& map) {
  Buckets* b = buckets();
  if (b == nullptr) {
    for (size_t k = 0; k < n; ++k) Remove(x[k], map);
    return;
  }
  constexpr size_t kChunk = 256;
  int32_t idx[kChunk];
  for (size_t base = 0; base < n; base += kChunk) {
    size_t m = std::min(kChunk, n - base);
    BucketIndexRange r = ComputeBucketIndexes(x + base, m, map.multiplier(), idx);
    if (r.all_positive && b->pos.dense()) {
      b->pos.RemoveUncheckedSpan(idx, m);
      continue;
    }
    for (size_t k = 0; k < m; ++k) {
      double v = x[base + k];
      if (v >= kMinIndexable) {
        b->pos.Remove(idx[k], 1);
      } else if (v <= -kMinIndexable) {
        b->neg.Remove(idx[k], 1);
      } else {
        --b->zero;
      }
    }
  }
}

void Sketch::Buckets::Reserve(const double* x, size_t n, const SketchMapping& map,
                              const MemoryScope& scope) {
  // Per sign: the bucket range, the count, and how many buckets may be new.
  struct Need {
    int32_t lo = std::numeric_limits<int32_t>::max();
    int32_t hi = std::numeric_limits<int32_t>::min();
    uint64_t n = 0;
    void Take(int32_t i) {
      lo = std::min(lo, i);
      hi = std::max(hi, i);
      ++n;
    }
  };
  Need need[2];  // [0] positive, [1] negative
  BucketStore* store[2] = {&pos, &neg};
  constexpr size_t kExact = 32;
  if (n <= kExact) {
    // Few values (the keyed path): count the new buckets exactly, so quiet
    // sparse stores stay sparse.
    int32_t idx[2][kExact];
    for (size_t k = 0; k < n; ++k) {
      if (x[k] >= kMinIndexable || x[k] <= -kMinIndexable) {
        int s = x[k] < 0;
        int32_t i = map.Index(x[k]);
        idx[s][need[s].n] = i;
        need[s].Take(i);
      }
    }
    for (int s = 0; s < 2; ++s) {
      if (need[s].n == 0 || store[s]->Covers(need[s].lo, need[s].hi)) continue;
      int32_t* b = idx[s];
      size_t m = static_cast<size_t>(need[s].n);
      std::sort(b, b + m);
      m = static_cast<size_t>(std::unique(b, b + m) - b);
      store[s]->ReserveExact(b, m, need[s].n, scope);
    }
    return;
  }
  // Many values: the index is monotone in |x|, so min and max give the range
  // when every value has one sign.
  const MinMax range = SpanMinMax(x, n);
  const double mn = range.min, mx = range.max;
  if (mn >= kMinIndexable) {
    need[0].lo = map.Index(mn);
    need[0].hi = map.Index(mx);
    need[0].n = n;
  } else if (mx <= -kMinIndexable) {
    need[1].lo = map.Index(mx);
    need[1].hi = map.Index(mn);
    need[1].n = n;
  } else {
    for (size_t k = 0; k < n; ++k) {
      if (x[k] >= kMinIndexable) {
        need[0].Take(map.Index(x[k]));
      } else if (x[k] <= -kMinIndexable) {
        need[1].Take(map.Index(x[k]));
      }
    }
  }
  for (int s = 0; s < 2; ++s) {
    if (need[s].n == 0) continue;
    uint64_t span = static_cast<uint64_t>(int64_t{need[s].hi} - need[s].lo + 1);
    store[s]->Reserve(need[s].lo, need[s].hi, std::min(need[s].n, span), need[s].n, scope);
  }
}

void Sketch::ReserveMerge(const Sketch& o) {
  if (o.count() == 0) return;
  if (const Raw* from = o.raw()) {
    ReserveValuesMerge(from->values(), from->n, SketchMapping(from->alpha));
    return;
  }
  // Bucket form in: this turns into buckets too.
  const Buckets* from = o.buckets();
  auto reserve = [&](Buckets* to) {
    const BucketStore* src[2] = {&from->pos, &from->neg};
    BucketStore* dst[2] = {&to->pos, &to->neg};
    for (int s = 0; s < 2; ++s) {
      int32_t lo, hi;
      if (!src[s]->NonZeroRange(&lo, &hi)) continue;
      uint64_t n = 0;
      src[s]->ForEach([&](int32_t, uint64_t) { ++n; });
      dst[s]->Reserve(lo, hi, n, src[s]->total(), *scope_);
    }
  };
  if (const Raw* r = raw()) {
    ConvertToBuckets(SketchMapping(r->alpha), reserve);
  } else {
    reserve(EnsureBuckets());
  }
}

void Sketch::ReserveValuesMerge(const double* x, size_t n, const SketchMapping& map) {
  Raw* r = raw();
  if (!raw_mode() || (r == nullptr ? 0 : uint64_t{r->n} + r->pending) + n > kRawMaxValues) {
    Reserve(x, n, map);  // buckets, or raw past its bound
    return;
  }
  // Raw into raw stays raw (a window merged from raw panes answers exact
  // quantiles): it takes no more bytes than the parts did.
  const uint64_t need = (r ? r->n + uint64_t{r->pending} : 0) + n;
  GrowRaw(need, map.alpha());
  raw()->pending += static_cast<uint32_t>(n);
}

void Sketch::MergeValues(const double* x, size_t n, const SketchMapping& map) {
  if (n == 0) return;
  ReserveValuesMerge(x, n, map);
  AddSpan(x, n, map);
  ClearPending();
}

void Sketch::MergeFrom(const Sketch& o) {
  ReserveMerge(o);
  MergeReserved(o);
  ClearPending();  // a whole operation: the next one reserves afresh
}

void Sketch::MergeReserved(const Sketch& o) {
  if (o.count() == 0) return;
  if (const Raw* from = o.raw()) {
    AddSpan(from->values(), from->n, SketchMapping(from->alpha));
    return;
  }
  Buckets* to = buckets();
  const Buckets* from = o.buckets();
  to->pos.MergeFrom(from->pos, *scope_);
  to->neg.MergeFrom(from->neg, *scope_);
  to->zero += from->zero;
}

void Sketch::ForEachRawBucket(bool negative,
                              absl::FunctionRef<void(int32_t, uint64_t)> f) const {
  const Raw* r = raw();
  ForEachBucketOf(r->values(), r->n, SketchMapping(r->alpha), negative, f);
}

void Sketch::ForEachBucketOf(const double* x, size_t n, const SketchMapping& map, bool negative,
                             absl::FunctionRef<void(int32_t, uint64_t)> f) {
  thread_local ScratchVector<int32_t> scratch;
  ScratchVector<int32_t>& idx = scratch;
  idx.clear();
  for (size_t k = 0; k < n; ++k) {
    double v = x[k];
    if (negative ? v <= -kMinIndexable : v >= kMinIndexable) idx.push_back(map.Index(v));
  }
  std::sort(idx.begin(), idx.end());
  for (size_t k = 0; k < idx.size();) {
    size_t e = k;
    while (e < idx.size() && idx[e] == idx[k]) ++e;
    f(idx[k], e - k);
    k = e;
  }
}

// Above this many quantiles in one read, sorting raw values beats selecting each.
constexpr size_t kSelectMaxQuantiles = 8;

void OrderStatistics(double* values, size_t n, const double* q, size_t nq, double* out) {
  if (n == 0) {
    for (size_t j = 0; j < nq; ++j) out[j] = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  auto rank_of = [&](double qj) -> size_t {
    if (!(qj > 0)) return 0;
    if (qj >= 1) return n - 1;
    return std::min(static_cast<size_t>(std::floor(qj * static_cast<double>(n - 1))), n - 1);
  };
  if (nq > kSelectMaxQuantiles) {
    std::sort(values, values + n);
    for (size_t j = 0; j < nq; ++j) out[j] = values[rank_of(q[j])];
    return;
  }
  // A few ranks (a request's p50/p99/p999): select them in increasing
  // order, each in the part right of the previous one — O(n) each rather
  // than a sort of the window.
  std::pair<size_t, size_t> ranks[kSelectMaxQuantiles];
  for (size_t j = 0; j < nq; ++j) ranks[j] = {rank_of(q[j]), j};
  std::sort(ranks, ranks + nq);
  double* from = values;
  for (size_t k = 0; k < nq; ++k) {
    double* at = values + ranks[k].first;
    if (at >= from) {
      std::nth_element(from, at, values + n);
      from = at + 1;
    }
    out[ranks[k].second] = *at;
  }
}

void Sketch::Quantiles(const Sketch* const* parts, size_t nparts, const double* q, size_t nq,
                       const SketchMapping& map, double min, double max, double* out) {
  uint64_t n = 0;
  bool all_raw = true;
  for (size_t p = 0; p < nparts; ++p) {
    n += parts[p]->count();
    all_raw &= parts[p]->buckets() == nullptr || parts[p]->count() == 0;
  }
  if (all_raw && n > 0) {
    // Every value is at hand: the order statistics themselves.
    thread_local ScratchVector<double> scratch;
    ScratchVector<double>& values = scratch;
    values.clear();
    for (size_t p = 0; p < nparts; ++p) {
      if (const Raw* r = parts[p]->raw()) values.insert(values.end(), r->values(), r->values() + r->n);
    }
    OrderStatistics(values.data(), values.size(), q, nq, out);
    return;
  }
  // Raw parts among bucket ones: their values' buckets join the walk.
  thread_local ScratchVector<int32_t> raw_scratch[2];
  ScratchVector<int32_t>* raw_idx = raw_scratch;  // [0] positive, [1] negative
  raw_idx[0].clear();
  raw_idx[1].clear();
  uint64_t raw_zeros = 0;
  bool any_raw = false;
  for (size_t p = 0; p < nparts; ++p) {
    const Raw* r = parts[p]->raw();
    if (r == nullptr) continue;
    any_raw = true;
    for (uint32_t k = 0; k < r->n; ++k) {
      double v = r->values()[k];
      if (v >= kMinIndexable) {
        raw_idx[0].push_back(map.Index(v));
      } else if (v <= -kMinIndexable) {
        raw_idx[1].push_back(map.Index(v));
      } else {
        ++raw_zeros;
      }
    }
  }
  constexpr size_t kMaxBatch = 64;
  // Quantiles in rank order, answered in one walk over the buckets.
  std::pair<uint64_t, size_t> pending[kMaxBatch];
  for (size_t base = 0; base < nq; base += kMaxBatch) {
    size_t m = 0;
    for (size_t j = base; j < std::min(nq, base + kMaxBatch); ++j) {
      if (n == 0) {
        out[j] = std::numeric_limits<double>::quiet_NaN();
      } else if (q[j] <= 0) {
        out[j] = min;
      } else if (q[j] >= 1) {
        out[j] = max;
      } else {
        auto rank = static_cast<uint64_t>(std::floor(q[j] * static_cast<double>(n - 1)));
        pending[m++] = {std::min(rank, n - 1), j};
      }
    }
    if (m == 0) continue;
    std::sort(pending, pending + m);
    size_t next = 0;
    uint64_t seen = 0;  // values in the buckets walked so far
    auto clamp = [&](double v) { return v < min ? min : (v > max ? max : v); };
    // Visits one bucket; returns false once every pending quantile is
    // answered. `value` is a bucket index, or kZeroBucket; the value is
    // computed only for buckets that answer a quantile.
    constexpr int64_t kZeroBucket = int64_t{1} << 40;
    auto visit = [&](int64_t index, bool negative, uint64_t c) {
      seen += c;
      if (next < m && pending[next].first < seen) {
        double v = index == kZeroBucket ? 0.0 : map.Value(static_cast<int32_t>(index));
        if (negative) v = -v;
        while (next < m && pending[next].first < seen) out[pending[next++].second] = clamp(v);
      }
      return next < m;
    };
    bool more = true;
    if (nparts == 1 && !any_raw) {
      const Buckets& k = *parts[0]->buckets();
      k.neg.ForEachWhile(/*descending=*/true,
                         [&](int32_t i, uint64_t c) { return more = visit(i, true, c); });
      if (more && k.zero) more = visit(kZeroBucket, false, k.zero);
      if (more) {
        k.pos.ForEachWhile(false, [&](int32_t i, uint64_t c) { return more = visit(i, false, c); });
      }
    } else {
      // Several parts (panes): add them into one scratch range instead of
      // probing every part at every index of the union range.
      thread_local ScratchVector<uint64_t> scratch;
      ScratchVector<uint64_t>& counts = scratch;  // one TLS lookup
      auto walk = [&](bool negative) {
        const ScratchVector<int32_t>& extra = raw_idx[negative ? 1 : 0];
        int32_t lo = std::numeric_limits<int32_t>::max(), hi = std::numeric_limits<int32_t>::min();
        for (size_t p = 0; p < nparts; ++p) {
          const Buckets* b = parts[p]->buckets();
          if (b == nullptr) continue;
          int32_t a, c;
          if ((negative ? b->neg : b->pos).NonZeroRange(&a, &c)) {
            lo = std::min(lo, a);
            hi = std::max(hi, c);
          }
        }
        for (int32_t i : extra) {
          lo = std::min(lo, i);
          hi = std::max(hi, i);
        }
        if (lo > hi) return;
        size_t range = static_cast<size_t>(int64_t{hi} - lo + 1);
        if (range > static_cast<size_t>(4 * BucketStore::kMaxDenseBuckets)) {
          // Values over a huge span (sparse stores): sort their entries.
          thread_local ScratchVector<std::pair<int32_t, uint64_t>> sorted_entries;
          auto& entries = sorted_entries;
          entries.clear();
          for (size_t p = 0; p < nparts; ++p) {
            const Buckets* b = parts[p]->buckets();
            if (b == nullptr) continue;
            (negative ? b->neg : b->pos)
                .ForEach([&](int32_t i, uint64_t c) { entries.emplace_back(i, c); });
          }
          for (int32_t i : extra) entries.emplace_back(i, 1);
          std::sort(entries.begin(), entries.end());
          if (negative) std::reverse(entries.begin(), entries.end());
          for (size_t k = 0; more && k < entries.size(); ++k) {
            more = visit(entries[k].first, negative, entries[k].second);
          }
          return;
        }
        // Usually a few hundred buckets: add every part into a dense scratch
        // array, then walk it.
        counts.assign(range, 0);
        for (size_t p = 0; p < nparts; ++p) {
          const Buckets* b = parts[p]->buckets();
          if (b != nullptr) (negative ? b->neg : b->pos).AddInto(counts.data(), lo, hi);
        }
        for (int32_t i : extra) ++counts[static_cast<size_t>(i - lo)];
        if (negative) {
          for (size_t r = range; more && r-- > 0;)
            if (counts[r]) more = visit(lo + static_cast<int64_t>(r), true, counts[r]);
        } else {
          for (size_t r = 0; more && r < range; ++r)
            if (counts[r]) more = visit(lo + static_cast<int64_t>(r), false, counts[r]);
        }
      };
      walk(true);
      uint64_t zeros = raw_zeros;
      for (size_t p = 0; p < nparts; ++p) {
        if (const Buckets* b = parts[p]->buckets()) zeros += b->zero;
      }
      if (more && zeros) more = visit(kZeroBucket, false, zeros);
      if (more) walk(false);
    }
    for (; next < m; ++next) out[pending[next].second] = max;  // unreachable when counts agree
  }
}

// ---- Serialized form ---------------------------------------------------------

StoreView StoreView::Read(WireSource& in, const SketchMapping& map, const char* what) {
  // Bucket indexes a finite double can have under this accuracy.
  const int32_t lo = map.Index(kMinIndexable), hi = map.Index(std::numeric_limits<double>::max());
  StoreView v;
  v.n = in.U32(what);
  if (v.n > kMaxBuckets || size_t{v.n} * kEntrySize > in.remaining()) {
    Fail(Status::kCorrupt, "%s declares %u buckets, more than the input holds", what, v.n);
  }
  v.entries = in.Bytes(size_t{v.n} * kEntrySize, what);
  WireSource e(v.entries, size_t{v.n} * kEntrySize);
  int32_t prev = 0;
  for (uint32_t k = 0; k < v.n; ++k) {
    int32_t index = e.I32(what);
    uint64_t count = e.U64(what);
    if (index < lo || index > hi) {
      Fail(Status::kCorrupt, "%s bucket index %d is outside [%d, %d], where finite values go",
           what, index, lo, hi);
    }
    if (k > 0 && index <= prev) {
      Fail(Status::kCorrupt, "%s bucket indexes are not strictly increasing", what);
    }
    if (count == 0) Fail(Status::kCorrupt, "%s stores an empty bucket", what);
    prev = index;
    if (__builtin_add_overflow(v.total, count, &v.total)) {
      Fail(Status::kCorrupt, "%s bucket counts overflow", what);
    }
  }
  return v;
}

int32_t StoreView::IndexAt(uint32_t k) const {
  WireSource e(entries + size_t{k} * kEntrySize, kEntrySize);
  return e.I32("bucket");
}

void SketchView::CheckRange(double min, double max, const SketchMapping& map,
                            const char* what) const {
  const bool p = max >= kMinIndexable, n = min <= -kMinIndexable;
  const bool z = min < kMinIndexable && max > -kMinIndexable;
  if ((pos.n > 0) != p || (neg.n > 0) != n || (zero > 0 && !z)) {
    Fail(Status::kCorrupt,
         "%s: its buckets (%u positive, %u negative, %u zeros) contradict min %g, max %g", what,
         pos.n, neg.n, zero, min, max);
  }
  if ((p && pos.IndexAt(pos.n - 1) != map.Index(max)) ||
      (n && neg.IndexAt(neg.n - 1) != map.Index(min))) {
    Fail(Status::kCorrupt, "%s: its largest bucket is not that of min %g / max %g", what, min,
         max);
  }
}

void Sketch::Write(WireSink& s) const {
  if (const Raw* r = raw()) {
    WriteValues(s, r->values(), r->n, SketchMapping(r->alpha));
    return;
  }
  s.U64(zero_count());
  for (bool negative : {false, true}) {
    uint32_t n = 0;
    ForEachBucket(negative, [&](int32_t, uint64_t) { ++n; });
    s.U32(n);
    ForEachBucket(negative, [&](int32_t i, uint64_t c) {
      s.I32(i);
      s.U64(c);
    });
  }
}

void Sketch::WriteValues(WireSink& s, const double* x, size_t n, const SketchMapping& map) {
  uint64_t zeros = 0;
  for (size_t k = 0; k < n; ++k) zeros += std::fabs(x[k]) < kMinIndexable;
  s.U64(zeros);
  for (bool negative : {false, true}) {
    uint32_t buckets = 0;
    ForEachBucketOf(x, n, map, negative, [&](int32_t, uint64_t) { ++buckets; });
    s.U32(buckets);
    ForEachBucketOf(x, n, map, negative, [&](int32_t i, uint64_t c) {
      s.I32(i);
      s.U64(c);
    });
  }
}

SketchView Sketch::Validate(WireSource& in, const SketchMapping& map, const char* what) {
  SketchView v;
  v.zero = in.U64(what);
  v.pos = StoreView::Read(in, map, what);
  v.neg = StoreView::Read(in, map, what);
  if (__builtin_add_overflow(v.pos.total, v.neg.total, &v.total) ||
      __builtin_add_overflow(v.total, v.zero, &v.total)) {
    Fail(Status::kCorrupt, "%s counts overflow", what);
  }
  return v;
}

void Sketch::Load(const SketchView& v) {
  for (bool negative : {false, true}) {
    const StoreView& store = negative ? v.neg : v.pos;
    WireSource e(store.entries, size_t{store.n} * StoreView::kEntrySize);
    for (uint32_t k = 0; k < store.n; ++k) {
      int32_t i = e.I32("bucket");
      AddCounts(negative, i, e.U64("bucket"));
    }
  }
  AddZeros(v.zero);
}

}  // namespace windowagg::internal
