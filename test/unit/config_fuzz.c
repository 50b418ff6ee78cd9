/* A bounded, deterministic fuzz run of the configuration parsers, part of `make
 * test`: mutated configuration files and command lines (seeds below, a fixed
 * xorshift sequence) through config_one.h's checks. `make fuzz` runs the same checks
 * under libFuzzer, coverage-guided, for as long as it is given. */
#include "mutate.h"
#include "../fuzz/config_one.h"
#include "log.h"
#include "unit.h"

#define ROUNDS 50000
#define INPUT_MAX 2048

/* File text, then NUL-separated command-line words. */
#define SEED(s)                                                                                    \
	{                                                                                          \
		(s), sizeof(s) - 1                                                                 \
	}
static const struct mut_seed seeds[] = {
	SEED("listen 127.0.0.1:0\nworkers 4\n# a comment\n\nidle-timeout 0.5 # trailing\n"),
	SEED("daemon\ncore-dumps no\nquiet yes\nverbose no\nuser nobody\ngroup nogroup\n"),
	SEED("pidfile run/p.pid\nlog /var/log/p.log\nadmin ../a.sock\r\nservice echo\n"),
	SEED("worker-timeout 0\nmax-requests 10\nmax-requests-jitter 3\nmin-uptime 1\n"
	     "defer-accept 0\nbacklog 16\ngrace 2\nfirst-byte-timeout 1\n"),
	SEED("workers 2\0--workers\0003\0-q\0--listen=[::1]:0\0--verbose"),
	SEED("\0--pidfile\0p\0--daemon\0-t"),
	SEED("listen [::1]:7\nworkers 1\nworkers 2\n"),
	SEED("\0--idle-timeout\0001\0--worker-timeout\0002\0-T"),
};

/* Pieces the mutator inserts: keys, values and the format's own characters. */
static const char *const tokens[] = {
	"listen ",
	"workers ",
	"backlog ",
	"service ",
	"idle-timeout ",
	"first-byte-timeout ",
	"grace ",
	"pidfile ",
	"log ",
	"admin ",
	"metrics-listen ",
	"worker-timeout ",
	"max-requests ",
	"max-requests-jitter ",
	"min-uptime ",
	"defer-accept ",
	"daemon",
	"user ",
	"group ",
	"core-dumps",
	"quiet",
	"verbose",
	"config ",
	"help",
	" yes",
	" no",
	"#",
	" #",
	"\n",
	"\r\n",
	"\t",
	" ",
	"\0",
	"0",
	"1",
	"-1",
	"0.001",
	"86400",
	"1e3",
	"nan",
	"inf",
	"127.0.0.1:0",
	"[::1]:0",
	"x:99999",
	"/",
	"..",
	"a/b",
	"\0--workers\0",
	"\0-q",
	"\0--daemon",
	"\0-t",
	"\0-T",
	"\0--log=",
	"\0--user\0",
	"\0--listen\0",
	"\0-",
	"\0--",
	"\x7f",
	"\x01",
	"\xff",
	"é",
};

static struct mutator mu = { 0x9e3779b97f4a7c15u, INPUT_MAX };

static void mutate(uint8_t *buf, size_t *len)
{
	size_t at = mut_pick(&mu, *len + 1), n;
	uint8_t range[32];
	const char *t;

	switch (mut_pick(&mu, 6)) {
	case 0: /* flip a byte */
		if (*len)
			buf[mut_pick(&mu, *len)] ^= (uint8_t)(1u << mut_pick(&mu, 8));
		break;
	case 1: /* a random byte */
		n = (size_t)mut_random(&mu) & 0xff;
		mut_insert(&mu, buf, len, at, &n, 1);
		break;
	case 2: /* a token; "\0" ones have their NUL counted */
		t = tokens[mut_pick(&mu, sizeof tokens / sizeof tokens[0])];
		n = t[0] == '\0' ? 1 + strlen(t + 1) : strlen(t);
		mut_insert(&mu, buf, len, at, t, n);
		break;
	case 3: /* delete a range */
		n = mut_pick(&mu, *len - at + 1);
		if (n > 16)
			n = 16;
		memmove(buf + at, buf + at + n, *len - at - n);
		*len -= n;
		break;
	case 4: /* repeat a range (copied first: the insert moves it) */
		n = mut_pick(&mu, *len - at + 1);
		if (n > sizeof range)
			n = sizeof range;
		memcpy(range, buf + at, n);
		mut_insert(&mu, buf, len, mut_pick(&mu, *len + 1), range, n);
		break;
	default: /* splice in part of another seed */
		t = seeds[mut_pick(&mu, sizeof seeds / sizeof seeds[0])].data;
		mut_insert(&mu, buf, len, at, t, mut_pick(&mu, strlen(t) + 1));
	}
}

int main(void)
{
	static uint8_t buf[INPUT_MAX + 64];
	size_t rounds = 0;

	/* The parsers' rejections are the expected outcome; a reload's notes are not
	 * exercised here. Keep the output to the TAP lines. */
	log_set_level(LOG_ERROR);
	rounds = mut_run(&mu, seeds, sizeof seeds / sizeof seeds[0], buf, mutate, config_fuzz_one,
	                 ROUNDS);
	CHECK(rounds == ROUNDS,
	      "%zu mutated files and command lines: none crashed, every accepted one (%lu) "
	      "printed by -T read back the same",
	      rounds, fuzz_accepted);
	CHECK(fuzz_accepted > ROUNDS / 20,
	      "the mutations keep enough inputs valid to test "
	      "the printer (%lu of %zu)",
	      fuzz_accepted, rounds);
	return unit_done();
}
