/* libFuzzer entry point for the HTTP request parser (`make fuzz`); the checks are
 * in http_one.h. */
#include "http_one.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return http_fuzz_one(data, size);
}
