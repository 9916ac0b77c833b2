// Compile-time proof that the public C types in windowagg.h and the core's
// mirror types agree wherever the capi copies or reinterprets one as the
// other (aggregator_stats <-> windowagg::internal::Stats, aggregator_key_stats and
// aggregator_window <-> windowagg::internal::KeyedStats, aggregator_cursor <->
// windowagg::internal::Cursor), and that every public enum value equals the core enum
// value the capi casts it to. Included once, by windowagg_capi.cc. A field
// added on one side only, reordered, or an enum renumbered fails the build
// here instead of corrupting a host's memory.
//
// The bindings' copies of the same facts are checked by their own tests:
// bindings/go/abi_test.go, bindings/python/tests/test_abi.py and
// tests/abi (C++ wrapper coverage). See docs/conventions.md.
#ifndef WINDOWAGG_CAPI_ABI_CHECKS_H_
#define WINDOWAGG_CAPI_ABI_CHECKS_H_

#include <cstddef>
#include <type_traits>

#include "core/aggregator.h"
#include "core/config.h"
#include "core/error.h"
#include "core/rolling.h"
#include "windowagg/windowagg.h"

namespace windowagg::internal::abi_checks {

#define WA_SAME_FIELD(C_TYPE, C_FIELD, CORE_TYPE, CORE_FIELD)                                  \
  static_assert(offsetof(C_TYPE, C_FIELD) == offsetof(CORE_TYPE, CORE_FIELD),                 \
                #C_TYPE "." #C_FIELD " and " #CORE_TYPE "." #CORE_FIELD " differ in offset"); \
  static_assert(sizeof(C_TYPE::C_FIELD) == sizeof(CORE_TYPE::CORE_FIELD),                     \
                #C_TYPE "." #C_FIELD " and " #CORE_TYPE "." #CORE_FIELD " differ in size");    \
  static_assert(std::is_same_v<decltype(C_TYPE::C_FIELD), decltype(CORE_TYPE::CORE_FIELD)>,    \
                #C_TYPE "." #C_FIELD " and " #CORE_TYPE "." #CORE_FIELD " differ in type")

// aggregator_stats is reinterpreted as windowagg::internal::Stats (get_stats,
// get_key_stats, and inside every key_stats/window page).
static_assert(sizeof(aggregator_stats) == sizeof(Stats), "aggregator_stats size");
static_assert(alignof(aggregator_stats) == alignof(Stats), "aggregator_stats alignment");
static_assert(std::is_standard_layout_v<Stats> && std::is_trivially_copyable_v<Stats>);
WA_SAME_FIELD(aggregator_stats, count, Stats, count);
WA_SAME_FIELD(aggregator_stats, sum, Stats, sum);
WA_SAME_FIELD(aggregator_stats, mean, Stats, mean);
WA_SAME_FIELD(aggregator_stats, min, Stats, min);
WA_SAME_FIELD(aggregator_stats, max, Stats, max);
WA_SAME_FIELD(aggregator_stats, variance, Stats, variance);
WA_SAME_FIELD(aggregator_stats, stddev, Stats, stddev);
WA_SAME_FIELD(aggregator_stats, window_start, Stats, window_start);
WA_SAME_FIELD(aggregator_stats, window_end, Stats, window_end);
WA_SAME_FIELD(aggregator_stats, late, Stats, late);
WA_SAME_FIELD(aggregator_stats, rejected, Stats, rejected);
WA_SAME_FIELD(aggregator_stats, total, Stats, total);
WA_SAME_FIELD(aggregator_stats, watermark, Stats, watermark);

// aggregator_key_stats[] (list_stats) and aggregator_window[] (poll_windows)
// are reinterpreted as windowagg::internal::KeyedStats[].
static_assert(sizeof(aggregator_key_stats) == sizeof(KeyedStats), "aggregator_key_stats size");
static_assert(alignof(aggregator_key_stats) == alignof(KeyedStats));
static_assert(std::is_standard_layout_v<KeyedStats> && std::is_trivially_copyable_v<KeyedStats>);
static_assert(offsetof(aggregator_key_stats, key) == offsetof(KeyedStats, key));
static_assert(offsetof(aggregator_key_stats, stats) == offsetof(KeyedStats, stats));
static_assert(sizeof(aggregator_window) == sizeof(KeyedStats), "aggregator_window size");
static_assert(alignof(aggregator_window) == alignof(KeyedStats));
static_assert(offsetof(aggregator_window, key) == offsetof(KeyedStats, key));
static_assert(offsetof(aggregator_window, stats) == offsetof(KeyedStats, stats));

// aggregator_cursor is reinterpreted as windowagg::internal::Cursor.
static_assert(sizeof(aggregator_cursor) == sizeof(Cursor), "aggregator_cursor size");
static_assert(alignof(aggregator_cursor) == alignof(Cursor));
static_assert(std::is_standard_layout_v<Cursor> && std::is_trivially_copyable_v<Cursor>);
WA_SAME_FIELD(aggregator_cursor, position, Cursor, position);
WA_SAME_FIELD(aggregator_cursor, started, Cursor, started);
WA_SAME_FIELD(aggregator_cursor, done, Cursor, done);

// aggregator_stats_ex is filled from a windowagg::internal::Stats copied into its
// `stats` member; the struct_size rule needs the head to be 8 bytes and the
// struct to end on an 8-byte boundary.
static_assert(offsetof(aggregator_stats_ex, stats) == 8, "aggregator_stats_ex head");
static_assert(sizeof(aggregator_stats_ex) % 8 == 0, "aggregator_stats_ex size");
static_assert(sizeof(aggregator_stats_ex::stats) == sizeof(Stats));

// aggregator_key_stats_ex and aggregator_window_ex (list_stats_ex,
// poll_windows_ex) are written byte-wise from a KeyedStats page: the key
// first, then an aggregator_stats_ex at byte 8 that ends the record, so the
// record grows exactly when aggregator_stats_ex does.
static_assert(offsetof(aggregator_key_stats_ex, key) == offsetof(KeyedStats, key));
static_assert(sizeof(aggregator_key_stats_ex::key) == sizeof(KeyedStats::key));
static_assert(offsetof(aggregator_key_stats_ex, stats) == 8, "aggregator_key_stats_ex head");
static_assert(sizeof(aggregator_key_stats_ex) == 8 + sizeof(aggregator_stats_ex),
              "aggregator_key_stats_ex must end with its aggregator_stats_ex");
static_assert(sizeof(aggregator_window_ex) == sizeof(aggregator_key_stats_ex),
              "aggregator_window_ex size");
static_assert(alignof(aggregator_window_ex) == alignof(aggregator_key_stats_ex));
static_assert(offsetof(aggregator_window_ex, key) == offsetof(aggregator_key_stats_ex, key));
static_assert(offsetof(aggregator_window_ex, stats) == offsetof(aggregator_key_stats_ex, stats));
static_assert(std::is_same_v<decltype(aggregator_window_ex::stats), aggregator_stats_ex>);
static_assert(std::is_same_v<decltype(aggregator_key_stats_ex::stats), aggregator_stats_ex>);

#undef WA_SAME_FIELD

// aggregator_config is not reinterpreted: FromC/ToC copy it field by field,
// so only its enums' values must agree (below).

// Status codes: the capi returns static_cast<int>(Error::status()).
static_assert(AGGREGATOR_OK == static_cast<int>(Status::kOk));
static_assert(AGGREGATOR_EINVAL == static_cast<int>(Status::kInvalidArgument));
static_assert(AGGREGATOR_ECONFIG == static_cast<int>(Status::kConfig));
static_assert(AGGREGATOR_EVALUE == static_cast<int>(Status::kValue));
static_assert(AGGREGATOR_ENOTFOUND == static_cast<int>(Status::kNotFound));
static_assert(AGGREGATOR_EBUFFER == static_cast<int>(Status::kBuffer));
static_assert(AGGREGATOR_ENOMEM == static_cast<int>(Status::kNoMemory));
static_assert(AGGREGATOR_EKEYLIMIT == static_cast<int>(Status::kKeyLimit));
static_assert(AGGREGATOR_EMEMLIMIT == static_cast<int>(Status::kMemLimit));
static_assert(AGGREGATOR_ECORRUPT == static_cast<int>(Status::kCorrupt));
static_assert(AGGREGATOR_EVERSION == static_cast<int>(Status::kVersion));
static_assert(AGGREGATOR_EMISMATCH == static_cast<int>(Status::kMismatch));
static_assert(AGGREGATOR_EUNSUPPORTED == static_cast<int>(Status::kUnsupported));
static_assert(AGGREGATOR_EINTERNAL == static_cast<int>(Status::kInternal));

// Window kinds: FromC casts window_kind to WindowKind, ToC back.
static_assert(AGGREGATOR_WINDOW_COUNT == static_cast<uint32_t>(WindowKind::kCount));
static_assert(AGGREGATOR_WINDOW_SLIDING == static_cast<uint32_t>(WindowKind::kSliding));
static_assert(AGGREGATOR_WINDOW_TUMBLING == static_cast<uint32_t>(WindowKind::kTumbling));
static_assert(AGGREGATOR_WINDOW_HOPPING == static_cast<uint32_t>(WindowKind::kHopping));
static_assert(AGGREGATOR_ROLLING_COUNT == static_cast<uint32_t>(RollingAggregate::kCount));
static_assert(AGGREGATOR_ROLLING_SUM == static_cast<uint32_t>(RollingAggregate::kSum));
static_assert(AGGREGATOR_ROLLING_MEAN == static_cast<uint32_t>(RollingAggregate::kMean));
static_assert(AGGREGATOR_ROLLING_MIN == static_cast<uint32_t>(RollingAggregate::kMin));
static_assert(AGGREGATOR_ROLLING_MAX == static_cast<uint32_t>(RollingAggregate::kMax));
static_assert(AGGREGATOR_ROLLING_VAR == static_cast<uint32_t>(RollingAggregate::kVariance));
static_assert(AGGREGATOR_ROLLING_STD == static_cast<uint32_t>(RollingAggregate::kStddev));
static_assert(AGGREGATOR_ROLLING_QUANTILE == static_cast<uint32_t>(RollingAggregate::kQuantile));
static_assert(AGGREGATOR_ROLLING_QUANTILE + 1 == kRollingAggregates);

// Non-finite policy.
static_assert(AGGREGATOR_NONFINITE_REJECT == static_cast<uint32_t>(NonFinitePolicy::kReject));
static_assert(AGGREGATOR_NONFINITE_SKIP == static_cast<uint32_t>(NonFinitePolicy::kSkip));

// Key policies.
static_assert(AGGREGATOR_KEYS_REJECT == static_cast<uint32_t>(KeyPolicy::kReject));
static_assert(AGGREGATOR_KEYS_EVICT_LRU == static_cast<uint32_t>(KeyPolicy::kEvictLru));
static_assert(AGGREGATOR_KEYS_OVERFLOW == static_cast<uint32_t>(KeyPolicy::kOverflow));

// Keys and limits the header spells as macros.
static_assert(AGGREGATOR_DEFAULT_KEY == kDefaultKey);
static_assert(AGGREGATOR_OVERFLOW_KEY == kOverflowKey);

}  // namespace windowagg::internal::abi_checks

#endif  // WINDOWAGG_CAPI_ABI_CHECKS_H_
