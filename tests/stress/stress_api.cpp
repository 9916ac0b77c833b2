// API-sequence stress: many threads calling every kind of call on ONE shared
// handle at once, for each window kind, and checks that
//   - no call writes past a buffer it was given (serialize into an
//     exact-size heap buffer under ASan, into a buffer with a guard zone
//     otherwise), and *written is what was written (the declared length);
//   - every blob serialize returned restores, and serializes back to the
//     same bytes; aggregator_merge(scratch, handle) (the same view) works;
//   - paging (list_keys / list_stats) ends and returns every series that
//     lived for the whole iteration exactly once;
//   - the totals equal what the threads recorded: for the keys no thread
//     removes, sum(total + late) over series == values pushed + merged, and
//     (TUMBLING) the counts of the polled windows add up to the totals
//     (HOPPING: window_size/slide times them), with no window dropped;
//   - two concurrent first pushes of a fresh handle, one with timestamps
//     and one without, are never both accepted.
//
// Usage: stress_api [seconds]   (or WINDOWAGG_STRESS_SECONDS; default 4).
// The time is split over the four window kinds. Exit status 0 = no failure.
// Prints per kind: operations by call, then failures. Registered in ctest
// (label "stress", bounded); run it for an hour with an argument.
#include <windowagg/windowagg.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define STRESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STRESS_ASAN 1
#endif
#endif
#ifndef STRESS_ASAN
#define STRESS_ASAN 0
#endif

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kStable = 600;     // keys 0..kStable-1: never removed
constexpr uint64_t kRemovable = 200;  // keys kStable..+kRemovable: removed at random
constexpr uint64_t kMergeKeys = 40;   // merges add to stable keys 0..kMergeKeys-1
constexpr size_t kGuard = size_t{256} << 10;  // past any overrun seen (960 KB took 20,000 series)
constexpr uint8_t kGuardByte = 0xA5;

std::atomic<uint64_t> g_failures{0};
uint64_t g_ops = 0;  // calls made, all kinds and rounds (main thread only)
std::mutex g_print_mu;

#define FAIL(...)                                                               \
  do {                                                                          \
    uint64_t n_ = g_failures.fetch_add(1) + 1;                                  \
    if (n_ <= 30) {                                                             \
      std::lock_guard<std::mutex> l_(g_print_mu);                               \
      std::fprintf(stderr, "FAILURE (%s:%d): ", __FILE__, __LINE__);            \
      std::fprintf(stderr, __VA_ARGS__);                                        \
      std::fprintf(stderr, "\n");                                               \
    }                                                                           \
  } while (0)

struct Kind {
  const char* name;
  uint32_t kind;
  int64_t size, slide, pane;
};

struct Counters {
  std::atomic<uint64_t> push{0}, advance{0}, poll{0}, serialize{0}, serialize_retry{0},
      restore{0}, merge{0}, merge_serialized{0}, merge_out{0}, remove{0}, list_keys{0},
      list_stats{0}, reads{0}, mode_rounds{0};
};

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

// Serialize `h` as a host does: size, then write into a buffer of that size;
// EBUFFER (the state grew meanwhile) retries with the size reported. Checks
// every byte past cap stays untouched and the blob is whole.
bool SerializeChecked(aggregator* h, std::vector<uint8_t>* out, Counters* c, bool guard) {
  size_t need = 0;
  if (aggregator_serialized_size(h, &need) != AGGREGATOR_OK) {
    FAIL("serialized_size: %s", aggregator_last_error());
    return false;
  }
  for (int attempt = 0; attempt < 64; ++attempt) {
    const size_t extra = guard ? kGuard : 0;
    uint8_t* buf = static_cast<uint8_t*>(std::malloc(need + extra + (need + extra == 0)));
    if (guard) std::memset(buf + need, kGuardByte, kGuard);
    size_t written = 0;
    int st = aggregator_serialize(h, buf, need, &written);
    if (guard) {
      for (size_t i = 0; i < kGuard; ++i) {
        if (buf[need + i] != kGuardByte) {
          FAIL("serialize wrote past cap %zu (byte %zu of the guard zone changed; status %d, "
               "*written %zu)", need, i, st, written);
          break;
        }
      }
    }
    if (st == AGGREGATOR_EBUFFER) {
      c->serialize_retry.fetch_add(1, std::memory_order_relaxed);
      if (written <= need) {
        FAIL("serialize: EBUFFER with cap %zu but *written %zu fits", need, written);
        std::free(buf);
        return false;
      }
      need = written;
      std::free(buf);
      continue;
    }
    if (st != AGGREGATOR_OK) {
      FAIL("serialize: status %d: %s", st, aggregator_last_error());
      std::free(buf);
      return false;
    }
    bool ok = true;
    if (written > need) {
      FAIL("serialize: *written %zu > cap %zu", written, need);
      ok = false;
    } else if (written < 32) {
      FAIL("serialize: *written %zu is too short for a blob", written);
      ok = false;
    } else if (LoadLe64(buf + 8) != written) {
      FAIL("serialize: *written %zu but the blob declares %" PRIu64 " bytes", written,
           LoadLe64(buf + 8));
      ok = false;
    }
    if (ok) out->assign(buf, buf + written);
    std::free(buf);
    return ok;
  }
  return false;  // the state kept growing faster than we could size it: not a defect
}

// Restores a blob, serializes the copy again: the same bytes.
void CheckRestores(const std::vector<uint8_t>& blob, Counters* c) {
  aggregator* r = nullptr;
  c->restore.fetch_add(1, std::memory_order_relaxed);
  if (aggregator_restore(blob.data(), blob.size(), AGGREGATOR_THREADING_SINGLE, &r) !=
      AGGREGATOR_OK) {
    FAIL("a blob serialize returned (%zu bytes) does not restore: %s", blob.size(),
         aggregator_last_error());
    return;
  }
  size_t need = 0;
  aggregator_serialized_size(r, &need);
  std::vector<uint8_t> again(need + 1);
  size_t written = 0;
  if (aggregator_serialize(r, again.data(), need, &written) != AGGREGATOR_OK) {
    FAIL("re-serializing a restored blob: %s", aggregator_last_error());
  } else if (written != blob.size() || std::memcmp(again.data(), blob.data(), written) != 0) {
    FAIL("restore -> serialize gives different bytes (%zu vs %zu)", written, blob.size());
  }
  aggregator_free(r);
}

aggregator_config MakeConfig(const Kind& k) {
  aggregator_config c;
  aggregator_config_init(&c);
  c.window_kind = k.kind;
  c.window_size = k.size;
  c.slide = k.slide;
  c.pane_width = k.pane;
  c.max_pending_windows = uint64_t{1} << 40;  // nothing may be dropped here
  if (k.kind != AGGREGATOR_WINDOW_COUNT) c.allowed_lateness = 30;
  return c;
}

struct Run {
  Kind kind;
  aggregator* h = nullptr;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> now{1000};  // event time the pushers follow
  std::atomic<uint64_t> pushed_stable{0};
  std::atomic<uint64_t> merged_stable{0};
  std::atomic<uint64_t> polled_stable{0};  // counts in polled windows of stable keys
  Counters c;
};

void Pusher(Run& r, unsigned seed, bool big_only) {
  std::mt19937_64 rng(seed);
  std::vector<double> v;
  std::vector<int64_t> t;
  std::vector<uint64_t> k;
  uint64_t stable = 0;
  while (!r.stop.load(std::memory_order_relaxed)) {
    // Some batches big enough to be grouped by series (512 values and up),
    // of existing keys only (so they take the shared path): their prepare
    // and commit let waiting readers in between series.
    const bool big = big_only || rng() % 8 == 0;
    size_t n = big ? 512 + rng() % 1536 : 1 + rng() % 256;
    v.resize(n);
    t.resize(n);
    k.resize(n);
    int64_t now = r.now.load(std::memory_order_relaxed);
    uint64_t stable_here = 0;
    for (size_t i = 0; i < n; ++i) {
      v[i] = static_cast<double>(rng() % 1000) - 500.0;
      // Mostly on time (allowed_lateness 30), some ahead, some late.
      t[i] = now - static_cast<int64_t>(rng() % 48) + 12;
      k[i] = !big && rng() % 8 == 0 ? kStable + rng() % kRemovable : rng() % kStable;
      stable_here += k[i] < kStable;
    }
    int st = aggregator_push(r.h, v.data(), t.data(), k.data(), n);
    if (st != AGGREGATOR_OK) {
      FAIL("push of %zu values: status %d: %s", n, st, aggregator_last_error());
    } else {
      stable += stable_here;
    }
    r.c.push.fetch_add(1, std::memory_order_relaxed);
    if (rng() % 64 == 0) {
      // The handle uses timestamps: a push without them is refused.
      if (aggregator_push(r.h, v.data(), nullptr, k.data(), n) != AGGREGATOR_EINVAL) {
        FAIL("a push without timestamps on a timestamped handle was not refused");
      }
    }
  }
  r.pushed_stable.fetch_add(stable);
}

// One stable key's stats and quantiles (in order).
void ReadOneKey(Run& r, std::mt19937_64& rng) {
  const double q[3] = {0.5, 0.9, 0.99};
  double out[3];
  aggregator_stats s;
  uint64_t key = rng() % kStable;
  if (aggregator_get_key_stats(r.h, key, &s) != AGGREGATOR_OK) {
    FAIL("get_key_stats(%" PRIu64 "): %s", key, aggregator_last_error());
  } else if (aggregator_get_key_quantiles(r.h, key, q, 3, out) != AGGREGATOR_OK) {
    FAIL("get_key_quantiles(%" PRIu64 "): %s", key, aggregator_last_error());
  } else if (s.count > 0 && (out[0] > out[1] || out[1] > out[2])) {
    FAIL("key %" PRIu64 ": quantiles out of order: %g %g %g", key, out[0], out[1], out[2]);
  }
  r.c.reads.fetch_add(1, std::memory_order_relaxed);
}

// One value per call (the library's one-value path, which takes only the
// shard's data lock) racing the batch pushers' prepared-but-uncommitted
// slices, readers, remove_key and merges; also reads one key's stats and
// quantiles between pushes (a reader in the middle of a batch push).
void OnePusher(Run& r, unsigned seed) {
  std::mt19937_64 rng(seed);
  uint64_t stable = 0;
  while (!r.stop.load(std::memory_order_relaxed)) {
    double v = static_cast<double>(rng() % 1000) - 500.0;
    int64_t t = r.now.load(std::memory_order_relaxed) - static_cast<int64_t>(rng() % 48) + 12;
    uint64_t k = rng() % 8 == 0 ? kStable + rng() % kRemovable : rng() % kStable;
    int st = aggregator_push(r.h, &v, &t, &k, 1);
    if (st != AGGREGATOR_OK) {
      FAIL("push of one value: status %d: %s", st, aggregator_last_error());
    } else if (k < kStable) {
      ++stable;
    }
    r.c.push.fetch_add(1, std::memory_order_relaxed);
    if (rng() % 4 == 0) ReadOneKey(r, rng);
  }
  r.pushed_stable.fetch_add(stable);
}

// Reads one key's stats and quantiles in a tight loop: it meets batch
// pushes holding the key's shard, which hand it the lock between two runs
// of their slice (prepare and commit).
void KeyReader(Run& r, unsigned seed) {
  std::mt19937_64 rng(seed);
  while (!r.stop.load(std::memory_order_relaxed)) ReadOneKey(r, rng);
}

void Advancer(Run& r, unsigned seed) {
  std::mt19937_64 rng(seed);
  while (!r.stop.load(std::memory_order_relaxed)) {
    int64_t now = r.now.fetch_add(1 + static_cast<int64_t>(rng() % 4)) + 1;
    if (aggregator_advance(r.h, now - 10) != AGGREGATOR_OK) {
      FAIL("advance: %s", aggregator_last_error());
    }
    r.c.advance.fetch_add(1, std::memory_order_relaxed);
    // Paced, so pushes (much heavier) keep up: still hundreds of windows
    // close per second.
    std::this_thread::sleep_for(std::chrono::microseconds(20 + rng() % 100));
  }
}

bool Polls(const Kind& k) {
  return k.kind == AGGREGATOR_WINDOW_TUMBLING || k.kind == AGGREGATOR_WINDOW_HOPPING;
}

void PollAll(Run& r, std::mt19937_64& rng) {
  std::vector<aggregator_window> w(1 + rng() % 300);
  std::vector<aggregator_window_ex> wx(w.size());  // the extensible records
  const double q[] = {0.5};
  std::vector<double> qo(w.size());
  uint64_t polled = 0;
  for (;;) {
    size_t n = 0;
    size_t nq = rng() % 2;
    const bool ex = rng() % 2 == 0;
    int st = ex ? aggregator_poll_windows_ex(r.h, wx.data(), sizeof(aggregator_window_ex),
                                             wx.size(), nq ? q : nullptr, nq,
                                             nq ? qo.data() : nullptr, &n)
                : aggregator_poll_windows(r.h, w.data(), w.size(), nq ? q : nullptr, nq,
                                          nq ? qo.data() : nullptr, &n);
    r.c.poll.fetch_add(1, std::memory_order_relaxed);
    if (st != AGGREGATOR_OK) {
      FAIL("poll: %s", aggregator_last_error());
      break;
    }
    for (size_t i = 0; i < n; ++i) {
      const uint64_t key = ex ? wx[i].key : w[i].key;
      if (key < kStable) polled += ex ? wx[i].stats.stats.count : w[i].stats.count;
    }
    if (n < w.size()) break;
  }
  r.polled_stable.fetch_add(polled);
}

void Poller(Run& r, unsigned seed) {
  std::mt19937_64 rng(seed);
  while (!r.stop.load(std::memory_order_relaxed)) {
    if (Polls(r.kind)) {
      PollAll(r, rng);
      uint64_t pending = 0, dropped = 0;
      aggregator_pending_windows(r.h, &pending, &dropped);
    } else {
      aggregator_stats s;
      if (aggregator_get_stats(r.h, &s) != AGGREGATOR_OK) FAIL("stats: %s", aggregator_last_error());
      r.c.reads.fetch_add(1, std::memory_order_relaxed);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
  }
}

void Serializer(Run& r, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> blob;
  while (!r.stop.load(std::memory_order_relaxed)) {
    // Exact-size buffers under ASan (it reports any write past them);
    // guard zones otherwise (checked byte by byte).
    bool guard = !STRESS_ASAN || rng() % 2 == 0;
    if (SerializeChecked(r.h, &blob, &r.c, guard)) {
      r.c.serialize.fetch_add(1, std::memory_order_relaxed);
      CheckRestores(blob, &r.c);
    }
  }
}

void Merger(Run& r, unsigned seed) {
  std::mt19937_64 rng(seed);
  aggregator_config cfg = MakeConfig(r.kind);
  std::vector<double> v;
  std::vector<int64_t> t;
  std::vector<uint64_t> k;
  while (!r.stop.load(std::memory_order_relaxed)) {
    // A side handle with a few values for stable keys, merged in.
    aggregator* side = nullptr;
    if (aggregator_create(&cfg, &side) != AGGREGATOR_OK) {
      FAIL("create: %s", aggregator_last_error());
      return;
    }
    size_t n = 1 + rng() % 64;
    v.resize(n);
    t.resize(n);
    k.resize(n);
    int64_t now = r.now.load(std::memory_order_relaxed);
    for (size_t i = 0; i < n; ++i) {
      v[i] = static_cast<double>(rng() % 100);
      t[i] = now - static_cast<int64_t>(rng() % 30);
      k[i] = rng() % kMergeKeys;
    }
    if (aggregator_push(side, v.data(), t.data(), k.data(), n) != AGGREGATOR_OK) {
      FAIL("side push: %s", aggregator_last_error());
    }
    bool ok;
    if (rng() % 2 == 0) {
      ok = aggregator_merge(r.h, side) == AGGREGATOR_OK;
      r.c.merge.fetch_add(1, std::memory_order_relaxed);
    } else {
      std::vector<uint8_t> blob;
      ok = SerializeChecked(side, &blob, &r.c, true) &&
           aggregator_merge_serialized(r.h, blob.data(), blob.size()) == AGGREGATOR_OK;
      r.c.merge_serialized.fetch_add(1, std::memory_order_relaxed);
    }
    if (!ok) {
      FAIL("merge into the shared handle: %s", aggregator_last_error());
    } else {
      r.merged_stable.fetch_add(n);
    }
    aggregator_free(side);

    // The other direction: the shared handle merged into a scratch one
    // (aggregator_merge reads its source in serialization's view, item 1).
    if (rng() % 4 == 0) {
      aggregator* scratch = nullptr;
      aggregator_create(&cfg, &scratch);
      r.c.merge_out.fetch_add(1, std::memory_order_relaxed);
      if (aggregator_merge(scratch, r.h) != AGGREGATOR_OK) {
        FAIL("merging the shared handle into a scratch one: %s", aggregator_last_error());
      } else {
        std::vector<uint8_t> blob;
        if (SerializeChecked(scratch, &blob, &r.c, true)) CheckRestores(blob, &r.c);
      }
      aggregator_free(scratch);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
  }
}

void Remover(Run& r, unsigned seed) {
  std::mt19937_64 rng(seed);
  while (!r.stop.load(std::memory_order_relaxed)) {
    uint64_t key = kStable + rng() % kRemovable;
    int st = aggregator_remove_key(r.h, key);
    if (st != AGGREGATOR_OK && st != AGGREGATOR_ENOTFOUND) {
      FAIL("remove_key: %s", aggregator_last_error());
    }
    r.c.remove.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
  }
}

void Lister(Run& r, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> seen(kStable);
  const uint64_t max_pages = kStable + kRemovable + kMergeKeys + 16;
  while (!r.stop.load(std::memory_order_relaxed)) {
    std::fill(seen.begin(), seen.end(), 0);
    aggregator_cursor cur;
    std::memset(&cur, 0, sizeof cur);
    bool stats = rng() % 2 == 0;
    size_t cap = 1 + rng() % 50;
    std::vector<uint64_t> keys(cap);
    std::vector<aggregator_key_stats> ks(cap);
    std::vector<aggregator_key_stats_ex> ksx(cap);  // the extensible records
    const bool ex = rng() % 2 == 0;
    const double q[] = {0.25, 0.75};
    std::vector<double> qo(cap * 2);
    uint64_t pages = 0;
    while (!cur.done) {
      size_t n = 0;
      int st;
      if (stats) {
        st = ex ? aggregator_list_stats_ex(r.h, &cur, ksx.data(), sizeof(aggregator_key_stats_ex),
                                           cap, q, 2, qo.data(), &n)
                : aggregator_list_stats(r.h, &cur, ks.data(), cap, q, 2, qo.data(), &n);
        r.c.list_stats.fetch_add(1, std::memory_order_relaxed);
      } else {
        st = aggregator_list_keys(r.h, &cur, keys.data(), cap, nullptr, 0, nullptr, &n);
        r.c.list_keys.fetch_add(1, std::memory_order_relaxed);
      }
      if (st != AGGREGATOR_OK) {
        FAIL("list: %s", aggregator_last_error());
        break;
      }
      for (size_t i = 0; i < n; ++i) {
        uint64_t key = !stats ? keys[i] : ex ? ksx[i].key : ks[i].key;
        if (key < kStable && seen[key]++) FAIL("list returned key %" PRIu64 " twice", key);
      }
      if (++pages > max_pages) {
        FAIL("list with cap %zu did not end after %" PRIu64 " pages", cap, pages);
        break;
      }
    }
    if (cur.done) {
      for (uint64_t key = 0; key < kStable; ++key) {
        if (!seen[key]) FAIL("list missed stable key %" PRIu64, key);
      }
    }
  }
}

// Two first pushes of a fresh handle, one timestamped and one not, at once:
// exactly one may be accepted (the first fixes the handle's clock).
void ModeRaces(const Kind& kind, Clock::time_point until, Counters* c) {
  aggregator_config cfg = MakeConfig(kind);
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, nullptr, 3);
  aggregator* h = nullptr;
  int st[2];
  std::atomic<bool> stop{false};
  auto side = [&](int which) {
    double v[16];
    int64_t t[16];
    for (int i = 0; i < 16; ++i) v[i] = i, t[i] = 100 + i;
    for (;;) {
      pthread_barrier_wait(&bar);
      if (stop.load()) return;
      st[which] = aggregator_push(h, v, which ? nullptr : t, nullptr, 16);
      pthread_barrier_wait(&bar);
    }
  };
  std::thread a(side, 0), b(side, 1);
  int rounds = 0;
  while (Clock::now() < until || rounds < 50) {
    aggregator_create(&cfg, &h);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    if (st[0] == AGGREGATOR_OK && st[1] == AGGREGATOR_OK) {
      FAIL("%s: two first pushes, one timestamped and one not, were both accepted", kind.name);
    } else if (st[0] != AGGREGATOR_OK && st[1] != AGGREGATOR_OK) {
      FAIL("%s: both first pushes refused (%d, %d)", kind.name, st[0], st[1]);
    }
    aggregator_free(h);
    ++rounds;
  }
  c->mode_rounds.fetch_add(static_cast<uint64_t>(rounds));
  stop.store(true);
  pthread_barrier_wait(&bar);
  a.join();
  b.join();
  pthread_barrier_destroy(&bar);
}

void Final(Run& r) {
  // Close every window, drain the queue, then compare with the records.
  std::mt19937_64 rng(7);
  int64_t end = r.now.load() + 100 * r.kind.size;
  aggregator_advance(r.h, end);
  if (Polls(r.kind)) PollAll(r, rng);
  uint64_t pending = 0, dropped = 0;
  aggregator_pending_windows(r.h, &pending, &dropped);
  if (pending != 0 || dropped != 0) {
    FAIL("%s: %" PRIu64 " windows still pending, %" PRIu64 " dropped after the final poll",
         r.kind.name, pending, dropped);
  }
  uint64_t total = 0, late = 0;
  for (uint64_t key = 0; key < kStable; ++key) {
    aggregator_stats s;
    if (aggregator_get_key_stats(r.h, key, &s) != AGGREGATOR_OK) {
      FAIL("%s: stable key %" PRIu64 " is gone: %s", r.kind.name, key, aggregator_last_error());
      continue;
    }
    total += s.total;
    late += s.late + s.rejected;
  }
  const uint64_t recorded = r.pushed_stable.load() + r.merged_stable.load();
  if (total + late != recorded) {
    FAIL("%s: stable keys hold total %" PRIu64 " + late %" PRIu64 " = %" PRIu64
         ", the threads pushed %" PRIu64 " and merged %" PRIu64 " (= %" PRIu64 ")",
         r.kind.name, total, late, total + late, r.pushed_stable.load(), r.merged_stable.load(),
         recorded);
  }
  // Every accepted value is in one tumbling window, and in size/slide
  // hopping ones (a value whose windows some are closed is late, merged
  // or pushed).
  if (r.kind.kind == AGGREGATOR_WINDOW_TUMBLING && r.polled_stable.load() != total) {
    FAIL("%s: polled windows of stable keys hold %" PRIu64 " values, the series' totals %" PRIu64,
         r.kind.name, r.polled_stable.load(), total);
  }
  if (r.kind.kind == AGGREGATOR_WINDOW_HOPPING) {
    uint64_t per_value = static_cast<uint64_t>(r.kind.size / r.kind.slide);
    if (r.polled_stable.load() != per_value * total) {
      FAIL("%s: polled windows hold %" PRIu64 " values, expected %" PRIu64 " x total %" PRIu64,
           r.kind.name, r.polled_stable.load(), per_value, total);
    }
  }
  std::vector<uint8_t> blob;
  if (SerializeChecked(r.h, &blob, &r.c, true)) CheckRestores(blob, &r.c);
}

void RunKind(const Kind& kind, double seconds) {
  Run r;
  r.kind = kind;
  aggregator_config cfg = MakeConfig(kind);
  if (aggregator_create(&cfg, &r.h) != AGGREGATOR_OK) {
    FAIL("%s: create: %s", kind.name, aggregator_last_error());
    return;
  }
  {
    // Every stable key exists before the threads start (lists check them).
    std::vector<double> v(kStable, 1.0);
    std::vector<int64_t> t(kStable, r.now.load());
    std::vector<uint64_t> k(kStable);
    for (uint64_t i = 0; i < kStable; ++i) k[i] = i;
    if (aggregator_push(r.h, v.data(), t.data(), k.data(), kStable) != AGGREGATOR_OK) {
      FAIL("%s: first push: %s", kind.name, aggregator_last_error());
    }
    r.pushed_stable.fetch_add(kStable);
  }
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(seconds * 0.8));
  std::vector<std::thread> th;
  unsigned seed = static_cast<unsigned>(kind.kind) * 1000 + 1;
  {
    // First a tenth of the time with only big batch pushes and key reads,
    // nothing exclusive: the readers mostly meet a push holding their
    // shard and are handed the lock between two runs of its slice.
    const auto handoff_until =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds * 0.1));
    th.emplace_back(Pusher, std::ref(r), seed++, true);
    th.emplace_back(KeyReader, std::ref(r), seed++);
    th.emplace_back(KeyReader, std::ref(r), seed++);
    while (Clock::now() < handoff_until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r.stop.store(true);
    for (auto& t : th) t.join();
    th.clear();
    r.stop.store(false);
  }
  th.emplace_back(Pusher, std::ref(r), seed++, false);
  th.emplace_back(Pusher, std::ref(r), seed++, false);
  th.emplace_back(OnePusher, std::ref(r), seed++);
  th.emplace_back(KeyReader, std::ref(r), seed++);
  th.emplace_back(Advancer, std::ref(r), seed++);
  th.emplace_back(Poller, std::ref(r), seed++);
  th.emplace_back(Serializer, std::ref(r), seed++);
  th.emplace_back(Serializer, std::ref(r), seed++);
  th.emplace_back(Merger, std::ref(r), seed++);
  th.emplace_back(Remover, std::ref(r), seed++);
  th.emplace_back(Lister, std::ref(r), seed++);
  while (Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  r.stop.store(true);
  for (auto& t : th) t.join();
  Final(r);
  aggregator_free(r.h);

  const auto mode_until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(seconds * 0.2));
  ModeRaces(kind, mode_until, &r.c);

  const Counters& c = r.c;
  g_ops += c.push + c.advance + c.poll + c.serialize + c.serialize_retry + c.restore + c.merge +
           c.merge_serialized + c.merge_out + c.remove + c.list_keys + c.list_stats + c.reads +
           2 * c.mode_rounds;
  std::printf(
      "%-8s %.1fs: push %" PRIu64 ", advance %" PRIu64 ", poll %" PRIu64 ", serialize %" PRIu64
      " (EBUFFER retries %" PRIu64 "), restore %" PRIu64 ", merge %" PRIu64
      ", merge_serialized %" PRIu64 ", merge-out %" PRIu64 ", remove_key %" PRIu64
      ", list_keys %" PRIu64 ", list_stats %" PRIu64 ", reads %" PRIu64
      ", mode races %" PRIu64 "; values pushed (stable keys) %" PRIu64 ", merged %" PRIu64
      ", polled %" PRIu64 "\n",
      kind.name, std::chrono::duration<double>(Clock::now() - start).count(), c.push.load(),
      c.advance.load(), c.poll.load(), c.serialize.load(), c.serialize_retry.load(),
      c.restore.load(), c.merge.load(), c.merge_serialized.load(), c.merge_out.load(),
      c.remove.load(), c.list_keys.load(), c.list_stats.load(), c.reads.load(),
      c.mode_rounds.load(), r.pushed_stable.load(), r.merged_stable.load(),
      r.polled_stable.load());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 4;
  if (const char* env = std::getenv("WINDOWAGG_STRESS_SECONDS")) seconds = std::atof(env);
  if (argc > 1) seconds = std::atof(argv[1]);
  if (!(seconds > 0)) {
    std::fprintf(stderr, "usage: %s [seconds > 0]\n", argv[0]);
    return 2;
  }
  const Kind kinds[] = {
      {"tumbling", AGGREGATOR_WINDOW_TUMBLING, 100, 100, 0},
      {"hopping", AGGREGATOR_WINDOW_HOPPING, 100, 25, 0},
      {"sliding", AGGREGATOR_WINDOW_SLIDING, 100, 0, 10},
      {"count", AGGREGATOR_WINDOW_COUNT, 50, 0, 0},
  };
  const auto start = Clock::now();
  uint64_t rounds = 0;
  // Long runs cycle through the kinds in slices of at most 60 s each.
  const double slice = std::min(60.0, seconds / 4);
  do {
    for (const Kind& k : kinds) RunKind(k, slice);
    ++rounds;
  } while (std::chrono::duration<double>(Clock::now() - start).count() + 4 * slice <= seconds);
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("stress_api: %" PRIu64 " rounds over the 4 window kinds in %.1f s, %" PRIu64
              " API calls, %" PRIu64 " failures (%s)\n",
              rounds, took, g_ops, g_failures.load(),
              STRESS_ASAN ? "exact-size buffers + guard zones" : "guard zones");
  return g_failures.load() == 0 ? 0 : 1;
}
