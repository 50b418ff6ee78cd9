/* Strict number parsing: the whole text must be the number, with no sign surprises,
 * no trailing garbage and no silent overflow; the error names option and value. */
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIGITS "0123456789"

/* strtoll and strtod alone would take blanks, '+', "0x10", "0x1p-3", "1e3", "inf":
 * the text is checked against the plain decimal form before it is converted. */
static int is_plain_decimal(const char *text, int negative_ok, int point_ok)
{
	size_t digits, frac = 0;

	if (*text == '-' && negative_ok)
		text++;
	digits = strspn(text, DIGITS);
	text += digits;
	if (*text == '.' && point_ok) {
		frac = strspn(text + 1, DIGITS);
		text += 1 + frac;
	}
	return digits + frac > 0 && *text == '\0';
}

int parse_llong(const char *option, const char *text, long long min, long long max, long long *out,
                char *err, size_t errlen)
{
	int plain = is_plain_decimal(text, min < 0, 0);
	long long v = 0;

	errno = 0;
	if (plain)
		v = strtoll(text, NULL, 10);
	if (!plain || errno != 0 || v < min || v > max) {
		snprintf(err, errlen, "%s: expected an integer %lld..%lld, got '%s'", option, min,
		         max, text);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_long(const char *option, const char *text, long min, long max, long *out, char *err,
               size_t errlen)
{
	long long v;

	if (parse_llong(option, text, min, max, &v, err, errlen) < 0)
		return -1;
	*out = (long)v;
	return 0;
}

int parse_range(const char *option, const char *text, long min, long max, long *lo, long *hi,
                char *err, size_t errlen)
{
	const char *dots = strstr(text, "..");
	char first[32], why[128];
	size_t n;

	if (!dots) {
		if (parse_long(option, text, min, max, lo, err, errlen) < 0)
			return -1;
		*hi = *lo;
		return 0;
	}
	n = (size_t)(dots - text);
	if (n == 0 || n >= sizeof first)
		goto bad;
	memcpy(first, text, n);
	first[n] = '\0';
	if (parse_long(option, first, min, max, lo, why, sizeof why) < 0 ||
	    parse_long(option, dots + 2, min, max, hi, why, sizeof why) < 0)
		goto bad;
	if (*lo > *hi) {
		snprintf(err, errlen, "%s: the low end is above the high end in '%s'", option,
		         text);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen,
	         "%s: expected an integer or a range LOW..HIGH of integers %ld..%ld, "
	         "got '%s'",
	         option, min, max, text);
	return -1;
}

/* 0 and *out set when text is a plain decimal within min..max. */
static int scan_decimal(const char *text, double min, double max, double *out)
{
	double v;

	if (!is_plain_decimal(text, min < 0, 1))
		return -1;
	errno = 0;
	v = strtod(text, NULL);
	if (errno != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_decimal(const char *option, const char *text, double min, double max, double *out,
                  char *err, size_t errlen)
{
	if (scan_decimal(text, min, max, out) < 0) {
		snprintf(err, errlen, "%s: expected a number %.15g..%.15g, got '%s'", option, min,
		         max, text);
		return -1;
	}
	return 0;
}

int parse_seconds(const char *option, const char *text, double min, double max, double *out,
                  char *err, size_t errlen)
{
	if (scan_decimal(text, min, max, out) < 0) {
		snprintf(err, errlen, "%s: expected seconds %g..%g, got '%s'", option, min, max,
		         text);
		return -1;
	}
	return 0;
}

int parse_size(const char *option, const char *text, unsigned long long max,
               unsigned long long *out, char *err, size_t errlen)
{
	size_t digits = strspn(text, DIGITS);
	unsigned long long v = 0, unit = 1;
	const char *suffix = text + digits;
	int ok = digits > 0;

	switch (*suffix) {
	case '\0':
		break;
	case 'k':
	case 'K':
		unit = 1ULL << 10;
		break;
	case 'm':
	case 'M':
		unit = 1ULL << 20;
		break;
	case 'g':
	case 'G':
		unit = 1ULL << 30;
		break;
	default:
		ok = 0;
	}
	if (*suffix != '\0' && suffix[1] != '\0')
		ok = 0;
	errno = 0;
	if (ok)
		v = strtoull(text, NULL, 10);
	if (!ok || errno != 0 || v > max / unit) {
		snprintf(err, errlen,
		         "%s: expected a size 0..%llu bytes (suffix K, M or G), got '%s'", option,
		         max, text);
		return -1;
	}
	*out = v * unit;
	return 0;
}

/* getopt_long() leaves optind past the element it finished with, and a short option
 * inside a cluster (the x of -xq) has not finished it: argv[optind - 1] is then the
 * element before, even argv[0]. optopt says what was refused: 0 for an unknown long
 * option, else the option's character or, for a long option given a value it does
 * not take or none it needs, its val, which may be a short option's character too.
 * So a long option is recognised by its element, which getopt has always finished.
 * (A long option whose val is a character that is not a short option, followed by
 * that character refused as a short option, would be named wrongly: no program here
 * has one, but the clients' --version, which exits at once.) */
static int refused_long(char *const argv[], const struct option *longopts)
{
	const char *last = argv[optind - 1];
	size_t name_len = strcspn(last, "=");

	if (optopt == 0)
		return 1;
	if (strncmp(last, "--", 2) != 0 || name_len <= 2)
		return 0;
	for (const struct option *o = longopts; o && o->name; o++)
		if (o->val == optopt && strncmp(o->name, last + 2, name_len - 2) == 0)
			return 1;
	return 0;
}

const char *parse_bad_option(char *const argv[], const struct option *longopts, char *buf,
                             size_t len)
{
	const char *last = argv[optind - 1];

	if (refused_long(argv, longopts))
		snprintf(buf, len, "%.*s", (int)strcspn(last, "="), last);
	else
		snprintf(buf, len, "-%c", optopt);
	return buf;
}

const char *parse_getopt_error(int ret, char *const argv[], const struct option *longopts,
                               char *buf, size_t len)
{
	char name[64];
	const char *why = "unknown option";

	parse_bad_option(argv, longopts, name, sizeof name);
	if (ret == ':')
		why = "missing value";
	else if (optopt != 0 && refused_long(argv, longopts))
		why = "takes no value";
	snprintf(buf, len, "%s: %s", name, why);
	return buf;
}
