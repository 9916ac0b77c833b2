// Format-v1 golden files (tests/golden/*.wagg, made once by make_golden.c):
// a library of any later version must restore them and answer exactly what
// golden.json says (count, min, max, bounds, counters bit-exact; sum, mean,
// variance, stddev to 1e-12 relative; quantiles exact), write them back
// byte-identical, and refuse damaged copies with the right status.
#include <windowagg/windowagg.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

// ---- A minimal JSON reader (objects, arrays, strings, raw number text) ----
struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  std::string text;  // number text or string value
  std::vector<Json> items;
  std::map<std::string, Json> fields;

  const Json& operator[](const std::string& k) const {
    auto it = fields.find(k);
    if (it == fields.end()) throw std::runtime_error("golden.json: missing field " + k);
    return it->second;
  }
  bool has(const std::string& k) const { return fields.count(k) != 0; }
  uint64_t u64() const { return std::stoull(text); }
  int64_t i64() const { return std::stoll(text); }
  double f64() const { return std::strtod(text.c_str(), nullptr); }  // "nan" works too
};

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}
  Json Parse() {
    Json j = Value();
    Ws();
    if (i_ != s_.size()) throw std::runtime_error("golden.json: trailing text");
    return j;
  }

 private:
  void Ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  char Peek() {
    Ws();
    if (i_ >= s_.size()) throw std::runtime_error("golden.json: unexpected end");
    return s_[i_];
  }
  void Expect(char c) {
    if (Peek() != c) throw std::runtime_error(std::string("golden.json: expected ") + c);
    ++i_;
  }
  std::string String() {
    Expect('"');
    std::string out;
    while (s_[i_] != '"') {
      if (s_[i_] == '\\') ++i_;  // the generator never escapes; keep it simple
      out += s_[i_++];
    }
    ++i_;
    return out;
  }
  Json Value() {
    Json j;
    char c = Peek();
    if (c == '{') {
      j.kind = Json::kObject;
      ++i_;
      if (Peek() == '}') { ++i_; return j; }
      for (;;) {
        std::string k = String();
        Expect(':');
        j.fields[k] = Value();
        if (Peek() == ',') { ++i_; continue; }
        Expect('}');
        return j;
      }
    }
    if (c == '[') {
      j.kind = Json::kArray;
      ++i_;
      if (Peek() == ']') { ++i_; return j; }
      for (;;) {
        j.items.push_back(Value());
        if (Peek() == ',') { ++i_; continue; }
        Expect(']');
        return j;
      }
    }
    if (c == '"') {
      j.kind = Json::kString;
      j.text = String();
      return j;
    }
    size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '+' || s_[i_] == '.'))
      ++i_;
    j.text = s_.substr(start, i_ - start);
    j.kind = (j.text == "true" || j.text == "false") ? Json::kBool
             : j.text == "null"                       ? Json::kNull
                                                      : Json::kNumber;
    return j;
  }
  const std::string& s_;
  size_t i_ = 0;
};

std::string Dir() { return WINDOWAGG_GOLDEN_DIR; }

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

const Json& Golden() {
  static const Json j = [] {
    std::vector<uint8_t> raw = ReadFile(Dir() + "/golden.json");
    std::string text(raw.begin(), raw.end());
    return Parser(text).Parse();
  }();
  return j;
}

bool Close(double got, double want) {
  if (std::isnan(want)) return std::isnan(got);
  if (got == want) return true;
  return std::fabs(got - want) <= 1e-12 * std::fabs(want);
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void CheckStats(const aggregator_stats& got, const Json& want) {
  INFO("got " << tu::describe(got));
  CHECK(got.count == want["count"].u64());
  CHECK(SameBits(got.min, want["min"].f64()) == true);
  CHECK(SameBits(got.max, want["max"].f64()) == true);
  CHECK(Close(got.sum, want["sum"].f64()));
  CHECK(Close(got.mean, want["mean"].f64()));
  CHECK(Close(got.variance, want["variance"].f64()));
  CHECK(Close(got.stddev, want["stddev"].f64()));
  CHECK(got.window_start == want["window_start"].i64());
  CHECK(got.window_end == want["window_end"].i64());
  CHECK(got.late == want["late"].u64());
  CHECK(got.rejected == want["rejected"].u64());
  CHECK(got.total == want["total"].u64());
  CHECK(got.watermark == want["watermark"].i64());
}

void CheckQuantiles(const double* got, const Json& want) {
  REQUIRE(want.items.size() == Golden()["q"].items.size());
  for (size_t i = 0; i < want.items.size(); ++i) {
    INFO("q[" << i << "] got " << got[i] << " want " << want.items[i].text);
    CHECK(SameBits(got[i], want.items[i].f64()));
  }
}

std::vector<double> Qs() {
  std::vector<double> q;
  for (const Json& x : Golden()["q"].items) q.push_back(x.f64());
  return q;
}

tu::Handle Restore(const std::vector<uint8_t>& bytes) {
  aggregator* a = nullptr;
  int rc = aggregator_restore(bytes.data(), bytes.size(), AGGREGATOR_THREADING_SHARED, &a);
  INFO("restore: " << tu::last_error());
  REQUIRE(rc == AGGREGATOR_OK);
  return tu::Handle(a);
}

std::vector<uint8_t> Serialize(aggregator* a) {
  size_t size = 0;
  REQUIRE(aggregator_serialized_size(a, &size) == AGGREGATOR_OK);
  std::vector<uint8_t> out(size);
  size_t written = 0;
  REQUIRE(aggregator_serialize(a, out.data(), out.size(), &written) == AGGREGATOR_OK);
  REQUIRE(written == size);
  return out;
}

void PutU64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void FixChecksum(std::vector<uint8_t>& b) {
  PutU64(b, b.size() - 8, aggregator_key_hash(b.data(), b.size() - 8));
}

int RestoreStatus(const std::vector<uint8_t>& b) {
  aggregator* a = reinterpret_cast<aggregator*>(uintptr_t{1});
  int rc = aggregator_restore(b.data(), b.size(), AGGREGATOR_THREADING_SHARED, &a);
  if (rc == AGGREGATOR_OK) aggregator_free(a);
  else CHECK(a == nullptr);
  return rc;
}

}  // namespace

TEST_CASE("golden v1: every committed file is listed and has the v1 header", "[golden]") {
  const Json& g = Golden();
  REQUIRE(g["format_version"].u64() == 1);
  REQUIRE(g["files"].items.size() >= 4);
  for (const Json& f : g["files"].items) {
    std::vector<uint8_t> b = ReadFile(Dir() + "/" + f["file"].text);
    INFO(f["file"].text);
    CHECK(b.size() == f["bytes"].u64());
    REQUIRE(b.size() >= 32);
    CHECK(std::memcmp(b.data(), "WAGG", 4) == 0);
    CHECK(b[4] == 1);
  }
}

TEST_CASE("golden v1: restore answers what golden.json says", "[golden]") {
  std::vector<double> q = Qs();
  for (const Json& f : Golden()["files"].items) {
    SECTION(f["file"].text) {
      tu::Handle h = Restore(ReadFile(Dir() + "/" + f["file"].text));
      const Json& cfg = f["config"];
      aggregator_config c;
      aggregator_config_init(&c);
      REQUIRE(aggregator_get_config(h, &c) == AGGREGATOR_OK);
      CHECK(c.window_kind == cfg["window_kind"].u64());
      CHECK(c.window_size == cfg["window_size"].i64());
      CHECK(c.slide == cfg["slide"].i64());
      CHECK(c.pane_width == cfg["pane_width"].i64());
      CHECK(c.allowed_lateness == cfg["allowed_lateness"].i64());
      CHECK(SameBits(c.relative_accuracy, cfg["relative_accuracy"].f64()));
      CHECK(c.quantiles == cfg["quantiles"].u64());
      CHECK(c.nonfinite_policy == cfg["nonfinite_policy"].u64());
      const bool withq = c.quantiles != 0;

      aggregator_stats st;
      std::vector<double> out(q.size());
      REQUIRE(aggregator_get_stats(h, &st) == AGGREGATOR_OK);
      CheckStats(st, f["all"]["stats"]);
      if (withq) {
        REQUIRE(aggregator_get_quantiles(h, q.data(), q.size(), out.data()) == AGGREGATOR_OK);
        CheckQuantiles(out.data(), f["all"]["q"]);
      } else {
        CHECK(aggregator_get_quantiles(h, q.data(), q.size(), out.data()) ==
              AGGREGATOR_EUNSUPPORTED);
      }

      uint64_t nkeys = 0;
      REQUIRE(aggregator_key_count(h, &nkeys) == AGGREGATOR_OK);
      CHECK(nkeys == f["keys"].items.size());
      for (const Json& k : f["keys"].items) {
        uint64_t key = k["key"].u64();
        INFO("key " << key);
        REQUIRE(aggregator_get_key_stats(h, key, &st) == AGGREGATOR_OK);
        CheckStats(st, k["stats"]);
        uint8_t name[256];
        size_t len = 0;
        REQUIRE(aggregator_key_name(h, key, name, sizeof name, &len) == AGGREGATOR_OK);
        std::string hex;
        char b[3];
        for (size_t i = 0; i < len; ++i) {
          std::snprintf(b, sizeof b, "%02x", name[i]);
          hex += b;
        }
        CHECK(hex == k["name_hex"].text);
        if (!hex.empty()) CHECK(aggregator_key_hash(name, len) == key);
        if (withq) {
          REQUIRE(aggregator_get_key_quantiles(h, key, q.data(), q.size(), out.data()) ==
                  AGGREGATOR_OK);
          CheckQuantiles(out.data(), k["q"]);
        }
      }

      const Json& windows = f["windows"];
      if (c.window_kind == AGGREGATOR_WINDOW_TUMBLING || c.window_kind == AGGREGATOR_WINDOW_HOPPING) {
        uint64_t pending = 0, dropped = 0;
        REQUIRE(aggregator_pending_windows(h, &pending, &dropped) == AGGREGATOR_OK);
        CHECK(pending == windows.items.size());
        for (const Json& w : windows.items) {
          aggregator_window got;
          size_t n = 0;
          REQUIRE(aggregator_poll_windows(h, &got, 1, withq ? q.data() : nullptr,
                                          withq ? q.size() : 0, out.data(), &n) == AGGREGATOR_OK);
          REQUIRE(n == 1);
          CHECK(got.key == w["key"].u64());
          CheckStats(got.stats, w["stats"]);
          if (withq) CheckQuantiles(out.data(), w["q"]);
        }
        size_t n = 9;
        REQUIRE(aggregator_poll_windows(h, nullptr, 0, nullptr, 0, nullptr, &n) == AGGREGATOR_OK);
        CHECK(n == 0);
      } else {
        CHECK(windows.items.empty());
      }
    }
  }
}

TEST_CASE("golden v1: re-serialization is byte-identical", "[golden]") {
  for (const Json& f : Golden()["files"].items) {
    SECTION(f["file"].text) {
      std::vector<uint8_t> b = ReadFile(Dir() + "/" + f["file"].text);
      tu::Handle h = Restore(b);
      CHECK(Serialize(h) == b);
      tu::Handle h2 = Restore(Serialize(h));
      CHECK(Serialize(h2) == b);
    }
  }
}

TEST_CASE("golden v1: damaged copies are refused with the right status", "[golden]") {
  for (const Json& f : Golden()["files"].items) {
    SECTION(f["file"].text) {
      const std::vector<uint8_t> good = ReadFile(Dir() + "/" + f["file"].text);
      REQUIRE(RestoreStatus(good) == AGGREGATOR_OK);

      // Any single flipped byte (checksum not fixed): ECORRUPT.
      for (size_t at : {size_t{0}, size_t{5}, size_t{9}, size_t{20}, size_t{40}, good.size() / 2,
                        good.size() - 9, good.size() - 1}) {
        std::vector<uint8_t> b = good;
        b[at] ^= 0x5A;
        INFO("flip at " << at);
        int rc = RestoreStatus(b);
        // The version field (bytes 4..7) is read before the checksum: a
        // flipped version is an unknown version.
        if (at >= 4 && at < 8) CHECK(rc == AGGREGATOR_EVERSION);
        else CHECK(rc == AGGREGATOR_ECORRUPT);
      }
      // Truncated anywhere: ECORRUPT.
      for (size_t len : {size_t{0}, size_t{1}, size_t{8}, size_t{31}, size_t{32}, good.size() / 2,
                         good.size() - 8, good.size() - 1}) {
        std::vector<uint8_t> b(good.begin(), good.begin() + len);
        INFO("truncated to " << len);
        CHECK(RestoreStatus(b) == (len == 0 ? AGGREGATOR_ECORRUPT : AGGREGATOR_ECORRUPT));
      }
      // Version bumped to 2, checksum fixed: EVERSION.
      {
        std::vector<uint8_t> b = good;
        b[4] = 2;
        FixChecksum(b);
        CHECK(RestoreStatus(b) == AGGREGATOR_EVERSION);
        CHECK(std::string(aggregator_last_error()).find("version") != std::string::npos);
      }
      // One trailing byte (with or without fixing length and checksum): ECORRUPT.
      {
        std::vector<uint8_t> b = good;
        b.push_back(0);
        CHECK(RestoreStatus(b) == AGGREGATOR_ECORRUPT);
        PutU64(b, 8, b.size());
        FixChecksum(b);
        CHECK(RestoreStatus(b) == AGGREGATOR_ECORRUPT);
      }
      // Declared length larger than the input: ECORRUPT.
      {
        std::vector<uint8_t> b = good;
        PutU64(b, 8, uint64_t{1} << 62);
        FixChecksum(b);
        CHECK(RestoreStatus(b) == AGGREGATOR_ECORRUPT);
      }
      // merge_serialized of a damaged copy leaves the target unchanged.
      {
        tu::Handle h = Restore(good);
        std::vector<uint8_t> before = Serialize(h);
        std::vector<uint8_t> b = good;
        b[good.size() / 2] ^= 1;
        CHECK(aggregator_merge_serialized(h, b.data(), b.size()) == AGGREGATOR_ECORRUPT);
        CHECK(Serialize(h) == before);
      }
    }
  }
}
