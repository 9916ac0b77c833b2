// Allocation failure (issue requirement): with the test hook failing the Nth
// allocation inside the library, every public call returns
// AGGREGATOR_ENOMEM, leaves the handle as it was and leaks nothing, for
// every N up to the call's allocation count K.
//
// Linked against windowagg_fault_injection (the library sources built with
// WINDOWAGG_FAULT_INJECTION=1, see src/core/fault_injection.h), never
// against the shipped library.
//
// Method, per scenario (a state rebuilt identically on demand, and one call
// under test), in Check():
//   1. reference runs without faults: K = the call's allocations, and the
//      serialized state the call leaves (`after_ok`);
//   2. a twin of the state, serialized untouched: `before`;
//   3. for N = 1..K, on a fresh state: fail the Nth allocation; the call
//      must answer ENOMEM with a message of its own, the state must
//      serialize to `before`, the same call retried without faults must
//      succeed and leave `after_ok`, and once the state is freed the
//      library's live allocation count must be back where it was.
// States are compared as serialized bytes (Snap), which cover every series,
// pane, sketch, counter, the watermark and the queued closed windows.
// Step 3 runs in child processes (FaultRuns): a crash in a failure path is
// reported as that N's failure and the other N still run. Every failing N
// is counted and the first few are listed, so one run shows how much of a
// call is not yet failure-atomic.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/fault_injection.h"
#include "test_util.hpp"

namespace fi = windowagg::internal::fault_injection;
using tu::Handle;

namespace {

const double kQs[] = {0.0, 0.25, 0.5, 0.9, 0.99, 1.0};
constexpr size_t kNq = sizeof(kQs) / sizeof(kQs[0]);

// ---- Data ---------------------------------------------------------------------

// Both signs, exact zeros and a spread of magnitudes, so sketches use both
// stores and the zero count.
double ValueAt(size_t i) {
  return static_cast<double>(static_cast<int64_t>((i * 2654435761u) % 2001) - 1000) * 0.37;
}

uint64_t Key(size_t j) { return tu::mix64(j); }

std::string Name(size_t j) { return "sensor/" + std::to_string(j); }
uint64_t NameKey(size_t j) {
  std::string n = Name(j);
  return aggregator_key_hash(n.data(), n.size());
}

// One push: values with optional timestamps and keys.
struct Rows {
  std::vector<double> v;
  std::vector<int64_t> t;   // empty: arrival clock
  std::vector<uint64_t> k;  // empty: AGGREGATOR_DEFAULT_KEY

  // Times t0, t0 + step, ...
  Rows& At(int64_t t0, int64_t step) {
    t.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) t[i] = t0 + step * static_cast<int64_t>(i);
    return *this;
  }
  Rows& Times(std::function<int64_t(size_t)> f) {
    t.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) t[i] = f(i);
    return *this;
  }
  // Element i goes to Key(first + i % nkeys).
  Rows& Keyed(size_t nkeys, size_t first = 0) {
    k.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) k[i] = Key(first + i % nkeys);
    return *this;
  }
  Rows& Set(size_t i, double x) {
    v[i] = x;
    return *this;
  }
};

Rows Values(size_t n, size_t from = 0) {
  Rows r;
  for (size_t i = 0; i < n; ++i) r.v.push_back(ValueAt(from + i));
  return r;
}

// One aggregator_push_named: element i is keyed by Name(first + i % nnames).
struct NamedRows {
  std::vector<double> v;
  std::vector<int64_t> t;
  std::string bytes;
  std::vector<uint32_t> off;
};

NamedRows Named(size_t n, size_t nnames, size_t first, int64_t t0 = -1) {
  NamedRows r;
  r.off.push_back(0);
  for (size_t i = 0; i < n; ++i) {
    r.v.push_back(ValueAt(first * 31 + i));
    if (t0 >= 0) r.t.push_back(t0 + static_cast<int64_t>(i));
    r.bytes += Name(first + i % nnames);
    r.off.push_back(static_cast<uint32_t>(r.bytes.size()));
  }
  return r;
}

// ---- Calls ----------------------------------------------------------------------

// One library call on a handle, returning its status. Used both for the
// setup sequence of a state and for the call under test.
using Step = std::function<int(aggregator*)>;

Step Push(Rows r) {
  return [r = std::move(r)](aggregator* a) {
    return aggregator_push(a, r.v.data(), r.t.empty() ? nullptr : r.t.data(),
                           r.k.empty() ? nullptr : r.k.data(), r.v.size());
  };
}
Step PushNamed(NamedRows r) {
  return [r = std::move(r)](aggregator* a) {
    return aggregator_push_named(a, r.v.data(), r.t.empty() ? nullptr : r.t.data(),
                                 reinterpret_cast<const uint8_t*>(r.bytes.data()), r.off.data(),
                                 r.v.size());
  };
}
Step Advance(int64_t wm) {
  return [wm](aggregator* a) { return aggregator_advance(a, wm); };
}
Step RemoveKey(uint64_t key) {
  return [key](aggregator* a) { return aggregator_remove_key(a, key); };
}
// Moves up to `cap` closed windows, with quantiles.
Step PollWindows(size_t cap) {
  return [cap](aggregator* a) {
    std::vector<aggregator_window> w(cap);
    std::vector<double> q(cap * kNq);
    size_t n = 0;
    return aggregator_poll_windows(a, w.data(), cap, kQs, kNq, q.data(), &n);
  };
}
// aggregator_process_batch answers a mean, NaN on failure; the states it is
// used on have finite means, so NaN can only be the failed call.
Step ProcessBatch(Rows r) {
  return [r = std::move(r)](aggregator* a) {
    double m = aggregator_process_batch(a, r.v.data(), r.v.size());
    return std::isnan(m) ? AGGREGATOR_ENOMEM : AGGREGATOR_OK;
  };
}

// Every read of the C ABI, on `key` where it takes one.
std::vector<std::pair<std::string, Step>> Reads(uint64_t key, bool closed_windows) {
  std::vector<std::pair<std::string, Step>> r = {
      {"get_stats", [](aggregator* a) { aggregator_stats s; return aggregator_get_stats(a, &s); }},
      {"get_key_stats",
       [key](aggregator* a) { aggregator_stats s; return aggregator_get_key_stats(a, key, &s); }},
      {"get_quantiles",
       [](aggregator* a) { double q[kNq]; return aggregator_get_quantiles(a, kQs, kNq, q); }},
      {"get_key_quantiles",
       [key](aggregator* a) {
         double q[kNq];
         return aggregator_get_key_quantiles(a, key, kQs, kNq, q);
       }},
      {"list_stats",
       [](aggregator* a) {
         aggregator_cursor c{};
         aggregator_key_stats s[64];
         double q[64 * kNq];
         size_t n = 0;
         return aggregator_list_stats(a, &c, s, 64, kQs, kNq, q, &n);
       }},
      {"list_keys",
       [](aggregator* a) {
         aggregator_cursor c{};
         uint64_t k[64];
         uint8_t names[4096];
         uint32_t off[65];
         size_t n = 0;
         return aggregator_list_keys(a, &c, k, 64, names, sizeof names, off, &n);
       }},
      {"key_name",
       [key](aggregator* a) {
         uint8_t buf[256];
         size_t len = 0;
         return aggregator_key_name(a, key, buf, sizeof buf, &len);
       }},
      {"key_count", [](aggregator* a) { uint64_t n; return aggregator_key_count(a, &n); }},
      {"memory_usage", [](aggregator* a) { uint64_t b; return aggregator_memory_usage(a, &b); }},
      {"key_memory_usage",
       [key](aggregator* a) { uint64_t b; return aggregator_key_memory_usage(a, key, &b); }},
      {"get_config",
       [](aggregator* a) {
         aggregator_config c;
         aggregator_config_init(&c);
         return aggregator_get_config(a, &c);
       }},
      {"pending_windows",
       [](aggregator* a) { uint64_t p, d; return aggregator_pending_windows(a, &p, &d); }},
      {"serialized_size",
       [](aggregator* a) { size_t n; return aggregator_serialized_size(a, &n); }},
      {"serialize",
       [](aggregator* a) {
         std::vector<uint8_t> buf(size_t{1} << 20);
         size_t n = 0;
         return aggregator_serialize(a, buf.data(), buf.size(), &n);
       }},
  };
  // All of them: which windows a partial poll takes depends on how the
  // series are interleaved in the queue (see Canonical).
  if (closed_windows) r.push_back({"poll_windows", PollWindows(4096)});
  return r;
}

// ---- States ---------------------------------------------------------------------

// The serialized state of `a` (empty for no handle), or the failing status.
int TrySerialize(const aggregator* a, std::vector<uint8_t>* out) {
  out->clear();
  if (a == nullptr) return AGGREGATOR_OK;
  size_t size = 0;
  int rc = aggregator_serialized_size(a, &size);
  if (rc != AGGREGATOR_OK) return rc;
  out->resize(size);
  rc = aggregator_serialize(a, out->data(), out->size(), &size);
  if (rc == AGGREGATOR_OK && size != out->size()) rc = AGGREGATOR_EINTERNAL;
  return rc;
}

std::vector<uint8_t> Serialize(const aggregator* a) {
  std::vector<uint8_t> out;
  int rc = TrySerialize(a, &out);
  INFO("serialize: " << tu::last_error());
  REQUIRE(rc == AGGREGATOR_OK);
  return out;
}

// Format v1 (src/state/state.cc), read just far enough to find the series
// and the closed-window queue.
struct Layout {
  bool ok = false;
  uint64_t series = 0;
  size_t queue_at = 0;   // the queue's u64 count
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> queue;  // (key, record)
};

constexpr size_t kSeriesCountAt = 24 + 85 + 37;  // header, config, handle fields

Layout Parse(const std::vector<uint8_t>& b) {
  struct Reader {
    const std::vector<uint8_t>& b;
    size_t at;
    bool ok = true;
    uint64_t Le(size_t n) {
      if (n > b.size() - at) {
        ok = false;
        return 0;
      }
      uint64_t v = 0;
      for (size_t i = 0; i < n; ++i) v |= uint64_t{b[at + i]} << (8 * i);
      at += n;
      return v;
    }
    void Skip(uint64_t n) {
      if (n > b.size() - at) ok = false;
      at = ok ? at + n : b.size();
    }
    void Sketch() {  // u64 zero count, two stores of u32 n, n x (i32, u64)
      Skip(8);
      for (int store = 0; store < 2; ++store) Skip(Le(4) * 12);
    }
  };
  constexpr size_t kKindAt = 24, kStatsBytes = 13 * 8, kMomentsBytes = 7 * 8;
  Layout l;
  if (b.size() < kSeriesCountAt + 8 + 8 + 8) return l;
  Reader r{b, kKindAt};
  bool count_window = r.Le(4) == AGGREGATOR_WINDOW_COUNT;
  r.at = kSeriesCountAt;
  l.series = r.Le(8);
  for (uint64_t i = 0; i < l.series && r.ok; ++i) {
    r.Skip(8);        // key
    r.Skip(r.Le(4));  // name
    r.Skip(5 * 8);    // late, rejected, total, last_event, last_touch
    if (count_window) {
      r.Skip(8);      // window total
      uint64_t n = r.Le(8);
      r.Skip(n > b.size() ? b.size() : n * 8);
    } else {
      r.Skip(8);      // closed_below
      uint64_t panes = r.Le(4);
      for (uint64_t p = 0; p < panes && r.ok; ++p) {
        r.Skip(8 + kMomentsBytes);
        r.Sketch();
      }
    }
  }
  l.queue_at = r.at;
  uint64_t windows = r.Le(8);
  for (uint64_t i = 0; i < windows && r.ok; ++i) {
    size_t from = r.at;
    uint64_t key = r.Le(8);
    r.Skip(kStatsBytes);
    r.Sketch();
    if (r.ok) l.queue.emplace_back(key, std::vector<uint8_t>(b.begin() + from, b.begin() + r.at));
  }
  l.ok = r.ok && r.at + 8 == b.size();
  return l;
}

// Serialized state with the closed-window queue grouped by series key
// (stable: each series' windows keep their order). The library queues the
// windows of different series in the order it walks its hash tables, and
// absl's iteration order depends on where a table was allocated, so two
// identically built states can serialize with the series interleaved
// differently. The header orders windows only within a series, so that
// interleaving is not state. Bytes that do not parse are kept as they are.
std::vector<uint8_t> Canonical(std::vector<uint8_t> b) {
  Layout l = Parse(b);
  if (!l.ok) return b;
  std::stable_sort(l.queue.begin(), l.queue.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  b.resize(l.queue_at + 8);
  for (const auto& w : l.queue) b.insert(b.end(), w.second.begin(), w.second.end());
  b.resize(b.size() + 8, 0);  // the checksum covers the order: left out
  return b;
}

// Everything a call under test may touch.
struct State {
  Handle h;                   // the handle under test (merge: the destination)
  Handle src;                 // merge source: only read, so it must not change either
  Handle made;                // what a create/restore call returned
  std::vector<uint8_t> blob;  // serialized input of restore / merge_serialized
};

// The state as bytes, one entry per handle slot (empty: no handle).
using Snapshot = std::vector<std::vector<uint8_t>>;
const char* const kSlots[] = {"handle", "merge source", "created handle"};

Snapshot Snap(const State& s) {
  return {Canonical(Serialize(s.h)), Canonical(Serialize(s.src)), Canonical(Serialize(s.made))};
}

// Snap without Catch assertions (for the child process of FaultRuns): ""
// or why the state could not be serialized.
std::string TrySnap(const State& s, Snapshot* out) {
  const aggregator* handles[] = {s.h, s.src, s.made};
  out->assign(3, {});
  for (size_t slot = 0; slot < 3; ++slot) {
    int rc = TrySerialize(handles[slot], &(*out)[slot]);
    (*out)[slot] = Canonical(std::move((*out)[slot]));
    if (rc != AGGREGATOR_OK) {
      return std::string(kSlots[slot]) + " cannot be serialized: status " + std::to_string(rc) +
             " [" + tu::last_error() + "]; ";
    }
  }
  return "";
}

// Where two serialized states first differ, in terms of format v1
// (src/state/state.cc: header 24, config 85, handle fields 37 bytes).
std::string Diff(const Snapshot& want, const Snapshot& got) {
  std::ostringstream o;
  for (size_t slot = 0; slot < want.size(); ++slot) {
    const auto& w = want[slot];
    const auto& g = got[slot];
    if (w == g) continue;
    o << kSlots[slot] << ": ";
    if (w.empty() || g.empty()) {
      o << (w.empty() ? "exists but should not" : "missing") << "; ";
      continue;
    }
    // The first difference past the total length (which differs whenever
    // the sizes do), named by its format v1 field.
    size_t at = 0;
    while (at < w.size() && at < g.size() && (w[at] == g[at] || (at >= 8 && at < 16))) ++at;
    static const std::pair<size_t, const char*> kFields[] = {
        {0, "header"},          {24, "config"},         {109, "has_watermark"},
        {110, "watermark"},     {118, "arrival clock"}, {126, "timestamp mode"},
        {130, "tick (LRU clock)"}, {138, "dropped windows"}, {146, "series count"}};
    std::string region;
    for (const auto& [from, field] : kFields) {
      if (at >= from) region = field;
    }
    Layout lw = Parse(w), lg = Parse(g);
    if (lw.ok && lg.ok && at >= kSeriesCountAt + 8) {
      region = at < std::min(lw.queue_at, lg.queue_at) ? "series records" : "closed-window queue";
    }
    if (lw.ok && lg.ok) {
      o << "series " << lw.series << " vs " << lg.series << ", queued windows "
        << lw.queue.size() << " vs " << lg.queue.size() << ", ";
    }
    o << w.size() << " vs " << g.size() << " bytes, first difference at byte " << at << " ("
      << region << "); ";
  }
  return o.str();
}

using Build = std::function<State()>;

void Run(aggregator* a, const std::vector<Step>& steps) {
  for (size_t i = 0; i < steps.size(); ++i) {
    int rc = steps[i](a);
    INFO("setup step " << i << ": " << tu::last_error());
    REQUIRE(rc == AGGREGATOR_OK);
  }
}

// A handle with `config`, after `steps`.
Build Given(aggregator_config config, std::vector<Step> steps = {}) {
  return [=] {
    State s;
    s.h = tu::make(config);
    Run(s.h, steps);
    return s;
  };
}
// Plus a merge source of the same config, after `src_steps`.
Build GivenPair(aggregator_config config, std::vector<Step> steps, std::vector<Step> src_steps) {
  return [=] {
    State s = Given(config, steps)();
    s.src = tu::make(config);
    Run(s.src, src_steps);
    return s;
  };
}
// A handle after `steps`, and the serialized bytes of a source after
// `src_steps` (merge_serialized).
Build GivenBlob(aggregator_config config, std::vector<Step> steps, std::vector<Step> src_steps) {
  return [=] {
    State s = Given(config, steps)();
    s.blob = Serialize(Given(config, src_steps)().h);
    return s;
  };
}
// Only the serialized bytes (restore).
Build BlobOf(aggregator_config config, std::vector<Step> src_steps) {
  return [=] {
    State s;
    s.blob = Serialize(Given(config, src_steps)().h);
    return s;
  };
}
Build Nothing() {
  return [] { return State(); };
}

// ---- Scenarios --------------------------------------------------------------------

using Call = std::function<int(State&)>;

Call On(Step step) {
  return [step = std::move(step)](State& s) { return step(s.h); };
}

struct Scenario {
  std::string name;
  Build build;  // must give the same state every time
  Call call;
  bool must_allocate = false;  // K == 0 would mean the test covers nothing
};

constexpr bool kAllocates = true;

// Quantiles on: the sketches are where most of the allocations are.
aggregator_config Config(uint32_t kind, int64_t size, int64_t slide = 0, int64_t lateness = 0) {
  aggregator_config c = tu::window_config(kind, size, slide, lateness);
  c.quantiles = 1;
  return c;
}

// ---- The checker ------------------------------------------------------------------

// What went wrong when the Nth allocation of the call failed ("" if nothing).
std::string FaultRun(const Scenario& sc, uint64_t n, const Snapshot& before,
                     const Snapshot& after_ok) {
  std::ostringstream what;
  State s = sc.build();
  // A message the failed call must replace with its own.
  aggregator_key_count(nullptr, nullptr);
  const std::string primed = tu::last_error();

  fi::FailNth(n);
  int rc = sc.call(s);
  uint64_t reached = fi::Counted();
  fi::Disarm();
  std::string message = tu::last_error();

  if (reached < n) {
    // This run made fewer allocations than the counted one: possible where
    // Abseil randomizes table iteration order (builds without NDEBUG, the
    // sanitizer presets), which changes how reads merge series into scratch
    // sketches. Nothing failed, so the call must just have succeeded.
    if (rc != AGGREGATOR_OK) {
      what << "allocation " << n << " never happened (" << reached << " made) and status " << rc
           << "; ";
      return what.str();
    }
    Snapshot now;
    std::string unreadable = TrySnap(s, &now);
    if (!unreadable.empty()) {
      what << "after an unfailed call the " << unreadable;
    } else if (now != after_ok) {
      what << "an unfailed call gives another state: " << Diff(after_ok, now);
    }
    return what.str();
  }
  if (rc != AGGREGATOR_ENOMEM) {
    what << "status " << rc << " (" << aggregator_status_string(rc) << ") instead of ENOMEM";
    if (rc != AGGREGATOR_OK) what << " [" << message << "]";
    what << "; ";
  } else if (message.empty() || message == primed) {
    what << "ENOMEM without a message of its own; ";
  }
  Snapshot now;
  std::string unreadable = TrySnap(s, &now);
  if (!unreadable.empty()) {
    what << "after the failure the " << unreadable;
  } else if (now != before) {
    what << "state changed: " << Diff(before, now);
  }

  int retry = sc.call(s);
  if (retry != AGGREGATOR_OK) {
    what << "retry without faults: status " << retry << " [" << tu::last_error() << "]; ";
  } else {
    Snapshot again;
    std::string unreadable_again = TrySnap(s, &again);
    if (!unreadable_again.empty()) {
      what << "after the retry the " << unreadable_again;
    } else if (again != after_ok) {
      what << "retry without faults gives another state: " << Diff(after_ok, again);
    }
  }
  return what.str();
}

constexpr unsigned kHangSeconds = 10;

// FaultRun for N = 1..k, plus the leak check, in child processes: a crash
// (say, a cleanup path freeing a half-built object) becomes that N's
// failure, and the remaining N still run in a fresh child. Each child
// writes one line per N: "<N>\t<what went wrong, or nothing>".

std::vector<std::string> FaultRuns(const Scenario& sc, uint64_t k, const Snapshot& before,
                                   const Snapshot& after_ok) {
  std::vector<std::string> failures;
  uint64_t next = 1;
  while (next <= k) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    std::fflush(nullptr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      // Die of the signal itself, without Catch's report from the child.
      for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE}) std::signal(sig, SIG_DFL);
      for (uint64_t n = next; n <= k; ++n) {
        alarm(kHangSeconds);  // a lock left held after the failure: report, do not hang
        std::string what;
        try {
          int64_t live = fi::Live();
          what = FaultRun(sc, n, before, after_ok);
          int64_t leaked = fi::Live() - live;
          if (leaked != 0) what += "leaked " + std::to_string(leaked) + " allocation(s); ";
        } catch (...) {
          what += "exception in the test harness; ";
        }
        std::replace(what.begin(), what.end(), '\n', ' ');
        std::string line = std::to_string(n) + "\t" + what + "\n";
        for (size_t done = 0; done < line.size();) {
          ssize_t w = write(fds[1], line.data() + done, line.size() - done);
          if (w <= 0) _exit(3);
          done += static_cast<size_t>(w);
        }
      }
      _exit(0);
    }
    close(fds[1]);
    std::string out;
    char buf[4096];
    for (ssize_t r; (r = read(fds[0], buf, sizeof buf)) != 0;) {
      if (r < 0 && errno == EINTR) continue;
      REQUIRE(r > 0);
      out.append(buf, static_cast<size_t>(r));
    }
    close(fds[0]);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);

    uint64_t last = next - 1;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      size_t tab = line.find('\t');
      last = std::stoull(line.substr(0, tab));
      if (tab + 1 < line.size()) failures.push_back("N=" + std::to_string(last) + ": " + line.substr(tab + 1));
    }
    if (last >= k) break;
    std::string how = !WIFSIGNALED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                      : WTERMSIG(status) == SIGALRM
                          ? "hung (no answer within " + std::to_string(kHangSeconds) + " s)"
                          : std::string("killed by signal ") + std::to_string(WTERMSIG(status)) +
                                " (" + strsignal(WTERMSIG(status)) + ")";
    failures.push_back("N=" + std::to_string(last + 1) + ": died: " + how);
    next = last + 2;
  }
  return failures;
}

// Checks one scenario for every N in 1..K; returns K.
uint64_t Check(const Scenario& sc) {
  INFO("scenario: " << sc.name);

  // The library keeps thread-local scratch buffers that only grow (per-push
  // work, quantile sorting). A first run grows them, so that the counted run
  // and every faulted run after it make exactly the same allocations, and
  // the ones left live afterwards are not leaks.
  Snapshot after_fresh;
  {
    State s = sc.build();
    int rc = sc.call(s);
    INFO("reference run: " << tu::last_error());
    REQUIRE(rc == AGGREGATOR_OK);
    after_fresh = Snap(s);
  }
  // The retry of a faulted run follows a serialize, which emits the closed
  // windows still due before the call. Closing is not a change a reader can
  // see (a window is stamped with the watermark that closes it, whenever it
  // is emitted), so that sequence must end in the same state.
  Snapshot after_ok;
  {
    State s = sc.build();
    Snap(s);
    int rc = sc.call(s);
    INFO("reference run after a serialize: " << tu::last_error());
    REQUIRE(rc == AGGREGATOR_OK);
    after_ok = Snap(s);
    std::string diff = Diff(after_fresh, after_ok);
    INFO("serializing before the call changed its result: " << diff);
    REQUIRE(diff.empty());
  }
  // Serialized from a twin, for the same reason: the handle under test must
  // meet the call exactly as built.
  Snapshot before;
  {
    State twin = sc.build();
    before = Snap(twin);
  }
  uint64_t k = 0;
  {
    State s = sc.build();
    fi::FailNth(0);
    int rc = sc.call(s);
    k = fi::Counted();
    fi::Disarm();
    REQUIRE(rc == AGGREGATOR_OK);
    std::string diff = Diff(after_fresh, Snap(s));
    INFO("the counted run is not deterministic: " << diff);
    REQUIRE(diff.empty());
  }
  INFO("K = " << k << " allocations");
  if (sc.must_allocate) REQUIRE(k > 0);

  std::vector<std::string> failures = FaultRuns(sc, k, before, after_ok);
  std::ostringstream report;
  report << failures.size() << " of " << k << " failure points broke the guarantee";
  for (size_t i = 0; i < failures.size() && i < 8; ++i) report << "\n  " << failures[i];
  if (failures.size() > 8) report << "\n  ...";
  INFO(report.str());
  CHECK(failures.empty());
  return k;
}

void CheckAll(const std::vector<Scenario>& scenarios) {
  std::ostringstream summary;
  summary << "allocations per call (K):";
  for (const Scenario& sc : scenarios) {
    uint64_t k = Check(sc);
    summary << "\n  K=" << k << "\t" << sc.name;
  }
  WARN(summary.str());
}

// ---- Configurations and states shared by several scenarios ---------------------

aggregator_config Count64() { return Config(AGGREGATOR_WINDOW_COUNT, 64); }
aggregator_config Count5000() { return Config(AGGREGATOR_WINDOW_COUNT, 5000); }
// pane_width defaults to 10 here (D / 100): 100 panes per window.
aggregator_config Sliding() { return Config(AGGREGATOR_WINDOW_SLIDING, 1000, 0, 300); }
aggregator_config Tumbling() { return Config(AGGREGATOR_WINDOW_TUMBLING, 100, 0, 10); }
aggregator_config Hopping() { return Config(AGGREGATOR_WINDOW_HOPPING, 100, 25, 10); }

// 20 uint64 keys over t = 0..249: windows ending at 100 and 200 are closed
// and queued.
std::vector<Step> KeyedUpTo250() { return {Push(Values(250).At(0, 1).Keyed(20))}; }

}  // namespace

// ---- Tests ---------------------------------------------------------------------------

TEST_CASE("allocation failure: pushes to count windows", "[allocation_failure]") {
  CheckAll({
      {"count64: unkeyed push of 100 creating the series", Given(Count64()),
       On(Push(Values(100))), kAllocates},
      {"count64: unkeyed push of 100 into a full window", Given(Count64(), {Push(Values(100))}),
       On(Push(Values(100, 100)))},
      {"count64: keyed push creating 10 series", Given(Count64()),
       On(Push(Values(100).Keyed(10))), kAllocates},
      {"count64: keyed push to 5 existing and 5 new series",
       Given(Count64(), {Push(Values(100).Keyed(10))}), On(Push(Values(100, 100).Keyed(10, 5))),
       kAllocates},
      {"count64: process_batch", Given(Count64(), {Push(Values(10))}),
       On(ProcessBatch(Values(100, 10)))},
      {"count5000: first push of 300 creating the series", Given(Count5000()),
       On(Push(Values(300))), kAllocates},
      {"count5000: push of 3000 growing the ring", Given(Count5000(), {Push(Values(300))}),
       On(Push(Values(3000, 300))), kAllocates},
      {"count5000: push of both signs and zeros into a wrapped window",
       Given(Count5000(), {Push(Values(6000))}),
       On(Push(Values(200, 6000).Set(0, 0.0).Set(1, -0.0).Set(2, -1e300).Set(3, 1e-300)))},
      {"count5000: a single value", Given(Count5000(), {Push(Values(6000))}),
       On(Push(Values(1, 6000)))},
      {"count5000: keyed push creating 4 series", Given(Count5000()),
       On(Push(Values(200).Keyed(4))), kAllocates},
  });
}

TEST_CASE("allocation failure: pushes to sliding time windows", "[allocation_failure]") {
  const std::vector<Step> to1000 = {Push(Values(200).At(0, 5))};  // watermark 995
  CheckAll({
      {"sliding: first in-order batch", Given(Sliding()), On(Push(Values(100).At(0, 5))),
       kAllocates},
      {"sliding: in-order batch", Given(Sliding(), {Push(Values(100).At(0, 5))}),
       On(Push(Values(100, 100).At(500, 5))), kAllocates},
      {"sliding: out-of-order batch within lateness", Given(Sliding(), to1000),
       On(Push(Values(100, 200).Times([](size_t i) { return 995 - int64_t(i * 37 % 296); })))},
      {"sliding: batch with some late values", Given(Sliding(), to1000),
       On(Push(Values(100, 200).Times([](size_t i) { return 995 - int64_t(i * 53 % 400); })))},
      {"sliding: new panes in the middle",
       Given(Sliding(), {Push(Values(40).Times([](size_t i) { return 700 + int64_t(i / 10) * 100; }))}),
       On(Push(Values(40, 40).Times([](size_t i) { return 950 - int64_t(i % 4) * 100 - int64_t(i % 7); }))),
       kAllocates},
      // (More values than the compact block has room for: it must grow.)
      {"sliding: watermark jumps past the window", Given(Sliding(), to1000),
       On(Push(Values(300, 200).At(5000, 3))), kAllocates},
      // A compact series (at most 2048 values: PaneWindow::kCompactValues)
      // turns into panes in this push's reservation.
      {"sliding: batch that takes a compact series into panes", Given(Sliding(), to1000),
       On(Push(Values(2000, 200).Times([](size_t i) { return 996 + int64_t(i % 300); }))),
       kAllocates},
      {"sliding: keyed batch creating 20 series", Given(Sliding(), to1000),
       On(Push(Values(100, 200).At(1000, 2).Keyed(20))), kAllocates},
  });
}

TEST_CASE("allocation failure: tumbling and hopping windows", "[allocation_failure]") {
  std::vector<Scenario> all;
  for (auto [label, config] : {std::pair{"tumbling", Tumbling()}, std::pair{"hopping", Hopping()}}) {
    std::string l = label;
    all.push_back({l + ": keyed push creating 20 series and closing windows", Given(config),
                   On(Push(Values(250).At(0, 1).Keyed(20))), kAllocates});
    all.push_back({l + ": keyed push closing windows", Given(config, KeyedUpTo250()),
                   On(Push(Values(200, 250).At(250, 1).Keyed(20))), kAllocates});
    all.push_back({l + ": out-of-order keyed push within lateness", Given(config, KeyedUpTo250()),
                   On(Push(Values(60, 250).Times([](size_t i) { return 249 - int64_t(i % 9); }).Keyed(20)))});
    all.push_back({l + ": advance closing every window", Given(config, KeyedUpTo250()),
                   On(Advance(1000))});
    all.push_back({l + ": poll_windows with quantiles, every window",
                   Given(config, {Push(Values(250).At(0, 1).Keyed(20)), Advance(1000)}),
                   On(PollWindows(4096))});
    // One series: the queue order is defined, so a partial poll is too.
    all.push_back({l + ": poll_windows with quantiles, 3 of the windows of one series",
                   Given(config, {Push(Values(250).At(0, 1)), Advance(1000)}),
                   On(PollWindows(3))});
    all.push_back({l + ": pending_windows", Given(config, KeyedUpTo250()),
                   On([](aggregator* a) {
                     uint64_t p, d;
                     return aggregator_pending_windows(a, &p, &d);
                   })});
  }
  aggregator_config small_queue = Tumbling();
  small_queue.max_pending_windows = 4;
  all.push_back({"tumbling: push overflowing the closed-window queue",
                 Given(small_queue, KeyedUpTo250()),
                 On(Push(Values(200, 250).At(250, 1).Keyed(20))), kAllocates});
  CheckAll(all);
}

TEST_CASE("allocation failure: named keys", "[allocation_failure]") {
  CheckAll({
      {"count64: push_named creating 10 series", Given(Count64()),
       On(PushNamed(Named(100, 10, 0))), kAllocates},
      {"count64: push_named to 10 existing and 10 new series",
       Given(Count64(), {PushNamed(Named(100, 10, 0))}), On(PushNamed(Named(100, 20, 0))),
       kAllocates},
      {"count64: push_named to existing series only",
       Given(Count64(), {PushNamed(Named(100, 10, 0))}), On(PushNamed(Named(50, 5, 3)))},
      {"tumbling: push_named creating series and closing windows",
       Given(Tumbling(), {PushNamed(Named(100, 10, 0, 0))}), On(PushNamed(Named(200, 15, 5, 100))),
       kAllocates},
  });
}

TEST_CASE("allocation failure: key budget and expiry", "[allocation_failure]") {
  aggregator_config lru = Tumbling();
  lru.max_keys = 8;
  lru.key_policy = AGGREGATOR_KEYS_EVICT_LRU;
  aggregator_config overflow = Count64();
  overflow.max_keys = 8;
  overflow.key_policy = AGGREGATOR_KEYS_OVERFLOW;
  aggregator_config ttl = Sliding();
  ttl.key_ttl = 500;
  aggregator_config ttl_tumbling = Tumbling();
  ttl_tumbling.key_ttl = 200;
  // Keys 0..9 go idle at t < 100, keys 10 and 11 at t < 450.
  const std::vector<Step> idle = {Push(Values(100).At(0, 1).Keyed(10)),
                                  Push(Values(50, 100).At(400, 1).Keyed(2, 10))};
  CheckAll({
      {"evict_lru: push evicting 4 of 8 series", Given(lru, {Push(Values(80).At(0, 1).Keyed(8))}),
       On(Push(Values(60, 80).At(80, 1).Keyed(8, 4))), kAllocates},
      {"overflow: push sending new keys to the overflow series",
       Given(overflow, {Push(Values(80).Keyed(8))}), On(Push(Values(60, 80).Keyed(10, 4))),
       kAllocates},
      {"overflow: push to an existing overflow series",
       Given(overflow, {Push(Values(80).Keyed(8)), Push(Values(60, 80).Keyed(10, 4))}),
       On(Push(Values(60, 140).Keyed(10, 6)))},
      {"key_ttl: push expiring idle series", Given(ttl, idle),
       On(Push(Values(10, 200).At(1000, 1).Keyed(1, 10)))},
      {"key_ttl: advance expiring idle series and closing windows", Given(ttl_tumbling, idle),
       On(Advance(2000))},
  });
}

TEST_CASE("allocation failure: reads", "[allocation_failure]") {
  struct Read {
    const char* state;
    Build build;
    uint64_t key;
    bool closed_windows;
  };
  const Read states[] = {
      {"count64 keyed", Given(Count64(), {Push(Values(100).Keyed(10))}), Key(3), false},
      {"count5000", Given(Count5000(), {Push(Values(6000))}), AGGREGATOR_DEFAULT_KEY, false},
      {"sliding", Given(Sliding(), {Push(Values(200).At(0, 5))}), AGGREGATOR_DEFAULT_KEY, false},
      {"tumbling keyed, windows queued", Given(Tumbling(), KeyedUpTo250()), Key(3), true},
      {"hopping keyed, windows queued", Given(Hopping(), KeyedUpTo250()), Key(3), true},
      {"named count64", Given(Count64(), {PushNamed(Named(100, 10, 0))}), NameKey(3), false},
  };
  std::vector<Scenario> all;
  for (const Read& r : states) {
    for (auto& [call, step] : Reads(r.key, r.closed_windows)) {
      all.push_back({std::string(r.state) + ": " + call, r.build, On(step)});
    }
  }
  CheckAll(all);
}

TEST_CASE("allocation failure: remove, merge, serialize, restore, create", "[allocation_failure]") {
  const std::vector<Step> tumbling_dst = KeyedUpTo250();
  const std::vector<Step> tumbling_src = {Push(Values(300, 1000).At(100, 1).Keyed(20, 10))};
  const std::vector<Step> count_dst = {Push(Values(100).Keyed(5))};
  const std::vector<Step> count_src = {Push(Values(100, 500).Keyed(5, 3))};
  const std::vector<Step> count5000_src = {Push(Values(2000, 500))};
  auto merge = [](State& s) { return aggregator_merge(s.h, s.src); };
  auto merge_serialized = [](State& s) {
    return aggregator_merge_serialized(s.h, s.blob.data(), s.blob.size());
  };
  auto restore = [](State& s) {
    aggregator* p = nullptr;
    int rc = aggregator_restore(s.blob.data(), s.blob.size(), AGGREGATOR_THREADING_SHARED, &p);
    s.made = Handle(p);
    return rc;
  };
  auto create = [](aggregator_config c) -> Call {
    return [c](State& s) {
      aggregator* p = nullptr;
      int rc = aggregator_create(&c, &p);
      s.made = Handle(p);
      return rc;
    };
  };
  CheckAll({
      {"tumbling: remove_key", Given(Tumbling(), tumbling_dst), On(RemoveKey(Key(3)))},
      {"named count64: remove_key", Given(Count64(), {PushNamed(Named(100, 10, 0))}),
       On(RemoveKey(NameKey(3)))},
      {"tumbling: merge (shared and new keys, queued windows)",
       GivenPair(Tumbling(), tumbling_dst, tumbling_src), merge, kAllocates},
      {"count64: merge", GivenPair(Count64(), count_dst, count_src), merge, kAllocates},
      {"count5000: merge", GivenPair(Count5000(), {Push(Values(3000))}, count5000_src), merge,
       kAllocates},
      {"tumbling: merge_serialized", GivenBlob(Tumbling(), tumbling_dst, tumbling_src),
       merge_serialized, kAllocates},
      {"count64: merge_serialized", GivenBlob(Count64(), count_dst, count_src),
       merge_serialized, kAllocates},
      {"tumbling: restore", BlobOf(Tumbling(), tumbling_src), restore, kAllocates},
      {"count5000: restore", BlobOf(Count5000(), count5000_src), restore, kAllocates},
      {"named count64: restore", BlobOf(Count64(), {PushNamed(Named(100, 10, 0))}),
       restore, kAllocates},
      {"create count64", Nothing(), create(Count64()), kAllocates},
      {"create sliding", Nothing(), create(Sliding()), kAllocates},
      {"aggregator_new",
       Nothing(),
       [](State& s) {
         // Capacity 64 is valid: NULL can only be a failed allocation.
         s.made = Handle(aggregator_new(64));
         return s.made.get() ? AGGREGATOR_OK : AGGREGATOR_ENOMEM;
       },
       kAllocates},
  });
}

TEST_CASE("allocation failure: arrival clock and skipped non-finite values",
          "[allocation_failure]") {
  aggregator_config arrival = Config(AGGREGATOR_WINDOW_SLIDING, 100);
  aggregator_config skip_count = Count64();
  skip_count.nonfinite_policy = AGGREGATOR_NONFINITE_SKIP;
  aggregator_config skip_sliding = Sliding();
  skip_sliding.nonfinite_policy = AGGREGATOR_NONFINITE_SKIP;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto with_nonfinite = [=](Rows r) {
    for (size_t i = 0; i < r.v.size(); i += 7) r.v[i] = (i / 7) % 3 == 0 ? nan : (i / 7) % 3 == 1 ? inf : -inf;
    return r;
  };
  CheckAll({
      {"arrival sliding: first push", Given(arrival), On(Push(Values(150))), kAllocates},
      {"arrival sliding: push sliding the window", Given(arrival, {Push(Values(150))}),
       On(Push(Values(80, 150)))},
      {"arrival sliding: keyed push creating series", Given(arrival, {Push(Values(150))}),
       On(Push(Values(80, 150).Keyed(8))), kAllocates},
      {"skip count64: first push with NaN and +-Inf", Given(skip_count),
       On(Push(with_nonfinite(Values(100)))), kAllocates},
      {"skip count64: push with NaN and +-Inf", Given(skip_count, {Push(Values(100))}),
       On(Push(with_nonfinite(Values(100, 100))))},
      {"skip sliding: keyed push with NaN and +-Inf",
       Given(skip_sliding, {Push(Values(200).At(0, 5))}),
       On(Push(with_nonfinite(Values(100, 200).At(1000, 3).Keyed(5)))), kAllocates},
  });
}

// aggregator_rolling has no state to compare: on ENOMEM no output may have
// been written (every allocation precedes the first write) and nothing may
// leak. Interleaved keys (the gather path), a time window, moments and
// quantiles, so every scratch buffer is allocated.
TEST_CASE("allocation failure: aggregator_rolling writes nothing", "[allocation_failure]") {
  const size_t n = 300;
  std::vector<double> v(n);
  std::vector<int64_t> t(n);
  std::vector<uint64_t> k(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = ValueAt(i);
    t[i] = static_cast<int64_t>(i) * 3;
    k[i] = Key(i % 7);
  }
  aggregator_rolling_options opt;
  aggregator_rolling_options_init(&opt);
  opt.window_kind = AGGREGATOR_WINDOW_SLIDING;
  opt.window = 40;
  std::vector<double> a(n), b(n);
  aggregator_rolling_output outs[2] = {{AGGREGATOR_ROLLING_STD, 0, 0, a.data()},
                                       {AGGREGATOR_ROLLING_QUANTILE, 0, 0.9, b.data()}};
  auto run = [&] { return aggregator_rolling(&opt, v.data(), t.data(), k.data(), n, outs, 2); };
  fi::FailNth(0);
  REQUIRE(run() == AGGREGATOR_OK);
  const uint64_t calls = fi::Counted();
  fi::Disarm();
  REQUIRE(calls > 0);
  for (uint64_t nth = 1; nth <= calls; ++nth) {
    std::fill(a.begin(), a.end(), -7.0);
    std::fill(b.begin(), b.end(), -7.0);
    const int64_t live = fi::Live();
    fi::FailNth(nth);
    const int rc = run();
    fi::Disarm();
    INFO("allocation " << nth << " of " << calls);
    CHECK(rc == AGGREGATOR_ENOMEM);
    CHECK(std::all_of(a.begin(), a.end(), [](double x) { return x == -7.0; }));
    CHECK(std::all_of(b.begin(), b.end(), [](double x) { return x == -7.0; }));
    CHECK(fi::Live() == live);
  }
}
