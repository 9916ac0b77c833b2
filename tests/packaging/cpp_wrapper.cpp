// windowagg.hpp against the real library: every wrapper call once, with
// results the C header's contract fixes. Compiled with -Werror so the header
// stays warning-free for C++ hosts.
#include <windowagg/windowagg.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

int failures = 0;

#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

template <class F>
int status_of(F&& f) {
  try {
    f();
  } catch (const windowagg::Error& e) {
    return e.status();
  }
  return AGGREGATOR_OK;
}

void count_window() {
  windowagg::Aggregator agg(windowagg::Config::count(4));
  EXPECT(agg);
  const std::array<double, 5> v{1, 2, 3, 4, 5};
  agg.push(v);
  auto s = agg.stats();
  EXPECT(s.count == 4 && s.sum == 14 && s.mean == 3.5 && s.min == 2 && s.max == 5);
  EXPECT(agg.stats(windowagg::kDefaultKey).count == 4);
  EXPECT(agg.quantile(0.0) == 2 && agg.quantile(1.0) == 5);
  auto q = agg.quantiles(std::array{0.0, 0.5, 1.0});
  EXPECT(q.size() == 3 && q[0] == 2 && q[2] == 5 && std::fabs(q[1] - 3) <= 0.0101 * 3);
  EXPECT(agg.memory_usage() > 0);
  EXPECT(agg.config().raw().window_size == 4);

  // A rejected batch changes nothing and reports the library's status.
  const std::array<double, 2> bad{1, NAN};
  EXPECT(status_of([&] { agg.push(bad); }) == AGGREGATOR_EVALUE);
  EXPECT(agg.stats().sum == 14);
  // Mismatched parallel arrays are caught by the wrapper.
  const std::array<int64_t, 1> ts{1};
  EXPECT(status_of([&] { agg.push(v, ts); }) == AGGREGATOR_EINVAL);
  // Unknown key.
  EXPECT(status_of([&] { (void)agg.stats(uint64_t{12345}); }) == AGGREGATOR_ENOTFOUND);

  // Move-only ownership.
  windowagg::Aggregator moved = std::move(agg);
  EXPECT(!agg && moved && moved.stats().count == 4);  // NOLINT(bugprone-use-after-move)

  // The compatibility constructor: quantiles off, a bad capacity is the
  // library's ECONFIG (the same status as Go's NewCount and Python's
  // Aggregator.new_count).
  auto legacy = windowagg::Aggregator::new_count(2);
  legacy.push(v);
  EXPECT(legacy.stats().mean == 4.5);
  EXPECT(legacy.config().raw().quantiles == 0);
  EXPECT(status_of([&] { (void)legacy.quantile(0.5); }) == AGGREGATOR_EUNSUPPORTED);
  EXPECT(status_of([] { (void)windowagg::Aggregator::new_count(0); }) == AGGREGATOR_ECONFIG);
  EXPECT(status_of([] { (void)windowagg::Aggregator::new_count((1LL << 32) + 1); }) ==
         AGGREGATOR_ECONFIG);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  EXPECT(status_of([] { (void)windowagg::Aggregator::count_window(0); }) == AGGREGATOR_ECONFIG);
#pragma GCC diagnostic pop

  // The extensible read gives the same numbers as the fixed one.
  auto ex = moved.stats_ex();
  auto fixed = moved.stats();
  EXPECT(ex.struct_size == sizeof(aggregator_stats_ex));
  EXPECT(ex.stats.count == fixed.count && ex.stats.sum == fixed.sum &&
         ex.stats.watermark == fixed.watermark);
  EXPECT(moved.stats_ex(windowagg::kDefaultKey).stats.count == 4);
  EXPECT(status_of([&] { (void)moved.stats_ex(uint64_t{12345}); }) == AGGREGATOR_ENOTFOUND);
}

void tumbling() {
  windowagg::Aggregator agg(windowagg::Config::tumbling(10));
  std::vector<double> v;
  std::vector<int64_t> ts;
  for (int64_t t = 0; t < 30; ++t) {
    v.push_back(static_cast<double>(t));
    ts.push_back(t);
  }
  agg.push(v, ts);
  auto w = agg.poll_windows(std::array{0.0, 1.0});
  EXPECT(w.size() == 2);
  if (w.size() == 2) {
    EXPECT(w[0].stats.window_start == 0 && w[0].stats.window_end == 10);
    EXPECT(w[0].stats.count == 10 && w[0].quantiles.size() == 2);
    EXPECT(w[0].quantiles[0] == 0 && w[0].quantiles[1] == 9);
    EXPECT(w[1].stats.window_start == 10 && w[1].stats.sum == 145);
  }
  EXPECT(agg.pending_windows().pending == 0);
  agg.advance(1000);
  EXPECT(agg.pending_windows().pending == 1);
  w = agg.poll_windows({}, 5);
  EXPECT(w.size() == 1 && w[0].stats.window_start == 20 && w[0].quantiles.empty());

  windowagg::Aggregator count(windowagg::Config::count(8));
  EXPECT(status_of([&] { (void)count.poll_windows(); }) == AGGREGATOR_EUNSUPPORTED);
  EXPECT(status_of([&] { (void)count.poll_windows_ex(); }) == AGGREGATOR_EUNSUPPORTED);

  // The extensible poll moves the same windows, with aggregator_stats_ex.
  windowagg::Aggregator ex(windowagg::Config::tumbling(10));
  ex.push(v, ts);
  auto wx = ex.poll_windows_ex(std::array{0.0, 1.0});
  EXPECT(wx.size() == 2);
  if (wx.size() == 2) {
    EXPECT(wx[0].stats.struct_size == sizeof(aggregator_stats_ex));
    EXPECT(wx[0].stats.stats.window_start == 0 && wx[0].stats.stats.count == 10);
    EXPECT(wx[0].quantiles.size() == 2 && wx[0].quantiles[1] == 9);
    EXPECT(wx[1].stats.stats.sum == 145);
  }
  ex.advance(1000);
  wx = ex.poll_windows_ex({}, 5);
  EXPECT(wx.size() == 1 && wx[0].stats.stats.window_start == 20 && wx[0].quantiles.empty());
}

void keys() {
  windowagg::Aggregator agg(windowagg::Config::count(100));
  const std::array<double, 4> v{1, 2, 3, 4};
  const std::array<std::string_view, 4> k{"alpha", "beta", "alpha", ""};
  agg.push_named(v, k);
  const std::vector<std::string> k2{"beta", "gamma"};
  agg.push_named(std::span<const double>(v).first(2), k2);
  EXPECT(agg.key_count() == 4);
  EXPECT(agg.keys().size() == 4);
  EXPECT(agg.key_name(windowagg::key_hash("alpha")) == "alpha");
  EXPECT(agg.stats(windowagg::key_hash("alpha")).sum == 4);
  EXPECT(agg.stats(windowagg::key_hash("beta")).count == 2);
  auto named = agg.named_keys();
  std::vector<std::string> names;
  for (const auto& n : named) names.push_back(n.name);
  std::sort(names.begin(), names.end());
  EXPECT((names == std::vector<std::string>{"", "alpha", "beta", "gamma"}));
  auto list = agg.list_stats(std::array{1.0});
  EXPECT(list.size() == 4);
  for (const auto& s : list) EXPECT(s.quantiles.size() == 1 && s.quantiles[0] == s.stats.max);
  EXPECT(agg.memory_usage(windowagg::key_hash("alpha")) > 0);
  EXPECT(agg.remove_key(windowagg::key_hash("gamma")));
  EXPECT(!agg.remove_key(windowagg::key_hash("gamma")));
  EXPECT(agg.key_count() == 3);

  std::vector<double> many(3000, 1.0);
  std::vector<uint64_t> ids(3000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = i + 1000;
  agg.push(many, {}, ids);
  EXPECT(agg.keys().size() == 3003);          // pages through the cursor
  EXPECT(agg.list_stats().size() == 3003);
  auto fixed = agg.list_stats(std::array{0.5});
  auto ex = agg.list_stats_ex(std::array{0.5});
  EXPECT(ex.size() == fixed.size());
  for (size_t i = 0; i < ex.size() && i < fixed.size(); ++i) {
    EXPECT(ex[i].key == fixed[i].key && ex[i].quantiles == fixed[i].quantiles);
    EXPECT(std::memcmp(&ex[i].stats.stats, &fixed[i].stats, sizeof(aggregator_stats)) == 0);
    EXPECT(ex[i].stats.struct_size == sizeof(aggregator_stats_ex));
  }
}

void state() {
  windowagg::Aggregator agg(windowagg::Config::sliding(60, 6));
  std::vector<double> v;
  std::vector<int64_t> ts;
  for (int64_t t = 0; t < 100; ++t) {
    v.push_back(static_cast<double>(t % 7));
    ts.push_back(t);
  }
  agg.push(v, ts);
  auto snap = agg.serialize();
  EXPECT(!snap.empty() && snap.size() == agg.serialized_size());
  std::vector<std::byte> buf(snap.size());
  EXPECT(agg.serialize(buf) == snap.size() && buf == snap);
  auto copy = windowagg::Aggregator::restore(snap, windowagg::Threading::Single);
  EXPECT(copy.stats().count == agg.stats().count && copy.stats().sum == agg.stats().sum);
  EXPECT(copy.config().raw().threading == AGGREGATOR_THREADING_SINGLE);
  windowagg::Aggregator other(windowagg::Config::sliding(60, 6));
  copy.merge(other);  // merging an empty state changes nothing
  EXPECT(copy.stats().count == agg.stats().count);
  copy.merge(snap);
  EXPECT(copy.stats().count == 2 * agg.stats().count);
  windowagg::Aggregator different(windowagg::Config::sliding(120, 6));
  EXPECT(status_of([&] { copy.merge(different); }) == AGGREGATOR_EMISMATCH);
  snap[snap.size() / 2] ^= std::byte{0x5A};
  EXPECT(status_of([&] { (void)windowagg::Aggregator::restore(snap); }) != AGGREGATOR_OK);
}

void errors() {
  try {
    windowagg::Aggregator bad(windowagg::Config::hopping(10, 3));
    std::printf("FAIL hopping(10, 3) was accepted\n");
    ++failures;
  } catch (const windowagg::Error& e) {
    EXPECT(e.status() == AGGREGATOR_ECONFIG);
    EXPECT(e.detail().find("slide") != std::string::npos);
    EXPECT(std::string(e.what()).find(e.detail()) != std::string::npos);
  }
  EXPECT(windowagg::version() == WINDOWAGG_VERSION_STRING);
  EXPECT(windowagg::version_number() == WINDOWAGG_VERSION_NUMBER);
}

void rolling() {
  const std::vector<double> v = {1, 2, NAN, 4, 5};
  const std::vector<int64_t> t = {0, 10, 20, 30, 40};
  const std::vector<uint64_t> k = {7, 8, 7, 7, 8};
  const std::array req = {windowagg::RollingRequest{windowagg::RollingAggregate::Count},
                          windowagg::RollingRequest{windowagg::RollingAggregate::Sum},
                          windowagg::RollingRequest{windowagg::RollingAggregate::Quantile, 0.5}};
  auto cols = windowagg::rolling(windowagg::RollingOptions::time(25), v, t, k, req);
  // key 7: t 0, 20, 30 (values 1, NaN, 4); key 8: t 10, 40 (values 2, 5)
  EXPECT((cols[0] == std::vector<double>{1, 1, 1, 1, 1}));
  EXPECT((cols[1] == std::vector<double>{1, 2, 1, 4, 5}));
  EXPECT((cols[2] == std::vector<double>{1, 2, 1, 4, 5}));
  auto rows = windowagg::rolling(windowagg::RollingOptions::rows(2).min_periods(0), v, {}, {},
                                 std::span(req).first(2));
  EXPECT((rows[1] == std::vector<double>{1, 3, 2, 4, 9}));
  // Unsorted times within a key: refused, nothing written.
  const std::vector<int64_t> bad = {0, 10, 20, 5, 40};
  std::vector<double> out(5, -1.0);
  double* outp[] = {out.data()};
  EXPECT(status_of([&] {
           windowagg::rolling_into(windowagg::RollingOptions::time(25), v, bad, k,
                                   std::span(req).first(1), outp);
         }) == AGGREGATOR_EINVAL);
  EXPECT(std::all_of(out.begin(), out.end(), [](double x) { return x == -1.0; }));
}

}  // namespace

int main() {
  rolling();
  count_window();
  tumbling();
  keys();
  state();
  errors();
  std::printf(failures == 0 ? "windowagg.hpp: OK\n" : "windowagg.hpp: %d failure(s)\n",
              failures);
  return failures == 0 ? 0 : 1;
}
