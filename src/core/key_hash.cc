#include "core/key_hash.h"

#include <xxhash.h>

namespace windowagg::internal {

uint64_t KeyHash(const void* bytes, size_t len) {
  static const char kEmpty = 0;
  return XXH3_64bits(len == 0 ? &kEmpty : bytes, len);
}

}  // namespace windowagg::internal
