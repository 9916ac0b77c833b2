// Keyed streams: uint64 and byte-string keys, names, listing and paging,
// removal, duplicate keys inside one batch, very long and empty names.
#include <map>
#include <set>

#include "test_util.hpp"

using tu::Handle;

namespace {

struct Named {
  std::string bytes;
  std::vector<uint32_t> off;
  explicit Named(uint32_t first = 0) : bytes(first, '#') { off.push_back(first); }
  void add(const std::string& name) {
    bytes += name;
    off.push_back((uint32_t)bytes.size());
  }
  const uint8_t* data() const { return (const uint8_t*)bytes.data(); }
};

uint64_t hash_of(const std::string& s) { return aggregator_key_hash(s.data(), s.size()); }

std::string key_name(aggregator* a, uint64_t k) {
  size_t len = 0;
  int rc = aggregator_key_name(a, k, nullptr, 0, &len);
  if (rc == AGGREGATOR_OK) {
    REQUIRE(len == 0);
    return std::string();
  }
  REQUIRE(rc == AGGREGATOR_EBUFFER);
  std::vector<uint8_t> buf(len);
  size_t len2 = 0;
  REQUIRE(aggregator_key_name(a, k, buf.data(), buf.size(), &len2) == AGGREGATOR_OK);
  REQUIRE(len2 == len);
  return std::string((const char*)buf.data(), len);
}

}  // namespace

TEST_CASE("keys: aggregator_key_hash is XXH3_64bits with seed 0", "[keys]") {
  // Test vectors of XXH3_64bits (xxHash 0.8), seed 0.
  CHECK(aggregator_key_hash("", 0) == 0x2D06800538D394C2ull);
  CHECK(aggregator_key_hash(nullptr, 0) == 0x2D06800538D394C2ull);
  CHECK(aggregator_key_hash("a", 1) == 0xE6C632B61E964E1Full);
  CHECK(aggregator_key_hash("hello world", 11) == 0xD447B1EA40E6988Bull);
}

TEST_CASE("keys: duplicate keys inside one batch", "[keys]") {
  aggregator_config c = tu::default_config();
  c.window_size = 100;
  Handle h = tu::make(c);
  double v[] = {1, 2, 3, 4, 5, 6};
  uint64_t k[] = {7, 9, 7, 7, 9, 11};
  REQUIRE(aggregator_push(h, v, nullptr, k, 6) == AGGREGATOR_OK);
  aggregator_stats s7 = tu::get_key_stats(h, 7);
  CHECK(s7.count == 3);
  CHECK(s7.sum == 8);
  CHECK(s7.min == 1);
  CHECK(s7.max == 4);
  CHECK(s7.total == 3);
  aggregator_stats s9 = tu::get_key_stats(h, 9);
  CHECK(s9.count == 2);
  CHECK(s9.sum == 7);
  aggregator_stats s11 = tu::get_key_stats(h, 11);
  CHECK(s11.count == 1);
  CHECK(std::isnan(s11.variance));
  uint64_t n = 0;
  REQUIRE(aggregator_key_count(h, &n) == AGGREGATOR_OK);
  CHECK(n == 3);
  aggregator_stats all = tu::get_stats(h);
  CHECK(all.count == 6);
  CHECK(all.sum == 21);
  CHECK(all.total == 6);
  CHECK(aggregator_get_key_stats(h, 8, &all) == AGGREGATOR_ENOTFOUND);

  // Count windows are per series: window 2 keeps the last 2 of each key.
  c.window_size = 2;
  Handle h2 = tu::make(c);
  REQUIRE(aggregator_push(h2, v, nullptr, k, 6) == AGGREGATOR_OK);
  s7 = tu::get_key_stats(h2, 7);
  CHECK(s7.count == 2);
  CHECK(s7.sum == 7);
  CHECK(s7.window_start == 1);
  CHECK(s7.window_end == 3);
  CHECK(s7.watermark == 3);
  CHECK(s7.total == 3);
}

TEST_CASE("keys: byte keys, empty and 100 KB names, duplicates in one batch", "[keys]") {
  aggregator_config c = tu::default_config();
  c.window_size = 1000;
  Handle h = tu::make(c);
  std::string empty;
  std::string longname(100 * 1024, 'L');
  for (size_t i = 0; i < longname.size(); ++i) longname[i] = (char)('a' + (i * 7919) % 26);
  longname[5000] = '\0';  // names are bytes, not C strings
  std::string bin("\x00\x01\xff", 3);
  std::string plain = "api/v1/users";

  Named nm(3);  // key_offsets[0] need not be 0
  std::vector<double> v;
  std::vector<std::string> order = {plain, longname, empty, plain, bin, longname, empty, plain};
  for (size_t i = 0; i < order.size(); ++i) {
    nm.add(order[i]);
    v.push_back((double)(i + 1));
  }
  REQUIRE(aggregator_push_named(h, v.data(), nullptr, nm.data(), nm.off.data(), v.size()) ==
          AGGREGATOR_OK);

  std::map<std::string, std::pair<int, double>> want;  // name -> (count, sum)
  for (size_t i = 0; i < order.size(); ++i) {
    want[order[i]].first++;
    want[order[i]].second += v[i];
  }
  for (auto& kv : want) {
    aggregator_stats s = tu::get_key_stats(h, hash_of(kv.first));
    CHECK(s.count == (uint64_t)kv.second.first);
    CHECK(s.sum == kv.second.second);
    CHECK(key_name(h, hash_of(kv.first)) == kv.first);
  }
  uint64_t n = 0;
  REQUIRE(aggregator_key_count(h, &n) == AGGREGATOR_OK);
  CHECK(n == 4);

  SECTION("aggregator_key_name: EBUFFER writes nothing and reports the length") {
    std::vector<uint8_t> buf(100, 0xEE);
    size_t len = 0;
    CHECK(aggregator_key_name(h, hash_of(longname), buf.data(), buf.size(), &len) ==
          AGGREGATOR_EBUFFER);
    CHECK(len == longname.size());
    CHECK(std::all_of(buf.begin(), buf.end(), [](uint8_t b) { return b == 0xEE; }));
    len = 99;
    CHECK(aggregator_key_name(h, hash_of(plain), buf.data(), plain.size(), &len) == AGGREGATOR_OK);
    CHECK(len == plain.size());
    CHECK(std::string((const char*)buf.data(), len) == plain);
    len = 99;
    CHECK(aggregator_key_name(h, hash_of(plain), buf.data(), plain.size() - 1, &len) ==
          AGGREGATOR_EBUFFER);
    CHECK(len == plain.size());
  }

  SECTION("aggregator_list_keys with names: small name buffers page early or EBUFFER") {
    std::set<uint64_t> seen;
    aggregator_cursor cur;
    std::memset(&cur, 0, sizeof cur);
    uint64_t keys[2];
    uint32_t offs[3];
    std::vector<uint8_t> small(64);
    std::vector<uint8_t> big(200 * 1024);
    bool saw_ebuffer = false;
    for (int guard = 0; !cur.done; ++guard) {
      REQUIRE(guard < 100);
      size_t got = 0;
      int rc = aggregator_list_keys(h, &cur, keys, 2, small.data(), small.size(), offs, &got);
      if (rc == AGGREGATOR_EBUFFER) {
        saw_ebuffer = true;
        rc = aggregator_list_keys(h, &cur, keys, 2, big.data(), big.size(), offs, &got);
        REQUIRE(rc == AGGREGATOR_OK);
        REQUIRE(got >= 1);
        for (size_t i = 0; i < got; ++i) {
          CHECK(seen.insert(keys[i]).second);
          std::string name((const char*)big.data() + offs[i], offs[i + 1] - offs[i]);
          CHECK(hash_of(name) == keys[i]);
        }
        continue;
      }
      INFO(tu::last_error());
      REQUIRE(rc == AGGREGATOR_OK);
      if (!cur.done) REQUIRE(got >= 1);
      for (size_t i = 0; i < got; ++i) {
        CHECK(seen.insert(keys[i]).second);
        REQUIRE(offs[i + 1] <= small.size());
        std::string name((const char*)small.data() + offs[i], offs[i + 1] - offs[i]);
        CHECK(hash_of(name) == keys[i]);
        CHECK(name.size() < 1000);
      }
    }
    CHECK(saw_ebuffer);
    CHECK(seen.size() == 4);
    CHECK(seen.count(hash_of(longname)) == 1);
  }

  SECTION("aggregator_list_keys without names") {
    std::set<uint64_t> seen;
    aggregator_cursor cur;
    std::memset(&cur, 0, sizeof cur);
    uint64_t keys[1];
    for (int guard = 0; !cur.done; ++guard) {
      REQUIRE(guard < 100);
      size_t got = 0;
      REQUIRE(aggregator_list_keys(h, &cur, keys, 1, nullptr, 0, nullptr, &got) == AGGREGATOR_OK);
      REQUIRE(got <= 1);
      for (size_t i = 0; i < got; ++i) CHECK(seen.insert(keys[i]).second);
    }
    CHECK(seen.size() == 4);
  }

  SECTION("remove a byte key") {
    REQUIRE(aggregator_remove_key(h, hash_of(longname)) == AGGREGATOR_OK);
    aggregator_stats s;
    CHECK(aggregator_get_key_stats(h, hash_of(longname), &s) == AGGREGATOR_ENOTFOUND);
    size_t len = 0;
    CHECK(aggregator_key_name(h, hash_of(longname), nullptr, 0, &len) == AGGREGATOR_ENOTFOUND);
    CHECK(aggregator_remove_key(h, hash_of(longname)) == AGGREGATOR_ENOTFOUND);
  }
}

TEST_CASE("keys: numeric keys have empty names", "[keys]") {
  Handle h = tu::make(tu::default_config());
  double v[] = {1, 2};
  uint64_t k[] = {42, AGGREGATOR_DEFAULT_KEY};
  REQUIRE(aggregator_push(h, v, nullptr, k, 2) == AGGREGATOR_OK);
  uint8_t buf[8];
  size_t len = 99;
  CHECK(aggregator_key_name(h, 42, buf, sizeof buf, &len) == AGGREGATOR_OK);
  CHECK(len == 0);
  len = 99;
  CHECK(aggregator_key_name(h, 0, buf, 0, &len) == AGGREGATOR_OK);
  CHECK(len == 0);
  CHECK(aggregator_key_name(h, 43, buf, sizeof buf, &len) == AGGREGATOR_ENOTFOUND);
}

TEST_CASE("keys: list_stats paging returns every key exactly once", "[keys]") {
  aggregator_config c = tu::default_config();
  c.window_size = 16;
  Handle h = tu::make(c);
  std::mt19937_64 rng(5);
  std::map<uint64_t, std::pair<uint64_t, double>> want;  // key -> (total, sum of last 16)
  std::map<uint64_t, std::vector<double>> hist;
  const int nkeys = 1000;
  for (int b = 0; b < 50; ++b) {
    std::vector<double> v(400);
    std::vector<uint64_t> k(400);
    for (size_t i = 0; i < v.size(); ++i) {
      k[i] = tu::mix64(rng() % nkeys);
      v[i] = (double)(rng() % 1000);
      hist[k[i]].push_back(v[i]);
    }
    REQUIRE(aggregator_push(h, v.data(), nullptr, k.data(), v.size()) == AGGREGATOR_OK);
  }
  for (size_t cap : {1, 2, 3, 7, 64, 5000}) {
    DYNAMIC_SECTION("cap " << cap) {
      std::map<uint64_t, int> seen;
      aggregator_cursor cur;
      std::memset(&cur, 0, sizeof cur);
      std::vector<aggregator_key_stats> page(cap);
      const double q[] = {0.0, 0.5, 1.0};
      std::vector<double> qo(cap * 3);
      for (int guard = 0; !cur.done; ++guard) {
        REQUIRE(guard < 100000);
        size_t n = 0;
        REQUIRE(aggregator_list_stats(h, &cur, page.data(), cap, q, 3, qo.data(), &n) ==
                AGGREGATOR_OK);
        REQUIRE(n <= cap);
        for (size_t i = 0; i < n; ++i) {
          uint64_t key = page[i].key;
          ++seen[key];
          REQUIRE(hist.count(key));
          const auto& hv = hist[key];
          std::vector<double> w(hv.end() - std::min<size_t>(hv.size(), 16), hv.end());
          ref::Stats rs;
          rs.s = ref::summarize(w);
          rs.total = hv.size();
          rs.window_start = (int64_t)(hv.size() - w.size());
          rs.window_end = (int64_t)hv.size();
          rs.watermark = (int64_t)hv.size();
          std::string e = tu::compare_stats(page[i].stats, rs);
          CHECK(e == "");
          std::sort(w.begin(), w.end());
          CHECK(qo[i * 3 + 0] == w.front());
          CHECK(tu::check_quantile(qo[i * 3 + 1], 0.5, w, 0.01) == "");
          CHECK(qo[i * 3 + 2] == w.back());
        }
      }
      CHECK(seen.size() == hist.size());
      for (auto& kv : seen) CHECK(kv.second == 1);
    }
  }
}

TEST_CASE("keys: remove_key drops the series; a new push starts it afresh", "[keys]") {
  aggregator_config c = tu::default_config();
  c.window_kind = AGGREGATOR_WINDOW_TUMBLING;
  c.window_size = 10;
  Handle h = tu::make(c);
  double v[] = {1, 2, 3, 4};
  int64_t t[] = {1, 2, 3, 12};
  uint64_t k[] = {5, 6, 5, 6};
  REQUIRE(aggregator_push(h, v, t, k, 4) == AGGREGATOR_OK);
  // [0,10) of keys 5 and 6 closed at W = 12.
  uint64_t pending = 0, dropped = 0;
  REQUIRE(aggregator_pending_windows(h, &pending, &dropped) == AGGREGATOR_OK);
  CHECK(pending == 2);
  REQUIRE(aggregator_remove_key(h, 5) == AGGREGATOR_OK);
  REQUIRE(aggregator_remove_key(h, 6) == AGGREGATOR_OK);
  CHECK(aggregator_remove_key(h, 6) == AGGREGATOR_ENOTFOUND);
  uint64_t n = 9;
  REQUIRE(aggregator_key_count(h, &n) == AGGREGATOR_OK);
  CHECK(n == 0);
  // "its already-queued closed windows stay queued"
  std::vector<aggregator_window> w = tu::poll_all(h, 4, nullptr, 0, nullptr);
  REQUIRE(w.size() == 2);
  std::map<uint64_t, aggregator_stats> by_key;
  for (auto& x : w) by_key[x.key] = x.stats;
  REQUIRE(by_key.count(5));
  REQUIRE(by_key.count(6));
  CHECK(by_key[5].count == 2);
  CHECK(by_key[5].sum == 4);
  CHECK(by_key[6].count == 1);
  CHECK(by_key[6].window_start == 0);
  CHECK(by_key[6].window_end == 10);
  // The open window [10,20) of key 6 went with the series.
  REQUIRE(aggregator_advance(h, 1000) == AGGREGATOR_OK);
  CHECK(tu::poll_all(h, 4, nullptr, 0, nullptr).empty());
  // A new push recreates the key with fresh counters.
  double v2[] = {9};
  int64_t t2[] = {1000};
  uint64_t k2[] = {5};
  REQUIRE(aggregator_push(h, v2, t2, k2, 1) == AGGREGATOR_OK);
  aggregator_stats s = tu::get_key_stats(h, 5);
  CHECK(s.total == 1);
  CHECK(s.count == 1);
  CHECK(s.sum == 9);
}

TEST_CASE("keys: closed windows are tagged with their key", "[keys]") {
  aggregator_config c = tu::default_config();
  c.window_kind = AGGREGATOR_WINDOW_HOPPING;
  c.window_size = 20;
  c.slide = 10;
  Handle h = tu::make(c);
  std::vector<double> v;
  std::vector<int64_t> t;
  std::vector<uint64_t> k;
  for (int i = 0; i < 60; ++i) {
    v.push_back(i);
    t.push_back(i);
    k.push_back(100 + i % 3);
  }
  REQUIRE(aggregator_push(h, v.data(), t.data(), k.data(), v.size()) == AGGREGATOR_OK);
  REQUIRE(aggregator_advance(h, 1000) == AGGREGATOR_OK);
  std::vector<aggregator_window> w = tu::poll_all(h, 3, nullptr, 0, nullptr);
  // windows [-10,10), [0,20), ..., [50,70): 7 per key
  REQUIRE(w.size() == 21);
  std::map<uint64_t, std::vector<aggregator_window>> by_key;
  for (auto& x : w) by_key[x.key].push_back(x);
  REQUIRE(by_key.size() == 3);
  for (auto& kv : by_key) {
    REQUIRE(kv.second.size() == 7);
    for (size_t i = 0; i < 7; ++i) {
      const aggregator_stats& s = kv.second[i].stats;
      int64_t start = -10 + 10 * (int64_t)i;
      CHECK(s.window_start == start);  // in order of start within a series
      CHECK(s.window_end == start + 20);
      std::vector<double> vals;
      for (int j = 0; j < 60; ++j)
        if ((uint64_t)(100 + j % 3) == kv.first && j >= start && j < start + 20) vals.push_back(j);
      ref::Stats rs;
      rs.s = ref::summarize(vals);
      CHECK(tu::compare_stats(s, rs, tu::kCheckValues) == "");
    }
  }
}

TEST_CASE("keys: per-key memory usage is reported", "[keys]") {
  Handle h = tu::make(tu::default_config());
  double v[] = {1, 2, 3};
  uint64_t k[] = {1, 2, 3};
  REQUIRE(aggregator_push(h, v, nullptr, k, 3) == AGGREGATOR_OK);
  uint64_t total = 0, sum = 0;
  REQUIRE(aggregator_memory_usage(h, &total) == AGGREGATOR_OK);
  for (uint64_t key : {1, 2, 3}) {
    uint64_t b = 0;
    REQUIRE(aggregator_key_memory_usage(h, key, &b) == AGGREGATOR_OK);
    CHECK(b > 0);
    sum += b;
  }
  CHECK(sum <= total);
  uint64_t b = 0;
  CHECK(aggregator_key_memory_usage(h, 4, &b) == AGGREGATOR_ENOTFOUND);
}

TEST_CASE("keys: process_batch on a keyed time-window handle uses series 0", "[keys]") {
  aggregator_config c = tu::default_config();
  c.window_kind = AGGREGATOR_WINDOW_TUMBLING;
  c.window_size = 4;
  Handle h = tu::make(c);
  double v[] = {1, 2, 3, 4, 5, 6};
  // arrival times 0..5: W = 5, window [4, 8) holds 5, 6
  double m = aggregator_process_batch(h, v, 6);
  CHECK(m == 5.5);
  uint64_t k[] = {9};
  double v2[] = {100};
  REQUIRE(aggregator_push(h, v2, nullptr, k, 1) == AGGREGATOR_OK);  // time 6, key 9
  m = aggregator_process_batch(h, v, 0);
  CHECK(m == 5.5);  // series 0 only
}
