// Serialized state of a whole handle: versioned, little-endian, checksummed,
// validated completely before anything is built. See state.cc for the layout.
#ifndef WINDOWAGG_FORMAT_STATE_H_
#define WINDOWAGG_FORMAT_STATE_H_

#include <cstddef>
#include <cstdint>

#include "core/aggregator.h"

namespace windowagg {

// Bytes Serialize needs for the handle's current state.
size_t SerializedSize(Aggregator& a);
// Writes the state into buf when it fits (returns true); otherwise writes
// nothing and returns false. *size is the state's size either way.
bool Serialize(Aggregator& a, uint8_t* buf, size_t cap, size_t* size);
// A new handle from serialized bytes; throws Error(kCorrupt/kVersion/...).
Aggregator* Restore(const uint8_t* buf, size_t len, bool thread_safe);
// Merges src (same geometry) into dst: moments exactly, sketches bucket-wise.
void MergeHandles(Aggregator* dst, Aggregator& src);
void MergeSerialized(Aggregator* dst, const uint8_t* buf, size_t len);

}  // namespace windowagg

#endif  // WINDOWAGG_FORMAT_STATE_H_
