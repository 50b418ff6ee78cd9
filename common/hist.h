/* Log-linear latency histogram: 8 sub-buckets per power of two, so a bucket is at
 * most 12.5 % wide. Values are microseconds. Used in the shared scoreboard, so the
 * layout is plain counters and the bucket math is branch-light. */
#ifndef PREFORKD_HIST_H
#define PREFORKD_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 3
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_BIT 40 /* values are capped at 2^40 us, about 12 days */
#define HIST_BUCKETS ((HIST_MAX_BIT - HIST_SUB_BITS + 2) * HIST_SUB)

static inline unsigned hist_bucket(uint64_t v)
{
	unsigned msb;

	if (v < HIST_SUB)
		return (unsigned)v;
	if (v >= (1ULL << HIST_MAX_BIT))
		v = (1ULL << HIST_MAX_BIT) - 1;
	msb = 63u - (unsigned)__builtin_clzll(v);
	return (msb - HIST_SUB_BITS + 1) * HIST_SUB +
	       (unsigned)((v >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

uint64_t hist_bucket_low(unsigned idx);
uint64_t hist_bucket_high(unsigned idx);
uint64_t hist_percentile(const uint64_t *counts, double q);
uint64_t hist_total(const uint64_t *counts);

#endif
