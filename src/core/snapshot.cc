// The handle's side of serialized state (src/state): one consistent view to
// write from, and the calls that rebuild a restored handle.
#include <algorithm>
#include <utility>

#include "core/aggregator.h"

namespace windowagg::internal {

void Aggregator::ExportState(absl::FunctionRef<void(const StateView&)> visit) {
  SeriesTable::TableLock table(table_, true);
  StateView v;
  const Watermark wm = CurrentWatermark();
  table_.ForEachSeries([&](Series* s) {
    BringUpToDate(s, wm);  // canonical: nothing left to close
    v.series.push_back(s);
  });
  std::sort(v.series.begin(), v.series.end(),
            [](const Series* x, const Series* y) { return x->key < y->key; });
  v.fields.has_watermark = wm.set;
  v.fields.watermark = wm.set ? wm.value : 0;
  v.fields.clock = clock_.load();
  v.fields.timestamp_mode = static_cast<uint32_t>(timestamp_mode_.load());
  v.fields.tick = tick_.load();
  absl::MutexLock queue(&queue_mu_);
  v.fields.dropped_windows = dropped_windows_;
  v.queue = &queue_;
  visit(v);
}

void Aggregator::RestoreFields(const StateFields& f) {
  if (f.has_watermark) RaiseWatermark(f.watermark);
  clock_.store(f.clock);
  timestamp_mode_.store(static_cast<int>(f.timestamp_mode));
  tick_.store(f.tick);
  absl::MutexLock lock(&queue_mu_);
  dropped_windows_ = f.dropped_windows;
}

Series* Aggregator::RestoreSeries(const RestoredSeries& f) {
  Series* s = table_.Insert(f.key, f.name);
  s->late = f.late;
  s->rejected = f.rejected;
  s->last_event = f.last_event;
  s->total = f.total;
  s->last_touch = f.last_touch;
  table_.LruNoteRestored(s);
  return s;
}

void Aggregator::RestoreClosedWindow(uint64_t key, const Stats& stats, const SketchView& sketch) {
  ClosedWindow w{key, stats, Sketch(&scope_)};
  w.sketch.Load(sketch);
  absl::MutexLock lock(&queue_mu_);
  queue_.Reserve(1);
  queue_.PushReserved(std::move(w));
}

}  // namespace windowagg::internal
