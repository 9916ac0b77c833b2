package windowagg

/*
#include "helpers.h"
*/
import "C"

// Compile-time checks: every exported constant is declared with a Go literal
// (so `go doc` shows the value, not a cgo name) and must equal its C
// counterpart in windowagg.h. Indexing a one-element array with d or -d
// fails to compile unless d == 0.
var _ = [...]struct{}{
	[1]struct{}{}[int(WindowCount)-C.AGGREGATOR_WINDOW_COUNT],
	[1]struct{}{}[int(WindowSliding)-C.AGGREGATOR_WINDOW_SLIDING],
	[1]struct{}{}[int(WindowTumbling)-C.AGGREGATOR_WINDOW_TUMBLING],
	[1]struct{}{}[int(WindowHopping)-C.AGGREGATOR_WINDOW_HOPPING],
	[1]struct{}{}[int(KeysReject)-C.AGGREGATOR_KEYS_REJECT],
	[1]struct{}{}[int(KeysEvictLRU)-C.AGGREGATOR_KEYS_EVICT_LRU],
	[1]struct{}{}[int(KeysOverflow)-C.AGGREGATOR_KEYS_OVERFLOW],
	[1]struct{}{}[int(StatusOK)-C.AGGREGATOR_OK],
	[1]struct{}{}[int(StatusInvalidArgument)-C.AGGREGATOR_EINVAL],
	[1]struct{}{}[int(StatusConfig)-C.AGGREGATOR_ECONFIG],
	[1]struct{}{}[int(StatusValue)-C.AGGREGATOR_EVALUE],
	[1]struct{}{}[int(StatusNotFound)-C.AGGREGATOR_ENOTFOUND],
	[1]struct{}{}[int(StatusBuffer)-C.AGGREGATOR_EBUFFER],
	[1]struct{}{}[int(StatusNoMemory)-C.AGGREGATOR_ENOMEM],
	[1]struct{}{}[int(StatusKeyLimit)-C.AGGREGATOR_EKEYLIMIT],
	[1]struct{}{}[int(StatusMemoryLimit)-C.AGGREGATOR_EMEMLIMIT],
	[1]struct{}{}[int(StatusCorrupt)-C.AGGREGATOR_ECORRUPT],
	[1]struct{}{}[int(StatusVersion)-C.AGGREGATOR_EVERSION],
	[1]struct{}{}[int(StatusMismatch)-C.AGGREGATOR_EMISMATCH],
	[1]struct{}{}[int(StatusUnsupported)-C.AGGREGATOR_EUNSUPPORTED],
	[1]struct{}{}[int(StatusInternal)-C.AGGREGATOR_EINTERNAL],
	[1]struct{}{}[C.AGGREGATOR_WINDOW_COUNT-int(WindowCount)],
	[1]struct{}{}[C.AGGREGATOR_WINDOW_SLIDING-int(WindowSliding)],
	[1]struct{}{}[C.AGGREGATOR_WINDOW_TUMBLING-int(WindowTumbling)],
	[1]struct{}{}[C.AGGREGATOR_WINDOW_HOPPING-int(WindowHopping)],
	[1]struct{}{}[C.AGGREGATOR_KEYS_REJECT-int(KeysReject)],
	[1]struct{}{}[C.AGGREGATOR_KEYS_EVICT_LRU-int(KeysEvictLRU)],
	[1]struct{}{}[C.AGGREGATOR_KEYS_OVERFLOW-int(KeysOverflow)],
	[1]struct{}{}[C.AGGREGATOR_OK-int(StatusOK)],
	[1]struct{}{}[C.AGGREGATOR_EINVAL-int(StatusInvalidArgument)],
	[1]struct{}{}[C.AGGREGATOR_ECONFIG-int(StatusConfig)],
	[1]struct{}{}[C.AGGREGATOR_EVALUE-int(StatusValue)],
	[1]struct{}{}[C.AGGREGATOR_ENOTFOUND-int(StatusNotFound)],
	[1]struct{}{}[C.AGGREGATOR_EBUFFER-int(StatusBuffer)],
	[1]struct{}{}[C.AGGREGATOR_ENOMEM-int(StatusNoMemory)],
	[1]struct{}{}[C.AGGREGATOR_EKEYLIMIT-int(StatusKeyLimit)],
	[1]struct{}{}[C.AGGREGATOR_EMEMLIMIT-int(StatusMemoryLimit)],
	[1]struct{}{}[C.AGGREGATOR_ECORRUPT-int(StatusCorrupt)],
	[1]struct{}{}[C.AGGREGATOR_EVERSION-int(StatusVersion)],
	[1]struct{}{}[C.AGGREGATOR_EMISMATCH-int(StatusMismatch)],
	[1]struct{}{}[C.AGGREGATOR_EUNSUPPORTED-int(StatusUnsupported)],
	[1]struct{}{}[C.AGGREGATOR_EINTERNAL-int(StatusInternal)],
}
