// extern "C" entry points: argument checks, status codes, and the exception
// firewall. Nothing below lets a C++ exception reach the host.
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <new>

#include "core/aggregator.h"
#include "core/error.h"
#include "core/key_hash.h"
#include "core/memory.h"
#include "core/rolling.h"
#include "state/state.h"
#include "windowagg/windowagg.h"
#include "capi/abi_checks.h"

using windowagg::internal::Aggregator;
using windowagg::internal::Config;
using windowagg::internal::Error;
using windowagg::internal::Fail;
using windowagg::internal::Status;

// The opaque handle is the core aggregator itself.
struct aggregator {};

// Layout and enum agreement between windowagg.h and the core: abi_checks.h.

namespace {

// Fixed buffer: recording an error never allocates (it may report one).
thread_local char tls_error[1024] = "";
thread_local int tls_status = AGGREGATOR_OK;  // aggregator_last_status()

void SetError(int status, const char* function, const char* message) {
  tls_status = status;
  std::snprintf(tls_error, sizeof tls_error, "%s: %s", function, message);
}

Aggregator* Core(aggregator* a) { return reinterpret_cast<Aggregator*>(a); }
Aggregator* Core(const aggregator* a) {
  return reinterpret_cast<Aggregator*>(const_cast<aggregator*>(a));
}
aggregator* Handle(Aggregator* a) { return reinterpret_cast<aggregator*>(a); }

// Runs f, turning every exception into a status and the thread's message.
template <class F>
int Guard(const char* function, F&& f) noexcept {
  try {
    f();
    return AGGREGATOR_OK;
  } catch (const Error& e) {
    SetError(static_cast<int>(e.status()), function, e.what());
    return static_cast<int>(e.status());
  } catch (const std::bad_alloc&) {
    SetError(AGGREGATOR_ENOMEM, function,
             "out of memory: the allocation failed and the state is unchanged");
    return AGGREGATOR_ENOMEM;
  } catch (const std::exception& e) {
    SetError(AGGREGATOR_EINTERNAL, function, e.what());
    return AGGREGATOR_EINTERNAL;
  } catch (...) {
    SetError(AGGREGATOR_EINTERNAL, function, "unknown internal error");
    return AGGREGATOR_EINTERNAL;
  }
}

void Require(const void* p, const char* name) {
  if (p == nullptr) Fail(Status::kInvalidArgument, "%s is NULL", name);
}

Aggregator* Checked(const aggregator* a) {
  if (a == nullptr) Fail(Status::kInvalidArgument, "the handle is NULL");
  return Core(a);
}

// The struct_size rule of the extensible input structs (aggregator_config,
// aggregator_rolling_options): `full` holds the defaults; the host's first
// struct_size bytes replace them. A host built against an older header
// passes a shorter struct: fields it does not know keep their defaults. A
// newer host's extra fields must be 0. `min` is the smallest size accepted.
template <class T>
void CopySized(const T* c, T* full, size_t min, Status status, const char* init) {
  if (c->struct_size < min) {
    Fail(status, "struct_size is %u: call %s before setting fields", c->struct_size, init);
  }
  size_t known = sizeof(T);
  size_t n = c->struct_size < known ? c->struct_size : known;
  std::memcpy(full, c, n);
  if (c->struct_size > known) {
    const auto* extra = reinterpret_cast<const unsigned char*>(c) + known;
    for (size_t i = 0; i < c->struct_size - known; ++i) {
      if (extra[i] != 0) {
        Fail(status,
             "struct_size %u: this library (version %s) does not know the fields past byte %u, "
             "and they are set",
             c->struct_size, WINDOWAGG_VERSION_STRING, known);
      }
    }
  }
}

Config FromC(const aggregator_config* c) {
  if (c == nullptr) Fail(Status::kInvalidArgument, "cfg is NULL");
  aggregator_config full;
  aggregator_config_init(&full);
  CopySized(c, &full, sizeof(uint32_t) * 2 + sizeof(int64_t), Status::kConfig,
            "aggregator_config_init");
  if (full.threading > AGGREGATOR_THREADING_SINGLE) {
    Fail(Status::kConfig, "threading %u is not a mode (0 = SHARED, 1 = SINGLE)", full.threading);
  }
  if (full.quantiles > 1) Fail(Status::kConfig, "quantiles must be 0 or 1, got %u", full.quantiles);
  Config cfg;
  cfg.kind = static_cast<windowagg::internal::WindowKind>(full.window_kind);
  cfg.window_size = full.window_size;
  cfg.slide = full.slide;
  cfg.pane_width = full.pane_width;
  cfg.allowed_lateness = full.allowed_lateness;
  cfg.relative_accuracy = full.relative_accuracy;
  cfg.quantiles = full.quantiles != 0;
  cfg.nonfinite = static_cast<windowagg::internal::NonFinitePolicy>(full.nonfinite_policy);
  cfg.max_keys = full.max_keys;
  cfg.key_policy = static_cast<windowagg::internal::KeyPolicy>(full.key_policy);
  cfg.thread_safe = full.threading == AGGREGATOR_THREADING_SHARED;
  cfg.key_ttl = full.key_ttl;
  cfg.memory_limit = full.memory_limit;
  cfg.max_pending_windows = full.max_pending_windows;
  windowagg::internal::ValidateConfig(&cfg);
  return cfg;
}

void ToC(const Config& cfg, aggregator_config* out) {
  aggregator_config full;
  aggregator_config_init(&full);
  full.window_kind = static_cast<uint32_t>(cfg.kind);
  full.window_size = cfg.window_size;
  full.slide = cfg.kind == windowagg::internal::WindowKind::kHopping ? cfg.slide : 0;
  full.pane_width = cfg.pane_width;
  full.allowed_lateness = cfg.allowed_lateness;
  full.relative_accuracy = cfg.relative_accuracy;
  full.quantiles = cfg.quantiles ? 1 : 0;
  full.nonfinite_policy = static_cast<uint32_t>(cfg.nonfinite);
  full.max_keys = cfg.max_keys;
  full.key_policy = static_cast<uint32_t>(cfg.key_policy);
  full.threading = cfg.thread_safe ? AGGREGATOR_THREADING_SHARED : AGGREGATOR_THREADING_SINGLE;
  full.key_ttl = cfg.key_ttl;
  full.memory_limit = cfg.memory_limit;
  full.max_pending_windows = cfg.max_pending_windows;
  uint32_t size = out->struct_size;
  if (size == 0) Fail(Status::kInvalidArgument, "out->struct_size is 0: call aggregator_config_init");
  size_t n = size < sizeof full ? size : sizeof full;
  std::memcpy(out, &full, n);
  out->struct_size = size;
}

}  // namespace

extern "C" {

const char* aggregator_version(void) { return WINDOWAGG_VERSION_STRING; }
unsigned aggregator_version_number(void) { return WINDOWAGG_VERSION_NUMBER; }

const char* aggregator_status_string(int status) {
  switch (status) {
    case AGGREGATOR_OK: return "ok";
    case AGGREGATOR_EINVAL: return "invalid argument";
    case AGGREGATOR_ECONFIG: return "invalid configuration";
    case AGGREGATOR_EVALUE: return "non-finite value refused";
    case AGGREGATOR_ENOTFOUND: return "no such series";
    case AGGREGATOR_EBUFFER: return "output buffer too small";
    case AGGREGATOR_ENOMEM: return "out of memory";
    case AGGREGATOR_EKEYLIMIT: return "key budget (max_keys) exceeded";
    case AGGREGATOR_EMEMLIMIT: return "memory limit exceeded";
    case AGGREGATOR_ECORRUPT: return "serialized state is corrupt";
    case AGGREGATOR_EVERSION: return "serialized state has an unsupported format version";
    case AGGREGATOR_EMISMATCH: return "configurations differ";
    case AGGREGATOR_EUNSUPPORTED: return "not supported for this handle";
    case AGGREGATOR_EINTERNAL: return "internal error";
    default: return "unknown status";
  }
}

const char* aggregator_last_error(void) { return tls_error; }
int aggregator_last_status(void) { return tls_status; }

void aggregator_config_init(aggregator_config* cfg) {
  if (cfg == nullptr) return;
  std::memset(cfg, 0, sizeof *cfg);
  cfg->struct_size = sizeof *cfg;
  cfg->window_kind = AGGREGATOR_WINDOW_COUNT;
  cfg->window_size = 1024;
  cfg->relative_accuracy = 0.01;
  cfg->quantiles = 1;
  cfg->nonfinite_policy = AGGREGATOR_NONFINITE_REJECT;
  cfg->key_policy = AGGREGATOR_KEYS_REJECT;
  cfg->threading = AGGREGATOR_THREADING_SHARED;
  cfg->max_pending_windows = 65536;
}

int aggregator_create(const aggregator_config* cfg, aggregator** out) {
  if (out != nullptr) *out = nullptr;
  return Guard(__func__, [&] {
    Require(out, "out");
    Config c = FromC(cfg);
    *out = Handle(Aggregator::Create(c));
  });
}

int aggregator_get_config(const aggregator* a, aggregator_config* out) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(out, "out");
    ToC(core->config(), out);
  });
}

aggregator* aggregator_new(long long capacity) {
  aggregator* result = nullptr;
  Guard(__func__, [&] {
    if (capacity <= 0) Fail(Status::kConfig, "capacity must be >= 1, got %d", capacity);
    if (capacity > windowagg::internal::kMaxCountWindow) {
      Fail(Status::kConfig, "capacity %d is too large (at most 2^32 values)", capacity);
    }
    Config c;
    c.window_size = capacity;
    c.quantiles = false;
    windowagg::internal::ValidateConfig(&c);
    result = Handle(Aggregator::Create(c));
  });
  return result;
}

double aggregator_process_batch(aggregator* a, const double* data, size_t len) {
  double mean = std::numeric_limits<double>::quiet_NaN();
  Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    if (data == nullptr && len > 0) {
      Fail(Status::kInvalidArgument, "data is NULL but len is %u", len);
    }
    windowagg::internal::Batch b;
    b.values = data;
    b.size = len;
    core->Push(b);
    windowagg::internal::Stats st;
    try {
      core->KeyStats(windowagg::internal::kDefaultKey, &st);
    } catch (const Error& e) {
      if (e.status() != Status::kNotFound) throw;
      return;  // nothing pushed yet: NaN, not an error
    }
    mean = st.mean;
  });
  return mean;
}

void aggregator_free(aggregator* a) { Aggregator::Destroy(Core(a)); }

int aggregator_push(aggregator* a, const double* values, const int64_t* timestamps,
                    const uint64_t* keys, size_t len) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    windowagg::internal::Batch b;
    b.values = values;
    b.timestamps = timestamps;
    b.keys = keys;
    b.size = len;
    core->Push(b);
  });
}

int aggregator_push_named(aggregator* a, const double* values, const int64_t* timestamps,
                          const uint8_t* key_bytes, const uint32_t* key_offsets, size_t len) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    if (len == 0) return;
    Require(key_offsets, "key_offsets");
    windowagg::internal::Batch b;
    b.values = values;
    b.timestamps = timestamps;
    b.key_bytes = key_bytes;
    b.key_offsets = key_offsets;
    b.size = len;
    core->Push(b);
  });
}

uint64_t aggregator_key_hash(const void* bytes, size_t len) {
  if (bytes == nullptr) len = 0;
  return windowagg::internal::KeyHash(bytes, len);
}

int aggregator_advance(aggregator* a, int64_t watermark) {
  return Guard(__func__, [&] { Checked(a)->Advance(watermark); });
}

int aggregator_get_key_stats(const aggregator* a, uint64_t key, aggregator_stats* out) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(out, "out");
    core->KeyStats(key, reinterpret_cast<windowagg::internal::Stats*>(out));
  });
}

int aggregator_get_stats(const aggregator* a, aggregator_stats* out) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(out, "out");
    core->AllStats(reinterpret_cast<windowagg::internal::Stats*>(out));
  });
}

namespace {
// The struct_size rule of aggregator_stats_ex (windowagg.h): writes the
// fields the host knows, zero-fills what the host knows and we do not.
constexpr uint32_t kStatsExMaxSize = 4096;
void CheckStatsEx(const aggregator_stats_ex* out) {
  Require(out, "out");
  uint32_t size = out->struct_size;
  if (size < 8 || size % 8 != 0 || size > kStatsExMaxSize) {
    Fail(Status::kInvalidArgument,
         "out->struct_size is %u: not a size of aggregator_stats_ex (call "
         "aggregator_stats_ex_init; a multiple of 8 in [8, %u])",
         size, kStatsExMaxSize);
  }
}
// Writes bytes [8, size) of an aggregator_stats_ex of `size` bytes at dst
// (size already checked): the known fields, zeros past them.
void ToStatsExBytes(const windowagg::internal::Stats& st, unsigned char* dst, size_t size) {
  aggregator_stats_ex full;
  std::memset(&full, 0, sizeof full);
  std::memcpy(&full.stats, &st, sizeof full.stats);
  constexpr size_t kHead = offsetof(aggregator_stats_ex, stats);  // struct_size, reserved
  static_assert(kHead == 8);
  size_t known = sizeof full;
  std::memcpy(dst + kHead, reinterpret_cast<const unsigned char*>(&full) + kHead,
              (size < known ? size : known) - kHead);
  if (size > known) std::memset(dst + known, 0, size - known);
}
void ToStatsEx(const windowagg::internal::Stats& st, aggregator_stats_ex* out) {
  ToStatsExBytes(st, reinterpret_cast<unsigned char*>(out), out->struct_size);
}
}  // namespace

void aggregator_stats_ex_init(aggregator_stats_ex* out) {
  if (out == nullptr) return;
  std::memset(out, 0, sizeof *out);
  out->struct_size = sizeof *out;
}

size_t aggregator_stats_ex_size(void) { return sizeof(aggregator_stats_ex); }

int aggregator_get_key_stats_ex(const aggregator* a, uint64_t key, aggregator_stats_ex* out) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    CheckStatsEx(out);
    windowagg::internal::Stats st;
    core->KeyStats(key, &st);
    ToStatsEx(st, out);
  });
}

int aggregator_get_stats_ex(const aggregator* a, aggregator_stats_ex* out) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    CheckStatsEx(out);
    windowagg::internal::Stats st;
    core->AllStats(&st);
    ToStatsEx(st, out);
  });
}

int aggregator_get_key_quantiles(const aggregator* a, uint64_t key, const double* q, size_t n,
                                 double* out) {
  return Guard(__func__, [&] { Checked(a)->KeyQuantiles(key, q, n, out); });
}

int aggregator_get_quantiles(const aggregator* a, const double* q, size_t n, double* out) {
  return Guard(__func__, [&] { Checked(a)->AllQuantiles(q, n, out); });
}

namespace {
// A page of a cursor iteration holds at least one entry: with cap 0 a call
// could never return an entry nor finish, and a host loop waiting for
// `done` would never end.
// The arguments every cursor page call checks first, in this order.
void RequirePage(const aggregator_cursor* cursor, const size_t* n_out, size_t cap) {
  Require(cursor, "cursor");
  Require(n_out, "n_out");
  if (cap == 0) {
    Fail(Status::kInvalidArgument,
         "cap is 0: a page needs room for at least one entry (the cursor is unchanged)");
  }
}
}  // namespace

int aggregator_list_stats(const aggregator* a, aggregator_cursor* cursor,
                          aggregator_key_stats* out, size_t cap, const double* q, size_t nq,
                          double* out_q, size_t* n_out) {
  if (n_out != nullptr) *n_out = 0;
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    RequirePage(cursor, n_out, cap);
    Require(out, "out");
    *n_out = core->ListStats(reinterpret_cast<windowagg::internal::Cursor*>(cursor),
                             reinterpret_cast<windowagg::internal::KeyedStats*>(out), cap, q, nq, out_q);
  });
}

namespace {
// The record rule of aggregator_list_stats_ex / aggregator_poll_windows_ex
// (windowagg.h): a record is the key and an aggregator_stats_ex of
// elem_size - 8 bytes, which must itself obey the struct_size rule.
constexpr size_t kRecordHead = offsetof(aggregator_key_stats_ex, stats);
static_assert(kRecordHead == 8 && offsetof(aggregator_window_ex, stats) == kRecordHead);
void CheckElemSize(size_t elem_size, size_t cap) {
  if (elem_size < kRecordHead + 8 || elem_size % 8 != 0 ||
      elem_size > kRecordHead + kStatsExMaxSize) {
    Fail(Status::kInvalidArgument,
         "elem_size is %u: not a size of aggregator_key_stats_ex/aggregator_window_ex (pass "
         "sizeof the record; a multiple of 8 in [%u, %u])",
         elem_size, kRecordHead + 8, kRecordHead + kStatsExMaxSize);
  }
  if (cap > SIZE_MAX / elem_size) {
    Fail(Status::kInvalidArgument, "cap %u records of elem_size %u bytes overflow size_t", cap,
         elem_size);
  }
}

// The page the core fills before it is copied into the host's records
// (uninitialized: the core writes every entry it reports).
class ScratchPage {
 public:
  explicit ScratchPage(size_t cap) : n_(cap), p_(cap == 0 ? nullptr : alloc_.allocate(cap)) {}
  ~ScratchPage() {
    if (p_ != nullptr) alloc_.deallocate(p_, n_);
  }
  ScratchPage(const ScratchPage&) = delete;
  ScratchPage& operator=(const ScratchPage&) = delete;
  windowagg::internal::KeyedStats* data() { return p_; }

 private:
  windowagg::internal::ScratchAllocator<windowagg::internal::KeyedStats> alloc_;
  size_t n_;
  windowagg::internal::KeyedStats* p_;
};

// Copies n core entries into the host's records; writes nothing else.
void ToRecords(const windowagg::internal::KeyedStats* page, size_t n, void* out, size_t elem_size) {
  WINDOWAGG_NO_ALLOCATION_HERE();
  auto* dst = static_cast<unsigned char*>(out);
  const uint32_t stats_size = static_cast<uint32_t>(elem_size - kRecordHead);
  const uint32_t reserved = 0;
  for (size_t i = 0; i < n; ++i, dst += elem_size) {
    std::memcpy(dst, &page[i].key, sizeof page[i].key);
    unsigned char* sx = dst + kRecordHead;
    std::memcpy(sx + offsetof(aggregator_stats_ex, struct_size), &stats_size, sizeof stats_size);
    std::memcpy(sx + offsetof(aggregator_stats_ex, reserved), &reserved, sizeof reserved);
    ToStatsExBytes(page[i].stats, sx, stats_size);
  }
}
}  // namespace

int aggregator_list_stats_ex(const aggregator* a, aggregator_cursor* cursor, void* out,
                             size_t elem_size, size_t cap, const double* q, size_t nq,
                             double* out_q, size_t* n_out) {
  if (n_out != nullptr) *n_out = 0;
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    RequirePage(cursor, n_out, cap);
    Require(out, "out");
    CheckElemSize(elem_size, cap);
    ScratchPage page(cap);
    // The core advances a copy of the cursor: a failure leaves the host's as it was.
    aggregator_cursor next = *cursor;
    size_t n = core->ListStats(reinterpret_cast<windowagg::internal::Cursor*>(&next), page.data(), cap, q,
                               nq, out_q);
    ToRecords(page.data(), n, out, elem_size);
    *cursor = next;
    *n_out = n;
  });
}

int aggregator_key_count(const aggregator* a, uint64_t* out) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(out, "out");
    *out = core->KeyCount();
  });
}

int aggregator_list_keys(const aggregator* a, aggregator_cursor* cursor, uint64_t* keys,
                         size_t cap, uint8_t* names, size_t names_cap, uint32_t* name_offsets,
                         size_t* n_out) {
  if (n_out != nullptr) *n_out = 0;
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    RequirePage(cursor, n_out, cap);
    Require(keys, "keys");
    if (names != nullptr) Require(name_offsets, "name_offsets (names is set)");
    *n_out = core->ListKeys(reinterpret_cast<windowagg::internal::Cursor*>(cursor), keys, cap, names,
                            names_cap, name_offsets);
  });
}

int aggregator_key_name(const aggregator* a, uint64_t key, uint8_t* buf, size_t cap,
                        size_t* len) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(len, "len");
    if (cap > 0) Require(buf, "buf");
    size_t n = core->KeyName(key, buf, cap);
    *len = n;
    if (n > cap) {
      Fail(Status::kBuffer, "the name of key %u is %u bytes, the buffer holds %u", key, n, cap);
    }
  });
}

int aggregator_remove_key(aggregator* a, uint64_t key) {
  return Guard(__func__, [&] { Checked(a)->RemoveKey(key); });
}

int aggregator_poll_windows(aggregator* a, aggregator_window* out, size_t cap, const double* q,
                            size_t nq, double* out_q, size_t* n_out) {
  if (n_out != nullptr) *n_out = 0;
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(n_out, "n_out");
    if (cap > 0) Require(out, "out");
    *n_out = core->PollWindows(reinterpret_cast<windowagg::internal::KeyedStats*>(out), cap, q, nq, out_q);
  });
}

int aggregator_poll_windows_ex(aggregator* a, void* out, size_t elem_size, size_t cap,
                               const double* q, size_t nq, double* out_q, size_t* n_out) {
  if (n_out != nullptr) *n_out = 0;
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(n_out, "n_out");
    if (cap > 0) Require(out, "out");
    CheckElemSize(elem_size, cap);
    // Allocated before the core moves any window out of the queue.
    ScratchPage page(cap);
    size_t n = core->PollWindows(page.data(), cap, q, nq, out_q);
    ToRecords(page.data(), n, out, elem_size);
    *n_out = n;
  });
}

int aggregator_pending_windows(const aggregator* a, uint64_t* pending, uint64_t* dropped) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(pending, "pending");
    Require(dropped, "dropped");
    core->PendingWindows(pending, dropped);
  });
}

int aggregator_memory_usage(const aggregator* a, uint64_t* bytes) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(bytes, "bytes");
    *bytes = core->MemoryUsage();
  });
}

void aggregator_thread_done(void) { windowagg::internal::ThreadDone(); }

int aggregator_key_memory_usage(const aggregator* a, uint64_t key, uint64_t* bytes) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(bytes, "bytes");
    *bytes = core->KeyMemoryUsage(key);
  });
}

int aggregator_serialized_size(const aggregator* a, size_t* size) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(size, "size");
    *size = windowagg::internal::SerializedSize(*core);
  });
}

int aggregator_serialize(const aggregator* a, void* buf, size_t cap, size_t* written) {
  return Guard(__func__, [&] {
    Aggregator* core = Checked(a);
    Require(written, "written");
    *written = 0;
    size_t need = 0;
    bool ok = windowagg::internal::Serialize(*core, static_cast<uint8_t*>(buf), cap, &need);
    *written = need;
    if (!ok) {
      Fail(Status::kBuffer, "the state needs %u bytes, the buffer holds %u; nothing written",
           need, cap);
    }
  });
}

int aggregator_restore(const void* buf, size_t len, uint32_t threading, aggregator** out) {
  if (out != nullptr) *out = nullptr;
  return Guard(__func__, [&] {
    Require(out, "out");
    if (len > 0) Require(buf, "buf");
    if (threading > AGGREGATOR_THREADING_SINGLE) {
      Fail(Status::kInvalidArgument, "threading %u is not a mode (0 = SHARED, 1 = SINGLE)",
           threading);
    }
    *out = Handle(windowagg::internal::Restore(static_cast<const uint8_t*>(buf), len,
                                     threading == AGGREGATOR_THREADING_SHARED));
  });
}

int aggregator_merge(aggregator* dst, const aggregator* src) {
  return Guard(__func__, [&] {
    Aggregator* d = Checked(dst);
    if (src == nullptr) Fail(Status::kInvalidArgument, "src is NULL");
    d->MergeFrom(*Core(src));
  });
}

int aggregator_merge_serialized(aggregator* dst, const void* buf, size_t len) {
  return Guard(__func__, [&] {
    Aggregator* d = Checked(dst);
    if (len > 0) Require(buf, "buf");
    windowagg::internal::MergeSerialized(d, static_cast<const uint8_t*>(buf), len);
  });
}

void aggregator_rolling_options_init(aggregator_rolling_options* opt) {
  if (opt == nullptr) return;
  std::memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->window_kind = AGGREGATOR_WINDOW_COUNT;
  opt->min_periods = -1;
}

int aggregator_rolling(const aggregator_rolling_options* opt, const double* values,
                       const int64_t* timestamps, const uint64_t* keys, size_t len,
                       const aggregator_rolling_output* outputs, size_t n_outputs) {
  return Guard(__func__, [&] {
    Require(opt, "opt");
    aggregator_rolling_options full;
    aggregator_rolling_options_init(&full);
    CopySized(opt, &full, offsetof(aggregator_rolling_options, min_periods),
              Status::kInvalidArgument, "aggregator_rolling_options_init");
    if (full.window_kind != AGGREGATOR_WINDOW_COUNT && full.window_kind != AGGREGATOR_WINDOW_SLIDING) {
      Fail(Status::kInvalidArgument,
           "window_kind %u: rolling windows are AGGREGATOR_WINDOW_COUNT (%d, the last N rows) or "
           "AGGREGATOR_WINDOW_SLIDING (%d, a time span)",
           full.window_kind, AGGREGATOR_WINDOW_COUNT, AGGREGATOR_WINDOW_SLIDING);
    }
    windowagg::internal::RollingSpec spec;
    spec.time = full.window_kind == AGGREGATOR_WINDOW_SLIDING;
    spec.window = full.window;
    spec.min_periods = full.min_periods;
    if (n_outputs > 0) Require(outputs, "outputs");
    // Converted into scratch first (small: one entry per requested column).
    windowagg::internal::ScratchVector<windowagg::internal::RollingOutput> outs(n_outputs);
    for (size_t j = 0; j < n_outputs; ++j) {
      if (outputs[j].reserved != 0) {
        Fail(Status::kInvalidArgument, "outputs[%u].reserved is %u: it must be 0", j,
             outputs[j].reserved);
      }
      outs[j] = {static_cast<windowagg::internal::RollingAggregate>(outputs[j].aggregate), outputs[j].q,
                 outputs[j].out};
    }
    windowagg::internal::Rolling(spec, values, timestamps, keys, len, outs.data(), n_outputs);
  });
}

}  // extern "C"
