// Push throughput per window kind and batch size, the original
// aggregator_process_batch call, and the two same-run baselines.
#include <cmath>
#include <string>
#include <vector>

#include "bench_common.h"

namespace wabench {
namespace {

const size_t kBatches[] = {1, 64, 4096, 65536};

std::vector<WindowSpec> Windows() {
  std::vector<WindowSpec> w;
  w.push_back({"count", "10000", AGGREGATOR_WINDOW_COUNT, 10'000, 0, 0});
  w.push_back({"count", "1000000", AGGREGATOR_WINDOW_COUNT, 1'000'000, 0, 0});
  // Last minute at 1 s panes.
  w.push_back({"sliding", "60s", AGGREGATOR_WINDOW_SLIDING, 60 * kSecond, 0, kSecond});
  w.push_back({"tumbling", "1s", AGGREGATOR_WINDOW_TUMBLING, kSecond, 0, 0});
  // 10 s windows every second.
  w.push_back({"hopping", "10s_1s", AGGREGATOR_WINDOW_HOPPING, 10 * kSecond, kSecond, 0});
  return w;
}

void DrainClosed(aggregator* a) {
  aggregator_window wins[64];
  size_t got = 0;
  do {
    if (aggregator_poll_windows(a, wins, 64, nullptr, 0, nullptr, &got) != AGGREGATOR_OK) return;
  } while (got == 64);
}

void BM_Push(benchmark::State& st, WindowSpec w, bool quantiles, size_t batch) {
  aggregator* a = MakeHandle(w, quantiles, &st);
  if (a == nullptr) return;
  Feed feed(w.timed());
  Warm(a, feed, w.warm_values(), w.timed());
  const bool closes = w.kind == AGGREGATOR_WINDOW_TUMBLING || w.kind == AGGREGATOR_WINDOW_HOPPING;
  for (auto _ : st) {
    const double* v;
    const int64_t* t;
    feed.Next(batch, &st, &v, &t);
    if (aggregator_push(a, v, t, nullptr, batch) != AGGREGATOR_OK) {
      st.SkipWithError(aggregator_last_error());
      break;
    }
    // A host polls closed windows now and then; that is part of the cost.
    if (closes && feed.wrapped()) DrainClosed(a);
  }
  SetPerValueCounters(st, batch);
  SetMemoryCounter(st, a);
  aggregator_free(a);
}

// The original three calls: count window, quantiles on, mean returned.
void BM_ProcessBatch(benchmark::State& st, long long capacity, size_t batch) {
  aggregator* a = aggregator_new(capacity);
  if (a == nullptr) {
    st.SkipWithError(aggregator_last_error());
    return;
  }
  Feed feed(false);
  for (size_t done = 0; done < static_cast<size_t>(capacity) + 4096; done += 4096) {
    const double* v;
    const int64_t* t;
    feed.Next(4096, nullptr, &v, &t);
    aggregator_process_batch(a, v, 4096);
  }
  for (auto _ : st) {
    const double* v;
    const int64_t* t;
    feed.Next(batch, &st, &v, &t);
    double mean = aggregator_process_batch(a, v, batch);
    benchmark::DoNotOptimize(mean);
    if (std::isnan(mean)) {
      st.SkipWithError(aggregator_last_error());
      break;
    }
  }
  SetPerValueCounters(st, batch);
  SetMemoryCounter(st, a);
  aggregator_free(a);
}

// Baseline (a): the plain sum loop of the issue, over the same batches.
void BM_PlainSum(benchmark::State& st, size_t batch) {
  Feed feed(false);
  for (auto _ : st) {
    const double* v;
    const int64_t* t;
    feed.Next(batch, &st, &v, &t);
    double s = 0;
    for (size_t i = 0; i < batch; ++i) s += v[i];
    benchmark::DoNotOptimize(s);
  }
  SetPerValueCounters(st, batch);
}

// Baseline (b): the original design — every value appended to a growing
// vector, a running sum, the mean returned. Its memory grows 8 bytes per
// value forever; to keep the machine alive the vector is released (timed)
// every 2^24 values (128 MiB), so it keeps paying for regrowth like the
// original did.
class OriginalDesign {
 public:
  __attribute__((noinline)) double ProcessBatch(const double* data, size_t len) {
    for (size_t i = 0; i < len; ++i) {
      values_.push_back(data[i]);
      sum_ += data[i];
    }
    double mean = values_.empty() ? NAN : sum_ / static_cast<double>(values_.size());
    if (values_.size() >= (size_t{1} << 24)) {
      std::vector<double>().swap(values_);
      sum_ = 0;
    }
    return mean;
  }

 private:
  std::vector<double> values_;
  double sum_ = 0;
};

void BM_Original(benchmark::State& st, size_t batch) {
  OriginalDesign orig;
  Feed feed(false);
  for (auto _ : st) {
    const double* v;
    const int64_t* t;
    feed.Next(batch, &st, &v, &t);
    double mean = orig.ProcessBatch(v, batch);
    benchmark::DoNotOptimize(mean);
  }
  SetPerValueCounters(st, batch);
}

}  // namespace

void RegisterPushBenchmarks() {
  for (size_t batch : kBatches) {
    std::string b = "/batch:" + std::to_string(batch);
    benchmark::RegisterBenchmark(("baseline/kind:plain_sum" + b).c_str(), BM_PlainSum, batch);
    benchmark::RegisterBenchmark(("baseline/kind:original" + b).c_str(), BM_Original, batch);
  }
  for (const WindowSpec& w : Windows()) {
    for (int q = 0; q <= 1; ++q) {
      for (size_t batch : kBatches) {
        std::string name = "push/kind:" + w.name + "/window:" + w.label +
                           "/q:" + std::to_string(q) + "/batch:" + std::to_string(batch);
        benchmark::RegisterBenchmark(name.c_str(), BM_Push, w, q == 1, batch);
      }
    }
  }
  for (size_t batch : kBatches) {
    std::string name = "process_batch/kind:count/window:10000/q:1/batch:" + std::to_string(batch);
    benchmark::RegisterBenchmark(name.c_str(), BM_ProcessBatch, 10'000LL, batch);
  }
}

}  // namespace wabench
