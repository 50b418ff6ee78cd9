/* Validation of option values: pure functions, unit-tested, shared by preforkd and
 * its clients so every program words a bad value the same way. */
#ifndef PREFORKD_PARSE_H
#define PREFORKD_PARSE_H

#include <stddef.h>

/* Numbers are plain decimal: digits, and for parse_decimal and parse_seconds at most
 * one '.', with a leading '-' only where the range allows negative values. No blanks,
 * '+', hex, exponent, inf or nan; a leading 0 is still decimal. */
int parse_llong(const char *option, const char *text, long long min, long long max, long long *out,
                char *err, size_t errlen);
int parse_long(const char *option, const char *text, long min, long max, long *out,
	       char *err, size_t errlen);
int parse_decimal(const char *option, const char *text, double min, double max, double *out,
                  char *err, size_t errlen);
int parse_seconds(const char *option, const char *text, double min, double max,
		  double *out, char *err, size_t errlen);

#endif
