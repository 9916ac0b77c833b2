// Event-time arithmetic that cannot overflow: every int64 timestamp, negative
// ones and the extremes included, is valid input.
#ifndef WINDOWAGG_CORE_TIME_MATH_H_
#define WINDOWAGG_CORE_TIME_MATH_H_

#include <cstdint>
#include <limits>

namespace windowagg::internal {

using Wide = __int128;

inline constexpr int64_t kTimeMin = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kTimeMax = std::numeric_limits<int64_t>::max();

inline int64_t Saturate(Wide v) {
  if (v < kTimeMin) return kTimeMin;
  if (v > kTimeMax) return kTimeMax;
  return static_cast<int64_t>(v);
}

// floor(a / b) for b > 0.
inline Wide FloorDiv(Wide a, int64_t b) {
  Wide q = a / b;
  if ((a % b) != 0 && a < 0) --q;
  return q;
}

inline int64_t PaneOf(int64_t t, int64_t width) {
  // int64 division (width > 0 cannot overflow it): the 128-bit FloorDiv is a
  // libgcc call, and this runs per value.
  int64_t q = t / width;
  return (t % width != 0 && t < 0) ? q - 1 : q;
}

// Start and end of pane p, clamped to the int64 range.
inline int64_t PaneStart(int64_t p, int64_t width) { return Saturate(Wide(p) * width); }
inline int64_t PaneEnd(int64_t p, int64_t width) { return Saturate((Wide(p) + 1) * width); }

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_TIME_MATH_H_
