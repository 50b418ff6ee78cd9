/* One fuzz input through the metrics endpoint's HTTP reader, as the endpoint drives
 * it: where the head ends (checked against a shorter prefix too: more bytes never
 * move an end already found), then the head judged, then the response built. The
 * parser also gets the whole input, head or not. Every status must be one the
 * reader may give, a 200 must be GET or HEAD of /metrics, and every response must
 * say its length truly; the sanitizers judge every read (the input is copied to a
 * buffer of its exact size). Shared by the libFuzzer target
 * (test/fuzz/metrics_http.c, `make fuzz`) and the bounded deterministic run in the
 * unit tests (test/unit/metrics_http_fuzz.c). */
#ifndef PREFORKD_FUZZ_METRICS_HTTP_ONE_H
#define PREFORKD_FUZZ_METRICS_HTTP_ONE_H

#include "metrics_http.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long fuzz_ok; /* inputs answered 200 */

static void fuzz_fail(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "metrics http fuzz: %s; input (%zu bytes):\n", what, size);
	fwrite(data, 1, size, stderr);
	fputc('\n', stderr);
	abort();
}

/* Content-Length is what follows the head; HEAD has nothing there. */
static void fuzz_check_response(const struct strbuf *b, int head_only, const uint8_t *data,
                                size_t size)
{
	const char *cl, *end;
	size_t said, after;

	if (b->failed)
		return;
	cl = strstr(b->data, "\r\nContent-Length: ");
	end = strstr(b->data, "\r\n\r\n");
	if (strncmp(b->data, "HTTP/1.1 ", 9) != 0 || !cl || !end || cl > end ||
	    !strstr(b->data, "\r\nConnection: close\r\n"))
		fuzz_fail("a response without its status line or fields", data, size);
	said = (size_t)strtoul(cl + 18, NULL, 10);
	after = b->len - (size_t)(end + 4 - b->data);
	if (head_only ? after != 0 : after != said)
		fuzz_fail("Content-Length is not the body's length", data, size);
}

static void fuzz_judge(const char *in, size_t len, const uint8_t *data, size_t size)
{
	struct metrics_http_request r;
	struct strbuf b = { 0 };
	size_t skip = 0;

	metrics_http_parse(in, len, &r);
	if (r.status != 200 && r.status != 400 && r.status != 404 && r.status != 405 &&
	    r.status != 505)
		fuzz_fail("a status the reader may not give", data, size);
	if (r.status != 200 && !r.why)
		fuzz_fail("a refusal without a reason", data, size);
	while (skip < len && (in[skip] == '\r' || in[skip] == '\n'))
		skip++;
	if (r.status == 200) {
		fuzz_ok++;
		if (!(len - skip > 4 && memcmp(in + skip, "GET ", 4) == 0) &&
		    !(len - skip > 5 && memcmp(in + skip, "HEAD ", 5) == 0))
			fuzz_fail("200 to a method other than GET or HEAD", data, size);
		if (!memmem(in, len, "/metrics", 8))
			fuzz_fail("200 to a request not for /metrics", data, size);
		metrics_http_respond(&b, 200, r.head_only, METRICS_HTTP_CONTENT_TYPE, in, len);
	} else {
		metrics_http_error(&b, r.status, r.head_only, r.why);
	}
	fuzz_check_response(&b, r.head_only, data, size);
	strbuf_free(&b);
}

static int metrics_http_fuzz_one(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	long end, early;

	if (!in)
		return 0;
	memcpy(in, data, size);
	end = metrics_http_head_end(in, size);
	if (end < -1 || end > (long)size)
		fuzz_fail("the head ends outside the input", data, size);
	if (end >= 0) {
		const char *blank = in + end;
		size_t left = size - (size_t)end;

		if (end == 0 || in[end - 1] != '\n' ||
		    !((left >= 1 && blank[0] == '\n') ||
		      (left >= 2 && blank[0] == '\r' && blank[1] == '\n')))
			fuzz_fail("the head's end is not a line's end before a blank line", data,
			          size);
		fuzz_judge(in, (size_t)end, data, size);
	}
	early = metrics_http_head_end(in, size / 2);
	if (early >= 0 && early != end)
		fuzz_fail("more bytes moved the head's end", data, size);
	fuzz_judge(in, size, data, size);
	free(in);
	return 0;
}

#endif
