/* One input through the HTTP request parser (and the chunked-body decoder, on the
 * input itself and on what follows a chunked head), with the checks that hold for any
 * input: shared by the libFuzzer harness (test/fuzz/http.c) and the bounded run in
 * `make test` (test/unit/http_fuzz.c). */
#ifndef PREFORKD_HTTP_ONE_H
#define PREFORKD_HTTP_ONE_H

#include "http_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned long http_fuzz_complete, http_fuzz_chunked_complete;

#define HTTP_FUZZ_CHUNK_LIMIT 4096

/* The chunked decoder on p[0..n): a status it may return, the same status and end
 * whether fed whole or in two pieces (cut where the input says) or byte by byte for
 * short inputs, and never more data than the limit. */
static void http_fuzz_chunked(const char *p, size_t n, size_t cut)
{
	struct http_chunked d, e;
	size_t used, used2, end2;
	int st, st2;

	http_chunked_init(&d, HTTP_FUZZ_CHUNK_LIMIT);
	st = http_chunked_feed(&d, p, n, &used);
	if ((st != 0 && st != 1 && st != 400 && st != 413 && st != 431) || used > n ||
	    d.body > HTTP_FUZZ_CHUNK_LIMIT || (st == 0 && used != n))
		abort();
	if (st == 1)
		http_fuzz_chunked_complete++;
	cut = n ? cut % (n + 1) : 0;
	http_chunked_init(&e, HTTP_FUZZ_CHUNK_LIMIT);
	st2 = http_chunked_feed(&e, p, cut, &used2);
	end2 = used2;
	if (st2 == 0) {
		st2 = http_chunked_feed(&e, p + cut, n - cut, &used2);
		end2 = cut + used2;
	}
	if (st2 != st || (st == 1 && end2 != used))
		abort();
	if (n <= 512) {
		http_chunked_init(&e, HTTP_FUZZ_CHUNK_LIMIT);
		st2 = 0;
		for (size_t i = 0; i < n && st2 == 0; i++) {
			st2 = http_chunked_feed(&e, p + i, 1, &used2);
			end2 = i + used2;
		}
		if (st2 != st || (st == 1 && end2 != used))
			abort();
	}
}

static int inside(const struct http_span s, const uint8_t *data, size_t size)
{
	return !s.p ||
	       ((const uint8_t *)s.p >= data && (const uint8_t *)s.p + s.len <= data + size);
}

static int http_fuzz_one(const uint8_t *data, size_t size)
{
	struct http_request r;
	int rc;

	if (size > HTTP_HEAD_MAX + 64)
		size = HTTP_HEAD_MAX + 64;
	/* The input as a chunked body straight away too: the decoder need not wait
	 * for the mutations to build a head first. */
	http_fuzz_chunked((const char *)data, size, size > 0 ? data[0] * 131u + size : 0);
	rc = http_parse_request((const char *)data, size, &r);
	if (rc == 0 && size >= HTTP_HEAD_MAX)
		abort(); /* "need more" past the cap would let a client grow the buffer */
	if (rc != 0 && rc != 1 && rc != 400 && rc != 413 && rc != 414 && rc != 431 && rc != 501 &&
	    rc != 505)
		abort();
	if (rc != 1)
		return 0;
	http_fuzz_complete++;
	if (r.head_len > size || r.head_len > HTTP_HEAD_MAX || r.target.len == 0)
		abort();
	/* An absolute-form target without a path is "/", a constant. */
	if ((!inside(r.target, data, size) && !(r.target.len == 1 && r.target.p[0] == '/')) ||
	    !inside(r.method_name, data, size) || !inside(r.range, data, size) ||
	    !inside(r.if_none_match, data, size) || !inside(r.if_modified_since, data, size) ||
	    !inside(r.if_range, data, size))
		abort();
	if (r.content_length < -1 || (r.method <= HTTP_HEAD && r.target.p[0] != '/') ||
	    (r.chunked && r.content_length >= 0))
		abort();
	if (r.chunked)
		http_fuzz_chunked((const char *)data + r.head_len, size - r.head_len, r.head_len);
	/* The same head with one byte less is incomplete or refused, never another
	 * request: where a request ends does not depend on what follows it. */
	{
		struct http_request s;
		int again = http_parse_request((const char *)data, r.head_len - 1, &s);

		if (again == 1)
			abort();
		again = http_parse_request((const char *)data, r.head_len, &s);
		if (again != 1 || s.head_len != r.head_len)
			abort();
	}
	return 0;
}

#endif
