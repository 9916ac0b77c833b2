// The byte primitives of serialized state (src/state/state.cc has the
// layout): little-endian fixed-width fields written to a bounds-checked
// sink, read from a bounds-checked source. Every component that serializes
// itself (Moments, Sketch, CountWindow, PaneWindow: see their "Serialized
// form" sections) writes and reads through these two classes, so there is
// one encoding of an integer or a double in the whole library.
#ifndef WINDOWAGG_CORE_WIRE_H_
#define WINDOWAGG_CORE_WIRE_H_

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace windowagg::internal {

// Appends little-endian fields; counts only when `out` is null. Writing is
// bounds-checked: a field that would pass `cap` is not written, the sink
// stops writing and records the overflow (it keeps counting, so size() is
// then the size the whole state needs). Whatever the caller's view of the
// state, no byte past buf[cap) is ever written.
class WireSink {
 public:
  WireSink() = default;  // counting only
  WireSink(uint8_t* out, size_t cap) : out_(out), cap_(cap) {}
  size_t size() const { return n_; }
  const uint8_t* data() const { return out_; }
  bool overflowed() const { return overflowed_; }

  void Bytes(const void* p, size_t len) {
    if (out_ != nullptr && !overflowed_) {
      if (len > cap_ - n_) {
        overflowed_ = true;
      } else if (len != 0) {
        std::memcpy(out_ + n_, p, len);
      }
    }
    n_ += len;
  }
  void U8(uint8_t v) { Bytes(&v, 1); }
  void U32(uint32_t v) { Le(v); }
  void U64(uint64_t v) { Le(v); }
  void I32(int32_t v) { Le(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { Le(static_cast<uint64_t>(v)); }
  void F64(double v) { Le(std::bit_cast<uint64_t>(v)); }

 private:
  template <class U>
  void Le(U v) {
    uint8_t b[sizeof(U)];
    for (size_t i = 0; i < sizeof(U); ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    Bytes(b, sizeof(U));
  }
  uint8_t* out_ = nullptr;
  size_t cap_ = 0;
  size_t n_ = 0;
  bool overflowed_ = false;
};

// Bounds-checked little-endian reads. Every failure throws
// Error(kCorrupt) naming the field (`what`) that was being read.
class WireSource {
 public:
  WireSource(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  size_t remaining() const { return n_ - pos_; }
  size_t position() const { return pos_; }

  const uint8_t* Bytes(size_t len, const char* what) {
    if (len > remaining()) {
      Fail(Status::kCorrupt, "truncated state: %s needs %u bytes at offset %u, %u remain", what,
           len, pos_, remaining());
    }
    const uint8_t* p = p_ + pos_;
    pos_ += len;
    return p;
  }
  uint8_t U8(const char* what) { return Bytes(1, what)[0]; }
  uint32_t U32(const char* what) { return Le<uint32_t>(what); }
  uint64_t U64(const char* what) { return Le<uint64_t>(what); }
  int32_t I32(const char* what) { return static_cast<int32_t>(Le<uint32_t>(what)); }
  int64_t I64(const char* what) { return static_cast<int64_t>(Le<uint64_t>(what)); }
  double F64(const char* what) { return std::bit_cast<double>(Le<uint64_t>(what)); }
  double Finite(const char* what) {
    double v = F64(what);
    if (!std::isfinite(v)) Fail(Status::kCorrupt, "%s is not finite (%g)", what, v);
    return v;
  }

 private:
  template <class U>
  U Le(const char* what) {
    const uint8_t* b = Bytes(sizeof(U), what);
    U v = 0;
    for (size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(b[i]) << (8 * i);
    return v;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

}  // namespace windowagg::internal

#endif  // WINDOWAGG_CORE_WIRE_H_
