// The values of a series' panes, grouped by pane in pane order: the
// compact form of a pane window while its panes are small (PaneWindow). A
// pane costs 12 bytes of directory and its values 8 bytes each; there are
// no per-pane moments or sketches: reads summarize the panes' values and
// take their exact order statistics. That is what makes a quiet series cost
// ~8 bytes a value instead of ~190 bytes a pane (pane object, sketch block
// header, size class rounding).
//
// The header (counts, where the live data starts, the newest pane's index)
// lives in the object, inside the series. The values live in chunks of
// kChunkValues, all of one size: a window that slides frees a chunk at its
// front about as often as it needs one at its back, and hands it over
// directly (one spare is kept). One size for every series is what keeps the
// allocator's pages full: blocks of many sizes, each series' block growing
// through them, left a quarter of the pages they passed through as holes
// no later allocation fitted (the showdown's RSS was 190 MiB over the
// state). The block holds the directory ring, int64 index[cap_panes] |
// uint32 count[cap_panes], then the chunk ring, double* chunks[cap_chunks].
// The live panes are the directory slots from pane_base on; their values,
// pane after pane, start value_base values into the chunk at chunk_base. So
// a reservation reads only the series (the usual value: one more in the
// newest pane, whose count the header keeps), an add writes the values'
// tail and the series, and a pane sliding out moves the bases: nothing is
// ever moved but for a value of an older pane (inside the lateness), which
// shifts the values after it.
//
// Two-phase like every window: Reserve makes room (may allocate), Add then
// allocates nothing. Reservations are counts (and chunks, kept as spares),
// not entries, so an undone push leaves no values behind.
#ifndef WINDOWAGG_CORE_RAW_PANES_H_
#define WINDOWAGG_CORE_RAW_PANES_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/functional/function_ref.h"
#include "core/memory.h"

namespace windowagg::internal {

class RawPanes {
 public:
  RawPanes() = default;
  RawPanes(const RawPanes&) = delete;
  RawPanes& operator=(const RawPanes&) = delete;
  // The block must have been freed (Free) before destruction.
  ~RawPanes() = default;

  void Free(const MemoryScope& scope) noexcept;

  bool empty() const { return h_.npanes == 0; }
  uint32_t pane_count() const { return h_.npanes; }
  uint32_t value_count() const { return h_.nvalues; }
  bool pending() const { return (h_.pending_values | h_.pending_panes) != 0; }
  int64_t index(uint32_t k) const { return Index()[Slot(k)]; }
  uint32_t count(uint32_t k) const {
    return k + 1 == h_.npanes ? h_.newest_count : Count()[Slot(k)];
  }
  // The first pane at or above `index` (pane_count() if none).
  uint32_t LowerBound(int64_t index) const;
  // Appends the values of panes [k, m) (k <= m <= pane_count()), in pane
  // order, to *out.
  void CopyValues(uint32_t k, uint32_t m, ScratchVector<double>* out) const;
  // f(k, index, values) for panes [k, m), each pane's values contiguous
  // (copied to a thread-local scratch where they span two chunks: valid
  // during the call only).
  void ForEachPane(uint32_t k, uint32_t m,
                   absl::FunctionRef<void(uint32_t, int64_t, std::span<const double>)> f) const;
  // Chunks held (live and spare): what tests check the recycling by.
  uint32_t chunk_count() const { return h_.nchunks; }
  static constexpr uint32_t kChunkValues = 32;

  // Room for n more values in pane `index` on top of this call's earlier
  // reservations (may allocate; changes no value).
  void Reserve(int64_t index, size_t n, const MemoryScope& scope);
  // Adds reserved values to pane `index` (allocates nothing).
  void Add(int64_t index, const double* x, size_t n) noexcept;
  // Ends the call's reservations; frees an empty block (nothing pending).
  void ClearPending(const MemoryScope& scope) noexcept;
  // Drops panes [0, k) (slid out or closed).
  void PopFront(uint32_t k) noexcept;

 private:
  static constexpr uint32_t kChunkShift = 5;
  static_assert(kChunkValues == 1u << kChunkShift);
  struct Header {
    uint32_t npanes = 0;
    uint32_t cap_panes = 0;  // even: the chunk pointers after the directory stay 8-aligned
    uint32_t nvalues = 0;
    uint32_t pending_panes = 0;   // panes this call may add
    uint32_t pending_values = 0;  // values this call may add
    uint32_t pane_base = 0;       // ring slot of the oldest pane
    uint32_t newest_count = 0;    // values of the newest pane (see below)
    uint32_t cap_chunks = 0;      // chunk ring slots
    uint32_t nchunks = 0;         // chunks held, from chunk_base on (live, then spare)
    uint32_t chunk_base = 0;      // ring slot of the chunk holding the oldest value
    uint32_t value_base = 0;      // position of the oldest value in that chunk (< kChunkValues)
    // Nonzero: the one chunk held is inline, at the block's end, room for
    // this many values (even, at most kChunkValues), and the
    // values and reservations fit in it: a quiet series keeps its few
    // values next to its directory, one block and one miss as before the
    // chunks.
    uint32_t first_cap = 0;
    // Index of the newest pane (npanes > 0). Its count is kept in
    // newest_count and written to the directory when a newer pane starts:
    // the usual value touches no directory line.
    int64_t newest = 0;
    // The chunk holding the newest value (null: none, or not known): an
    // append that stays in it reads no chunk pointer (a miss on the
    // block's ring in a keyed push).
    double* tail = nullptr;
  };
  int64_t* Index() const { return reinterpret_cast<int64_t*>(b_); }
  uint32_t* Count() const { return reinterpret_cast<uint32_t*>(Index() + h_.cap_panes); }
  double** Chunks() const { return reinterpret_cast<double**>(Count() + h_.cap_panes); }
  // Ring slot of live pane k (k <= cap_panes).
  uint32_t Slot(uint32_t k) const {
    const uint64_t s = uint64_t{h_.pane_base} + k;
    return static_cast<uint32_t>(s >= h_.cap_panes ? s - h_.cap_panes : s);
  }
  // Chunk ring slot of held chunk c (c < cap_chunks).
  uint32_t ChunkSlot(uint32_t c) const {
    const uint64_t s = uint64_t{h_.chunk_base} + c;
    return static_cast<uint32_t>(s >= h_.cap_chunks ? s - h_.cap_chunks : s);
  }
  // The value `offset` values after the oldest (room must be held there).
  double* At(uint64_t offset) const {
    const uint64_t q = h_.value_base + offset;
    return Chunks()[ChunkSlot(static_cast<uint32_t>(q >> kChunkShift))] + (q & (kChunkValues - 1));
  }
  // Chunks the values up to `offset` (exclusive) take.
  uint64_t ChunksFor(uint64_t offset) const {
    return (h_.value_base + offset + kChunkValues - 1) >> kChunkShift;
  }
  // Values in panes [0, k).
  uint64_t OffsetOf(uint32_t k) const;
  // Copies n values into the chunks from offset `at` on.
  void Put(uint64_t at, const double* x, size_t n) noexcept;
  // Calls f(span) for the values [lo, hi), chunk by chunk.
  template <class F>
  void ForEachSpan(uint64_t lo, uint64_t hi, F&& f) const;
  bool Has(int64_t index) const;
  // A new block with room for `panes` directory slots and `chunks` chunk
  // slots (the chunks themselves stay where they are) and, if nonzero,
  // `inline_values` values after them: the one chunk, inline (the values
  // held inline move with the block).
  void Regrow(uint64_t panes, uint64_t chunks, uint64_t inline_values,
              const MemoryScope& scope);
  // Moves inline values to a chunk of their own (first_cap != 0).
  void LeaveInline(const MemoryScope& scope);
  // Frees held chunks past the live ones and this call's reservations but
  // one (the spare the next growth takes).
  void TrimSpares(const MemoryScope& scope) noexcept;

  Header h_;
  char* b_ = nullptr;  // null: nothing held, the header all zero
};
static_assert(sizeof(RawPanes) == 72, "it lives in every pane window: keep it small");

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_RAW_PANES_H_
