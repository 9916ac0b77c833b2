/* A host written against the original design: it declares the three calls
 * itself, exactly as they were first published, and includes no windowagg
 * header. It must link against libwindowagg.so and behave as documented. */
#include <math.h> /* NAN, INFINITY: macros only, no libm */
#include <stddef.h>
#include <stdio.h>

typedef struct aggregator aggregator;
aggregator* aggregator_new(long long capacity);
double aggregator_process_batch(aggregator* a, const double* data, size_t len);
void aggregator_free(aggregator* a);

static int failures = 0;

static int is_nan(double x) { return x != x; }

static void expect_mean(const char* what, double got, double want) {
  /* Exact: these means are representable and the sum is compensated. */
  if (got != want) {
    printf("FAIL %s: got %.17g, want %.17g\n", what, got, want);
    ++failures;
  }
}

static void expect_nan(const char* what, double got) {
  if (!is_nan(got)) {
    printf("FAIL %s: got %.17g, want NaN\n", what, got);
    ++failures;
  }
}

int main(void) {
  if (aggregator_new(0) != NULL) {
    printf("FAIL aggregator_new(0) returned a handle\n");
    ++failures;
  }
  if (aggregator_new(-5) != NULL) {
    printf("FAIL aggregator_new(-5) returned a handle\n");
    ++failures;
  }
  if (aggregator_new(1LL << 62) != NULL) {
    printf("FAIL aggregator_new(2^62) returned a handle\n");
    ++failures;
  }

  const double one[] = {1.0};
  expect_nan("process_batch(NULL handle)", aggregator_process_batch(NULL, one, 1));
  aggregator_free(NULL); /* no-op */

  aggregator* a = aggregator_new(3);
  if (a == NULL) {
    printf("FAIL aggregator_new(3) returned NULL\n");
    return 1;
  }
  expect_nan("empty window, len 0", aggregator_process_batch(a, NULL, 0));

  const double b1[] = {1.0, 2.0};
  expect_mean("fewer than capacity: mean of all", aggregator_process_batch(a, b1, 2), 1.5);
  const double b2[] = {3.0, 4.0};
  expect_mean("window of the last 3", aggregator_process_batch(a, b2, 2), 3.0);
  expect_mean("len 0 returns the current mean", aggregator_process_batch(a, b2, 0), 3.0);

  expect_nan("NULL data with len > 0", aggregator_process_batch(a, NULL, 2));
  const double nan_batch[] = {5.0, NAN};
  expect_nan("NaN value rejects the batch", aggregator_process_batch(a, nan_batch, 2));
  const double inf_batch[] = {-INFINITY, 5.0};
  expect_nan("Inf value rejects the batch", aggregator_process_batch(a, inf_batch, 2));
  expect_mean("rejected batches left the window unchanged",
              aggregator_process_batch(a, NULL, 0), 3.0);

  const double b3[] = {10.0, 20.0, 30.0, 40.0, 50.0};
  expect_mean("batch larger than capacity", aggregator_process_batch(a, b3, 5), 40.0);
  aggregator_free(a);

  if (failures == 0) printf("original three calls: OK\n");
  return failures == 0 ? 0 : 1;
}
