#include "core/aggregator.h"


#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/strings/escaping.h"
#include "core/error.h"
#include "core/hash_map_room.h"
#include "core/kernels.h"
#include "core/key_hash.h"
#include "core/time_math.h"

namespace windowagg::internal {


// A new series' object, table slot and first buffers, roughly: what the
// memory ceiling expects a key creation to take.
constexpr size_t kNewSeriesBytes = 1024;

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
  ScratchVector<uint64_t> mixed;   // Mix(keys[i])
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
// (`mu`) is taken only around a slice's prepare and its commit (Section).
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
    a_->shards_[sh]->push_mu.lock();
    held_ |= uint64_t{1} << sh;
  }
  // Section held: the push has reservations in sh until it commits.
  void MarkPending(size_t sh) {
    if (!active_) return;
    a_->shards_[sh]->push_pending = true;
    pending_ |= uint64_t{1} << sh;
  }
  // Section held: the push is no longer pending on sh (commit or undo).
  void ClearPending(size_t sh) {
    if (!(pending_ >> sh & 1)) return;
    a_->shards_[sh]->push_pending = false;
    pending_ &= ~(uint64_t{1} << sh);
  }
  void Release(size_t sh) {
    if (!(held_ >> sh & 1)) return;
    if (pending_ >> sh & 1) {
      std::lock_guard<std::mutex> lock(a_->shards_[sh]->mu);
      ClearPending(sh);
    }
    a_->shards_[sh]->push_mu.unlock();
    held_ &= ~(uint64_t{1} << sh);
  }

  // The data lock of one shard for one slice of the push.
  class Section {
   public:
    Section(ShardSet& set, size_t sh)
        : mu_(set.active_ ? &set.a_->shards_[sh]->mu : nullptr) {
      if (mu_) mu_->lock();
    }
    ~Section() {
      if (mu_) mu_->unlock();
    }
    Section(const Section&) = delete;
    Section& operator=(const Section&) = delete;

   private:
    std::mutex* mu_;
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

namespace {
std::string DescribeKey(uint64_t key, std::string_view name) {
  if (name.empty()) return absl::StrFormat("key %u", key);
  std::string shown(name.substr(0, 64));
  return absl::StrFormat("key \"%s\"%s (id %u)", absl::CHexEscape(shown),
                         name.size() > 64 ? "..." : "", key);
}

// Quantiles of a small count window, exactly: the rank-floor(q*(n-1)) value.
void ExactQuantiles(const CountWindow& c, const double* q, size_t nq, double* out) {
  thread_local ScratchVector<double> sorted;
  const double *a, *b;
  size_t na, nb;
  c.Segments(&a, &na, &b, &nb);
  size_t n = na + nb;
  if (n == 0) {
    for (size_t j = 0; j < nq; ++j) out[j] = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  sorted.assign(a, a + na);
  sorted.insert(sorted.end(), b, b + nb);
  std::sort(sorted.begin(), sorted.end());
  for (size_t j = 0; j < nq; ++j) {
    double rank = std::floor(q[j] * static_cast<double>(n - 1));
    size_t r = rank <= 0 ? 0 : std::min(n - 1, static_cast<size_t>(rank));
    out[j] = sorted[r];
  }
}

// Thrown by Emit when the queue holds its limit; caught in BringUpToDate.
struct QueueFull {};
// Thrown by Prepare when a key of the batch has no series (resolving in
// the prepare pass); caught in Push, which creates it exclusively.
struct NewKey {};

const char* NonFiniteName(double v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

Stats MakeStats(const Moments& m, int64_t start, int64_t end, const Series* s,
                int64_t watermark) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  Stats st{};
  st.count = m.count;
  st.sum = m.count ? m.Sum() : 0.0;
  st.mean = m.count ? m.Sum() / static_cast<double>(m.count) : kNaN;
  if (m.count && !(st.mean >= m.min && st.mean <= m.max)) {
    // The sum overflowed (its Welford mean is finite, moments.h), or the
    // division rounded past an extreme (three times 0.1): the mean of
    // values in [min, max] lies in [min, max].
    st.mean = std::clamp(std::isfinite(st.mean) ? st.mean : m.mean, m.min, m.max);
  }
  st.min = m.count ? m.min : kNaN;
  st.max = m.count ? m.max : kNaN;
  st.variance = m.Variance();
  st.stddev = std::sqrt(st.variance);
  st.window_start = start;
  st.window_end = end;
  st.late = s ? s->late : 0;
  st.rejected = s ? s->rejected : 0;
  st.total = s ? s->total : 0;
  st.watermark = watermark;
  return st;
}

}  // namespace

// ---- Construction ----------------------------------------------------------

Aggregator::Aggregator(const Config& config)
    : config_(config),
      mapping_(config.relative_accuracy),
      account_(config.memory_limit),
      scope_{&account_, nullptr},
      queue_(&scope_),
      lru_(config.key_policy == KeyPolicy::kEvictLru && config.max_keys != 0) {
  if (config_.kind != WindowKind::kCount) {
    geometry_.sliding = config_.kind == WindowKind::kSliding;
    geometry_.pane = geometry_.sliding ? config_.pane_width : config_.slide;
    geometry_.width = config_.window_size;
    geometry_.lateness = config_.allowed_lateness;
    geometry_.panes_per_window = config_.window_size / geometry_.pane;
  }
  for (auto& s : shards_) s = std::make_unique<Shard>(&scope_);
  // Abseil's mutex deadlock detection is the host's process-wide setting
  // (Debian's shared Abseil has it on): the library never changes it.
}

Aggregator::~Aggregator() {
  for (auto& shard : shards_) {
    for (auto& [key, s] : shard->map) DeleteSeries(s);
    shard->map.clear();
  }
}

Aggregator* Aggregator::Create(const Config& config) {
  void* mem = Allocate(nullptr, sizeof(Aggregator));
  try {
    return new (mem) Aggregator(config);
  } catch (...) {
    Deallocate(nullptr, mem);
    throw;
  }
}

void Aggregator::Destroy(Aggregator* a) noexcept {
  if (a == nullptr) return;
  a->~Aggregator();
  Deallocate(nullptr, a);
}

// ---- Locks -----------------------------------------------------------------

Aggregator::TableLock::TableLock(const Aggregator* a, bool exclusive)
    : a_(a), exclusive_(exclusive) {
  if (!a_->config_.thread_safe) return;
  if (exclusive_) {
    a_->table_mu_.Lock();
  } else {
    a_->table_mu_.ReaderLock();
  }
}

Aggregator::TableLock::~TableLock() {
  if (!a_->config_.thread_safe) return;
  if (exclusive_) {
    a_->table_mu_.Unlock();
  } else {
    a_->table_mu_.ReaderUnlock();
  }
}

Aggregator::ShardLock::ShardLock(const Aggregator* a, Shard& s)
    : s_(a->config_.thread_safe ? &s : nullptr) {
  if (s_) s_->mu.lock();
}

Aggregator::ShardLock::~ShardLock() {
  if (s_) s_->mu.unlock();
}

template <class F>
void Aggregator::ForEachSeries(F&& visit) {
  for (auto& shard : shards_) {
    // The set of series changes only under the exclusive table lock, which
    // the caller excludes: an empty shard can be skipped without its lock.
    if (shard->map.empty()) continue;
    ShardLock lock(this, *shard);
    for (auto& [key, s] : shard->map) visit(s);
  }
}

template <class F>
size_t Aggregator::Page(Cursor* cursor, size_t cap, F&& visit) {
  if (cursor->done || cap == 0) return 0;
  size_t filled = 0;
  size_t first_shard = cursor->started ? cursor->position >> (64 - kShardBits) : 0;
  ScratchVector<std::pair<uint64_t, Series*>> page;
  for (size_t sh = first_shard; sh < kShards; ++sh) {
    {
      ShardLock lock(this, *shards_[sh]);
      page.clear();
      for (auto& [key, s] : shards_[sh]->map) {
        uint64_t m = Mix(key);
        if (!cursor->started || m > cursor->position) page.emplace_back(m, s);
      }
      size_t room = cap - filled;
      if (page.size() > room) {
        std::nth_element(page.begin(), page.begin() + room, page.end());
        page.resize(room + 1);  // one extra tells "more in this shard"
      }
      std::sort(page.begin(), page.end());
      for (size_t k = 0; k < page.size(); ++k) {
        if (filled == cap || !visit(page[k].second)) return filled;
        cursor->position = page[k].first;
        cursor->started = 1;
        ++filled;
      }
    }
    if (sh + 1 < kShards) {
      // Resume at the next shard: every Mix there is above this position.
      cursor->position = (uint64_t{sh + 1} << (64 - kShardBits)) - 1;
      cursor->started = 1;
    }
  }
  cursor->done = 1;
  return filled;
}

uint64_t Aggregator::Mix(uint64_t key) {
  // splitmix64's finalizer: a bijection, so ordering by Mix(key) is total and
  // a cursor can resume after any key.
  key ^= key >> 30;
  key *= 0xbf58476d1ce4e5b9ull;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebull;
  key ^= key >> 31;
  return key;
}

// ---- Watermark -------------------------------------------------------------

Aggregator::Watermark Aggregator::CurrentWatermark() const {
  if (!has_watermark_.load(std::memory_order_acquire)) return {false, 0};
  return {true, watermark_.load(std::memory_order_acquire)};
}

void Aggregator::RaiseWatermark(int64_t wm) {
  int64_t cur = watermark_.load(std::memory_order_relaxed);
  if (!has_watermark_.load(std::memory_order_acquire)) {
    // First value: race only against other first values.
    bool expected = false;
    watermark_.store(wm, std::memory_order_relaxed);
    if (has_watermark_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return;
    cur = watermark_.load(std::memory_order_relaxed);
  }
  while (wm > cur && !watermark_.compare_exchange_weak(cur, wm, std::memory_order_acq_rel)) {
  }
}

// ---- Series lifecycle ------------------------------------------------------

Series* Aggregator::Find(uint64_t key) {
  Shard& sh = ShardOf(key);
  auto it = sh.map.find(key);
  return it == sh.map.end() ? nullptr : it->second;
}

void Aggregator::MakeRoomForInsert(SeriesMap& map) {
  windowagg::internal::MakeRoomForInsert(map);  // core/hash_map_room.h: why and how
}

Series* Aggregator::NewSeries(uint64_t key) {
  void* mem = Allocate(&account_, sizeof(Series));
  try {
    return new (mem) Series(key, &account_, static_cast<uint64_t>(config_.window_size),
                            config_.kind == WindowKind::kCount ? nullptr : &geometry_);
  } catch (...) {
    Deallocate(&account_, mem);
    throw;
  }
}

void Aggregator::DeleteSeries(Series* s) noexcept {
  s->~Series();
  Deallocate(&account_, s);
}

void Aggregator::EraseSeries(Series* s) {
  LruUnlink(s);
  ShardOf(s->key).map.erase(s->key);
  if (s->key != kOverflowKey) live_keys_.fetch_sub(1, std::memory_order_relaxed);
  DeleteSeries(s);
}

bool Aggregator::MayClose(const Series* s) const {
  // A push between its prepare and its commit of this series' shard may
  // hold reservations in its panes (empty panes, empty sketch buckets): a
  // window closed now would carry them, and a pane that stopped being open
  // could stay behind empty. Such a series waits for the next read, poll or
  // push (the read itself does not need it: PaneWindow::Current). SLIDING
  // only drops whole panes, which the commit then counts late.
  if (config_.kind != WindowKind::kTumbling && config_.kind != WindowKind::kHopping) return true;
  return !shards_[Mix(s->key) >> (64 - kShardBits)]->push_pending;
}

bool Aggregator::BringUpToDate(Series* s, const Watermark& wm, uint64_t queue_limit) {
  if (!wm.set || !s->panes) return true;
  if (queue_limit == kNoQueueLimit || geometry_.sliding) {
    s->panes->Advance(wm.value, [&](const WindowView& view) { Emit(*s, view, kNoQueueLimit); });
    PruneMarks(s);
    return true;
  }
  if (queue_.size_hint() < queue_limit) {
    try {
      s->panes->Advance(wm.value, [&](const WindowView& view) { Emit(*s, view, queue_limit); });
      PruneMarks(s);
      return true;
    } catch (const QueueFull&) {
      // The windows before stay closed and queued; this one and the later
      // ones stay due in the series (PaneWindow::Advance).
      PruneMarks(s);
    }
  }
  // The queue is full: whatever this series has due waits in it.
  std::optional<Wide> first = FirstOpenWindow(*s);
  if (!first || *first > LastDue(wm.value)) return true;
  if (!backlog_.load(std::memory_order_relaxed)) backlog_.store(true, std::memory_order_release);
  return false;
}

Wide Aggregator::LastDue(int64_t wm) const {
  // As PaneWindow: window j closes once wm >= its end plus the lateness, and
  // at wm = INT64_MAX every window has closed.
  return wm == kTimeMax ? Wide(kTimeMax)
                        : FloorDiv(Wide(wm) - geometry_.lateness - geometry_.width, geometry_.pane);
}

std::optional<Wide> Aggregator::FirstOpenWindow(const Series& s) const {
  const PaneWindow& pw = *s.panes;
  if (pw.empty()) return std::nullopt;
  // The first pane's earliest window not closed yet holds data.
  return std::max<Wide>(pw.closed_below(),
                        Wide(pw.panes().front().index) - geometry_.panes_per_window + 1);
}

int64_t Aggregator::CloseTime(Wide window) const {
  return Saturate(Wide(Saturate(window * geometry_.pane + geometry_.width)) + geometry_.lateness);
}

void Aggregator::MarkCounters(Series* s, int64_t wm) {
  auto& marks = s->marks;
  if (!marks.empty()) {
    Series::CounterMark& last = marks.back();
    if (last.late == s->late && last.rejected == s->rejected && last.total == s->total) {
      last.wm = std::max(last.wm, wm);  // same counters: the mark covers more
      return;
    }
    if (LastDue(last.wm) >= LastDue(wm)) return;  // no window fell due since
  }
  marks.push_back({wm, s->late, s->rejected, s->total});  // may throw: nothing changed yet
}

void Aggregator::PruneMarks(Series* s) noexcept {
  auto& marks = s->marks;
  if (marks.empty()) return;
  std::optional<Wide> first = FirstOpenWindow(*s);
  const int64_t next_close = first ? CloseTime(*first) : kTimeMax;
  size_t drop = 0;
  while (drop < marks.size() && (!first || marks[drop].wm < next_close)) ++drop;
  if (drop == marks.size()) {
    std::vector<Series::CounterMark, ScopeAllocator<Series::CounterMark>> none(
        marks.get_allocator());
    marks.swap(none);  // frees; an empty vector allocates nothing
  } else if (drop > 0) {
    marks.erase(marks.begin(), marks.begin() + static_cast<ptrdiff_t>(drop));
  }
}

// ---- LRU order (EVICT_LRU) -------------------------------------------------

void Aggregator::LruLink(Series* s) noexcept {
  if (!lru_) return;
  Shard& sh = ShardOf(s->key);
  s->lru_next = nullptr;
  s->lru_prev = sh.lru_tail;
  (sh.lru_tail ? sh.lru_tail->lru_next : sh.lru_head) = s;
  sh.lru_tail = s;
}

void Aggregator::LruUnlink(Series* s) noexcept {
  if (!lru_) return;
  Shard& sh = ShardOf(s->key);
  (s->lru_prev ? s->lru_prev->lru_next : sh.lru_head) = s->lru_next;
  (s->lru_next ? s->lru_next->lru_prev : sh.lru_tail) = s->lru_prev;
  s->lru_prev = s->lru_next = nullptr;
}

void Aggregator::LruTouch(Series* s) noexcept {
  if (!lru_ || s->lru_next == nullptr) return;  // already the newest
  LruUnlink(s);
  LruLink(s);
}

void Aggregator::LruAppend(Series* s) noexcept {
  LruLink(s);
  if (lru_ && s->lru_prev != nullptr && s->lru_prev->last_touch > s->last_touch) {
    lru_sorted_ = false;
  }
}

void Aggregator::LruSort() {
  // Allocates before it relinks a shard; a failure leaves the lists whole
  // (some sorted already) and lru_sorted_ false.
  ScratchVector<Series*> order;
  for (auto& shard : shards_) {
    order.clear();
    for (Series* s = shard->lru_head; s != nullptr; s = s->lru_next) order.push_back(s);
    std::stable_sort(order.begin(), order.end(),
                     [](const Series* a, const Series* b) { return a->last_touch < b->last_touch; });
    shard->lru_head = shard->lru_tail = nullptr;
    for (Series* s : order) LruLink(s);
  }
  lru_sorted_ = true;
}

template <class F>
void Aggregator::LruOldest(uint64_t want, F&& spare, ScratchVector<Series*>* out) {
  // A k-way merge of the sorted shard lists by last_touch (ties: any order,
  // as the documented "least recently updated" leaves them).
  Series* heads[kShards];
  size_t nh = 0;
  for (auto& shard : shards_) {
    if (shard->lru_head != nullptr) heads[nh++] = shard->lru_head;
  }
  auto newer = [](const Series* a, const Series* b) { return a->last_touch > b->last_touch; };
  std::make_heap(heads, heads + nh, newer);
  uint64_t found = 0;
  while (nh > 0 && found < want) {
    std::pop_heap(heads, heads + nh, newer);
    Series* s = heads[nh - 1];
    if (s->lru_next != nullptr) {
      heads[nh - 1] = s->lru_next;
      std::push_heap(heads, heads + nh, newer);
    } else {
      --nh;
    }
    if (spare(s)) continue;
    out->push_back(s);
    ++found;
  }
}

ClosedWindow Aggregator::MakeClosed(const Series& s, const WindowView& view) {
  ClosedWindow w{s.key, MakeStats(view.moments, view.start, view.end, &s, 0),
                 Sketch(&scope_)};
  // The watermark at which the window closed (its end plus the lateness):
  // the same whenever the window is emitted.
  w.stats.watermark = Saturate(Wide(view.end) + config_.allowed_lateness);
  // A window a full queue kept waiting carries the counters of its mark.
  for (const Series::CounterMark& m : s.marks) {
    if (m.wm >= w.stats.watermark) {
      w.stats.late = m.late;
      w.stats.rejected = m.rejected;
      w.stats.total = m.total;
      break;
    }
  }
  if (config_.quantiles) {
    for (const Sketch* part : view.sketches) w.sketch.MergeFrom(*part);
  }
  return w;
}

void Aggregator::Emit(const Series& s, const WindowView& view, uint64_t queue_limit) {
  // A window whose panes are all empty holds only a concurrent push's
  // reservations (see Transact in aggregator.h): nothing to emit.
  if (view.moments.count == 0) return;
  // (Checked without the lock: concurrent pushes may pass the limit by a
  // window each.)
  if (queue_.size_hint() >= queue_limit) throw QueueFull{};
  ClosedWindow w = MakeClosed(s, view);
  absl::MutexLock lock(&queue_mu_);
  queue_.Reserve(1);
  queue_.PushReserved(std::move(w));
}

// ---- Closed-window queue ---------------------------------------------------

void WindowQueue::Reserve(size_t more) {
  if (v_.capacity() - v_.size() >= more) return;
  Compact();
  if (v_.capacity() - v_.size() >= more) return;
  v_.reserve(std::max({v_.size() + more, v_.capacity() * 2, size_t{16}}));
}

void WindowQueue::PushReserved(ClosedWindow&& w) noexcept {
  v_.push_back(std::move(w));  // within capacity: no allocation, cannot throw
  size_hint_.store(size(), std::memory_order_relaxed);
}

void WindowQueue::pop_front() noexcept {
  v_[head_].sketch = Sketch();  // frees its buckets now
  size_hint_.store(size() - 1, std::memory_order_relaxed);
  if (++head_ == v_.size()) {
    v_.clear();
    head_ = 0;
    if (v_.capacity() > 1024) {
      // Drained after a burst: give the room back (an empty vector
      // allocates nothing, so this cannot throw).
      std::vector<ClosedWindow, ScopeAllocator<ClosedWindow>> empty(v_.get_allocator());
      v_.swap(empty);
    }
  } else if (head_ >= 32 && head_ * 2 >= v_.size()) {
    Compact();
  }
}

void WindowQueue::Compact() noexcept {
  if (head_ == 0) return;
  v_.erase(v_.begin(), v_.begin() + static_cast<ptrdiff_t>(head_));
  head_ = 0;
}

// ---- Push ------------------------------------------------------------------

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
  if (config_.kind == WindowKind::kCount) {
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

void Aggregator::MarkClockLate(Work& w, uint64_t base) {
  // Arrival times only grow, so against the watermark at the batch's start
  // (aggregator_advance may have moved it past the clock) only a prefix of
  // the batch can be late.
  if (config_.kind == WindowKind::kCount) return;
  Watermark wm = CurrentWatermark();
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
    ShardLock lock(this, *shards_[sh]);
    if (!ResolveShard(b, w, sh)) return false;
  }
  return true;
}

bool Aggregator::ResolveShard(const Batch& b, Work& w, size_t sh) {
  const bool named = b.key_offsets != nullptr;
  Shard& shard = *shards_[sh];
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

void Aggregator::CreateKeys(const Batch& b, Work& w) {
  // Table held exclusively: no other thread sees the table change under us.
  const size_t n = b.size;
  const bool named = b.key_offsets != nullptr;
  auto name_of = [&](size_t i) -> std::string_view {
    if (!named) return {};
    return {reinterpret_cast<const char*>(b.key_bytes) + b.key_offsets[i],
            b.key_offsets[i + 1] - b.key_offsets[i]};
  };
  // New keys in batch order, first element of each; existing ones marked.
  // (std::unordered_map: a failed insert leaves it whole; see MakeRoomForInsert.)
  std::unordered_map<uint64_t, uint32_t, std::hash<uint64_t>, std::equal_to<uint64_t>,
                     ScratchAllocator<std::pair<const uint64_t, uint32_t>>>
      fresh;
  ScratchVector<uint64_t> fresh_order;
  for (size_t i = 0; i < n; ++i) {
    uint64_t key = w.keys[i];
    if (Series* s = Find(key)) {
      s->touch_epoch = w.epoch | kInBatch;
      continue;
    }
    auto [it, inserted] = fresh.try_emplace(key, static_cast<uint32_t>(i));
    if (inserted) {
      fresh_order.push_back(key);
    } else if (named && name_of(it->second) != name_of(i)) {
      Fail(Status::kInvalidArgument, "keys[%u]: %s hashes to the same id as keys[%u] %s", i,
           DescribeKey(key, name_of(i)), it->second, DescribeKey(key, name_of(it->second)));
    }
  }
  // The overflow series never counts against the budget.
  size_t budgeted = 0;
  for (uint64_t key : fresh_order) budgeted += key != kOverflowKey;
  const uint64_t live = live_keys_.load(std::memory_order_relaxed);
  const uint64_t max = config_.max_keys;
  size_t allowed = fresh_order.size();
  if (max != 0 && live + budgeted > max) {
    switch (config_.key_policy) {
      case KeyPolicy::kReject: {
        uint64_t room = max > live ? max - live : 0;
        size_t seen = 0;
        for (uint64_t key : fresh_order) {
          if (key == kOverflowKey) continue;
          if (seen++ == room) {
            uint32_t i = fresh[key];
            Fail(Status::kKeyLimit,
                 "keys[%u]: %s would be live series number %u, above max_keys = %u "
                 "(key_policy = REJECT); nothing from this batch was applied",
                 i, DescribeKey(key, name_of(i)), live + room + 1, max);
          }
        }
        break;
      }
      case KeyPolicy::kEvictLru: {
        if (budgeted > max) {
          Fail(Status::kKeyLimit,
               "the batch holds %u new keys, more than max_keys = %u; nothing was applied",
               budgeted, max);
        }
        uint64_t victims = live + budgeted - max;
        // The least recently updated series, from the LRU lists: the work is
        // the victims plus the batch's own series met on the way, not a
        // scan of the table.
        if (!lru_sorted_) LruSort();
        w.victims.reserve(victims);
        const uint64_t in_batch = w.epoch | kInBatch;
        LruOldest(
            victims,
            [&](const Series* s) { return s->key == kOverflowKey || s->touch_epoch == in_batch; },
            &w.victims);
        if (w.victims.size() < victims) {
          const uint64_t others = w.victims.size();
          w.victims.clear();
          Fail(Status::kKeyLimit,
               "the batch keeps %u existing series and adds %u new ones: more than max_keys = "
               "%u can hold, even after evicting every other series; nothing was applied",
               live - others, budgeted, max);
        }
        // Evicted when the push commits (after every allocation succeeded).
        for (Series* v : w.victims) v->touch_epoch = w.epoch;  // not swept twice (PrepareSweep)
        break;
      }
      case KeyPolicy::kOverflow: {
        uint64_t room = max > live ? max - live : 0;
        allowed = 0;
        size_t kept = 0;
        for (; allowed < fresh_order.size(); ++allowed) {
          if (fresh_order[allowed] != kOverflowKey && kept++ == room) break;
        }
        bool overflow_needed = false;
        for (size_t k = allowed; k < fresh_order.size(); ++k) {
          fresh.erase(fresh_order[k]);
          overflow_needed = true;
        }
        fresh_order.resize(allowed);
        if (overflow_needed) {
          for (size_t i = 0; i < n; ++i) {
            uint64_t key = w.keys[i];
            if (key != kOverflowKey && !fresh.contains(key) && Find(key) == nullptr) {
              w.keys[i] = kOverflowKey;
            }
          }
          if (Find(kOverflowKey) == nullptr && !fresh.contains(kOverflowKey)) {
            fresh.emplace(kOverflowKey, 0);
            fresh_order.push_back(kOverflowKey);
          }
        }
        break;
      }
    }
  }
  // Room for the new series (their first buffers included), before any.
  account_.CheckRoom(fresh_order.size() * kNewSeriesBytes, "creating the batch's new series");
  // Create; on any failure remove what this call created (Push does the
  // same if the batch fails later).
  try {
    w.created.reserve(fresh_order.size());
    for (uint64_t key : fresh_order) {
      Series* s = NewSeries(key);
      try {
        if (key != kOverflowKey) s->SetName(name_of(fresh[key]));
        MakeRoomForInsert(ShardOf(key).map);
        ShardOf(key).map.emplace(key, s);
      } catch (...) {
        DeleteSeries(s);
        throw;
      }
      LruLink(s);  // the commit moves it to the tail with this push's tick
      w.created.push_back(s);
      if (key != kOverflowKey) live_keys_.fetch_add(1, std::memory_order_relaxed);
    }
  } catch (...) {
    for (Series* s : w.created) EraseSeries(s);
    w.created.clear();
    throw;
  }
}

template <class F>
void Aggregator::ForEachRun(const Work& w, size_t sh, F&& f) {
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
  // (Every series of a handle has its kind's window: asking the handle
  // spares a cache line of each series.)
  const bool timed = config_.kind != WindowKind::kCount;
  const uint32_t end = w.shard_begin[sh + 1];
  for (uint32_t k = w.shard_begin[sh]; k < end; ++k) {
    if (k + kAhead < end) {
      // The series some elements ahead: a miss to memory takes about as
      // long as a dozen elements' work.
      const Series* ahead = series[k + kAhead];
      __builtin_prefetch(ahead);
      __builtin_prefetch(reinterpret_cast<const char*>(ahead) + 64);
      __builtin_prefetch(reinterpret_cast<const char*>(ahead) + 128);
      if (timed) {
        // Its pane window (address only: nothing is read here).
        const char* pw = reinterpret_cast<const char*>(&ahead->panes);
        __builtin_prefetch(pw);
        __builtin_prefetch(pw + 64);
      }
    }
    if (timed && k + kAhead / 2 < end) {
      // Second stage: the newest pane of a series whose window is in cache
      // by now (values mostly land in it).
      const Series* mid = series[k + kAhead / 2];
      if (!mid->panes->empty()) __builtin_prefetch(&mid->panes->panes().back(), 1);
    }
    Series* s = series[k];
    const uint8_t st = status ? status[k] : uint8_t{Work::kAccept};
    if (st != Work::kAccept) {
      f(s, k, uint32_t{1}, int64_t{0}, times ? times[k] : 0, st);
      continue;
    }
    uint32_t run = 1;
    int64_t pane = 0;
    if (timed) {
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

template <class F>
void Aggregator::ForEachPaneRun(const Work& w, F&& f) {
  // The single series' accepted elements, split where the pane changes.
  const int64_t* t = w.run_times;
  const size_t n = w.run_n;
  const uint64_t base = w.clock_base;
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

void Aggregator::Touch(Series* s, Work& w, const Watermark& start) {
  if (s->touch_epoch == w.epoch) return;
  w.touched.push_back(s);  // first: Undo must see every series it reserved in
  s->touch_epoch = w.epoch;
  // Windows the watermark closed before this batch are emitted before its
  // values land (pushes and advance leave that to the next call that looks).
  if (config_.kind != WindowKind::kCount && !geometry_.sliding &&
      !BringUpToDate(s, start, config_.max_pending_windows)) {
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
  if (s->count) {
    s->count->Reserve(w.run_n, s->scope);
    if (config_.quantiles && !s->count->small()) s->count_sketch.Reserve(v, w.run_n, mapping_);
    return;
  }
  PaneWindow& pw = *s->panes;
  const bool quantiles = config_.quantiles;
  ForEachPaneRun(w, [&](size_t i, size_t run, int64_t p, int64_t) {
    if (!pw.PaneOpen(p)) return;
    Pane& pane = pw.ReservePane(p);
    if (quantiles) pane.sketch.Reserve(v + i, run, mapping_);
  });
}

void Aggregator::Prepare(const Batch& b, Work& w, const Watermark& start, ShardSet& locks) {
  // Evicted series emit their due windows first: that can fail, erasing
  // them at commit cannot.
  for (Series* v : w.victims) BringUpToDate(v, start);
  if (!w.keyed) {
    Series* s = w.series[0];
    const size_t sh = Mix(s->key) >> (64 - kShardBits);
    locks.Claim(sh);
    ShardSet::Section section(locks, sh);
    locks.MarkPending(sh);
    Touch(s, w, start);
    PrepareSingle(s, b, w);
    return;
  }
  const bool quantiles = config_.quantiles;
  const bool counted = config_.kind == WindowKind::kCount;
  for (size_t sh = 0; sh < kShards; ++sh) {
    w.touched_begin[sh] = static_cast<uint32_t>(w.touched.size());
    if (w.shard_begin[sh] == w.shard_begin[sh + 1]) continue;
    locks.Claim(sh);
    ShardSet::Section section(locks, sh);
    locks.MarkPending(sh);
    if (w.resolve_in_prepare && !ResolveShard(b, w, sh)) throw NewKey{};
    const double* values = w.gvalues.data();
    ForEachRun(w, sh,
               [&](Series* s, uint32_t k, uint32_t run, int64_t pane, int64_t, uint8_t st) {
                 Touch(s, w, start);
                 if (st != Work::kAccept) return;
                 if (counted) {
                   s->count->Reserve(run, s->scope);  // runs of one series add up
                   // The commit pass writes there: have it in cache by then.
                   __builtin_prefetch(s->count->next_slot(), 1);
                   if (quantiles && !s->count->small()) {
                     if (run == 1) {
                       s->count_sketch.ReserveOne(values[k], mapping_);
                     } else {
                       s->count_sketch.Reserve(values + k, run, mapping_);
                     }
                   }
                 } else if (s->panes->PaneOpen(pane)) {
                   Sketch& sketch = s->panes->ReservePane(pane).sketch;
                   if (!quantiles) return;
                   if (run == 1) {
                     sketch.ReserveOne(values[k], mapping_);
                   } else {
                     sketch.Reserve(values + k, run, mapping_);
                   }
                 }
               });
  }
  w.touched_begin[kShards] = static_cast<uint32_t>(w.touched.size());
}

void Aggregator::Undo(Work& w, ShardSet& locks) noexcept {
  // Touched series come shard by shard: each shard's under its data lock.
  const size_t n = w.touched.size();
  for (size_t k = 0; k < n;) {
    const size_t sh = Mix(w.touched[k]->key) >> (64 - kShardBits);
    ShardSet::Section section(locks, sh);
    for (; k < n && (Mix(w.touched[k]->key) >> (64 - kShardBits)) == sh; ++k) {
      Series* s = w.touched[k];
      if (s->count) {
        s->count->EndReservation();
        s->count_sketch.UndoReservations();
      } else {
        s->panes->UndoReservations();
      }
    }
    locks.ClearPending(sh);
  }
}

Aggregator::Watermark Aggregator::CommitWatermark(const Watermark& end) const {
  Watermark wm = CurrentWatermark();
  if (end.set) wm = {true, wm.set ? std::max(wm.value, end.value) : end.value};
  return wm;
}

void Aggregator::FinishSeries(Series* s, const Watermark& wm) noexcept {
  if (config_.kind == WindowKind::kCount) {
    s->count->EndReservation();
    // (Small windows keep no sketch: leave its cache line alone.)
    if (config_.quantiles && !s->count->small()) s->count_sketch.ClearPending();
  } else if (geometry_.sliding) {
    BringUpToDate(s, wm);  // slides out old panes; emits (allocates) nothing
  }
}

void Aggregator::CommitSingle(Series* s, Work& w) noexcept {
  s->late += w.run_late;
  s->rejected += w.run_rejected;
  s->last_touch = w.tick;
  LruTouch(s);
  const size_t n = w.run_n;
  if (n == 0) return;
  const double* v = w.run_values;
  if (s->count) {
    Sketch* sketch = config_.quantiles && !s->count->small() ? &s->count_sketch : nullptr;
    s->count->Push(v, n, sketch, mapping_, s->scope);
    s->total += n;
    return;
  }
  uint64_t accepted = 0;
  int64_t newest = s->total ? s->last_event : kTimeMin;
  ForEachPaneRun(w, [&](size_t i, size_t run, int64_t p, int64_t last) {
    if (s->panes->PaneOpen(p)) {
      s->panes->AddRun(v + i, run, p, config_.quantiles, mapping_);
      accepted += run;
      newest = std::max(newest, last);
    } else {
      s->late += run;
    }
  });
  s->total += accepted;
  if (accepted) s->last_event = newest;
}

void Aggregator::Commit(Work& w, ShardSet& locks) noexcept {
  WINDOWAGG_NO_ALLOCATION_HERE();
  w.tick = tick_.fetch_add(1, std::memory_order_relaxed) + 1;
  // The watermark is published after the last slice (see Transact in
  // aggregator.h); series slide to it as they commit.
  const Watermark wm = CommitWatermark(w.end_wm);
  for (Series* v : w.victims) EraseSeries(v);

  if (!w.keyed) {
    Series* s = w.series[0];
    const size_t sh = Mix(s->key) >> (64 - kShardBits);
    {
      ShardSet::Section section(locks, sh);
      CommitSingle(s, w);
      FinishSeries(s, wm);
      locks.ClearPending(sh);
    }
    locks.Release(sh);
    if (w.end_wm.set) RaiseWatermark(w.end_wm.value);
    return;
  }
  const int64_t* times = w.gtimes.data();
  const double* values = w.gvalues.data();
  const bool quantiles = config_.quantiles;
  const bool counted = config_.kind == WindowKind::kCount;
  for (size_t sh = 0; sh < kShards; ++sh) {
    if (w.shard_begin[sh] == w.shard_begin[sh + 1]) continue;
    {
      ShardSet::Section section(locks, sh);
      ForEachRun(w, sh,
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
                   if (counted) {
                     Sketch* sketch = quantiles ? &s->count_sketch : nullptr;
                     if (run == 1) {
                       s->count->PushOne(values[k], sketch, mapping_, s->scope);  // small ones skip it
                     } else {
                       s->count->Push(values + k, run, s->count->small() ? nullptr : sketch,
                                      mapping_, s->scope);
                     }
                   } else if (!s->panes->PaneOpen(pane)) {
                     s->late += run;
                     return;
                   } else if (run == 1) {
                     s->panes->Add(values[k], times[k], quantiles, mapping_);
                   } else {
                     s->panes->AddRun(values + k, run, pane, quantiles, mapping_);
                   }
                   if (s->total == 0 || newest > s->last_event) s->last_event = newest;
                   s->total += run;
                 });
      const uint32_t touched_end = w.touched_begin[sh + 1];
      for (uint32_t k = w.touched_begin[sh]; k < touched_end; ++k) {
        if (lru_ && k + 8 < touched_end) {
          // LruTouch rewrites the neighbours of a series a few ahead: have
          // their links in cache by then (they are scattered in memory).
          const Series* ahead = w.touched[k + 8];
          if (ahead->lru_prev) __builtin_prefetch(&ahead->lru_prev->lru_next, 1);
          if (ahead->lru_next) __builtin_prefetch(&ahead->lru_next->lru_prev, 1);
        }
        FinishSeries(w.touched[k], wm);
        LruTouch(w.touched[k]);  // its last_touch is w.tick now
      }
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
  const bool late_clock = w.clock && w.keyed && config_.kind == WindowKind::kCount;
  auto take_clock = [&] {
    uint64_t base = clock_.fetch_add(n, std::memory_order_relaxed);
    w.clock_base = base;
    w.clock_taken = true;
    MarkClockLate(w, base);
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

bool Aggregator::SweepDue(int64_t wm) const {
  if (config_.key_ttl <= 0) return false;
  // At most every ttl/8 of event time: a sweep visits every series.
  int64_t last = last_ttl_sweep_.load(std::memory_order_relaxed);
  return last == kTimeMin || Wide(wm) - last >= std::max<int64_t>(1, config_.key_ttl / 8);
}

void Aggregator::PrepareSweep(Sweep& sw, const Watermark& start, int64_t wm, uint64_t skip_epoch) {
  // Table held exclusively. Everything that can fail happens here: the list,
  // closing what `start` closed, and copies of the windows `wm` closes.
  for (auto& shard : shards_) {
    for (auto& [key, s] : shard->map) {
      if (s->touch_epoch == skip_epoch) continue;  // in this push, or evicted by it
      if (s->total == 0 || Wide(s->last_event) < Wide(wm) - config_.key_ttl) {
        sw.expired.push_back(s);
      }
    }
  }
  for (Series* s : sw.expired) {
    BringUpToDate(s, start);
    if (s->panes) s->panes->Closing(wm, [&](const WindowView& view) {
      if (view.moments.count > 0) sw.windows.push_back(MakeClosed(*s, view));
    });
  }
  absl::MutexLock lock(&queue_mu_);
  queue_.Reserve(sw.windows.size());
  sw.wm = wm;
  sw.active = true;
}

void Aggregator::CommitSweep(Sweep& sw) noexcept {
  if (!sw.active) return;
  WINDOWAGG_NO_ALLOCATION_HERE();
  {
    absl::MutexLock lock(&queue_mu_);
    for (ClosedWindow& cw : sw.windows) queue_.PushReserved(std::move(cw));
  }
  for (Series* s : sw.expired) EraseSeries(s);
  last_ttl_sweep_.store(sw.wm, std::memory_order_relaxed);
  sw.active = false;
  sw.expired.clear();
  sw.windows.clear();
}

void Aggregator::Merge(Aggregator& src) {
  // Prepare: every allocation (new series, panes, ring and sketch room,
  // copies of the queued windows); Commit: counts and values, no allocation.
  struct Item {
    Series* from;
    Series* to;
    bool fresh;        // created by this merge
    size_t values_at;  // COUNT: the source window's values in `values`
    size_t n;
  };
  ScratchVector<Item> items;
  ScratchVector<double> values;
  ScratchVector<ClosedWindow> windows;
  ScratchVector<Series*> created;
  const Watermark wm = CurrentWatermark();
  const bool quantiles = config_.quantiles;
  // Source panes some window of which this handle has closed count as late
  // values (those windows were emitted already), as any value would.
  auto takes = [](const Item& it, const Pane& p) {
    return it.fresh || it.to->panes->PaneOpen(p.index);
  };
  try {
    // Close what this handle's watermark has closed, so the bounds above are
    // those of its watermark (closing changes nothing a reader sees).
    ForEachSeries([&](Series* s) { BringUpToDate(s, wm); });
    for (auto& shard : src.shards_) {
      for (auto& [key, from] : shard->map) items.push_back({from, Find(key), false, 0, 0});
    }
    created.reserve(items.size());
    for (Item& it : items) {
      if (it.to != nullptr) continue;
      const uint64_t key = it.from->key;
      Series* s = NewSeries(key);
      try {
        s->SetName(it.from->name());
        MakeRoomForInsert(ShardOf(key).map);
        ShardOf(key).map.emplace(key, s);
      } catch (...) {
        DeleteSeries(s);
        throw;
      }
      LruLink(s);
      created.push_back(s);
      if (key != kOverflowKey) live_keys_.fetch_add(1, std::memory_order_relaxed);
      it.to = s;
      it.fresh = true;
    }
    for (Item& it : items) {
      if (it.to->count) {
        const double *a, *b;
        size_t na, nb;
        it.from->count->Segments(&a, &na, &b, &nb);
        it.values_at = values.size();
        it.n = na + nb;
        values.insert(values.end(), a, a + na);
        values.insert(values.end(), b, b + nb);
        // An empty window takes the source's whole ring (see Restore).
        const CountWindow& c = *it.to->count;
        bool whole = c.total() == 0 && it.from->count->total() != it.n;
        it.to->count->Reserve(whole ? c.capacity() : it.n, it.to->scope);
        if (quantiles && !c.small() && it.n > 0) {
          it.to->count_sketch.Reserve(values.data() + it.values_at, it.n, mapping_);
        }
      } else {
        for (const Pane& p : it.from->panes->panes()) {
          if (!takes(it, p)) continue;
          Pane& into = it.to->panes->ReservePane(p.index);
          if (quantiles) into.sketch.ReserveMerge(p.sketch);
        }
      }
    }
    windows.reserve(src.queue_.size());
    for (const ClosedWindow& cw : src.queue_) {
      windows.push_back(ClosedWindow{cw.key, cw.stats, Sketch(&scope_)});
      windows.back().sketch.MergeFrom(cw.sketch);
    }
    absl::MutexLock lock(&queue_mu_);
    queue_.Reserve(windows.size());
  } catch (...) {
    for (Item& it : items) {
      if (it.to == nullptr || it.fresh) continue;
      if (it.to->count) {
        it.to->count->EndReservation();
        it.to->count_sketch.UndoReservations();
      } else {
        it.to->panes->UndoReservations();
      }
    }
    for (Series* s : created) EraseSeries(s);
    throw;
  }

  WINDOWAGG_NO_ALLOCATION_HERE();
  Watermark src_wm = src.CurrentWatermark();
  if (src_wm.set) RaiseWatermark(src_wm.value);
  uint64_t clock = clock_.load();
  const uint64_t src_clock = src.clock_.load();
  while (src_clock > clock && !clock_.compare_exchange_weak(clock, src_clock)) {
  }
  int no_mode = 0;  // (pushes are excluded: the table is held exclusively)
  timestamp_mode_.compare_exchange_strong(no_mode, src.timestamp_mode_.load());
  tick_.store(std::max(tick_.load(), src.tick_.load()));
  for (Item& it : items) {
    Series* to = it.to;
    const Series* from = it.from;
    to->late += from->late;
    to->rejected += from->rejected;
    if (from->total > 0 && (to->total == 0 || from->last_event > to->last_event)) {
      to->last_event = from->last_event;
    }
    to->total += from->total;
    to->last_touch = std::max(to->last_touch, from->last_touch);
    if (to->count) {
      if (it.n > 0) {
        Sketch* sketch = quantiles && !to->count->small() ? &to->count_sketch : nullptr;
        const double* v = values.data() + it.values_at;
        if (to->count->total() == 0) {
          to->count->Restore(v, it.n, from->count->total(), sketch, mapping_, to->scope);
        } else {
          // The source's values arrive after ours.
          to->count->Push(v, it.n, sketch, mapping_, to->scope);
        }
      }
      to->count->EndReservation();
      to->count_sketch.ClearPending();
      continue;
    }
    for (const Pane& p : from->panes->panes()) {
      if (!takes(it, p)) {
        to->late += p.moments.count;
        to->total -= std::min(to->total, p.moments.count);
        continue;
      }
      Pane& into = to->panes->PaneAt(p.index);
      into.moments.Merge(p.moments);
      if (quantiles) into.sketch.MergeReserved(p.sketch);
      into.sketch.ClearPending();
    }
    if (it.fresh) to->panes->set_closed_below(from->panes->closed_below());
  }
  // last_touch moved above: the next eviction sorts the LRU lists again.
  if (lru_) lru_sorted_ = false;
  absl::MutexLock lock(&queue_mu_);
  dropped_windows_ += src.dropped_windows_;
  // A merge brings closed windows in whole, past max_pending_windows if so.
  for (ClosedWindow& cw : windows) queue_.PushReserved(std::move(cw));
}

void Aggregator::GroupByShard(Work& w) {
  // A stable two-pass radix sort on the mixed key: by the kSubBits bits
  // below the shard bits, then by shard. Batches below kGroupMin skip the
  // first pass (its histogram would cost more than the runs it forms).
  constexpr int kSubBits = 11;
  constexpr size_t kGroupMin = 512;
  const size_t n = w.size();
  uint64_t* m = Work::Sized(w.mixed, n);
  for (size_t i = 0; i < n; ++i) m[i] = Mix(w.keys[i]);
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
  std::fill(std::begin(w.shard_begin), std::end(w.shard_begin), 0);
  for (size_t i = 0; i < n; ++i) ++w.shard_begin[(m[i] >> (64 - kShardBits)) + 1];
  for (size_t sh = 0; sh < kShards; ++sh) w.shard_begin[sh + 1] += w.shard_begin[sh];
  uint32_t next[kShards];
  std::copy(w.shard_begin, w.shard_begin + kShards, next);
  for (size_t j = 0; j < n; ++j) {
    const uint32_t i = pass1 ? pass1[j] : static_cast<uint32_t>(j);
    order[next[m[i] >> (64 - kShardBits)]++] = i;
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
    TableLock table(this, /*exclusive=*/false);
    bool resolved;
    if (!w.keyed) {
      ShardLock lock(this, ShardOf(kDefaultKey));
      Series* s = Find(kDefaultKey);
      resolved = s != nullptr;
      if (resolved) *Work::Sized(w.series, 1) = s;
    } else if (b.timestamps != nullptr || config_.kind == WindowKind::kCount) {
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
    TableLock table(this, /*exclusive=*/true);
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
      for (Series* s : w.created) EraseSeries(s);
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
  const bool quantiles = config_.quantiles;
  TableLock table(this, /*exclusive=*/false);
  Shard& shard = ShardOf(key);
  ShardLock lock(this, shard);
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
  const bool late = config_.kind != WindowKind::kCount && IsLate(t, start);
  int64_t pane = 0;
  try {
    if (s->count) {
      s->count->Reserve(1, s->scope);
      if (quantiles && !s->count->small()) s->count_sketch.ReserveOne(x, mapping_);
    } else {
      if (!geometry_.sliding && !BringUpToDate(s, start, config_.max_pending_windows)) {
        MarkCounters(s, start.value);  // before this push changes them
      }
      pane = PaneOf(t, geometry_.pane);
      if (!late && s->panes->PaneOpen(pane)) {
        Sketch& sketch = s->panes->ReservePane(pane).sketch;
        if (quantiles) sketch.ReserveOne(x, mapping_);
      }
    }
  } catch (...) {
    if (s->count) {
      s->count->EndReservation();
      s->count_sketch.UndoReservations();
    } else {
      s->panes->UndoReservations();
    }
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
  if (late) {
    ++s->late;
  } else if (s->count) {
    s->count->PushOne(x, quantiles ? &s->count_sketch : nullptr, mapping_, s->scope);
    end = {true, t};
  } else if (!s->panes->PaneOpen(pane)) {
    ++s->late;
  } else {
    s->panes->Add(x, t, quantiles, mapping_);
    end = {true, t};
  }
  if (end.set) {
    if (s->total == 0 || t > s->last_event) s->last_event = t;
    ++s->total;
  }
  FinishSeries(s, CommitWatermark(end));
  LruTouch(s);
  if (end.set) RaiseWatermark(end.value);
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

void Aggregator::Advance(int64_t watermark) {
  Watermark cur = CurrentWatermark();
  int64_t end = cur.set ? std::max(cur.value, watermark) : watermark;
  if (SweepDue(end)) {
    TableLock table(this, true);
    Sweep sweep;
    PrepareSweep(sweep, cur, end, /*skip_epoch=*/UINT64_MAX);  // may fail: no change yet
    RaiseWatermark(watermark);
    CommitSweep(sweep);
  } else {
    RaiseWatermark(watermark);
  }
  if (geometry_.sliding) {
    // Slide every window now (frees panes; allocates nothing). Windows of
    // TUMBLING/HOPPING handles the watermark closed are emitted by the next
    // poll, read or push (see BringUpToDate).
    Watermark wm = CurrentWatermark();
    TableLock table(this, false);
    ForEachSeries([&](Series* s) { BringUpToDate(s, wm); });
  }
}

// ---- Reads -----------------------------------------------------------------

void Aggregator::FillStats(Series* s, const Watermark& wm, Stats* out, WindowView* view) {
  // (A read does not depend on due windows still in the series: Current
  // looks at the window holding the watermark only.)
  if (MayClose(s)) BringUpToDate(s, wm, config_.max_pending_windows);
  if (s->count) {
    const CountWindow& c = *s->count;
    view->moments = c.Summary();
    *out = MakeStats(view->moments, static_cast<int64_t>(c.window_start()),
                     static_cast<int64_t>(c.total()), s, static_cast<int64_t>(c.total()));
    if (c.small()) {
      view->sketches.clear();
      view->exact = &c;
    } else {
      view->sketches.assign(1, &s->count_sketch);
      view->exact = nullptr;
    }
    return;
  }
  if (!wm.set) {
    view->moments = Moments();
    view->sketches.clear();
    view->exact = nullptr;
    *out = MakeStats(view->moments, 0, 0, s, kTimeMin);
    return;
  }
  s->panes->Current(wm.value, view);
  *out = MakeStats(view->moments, view->start, view->end, s, wm.value);
}

void Aggregator::FillQuantiles(const WindowView& view, double min, double max, const double* q,
                               size_t n, double* out) const {
  if (view.exact != nullptr) {
    ExactQuantiles(*view.exact, q, n, out);
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
  TableLock table(this, false);
  ShardLock lock(this, ShardOf(key));
  Series* s = Find(key);
  if (s == nullptr) Fail(Status::kNotFound, "no series with key %u", key);
  WindowView view;
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
    TableLock table(this, false);
    WindowView view;
    Stats st;
    ForEachSeries([&](Series* s) {
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
        if (view.exact != nullptr) {
          const double *a, *b;
          size_t na, nb;
          view.exact->Segments(&a, &na, &b, &nb);
          merged.Reserve(a, na, mapping_);
          merged.AddSpan(a, na, mapping_);
          merged.ClearPending();
          merged.Reserve(b, nb, mapping_);
          merged.AddSpan(b, nb, mapping_);
          merged.ClearPending();
        }
      }
    });
  }
  Stats st = MakeStats(total, start, end, nullptr, wm.set ? wm.value : kTimeMin);
  st.late = late;
  st.rejected = rejected;
  st.total = accepted;
  if (config_.kind == WindowKind::kCount) st.watermark = static_cast<int64_t>(accepted);
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
  TableLock table(this, false);
  Watermark wm = CurrentWatermark();
  WindowView view;
  size_t i = 0;
  return Page(cursor, cap, [&](Series* s) {
    FillStats(s, wm, &out[i].stats, &view);
    out[i].key = s->key;
    if (nq > 0) FillQuantiles(view, out[i].stats.min, out[i].stats.max, q, nq, out_q + i * nq);
    ++i;
    return true;
  });
}

// ---- Keys ------------------------------------------------------------------

uint64_t Aggregator::KeyCount() {
  TableLock table(this, false);
  uint64_t n = 0;
  for (auto& shard : shards_) {
    ShardLock lock(this, *shard);
    n += shard->map.size();
  }
  return n;
}

size_t Aggregator::ListKeys(Cursor* cursor, uint64_t* keys, size_t cap, uint8_t* names,
                            size_t names_cap, uint32_t* name_offsets) {
  TableLock table(this, false);
  size_t i = 0;
  size_t used = 0;
  if (names != nullptr && cap > 0) name_offsets[0] = 0;
  size_t n = Page(cursor, cap, [&](Series* s) {
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
  TableLock table(this, false);
  ShardLock lock(this, ShardOf(key));
  Series* s = Find(key);
  if (s == nullptr) Fail(Status::kNotFound, "no series with key %u", key);
  std::string_view name = s->name();
  if (name.size() <= cap && !name.empty()) std::memcpy(buf, name.data(), name.size());
  return name.size();
}

void Aggregator::RemoveKey(uint64_t key) {
  TableLock table(this, true);
  Series* s = Find(key);
  if (s == nullptr) Fail(Status::kNotFound, "no series with key %u", key);
  BringUpToDate(s, CurrentWatermark());  // windows already closed stay queued
  EraseSeries(s);
}

// ---- Closed windows ---------------------------------------------------------

size_t Aggregator::PollWindows(KeyedStats* out, size_t cap, const double* q, size_t nq,
                               double* out_q) {
  if (config_.kind == WindowKind::kCount || config_.kind == WindowKind::kSliding) {
    Fail(Status::kUnsupported, "only TUMBLING and HOPPING handles close windows");
  }
  if (nq > 0) CheckQuantileArgs(q, nq, out_q);
  // Windows waiting in their series (queue full) are closed now, up to what
  // this call can return, so a host polling in a loop gets every one, each
  // series' oldest first.
  CloseDueWindows(std::max<uint64_t>(config_.max_pending_windows, cap));
  absl::MutexLock lock(&queue_mu_);
  size_t n = std::min(cap, queue_.size());
  // Everything that can fail (quantile scratch) before any window leaves.
  auto it = queue_.begin();
  for (size_t i = 0; i < n; ++i, ++it) {
    const ClosedWindow& w = *it;
    out[i].key = w.key;
    out[i].stats = w.stats;
    const Sketch* parts[1] = {&w.sketch};
    if (nq > 0) {
      Sketch::Quantiles(parts, 1, q, nq, mapping_, w.stats.min, w.stats.max, out_q + i * nq);
    }
  }
  for (size_t i = 0; i < n; ++i) queue_.pop_front();
  return n;
}

void Aggregator::CloseDueWindows(uint64_t queue_limit) {
  // Series close their windows when touched; a poll must also see windows
  // of quiet series that the watermark has closed since the last sweep,
  // and those a full queue left in their series (backlog_).
  if (config_.kind != WindowKind::kTumbling && config_.kind != WindowKind::kHopping) return;
  Watermark wm = CurrentWatermark();
  if (!wm.set) return;
  int64_t swept = swept_watermark_.load(std::memory_order_acquire);
  if (swept_once_.load(std::memory_order_acquire) && wm.value <= swept &&
      !backlog_.load(std::memory_order_acquire)) {
    return;
  }
  TableLock table(this, false);
  // Cleared before the walk: a series this walk (or a concurrent push)
  // leaves with due windows sets it again.
  backlog_.store(false, std::memory_order_release);
  ForEachSeries([&](Series* s) {
    if (MayClose(s)) {
      BringUpToDate(s, wm, queue_limit);
    } else {
      backlog_.store(true, std::memory_order_release);  // the next poll looks again
    }
  });
  swept_watermark_.store(wm.value, std::memory_order_release);
  swept_once_.store(true, std::memory_order_release);
}

void Aggregator::PendingWindows(uint64_t* pending, uint64_t* dropped) {
  CloseDueWindows(config_.max_pending_windows);
  // Queued windows plus those a full queue left due in their series.
  uint64_t waiting = 0;
  Watermark wm = CurrentWatermark();
  if (backlog_.load(std::memory_order_acquire) && wm.set) {
    TableLock table(this, false);
    ForEachSeries([&](Series* s) {
      if (s->panes) {
        s->panes->Closing(wm.value, [&](const WindowView& v) { waiting += v.moments.count > 0; });
      }
    });
  }
  absl::MutexLock lock(&queue_mu_);
  *pending = queue_.size() + waiting;
  *dropped = 0;  // windows are never dropped (the output stays for the ABI)
}

// ---- Memory ----------------------------------------------------------------

uint64_t Aggregator::MemoryUsage() const { return account_.bytes() + AllocatedSize(this); }

uint64_t Aggregator::KeyMemoryUsage(uint64_t key) {
  TableLock table(this, false);
  ShardLock lock(this, ShardOf(key));
  Series* s = Find(key);
  if (s == nullptr) Fail(Status::kNotFound, "no series with key %u", key);
  return AllocatedSize(s) + static_cast<uint64_t>(s->bytes);
}

}  // namespace windowagg::internal
