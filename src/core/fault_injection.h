// Allocation-failure injection for tests (issue: every public call must
// answer ENOMEM, leave the handle as it was and leak nothing, whichever
// allocation fails). Compiled in only when WINDOWAGG_FAULT_INJECTION is
// defined: the shipped library has none of it (see the
// windowagg_fault_injection target in the top-level CMakeLists.txt).
//
// Every allocation the library makes goes through windowagg::Allocate (handle
// state and per-call scratch alike), which is where the countdown is checked.
#ifndef WINDOWAGG_CORE_FAULT_INJECTION_H_
#define WINDOWAGG_CORE_FAULT_INJECTION_H_

#include <cstdint>

namespace windowagg::internal::fault_injection {

// Starts counting library allocations; the nth one from now (1-based) fails
// as a failed malloc would (std::bad_alloc). n == 0 counts without failing.
// Process-wide: tests that use it must not run library calls concurrently.
void FailNth(uint64_t n);
// Stops failing and counting.
void Disarm();
// Allocations counted since the last FailNth, the failed one included.
uint64_t Counted();
// Library allocations not yet freed, counted since the process started.
int64_t Live();

// Marks code that must not allocate (the commit phase of a push or merge,
// which cannot be undone halfway): an allocation inside aborts the process
// with a message, armed or not, so any test run catches it.
class NoAllocationScope {
 public:
  NoAllocationScope();
  ~NoAllocationScope();
  NoAllocationScope(const NoAllocationScope&) = delete;
  NoAllocationScope& operator=(const NoAllocationScope&) = delete;
};

}  // namespace windowagg::internal::fault_injection

#endif  // WINDOWAGG_CORE_FAULT_INJECTION_H_
