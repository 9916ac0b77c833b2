#include "format/state.h"

#include "core/error.h"

namespace windowagg {

size_t SerializedSize(Aggregator&) {
  Fail(Status::kUnsupported, "serialization is not implemented yet");
}
bool Serialize(Aggregator&, uint8_t*, size_t, size_t*) {
  Fail(Status::kUnsupported, "serialization is not implemented yet");
}
Aggregator* Restore(const uint8_t*, size_t, bool) {
  Fail(Status::kUnsupported, "serialization is not implemented yet");
}
void MergeHandles(Aggregator*, Aggregator&) {
  Fail(Status::kUnsupported, "merge is not implemented yet");
}
void MergeSerialized(Aggregator*, const uint8_t*, size_t) {
  Fail(Status::kUnsupported, "merge is not implemented yet");
}

}  // namespace windowagg
