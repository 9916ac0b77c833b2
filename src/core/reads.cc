// Reads: one key's or every key's stats and quantiles, paged listings of
// stats and keys, key names.
#include "core/aggregator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "core/error.h"
#include "core/time_math.h"

namespace windowagg::internal {

namespace {

// Quantiles of a window whose values are at hand (view.exact), exactly.
void ExactQuantiles(const WindowView& view, const double* q, size_t nq, double* out) {
  thread_local ScratchVector<double> scratch;
  ScratchVector<double>& values = scratch;
  values.assign(view.exact_a, view.exact_a + view.exact_na);
  values.insert(values.end(), view.exact_b, view.exact_b + view.exact_nb);
  OrderStatistics(values.data(), values.size(), q, nq, out);
}

}  // namespace

void Aggregator::FillStats(Series* s, const Watermark& wm, Stats* out, WindowView* view) {
  // (A read does not depend on due windows still in the series: Current
  // looks at the window holding the watermark only.)
  if (MayClose(s)) BringUpToDate(s, wm, config_.max_pending_windows);
  const int64_t as_of = s->window.Summarize(wm.set, wm.value, view);
  *out = MakeStats(view->moments, view->start, view->end, s, as_of);
}

void Aggregator::FillQuantiles(const WindowView& view, double min, double max, const double* q,
                               size_t n, double* out) const {
  if (view.exact) {
    ExactQuantiles(view, q, n, out);
    return;
  }
  Sketch::Quantiles(view.sketches.data(), view.sketches.size(), q, n, mapping_, min, max, out);
}

void Aggregator::CheckQuantileArgs(const double* q, size_t n, const double* out) const {
  if (!config_.quantiles) {
    Fail(Status::kUnsupported, "quantiles are turned off for this handle (config.quantiles = 0)");
  }
  if (n > 0 && q == nullptr) Fail(Status::kInvalidArgument, "q is NULL but n is %u", n);
  if (n > 0 && out == nullptr) Fail(Status::kInvalidArgument, "the output array is NULL");
  for (size_t i = 0; i < n; ++i) {
    if (!(q[i] >= 0.0 && q[i] <= 1.0)) {
      Fail(Status::kInvalidArgument, "q[%u] = %g is outside [0, 1]", i, q[i]);
    }
  }
}

void Aggregator::KeyRead(uint64_t key, Stats* out, const double* q, size_t n, double* out_q) {
  SeriesTable::TableLock table(table_, false);
  SeriesTable::ShardLock lock(table_, table_.ShardOf(key));
  Series* s = table_.Find(key);
  if (s == nullptr) Fail(Status::kNotFound, "no series with key %u", key);
  // The thread's view keeps its capacity: a one-key read allocates nothing
  // (an allocation's slow path, such as the allocator returning memory a
  // pusher freed, took 40-250 us now and then, under the shard lock).
  thread_local WindowView view;
  Stats st;
  FillStats(s, CurrentWatermark(), &st, &view);
  if (out != nullptr) *out = st;
  FillQuantiles(view, st.min, st.max, q, n, out_q);
}

void Aggregator::KeyStats(uint64_t key, Stats* out) { KeyRead(key, out, nullptr, 0, nullptr); }

void Aggregator::KeyQuantiles(uint64_t key, const double* q, size_t n, double* out) {
  CheckQuantileArgs(q, n, out);
  KeyRead(key, nullptr, q, n, out);
}

void Aggregator::AllRead(Stats* out, const double* q, size_t n, double* out_q) {
  MemoryScope scratch{nullptr, nullptr};
  // Bucket form: the union of every series (exact count windows included)
  // answers within alpha, as it always did.
  Sketch merged(&scratch, /*raw=*/false);
  Moments total;
  uint64_t late = 0, rejected = 0, accepted = 0;
  int64_t start = 0, end = 0;
  bool any = false;
  Watermark wm = CurrentWatermark();
  {
    SeriesTable::TableLock table(table_, false);
    WindowView view;
    Stats st;
    table_.ForEachSeries([&](Series* s) {
      FillStats(s, wm, &st, &view);
      total.Merge(view.moments);
      late += st.late;
      rejected += st.rejected;
      accepted += st.total;
      start = any ? std::min(start, st.window_start) : st.window_start;
      end = any ? std::max(end, st.window_end) : st.window_end;
      any = true;
      if (n > 0 && st.count > 0) {
        for (const Sketch* part : view.sketches) merged.MergeFrom(*part);
        if (view.exact) {
          for (auto [x, nx] : {std::pair{view.exact_a, view.exact_na},
                               std::pair{view.exact_b, view.exact_nb}}) {
            merged.Reserve(x, nx, mapping_);
            merged.AddSpan(x, nx, mapping_);
            merged.ClearPending();
          }
        }
      }
    });
  }
  Stats st = MakeStats(total, start, end, nullptr, wm.set ? wm.value : kTimeMin);
  st.late = late;
  st.rejected = rejected;
  st.total = accepted;
  // (Windows without event time report values seen, as a series' read does.)
  if (!timed_) st.watermark = static_cast<int64_t>(accepted);
  if (out != nullptr) *out = st;
  const Sketch* parts[1] = {&merged};
  if (n > 0) Sketch::Quantiles(parts, 1, q, n, mapping_, total.min, total.max, out_q);
}

void Aggregator::AllStats(Stats* out) { AllRead(out, nullptr, 0, nullptr); }

void Aggregator::AllQuantiles(const double* q, size_t n, double* out) {
  CheckQuantileArgs(q, n, out);
  AllRead(nullptr, q, n, out);
}

size_t Aggregator::ListStats(Cursor* cursor, KeyedStats* out, size_t cap, const double* q,
                             size_t nq, double* out_q) {
  if (nq > 0) CheckQuantileArgs(q, nq, out_q);
  SeriesTable::TableLock table(table_, false);
  Watermark wm = CurrentWatermark();
  WindowView view;
  size_t i = 0;
  return table_.Page(cursor, cap, [&](Series* s) {
    FillStats(s, wm, &out[i].stats, &view);
    out[i].key = s->key;
    if (nq > 0) FillQuantiles(view, out[i].stats.min, out[i].stats.max, q, nq, out_q + i * nq);
    ++i;
    return true;
  });
}

uint64_t Aggregator::KeyCount() {
  SeriesTable::TableLock table(table_, false);
  uint64_t n = 0;
  for (auto& shard : table_.shards()) {
    SeriesTable::ShardLock lock(table_, *shard);
    n += shard->map.size();
  }
  return n;
}

size_t Aggregator::ListKeys(Cursor* cursor, uint64_t* keys, size_t cap, uint8_t* names,
                            size_t names_cap, uint32_t* name_offsets) {
  SeriesTable::TableLock table(table_, false);
  size_t i = 0;
  size_t used = 0;
  if (names != nullptr && cap > 0) name_offsets[0] = 0;
  size_t n = table_.Page(cursor, cap, [&](Series* s) {
    if (names != nullptr) {
      std::string_view name = s->name();
      if (used + name.size() > names_cap) {
        if (i == 0) {
          Fail(Status::kBuffer, "names_cap %u cannot hold the next key's %u-byte name",
               names_cap, name.size());
        }
        return false;
      }
      if (!name.empty()) std::memcpy(names + used, name.data(), name.size());
      used += name.size();
      name_offsets[i + 1] = static_cast<uint32_t>(used);
    }
    keys[i++] = s->key;
    return true;
  });
  return n;
}

size_t Aggregator::KeyName(uint64_t key, uint8_t* buf, size_t cap) {
  SeriesTable::TableLock table(table_, false);
  SeriesTable::ShardLock lock(table_, table_.ShardOf(key));
  Series* s = table_.Find(key);
  if (s == nullptr) Fail(Status::kNotFound, "no series with key %u", key);
  std::string_view name = s->name();
  if (name.size() <= cap && !name.empty()) std::memcpy(buf, name.data(), name.size());
  return name.size();
}

}  // namespace windowagg::internal
