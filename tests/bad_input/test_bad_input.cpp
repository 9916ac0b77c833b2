// Bad input, one test per case: every call refuses it with the right status,
// a message, and (for pushes) leaves the state exactly as it was.
#include <climits>
#include <cstddef>
#include <set>
#include <thread>

#include "test_util.hpp"

using tu::Handle;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// Everything observable about a handle: merged stats, default-key stats,
// quantiles (if enabled), key count, pending windows.
struct Snapshot {
  aggregator_stats all{};
  aggregator_stats key0{};
  int key0_rc = 0;
  std::vector<double> q;
  uint64_t keys = 0;
  uint64_t pending = 0;
  bool operator==(const Snapshot& o) const {
    if (!tu::stats_identical(all, o.all) || key0_rc != o.key0_rc) return false;
    if (key0_rc == AGGREGATOR_OK && !tu::stats_identical(key0, o.key0)) return false;
    if (q.size() != o.q.size()) return false;
    for (size_t i = 0; i < q.size(); ++i)
      if (!tu::same_double(q[i], o.q[i])) return false;
    return keys == o.keys && pending == o.pending;
  }
};

Snapshot snap(aggregator* a, bool quantiles = true) {
  Snapshot s;
  s.all = tu::get_stats(a);
  s.key0_rc = aggregator_get_key_stats(a, 0, &s.key0);
  if (quantiles) {
    const double q[] = {0, 0.1, 0.5, 0.9, 1};
    s.q.resize(5);
    REQUIRE(aggregator_get_quantiles(a, q, 5, s.q.data()) == AGGREGATOR_OK);
  }
  REQUIRE(aggregator_key_count(a, &s.keys) == AGGREGATOR_OK);
  uint64_t dropped;
  int rc = aggregator_pending_windows(a, &s.pending, &dropped);
  REQUIRE((rc == AGGREGATOR_OK || rc == AGGREGATOR_EUNSUPPORTED));
  return s;
}

aggregator_config sliding_config() {
  aggregator_config c = tu::default_config();
  c.window_kind = AGGREGATOR_WINDOW_SLIDING;
  c.window_size = 100;
  c.pane_width = 10;
  return c;
}

// Expects aggregator_create to refuse `c` with ECONFIG naming `field`.
void expect_config_error(const aggregator_config& c, const char* field) {
  aggregator* a = reinterpret_cast<aggregator*>(0x1);
  int rc = aggregator_create(&c, &a);
  std::string msg = tu::last_error();
  INFO("field " << field << ": rc=" << rc << " message: " << msg);
  CHECK(rc == AGGREGATOR_ECONFIG);
  CHECK(a == nullptr);
  CHECK(contains(msg, field));
  if (rc == AGGREGATOR_OK) aggregator_free(a);
}

}  // namespace

// ---- NULL and length arguments -------------------------------------------

TEST_CASE("bad input: NULL handle is EINVAL for every call", "[bad_input]") {
  double v[] = {1};
  aggregator_stats s;
  double q[] = {0.5}, out[1];
  uint64_t u = 0;
  size_t n = 0;
  aggregator_cursor cur{};
  aggregator_key_stats ks[1];
  uint64_t keys[1];
  aggregator_window w[1];
  aggregator_config cfg = tu::default_config();
  uint8_t name[4];
  uint32_t off[2] = {0, 0};
  CHECK(aggregator_push(nullptr, v, nullptr, nullptr, 1) == AGGREGATOR_EINVAL);
  CHECK(tu::last_error() != "");
  CHECK(aggregator_push_named(nullptr, v, nullptr, name, off, 1) == AGGREGATOR_EINVAL);
  CHECK(aggregator_advance(nullptr, 5) == AGGREGATOR_EINVAL);
  CHECK(aggregator_get_stats(nullptr, &s) == AGGREGATOR_EINVAL);
  CHECK(aggregator_get_key_stats(nullptr, 0, &s) == AGGREGATOR_EINVAL);
  CHECK(aggregator_get_quantiles(nullptr, q, 1, out) == AGGREGATOR_EINVAL);
  CHECK(aggregator_get_key_quantiles(nullptr, 0, q, 1, out) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_stats(nullptr, &cur, ks, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_key_count(nullptr, &u) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_keys(nullptr, &cur, keys, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_key_name(nullptr, 0, name, 4, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_remove_key(nullptr, 0) == AGGREGATOR_EINVAL);
  CHECK(aggregator_poll_windows(nullptr, w, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_pending_windows(nullptr, &u, &u) == AGGREGATOR_EINVAL);
  CHECK(aggregator_memory_usage(nullptr, &u) == AGGREGATOR_EINVAL);
  CHECK(aggregator_key_memory_usage(nullptr, 0, &u) == AGGREGATOR_EINVAL);
  CHECK(aggregator_get_config(nullptr, &cfg) == AGGREGATOR_EINVAL);
  CHECK(aggregator_serialized_size(nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_serialize(nullptr, name, 4, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_merge(nullptr, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_merge_serialized(nullptr, name, 4) == AGGREGATOR_EINVAL);
  CHECK(aggregator_create(nullptr, nullptr) == AGGREGATOR_EINVAL);
  aggregator* out_h = reinterpret_cast<aggregator*>(0x1);
  CHECK(aggregator_create(nullptr, &out_h) == AGGREGATOR_EINVAL);
  CHECK(aggregator_restore(nullptr, 10, 0, &out_h) == AGGREGATOR_EINVAL);
  CHECK(out_h == nullptr);
}

TEST_CASE("bad input: NULL values with len > 0 is EINVAL, state unchanged", "[bad_input]") {
  Handle h = tu::make(sliding_config());
  double v[] = {1, 2, 3};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 3) == AGGREGATOR_OK);
  Snapshot before = snap(h);
  CHECK(aggregator_push(h, nullptr, nullptr, nullptr, 2) == AGGREGATOR_EINVAL);
  CHECK(tu::last_error() != "");
  uint32_t off[3] = {0, 1, 2};
  uint8_t bytes[2] = {'a', 'b'};
  CHECK(aggregator_push_named(h, nullptr, nullptr, bytes, off, 2) == AGGREGATOR_EINVAL);
  CHECK(snap(h) == before);
  // The arrival clock did not move either: the next value has time 3.
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 1) == AGGREGATOR_OK);
  CHECK(tu::get_stats(h).watermark == 3);
}

TEST_CASE("bad input: len 0 is not an error, with or without arrays", "[bad_input]") {
  Handle h = tu::make(sliding_config());
  Snapshot before = snap(h);
  CHECK(aggregator_push(h, nullptr, nullptr, nullptr, 0) == AGGREGATOR_OK);
  double v[1];
  int64_t t[1];
  uint64_t k[1];
  CHECK(aggregator_push(h, v, t, k, 0) == AGGREGATOR_OK);
  uint32_t off[1] = {0};
  CHECK(aggregator_push_named(h, nullptr, nullptr, nullptr, off, 0) == AGGREGATOR_OK);
  CHECK(snap(h) == before);
  // An empty push with timestamps does not fix the timestamp mode.
  CHECK(aggregator_push(h, v, t, nullptr, 0) == AGGREGATOR_OK);
  double v2[] = {1, 2};
  CHECK(aggregator_push(h, v2, nullptr, nullptr, 2) == AGGREGATOR_OK);
  CHECK(tu::get_stats(h).count == 2);
}

TEST_CASE("bad input: absent or inconsistent arrays of push_named", "[bad_input]") {
  Handle h = tu::make(tu::default_config());
  double v[] = {1, 2};
  uint8_t bytes[] = {'a', 'b', 'c'};
  uint32_t off[] = {0, 1, 3};
  uint32_t decreasing[] = {0, 2, 1};
  REQUIRE(aggregator_push_named(h, v, nullptr, bytes, off, 1) == AGGREGATOR_OK);
  Snapshot before = snap(h);
  CHECK(aggregator_push_named(h, v, nullptr, bytes, nullptr, 2) == AGGREGATOR_EINVAL);
  CHECK(aggregator_push_named(h, v, nullptr, nullptr, off, 2) == AGGREGATOR_EINVAL);
  CHECK(aggregator_push_named(h, v, nullptr, bytes, decreasing, 2) == AGGREGATOR_EINVAL);
  CHECK(snap(h) == before);
}

TEST_CASE("bad input: mixing timestamped and untimestamped pushes is EINVAL", "[bad_input]") {
  double v[] = {1, 2};
  int64_t t[] = {10, 20};
  SECTION("timestamps first") {
    Handle h = tu::make(sliding_config());
    REQUIRE(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_OK);
    Snapshot before = snap(h);
    CHECK(aggregator_push(h, v, nullptr, nullptr, 2) == AGGREGATOR_EINVAL);
    CHECK(tu::last_error() != "");
    CHECK(std::isnan(aggregator_process_batch(h, v, 2)));
    CHECK(snap(h) == before);
  }
  SECTION("arrival clock first") {
    Handle h = tu::make(sliding_config());
    REQUIRE(aggregator_push(h, v, nullptr, nullptr, 2) == AGGREGATOR_OK);
    Snapshot before = snap(h);
    CHECK(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_EINVAL);
    uint8_t b[] = {'x'};
    uint32_t off[] = {0, 1, 1};
    CHECK(aggregator_push_named(h, v, t, b, off, 2) == AGGREGATOR_EINVAL);
    CHECK(snap(h) == before);
  }
  SECTION("count windows too") {
    Handle h = tu::make(tu::default_config());
    REQUIRE(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_OK);
    CHECK(aggregator_push(h, v, nullptr, nullptr, 2) == AGGREGATOR_EINVAL);
  }
}

// ---- Non-finite values ---------------------------------------------------

TEST_CASE("bad input: NaN/+Inf/-Inf under REJECT: EVALUE, index in message, state unchanged",
          "[bad_input]") {
  const double bad[] = {NAN, INFINITY, -INFINITY, -NAN};
  for (double b : bad) {
    for (uint32_t kind : {AGGREGATOR_WINDOW_COUNT, AGGREGATOR_WINDOW_SLIDING,
                          AGGREGATOR_WINDOW_TUMBLING, AGGREGATOR_WINDOW_HOPPING}) {
      aggregator_config c = tu::default_config();
      c.window_kind = kind;
      c.window_size = 100;
      if (kind == AGGREGATOR_WINDOW_HOPPING) c.slide = 50;
      Handle h = tu::make(c);
      std::vector<double> v(60);
      std::vector<int64_t> t(60);
      for (int i = 0; i < 60; ++i) { v[i] = i * 1.5; t[i] = i * 7; }
      REQUIRE(aggregator_push(h, v.data(), t.data(), nullptr, 60) == AGGREGATOR_OK);
      Snapshot before = snap(h);
      uint64_t mem_before = 0, mem_after = 0;
      REQUIRE(aggregator_memory_usage(h, &mem_before) == AGGREGATOR_OK);
      std::vector<double> v2(50);
      std::vector<int64_t> t2(50);
      for (int i = 0; i < 50; ++i) { v2[i] = 1000 + i; t2[i] = 1000 + i * 7; }
      v2[37] = b;
      INFO("value " << b << " kind " << kind);
      CHECK(aggregator_push(h, v2.data(), t2.data(), nullptr, 50) == AGGREGATOR_EVALUE);
      std::string msg = tu::last_error();
      INFO("message: " << msg);
      CHECK(contains(msg, "37"));
      CHECK(snap(h) == before);
      REQUIRE(aggregator_memory_usage(h, &mem_after) == AGGREGATOR_OK);
      CHECK(mem_after == mem_before);
      // keyed and named pushes too
      std::vector<uint64_t> k(50, 77);
      CHECK(aggregator_push(h, v2.data(), t2.data(), k.data(), 50) == AGGREGATOR_EVALUE);
      CHECK(snap(h) == before);
      uint64_t absent = 0;
      CHECK(aggregator_key_count(h, &absent) == AGGREGATOR_OK);
      CHECK(absent == 1);  // key 77 was not created
    }
  }
  // process_batch: NaN and nothing applied
  Handle h(aggregator_new(10));
  REQUIRE(h.get() != nullptr);
  double ok[] = {1, 2, 3};
  CHECK(aggregator_process_batch(h, ok, 3) == 2.0);
  double badb[] = {4, NAN};
  CHECK(std::isnan(aggregator_process_batch(h, badb, 2)));
  CHECK(contains(tu::last_error(), "1"));
  CHECK(aggregator_process_batch(h, ok, 0) == 2.0);
  CHECK(tu::get_stats(h).count == 3);
}

TEST_CASE("bad input: NaN/Inf under SKIP are counted in `rejected`", "[bad_input]") {
  aggregator_config c = sliding_config();
  c.nonfinite_policy = AGGREGATOR_NONFINITE_SKIP;
  c.pane_width = 1;
  c.window_size = 1000;
  Handle h = tu::make(c);
  double v[] = {1, NAN, 2, INFINITY, -INFINITY, 3};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 6) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.count == 3);
  CHECK(s.sum == 6);
  CHECK(s.rejected == 3);
  CHECK(s.total == 3);
  // Skipped elements consume arrival numbers: times were 0..5, W = 5.
  CHECK(s.watermark == 5);
  aggregator_stats k0 = tu::get_key_stats(h, 0);
  CHECK(k0.rejected == 3);
  // A trailing skipped value: the watermark is the last *accepted* time, the
  // next value gets the next arrival number (7).
  double v2[] = {NAN, 4};
  REQUIRE(aggregator_push(h, v2, nullptr, nullptr, 2) == AGGREGATOR_OK);
  s = tu::get_stats(h);
  CHECK(s.rejected == 4);
  CHECK(s.watermark == 7);
  double q[] = {0, 1};
  double out[2];
  REQUIRE(aggregator_get_quantiles(h, q, 2, out) == AGGREGATOR_OK);
  CHECK(out[0] == 1);
  CHECK(out[1] == 4);
  // count windows with SKIP
  aggregator_config cc = tu::default_config();
  cc.nonfinite_policy = AGGREGATOR_NONFINITE_SKIP;
  cc.window_size = 2;
  Handle hc = tu::make(cc);
  REQUIRE(aggregator_push(hc, v, nullptr, nullptr, 6) == AGGREGATOR_OK);
  s = tu::get_stats(hc);
  CHECK(s.count == 2);
  CHECK(s.sum == 5);
  CHECK(s.rejected == 3);
  CHECK(s.total == 3);
}

TEST_CASE("bad input: -0.0 and subnormals are accepted and used exactly", "[bad_input]") {
  aggregator_config cfg = tu::default_config();
  cfg.window_size = 100;
  Handle h = tu::make(cfg);
  const double sub = 4.9406564584124654e-324;  // smallest subnormal
  double v[] = {-0.0, sub, 3 * sub, 2.2250738585072009e-308 /* largest subnormal */};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 4) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.count == 4);
  CHECK(s.min == 0.0);  // -0.0 == 0.0
  CHECK(s.max == 2.2250738585072009e-308);
  CHECK(s.sum == sub + 3 * sub + 2.2250738585072009e-308);
  double q[] = {0.0, 0.5, 1.0};
  double out[3];
  REQUIRE(aggregator_get_quantiles(h, q, 3, out) == AGGREGATOR_OK);
  CHECK(out[0] == 0.0);
  CHECK(std::fabs(out[1]) < DBL_MIN);  // counted as zero by the sketch
  CHECK(out[2] == 2.2250738585072009e-308);
  Handle h2(aggregator_new(10));
  double sv[] = {sub, 2 * sub};
  REQUIRE(aggregator_push(h2, sv, nullptr, nullptr, 2) == AGGREGATOR_OK);
  s = tu::get_stats(h2);
  CHECK(s.min == sub);
  CHECK(s.max == 2 * sub);
  CHECK(s.sum == 3 * sub);
}

// ---- Invalid configurations --------------------------------------------

TEST_CASE("bad input: invalid configs name the field", "[bad_input][config]") {
  SECTION("window_size") {
    for (int64_t bad : {(int64_t)0, (int64_t)-1, INT64_MIN, (int64_t)(1ll << 32) + 1, INT64_MAX}) {
      aggregator_config c = tu::default_config();
      c.window_size = bad;
      expect_config_error(c, "window_size");
    }
    for (uint32_t kind : {AGGREGATOR_WINDOW_SLIDING, AGGREGATOR_WINDOW_TUMBLING,
                          AGGREGATOR_WINDOW_HOPPING}) {
      for (int64_t bad : {(int64_t)0, (int64_t)-5, INT64_MIN}) {
        aggregator_config c = tu::default_config();
        c.window_kind = kind;
        c.window_size = bad;
        c.slide = 1;
        expect_config_error(c, "window_size");
      }
    }
  }
  SECTION("slide") {
    aggregator_config c = tu::default_config();
    c.window_kind = AGGREGATOR_WINDOW_HOPPING;
    c.window_size = 100;
    for (int64_t bad : {(int64_t)0, (int64_t)-10, (int64_t)101, (int64_t)30, INT64_MAX}) {
      c.slide = bad;
      expect_config_error(c, "slide");
    }
  }
  SECTION("pane_width") {
    aggregator_config c = tu::default_config();
    c.window_kind = AGGREGATOR_WINDOW_SLIDING;
    c.window_size = 100;
    for (int64_t bad : {(int64_t)30, (int64_t)-10, (int64_t)101, (int64_t)7}) {
      c.pane_width = bad;
      expect_config_error(c, "pane_width");
    }
  }
  SECTION("allowed_lateness") {
    aggregator_config c = tu::default_config();
    c.window_kind = AGGREGATOR_WINDOW_TUMBLING;
    c.window_size = 100;
    for (int64_t bad : {(int64_t)-1, INT64_MIN}) {
      c.allowed_lateness = bad;
      expect_config_error(c, "allowed_lateness");
    }
  }
  SECTION("relative_accuracy") {
    aggregator_config c = tu::default_config();
    for (double bad : {0.0, -0.01, 9e-5, 0.51, 1.0, (double)NAN, (double)INFINITY}) {
      c.relative_accuracy = bad;
      expect_config_error(c, "relative_accuracy");
    }
    for (double good : {1e-4, 0.5}) {
      c.relative_accuracy = good;
      Handle h = tu::make(c);
    }
  }
  SECTION("window_kind") {
    aggregator_config c = tu::default_config();
    c.window_kind = 4;
    expect_config_error(c, "window_kind");
    c.window_kind = 0xFFFFFFFF;
    expect_config_error(c, "window_kind");
  }
  SECTION("nonfinite_policy") {
    aggregator_config c = tu::default_config();
    c.nonfinite_policy = 2;
    expect_config_error(c, "nonfinite_policy");
  }
  SECTION("key_policy") {
    aggregator_config c = tu::default_config();
    c.key_policy = 3;
    expect_config_error(c, "key_policy");
  }
  SECTION("threading") {
    aggregator_config c = tu::default_config();
    c.threading = 2;
    expect_config_error(c, "threading");
  }
  SECTION("struct_size") {
    aggregator_config c = tu::default_config();
    c.struct_size = 0;
    expect_config_error(c, "struct_size");
  }
}

TEST_CASE("config: init, defaults, resolved values and older struct sizes", "[config]") {
  aggregator_config c = tu::default_config();
  CHECK(c.struct_size == sizeof(aggregator_config));
  CHECK(c.window_kind == AGGREGATOR_WINDOW_COUNT);
  CHECK(c.window_size == 1024);
  CHECK(c.slide == 0);
  CHECK(c.pane_width == 0);
  CHECK(c.allowed_lateness == 0);
  CHECK(c.relative_accuracy == 0.01);
  CHECK(c.quantiles == 1);
  CHECK(c.nonfinite_policy == AGGREGATOR_NONFINITE_REJECT);
  CHECK(c.max_keys == 0);
  CHECK(c.key_policy == AGGREGATOR_KEYS_REJECT);
  CHECK(c.threading == AGGREGATOR_THREADING_SHARED);
  CHECK(c.key_ttl == 0);
  CHECK(c.memory_limit == 0);
  CHECK(c.max_pending_windows == 65536);
  aggregator_config_init(nullptr);  // no-op

  c.window_kind = AGGREGATOR_WINDOW_SLIDING;
  c.window_size = 600;
  Handle h = tu::make(c);
  aggregator_config got;
  aggregator_config_init(&got);
  REQUIRE(aggregator_get_config(h, &got) == AGGREGATOR_OK);
  CHECK(got.window_kind == AGGREGATOR_WINDOW_SLIDING);
  CHECK(got.window_size == 600);
  CHECK(got.pane_width == 10);  // default D/60 resolved
  CHECK(aggregator_get_config(h, nullptr) == AGGREGATOR_EINVAL);

  c.window_size = 50;  // largest divisor of 50 <= max(1, 50/60): 1
  Handle h2 = tu::make(c);
  REQUIRE(aggregator_get_config(h2, &got) == AGGREGATOR_OK);
  CHECK(got.pane_width == 1);
  c.window_size = 6100;  // 6100/60 = 101: largest divisor <= 101 is 100
  Handle h4 = tu::make(c);
  REQUIRE(aggregator_get_config(h4, &got) == AGGREGATOR_OK);
  CHECK(got.pane_width == 100);

  // A host built against an older, shorter struct: fields past struct_size
  // are defaulted (garbage past it must be ignored).
  aggregator_config old;
  std::memset(&old, 0x5A, sizeof old);
  aggregator_config_init(&old);
  old.window_size = 77;
  old.struct_size = (uint32_t)offsetof(aggregator_config, max_pending_windows);
  old.max_pending_windows = 0xDEADBEEF;  // past struct_size: ignored
  Handle h3 = tu::make(old);
  aggregator_config got3;
  aggregator_config_init(&got3);
  REQUIRE(aggregator_get_config(h3, &got3) == AGGREGATOR_OK);
  CHECK(got3.window_size == 77);
  CHECK(got3.max_pending_windows == 65536);
}

// ---- Reads ---------------------------------------------------------------

TEST_CASE("bad input: q outside [0,1] or NaN is EINVAL", "[bad_input]") {
  aggregator_config c = tu::default_config();
  c.window_kind = AGGREGATOR_WINDOW_TUMBLING;
  c.window_size = 10;
  Handle h = tu::make(c);
  double v[] = {1, 2, 3};
  int64_t t[] = {1, 2, 30};
  REQUIRE(aggregator_push(h, v, t, nullptr, 3) == AGGREGATOR_OK);
  double out[3] = {7, 7, 7};
  for (double bad : {-0.1, 1.0000001, (double)NAN, (double)INFINITY, -(double)INFINITY}) {
    double q[] = {0.5, bad, 0.9};
    INFO("q = " << bad);
    CHECK(aggregator_get_quantiles(h, q, 3, out) == AGGREGATOR_EINVAL);
    CHECK(aggregator_get_key_quantiles(h, 0, q, 3, out) == AGGREGATOR_EINVAL);
    aggregator_cursor cur{};
    aggregator_key_stats ks[2];
    double qo[6];
    size_t n = 0;
    CHECK(aggregator_list_stats(h, &cur, ks, 2, q, 3, qo, &n) == AGGREGATOR_EINVAL);
    aggregator_window w[2];
    CHECK(aggregator_poll_windows(h, w, 2, q, 3, qo, &n) == AGGREGATOR_EINVAL);
  }
  // The failed poll moved nothing.
  uint64_t pending = 0, dropped = 0;
  REQUIRE(aggregator_pending_windows(h, &pending, &dropped) == AGGREGATOR_OK);
  CHECK(pending == 1);
  double q[] = {0.0, 1.0};
  REQUIRE(aggregator_get_quantiles(h, q, 2, out) == AGGREGATOR_OK);
  CHECK(out[0] == 3);
  CHECK(out[1] == 3);
  // n == 0 is fine
  CHECK(aggregator_get_quantiles(h, nullptr, 0, nullptr) == AGGREGATOR_OK);
}

TEST_CASE("bad input: NULL output pointers are EINVAL", "[bad_input]") {
  aggregator_config c = tu::default_config();
  c.window_kind = AGGREGATOR_WINDOW_TUMBLING;
  c.window_size = 10;
  Handle h = tu::make(c);
  double v[] = {1};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 1) == AGGREGATOR_OK);
  double q[] = {0.5};
  double out[1];
  size_t n = 0;
  aggregator_cursor cur{};
  aggregator_key_stats ks[1];
  uint64_t keys[1];
  aggregator_window w[1];
  uint64_t u = 0;
  CHECK(aggregator_get_stats(h, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_get_key_stats(h, 0, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_get_quantiles(h, q, 1, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_get_quantiles(h, nullptr, 1, out) == AGGREGATOR_EINVAL);
  CHECK(aggregator_get_key_quantiles(h, 0, q, 1, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_stats(h, nullptr, ks, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_stats(h, &cur, nullptr, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_stats(h, &cur, ks, 1, nullptr, 0, nullptr, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_stats(h, &cur, ks, 1, q, 1, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_key_count(h, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_keys(h, nullptr, keys, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_keys(h, &cur, nullptr, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_keys(h, &cur, keys, 1, nullptr, 0, nullptr, nullptr) == AGGREGATOR_EINVAL);
  uint8_t names[8];
  CHECK(aggregator_list_keys(h, &cur, keys, 1, names, 8, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_key_name(h, 0, names, 8, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_poll_windows(h, nullptr, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_poll_windows(h, w, 1, nullptr, 0, nullptr, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_poll_windows(h, w, 1, q, 1, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_pending_windows(h, nullptr, &u) == AGGREGATOR_EINVAL);
  CHECK(aggregator_memory_usage(h, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_key_memory_usage(h, 0, nullptr) == AGGREGATOR_EINVAL);
  CHECK(aggregator_serialized_size(h, nullptr) == AGGREGATOR_EINVAL);
  aggregator_config cfg = tu::default_config();
  CHECK(aggregator_create(&cfg, nullptr) == AGGREGATOR_EINVAL);
  // the handle still works
  CHECK(tu::get_stats(h).count == 1);
}

TEST_CASE("bad input: unknown key is ENOTFOUND", "[bad_input]") {
  Handle h = tu::make(tu::default_config());
  double v[] = {1};
  uint64_t k[] = {5};
  REQUIRE(aggregator_push(h, v, nullptr, k, 1) == AGGREGATOR_OK);
  aggregator_stats s;
  double q[] = {0.5}, out[1];
  uint8_t buf[4];
  size_t len;
  uint64_t b;
  CHECK(aggregator_get_key_stats(h, 6, &s) == AGGREGATOR_ENOTFOUND);
  CHECK(tu::last_error() != "");
  CHECK(aggregator_get_key_stats(h, AGGREGATOR_DEFAULT_KEY, &s) == AGGREGATOR_ENOTFOUND);
  CHECK(aggregator_get_key_quantiles(h, 6, q, 1, out) == AGGREGATOR_ENOTFOUND);
  CHECK(aggregator_key_name(h, 6, buf, 4, &len) == AGGREGATOR_ENOTFOUND);
  CHECK(aggregator_remove_key(h, 6) == AGGREGATOR_ENOTFOUND);
  CHECK(aggregator_key_memory_usage(h, 6, &b) == AGGREGATOR_ENOTFOUND);
}

TEST_CASE("bad input: poll on COUNT and SLIDING handles is EUNSUPPORTED", "[bad_input]") {
  for (uint32_t kind : {AGGREGATOR_WINDOW_COUNT, AGGREGATOR_WINDOW_SLIDING}) {
    aggregator_config c = tu::default_config();
    c.window_kind = kind;
    c.window_size = 120;
    Handle h = tu::make(c);
    aggregator_window w[2];
    size_t n = 5;
    CHECK(aggregator_poll_windows(h, w, 2, nullptr, 0, nullptr, &n) == AGGREGATOR_EUNSUPPORTED);
    CHECK(tu::last_error() != "");
  }
}

TEST_CASE("bad input: quantiles when disabled are EUNSUPPORTED", "[bad_input]") {
  aggregator_config c = tu::default_config();
  c.quantiles = 0;
  c.window_kind = AGGREGATOR_WINDOW_TUMBLING;
  c.window_size = 10;
  Handle h = tu::make(c);
  double v[] = {1, 2};
  int64_t t[] = {1, 20};
  REQUIRE(aggregator_push(h, v, t, nullptr, 2) == AGGREGATOR_OK);
  double q[] = {0.5}, out[1];
  CHECK(aggregator_get_quantiles(h, q, 1, out) == AGGREGATOR_EUNSUPPORTED);
  CHECK(aggregator_get_key_quantiles(h, 0, q, 1, out) == AGGREGATOR_EUNSUPPORTED);
  aggregator_cursor cur{};
  aggregator_key_stats ks[1];
  size_t n;
  CHECK(aggregator_list_stats(h, &cur, ks, 1, q, 1, out, &n) == AGGREGATOR_EUNSUPPORTED);
  aggregator_window w[1];
  CHECK(aggregator_poll_windows(h, w, 1, q, 1, out, &n) == AGGREGATOR_EUNSUPPORTED);
  // stats still work, without quantiles
  std::memset(&cur, 0, sizeof cur);
  CHECK(aggregator_list_stats(h, &cur, ks, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_OK);
  CHECK(aggregator_poll_windows(h, w, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_OK);
  CHECK(n == 1);
}

TEST_CASE("bad input: EBUFFER of serialize writes nothing and reports the size", "[bad_input][serialize]") {
  Handle h = tu::make(tu::default_config());
  double v[] = {1, 2, 3};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 3) == AGGREGATOR_OK);
  size_t need = 0;
  REQUIRE(aggregator_serialized_size(h, &need) == AGGREGATOR_OK);
  REQUIRE(need > 0);
  std::vector<uint8_t> buf(need, 0xCD);
  size_t written = 0;
  CHECK(aggregator_serialize(h, buf.data(), need - 1, &written) == AGGREGATOR_EBUFFER);
  CHECK(written == need);
  CHECK(std::all_of(buf.begin(), buf.end(), [](uint8_t b) { return b == 0xCD; }));
  CHECK(aggregator_serialize(h, nullptr, 0, &written) == AGGREGATOR_EBUFFER);
  CHECK(written == need);
}

// ---- The original three calls --------------------------------------------

TEST_CASE("original calls: aggregator_new refuses bad capacities with a message", "[bad_input][original]") {
  for (long long bad : {0ll, -1ll, LLONG_MIN, (1ll << 32) + 1, LLONG_MAX}) {
    INFO("capacity " << bad);
    aggregator* a = aggregator_new(bad);
    CHECK(a == nullptr);
    CHECK(tu::last_error() != "");
    aggregator_free(a);
  }
}

TEST_CASE("original calls: aggregator_new accepts the largest capacity 2^32", "[original]") {
  aggregator* a = aggregator_new(1ll << 32);
  INFO(tu::last_error());
  REQUIRE(a != nullptr);
  double v[] = {1, 2, 3, 4};
  CHECK(aggregator_process_batch(a, v, 4) == 2.5);
  aggregator_free(a);
}

TEST_CASE("original calls: process_batch returns the window mean", "[original]") {
  aggregator* a = aggregator_new(4);
  REQUIRE(a != nullptr);
  CHECK(std::isnan(aggregator_process_batch(a, nullptr, 0)));  // empty: NaN
  double v1[] = {1, 2};
  CHECK(aggregator_process_batch(a, v1, 2) == 1.5);  // fewer than capacity: mean of all
  double v2[] = {3};
  CHECK(aggregator_process_batch(a, v2, 1) == 2.0);
  double v3[] = {4, 5, 6};
  CHECK(aggregator_process_batch(a, v3, 3) == 4.5);  // last 4: 3,4,5,6
  CHECK(aggregator_process_batch(a, v3, 0) == 4.5);  // len 0: current mean
  double big[1000];
  for (int i = 0; i < 1000; ++i) big[i] = i;
  CHECK(aggregator_process_batch(a, big, 1000) == 997.5);
  aggregator_config got;
  aggregator_config_init(&got);
  REQUIRE(aggregator_get_config(a, &got) == AGGREGATOR_OK);
  CHECK(got.window_kind == AGGREGATOR_WINDOW_COUNT);
  CHECK(got.window_size == 4);
  CHECK(got.quantiles == 0);  // "quantiles are off" for aggregator_new
  CHECK(got.threading == AGGREGATOR_THREADING_SHARED);
  double q[] = {0.5}, out[1];
  CHECK(aggregator_get_quantiles(a, q, 1, out) == AGGREGATOR_EUNSUPPORTED);
  aggregator_free(a);
}

TEST_CASE("original calls: process_batch NULL handle / NULL data: NaN with a message", "[bad_input][original]") {
  double v[] = {1};
  CHECK(std::isnan(aggregator_process_batch(nullptr, v, 1)));
  CHECK(tu::last_error() != "");
  CHECK(std::isnan(aggregator_process_batch(nullptr, nullptr, 0)));
  aggregator* a = aggregator_new(3);
  REQUIRE(a != nullptr);
  CHECK(aggregator_process_batch(a, v, 1) == 1.0);
  CHECK(std::isnan(aggregator_process_batch(a, nullptr, 5)));
  CHECK(tu::last_error() != "");
  CHECK(aggregator_process_batch(a, v, 0) == 1.0);  // nothing applied
  aggregator_free(a);
}

TEST_CASE("original calls: aggregator_free(NULL) is a no-op", "[original]") {
  aggregator_free(nullptr);
  SUCCEED();
}

// ---- Status strings, last error, versions --------------------------------

TEST_CASE("status strings: one for every code, 'unknown status' otherwise", "[status]") {
  std::set<std::string> seen;
  for (int code = AGGREGATOR_OK; code <= AGGREGATOR_EINTERNAL; ++code) {
    const char* s = aggregator_status_string(code);
    REQUIRE(s != nullptr);
    INFO("code " << code << ": " << s);
    CHECK(std::string(s) != "");
    CHECK(std::string(s) != "unknown status");
    CHECK(seen.insert(s).second);
  }
  for (int code : {-1, 14, 100, INT_MAX, INT_MIN}) {
    const char* s = aggregator_status_string(code);
    REQUIRE(s != nullptr);
    CHECK(std::string(s) == "unknown status");
  }
  CHECK(contains(aggregator_status_string(AGGREGATOR_EINVAL), "invalid argument"));
}

TEST_CASE("last error: thread-local, empty before a failure, not cleared by success", "[status]") {
  std::string fresh = "unset", after_fail, after_ok, other_thread;
  std::thread t([&] {
    const char* e = aggregator_last_error();
    fresh = e ? e : "<NULL>";
    aggregator_push(nullptr, nullptr, nullptr, nullptr, 1);
    after_fail = aggregator_last_error();
    Handle h(aggregator_new(3));
    double v[] = {1};
    aggregator_push(h, v, nullptr, nullptr, 1);
    after_ok = aggregator_last_error();
  });
  t.join();
  CHECK(fresh == "");
  CHECK(after_fail != "");
  CHECK(after_ok == after_fail);
  std::thread t2([&] { other_thread = aggregator_last_error(); });
  t2.join();
  CHECK(other_thread == "");
}

TEST_CASE("version calls", "[status]") {
  REQUIRE(aggregator_version() != nullptr);
  CHECK(std::string(aggregator_version()) == WINDOWAGG_VERSION_STRING);
  CHECK(std::string(aggregator_version()) == "1.0.0");
  CHECK(aggregator_version_number() == WINDOWAGG_VERSION_NUMBER);
  CHECK(aggregator_version_number() == 10000u);
}

TEST_CASE("bad input: list_stats / list_keys with cap 0 are refused, naming cap (issue 12 #13)",
          "[bad_input]") {
  // With cap 0 a call returns no entry and never sets done: a host loop
  // "call until done" would never end. cap 0 is refused, cursor unchanged.
  for (bool empty : {true, false}) {
    Handle h = tu::make(tu::default_config());
    if (!empty) {
      double v[] = {1, 2, 3};
      uint64_t k[] = {1, 2, 3};
      REQUIRE(aggregator_push(h, v, nullptr, k, 3) == AGGREGATOR_OK);
    }
    aggregator_key_stats ks[1];
    uint64_t keys[1];
    size_t n = 7;
    aggregator_cursor cur{};
    CHECK(aggregator_list_stats(h, &cur, ks, 0, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
    CHECK(contains(tu::last_error(), "cap is 0"));
    CHECK(n == 0);
    CHECK(cur.done == 0);
    CHECK(cur.started == 0);
    CHECK(aggregator_list_keys(h, &cur, keys, 0, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
    CHECK(contains(tu::last_error(), "cap is 0"));
    CHECK(aggregator_list_keys(h, &cur, nullptr, 0, nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
    CHECK(contains(tu::last_error(), "cap is 0"));
    CHECK(cur.done == 0);
    // With cap >= 1 the loop ends: every call returns an entry or sets done.
    size_t seen = 0;
    int calls = 0;
    while (!cur.done && calls++ < 100) {
      REQUIRE(aggregator_list_keys(h, &cur, keys, 1, nullptr, 0, nullptr, &n) == AGGREGATOR_OK);
      CHECK((n == 1 || cur.done));
      seen += n;
    }
    CHECK(cur.done == 1);
    CHECK(seen == (empty ? 0u : 3u));
  }
}
