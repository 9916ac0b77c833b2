
#include "core/aggregator.h"

#include <atomic>
#include <new>

#include "core/error.h"

namespace windowagg::internal {

Aggregator::Aggregator(const Config& config)
    : config_(config),
      geometry_(PaneWindow::GeometryFor(config)),
      shape_{config.kind, static_cast<uint64_t>(config.window_size), &geometry_, config.quantiles},
      timed_(Window::Timed(shape_)),
      emits_(Window::Emits(shape_)),
      mapping_(config.relative_accuracy),
      account_(config.memory_limit),
      scope_{&account_, nullptr},
      table_(&account_, &scope_, shape_,
             config.thread_safe, config.key_policy == KeyPolicy::kEvictLru && config.max_keys != 0),
      queue_(&scope_) {
  // Abseil's mutex deadlock detection is the host's process-wide setting
  // (Debian's shared Abseil has it on): the library never changes it.
}

Aggregator::~Aggregator() = default;

namespace {
// A big handle was freed since the last collect (see Destroy).
std::atomic<bool> big_handle_freed{false};
}  // namespace

Aggregator* Aggregator::Create(const Config& config) {
  // What a freed big handle left in the heaps of threads that were still
  // running then (a Go Batcher's flush thread, which ends just after its
  // Close returns) is abandoned when they exit, and only a collect after
  // that gives it back: the showdown's second side started with the first
  // one's 650 MiB still resident in 2 of 3 runs. A new handle is the next
  // moment the library runs.
  if (big_handle_freed.exchange(false, std::memory_order_relaxed)) ReleaseFreeMemory();
  void* mem = Allocate(nullptr, sizeof(Aggregator));
  try {
    return new (mem) Aggregator(config);
  } catch (...) {
    Deallocate(nullptr, mem);
    throw;
  }
}

void Aggregator::Destroy(Aggregator* a) noexcept {
  if (a == nullptr) return;
  const uint64_t held = a->account_.bytes();
  a->~Aggregator();
  Deallocate(nullptr, a);
  // A big handle's memory goes back to the OS now, not whenever this
  // thread allocates again (a small one's is not worth the heap walk).
  constexpr uint64_t kReleaseFrom = uint64_t{16} << 20;
  if (held >= kReleaseFrom) {
    ReleaseFreeMemory();
    big_handle_freed.store(true, std::memory_order_relaxed);
  }
}

Aggregator::Watermark Aggregator::CurrentWatermark() const {
  if (!has_watermark_.load(std::memory_order_acquire)) return {false, 0};
  return {true, watermark_.load(std::memory_order_acquire)};
}

void Aggregator::RaiseWatermark(int64_t wm) {
  int64_t cur = watermark_.load(std::memory_order_relaxed);
  if (!has_watermark_.load(std::memory_order_acquire)) {
    // First value: race only against other first values.
    bool expected = false;
    watermark_.store(wm, std::memory_order_relaxed);
    if (has_watermark_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return;
    cur = watermark_.load(std::memory_order_relaxed);
  }
  while (wm > cur && !watermark_.compare_exchange_weak(cur, wm, std::memory_order_acq_rel)) {
  }
}

void Aggregator::RemoveKey(uint64_t key) {
  SeriesTable::TableLock table(table_, true);
  Series* s = table_.Find(key);
  if (s == nullptr) Fail(Status::kNotFound, "no series with key %u", key);
  BringUpToDate(s, CurrentWatermark());  // windows already closed stay queued
  table_.Erase(s);
}

uint64_t Aggregator::MemoryUsage() const { return account_.bytes() + AllocatedSize(this); }

uint64_t Aggregator::KeyMemoryUsage(uint64_t key) {
  SeriesTable::TableLock table(table_, false);
  SeriesTable::ShardLock lock(table_, table_.ShardOf(key));
  Series* s = table_.Find(key);
  if (s == nullptr) Fail(Status::kNotFound, "no series with key %u", key);
  return AllocatedSize(s) + static_cast<uint64_t>(s->bytes);
}

}  // namespace windowagg::internal
