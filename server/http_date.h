/* HTTP-dates (RFC 9110 5.6.7) written without gmtime_r and strftime, which take
 * libc's time zone lock and pull in its locale code on every response. */
#ifndef PREFORKD_HTTP_DATE_H
#define PREFORKD_HTTP_DATE_H

#include <stdint.h>

/* "Sun, 06 Nov 1994 08:49:37 GMT": 29 bytes and a NUL. */
#define HTTP_DATE_LEN 29

/* Writes t (seconds since the epoch, UTC) as an IMF-fixdate into out. A time
 * whose year has not four digits (before 0000 or after 9999) is written as the
 * epoch, which a client takes for "long ago" rather than a malformed date. */
void http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1]);

#endif
