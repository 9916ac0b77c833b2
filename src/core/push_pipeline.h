// The push pipeline's internals, shared by its files (push_pipeline.cc,
// key_budget.cc): the per-push plan (Work) and the shard claims (ShardSet).
#ifndef WINDOWAGG_CORE_PUSH_PIPELINE_H_
#define WINDOWAGG_CORE_PUSH_PIPELINE_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/aggregator.h"
#include "core/spin_wait.h"

namespace windowagg::internal {

// A new series' object, table slot and first buffers, roughly: what the
// memory ceiling expects a key creation to take.
constexpr size_t kNewSeriesBytes = 1024;

// Thrown by Prepare when a key of the batch has no series (resolving in
// the prepare pass); caught in Push, which creates it exclusively.
struct NewKey {};

// Everything one push computes before it changes state: per-element status,
// event times, resolved keys and series, grouped by shard.
class Aggregator::Work {
 public:
  enum : uint8_t { kAccept = 0, kLate = 1, kSkipped = 2 };

  // Buffers keep their capacity across pushes and are never value-filled:
  // every element a push reads, it wrote first.
  template <class T>
  static T* Sized(ScratchVector<T>& v, size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
  }

  void Reset(size_t n) {
    n_ = n;
    keyed = false;
    grouped = false;
    all_accepted = true;
    clock = false;
    clock_taken = false;
    sorted = false;
    resolve_in_prepare = false;
    times_ready = false;
    end_wm = {false, 0};
    touched.clear();
    created.clear();
    victims.clear();
    sweep.active = false;
    sweep.expired.clear();
    sweep.windows.clear();
  }
  size_t size() const { return n_; }

  bool keyed;                      // keys[] holds per-element series ids
  // GroupByShard ran both radix passes: within a shard, the elements are
  // in groups of equal Group(k), one group after another, and each
  // series' elements lie inside one group.
  bool grouped;
  // The top kShardBits + kSubBits bits of the mixed key of grouped element k.
  static constexpr int kSubBits = 11;
  uint32_t Group(uint32_t k) const {
    return static_cast<uint32_t>(mixed[order[k]] >> (64 - kShardBits - kSubBits));
  }
  bool all_accepted;               // else status[] says which elements count
  bool clock;                      // arrival clock: times are base + index
  bool sorted;                     // timestamps non-decreasing, none late
  // Keyed, shared table: each shard's keys are looked up as the push
  // prepares that shard (ResolveShard), not in a pass of their own; a new
  // key throws NewKey and the push takes the exclusive path.
  bool resolve_in_prepare;
  bool times_ready;                // gtimes filled (COUNT on the arrival clock: after Prepare)
  uint64_t clock_base = 0;
  ScratchVector<uint8_t> status;
  ScratchVector<int64_t> times;    // compacted event times (single-series slow path)
  ScratchVector<uint64_t> keys;
  ScratchVector<uint64_t> mixed;   // SeriesTable::Mix(keys[i])
  // Keyed: element indexes grouped by shard and, within a shard, by mixed
  // key (stable: a series' elements keep their batch order), so a series'
  // elements of the batch mostly sit next to each other and go in as one
  // run. Everything below indexed by k is in this order.
  ScratchVector<uint32_t> order;
  ScratchVector<uint32_t> order_scratch;
  uint32_t shard_begin[kShards + 1];
  ScratchVector<Series*> series;   // [k] (keyed) or [0] (unkeyed)
  ScratchVector<double> gvalues;   // values[order[k]]
  ScratchVector<int64_t> gtimes;   // event times (or arrival numbers) of order[k]
  ScratchVector<uint8_t> gstatus;  // status[order[k]] (unless all_accepted)
  ScratchVector<Series*> touched;  // in shard order (keyed: prepared shard by shard)
  uint32_t touched_begin[kShards + 1];
  ScratchVector<Series*> created;  // new series, removed again if the push fails
  ScratchVector<Series*> victims;  // EVICT_LRU: erased when the push commits
  Sweep sweep;                     // key_ttl: erased when the push commits
  bool clock_taken;                // clock_base..+n taken from the arrival clock
  ScratchVector<double> values;    // compacted values (single-series slow path)
  // The single series' accepted elements (the batch, or values/times).
  const double* run_values = nullptr;
  const int64_t* run_times = nullptr;
  size_t run_n = 0;
  uint64_t run_late = 0, run_rejected = 0;
  Watermark end_wm{false, 0};
  uint64_t epoch = 0;
  uint64_t tick = 0;

 private:
  size_t n_ = 0;
};

// The shard claims of one push (Shard::push_mu): taken in increasing shard
// order while it prepares (so two pushes never wait on each other in a
// cycle), each held until that shard is committed. The shard's data lock
// (`mu`) is taken only around a slice's prepare and its commit (Section),
// and let go in between two runs of the slice when another thread waits
// for it (Section::LetWaitersIn). What a reader then sees:
// - during the prepare, at any run boundary: every series as before the
//   push (reservations read as nothing);
// - during the commit, only at a group boundary (Work::Group) once the
//   series before it are finished: every series of the slice either as
//   before the push or with all of the push's values, never part of them
//   (a series' elements lie inside one group). Batches too small to be
//   grouped (below GroupByShard's kGroupMin) commit a slice whole.
// The push's watermark is published after its last slice commits, as
// before; a failed prepare undoes its reservations (Undo), which readers
// never saw as values. So a reader waits for about one series' work, plus
// the handoff (SeriesTable::kHandoff) and, in a commit, the finishing of
// the series committed since the slice's last handoff (done only when a
// reader waits, so that the loops pay one load per run otherwise); not for
// the slice.
// Nothing is locked in single-threaded mode or under the exclusive table
// lock.
class Aggregator::ShardSet {
 public:
  ShardSet(Aggregator* a, bool active) : a_(a), active_(active) {}
  ShardSet(const ShardSet&) = delete;
  ShardSet& operator=(const ShardSet&) = delete;
  ~ShardSet() {
    for (size_t sh = 0; sh < kShards; ++sh) Release(sh);
  }
  // Claims shard sh for this push (before taking its Section: push_mu
  // comes before mu in the lock order).
  void Claim(size_t sh) {
    if (!active_ || (held_ >> sh & 1)) return;
    a_->table_.shard(sh).push_mu.lock();
    held_ |= uint64_t{1} << sh;
  }
  // Section held: the push has reservations in sh until it commits.
  void MarkPending(size_t sh) {
    if (!active_) return;
    a_->table_.shard(sh).push_pending = true;
    pending_ |= uint64_t{1} << sh;
  }
  // Section held: the push is no longer pending on sh (commit or undo).
  void ClearPending(size_t sh) {
    if (!(pending_ >> sh & 1)) return;
    a_->table_.shard(sh).push_pending = false;
    pending_ &= ~(uint64_t{1} << sh);
  }
  void Release(size_t sh) {
    if (!(held_ >> sh & 1)) return;
    if (pending_ >> sh & 1) {
      std::lock_guard<std::mutex> lock(a_->table_.shard(sh).mu);
      ClearPending(sh);
    }
    a_->table_.shard(sh).push_mu.unlock();
    held_ &= ~(uint64_t{1} << sh);
  }

  // The data lock of one shard for one slice of the push.
  class Section {
   public:
    Section(ShardSet& set, size_t sh)
        : shard_(set.active_ ? &set.a_->table_.shard(sh) : nullptr) {
      if (shard_) shard_->mu.lock();
    }
    ~Section() {
      if (shard_) shard_->mu.unlock();
    }
    Section(const Section&) = delete;
    Section& operator=(const Section&) = delete;

    // Does another thread wait for the data lock? (One relaxed load.)
    bool Wanted() const {
      return shard_ && patient_ && shard_->waiting.load(std::memory_order_relaxed) != 0;
    }
    // With the shard in a state readers may see (the caller's to ensure):
    // lets the waiting threads take the data lock, then takes it back.
    // Gives up for the rest of the slice when they do not take it within
    // SeriesTable::kHandoff.
    void LetWaitersIn() {
      if (Wanted()) HandOff();
    }

   private:
    // Out of line and cold: the loops that call LetWaitersIn keep their
    // registers and layout for the common case, nobody waiting.
    [[gnu::noinline, gnu::cold]] void HandOff() {
      shard_->mu.unlock();
      patient_ = SpinUntil(
          [&] { return shard_->waiting.load(std::memory_order_relaxed) == 0; },
          SeriesTable::kHandoff);
      LockSpinning(shard_->mu, SeriesTable::kWaiterSpin);
    }

    Shard* shard_;
    bool patient_ = true;
  };

 private:
  Aggregator* a_;
  bool active_;
  uint64_t held_ = 0;
  uint64_t pending_ = 0;
};

static_assert(Aggregator::kShards <= 64);

// CreateKeys marks the existing series of a batch with epoch | kInBatch, so
// EVICT_LRU spares them (and the prepare phase still sees them untouched).
constexpr uint64_t kInBatch = uint64_t{1} << 63;

// "key 42" or "key \"name\" (id 42)", for error messages.
std::string DescribeKey(uint64_t key, std::string_view name);

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_PUSH_PIPELINE_H_
