// Serialized state of a whole handle: versioned, little-endian, checksummed,
// validated completely before anything is built. See state.cc for the layout.
#ifndef WINDOWAGG_STATE_STATE_H_
#define WINDOWAGG_STATE_STATE_H_

#include <cstddef>
#include <cstdint>

#include "core/aggregator.h"

namespace windowagg::internal {

// Serialization sizes and writes under one hold of the handle's locks (the
// table exclusively, then the closed-window queue) from one view: one
// watermark, every due window closed once. Concurrent advance, poll, push or
// merge calls wait or are not seen; none can make the bytes written differ
// from the size counted, and no byte past cap is ever written.
//
// Bytes Serialize needs for the handle's current state.
size_t SerializedSize(Aggregator& a);
// Writes the state into buf when it fits (returns true); otherwise writes
// nothing and returns false. *size is the state's size either way, and on
// success exactly the number of bytes written.
bool Serialize(Aggregator& a, uint8_t* buf, size_t cap, size_t* size);
// A new handle from serialized bytes; throws Error(kCorrupt/kVersion/...).
Aggregator* Restore(const uint8_t* buf, size_t len, bool thread_safe);
// Merges serialized state into dst: validated, built as a private handle,
// then Aggregator::MergeFrom (handles merge directly, without bytes).
void MergeSerialized(Aggregator* dst, const uint8_t* buf, size_t len);

}  // namespace windowagg::internal

#endif  // WINDOWAGG_STATE_STATE_H_
