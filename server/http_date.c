/* IMF-fixdate from seconds since the epoch: the proleptic Gregorian calendar
 * by whole eras of 400 years (146097 days), as in H. Hinnant's "chrono-compatible
 * low-level date algorithms". */
#include "http_date.h"

#include <string.h>

static void two(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1])
{
	static const char wdays[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	/* The seconds of 0000-01-01 and of 10000-01-01 from the epoch. */
	const int64_t first = -62167219200LL, last = 253402300800LL;
	int64_t days, secs, z, era, y;
	unsigned doe, yoe, doy, mp, d, m, wday;

	if (t < first || t >= last)
		t = 0;
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/* 1970-01-01 was a Thursday (4, counting from Sunday). */
	wday = (unsigned)(((days % 7) + 11) % 7);
	z = days + 719468; /* days from 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (int64_t)yoe + era * 400 + (m <= 2);

	memcpy(out, wdays + (size_t)wday * 3, 3);
	out[3] = ',';
	out[4] = ' ';
	two(out + 5, d);
	out[7] = ' ';
	memcpy(out + 8, months + (size_t)(m - 1) * 3, 3);
	out[11] = ' ';
	two(out + 12, (unsigned)(y / 100));
	two(out + 14, (unsigned)(y % 100));
	out[16] = ' ';
	two(out + 17, (unsigned)(secs / 3600));
	out[19] = ':';
	two(out + 20, (unsigned)(secs / 60 % 60));
	out[22] = ':';
	two(out + 23, (unsigned)(secs % 60));
	memcpy(out + 25, " GMT", 5);
}
