// Shared helpers of the fuzz targets (no Catch2: they run under libFuzzer
// and under tests/fuzz/replay_main.cpp). A violated invariant prints what
// was expected and what was got, then aborts (libFuzzer records a crash,
// the replay executable fails its ctest).
#ifndef WINDOWAGG_TESTS_FUZZ_COMMON_HPP_
#define WINDOWAGG_TESTS_FUZZ_COMMON_HPP_

#include <windowagg/windowagg.h>

#include <cfloat>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace fz {

[[noreturn]] inline void Die(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "fuzz invariant violated: ");
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n  last error: %s\n", aggregator_last_error());
  std::fflush(stderr);
  std::abort();
}

#define FZ_CHECK(cond, ...)                                                        \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond); \
      ::fz::Die(__VA_ARGS__);                                                      \
    }                                                                              \
  } while (0)

// Expect a status; on mismatch report both codes.
#define FZ_STATUS(call, want)                                                     \
  do {                                                                            \
    int fz_rc_ = (call);                                                          \
    if (fz_rc_ != (want))                                                         \
      ::fz::Die("%s:%d: %s returned %d (%s), expected %d (%s)", __FILE__, __LINE__, \
                #call, fz_rc_, aggregator_status_string(fz_rc_), (int)(want),      \
                aggregator_status_string(want));                                  \
  } while (0)

// Consumes the fuzz input byte by byte; zeros once exhausted.
class Input {
 public:
  Input(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool empty() const { return i_ >= n_; }
  size_t remaining() const { return n_ - i_; }
  uint8_t U8() { return i_ < n_ ? p_[i_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() | (U8() << 8)); }
  uint32_t U32() { return U16() | (static_cast<uint32_t>(U16()) << 16); }
  uint64_t U64() { return U32() | (static_cast<uint64_t>(U32()) << 32); }
  // Uniform-ish in [0, n).
  uint32_t Below(uint32_t n) { return n <= 256 ? U8() % n : U32() % n; }
  bool Bool() { return U8() & 1; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t i_ = 0;
};

inline std::vector<uint8_t> Serialize(const aggregator* a) {
  size_t size = 0;
  FZ_STATUS(aggregator_serialized_size(a, &size), AGGREGATOR_OK);
  if (std::getenv("FZ_DEBUG")) std::fprintf(stderr, "serialize: %zu bytes\n", size);
  std::vector<uint8_t> buf(size);
  size_t written = 0;
  FZ_STATUS(aggregator_serialize(a, buf.data(), buf.size(), &written), AGGREGATOR_OK);
  FZ_CHECK(written == size, "written %zu, size %zu", written, size);
  if (size > 0) {
    // One byte short: EBUFFER, nothing written, size reported.
    std::vector<uint8_t> small(size - 1, 0xEE);
    size_t need = 0;
    FZ_STATUS(aggregator_serialize(a, small.data(), small.size(), &need), AGGREGATOR_EBUFFER);
    FZ_CHECK(need == size, "EBUFFER reported %zu, size %zu", need, size);
    for (uint8_t b : small) FZ_CHECK(b == 0xEE, "EBUFFER wrote into the buffer");
  }
  return buf;
}

inline bool SameDouble(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0 || a == b;
}

inline bool StatsIdentical(const aggregator_stats& x, const aggregator_stats& y) {
  return x.count == y.count && SameDouble(x.sum, y.sum) && SameDouble(x.mean, y.mean) &&
         SameDouble(x.min, y.min) && SameDouble(x.max, y.max) &&
         SameDouble(x.variance, y.variance) && SameDouble(x.stddev, y.stddev) &&
         x.window_start == y.window_start && x.window_end == y.window_end && x.late == y.late &&
         x.rejected == y.rejected && x.total == y.total && x.watermark == y.watermark;
}

inline std::string Describe(const aggregator_stats& s) {
  char b[512];
  std::snprintf(b, sizeof b,
                "{count=%llu sum=%.17g mean=%.17g min=%.17g max=%.17g var=%.17g sd=%.17g "
                "ws=%lld we=%lld late=%llu rej=%llu total=%llu wm=%lld}",
                (unsigned long long)s.count, s.sum, s.mean, s.min, s.max, s.variance, s.stddev,
                (long long)s.window_start, (long long)s.window_end, (unsigned long long)s.late,
                (unsigned long long)s.rejected, (unsigned long long)s.total,
                (long long)s.watermark);
  return b;
}

}  // namespace fz

#endif  // WINDOWAGG_TESTS_FUZZ_COMMON_HPP_
