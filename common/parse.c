/* Strict number parsing: the whole text must be the number, with no sign surprises,
 * no trailing garbage and no silent overflow; the error names option and value. */
#include "parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int parse_long(const char *option, const char *text, long min, long max, long *out,
	       char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || errno != 0 || v < min || v > max ||
	    *text == ' ' || *text == '+') {
		snprintf(err, errlen, "%s: expected an integer %ld..%ld, got '%s'", option,
			 min, max, text);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_seconds(const char *option, const char *text, double min, double max,
		  double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (*text == '\0' || *end != '\0' || errno != 0 || !isfinite(v) || v < min ||
	    v > max || *text == ' ' || *text == '+') {
		snprintf(err, errlen, "%s: expected seconds %g..%g, got '%s'", option, min,
			 max, text);
		return -1;
	}
	*out = v;
	return 0;
}
