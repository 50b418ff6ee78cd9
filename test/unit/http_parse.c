/* The HTTP request parser against a table of heads from RFC 9110/9112: each one's
 * exact outcome (complete, incomplete, or the status to answer). */
#include "http_parse.h"
#include "unit.h"

#define H(s) s, sizeof(s) - 1

static const struct {
	const char *text;
	size_t len;
	int want;
	const char *why;
} cases[] = {
	{ H("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 1, "a plain GET" },
	{ H("HEAD /x HTTP/1.0\r\n\r\n"), 1, "HTTP/1.0 needs no Host" },
	{ H("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 1, "an empty line before is ignored" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\n"), 0, "no empty line yet: incomplete" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\n\r"), 0, "a CR at the end: incomplete" },
	{ H("GET / HTTP/1.1\r\n\r\n"), 400, "HTTP/1.1 without Host" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400, "Host twice" },
	{ H("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400, "a blank in Host" },
	{ H("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400, "a slash in Host" },
	{ H("GET / HTTP/1.1\r\nHost: a:8o\r\n\r\n"), 400, "a Host port not digits" },
	{ H("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n"), 400, "a bad escape in Host" },
	{ H("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), 400, "an IP literal not closed" },
	{ H("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"), 400, "a byte after an IP literal" },
	{ H("GET / HTTP/1.0\r\nHost: a@b\r\n\r\n"), 400, "userinfo in Host, HTTP/1.0 too" },
	{ H("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 1, "an empty Host" },
	{ H("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 1, "an IP literal and port" },
	{ H("GET / HTTP/1.1\r\nHost: a-1.b_c~%41:\r\n\r\n"), 1, "reg-name, empty port" },
	{ H("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400, "bare LF" },
	{ H("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n"), 400, "bare CR" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\n x\r\n\r\n"), 400, "obs-fold" },
	{ H("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400, "a blank before the colon" },
	{ H("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n"), 400, "an empty field name" },
	{ H("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"), 400, "NUL in a value" },
	{ H("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n"), 400, "a control byte in a value" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n"), 1, "obs-text in a value" },
	{ H("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "two spaces in the request line" },
	{ H("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400, "a blank after the version" },
	{ H("GET / http/1.1\r\nHost: a\r\n\r\n"), 400, "a lower-case version" },
	{ H("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505, "HTTP/2.0" },
	{ H("GET / HTTP/0.9\r\n\r\n"), 505, "HTTP/0.9" },
	{ H("GET / HTTP/1.9\r\nHost: a\r\n\r\n"), 1, "a later 1.x is served as 1.1" },
	{ H("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "an invalid method" },
	{ H("get / HTTP/1.1\r\nHost: a\r\n\r\n"), 1, "a lower-case method is another token" },
	{ H("GET x HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "a target that is no path" },
	{ H("GET http://h HTTP/1.1\r\nHost: a\r\n\r\n"), 1, "absolute-form" },
	{ H("GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "absolute-form, no authority" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"), 1, "Content-Length" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"), 400, "a signed length" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"), 400, "a hex length" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"), 400, "a list" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400,
	  "Content-Length twice" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  400, "Content-Length and Transfer-Encoding" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), 501, "TE gzip" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), 413, "chunked" },
	{ H("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, "TE in HTTP/1.0" },
};

static void check_limits(void)
{
	static char buf[HTTP_HEAD_MAX + 100];
	struct http_request r;
	size_t n;

	memset(buf, 'a', sizeof buf);
	buf[0] = 'G';
	buf[1] = 'E';
	buf[2] = 'T';
	buf[3] = ' ';
	buf[4] = '/';
	CHECK(http_parse_request(buf, HTTP_REQUEST_LINE_MAX + 2, &r) == 414,
	      "a request line over %d bytes: 414 before the line ends", HTTP_REQUEST_LINE_MAX);
	n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(buf + n, 'b', HTTP_HEADER_LINE_MAX);
	CHECK(http_parse_request(buf, n + HTTP_HEADER_LINE_MAX, &r) == 431,
	      "a field line over %d bytes: 431", HTTP_HEADER_LINE_MAX);
	n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX + 1; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "X: y\r\n");
	n += (size_t)snprintf(buf + n, sizeof buf - n, "\r\n");
	CHECK(http_parse_request(buf, n, &r) == 431, "more than %d field lines: 431",
	      HTTP_HEADERS_MAX);
	n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: a\r\n");
	while (n < HTTP_HEAD_MAX)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "X-Long: %0200d\r\n", 1);
	CHECK(http_parse_request(buf, HTTP_HEAD_MAX, &r) == 431,
	      "no end of the head within %d bytes: 431", HTTP_HEAD_MAX);
}

static void check_fields(void)
{
	static const char req[] = "GET http://example.org/a%20b?q HTTP/1.1\r\n"
				  "Host: example.org\r\n"
				  "Connection: Keep-Alive, Close\r\n"
				  "If-None-Match:   \"x\"  \r\n"
				  "Range: bytes=1-2\r\n"
				  "Content-Length: 007\r\n"
				  "\r\nGET / HTTP/1.1\r\n";
	struct http_request r;

	CHECK(http_parse_request(req, sizeof req - 1, &r) == 1, "a full request");
	CHECK(r.target.len == 8 && memcmp(r.target.p, "/a%20b?q", 8) == 0,
	      "absolute-form is reduced to its path (%.*s)", (int)r.target.len, r.target.p);
	CHECK(!r.keep_alive, "Connection: close wins over keep-alive");
	CHECK(http_span_is(r.if_none_match, "\"x\""), "blanks around a value are trimmed");
	CHECK(r.content_length == 7, "Content-Length 007 is 7");
	CHECK(r.head_len == sizeof req - 1 - strlen("GET / HTTP/1.1\r\n"),
	      "the head ends at its empty line (pipelined bytes after it are left)");
	CHECK(r.method == HTTP_GET && r.version_minor == 1, "GET, HTTP/1.1");
	CHECK(http_parse_request("PATCH / HTTP/1.0\r\n\r\n", 20, &r) == 1 &&
	              r.method == HTTP_UNKNOWN,
	      "PATCH (not in RFC 9110) is an unknown method: 501");
	CHECK(http_parse_request("DELETE / HTTP/1.0\r\n\r\n", 21, &r) == 1 &&
	              r.method == HTTP_OTHER_REGISTERED,
	      "DELETE is registered: 405");
	CHECK(http_parse_request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 42, &r) == 1 &&
	              r.keep_alive,
	      "HTTP/1.0 keeps alive only when asked");
}

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct http_request r;
		int got = http_parse_request(cases[i].text, cases[i].len, &r);

		CHECK(got == cases[i].want, "%s: %d (got %d)", cases[i].why, cases[i].want, got);
	}
	check_limits();
	check_fields();
	return unit_done();
}
