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
		"127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:80x", "::1:80", "[::1]80", "[::1", "[]:80", "host: 80", "",
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

int main(void)
{
	test_addr_valid();
	test_addr_invalid();
	test_parse_long();
	test_parse_seconds();
	test_hist();
	return unit_done();
}
