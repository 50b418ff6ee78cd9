/* A minimal HTTP/1.x request reader for GET /metrics (metrics_http.h). It follows
 * RFC 9112 where a scraper could tell, and refuses the rest with a status: no body
 * is ever read (the connection closes after the reply, so none can be mistaken for
 * a next request), every line is checked byte by byte against the grammar, and
 * nothing is looked at past the head.
 * Calls: strbuf. Touches: nothing; pure. */
#include "metrics_http.h"

#include "strbuf.h"

#include <stdio.h>
#include <string.h>

static const char metrics_path[] = "/metrics";

/* ---- the head's end ---- */

static size_t skip_empty_lines(const char *in, size_t len)
{
	size_t i = 0;

	for (;;) {
		if (i < len && in[i] == '\n')
			i++;
		else if (i + 1 < len && in[i] == '\r' && in[i + 1] == '\n')
			i += 2;
		else
			return i;
	}
}

/* The blank line (LF or CRLF) right after a line's LF ends the head. */
long metrics_http_head_end(const char *in, size_t len)
{
	size_t start = skip_empty_lines(in, len);

	for (size_t i = start; i < len; i++) {
		const char *nl = memchr(in + i, '\n', len - i);

		if (!nl)
			return -1;
		i = (size_t)(nl - in) + 1;
		if (i < len && in[i] == '\n')
			return (long)i;
		if (i + 1 < len && in[i] == '\r' && in[i + 1] == '\n')
			return (long)i;
		i--; /* the loop's i++ */
	}
	return -1;
}

/* ---- the grammar's pieces ---- */

/* tchar (RFC 9110 5.6.2): what a method or a field name is made of. */
static int is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A field value's bytes: visible ASCII, blanks, and obs-text. */
static int is_field_byte(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int fail(struct metrics_http_request *r, int status, const char *why)
{
	r->status = status;
	r->why = why;
	return -1;
}

/* One line: [*p, end of line), its LF (and a CR before it) cut off. Returns the
 * length, or -1 for a CR that is not right before the LF (RFC 9112 2.2: bare CR is
 * invalid). The head's lines all end with LF (metrics_http_head_end). */
static long next_line(const char *in, size_t len, size_t *pos, const char **line)
{
	const char *start = in + *pos, *nl = memchr(start, '\n', len - *pos);
	size_t n = nl ? (size_t)(nl - start) : len - *pos;

	*line = start;
	*pos += n + (nl ? 1 : 0);
	if (n > 0 && start[n - 1] == '\r')
		n--;
	if (memchr(start, '\r', n))
		return -1;
	return (long)n;
}

static int case_prefix(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != prefix[i])
			return 0;
	}
	return 1;
}

/* The path of a request target: origin-form as it is, absolute-form ("http://host
 * /metrics", which a proxy sends) from its first '/' after the authority; the query
 * is left out (a scraper's params are ignored). Sets *path and *n. */
static int target_path(const char *t, size_t n, const char **path, size_t *plen)
{
	const char *q;

	if (case_prefix(t, n, "http://") || case_prefix(t, n, "https://")) {
		const char *auth = (const char *)memchr(t, '/', n) + 2, *slash;

		slash = memchr(auth, '/', n - (size_t)(auth - t));
		if (slash == auth)
			return -1; /* no authority */
		if (!slash) {
			*path = "/";
			*plen = 1;
			return 0;
		}
		n -= (size_t)(slash - t);
		t = slash;
	}
	if (n == 0 || t[0] != '/')
		return -1; /* "*" and authority-form are for OPTIONS and CONNECT */
	q = memchr(t, '?', n);
	*path = t;
	*plen = q ? (size_t)(q - t) : n;
	return 0;
}

/* ---- the request line and the fields ---- */

/* method SP request-target SP HTTP-version: the status it asks for, or -1. */
static int parse_request_line(const char *l, size_t n, struct metrics_http_request *r, int *minor)
{
	size_t m = 0, t, tend;
	const char *path;
	size_t plen;

	while (m < n && is_tchar((unsigned char)l[m]))
		m++;
	if (m == 0 || m == n || l[m] != ' ')
		return fail(r, 400, "malformed request line");
	/* A response to HEAD never has a body, whatever its status. */
	r->head_only = m == 4 && memcmp(l, "HEAD", 4) == 0;
	t = m + 1;
	tend = t;
	while (tend < n && (unsigned char)l[tend] > 0x20 && (unsigned char)l[tend] < 0x7f)
		tend++;
	if (tend == t || tend == n || l[tend] != ' ')
		return fail(r, 400, "malformed request line");
	if (n - tend - 1 != 8 || memcmp(l + tend + 1, "HTTP/", 5) != 0 || l[tend + 7] != '.' ||
	    l[tend + 6] < '0' || l[tend + 6] > '9' || l[tend + 8] < '0' || l[tend + 8] > '9')
		return fail(r, 400, "malformed HTTP version");
	if (l[tend + 6] != '1')
		return fail(r, 505, "only HTTP/1.x is served");
	*minor = l[tend + 8] - '0';
	if (target_path(l + t, tend - t, &path, &plen) < 0)
		return fail(r, 400, "malformed request target");
	if (plen != sizeof metrics_path - 1 || memcmp(path, metrics_path, plen) != 0)
		return fail(r, 404, "only /metrics is served here");
	if (r->head_only || (m == 3 && memcmp(l, "GET", 3) == 0))
		return 200;
	return fail(r, 405, "/metrics takes GET or HEAD");
}

/* field-name ":" OWS field-value OWS. 1 for a Host field, 0 for another, -1. */
static int parse_field(const char *l, size_t n, struct metrics_http_request *r)
{
	size_t k = 0;

	if (n > 0 && (l[0] == ' ' || l[0] == '\t'))
		return fail(r, 400, "obsolete line folding");
	while (k < n && is_tchar((unsigned char)l[k]))
		k++;
	if (k == 0 || k == n || l[k] != ':')
		return fail(r, 400, "malformed header field");
	for (size_t i = k + 1; i < n; i++)
		if (!is_field_byte((unsigned char)l[i]))
			return fail(r, 400, "control character in a header field");
	return k == 4 && case_prefix(l, 4, "host");
}

void metrics_http_parse(const char *in, size_t len, struct metrics_http_request *r)
{
	size_t pos = skip_empty_lines(in, len);
	int status, minor = 0, hosts = 0;
	const char *line;
	long n;

	memset(r, 0, sizeof *r);
	n = next_line(in, len, &pos, &line);
	if (n < 0) {
		fail(r, 400, "bare CR in the request line");
		return;
	}
	status = parse_request_line(line, (size_t)n, r, &minor);
	/* The fields are checked whatever the line asked: a malformed head is a 400,
	 * never a 404 or a 405 that would suggest it was understood. */
	while (pos < len) {
		int host;

		n = next_line(in, len, &pos, &line);
		if (n < 0) {
			fail(r, 400, "bare CR in a header field");
			return;
		}
		host = parse_field(line, (size_t)n, r);
		if (host < 0)
			return;
		hosts += host;
	}
	if (status < 0 && r->status != 404 && r->status != 405)
		return; /* the request line's own 400 or 505 */
	/* RFC 9112 3.2: a 1.1 request without Host, or with two, is answered 400. */
	if (hosts > 1 || (minor >= 1 && hosts == 0)) {
		fail(r, 400, hosts ? "more than one Host field" : "HTTP/1.1 needs a Host field");
		return;
	}
	if (status == 200) {
		r->status = 200;
		r->why = "ok";
	}
}

/* ---- responses ---- */

const char *metrics_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

void metrics_http_respond(struct strbuf *b, int status, int head_only, const char *content_type,
                          const char *body, size_t len)
{
	strbuf_printf(b,
	              "HTTP/1.1 %d %s\r\n"
	              "Content-Type: %s\r\n"
	              "Content-Length: %zu\r\n"
	              "%s"
	              "Cache-Control: no-store\r\n"
	              "Connection: close\r\n"
	              "\r\n",
	              status, metrics_http_reason(status), content_type, len,
	              status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only)
		strbuf_append(b, body, len);
}

void metrics_http_error(struct strbuf *b, int status, int head_only, const char *why)
{
	char body[160];
	int n = snprintf(body, sizeof body, "%d %s: %s\n", status, metrics_http_reason(status),
	                 why);

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof body)
		n = (int)sizeof body - 1;
	metrics_http_respond(b, status, head_only, "text/plain; charset=utf-8", body, (size_t)n);
}
