// One series: its window, its counters, its optional byte name. Every byte
// it owns is charged to the handle and tallied in `bytes`.
#ifndef WINDOWAGG_CORE_SERIES_H_
#define WINDOWAGG_CORE_SERIES_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/memory.h"
#include "core/window.h"

namespace windowagg::internal {

struct Series {
  // Its window has the handle's `shape` (window.h picks the kind).
  Series(uint64_t key, MemoryAccount* account, const WindowShape& shape);
  ~Series();
  Series(const Series&) = delete;
  Series& operator=(const Series&) = delete;

  void SetName(std::string_view name);
  std::string_view name() const {
    return {reinterpret_cast<const char*>(name_), name_len_};
  }

  // (Order: what a keyed push reads and writes — the counters, then the
  // window, whose kinds put their hot fields first — in the object's first
  // three cache lines; the rest after.)
  const uint64_t key;
  uint64_t late = 0;
  uint64_t rejected = 0;
  uint64_t total = 0;
  int64_t last_event = 0;     // newest accepted event time (valid if total > 0)
  uint64_t last_touch = 0;    // push tick of the last update (LRU)
  uint64_t touch_epoch = 0;   // dedupes series touched by one push
  int64_t bytes = 0;  // buffers owned by this series (the object itself excluded)

  Window window;  // of the handle's kind (window.h); keeps &scope, declared below

  const MemoryScope scope;
  Series* lru_prev = nullptr;  // EVICT_LRU order within the shard (Aggregator)
  Series* lru_next = nullptr;

  // TUMBLING/HOPPING: counters at the moment a push met this series with
  // due windows that a full closed-window queue kept in its window (see
  // Aggregator::BringUpToDate). A window closing at or before `wm` is
  // stamped with the first mark whose wm covers it, so it carries the
  // counters it would have carried had it been queued then. Oldest first.
  struct CounterMark {
    int64_t wm;
    uint64_t late, rejected, total;
  };
  std::vector<CounterMark, ScopeAllocator<CounterMark>> marks;

 private:
  uint8_t* name_ = nullptr;
  uint32_t name_len_ = 0;
};

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_SERIES_H_
