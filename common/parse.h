/* Validation of option values: pure functions, unit-tested, shared by preforkd and
 * its clients so every program words a bad value the same way. */
#ifndef PREFORKD_PARSE_H
#define PREFORKD_PARSE_H

#include <getopt.h>
#include <stddef.h>

/* Numbers are plain decimal: digits, and for parse_decimal and parse_seconds at most
 * one '.', with a leading '-' only where the range allows negative values. No blanks,
 * '+', hex, exponent, inf or nan; a leading 0 is still decimal. */
int parse_llong(const char *option, const char *text, long long min, long long max, long long *out,
                char *err, size_t errlen);
int parse_long(const char *option, const char *text, long min, long max, long *out, char *err,
               size_t errlen);
int parse_decimal(const char *option, const char *text, double min, double max, double *out,
                  char *err, size_t errlen);
int parse_seconds(const char *option, const char *text, double min, double max, double *out,
                  char *err, size_t errlen);
/* "N" (lo = hi = N) or "LOW..HIGH", each end an integer within min..max, LOW <= HIGH:
 * --workers MIN..MAX, --spare LOW..HIGH, `scale A..B`. */
int parse_range(const char *option, const char *text, long min, long max, long *lo, long *hi,
                char *err, size_t errlen);
/* A size in bytes: plain digits with an optional K, M or G suffix (powers of 1024,
 * either case), such as 512M; at most max bytes. */
int parse_size(const char *option, const char *text, unsigned long long max,
               unsigned long long *out, char *err, size_t errlen);

/* The option getopt_long() just refused (it returned '?' or ':'), as the user wrote
 * it: "-x" for a short one, even inside a cluster such as -xq, "--name" (without any
 * "=value") for a long one. Returns buf. */
const char *parse_bad_option(char *const argv[], const struct option *longopts, char *buf,
                             size_t len);
/* The same as one message: "NAME: unknown option", "NAME: missing value" (getopt_long
 * returned ':', its optstring starting with ':') or "NAME: takes no value". */
const char *parse_getopt_error(int ret, char *const argv[], const struct option *longopts,
                               char *buf, size_t len);

#endif
