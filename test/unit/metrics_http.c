/* Unit tests: the metrics endpoint's HTTP request reader and responses
 * (server/metrics_http.c): where a head ends, what each request is answered, and
 * that every response says its length truly. */
#include "metrics_http.h"
#include "strbuf.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* The status a whole request (head and blank line) is answered, -1 while its head
 * is not complete; *head_only as parsed. */
static int status_of(const char *req, int *head_only)
{
	struct metrics_http_request r;
	long end = metrics_http_head_end(req, strlen(req));

	if (end < 0)
		return -1;
	metrics_http_parse(req, (size_t)end, &r);
	if (head_only)
		*head_only = r.head_only;
	return r.status;
}

static void test_head_end(void)
{
	static const char crlf[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char lf[] = "GET /metrics HTTP/1.0\n\n";

	CHECK(metrics_http_head_end(crlf, strlen(crlf)) == (long)strlen(crlf) - 2,
	      "a CRLF head ends before its blank line");
	CHECK(metrics_http_head_end(lf, strlen(lf)) == (long)strlen(lf) - 1,
	      "a head of bare LFs ends too (RFC 9112 2.2)");
	CHECK(metrics_http_head_end(crlf, strlen(crlf) - 1) == -1 &&
	              metrics_http_head_end(crlf, strlen(crlf) - 2) == -1 &&
	              metrics_http_head_end(crlf, 0) == -1,
	      "a head without its blank line is not complete");
	CHECK(metrics_http_head_end("\r\n\r\n\n", 5) == -1 &&
	              metrics_http_head_end("\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n", 29) == 27,
	      "empty lines before the request line are skipped, not taken as the end");
	CHECK(metrics_http_head_end("GET / HTTP/1.1\r\nA: b\r\r\n\r\n", 25) == 23,
	      "a stray CR does not end a head early");
}

static void test_accepted(void)
{
	int head_only = -1;

	CHECK(status_of("GET /metrics HTTP/1.1\r\nHost: localhost:9100\r\nAccept: "
	                "text/plain;version=0.0.4;q=1,*/*;q=0.1\r\nUser-Agent: "
	                "Prometheus/2.45.0\r\n\r\n",
	                &head_only) == 200 &&
	              head_only == 0,
	      "Prometheus's scrape request is answered 200");
	CHECK(status_of("HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &head_only) == 200 &&
	              head_only == 1,
	      "HEAD /metrics is answered 200 without a body");
	CHECK(status_of("GET /metrics HTTP/1.0\r\n\r\n", NULL) == 200, "HTTP/1.0 needs no Host");
	CHECK(status_of("GET /metrics?collect[]=x&y=1 HTTP/1.1\r\nhost: a\r\n\r\n", NULL) == 200,
	      "a query string is ignored; field names are case-insensitive");
	CHECK(status_of("GET http://h:9100/metrics HTTP/1.1\r\nHost: h:9100\r\n\r\n", NULL) == 200,
	      "the absolute form of /metrics is /metrics");
	CHECK(status_of("\r\nGET /metrics HTTP/1.1\nHost: a\n\n", NULL) == 200,
	      "an empty line first and bare LFs are fine");
	CHECK(status_of("GET /metrics HTTP/1.1\r\nHost:\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n",
	                NULL) == 200,
	      "empty field values and tabs in them are fine");
}

static void test_refused(void)
{
	int head_only = -1;
	static const struct {
		const char *req;
		int status;
		const char *what;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 404, "another path" },
		{ "GET /metrics/ HTTP/1.1\r\nHost: a\r\n\r\n", 404, "/metrics/" },
		{ "GET /metricsx HTTP/1.1\r\nHost: a\r\n\r\n", 404, "/metricsx" },
		{ "GET /%6detrics HTTP/1.1\r\nHost: a\r\n\r\n", 404, "an encoded path" },
		{ "GET http://h HTTP/1.1\r\nHost: a\r\n\r\n", 404,
		  "an absolute form without path" },
		{ "POST /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 405, "POST" },
		{ "get /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 405, "a method is case-sensitive" },
		{ "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "the asterisk form" },
		{ "CONNECT h:1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "the authority form" },
		{ "GET http:///metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400, "an empty authority" },
		{ "GET /metrics HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host" },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host fields" },
		{ "GET /metrics HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n", 400, "two Host in 1.0" },
		{ "GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/2.0" },
		{ "GET /metrics HTTP/0.9\r\n\r\n", 505, "HTTP/0.9 with a version" },
		{ "GET /metrics\r\n\r\n", 400, "no version" },
		{ "GET /metrics HTTP/1.10\r\nHost: a\r\n\r\n", 400, "a version of three digits" },
		{ "GET /metrics http/1.1\r\nHost: a\r\n\r\n", 400, "a lowercase version" },
		{ "GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400, "two spaces" },
		{ "GET /metrics HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "a space at the end" },
		{ "GET\t/metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400, "a tab for a space" },
		{ " GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400, "a space first" },
		{ "GET /met\x01rics HTTP/1.1\r\nHost: a\r\n\r\n", 400,
		  "a control byte in the path" },
		{ "GET /m\xc3\xa9trics HTTP/1.1\r\nHost: a\r\n\r\n", 400, "a non-ASCII path" },
		{ "GET /metrics HTTP/1.1\rHost: a\r\n\r\n", 400, "a bare CR in the request line" },
		{ "GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "a bare CR in a field" },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, "obsolete folding" },
		{ "GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n", 400, "a space before the colon" },
		{ "GET /metrics HTTP/1.1\r\nHost a\r\n\r\n", 400, "a field without colon" },
		{ "GET /metrics HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400, "an empty field name" },
		{ "GET /metrics HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 400, "DEL in a value" },
		{ "GET /metrics HTTP/1.1\r\nX: \x01\r\nHost: a\r\n\r\n", 400, "a control byte" },
		{ "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, "a bad field wins over a 404" },
		{ "POST /metrics HTTP/1.1\r\n\r\n", 400, "a missing Host wins over a 405" },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n\x01junk", 200,
		  "nothing after the head" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = status_of(cases[i].req, NULL);

		CHECK(got == cases[i].status, "%s: %d (got %d)", cases[i].what, cases[i].status,
		      got);
	}
	{
		static const char nul[] = "GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n";
		struct metrics_http_request r;
		long end = metrics_http_head_end(nul, sizeof nul - 1);

		metrics_http_parse(nul, end < 0 ? 0 : (size_t)end, &r);
		CHECK(end > 0 && r.status == 400, "a NUL byte in a field: 400");
	}
	CHECK(status_of("HEAD /nope HTTP/1.1\r\nHost: a\r\n\r\n", &head_only) == 404 &&
	              head_only == 1,
	      "HEAD of another path: 404, and no body either");
}

/* The response's Content-Length is the length of what follows the head. */
static int length_is_true(const struct strbuf *b, size_t *body_len)
{
	const char *cl = strstr(b->data, "Content-Length: "), *end = strstr(b->data, "\r\n\r\n");

	if (!cl || !end || cl > end)
		return 0;
	*body_len = (size_t)strtoul(cl + 16, NULL, 10);
	return b->len - (size_t)(end + 4 - b->data) == *body_len;
}

static void test_responses(void)
{
	struct strbuf b = { 0 };
	size_t n = 0;

	metrics_http_respond(&b, 200, 0, METRICS_HTTP_CONTENT_TYPE, "a 1\n", 4);
	CHECK(!b.failed && strncmp(b.data, "HTTP/1.1 200 OK\r\n", 17) == 0 &&
	              strstr(b.data, "\r\nContent-Type: text/plain; version=0.0.4; "
	                             "charset=utf-8\r\n") &&
	              strstr(b.data, "\r\nConnection: close\r\n") && length_is_true(&b, &n) &&
	              n == 4,
	      "a 200 says its type, its length and that the connection closes");
	strbuf_free(&b);
	metrics_http_respond(&b, 200, 1, METRICS_HTTP_CONTENT_TYPE, "a 1\n", 4);
	CHECK(!b.failed && strstr(b.data, "Content-Length: 4\r\n") &&
	              strcmp(b.data + b.len - 4, "\r\n\r\n") == 0,
	      "HEAD: the length of the body it would get, and no body");
	strbuf_free(&b);
	metrics_http_error(&b, 405, 0, "use GET");
	CHECK(!b.failed && strncmp(b.data, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0 &&
	              strstr(b.data, "\r\nAllow: GET, HEAD\r\n") && length_is_true(&b, &n) &&
	              strstr(b.data, "use GET\n"),
	      "a 405 says Allow, and why in its body");
	strbuf_free(&b);
	metrics_http_error(&b, 431, 0, "too long");
	CHECK(!b.failed &&
	              strncmp(b.data, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46) ==
	                      0 &&
	              !strstr(b.data, "Allow:") && length_is_true(&b, &n),
	      "a 431, without Allow");
	strbuf_free(&b);
	CHECK(strcmp(metrics_http_reason(408), "Request Timeout") == 0 &&
	              strcmp(metrics_http_reason(505), "HTTP Version Not Supported") == 0,
	      "reason phrases");
}

int main(void)
{
	test_head_end();
	test_accepted();
	test_refused();
	test_responses();
	return unit_done();
}
