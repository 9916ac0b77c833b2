// The push pipeline: classify a batch, group it by shard and series, resolve
// its keys, then prepare (everything that can fail) and commit (nothing can).
// The plan and its locking are described in aggregator.h (Transact).
#include "core/push_pipeline.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "core/error.h"
#include "core/kernels.h"
#include "core/key_hash.h"
#include "core/time_math.h"

namespace windowagg::internal {

namespace {


const char* NonFiniteName(double v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

}  // namespace

std::string DescribeKey(uint64_t key, std::string_view name) {
  if (name.empty()) return absl::StrFormat("key %u", key);
  std::string shown(name.substr(0, 64));
  return absl::StrFormat("key \"%s\"%s (id %u)", absl::CHexEscape(shown),
                         name.size() > 64 ? "..." : "", key);
}

void Aggregator::Classify(const Batch& b, Work& w) {
  const size_t n = b.size;
  const bool have_ts = b.timestamps != nullptr;
  w.clock = !have_ts;
  size_t bad = FindNonFinite(b.values, n);
  if (bad < n) {
    if (config_.nonfinite == NonFinitePolicy::kReject) {
      Fail(Status::kValue,
           "values[%u] is %s: non-finite values are refused (nonfinite_policy = REJECT); "
           "nothing from this batch was applied",
           bad, NonFiniteName(b.values[bad]));
    }
    uint8_t* status = Work::Sized(w.status, n);
    std::fill(status, status + n, Work::kAccept);
    w.all_accepted = false;
    for (size_t i = bad; i < n; ++i) {
      if (!std::isfinite(b.values[i])) {
        status[i] = Work::kSkipped;
      }
    }
  }
  Watermark wm = CurrentWatermark();
  if (!have_ts) return;  // arrival order: nothing is late
  if (!timed_) {
    // COUNT windows ignore event time for membership; it still moves the
    // watermark (key_ttl) and nothing is late.
    int64_t newest = b.timestamps[0];
    for (size_t i = 1; i < n; ++i) newest = std::max(newest, b.timestamps[i]);
    w.end_wm = {true, wm.set ? std::max(wm.value, newest) : newest};
    return;
  }

  // Late values, in batch order against the running watermark. Fast path:
  // timestamps sorted and the first one on time means none is late.
  const int64_t* t = b.timestamps;
  auto late = [&](int64_t ti, const Watermark& cur) { return IsLate(ti, cur); };
  if (w.all_accepted && !late(t[0], wm) && SortedRunLength(t, n, kTimeMin, kTimeMax) == n) {
    w.sorted = true;
    w.end_wm = {true, wm.set ? std::max(wm.value, t[n - 1]) : t[n - 1]};
    return;
  }
  uint8_t* status = Work::Sized(w.status, n);
  if (w.all_accepted) std::fill(status, status + n, Work::kAccept);
  w.all_accepted = false;
  for (size_t i = 0; i < n; ++i) {
    if (status[i] == Work::kSkipped) continue;
    if (late(t[i], wm)) {
      status[i] = Work::kLate;
      continue;
    }
    wm = {true, wm.set ? std::max(wm.value, t[i]) : t[i]};
  }
  w.end_wm = wm;
}

bool Aggregator::IsLate(int64_t t, const Watermark& wm) const {
  if (!wm.set) return false;
  if (Wide(t) < Wide(wm.value) - config_.allowed_lateness) return true;
  return geometry_.sliding &&
         Wide(PaneOf(t, geometry_.pane)) <
             Wide(PaneOf(wm.value, geometry_.pane)) - geometry_.panes_per_window + 1;
}

void Aggregator::MarkClockLate(Work& w, uint64_t base, const Watermark& wm) {
  // Arrival times only grow, so against the watermark at the batch's start
  // (aggregator_advance may have moved it past the clock) only a prefix of
  // the batch can be late. `wm` is read before the numbers are taken: a push
  // that took later numbers and committed first must not make this one late.
  if (!timed_) return;
  if (!wm.set) return;
  Wide first_on_time = Wide(wm.value) - config_.allowed_lateness;
  if (geometry_.sliding) {
    Wide oldest_pane = Wide(PaneOf(wm.value, geometry_.pane)) - geometry_.panes_per_window + 1;
    first_on_time = std::max(first_on_time, oldest_pane * geometry_.pane);
  }
  if (Wide(base) >= first_on_time) return;
  const size_t n = w.size();
  size_t late = static_cast<size_t>(std::min<Wide>(Wide(n), first_on_time - Wide(base)));
  uint8_t* status = Work::Sized(w.status, n);
  if (w.all_accepted) std::fill(status, status + n, Work::kAccept);
  w.all_accepted = false;
  for (size_t i = 0; i < late; ++i) {
    if (status[i] == Work::kAccept) {
      status[i] = Work::kLate;
    }
  }
}

bool Aggregator::Resolve(const Batch& b, Work& w) {
  Work::Sized(w.series, b.size);
  // Concurrent pushes start at different shards, so they do not queue up
  // behind each other shard after shard.
  const size_t first = static_cast<size_t>(w.epoch % kShards);
  for (size_t step = 0; step < kShards; ++step) {
    const size_t sh = (first + step) % kShards;
    if (w.shard_begin[sh] == w.shard_begin[sh + 1]) continue;
    SeriesTable::ShardLock lock(table_, table_.shard(sh));
    if (!ResolveShard(b, w, sh)) return false;
  }
  return true;
}

bool Aggregator::ResolveShard(const Batch& b, Work& w, size_t sh) {
  const bool named = b.key_offsets != nullptr;
  Shard& shard = table_.shard(sh);
  uint64_t last_key = 0;
  Series* last = nullptr;
  const uint32_t end = w.shard_begin[sh + 1];
  for (uint32_t k = w.shard_begin[sh]; k < end; ++k) {
    // Keys scatter over a big table: ask for the slot a few keys ahead.
    if (k + 8 < end) shard.map.prefetch(w.keys[w.order[k + 8]]);
    const uint32_t i = w.order[k];
    const uint64_t key = w.keys[i];
    if (last == nullptr || key != last_key) {
      auto it = shard.map.find(key);
      if (it == shard.map.end()) return false;
      last = it->second;
      last_key = key;
      // The prepare pass reads it next: start the misses now.
      __builtin_prefetch(last);
      __builtin_prefetch(reinterpret_cast<const char*>(last) + 64);
      __builtin_prefetch(reinterpret_cast<const char*>(last) + 128);
    }
    if (named && key != kOverflowKey && !last->name().empty()) {
      std::string_view name(reinterpret_cast<const char*>(b.key_bytes) + b.key_offsets[i],
                            b.key_offsets[i + 1] - b.key_offsets[i]);
      if (name != last->name()) {
        Fail(Status::kInvalidArgument,
             "keys[%u]: %s hashes to the same id as existing %s; rename one of them", i,
             DescribeKey(key, name), DescribeKey(key, last->name()));
      }
    }
    w.series[k] = last;
  }
  return true;
}

template <class W, class F, class B>
void Aggregator::ForEachRun(const Work& w, size_t sh, F&& f, B&& between) {
  // A series' accepted elements that sit next to each other in the grouped
  // order (and, for time windows, fall in one pane) form one run, which
  // goes in through the vectorized span paths: f(series, k, run, pane,
  // newest time, status). Prepare and Commit walk the same runs.
  constexpr uint32_t kAhead = 12;
  // (Not ready only while a COUNT handle on the arrival clock prepares,
  // which reads no times: `newest` is 0 then.)
  const int64_t* times = w.times_ready ? w.gtimes.data() : nullptr;
  Series* const* series = w.series.data();
  const uint8_t* status = w.all_accepted ? nullptr : w.gstatus.data();
  const int64_t width = geometry_.pane;
  // (Every series of a handle has its kind's window: the caller's W spares
  // reading each series' kind.)
  constexpr bool timed = W::kTimed;
  const uint32_t begin = w.shard_begin[sh];
  const uint32_t end = w.shard_begin[sh + 1];
  for (uint32_t k = begin; k < end; ++k) {
    if (k != begin) between(k);
    if (k + kAhead < end) {
      // The series some elements ahead: a miss to memory takes about as
      // long as a dozen elements' work.
      const Series* ahead = series[k + kAhead];
      __builtin_prefetch(ahead);
      __builtin_prefetch(reinterpret_cast<const char*>(ahead) + 64);
      __builtin_prefetch(reinterpret_cast<const char*>(ahead) + 128);
      if constexpr (timed) {
        // Its window (address only: nothing is read here).
        const char* win = reinterpret_cast<const char*>(&ahead->window.template As<W>());
        __builtin_prefetch(win);
        __builtin_prefetch(win + 64);
      }
    }
    if (k + kAhead / 2 < end) {
      // Second stage: what the run of a series whose window is in cache by
      // now touches (time windows: the newest pane, where values mostly land).
      series[k + kAhead / 2]->window.template As<W>().Prefetch();
    }
    Series* s = series[k];
    const uint8_t st = status ? status[k] : uint8_t{Work::kAccept};
    if (st != Work::kAccept) {
      f(s, k, uint32_t{1}, int64_t{0}, times ? times[k] : 0, st);
      continue;
    }
    uint32_t run = 1;
    int64_t pane = 0;
    if constexpr (timed) {
      int64_t newest = times[k];
      pane = PaneOf(times[k], width);
      // The pane's times, [lo, hi] (clamped to the int64 range).
      const int64_t lo = PaneStart(pane, width);
      const int64_t hi = Saturate((Wide(pane) + 1) * width - 1);
      while (k + run < end && series[k + run] == s &&
             (!status || status[k + run] == Work::kAccept) && times[k + run] >= lo &&
             times[k + run] <= hi) {
        newest = std::max(newest, times[k + run]);
        ++run;
      }
      f(s, k, run, pane, newest, st);
    } else {
      while (k + run < end && series[k + run] == s &&
             (!status || status[k + run] == Work::kAccept)) {
        ++run;
      }
      int64_t newest = 0;
      if (times) {
        newest = times[k];
        for (uint32_t r = 1; r < run; ++r) newest = std::max(newest, times[k + r]);
      }
      f(s, k, run, pane, newest, st);
    }
    k += run - 1;
  }
}

template <bool timed, class F>
void Aggregator::ForEachPaneRun(const Work& w, F&& f) {
  // The single series' accepted elements, split where the pane changes.
  const int64_t* t = w.run_times;
  const size_t n = w.run_n;
  const uint64_t base = w.clock_base;
  if constexpr (!timed) {
    if (n == 0) return;
    f(size_t{0}, n, int64_t{0}, t ? t[n - 1] : static_cast<int64_t>(base + n - 1));
    return;
  }
  const int64_t pane = geometry_.pane;
  for (size_t i = 0; i < n;) {
    int64_t ti = t ? t[i] : static_cast<int64_t>(base + i);
    int64_t p = PaneOf(ti, pane);
    size_t run;
    int64_t newest;
    if (t != nullptr && w.sorted && w.all_accepted) {
      // Sorted: the pane's run ends at the first time past it.
      int64_t last = Saturate((Wide(p) + 1) * pane - 1);
      run = static_cast<size_t>(std::upper_bound(t + i, t + n, last) - (t + i));
      newest = t[i + run - 1];
    } else if (t != nullptr) {
      run = std::max<size_t>(1, SortedRunLength(t + i, n - i, PaneStart(p, pane), PaneEnd(p, pane)));
      newest = t[i + run - 1];
    } else {
      Wide left = (Wide(p) + 1) * pane - ti;
      run = static_cast<size_t>(std::min<Wide>(Wide(n - i), left));
      newest = static_cast<int64_t>(base + i + run - 1);
    }
    f(i, run, p, newest);
    i += run;
  }
}

inline void Aggregator::Touch(Series* s, Work& w, const Watermark& start) {
  if (s->touch_epoch == w.epoch) return;
  w.touched.push_back(s);  // first: Undo must see every series it reserved in
  s->touch_epoch = w.epoch;
  // Windows the watermark closed before this batch are emitted before its
  // values land (pushes and advance leave that to the next call that looks).
  if (emits_ && !BringUpToDate(s, start, config_.max_pending_windows)) {
    MarkCounters(s, start.value);  // before this push changes them
  }
}

void Aggregator::PrepareSingle(Series* s, const Batch& b, Work& w) {
  // One series, the whole (unkeyed) batch.
  const size_t n = b.size;
  w.run_values = b.values;
  w.run_times = b.timestamps;
  w.run_n = n;
  w.run_late = w.run_rejected = 0;
  if (!w.all_accepted) {
    // Compact the accepted elements; count the rest (applied at commit).
    double* kept = Work::Sized(w.values, n);
    int64_t* kept_times = Work::Sized(w.times, n);
    size_t m = 0;
    for (size_t i = 0; i < n; ++i) {
      switch (w.status[i]) {
        case Work::kAccept:
          kept[m] = b.values[i];
          kept_times[m++] = b.timestamps ? b.timestamps[i] : static_cast<int64_t>(w.clock_base + i);
          break;
        case Work::kLate:
          ++w.run_late;
          break;
        default:
          ++w.run_rejected;
      }
    }
    w.run_values = kept;
    w.run_times = kept_times;
    w.run_n = m;
  }
  if (w.run_n == 0) return;
  const double* v = w.run_values;
  const int64_t* t = w.run_times;
  s->window.Visit([&](auto& win) {
    ForEachPaneRun<std::decay_t<decltype(win)>::kTimed>(
        w, [&](size_t i, size_t run, int64_t p, int64_t) {
          win.ReserveRun(v + i, t ? t + i : nullptr, run, p, mapping_, s->scope);
        });
  });
}

void Aggregator::Prepare(const Batch& b, Work& w, const Watermark& start, ShardSet& locks) {
  // Evicted series emit their due windows first: that can fail, erasing
  // them at commit cannot.
  for (Series* v : w.victims) BringUpToDate(v, start);
  if (!w.keyed) {
    Series* s = w.series[0];
    const size_t sh = SeriesTable::ShardIndex(s->key);
    locks.Claim(sh);
    ShardSet::Section section(locks, sh);
    locks.MarkPending(sh);
    Touch(s, w, start);
    PrepareSingle(s, b, w);
    return;
  }
  for (size_t sh = 0; sh < kShards; ++sh) {
    w.touched_begin[sh] = static_cast<uint32_t>(w.touched.size());
    if (w.shard_begin[sh] == w.shard_begin[sh + 1]) continue;
    locks.Claim(sh);
    ShardSet::Section section(locks, sh);
    locks.MarkPending(sh);
    if (w.resolve_in_prepare && !ResolveShard(b, w, sh)) throw NewKey{};
    const double* values = w.gvalues.data();
    const int64_t* times = w.times_ready ? w.gtimes.data() : nullptr;
    // Reservations read as nothing: waiting readers may come in between
    // any two runs (see ShardSet).
    auto between = [&](uint32_t) { section.LetWaitersIn(); };
    // Once per shard: the handle's window kind (every series has it).
    VisitKind(w.series[w.shard_begin[sh]]->window, [&](auto* kind) {
      using W = std::remove_pointer_t<decltype(kind)>;
      ForEachRun<W>(
          w, sh,
          [&](Series* s, uint32_t k, uint32_t run, int64_t pane, int64_t, uint8_t st) {
            Touch(s, w, start);
            if (st != Work::kAccept) return;
            // (Runs of one series add up; a late run reserves nothing.)
            s->window.As<W>().ReserveRun(values + k, W::kTimed ? times + k : nullptr, run, pane,
                                         mapping_, s->scope);
          },
          between);
    });
  }
  w.touched_begin[kShards] = static_cast<uint32_t>(w.touched.size());
}

void Aggregator::Undo(Work& w, ShardSet& locks) noexcept {
  // Touched series come shard by shard: each shard's under its data lock.
  const size_t n = w.touched.size();
  for (size_t k = 0; k < n;) {
    const size_t sh = SeriesTable::ShardIndex(w.touched[k]->key);
    ShardSet::Section section(locks, sh);
    for (; k < n && SeriesTable::ShardIndex(w.touched[k]->key) == sh; ++k) {
      w.touched[k]->window.UndoReservations();
    }
    locks.ClearPending(sh);
  }
}

Aggregator::Watermark Aggregator::CommitWatermark(const Watermark& end) const {
  Watermark wm = CurrentWatermark();
  if (end.set) wm = {true, wm.set ? std::max(wm.value, end.value) : end.value};
  return wm;
}

template <class W>
void Aggregator::FinishSeries(Series* s, const Watermark& wm) noexcept {
  W& win = s->window.As<W>();
  win.EndReservation();
  // Slides out old panes; SLIDING emits (allocates) nothing and keeps no
  // counter marks. (Straight to the kind: BringUpToDate's dispatch would
  // read the variant's tag, a cache line of the series nothing else here
  // touches.)
  if (geometry_.sliding && wm.set) win.Advance(wm.value, [](const WindowView&) {});
}

void Aggregator::CommitSingle(Series* s, Work& w) noexcept {
  s->late += w.run_late;
  s->rejected += w.run_rejected;
  s->last_touch = w.tick;
  table_.LruTouch(s);
  const size_t n = w.run_n;
  if (n == 0) return;
  const double* v = w.run_values;
  const int64_t* t = w.run_times;
  s->window.Visit([&](auto& win) {
    constexpr bool timed = std::decay_t<decltype(win)>::kTimed;
    uint64_t accepted = 0;
    int64_t newest = s->total ? s->last_event : kTimeMin;
    ForEachPaneRun<timed>(w, [&](size_t i, size_t run, int64_t p, int64_t last) {
      if (win.AddRun(v + i, t ? t + i : nullptr, run, p, mapping_, s->scope)) {
        accepted += run;
        newest = std::max(newest, last);
      } else {
        s->late += run;
      }
    });
    s->total += accepted;
    // (A single-series push of a window without event time leaves
    // last_event as it is, as it always has: the state bytes depend on it.)
    if (timed && accepted) s->last_event = newest;
  });
}

void Aggregator::Commit(Work& w, ShardSet& locks) noexcept {
  WINDOWAGG_NO_ALLOCATION_HERE();
  w.tick = tick_.fetch_add(1, std::memory_order_relaxed) + 1;
  // The watermark is published after the last slice (see Transact in
  // aggregator.h); series slide to it as they commit.
  const Watermark wm = CommitWatermark(w.end_wm);
  for (Series* v : w.victims) table_.Erase(v);

  if (!w.keyed) {
    Series* s = w.series[0];
    const size_t sh = SeriesTable::ShardIndex(s->key);
    {
      ShardSet::Section section(locks, sh);
      CommitSingle(s, w);
      s->window.Visit([&](auto& win) { FinishSeries<std::decay_t<decltype(win)>>(s, wm); });
      locks.ClearPending(sh);
    }
    locks.Release(sh);
    if (w.end_wm.set) RaiseWatermark(w.end_wm.value);
    return;
  }
  const int64_t* times = w.gtimes.data();
  const double* values = w.gvalues.data();
  for (size_t sh = 0; sh < kShards; ++sh) {
    if (w.shard_begin[sh] == w.shard_begin[sh + 1]) continue;
    {
      ShardSet::Section section(locks, sh);
      // Once per shard: the handle's window kind (every series has it).
      VisitKind(w.series[w.shard_begin[sh]]->window, [&](auto* kind) {
        using W = std::remove_pointer_t<decltype(kind)>;
        // The shard's series in the order Prepare touched them, which is the
        // order of their first runs here: [touched_begin, finished) are
        // finished, [finished, started) have begun.
        const uint32_t touched_end = w.touched_begin[sh + 1];
        uint32_t finished = w.touched_begin[sh];
        uint32_t started = finished;
        // Elements [shard begin, scanned) are counted into `started`: done
        // only at a handoff, so the loop pays nothing for it otherwise.
        uint32_t scanned = w.shard_begin[sh];
        auto finish = [&](uint32_t upto) {
          for (; finished < upto; ++finished) {
            if (table_.lru() && finished + 8 < upto) {
              // LruTouch rewrites the neighbours of a series a few ahead: have
              // their links in cache by then (they are scattered in memory).
              const Series* ahead = w.touched[finished + 8];
              if (ahead->lru_prev) __builtin_prefetch(&ahead->lru_prev->lru_next, 1);
              if (ahead->lru_next) __builtin_prefetch(&ahead->lru_next->lru_prev, 1);
            }
            FinishSeries<W>(w.touched[finished], wm);
            table_.LruTouch(w.touched[finished]);  // its last_touch is w.tick now
          }
        };
        // At a group boundary every series that began before it has all its
        // elements before it and none after has begun: only there, and only
        // when a reader waits, the series before are finished and the reader
        // comes in; it sees each series as before or as after the push (see
        // ShardSet). Nobody waiting, the loop pays one load per run; the
        // rest of the series are finished after the slice, as always.
        auto between = [&](uint32_t k) {
          if (!section.Wanted()) return;
          // (A series' runs never straddle a boundary: the cheap test first.)
          if (!w.grouped || w.series[k] == w.series[k - 1] || w.Group(k) == w.Group(k - 1)) return;
          // A series begins at its first element, in touched order.
          for (; scanned < k; ++scanned) {
            if (started < touched_end && w.touched[started] == w.series[scanned]) ++started;
          }
          finish(started);
          section.LetWaitersIn();
        };
        ForEachRun<W>(
            w, sh,
            [&](Series* s, uint32_t k, uint32_t run, int64_t pane, int64_t newest, uint8_t st) {
              s->last_touch = w.tick;
              if (st == Work::kLate) {
                ++s->late;
                return;
              }
              if (st == Work::kSkipped) {
                ++s->rejected;
                return;
              }
              if (!s->window.As<W>().AddRun(values + k, W::kTimed ? times + k : nullptr,
                                            run, pane, mapping_, s->scope)) {
                s->late += run;  // its pane closed since Classify
                return;
              }
              if (s->total == 0 || newest > s->last_event) s->last_event = newest;
              s->total += run;
            },
            between);
        finish(touched_end);
      });
      locks.ClearPending(sh);
    }
    locks.Release(sh);
  }
  if (w.end_wm.set) RaiseWatermark(w.end_wm.value);
}

void Aggregator::Transact(const Batch& b, Work& w, bool exclusive, bool sweep) {
  const size_t n = b.size;
  ShardSet locks(this, config_.thread_safe && !exclusive);
  w.touched.clear();
  // COUNT windows need no event time to prepare (nothing is late): a keyed
  // push takes its arrival numbers once prepared, so a push that meets a
  // new key has taken none.
  const bool late_clock = w.clock && w.keyed && !timed_;
  auto take_clock = [&] {
    const Watermark start = CurrentWatermark();
    uint64_t base = clock_.fetch_add(n, std::memory_order_relaxed);
    w.clock_base = base;
    w.clock_taken = true;
    MarkClockLate(w, base, start);
    // The watermark is the newest *accepted* time: skipped and late
    // elements take an arrival number but do not move it.
    w.end_wm = {false, 0};
    for (size_t i = n; i-- > 0;) {
      if (w.all_accepted || w.status[i] == Work::kAccept) {
        w.end_wm = {true, static_cast<int64_t>(base + i)};
        break;
      }
    }
  };
  try {
    if (w.clock && !late_clock) take_clock();
    if (w.keyed) Gather(b, w, /*times=*/!late_clock);
    const Watermark start = CurrentWatermark();
    Prepare(b, w, start, locks);
    if (late_clock) {
      take_clock();
      GatherTimes(b, w);
    }
    if (sweep) {
      // The watermark this push ends with; series it touched are spared.
      int64_t end = w.end_wm.set ? w.end_wm.value : start.value;
      if (start.set) end = std::max(end, start.value);
      if (start.set || w.end_wm.set) PrepareSweep(w.sweep, start, end, w.epoch);
    }
    // Last, as nothing may fail after it: the first push that commits fixes
    // the handle's clock, atomically, so of two first pushes racing (one
    // with timestamps, one without) exactly one is applied.
    FixTimestampMode(w.clock ? 2 : 1);
  } catch (...) {
    Undo(w, locks);
    w.sweep.windows.clear();
    if (w.clock_taken) {
      // Give the arrival numbers back unless another push took later ones.
      uint64_t expected = w.clock_base + n;
      clock_.compare_exchange_strong(expected, w.clock_base, std::memory_order_relaxed);
    }
    throw;
  }
  Commit(w, locks);
  CommitSweep(w.sweep);
}

void Aggregator::GroupByShard(Work& w) {
  // A stable two-pass radix sort on the mixed key: by the kSubBits bits
  // below the shard bits, then by shard. Batches below kGroupMin skip the
  // first pass (its histogram would cost more than the runs it forms).
  constexpr int kSubBits = Work::kSubBits;
  constexpr size_t kGroupMin = 512;
  const size_t n = w.size();
  uint64_t* m = Work::Sized(w.mixed, n);
  for (size_t i = 0; i < n; ++i) m[i] = SeriesTable::Mix(w.keys[i]);
  uint32_t* order = Work::Sized(w.order, n);
  const uint32_t* pass1 = nullptr;
  if (n >= kGroupMin) {
    constexpr uint32_t kBuckets = uint32_t{1} << kSubBits;
    uint32_t count[kBuckets + 1] = {};
    auto sub = [&](size_t i) { return (m[i] >> (64 - kShardBits - kSubBits)) & (kBuckets - 1); };
    for (size_t i = 0; i < n; ++i) ++count[sub(i) + 1];
    for (uint32_t c = 0; c < kBuckets; ++c) count[c + 1] += count[c];
    uint32_t* tmp = Work::Sized(w.order_scratch, n);
    for (size_t i = 0; i < n; ++i) tmp[count[sub(i)]++] = static_cast<uint32_t>(i);
    pass1 = tmp;
  }
  w.grouped = pass1 != nullptr;
  std::fill(std::begin(w.shard_begin), std::end(w.shard_begin), 0);
  for (size_t i = 0; i < n; ++i) ++w.shard_begin[(SeriesTable::ShardIndexOfMixed(m[i])) + 1];
  for (size_t sh = 0; sh < kShards; ++sh) w.shard_begin[sh + 1] += w.shard_begin[sh];
  uint32_t next[kShards];
  std::copy(w.shard_begin, w.shard_begin + kShards, next);
  for (size_t j = 0; j < n; ++j) {
    const uint32_t i = pass1 ? pass1[j] : static_cast<uint32_t>(j);
    order[next[SeriesTable::ShardIndexOfMixed(m[i])]++] = i;
  }
}

void Aggregator::Gather(const Batch& b, Work& w, bool times) {
  // Values and status in grouped order; times too if known (arrival
  // numbers taken).
  const size_t n = w.size();
  const uint32_t* order = w.order.data();
  double* v = Work::Sized(w.gvalues, n);
  for (size_t k = 0; k < n; ++k) v[k] = b.values[order[k]];
  if (!w.all_accepted) {
    uint8_t* st = Work::Sized(w.gstatus, n);
    for (size_t k = 0; k < n; ++k) st[k] = w.status[order[k]];
  }
  if (times) GatherTimes(b, w);
}

void Aggregator::GatherTimes(const Batch& b, Work& w) {
  const size_t n = w.size();
  const uint32_t* order = w.order.data();
  int64_t* t = Work::Sized(w.gtimes, n);
  if (b.timestamps) {
    for (size_t k = 0; k < n; ++k) t[k] = b.timestamps[order[k]];
  } else {
    for (size_t k = 0; k < n; ++k) t[k] = static_cast<int64_t>(w.clock_base + order[k]);
  }
  w.times_ready = true;
}

void Aggregator::Push(const Batch& b) {
  const size_t n = b.size;
  if (n == 0) return;
  if (b.values == nullptr) {
    Fail(Status::kInvalidArgument, "values is NULL but len is %u", n);
  }
  if (n > (size_t{1} << 32) - 1) {
    Fail(Status::kInvalidArgument, "len %u is too large (at most 2^32 - 1 values per batch)", n);
  }
  const bool named = b.key_offsets != nullptr;
  if (named) {
    for (size_t i = 0; i < n; ++i) {
      if (b.key_offsets[i + 1] < b.key_offsets[i]) {
        Fail(Status::kInvalidArgument,
             "key_offsets[%u] = %u is below key_offsets[%u] = %u: offsets must not decrease",
             i + 1, b.key_offsets[i + 1], i, b.key_offsets[i]);
      }
    }
    if (b.key_bytes == nullptr && b.key_offsets[n] != b.key_offsets[0]) {
      Fail(Status::kInvalidArgument, "key_bytes is NULL but the offsets describe %u bytes",
           b.key_offsets[n] - b.key_offsets[0]);
    }
  }
  if (n == 1 && b.keys != nullptr && config_.key_ttl <= 0 && std::isfinite(b.values[0]) &&
      PushOneValue(b)) {
    return;
  }
  // Refused early here; fixed atomically when the first push commits
  // (FixTimestampMode in Transact).
  CheckTimestampMode(b.timestamps ? 1 : 2, timestamp_mode_.load(std::memory_order_acquire));

  account_.CheckRoom(0, "this push");
  thread_local Work work;
  Work& w = work;
  w.Reset(n);
  Classify(b, w);
  w.epoch = epoch_.fetch_add(1, std::memory_order_relaxed) + 1;

  if (b.keys != nullptr || named) {
    Work::Sized(w.keys, n);
    w.keyed = true;
    if (named) {
      for (size_t i = 0; i < n; ++i) {
        w.keys[i] = KeyHash(b.key_bytes ? b.key_bytes + b.key_offsets[i] : nullptr,
                            b.key_offsets[i + 1] - b.key_offsets[i]);
      }
    } else {
      std::memcpy(w.keys.data(), b.keys, n * sizeof(uint64_t));
    }
    GroupByShard(w);
  }

  // A due key_ttl sweep changes the set of series: exclusive path.
  bool sweep = false;
  if (config_.key_ttl > 0) {
    Watermark cur = CurrentWatermark();
    int64_t end = w.end_wm.set ? w.end_wm.value
                               : (w.clock ? static_cast<int64_t>(clock_.load() + n - 1) : cur.value);
    if (cur.set) end = std::max(end, cur.value);
    sweep = (cur.set || w.end_wm.set || w.clock) && SweepDue(end);
  }
  bool applied = false;
  if (!sweep) {
    SeriesTable::TableLock table(table_, /*exclusive=*/false);
    bool resolved;
    if (!w.keyed) {
      SeriesTable::ShardLock lock(table_, table_.ShardOf(kDefaultKey));
      Series* s = table_.Find(kDefaultKey);
      resolved = s != nullptr;
      if (resolved) *Work::Sized(w.series, 1) = s;
    } else if (b.timestamps != nullptr || !timed_) {
      // Keys resolved shard by shard as the push prepares (a time window
      // on the arrival clock needs its numbers first, so resolves first).
      Work::Sized(w.series, n);
      w.resolve_in_prepare = true;
      try {
        Transact(b, w, /*exclusive=*/false, /*sweep=*/false);
        applied = true;
      } catch (const NewKey&) {
        // Undone, no arrival number kept: start over exclusively, as a
        // new push (its series' touch marks are this attempt's).
        w.resolve_in_prepare = false;
        w.clock_taken = false;
        w.touched.clear();
        w.epoch = epoch_.fetch_add(1, std::memory_order_relaxed) + 1;
      }
      resolved = false;
    } else {
      resolved = Resolve(b, w);
    }
    if (resolved) {
      Transact(b, w, /*exclusive=*/false, /*sweep=*/false);
      applied = true;
    }
  }
  if (!applied) {
    // Some key is new: change the table exclusively. An unkeyed handle takes
    // this path once, for its first push.
    SeriesTable::TableLock table(table_, /*exclusive=*/true);
    if (!w.keyed) {
      uint64_t* keys = Work::Sized(w.keys, n);
      std::fill(keys, keys + n, kDefaultKey);
      w.keyed = true;
      GroupByShard(w);
    }
    CreateKeys(b, w);
    try {
      GroupByShard(w);  // KEYS_OVERFLOW may have remapped keys
      if (!Resolve(b, w)) Fail(Status::kInternal, "a series is missing right after creation");
      Transact(b, w, /*exclusive=*/true, sweep);
    } catch (...) {
      for (Series* s : w.created) table_.Erase(s);
      throw;
    }
  }
}

bool Aggregator::PushOneValue(const Batch& b) {
  // The caller checked: one finite value, a numeric key, no key_ttl. This
  // is Classify + Prepare + Commit for one element, under the shard's data
  // lock only (no push is pending on the shard, so no reservation mixes).
  const int mode = b.timestamps ? 1 : 2;
  const int known = timestamp_mode_.load(std::memory_order_acquire);
  if (known != mode) {
    CheckTimestampMode(mode, known);
    return false;  // the first push fixes the mode: general path
  }
  account_.CheckRoom(0, "this push");
  const uint64_t key = b.keys[0];
  const double x = b.values[0];
  SeriesTable::TableLock table(table_, /*exclusive=*/false);
  Shard& shard = table_.ShardOf(key);
  SeriesTable::ShardLock lock(table_, shard);
  if (shard.push_pending) return false;
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return false;
  Series* s = it->second;
  const Watermark start = CurrentWatermark();
  int64_t t;
  uint64_t base = 0;
  if (b.timestamps) {
    t = b.timestamps[0];
  } else {
    base = clock_.fetch_add(1, std::memory_order_relaxed);
    t = static_cast<int64_t>(base);
  }
  // Once: the series' window kind.
  s->window.Visit([&](auto& win) {
    using W = std::decay_t<decltype(win)>;
    // (Windows without event time take every value: nothing is late.)
    const bool late = W::kTimed && IsLate(t, start);
    const int64_t pane = W::kTimed ? PaneOf(t, geometry_.pane) : 0;
    try {
      // (As Touch: windows the watermark closed before this value go first.)
      if (emits_ && !BringUpToDate(s, start, config_.max_pending_windows)) {
        MarkCounters(s, start.value);  // before this push changes them
      }
      if (!late) win.ReserveRun(&x, &t, 1, pane, mapping_, s->scope);
    } catch (...) {
      win.UndoReservations();
      if (!b.timestamps) {
        uint64_t expected = base + 1;  // give the number back unless taken past
        clock_.compare_exchange_strong(expected, base, std::memory_order_relaxed);
      }
      throw;
    }
    WINDOWAGG_NO_ALLOCATION_HERE();
    // Single-threaded handles need no atomic increment.
    const uint64_t tick = config_.thread_safe
                              ? tick_.fetch_add(1, std::memory_order_relaxed) + 1
                              : tick_.load(std::memory_order_relaxed) + 1;
    if (!config_.thread_safe) tick_.store(tick, std::memory_order_relaxed);
    s->last_touch = tick;
    // COUNT windows take every value; the watermark is the newest accepted time.
    Watermark end{false, 0};
    if (late || !win.AddRun(&x, &t, 1, pane, mapping_, s->scope)) {
      ++s->late;
    } else {
      end = {true, t};
    }
    if (end.set) {
      if (s->total == 0 || t > s->last_event) s->last_event = t;
      ++s->total;
    }
    FinishSeries<W>(s, CommitWatermark(end));
    table_.LruTouch(s);
    if (end.set) RaiseWatermark(end.value);
  });
  return true;
}

void Aggregator::CheckTimestampMode(int mode, int known) {
  if (known == 1 && mode == 2) {
    Fail(Status::kInvalidArgument,
         "this handle's first push had timestamps, so every push needs them");
  }
  if (known == 2 && mode == 1) {
    Fail(Status::kInvalidArgument,
         "this handle's first push had no timestamps (arrival-order clock), so no push may "
         "have them");
  }
}

void Aggregator::FixTimestampMode(int mode) {
  int known = 0;
  if (timestamp_mode_.compare_exchange_strong(known, mode, std::memory_order_acq_rel)) return;
  CheckTimestampMode(mode, known);
}

}  // namespace windowagg::internal
