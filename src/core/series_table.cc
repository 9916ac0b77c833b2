#include "core/series_table.h"

#include <new>

#include "core/hash_map_room.h"
#include "core/spin_wait.h"

namespace windowagg::internal {

SeriesTable::SeriesTable(MemoryAccount* account, const MemoryScope* scope, WindowShape shape,
                         bool thread_safe, bool lru)
    : account_(account), shape_(shape), thread_safe_(thread_safe), lru_(lru) {
  for (auto& s : shards_) s = std::make_unique<Shard>(scope);
}

SeriesTable::~SeriesTable() {
  for (auto& shard : shards_) {
    for (auto& [key, s] : shard->map) {
      s->~Series();
      Deallocate(account_, s);
    }
    shard->map.clear();
  }
}

SeriesTable::TableLock::TableLock(const SeriesTable& t, bool exclusive)
    : t_(&t) {
  if (!t_->thread_safe_) return;
  if (exclusive) {
    t_->table_mu_.Lock();
  } else {
    t_->table_mu_.ReaderLock();
  }
}

void SeriesTable::ShardLock::Wait(Shard& s) {
  // Counted in `waiting` only while it spins: a push hands the lock over
  // only to a thread that takes it at once, never waits for one the
  // kernel would first have to wake.
  s.waiting.fetch_add(1, std::memory_order_relaxed);
  const bool taken = SpinUntil([&] { return s.mu.try_lock(); }, kWaiterSpin);
  s.waiting.fetch_sub(1, std::memory_order_relaxed);
  if (!taken) s.mu.lock();
}

SeriesTable::TableLock::~TableLock() {
  if (t_->thread_safe_) t_->table_mu_.Unlock();  // (either mode)
}

Series* SeriesTable::Insert(uint64_t key, std::string_view name) {
  void* mem = Allocate(account_, sizeof(Series));
  Series* s;
  try {
    s = new (mem) Series(key, account_, shape_);
  } catch (...) {
    Deallocate(account_, mem);
    throw;
  }
  try {
    s->SetName(name);
    Shard& sh = ShardOf(key);
    MakeRoomForInsert(sh.map);  // core/hash_map_room.h: why and how
    sh.map.emplace(key, s);
  } catch (...) {
    s->~Series();
    Deallocate(account_, s);
    throw;
  }
  LruLink(s);
  if (key != kOverflowKey) live_keys_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

void SeriesTable::Erase(Series* s) noexcept {
  LruUnlink(s);
  ShardOf(s->key).map.erase(s->key);
  if (s->key != kOverflowKey) live_keys_.fetch_sub(1, std::memory_order_relaxed);
  s->~Series();
  Deallocate(account_, s);
}

void SeriesTable::LruLink(Series* s) noexcept {
  if (!lru_) return;
  Shard& sh = ShardOf(s->key);
  s->lru_next = nullptr;
  s->lru_prev = sh.lru_tail;
  (sh.lru_tail ? sh.lru_tail->lru_next : sh.lru_head) = s;
  sh.lru_tail = s;
}

void SeriesTable::LruUnlink(Series* s) noexcept {
  if (!lru_) return;
  Shard& sh = ShardOf(s->key);
  (s->lru_prev ? s->lru_prev->lru_next : sh.lru_head) = s->lru_next;
  (s->lru_next ? s->lru_next->lru_prev : sh.lru_tail) = s->lru_prev;
  s->lru_prev = s->lru_next = nullptr;
}

void SeriesTable::LruNoteRestored(Series* s) noexcept {
  if (lru_ && s->lru_prev != nullptr && s->lru_prev->last_touch > s->last_touch) {
    lru_sorted_ = false;
  }
}

void SeriesTable::LruSort() {
  // Allocates before it relinks a shard; a failure leaves the lists whole
  // (some sorted already) and lru_sorted_ false.
  ScratchVector<Series*> order;
  for (auto& shard : shards_) {
    order.clear();
    for (Series* s = shard->lru_head; s != nullptr; s = s->lru_next) order.push_back(s);
    std::stable_sort(order.begin(), order.end(),
                     [](const Series* a, const Series* b) { return a->last_touch < b->last_touch; });
    shard->lru_head = shard->lru_tail = nullptr;
    for (Series* s : order) LruLink(s);
  }
  lru_sorted_ = true;
}

}  // namespace windowagg::internal
