// Growing an absl::flat_hash_map so that a failed allocation leaves it whole.
#ifndef WINDOWAGG_CORE_HASH_MAP_ROOM_H_
#define WINDOWAGG_CORE_HASH_MAP_ROOM_H_

#include <algorithm>
#include <cstddef>
#include <new>

namespace windowagg::internal {

// Call before inserting one key into `map` (an absl::flat_hash_map).
// Abseil's raw_hash_set (Debian's 20220623) records the new capacity
// before it allocates, so a growing rehash that fails to allocate leaves
// the table corrupt. So an insert must never grow the table: with size+1
// at most 25/32 of a capacity above one group, a table out of free slots
// rehashes in place, without allocating. Growing happens here, into a new
// table; the allocation-failure tests cover every insert site.
template <class Map>
void MakeRoomForInsert(Map& map) {
  const size_t cap = map.capacity();
  if (cap > 16 && (map.size() + 1) * 32 <= cap * 25) return;
  alignas(Map) unsigned char raw[sizeof(Map)];
  auto* grown = new (raw) Map(map.get_allocator());
  // If this throws, `grown` made only the failed allocation and owns
  // nothing: it is abandoned, not destroyed (its destructor would trust the
  // capacity it recorded).
  grown->reserve(std::max<size_t>(2 * (map.size() + 1), 32));
  for (auto& [key, value] : map) grown->emplace(key, value);  // reserved: no rehash
  map.swap(*grown);
  grown->~Map();
}

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_HASH_MAP_ROOM_H_
