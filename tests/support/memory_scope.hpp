// A handle-less memory scope for component tests: the account and series
// tally a series' buffers charge, so a test can check that everything it
// allocated was returned (account.bytes() == 0 after Free).
#ifndef WINDOWAGG_TESTS_SUPPORT_MEMORY_SCOPE_HPP_
#define WINDOWAGG_TESTS_SUPPORT_MEMORY_SCOPE_HPP_

#include <cstdint>

#include "core/memory.h"

namespace windowagg_test {

struct Scoped {
  windowagg::internal::MemoryAccount account;
  int64_t series_bytes = 0;
  windowagg::internal::MemoryScope scope{&account, &series_bytes};
};

}  // namespace windowagg_test

#endif  // WINDOWAGG_TESTS_SUPPORT_MEMORY_SCOPE_HPP_
