// The extensible pages (issue 13 step 5): aggregator_list_stats_ex and
// aggregator_poll_windows_ex write records whose size the caller gives.
// An older (smaller) record gets the fields it knows and nothing past its
// element size is written (guard bytes); a newer (larger) one is
// zero-filled; a bad size is refused naming elem_size, before anything
// happens; and the entries equal those of the fixed-struct calls.
#include <algorithm>
#include <windowagg/windowagg.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr unsigned char kGuard = 0xAB;
constexpr size_t kHead = offsetof(aggregator_key_stats_ex, stats);  // the key

aggregator* Tumbling(int64_t width) {
  aggregator_config cfg;
  aggregator_config_init(&cfg);
  cfg.window_kind = AGGREGATOR_WINDOW_TUMBLING;
  cfg.window_size = width;
  aggregator* a = nullptr;
  REQUIRE(aggregator_create(&cfg, &a) == AGGREGATOR_OK);
  return a;
}

// Two handles fed the same data: one read through the fixed calls, one
// through the _ex calls (polling moves windows, so each needs its own).
void Feed(aggregator* a, bool advance = true) {
  std::vector<double> v;
  std::vector<int64_t> t;
  std::vector<uint64_t> k;
  for (int i = 0; i < 300; ++i) {
    v.push_back(i * 0.5 - 20);
    t.push_back(i * 7);
    k.push_back(static_cast<uint64_t>(i % 5) * 1000003u);
  }
  REQUIRE(aggregator_push(a, v.data(), t.data(), k.data(), v.size()) == AGGREGATOR_OK);
  if (advance) REQUIRE(aggregator_advance(a, 5000) == AGGREGATOR_OK);
}

const aggregator_key_stats_ex* Rec(const std::vector<unsigned char>& buf, size_t elem, size_t i) {
  return reinterpret_cast<const aggregator_key_stats_ex*>(buf.data() + i * elem);
}

bool StatsEqual(const aggregator_stats& x, const aggregator_stats& y) {
  return std::memcmp(&x, &y, sizeof x) == 0;  // NaN bits included
}

}  // namespace

TEST_CASE("abi ext: list_stats_ex equals list_stats page by page with quantiles") {
  aggregator* a = Tumbling(100);
  Feed(a, false);  // current windows [2000, 2100) hold data
  const double q[2] = {0.5, 0.9};
  aggregator_cursor c1{}, c2{};
  std::vector<aggregator_key_stats> fixed(2);
  std::vector<unsigned char> buf(2 * sizeof(aggregator_key_stats_ex));
  std::vector<double> q1(4), q2(4);
  size_t pages = 0, total = 0;
  while (!c1.done) {
    size_t n1 = 0, n2 = 0;
    REQUIRE(aggregator_list_stats(a, &c1, fixed.data(), 2, q, 2, q1.data(), &n1) == AGGREGATOR_OK);
    REQUIRE(aggregator_list_stats_ex(a, &c2, buf.data(), sizeof(aggregator_key_stats_ex), 2, q, 2,
                                     q2.data(), &n2) == AGGREGATOR_OK);
    REQUIRE(n1 == n2);
    REQUIRE(std::memcmp(&c1, &c2, sizeof c1) == 0);
    for (size_t i = 0; i < n1; ++i) {
      const auto* r = Rec(buf, sizeof(aggregator_key_stats_ex), i);
      CHECK(r->key == fixed[i].key);
      CHECK(r->stats.struct_size == sizeof(aggregator_stats_ex));
      CHECK(r->stats.reserved == 0);
      CHECK(StatsEqual(r->stats.stats, fixed[i].stats));
      // The same fields as the extensible single read.
      aggregator_stats_ex one;
      aggregator_stats_ex_init(&one);
      REQUIRE(aggregator_get_key_stats_ex(a, r->key, &one) == AGGREGATOR_OK);
      CHECK(std::memcmp(&one, &r->stats, sizeof one) == 0);
    }
    CHECK(std::memcmp(q1.data(), q2.data(), n1 * 2 * sizeof(double)) == 0);
    for (size_t i = 0; i < n1; ++i) CHECK(fixed[i].stats.count > 0);
    total += n1;
    ++pages;
  }
  CHECK(c2.done);
  CHECK(total == 5);
  CHECK(pages >= 3);
  aggregator_free(a);
}

TEST_CASE("abi ext: poll_windows_ex moves the same windows as poll_windows in order") {
  // Two handles fed alike close the same windows, but the queue's order
  // across series follows each handle's series table, which is not the
  // same across handles: compare the windows polled, sorted by bounds and
  // key.
  aggregator* a = Tumbling(100);
  aggregator* b = Tumbling(100);
  Feed(a);
  Feed(b);
  const double q = 0.5;
  std::vector<aggregator_window> fixed(3);
  std::vector<unsigned char> buf(3 * sizeof(aggregator_window_ex));
  double q1[3], q2[3];
  struct Polled {
    uint64_t key;
    aggregator_stats stats;
    double q;
  };
  std::vector<Polled> got1, got2;
  for (;;) {
    size_t n1 = 0, n2 = 0;
    REQUIRE(aggregator_poll_windows(a, fixed.data(), 3, &q, 1, q1, &n1) == AGGREGATOR_OK);
    REQUIRE(aggregator_poll_windows_ex(b, buf.data(), sizeof(aggregator_window_ex), 3, &q, 1, q2,
                                       &n2) == AGGREGATOR_OK);
    REQUIRE(n1 == n2);
    for (size_t i = 0; i < n1; ++i) {
      const auto* w = reinterpret_cast<const aggregator_window_ex*>(buf.data() +
                                                                    i * sizeof(aggregator_window_ex));
      CHECK(w->stats.struct_size == sizeof(aggregator_stats_ex));
      got1.push_back({fixed[i].key, fixed[i].stats, q1[i]});
      got2.push_back({w->key, w->stats.stats, q2[i]});
    }
    if (n1 == 0) break;
  }
  auto by_window_then_key = [](const Polled& x, const Polled& y) {
    return x.stats.window_start != y.stats.window_start
               ? x.stats.window_start < y.stats.window_start
               : x.key < y.key;
  };
  std::sort(got1.begin(), got1.end(), by_window_then_key);
  std::sort(got2.begin(), got2.end(), by_window_then_key);
  for (size_t i = 0; i < got1.size(); ++i) {
    CHECK(got2[i].key == got1[i].key);
    CHECK(StatsEqual(got2[i].stats, got1[i].stats));
    CHECK(std::memcmp(&got2[i].q, &got1[i].q, sizeof(double)) == 0);
  }
  const size_t total = got1.size();
  CHECK(total == 5 * 21);  // events at 0..2093, windows [0,100) .. [2000,2100) per key
  uint64_t pending = 1, dropped = 1;
  REQUIRE(aggregator_pending_windows(b, &pending, &dropped) == AGGREGATOR_OK);
  CHECK(pending == 0);
  // cap 0 moves nothing and needs no buffer, as aggregator_poll_windows.
  size_t n = 7;
  CHECK(aggregator_poll_windows_ex(b, nullptr, sizeof(aggregator_window_ex), 0, nullptr, 0,
                                   nullptr, &n) == AGGREGATOR_OK);
  CHECK(n == 0);
  aggregator_free(a);
  aggregator_free(b);
}

TEST_CASE("abi ext: an older smaller record gets its fields and nothing past its size") {
  // A host whose header knew only count and sum: record = key, struct_size,
  // reserved, count, sum.
  const size_t old_elem = kHead + offsetof(aggregator_stats_ex, stats) +
                          offsetof(aggregator_stats, mean);
  REQUIRE(old_elem == 32);
  const size_t cap = 8;  // room for more records than there are series/windows
  SECTION("list") {
    aggregator* a = Tumbling(100);
    Feed(a, false);
    std::vector<aggregator_key_stats> fixed(cap);
    aggregator_cursor c1{}, c2{};
    size_t n1 = 0, n2 = 0;
    REQUIRE(aggregator_list_stats(a, &c1, fixed.data(), cap, nullptr, 0, nullptr, &n1) ==
            AGGREGATOR_OK);
    std::vector<unsigned char> buf(cap * old_elem + 64, kGuard);
    REQUIRE(aggregator_list_stats_ex(a, &c2, buf.data(), old_elem, cap, nullptr, 0, nullptr,
                                     &n2) == AGGREGATOR_OK);
    REQUIRE(n2 == n1);
    REQUIRE(n2 == 5);
    for (size_t i = 0; i < n2; ++i) {
      const unsigned char* r = buf.data() + i * old_elem;
      uint64_t key, count;
      uint32_t size, reserved;
      double sum;
      std::memcpy(&key, r, 8);
      std::memcpy(&size, r + 8, 4);
      std::memcpy(&reserved, r + 12, 4);
      std::memcpy(&count, r + 16, 8);
      std::memcpy(&sum, r + 24, 8);
      CHECK(key == fixed[i].key);
      CHECK(size == old_elem - kHead);
      CHECK(reserved == 0);
      CHECK(count == fixed[i].stats.count);
      CHECK(count > 0);
      CHECK(sum == fixed[i].stats.sum);
    }
    for (size_t i = n2 * old_elem; i < buf.size(); ++i) REQUIRE(buf[i] == kGuard);
    aggregator_free(a);
  }
  SECTION("poll") {
    aggregator* a = Tumbling(100);
    aggregator* b = Tumbling(100);
    Feed(a);
    Feed(b);
    // Every window of `a` through the fixed call; the queue's order across
    // series differs between handles (it follows each one's series
    // table), so each old-size record must match one of them.
    std::vector<aggregator_window> fixed(5 * 21 + 1);
    size_t n1 = 0, n2 = 0;
    REQUIRE(aggregator_poll_windows(a, fixed.data(), fixed.size(), nullptr, 0, nullptr, &n1) ==
            AGGREGATOR_OK);
    REQUIRE(n1 == 5 * 21);
    std::vector<bool> used(n1, false);
    std::vector<unsigned char> buf(cap * old_elem + 64, kGuard);
    REQUIRE(aggregator_poll_windows_ex(b, buf.data(), old_elem, 3, nullptr, 0, nullptr, &n2) ==
            AGGREGATOR_OK);
    REQUIRE(n2 == 3);
    for (size_t i = 0; i < n2; ++i) {
      uint64_t key, count;
      double sum;
      std::memcpy(&key, buf.data() + i * old_elem, 8);
      std::memcpy(&count, buf.data() + i * old_elem + 16, 8);
      std::memcpy(&sum, buf.data() + i * old_elem + 24, 8);
      CHECK(count > 0);
      bool matched = false;
      for (size_t j = 0; j < n1 && !matched; ++j) {
        if (!used[j] && fixed[j].key == key && fixed[j].stats.count == count &&
            fixed[j].stats.sum == sum) {
          used[j] = matched = true;
        }
      }
      CHECK(matched);
    }
    for (size_t i = n2 * old_elem; i < buf.size(); ++i) REQUIRE(buf[i] == kGuard);
    aggregator_free(a);
    aggregator_free(b);
  }
}

TEST_CASE("abi ext: a newer larger record gets zeros past the known fields") {
  const size_t known = sizeof(aggregator_key_stats_ex);
  const size_t new_elem = known + 40;  // a newer header with 5 more aggregates
  const size_t cap = 6;
  aggregator* a = Tumbling(100);
  Feed(a);
  std::vector<unsigned char> buf(cap * new_elem + 64, kGuard);
  aggregator_cursor c{};
  size_t n = 0;
  REQUIRE(aggregator_list_stats_ex(a, &c, buf.data(), new_elem, cap, nullptr, 0, nullptr, &n) ==
          AGGREGATOR_OK);
  REQUIRE(n == 5);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char* r = buf.data() + i * new_elem;
    aggregator_key_stats_ex rec;
    std::memcpy(&rec, r, sizeof rec);
    CHECK(rec.stats.struct_size == new_elem - kHead);
    aggregator_stats one;
    REQUIRE(aggregator_get_key_stats(a, rec.key, &one) == AGGREGATOR_OK);
    CHECK(StatsEqual(rec.stats.stats, one));
    for (size_t j = known; j < new_elem; ++j) REQUIRE(r[j] == 0);
  }
  for (size_t i = n * new_elem; i < buf.size(); ++i) REQUIRE(buf[i] == kGuard);

  aggregator* b = Tumbling(100);
  Feed(b);
  std::vector<unsigned char> wbuf(cap * new_elem + 64, kGuard);
  REQUIRE(aggregator_poll_windows_ex(b, wbuf.data(), new_elem, cap, nullptr, 0, nullptr, &n) ==
          AGGREGATOR_OK);
  REQUIRE(n == cap);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = known; j < new_elem; ++j) REQUIRE(wbuf[i * new_elem + j] == 0);
  }
  for (size_t i = n * new_elem; i < wbuf.size(); ++i) REQUIRE(wbuf[i] == kGuard);
  aggregator_free(a);
  aggregator_free(b);
}

TEST_CASE("abi ext: a bad elem_size is refused naming it with nothing written or moved") {
  aggregator* a = Tumbling(100);
  Feed(a);
  uint64_t pending_before = 0, dropped = 0;
  REQUIRE(aggregator_pending_windows(a, &pending_before, &dropped) == AGGREGATOR_OK);
  const size_t bad[] = {0, 8, 12, 20, 4112, 1u << 20};
  std::vector<unsigned char> buf(4 * 4200, kGuard);
  for (size_t elem : bad) {
    CAPTURE(elem);
    aggregator_cursor c{};
    size_t n = 9;
    CHECK(aggregator_list_stats_ex(a, &c, buf.data(), elem, 4, nullptr, 0, nullptr, &n) ==
          AGGREGATOR_EINVAL);
    CHECK(n == 0);
    CHECK(c.started == 0);
    CHECK(c.done == 0);
    CHECK(std::string(aggregator_last_error()).find("elem_size") != std::string::npos);
    n = 9;
    CHECK(aggregator_poll_windows_ex(a, buf.data(), elem, 4, nullptr, 0, nullptr, &n) ==
          AGGREGATOR_EINVAL);
    CHECK(n == 0);
    CHECK(std::string(aggregator_last_error()).find("elem_size") != std::string::npos);
  }
  for (unsigned char b : buf) REQUIRE(b == kGuard);
  // cap * elem_size past SIZE_MAX.
  aggregator_cursor c{};
  size_t n = 0;
  CHECK(aggregator_list_stats_ex(a, &c, buf.data(), 128, SIZE_MAX / 64, nullptr, 0, nullptr,
                                 &n) == AGGREGATOR_EINVAL);
  CHECK(std::string(aggregator_last_error()).find("elem_size") != std::string::npos);
  uint64_t pending_after = 0;
  REQUIRE(aggregator_pending_windows(a, &pending_after, &dropped) == AGGREGATOR_OK);
  CHECK(pending_after == pending_before);
  CHECK(pending_after > 0);
  // The other arguments, as the fixed calls.
  CHECK(aggregator_list_stats_ex(a, &c, buf.data(), sizeof(aggregator_key_stats_ex), 0, nullptr,
                                 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(std::string(aggregator_last_error()).find("cap is 0") != std::string::npos);
  CHECK(aggregator_list_stats_ex(a, nullptr, buf.data(), sizeof(aggregator_key_stats_ex), 1,
                                 nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_stats_ex(a, &c, nullptr, sizeof(aggregator_key_stats_ex), 1, nullptr, 0,
                                 nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_list_stats_ex(nullptr, &c, buf.data(), sizeof(aggregator_key_stats_ex), 1,
                                 nullptr, 0, nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_poll_windows_ex(a, nullptr, sizeof(aggregator_window_ex), 1, nullptr, 0,
                                   nullptr, &n) == AGGREGATOR_EINVAL);
  CHECK(aggregator_poll_windows_ex(a, buf.data(), sizeof(aggregator_window_ex), 1, nullptr, 0,
                                   nullptr, nullptr) == AGGREGATOR_EINVAL);
  // A bad quantile is refused before any window leaves the queue.
  const double badq = 1.5;
  double outq[4];
  CHECK(aggregator_poll_windows_ex(a, buf.data(), sizeof(aggregator_window_ex), 4, &badq, 1, outq,
                                   &n) == AGGREGATOR_EINVAL);
  REQUIRE(aggregator_pending_windows(a, &pending_after, &dropped) == AGGREGATOR_OK);
  CHECK(pending_after == pending_before);
  aggregator_free(a);

  // COUNT handles have no closed windows, as aggregator_poll_windows.
  aggregator* cnt = aggregator_new(4);
  CHECK(aggregator_poll_windows_ex(cnt, buf.data(), sizeof(aggregator_window_ex), 1, nullptr, 0,
                                   nullptr, &n) == AGGREGATOR_EUNSUPPORTED);
  aggregator_free(cnt);
}
