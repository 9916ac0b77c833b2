// The values of a series' panes in one block, grouped by pane in pane
// order: the compact form of a pane window while its panes are small
// (PaneWindow). A pane costs 12 bytes of directory and its values 8 bytes
// each; there are no per-pane moments or sketches: reads summarize the
// panes' values and take their exact order statistics. That is what makes
// a quiet series cost ~8 bytes a value instead of ~190 bytes a pane (pane
// object, sketch block header, size class rounding).
//
// The header (counts, capacities, where the live data starts, the newest
// pane's index) lives in the object, inside the series; the block holds two
// rings: the directory, int64 index[cap_panes] | uint32 count[cap_panes],
// and double values[cap_values]. The live panes are the cap_panes-ring
// slots from pane_base on, their values the cap_values-ring positions from
// value_base on, pane after pane. So a reservation reads only the series,
// the usual value — one more in the newest pane, whose count the header
// keeps — writes only the values' tail and the series, and a pane sliding
// out moves the bases: nothing is ever moved but for a value of an older
// pane (inside the lateness), which shifts the values after it. A pane's
// values may wrap around the ring's end: ForEachPane hands them over
// contiguous, Segments as two spans.
//
// Two-phase like every window: Reserve makes room (may allocate), Add then
// allocates nothing. Reservations are counts, not entries, so an undone
// push leaves nothing behind.
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
  // The values of panes [k, m) (k <= m <= pane_count()), in pane order, as
  // one or two spans (*nb = 0: one; both null when there are none).
  void Segments(uint32_t k, uint32_t m, const double** a, size_t* na, const double** b,
                size_t* nb) const;
  // f(k, index, values) for panes [k, m), each pane's values contiguous
  // (copied to a thread-local scratch where the ring wraps: valid during
  // the call only).
  void ForEachPane(uint32_t k, uint32_t m,
                   absl::FunctionRef<void(uint32_t, int64_t, std::span<const double>)> f) const;
  size_t bytes() const { return b_ ? AllocatedSize(b_) : 0; }

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
  struct Header {
    uint32_t npanes = 0;
    uint32_t cap_panes = 0;  // even: the values after the directory stay 8-aligned
    uint32_t nvalues = 0;
    uint32_t cap_values = 0;
    uint32_t pending_panes = 0;   // panes this call may add
    uint32_t pending_values = 0;  // values this call may add
    uint32_t pane_base = 0;       // ring slot of the oldest pane
    uint32_t value_base = 0;      // ring position of its first value
    int64_t newest = 0;           // index of the newest pane (npanes > 0)
    // Its values (its directory count is written when a newer pane starts:
    // the usual value touches no directory line).
    uint32_t newest_count = 0;
  };
  int64_t* Index() const { return reinterpret_cast<int64_t*>(b_); }
  uint32_t* Count() const { return reinterpret_cast<uint32_t*>(Index() + h_.cap_panes); }
  double* Values() const { return reinterpret_cast<double*>(Count() + h_.cap_panes); }
  // Ring slot of live pane k (k <= cap_panes), ring position of the value
  // `offset` values after the first (offset <= cap_values).
  uint32_t Slot(uint32_t k) const {
    const uint64_t s = uint64_t{h_.pane_base} + k;
    return static_cast<uint32_t>(s >= h_.cap_panes ? s - h_.cap_panes : s);
  }
  uint32_t Pos(uint64_t offset) const {
    const uint64_t p = h_.value_base + offset;
    return static_cast<uint32_t>(p >= h_.cap_values ? p - h_.cap_values : p);
  }
  // Values in panes [0, k).
  uint64_t OffsetOf(uint32_t k) const;
  // Copies n values into the ring from offset `at` on (no wrap handling
  // by the caller).
  void Put(uint64_t at, const double* x, size_t n) noexcept;
  bool Has(int64_t index) const;
  void Regrow(uint64_t panes, uint64_t values, const MemoryScope& scope);

  Header h_;
  char* b_ = nullptr;  // null: nothing held, the header all zero
};
static_assert(sizeof(RawPanes) == 56, "it lives in every pane window: keep it small");

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_RAW_PANES_H_
