// Serialized state and time math at the edges (issue 12, items 4, 11, 15, 16):
//   4  every state a push accepts serializes and restores (extreme finite
//      values: sums overflowing to Inf, M2 to Inf), byte-identically;
//   11 HOPPING geometry bounded (window_size/slide <= 2^20) at create and
//      restore; closing work follows the windows that hold data;
//   15 size-1 windows at t = INT64_MAX after watermark INT64_MAX: late, and
//      serialization stays stable;
//   16 restore refuses blobs whose fields contradict each other (checksum
//      recomputed), naming the field.
#include <windowagg/windowagg.h>

#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "test_util.hpp"

using tu::Handle;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
const double kInf = std::numeric_limits<double>::infinity();

std::vector<uint8_t> Serialize(aggregator* a) {
  size_t size = 0;
  REQUIRE(aggregator_serialized_size(a, &size) == AGGREGATOR_OK);
  std::vector<uint8_t> out(size);
  INFO(tu::last_error());
  REQUIRE(aggregator_serialize(a, out.data(), out.size(), &size) == AGGREGATOR_OK);
  out.resize(size);
  return out;
}

Handle Restore(const std::vector<uint8_t>& b) {
  aggregator* a = nullptr;
  int rc = aggregator_restore(b.data(), b.size(), AGGREGATOR_THREADING_SHARED, &a);
  INFO("aggregator_restore: " << tu::last_error());
  REQUIRE(rc == AGGREGATOR_OK);
  return Handle(a);
}

// ---- Blob surgery (format v1, see src/state/state.cc) ----------------------

void PutU64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t GetU64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{b[at + i]} << (8 * i);
  return v;
}
uint32_t GetU32(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{b[at + i]} << (8 * i);
  return v;
}
void PutF64(std::vector<uint8_t>& b, size_t at, double v) {
  uint64_t u;
  std::memcpy(&u, &v, 8);
  PutU64(b, at, u);
}
double GetF64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t u = GetU64(b, at);
  double v;
  std::memcpy(&v, &u, 8);
  return v;
}
void FixChecksum(std::vector<uint8_t>& b) {
  PutU64(b, b.size() - 8, aggregator_key_hash(b.data(), b.size() - 8));
}
void FixFingerprint(std::vector<uint8_t>& b) { PutU64(b, 16, aggregator_key_hash(b.data() + 24, 85)); }

constexpr size_t kConfigAt = 24;
constexpr size_t kHandleAt = 24 + 85;
constexpr size_t kSeriesCountAt = kHandleAt + 37;

// Offsets of the first series' fields.
struct SeriesAt {
  size_t key, name_len, late, total, last_event, window;
};
SeriesAt FirstSeries(const std::vector<uint8_t>& b) {
  SeriesAt s;
  s.key = kSeriesCountAt + 8;
  s.name_len = s.key + 8;
  s.late = s.name_len + 4 + GetU32(b, s.name_len);
  s.total = s.late + 16;
  s.last_event = s.total + 8;
  s.window = s.last_event + 16;
  return s;
}
// The first pane's moments: count, sum, comp, mean, m2, min, max.
size_t FirstPaneMoments(const std::vector<uint8_t>& b) {
  size_t w = FirstSeries(b).window;
  REQUIRE(GetU32(b, w + 8) >= 1);
  return w + 8 + 4 + 8;
}

// Refused with ECORRUPT and a message naming `field`; *out stays NULL.
void RequireRefused(std::vector<uint8_t> b, const char* field) {
  FixChecksum(b);
  aggregator* a = reinterpret_cast<aggregator*>(uintptr_t{1});
  int rc = aggregator_restore(b.data(), b.size(), 0, &a);
  std::string msg = tu::last_error();
  INFO("expected a refusal naming \"" << field << "\"; got rc " << rc << ": " << msg);
  CHECK(rc == AGGREGATOR_ECORRUPT);
  CHECK(a == nullptr);
  CHECK(msg.find(field) != std::string::npos);
  if (rc == AGGREGATOR_OK) aggregator_free(a);
}

// ---- Item 4: extreme finite values ------------------------------------------

// min <= mean <= max, variance never NaN from two values on.
void CheckPossible(const aggregator_stats& s) {
  INFO(tu::describe(s));
  if (s.count == 0) return;
  CHECK(s.min <= s.max);
  CHECK(s.mean >= s.min);
  CHECK(s.mean <= s.max);
  if (s.count >= 2) {
    CHECK(!std::isnan(s.variance));
    CHECK(s.variance >= 0);
  }
}

double Extreme(std::mt19937_64& rng) {
  static const double kPool[] = {DBL_MAX,  -DBL_MAX, 1e308,   -1e308,   1e300,  -1e300,
                                 1e200,    -1e200,   1e154,   -1e154,   DBL_MIN, -DBL_MIN,
                                 4.9e-324, -4.9e-324, 2.2250738585072009e-308, 0.0, -0.0,
                                 1.0,      -1.0,     0.1};
  std::uniform_int_distribution<int> pick(0, 3);
  switch (pick(rng)) {
    case 0: {
      std::uniform_real_distribution<double> u(-1e3, 1e3);
      return u(rng);
    }
    case 1: {
      // A random magnitude anywhere in the double range.
      std::uniform_int_distribution<int> e(-1074, 1023);
      std::uniform_real_distribution<double> m(1.0, 2.0);
      double v = std::ldexp(m(rng), e(rng));
      if (!std::isfinite(v)) v = DBL_MAX;
      return rng() & 1 ? v : -v;
    }
    default: {
      std::uniform_int_distribution<size_t> k(0, sizeof kPool / sizeof kPool[0] - 1);
      return kPool[k(rng)];
    }
  }
}

struct Geometry {
  const char* name;
  uint32_t kind;
  int64_t size, slide, pane;
};

const Geometry kGeometries[] = {
    {"count small", AGGREGATOR_WINDOW_COUNT, 16, 0, 0},
    {"count large", AGGREGATOR_WINDOW_COUNT, 4096, 0, 0},
    {"sliding", AGGREGATOR_WINDOW_SLIDING, 600, 0, 100},
    {"tumbling", AGGREGATOR_WINDOW_TUMBLING, 100, 0, 0},
    {"hopping", AGGREGATOR_WINDOW_HOPPING, 100, 25, 0},
};

// serialize -> restore -> serialize byte-identical, reads equal.
//
// One exception, an IEEE fact rather than state: a COUNT window above 1024
// values aggregates per block, and the restored window groups its values
// into blocks differently from the pushes (fuzz_restore.cpp, "restored-
// variance-last-bit"); when partial sums overflow, one grouping can overflow
// (Inf) where the other does not. Those reads are compared only when finite.
void RoundTrip(aggregator* h, const aggregator_config& c) {
  std::vector<uint8_t> b1 = Serialize(h);
  Handle r = Restore(b1);
  std::vector<uint8_t> b2 = Serialize(r);
  REQUIRE(b1 == b2);
  aggregator_stats x = tu::get_stats(h), y = tu::get_stats(r);
  CheckPossible(x);
  CHECK(x.count == y.count);
  CHECK(tu::same_double(x.min, y.min));
  CHECK(tu::same_double(x.max, y.max));
  CHECK(x.total == y.total);
  CHECK(x.late == y.late);
  // Sums and moments agree up to the summation order of a restored ring
  // (see tests/fuzz/fuzz_restore.cpp); see above for overflow in blocks.
  const bool blocks = c.window_kind == AGGREGATOR_WINDOW_COUNT && c.window_size > 1024;
  auto near = [](double a, double b) {
    return tu::same_double(a, b) || std::fabs(a - b) <= 1e-12 * std::fabs(b);
  };
  auto same_moments = [&](const aggregator_stats& a, const aggregator_stats& b) {
    INFO(tu::describe(a) << " vs " << tu::describe(b));
    if (blocks && (!std::isfinite(a.sum) || !std::isfinite(b.sum) || std::isinf(a.variance) ||
                   std::isinf(b.variance))) {
      return;
    }
    CHECK(near(a.sum, b.sum));
    CHECK(near(a.mean, b.mean));
    CHECK(near(a.variance, b.variance));
  };
  same_moments(x, y);
  for (uint64_t k = 0; k < 4; ++k) {
    aggregator_stats a, b;
    int ra = aggregator_get_key_stats(h, k, &a), rb = aggregator_get_key_stats(r, k, &b);
    REQUIRE(ra == rb);
    if (ra != AGGREGATOR_OK) continue;
    CheckPossible(a);
    INFO("key " << k);
    CHECK(a.count == b.count);
    same_moments(a, b);
    if (c.quantiles) {
      double q[] = {0, 0.5, 1}, qa[3], qb[3];
      REQUIRE(aggregator_get_key_quantiles(h, k, q, 3, qa) == AGGREGATOR_OK);
      REQUIRE(aggregator_get_key_quantiles(r, k, q, 3, qb) == AGGREGATOR_OK);
      // A pane that kept its values raw answers exact quantiles; restored,
      // it is the sketch of those values (format v1): within alpha.
      // (Magnitudes below DBL_MIN are the sketch's zero bucket.)
      for (int j = 0; j < 3; ++j) {
        INFO("q " << q[j] << " before " << qa[j] << " restored " << qb[j]);
        CHECK((tu::same_double(qa[j], qb[j]) ||
               std::fabs(qa[j] - qb[j]) <= c.relative_accuracy * std::fabs(qa[j]) ||
               (std::fabs(qa[j]) < DBL_MIN && qb[j] == 0)));
      }
    }
  }
  // Merging the live handle and merging its bytes give the same state,
  // byte for byte (a live compact window merges as its restored panes do),
  // into an empty handle and into one with series of its own.
  for (bool own : {false, true}) {
    Handle live = tu::make(c), bytes = tu::make(c);
    if (own) {
      std::vector<double> v = {1.5, -2.25, 3e10, 4.0, -5e-3, 6.0};
      std::vector<int64_t> t = {0, 1, 2, 2, 3, 3};
      std::vector<uint64_t> k = {0, 1, 2, 0, 1, 3};
      for (aggregator* a : {live.get(), bytes.get()}) {
        REQUIRE(aggregator_push(a, v.data(), t.data(), k.data(), v.size()) == AGGREGATOR_OK);
      }
    }
    INFO("into a handle with series of its own: " << own << "; " << tu::last_error());
    const int rl = aggregator_merge(live, h);
    const int rb = aggregator_merge_serialized(bytes, b1.data(), b1.size());
    REQUIRE(rl == rb);
    if (rl == AGGREGATOR_OK) CHECK(Serialize(live) == Serialize(bytes));
  }
}

}  // namespace

TEST_CASE("issue 12 item 4: {1e200, -1e200} restores in every window kind (variance Inf)",
          "[state][issue12]") {
  for (const Geometry& g : kGeometries) {
    for (uint32_t q = 0; q < 2; ++q) {
      DYNAMIC_SECTION(g.name << " quantiles " << q) {
        aggregator_config c = tu::window_config(g.kind, g.size, g.slide);
        c.pane_width = g.pane;
        c.quantiles = q;
        Handle h = tu::make(c);
        double v[] = {1e200, -1e200};
        int64_t t[] = {1, 2};
        REQUIRE(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_OK);
        aggregator_stats s = tu::get_stats(h);
        CHECK(s.count == 2);
        CHECK(s.sum == 0);
        CHECK(s.mean == 0);
        CHECK(s.variance == kInf);  // as NumPy: var([1e200, -1e200], ddof=1) = inf
        RoundTrip(h, c);
        // Values whose sum overflows: the sum is +Inf (IEEE), the mean stays
        // the mean of the values.
        double big[] = {DBL_MAX, DBL_MAX, DBL_MAX};
        int64_t tb[] = {3, 3, 3};
        REQUIRE(aggregator_push(h, big, tb, nullptr, 3) == AGGREGATOR_OK);
        s = tu::get_stats(h);
        CheckPossible(s);
        CHECK(s.sum == kInf);
        RoundTrip(h, c);
        if (g.kind == AGGREGATOR_WINDOW_TUMBLING || g.kind == AGGREGATOR_WINDOW_HOPPING) {
          REQUIRE(aggregator_advance(h, 1000) == AGGREGATOR_OK);
          uint64_t pending = 0, dropped = 0;
          REQUIRE(aggregator_pending_windows(h, &pending, &dropped) == AGGREGATOR_OK);
          CHECK(pending > 0);
          RoundTrip(h, c);  // queued windows with Inf sums and variances
          for (const aggregator_window& w : tu::poll_all(h, 16, nullptr, 0, nullptr)) {
            CheckPossible(w.stats);
          }
        }
      }
    }
  }
}

TEST_CASE("issue 12 item 4: randomized extreme finite values always round-trip",
          "[state][issue12]") {
  std::mt19937_64 rng(12 + Catch::rngSeed());  // --rng-seed N: another sample
  for (const Geometry& g : kGeometries) {
    for (int round = 0; round < 12; ++round) {
      DYNAMIC_SECTION(g.name << " round " << round) {
        aggregator_config c = tu::window_config(g.kind, g.size, g.slide);
        c.pane_width = g.pane;
        c.quantiles = round % 3 != 0;
        Handle h = tu::make(c);
        int64_t clock = 0;
        for (int batch = 0; batch < 8; ++batch) {
          // Runs (the vectorized span paths) and scattered keys (per value).
          size_t n = 1 + rng() % 200;
          std::vector<double> v(n);
          std::vector<int64_t> t(n);
          std::vector<uint64_t> k(n);
          for (size_t i = 0; i < n; ++i) {
            v[i] = Extreme(rng);
            clock += static_cast<int64_t>(rng() % 3);
            t[i] = clock;
            k[i] = (round & 1) ? rng() % 4 : 0;
          }
          INFO(tu::last_error());
          REQUIRE(aggregator_push(h, v.data(), t.data(), k.data(), n) == AGGREGATOR_OK);
          if (rng() % 3 == 0 && g.kind != AGGREGATOR_WINDOW_COUNT) {
            clock += static_cast<int64_t>(rng() % 200);
            REQUIRE(aggregator_advance(h, clock) == AGGREGATOR_OK);
          }
          RoundTrip(h, c);
          if (g.kind == AGGREGATOR_WINDOW_TUMBLING || g.kind == AGGREGATOR_WINDOW_HOPPING) {
            if (rng() % 2) {
              for (const aggregator_window& w : tu::poll_all(h, 8, nullptr, 0, nullptr)) {
                CheckPossible(w.stats);
              }
            }
          }
        }
      }
    }
  }
}

// ---- Item 11: hopping geometry ----------------------------------------------

TEST_CASE("issue 12 item 11: hopping window_size/slide is bounded at create and restore",
          "[state][issue12]") {
  aggregator* a = nullptr;
  aggregator_config c = tu::window_config(AGGREGATOR_WINDOW_HOPPING, int64_t{1} << 40, 1);
  CHECK(aggregator_create(&c, &a) == AGGREGATOR_ECONFIG);
  CHECK(a == nullptr);
  CHECK(tu::last_error().find("slide") != std::string::npos);
  c.slide = (int64_t{1} << 20) - 1;  // does not divide
  CHECK(aggregator_create(&c, &a) == AGGREGATOR_ECONFIG);
  c = tu::window_config(AGGREGATOR_WINDOW_HOPPING, (int64_t{1} << 20) + 2, 1);
  CHECK(aggregator_create(&c, &a) == AGGREGATOR_ECONFIG);
  CHECK(tu::last_error().find("2^20") != std::string::npos);
  c = tu::window_config(AGGREGATOR_WINDOW_HOPPING, int64_t{1} << 20, 1);  // the largest ratio
  Handle ok = tu::make(c);

  // The same geometry in a stored configuration (fingerprint and checksum
  // fixed up): refused at restore, naming the field.
  Handle h = tu::make(tu::window_config(AGGREGATOR_WINDOW_HOPPING, int64_t{1} << 40,
                                        int64_t{1} << 20));
  double v = 1;
  int64_t t = 0;
  REQUIRE(aggregator_push(h, &v, &t, nullptr, 1) == AGGREGATOR_OK);
  std::vector<uint8_t> b = Serialize(h);
  const size_t slide_at = kConfigAt + 4 + 8;
  REQUIRE(GetU64(b, slide_at) == uint64_t{1} << 20);
  PutU64(b, slide_at, 1);
  FixFingerprint(b);
  RequireRefused(b, "slide");
}

TEST_CASE("issue 12 item 11: closing hopping windows skips the gaps between data",
          "[state][issue12]") {
  // D/S = 1000: each value is in 1000 windows. Two values 10^15 apart: the
  // 10^15 empty windows between them are never visited.
  Handle h = tu::make(tu::window_config(AGGREGATOR_WINDOW_HOPPING, 1000, 1));
  double v[] = {1, 2};
  int64_t t[] = {0, int64_t{1} << 50};
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_OK);
  REQUIRE(aggregator_advance(h, int64_t{1} << 51) == AGGREGATOR_OK);
  uint64_t pending = 0, dropped = 0;
  REQUIRE(aggregator_pending_windows(h, &pending, &dropped) == AGGREGATOR_OK);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(pending == 2000);
  CHECK(dropped == 0);
  CHECK(secs < 2.0);
}

// ---- Item 15: size-1 windows at INT64_MAX -----------------------------------

TEST_CASE("issue 12 item 15: size-1 windows at t = INT64_MAX after watermark INT64_MAX",
          "[state][issue12]") {
  const aggregator_config configs[] = {
      tu::window_config(AGGREGATOR_WINDOW_TUMBLING, 1),
      tu::window_config(AGGREGATOR_WINDOW_HOPPING, 1, 1),
      tu::window_config(AGGREGATOR_WINDOW_HOPPING, 4, 1),
      tu::window_config(AGGREGATOR_WINDOW_TUMBLING, 1, 0, 5),
  };
  for (const aggregator_config& c : configs) {
    DYNAMIC_SECTION("kind " << c.window_kind << " size " << c.window_size << " lateness "
                            << c.allowed_lateness) {
      Handle h = tu::make(c);
      double v = 1;
      int64_t t = kMax;
      REQUIRE(aggregator_push(h, &v, &t, nullptr, 1) == AGGREGATOR_OK);
      std::vector<aggregator_window> w = tu::poll_all(h, 8, nullptr, 0, nullptr);
      REQUIRE(!w.empty());
      uint64_t emitted = 0;
      for (const auto& x : w) emitted += x.stats.count;
      CHECK(emitted == w.size());  // the value, in each window containing it

      // At watermark INT64_MAX every window is closed (windowagg.h): late.
      v = 2;
      REQUIRE(aggregator_push(h, &v, &t, nullptr, 1) == AGGREGATOR_OK);
      aggregator_stats s = tu::get_stats(h);
      CHECK(s.late == 1);
      CHECK(s.total == 1);
      CHECK(s.count == 0);
      // A series created after it as well.
      uint64_t key = 7;
      REQUIRE(aggregator_push(h, &v, &t, &key, 1) == AGGREGATOR_OK);
      CHECK(tu::get_key_stats(h, key).late == 1);
      uint64_t pending = 0, dropped = 0;
      REQUIRE(aggregator_pending_windows(h, &pending, &dropped) == AGGREGATOR_OK);
      CHECK(pending == 0);

      std::vector<uint8_t> b1 = Serialize(h);
      Handle r = Restore(b1);
      std::vector<uint8_t> b2 = Serialize(r);
      CHECK(b1 == b2);
      REQUIRE(aggregator_pending_windows(r, &pending, &dropped) == AGGREGATOR_OK);
      CHECK(pending == 0);
      REQUIRE(aggregator_push(r, &v, &t, nullptr, 1) == AGGREGATOR_OK);
      CHECK(tu::get_key_stats(r, 0).late == 2);
      CHECK(Serialize(r) == Serialize(Restore(Serialize(r))));
      // Merged into a handle at the same watermark: late there too.
      Handle m = tu::make(c);
      REQUIRE(aggregator_advance(m, kMax) == AGGREGATOR_OK);
      REQUIRE(aggregator_merge(m, h) == AGGREGATOR_OK);
      CHECK(tu::get_stats(m).count == 0);
      REQUIRE(aggregator_pending_windows(m, &pending, &dropped) == AGGREGATOR_OK);
      CHECK(pending == 0);
    }
  }
}

// ---- Item 16: semantic invariants on restore ---------------------------------

TEST_CASE("issue 12 item 16: restore refuses self-contradicting fields, naming them",
          "[state][issue12]") {
  SECTION("a named series under a key that is not its name's hash") {
    Handle h = tu::make(tu::window_config(AGGREGATOR_WINDOW_COUNT, 8));
    double v[] = {1, 2, 3, 4, 5};
    const char name[] = "alpha";
    uint32_t off[6] = {0, 5, 10, 15, 20, 25};
    std::string bytes = std::string(name) + name + name + name + name;
    REQUIRE(aggregator_push_named(h, v, nullptr, reinterpret_cast<const uint8_t*>(bytes.data()),
                                  off, 5) == AGGREGATOR_OK);
    std::vector<uint8_t> b = Serialize(h);
    SeriesAt s = FirstSeries(b);
    REQUIRE(GetU64(b, s.key) == aggregator_key_hash(name, 5));
    std::vector<uint8_t> x = b;
    PutU64(x, s.key, 42);
    RequireRefused(x, "key 42 is not the hash of its");
    x = b;
    PutU64(x, s.key, ~uint64_t{0});
    RequireRefused(x, "is not the hash of its");
    // Lifetime total 0 while the window holds 5 values.
    x = b;
    PutU64(x, s.total, 0);
    PutU64(x, s.last_event, 0);
    RequireRefused(x, "total 0 accepted values, but its window holds 5");
    x = b;
    PutU64(x, s.total, 0);
    RequireRefused(x, "last_event");
  }
  SECTION("handle fields") {
    Handle h = tu::make(tu::window_config(AGGREGATOR_WINDOW_COUNT, 8));
    std::vector<uint8_t> b = Serialize(h);  // empty: no watermark
    PutU64(b, kHandleAt + 1, 123456);
    RequireRefused(b, "watermark 123456");
    // A series holding values with no watermark.
    Handle g = tu::make(tu::window_config(AGGREGATOR_WINDOW_COUNT, 8));
    double v = 1;
    REQUIRE(aggregator_push(g, &v, nullptr, nullptr, 1) == AGGREGATOR_OK);
    b = Serialize(g);
    b[kHandleAt] = 0;
    PutU64(b, kHandleAt + 1, 0);
    RequireRefused(b, "no watermark");
  }
  SECTION("budgets of the stored configuration") {
    Handle h = tu::make(tu::window_config(AGGREGATOR_WINDOW_COUNT, 8));
    double v[] = {1, 2, 3};
    uint64_t k[] = {1, 2, 3};
    REQUIRE(aggregator_push(h, v, nullptr, k, 3) == AGGREGATOR_OK);
    std::vector<uint8_t> b = Serialize(h);
    const size_t max_keys_at = kConfigAt + 4 + 8 * 4 + 8 + 1 + 4;
    PutU64(b, max_keys_at, 1);
    FixFingerprint(b);
    RequireRefused(b, "max_keys");

    Handle t = tu::make(tu::window_config(AGGREGATOR_WINDOW_TUMBLING, 10));
    int64_t ts[] = {1, 11, 21, 31};
    REQUIRE(aggregator_push(t, v, ts, nullptr, 3) == AGGREGATOR_OK);
    REQUIRE(aggregator_advance(t, 100) == AGGREGATOR_OK);
    b = Serialize(t);
    // More queued windows than max_pending_windows is a state serialization
    // itself writes (it closes every due window), so it restores.
    PutU64(b, kConfigAt + 85 - 8, 1);  // max_pending_windows
    FixFingerprint(b);
    FixChecksum(b);
    aggregator* r = nullptr;
    CHECK(aggregator_restore(b.data(), b.size(), 0, &r) == AGGREGATOR_OK);
    aggregator_free(r);
  }
  SECTION("pane moments") {
    aggregator_config c = tu::window_config(AGGREGATOR_WINDOW_SLIDING, 60);
    c.pane_width = 10;
    Handle h = tu::make(c);
    double v[] = {1, 2};
    int64_t t[] = {1, 2};
    REQUIRE(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_OK);
    std::vector<uint8_t> b = Serialize(h);
    const size_t m = FirstPaneMoments(b);
    REQUIRE(GetU64(b, m) == 2);
    REQUIRE(GetF64(b, m + 8) == 3.0);
    std::vector<uint8_t> x = b;
    PutF64(x, m + 8, -50);  // sum
    RequireRefused(x, "sum -50 of 2 values is impossible");
    x = b;
    PutF64(x, m + 8, kInf);  // an Inf sum needs values near DBL_MAX
    RequireRefused(x, "sum inf");
    x = b;
    PutF64(x, m + 16, std::nan(""));  // comp of a finite sum
    RequireRefused(x, "compensation");
    x = b;
    PutF64(x, m + 24, 1e300);  // mean
    RequireRefused(x, "mean 1e+300 is outside");
    x = b;
    PutF64(x, m + 32, 1e10);  // m2
    RequireRefused(x, "sum of squared deviations");
    x = b;
    PutF64(x, m + 32, kInf);
    RequireRefused(x, "sum of squared deviations");
    x = b;
    PutF64(x, m + 32, std::nan(""));
    RequireRefused(x, "sum of squared deviations");
    x = b;
    PutU64(x, m, uint64_t{1} << 63);  // count beyond the sketch and the series total
    RequireRefused(x, "9223372036854775808");
    x = b;
    PutU64(x, m, 3);  // sketch holds 2
    RequireRefused(x, "sketch holds 2 values, moments count 3");
    x = b;
    PutF64(x, m + 48, 1e6);  // max: sum then too small? no: the sketch's top bucket
    RequireRefused(x, "sketch");
    x = b;
    PutU64(x, m - 8, 1000);  // pane index beyond the watermark
    RequireRefused(x, "after the watermark");
  }
  SECTION("queued windows") {
    Handle h = tu::make(tu::window_config(AGGREGATOR_WINDOW_TUMBLING, 10));
    double v[] = {1, 2, 3};
    int64_t t[] = {1, 2, 3};
    REQUIRE(aggregator_push(h, v, t, nullptr, 3) == AGGREGATOR_OK);
    REQUIRE(aggregator_advance(h, 100) == AGGREGATOR_OK);
    REQUIRE(aggregator_remove_key(h, 0) == AGGREGATOR_OK);  // the window stays queued
    std::vector<uint8_t> b = Serialize(h);
    REQUIRE(GetU64(b, kSeriesCountAt) == 0);
    REQUIRE(GetU64(b, kSeriesCountAt + 8) == 1);
    const size_t st = kSeriesCountAt + 16 + 8;  // queue count, key, stats
    REQUIRE(GetU64(b, st) == 3);
    std::vector<uint8_t> x = b;
    PutF64(x, st + 8, 100);  // sum
    RequireRefused(x, "sum 100 of 3 values");
    x = b;
    PutF64(x, st + 16, -7);  // mean
    RequireRefused(x, "mean -7");
    x = b;
    PutF64(x, st + 40, -1);  // variance
    RequireRefused(x, "variance");
    x = b;
    PutF64(x, st + 48, 5);  // stddev
    RequireRefused(x, "stddev");
    x = b;
    PutU64(x, st + 56, 3);  // window start off the grid
    RequireRefused(x, "is not a window of this geometry");
    x = b;
    PutU64(x, st + 88, 1);  // series total below the window's count
    RequireRefused(x, "window holds 3");
    x = b;
    PutU64(x, st + 96, 0);  // closed before its end
    RequireRefused(x, "closed at watermark 0");
  }
  SECTION("queued windows in a kind that does not close windows") {
    Handle h = tu::make(tu::window_config(AGGREGATOR_WINDOW_TUMBLING, 10));
    double v = 1;
    int64_t t = 1;
    REQUIRE(aggregator_push(h, &v, &t, nullptr, 1) == AGGREGATOR_OK);
    REQUIRE(aggregator_advance(h, 100) == AGGREGATOR_OK);
    REQUIRE(aggregator_remove_key(h, 0) == AGGREGATOR_OK);
    std::vector<uint8_t> b = Serialize(h);
    b[kConfigAt] = AGGREGATOR_WINDOW_SLIDING;
    PutU64(b, kConfigAt + 4 + 8, 0);       // slide
    PutU64(b, kConfigAt + 4 + 16, 10);     // pane_width
    FixFingerprint(b);
    RequireRefused(b, "only TUMBLING and HOPPING");
  }
}
