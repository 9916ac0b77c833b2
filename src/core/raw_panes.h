// The values of a series' panes in one block, grouped by pane in pane
// order: the compact form of a pane window while its panes are small
// (PaneWindow). A pane costs 12 bytes of directory and its values 8 bytes
// each; there are no per-pane moments or sketches: reads summarize the
// window's values (contiguous, since its panes are) and take their exact
// order statistics. That is what makes a quiet series cost ~8 bytes a value
// instead of ~190 bytes a pane (pane object, sketch block header, size
// class rounding).
//
// The header (counts, capacities, bases, the newest pane's index) lives in
// the object, inside the series; the block holds int64 index[cap_panes] |
// uint32 start[cap_panes] | double values[cap_values]. The live panes are
// slots [pane_base, pane_base + npanes); slot j's values start at
// values[start[j]] and end where the next slot's start (the last one's at
// value_base + nvalues). So a reservation reads only the series, and the
// usual value — one more in the newest pane — writes only the values'
// tail. Panes leaving at the front only move the bases; the room they
// leave is reclaimed (one move) when a reservation needs it.
//
// Two-phase like every window: Reserve makes room (may allocate), Add then
// allocates nothing. Reservations are counts, not entries, so an undone
// push leaves nothing behind.
#ifndef WINDOWAGG_CORE_RAW_PANES_H_
#define WINDOWAGG_CORE_RAW_PANES_H_

#include <cstddef>
#include <cstdint>
#include <span>

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
  int64_t index(uint32_t k) const { return Index()[h_.pane_base + k]; }
  // Values of panes [k, m), contiguous (k < m <= pane_count()).
  std::span<const double> values(uint32_t k, uint32_t m) const {
    const uint32_t lo = Start(k), hi = Start(m);
    return {Values() + lo, hi - lo};
  }
  std::span<const double> values(uint32_t k) const { return values(k, k + 1); }
  // The first pane at or above `index` (pane_count() if none).
  uint32_t LowerBound(int64_t index) const;
  size_t bytes() const { return b_ ? AllocatedSize(b_) : 0; }
  bool allocated() const { return b_ != nullptr; }
  // The line the next value of the newest pane goes to, into cache.
  void PrefetchTail() const noexcept {
    if (b_ != nullptr) __builtin_prefetch(Values() + h_.value_base + h_.nvalues, 1);
  }

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
    uint32_t pane_base = 0;       // first live directory slot
    uint32_t value_base = 0;      // first live value
    int64_t newest = 0;           // index of the newest pane (npanes > 0)
  };
  int64_t* Index() const { return reinterpret_cast<int64_t*>(b_); }
  uint32_t* StartOf() const { return reinterpret_cast<uint32_t*>(Index() + h_.cap_panes); }
  double* Values() const { return reinterpret_cast<double*>(StartOf() + h_.cap_panes); }
  // Where live pane k's values start; k = pane_count(): the end of them all.
  uint32_t Start(uint32_t k) const {
    return k < h_.npanes ? StartOf()[h_.pane_base + k] : h_.value_base + h_.nvalues;
  }
  bool Has(int64_t index) const;
  // Moves the live panes and values to the front of the block.
  void Compact() noexcept;
  void Regrow(uint64_t panes, uint64_t values, const MemoryScope& scope);

  Header h_;
  char* b_ = nullptr;  // null: nothing held, the header all zero
};
static_assert(sizeof(RawPanes) == 48, "it lives in every pane window: keep it small");

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_RAW_PANES_H_
