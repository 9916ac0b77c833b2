/* The struct_size rule of aggregator_stats_ex (windowagg.h), from C:
 * an older (smaller) struct gets only the fields it knows, a newer (larger)
 * one gets the known fields and zeros, a bad size is refused, and the
 * extensible read agrees with the fixed one. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <windowagg/windowagg.h>

static int failures = 0;
#define EXPECT(cond)                                                 \
  do {                                                               \
    if (!(cond)) {                                                   \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
      ++failures;                                                    \
    }                                                                \
  } while (0)

int main(void) {
  aggregator* a = aggregator_new(8);
  EXPECT(a != NULL);
  const double v[4] = {1, 2, 3, 4};
  EXPECT(aggregator_push(a, v, NULL, NULL, 4) == AGGREGATOR_OK);

  /* Same numbers as aggregator_get_stats / aggregator_get_key_stats. */
  aggregator_stats fixed;
  aggregator_stats_ex ex;
  aggregator_stats_ex_init(&ex);
  EXPECT(ex.struct_size == sizeof ex && aggregator_stats_ex_size() == sizeof ex);
  EXPECT(aggregator_get_stats(a, &fixed) == AGGREGATOR_OK);
  EXPECT(aggregator_get_stats_ex(a, &ex) == AGGREGATOR_OK);
  EXPECT(memcmp(&fixed, &ex.stats, sizeof fixed) == 0);
  EXPECT(aggregator_get_key_stats(a, AGGREGATOR_DEFAULT_KEY, &fixed) == AGGREGATOR_OK);
  EXPECT(aggregator_get_key_stats_ex(a, AGGREGATOR_DEFAULT_KEY, &ex) == AGGREGATOR_OK);
  EXPECT(memcmp(&fixed, &ex.stats, sizeof fixed) == 0);
  EXPECT(aggregator_get_key_stats_ex(a, 99, &ex) == AGGREGATOR_ENOTFOUND);

  /* Older host: it knows count and sum only. */
  unsigned char buf[sizeof(aggregator_stats_ex) + 64];
  memset(buf, 0xAB, sizeof buf);
  aggregator_stats_ex* p = (aggregator_stats_ex*)buf;
  uint32_t small = (uint32_t)(offsetof(aggregator_stats_ex, stats) +
                              offsetof(aggregator_stats, mean));
  p->struct_size = small;
  p->reserved = 0;
  EXPECT(aggregator_get_stats_ex(a, p) == AGGREGATOR_OK);
  EXPECT(p->struct_size == small && p->stats.count == 4 && p->stats.sum == 10);
  for (size_t i = small; i < sizeof buf; ++i) EXPECT(buf[i] == 0xAB);

  /* Newer host: 48 more bytes of aggregates this library does not know. */
  memset(buf, 0xAB, sizeof buf);
  p->struct_size = (uint32_t)(sizeof(aggregator_stats_ex) + 48);
  EXPECT(aggregator_get_stats_ex(a, p) == AGGREGATOR_OK);
  EXPECT(p->stats.count == 4 && p->stats.mean == 2.5);
  for (size_t i = sizeof(aggregator_stats_ex); i < sizeof(aggregator_stats_ex) + 48; ++i)
    EXPECT(buf[i] == 0);
  for (size_t i = sizeof(aggregator_stats_ex) + 48; i < sizeof buf; ++i) EXPECT(buf[i] == 0xAB);

  /* Bad sizes: refused, nothing written. */
  const uint32_t bad[] = {0, 4, 12, 4104};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) {
    memset(buf, 0, sizeof buf);
    p->struct_size = bad[k];
    EXPECT(aggregator_get_stats_ex(a, p) == AGGREGATOR_EINVAL);
    EXPECT(aggregator_last_status() == AGGREGATOR_EINVAL);
    for (size_t i = 8; i < sizeof buf; ++i) EXPECT(buf[i] == 0);
  }
  EXPECT(aggregator_get_stats_ex(a, NULL) == AGGREGATOR_EINVAL);
  EXPECT(aggregator_get_stats_ex(NULL, &ex) == AGGREGATOR_EINVAL);

  /* aggregator_new's failure has a status: ECONFIG, like every binding reports. */
  EXPECT(aggregator_new(0) == NULL && aggregator_last_status() == AGGREGATOR_ECONFIG);
  EXPECT(aggregator_new(-5) == NULL && aggregator_last_status() == AGGREGATOR_ECONFIG);
  /* ... and aggregator_new keeps no quantiles (header: quantiles are off). */
  double q = 0.5, out = 0;
  EXPECT(aggregator_get_quantiles(a, &q, 1, &out) == AGGREGATOR_EUNSUPPORTED);
  EXPECT(aggregator_last_status() == AGGREGATOR_EUNSUPPORTED);

  aggregator_free(a);
  printf(failures == 0 ? "stats_ex: OK\n" : "stats_ex: %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
