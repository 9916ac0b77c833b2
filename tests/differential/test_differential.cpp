// Differential tests: every window kind x quantiles on/off x with/without
// timestamps x in-order / out-of-order within lateness / late values, plus
// timestamps near INT64_MIN / INT64_MAX / around zero, and keyed streams
// (uint64 and byte keys, uniform and Zipf). Each configuration pushes 10^5
// values in random batches (0, 1, ... 64) interleaved with reads, advances,
// key removals and polls, and compares everything with the brute-force
// reference model (tests/reference/reference_model.hpp).
#include "diff_driver.hpp"

using diff::KeyDist;
using diff::Order;
using diff::Params;

namespace {

const char* kind_name(uint32_t k) {
  switch (k) {
    case AGGREGATOR_WINDOW_COUNT: return "count";
    case AGGREGATOR_WINDOW_SLIDING: return "sliding";
    case AGGREGATOR_WINDOW_TUMBLING: return "tumbling";
    default: return "hopping";
  }
}

Params base(uint32_t kind) {
  Params p;
  p.kind = kind;
  p.window_size = kind == AGGREGATOR_WINDOW_COUNT ? 500 : 600;
  if (kind == AGGREGATOR_WINDOW_HOPPING) p.slide = 150;
  return p;
}

// mode: 0 = no timestamps (arrival clock), 1 = in order, 2 = out of order
// within the allowed lateness, 3 = late values.
void apply_mode(Params& p, int mode) {
  p.timestamps = mode != 0;
  switch (mode) {
    case 0: case 1: p.order = Order::InOrder; p.lateness = 0; p.jitter = 0; break;
    case 2: p.order = Order::OutOfOrder; p.lateness = 50; p.jitter = 50; break;
    case 3: p.order = Order::Late; p.lateness = 30; p.jitter = 400; break;
  }
}

void run_matrix(uint32_t kind, int mode) {
  for (int q = 0; q < 2; ++q) {
    Params p = base(kind);
    apply_mode(p, mode);
    p.quantiles = q == 1;
    p.seed = 1000 + 100 * kind + 10 * mode + q;
    p.threading = (p.seed % 2) ? AGGREGATOR_THREADING_SINGLE : AGGREGATOR_THREADING_SHARED;
    if (kind == AGGREGATOR_WINDOW_SLIDING && q == 1) p.pane_width = 25;  // explicit P (24 panes)
    std::string name = std::string(kind_name(kind)) + (q ? "+q" : "") + " mode " + std::to_string(mode);
    p.name = name.c_str();
    DYNAMIC_SECTION(name) { diff::run(p); }
  }
}

}  // namespace

#define MATRIX_CASE(KIND, MODE, LABEL)                                                      \
  TEST_CASE("differential: " LABEL, "[differential]") { run_matrix(KIND, MODE); }

MATRIX_CASE(AGGREGATOR_WINDOW_COUNT, 0, "count, no timestamps")
MATRIX_CASE(AGGREGATOR_WINDOW_COUNT, 1, "count, timestamps in order (ignored)")
MATRIX_CASE(AGGREGATOR_WINDOW_COUNT, 3, "count, timestamps out of order (ignored)")
MATRIX_CASE(AGGREGATOR_WINDOW_SLIDING, 0, "sliding, arrival clock")
MATRIX_CASE(AGGREGATOR_WINDOW_SLIDING, 1, "sliding, in order")
MATRIX_CASE(AGGREGATOR_WINDOW_SLIDING, 2, "sliding, out of order within lateness")
MATRIX_CASE(AGGREGATOR_WINDOW_SLIDING, 3, "sliding, late values")
MATRIX_CASE(AGGREGATOR_WINDOW_TUMBLING, 0, "tumbling, arrival clock")
MATRIX_CASE(AGGREGATOR_WINDOW_TUMBLING, 1, "tumbling, in order")
MATRIX_CASE(AGGREGATOR_WINDOW_TUMBLING, 2, "tumbling, out of order within lateness")
MATRIX_CASE(AGGREGATOR_WINDOW_TUMBLING, 3, "tumbling, late values")
MATRIX_CASE(AGGREGATOR_WINDOW_HOPPING, 0, "hopping, arrival clock")
MATRIX_CASE(AGGREGATOR_WINDOW_HOPPING, 1, "hopping, in order")
MATRIX_CASE(AGGREGATOR_WINDOW_HOPPING, 2, "hopping, out of order within lateness")
MATRIX_CASE(AGGREGATOR_WINDOW_HOPPING, 3, "hopping, late values")

// ---- Timestamps at the ends of the int64 range and around zero ------------

namespace {

void run_extremes(uint32_t kind, int64_t window_size, const char* label) {
  struct Where { const char* name; int64_t t0; };
  const size_t values = 100000;
  const int64_t step = 3;
  const Where where[] = {
      {"near INT64_MIN", ref::kMin + 1000},
      // the clock reaches INT64_MAX - 2 (where it stops) near the end
      {"near INT64_MAX", ref::kMax - (int64_t)(values * step) * 9 / 20 + 17},
      {"negative, crossing zero", -(int64_t)(values * step) / 4 - 11},
  };
  int i = 0;
  for (const Where& w : where) {
    Params p = base(kind);
    p.window_size = window_size;
    if (kind == AGGREGATOR_WINDOW_HOPPING) p.slide = window_size / 4;
    apply_mode(p, (i % 2) ? 3 : 2);
    p.t0 = w.t0;
    p.step_max = step;
    p.quantiles = true;
    p.seed = 7000 + 31 * kind + i + (uint64_t)window_size;
    std::string name = std::string(label) + " " + w.name;
    p.name = name.c_str();
    DYNAMIC_SECTION(name) { diff::run(p); }
    ++i;
  }
}

}  // namespace

TEST_CASE("differential: sliding near the ends of the int64 range", "[differential][extremes]") {
  run_extremes(AGGREGATOR_WINDOW_SLIDING, 600, "sliding D=600");
  run_extremes(AGGREGATOR_WINDOW_SLIDING, 512, "sliding D=512");
}
TEST_CASE("differential: tumbling near the ends of the int64 range", "[differential][extremes]") {
  run_extremes(AGGREGATOR_WINDOW_TUMBLING, 600, "tumbling D=600");
  run_extremes(AGGREGATOR_WINDOW_TUMBLING, 512, "tumbling D=512");
}
TEST_CASE("differential: hopping near the ends of the int64 range", "[differential][extremes]") {
  run_extremes(AGGREGATOR_WINDOW_HOPPING, 600, "hopping D=600");
  run_extremes(AGGREGATOR_WINDOW_HOPPING, 512, "hopping D=512");
}

// ---- Keyed streams -------------------------------------------------------

namespace {

void run_keyed(uint32_t kind) {
  struct K { const char* name; KeyDist dist; size_t nkeys; bool named; int mode; };
  const K ks[] = {
      {"uniform 50 uint64 keys", KeyDist::Uniform, 50, false, 2},
      {"zipf 1000 uint64 keys", KeyDist::Zipf, 1000, false, 3},
      {"uniform 30 byte keys", KeyDist::Uniform, 30, true, 3},
      {"zipf 200 byte keys, no timestamps", KeyDist::Zipf, 200, true, 0},
  };
  int i = 0;
  for (const K& k : ks) {
    Params p = base(kind);
    if (kind == AGGREGATOR_WINDOW_COUNT) p.window_size = 64;
    apply_mode(p, k.mode);
    p.keys = k.dist;
    p.nkeys = k.nkeys;
    p.named = k.named;
    p.removes = true;
    p.quantiles = i != 1;
    p.seed = 9000 + 17 * kind + i;
    p.threading = (i % 2) ? AGGREGATOR_THREADING_SINGLE : AGGREGATOR_THREADING_SHARED;
    std::string name = std::string(kind_name(kind)) + " " + k.name;
    p.name = name.c_str();
    DYNAMIC_SECTION(name) { diff::run(p); }
    ++i;
  }
}

}  // namespace

TEST_CASE("differential: keyed count windows", "[differential][keyed]") { run_keyed(AGGREGATOR_WINDOW_COUNT); }
TEST_CASE("differential: keyed sliding windows", "[differential][keyed]") { run_keyed(AGGREGATOR_WINDOW_SLIDING); }
TEST_CASE("differential: keyed tumbling windows", "[differential][keyed]") { run_keyed(AGGREGATOR_WINDOW_TUMBLING); }
TEST_CASE("differential: keyed hopping windows", "[differential][keyed]") { run_keyed(AGGREGATOR_WINDOW_HOPPING); }

// ---- Explicit edge cases at the ends of the int64 range -------------------

namespace {

tu::Handle time_handle(uint32_t kind, int64_t d, int64_t s, int64_t p, int64_t l) {
  aggregator_config c = tu::default_config();
  c.window_kind = kind;
  c.window_size = d;
  c.slide = s;
  c.pane_width = p;
  c.allowed_lateness = l;
  return tu::make(c);
}

void push_at(aggregator* a, double v, int64_t t) {
  INFO("push t=" << t);
  REQUIRE(aggregator_push(a, &v, &t, nullptr, 1) == AGGREGATOR_OK);
}

std::vector<std::tuple<int64_t, int64_t, uint64_t, double>> polled(aggregator* a) {
  std::vector<std::tuple<int64_t, int64_t, uint64_t, double>> out;
  for (auto& w : tu::poll_all(a, 4, nullptr, 0, nullptr))
    out.emplace_back(w.stats.window_start, w.stats.window_end, w.stats.count, w.stats.sum);
  std::sort(out.begin(), out.end());
  return out;
}

using W = std::tuple<int64_t, int64_t, uint64_t, double>;
const int64_t MIN = ref::kMin, MAX = ref::kMax;

}  // namespace

TEST_CASE("edges: tumbling windows at INT64_MIN and INT64_MAX", "[differential][extremes]") {
  tu::Handle h = time_handle(AGGREGATOR_WINDOW_TUMBLING, 8, 0, 0, 0);
  push_at(h, 1, MIN);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.count == 1);
  CHECK(s.window_start == MIN);
  CHECK(s.window_end == MIN + 8);
  CHECK(s.watermark == MIN);
  CHECK(polled(h).empty());
  // The window holding INT64_MAX ends past INT64_MAX: its end clamps to
  // INT64_MAX, so W = INT64_MAX closes it at once (as it closes [MIN, MIN+8)).
  push_at(h, 2, MAX);
  CHECK(polled(h) == std::vector<W>{W{MIN, MIN + 8, 1, 1.0}, W{MAX - 7, MAX, 1, 2.0}});
}

TEST_CASE("edges: hopping windows at INT64_MIN and INT64_MAX", "[differential][extremes]") {
  tu::Handle h = time_handle(AGGREGATOR_WINDOW_HOPPING, 16, 8, 0, 0);
  push_at(h, 1, MIN);  // windows [MIN-8, MIN+8) -> clamped [MIN, MIN+8), and [MIN, MIN+16)
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.count == 1);
  CHECK(s.window_start == MIN);  // e = MIN + 8, e - D clamps
  CHECK(s.window_end == MIN + 8);
  REQUIRE(aggregator_advance(h, 0) == AGGREGATOR_OK);
  CHECK(polled(h) == std::vector<W>{W{MIN, MIN + 8, 1, 1.0}, W{MIN, MIN + 16, 1, 1.0}});
  push_at(h, 2, MAX);  // windows starting MAX-15 and MAX-7, both end past MAX
  CHECK(polled(h) == std::vector<W>{W{MAX - 15, MAX, 1, 2.0}, W{MAX - 7, MAX, 1, 2.0}});
}

TEST_CASE("edges: sliding windows at INT64_MIN and INT64_MAX", "[differential][extremes]") {
  tu::Handle h = time_handle(AGGREGATOR_WINDOW_SLIDING, 100, 0, 10, 0);
  push_at(h, 1, MIN);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.count == 1);
  CHECK(s.window_start == MIN);      // 10 panes back from pane floor(MIN/10): clamped
  CHECK(s.window_end == MIN + 8);    // pane floor(MIN/10) ends at MIN + 8
  push_at(h, 2, MAX);
  s = tu::get_stats(h);
  CHECK(s.count == 1);
  CHECK(s.sum == 2);
  CHECK(s.window_end == MAX);        // (floor(MAX/10) + 1) * 10 clamps
  CHECK(s.window_start == MAX - 7 - 90);
  CHECK(s.watermark == MAX);
}

TEST_CASE("edges: lateness saturates", "[differential][extremes]") {
  tu::Handle h = time_handle(AGGREGATOR_WINDOW_TUMBLING, 8, 0, 0, MAX);
  push_at(h, 1, 0);
  push_at(h, 2, MIN + 1);  // W - L = 0 - MAX = MIN + 1: not late
  push_at(h, 3, MIN);      // MIN < MIN + 1: late
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.late == 1);
  CHECK(s.total == 2);
  CHECK(polled(h).empty());
  // [MIN, MIN+8) closes at MIN + 8 + MAX = 7; [0, 8) at 8 + MAX, saturated: MAX.
  REQUIRE(aggregator_advance(h, 7) == AGGREGATOR_OK);
  CHECK(polled(h) == std::vector<W>{W{MIN, MIN + 8, 1, 2.0}});
  REQUIRE(aggregator_advance(h, MAX - 1) == AGGREGATOR_OK);
  CHECK(polled(h).empty());
  REQUIRE(aggregator_advance(h, MAX) == AGGREGATOR_OK);
  CHECK(polled(h) == std::vector<W>{W{0, 8, 1, 1.0}});
}

TEST_CASE("edges: aggregator_advance before any data sets the watermark", "[differential]") {
  tu::Handle h = time_handle(AGGREGATOR_WINDOW_TUMBLING, 10, 0, 0, 0);
  aggregator_stats s = tu::get_stats(h);
  CHECK(s.watermark == MIN);
  REQUIRE(aggregator_advance(h, 100) == AGGREGATOR_OK);
  CHECK(tu::get_stats(h).watermark == 100);
  push_at(h, 1, 50);   // 50 < 100 - 0: late
  push_at(h, 2, 105);
  s = tu::get_stats(h);
  CHECK(s.late == 1);
  CHECK(s.count == 1);
  CHECK(s.window_start == 100);
  CHECK(s.window_end == 110);
}

// Issue 14 item 4: a pane holding few values keeps them raw, so a window
// whose panes are all raw answers exact order statistics (the documented
// rank floor(q*(n-1)) value), bit for bit, for key reads and for polled
// closed windows. At most 8 values per series and pane keep every pane raw
// (a raw block of 8 is never bigger than buckets); the values are spread
// over many magnitudes, both signs and zero, so windows merged from panes
// stay raw as well.
namespace {
double SpreadValue(std::mt19937_64& rng) {
  switch (rng() % 5) {
    case 0: return 0.0;
    case 1: return -std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000, static_cast<int>(rng() % 60) - 30);
    default: return std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000, static_cast<int>(rng() % 120) - 60);
  }
}

double ExactRank(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[ref::rank_index(q, v.size())];
}

void run_exact(uint32_t kind) {
  std::mt19937_64 rng(1400 + kind);
  const int64_t pane = 10, width = 600;
  for (int round = 0; round < 20; ++round) {
    aggregator_config c = tu::window_config(kind, width, kind == AGGREGATOR_WINDOW_HOPPING ? 100 : 0);
    if (kind == AGGREGATOR_WINDOW_SLIDING) c.pane_width = pane;
    tu::Handle h = tu::make(c);
    const uint64_t keys = 1 + rng() % 16;
    std::map<uint64_t, std::vector<std::pair<int64_t, double>>> events;
    std::vector<double> v;
    std::vector<int64_t> t;
    std::vector<uint64_t> k;
    int64_t now = 0;
    const int64_t end = 600 + static_cast<int64_t>(rng() % 1200);
    // Per key and pane at most 8 values (panes: sliding 10 wide, hopping
    // 100, tumbling the whole window); a closed window merged from raw
    // panes stays raw.
    std::map<std::pair<uint64_t, int64_t>, int> per_pane;
    const int64_t slot = kind == AGGREGATOR_WINDOW_HOPPING ? 100 : kind == AGGREGATOR_WINDOW_TUMBLING ? 600 : pane;
    while (now < end) {
      uint64_t key = rng() % keys;
      int& used = per_pane[{key, now / slot}];
      if (used < 8) {
        ++used;
        double x = SpreadValue(rng);
        v.push_back(x);
        t.push_back(now);
        k.push_back(key);
        events[key].push_back({now, x});
      }
      now += static_cast<int64_t>(rng() % 3);
    }
    REQUIRE(aggregator_push(h, v.data(), t.data(), k.data(), v.size()) == AGGREGATOR_OK);
    const int64_t wm = t.back();
    const double qs[] = {0, 0.01, 0.1, 0.33, 0.5, 0.66, 0.9, 0.99, 1};
    constexpr size_t nq = sizeof qs / sizeof qs[0];
    if (kind == AGGREGATOR_WINDOW_SLIDING) {
      const int64_t first_pane = wm / pane - width / pane + 1;
      for (auto& [key, ev] : events) {
        std::vector<double> in;
        for (auto& [ts, x] : ev) {
          if (ts / pane >= first_pane) in.push_back(x);
        }
        double out[nq];
        REQUIRE(aggregator_get_key_quantiles(h, key, qs, nq, out) == AGGREGATOR_OK);
        for (size_t j = 0; j < nq; ++j) {
          INFO("round " << round << " key " << key << " q " << qs[j] << " n " << in.size());
          if (in.empty()) {
            CHECK(std::isnan(out[j]));
          } else {
            CHECK(out[j] == ExactRank(in, qs[j]));
          }
        }
      }
      continue;
    }
    REQUIRE(aggregator_advance(h, INT64_MAX) == AGGREGATOR_OK);
    std::vector<aggregator_window> w(4096);
    std::vector<double> wq(w.size() * nq);
    size_t got = 0, checked = 0;
    do {
      REQUIRE(aggregator_poll_windows(h, w.data(), w.size(), qs, nq, wq.data(), &got) ==
              AGGREGATOR_OK);
      for (size_t i = 0; i < got; ++i) {
        std::vector<double> in;
        for (auto& [ts, x] : events[w[i].key]) {
          if (ts >= w[i].stats.window_start && ts < w[i].stats.window_end) in.push_back(x);
        }
        REQUIRE(in.size() == w[i].stats.count);
        for (size_t j = 0; j < nq; ++j) {
          INFO("round " << round << " key " << w[i].key << " window " << w[i].stats.window_start
                        << " q " << qs[j]);
          CHECK(wq[i * nq + j] == ExactRank(in, qs[j]));
        }
        ++checked;
      }
    } while (got > 0);
    CHECK(checked > 0);
  }
}
}  // namespace

TEST_CASE("differential: raw panes give exact quantiles (sliding)", "[differential][exact]") {
  run_exact(AGGREGATOR_WINDOW_SLIDING);
}
TEST_CASE("differential: raw panes give exact quantiles (tumbling)", "[differential][exact]") {
  run_exact(AGGREGATOR_WINDOW_TUMBLING);
}
TEST_CASE("differential: raw panes give exact quantiles (hopping)", "[differential][exact]") {
  run_exact(AGGREGATOR_WINDOW_HOPPING);
}
