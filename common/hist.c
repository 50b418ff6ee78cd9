/* Histogram read side: bucket bounds and percentiles (the write side is inline in
 * hist.h because it sits on the workers' hot path). */
#include "hist.h"

uint64_t hist_bucket_low(unsigned idx)
{
	unsigned shift;

	if (idx < HIST_SUB)
		return idx;
	shift = idx / HIST_SUB - 1;
	return (uint64_t)(HIST_SUB + idx % HIST_SUB) << shift;
}

uint64_t hist_bucket_high(unsigned idx)
{
	if (idx < HIST_SUB)
		return idx;
	return hist_bucket_low(idx) + (1ULL << (idx / HIST_SUB - 1)) - 1;
}

uint64_t hist_total(const uint64_t *counts)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		n += counts[i];
	return n;
}

/* The q-quantile (0 < q <= 1) as the upper bound of its bucket, so a reported p99 is
 * never better than what was measured; 0 when the histogram is empty. */
uint64_t hist_percentile(const uint64_t *counts, double q)
{
	uint64_t total = hist_total(counts), seen = 0, rank;

	if (total == 0)
		return 0;
	rank = (uint64_t)(q * (double)total + 0.999999);
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += counts[i];
		if (seen >= rank)
			return hist_bucket_high(i);
	}
	return hist_bucket_high(HIST_BUCKETS - 1);
}
