/* The HTTP/1.1 request-head parser and chunked-body decoder. Strict where leniency
 * lets two parsers disagree about where a request ends (request smuggling): CR and LF
 * only as a pair, no NUL, no obsolete line folding, no whitespace before a colon, one
 * Content-Length of plain digits, never together with Transfer-Encoding, a chunk size
 * of hex digits and nothing else. Bare LF is refused like bare CR, in the head and in
 * a chunked body: one rule, the strict one (RFC 9112 section 2.2 allows either).
 * Calls: nothing. Touches: nothing; pure. */
#include "http_parse.h"

#include <string.h>

/* RFC 9110 section 5.6.2: tchar. */
static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP or HTAB; obs-text (0x80-0xff) is allowed and never interpreted. */
static int is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

int http_span_is(struct http_span s, const char *lower)
{
	size_t n = strlen(lower);

	if (s.len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)lower[i])
			return 0;
	}
	return 1;
}

/* The methods RFC 9110 section 9 defines; GET and HEAD are served, the others 405.
 * Method names are case-sensitive (section 9.1). */
static enum http_method_class classify_method(struct http_span m)
{
	static const char *const others[] = {
		"POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE"
	};

	if (m.len == 3 && memcmp(m.p, "GET", 3) == 0)
		return HTTP_GET;
	if (m.len == 4 && memcmp(m.p, "HEAD", 4) == 0)
		return HTTP_HEAD;
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		if (m.len == strlen(others[i]) && memcmp(m.p, others[i], m.len) == 0)
			return HTTP_OTHER_REGISTERED;
	return HTTP_UNKNOWN;
}

/* Where the head ends: the byte after the empty line, 0 while incomplete, or a
 * negative status. Checks every byte once for NUL and lone CR or LF, and the line
 * limits, so that an over-long line is refused as soon as it is over the limit. */
static long find_head_end(const char *buf, size_t len, size_t start)
{
	size_t line_start = start, lines = 0;

	for (size_t j = start; j < len; j++) {
		unsigned char c = (unsigned char)buf[j];
		size_t line_len = j - line_start;

		if (lines == 0 && line_len > HTTP_REQUEST_LINE_MAX)
			return -414;
		if (lines > 0 && line_len > HTTP_HEADER_LINE_MAX)
			return -431;
		if (c == '\0')
			return -400;
		if (c == '\r') {
			if (j + 1 < len && buf[j + 1] != '\n')
				return -400; /* bare CR */
			continue;
		}
		if (c != '\n')
			continue;
		if (j == line_start || buf[j - 1] != '\r')
			return -400; /* bare LF */
		if (j - 1 == line_start) {
			if (lines == 0)
				return -400; /* cannot happen: leading empty lines are skipped */
			return j + 1 > HTTP_HEAD_MAX ? -431 : (long)(j + 1);
		}
		if (++lines > HTTP_HEADERS_MAX + 1)
			return -431;
		line_start = j + 1;
	}
	if (len >= HTTP_HEAD_MAX)
		return lines == 0 ? -414 : -431;
	return 0;
}

/* "HTTP/" DIGIT "." DIGIT, exactly. */
static int parse_version(const char *p, size_t n, int *minor)
{
	if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' ||
	    p[7] < '0' || p[7] > '9')
		return -400;
	if (p[5] != '1')
		return -505;
	*minor = p[7] == '0' ? 0 : 1; /* a later 1.x is answered as 1.1 (RFC 9110 2.5) */
	return 0;
}

/* origin-form, or absolute-form reduced to its path (RFC 9112 3.2.2: the authority
 * of an absolute-form target is not a file path, whatever Host says). */
static int reduce_target(struct http_span *t)
{
	size_t skip;

	if (t->len > 0 && t->p[0] == '/')
		return 0;
	if (t->len > 7 && http_span_is((struct http_span){ t->p, 7 }, "http://"))
		skip = 7;
	else if (t->len > 8 && http_span_is((struct http_span){ t->p, 8 }, "https://"))
		skip = 8;
	else
		return -400;
	t->p += skip;
	t->len -= skip;
	if (t->len == 0 || t->p[0] == '/' || t->p[0] == '@')
		return -400; /* an empty authority */
	while (t->len > 0 && t->p[0] != '/') {
		if (t->p[0] == '?' || t->p[0] == '#')
			return -400;
		t->p++;
		t->len--;
	}
	if (t->len == 0)
		*t = (struct http_span){ "/", 1 };
	return 0;
}

static int parse_request_line(const char *p, size_t n, struct http_request *r)
{
	size_t i = 0, t0;
	int rc;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return -400;
	r->method_name = (struct http_span){ p, i };
	r->method = classify_method(r->method_name);
	t0 = ++i;
	while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
		i++;
	if (i == t0 || i >= n || p[i] != ' ')
		return -400;
	r->target = (struct http_span){ p + t0, i - t0 };
	rc = parse_version(p + i + 1, n - i - 1, &r->version_minor);
	if (rc < 0)
		return rc;
	if (r->method == HTTP_GET || r->method == HTTP_HEAD)
		return reduce_target(&r->target);
	return 0;
}

/* 1*DIGIT, at most 18 of them (fits int64_t): no sign, no blank, no list. */
static int parse_content_length(struct http_span v, int64_t *out)
{
	int64_t n = 0;

	if (v.len == 0 || v.len > 18)
		return -400;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -400;
		n = n * 10 + (v.p[i] - '0');
	}
	*out = n;
	return 0;
}

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986 unreserved / sub-delims: the bytes of a reg-name besides pct-encoded. */
static int is_host_char(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL;
}

/* Host = uri-host [ ":" port ] (RFC 9110 7.2); an empty one is valid (a target
 * URI without an authority). RFC 9112 3.2: any other value is 400. An IP literal
 * is checked for its brackets and its alphabet only. */
static int valid_host(struct http_span v)
{
	size_t i = 0;

	if (v.len > 0 && v.p[0] == '[') {
		for (i = 1; i < v.len && v.p[i] != ']'; i++)
			if (!is_hex((unsigned char)v.p[i]) &&
			    !is_host_char((unsigned char)v.p[i]) && v.p[i] != ':')
				return 0;
		if (i++ == v.len)
			return 0;
	} else {
		for (; i < v.len && v.p[i] != ':'; i++) {
			if (v.p[i] == '%') {
				if (i + 2 >= v.len || !is_hex((unsigned char)v.p[i + 1]) ||
				    !is_hex((unsigned char)v.p[i + 2]))
					return 0;
				i += 2;
			} else if (!is_host_char((unsigned char)v.p[i])) {
				return 0;
			}
		}
	}
	if (i == v.len)
		return 1;
	if (v.p[i] != ':')
		return 0;
	while (++i < v.len)
		if (v.p[i] < '0' || v.p[i] > '9')
			return 0;
	return 1;
}

/* Connection: a comma-separated list of tokens. */
static void parse_connection(struct http_span v, int *close, int *keep_alive)
{
	size_t i = 0;

	while (i < v.len) {
		size_t s, e;

		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		s = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		e = i;
		while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
			e--;
		if (http_span_is((struct http_span){ v.p + s, e - s }, "close"))
			*close = 1;
		else if (http_span_is((struct http_span){ v.p + s, e - s }, "keep-alive"))
			*keep_alive = 1;
	}
}

struct head_state {
	int hosts;
	int conn_close, conn_keep_alive;
	/* Transfer-Encoding, every field as one list: codings named, of them chunked,
	 * whether the last one is chunked, an element that is no coding */
	int te_present, te_codings, te_chunked, te_last_chunked, te_bad;
};

/* One Transfer-Encoding field: its comma-separated codings (blanks around them; a
 * coding's parameters after ';' are not looked at: none is understood here). */
static void take_transfer_encoding(struct http_span v, struct head_state *h)
{
	size_t i = 0;

	h->te_present = 1;
	while (i <= v.len) {
		size_t s = i, e;

		while (i < v.len && v.p[i] != ',')
			i++;
		e = i++;
		while (s < e && (v.p[s] == ' ' || v.p[s] == '\t'))
			s++;
		while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
			e--;
		if (e == s) {
			h->te_bad = 1; /* an empty element: "chunked," or ", chunked" */
			continue;
		}
		size_t name_end = e;

		for (size_t k = s; k < e; k++)
			if (v.p[k] == ';') {
				name_end = k;
				break;
			}
		h->te_codings++;
		h->te_last_chunked =
			http_span_is((struct http_span){ v.p + s, name_end - s }, "chunked");
		h->te_chunked += h->te_last_chunked;
		if (h->te_last_chunked && name_end < e)
			h->te_bad =
				1; /* chunked has no parameters: a peer could read it otherwise */
	}
}

static int take_field(struct http_span name, struct http_span v, struct http_request *r,
                      struct head_state *h)
{
	if (http_span_is(name, "host")) {
		h->hosts++;
		if (!valid_host(v))
			return -400;
	} else if (http_span_is(name, "content-length")) {
		if (r->content_length >= 0)
			return -400; /* repeated, even with the same value */
		return parse_content_length(v, &r->content_length);
	} else if (http_span_is(name, "transfer-encoding")) {
		take_transfer_encoding(v, h);
	} else if (http_span_is(name, "expect")) {
		r->expect_continue = http_span_is(v, "100-continue");
	} else if (http_span_is(name, "connection")) {
		parse_connection(v, &h->conn_close, &h->conn_keep_alive);
	} else if (http_span_is(name, "if-none-match")) {
		r->if_none_match = v;
	} else if (http_span_is(name, "if-modified-since")) {
		r->if_modified_since = v;
	} else if (http_span_is(name, "if-range")) {
		r->if_range = v;
	} else if (http_span_is(name, "referer")) {
		r->referer = v;
	} else if (http_span_is(name, "user-agent")) {
		r->user_agent = v;
	} else if (http_span_is(name, "range")) {
		r->range_repeated |= r->range.p != NULL;
		r->range = v;
	}
	return 0;
}

static int parse_field_line(const char *p, size_t n, struct http_request *r, struct head_state *h)
{
	size_t i = 0, s, e;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		return -400; /* obs-fold (RFC 9112 5.2) */
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ':')
		return -400; /* empty name, or a blank or other byte before the colon */
	s = i + 1;
	while (s < n && (p[s] == ' ' || p[s] == '\t'))
		s++;
	e = n;
	while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
		e--;
	for (size_t k = s; k < e; k++)
		if (!is_value_char((unsigned char)p[k]))
			return -400;
	return take_field((struct http_span){ p, i }, (struct http_span){ p + s, e - s }, r, h);
}

/* The framing and Host rules, once every field is known. */
static int check_head(struct http_request *r, const struct head_state *h)
{
	if (r->version_minor == 1 ? h->hosts != 1 : h->hosts > 1)
		return -400;
	if (h->te_present) {
		if (r->content_length >= 0 || r->version_minor == 0)
			return -400; /* RFC 9112 6.1: both, or TE in HTTP/1.0: unrecoverable */
		/* RFC 9112 6.3: a final coding other than chunked leaves the body's end
		 * unknown (400), and so does chunked applied twice (7). Chunked last after
		 * another coding frames a body, but the coding is not understood: 501. */
		if (h->te_bad || !h->te_last_chunked || h->te_chunked > 1)
			return -400;
		if (h->te_codings > 1)
			return -501;
		r->chunked = 1;
	}
	r->keep_alive =
		r->version_minor == 1 ? !h->conn_close : h->conn_keep_alive && !h->conn_close;
	if (r->version_minor == 0)
		r->expect_continue = 0; /* RFC 9110 10.1.1: ignored in HTTP/1.0 */
	return 1;
}

int http_parse_request(const char *buf, size_t len, struct http_request *r)
{
	struct head_state h = { 0 };
	size_t start = 0, line, next;
	long end;
	int rc;

	/* RFC 9112 2.2: empty lines before a request line are ignored. */
	while (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n') {
		start += 2;
		if (start / 2 > HTTP_LEADING_CRLF_MAX)
			return 400;
	}
	end = find_head_end(buf, len, start);
	if (end <= 0)
		return (int)-end;
	memset(r, 0, sizeof *r);
	r->content_length = -1;
	r->head_len = (size_t)end;
	line = (size_t)((const char *)memchr(buf + start, '\n', (size_t)end - start) - buf);
	rc = parse_request_line(buf + start, line - 1 - start, r);
	if (rc < 0)
		return -rc;
	for (;; line = next) {
		const char *p = buf + line + 1;

		next = (size_t)((const char *)memchr(p, '\n', (size_t)end - line - 1) - buf);
		if (next == line + 2)
			break; /* the empty line */
		rc = parse_field_line(p, next - line - 2, r, &h);
		if (rc < 0)
			return -rc;
	}
	rc = check_head(r, &h);
	return rc < 0 ? -rc : rc;
}

/* ---- chunked bodies (RFC 9112 7.1) ---- */

enum chunk_state {
	CH_SIZE,         /* hex digits */
	CH_EXT_AFTER,    /* after the size or an extension: ';', blanks or CR */
	CH_EXT_BWS,      /* blanks, which must lead to ';' */
	CH_EXT_NAME0,    /* blanks, then a name's first byte */
	CH_EXT_NAME,     /* a name: '=', ';', blanks or CR after it */
	CH_EXT_NAME_BWS, /* blanks after a name: '=' or ';' next */
	CH_EXT_VALUE0,   /* blanks, then a token or a quoted string */
	CH_EXT_TOKEN,
	CH_EXT_QUOTED,
	CH_EXT_QPAIR, /* the byte after a backslash in a quoted string */
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TR_START, /* a trailer field line, or the empty line that ends the body */
	CH_TR_NAME,
	CH_TR_VALUE,
	CH_TR_LF,
	CH_END_LF,
	CH_OVER /* status says how it ended */
};

int http_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* qdtext and the byte of a quoted-pair (RFC 9110 5.6.4), obs-text included. */
static int is_qdtext(unsigned char c)
{
	return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c != 0x5c && c != 0x7f);
}

static int is_pair_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

void http_chunked_init(struct http_chunked *d, uint64_t limit)
{
	memset(d, 0, sizeof *d);
	d->state = CH_SIZE;
	d->limit = limit;
}

uint64_t http_chunked_data_left(const struct http_chunked *d)
{
	return d->state == CH_DATA ? d->left : 0;
}

/* The size is known: 413 at once when it would take the body over the limit. */
static int end_size(struct http_chunked *d)
{
	if (d->digits == 0)
		return -1; /* no size at all */
	if (d->size > d->limit - d->body) {
		d->status = 413;
		return -1;
	}
	d->body += d->size;
	d->left = d->size;
	return 0;
}

/* One byte of a size line: the next state, CH_OVER when it is refused. */
static int size_line_byte(struct http_chunked *d, unsigned char c)
{
	int blank = c == ' ' || c == '\t', v;

	switch (d->state) {
	case CH_SIZE:
		v = http_hex_value(c);
		if (v >= 0) {
			if (d->digits++ == HTTP_CHUNK_DIGITS_MAX)
				return CH_OVER;
			d->size = d->size << 4 | (uint64_t)v;
			return CH_SIZE;
		}
		if (end_size(d) < 0)
			return CH_OVER;
		/* the byte after the digits, read as one after an extension */
		/* fall through */
	case CH_EXT_AFTER:
		if (c == '\r')
			return CH_SIZE_LF;
		/* fall through */
	case CH_EXT_BWS:
		return c == ';' ? CH_EXT_NAME0 : blank ? CH_EXT_BWS : CH_OVER;
	case CH_EXT_NAME0:
		return blank ? CH_EXT_NAME0 : is_tchar(c) ? CH_EXT_NAME : CH_OVER;
	case CH_EXT_NAME:
		if (is_tchar(c))
			return CH_EXT_NAME;
		if (c == '\r')
			return CH_SIZE_LF;
		/* fall through */
	case CH_EXT_NAME_BWS:
		return c == '='   ? CH_EXT_VALUE0
		       : c == ';' ? CH_EXT_NAME0
		       : blank    ? CH_EXT_NAME_BWS
		                  : CH_OVER;
	case CH_EXT_VALUE0:
		return blank         ? CH_EXT_VALUE0
		       : c == '"'    ? CH_EXT_QUOTED
		       : is_tchar(c) ? CH_EXT_TOKEN
		                     : CH_OVER;
	case CH_EXT_TOKEN:
		if (is_tchar(c))
			return CH_EXT_TOKEN;
		return c == '\r'  ? CH_SIZE_LF
		       : c == ';' ? CH_EXT_NAME0
		       : blank    ? CH_EXT_BWS
		                  : CH_OVER;
	case CH_EXT_QUOTED:
		return c == '"'       ? CH_EXT_AFTER
		       : c == '\\'    ? CH_EXT_QPAIR
		       : is_qdtext(c) ? CH_EXT_QUOTED
		                      : CH_OVER;
	case CH_EXT_QPAIR:
		return is_pair_char(c) ? CH_EXT_QUOTED : CH_OVER;
	default: /* CH_SIZE_LF */
		if (c != '\n')
			return CH_OVER; /* a bare CR */
		return d->size == 0 ? CH_TR_START : CH_DATA;
	}
}

/* One byte of the trailer section, checked like a field line of the head and
 * dropped: a field there never changes how the request is read. */
static int trailer_byte(struct http_chunked *d, unsigned char c)
{
	if (++d->trailer_len > HTTP_HEAD_MAX) {
		d->status = 431;
		return CH_OVER;
	}
	switch (d->state) {
	case CH_TR_START:
		if (c == '\r')
			return CH_END_LF;
		if (!is_tchar(c))
			return CH_OVER; /* obs-fold, an empty name, a bare LF */
		if (++d->trailer_fields > HTTP_HEADERS_MAX) {
			d->status = 431;
			return CH_OVER;
		}
		d->line_len = 1;
		return CH_TR_NAME;
	case CH_TR_NAME:
	case CH_TR_VALUE:
		if (++d->line_len > HTTP_HEADER_LINE_MAX) {
			d->status = 431;
			return CH_OVER;
		}
		if (d->state == CH_TR_NAME)
			return is_tchar(c) ? CH_TR_NAME : c == ':' ? CH_TR_VALUE : CH_OVER;
		return c == '\r' ? CH_TR_LF : is_value_char(c) ? CH_TR_VALUE : CH_OVER;
	case CH_TR_LF:
		return c == '\n' ? CH_TR_START : CH_OVER;
	default: /* CH_END_LF */
		if (c != '\n')
			return CH_OVER;
		d->status = 1;
		return CH_OVER;
	}
}

/* One framing byte between chunks: CRLF after the data, then the size line. */
static int framing_byte(struct http_chunked *d, unsigned char c)
{
	if (++d->framing > d->limit) {
		d->status = 413; /* tiny chunks: the framing is bounded like the data */
		return CH_OVER;
	}
	switch (d->state) {
	case CH_DATA_CR:
		return c == '\r' ? CH_DATA_LF : CH_OVER;
	case CH_DATA_LF:
		if (c != '\n')
			return CH_OVER;
		d->digits = 0;
		d->size = 0;
		d->line_len = 0;
		return CH_SIZE;
	default:
		if (++d->line_len > HTTP_CHUNK_LINE_MAX)
			return CH_OVER;
		return size_line_byte(d, c);
	}
}

int http_chunked_feed(struct http_chunked *d, const char *p, size_t n, size_t *used)
{
	size_t i = 0;

	while (i < n && d->state != CH_OVER) {
		if (d->state == CH_DATA) {
			uint64_t take = d->left < n - i ? d->left : n - i;

			i += (size_t)take;
			d->left -= take;
			if (d->left == 0)
				d->state = CH_DATA_CR;
			continue;
		}
		if (d->state >= CH_TR_START)
			d->state = trailer_byte(d, (unsigned char)p[i]);
		else
			d->state = framing_byte(d, (unsigned char)p[i]);
		i++;
		if (d->state == CH_OVER && d->status == 0)
			d->status = 400;
	}
	*used = i;
	return d->status;
}
