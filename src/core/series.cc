#include "core/series.h"

#include <cstring>

namespace windowagg::internal {

Series::Series(uint64_t k, MemoryAccount* account, const WindowShape& shape)
    // (The window only keeps &scope: it allocates nothing when made.)
    : key(k), window(shape, &scope), scope{account, &bytes},
      marks(ScopeAllocator<CounterMark>(&scope)) {}

Series::~Series() {
  window.Free(scope);
  scope.Deallocate(name_);
}

void Series::SetName(std::string_view n) {
  if (n.empty()) return;
  auto* p = static_cast<uint8_t*>(scope.Allocate(n.size()));
  std::memcpy(p, n.data(), n.size());
  scope.Deallocate(name_);
  name_ = p;
  name_len_ = static_cast<uint32_t>(n.size());
}

}  // namespace windowagg::internal
