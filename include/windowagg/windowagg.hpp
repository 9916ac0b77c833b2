// windowagg.hpp — header-only C++20 RAII wrapper over the C ABI in
// windowagg.h. It depends on nothing but that header and the standard
// library, and links against the same libwindowagg.so.
//
// Error model: every failing call throws windowagg::Error (a
// std::runtime_error) carrying the C status code (status()) and the library's
// message for that failure (detail(), from aggregator_last_error()). Calls
// that "find nothing" in a normal way say so in their return value instead
// (remove_key returns false for an unknown key).
//
// Thread-safety is the C library's: unless created with Threading::Single,
// one Aggregator may be used from many threads at once (the wrapper keeps no
// mutable state of its own; push_named packs keys into a per-thread buffer).
//
//   windowagg::Aggregator agg(windowagg::Config::tumbling(1'000'000'000));
//   agg.push(values, timestamps);
//   for (const auto& w : agg.poll_windows(std::array{0.5, 0.99})) ...
#ifndef WINDOWAGG_WINDOWAGG_HPP_
#define WINDOWAGG_WINDOWAGG_HPP_

#include <windowagg/windowagg.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace windowagg {

// ---- Errors ------------------------------------------------------------------

class Error : public std::runtime_error {
 public:
  Error(int status, std::string detail)
      : std::runtime_error(std::string(aggregator_status_string(status)) + ": " + detail),
        status_(status),
        detail_(std::move(detail)) {}

  // The AGGREGATOR_* status code of the failed call.
  int status() const noexcept { return status_; }
  // The library's message (names the field, element index, ...).
  const std::string& detail() const noexcept { return detail_; }

 private:
  int status_;
  std::string detail_;
};

namespace detail {
inline void check(int status) {
  // Copy the thread-local message now: the next C call may overwrite it.
  if (status != AGGREGATOR_OK) throw Error(status, aggregator_last_error());
}
[[noreturn]] inline void invalid(const std::string& what) {
  throw Error(AGGREGATOR_EINVAL, what);
}
template <class T>
const T* data_or_null(std::span<const T> s) noexcept {
  return s.empty() ? nullptr : s.data();
}
}  // namespace detail

// ---- Coverage ------------------------------------------------------------------
//
// Every function windowagg.h declares is called by this wrapper, except these
// (checked by the ctest packaging.cpp_wrapper_coverage, which fails when the
// header gains a function that is neither called here nor listed here):
//
// not wrapped: aggregator_process_batch -- returns NaN both for an empty window and for a failure; use push() + stats()
// not wrapped: aggregator_stats_ex_size -- the wrapper is compiled with the header it runs against; the library's size is only needed by hosts built against a newer header

// ---- Library info --------------------------------------------------------------

// Version of the library actually loaded (may be newer than this header).
inline std::string_view version() noexcept { return aggregator_version(); }
inline unsigned version_number() noexcept { return aggregator_version_number(); }
// The calling thread is about to end without its C exit handlers (see
// aggregator_thread_done in windowagg.h).
inline void thread_done() noexcept { aggregator_thread_done(); }

// The series id a byte-string key maps to (XXH3-64, seed 0), stable everywhere.
inline uint64_t key_hash(std::string_view key) noexcept {
  return aggregator_key_hash(key.data(), key.size());
}

inline constexpr uint64_t kDefaultKey = AGGREGATOR_DEFAULT_KEY;
inline constexpr uint64_t kOverflowKey = AGGREGATOR_OVERFLOW_KEY;

// ---- Configuration -------------------------------------------------------------

enum class WindowKind : uint32_t {
  Count = AGGREGATOR_WINDOW_COUNT,
  Sliding = AGGREGATOR_WINDOW_SLIDING,
  Tumbling = AGGREGATOR_WINDOW_TUMBLING,
  Hopping = AGGREGATOR_WINDOW_HOPPING,
};
enum class NonFinite : uint32_t {
  Reject = AGGREGATOR_NONFINITE_REJECT,
  Skip = AGGREGATOR_NONFINITE_SKIP,
};
enum class KeyPolicy : uint32_t {
  Reject = AGGREGATOR_KEYS_REJECT,
  EvictLru = AGGREGATOR_KEYS_EVICT_LRU,
  Overflow = AGGREGATOR_KEYS_OVERFLOW,
};
enum class Threading : uint32_t {
  Shared = AGGREGATOR_THREADING_SHARED,
  Single = AGGREGATOR_THREADING_SINGLE,
};

// aggregator_config with its defaults (aggregator_config_init) and chainable
// setters. Validation happens in the library when an Aggregator is created.
class Config {
 public:
  Config() noexcept { aggregator_config_init(&cfg_); }
  explicit Config(const aggregator_config& raw) noexcept : cfg_(raw) {}

  static Config count(int64_t n) { return Config().kind(WindowKind::Count).size(n); }
  // pane_width 0 = window/60 (window if window < 60).
  static Config sliding(int64_t window, int64_t pane_width = 0) {
    return Config().kind(WindowKind::Sliding).size(window).pane_width(pane_width);
  }
  static Config tumbling(int64_t window) {
    return Config().kind(WindowKind::Tumbling).size(window);
  }
  static Config hopping(int64_t window, int64_t slide) {
    return Config().kind(WindowKind::Hopping).size(window).slide(slide);
  }

  Config& kind(WindowKind k) noexcept { cfg_.window_kind = static_cast<uint32_t>(k); return *this; }
  Config& size(int64_t v) noexcept { cfg_.window_size = v; return *this; }
  Config& slide(int64_t v) noexcept { cfg_.slide = v; return *this; }
  Config& pane_width(int64_t v) noexcept { cfg_.pane_width = v; return *this; }
  Config& allowed_lateness(int64_t v) noexcept { cfg_.allowed_lateness = v; return *this; }
  Config& relative_accuracy(double v) noexcept { cfg_.relative_accuracy = v; return *this; }
  Config& quantiles(bool on) noexcept { cfg_.quantiles = on ? 1u : 0u; return *this; }
  Config& nonfinite(NonFinite p) noexcept { cfg_.nonfinite_policy = static_cast<uint32_t>(p); return *this; }
  Config& max_keys(uint64_t n, KeyPolicy p = KeyPolicy::Reject) noexcept {
    cfg_.max_keys = n;
    cfg_.key_policy = static_cast<uint32_t>(p);
    return *this;
  }
  Config& threading(Threading t) noexcept { cfg_.threading = static_cast<uint32_t>(t); return *this; }
  Config& key_ttl(int64_t v) noexcept { cfg_.key_ttl = v; return *this; }
  Config& memory_limit(uint64_t bytes) noexcept { cfg_.memory_limit = bytes; return *this; }
  Config& max_pending_windows(uint64_t n) noexcept { cfg_.max_pending_windows = n; return *this; }

  const aggregator_config& raw() const noexcept { return cfg_; }
  aggregator_config& raw() noexcept { return cfg_; }

 private:
  aggregator_config cfg_;
};

// ---- Results -------------------------------------------------------------------

using Stats = aggregator_stats;

// One series (list_stats) or one closed window (poll_windows), with the
// quantiles that were asked for, in the order asked.
struct SeriesStats {
  uint64_t key;
  Stats stats;
  std::vector<double> quantiles;
};
using ClosedWindow = SeriesStats;

// The same through the extensible pages (list_stats_ex, poll_windows_ex):
// `stats` is an aggregator_stats_ex, so aggregates appended to it later
// appear here too.
struct SeriesStatsEx {
  uint64_t key;
  aggregator_stats_ex stats;
  std::vector<double> quantiles;
};
using ClosedWindowEx = SeriesStatsEx;

struct PendingWindows {
  uint64_t pending;
  uint64_t dropped;
};

struct NamedKey {
  uint64_t key;
  std::string name;  // empty for numeric keys
};

// ---- The handle ----------------------------------------------------------------

class Aggregator {
 public:
  explicit Aggregator(const Config& cfg) {
    detail::check(aggregator_create(&cfg.raw(), &h_));
  }

  // The original design's handle (aggregator_new): a count window over the
  // last `capacity` values, thread-safe, quantiles OFF. Throws the status the
  // library reports (aggregator_last_status: AGGREGATOR_ECONFIG for a
  // capacity out of range, AGGREGATOR_ENOMEM), like Go's NewCount and
  // Python's Aggregator.new_count.
  static Aggregator new_count(long long capacity) {
    aggregator* h = aggregator_new(capacity);
    if (h == nullptr) {
      int st = aggregator_last_status();
      throw Error(st != AGGREGATOR_OK ? st : AGGREGATOR_EINTERNAL, aggregator_last_error());
    }
    return adopt(h);
  }
  [[deprecated("use Aggregator::new_count (the same call)")]]
  static Aggregator count_window(long long capacity) { return new_count(capacity); }

  // Rebuilds a handle from serialize() output.
  static Aggregator restore(std::span<const std::byte> state,
                            Threading threading = Threading::Shared) {
    aggregator* h = nullptr;
    detail::check(aggregator_restore(state.data(), state.size(),
                                     static_cast<uint32_t>(threading), &h));
    return adopt(h);
  }

  // Takes ownership of a handle made through the C API.
  static Aggregator adopt(aggregator* h) noexcept { return Aggregator(h); }

  Aggregator(Aggregator&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Aggregator& operator=(Aggregator&& o) noexcept {
    if (this != &o) {
      aggregator_free(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;
  ~Aggregator() { aggregator_free(h_); }

  aggregator* get() const noexcept { return h_; }
  // Gives up ownership; the caller must aggregator_free() the result.
  aggregator* release() noexcept { return std::exchange(h_, nullptr); }
  explicit operator bool() const noexcept { return h_ != nullptr; }

  Config config() const {
    Config c;
    detail::check(aggregator_get_config(h_, &c.raw()));
    return c;
  }

  // -- Pushing (a batch is applied whole or not at all) --

  // timestamps and keys are empty or parallel to values.
  void push(std::span<const double> values, std::span<const int64_t> timestamps = {},
            std::span<const uint64_t> keys = {}) {
    check_parallel("push", values.size(), timestamps.size(), keys.size());
    detail::check(aggregator_push(h_, detail::data_or_null(values),
                                  detail::data_or_null(timestamps),
                                  detail::data_or_null(keys), values.size()));
  }

  // Byte-string keys, one per value; the series id is key_hash(key).
  void push_named(std::span<const double> values, std::span<const std::string_view> keys,
                  std::span<const int64_t> timestamps = {}) {
    push_named_impl(values, keys, timestamps);
  }
  void push_named(std::span<const double> values, std::span<const std::string> keys,
                  std::span<const int64_t> timestamps = {}) {
    push_named_impl(values, keys, timestamps);
  }

  // Moves the watermark forward without data (closes windows, slides).
  void advance(int64_t watermark) { detail::check(aggregator_advance(h_, watermark)); }

  // -- Reading --

  // All series merged.
  Stats stats() const {
    Stats s;
    detail::check(aggregator_get_stats(h_, &s));
    return s;
  }
  // One series; throws Error(AGGREGATOR_ENOTFOUND) for an unknown key.
  Stats stats(uint64_t key) const {
    Stats s;
    detail::check(aggregator_get_key_stats(h_, key, &s));
    return s;
  }

  // Extensible reads (aggregator_get_stats_ex): the same numbers as stats()
  // today; aggregates added later appear only here.
  aggregator_stats_ex stats_ex() const {
    aggregator_stats_ex s;
    aggregator_stats_ex_init(&s);
    detail::check(aggregator_get_stats_ex(h_, &s));
    return s;
  }
  aggregator_stats_ex stats_ex(uint64_t key) const {
    aggregator_stats_ex s;
    aggregator_stats_ex_init(&s);
    detail::check(aggregator_get_key_stats_ex(h_, key, &s));
    return s;
  }

  std::vector<double> quantiles(std::span<const double> q) const {
    std::vector<double> out(q.size());
    quantiles(q, out);
    return out;
  }
  void quantiles(std::span<const double> q, std::span<double> out) const {
    check_out("quantiles", q.size(), out.size());
    detail::check(aggregator_get_quantiles(h_, detail::data_or_null(q), q.size(),
                                           out.empty() ? nullptr : out.data()));
  }
  double quantile(double q) const {
    double out = 0;
    detail::check(aggregator_get_quantiles(h_, &q, 1, &out));
    return out;
  }

  std::vector<double> quantiles(uint64_t key, std::span<const double> q) const {
    std::vector<double> out(q.size());
    quantiles(key, q, out);
    return out;
  }
  void quantiles(uint64_t key, std::span<const double> q, std::span<double> out) const {
    check_out("quantiles", q.size(), out.size());
    detail::check(aggregator_get_key_quantiles(h_, key, detail::data_or_null(q), q.size(),
                                               out.empty() ? nullptr : out.data()));
  }
  double quantile(uint64_t key, double q) const {
    double out = 0;
    detail::check(aggregator_get_key_quantiles(h_, key, &q, 1, &out));
    return out;
  }

  // Stats (and quantiles q) of every series.
  std::vector<SeriesStats> list_stats(std::span<const double> q = {}) const {
    constexpr size_t kPage = 256;
    std::vector<SeriesStats> result;
    std::vector<aggregator_key_stats> page(kPage);
    std::vector<double> page_q(kPage * q.size());
    aggregator_cursor cursor{};
    while (!cursor.done) {
      size_t n = 0;
      detail::check(aggregator_list_stats(h_, &cursor, page.data(), kPage,
                                          detail::data_or_null(q), q.size(),
                                          page_q.empty() ? nullptr : page_q.data(), &n));
      for (size_t i = 0; i < n; ++i) {
        const double* qi = page_q.data() + i * q.size();
        result.push_back({page[i].key, page[i].stats,
                          std::vector<double>(qi, qi + q.size())});
      }
      if (n == 0 && !cursor.done) break;  // defensive: never spin
    }
    return result;
  }

  // list_stats through aggregator_list_stats_ex (records of
  // sizeof(aggregator_key_stats_ex), the size this wrapper was compiled with).
  std::vector<SeriesStatsEx> list_stats_ex(std::span<const double> q = {}) const {
    constexpr size_t kPage = 256;
    std::vector<SeriesStatsEx> result;
    std::vector<aggregator_key_stats_ex> page(kPage);
    std::vector<double> page_q(kPage * q.size());
    aggregator_cursor cursor{};
    while (!cursor.done) {
      size_t n = 0;
      detail::check(aggregator_list_stats_ex(h_, &cursor, page.data(),
                                             sizeof(aggregator_key_stats_ex), kPage,
                                             detail::data_or_null(q), q.size(),
                                             page_q.empty() ? nullptr : page_q.data(), &n));
      append_page(result, page.data(), page_q.data(), n, q.size());
      if (n == 0 && !cursor.done) break;  // defensive: never spin
    }
    return result;
  }

  // -- Closed windows (tumbling, hopping) --

  // Moves up to max_windows closed windows out of the queue, oldest first.
  std::vector<ClosedWindow> poll_windows(
      std::span<const double> q = {},
      size_t max_windows = std::numeric_limits<size_t>::max()) {
    return poll_pages<ClosedWindow, aggregator_window>(
        q, max_windows, [&](aggregator_window* page, size_t want, double* page_q, size_t* n) {
          return aggregator_poll_windows(h_, page, want, detail::data_or_null(q), q.size(),
                                         page_q, n);
        });
  }

  // poll_windows through aggregator_poll_windows_ex (records of
  // sizeof(aggregator_window_ex)); the same windows, in the same order.
  std::vector<ClosedWindowEx> poll_windows_ex(
      std::span<const double> q = {},
      size_t max_windows = std::numeric_limits<size_t>::max()) {
    return poll_pages<ClosedWindowEx, aggregator_window_ex>(
        q, max_windows, [&](aggregator_window_ex* page, size_t want, double* page_q, size_t* n) {
          return aggregator_poll_windows_ex(h_, page, sizeof(aggregator_window_ex), want,
                                            detail::data_or_null(q), q.size(), page_q, n);
        });
  }

  PendingWindows pending_windows() const {
    PendingWindows p{};
    detail::check(aggregator_pending_windows(h_, &p.pending, &p.dropped));
    return p;
  }

  // -- Keys --

  uint64_t key_count() const {
    uint64_t n = 0;
    detail::check(aggregator_key_count(h_, &n));
    return n;
  }

  std::vector<uint64_t> keys() const {
    constexpr size_t kPage = 1024;
    std::vector<uint64_t> result;
    std::vector<uint64_t> page(kPage);
    aggregator_cursor cursor{};
    while (!cursor.done) {
      size_t n = 0;
      detail::check(aggregator_list_keys(h_, &cursor, page.data(), kPage, nullptr, 0,
                                         nullptr, &n));
      result.insert(result.end(), page.begin(), page.begin() + static_cast<ptrdiff_t>(n));
      if (n == 0 && !cursor.done) break;
    }
    return result;
  }

  std::vector<NamedKey> named_keys() const {
    constexpr size_t kPage = 256;
    std::vector<NamedKey> result;
    std::vector<uint64_t> page(kPage);
    std::vector<uint32_t> offsets(kPage + 1);
    std::vector<uint8_t> names(64 * 1024);
    aggregator_cursor cursor{};
    while (!cursor.done) {
      size_t n = 0;
      aggregator_cursor before = cursor;
      int st = aggregator_list_keys(h_, &cursor, page.data(), kPage, names.data(),
                                    names.size(), offsets.data(), &n);
      if (st == AGGREGATOR_EBUFFER) {  // one name larger than the buffer
        cursor = before;
        if (names.size() >= (size_t{1} << 32)) detail::check(st);
        names.resize(names.size() * 2);
        continue;
      }
      detail::check(st);
      for (size_t i = 0; i < n; ++i) {
        const char* p = reinterpret_cast<const char*>(names.data());
        result.push_back({page[i], std::string(p + offsets[i], p + offsets[i + 1])});
      }
      if (n == 0 && !cursor.done) break;
    }
    return result;
  }

  std::string key_name(uint64_t key) const {
    std::string name(64, '\0');
    size_t len = 0;
    int st = aggregator_key_name(h_, key, reinterpret_cast<uint8_t*>(name.data()),
                                 name.size(), &len);
    if (st == AGGREGATOR_EBUFFER) {
      name.resize(len);
      st = aggregator_key_name(h_, key, reinterpret_cast<uint8_t*>(name.data()),
                               name.size(), &len);
    }
    detail::check(st);
    name.resize(len);
    return name;
  }

  // false if the key had no series.
  bool remove_key(uint64_t key) {
    int st = aggregator_remove_key(h_, key);
    if (st == AGGREGATOR_ENOTFOUND) return false;
    detail::check(st);
    return true;
  }

  // -- Memory --

  uint64_t memory_usage() const {
    uint64_t b = 0;
    detail::check(aggregator_memory_usage(h_, &b));
    return b;
  }
  uint64_t memory_usage(uint64_t key) const {
    uint64_t b = 0;
    detail::check(aggregator_key_memory_usage(h_, key, &b));
    return b;
  }

  // -- Serialized state --

  size_t serialized_size() const {
    size_t n = 0;
    detail::check(aggregator_serialized_size(h_, &n));
    return n;
  }

  // Writes into buf; returns the bytes written. Throws AGGREGATOR_EBUFFER if
  // buf is smaller than serialized_size().
  size_t serialize(std::span<std::byte> buf) const {
    size_t written = 0;
    detail::check(aggregator_serialize(h_, buf.data(), buf.size(), &written));
    return written;
  }

  std::vector<std::byte> serialize() const {
    std::vector<std::byte> buf(serialized_size());
    for (;;) {
      size_t written = 0;
      int st = aggregator_serialize(h_, buf.data(), buf.size(), &written);
      if (st == AGGREGATOR_EBUFFER && written > buf.size()) {
        buf.resize(written);  // other threads grew the state meanwhile
        continue;
      }
      detail::check(st);
      buf.resize(written);
      return buf;
    }
  }

  // Same configuration required (AGGREGATOR_EMISMATCH otherwise).
  void merge(const Aggregator& src) { detail::check(aggregator_merge(h_, src.h_)); }
  void merge(std::span<const std::byte> state) {
    detail::check(aggregator_merge_serialized(h_, state.data(), state.size()));
  }

 private:
  explicit Aggregator(aggregator* h) noexcept : h_(h) {}

  // Appends n records of a page (and their nq quantiles each).
  template <class Out, class Rec>
  static void append_page(std::vector<Out>& out, const Rec* page, const double* page_q,
                        size_t n, size_t nq) {
    for (size_t i = 0; i < n; ++i) {
      const double* qi = page_q + i * nq;
      out.push_back({page[i].key, page[i].stats,
                     nq == 0 ? std::vector<double>() : std::vector<double>(qi, qi + nq)});
    }
  }

  // Polls pages of up to 256 records of type Rec through fetch(page, want,
  // page_q, &n) until max_windows windows or the queue is drained.
  template <class Out, class Rec, class Fetch>
  static std::vector<Out> poll_pages(std::span<const double> q, size_t max_windows,
                                     Fetch&& fetch) {
    constexpr size_t kPage = 256;
    std::vector<Out> result;
    std::vector<Rec> page(kPage);
    std::vector<double> page_q(kPage * q.size());
    while (result.size() < max_windows) {
      size_t want = std::min(kPage, max_windows - result.size());
      size_t n = 0;
      detail::check(fetch(page.data(), want, page_q.empty() ? nullptr : page_q.data(), &n));
      append_page(result, page.data(), page_q.data(), n, q.size());
      if (n < want) break;
    }
    return result;
  }

  static void check_parallel(const char* what, size_t n, size_t nts, size_t nkeys) {
    if (nts != 0 && nts != n)
      detail::invalid(std::string(what) + ": " + std::to_string(nts) + " timestamps for " +
                      std::to_string(n) + " values");
    if (nkeys != 0 && nkeys != n)
      detail::invalid(std::string(what) + ": " + std::to_string(nkeys) + " keys for " +
                      std::to_string(n) + " values");
  }
  static void check_out(const char* what, size_t nq, size_t nout) {
    if (nout < nq)
      detail::invalid(std::string(what) + ": output has room for " + std::to_string(nout) +
                      " of " + std::to_string(nq) + " quantiles");
  }

  template <class Str>
  void push_named_impl(std::span<const double> values, std::span<const Str> keys,
                       std::span<const int64_t> timestamps) {
    if (keys.size() != values.size())
      detail::invalid("push_named: " + std::to_string(keys.size()) + " keys for " +
                      std::to_string(values.size()) + " values");
    check_parallel("push_named", values.size(), timestamps.size(), 0);
    // Reused per thread: no allocation in steady state, no shared mutable state.
    static constexpr uint8_t kNoBytes = 0;  // all keys empty: still a valid pointer
    thread_local std::vector<uint8_t> bytes;
    thread_local std::vector<uint32_t> offsets;
    bytes.clear();
    offsets.clear();
    offsets.reserve(keys.size() + 1);
    offsets.push_back(0);
    for (const auto& k : keys) {
      std::string_view sv(k);
      if (bytes.size() + sv.size() > std::numeric_limits<uint32_t>::max())
        detail::invalid("push_named: key bytes of one batch exceed 4 GiB");
      bytes.insert(bytes.end(), sv.begin(), sv.end());
      offsets.push_back(static_cast<uint32_t>(bytes.size()));
    }
    detail::check(aggregator_push_named(h_, detail::data_or_null(values),
                                        detail::data_or_null(timestamps),
                                        bytes.empty() ? &kNoBytes : bytes.data(),
                                        offsets.data(), values.size()));
  }

  aggregator* h_ = nullptr;
};

// ---- Per-row rolling aggregates (aggregator_rolling) ----------------------------
//
// pandas' df.groupby(key).rolling(window).agg(...) in one call, no handle:
// see aggregator_rolling in windowagg.h for the windows, the missing-value
// rules (NaN/Inf skipped, COUNT counts Inf) and min_periods.
//
//   auto cols = windowagg::rolling(windowagg::RollingOptions::time(60'000'000'000),
//                                  values, timestamps, keys,
//                                  std::array{windowagg::RollingRequest{windowagg::RollingAggregate::Mean},
//                                             windowagg::RollingRequest{windowagg::RollingAggregate::Quantile, 0.99}});
//   // cols[0][i]: mean of row i's window; cols[1][i]: its exact p99

enum class RollingAggregate : uint32_t {
  Count = AGGREGATOR_ROLLING_COUNT,
  Sum = AGGREGATOR_ROLLING_SUM,
  Mean = AGGREGATOR_ROLLING_MEAN,
  Min = AGGREGATOR_ROLLING_MIN,
  Max = AGGREGATOR_ROLLING_MAX,
  Var = AGGREGATOR_ROLLING_VAR,
  Std = AGGREGATOR_ROLLING_STD,
  Quantile = AGGREGATOR_ROLLING_QUANTILE,
};

// One output column: an aggregate (q for Quantile, in [0, 1]).
struct RollingRequest {
  RollingAggregate aggregate;
  double q = 0;
};

// aggregator_rolling_options with its defaults and chainable setters.
class RollingOptions {
 public:
  RollingOptions() noexcept { aggregator_rolling_options_init(&opt_); }
  // The last n rows of each key.
  static RollingOptions rows(int64_t n) noexcept {
    RollingOptions o;
    o.opt_.window_kind = AGGREGATOR_WINDOW_COUNT;
    o.opt_.window = n;
    return o;
  }
  // The time span (t - window, t] of each key, in the timestamps' unit.
  static RollingOptions time(int64_t window) noexcept {
    RollingOptions o;
    o.opt_.window_kind = AGGREGATOR_WINDOW_SLIDING;
    o.opt_.window = window;
    return o;
  }
  // -1: pandas' default (rows: n, time: 1); 0: every row gets a value.
  RollingOptions& min_periods(int64_t v) noexcept { opt_.min_periods = v; return *this; }
  const aggregator_rolling_options& raw() const noexcept { return opt_; }

 private:
  aggregator_rolling_options opt_;
};

// Writes request j's value of row i to out[j][i]; every out[j] must have
// room for values.size() doubles. Throws Error (nothing written) on bad input.
inline void rolling_into(const RollingOptions& opt, std::span<const double> values,
                         std::span<const int64_t> timestamps, std::span<const uint64_t> keys,
                         std::span<const RollingRequest> requests, std::span<double* const> out) {
  const size_t n = values.size();
  if (timestamps.size() != 0 && timestamps.size() != n)
    detail::invalid("rolling: " + std::to_string(timestamps.size()) + " timestamps for " +
                    std::to_string(n) + " values");
  if (keys.size() != 0 && keys.size() != n)
    detail::invalid("rolling: " + std::to_string(keys.size()) + " keys for " +
                    std::to_string(n) + " values");
  if (out.size() != requests.size())
    detail::invalid("rolling: " + std::to_string(out.size()) + " outputs for " +
                    std::to_string(requests.size()) + " requests");
  std::vector<aggregator_rolling_output> outs(requests.size());
  for (size_t j = 0; j < requests.size(); ++j) {
    outs[j] = {static_cast<uint32_t>(requests[j].aggregate), 0, requests[j].q, out[j]};
  }
  detail::check(aggregator_rolling(&opt.raw(), detail::data_or_null(values),
                                   detail::data_or_null(timestamps), detail::data_or_null(keys),
                                   n, outs.data(), outs.size()));
}

// The same, returning one vector per request (result[j][i]).
inline std::vector<std::vector<double>> rolling(const RollingOptions& opt,
                                                std::span<const double> values,
                                                std::span<const int64_t> timestamps,
                                                std::span<const uint64_t> keys,
                                                std::span<const RollingRequest> requests) {
  std::vector<std::vector<double>> cols(requests.size(), std::vector<double>(values.size()));
  std::vector<double*> ptrs(cols.size());
  for (size_t j = 0; j < cols.size(); ++j) ptrs[j] = cols[j].data();
  rolling_into(opt, values, timestamps, keys, requests, ptrs);
  return cols;
}

}  // namespace windowagg

#endif  // WINDOWAGG_WINDOWAGG_HPP_
