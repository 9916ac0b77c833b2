#include "core/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/series.h"

namespace windowagg::internal {

Stats MakeStats(const Moments& m, int64_t start, int64_t end, const Series* s,
                int64_t watermark) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  Stats st{};
  st.count = m.count;
  st.sum = m.count ? m.Sum() : 0.0;
  st.mean = m.count ? m.Sum() / static_cast<double>(m.count) : kNaN;
  if (m.count && !(st.mean >= m.min && st.mean <= m.max)) {
    // The sum overflowed (its Welford mean is finite, moments.h), or the
    // division rounded past an extreme (three times 0.1): the mean of
    // values in [min, max] lies in [min, max].
    st.mean = std::clamp(std::isfinite(st.mean) ? st.mean : m.mean, m.min, m.max);
  }
  st.min = m.count ? m.min : kNaN;
  st.max = m.count ? m.max : kNaN;
  st.variance = m.Variance();
  st.stddev = std::sqrt(st.variance);
  st.window_start = start;
  st.window_end = end;
  st.late = s ? s->late : 0;
  st.rejected = s ? s->rejected : 0;
  st.total = s ? s->total : 0;
  st.watermark = watermark;
  return st;
}

}  // namespace windowagg::internal
