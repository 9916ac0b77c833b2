#include "core/memory.h"

#if WINDOWAGG_SYSTEM_ALLOCATOR
#include <malloc.h>
#include <cstdlib>
#define mi_malloc std::malloc
#define mi_free std::free
// glibc's malloc_usable_size takes a non-const pointer.
static size_t mi_usable_size(const void* p) { return malloc_usable_size(const_cast<void*>(p)); }
#else
#include <mimalloc.h>
#endif

#if WINDOWAGG_FAULT_INJECTION
#include <cstdio>
#include <cstdlib>
#endif

namespace windowagg::internal {

#if WINDOWAGG_FAULT_INJECTION
namespace fault_injection {
namespace {
std::atomic<bool> armed{false};
std::atomic<uint64_t> counted{0};
std::atomic<uint64_t> fail_at{0};
std::atomic<int64_t> live{0};
}  // namespace

void FailNth(uint64_t n) {
  counted.store(0);
  fail_at.store(n);
  armed.store(true);
}
void Disarm() { armed.store(false); }
uint64_t Counted() { return counted.load(); }
int64_t Live() { return live.load(); }

namespace {
thread_local int no_allocation_depth = 0;
}
NoAllocationScope::NoAllocationScope() { ++no_allocation_depth; }
NoAllocationScope::~NoAllocationScope() { --no_allocation_depth; }

// True when this allocation is the one to fail.
static bool ShouldFail() {
  if (no_allocation_depth > 0) {
    std::fprintf(stderr, "windowagg: allocation inside a no-allocation (commit) scope\n");
    std::abort();
  }
  if (!armed.load(std::memory_order_relaxed)) return false;
  uint64_t k = counted.fetch_add(1) + 1;
  return k == fail_at.load();
}
}  // namespace fault_injection
#endif

void MemoryAccount::CheckRoom(size_t expected, const char* what) const {
  uint64_t now = bytes();
  if (limit_ != 0 && now + expected > limit_) {
    Fail(Status::kMemLimit,
         "memory_limit of %u bytes reached: the handle holds %u bytes and %s needs about %u "
         "more; nothing was applied",
         limit_, now, what, expected);
  }
}

void* Allocate(MemoryAccount* account, size_t n) {
  if (n == 0) n = 1;
#if WINDOWAGG_FAULT_INJECTION
  if (fault_injection::ShouldFail()) throw std::bad_alloc();
  fault_injection::live.fetch_add(1);
#endif
  void* p = mi_malloc(n);
  if (p == nullptr) {
#if WINDOWAGG_FAULT_INJECTION
    fault_injection::live.fetch_sub(1);
#endif
    throw std::bad_alloc();
  }
  if (account != nullptr) account->Charge(mi_usable_size(p));
  return p;
}

void Deallocate(MemoryAccount* account, void* p) noexcept {
  if (p == nullptr) return;
#if WINDOWAGG_FAULT_INJECTION
  fault_injection::live.fetch_sub(1);
#endif
  if (account != nullptr) account->Credit(mi_usable_size(p));
  mi_free(p);
}

size_t AllocatedSize(const void* p) noexcept { return p ? mi_usable_size(p) : 0; }

void ReleaseFreeMemory() noexcept {
#if WINDOWAGG_SYSTEM_ALLOCATOR
  malloc_trim(0);
#else
  mi_collect(/*force=*/true);  // (this thread's heap and abandoned pages)
#endif
}

void ThreadDone() noexcept {
#if !WINDOWAGG_SYSTEM_ALLOCATOR
  mi_thread_done();
#endif
}

void* MemoryScope::Allocate(size_t n) const {
  void* p = windowagg::internal::Allocate(account, n);
  if (series_bytes != nullptr) *series_bytes += static_cast<int64_t>(AllocatedSize(p));
  return p;
}

void MemoryScope::Deallocate(void* p) const noexcept {
  if (p == nullptr) return;
  if (series_bytes != nullptr) *series_bytes -= static_cast<int64_t>(AllocatedSize(p));
  windowagg::internal::Deallocate(account, p);
}

}  // namespace windowagg::internal
