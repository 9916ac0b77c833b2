// aggregator_rolling (per-row rolling aggregates, pandas groupby().rolling()
// semantics) against a brute-force reference: every row's window recomputed
// from scratch, on random keys, times (ties, gaps, huge spans), NaN and Inf;
// plus bad input: the right status, a message, and no output written.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "rolling_reference.hpp"
#include "test_util.hpp"

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Case = ref_rolling::Rows;

struct Want {
  uint32_t aggregate;
  double q;
};

const std::vector<Want> kAll = {
    {AGGREGATOR_ROLLING_COUNT, 0},    {AGGREGATOR_ROLLING_SUM, 0},
    {AGGREGATOR_ROLLING_MEAN, 0},     {AGGREGATOR_ROLLING_MIN, 0},
    {AGGREGATOR_ROLLING_MAX, 0},      {AGGREGATOR_ROLLING_VAR, 0},
    {AGGREGATOR_ROLLING_STD, 0},      {AGGREGATOR_ROLLING_QUANTILE, 0},
    {AGGREGATOR_ROLLING_QUANTILE, 0.5}, {AGGREGATOR_ROLLING_QUANTILE, 0.99},
    {AGGREGATOR_ROLLING_QUANTILE, 1},  {AGGREGATOR_ROLLING_QUANTILE, 0.3},
};

double Reference(const Case& c, size_t i, bool time, int64_t w, int64_t minp, Want want) {
  return ref_rolling::Value(c, i, time, w, minp, want.aggregate, want.q);
}

// Runs aggregator_rolling for every aggregate in `wants`.
int Run(const Case& c, uint32_t kind, int64_t w, int64_t minp, const std::vector<Want>& wants,
        std::vector<std::vector<double>>* out) {
  aggregator_rolling_options opt;
  aggregator_rolling_options_init(&opt);
  opt.window_kind = kind;
  opt.window = w;
  opt.min_periods = minp;
  out->assign(wants.size(), std::vector<double>(c.v.size(), -12345.0));
  std::vector<aggregator_rolling_output> outs(wants.size());
  for (size_t j = 0; j < wants.size(); ++j) {
    outs[j] = {wants[j].aggregate, 0, wants[j].q, (*out)[j].data()};
  }
  return aggregator_rolling(&opt, c.v.data(), c.t.empty() ? nullptr : c.t.data(),
                            c.k.empty() ? nullptr : c.k.data(), c.v.size(), outs.data(),
                            outs.size());
}

void Check(const Case& c, bool time, int64_t w, int64_t minp) {
  std::vector<std::vector<double>> got;
  REQUIRE(Run(c, time ? AGGREGATOR_WINDOW_SLIDING : AGGREGATOR_WINDOW_COUNT, w, minp, kAll,
              &got) == AGGREGATOR_OK);
  for (size_t j = 0; j < kAll.size(); ++j) {
    for (size_t i = 0; i < c.v.size(); ++i) {
      double want = Reference(c, i, time, w, minp, kAll[j]);
      double g = got[j][i];
      INFO("aggregate " << kAll[j].aggregate << " q " << kAll[j].q << " row " << i << " window "
                        << w << (time ? " time" : " rows") << " min_periods " << minp);
      if (std::isnan(want)) {
        REQUIRE(std::isnan(g));
      } else {
        REQUIRE(g == Approx(want).epsilon(1e-9).margin(1e-9));
      }
    }
  }
}

Case RandomCase(std::mt19937_64& rng, size_t n, size_t keys, bool sorted_times) {
  Case c;
  std::uniform_real_distribution<double> u(-100, 100);
  std::uniform_int_distribution<int> pick(0, 99);
  std::vector<int64_t> clock(keys, -1000);
  for (size_t i = 0; i < n; ++i) {
    int r = pick(rng);
    double x = r < 6 ? kNaN : r < 8 ? (r == 6 ? kInf : -kInf) : r < 14 ? 7.0 : std::round(u(rng) * 8) / 8;
    c.v.push_back(x);
    uint64_t key = keys > 1 ? tu::mix64(rng() % keys) : 0;
    c.k.push_back(key);
    if (sorted_times) {
      size_t slot = 0;
      for (size_t s = 0; s < keys; ++s) {
        if (keys == 1 || tu::mix64(s) == key) slot = s;
      }
      clock[slot] += static_cast<int64_t>(rng() % 4 == 0 ? 0 : rng() % 25);  // ties and gaps
      c.t.push_back(clock[slot]);
    }
  }
  return c;
}

}  // namespace

TEST_CASE("rolling: row windows vs brute force", "[rolling]") {
  std::mt19937_64 rng(11);
  for (size_t keys : {1, 3, 17}) {
    Case c = RandomCase(rng, 400, keys, false);
    for (int64_t w : {1, 2, 5, 64, 1000}) {
      for (int64_t minp : {-1, 0, 1, 3}) {
        if (minp > w) continue;
        Check(c, false, w, minp);
      }
    }
  }
}

TEST_CASE("rolling: time windows vs brute force", "[rolling]") {
  std::mt19937_64 rng(12);
  for (size_t keys : {1, 4, 13}) {
    Case c = RandomCase(rng, 400, keys, true);
    for (int64_t w : {1, 10, 60, 100000}) {
      for (int64_t minp : {-1, 0, 2, 5}) Check(c, true, w, minp);
    }
  }
}

TEST_CASE("rolling: rows already grouped by key (no gather) vs brute force", "[rolling]") {
  std::mt19937_64 rng(13);
  for (bool time : {false, true}) {
    Case c = RandomCase(rng, 300, 9, true);
    std::vector<size_t> idx(c.v.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return c.k[a] < c.k[b]; });
    Case g;
    for (size_t i : idx) {
      g.v.push_back(c.v[i]);
      g.t.push_back(c.t[i]);
      g.k.push_back(c.k[i]);
    }
    for (int64_t w : {1, 7, 50}) Check(g, time, w, -1);
  }
}

TEST_CASE("rolling: no keys, extreme times, window larger than the span", "[rolling]") {
  Case c;
  c.v = {1, 2, 3, 4, 5};
  c.t = {INT64_MIN, INT64_MIN + 1, 0, INT64_MAX - 1, INT64_MAX};
  std::vector<std::vector<double>> got;
  REQUIRE(Run(c, AGGREGATOR_WINDOW_SLIDING, INT64_MAX, -1, {{AGGREGATOR_ROLLING_SUM, 0}}, &got) ==
          AGGREGATOR_OK);
  // (t - INT64_MAX, t]: row 2 (t = 0) starts after INT64_MIN + 1, so holds only itself.
  CHECK(got[0] == std::vector<double>{1, 3, 3, 7, 9});
  REQUIRE(Run(c, AGGREGATOR_WINDOW_SLIDING, 2, -1, {{AGGREGATOR_ROLLING_COUNT, 0}}, &got) ==
          AGGREGATOR_OK);
  CHECK(got[0] == std::vector<double>{1, 2, 1, 1, 2});
}

TEST_CASE("rolling: large offset keeps precision (no subtraction drift)", "[rolling]") {
  Case c;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> d(0, 0.1);
  for (int i = 0; i < 20000; ++i) c.v.push_back(1e9 + d(rng));
  std::vector<std::vector<double>> got;
  REQUIRE(Run(c, AGGREGATOR_WINDOW_COUNT, 100, -1, {{AGGREGATOR_ROLLING_VAR, 0}}, &got) ==
          AGGREGATOR_OK);
  for (size_t i = 19000; i < 20000; i += 97) {
    CHECK(got[0][i] == Approx(Reference(c, i, false, 100, -1, {AGGREGATOR_ROLLING_VAR, 0})).epsilon(1e-6));
  }
}

TEST_CASE("rolling: bad input is refused and nothing is written", "[rolling]") {
  Case c;
  c.v = {1, 2, 3, 4};
  c.t = {0, 5, 3, 9};
  c.k = {1, 1, 2, 1};  // key 1's times: 0, 5, 9 (sorted); key 2: 3
  std::vector<std::vector<double>> got;
  REQUIRE(Run(c, AGGREGATOR_WINDOW_SLIDING, 4, -1, {{AGGREGATOR_ROLLING_SUM, 0}}, &got) ==
          AGGREGATOR_OK);
  CHECK(got[0] == std::vector<double>{1, 2, 3, 4});

  auto refused = [&](const Case& cc, uint32_t kind, int64_t w, int64_t minp,
                     std::vector<Want> wants, const char* needle) {
    std::vector<std::vector<double>> o;
    INFO(needle);
    REQUIRE(Run(cc, kind, w, minp, wants, &o) == AGGREGATOR_EINVAL);
    CHECK(aggregator_last_status() == AGGREGATOR_EINVAL);
    CHECK(std::string(aggregator_last_error()).find(needle) != std::string::npos);
    for (auto& col : o)
      for (double x : col) REQUIRE(x == -12345.0);
  };
  Case unsorted = c;
  unsorted.t = {0, 5, 3, 4};  // key 1: 0, 5, 4
  refused(unsorted, AGGREGATOR_WINDOW_SLIDING, 4, -1, {{AGGREGATOR_ROLLING_SUM, 0}},
          "timestamps[3] = 4 is before timestamps[1] = 5");
  Case no_times = c;
  no_times.t.clear();
  refused(no_times, AGGREGATOR_WINDOW_SLIDING, 4, -1, {{AGGREGATOR_ROLLING_SUM, 0}},
          "needs timestamps");
  refused(c, AGGREGATOR_WINDOW_COUNT, 0, -1, {{AGGREGATOR_ROLLING_SUM, 0}}, "window is 0");
  refused(c, AGGREGATOR_WINDOW_COUNT, -5, -1, {{AGGREGATOR_ROLLING_SUM, 0}}, "window is -5");
  refused(c, AGGREGATOR_WINDOW_COUNT, 3, 4, {{AGGREGATOR_ROLLING_SUM, 0}}, "min_periods 4");
  refused(c, AGGREGATOR_WINDOW_COUNT, 3, -2, {{AGGREGATOR_ROLLING_SUM, 0}}, "min_periods is -2");
  refused(c, AGGREGATOR_WINDOW_TUMBLING, 3, -1, {{AGGREGATOR_ROLLING_SUM, 0}}, "window_kind 2");
  refused(c, AGGREGATOR_WINDOW_COUNT, 3, -1, {{AGGREGATOR_ROLLING_SUM, 0}, {8, 0}},
          "outputs[1].aggregate is 8");
  refused(c, AGGREGATOR_WINDOW_COUNT, 3, -1, {{AGGREGATOR_ROLLING_QUANTILE, 1.5}},
          "outputs[0].q is 1.5");
  refused(c, AGGREGATOR_WINDOW_COUNT, 3, -1, {{AGGREGATOR_ROLLING_QUANTILE, kNaN}},
          "outputs[0].q is nan");

  aggregator_rolling_options opt;
  aggregator_rolling_options_init(&opt);
  opt.window = 2;
  double out[4] = {-1, -1, -1, -1};
  aggregator_rolling_output o = {AGGREGATOR_ROLLING_SUM, 0, 0, out};
  CHECK(aggregator_rolling(nullptr, c.v.data(), nullptr, nullptr, 4, &o, 1) == AGGREGATOR_EINVAL);
  CHECK(aggregator_rolling(&opt, nullptr, nullptr, nullptr, 4, &o, 1) == AGGREGATOR_EINVAL);
  CHECK(aggregator_rolling(&opt, c.v.data(), nullptr, nullptr, 4, nullptr, 1) == AGGREGATOR_EINVAL);
  o.reserved = 1;
  CHECK(aggregator_rolling(&opt, c.v.data(), nullptr, nullptr, 4, &o, 1) == AGGREGATOR_EINVAL);
  CHECK(std::string(aggregator_last_error()).find("reserved") != std::string::npos);
  o.reserved = 0;
  o.out = const_cast<double*>(c.v.data()) + 1;  // overlaps the values
  CHECK(aggregator_rolling(&opt, c.v.data(), nullptr, nullptr, 4, &o, 1) == AGGREGATOR_EINVAL);
  CHECK(std::string(aggregator_last_error()).find("overlaps") != std::string::npos);
  o.out = out;
  aggregator_rolling_output two[2] = {o, o};
  CHECK(aggregator_rolling(&opt, c.v.data(), nullptr, nullptr, 4, two, 2) == AGGREGATOR_EINVAL);
  for (double x : out) CHECK(x == -1);
  // struct_size: too small refused; larger with a zero tail accepted, set tail refused
  opt.struct_size = 4;
  CHECK(aggregator_rolling(&opt, c.v.data(), nullptr, nullptr, 4, &o, 1) == AGGREGATOR_EINVAL);
  struct Bigger {
    aggregator_rolling_options o;
    uint64_t extra;
  } big{};
  aggregator_rolling_options_init(&big.o);
  big.o.struct_size = sizeof big;
  big.o.window = 2;
  CHECK(aggregator_rolling(&big.o, c.v.data(), nullptr, nullptr, 4, &o, 1) == AGGREGATOR_OK);
  CHECK(out[3] == 7);
  big.extra = 1;
  CHECK(aggregator_rolling(&big.o, c.v.data(), nullptr, nullptr, 4, &o, 1) == AGGREGATOR_EINVAL);
  // struct_size still 4: refused even for no rows; a valid call with no rows is fine.
  CHECK(aggregator_rolling(&opt, nullptr, nullptr, nullptr, 0, nullptr, 0) == AGGREGATOR_EINVAL);
  aggregator_rolling_options_init(&opt);
  opt.window = 1;
  CHECK(aggregator_rolling(&opt, nullptr, nullptr, nullptr, 0, nullptr, 0) == AGGREGATOR_OK);
}
