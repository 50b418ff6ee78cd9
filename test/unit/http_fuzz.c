/* A bounded, deterministic fuzz run of the HTTP request parser and the chunked-body
 * decoder, part of `make test`: mutated requests (seeds below, a fixed xorshift
 * sequence) through http_one.h's checks. `make fuzz` runs the same checks under libFuzzer. */
#include "mutate.h"
#include "../fuzz/http_one.h"
#include "unit.h"

#define ROUNDS 200000
#define INPUT_MAX (HTTP_HEAD_MAX + 64)

#define SEED(s)                                                                                    \
	{                                                                                          \
		(s), sizeof(s) - 1                                                                 \
	}
static const struct mut_seed seeds[] = {
	SEED("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	SEED("HEAD /a%20b?x=1 HTTP/1.0\r\nConnection: keep-alive\r\nRange: bytes=0-10\r\n\r\n"),
	SEED("GET http://h/x HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"a\", W/\"b\"\r\n"
	     "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 3\r\n\r\nabc"),
	SEED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	SEED("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "5;a=\"q\\\"\" ; b\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	     "0\r\nX-Sum: 1\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
	SEED("3\r\nabc\r\n0;x=y\r\nT: v\r\n\r\n"),
	SEED("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nConnection: close\r\n\r\n"),
};

static const char *const tokens[] = {
	"\r\n",
	"\r",
	"\n",
	" ",
	"\t",
	":",
	",",
	"\0",
	"\x7f",
	"\xff",
	"GET ",
	"HEAD ",
	"OPTIONS ",
	"/",
	"..",
	"%2F",
	"HTTP/1.1",
	"HTTP/1.0",
	"HTTP/2.0",
	"Host: a\r\n",
	"Content-Length: 5\r\n",
	"Transfer-Encoding: chunked\r\n",
	"Connection: close\r\n",
	"Range: bytes=0-\r\n",
	"http://",
	"\r\n\r\n",
	"0",
	"-1",
	"Transfer-Encoding: chunked\r\n\r\n",
	"5\r\nhello\r\n",
	"0\r\n\r\n",
	";a=\"b\\\"c\"",
	"; b",
	"ffffffffffffffff",
	"X-Trailer: t\r\n",
};

static struct mutator mu = { 0x9e3779b97f4a7c15u, INPUT_MAX };

static void mutate(uint8_t *buf, size_t *len)
{
	size_t at = mut_pick(&mu, *len + 1), n;
	uint8_t range[64];
	const char *t;

	switch (mut_pick(&mu, 6)) {
	case 0:
		if (*len)
			buf[mut_pick(&mu, *len)] ^= (uint8_t)(1u << mut_pick(&mu, 8));
		break;
	case 1:
		n = (size_t)mut_random(&mu) & 0xff;
		mut_insert(&mu, buf, len, at, &n, 1);
		break;
	case 2:
		t = tokens[mut_pick(&mu, sizeof tokens / sizeof tokens[0])];
		mut_insert(&mu, buf, len, at, t, t[0] ? strlen(t) : 1);
		break;
	case 3:
		n = mut_pick(&mu, *len - at + 1);
		if (n > 16)
			n = 16;
		memmove(buf + at, buf + at + n, *len - at - n);
		*len -= n;
		break;
	case 4: /* repeat a range, sometimes many times: reaches the limits */
		n = mut_pick(&mu, *len - at + 1);
		if (n > sizeof range)
			n = sizeof range;
		memcpy(range, buf + at, n);
		for (size_t k = mut_pick(&mu, 8) == 0 ? 200 : 1; k > 0; k--)
			mut_insert(&mu, buf, len, mut_pick(&mu, *len + 1), range, n);
		break;
	default:
		t = seeds[mut_pick(&mu, sizeof seeds / sizeof seeds[0])].data;
		mut_insert(&mu, buf, len, at, t, mut_pick(&mu, strlen(t) + 1));
	}
}

int main(void)
{
	static uint8_t buf[INPUT_MAX + 64];
	size_t rounds = 0;

	rounds = mut_run(&mu, seeds, sizeof seeds / sizeof seeds[0], buf, mutate, http_fuzz_one,
	                 ROUNDS);
	CHECK(rounds == ROUNDS, "%zu mutated request heads: none crashed or broke a check", rounds);
	CHECK(http_fuzz_complete > ROUNDS / 20,
	      "the mutations keep enough heads complete to check the fields (%lu of %zu)",
	      http_fuzz_complete, rounds);
	CHECK(http_fuzz_chunked_complete > ROUNDS / 100,
	      "the mutations keep enough chunked bodies complete (%lu of %zu)",
	      http_fuzz_chunked_complete, rounds);
	return unit_done();
}
