/* The deterministic mutations the bounded fuzz tests share (unit-*_fuzz): a
 * xorshift generator with a fixed seed, so that a failure is found again by the
 * same run, and byte insertion bounded by the harness's input size. The mutation
 * strategies (which tokens, which cases) stay in each test. */
#ifndef PREFORKD_TEST_MUTATE_H
#define PREFORKD_TEST_MUTATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct mutator {
	uint64_t rng; /* the seed, then the generator's state; never 0 */
	size_t max;   /* the largest input the harness takes */
};

static inline uint64_t mut_random(struct mutator *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return m->rng;
}

/* 0..n-1; 0 when n is 0. */
static inline size_t mut_pick(struct mutator *m, size_t n)
{
	return n ? (size_t)(mut_random(m) % n) : 0;
}

/* Inserts n bytes at `at`, unless the input would grow beyond m->max. */
static inline void mut_insert(struct mutator *m, uint8_t *buf, size_t *len, size_t at,
                              const void *p, size_t n)
{
	if (*len + n > m->max)
		return;
	memmove(buf + at + n, buf + at, *len - at);
	memcpy(buf + at, p, n);
	*len += n;
}

/* A seed input: a string literal and its length (no terminating NUL). */
struct mut_seed {
	const char *data;
	size_t len;
};

/* Feeds `one` every seed, then `rounds` inputs made from a random seed and 1 to 3
 * mutations, in buf (room for the harness's largest input plus some). Returns the
 * rounds run. */
static inline size_t mut_run(struct mutator *m, const struct mut_seed *seeds, size_t nseeds,
                             uint8_t *buf, void (*mutate)(uint8_t *, size_t *),
                             int (*one)(const uint8_t *, size_t), size_t rounds)
{
	size_t done = 0;

	for (size_t i = 0; i < nseeds; i++)
		(void)one((const uint8_t *)seeds[i].data, seeds[i].len);
	for (; done < rounds; done++) {
		size_t s = mut_pick(m, nseeds), len = seeds[s].len;

		memcpy(buf, seeds[s].data, len);
		for (size_t k = 1 + mut_pick(m, 3); k > 0; k--)
			mutate(buf, &len);
		(void)one(buf, len);
	}
	return done;
}

#endif
