// Build workaround, force-included into src/core/memory.cc by CMakeLists.txt
// when WINDOWAGG_SYSTEM_ALLOCATOR=1 (sanitizer and fuzz builds).
//
// Library bug: with WINDOWAGG_SYSTEM_ALLOCATOR=1, memory.cc maps
// mi_usable_size to glibc's malloc_usable_size, whose parameter is `void*`,
// and calls it with `const void*` (AllocatedSize): an error in both GCC and
// Clang. Fix in src (const_cast) and delete this file and its -include.
#ifndef WINDOWAGG_SYSTEM_ALLOCATOR_COMPAT_H_
#define WINDOWAGG_SYSTEM_ALLOCATOR_COMPAT_H_
#ifdef __cplusplus
#include <malloc.h>
#include <cstddef>
inline size_t malloc_usable_size(const void* p) noexcept {
  return ::malloc_usable_size(const_cast<void*>(p));
}
#endif
#endif
