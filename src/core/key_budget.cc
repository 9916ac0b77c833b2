// Creating a batch's new series within the key budget (max_keys): the
// REJECT, EVICT_LRU and OVERFLOW policies. Runs with the table held
// exclusively, before the push prepares.
#include "core/aggregator.h"

#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "core/push_pipeline.h"

namespace windowagg::internal {

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
  // (std::unordered_map: a failed insert leaves it whole; see core/hash_map_room.h.)
  std::unordered_map<uint64_t, uint32_t, std::hash<uint64_t>, std::equal_to<uint64_t>,
                     ScratchAllocator<std::pair<const uint64_t, uint32_t>>>
      fresh;
  ScratchVector<uint64_t> fresh_order;
  for (size_t i = 0; i < n; ++i) {
    uint64_t key = w.keys[i];
    if (Series* s = table_.Find(key)) {
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
  const uint64_t live = table_.live_keys();
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
        w.victims.reserve(victims);
        const uint64_t in_batch = w.epoch | kInBatch;
        table_.LruOldest(
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
            if (key != kOverflowKey && !fresh.contains(key) && table_.Find(key) == nullptr) {
              w.keys[i] = kOverflowKey;
            }
          }
          if (table_.Find(kOverflowKey) == nullptr && !fresh.contains(kOverflowKey)) {
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
      // The commit moves it to its LRU tail with this push's tick.
      Series* s = table_.Insert(key, key == kOverflowKey ? std::string_view() : name_of(fresh[key]));
      w.created.push_back(s);  // reserved above: cannot throw
    }
  } catch (...) {
    for (Series* s : w.created) table_.Erase(s);
    w.created.clear();
    throw;
  }
}

}  // namespace windowagg::internal
