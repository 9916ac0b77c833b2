// Self-test of the brute-force reference model against hand-worked examples
// of the header's window semantics. Needs no library: if these fail, the
// reference (not windowagg) is wrong.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "reference_model.hpp"

using namespace ref;

static std::vector<double> sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST_CASE("reference: count window keeps the last N", "[reference]") {
  Config c;
  c.kind = COUNT;
  c.window_size = 3;
  Model m(c);
  double v[] = {1, 2, 3, 4};
  m.push(v, nullptr, nullptr, 4);
  Stats s = m.key_stats(0);
  CHECK(s.s.count == 3);
  CHECK((double)s.s.sum == 9);
  CHECK(s.s.mean == 3);
  CHECK(s.s.min == 2);
  CHECK(s.s.max == 4);
  CHECK(s.s.variance == 1);
  CHECK(s.window_start == 1);
  CHECK(s.window_end == 4);
  CHECK(s.watermark == 4);
  CHECK(s.total == 4);
}

TEST_CASE("reference: sliding panes, eviction and the two late rules", "[reference]") {
  Config c;
  c.kind = SLIDING;
  c.window_size = 10;
  c.pane_width = 2;  // 5 panes
  Model m(c);
  double v[] = {1, 2};
  int64_t t[] = {1, 11};
  m.push(v, t, nullptr, 2);
  // W = 11, pane 5, window panes 1..5 = [2, 12): t=1 is out.
  Stats s = m.key_stats(0);
  CHECK(s.s.count == 1);
  CHECK(s.window_start == 2);
  CHECK(s.window_end == 12);
  CHECK(s.watermark == 11);
  // t = 3 < W - 0: late.
  double v2[] = {5};
  int64_t t2[] = {3};
  m.push(v2, t2, nullptr, 1);
  CHECK(m.key_stats(0).late == 1);

  Config c2 = c;
  c2.lateness = 100;
  Model m2(c2);
  m2.push(v, t, nullptr, 2);
  double v3[] = {7, 8};
  int64_t t3[] = {1, 2};  // pane 0 older than the window: late; pane 1 fine
  m2.push(v3, t3, nullptr, 2);
  Stats s2 = m2.key_stats(0);
  CHECK(s2.late == 1);
  CHECK(s2.s.count == 2);
  CHECK(sorted(m2.key_window(0)) == std::vector<double>{2, 8});
}

TEST_CASE("reference: default pane width (largest divisor of D <= max(1, D/60))", "[reference]") {
  Config c;
  c.kind = SLIDING;
  c.window_size = 600;
  Model m(c);
  CHECK(m.config().pane_width == 10);
  c.window_size = 59;
  Model m2(c);
  CHECK(m2.config().pane_width == 1);
  c.window_size = 6100;  // 6100/60 = 101, largest divisor <= 101 is 100
  Model m3(c);
  CHECK(m3.config().pane_width == 100);
}

TEST_CASE("reference: tumbling close rule, reads and lateness", "[reference]") {
  Config c;
  c.kind = TUMBLING;
  c.window_size = 10;
  c.lateness = 5;
  Model m(c);
  double v[] = {1, 9, 12};
  int64_t t[] = {1, 9, 12};
  m.push(v, t, nullptr, 3);
  CHECK(m.pending_closed() == 0);
  Stats s = m.key_stats(0);  // W = 12: window [10, 20)
  CHECK(s.window_start == 10);
  CHECK(s.window_end == 20);
  CHECK(s.s.count == 1);
  double v2[] = {15};
  int64_t t2[] = {15};
  m.push(v2, t2, nullptr, 1);
  auto closed = m.take_closed();
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].start == 0);
  CHECK(closed[0].end == 10);
  CHECK(sorted(closed[0].values) == std::vector<double>{1, 9});
  double v3[] = {8, 10};
  int64_t t3[] = {8, 10};  // 8 < 15 - 5: late; 10 fine
  m.push(v3, t3, nullptr, 2);
  s = m.key_stats(0);
  CHECK(s.late == 1);
  CHECK(s.s.count == 3);
}

TEST_CASE("reference: hopping windows", "[reference]") {
  Config c;
  c.kind = HOPPING;
  c.window_size = 10;
  c.slide = 5;
  Model m(c);
  double v[] = {7, 12};
  int64_t t[] = {7, 12};
  m.push(v, t, nullptr, 2);
  auto closed = m.take_closed();  // [0,10) closes at W >= 10
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].start == 0);
  CHECK(closed[0].values == std::vector<double>{7});
  Stats s = m.key_stats(0);  // e = 15: [5, 15)
  CHECK(s.window_start == 5);
  CHECK(s.window_end == 15);
  CHECK(s.s.count == 2);
  m.advance(1000);
  closed = m.take_closed();
  REQUIRE(closed.size() == 2);
  CHECK(closed[0].start == 5);
  CHECK(closed[1].start == 10);
  CHECK(closed[1].values == std::vector<double>{12});
}

TEST_CASE("reference: arrival clock counts skipped values", "[reference]") {
  Config c;
  c.kind = SLIDING;
  c.window_size = 4;
  c.pane_width = 1;
  c.skip_nonfinite = true;
  Model m(c);
  double v[] = {1, NAN, 3, 4, 5, 6};
  m.push(v, nullptr, nullptr, 6);
  // times 0..5, W = 5, window [2, 6) -> 3,4,5,6
  Stats s = m.key_stats(0);
  CHECK(s.s.count == 4);
  CHECK(s.rejected == 1);
  CHECK(s.window_start == 2);
  CHECK(s.window_end == 6);
  CHECK(m.next_arrival() == 6);
}

TEST_CASE("reference: saturation at the ends of the int64 range", "[reference]") {
  Config c;
  c.kind = TUMBLING;
  c.window_size = 8;
  Model m(c);
  double v[] = {1, 2};
  int64_t t[] = {kMax - 3, kMin};
  m.push(v, t, nullptr, 1);
  // The window holding INT64_MAX - 3 ends past INT64_MAX: clamped, so it
  // closes once W >= INT64_MAX.
  CHECK(m.pending_closed() == 0);
  m.advance(kMax);
  auto closed = m.take_closed();
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].end == kMax);
  CHECK(closed[0].start == kMax - 7);

  Model m2(c);
  m2.push(v + 1, t + 1, nullptr, 1);
  Stats s = m2.key_stats(0);
  CHECK(s.window_start == kMin);
  CHECK(s.window_end == kMin + 8);
  CHECK(s.s.count == 1);

  Config cs;
  cs.kind = SLIDING;
  cs.window_size = 100;
  cs.pane_width = 10;
  Model m3(cs);
  m3.push(v + 1, t + 1, nullptr, 1);
  Stats s3 = m3.key_stats(0);
  CHECK(s3.window_start == kMin);  // clamped
  CHECK(s3.window_end == kMin + 8);  // pane floor(MIN/10) ends at MIN + 8
  CHECK(s3.s.count == 1);
}

TEST_CASE("reference: summary statistics", "[reference]") {
  Summary s = summarize({1e9 + 1, 1e9 + 2, 1e9 + 3});
  CHECK(s.variance == 1);
  CHECK(s.mean == 1e9 + 2);
  Summary e = summarize({});
  CHECK(e.count == 0);
  CHECK(std::isnan(e.mean));
  Summary one = summarize({5});
  CHECK(std::isnan(one.variance));
  CHECK(rank_index(0.5, 4) == 1);
  CHECK(rank_index(1.0, 4) == 3);
  CHECK(rank_index(0.0, 4) == 0);
}
