/* Compiled into the same test: the public header must declare the three
 * original calls with exactly the published types (a mismatch is a compile
 * error: conflicting types). */
#include <windowagg/windowagg.h>

aggregator* aggregator_new(long long capacity);
double aggregator_process_batch(aggregator* a, const double* data, size_t len);
void aggregator_free(aggregator* a);
