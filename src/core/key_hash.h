// The documented, stable id of a byte-string key.
#ifndef WINDOWAGG_CORE_KEY_HASH_H_
#define WINDOWAGG_CORE_KEY_HASH_H_

#include <cstddef>
#include <cstdint>

namespace windowagg::internal {

// XXH3_64bits(bytes, len) with seed 0: the same in every process and
// language (xxHash 0.8's stable output). bytes may be NULL when len == 0.
uint64_t KeyHash(const void* bytes, size_t len);

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_KEY_HASH_H_
