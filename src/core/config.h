// A handle's configuration, validated once at creation.
#ifndef WINDOWAGG_CORE_CONFIG_H_
#define WINDOWAGG_CORE_CONFIG_H_

#include <cstdint>

namespace windowagg::internal {

// Enumerator values equal the C header's constants.
enum class WindowKind : uint32_t { kCount = 0, kSliding = 1, kTumbling = 2, kHopping = 3 };
enum class NonFinitePolicy : uint32_t { kReject = 0, kSkip = 1 };
enum class KeyPolicy : uint32_t { kReject = 0, kEvictLru = 1, kOverflow = 2 };

inline constexpr uint64_t kDefaultKey = 0;
inline constexpr uint64_t kOverflowKey = ~uint64_t{0};
inline constexpr int64_t kMaxCountWindow = int64_t{1} << 32;
// SLIDING: window_size/pane_width; HOPPING: window_size/slide (the windows
// one value belongs to, each emitted when it closes).
inline constexpr int64_t kMaxPanesPerSeries = int64_t{1} << 20;

struct Config {
  WindowKind kind = WindowKind::kCount;
  int64_t window_size = 1024;
  int64_t slide = 0;
  int64_t pane_width = 0;
  int64_t allowed_lateness = 0;
  double relative_accuracy = 0.01;
  bool quantiles = true;
  NonFinitePolicy nonfinite = NonFinitePolicy::kReject;
  uint64_t max_keys = 0;
  KeyPolicy key_policy = KeyPolicy::kReject;
  bool thread_safe = true;
  int64_t key_ttl = 0;
  uint64_t memory_limit = 0;
  uint64_t max_pending_windows = 65536;
};

// Checks every field and resolves defaults (pane_width, slide for
// TUMBLING). Throws Error(kConfig) naming the first bad field.
void ValidateConfig(Config* c);

// True if two configurations produce mergeable state (threading, limits and
// budgets do not matter; window geometry, accuracy and policies do).
bool SameGeometry(const Config& a, const Config& b);

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_CONFIG_H_
