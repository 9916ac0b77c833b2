// Memory for one handle: every byte of library state comes from mimalloc's
// explicit API (never the host's malloc, never an override) and is counted
// against the handle, so memory use is reportable and a ceiling enforceable.
#ifndef WINDOWAGG_CORE_MEMORY_H_
#define WINDOWAGG_CORE_MEMORY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "core/error.h"

#if WINDOWAGG_FAULT_INJECTION
#include "core/fault_injection.h"
#define WINDOWAGG_NO_ALLOCATION_HERE() \
  ::windowagg::internal::fault_injection::NoAllocationScope windowagg_no_allocation_here_
#else
// Documents (and, in fault-injection test builds, enforces) that the rest of
// the enclosing scope allocates nothing.
#define WINDOWAGG_NO_ALLOCATION_HERE() static_cast<void>(0)
#endif

namespace windowagg::internal {

// Bytes held by one handle, and its optional ceiling. Shared by all threads.
class MemoryAccount {
 public:
  explicit MemoryAccount(uint64_t limit = 0) : limit_(limit) {}
  MemoryAccount(const MemoryAccount&) = delete;
  MemoryAccount& operator=(const MemoryAccount&) = delete;

  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

  // The ceiling is checked before a change starts (CheckRoom), never in the
  // middle of one: a change is applied whole, and may end past the limit by
  // what that one change needed. So growth is bounded by the limit plus one
  // batch, and no change is ever half-applied because of the limit.
  void CheckRoom(size_t expected, const char* what) const;
  void Charge(size_t n) { bytes_.fetch_add(n, std::memory_order_relaxed); }
  void Credit(size_t n) { bytes_.fetch_sub(n, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> bytes_{0};
  uint64_t limit_;
};

// Allocates `n` bytes charged to `account` (nullptr: uncounted). Throws
// std::bad_alloc or Error(kMemLimit); never returns nullptr for n > 0.
void* Allocate(MemoryAccount* account, size_t n);
// Frees memory from Allocate; returns its usable size to `account`.
void Deallocate(MemoryAccount* account, void* p) noexcept;
// Bytes Allocate really reserved for `p` (what the account was charged).
size_t AllocatedSize(const void* p) noexcept;
// Gives the memory the allocator holds free back to the OS. mimalloc keeps
// a thread's freed pages resident until that thread allocates again: a
// freed handle of 660 MiB left the process's RSS where it was.
void ReleaseFreeMemory() noexcept;
// The calling thread is about to end without its C exit handlers (a Go
// thread): hands its allocator heap over (abandoned pages are reclaimed by
// the other threads' collects). No-op with the system allocator.
void ThreadDone() noexcept;

// Where a series' buffers charge their bytes: the handle's account plus the
// series' own tally (for per-series memory reports; may be null).
struct MemoryScope {
  MemoryAccount* account;
  int64_t* series_bytes;

  void* Allocate(size_t n) const;
  void Deallocate(void* p) const noexcept;
};

// STL allocator charging a MemoryScope (for hash maps, deques, vectors).
template <class T>
class ScopeAllocator {
 public:
  using value_type = T;
  explicit ScopeAllocator(const MemoryScope* scope) noexcept : scope_(scope) {}
  template <class U>
  ScopeAllocator(const ScopeAllocator<U>& other) noexcept  // NOLINT
      : scope_(other.scope()) {}
  T* allocate(size_t n) { return static_cast<T*>(scope_->Allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t) noexcept { scope_->Deallocate(p); }
  const MemoryScope* scope() const noexcept { return scope_; }
  template <class U>
  bool operator==(const ScopeAllocator<U>& o) const noexcept {
    return scope_ == o.scope();
  }

 private:
  const MemoryScope* scope_;
};

// Temporary buffers of one call (not charged to a handle), from the same
// allocator as handle state (mimalloc, or malloc in sanitizer builds), so a
// failure throws std::bad_alloc (the C ABI answers AGGREGATOR_ENOMEM) and
// fault injection sees it. (mimalloc's own mi_stl_allocator aborts when an
// allocation fails in Debian's build.)
template <class T>
class ScratchAllocator {
 public:
  using value_type = T;
  ScratchAllocator() noexcept = default;
  template <class U>
  ScratchAllocator(const ScratchAllocator<U>&) noexcept {}  // NOLINT
  T* allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    return static_cast<T*>(windowagg::internal::Allocate(nullptr, n * sizeof(T)));
  }
  void deallocate(T* p, size_t) noexcept { windowagg::internal::Deallocate(nullptr, p); }
  template <class U>
  bool operator==(const ScratchAllocator<U>&) const noexcept {
    return true;
  }
};
template <class T>
using ScratchVector = std::vector<T, ScratchAllocator<T>>;

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_MEMORY_H_
