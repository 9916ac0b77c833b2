#include "core/rolling.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "core/error.h"
#include "core/hash_map_room.h"
#include "core/memory.h"
#include "core/moments.h"

namespace windowagg::internal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The moments of one value (what Moments::Add gives from empty, without the
// division).
Moments One(double x) {
  Moments m;
  m.count = 1;
  m.sum = x;
  m.mean = x;
  m.min = x;
  m.max = x;
  return m;
}

// The set of values present in the window, as their ranks (0..m-1) among
// a key's values sorted (ranks are unique: ties are ordered by position).
// A bitset, one bit per rank, plus a Fenwick tree of the number of set bits
// per 64-rank word, so insert, erase and "the k-th smallest present rank"
// are O(log(m/64)) with a 64x smaller tree than one counter per rank: a key
// of 10^6 values needs 128 KiB of bits and 64 KiB of tree, which stay in
// cache (a counter per rank was 4 MiB and missed it at every level).
// Storage is reserved once for the largest key.
class RankSet {
 public:
  void Reserve(size_t m) {
    words_.reserve(Words(m));
    tree_.reserve(Pow2(Words(m)) + 1);
  }
  void Reset(size_t m) {  // within the reserved capacity: no allocation
    words_.assign(Words(m), 0);
    size_ = Pow2(Words(m));
    tree_.assign(size_ + 1, 0);
  }
  void Insert(uint32_t rank) {
    words_[rank >> 6] |= uint64_t{1} << (rank & 63);
    Count(rank >> 6, 1);
  }
  void Erase(uint32_t rank) {
    words_[rank >> 6] &= ~(uint64_t{1} << (rank & 63));
    Count(rank >> 6, -1);
  }
  // The k-th smallest present rank (k from 0; k < number present): a
  // branch-free descent to the word (the padding keeps every probe inside
  // the tree), then the bit within it.
  uint32_t Kth(uint64_t k) const {
    size_t pos = 0;
    for (size_t step = size_; step != 0; step >>= 1) {
      const uint64_t c = tree_[pos + step];
      const bool right = c <= k;
      pos += right ? step : 0;
      k -= right ? c : 0;
    }
    return static_cast<uint32_t>(pos * 64 + Select(words_[pos], static_cast<unsigned>(k)));
  }
  // The smallest present rank above `rank` (which is present and not the
  // largest): in the same word if there is one, else the (k+1)-th.
  uint32_t Next(uint32_t rank, uint64_t k) const {
    const unsigned bit = rank & 63;
    const uint64_t above = bit == 63 ? 0 : words_[rank >> 6] >> (bit + 1);
    if (above != 0) return rank + 1 + static_cast<uint32_t>(std::countr_zero(above));
    return Kth(k + 1);
  }

 private:
  static size_t Words(size_t m) { return m / 64 + 1; }
  static size_t Pow2(size_t m) {
    size_t p = 1;
    while (p < m) p *= 2;
    return p;
  }
  void Count(size_t word, int32_t delta) {
    for (size_t i = word + 1; i <= size_; i += i & (~i + 1)) {
      tree_[i] = static_cast<uint32_t>(static_cast<int64_t>(tree_[i]) + delta);
    }
  }
  // The position of the k-th set bit of w (k < popcount(w)): clears the k
  // lowest set bits (no popcount: the baseline x86-64 build would call a
  // library function for it). A window holding few of its key's values has
  // about one bit per word, so k is small.
  static unsigned Select(uint64_t w, unsigned k) {
    for (; k != 0; --k) w &= w - 1;
    return static_cast<unsigned>(std::countr_zero(w));
  }
  ScratchVector<uint64_t> words_;
  ScratchVector<uint32_t> tree_;
  size_t size_ = 0;
};

bool Overlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  if (a == nullptr || b == nullptr || a_bytes == 0 || b_bytes == 0) return false;
  auto pa = reinterpret_cast<uintptr_t>(a);
  auto pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + b_bytes && pb < pa + a_bytes;
}

const char* AggregateName(RollingAggregate a) {
  switch (a) {
    case RollingAggregate::kCount: return "COUNT";
    case RollingAggregate::kSum: return "SUM";
    case RollingAggregate::kMean: return "MEAN";
    case RollingAggregate::kMin: return "MIN";
    case RollingAggregate::kMax: return "MAX";
    case RollingAggregate::kVariance: return "VAR";
    case RollingAggregate::kStddev: return "STD";
    case RollingAggregate::kQuantile: return "QUANTILE";
  }
  return "?";
}

void Validate(const RollingSpec& spec, const double* values, const int64_t* timestamps,
              const uint64_t* keys, size_t n, const RollingOutput* outputs, size_t n_outputs) {
  if (spec.window <= 0) {
    Fail(Status::kInvalidArgument, "window is %d: it must be > 0 (%s)", spec.window,
         spec.time ? "time units" : "rows");
  }
  if (spec.min_periods < -1) {
    Fail(Status::kInvalidArgument,
         "min_periods is %d: it must be >= 0, or -1 for the default (rows: window, time: 1)",
         spec.min_periods);
  }
  if (!spec.time && spec.min_periods > spec.window) {
    Fail(Status::kInvalidArgument, "min_periods %d is larger than the window of %d rows",
         spec.min_periods, spec.window);
  }
  if (n > std::numeric_limits<uint32_t>::max()) {
    Fail(Status::kInvalidArgument, "len is %u: at most 4294967295 rows per call", n);
  }
  if (n > 0 && values == nullptr) Fail(Status::kInvalidArgument, "values is NULL");
  if (spec.time && n > 0 && timestamps == nullptr) {
    Fail(Status::kInvalidArgument,
         "a time window needs timestamps (timestamps is NULL); use a row window "
         "(AGGREGATOR_WINDOW_COUNT) to roll over the last N rows");
  }
  if (n_outputs > 0 && outputs == nullptr) Fail(Status::kInvalidArgument, "outputs is NULL");
  size_t bytes = n * sizeof(double);
  for (size_t j = 0; j < n_outputs; ++j) {
    const RollingOutput& o = outputs[j];
    if (static_cast<uint32_t>(o.aggregate) >= kRollingAggregates) {
      Fail(Status::kInvalidArgument,
           "outputs[%u].aggregate is %u: not an AGGREGATOR_ROLLING_* aggregate (0..%u)", j,
           static_cast<uint32_t>(o.aggregate), kRollingAggregates - 1);
    }
    if (o.aggregate == RollingAggregate::kQuantile && !(o.q >= 0 && o.q <= 1)) {
      Fail(Status::kInvalidArgument, "outputs[%u].q is %g: a quantile must be in [0, 1]", j, o.q);
    }
    if (n > 0 && o.out == nullptr) Fail(Status::kInvalidArgument, "outputs[%u].out is NULL", j);
    if (Overlap(o.out, bytes, values, bytes) ||
        Overlap(o.out, bytes, timestamps, spec.time ? n * sizeof(int64_t) : 0) ||
        Overlap(o.out, bytes, keys, keys ? n * sizeof(uint64_t) : 0)) {
      Fail(Status::kInvalidArgument, "outputs[%u].out (%s) overlaps an input array", j,
           AggregateName(o.aggregate));
    }
    for (size_t k = 0; k < j; ++k) {
      if (Overlap(o.out, bytes, outputs[k].out, bytes)) {
        Fail(Status::kInvalidArgument, "outputs[%u].out overlaps outputs[%u].out", j, k);
      }
    }
  }
}

}  // namespace

void Rolling(const RollingSpec& spec, const double* values, const int64_t* timestamps,
             const uint64_t* keys, size_t n, const RollingOutput* outputs, size_t n_outputs) {
  Validate(spec, values, timestamps, keys, n, outputs, n_outputs);
  const int64_t min_periods =
      spec.min_periods >= 0 ? spec.min_periods : (spec.time ? 1 : spec.window);
  const auto minp = static_cast<uint64_t>(min_periods);
  const auto window = static_cast<uint64_t>(spec.window);

  // Group rows by key (keys numbered in order of first appearance). Each
  // key's rows are then processed as one contiguous run: if the input has
  // them contiguous already (one key, or rows sorted by key) the input
  // arrays are used as they are; otherwise values and timestamps are
  // gathered key by key first (one pass), so the rest reads memory in order
  // instead of jumping across the whole batch for every row.
  ScratchVector<uint32_t> offsets;  // key g's rows are positions [offsets[g], offsets[g+1])
  ScratchVector<uint32_t> order;    // position -> input row (empty: the identity)
  ScratchVector<double> gathered_values;
  ScratchVector<int64_t> gathered_times;
  const double* v = values;
  const int64_t* ts = spec.time ? timestamps : nullptr;
  if (keys == nullptr) {
    offsets = {0, static_cast<uint32_t>(n)};
  } else {
    ScratchVector<uint32_t> group(n);
    absl::flat_hash_map<uint64_t, uint32_t, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                        ScratchAllocator<std::pair<const uint64_t, uint32_t>>>
        ids;
    ScratchVector<uint32_t> counts;
    size_t runs = 0;
    for (size_t i = 0; i < n; ++i) {
      uint32_t g;
      if (i > 0 && keys[i] == keys[i - 1]) {  // runs of a key: no lookup
        g = group[i - 1];
      } else {
        ++runs;
        auto it = ids.find(keys[i]);
        if (it != ids.end()) {
          g = it->second;
        } else {
          g = static_cast<uint32_t>(counts.size());
          counts.push_back(0);
          MakeRoomForInsert(ids);  // an insert that cannot fail halfway
          ids.emplace(keys[i], g);
        }
      }
      group[i] = g;
      ++counts[g];
    }
    offsets.resize(counts.size() + 1);
    offsets[0] = 0;
    for (size_t g = 0; g < counts.size(); ++g) offsets[g + 1] = offsets[g] + counts[g];
    if (runs != counts.size()) {  // some key's rows are not contiguous: gather
      order.resize(n);
      gathered_values.resize(n);
      if (ts != nullptr) gathered_times.resize(n);
      for (size_t g = 0; g < counts.size(); ++g) counts[g] = offsets[g];  // fill cursors
      for (size_t i = 0; i < n; ++i) {
        uint32_t pos = counts[group[i]]++;
        order[pos] = static_cast<uint32_t>(i);
        gathered_values[pos] = values[i];
        if (ts != nullptr) gathered_times[pos] = timestamps[i];
      }
      v = gathered_values.data();
      if (ts != nullptr) ts = gathered_times.data();
    }
  }
  const size_t n_groups = offsets.size() - 1;
  auto row_of = [&](size_t pos) -> size_t { return order.empty() ? pos : order[pos]; };

  // Time windows: each key's rows in time order.
  if (ts != nullptr) {
    for (size_t g = 0; g < n_groups; ++g) {
      for (size_t p = offsets[g] + 1; p < offsets[g + 1]; ++p) {
        if (ts[p] < ts[p - 1]) {
          Fail(Status::kInvalidArgument,
               "timestamps[%u] = %d is before timestamps[%u] = %d, an earlier row of the same "
               "key: a time window needs each key's rows in time order (sort by key, then time)",
               row_of(p), ts[p], row_of(p - 1), ts[p - 1]);
        }
      }
    }
  }

  bool need_moments = false, need_ranks = false;
  for (size_t j = 0; j < n_outputs; ++j) {
    RollingAggregate a = outputs[j].aggregate;
    if (a == RollingAggregate::kQuantile) {
      need_ranks = true;
    } else if (a != RollingAggregate::kCount) {
      need_moments = true;
    }
  }
  if (n_outputs == 0 || n == 0) return;

  // All scratch, sized for the largest key, before the first output is written.
  size_t largest = 0;
  for (size_t g = 0; g < n_groups; ++g) {
    largest = std::max<size_t>(largest, offsets[g + 1] - offsets[g]);
  }
  ScratchVector<Moments> suffix(need_moments ? largest : 0);
  ScratchVector<uint32_t> rank(need_ranks ? largest : 0);
  ScratchVector<std::pair<double, uint32_t>> by_value(need_ranks ? largest : 0);
  ScratchVector<double> sorted(need_ranks ? largest : 0);
  RankSet present;
  if (need_ranks) present.Reserve(largest);

  WINDOWAGG_NO_ALLOCATION_HERE();
  for (size_t g = 0; g < n_groups; ++g) {
    const size_t base = offsets[g];
    const size_t m = offsets[g + 1] - base;
    const double* x_of = v + base;  // this key's values, positions 0..m-1
    const int64_t* t_of = ts != nullptr ? ts + base : nullptr;
    if (need_ranks) {  // rank of each finite value among its key's, ties by position
      size_t finite = 0;
      for (size_t p = 0; p < m; ++p) {
        if (std::isfinite(x_of[p])) by_value[finite++] = {x_of[p], static_cast<uint32_t>(p)};
      }
      std::sort(by_value.begin(), by_value.begin() + static_cast<ptrdiff_t>(finite));
      for (size_t r = 0; r < finite; ++r) {
        rank[by_value[r].second] = static_cast<uint32_t>(r);
        sorted[r] = by_value[r].first;
      }
      present.Reset(finite);
    }
    // The window is positions [lo, p] of this key. Moments over it: a
    // two-stack queue on the range -- suffix[k] aggregates [k, mid) (the
    // "front", built backwards), `back` aggregates [mid, p]; when the front
    // runs out, it is rebuilt from the whole window (each value once).
    size_t lo = 0, mid = 0;
    Moments back;
    uint64_t non_nan = 0, finite = 0;
    for (size_t p = 0; p < m; ++p) {
      const size_t row = row_of(base + p);
      const double x = x_of[p];
      if (!std::isnan(x)) ++non_nan;
      if (std::isfinite(x)) {
        ++finite;
        if (need_moments) back.Add(x);
        if (need_ranks) present.Insert(rank[p]);
      }
      size_t new_lo;
      if (t_of != nullptr) {
        const auto t = static_cast<uint64_t>(t_of[p]);
        new_lo = lo;  // evict rows with t - t_j >= window (exact in uint64: t >= t_j)
        while (t - static_cast<uint64_t>(t_of[new_lo]) >= window) ++new_lo;
      } else {
        new_lo = p + 1 > window ? p + 1 - window : 0;
      }
      for (; lo < new_lo; ++lo) {
        const double y = x_of[lo];
        if (!std::isnan(y)) --non_nan;
        if (std::isfinite(y)) {
          --finite;
          if (need_ranks) present.Erase(rank[lo]);
        }
      }
      Moments w;
      if (need_moments) {
        if (lo > mid) {  // evicted past the front: rebuild it over [lo, p]
          Moments acc;
          for (size_t k = p + 1; k-- > lo;) {
            const double y = x_of[k];
            if (std::isfinite(y)) {
              Moments e = One(y);
              e.Merge(acc);
              acc = e;
            }
            suffix[k] = acc;
          }
          mid = p + 1;
          back = Moments();
        }
        if (lo < mid) {
          w = suffix[lo];
          w.Merge(back);
        } else {
          w = back;
        }
      }
      const uint64_t rows_in_window = p + 1 - lo;
      const bool enough = finite >= minp;
      for (size_t j = 0; j < n_outputs; ++j) {
        const RollingOutput& o = outputs[j];
        double r = kNaN;
        switch (o.aggregate) {
          case RollingAggregate::kCount:
            if (rows_in_window >= minp) r = static_cast<double>(non_nan);
            break;
          case RollingAggregate::kSum:
            if (enough) r = finite == 0 ? 0.0 : w.Sum();
            break;
          case RollingAggregate::kMean:
            if (enough && finite > 0) r = w.mean;
            break;
          case RollingAggregate::kMin:
            if (enough && finite > 0) r = w.min;
            break;
          case RollingAggregate::kMax:
            if (enough && finite > 0) r = w.max;
            break;
          case RollingAggregate::kVariance:
            if (enough) r = w.Variance();
            break;
          case RollingAggregate::kStddev:
            if (enough) r = std::sqrt(w.Variance());
            break;
          case RollingAggregate::kQuantile:
            if (enough && finite > 0) {
              // pandas' 'linear': between order statistics floor(h) and
              // floor(h) + 1, h = q * (n - 1).
              const double h = o.q * static_cast<double>(finite - 1);
              const auto k = static_cast<uint64_t>(h);
              const uint32_t lo_rank = present.Kth(k);
              const double lo_v = sorted[lo_rank];
              if (static_cast<double>(k) == h || finite == 1) {
                r = lo_v;
              } else {
                const double hi_v = sorted[present.Next(lo_rank, k)];
                r = lo_v + (hi_v - lo_v) * (h - static_cast<double>(k));
              }
            }
            break;
        }
        o.out[row] = r;
      }
    }
  }
}

}  // namespace windowagg::internal
