/* A bounded, deterministic fuzz run of the metrics endpoint's HTTP reader, part of
 * `make test`: mutated requests (seeds below, a fixed xorshift sequence) through
 * metrics_http_one.h's checks. `make fuzz` runs the same checks under libFuzzer,
 * coverage-guided, for as long as it is given. */
#include "mutate.h"
#include "../fuzz/metrics_http_one.h"
#include "unit.h"

#define ROUNDS 200000
#define INPUT_MAX 1024

#define SEED(s)                                                                                    \
	{                                                                                          \
		(s), sizeof(s) - 1                                                                 \
	}
static const struct mut_seed seeds[] = {
	SEED("GET /metrics HTTP/1.1\r\nHost: localhost:9100\r\nUser-Agent: Prometheus/2.45.0\r\n"
	     "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\n\r\n"),
	SEED("HEAD /metrics?x=1 HTTP/1.0\n\n"),
	SEED("GET http://h:9100/metrics HTTP/1.1\r\nHost: h\r\n\r\n"),
	SEED("\r\nPOST /other HTTP/1.1\r\nHost: a\r\nHost: b\r\n folded\r\n\r\nbody"),
	SEED("GET /metrics HTTP/2.0\r\n\r\n"),
};

static const char *const tokens[] = {
	"GET ",      "HEAD ", "POST ", " /metrics", "/metrics?", "http://", " HTTP/1.1",
	" HTTP/1.0", "\r\n",  "\n",    "\r",        "\r\n\r\n",  "Host: ",  "host:",
	": ",        " ",     "\t",    "\0",        "\x7f",      "\xff",
};

static struct mutator mu = { 0x2545f4914f6cdd1du, INPUT_MAX };

static void mutate(uint8_t *buf, size_t *len)
{
	size_t at = mut_pick(&mu, *len + 1), n;
	const char *t;

	switch (mut_pick(&mu, 5)) {
	case 0: /* flip a bit */
		if (*len)
			buf[mut_pick(&mu, *len)] ^= (uint8_t)(1u << mut_pick(&mu, 8));
		break;
	case 1: /* a random byte */
		n = (size_t)mut_random(&mu) & 0xff;
		mut_insert(&mu, buf, len, at, &n, 1);
		break;
	case 2: /* a token; "\0" is one byte */
		t = tokens[mut_pick(&mu, sizeof tokens / sizeof tokens[0])];
		mut_insert(&mu, buf, len, at, t, t[0] ? strlen(t) : 1);
		break;
	case 3: /* delete a range */
		n = mut_pick(&mu, *len - at + 1);
		if (n > 16)
			n = 16;
		memmove(buf + at, buf + at + n, *len - at - n);
		*len -= n;
		break;
	default: /* cut the input short, as a peer that stops sending */
		*len = at;
	}
}

int main(void)
{
	static uint8_t buf[INPUT_MAX + 64];
	size_t rounds = 0;

	rounds = mut_run(&mu, seeds, sizeof seeds / sizeof seeds[0], buf, mutate,
	                 metrics_http_fuzz_one, ROUNDS);
	CHECK(rounds == ROUNDS,
	      "%zu mutated requests: none crashed or read out of bounds, every status and "
	      "response was well-formed",
	      rounds);
	CHECK(fuzz_ok > ROUNDS / 50, "the mutations keep enough requests valid (%lu of %zu)",
	      fuzz_ok, rounds);
	return unit_done();
}
