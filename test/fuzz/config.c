/* libFuzzer entry point for the configuration parsers (`make fuzz`); the input
 * format and the checks are in config_one.h. */
#include "config_one.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return config_fuzz_one(data, size);
}
