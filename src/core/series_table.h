// The handle's series: a key -> Series map split into shards by a hash of
// the key, the locks that guard it, the live-key count the key budget reads
// and, for EVICT_LRU handles, each shard's least-recently-updated list.
//
// Locking. The table lock (TableLock) is taken shared by pushes and reads
// and exclusively only when the set of series changes (new keys, removal,
// TTL, eviction, restore, merge). Each shard has a data lock (ShardLock,
// Shard::mu) that guards its map and its series' contents, and a push
// claim (Shard::push_mu, see push_pipeline.h). Order: table, then push
// claims (increasing shard), then one shard's data lock, then the handle's
// closed-window queue lock. In single-threaded mode no lock is taken.
#ifndef WINDOWAGG_CORE_SERIES_TABLE_H_
#define WINDOWAGG_CORE_SERIES_TABLE_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/config.h"
#include "core/memory.h"
#include "core/series.h"
#include "core/table_mutex.h"

namespace windowagg::internal {

// Mirrors aggregator_cursor: a position in the table's Mix(key) order.
struct Cursor {
  uint64_t position;
  uint32_t started;
  uint32_t done;
};

class SeriesTable {
 public:
  static constexpr size_t kShardBits = 5;
  static constexpr size_t kShards = size_t{1} << kShardBits;

  using SeriesMap =
      absl::flat_hash_map<uint64_t, Series*, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                          ScopeAllocator<std::pair<const uint64_t, Series*>>>;
  struct Shard {
    explicit Shard(const MemoryScope* scope)
        : map(ScopeAllocator<std::pair<const uint64_t, Series*>>(scope)) {}
    // std::mutex, not absl::Mutex: a push takes up to all 32 shard locks
    // (in increasing order, nested). Under an Abseil built with deadlock
    // detection (Debian's), every absl::Mutex acquisition updates a global
    // lock graph over the locks held, which made pushes up to ~2x slower;
    // the library must not turn that off for the host (a process-wide
    // setting), so the hot per-shard locks are plain mutexes (and the table
    // lock is a TableMutex).
    std::mutex mu;
    // A push's claim on the shard, held from its prepare to its commit so
    // that pushes into one shard never interleave their reservations (taken
    // in increasing shard order, nested, before `mu`). Readers never take
    // it: a push holds `mu` only while it prepares, and again while it
    // commits, its own slice of the batch (see Aggregator::Transact).
    std::mutex push_mu;
    // Set (under `mu`) while a push that claimed the shard is between its
    // prepare and its commit: the one-value fast path then steps aside.
    bool push_pending = false;
    // Threads spinning for `mu` in ShardLock (reads, polls, one-value
    // pushes, key lookups): a push that holds `mu` for its slice checks it
    // between two runs of the slice and lets them in
    // (Aggregator::ShardSet::Section::LetWaitersIn), so a reader waits for
    // about one series' work, not for the slice. A hint: nothing depends on
    // it for correctness.
    std::atomic<uint32_t> waiting{0};
    SeriesMap map;
    // EVICT_LRU handles: the shard's series, least recently updated first
    // (intrusive, through Series::lru_prev/lru_next).
    Series* lru_head = nullptr;
    Series* lru_tail = nullptr;
  };

  // `scope` charges the maps; series are charged to `account`.
  SeriesTable(MemoryAccount* account, const MemoryScope* scope, WindowShape shape,
              bool thread_safe, bool lru);
  ~SeriesTable();  // deletes every series
  SeriesTable(const SeriesTable&) = delete;
  SeriesTable& operator=(const SeriesTable&) = delete;

  // Scoped locks that vanish in single-threaded mode.
  class TableLock {
   public:
    TableLock(const SeriesTable& t, bool exclusive);
    ~TableLock();
    TableLock(const TableLock&) = delete;
    TableLock& operator=(const TableLock&) = delete;

   private:
    const SeriesTable* t_;
  };
  // The shard locks' handoff (core/spin_wait.h): a thread that finds a
  // shard's data lock held spins up to kWaiterSpin for it, counted in
  // Shard::waiting, then blocks (uncounted) until the holder's slice ends.
  // A push that sees a count lets the lock go and waits up to kHandoff for
  // the spinning threads to take it (when they do not — one lost its CPU —
  // it stops letting waiters in for the rest of that slice), then spins up
  // to kWaiterSpin to take it back before it blocks.
  static constexpr std::chrono::microseconds kWaiterSpin{50};
  static constexpr std::chrono::microseconds kHandoff{5};

  class ShardLock {
   public:
    ShardLock(const SeriesTable& t, Shard& s) : s_(t.thread_safe_ ? &s : nullptr) {
      if (s_ && !s_->mu.try_lock()) Wait(*s_);
    }
    ~ShardLock() {
      if (s_) s_->mu.unlock();
    }
    ShardLock(const ShardLock&) = delete;
    ShardLock& operator=(const ShardLock&) = delete;

   private:
    // Held (mostly by a push's slice): says so in Shard::waiting, so that
    // the push lets it in between two of its runs, and takes the lock.
    static void Wait(Shard& s);
    Shard* s_;
  };

  // splitmix64's finalizer: a bijection, so ordering by Mix(key) is total
  // and a cursor can resume after any key. Its top bits pick the shard.
  static uint64_t Mix(uint64_t key) {
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ull;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebull;
    key ^= key >> 31;
    return key;
  }
  static size_t ShardIndexOfMixed(uint64_t mixed) { return mixed >> (64 - kShardBits); }
  static size_t ShardIndex(uint64_t key) { return ShardIndexOfMixed(Mix(key)); }

  Shard& shard(size_t i) { return *shards_[i]; }
  const Shard& shard(size_t i) const { return *shards_[i]; }
  Shard& ShardOf(uint64_t key) { return *shards_[ShardIndex(key)]; }
  auto& shards() { return shards_; }
  bool thread_safe() const { return thread_safe_; }

  // The key's series or null; its shard's data lock (or the table,
  // exclusively) held by the caller.
  Series* Find(uint64_t key) {
    Shard& sh = ShardOf(key);
    auto it = sh.map.find(key);
    return it == sh.map.end() ? nullptr : it->second;
  }
  // Live series, the overflow series excluded (what max_keys counts).
  uint64_t live_keys() const { return live_keys_.load(std::memory_order_relaxed); }

  // The one way a series joins the table (push, merge, restore): a new,
  // empty series named `name`, at the tail of its shard's LRU list. Table
  // held exclusively. Throws (nothing changed) when an allocation fails.
  Series* Insert(uint64_t key, std::string_view name);
  // Removes and deletes it; table held exclusively.
  void Erase(Series* s) noexcept;

  // Calls visit(series) for every series, one shard locked at a time; the
  // table must be held by the caller.
  template <class F>
  void ForEachSeries(F&& visit);
  // Walks series in Mix(key) order from the cursor, at most cap of them,
  // calling visit(series) until it returns false (page full).
  template <class F>
  size_t Page(Cursor* cursor, size_t cap, F&& visit);

  // EVICT_LRU order. Each shard lists its series by last_touch, oldest
  // first: a push moves the series it updated to their shard's tail under
  // that shard's lock, and a shard's pushes commit in tick order (a push
  // takes its tick while holding every shard lock it needs), so each list
  // stays sorted and k victims are the k oldest heads: O(k log kShards),
  // no scan. Restore and merge set last_touch directly and mark the lists
  // unsorted; the next eviction sorts them once.
  bool lru() const { return lru_; }
  void LruTouch(Series* s) noexcept {  // to its shard's tail (shard held)
    if (!lru_ || s->lru_next == nullptr) return;  // already the newest
    LruUnlink(s);
    LruLink(s);
  }
  // After restore set s->last_touch: notes if the list went out of order.
  void LruNoteRestored(Series* s) noexcept;
  void MarkLruUnsorted() noexcept { lru_sorted_ = !lru_; }
  // Up to `want` least recently updated series that `spare` does not
  // exclude, oldest first, appended to `out`. Table held exclusively.
  template <class F>
  void LruOldest(uint64_t want, F&& spare, ScratchVector<Series*>* out);

 private:
  void LruLink(Series* s) noexcept;  // at its shard's tail
  void LruUnlink(Series* s) noexcept;
  void LruSort();  // table held exclusively

  MemoryAccount* const account_;
  const WindowShape shape_;
  const bool thread_safe_;
  const bool lru_;
  bool lru_sorted_ = true;  // table held exclusively to change or read
  mutable TableMutex table_mu_;
  std::unique_ptr<Shard> shards_[kShards];
  std::atomic<uint64_t> live_keys_{0};
};

template <class F>
void SeriesTable::ForEachSeries(F&& visit) {
  for (auto& shard : shards_) {
    // The set of series changes only under the exclusive table lock, which
    // the caller excludes: an empty shard can be skipped without its lock.
    if (shard->map.empty()) continue;
    ShardLock lock(*this, *shard);
    for (auto& [key, s] : shard->map) visit(s);
  }
}

template <class F>
size_t SeriesTable::Page(Cursor* cursor, size_t cap, F&& visit) {
  if (cursor->done || cap == 0) return 0;
  size_t filled = 0;
  size_t first_shard = cursor->started ? ShardIndexOfMixed(cursor->position) : 0;
  ScratchVector<std::pair<uint64_t, Series*>> page;
  for (size_t sh = first_shard; sh < kShards; ++sh) {
    {
      ShardLock lock(*this, *shards_[sh]);
      page.clear();
      for (auto& [key, s] : shards_[sh]->map) {
        uint64_t m = Mix(key);
        if (!cursor->started || m > cursor->position) page.emplace_back(m, s);
      }
      size_t room = cap - filled;
      if (page.size() > room) {
        std::nth_element(page.begin(), page.begin() + room, page.end());
        page.resize(room + 1);  // one extra tells "more in this shard"
      }
      std::sort(page.begin(), page.end());
      for (size_t k = 0; k < page.size(); ++k) {
        if (filled == cap || !visit(page[k].second)) return filled;
        cursor->position = page[k].first;
        cursor->started = 1;
        ++filled;
      }
    }
    if (sh + 1 < kShards) {
      // Resume at the next shard: every Mix there is above this position.
      cursor->position = (uint64_t{sh + 1} << (64 - kShardBits)) - 1;
      cursor->started = 1;
    }
  }
  cursor->done = 1;
  return filled;
}

template <class F>
void SeriesTable::LruOldest(uint64_t want, F&& spare, ScratchVector<Series*>* out) {
  if (!lru_sorted_) LruSort();
  // A k-way merge of the sorted shard lists by last_touch (ties: any order,
  // as the documented "least recently updated" leaves them).
  Series* heads[kShards];
  size_t nh = 0;
  for (auto& shard : shards_) {
    if (shard->lru_head != nullptr) heads[nh++] = shard->lru_head;
  }
  auto newer = [](const Series* a, const Series* b) { return a->last_touch > b->last_touch; };
  std::make_heap(heads, heads + nh, newer);
  uint64_t found = 0;
  while (nh > 0 && found < want) {
    std::pop_heap(heads, heads + nh, newer);
    Series* s = heads[nh - 1];
    if (s->lru_next != nullptr) {
      heads[nh - 1] = s->lru_next;
      std::push_heap(heads, heads + nh, newer);
    } else {
      --nh;
    }
    if (spare(s)) continue;
    out->push_back(s);
    ++found;
  }
}

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_SERIES_TABLE_H_
