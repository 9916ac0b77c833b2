// Quantile accuracy: the relative-error guarantee |x' - x| <= alpha*|x|
// against the exact rank value x (index floor(q*(n-1)) of the sorted window),
// for uniform, exponential, lognormal, Pareto and mixed-sign data, at
// alpha 0.01 and 0.001, over full windows, after eviction, in sliding time
// windows, closed tumbling windows, and merged over keys.
#include <functional>

#include "test_util.hpp"

using tu::Handle;

namespace {

const std::vector<double> kGrid = [] {
  std::vector<double> q = {0.0, 1e-4, 0.001, 0.005, 0.01, 0.025, 0.05};
  for (int i = 1; i <= 19; ++i) q.push_back(i * 0.05);
  for (double x : {0.975, 0.99, 0.995, 0.999, 0.9999, 1.0, 1.0 / 3, 2.0 / 3, 0.123456789}) q.push_back(x);
  return q;
}();

using Gen = std::function<double(std::mt19937_64&)>;

struct Dist { const char* name; Gen gen; };

std::vector<Dist> dists() {
  return {
      {"uniform", [](std::mt19937_64& r) { return std::uniform_real_distribution<double>(0, 1000)(r); }},
      {"exponential", [](std::mt19937_64& r) { return std::exponential_distribution<double>(1.0)(r); }},
      {"lognormal", [](std::mt19937_64& r) { return std::lognormal_distribution<double>(0, 2)(r); }},
      {"pareto", [](std::mt19937_64& r) {
         double u = std::uniform_real_distribution<double>(0, 1)(r);
         return 1.0 / std::pow(1 - u, 1 / 1.5);  // xm = 1, shape 1.5
       }},
      {"mixed sign with zeros", [](std::mt19937_64& r) {
         int c = (int)(r() % 10);
         if (c == 0) return 0.0;
         if (c == 1) return -0.0;
         if (c < 5) return -std::lognormal_distribution<double>(3, 2)(r);
         if (c < 8) return std::normal_distribution<double>(0, 100)(r);
         return std::lognormal_distribution<double>(0, 3)(r);
       }},
      {"huge and tiny magnitudes", [](std::mt19937_64& r) {
         double e = std::uniform_real_distribution<double>(-300, 300)(r);
         double s = (r() & 1) ? 1 : -1;
         return s * std::pow(10.0, e);
       }},
      {"integers with heavy duplication", [](std::mt19937_64& r) { return (double)(r() % 7) - 3; }},
  };
}

void check_all(const double* got, const std::vector<double>& window, double alpha,
               const std::string& what) {
  std::vector<double> s = window;
  std::sort(s.begin(), s.end());
  int bad = 0;
  for (size_t j = 0; j < kGrid.size(); ++j) {
    std::string e = tu::check_quantile(got[j], kGrid[j], s, alpha);
    if (!e.empty() && bad++ < 5) FAIL_CHECK(what << ": " << e);
  }
  if (bad == 0) SUCCEED();
}

}  // namespace

TEST_CASE("quantiles: relative error over full count windows", "[quantiles]") {
  for (double alpha : {0.01, 0.001}) {
    for (const Dist& d : dists()) {
      DYNAMIC_SECTION(d.name << " alpha=" << alpha) {
        aggregator_config c = tu::default_config();
        c.window_size = 100000;
        c.relative_accuracy = alpha;
        Handle h = tu::make(c);
        std::mt19937_64 rng(42);
        std::vector<double> all;
        for (int b = 0; b < 25; ++b) {
          std::vector<double> v(4000);
          for (double& x : v) x = d.gen(rng);
          all.insert(all.end(), v.begin(), v.end());
          REQUIRE(aggregator_push(h, v.data(), nullptr, nullptr, v.size()) == AGGREGATOR_OK);
          if (b == 0 || b == 24) {
            std::vector<double> got(kGrid.size());
            REQUIRE(aggregator_get_quantiles(h, kGrid.data(), kGrid.size(), got.data()) == AGGREGATOR_OK);
            check_all(got.data(), all, alpha, std::string(d.name) + " n=" + std::to_string(all.size()));
          }
        }
      }
    }
  }
}

TEST_CASE("quantiles: exact after eviction (count window of 10^4 over 10^5 values)", "[quantiles]") {
  for (double alpha : {0.01, 0.001}) {
    for (const Dist& d : dists()) {
      DYNAMIC_SECTION(d.name << " alpha=" << alpha) {
        aggregator_config c = tu::default_config();
        c.window_size = 10000;
        c.relative_accuracy = alpha;
        Handle h = tu::make(c);
        std::mt19937_64 rng(7);
        std::vector<double> all;
        for (int b = 0; b < 100; ++b) {
          // the distribution drifts so stale buckets would show
          size_t n = 1 + (size_t)(rng() % 2000);
          std::vector<double> v(n);
          double scale = 1 + b / 10.0;
          for (double& x : v) x = d.gen(rng) * scale;
          all.insert(all.end(), v.begin(), v.end());
          REQUIRE(aggregator_push(h, v.data(), nullptr, nullptr, v.size()) == AGGREGATOR_OK);
          if (b % 20 == 19) {
            std::vector<double> window(all.end() - std::min<size_t>(all.size(), 10000), all.end());
            std::vector<double> got(kGrid.size());
            REQUIRE(aggregator_get_quantiles(h, kGrid.data(), kGrid.size(), got.data()) == AGGREGATOR_OK);
            check_all(got.data(), window, alpha, std::string(d.name) + " after " + std::to_string(all.size()));
          }
        }
      }
    }
  }
}

TEST_CASE("quantiles: sliding time window evicts panes exactly", "[quantiles]") {
  for (double alpha : {0.01, 0.001}) {
    for (const Dist& d : dists()) {
      DYNAMIC_SECTION(d.name << " alpha=" << alpha) {
        aggregator_config c = tu::default_config();
        c.window_kind = AGGREGATOR_WINDOW_SLIDING;
        c.window_size = 6000;  // panes of 100
        c.relative_accuracy = alpha;
        Handle h = tu::make(c);
        std::mt19937_64 rng(11);
        ref::Config rc;
        rc.kind = ref::SLIDING;
        rc.window_size = 6000;
        ref::Model m(rc);
        int64_t clock = -50000;
        for (int b = 0; b < 60; ++b) {
          std::vector<double> v(1000);
          std::vector<int64_t> t(1000);
          for (size_t i = 0; i < v.size(); ++i) {
            v[i] = d.gen(rng) * (b % 2 ? 1 : 10);
            clock += (int64_t)(rng() % 3);
            t[i] = clock - (int64_t)(rng() % 2);
          }
          REQUIRE(aggregator_push(h, v.data(), t.data(), nullptr, v.size()) == AGGREGATOR_OK);
          m.push(v.data(), t.data(), nullptr, v.size());
          if (b % 10 == 9) {
            std::vector<double> got(kGrid.size());
            REQUIRE(aggregator_get_quantiles(h, kGrid.data(), kGrid.size(), got.data()) == AGGREGATOR_OK);
            check_all(got.data(), m.all_window(), alpha, std::string(d.name) + " batch " + std::to_string(b));
          }
        }
      }
    }
  }
}

TEST_CASE("quantiles: closed tumbling windows and merged keys", "[quantiles]") {
  const double alpha = 0.01;
  for (const Dist& d : dists()) {
    DYNAMIC_SECTION(d.name) {
      aggregator_config c = tu::default_config();
      c.window_kind = AGGREGATOR_WINDOW_TUMBLING;
      c.window_size = 20000;
      Handle h = tu::make(c);
      std::mt19937_64 rng(3);
      std::map<std::pair<uint64_t, int64_t>, std::vector<double>> win;  // (key, start) -> values
      std::vector<double> v(50000);
      std::vector<uint64_t> k(50000);
      for (size_t i = 0; i < v.size(); ++i) {
        v[i] = d.gen(rng);
        k[i] = rng() % 5;
        win[{k[i], (int64_t)(i / 20000) * 20000}].push_back(v[i]);
      }
      REQUIRE(aggregator_push(h, v.data(), nullptr, k.data(), v.size()) == AGGREGATOR_OK);
      // current windows [40000, 60000) of all keys merged
      std::vector<double> merged;
      for (uint64_t key = 0; key < 5; ++key) {
        auto& w = win[{key, 40000}];
        merged.insert(merged.end(), w.begin(), w.end());
      }
      std::vector<double> got(kGrid.size());
      REQUIRE(aggregator_get_quantiles(h, kGrid.data(), kGrid.size(), got.data()) == AGGREGATOR_OK);
      check_all(got.data(), merged, alpha, std::string(d.name) + " merged keys");
      REQUIRE(aggregator_get_key_quantiles(h, 3, kGrid.data(), kGrid.size(), got.data()) == AGGREGATOR_OK);
      check_all(got.data(), win[{3, 40000}], alpha, std::string(d.name) + " key 3");
      // closed windows [0,20000) and [20000,40000) of every key
      std::vector<double> qs;
      std::vector<aggregator_window> w = tu::poll_all(h, 3, kGrid.data(), kGrid.size(), &qs);
      REQUIRE(w.size() == 10);
      for (size_t i = 0; i < w.size(); ++i) {
        auto& vals = win[{w[i].key, w[i].stats.window_start}];
        REQUIRE(w[i].stats.count == vals.size());
        check_all(qs.data() + i * kGrid.size(), vals, alpha,
                  std::string(d.name) + " closed window key " + std::to_string(w[i].key));
      }
    }
  }
}

TEST_CASE("quantiles: empty window gives NaN; q=0/q=1 are exact min/max", "[quantiles]") {
  aggregator_config c = tu::default_config();
  c.window_size = 5;
  Handle h = tu::make(c);
  double q[] = {0, 0.5, 1};
  double out[3];
  REQUIRE(aggregator_get_quantiles(h, q, 3, out) == AGGREGATOR_OK);
  CHECK(std::isnan(out[0]));
  CHECK(std::isnan(out[1]));
  CHECK(std::isnan(out[2]));
  double v[] = {1.2345678901234567, -9.87654321e-300, 3.3e200};
  REQUIRE(aggregator_push(h, v, nullptr, nullptr, 3) == AGGREGATOR_OK);
  REQUIRE(aggregator_get_quantiles(h, q, 3, out) == AGGREGATOR_OK);
  CHECK(out[0] == -9.87654321e-300);
  CHECK(std::fabs(out[1] - 1.2345678901234567) <= 0.01 * 1.2345678901234567);
  CHECK(out[2] == 3.3e200);
  // one value
  Handle h1 = tu::make(c);
  double one[] = {-42.5};
  REQUIRE(aggregator_push(h1, one, nullptr, nullptr, 1) == AGGREGATOR_OK);
  REQUIRE(aggregator_get_quantiles(h1, q, 3, out) == AGGREGATOR_OK);
  CHECK(out[0] == -42.5);
  CHECK(std::fabs(out[1] + 42.5) <= 0.01 * 42.5);
  CHECK(out[2] == -42.5);
}
