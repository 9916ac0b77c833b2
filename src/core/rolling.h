// Per-row rolling aggregates over a whole batch, the semantics of pandas'
// df.groupby(key).rolling(window).agg(...): one output per input row, over
// that row's window within its key. No handle and no state: everything is
// read from the arrays the call gets and written to the outputs it gets.
//
// Windows, for row i of key k (rows of a key taken in input order):
//   - rows:  the last `window` rows of k up to and including i;
//   - time:  the rows j <= i of k with t_i - window < t_j <= t_i, i.e.
//            (t_i - window, t_i], pandas' closed='right'. Timestamps must be
//            non-decreasing within each key (pandas requires the same).
// Missing values follow pandas: NaN and +-Inf are left out of every
// aggregate (pandas turns Inf into NaN before rolling); COUNT counts the
// non-NaN values (Inf included, as pandas' count does). A row's output is
// NaN when its window holds fewer than min_periods usable (finite) values
// -- for COUNT, fewer than min_periods rows.
//
// Cost: O(1) amortized per row for count/sum/mean/min/max/var/std (a two-stack
// sliding window over Moments: only merges, no subtraction, so no drift),
// O(log m) per row and quantile for quantiles (the ranks present in the
// window, among a key's m values sorted: a bitset plus a Fenwick tree over
// its 64-bit words), plus one O(n) grouping pass (a hash map of keys) and an
// O(m log m) sort of each key's values when quantiles are asked for.
#ifndef WINDOWAGG_CORE_ROLLING_H_
#define WINDOWAGG_CORE_ROLLING_H_

#include <cstddef>
#include <cstdint>

namespace windowagg::internal {

// Values equal the AGGREGATOR_ROLLING_* enumerators of the C header.
enum class RollingAggregate : uint32_t {
  kCount = 0,
  kSum = 1,
  kMean = 2,
  kMin = 3,
  kMax = 4,
  kVariance = 5,  // sample variance (ddof = 1)
  kStddev = 6,
  kQuantile = 7,  // exact, pandas' 'linear' interpolation
};
inline constexpr uint32_t kRollingAggregates = 8;

struct RollingSpec {
  bool time = false;        // false: a row-count window
  int64_t window = 0;       // rows, or time units; > 0
  int64_t min_periods = -1;  // -1: rows -> window, time -> 1
};

struct RollingOutput {
  RollingAggregate aggregate;
  double q;     // kQuantile: in [0, 1]
  double* out;  // one value per input row
};

// Computes every output for rows [0, n). `timestamps` is required for time
// windows and ignored for row windows; `keys` may be null (one key).
// Validates everything first (Error kInvalidArgument naming the argument or
// row) and allocates all scratch before writing: on any failure, nothing
// has been written to the outputs.
void Rolling(const RollingSpec& spec, const double* values, const int64_t* timestamps,
             const uint64_t* keys, size_t n, const RollingOutput* outputs, size_t n_outputs);

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_ROLLING_H_
