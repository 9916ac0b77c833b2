// Aggregates: compensated sums over 10^8 values, Welford/Chan variance on
// large-offset data, no drift across eviction, empty/one-value windows.
#include "test_util.hpp"

using tu::Handle;

namespace {

// A handle whose single window holds everything pushed without timestamps:
// a tumbling window far wider than the stream (memory O(1)).
Handle everything_window(bool quantiles = false) {
  aggregator_config c = tu::default_config();
  c.window_kind = AGGREGATOR_WINDOW_TUMBLING;
  c.window_size = int64_t(1) << 40;
  c.quantiles = quantiles ? 1 : 0;
  c.threading = AGGREGATOR_THREADING_SINGLE;
  return tu::make(c);
}

void push_repeated(aggregator* a, double x, uint64_t n) {
  std::vector<double> buf(65536, x);
  while (n > 0) {
    size_t m = (size_t)std::min<uint64_t>(n, buf.size());
    REQUIRE(aggregator_push(a, buf.data(), nullptr, nullptr, m) == AGGREGATOR_OK);
    n -= m;
  }
}

}  // namespace

TEST_CASE("aggregates: 1.0 followed by 10^8 copies of 1e-16 does not drift", "[aggregates][heavy]") {
  Handle h = everything_window();
  double one = 1.0;
  REQUIRE(aggregator_push(h, &one, nullptr, nullptr, 1) == AGGREGATOR_OK);
  push_repeated(h, 1e-16, 100000000);
  aggregator_stats s = tu::get_stats(h);
  REQUIRE(s.count == 100000001);
  // exact: 1 + 1e8 * fl(1e-16); naive summation would return exactly 1.0
  long double exact = 1.0L + 100000000.0L * (long double)1e-16;
  INFO("sum = " << std::setprecision(20) << s.sum << " exact " << (double)exact);
  CHECK(std::fabs(s.sum - (double)exact) <= 2 * std::nextafter(1.0, 2.0) - 2.0);
  CHECK(s.sum != 1.0);
  CHECK(s.max == 1.0);
  CHECK(s.min == 1e-16);
}

TEST_CASE("aggregates: 10^8 copies of 0.1 sum to the correctly rounded total", "[aggregates][heavy]") {
  Handle h = everything_window();
  push_repeated(h, 0.1, 100000000);
  aggregator_stats s = tu::get_stats(h);
  REQUIRE(s.count == 100000000);
  // fl(0.1) = 3602879701896397 / 2^55 exactly, so the exact sum is
  // 3602879701896397 * 10^8 / 2^55.
  __int128 num = (__int128)3602879701896397LL * 100000000;
  long double exact = (long double)num / 36028797018963968.0L;  // 2^55
  double want = (double)exact;
  INFO("sum = " << std::setprecision(20) << s.sum << " want " << want);
  double ulp = std::nextafter(want, 1e300) - want;
  CHECK(std::fabs(s.sum - want) <= ulp);
  CHECK(std::fabs(s.mean - 0.1) <= 1e-15);
  // naive summation is off by about 0.02 here
}

TEST_CASE("aggregates: large values cancelling against small ones", "[aggregates]") {
  Handle h = everything_window();
  // Blocks of {1e16, 1, -1e16}: a naive sum loses every 1.
  std::vector<double> v;
  for (int i = 0; i < 300000; ++i) {
    v.push_back(1e16);
    v.push_back(1.0);
    v.push_back(-1e16);
  }
  REQUIRE(aggregator_push(h, v.data(), nullptr, nullptr, v.size()) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.sum == 300000.0);
  CHECK(s.mean == 300000.0 / 900000.0);
}

TEST_CASE("aggregates: window sums do not drift when large values are evicted", "[aggregates]") {
  for (uint32_t kind : {AGGREGATOR_WINDOW_COUNT, AGGREGATOR_WINDOW_SLIDING}) {
    DYNAMIC_SECTION("kind " << kind) {
      aggregator_config c = tu::default_config();
      c.window_kind = kind;
      c.window_size = kind == AGGREGATOR_WINDOW_COUNT ? 100 : 120;  // sliding: panes of 2
      Handle h = tu::make(c);
      ref::Config rc;
      rc.kind = kind;
      rc.window_size = c.window_size;
      ref::Model m(rc);
      std::mt19937_64 rng(9);
      int checked = 0;
      for (int b = 0; b < 2000; ++b) {
        std::vector<double> v(500);
        for (size_t i = 0; i < v.size(); ++i) {
          v[i] = std::uniform_real_distribution<double>(0, 1)(rng);
          if (i == 0 && b % 2 == 0) v[i] = (b % 4 ? 1e17 : -3e16) + 0.37;
        }
        REQUIRE(aggregator_push(h, v.data(), nullptr, nullptr, v.size()) == AGGREGATOR_OK);
        m.push(v.data(), nullptr, nullptr, v.size());
        if (b % 50 == 49) {
          ref::Stats want = m.key_stats(0);
          aggregator_stats got = tu::get_stats(h);
          // the window holds only small values now: its sum must be exact to
          // the window's own magnitude, not to the 1e17 that passed through
          INFO("batch " << b);
          CHECK(tu::compare_stats(got, want, tu::kCheckValues, 1e-12) == "");
          ++checked;
        }
      }
      CHECK(checked == 40);
    }
  }
}

TEST_CASE("aggregates: Welford variance on data with a large offset", "[aggregates]") {
  // 1e9 + U(-1, 1): variance 1/3; naive sum-of-squares is garbage (or negative).
  for (uint32_t kind : {AGGREGATOR_WINDOW_COUNT, AGGREGATOR_WINDOW_SLIDING, AGGREGATOR_WINDOW_TUMBLING}) {
    DYNAMIC_SECTION("kind " << kind) {
      aggregator_config c = tu::default_config();
      c.window_kind = kind;
      c.window_size = 120000;  // sliding: default panes of 2000
      Handle h = tu::make(c);
      ref::Config rc;
      rc.kind = kind;
      rc.window_size = c.window_size;
      rc.slide = c.window_size;
      ref::Model m(rc);
      std::mt19937_64 rng(1);
      for (int b = 0; b < 25; ++b) {
        std::vector<double> v(10000);
        for (double& x : v) x = 1e9 + std::uniform_real_distribution<double>(-1, 1)(rng);
        REQUIRE(aggregator_push(h, v.data(), nullptr, nullptr, v.size()) == AGGREGATOR_OK);
        m.push(v.data(), nullptr, nullptr, v.size());
        if (b % 6 == 5 || b == 24) {
          ref::Stats want = m.key_stats(0);
          aggregator_stats got = tu::get_stats(h);
          INFO("batch " << b << " got " << tu::describe(got) << " want " << tu::describe(want));
          REQUIRE(want.s.count >= 2);
          CHECK(std::fabs(got.variance - want.s.variance) <= 1e-6 * want.s.variance);
          CHECK(std::fabs(got.stddev - want.s.stddev) <= 1e-6 * want.s.stddev);
          CHECK(std::fabs(got.mean - want.s.mean) <= 1e-15 * 1e9);
          CHECK(got.min == want.s.min);
          CHECK(got.max == want.s.max);
        }
      }
    }
  }
}

TEST_CASE("aggregates: empty and one-value windows", "[aggregates]") {
  Handle h(aggregator_new(10));
  REQUIRE(h.get() != nullptr);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.count == 0);
  CHECK(s.sum == 0);
  CHECK(std::isnan(s.mean));
  CHECK(std::isnan(s.min));
  CHECK(std::isnan(s.max));
  CHECK(std::isnan(s.variance));
  CHECK(std::isnan(s.stddev));
  CHECK(s.window_start == 0);
  CHECK(s.window_end == 0);
  double v[] = {2.5};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 1) == AGGREGATOR_OK);
  s = tu::get_stats(h);
  CHECK(s.count == 1);
  CHECK(s.sum == 2.5);
  CHECK(s.mean == 2.5);
  CHECK(s.min == 2.5);
  CHECK(s.max == 2.5);
  CHECK(std::isnan(s.variance));
  CHECK(std::isnan(s.stddev));
  CHECK(s.window_start == 0);
  CHECK(s.window_end == 1);
  CHECK(s.watermark == 1);
  double v2[] = {4.5};
  REQUIRE(aggregator_push(h, v2, nullptr, nullptr, 1) == AGGREGATOR_OK);
  s = tu::get_stats(h);
  CHECK(s.variance == 2.0);
  CHECK(s.stddev == std::sqrt(2.0));

  // time windows before any data: bounds 0, watermark INT64_MIN
  aggregator_config c = tu::default_config();
  c.window_kind = AGGREGATOR_WINDOW_SLIDING;
  c.window_size = 60;
  Handle ht = tu::make(c);
  s = tu::get_stats(ht);
  CHECK(s.count == 0);
  CHECK(s.window_start == 0);
  CHECK(s.window_end == 0);
  CHECK(s.watermark == INT64_MIN);
}

TEST_CASE("aggregates: sliding window empties as the watermark advances", "[aggregates]") {
  aggregator_config c = tu::default_config();
  c.window_kind = AGGREGATOR_WINDOW_SLIDING;
  c.window_size = 100;
  c.pane_width = 10;
  Handle h = tu::make(c);
  double v[] = {1, 2, 3};
  int64_t t[] = {-5, 0, 95};
  REQUIRE(aggregator_push(h, v, t, nullptr, 3) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_stats(h);
  // W = 95: panes 0..9 = [0, 100): -5 is out (its pane -1 is older)
  CHECK(s.count == 2);
  CHECK(s.window_start == 0);
  CHECK(s.window_end == 100);
  REQUIRE(aggregator_advance(h, 105) == AGGREGATOR_OK);
  s = tu::get_stats(h);
  CHECK(s.count == 1);
  CHECK(s.sum == 3);
  CHECK(s.window_start == 10);
  CHECK(s.window_end == 110);
  CHECK(s.watermark == 105);
  REQUIRE(aggregator_advance(h, 50) == AGGREGATOR_OK);  // not larger: no effect
  CHECK(tu::get_stats(h).watermark == 105);
  REQUIRE(aggregator_advance(h, 1000000) == AGGREGATOR_OK);
  s = tu::get_stats(h);
  CHECK(s.count == 0);
  CHECK(s.sum == 0);
  CHECK(std::isnan(s.mean));
  CHECK(s.total == 3);
}
