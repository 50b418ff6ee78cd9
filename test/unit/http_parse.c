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
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), 400,
	  "TE gzip: the last coding is not chunked" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), 400,
	  "TE chunked, gzip" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n"), 400,
	  "TE with an empty element" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n"), 400,
	  "TE chunked with a parameter (it has none)" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip;q=1 , chunked\r\n\r\n"), 501,
	  "TE a coding with a parameter, then chunked" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), 1, "chunked" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"), 1,
	  "a coding's name is case-insensitive" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501,
	  "TE gzip, chunked" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), 400,
	  "TE chunked, chunked" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	  400, "TE chunked twice" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"), 400,
	  "TE identity" },
	{ H("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"),
	  400, "Transfer-Encoding and Content-Length" },
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

/* Chunked bodies, followed by "NEXT" (a pipelined request) unless incomplete. The
 * limit is 64 bytes of data (and 64 of framing). */
#define CHUNK_LIMIT 64

static const struct {
	const char *text;
	size_t len;
	int want;
	const char *why;
} chunks[] = {
	{ H("0\r\n\r\n"), 1, "an empty body: the last chunk alone" },
	{ H("5\r\nhello\r\n0\r\n\r\n"), 1, "one chunk" },
	{ H("5\r\nhe\r\nl\r\n1\r\n\n\r\n0\r\n\r\n"), 1, "CR and LF inside data are data" },
	{ H("a\r\n0123456789\r\nA\r\n0123456789\r\n000\r\n\r\n"), 1, "hex either case, zeros" },
	{ H("0000000000000005\r\nhello\r\n0\r\n\r\n"), 1, "16 digits" },
	{ H("5;a=b\r\nhello\r\n0;last\r\n\r\n"), 1, "extensions, with and without a value" },
	{ H("5 ; a = \"q\\\"t\" ;b;c=d\r\nhello\r\n0\r\n\r\n"), 1,
	  "extensions with blanks before and after ';' and '=', a quoted string" },
	{ H("5;a=\"\xc3\xa9\t\"\r\nhello\r\n0\r\n\r\n"), 1, "obs-text and a tab in quotes" },
	{ H("0\r\nX-Sum: 1\r\nY:\r\n\r\n"), 1, "a trailer section is dropped" },
	{ H("0\r\nContent-Length: 5\r\n\r\n"), 1, "a framing field in a trailer changes nothing" },
	{ H("5\r\nhel"), 0, "incomplete data" },
	{ H("5\r\nhello\r\n0\r\n"), 0, "no empty line after the last chunk yet" },
	{ H("5\r\nhello\r\n0\r\nX: y\r\n"), 0, "a trailer, not ended yet" },
	{ H("5;a=\"x"), 0, "an open quoted string" },
	{ H("-1\r\nx\r\n0\r\n\r\n"), 400, "a sign" },
	{ H("+1\r\nx\r\n0\r\n\r\n"), 400, "a plus" },
	{ H(" 5\r\nhello\r\n0\r\n\r\n"), 400, "a blank before the size" },
	{ H("5 \r\nhello\r\n0\r\n\r\n"), 400, "a blank after the size, no extension" },
	{ H("5\t\r\nhello\r\n0\r\n\r\n"), 400, "a tab after the size" },
	{ H("0x5\r\nhello\r\n0\r\n\r\n"), 400, "0x" },
	{ H("\r\nhello\r\n0\r\n\r\n"), 400, "an empty size" },
	{ H("g\r\n0\r\n\r\n"), 400, "not hex" },
	{ H("00000000000000005\r\nhello\r\n0\r\n\r\n"), 400, "17 digits, even zeros" },
	{ H("ffffffffffffffffff\r\n"), 400, "a size over 64 bits" },
	{ H("ffffffffffffffff\r\n"), 413, "a size of 16 digits over the limit" },
	{ H("41\r\n"), 413, "one chunk over the limit" },
	{ H("20\r\n0123456789abcdef0123456789abcdef\r\n21\r\n"), 413,
	  "chunks that add up to more than the limit" },
	{ H("40\r\n0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n0\r\n\r\n"),
	  1, "exactly the limit" },
	{ H("1\r\na\r\n1\r\na\r\n1\r\na\r\n1\r\na\r\n1\r\na\r\n1\r\na\r\n1\r\na\r\n1\r\na\r\n"
	    "1\r\na\r\n1\r\na\r\n1\r\na\r\n1\r\na\r\n1\r\na\r\n1\r\na\r\n"),
	  413, "one-byte chunks: the framing is over the limit" },
	{ H("5\nhello\r\n0\r\n\r\n"), 400, "a bare LF after the size" },
	{ H("5\rhello\r\n0\r\n\r\n"), 400, "a bare CR after the size" },
	{ H("5\r\nhello\n0\r\n\r\n"), 400, "a bare LF after the data" },
	{ H("5\r\nhello\r0\r\n\r\n"), 400, "a bare CR after the data" },
	{ H("5\r\nhelloX\r\n0\r\n\r\n"), 400, "data longer than its size" },
	{ H("5\r\nhell\r\n0\r\n\r\n"), 400, "data shorter than its size" },
	{ H("0\r\n\n"), 400, "a bare LF ends the body" },
	{ H("0\r\n\rX"), 400, "a bare CR ends the body" },
	{ H("5;\r\nhello\r\n0\r\n\r\n"), 400, "an empty extension name" },
	{ H("5;a=\r\nhello\r\n0\r\n\r\n"), 400, "an empty extension value" },
	{ H("5;a b\r\nhello\r\n0\r\n\r\n"), 400, "a blank inside an extension" },
	{ H("5;a=b \r\nhello\r\n0\r\n\r\n"), 400, "a blank at the end of the size line" },
	{ H("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"), 400, "a byte after a quoted string" },
	{ H("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"), 400, "a control byte in quotes" },
	{ H("5;a=\"\\\x7f\"\r\nhello\r\n0\r\n\r\n"), 400, "DEL after a backslash" },
	{ H("5;a=b\x00\r\nhello\r\n0\r\n\r\n"), 400, "NUL in an extension" },
	{ H("5;a=b\r\r\nhello\r\n0\r\n\r\n"), 400, "CR CR LF" },
	{ H("0\r\n X: y\r\n\r\n"), 400, "obs-fold in a trailer" },
	{ H("0\r\nX : y\r\n\r\n"), 400, "a blank before a trailer field's colon" },
	{ H("0\r\n: y\r\n\r\n"), 400, "an empty trailer field name" },
	{ H("0\r\nX: y\nZ: w\r\n\r\n"), 400, "a bare LF in a trailer" },
	{ H("0\r\nX: y\rZ: w\r\n\r\n"), 400, "a bare CR in a trailer" },
	{ H("0\r\nX: \x00\r\n\r\n"), 400, "NUL in a trailer field" },
	{ H("0\r\nX\r\n\r\n"), 400, "a trailer line without a colon" },
};

/* Feeds text in pieces cut at cuts[] (ascending, ending with len): the final status
 * and where the body ended, as one offset into text. */
static int feed_pieces(const char *text, const size_t *cuts, size_t ncuts, size_t *end)
{
	struct http_chunked d;
	size_t from = 0, used = 0;
	int st = 0;

	http_chunked_init(&d, CHUNK_LIMIT);
	for (size_t k = 0; k < ncuts && st == 0; k++) {
		st = http_chunked_feed(&d, text + from, cuts[k] - from, &used);
		*end = from + used;
		from = cuts[k];
	}
	return st;
}

/* Every case whole, in two pieces cut at every byte, and byte by byte: the same
 * status, and a complete body ends right before "NEXT". */
static void check_chunked(void)
{
	static char buf[512];

	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		/* total: the bytes fed, "NEXT" included unless the body is incomplete */
		size_t len = chunks[i].len, total = len + (chunks[i].want == 0 ? 0 : 4);
		size_t end = 0, cuts[512], whole_end;
		int whole, split_ok = 1, bytes;

		memcpy(buf, chunks[i].text, len);
		(void)snprintf(buf + len, sizeof buf - len, "NEXT");
		cuts[0] = total;
		whole = feed_pieces(buf, cuts, 1, &whole_end);
		for (size_t at = 0; at <= total && split_ok; at++) {
			cuts[0] = at;
			cuts[1] = total;
			split_ok = feed_pieces(buf, cuts, 2, &end) == whole &&
			           (whole != 1 || end == whole_end);
		}
		for (size_t at = 0; at < total; at++)
			cuts[at] = at + 1;
		bytes = feed_pieces(buf, cuts, total, &end);
		CHECK(whole == chunks[i].want && (whole != 1 || whole_end == len) && split_ok &&
		              bytes == whole && (whole != 1 || end == len),
		      "%s: %d (got %d whole, %s at every cut, %d byte by byte)", chunks[i].why,
		      chunks[i].want, whole, split_ok ? "the same" : "not the same", bytes);
	}
}

static void check_chunked_limits(void)
{
	static char buf[HTTP_HEAD_MAX * 2];
	struct http_chunked d;
	size_t n, used;
	int st;

	n = (size_t)snprintf(buf, sizeof buf, "1;x=");
	memset(buf + n, 'v', HTTP_CHUNK_LINE_MAX);
	http_chunked_init(&d, 1 << 20);
	CHECK(http_chunked_feed(&d, buf, n + HTTP_CHUNK_LINE_MAX, &used) == 400,
	      "a size line over %d bytes: 400 before it ends", HTTP_CHUNK_LINE_MAX);
	n = (size_t)snprintf(buf, sizeof buf, "0\r\nX: ");
	memset(buf + n, 'v', HTTP_HEADER_LINE_MAX);
	http_chunked_init(&d, 1 << 20);
	CHECK(http_chunked_feed(&d, buf, n + HTTP_HEADER_LINE_MAX, &used) == 431,
	      "a trailer field line over %d bytes: 431", HTTP_HEADER_LINE_MAX);
	n = (size_t)snprintf(buf, sizeof buf, "0\r\n");
	for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "X: y\r\n");
	http_chunked_init(&d, 1 << 20);
	CHECK(http_chunked_feed(&d, buf, n, &used) == 431, "more than %d trailer fields: 431",
	      HTTP_HEADERS_MAX);
	n = (size_t)snprintf(buf, sizeof buf, "0\r\n");
	while (n < HTTP_HEAD_MAX + 10)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "X-Long: %0500d\r\n", 1);
	http_chunked_init(&d, 1 << 20);
	CHECK(http_chunked_feed(&d, buf, n, &used) == 431, "a trailer section over %d bytes: 431",
	      HTTP_HEAD_MAX);
	http_chunked_init(&d, 1 << 20);
	st = http_chunked_feed(&d, "2\r\nab\r\n", 7, &used);
	CHECK(st == 0 && used == 7 && http_chunked_data_left(&d) == 0,
	      "between chunks: no data left");
	st = http_chunked_feed(&d, "ff\r\nabc", 7, &used);
	CHECK(st == 0 && http_chunked_data_left(&d) == 0xff - 3,
	      "inside a chunk: the rest of it is surely data (%llu)",
	      (unsigned long long)http_chunked_data_left(&d));
	http_chunked_init(&d, 1 << 20);
	st = http_chunked_feed(&d, "0\r\n\r\nGET", 8, &used);
	CHECK(st == 1 && used == 5 && http_chunked_feed(&d, "x", 1, &used) == 1 && used == 0,
	      "after the end it takes nothing more and says so again");
	http_chunked_init(&d, 1 << 20);
	st = http_chunked_feed(&d, "z", 1, &used);
	CHECK(st == 400 && http_chunked_feed(&d, "0\r\n\r\n", 5, &used) == 400 && used == 0,
	      "after an error it takes nothing more and says so again");
	CHECK(http_parse_request("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	                         55, &(struct http_request){ 0 }) == 1,
	      "a chunked request's head is complete");
}

static void check_expect(void)
{
	struct http_request r;
	static const char h11[] = "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n";
	static const char h10[] = "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n";
	static const char other[] = "GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n";

	CHECK(http_parse_request(h11, sizeof h11 - 1, &r) == 1 && r.expect_continue == 1,
	      "Expect: 100-continue in HTTP/1.1, any case");
	CHECK(http_parse_request(h10, sizeof h10 - 1, &r) == 1 && r.expect_continue == 0,
	      "Expect: 100-continue in HTTP/1.0 is ignored");
	CHECK(http_parse_request(other, sizeof other - 1, &r) == 1 && r.expect_continue == 0,
	      "another expectation is not 100-continue");
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
	check_chunked();
	check_chunked_limits();
	check_expect();
	return unit_done();
}
