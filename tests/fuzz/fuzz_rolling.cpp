// Fuzz target for aggregator_rolling: random window kinds and sizes (INT64
// extremes included), min_periods, keys, values (NaN, +-Inf, -0.0,
// subnormals, repeats), timestamps (ties, gaps, INT64 extremes, and rows out
// of time order within a key) and output requests (bad aggregates and q
// included). Each call is checked against the brute-force reference
// (tests/reference/rolling_reference.hpp): the status it must give, every
// output on success, and that nothing was written on a refusal.
#include <windowagg/windowagg.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "fuzz_common.hpp"
#include "rolling_reference.hpp"

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr double kSentinel = -1234.5;

double Value(fz::Input& in) {
  switch (in.U8() % 16) {
    case 0: return std::numeric_limits<double>::quiet_NaN();
    case 1: return std::numeric_limits<double>::infinity();
    case 2: return -std::numeric_limits<double>::infinity();
    case 3: return -0.0;
    case 4: return 4.9406564584124654e-324 * (1 + in.U8());  // subnormal
    case 5: return 7.0;                                       // repeats: tied ranks
    default: return static_cast<double>(static_cast<int16_t>(in.U16())) / 8.0;
  }
}

int64_t Window(fz::Input& in) {
  switch (in.U8() % 8) {
    case 0: return kMax;
    case 1: return 0;                    // refused
    case 2: return -static_cast<int64_t>(in.U8());  // refused (or 0)
    case 3: return 1;
    default: return 1 + in.U8() % 64;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fz::Input in(data, size);
  const bool time = in.Bool();
  const int64_t window = Window(in);
  int64_t minp = -1;
  switch (in.U8() % 4) {
    case 0: minp = in.U8() % 8; break;
    case 1: minp = -1 - in.U8() % 2; break;  // -1 default, -2 refused
    default: break;
  }
  const size_t n = in.U8() % 96;
  const size_t n_keys = in.U8() % 5;  // 0: no keys
  ref_rolling::Rows rows;
  std::vector<int64_t> clock(n_keys == 0 ? 1 : n_keys, 0);
  const bool extremes = in.Bool();
  for (size_t k = 0; k < clock.size(); ++k) clock[k] = extremes ? kMin + in.U8() : in.U16();
  for (size_t i = 0; i < n; ++i) {
    size_t key = n_keys == 0 ? 0 : in.U8() % n_keys;
    rows.v.push_back(Value(in));
    if (n_keys != 0) rows.k.push_back(0x9E3779B97F4A7C15ull * (key + 1));
    uint8_t step = in.U8();
    if (step == 255 && clock[key] > kMin + 512) {
      clock[key] -= 1 + in.U8();  // out of time order (refused for time windows)
    } else if (step == 254) {
      clock[key] = kMax - in.U8();
    } else if (clock[key] <= kMax - 64) {
      clock[key] += step % 16 == 0 ? 0 : step % 32;  // ties and gaps
    }
    rows.t.push_back(clock[key]);
  }
  const bool pass_times = time ? in.U8() % 16 != 0 : in.Bool();  // sometimes none

  struct Req {
    uint32_t aggregate;
    double q;
  };
  std::vector<Req> reqs;
  const size_t n_out = in.U8() % 5;
  bool bad_request = false;
  for (size_t j = 0; j < n_out; ++j) {
    uint8_t a = in.U8();
    Req r{static_cast<uint32_t>(a % 9), 0};  // 8: not an aggregate
    if (r.aggregate == AGGREGATOR_ROLLING_QUANTILE) {
      switch (in.U8() % 8) {
        case 0: r.q = 0; break;
        case 1: r.q = 1; break;
        case 2: r.q = 1.5; break;
        case 3: r.q = std::numeric_limits<double>::quiet_NaN(); break;
        default: r.q = in.U8() / 255.0; break;
      }
      if (!(r.q >= 0 && r.q <= 1)) bad_request = true;
    }
    if (r.aggregate > AGGREGATOR_ROLLING_QUANTILE) bad_request = true;
    reqs.push_back(r);
  }

  // What the library must answer.
  bool refused = window <= 0 || minp < -1 || (!time && minp > window) || bad_request;
  if (!refused && time && n > 0 && !pass_times) refused = true;
  if (!refused && time && n > 0 && !ref_rolling::KeysInTimeOrder(rows)) refused = true;

  aggregator_rolling_options opt;
  aggregator_rolling_options_init(&opt);
  opt.window_kind = time ? AGGREGATOR_WINDOW_SLIDING : AGGREGATOR_WINDOW_COUNT;
  opt.window = window;
  opt.min_periods = minp;
  std::vector<std::vector<double>> out(reqs.size(), std::vector<double>(n, kSentinel));
  std::vector<aggregator_rolling_output> outs(reqs.size());
  for (size_t j = 0; j < reqs.size(); ++j) {
    outs[j] = {reqs[j].aggregate, 0, reqs[j].q, out[j].data()};
  }
  if (std::getenv("FZ_DEBUG"))
    std::fprintf(stderr, "%s window %lld min_periods %lld rows %zu keys %zu outputs %zu: expect %s\n",
                 time ? "time" : "rows", (long long)window, (long long)minp, n, n_keys,
                 reqs.size(), refused ? "EINVAL" : "OK");
  int rc = aggregator_rolling(&opt, rows.v.data(), pass_times ? rows.t.data() : nullptr,
                              rows.k.empty() ? nullptr : rows.k.data(), n, outs.data(),
                              outs.size());
  if (refused) {
    FZ_CHECK(rc == AGGREGATOR_EINVAL, "expected EINVAL, got %d", rc);
    for (const auto& col : out)
      for (double x : col) FZ_CHECK(x == kSentinel, "a refused call wrote an output");
    return 0;
  }
  FZ_CHECK(rc == AGGREGATOR_OK, "expected OK, got %d (%s)", rc, aggregator_last_error());
  double scale = 1;
  for (double x : rows.v)
    if (std::isfinite(x)) scale = std::fmax(scale, std::fabs(x));
  for (size_t j = 0; j < reqs.size(); ++j) {
    for (size_t i = 0; i < n; ++i) {
      double want = ref_rolling::Value(rows, i, time, window, minp, reqs[j].aggregate, reqs[j].q);
      double got = out[j][i];
      bool ok;
      if (std::isnan(want)) {
        ok = std::isnan(got);
      } else if (reqs[j].aggregate == AGGREGATOR_ROLLING_VAR) {
        ok = std::fabs(got - want) <= 1e-9 * scale * scale * 100;
      } else {
        ok = std::fabs(got - want) <= 1e-12 * scale * 100;
      }
      FZ_CHECK(ok, "row %zu aggregate %u q %g: got %.17g, want %.17g", i, reqs[j].aggregate,
               reqs[j].q, got, want);
    }
  }
  return 0;
}
