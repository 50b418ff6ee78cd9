/* The HTTP/1.1 request-head parser (RFC 9112): pure, bounded, no allocation, no
 * system calls, so that it can be unit-tested and fuzzed on its own. It reads a
 * buffer that holds the start of a connection's input and either asks for more,
 * rejects the head with the status to send, or describes the request.
 * Calls: nothing. Touches: only the buffer and the request it is given. */
#ifndef PREFORKD_HTTP_PARSE_H
#define PREFORKD_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Limits. A head longer than HTTP_HEAD_MAX is refused before it is read further. */
#define HTTP_HEAD_MAX 8192         /* request line + header fields, bytes */
#define HTTP_REQUEST_LINE_MAX 4096 /* longer: 414 */
#define HTTP_HEADER_LINE_MAX 4096  /* one field line longer: 431 */
#define HTTP_HEADERS_MAX 64        /* more field lines: 431 */
#define HTTP_LEADING_CRLF_MAX 8    /* empty lines tolerated before a request line */

enum http_method_class {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_OTHER_REGISTERED, /* a method RFC 9110 defines that we do not serve: 405 */
	HTTP_UNKNOWN,          /* any other valid token: 501 */
};

/* A header value inside the parsed buffer: OWS already trimmed. */
struct http_span {
	const char *p;
	size_t len;
};

struct http_request {
	enum http_method_class method;
	struct http_span method_name;
	struct http_span target; /* origin-form, or the path of an absolute-form target */
	int version_minor;       /* HTTP/1.0 -> 0, HTTP/1.1 (or later 1.x) -> 1 */
	int keep_alive;          /* the version's default, changed by Connection */
	int64_t content_length;  /* -1: none */
	struct http_span if_none_match, if_modified_since, range, if_range;
	/* for the access log; the last one wins */
	struct http_span referer, user_agent;
	int range_repeated;  /* more than one Range field: the header is ignored */
	size_t head_len;     /* bytes of the head, leading empty lines included */
	int chunked;         /* Transfer-Encoding: chunked: a body for http_chunked_feed */
	int expect_continue; /* HTTP/1.1 with Expect: 100-continue (ignored in 1.0) */
};

/* 0: the head is not complete yet (read more and call again with the whole buffer);
 * 1: complete, r describes it; otherwise the status to answer (400, 413, 414, 431,
 * 501, 505) before closing the connection. len > HTTP_HEAD_MAX is never needed:
 * without a complete head in that many bytes the answer is 414 or 431. */
int http_parse_request(const char *buf, size_t len, struct http_request *r);

/* Case-insensitive comparison of a span with a lower-case literal. */
int http_span_is(struct http_span s, const char *lower);

/* The value of one hex digit (either case), or -1: chunk sizes, percent-encoding. */
int http_hex_value(unsigned char c);

/* A chunked request body (RFC 9112 7.1), decoded incrementally and dropped: fed any
 * pieces of the bytes after the head, it keeps no data, only where it is. Strict: a
 * chunk size is 1 to HTTP_CHUNK_DIGITS_MAX hex digits, nothing else; extensions are
 * checked and skipped, their line bounded; CR LF ends every line (a bare CR or LF is
 * 400, as in the head); the trailer section follows the head's field-line rules. */
#define HTTP_CHUNK_DIGITS_MAX 16 /* a longer size (even with leading zeros): 400 */
#define HTTP_CHUNK_LINE_MAX 1024 /* a size line with its extensions, longer: 400 */

struct http_chunked {
	int state;
	int status;         /* 0 while the body goes on, then what feed returns */
	unsigned digits;    /* of the chunk size being read */
	uint64_t size;      /* the chunk size being read */
	uint64_t left;      /* data bytes still to come in this chunk */
	uint64_t body;      /* data bytes so far */
	uint64_t framing;   /* every other byte before the trailer section */
	uint64_t limit;     /* body (and framing) bytes allowed: more is 413 */
	size_t line_len;    /* of the size line or trailer field line being read */
	size_t trailer_len; /* bytes of the trailer section */
	unsigned trailer_fields;
};

void http_chunked_init(struct http_chunked *d, uint64_t limit);

/* Takes up to n bytes; *used says how many. 0: all taken, the body goes on; 1: the
 * body ended at p + *used (what follows is the next request's); else the status to
 * answer before closing the connection: 400 (bad framing), 413 (the data, or the
 * framing, over the limit), 431 (a trailer field line over HTTP_HEADER_LINE_MAX, more
 * than HTTP_HEADERS_MAX of them, or a trailer section over HTTP_HEAD_MAX). Once it has
 * returned non-zero, it returns the same again. */
int http_chunked_feed(struct http_chunked *d, const char *p, size_t n, size_t *used);

/* Bytes that are surely chunk data (the rest of the current chunk): the caller may
 * take that many without looking for where the body ends. */
uint64_t http_chunked_data_left(const struct http_chunked *d);

#endif
