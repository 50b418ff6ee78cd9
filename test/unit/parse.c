/* Unit tests: address splitting, strict number parsing and the histogram. */
#include "addr.h"
#include "hist.h"
#include "parse.h"
#include "unit.h"

#include <string.h>

static void test_addr_valid(void)
{
	static const struct {
		const char *text, *host;
		unsigned port;
	} cases[] = {
		{ "127.0.0.1:7777", "127.0.0.1", 7777 },
		{ "localhost:0", "localhost", 0 },
		{ "[::1]:8080", "::1", 8080 },
		{ "[fe80::1%lo]:65535", "fe80::1%lo", 65535 },
		{ "example.org:80", "example.org", 80 },
	};
	char err[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct host_port hp;
		int rc = addr_split(cases[i].text, &hp, err, sizeof err);

		CHECK(rc == 0 && strcmp(hp.host, cases[i].host) == 0 && hp.port == cases[i].port,
		      "addr_split accepts '%s'", cases[i].text);
	}
}

static void test_addr_invalid(void)
{
	static const char *const bad[] = {
		"127.0.0.1",    "127.0.0.1:",    ":80",      "127.0.0.1:65536",
		"127.0.0.1:-1", "127.0.0.1:80x", "::1:80",   "[::1]80",
		"[::1",         "[]:80",         "host: 80", "",
	};
	char err[256];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct host_port hp;

		err[0] = '\0';
		CHECK(addr_split(bad[i], &hp, err, sizeof err) < 0 && strstr(err, bad[i]),
		      "addr_split rejects '%s' and names it", bad[i]);
	}
}

static void test_parse_long(void)
{
	char err[256];
	long v = -7;

	CHECK(parse_long("--workers", "4", 1, 1024, &v, err, sizeof err) == 0 && v == 4,
	      "parse_long accepts 4");
	CHECK(parse_long("--workers", "1024", 1, 1024, &v, err, sizeof err) == 0 && v == 1024,
	      "parse_long accepts the maximum");
	CHECK(parse_long("--workers", "abc", 1, 1024, &v, err, sizeof err) < 0 &&
	              strcmp(err, "--workers: expected an integer 1..1024, got 'abc'") == 0,
	      "parse_long rejects 'abc' with the agreed message");
	CHECK(parse_long("--workers", "0", 1, 1024, &v, err, sizeof err) < 0,
	      "parse_long rejects below the minimum");
	CHECK(parse_long("--workers", "1025", 1, 1024, &v, err, sizeof err) < 0,
	      "parse_long rejects above the maximum");
	CHECK(parse_long("--workers", "4x", 1, 1024, &v, err, sizeof err) < 0,
	      "parse_long rejects trailing garbage");
	CHECK(parse_long("--workers", "", 1, 1024, &v, err, sizeof err) < 0,
	      "parse_long rejects an empty value");
	CHECK(parse_long("--workers", " 4", 1, 1024, &v, err, sizeof err) < 0,
	      "parse_long rejects leading space");
	CHECK(parse_long("--workers", "99999999999999999999", 1, 1024, &v, err, sizeof err) < 0,
	      "parse_long rejects overflow");
}

static void test_parse_range(void)
{
	static const char *const bad[] = { "4..2", "0..3",    "..3",   "2..", "2...3",
		                           "a..b", "2..2000", "2 ..3", "..",  "" };
	char err[256];
	long lo = -1, hi = -1;

	CHECK(parse_range("--workers", "4", 1, 1024, &lo, &hi, err, sizeof err) == 0 && lo == 4 &&
	              hi == 4,
	      "a single number is both ends");
	CHECK(parse_range("--workers", "2..16", 1, 1024, &lo, &hi, err, sizeof err) == 0 &&
	              lo == 2 && hi == 16,
	      "LOW..HIGH");
	CHECK(parse_range("--spare", "0..0", 0, 1024, &lo, &hi, err, sizeof err) == 0 && lo == 0 &&
	              hi == 0,
	      "equal ends");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(parse_range("--workers", bad[i], 1, 1024, &lo, &hi, err, sizeof err) < 0 &&
		              strncmp(err, "--workers: ", 11) == 0,
		      "'%s' refused: %s", bad[i], err);
	parse_range("--workers", "4..2", 1, 1024, &lo, &hi, err, sizeof err);
	CHECK(strcmp(err, "--workers: the low end is above the high end in '4..2'") == 0,
	      "a reversed range says so: %s", err);
	parse_range("--workers", "x", 1, 1024, &lo, &hi, err, sizeof err);
	CHECK(strcmp(err, "--workers: expected an integer 1..1024, got 'x'") == 0,
	      "a single bad number is worded as before: %s", err);
}

static void test_parse_size(void)
{
	unsigned long long v = 0;
	char err[160];
	static const char *const bad[] = {
		"", "M", "1.5M", "-1", "+1", "1MB", "1 M", "1T", "0x10"
	};

	CHECK(parse_size("--max-rss", "0", 1ULL << 40, &v, err, sizeof err) == 0 && v == 0,
	      "parse_size accepts 0");
	CHECK(parse_size("--max-rss", "4096", 1ULL << 40, &v, err, sizeof err) == 0 && v == 4096,
	      "parse_size takes plain bytes");
	CHECK(parse_size("--max-rss", "512k", 1ULL << 40, &v, err, sizeof err) == 0 &&
	              v == 512ULL << 10,
	      "parse_size takes k");
	CHECK(parse_size("--max-rss", "64M", 1ULL << 40, &v, err, sizeof err) == 0 &&
	              v == 64ULL << 20,
	      "parse_size takes M");
	CHECK(parse_size("--max-rss", "2G", 1ULL << 40, &v, err, sizeof err) == 0 &&
	              v == 2ULL << 30,
	      "parse_size takes G");
	CHECK(parse_size("--max-rss", "2048G", 1ULL << 40, &v, err, sizeof err) < 0 &&
	              strstr(err, "--max-rss") && strstr(err, "2048G"),
	      "parse_size rejects a size over its limit naming option and value");
	CHECK(parse_size("--max-rss", "99999999999999999999", 1ULL << 40, &v, err, sizeof err) < 0,
	      "parse_size rejects an overflow");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(parse_size("--max-rss", bad[i], 1ULL << 40, &v, err, sizeof err) < 0,
		      "parse_size rejects '%s'", bad[i]);
}

static void test_parse_seconds(void)
{
	char err[256];
	double v = 0;

	CHECK(parse_seconds("--grace", "2.5", 0, 60, &v, err, sizeof err) == 0 && v == 2.5,
	      "parse_seconds accepts 2.5");
	CHECK(parse_seconds("--grace", "0", 0, 60, &v, err, sizeof err) == 0 && v == 0,
	      "parse_seconds accepts 0 when allowed");
	CHECK(parse_seconds("--grace", "nan", 0, 60, &v, err, sizeof err) < 0,
	      "parse_seconds rejects nan");
	CHECK(parse_seconds("--grace", "-1", 0, 60, &v, err, sizeof err) < 0 &&
	              strstr(err, "--grace") && strstr(err, "'-1'"),
	      "parse_seconds rejects -1 naming option and value");
	CHECK(parse_seconds("--grace", "1s", 0, 60, &v, err, sizeof err) < 0,
	      "parse_seconds rejects a unit suffix");
}

/* The text with blanks made visible, for a readable TAP line. */
static const char *shown(const char *text)
{
	static char buf[64];
	size_t n = 0;

	for (; *text && n + 3 < sizeof buf; text++) {
		char c = (char)(*text == '\t'   ? 't'
		                : *text == '\n' ? 'n'
		                : *text == '\v' ? 'v'
		                                : 0);

		if (c) {
			buf[n++] = '\\';
			buf[n++] = c;
		} else {
			buf[n++] = *text;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* Plain decimal only, in every program: what strtol and strtod would also take (blanks,
 * '+', hex, hex floats, exponents, inf, nan) is refused, naming the option and value. */
static void test_parse_strict(void)
{
	static const char *const bad_int[] = {
		" 4", "\t4", "\n4", "4 ", "+4", "-4", "-0", "0x10", "4.0", "1e3", "4_000", "",
	};
	static const char *const bad_dec[] = {
		"0x1p-3",   "0x10", " 1",  "\t1", "1 ",   "+1",    "-1",  "1e3", "1E3", "inf",
		"infinity", "nan",  "NAN", ".",   "1..2", "1.2.3", "1,5", "",    "\v2",
	};
	char err[256];
	long v = -7;
	long long ll = -7;
	double d = -7;

	for (size_t i = 0; i < sizeof bad_int / sizeof bad_int[0]; i++)
		CHECK(parse_long("--workers", bad_int[i], 0, 1024, &v, err, sizeof err) < 0 &&
		              strstr(err, "--workers") && strstr(err, bad_int[i]),
		      "parse_long rejects '%s' naming option and value", shown(bad_int[i]));
	CHECK(v == -7, "a refused value leaves the output alone");
	CHECK(parse_long("--workers", "010", 0, 1024, &v, err, sizeof err) == 0 && v == 10,
	      "a leading 0 is decimal, not octal");
	CHECK(parse_long("--delta", "-5", -10, 10, &v, err, sizeof err) == 0 && v == -5,
	      "a '-' is taken where the range allows negative values");
	CHECK(parse_long("--delta", "--5", -10, 10, &v, err, sizeof err) < 0 &&
	              parse_long("--delta", "-", -10, 10, &v, err, sizeof err) < 0,
	      "one '-' and digits, nothing else");
	CHECK(parse_llong("--requests", "1000000000000", 1, 1000000000000LL, &ll, err,
	                  sizeof err) == 0 &&
	              ll == 1000000000000LL,
	      "parse_llong takes 64-bit values");
	CHECK(parse_llong("--requests", "0x10", 1, 1000000000000LL, &ll, err, sizeof err) < 0 &&
	              strcmp(err, "--requests: expected an integer 1..1000000000000, got '0x10'") ==
	                      0,
	      "parse_llong rejects hex with the agreed message");
	for (size_t i = 0; i < sizeof bad_dec / sizeof bad_dec[0]; i++) {
		CHECK(parse_seconds("--grace", bad_dec[i], 0, 86400, &d, err, sizeof err) < 0 &&
		              strstr(err, "--grace") && strstr(err, bad_dec[i]),
		      "parse_seconds rejects '%s' naming option and value", shown(bad_dec[i]));
		CHECK(parse_decimal("--rate", bad_dec[i], 0, 1e7, &d, err, sizeof err) < 0,
		      "parse_decimal rejects '%s'", shown(bad_dec[i]));
	}
	CHECK(d == -7, "a refused value leaves the output alone");
	CHECK(parse_seconds("--grace", ".5", 0, 60, &d, err, sizeof err) == 0 && d == 0.5 &&
	              parse_seconds("--grace", "2.", 0, 60, &d, err, sizeof err) == 0 && d == 2 &&
	              parse_seconds("--grace", "0.125", 0, 60, &d, err, sizeof err) == 0 &&
	              d == 0.125,
	      "decimals with a point before, inside or after the digits are taken");
	CHECK(parse_decimal("--rate", "abc", 0.001, 1e7, &d, err, sizeof err) < 0 &&
	              strcmp(err, "--rate: expected a number 0.001..10000000, got 'abc'") == 0,
	      "parse_decimal words its message for any number, not seconds");
	CHECK(parse_decimal("--rate", "1000000000000000000000000000000000000000", 0, 1e7, &d, err,
	                    sizeof err) < 0,
	      "parse_decimal rejects a value past the range however it is written");
}

static void test_hist(void)
{
	uint64_t counts[HIST_BUCKETS] = { 0 };
	int ordered = 1, bounded = 1;
	unsigned prev = 0;

	for (uint64_t v = 0; v < (1ULL << 40); v = v < 64 ? v + 1 : v + v / 7) {
		unsigned b = hist_bucket(v);

		ordered &= b >= prev && b < HIST_BUCKETS;
		bounded &= hist_bucket_low(b) <= v && v <= hist_bucket_high(b);
		bounded &= (hist_bucket_high(b) - hist_bucket_low(b)) * 8 <= hist_bucket_low(b) ||
		           v < HIST_SUB;
		prev = b;
	}
	CHECK(ordered, "histogram buckets grow with the value");
	CHECK(bounded, "every value lies in its bucket, buckets at most 12.5%% wide");
	for (int i = 1; i <= 100; i++)
		counts[hist_bucket((uint64_t)i * 100)]++;
	CHECK(hist_total(counts) == 100, "histogram total counts every value");
	CHECK(hist_percentile(counts, 0.5) >= 5000 && hist_percentile(counts, 0.5) <= 5700,
	      "p50 of 100..10000 is about 5000 (got %llu)",
	      (unsigned long long)hist_percentile(counts, 0.5));
	CHECK(hist_percentile(counts, 1.0) >= 10000 && hist_percentile(counts, 1.0) <= 11300,
	      "max of 100..10000 is about 10000");
	memset(counts, 0, sizeof counts);
	CHECK(hist_percentile(counts, 0.99) == 0, "an empty histogram reports 0");
}

/* Finer histograms (prefork-bench keeps 128 sub-buckets) obey the same rules, and the
 * scoreboard's resolution is one case of the general one. */
static void test_hist_bits(void)
{
	static uint64_t counts[HIST_BUCKETS_BITS(7)];
	int same = 1, bounded = 1, mid_ok = 1;
	unsigned p50, p90;

	for (uint64_t v = 0; v < (1ULL << 41); v = v < 1024 ? v + 1 : v + v / 61) {
		unsigned b = hist_bucket_bits(v, 7);
		uint64_t low = hist_bucket_low_bits(b, 7), high = hist_bucket_high_bits(b, 7);
		uint64_t mid = hist_bucket_mid_bits(b, 7);

		same &= hist_bucket_bits(v, HIST_SUB_BITS) == hist_bucket(v);
		bounded &= b < HIST_BUCKETS_BITS(7) &&
		           (v >= (1ULL << HIST_MAX_BIT) || (low <= v && v <= high)) &&
		           (v < 256 ? low == high : (high - low + 1) * 128 <= low);
		mid_ok &= low <= mid && mid <= high && (mid - low) <= (high - low + 1) / 2;
	}
	CHECK(same, "hist_bucket is hist_bucket_bits at HIST_SUB_BITS");
	CHECK(bounded,
	      "at 7 bits every value lies in its bucket: exact below 256, then 1/128 wide");
	CHECK(mid_ok, "a bucket's middle lies within half a bucket of either bound");
	CHECK(hist_quantile_bucket_bits(counts, 7, 0.5) == -1,
	      "an empty histogram has no quantile");
	for (uint64_t v = 1; v <= 1000; v++)
		counts[hist_bucket_bits(v, 7)]++;
	CHECK(hist_total_bits(counts, 7) == 1000, "the total counts every value");
	p50 = (unsigned)hist_quantile_bucket_bits(counts, 7, 0.5);
	p90 = (unsigned)hist_quantile_bucket_bits(counts, 7, 0.9);
	CHECK(hist_bucket_low_bits(p50, 7) <= 500 && 500 <= hist_bucket_high_bits(p50, 7) &&
	              hist_bucket_low_bits(p90, 7) <= 900 && 900 <= hist_bucket_high_bits(p90, 7),
	      "quantiles of 1..1000 land on the buckets of 500 and 900");
}

static void test_addr_peer(void)
{
	struct host_port hp;
	char err[256];

	CHECK(addr_split_peer("127.0.0.1:0", &hp, err, sizeof err) < 0 &&
	              strstr(err, "'127.0.0.1:0'") && strstr(err, "port must be 1..65535"),
	      "a peer's address needs a port other than 0 (%s)", err);
	CHECK(addr_split_peer("[::1]:1", &hp, err, sizeof err) == 0 && hp.port == 1 &&
	              strcmp(hp.host, "::1") == 0,
	      "a peer's address takes ports 1..65535");
	CHECK(addr_split("127.0.0.1:0", &hp, err, sizeof err) == 0 && hp.port == 0,
	      "a listening address still takes port 0");
}

/* Runs getopt_long over argv until it refuses something; returns the message. */
static const char *first_refusal(char **argv, char *buf, size_t len)
{
	static const struct option longopts[] = {
		{ "alpha", no_argument, NULL, 'a' },
		{ "beta", required_argument, NULL, 'b' },
		{ "gamma", required_argument, NULL, 256 },
		{ NULL, 0, NULL, 0 },
	};
	int argc = 0, c;

	while (argv[argc])
		argc++;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ab:", longopts, NULL)) != -1)
		if (c == '?' || c == ':')
			return parse_getopt_error(c, argv, longopts, buf, len);
	return "(nothing refused)";
}

static void test_getopt_error(void)
{
	static const struct {
		char *argv[6];
		const char *expect;
	} cases[] = {
		{ { "/usr/bin/prog", "-xq" }, "-x: unknown option" },
		{ { "prog", "-ax" }, "-x: unknown option" },
		{ { "prog", "--alpha", "-xa" }, "-x: unknown option" },
		{ { "prog", "-b", "1", "-aa", "-xa" }, "-x: unknown option" },
		{ { "prog", "--delta=3" }, "--delta: unknown option" },
		{ { "prog", "--beta" }, "--beta: missing value" },
		{ { "prog", "--be" }, "--be: missing value" },
		{ { "prog", "--gamma" }, "--gamma: missing value" },
		{ { "prog", "-ab" }, "-b: missing value" },
		{ { "prog", "--alpha=1" }, "--alpha: takes no value" },
		{ { "prog", "--alp=1" }, "--alp: takes no value" },
	};
	char buf[128], line[128];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = first_refusal((char **)cases[i].argv, buf, sizeof buf);
		size_t n = 0;

		for (char *const *a = cases[i].argv + 1; *a && n < sizeof line; a++)
			n += (size_t)snprintf(line + n, sizeof line - n, " %s", *a);
		CHECK(strcmp(got, cases[i].expect) == 0, "prog%s: '%s' (got '%s')", line,
		      cases[i].expect, got);
	}
	optind = 0;
}

int main(void)
{
	test_addr_valid();
	test_addr_invalid();
	test_parse_long();
	test_parse_range();
	test_parse_seconds();
	test_parse_size();
	test_parse_strict();
	test_hist();
	test_hist_bits();
	test_addr_peer();
	test_getopt_error();
	return unit_done();
}
