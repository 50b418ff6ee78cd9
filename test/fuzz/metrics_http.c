/* libFuzzer entry point for the metrics endpoint's HTTP reader (`make fuzz`); the
 * checks are in metrics_http_one.h. */
#include "metrics_http_one.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return metrics_http_fuzz_one(data, size);
}
