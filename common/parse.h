/* Validation of option values: pure functions, unit-tested, shared by preforkd and
 * its clients so every program words a bad value the same way. */
#ifndef PREFORKD_PARSE_H
#define PREFORKD_PARSE_H

#include <stddef.h>

int parse_long(const char *option, const char *text, long min, long max, long *out,
	       char *err, size_t errlen);
int parse_seconds(const char *option, const char *text, double min, double max,
		  double *out, char *err, size_t errlen);

#endif
