// A handle, the front of the core: the series table (series_table.h), the
// watermark and the closed-window queue (window_queue.h). Its calls are
// defined by part: push_pipeline.cc (push), key_budget.cc (new keys under
// max_keys), closing.cc (windows closing, poll, advance, key_ttl),
// reads.cc (stats, quantiles, listings), merge.cc, and aggregator.cc
// (construction, removal, memory).
//
// memory_limit is checked before each push, key creation and merge: a change
// either starts within the ceiling and is applied whole, or is refused whole.
//
// Concurrency: see series_table.h for the table and shard locks. Pushes
// into existing series from many threads contend only per shard, and a full
// read holds one shard at a time. A push holds a shard's data lock only per
// slice of its batch (see Transact), so reads may meet a series between the
// push's prepare and its commit: reserved state (empty panes, zero-count
// sketch entries, a grown ring) must read as nothing — window
// representations keep that true.
#ifndef WINDOWAGG_CORE_AGGREGATOR_H_
#define WINDOWAGG_CORE_AGGREGATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "core/config.h"
#include "core/memory.h"
#include "core/series.h"
#include "core/series_table.h"
#include "core/sketch.h"
#include "core/stats.h"
#include "core/time_math.h"
#include "core/window_queue.h"

namespace windowagg::internal {

// One push, as the host handed it. Exactly one of keys / (key_bytes,
// key_offsets) may be set.
struct Batch {
  const double* values = nullptr;
  const int64_t* timestamps = nullptr;
  const uint64_t* keys = nullptr;
  const uint8_t* key_bytes = nullptr;
  const uint32_t* key_offsets = nullptr;
  size_t size = 0;
};

class Aggregator {
 public:
  explicit Aggregator(const Config& config);  // config must be validated
  ~Aggregator();
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  // Allocates the handle itself through mimalloc too.
  static Aggregator* Create(const Config& config);
  static void Destroy(Aggregator* a) noexcept;

  const Config& config() const { return config_; }

  void Push(const Batch& batch);
  void Advance(int64_t watermark);

  void KeyStats(uint64_t key, Stats* out);
  void AllStats(Stats* out);
  void KeyQuantiles(uint64_t key, const double* q, size_t n, double* out);
  void AllQuantiles(const double* q, size_t n, double* out);
  // out_q[i * nq + j] receives quantile q[j] of entry i.
  size_t ListStats(Cursor* cursor, KeyedStats* out, size_t cap, const double* q, size_t nq,
                   double* out_q);

  uint64_t KeyCount();
  size_t ListKeys(Cursor* cursor, uint64_t* keys, size_t cap, uint8_t* names, size_t names_cap,
                  uint32_t* name_offsets);
  // Returns the name's length; copies it when it fits in cap.
  size_t KeyName(uint64_t key, uint8_t* buf, size_t cap);
  void RemoveKey(uint64_t key);

  size_t PollWindows(KeyedStats* out, size_t cap, const double* q, size_t nq, double* out_q);
  void PendingWindows(uint64_t* pending, uint64_t* dropped);

  uint64_t MemoryUsage() const;
  uint64_t KeyMemoryUsage(uint64_t key);

  // Merges `src` in (src/core/merge.cc). The merge policy is checked first,
  // before anything changes: same geometry (kMismatch), the same clock
  // (timestamps or arrival), max_keys (kKeyLimit), memory_limit (src's
  // memory as the estimate). Then two-phase like a push. `src` may be live:
  // it is read in one consistent pass under its own table lock (the two
  // tables are locked in address order, so merges in both directions
  // cannot deadlock), after its due windows are closed, as serialization
  // does. src != this.
  void MergeFrom(Aggregator& src);
  // MergeFrom's first check (kMismatch), for a caller that can refuse a
  // source before building it.
  void CheckMergeable(const Config& src) const;

  // ---- Serialized state's side of the handle (snapshot.cc) ----------------
  // src/state writes and reads the bytes; these are what it needs from a
  // handle beyond the calls above, so it needs no access to the internals.
  struct StateFields {
    bool has_watermark = false;
    int64_t watermark = 0;
    uint64_t clock = 0;
    uint32_t timestamp_mode = 0;
    uint64_t tick = 0;
    uint64_t dropped_windows = 0;
  };
  struct StateView {
    StateFields fields;
    ScratchVector<const Series*> series;  // sorted by key
    const WindowQueue* queue;
  };
  // One consistent view of the handle, under one hold of its locks: the
  // table exclusively (no push, read, removal or merge runs), every series
  // brought up to date with one watermark (closing emits into the queue),
  // then the queue lock. aggregator_advance may still raise the watermark
  // meanwhile; the view keeps the one read here.
  void ExportState(absl::FunctionRef<void(const StateView&)> visit);

  // Restore: into a fresh handle no other thread sees yet.
  struct RestoredSeries {
    uint64_t key;
    std::string_view name;
    uint64_t late, rejected, total;
    int64_t last_event;
    uint64_t last_touch;
  };
  void RestoreFields(const StateFields& f);
  // A new series with these counters and an empty window (counted, in LRU
  // order); the caller loads its window.
  Series* RestoreSeries(const RestoredSeries& f);
  void RestoreClosedWindow(uint64_t key, const Stats& stats, const SketchView& sketch);
  const SketchMapping& mapping() const { return mapping_; }

  static constexpr size_t kShardBits = SeriesTable::kShardBits;
  static constexpr size_t kShards = SeriesTable::kShards;

 private:
  using Shard = SeriesTable::Shard;
  struct Watermark {
    bool set;
    int64_t value;
  };
  class Work;      // per-push scratch and plan (push_pipeline.h)
  class ShardSet;  // the shard claims one push holds (push_pipeline.h)

  Watermark CurrentWatermark() const;
  void RaiseWatermark(int64_t wm);

  // A push runs in two phases. Prepare does everything that can fail —
  // closing windows already due, creating panes, growing rings and sketch
  // stores for exactly the values about to land — and changes no value,
  // count or watermark; Commit applies the batch and cannot fail. A failed
  // Prepare undoes its empty panes and new series, so a push that returns
  // an error (ENOMEM included) leaves the handle as it was.
  //
  // Locking (thread-safe handles, shared table): a push claims every shard
  // its batch touches (Shard::push_mu, in increasing order) and keeps the
  // claims until that shard is committed, so pushes into a shard run one
  // after another and their reservations never mix. The shard's data lock
  // (`mu`, the one readers take) is held only while the push prepares its
  // slice of the batch, and again while it commits that slice, and within
  // a slice it is handed to spinning readers between two runs (ShardSet in
  // push_pipeline.h says where and what they see): a reader waits for
  // about one series' work, not for a slice or the whole push. Series
  // cannot disappear in between: removal, TTL and eviction take the table
  // exclusively. A reader in between sees each series as before the push
  // (a reserved pane is empty and emits nothing) or, during the commit,
  // with all of the push's values for it; if it closes a window a
  // reserved pane belongs to (a watermark another call raised), the value
  // is counted late at commit, as for any concurrent close. The push's own
  // watermark is published after its last slice commits, so a reader never
  // closes a window under the push's own values.
  void Classify(const Batch& b, Work& w);
  void MarkClockLate(Work& w, uint64_t base, const Watermark& wm);
  bool Resolve(const Batch& b, Work& w);  // false: some key is new
  bool ResolveShard(const Batch& b, Work& w, size_t shard);  // shard's data lock held
  void CreateKeys(const Batch& b, Work& w);
  void Transact(const Batch& b, Work& w, bool exclusive, bool sweep);
  // Timestamps (1) or the arrival clock (2): refuses a push whose mode is
  // not the handle's; Fix also sets it if unset, atomically (compare-exchange).
  static void CheckTimestampMode(int mode, int known);
  void FixTimestampMode(int mode);
  // Once per run in the keyed prepare loop: inlined there (a call per run
  // cost the keyed push ~7% once the loop became a template per kind).
  [[gnu::always_inline]] inline void Touch(Series* s, Work& w, const Watermark& start);
  void Prepare(const Batch& b, Work& w, const Watermark& start, ShardSet& locks);
  void PrepareSingle(Series* s, const Batch& b, Work& w);
  void Commit(Work& w, ShardSet& locks) noexcept;
  void CommitSingle(Series* s, Work& w) noexcept;
  // (W: the handle's window kind, window.h.)
  template <class W>
  void FinishSeries(Series* s, const Watermark& wm) noexcept;
  void Undo(Work& w, ShardSet& locks) noexcept;
  // One value into an existing series (the call a host makes per event):
  // no batch planning. False, having changed nothing, when the general
  // path must take it (new key, first push, a push pending on the shard).
  bool PushOneValue(const Batch& b);
  // Classify's rule: is event time t late against watermark wm?
  bool IsLate(int64_t t, const Watermark& wm) const;
  // The watermark a push commits against: the current one raised by the
  // push's own newest accepted time (published after the commit).
  Watermark CommitWatermark(const Watermark& end) const;
  // (W: the handle's window kind, window.h.) between(k) is called before
  // each run of the slice but its first (k: the run's first element); it
  // may let the shard's data lock go and take it back
  // (ShardSet::Section::LetWaitersIn).
  template <class W, class F, class B>
  void ForEachRun(const Work& w, size_t shard, F&& f, B&& between);
  // Grouped copies of the batch (keyed): values, status and, if `times`
  // (arrival numbers taken), event times; GatherTimes the latter alone.
  void Gather(const Batch& b, Work& w, bool times);
  void GatherTimes(const Batch& b, Work& w);
  // The single series' runs: split by pane if `timed`, else one run.
  template <bool timed, class F>
  void ForEachPaneRun(const Work& w, F&& f);
  // Closes the windows wm has closed, oldest first, into the queue; may
  // throw, a window at a time (what it closed stays closed): closing is not
  // a change a reader can see, as every read, poll and serialization closes
  // due windows first.
  //
  // The queue never drops a window. With `queue_limit` (pushes, reads and
  // polls pass max_pending_windows), closing stops once the queue holds
  // that many: the series' other due windows stay in it as panes (already
  // counted in memory_usage, so memory_limit bounds them) and backlog_ is
  // set, so polls close them as room appears. Windows of a due window stay
  // frozen while they wait: a value an on-time push accepts falls in panes
  // of later windows only. Without a limit (serialization, merge,
  // remove_key, key_ttl, EVICT_LRU: callers that need the series closed)
  // the queue takes every due window, past max_pending_windows if need be.
  // Returns false when due windows stayed in the series. A push that meets
  // such a series marks its counters first (MarkCounters), so the windows
  // are stamped as if queued before the push changed them.
  static constexpr uint64_t kNoQueueLimit = UINT64_MAX;
  bool BringUpToDate(Series* s, const Watermark& wm, uint64_t queue_limit = kNoQueueLimit);
  // False while a push holds reservations in the series' shard and closing
  // could emit them (TUMBLING/HOPPING): readers and polls leave it due.
  // Shard's data lock held.
  bool MayClose(const Series* s) const;
  // TUMBLING/HOPPING: the last window number due at watermark wm.
  Wide LastDue(int64_t wm) const;
  int64_t CloseTime(Wide window) const;
  void MarkCounters(Series* s, int64_t wm);
  void PruneMarks(Series* s) noexcept;
  // key_ttl: series idle at the watermark a call ends with are erased by
  // that call, after their last windows are emitted, two-phase as well.
  struct Sweep {
    bool active = false;
    int64_t wm = 0;
    ScratchVector<Series*> expired;
    ScratchVector<ClosedWindow> windows;  // their windows that close by wm
  };
  bool SweepDue(int64_t wm) const;
  void PrepareSweep(Sweep& sw, const Watermark& start, int64_t wm, uint64_t skip_epoch);
  void CommitSweep(Sweep& sw) noexcept;
  ClosedWindow MakeClosed(const Series& s, const WindowView& view);
  void Emit(const Series& s, const WindowView& view, uint64_t queue_limit);
  // Closes due windows of every series, up to queue_limit queued windows.
  void CloseDueWindows(uint64_t queue_limit);

  // MergeFrom's two phases, the policy checked, both tables held
  // exclusively and src's due windows closed at src_wm (the watermark the
  // merge takes: an advance of src meanwhile is not part of this view).
  void MergeLocked(Aggregator& src, const Watermark& src_wm);

  void GroupByShard(Work& w);
  void FillStats(Series* s, const Watermark& wm, Stats* out, WindowView* view);
  void FillQuantiles(const WindowView& view, double min, double max, const double* q, size_t n,
                     double* out) const;
  void CheckQuantileArgs(const double* q, size_t n, const double* out) const;
  void KeyRead(uint64_t key, Stats* out, const double* q, size_t n, double* out_q);
  void AllRead(Stats* out, const double* q, size_t n, double* out_q);

  Config config_;
  PaneGeometry geometry_;  // time windows (PaneWindow)
  WindowShape shape_;      // every series' window
  // What the window kind means for the pipeline (window.h): event time
  // decides membership (late values exist); windows close into queue_.
  bool timed_;
  bool emits_;
  SketchMapping mapping_;
  mutable MemoryAccount account_;
  MemoryScope scope_;  // handle-level structures (maps, queue sketches)

  SeriesTable table_;

  std::atomic<bool> has_watermark_{false};
  std::atomic<int64_t> watermark_{0};
  std::atomic<uint64_t> clock_{0};       // arrival clock (untimestamped handles)
  // 0 unknown, 1 timestamps, 2 arrival clock: set once, by compare-exchange
  // in the push that commits first (FixTimestampMode), or by merge/restore.
  std::atomic<int> timestamp_mode_{0};
  std::atomic<uint64_t> tick_{0};        // applied-push counter for LRU
  std::atomic<uint64_t> epoch_{0};       // push counter (dedupes series per push)
  std::atomic<int64_t> last_ttl_sweep_{kTimeMin};
  std::atomic<int64_t> swept_watermark_{0};  // watermark of the last CloseDueWindows
  std::atomic<bool> swept_once_{false};

  absl::Mutex queue_mu_;
  WindowQueue queue_;
  // Some series may hold due windows that a full queue kept out (see
  // BringUpToDate): polls and pending counts look at every series again.
  std::atomic<bool> backlog_{false};
  // Legacy: windows that versions before issue 12 dropped from a full
  // queue. Carried through serialized state and merge so bytes round-trip;
  // nothing increases it and aggregator_pending_windows reports 0.
  uint64_t dropped_windows_ = 0;
};

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_AGGREGATOR_H_
