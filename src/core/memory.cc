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

namespace windowagg {

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
  void* p = mi_malloc(n);
  if (p == nullptr) throw std::bad_alloc();
  if (account != nullptr) account->Charge(mi_usable_size(p));
  return p;
}

void Deallocate(MemoryAccount* account, void* p) noexcept {
  if (p == nullptr) return;
  if (account != nullptr) account->Credit(mi_usable_size(p));
  mi_free(p);
}

size_t AllocatedSize(const void* p) noexcept { return p ? mi_usable_size(p) : 0; }

void* MemoryScope::Allocate(size_t n) const {
  void* p = windowagg::Allocate(account, n);
  if (series_bytes != nullptr) *series_bytes += static_cast<int64_t>(AllocatedSize(p));
  return p;
}

void MemoryScope::Deallocate(void* p) const noexcept {
  if (p == nullptr) return;
  if (series_bytes != nullptr) *series_bytes -= static_cast<int64_t>(AllocatedSize(p));
  windowagg::Deallocate(account, p);
}

}  // namespace windowagg
