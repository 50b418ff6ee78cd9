/* HTTP-dates and the printf-free appender of the response head: checked against
 * glibc's gmtime_r, strftime and snprintf over the whole four-digit range. */
#include "fixbuf.h"
#include "http_date.h"
#include "unit.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* 0000-01-01, 1000-01-01 and 10000-01-01 from the epoch. */
#define YEAR_0 (-62167219200LL)
#define YEAR_1000 (-30610224000LL)
#define YEAR_10000 253402300800LL

static int same_as_libc(int64_t t, char *got, char *want)
{
	time_t tt = (time_t)t;
	struct tm tm;

	http_date_format(t, got);
	if (!gmtime_r(&tt, &tm))
		return 0;
	/* glibc's %Y has no leading zeros: years 0..999 are written from the fields. */
	if (tm.tm_year + 1900 < 1000) {
		char wday[8], mon[8];

		if (strftime(wday, sizeof wday, "%a", &tm) == 0 ||
		    strftime(mon, sizeof mon, "%b", &tm) == 0)
			return 0;
		(void)snprintf(want, 64, "%s, %02d %s %04d %02d:%02d:%02d GMT", wday, tm.tm_mday,
		               mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	} else if (strftime(want, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm) != HTTP_DATE_LEN) {
		return 0;
	}
	return strcmp(got, want) == 0;
}

static uint64_t next(uint64_t *s)
{
	/* xorshift64: a fixed sequence, the same in every run. */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* n random times in [lo, hi), each written as libc does. */
static void check_random(int64_t lo, int64_t hi, int n, const char *what)
{
	static uint64_t seed = 0x9e3779b97f4a7c15ULL;
	char got[HTTP_DATE_LEN + 1], want[64];
	int bad = 0;
	int64_t first_bad = 0;

	for (int i = 0; i < n; i++) {
		int64_t t = lo + (int64_t)(next(&seed) % (uint64_t)(hi - lo));

		if (!same_as_libc(t, got, want) && bad++ == 0)
			first_bad = t;
	}
	CHECK(bad == 0, "%d random times of %s (%d differ, the first %" PRId64 ")", n, what, bad,
	      first_bad);
}

static void check_dates(void)
{
	static const int64_t fixed[] = {
		0,
		-1,
		1,
		86399,
		86400,
		-86400,
		-86401,
		784111777,
		951782400,
		951868800,
		4107542400LL,
		1700000000,
		2147483647LL,
		2147483648LL,
		4102444800LL,
		YEAR_1000,
		YEAR_10000 - 1,
	};
	char got[HTTP_DATE_LEN + 1], want[64];
	int bad = 0;
	int64_t first_bad = 0;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		CHECK(same_as_libc(fixed[i], got, want), "%" PRId64 ": '%s' is libc's '%s'",
		      fixed[i], got, want);
	check_random(YEAR_1000, YEAR_10000, 2000000, "years 1000..9999");
	check_random(YEAR_0, YEAR_1000, 200000, "years 0000..0999, with leading zeros");
	/* Every day from 1900 to 2100, at its last second. */
	for (int64_t t = -2208988800LL + 86399; t < 4102444800LL; t += 86400)
		if (!same_as_libc(t, got, want) && bad++ == 0)
			first_bad = t;
	CHECK(bad == 0, "every day of 1900..2099 (%d differ, the first %" PRId64 ")", bad,
	      first_bad);
	http_date_format(784111777, got);
	CHECK(strcmp(got, "Sun, 06 Nov 1994 08:49:37 GMT") == 0, "RFC 9110's example: %s", got);
	http_date_format(YEAR_0, got);
	CHECK(strcmp(got, "Sat, 01 Jan 0000 00:00:00 GMT") == 0, "year 0000 has four digits: %s",
	      got);
	http_date_format(YEAR_0 - 1, got);
	CHECK(strcmp(got, "Thu, 01 Jan 1970 00:00:00 GMT") == 0,
	      "a second before 0000 is the epoch: %s", got);
	http_date_format(YEAR_10000, got);
	CHECK(strcmp(got, "Thu, 01 Jan 1970 00:00:00 GMT") == 0, "year 10000 is the epoch: %s",
	      got);
	http_date_format(INT64_MIN, got);
	CHECK(strcmp(got, "Thu, 01 Jan 1970 00:00:00 GMT") == 0, "INT64_MIN is the epoch: %s", got);
	http_date_format(INT64_MAX, got);
	CHECK(strcmp(got, "Thu, 01 Jan 1970 00:00:00 GMT") == 0, "INT64_MAX is the epoch: %s", got);
}

static void check_fixbuf(void)
{
	static const uint64_t nums[] = { 0,
		                         1,
		                         9,
		                         10,
		                         15,
		                         16,
		                         255,
		                         4096,
		                         1000000007ULL,
		                         UINT32_MAX,
		                         (uint64_t)INT64_MAX,
		                         UINT64_MAX };
	static const int64_t snums[] = { 0, -1, 1, -10, INT64_MIN, INT64_MAX, -1234567890123LL };
	char buf[64], want[64];
	struct fixbuf b;
	int bad = 0;

	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		b = fixbuf_on(buf, sizeof buf);
		fixbuf_u64(&b, nums[i]);
		fixbuf_mem(&b, " ", 1);
		fixbuf_hex(&b, nums[i]);
		snprintf(want, sizeof want, "%" PRIu64 " %" PRIx64, nums[i], nums[i]);
		bad += strcmp(fixbuf_cstr(&b), want) != 0;
	}
	for (size_t i = 0; i < sizeof snums / sizeof snums[0]; i++) {
		b = fixbuf_on(buf, sizeof buf);
		fixbuf_i64(&b, snums[i]);
		snprintf(want, sizeof want, "%" PRId64, snums[i]);
		bad += strcmp(fixbuf_cstr(&b), want) != 0;
	}
	CHECK(bad == 0, "decimal and hex as printf writes them, INT64_MIN and UINT64_MAX too");

	b = fixbuf_on(buf, 8);
	fixbuf_str(&b, "abcd");
	fixbuf_str(&b, "efg");
	CHECK(!b.over && b.len == 7 && strcmp(fixbuf_cstr(&b), "abcdefg") == 0,
	      "appends that leave room for the NUL: '%s'", buf);
	b = fixbuf_on(buf, 8);
	fixbuf_str(&b, "abcd");
	fixbuf_str(&b, "efgh");
	CHECK(!b.over && b.len == 8, "an append may fill the buffer to its last byte");
	CHECK(strcmp(fixbuf_cstr(&b), "") == 0 && b.over,
	      "but then there is no room for the NUL: empty and over");
	b = fixbuf_on(buf, 8);
	fixbuf_str(&b, "abcd");
	fixbuf_str(&b, "efghi");
	fixbuf_str(&b, "j");
	CHECK(b.over && b.len == 4, "an append that does not fit writes nothing, nor any after it");
	b = fixbuf_on(buf, 4);
	fixbuf_u64(&b, 12345);
	CHECK(b.over && b.len == 0, "a number that does not fit: over, nothing written");
	b = fixbuf_on(buf, 0);
	CHECK(strcmp(fixbuf_cstr(&b), "") == 0 && b.over,
	      "a buffer of no bytes: an empty string, and over");
}

int main(void)
{
	check_dates();
	check_fixbuf();
	return unit_done();
}
