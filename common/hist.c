/* Histogram read side: bucket bounds and percentiles (the write side is inline in
 * hist.h because it sits on the workers' hot path). */
#include "hist.h"

uint64_t hist_bucket_low_bits(unsigned idx, unsigned bits)
{
	unsigned shift, sub = 1u << bits;

	if (idx < sub)
		return idx;
	shift = idx / sub - 1;
	return (uint64_t)(sub + idx % sub) << shift;
}

uint64_t hist_bucket_high_bits(unsigned idx, unsigned bits)
{
	unsigned sub = 1u << bits;

	if (idx < sub)
		return idx;
	return hist_bucket_low_bits(idx, bits) + (1ULL << (idx / sub - 1)) - 1;
}

/* The middle of a bucket: an estimate off by at most half a bucket's width, where
 * either bound may be off by all of it. */
uint64_t hist_bucket_mid_bits(unsigned idx, unsigned bits)
{
	uint64_t low = hist_bucket_low_bits(idx, bits);

	return low + (hist_bucket_high_bits(idx, bits) - low + 1) / 2;
}

uint64_t hist_total_bits(const uint64_t *counts, unsigned bits)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < HIST_BUCKETS_BITS(bits); i++)
		n += counts[i];
	return n;
}

/* The bucket that holds the q-quantile (0 < q <= 1): the first whose running count
 * reaches ceil(q * total); -1 when the histogram is empty. The small margin below 1
 * keeps a product such as 0.9 * 1000 that lands a hair above its integer from
 * taking the next rank. */
int hist_quantile_bucket_bits(const uint64_t *counts, unsigned bits, double q)
{
	uint64_t total = hist_total_bits(counts, bits), seen = 0, rank;
	unsigned n = HIST_BUCKETS_BITS(bits);

	if (total == 0)
		return -1;
	rank = (uint64_t)(q * (double)total + 0.999999);
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < n; i++) {
		seen += counts[i];
		if (seen >= rank)
			return (int)i;
	}
	return (int)n - 1;
}

uint64_t hist_bucket_low(unsigned idx)
{
	return hist_bucket_low_bits(idx, HIST_SUB_BITS);
}

uint64_t hist_bucket_high(unsigned idx)
{
	return hist_bucket_high_bits(idx, HIST_SUB_BITS);
}

uint64_t hist_total(const uint64_t *counts)
{
	return hist_total_bits(counts, HIST_SUB_BITS);
}

/* The q-quantile (0 < q <= 1) as the upper bound of its bucket, so a reported p99 is
 * never better than what was measured; 0 when the histogram is empty. */
uint64_t hist_percentile(const uint64_t *counts, double q)
{
	int idx = hist_quantile_bucket_bits(counts, HIST_SUB_BITS, q);

	return idx < 0 ? 0 : hist_bucket_high_bits((unsigned)idx, HIST_SUB_BITS);
}
