// Format version 1 (all integers and doubles little-endian):
//
//   header   magic "WAGG" | u32 version | u64 total length | u64 config fingerprint
//   config   u32 kind | i64 window_size | i64 slide | i64 pane_width |
//            i64 allowed_lateness | f64 relative_accuracy | u8 quantiles |
//            u32 nonfinite | u64 max_keys | u32 key_policy | i64 key_ttl |
//            u64 memory_limit | u64 max_pending_windows
//   handle   u8 has_watermark | i64 watermark | u64 clock | u32 timestamp_mode |
//            u64 tick | u64 dropped_windows (legacy: windows dropped from a full
//            queue before issue 12; carried, never increased)
//   series   u64 count, then per series, sorted by key:
//            u64 key | u32 name length | name | u64 late | u64 rejected |
//            u64 total | i64 last_event | u64 last_touch | window
//     COUNT  u64 window total | u64 n | f64 values[n], oldest first
//     panes  i64 closed_below | u32 pane count | per pane: i64 index | moments | sketch
//   queue    u64 count | per closed window: u64 key | stats | sketch
//   trailer  u64 XXH3-64 of every byte before it
//
//   moments  u64 count | f64 sum | f64 comp | f64 mean | f64 m2 | f64 min | f64 max
//   sketch   u64 zero count | store (positive) | store (negative)
//   store    u32 n | n x (i32 bucket index, strictly increasing | u64 count > 0)
//   stats    the aggregator_stats fields in declaration order
//
// Raw panes and windows (issue 14: a pane with few values keeps the values
// themselves, see Sketch) have no format of their own: their sketch is
// written as the bucket counts their values fall into, the bytes a bucket
// sketch of the same values writes. So v1 stays byte-identical (golden
// files, every reader) and a restored pane or window is in bucket form: its
// quantiles are within alpha, no longer exact. (A v2 storing raw values
// would keep exactness across restore; it needs a v1 reader in every
// binding and doubles the restore paths, for windows that are at most one
// window length old.)
//
// Restore parses everything twice: once to validate every length, count and
// invariant without allocating, once to build. Series are written sorted by
// key and stores as their non-zero buckets, so restoring and writing again
// gives the same bytes.
#include "state/state.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/error.h"
#include "core/key_hash.h"
#include "core/time_math.h"
#include "core/wire.h"

namespace windowagg::internal {

namespace {
constexpr char kMagic[4] = {'W', 'A', 'G', 'G'};
// The version this library writes. Readers: kReaders, below.
constexpr uint32_t kWriteVersion = 1;
constexpr size_t kHeaderSize = 4 + 4 + 8 + 8;
constexpr size_t kTrailerSize = 8;

void WriteConfig(WireSink& s, const Config& c) {
  s.U32(static_cast<uint32_t>(c.kind));
  s.I64(c.window_size);
  s.I64(c.slide);
  s.I64(c.pane_width);
  s.I64(c.allowed_lateness);
  s.F64(c.relative_accuracy);
  s.U8(c.quantiles ? 1 : 0);
  s.U32(static_cast<uint32_t>(c.nonfinite));
  s.U64(c.max_keys);
  s.U32(static_cast<uint32_t>(c.key_policy));
  s.I64(c.key_ttl);
  s.U64(c.memory_limit);
  s.U64(c.max_pending_windows);
}

uint64_t Fingerprint(const Config& c) {
  uint8_t buf[128];
  WireSink s(buf, sizeof buf);
  WriteConfig(s, c);
  return XXH3_64bits(buf, s.size());
}

void WriteStats(WireSink& s, const Stats& st) {
  s.U64(st.count);
  s.F64(st.sum);
  s.F64(st.mean);
  s.F64(st.min);
  s.F64(st.max);
  s.F64(st.variance);
  s.F64(st.stddev);
  s.I64(st.window_start);
  s.I64(st.window_end);
  s.U64(st.late);
  s.U64(st.rejected);
  s.U64(st.total);
  s.I64(st.watermark);
}


Stats ReadStats(WireSource& in) {
  Stats st;
  st.count = in.U64("window count");
  st.sum = in.F64("window sum");
  st.mean = in.F64("window mean");
  st.min = in.F64("window min");
  st.max = in.F64("window max");
  st.variance = in.F64("window variance");
  st.stddev = in.F64("window stddev");
  st.window_start = in.I64("window start");
  st.window_end = in.I64("window end");
  st.late = in.U64("window late");
  st.rejected = in.U64("window rejected");
  st.total = in.U64("window total");
  st.watermark = in.I64("window watermark");
  if (st.count == 0 || !std::isfinite(st.min) || !std::isfinite(st.max) || st.min > st.max ||
      !std::isfinite(st.mean)) {
    Fail(Status::kCorrupt, "a queued window has invalid stats (count %u, min %g, max %g)",
         st.count, st.min, st.max);
  }
  const char* what = "queued window stats";
  if (!SumPossible(st.sum, st.count, st.min, st.max)) {
    Fail(Status::kCorrupt, "%s: sum %g of %u values is impossible for values in [min %g, max %g]",
         what, st.sum, st.count, st.min, st.max);
  }
  // A window's reported mean is clamped to [min, max] when it is made
  // (MakeStats), so a queued one outside it, by any rounding, never arose.
  if (!(st.mean >= st.min && st.mean <= st.max)) {
    Fail(Status::kCorrupt, "%s: mean %g is outside [min %g, max %g]", what, st.mean, st.min,
         st.max);
  }
  if (st.count < 2) {
    if (!std::isnan(st.variance)) {
      Fail(Status::kCorrupt, "%s: variance %g of a single value (must be NaN)", what, st.variance);
    }
  } else {
    CheckSpread(st.variance, st.count, st.min, st.max,
                1.0L / static_cast<long double>(st.count - 1), what, "variance");
  }
  const double sd = std::sqrt(st.variance);
  if (std::bit_cast<uint64_t>(sd) != std::bit_cast<uint64_t>(st.stddev) &&
      !(std::isnan(sd) && std::isnan(st.stddev))) {
    Fail(Status::kCorrupt, "%s: stddev %g is not the square root of variance %g", what,
         st.stddev, st.variance);
  }
  if (st.total < st.count) {
    Fail(Status::kCorrupt, "%s: the series had accepted %u values, the window holds %u", what,
         st.total, st.count);
  }
  return st;
}


// A queued window is one the geometry has: [k*S, k*S + D) clamped to the
// int64 range, closed at its end plus the lateness (saturating).
void CheckWindowBounds(const Stats& st, const Config& c, uint64_t i) {
  const Wide start = st.window_start, end = st.window_end;
  const bool clamped = st.window_start == kTimeMin || st.window_end == kTimeMax;
  if (start > end || end - start > c.window_size ||
      (!clamped && (end - start != c.window_size || FloorDiv(start, c.slide) * c.slide != start))) {
    Fail(Status::kCorrupt, "queued window %u: [%d, %d) is not a window of this geometry", i,
         st.window_start, st.window_end);
  }
  // (This library records end + lateness; older ones recorded the
  // watermark at emission, which is at least that: golden files have it.)
  if (st.watermark < Saturate(end + c.allowed_lateness)) {
    Fail(Status::kCorrupt, "queued window %u: closed at watermark %d, before its end %d plus "
         "the lateness %d", i, st.watermark, st.window_end, c.allowed_lateness);
  }
}

}  // namespace

// ---- Writing (the newest version only) ----------------------------------------

namespace {

// The state of one export view; the sizing pass and the writing pass call
// it with the same view, so they agree.
void WriteState(const Config& config, const Aggregator::StateView& v, WireSink& s) {
  s.Bytes(kMagic, 4);
  s.U32(kWriteVersion);
  size_t length_at = s.size();
  s.U64(0);  // total length, patched below
  s.U64(Fingerprint(config));
  WriteConfig(s, config);
  const Aggregator::StateFields& h = v.fields;
  s.U8(h.has_watermark ? 1 : 0);
  s.I64(h.watermark);
  s.U64(h.clock);
  s.U32(h.timestamp_mode);
  s.U64(h.tick);
  s.U64(h.dropped_windows);
  s.U64(v.series.size());
  for (const Series* x : v.series) {
    s.U64(x->key);
    std::string_view name = x->name();
    s.U32(static_cast<uint32_t>(name.size()));
    s.Bytes(name.data(), name.size());
    s.U64(x->late);
    s.U64(x->rejected);
    s.U64(x->total);
    s.I64(x->total ? x->last_event : 0);
    s.U64(x->last_touch);
    x->window.Write(s);
  }
  s.U64(v.queue->size());
  for (const ClosedWindow& w : *v.queue) {
    s.U64(w.key);
    WriteStats(s, w.stats);
    w.sketch.Write(s);
  }
  size_t total = s.size() + kTrailerSize;
  if (s.data() != nullptr && !s.overflowed()) {
    uint8_t* base = const_cast<uint8_t*>(s.data());
    for (size_t i = 0; i < 8; ++i) base[length_at + i] = static_cast<uint8_t>(total >> (8 * i));
    s.U64(XXH3_64bits(base, s.size()));
  } else {
    s.U64(0);
  }
}

// Sizes, then (if `fill` says where, given the size) writes the state, in
// one export view. Returns the size; *written is what was written into the
// buffer fill returned (0 when it returned null).
template <class Fill>
size_t SerializeWith(Aggregator& a, Fill&& fill, size_t* written) {
  size_t need = 0;
  *written = 0;
  a.ExportState([&](const Aggregator::StateView& v) {
    WireSink counter;
    WriteState(a.config(), v, counter);
    need = counter.size();
    auto [buf, cap] = fill(need);
    if (buf == nullptr) return;
    WireSink out(buf, cap);
    WriteState(a.config(), v, out);
    if (out.overflowed() || out.size() != need) {
      // Cannot happen while the locks exclude every change; were it to,
      // nothing past cap was written and the caller hears of it.
      Fail(out.overflowed() ? Status::kBuffer : Status::kInternal,
           "the state changed while it was written (%u bytes counted, %u to write, buffer %u)",
           need, out.size(), cap);
    }
    *written = out.size();
  });
  return need;
}

}  // namespace

size_t SerializedSize(Aggregator& a) {
  size_t written;
  return SerializeWith(
      a, [](size_t) { return std::pair<uint8_t*, size_t>{nullptr, 0}; }, &written);
}

bool Serialize(Aggregator& a, uint8_t* buf, size_t cap, size_t* size) {
  size_t written = 0;
  bool fits = false;
  *size = SerializeWith(
      a,
      [&](size_t need) {
        fits = buf != nullptr && need <= cap;
        return std::pair<uint8_t*, size_t>{fits ? buf : nullptr, cap};
      },
      &written);
  return fits;
}

// ---- Reading: one reader per format version ------------------------------------

namespace {

// What validating a state yields: enough to build it, or to refuse it
// before anything is built.
struct Parsed {
  uint32_t version = 0;
  Config config;
  Aggregator::StateFields handle;
  size_t body_offset = 0;  // where the version's body starts
};

// ---- Version 1 -----------------------------------------------------------------

namespace v1 {

// After magic and version: length, checksum, configuration.
Config ReadHeader(WireSource& in, const uint8_t* buf, size_t len) {
  uint64_t declared = in.U64("total length");
  if (declared > len) {
    Fail(Status::kCorrupt, "declared size %u is larger than the %u bytes given (truncated?)",
         declared, len);
  }
  if (declared < len) {
    Fail(Status::kCorrupt, "%u trailing bytes after the state's declared %u bytes",
         len - declared, declared);
  }
  uint64_t stored_sum = 0;
  for (size_t i = 0; i < 8; ++i) stored_sum |= uint64_t{buf[len - 8 + i]} << (8 * i);
  if (XXH3_64bits(buf, len - kTrailerSize) != stored_sum) {
    Fail(Status::kCorrupt, "checksum mismatch: the state was altered or damaged");
  }
  uint64_t fingerprint = in.U64("config fingerprint");
  Config c;
  c.kind = static_cast<WindowKind>(in.U32("window_kind"));
  c.window_size = in.I64("window_size");
  c.slide = in.I64("slide");
  c.pane_width = in.I64("pane_width");
  c.allowed_lateness = in.I64("allowed_lateness");
  c.relative_accuracy = in.F64("relative_accuracy");
  uint8_t q = in.U8("quantiles");
  if (q > 1) Fail(Status::kCorrupt, "quantiles flag is %u", q);
  c.quantiles = q == 1;
  c.nonfinite = static_cast<NonFinitePolicy>(in.U32("nonfinite_policy"));
  c.max_keys = in.U64("max_keys");
  c.key_policy = static_cast<KeyPolicy>(in.U32("key_policy"));
  c.key_ttl = in.I64("key_ttl");
  c.memory_limit = in.U64("memory_limit");
  c.max_pending_windows = in.U64("max_pending_windows");
  if (Fingerprint(c) != fingerprint) {
    Fail(Status::kCorrupt, "the configuration fingerprint does not match the configuration");
  }
  Config checked = c;
  try {
    ValidateConfig(&checked);
  } catch (const Error& e) {
    Fail(Status::kCorrupt, "stored configuration is invalid: %s", e.what());
  }
  if (checked.slide != c.slide || checked.pane_width != c.pane_width) {
    Fail(Status::kCorrupt, "stored configuration is not in resolved form");
  }
  return c;
}

Aggregator::StateFields ReadHandle(WireSource& in) {
  Aggregator::StateFields h;
  uint8_t has = in.U8("has_watermark");
  if (has > 1) Fail(Status::kCorrupt, "has_watermark flag is %u", has);
  h.has_watermark = has == 1;
  h.watermark = in.I64("watermark");
  h.clock = in.U64("clock");
  h.timestamp_mode = in.U32("timestamp mode");
  if (h.timestamp_mode > 2) {
    Fail(Status::kCorrupt, "timestamp mode %u is unknown", h.timestamp_mode);
  }
  h.tick = in.U64("tick");
  h.dropped_windows = in.U64("dropped windows");
  if (!h.has_watermark && h.watermark != 0) {
    Fail(Status::kCorrupt, "watermark %d is stored but has_watermark is 0", h.watermark);
  }
  return h;
}

// One pass over the body. With `target` null it only validates; otherwise
// it builds into target, an empty private handle.
void ReadBody(WireSource& in, const Config& c, const Aggregator::StateFields& h,
              Aggregator* target) {
  const SketchMapping map(c.relative_accuracy);
  const PaneGeometry geometry = PaneWindow::GeometryFor(c);
  const WindowShape shape{c.kind, static_cast<uint64_t>(c.window_size), &geometry, c.quantiles};
  const int64_t* watermark = h.has_watermark ? &h.watermark : nullptr;
  uint64_t nseries = in.U64("series count");
  // Each series takes at least 52 bytes: bounds the count before use.
  if (nseries > in.remaining() / 52) {
    Fail(Status::kCorrupt, "series count %u is larger than the input can hold", nseries);
  }
  uint64_t prev_key = 0;
  uint64_t live = 0;
  uint64_t held_all = 0;  // values held by every window: a read merges them
  for (uint64_t i = 0; i < nseries; ++i) {
    uint64_t key = in.U64("series key");
    if (i > 0 && key <= prev_key) {
      Fail(Status::kCorrupt, "series keys are not strictly increasing at series %u", i);
    }
    prev_key = key;
    uint32_t name_len = in.U32("name length");
    const uint8_t* name = in.Bytes(name_len, "series name");
    uint64_t late = in.U64("late"), rejected = in.U64("rejected"), total = in.U64("total");
    int64_t last_event = in.I64("last_event");
    uint64_t last_touch = in.U64("last_touch");
    // A named series lives under its name's hash (KeyHash, as a push
    // computes it); the overflow series has no name.
    if (name_len > 0 && (key == kOverflowKey || KeyHash(name, name_len) != key)) {
      Fail(Status::kCorrupt, "series %u: key %u is not the hash of its %u-byte name", i, key,
           name_len);
    }
    if (key != kOverflowKey) ++live;
    if (total == 0 && last_event != 0) {
      Fail(Status::kCorrupt, "series %u: last_event %d but no value was accepted", i,
           last_event);
    }
    if (total > 0 && (!h.has_watermark || h.timestamp_mode == 0)) {
      Fail(Status::kCorrupt,
           "series %u: total %u values accepted, but the handle has %s", i, total,
           h.has_watermark ? "no timestamp mode" : "no watermark");
    }
    Series* s = nullptr;
    if (target != nullptr) {
      s = target->RestoreSeries({key, {reinterpret_cast<const char*>(name), name_len}, late, rejected, total,
                   last_event, last_touch});
    }
    // The window, in the form of the handle's kind (window.h).
    const Window::StoredView w = Window::Validate(in, shape, map, watermark);
    const uint64_t held = Window::Held(w);
    if (s != nullptr) s->window.Load(w, target->mapping(), s->scope);
    if (total < held) {
      Fail(Status::kCorrupt, "series %u: total %u accepted values, but its window holds %u", i,
           total, held);
    }
    if (__builtin_add_overflow(held_all, held, &held_all)) {
      Fail(Status::kCorrupt, "series %u: the windows hold more than 2^64 values in all", i);
    }
  }
  if (c.max_keys != 0 && live > c.max_keys) {
    Fail(Status::kCorrupt, "%u live series, above the configuration's max_keys = %u", live,
         c.max_keys);
  }
  uint64_t nqueue = in.U64("queued window count");
  if (nqueue > in.remaining() / 120) {
    Fail(Status::kCorrupt, "queued window count %u is larger than the input can hold", nqueue);
  }
  if (nqueue > 0 && !Window::Emits(shape)) {
    Fail(Status::kCorrupt, "%u queued windows, but only TUMBLING and HOPPING handles close windows",
         nqueue);
  }
  // No bound by max_pending_windows: serialization closes every due
  // window into the queue, so a state may legitimately hold more.
  for (uint64_t i = 0; i < nqueue; ++i) {
    uint64_t key = in.U64("queued window key");
    Stats st = ReadStats(in);
    CheckWindowBounds(st, c, i);
    SketchView sv = Sketch::Validate(in, map, "queued window sketch");
    if (c.quantiles ? sv.total != st.count : sv.total != 0) {
      Fail(Status::kCorrupt, "queued window %u: sketch holds %u values, stats say %u", i,
           sv.total, st.count);
    }
    if (c.quantiles) sv.CheckRange(st.min, st.max, map, "queued window sketch");
    if (target != nullptr) target->RestoreClosedWindow(key, st, sv);
  }
}

// Everything after the version field; allocates nothing but the key list.
void Validate(WireSource& in, const uint8_t* buf, size_t len, Parsed* p) {
  p->config = ReadHeader(in, buf, len);
  p->handle = ReadHandle(in);
  p->body_offset = in.position();
  ReadBody(in, p->config, p->handle, nullptr);
  if (in.remaining() != kTrailerSize) {
    Fail(Status::kCorrupt, "%u unexpected bytes before the checksum", in.remaining() - kTrailerSize);
  }
}

// Validated bytes into an empty handle with p's configuration.
void Build(const Parsed& p, const uint8_t* buf, size_t len, Aggregator* target) {
  target->RestoreFields(p.handle);
  WireSource in(buf + p.body_offset, len - p.body_offset);
  ReadBody(in, p.config, p.handle, target);
}

}  // namespace v1

// The readers, one per version this library reads. Every version starts
// with the magic and a u32 version; the rest is the version's. A new format
// version adds its reader here (and keeps every older one: golden files of
// each version stay readable, see the top of this file).
struct FormatReader {
  uint32_t version;
  void (*validate)(WireSource& in, const uint8_t* buf, size_t len, Parsed* p);
  void (*build)(const Parsed& p, const uint8_t* buf, size_t len, Aggregator* target);
};
constexpr FormatReader kReaders[] = {
    {1, &v1::Validate, &v1::Build},
};

const FormatReader& ReaderFor(uint32_t version) {
  for (const FormatReader& r : kReaders) {
    if (r.version == version) return r;
  }
  std::vector<uint32_t> known;
  for (const FormatReader& r : kReaders) known.push_back(r.version);
  Fail(Status::kVersion, "format version %u is not supported (this library reads version%s %s)",
       version, known.size() > 1 ? "s" : "", absl::StrJoin(known, ", "));
}

Parsed Validate(const uint8_t* buf, size_t len) {
  if (buf == nullptr && len > 0) Fail(Status::kInvalidArgument, "buf is NULL");
  if (len < kHeaderSize + kTrailerSize) {
    Fail(Status::kCorrupt, "%u bytes is too short for serialized state (at least %u)", len,
         kHeaderSize + kTrailerSize);
  }
  WireSource in(buf, len);
  const uint8_t* magic = in.Bytes(4, "magic");
  if (std::memcmp(magic, kMagic, 4) != 0) {
    Fail(Status::kCorrupt, "not windowagg state: the magic number is wrong");
  }
  Parsed p;
  p.version = in.U32("format version");
  ReaderFor(p.version).validate(in, buf, len, &p);
  return p;
}

// A new private handle from validated bytes.
Aggregator* Build(const Parsed& p, const uint8_t* buf, size_t len, bool thread_safe) {
  Config c = p.config;
  c.thread_safe = thread_safe;
  std::unique_ptr<Aggregator, void (*)(Aggregator*)> a(Aggregator::Create(c),
                                                      &Aggregator::Destroy);
  ReaderFor(p.version).build(p, buf, len, a.get());
  return a.release();
}

}  // namespace

Aggregator* Restore(const uint8_t* buf, size_t len, bool thread_safe) {
  Parsed p = Validate(buf, len);
  return Build(p, buf, len, thread_safe);
}

void MergeSerialized(Aggregator* dst, const uint8_t* buf, size_t len) {
  Parsed p = Validate(buf, len);
  dst->CheckMergeable(p.config);  // before anything is built
  // The state as a private handle first: building it can fail without
  // touching dst; the merge (policy, then two phases) is the core's.
  std::unique_ptr<Aggregator, void (*)(Aggregator*)> src(Build(p, buf, len, false),
                                                      &Aggregator::Destroy);
  dst->MergeFrom(*src);
}

}  // namespace windowagg::internal
