/* The metrics endpoint's HTTP: a minimal, bounded reader of one HTTP/1.x request
 * head, and the whole response to it. It runs in the root master on bytes from the
 * network, so it is pure (no system call, no allocation but the reply's strbuf),
 * reads nothing past the head it is given, unit-tested and fuzzed
 * (test/unit/metrics_http.c, test/fuzz/metrics_http.c). */
#ifndef PREFORKD_METRICS_HTTP_H
#define PREFORKD_METRICS_HTTP_H

#include <stddef.h>

struct strbuf;

/* The most a request head may take, its blank line included: a scraper's is about
 * 200 bytes. A longer one is answered 431. */
#define METRICS_HTTP_HEAD_MAX 4096

/* The text format's media type, as Prometheus asks for it. */
#define METRICS_HTTP_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http_request {
	int status;      /* 200 for GET or HEAD /metrics; else the error to answer */
	int head_only;   /* HEAD: the response's headers, no body */
	const char *why; /* for an error: one line for the body and the debug log */
};

/* The length of the head's lines in IN (LEN bytes so far), the blank line that
 * ends it excluded, or -1 while it has not come. Empty lines before the request
 * line are skipped, as RFC 9112 asks. */
long metrics_http_head_end(const char *in, size_t len);

/* Judges a complete head (LEN bytes, as metrics_http_head_end measured it): every
 * line is checked, then what it asks for. Never fails: *R says what to answer. */
void metrics_http_parse(const char *in, size_t len, struct metrics_http_request *r);

/* The whole response in B: the status line, Content-Type, Content-Length and
 * Connection: close, then BODY (LEN bytes) unless HEAD_ONLY. */
void metrics_http_respond(struct strbuf *b, int status, int head_only, const char *content_type,
                          const char *body, size_t len);

/* An error's response, its body the status and WHY (text/plain; none for HEAD); a
 * 405 says Allow. */
void metrics_http_error(struct strbuf *b, int status, int head_only, const char *why);

/* The reason phrase of STATUS ("Not Found"). */
const char *metrics_http_reason(int status);

#endif
