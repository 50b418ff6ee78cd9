/* Log-linear latency histogram: 2^bits sub-buckets per power of two, so a bucket is
 * at most 2^-bits of its values wide. Values are microseconds. The scoreboard's
 * histograms use HIST_SUB_BITS (8 sub-buckets, 12.5 %): plain counters in shared
 * memory, and branch-light bucket math on the workers' hot path. A program that
 * keeps its own histograms may choose finer buckets with the *_bits functions. */
#ifndef PREFORKD_HIST_H
#define PREFORKD_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 3
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_BIT 40 /* values are capped at 2^40 us, about 12 days */
/* Counters a histogram of 2^bits sub-buckets needs, with a row to spare (the
 * scoreboard has always been sized so). */
#define HIST_BUCKETS_BITS(bits) ((HIST_MAX_BIT - (bits) + 2) * (1u << (bits)))
#define HIST_BUCKETS HIST_BUCKETS_BITS(HIST_SUB_BITS)

/* Values below 2^bits have a bucket each; above, a bucket is a power of two's
 * leading bits. With a constant bits this compiles to the same few instructions
 * as a hand-written version for that resolution. */
static inline unsigned hist_bucket_bits(uint64_t v, unsigned bits)
{
	unsigned msb;

	if (v < (1ULL << bits))
		return (unsigned)v;
	if (v >= (1ULL << HIST_MAX_BIT))
		v = (1ULL << HIST_MAX_BIT) - 1;
	msb = 63u - (unsigned)__builtin_clzll(v);
	return (msb - bits + 1) * (1u << bits) +
	       (unsigned)((v >> (msb - bits)) & ((1ULL << bits) - 1));
}

static inline unsigned hist_bucket(uint64_t v)
{
	return hist_bucket_bits(v, HIST_SUB_BITS);
}

/* Read side at any resolution: HIST_BUCKETS_BITS(bits) counters. */
uint64_t hist_bucket_low_bits(unsigned idx, unsigned bits);
uint64_t hist_bucket_high_bits(unsigned idx, unsigned bits);
uint64_t hist_bucket_mid_bits(unsigned idx, unsigned bits);
uint64_t hist_total_bits(const uint64_t *counts, unsigned bits);
int hist_quantile_bucket_bits(const uint64_t *counts, unsigned bits, double q);

/* Read side of the scoreboard's histograms (HIST_SUB_BITS, HIST_BUCKETS counters). */
uint64_t hist_bucket_low(unsigned idx);
uint64_t hist_bucket_high(unsigned idx);
uint64_t hist_percentile(const uint64_t *counts, double q);
uint64_t hist_total(const uint64_t *counts);

#endif
