// Rows of docs/bad-input.md that no other suite backs yet. Each TEST_CASE
// name starts with "catalogue:" and is cited by the catalogue.
//
// Tests tagged [!mayfail] pin an OPEN library issue: they state what the
// header promises (or what we expect), fail today, and are reported without
// failing the run (Catch2 [!mayfail]). Drop the tag once it is fixed; the
// ones whose comment says "Was a bug" were fixed and now guard the fix.
#include <windowagg/windowagg.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

using tu::Handle;

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

aggregator_config Config(uint32_t kind, int64_t size, int64_t slide = 0, int64_t lateness = 0) {
  return tu::window_config(kind, size, slide, lateness);
}

std::vector<uint8_t> Serialize(aggregator* a) {
  size_t size = 0;
  REQUIRE(aggregator_serialized_size(a, &size) == AGGREGATOR_OK);
  std::vector<uint8_t> out(size);
  REQUIRE(aggregator_serialize(a, out.data(), out.size(), &size) == AGGREGATOR_OK);
  return out;
}

void PutU64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t GetU64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{b[at + i]} << (8 * i);
  return v;
}
void FixChecksum(std::vector<uint8_t>& b) {
  PutU64(b, b.size() - 8, aggregator_key_hash(b.data(), b.size() - 8));
}

// Format v1 offsets (src/state/state.cc): header 24 + config 85 + handle 37.
constexpr size_t kSeriesCountAt = 24 + 85 + 37;

uint64_t Pending(aggregator* a) {
  uint64_t p = 0, d = 0;
  REQUIRE(aggregator_pending_windows(a, &p, &d) == AGGREGATOR_OK);
  return p;
}

}  // namespace

// ---- Lengths ----------------------------------------------------------------

TEST_CASE("catalogue: length overflow (len >= 2^32) is EINVAL before reading", "[catalogue]") {
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_COUNT, 10));
  double v = 1;
  // len is checked before any element is read: a huge len with a 1-element
  // array must not be dereferenced past the first element.
  CHECK(aggregator_push(h, &v, nullptr, nullptr, size_t{1} << 32) == AGGREGATOR_EINVAL);
  CHECK(tu::last_error().find("too large") != std::string::npos);
  CHECK(aggregator_push(h, &v, nullptr, nullptr, SIZE_MAX) == AGGREGATOR_EINVAL);
  CHECK(std::isnan(aggregator_process_batch(h, &v, SIZE_MAX)));
  CHECK(tu::get_stats(h).count == 0);
}

TEST_CASE("catalogue: one tiny-magnitude value makes a sketch dense over the whole range",
          "[catalogue]") {
  // Was a resource amplification, found by fuzz_api: 64 values in
  // [1e3, 2.6e4] at alpha 1e-4 hold ~199 KB; adding one value of magnitude
  // DBL_MIN to the same sign's store makes the store dense from bucket
  // index(DBL_MIN) to index(2.6e4): ~42 MB per sketch (per series, per
  // pane), from a 750-byte state. memory_limit is checked before a push, so
  // one batch overshoots it by that much. Expected: memory bounded by the
  // number of non-empty buckets (or a collapsing store), say < 1 MB here.
  for (uint32_t kind = 0; kind < 4; ++kind) {
    aggregator_config c = Config(kind, kind == AGGREGATOR_WINDOW_COUNT ? 100000 : 3600,
                                 kind == AGGREGATOR_WINDOW_HOPPING ? 600 : 0);
    c.relative_accuracy = 1e-4;
    Handle h = tu::make(c);
    double v[64];
    int64_t t[64];
    for (int i = 0; i < 64; ++i) {
      v[i] = 1000.0 + i * 400.0;
      t[i] = i;
    }
    v[0] = 2.2250738585072014e-308;
    REQUIRE(aggregator_push(h, v, t, nullptr, 64) == AGGREGATOR_OK);
    uint64_t bytes = 0;
    REQUIRE(aggregator_memory_usage(h, &bytes) == AGGREGATOR_OK);
    INFO("kind " << kind << ": memory_usage " << bytes);
    CHECK(bytes < (1u << 20));
  }
}

// ---- Event time -------------------------------------------------------------

TEST_CASE("catalogue: out of order within lateness is folded in; too late is counted", "[catalogue]") {
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_TUMBLING, 100, 0, 20));
  double v[] = {1, 2, 3, 4};
  int64_t t[] = {150, 135, 129, 130};  // W = 150, L = 20: 135 and 130 fit, 129 is late
  REQUIRE(aggregator_push(h, v, t, nullptr, 4) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.count == 3);
  CHECK(s.sum == 1 + 2 + 4);
  CHECK(s.late == 1);
  CHECK(s.total == 3);
  CHECK(s.watermark == 150);
}

TEST_CASE("catalogue: duplicate timestamps are separate values", "[catalogue]") {
  for (uint32_t kind : {AGGREGATOR_WINDOW_SLIDING, AGGREGATOR_WINDOW_TUMBLING,
                        AGGREGATOR_WINDOW_HOPPING}) {
    Handle h = tu::make(Config(kind, 60, kind == AGGREGATOR_WINDOW_HOPPING ? 20 : 0));
    double v[] = {1, 2, 3};
    int64_t t[] = {7, 7, 7};
    REQUIRE(aggregator_push(h, v, t, nullptr, 3) == AGGREGATOR_OK);
    aggregator_stats s = tu::get_stats(h);
    CHECK(s.count == 3);
    CHECK(s.sum == 6);
    CHECK(s.late == 0);
  }
}

TEST_CASE("catalogue: a far-future timestamp moves the watermark; older data becomes late",
          "[catalogue]") {
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_SLIDING, 1000));
  double v[] = {1, 2};
  int64_t t[] = {0, int64_t{1} << 62};
  REQUIRE(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_OK);
  uint64_t bytes = 0;
  REQUIRE(aggregator_memory_usage(h, &bytes) == AGGREGATOR_OK);
  CHECK(bytes < (1u << 20));  // panes are sparse: no per-pane cost for the gap
  double w = 3;
  int64_t t0 = 10;
  REQUIRE(aggregator_push(h, &w, &t0, nullptr, 1) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.count == 1);
  CHECK(s.late == 1);
  CHECK(s.watermark == (int64_t{1} << 62));
}

TEST_CASE("catalogue: closed window at the saturated end (W = INT64_MAX)", "[catalogue]") {
  // windowagg.h: at watermark INT64_MAX every window is closed, so a later
  // value at t = INT64_MAX is late (its window [.., INT64_MAX) closed already).
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_TUMBLING, 10));
  double v = 1;
  int64_t t = kMax;
  REQUIRE(aggregator_push(h, &v, &t, nullptr, 1) == AGGREGATOR_OK);
  REQUIRE(aggregator_push(h, &v, &t, nullptr, 1) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.late == 1);
  CHECK(s.total == 1);
}

TEST_CASE("catalogue: timestamps at INT64_MIN and INT64_MAX in one batch", "[catalogue]") {
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_TUMBLING, 100, 0, kMax));
  double v[] = {1, 2};
  int64_t t[] = {kMin, kMax};
  REQUIRE(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_OK);
  // L = INT64_MAX: W - L = -1, so t = INT64_MIN is late after W = INT64_MAX.
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.watermark == kMax);
  CHECK(s.total + s.late == 2);
  std::vector<aggregator_window> w = tu::poll_all(h, 8, nullptr, 0, nullptr);
  for (const auto& x : w) CHECK(x.stats.window_start <= x.stats.window_end);
}

// ---- Arrival clock ----------------------------------------------------------

TEST_CASE("catalogue: arrival clock behind the watermark, new series (late values)",
          "[catalogue]") {
  // Was a bug (fixed in 2dfeb10). Arrival clock (no timestamps), watermark advanced to 1000, a
  // series created afterwards: its values have event time 1 < W - L, so they
  // are late: late 1, total 0, and no closed window for key 2 (it used to
  // be taken as on time and emitted in closed windows).
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_TUMBLING, 60));
  double v = 5;
  uint64_t k = 1;
  REQUIRE(aggregator_push(h, &v, nullptr, &k, 1) == AGGREGATOR_OK);  // time 0, key 1
  REQUIRE(aggregator_advance(h, 1000) == AGGREGATOR_OK);
  k = 2;
  REQUIRE(aggregator_push(h, &v, nullptr, &k, 1) == AGGREGATOR_OK);  // time 1, key 2
  aggregator_stats s = tu::get_key_stats(h, 2);
  CHECK(s.late == 1);
  CHECK(s.total == 0);
  CHECK(Pending(h) == 1);  // only key 1's [0, 60)
}

TEST_CASE("catalogue: arrival clock behind the watermark, existing series (late values)",
          "[catalogue]") {
  // The same with a series that already exists: correct today.
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_TUMBLING, 60));
  double v[] = {1, 2};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 2) == AGGREGATOR_OK);
  REQUIRE(aggregator_advance(h, 1000) == AGGREGATOR_OK);
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 2) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.late == 2);
  CHECK(s.total == 2);
}

TEST_CASE("catalogue: NaN skipped on the arrival clock does not raise the watermark",
          "[catalogue]") {
  // Was a bug (fixed in 2dfeb10). NONFINITE_SKIP, no timestamps: [1, NaN, NaN] has arrival times
  // 0, 1, 2; only time 0 is accepted, so the watermark ("the largest accepted
  // event time") is 0 (it used to be 2).
  aggregator_config c = Config(AGGREGATOR_WINDOW_TUMBLING, 60);
  c.nonfinite_policy = AGGREGATOR_NONFINITE_SKIP;
  Handle h = tu::make(c);
  double v[] = {1, kNaN, kNaN};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 3) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.rejected == 2);
  CHECK(s.watermark == 0);
}

// ---- Keys -------------------------------------------------------------------

TEST_CASE("catalogue: remove_key of a quiet series keeps its already-closed windows",
          "[catalogue]") {
  // Was a bug (fixed in 2dfeb10). Key 1's window [0, 10) is closed by the watermark (100, from
  // key 2) but the library closes windows lazily; remove_key then drops it
  // although "its already-queued closed windows stay queued" (0 pending
  // instead of 1 unless a read ran first).
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_TUMBLING, 10));
  double v = 1;
  int64_t t = 0;
  uint64_t k = 1;
  REQUIRE(aggregator_push(h, &v, &t, &k, 1) == AGGREGATOR_OK);
  t = 100;
  k = 2;
  REQUIRE(aggregator_push(h, &v, &t, &k, 1) == AGGREGATOR_OK);
  REQUIRE(aggregator_remove_key(h, 1) == AGGREGATOR_OK);
  CHECK(Pending(h) == 1);
}

// ---- Configuration ----------------------------------------------------------

TEST_CASE("catalogue: zero, negative and huge windows; slide > window", "[catalogue]") {
  aggregator* a = nullptr;
  for (int64_t bad : {int64_t{0}, int64_t{-1}, kMin}) {
    for (uint32_t kind = 0; kind < 4; ++kind) {
      aggregator_config c = Config(kind, bad, kind == AGGREGATOR_WINDOW_HOPPING ? 1 : 0);
      CHECK(aggregator_create(&c, &a) == AGGREGATOR_ECONFIG);
      CHECK(a == nullptr);
    }
  }
  aggregator_config c = Config(AGGREGATOR_WINDOW_COUNT, (int64_t{1} << 32) + 1);
  CHECK(aggregator_create(&c, &a) == AGGREGATOR_ECONFIG);
  CHECK(tu::last_error().find("window_size") != std::string::npos);
  // Huge time windows are fine (sparse panes).
  c = Config(AGGREGATOR_WINDOW_TUMBLING, kMax);
  REQUIRE(aggregator_create(&c, &a) == AGGREGATOR_OK);
  aggregator_free(a);
  c = Config(AGGREGATOR_WINDOW_HOPPING, 100, 200);
  CHECK(aggregator_create(&c, &a) == AGGREGATOR_ECONFIG);
  CHECK(tu::last_error().find("slide") != std::string::npos);
  c = Config(AGGREGATOR_WINDOW_HOPPING, 100, 30);  // does not divide
  CHECK(aggregator_create(&c, &a) == AGGREGATOR_ECONFIG);
}

TEST_CASE("catalogue: default pane width of a sliding window with D = 2^40", "[catalogue]") {
  // Was a deviation (fixed in 079a0c6: D/k for the smallest divisor k >= 60).
  // pane_width 0 means "largest divisor of D
  // <= max(1, D/60)": 2^34 for D = 2^40. Got ECONFIG "window_size
  // 1099511627776 has no divisor near window_size/60: set pane_width".
  aggregator_config c = Config(AGGREGATOR_WINDOW_SLIDING, int64_t{1} << 40);
  aggregator* a = nullptr;
  REQUIRE(aggregator_create(&c, &a) == AGGREGATOR_OK);
  aggregator_config got;
  aggregator_config_init(&got);
  REQUIRE(aggregator_get_config(a, &got) == AGGREGATOR_OK);
  CHECK(got.pane_width == (int64_t{1} << 34));
  aggregator_free(a);
}

// ---- Serialized state -------------------------------------------------------

TEST_CASE("catalogue: oversized declared counts in a blob are ECORRUPT", "[catalogue]") {
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_COUNT, 10));
  double v[] = {1, 2, 3};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 3) == AGGREGATOR_OK);
  const std::vector<uint8_t> good = Serialize(h);
  REQUIRE(GetU64(good, kSeriesCountAt) == 1);
  for (uint64_t n : {uint64_t{2}, uint64_t{1} << 40, ~uint64_t{0}}) {
    std::vector<uint8_t> b = good;
    PutU64(b, kSeriesCountAt, n);
    FixChecksum(b);
    aggregator* a = nullptr;
    CHECK(aggregator_restore(b.data(), b.size(), 0, &a) == AGGREGATOR_ECORRUPT);
    CHECK(a == nullptr);
  }
  // The count window's value count (after key, name length, 3 counters,
  // last_event, last_touch and the window total).
  size_t n_at = kSeriesCountAt + 8 + 8 + 4 + 8 * 5 + 8;
  REQUIRE(GetU64(good, n_at) == 3);
  std::vector<uint8_t> b = good;
  PutU64(b, n_at, uint64_t{1} << 61);
  FixChecksum(b);
  aggregator* a = nullptr;
  CHECK(aggregator_restore(b.data(), b.size(), 0, &a) == AGGREGATOR_ECORRUPT);
  // NULL buffer with a length, and len 0.
  CHECK(aggregator_restore(nullptr, 10, 0, &a) == AGGREGATOR_EINVAL);
  CHECK(aggregator_restore(good.data(), 0, 0, &a) == AGGREGATOR_ECORRUPT);
  CHECK(aggregator_restore(good.data(), good.size(), 0, nullptr) == AGGREGATOR_EINVAL);
}

TEST_CASE("catalogue: sketch bucket indexes far outside the mapping", "[catalogue]") {
  // Was a bug (fixed in 2dfeb10), found by fuzz_restore
  // (tests/fuzz/regressions/fuzz_restore/oom-sketch-bucket-range).
  // Restore accepts bucket indexes anywhere in [INT32_MIN/2, INT32_MAX/2]
  // whatever alpha is; a quantile read over several panes then allocates a
  // dense array over the union range (4.8 GB for that 5.6 KB input; in the
  // release build mimalloc aborted the process when that failed). Now:
  // ECORRUPT for indexes no finite double maps to at the stored alpha.
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_SLIDING, 600));
  double v[] = {1, 2};
  int64_t t[] = {0, 100};
  REQUIRE(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_OK);
  std::vector<uint8_t> b = Serialize(h);
  // Find the first positive-store entry (u32 n = 1, i32 index, u64 count 1)
  // and move its bucket to index 2^29 (valid range check passes).
  bool patched = false;
  for (size_t i = kSeriesCountAt; i + 16 < b.size() - 8 && !patched; ++i) {
    uint32_t n = b[i] | b[i + 1] << 8 | b[i + 2] << 16 | uint32_t{b[i + 3]} << 24;
    if (n == 1 && GetU64(b, i + 8) == 1 && b[i + 16 - 1] == 0 && b[i - 1] == 0) {
      int32_t idx = static_cast<int32_t>(b[i + 4] | b[i + 5] << 8 | b[i + 6] << 16 |
                                         uint32_t{b[i + 7]} << 24);
      if (idx > 0 && idx < 100000) {
        uint32_t big = 1u << 29;
        for (int k = 0; k < 4; ++k) b[i + 4 + k] = static_cast<uint8_t>(big >> (8 * k));
        patched = true;
      }
    }
  }
  REQUIRE(patched);
  FixChecksum(b);
  aggregator* a = nullptr;
  int rc = aggregator_restore(b.data(), b.size(), 0, &a);
  aggregator_free(a);
  CHECK(rc == AGGREGATOR_ECORRUPT);
}

// ---- Merging ----------------------------------------------------------------

TEST_CASE("catalogue: merging different configurations is EMISMATCH, dst unchanged", "[catalogue]") {
  Handle dst = tu::make(Config(AGGREGATOR_WINDOW_TUMBLING, 100));
  double v = 1;
  int64_t t = 5;
  REQUIRE(aggregator_push(dst, &v, &t, nullptr, 1) == AGGREGATOR_OK);
  const std::vector<uint8_t> before = Serialize(dst);
  std::vector<aggregator_config> others = {
      Config(AGGREGATOR_WINDOW_TUMBLING, 200), Config(AGGREGATOR_WINDOW_SLIDING, 100),
      Config(AGGREGATOR_WINDOW_HOPPING, 100, 50), Config(AGGREGATOR_WINDOW_TUMBLING, 100, 0, 1)};
  others.push_back(Config(AGGREGATOR_WINDOW_TUMBLING, 100));
  others.back().relative_accuracy = 0.02;
  others.push_back(Config(AGGREGATOR_WINDOW_TUMBLING, 100));
  others.back().quantiles = 0;
  for (const aggregator_config& c : others) {
    Handle src = tu::make(c);
    CHECK(aggregator_merge(dst, src) == AGGREGATOR_EMISMATCH);
    std::vector<uint8_t> blob = Serialize(src);
    CHECK(aggregator_merge_serialized(dst, blob.data(), blob.size()) == AGGREGATOR_EMISMATCH);
  }
  // Timestamps vs arrival clock is a mismatch too.
  Handle arrival = tu::make(Config(AGGREGATOR_WINDOW_TUMBLING, 100));
  REQUIRE(aggregator_push(arrival, &v, nullptr, nullptr, 1) == AGGREGATOR_OK);
  CHECK(aggregator_merge(dst, arrival) == AGGREGATOR_EMISMATCH);
  CHECK(Serialize(dst) == before);
}

TEST_CASE("catalogue: merging a handle into itself is EINVAL; its own bytes merge fine",
          "[catalogue]") {
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_COUNT, 10));
  double v[] = {1, 2, 3};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 3) == AGGREGATOR_OK);
  const std::vector<uint8_t> before = Serialize(h);
  CHECK(aggregator_merge(h, h) == AGGREGATOR_EINVAL);
  CHECK(Serialize(h) == before);
  CHECK(aggregator_merge_serialized(h, before.data(), before.size()) == AGGREGATOR_OK);
  CHECK(tu::get_stats(h).count == 6);
  CHECK(aggregator_merge(h, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_merge(nullptr, h) == AGGREGATOR_EINVAL);
}

TEST_CASE("catalogue: counters near 2^64 after merges wrap, without crashing", "[catalogue]") {
  // No real stream reaches 2^64 values; a crafted (checksum-fixed) state
  // with late = 2^64 - 1 shows what merges do at the edge: lifetime counters
  // add modulo 2^64 (no saturation, no error). Documented, not promised.
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_COUNT, 10));
  double v[] = {1, 2, 3};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 3) == AGGREGATOR_OK);
  std::vector<uint8_t> b = Serialize(h);
  size_t late_at = kSeriesCountAt + 8 + 8 + 4;  // series count, key, name length (0)
  REQUIRE(GetU64(b, late_at) == 0);
  PutU64(b, late_at, ~uint64_t{0});
  FixChecksum(b);
  aggregator* a = nullptr;
  REQUIRE(aggregator_restore(b.data(), b.size(), 0, &a) == AGGREGATOR_OK);
  Handle r(a);
  CHECK(tu::get_stats(r).late == ~uint64_t{0});
  REQUIRE(aggregator_merge_serialized(r, b.data(), b.size()) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(r);
  CHECK(s.late == ~uint64_t{0} - 1);  // (2^64 - 1) * 2 mod 2^64
  CHECK(s.count == 6);
}

// ---- Output buffers ---------------------------------------------------------

TEST_CASE("catalogue: too-small output buffers write nothing and say what is needed", "[catalogue]") {
  Handle h = tu::make(Config(AGGREGATOR_WINDOW_COUNT, 10));
  double v = 1;
  uint8_t name[] = {'a', 'b', 'c', 'd', 'e'};
  uint32_t off[] = {0, 5};
  REQUIRE(aggregator_push_named(h, &v, nullptr, name, off, 1) == AGGREGATOR_OK);
  uint64_t key = aggregator_key_hash(name, 5);
  uint8_t buf[4] = {0xEE, 0xEE, 0xEE, 0xEE};
  size_t len = 0;
  CHECK(aggregator_key_name(h, key, buf, 4, &len) == AGGREGATOR_EBUFFER);
  CHECK(len == 5);
  for (uint8_t x : buf) CHECK(x == 0xEE);
  // list_keys with a names buffer too small for the first name.
  aggregator_cursor cur{};
  uint64_t keys[2];
  uint32_t offs[3];
  size_t n = 0;
  CHECK(aggregator_list_keys(h, &cur, keys, 2, buf, 4, offs, &n) == AGGREGATOR_EBUFFER);
}

TEST_CASE("catalogue: EVICT_LRU batch that keeps every live series and adds more",
          "[catalogue]") {
  // max_keys 2, keys 1 and 2 live; a batch touching 1, 2 and a new 3 cannot
  // make room by evicting (both live series are in the batch): refused whole.
  aggregator_config c = Config(AGGREGATOR_WINDOW_COUNT, 10);
  c.max_keys = 2;
  c.key_policy = AGGREGATOR_KEYS_EVICT_LRU;
  Handle h = tu::make(c);
  double v[3] = {1, 2, 3};
  uint64_t k[3] = {1, 2, 3};
  REQUIRE(aggregator_push(h, v, nullptr, k, 2) == AGGREGATOR_OK);
  CHECK(aggregator_push(h, v, nullptr, k, 3) == AGGREGATOR_EKEYLIMIT);
  CHECK(std::string(aggregator_last_error()).find("max_keys = 2") != std::string::npos);
  uint64_t n = 0;
  REQUIRE(aggregator_key_count(h, &n) == AGGREGATOR_OK);
  CHECK(n == 2);
  CHECK(tu::get_stats(h).total == 2);
}
