/* HTTP/1.1 static files (--service http --root DIR): GET and HEAD, keep-alive and
 * pipelining, conditional and single-range requests, bodies with sendfile(2).
 * The head parser is http_parse.c, the path rules http_path.c; this file holds the
 * connection's deadlines and the responses. The socket comes non-blocking from
 * accept4() (SOCK_NONBLOCK: the service's accept_flags, no fcntl per connection) so
 * that sendfile() and every wait are bounded by a CLOCK_MONOTONIC deadline of our
 * own, never by a socket option.
 * Calls: access_log, http_parse, http_path, log, scoreboard, strbuf. Touches: its
 * slot, the access log's fd (one write per request). */
#include "access_log.h"
#include "clock.h"
#include "config.h"
#include "fixbuf.h"
#include "http_date.h"
#include "http_parse.h"
#include "http_path.h"
#include "log.h"
#include "net.h"
#include "scoreboard.h"
#include "service.h"
#include "strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_BYTES 1024            /* a decoded path longer than this: 414 */
#define RESP_HEAD_MAX 8192         /* a response head, or a small body with it */
#define BODY_DISCARD_MAX 65536     /* a Content-Length body longer than this: 413 */
#define LINGER_NS (1 * NS_PER_SEC) /* after our FIN, reading what the client still sends */
#define LINGER_BYTES 65536
#define LISTING_ENTRIES_MAX 10000
/* A yield waits this long after the last response for a request that may be on its
 * way (two round trips, within these bounds, and never past --keepalive-timeout): see
 * yield(). The floor is a client's turnaround on a busy machine, not the network's:
 * with 10 ms, wrk at 4 x workers connections on two cores lost requests to yields
 * (25 read errors in 5 rounds of 2 s of make bench-http's 1 MiB cell). */
#define YIELD_GRACE_MIN_NS (50 * NS_PER_MS)
#define YIELD_GRACE_MAX_NS (100 * NS_PER_MS)

/* What every connection of this worker uses, set once by http_worker_init. */
static int root_fd = -1;
static struct {
	uint64_t first_byte_ns, keepalive_ns, head_ns, idle_ns;
	long keepalive_requests;
	int autoindex;
} opt;

struct mime_type {
	char ext[16];
	char type[64];
};
static struct mime_type *extra_types; /* --mime-types, looked up first */
static size_t n_extra_types;

static char in[HTTP_HEAD_MAX];  /* the connection's input: heads, pipelined */
static char out[RESP_HEAD_MAX]; /* a response head (and an error page) */
static char scratch[16384];     /* bodies and lingering input, discarded */

struct conn {
	int fd;
	const struct serve_ctx *ctx;
	size_t have;            /* bytes in in[] */
	unsigned requests;      /* answered on this connection */
	int yielding;           /* given up under pressure: the request on the wire is the last */
	uint64_t idle_since_ns; /* the wait between two requests began (keep-alive) */
	ssize_t body_io;        /* the read that ended a request body early (enum io) */
	/* The request being answered, for its service time and its access log line:
	 * when its head was complete (or refused), the bytes of its response body sent,
	 * its status (0 while none was begun); and the client, as text. */
	uint64_t req_start_ns;
	uint64_t body_bytes;
	int status;
	char host[INET6_ADDRSTRLEN];
};

/* ---- time ---- */

/* The Date header changes once a second: formatted then, not per request. */
static const char *http_date_now(void)
{
	static time_t last;
	static int formatted;
	static char buf[HTTP_DATE_LEN + 1];
	time_t now = time(NULL);

	/* time() cannot fail on Linux, but a -1 (or any time) is still a date. */
	if (!formatted || now != last) {
		http_date_format(now, buf);
		last = now;
		formatted = 1;
	}
	return buf;
}

/* The three HTTP-date forms a recipient must accept (RFC 9110 5.6.7): IMF-fixdate,
 * the obsolete rfc850-date (its two-digit year read by glibc's %y as 2000-2068 or
 * 1969-1999, which is the RFC's rule of "no more than 50 years ahead" in our
 * time) and asctime-date. -1 for anything else, and the header is then ignored,
 * as the RFC asks for an invalid date. */
static time_t parse_http_date(struct http_span v)
{
	static const char *const forms[] = {
		"%a, %d %b %Y %H:%M:%S GMT",
		"%A, %d-%b-%y %H:%M:%S GMT",
		"%a %b %e %H:%M:%S %Y",
	};
	char buf[64];
	struct tm tm;
	const char *end;

	if (v.len == 0 || v.len >= sizeof buf)
		return -1;
	memcpy(buf, v.p, v.len);
	buf[v.len] = '\0';
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		memset(&tm, 0, sizeof tm);
		end = strptime(buf, forms[i], &tm);
		if (end && *end == '\0')
			return timegm(&tm);
	}
	return -1;
}

/* ---- waiting, reading, writing ---- */

enum io {
	IO_OK = 1,
	IO_EOF = 0,
	IO_ERROR = -1,
	IO_TIMEOUT = -2,
	IO_STOPPED = -3,
	IO_EVICTED = -4 /* the master wants this connection's worker (pressure.h) */
};

/* Under pressure the master names a connection it wants dropped (its seq in the
 * slot, then SIGUSR2): the worker's check, the same one conn_recv/conn_send ask.
 * Asked before each wait and after each interrupted one; a plain flag test when no
 * signal came. */
static int evicted(const struct conn *c)
{
	const struct conn_limits *lim = c->ctx->waits->lim;

	return lim->abandon && lim->abandon();
}

/* Waits for events until deadline. With stop_aborts, a graceful stop ends the wait
 * at once: SIGTERM is blocked while the flag is read and unblocked only inside
 * ppoll(), so a signal that arrives between the check and the wait still wakes it. */
static enum io wait_for(const struct conn *c, short events, uint64_t deadline, int stop_aborts)
{
	struct pollfd p = { .fd = c->fd, .events = events, .revents = 0 };
	sigset_t block, old;

	/* A send that must wait: the client does not take the response (the
	 * worker's op, for status and the hang report; slow path only). */
	if (events == POLLOUT &&
	    sb_op(atomic_load_explicit(&c->ctx->slot->activity, memory_order_relaxed)) != WOP_WRITE)
		sb_set_op(c->ctx->slot, WOP_WRITE, clock_now_ns());
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGQUIT);
	for (;;) {
		uint64_t now = clock_now_ns(), left;
		struct timespec ts;
		int rc, e;

		if (now >= deadline)
			return IO_TIMEOUT;
		left = deadline - now;
		ts.tv_sec = (time_t)(left / NS_PER_SEC);
		ts.tv_nsec = (long)(left % NS_PER_SEC);
		if (evicted(c))
			return IO_EVICTED;
		if (stop_aborts) {
			if (sigprocmask(SIG_BLOCK, &block, &old) < 0)
				return IO_ERROR;
			if (*c->ctx->stopping) {
				(void)sigprocmask(SIG_SETMASK, &old, NULL);
				return IO_STOPPED;
			}
			rc = ppoll(&p, 1, &ts, &old);
			e = errno;
			(void)sigprocmask(SIG_SETMASK, &old, NULL);
			errno = e;
		} else {
			rc = ppoll(&p, 1, &ts, NULL);
		}
		if (rc > 0)
			return IO_OK;
		if (rc < 0 && errno != EINTR)
			return IO_ERROR;
		if (*c->ctx->quit_now)
			return IO_STOPPED;
		if (evicted(c))
			return IO_EVICTED;
	}
}

/* One recv() into dst, waiting until deadline for data. */
static ssize_t recv_until(struct conn *c, void *dst, size_t len, uint64_t deadline, int stop_aborts)
{
	for (;;) {
		ssize_t n = recv(c->fd, dst, len, MSG_DONTWAIT);
		enum io w;

		if (n >= 0) {
			sb_add(&c->ctx->slot->counters[C_BYTES_IN], (uint64_t)n);
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return IO_ERROR;
		w = wait_for(c, POLLIN, deadline, stop_aborts);
		if (w != IO_OK)
			return w;
	}
}

static ssize_t read_more(struct conn *c, uint64_t deadline, int stop_aborts)
{
	ssize_t n = recv_until(c, in + c->have, sizeof in - c->have, deadline, stop_aborts);

	if (n > 0)
		c->have += (size_t)n;
	return n;
}

/* Sends everything, each wait for room bounded by --idle-timeout from the last
 * progress. more: a body follows (MSG_MORE: head and body leave in full packets). */
static int send_all(struct conn *c, const char *p, size_t n, int more)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
			    wait_for(c, POLLOUT, clock_now_ns() + opt.idle_ns, 0) != IO_OK)
				return -1;
			continue;
		}
		sb_add(&c->ctx->slot->counters[C_BYTES_OUT], (uint64_t)w);
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_file(struct conn *c, int fd, off_t off, off_t len)
{
	while (len > 0) {
		ssize_t w =
			sendfile(c->fd, fd, &off, (size_t)(len > 0x7ffff000 ? 0x7ffff000 : len));

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
			    wait_for(c, POLLOUT, clock_now_ns() + opt.idle_ns, 0) != IO_OK)
				return -1;
			continue;
		}
		if (w == 0)
			return -1; /* the file shrank under us: the length sent is wrong */
		sb_add(&c->ctx->slot->counters[C_BYTES_OUT], (uint64_t)w);
		sb_add(&c->ctx->slot->counters[C_HTTP_BODY_BYTES], (uint64_t)w);
		c->body_bytes += (uint64_t)w;
		len -= w;
	}
	return 0;
}

/* Closing after an answer: our FIN first, then what the client still sends is read
 * and dropped (for at most LINGER_NS and LINGER_BYTES) until its FIN. A close()
 * with unread input would send a reset, which can destroy the answer before the
 * client has read it (RFC 9112 9.6). */
/* A client that asked to close (Connection: close, or HTTP/1.0 without keep-alive)
 * and has sent nothing more sends nothing more: then close() sends a plain FIN and
 * the worker need not wait for the client's, a round trip per connection (nginx's
 * lingering_close works the same way). One non-blocking read tells: nothing there,
 * or the client's FIN with nothing before it. */
static int nothing_unread(struct conn *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	/* 0: the client's FIN is already here, with nothing before it */
	return n == 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static void close_gently(struct conn *c)
{
	/* Never longer than --idle-timeout: the linger moves no byte of ours, and
	 * --worker-timeout is only known to exceed the configured waits. */
	uint64_t now = clock_now_ns();
	uint64_t deadline = now + (opt.idle_ns < LINGER_NS ? opt.idle_ns : LINGER_NS);
	size_t dropped = 0;

	sb_set_op(c->ctx->slot, WOP_CLOSE, now);
	if (shutdown(c->fd, SHUT_WR) < 0)
		return;
	while (dropped < LINGER_BYTES) {
		ssize_t n = recv_until(c, scratch, sizeof scratch, deadline, 0);

		if (n <= 0)
			return;
		dropped += (size_t)n;
	}
}

/* ---- responses ---- */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 416:
		return "Range Not Satisfiable";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

/* A body sent from memory (a page, a listing): for the counter and the log. */
static void body_sent(struct conn *c, size_t n)
{
	sb_add(&c->ctx->slot->counters[C_HTTP_BODY_BYTES], (uint64_t)n);
	c->body_bytes += n;
}

static void count_status(struct conn *c, int status)
{
	int cls = status / 100;

	c->status = status;
	if (cls >= 1 && cls <= 5)
		sb_add(&c->ctx->slot->counters[C_HTTP_1XX + cls - 1], 1);
}

/* The status line and the fields every response has. keep: the connection stays
 * open; HTTP/1.0 clients are told so, HTTP/1.1 ones are told when it does not.
 * Written without printf, as is the rest of a response head (fixbuf.h). */
static struct fixbuf head_start(int status, int keep, int minor)
{
	struct fixbuf b = fixbuf_on(out, sizeof out);

	fixbuf_str(&b, "HTTP/1.1 ");
	fixbuf_u64(&b, (unsigned)status);
	fixbuf_mem(&b, " ", 1);
	fixbuf_str(&b, reason(status));
	fixbuf_str(&b, "\r\nServer: preforkd\r\nDate: ");
	fixbuf_mem(&b, http_date_now(), HTTP_DATE_LEN);
	fixbuf_mem(&b, "\r\n", 2);
	if (!keep)
		fixbuf_str(&b, "Connection: close\r\n");
	else if (minor == 0)
		fixbuf_str(&b, "Connection: keep-alive\r\n");
	return b;
}

/* Content-Length: N and the blank line that ends the head. */
static void head_end(struct fixbuf *b, uint64_t length)
{
	fixbuf_str(b, "Content-Length: ");
	fixbuf_u64(b, length);
	fixbuf_mem(b, "\r\n\r\n", 4);
}

/* Sends a head built in out; one that did not fit (which the field sizes rule
 * out) is a server error, never a truncated head. */
static int send_head(struct conn *c, const struct fixbuf *b, int more)
{
	if (b->over) {
		log_error("http: a response head longer than %zu bytes; connection closed",
		          sizeof out);
		return -1;
	}
	return send_all(c, b->p, b->len, more);
}

/* A short HTML page for an error or a redirect; extra: more header lines. */
static int send_status(struct conn *c, int status, int keep, int minor, int head_only,
                       const char *extra)
{
	char page[256];
	struct fixbuf body = fixbuf_on(page, sizeof page), b;
	const char *why = reason(status);
	int rc;

	fixbuf_str(&body, "<html><head><title>");
	fixbuf_u64(&body, (unsigned)status);
	fixbuf_mem(&body, " ", 1);
	fixbuf_str(&body, why);
	fixbuf_str(&body, "</title></head><body><h1>");
	fixbuf_u64(&body, (unsigned)status);
	fixbuf_mem(&body, " ", 1);
	fixbuf_str(&body, why);
	fixbuf_str(&body, "</h1></body></html>\n");
	b = head_start(status, keep, minor);
	if (extra)
		fixbuf_str(&b, extra);
	fixbuf_str(&b, "Content-Type: text/html; charset=utf-8\r\n");
	head_end(&b, body.len);
	if (!head_only)
		fixbuf_mem(&b, body.p, body.len);
	b.over |= body.over; /* the one check, in send_head, covers the parts too */
	count_status(c, status);
	rc = send_head(c, &b, 0);
	if (rc == 0 && !head_only)
		body_sent(c, body.len);
	return rc;
}

/* ---- content types ---- */

static const struct {
	const char *ext, *type;
} builtin_types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "md", "text/markdown; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },
	{ "xml", "application/xml" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "avif", "image/avif" },
	{ "ico", "image/x-icon" },
	{ "pdf", "application/pdf" },
	{ "wasm", "application/wasm" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "otf", "font/otf" },
	{ "mp4", "video/mp4" },
	{ "webm", "video/webm" },
	{ "mp3", "audio/mpeg" },
	{ "ogg", "audio/ogg" },
	{ "wav", "audio/wav" },
	{ "zip", "application/zip" },
	{ "gz", "application/gzip" },
	{ "tar", "application/x-tar" },
};

static const char *content_type(const char *path)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(slash ? slash : path, '.');

	if (dot && dot[1]) {
		for (size_t i = 0; i < n_extra_types; i++)
			if (strcasecmp(extra_types[i].ext, dot + 1) == 0)
				return extra_types[i].type;
		for (size_t i = 0; i < sizeof builtin_types / sizeof builtin_types[0]; i++)
			if (strcasecmp(builtin_types[i].ext, dot + 1) == 0)
				return builtin_types[i].type;
	}
	return "application/octet-stream";
}

/* --mime-types: "type ext ext ..." per line, '#' comments (/etc/mime.types). A type
 * or an extension that does not fit, or has a byte that cannot go in a header, is
 * skipped. */
static int add_type(const char *type, const char *ext)
{
	struct mime_type *m;

	if (strlen(type) >= sizeof m->type || strlen(ext) >= sizeof m->ext)
		return 0;
	m = realloc(extra_types, (n_extra_types + 1) * sizeof *m);
	if (!m)
		return -1;
	extra_types = m;
	m += n_extra_types++;
	snprintf(m->type, sizeof m->type, "%s", type);
	snprintf(m->ext, sizeof m->ext, "%s", ext);
	return 0;
}

static int load_mime_types(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[1024];

	if (!f) {
		log_error("--mime-types %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *type = strtok_r(line, " \t\r\n", &save), *ext;

		if (!type || type[0] == '#')
			continue;
		for (const char *p = type; *p; p++)
			if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
				type = NULL;
		while (type && (ext = strtok_r(NULL, " \t\r\n", &save)) && ext[0] != '#') {
			if (add_type(type, ext) < 0) {
				log_error("--mime-types %s: out of memory", path);
				(void)fclose(f);
				return -1;
			}
		}
	}
	(void)fclose(f);
	return 0;
}

/* ---- files ---- */

/* Is our tag in an If-None-Match list? Weak comparison (RFC 9110 13.1.2). */
static int etag_listed(struct http_span list, const char *etag)
{
	size_t i = 0, n = strlen(etag);

	while (i < list.len) {
		size_t s, e;

		while (i < list.len && (list.p[i] == ' ' || list.p[i] == '\t' || list.p[i] == ','))
			i++;
		s = i;
		while (i < list.len && list.p[i] != ',')
			i++;
		e = i;
		while (e > s && (list.p[e - 1] == ' ' || list.p[e - 1] == '\t'))
			e--;
		if (e - s == 1 && list.p[s] == '*')
			return 1;
		if (e - s > 2 && list.p[s] == 'W' && list.p[s + 1] == '/')
			s += 2;
		if (e - s == n && memcmp(list.p + s, etag, n) == 0)
			return 1;
	}
	return 0;
}

static int parse_offset(const char *p, size_t n, off_t *out)
{
	off_t v = 0;

	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* One byte range (RFC 9110 14.1.2): 1 and [*start, *end], -1 unsatisfiable, 0 to
 * ignore the header (not bytes, invalid, or several ranges: the whole file is sent,
 * so several ranges never cost more than one file). */
static int parse_range(struct http_span v, off_t size, off_t *start, off_t *end)
{
	const char *dash;
	off_t first, last;
	size_t n;

	if (v.len < 7 || !http_span_is((struct http_span){ v.p, 6 }, "bytes="))
		return 0;
	v.p += 6;
	v.len -= 6;
	if (memchr(v.p, ',', v.len))
		return 0;
	dash = memchr(v.p, '-', v.len);
	if (!dash)
		return 0;
	n = (size_t)(dash - v.p);
	if (n == 0) {
		off_t suffix;

		if (parse_offset(dash + 1, v.len - 1, &suffix) < 0)
			return 0;
		if (suffix == 0 || size == 0)
			return -1;
		*start = suffix >= size ? 0 : size - suffix;
		*end = size - 1;
		return 1;
	}
	if (parse_offset(v.p, n, &first) < 0)
		return 0;
	if (n + 1 == v.len)
		last = size - 1;
	else if (parse_offset(dash + 1, v.len - n - 1, &last) < 0 || last < first)
		return 0;
	if (first >= size)
		return -1;
	*start = first;
	*end = last >= size ? size - 1 : last;
	return 1;
}

static int send_file_response(struct conn *c, const struct http_request *r, int fd,
                              const struct stat *st, const char *path, int keep)
{
	char etag_buf[64], lastmod[HTTP_DATE_LEN + 1], range_buf[96];
	struct fixbuf tag = fixbuf_on(etag_buf, sizeof etag_buf);
	struct fixbuf range = fixbuf_on(range_buf, sizeof range_buf);
	struct fixbuf b;
	const char *etag;
	off_t start = 0, end = st->st_size - 1;
	int status = 200, head_only = r->method == HTTP_HEAD;

	/* "INODE-SIZE-MTIME_NS" in hex: 3 x 16 digits, 2 dashes and quotes fit. */
	fixbuf_mem(&tag, "\"", 1);
	fixbuf_hex(&tag, (uint64_t)st->st_ino);
	fixbuf_mem(&tag, "-", 1);
	fixbuf_hex(&tag, (uint64_t)st->st_size);
	fixbuf_mem(&tag, "-", 1);
	fixbuf_hex(&tag,
	           (uint64_t)st->st_mtim.tv_sec * 1000000000ULL + (uint64_t)st->st_mtim.tv_nsec);
	fixbuf_mem(&tag, "\"", 1);
	etag = fixbuf_cstr(&tag);
	http_date_format(st->st_mtim.tv_sec, lastmod);
	/* If-None-Match takes precedence; If-Modified-Since counts only without it
	 * (RFC 9110 13.2.2). */
	if (r->if_none_match.p
	            ? etag_listed(r->if_none_match, etag)
	            : r->if_modified_since.p &&
	                      parse_http_date(r->if_modified_since) >= st->st_mtim.tv_sec &&
	                      parse_http_date(r->if_modified_since) != -1) {
		b = head_start(304, keep, r->version_minor);
		b.over |= tag.over;
		fixbuf_str(&b, "ETag: ");
		fixbuf_str(&b, etag);
		fixbuf_str(&b, "\r\nLast-Modified: ");
		fixbuf_mem(&b, lastmod, HTTP_DATE_LEN);
		fixbuf_mem(&b, "\r\n\r\n", 4);
		count_status(c, 304);
		return send_head(c, &b, 0);
	}
	/* A Range with an If-Range that names another version is ignored: the client
	 * gets the whole current file. Validators compare octet by octet (RFC 9110
	 * 8.8.3.2: strong comparison; a weak tag never matches). */
	if (r->method == HTTP_GET && r->range.p && !r->range_repeated &&
	    (!r->if_range.p ||
	     (r->if_range.len == strlen(etag) &&
	      memcmp(r->if_range.p, etag, r->if_range.len) == 0) ||
	     (r->if_range.len == HTTP_DATE_LEN &&
	      memcmp(r->if_range.p, lastmod, r->if_range.len) == 0))) {
		int k = parse_range(r->range, st->st_size, &start, &end);

		if (k < 0) {
			fixbuf_str(&range, "Content-Range: bytes */");
			fixbuf_i64(&range, st->st_size);
			fixbuf_mem(&range, "\r\n", 2);
			if (range.over)
				return -1; /* 96 bytes hold any Content-Range: never here */
			return send_status(c, 416, keep, r->version_minor, 0, fixbuf_cstr(&range));
		}
		if (k > 0) {
			status = 206;
			fixbuf_str(&range, "Content-Range: bytes ");
			fixbuf_i64(&range, start);
			fixbuf_mem(&range, "-", 1);
			fixbuf_i64(&range, end);
			fixbuf_mem(&range, "/", 1);
			fixbuf_i64(&range, st->st_size);
			fixbuf_mem(&range, "\r\n", 2);
		}
	}
	b = head_start(status, keep, r->version_minor);
	fixbuf_str(&b, "Content-Type: ");
	fixbuf_str(&b, content_type(path));
	fixbuf_str(&b, "\r\nLast-Modified: ");
	fixbuf_mem(&b, lastmod, HTTP_DATE_LEN);
	fixbuf_str(&b, "\r\nETag: ");
	fixbuf_str(&b, etag);
	fixbuf_str(&b, "\r\nAccept-Ranges: bytes\r\n");
	fixbuf_mem(&b, range.p, range.len);
	b.over |= tag.over | range.over;
	head_end(&b, (uint64_t)(end - start + 1));
	count_status(c, status);
	if (head_only || end < start)
		return send_head(c, &b, 0);
	if (send_head(c, &b, 1) < 0)
		return -1;
	return send_file(c, fd, start, end - start + 1);
}

/* Percent-encodes a decoded path for a Location or a link: everything but
 * unreserved characters and '/'. */
static void url_encode(const char *s, struct strbuf *b)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~/", ch)) {
			strbuf_append(b, s, 1);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };

			strbuf_append(b, e, 3);
		}
	}
}

static void html_escape(const char *s, struct strbuf *b)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			strbuf_append(b, "&amp;", 5);
			break;
		case '<':
			strbuf_append(b, "&lt;", 4);
			break;
		case '>':
			strbuf_append(b, "&gt;", 4);
			break;
		case '"':
			strbuf_append(b, "&quot;", 6);
			break;
		case '\'':
			strbuf_append(b, "&#39;", 5);
			break;
		default:
			strbuf_append(b, s, 1);
		}
	}
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --autoindex: the directory's entries, sorted, names HTML-escaped and links
 * percent-encoded; hidden entries (a leading '.') are left out. Takes dirfd. */
static int send_listing(struct conn *c, const struct http_request *r, int dirfd, const char *path,
                        int keep)
{
	DIR *d = fdopendir(dirfd);
	struct strbuf body = { 0 }, href = { 0 };
	struct fixbuf head;
	char **names = NULL;
	size_t count = 0, n;
	struct dirent *e;
	int rc;

	if (!d) {
		close(dirfd);
		return send_status(c, 500, keep, r->version_minor, r->method == HTTP_HEAD, NULL);
	}
	while (count < LISTING_ENTRIES_MAX && (e = readdir(d))) {
		char **more;
		struct stat st;
		int is_dir = e->d_type == DT_DIR;

		if (e->d_name[0] == '.')
			continue;
		if (e->d_type == DT_UNKNOWN)
			is_dir = fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			         S_ISDIR(st.st_mode);
		more = realloc(names, (count + 1) * sizeof *names);
		if (!more)
			break;
		names = more;
		n = strlen(e->d_name) + 2;
		names[count] = malloc(n);
		if (!names[count])
			break;
		(void)snprintf(names[count++], n, "%s%s", e->d_name, is_dir ? "/" : "");
	}
	closedir(d);
	if (count > 1)
		qsort(names, count, sizeof *names, compare_names);
	strbuf_printf(&body,
	              "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of /");
	html_escape(path, &body);
	strbuf_printf(&body, "</title></head><body><h1>Index of /");
	html_escape(path, &body);
	strbuf_printf(&body, "%s</h1><ul>\n<li><a href=\"../\">../</a></li>\n", *path ? "/" : "");
	for (size_t i = 0; i < count; i++) {
		href.len = 0;
		url_encode(names[i], &href);
		strbuf_printf(&body, "<li><a href=\"%.*s\">", (int)href.len,
		              href.data ? href.data : "");
		html_escape(names[i], &body);
		strbuf_printf(&body, "</a></li>\n");
		free(names[i]);
	}
	free(names);
	strbuf_printf(&body, "</ul></body></html>\n");
	strbuf_free(&href);
	if (body.failed) {
		strbuf_free(&body);
		return send_status(c, 500, keep, r->version_minor, r->method == HTTP_HEAD, NULL);
	}
	head = head_start(200, keep, r->version_minor);
	fixbuf_str(&head, "Content-Type: text/html; charset=utf-8\r\n");
	head_end(&head, body.len);
	count_status(c, 200);
	rc = send_head(c, &head, r->method != HTTP_HEAD);
	if (rc == 0 && r->method != HTTP_HEAD) {
		rc = send_all(c, body.data, body.len, 0);
		if (rc == 0)
			body_sent(c, body.len);
	}
	strbuf_free(&body);
	return rc;
}

/* What a failed open says to the client. A symlink that leads out of the root
 * (EXDEV from openat2, ELOOP from the walk) is "not found": nothing is there. */
static int open_error_status(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case EXDEV:
	case ELOOP:
		return 404;
	case EACCES:
	case EPERM:
		return 403;
	case ENAMETOOLONG:
		return 414;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return 503;
	default:
		return 500;
	}
}

#define OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY)

static int serve_directory(struct conn *c, const struct http_request *r, int dirfd, char *path,
                           int dir_form, int keep)
{
	size_t len = strlen(path);
	struct stat st;
	int fd, rc;

	if (!dir_form) {
		/* Built from the decoded path, never from the raw target: "//host" would
		 * be a redirect to another site. */
		struct strbuf loc = { 0 };

		close(dirfd);
		strbuf_printf(&loc, "Location: /");
		url_encode(path, &loc);
		strbuf_printf(&loc, "%s\r\n", *path ? "/" : "");
		rc = loc.failed ? send_status(c, 500, keep, r->version_minor,
		                              r->method == HTTP_HEAD, NULL)
		                : send_status(c, 301, keep, r->version_minor,
		                              r->method == HTTP_HEAD, loc.data);
		strbuf_free(&loc);
		return rc;
	}
	if (len + sizeof "/index.html" > PATH_BYTES) {
		close(dirfd);
		return send_status(c, 414, keep, r->version_minor, r->method == HTTP_HEAD, NULL);
	}
	memcpy(path + len, len ? "/index.html" : "index.html", len ? 12 : 11);
	fd = http_open_beneath(root_fd, path, OPEN_FLAGS);
	path[len] = '\0';
	if (fd >= 0) {
		close(dirfd);
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return send_status(c, 403, keep, r->version_minor, r->method == HTTP_HEAD,
			                   NULL);
		}
		rc = send_file_response(c, r, fd, &st, "index.html", keep);
		close(fd);
		return rc;
	}
	if (errno != ENOENT || !opt.autoindex) {
		close(dirfd);
		return send_status(c, errno == ENOENT ? 403 : open_error_status(errno), keep,
		                   r->version_minor, r->method == HTTP_HEAD, NULL);
	}
	return send_listing(c, r, dirfd, path, keep);
}

static int serve_get(struct conn *c, const struct http_request *r, int keep)
{
	char path[PATH_BYTES];
	struct stat st;
	int dir_form, status, fd, rc;

	status = http_path_decode(r->target.p, r->target.len, path, sizeof path, &dir_form);
	if (status)
		return send_status(c, status, keep, r->version_minor, r->method == HTTP_HEAD, NULL);
	fd = http_open_beneath(root_fd, path, OPEN_FLAGS);
	if (fd < 0)
		return send_status(c, open_error_status(errno), keep, r->version_minor,
		                   r->method == HTTP_HEAD, NULL);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return send_status(c, 500, keep, r->version_minor, r->method == HTTP_HEAD, NULL);
	}
	if (S_ISDIR(st.st_mode))
		return serve_directory(c, r, fd, path, dir_form, keep);
	if (!S_ISREG(st.st_mode) || dir_form) {
		close(fd);
		return send_status(c, S_ISREG(st.st_mode) ? 404 : 403, keep, r->version_minor,
		                   r->method == HTTP_HEAD, NULL);
	}
	rc = send_file_response(c, r, fd, &st, path, keep);
	close(fd);
	return rc;
}

/* ---- the connection ---- */

/* How a connection ended, from the io code that ended it (errno for IO_ERROR). */
static enum serve_result result_of(ssize_t io)
{
	if (io == IO_TIMEOUT)
		return SERVE_TIMEOUT;
	if (io == IO_ERROR && (errno == ECONNRESET || errno == EPIPE))
		return SERVE_RESET;
	return io == IO_ERROR ? SERVE_OTHER : SERVE_OK;
}

/* A body cut short: the client left mid-request (EOF) is an error too. */
static enum serve_result body_result(const struct conn *c)
{
	return c->body_io == IO_EOF ? SERVE_OTHER : result_of(c->body_io);
}

/* A request's body (Content-Length) is read and dropped: bytes already in in[]
 * first, then from the socket. Returns the bytes of in[] it used, or -1 with the
 * read that failed in c->body_io. */
static long discard_body(struct conn *c, size_t head_len, int64_t len)
{
	size_t there = c->have - head_len, used = (size_t)len < there ? (size_t)len : there;
	int64_t left = len - (int64_t)used;

	while (left > 0) {
		ssize_t n = recv_until(
			c, scratch, left < (int64_t)sizeof scratch ? (size_t)left : sizeof scratch,
			clock_now_ns() + opt.idle_ns, 0);

		if (n <= 0) {
			c->body_io = n;
			return -1;
		}
		left -= n;
	}
	return (long)used;
}

/* Waits until deadline for bytes and copies them to scratch, leaving them queued. */
static ssize_t peek_until(struct conn *c, uint64_t deadline)
{
	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof scratch, MSG_PEEK | MSG_DONTWAIT);
		enum io w;

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return IO_ERROR;
		w = wait_for(c, POLLIN, deadline, 0);
		if (w != IO_OK)
			return w;
	}
}

/* Takes n bytes that a peek saw: they are queued, so no wait is needed. */
static int take_peeked(struct conn *c, size_t n)
{
	while (n > 0) {
		ssize_t got = recv_until(c, scratch, n, clock_now_ns() + opt.idle_ns, 0);

		if (got <= 0) {
			c->body_io = got;
			return -1;
		}
		n -= (size_t)got;
	}
	return 0;
}

/* A chunked body is decoded as it is dropped, with the limit and the waits of a
 * Content-Length one. The bytes already in in[] first; then the rest of a chunk is
 * read whole, and the rest (size lines, the trailer) is peeked and taken only as
 * far as the decoder went: a request pipelined after the body stays queued for the
 * next read, and the peek costs one more recv() per size line, only on this path.
 * Returns the bytes of in[] it used; -1 with *refuse set to the status to answer
 * (400, 413, 431), or left 0 when the connection failed (the read in c->body_io). */
static long discard_chunked(struct conn *c, size_t head_len, int *refuse)
{
	struct http_chunked d;
	size_t used, in_used;
	int st;

	http_chunked_init(&d, BODY_DISCARD_MAX);
	st = http_chunked_feed(&d, in + head_len, c->have - head_len, &used);
	in_used = used;
	while (st == 0) {
		uint64_t deadline = clock_now_ns() + opt.idle_ns, sure = http_chunked_data_left(&d);
		ssize_t n;

		if (sure > 0) {
			n = recv_until(c, scratch,
			               sure < sizeof scratch ? (size_t)sure : sizeof scratch,
			               deadline, 0);
			if (n <= 0) {
				c->body_io = n;
				return -1;
			}
			st = http_chunked_feed(&d, scratch, (size_t)n, &used);
			continue;
		}
		n = peek_until(c, deadline);
		if (n <= 0) {
			c->body_io = n;
			return -1;
		}
		st = http_chunked_feed(&d, scratch, (size_t)n, &used);
		if (st <= 1 && take_peeked(c, used) < 0)
			return -1;
	}
	if (st != 1) {
		*refuse = st;
		return -1;
	}
	return (long)in_used;
}

/* Waits for the first byte of the next request: the first-byte deadline for the
 * first request, --keepalive-timeout after one (a graceful stop ends that wait at
 * once). Silence is no error to answer: the connection is just closed. */
static ssize_t await_request(struct conn *c)
{
	struct sb_slot *slot = c->ctx->slot;
	uint64_t now;
	ssize_t n;

	if (c->requests == 0)
		return read_more(c, c->ctx->waits->wait_start_ns + opt.first_byte_ns, 0);
	now = clock_now_ns();
	sb_set_op(slot, WOP_KEEPALIVE, now);
	sb_set_state(slot, WS_KEEPALIVE);
	c->idle_since_ns = now;
	n = read_more(c, now + opt.keepalive_ns, 1);
	if (n > 0) {
		now = clock_now_ns();
		atomic_store_explicit(&slot->busy_since_ns, now, memory_order_relaxed);
		sb_set_op(slot, WOP_READ, now);
		sb_set_state(slot, WS_BUSY);
	}
	return n;
}

/* Reads until the head is complete or refused: the status from http_parse_request,
 * or an io code (the request-head deadline runs from the request's first byte). */
static int read_head(struct conn *c, struct http_request *r)
{
	uint64_t deadline = clock_now_ns() + opt.head_ns;

	for (;;) {
		int st = http_parse_request(in, c->have, r);
		ssize_t n;

		if (st != 0)
			return st;
		n = read_more(c, deadline, 0);
		if (n <= 0)
			return (int)(n == 0 ? IO_EOF : n);
	}
}

/* How long after the last response a yield still waits for the next request: a
 * client that sends its requests back to back has its next one on the wire for
 * about a round trip after our response reached it. Two smoothed round trips (the
 * kernel's, TCP_INFO), within YIELD_GRACE_MIN_NS..YIELD_GRACE_MAX_NS; while part of
 * our response is still unacknowledged the client has not even received it, so the
 * grace runs from now. */
static uint64_t yield_deadline(const struct conn *c, uint64_t now)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	uint64_t grace = YIELD_GRACE_MIN_NS, from = c->idle_since_ns;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
		uint64_t rtt2 = 2ULL * ti.tcpi_rtt * 1000;

		if (rtt2 > grace)
			grace = rtt2 < YIELD_GRACE_MAX_NS ? rtt2 : YIELD_GRACE_MAX_NS;
		if (ti.tcpi_unacked > 0)
			from = now;
	}
	/* no longer than the keep-alive timeout would have kept the connection */
	if (c->idle_since_ns + opt.keepalive_ns < from + grace)
		return c->idle_since_ns + opt.keepalive_ns;
	return from + grace;
}

/* The master took this worker from an idle keep-alive connection for a connection
 * waiting in the accept queue. A client's next request may already be on its way:
 * closing then would lose it (the client reads our FIN, or a reset, where it waits
 * for an answer). So the worker waits until the grace after the last response is
 * over (yield_deadline: 50 to 100 ms, often already past), and a request
 * that arrives by then is answered as the last one (Connection: close). Else the
 * connection is closed at once: with nothing unread, close() sends a FIN, never a
 * reset, and without a linger the worker is free for the queue. The wait ignores
 * the master's request (it is that request) but ends on a stop. 1 to answer that
 * request, else 0 with the connection's result. */
static int yield(struct conn *c, enum serve_result *res)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN, .revents = 0 };
	uint64_t deadline = 0;
	int failed = 0;
	ssize_t n;

	sb_add(&c->ctx->slot->counters[C_HTTP_KEEPALIVE_YIELDS], 1);
	for (;;) {
		uint64_t now;
		struct timespec ts;

		n = recv(c->fd, in + c->have, sizeof in - c->have, MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			failed = 1;
			break;
		}
		now = clock_now_ns();
		if (deadline == 0)
			deadline = yield_deadline(c, now);
		if (now >= deadline || *c->ctx->stopping || *c->ctx->quit_now)
			break;
		ts.tv_sec = (time_t)((deadline - now) / NS_PER_SEC);
		ts.tv_nsec = (long)((deadline - now) % NS_PER_SEC);
		if (ppoll(&p, 1, &ts, NULL) < 0 && errno != EINTR) {
			failed = 1;
			break;
		}
	}
	if (n > 0) {
		sb_add(&c->ctx->slot->counters[C_BYTES_IN], (uint64_t)n);
		c->have += (size_t)n;
		c->yielding = 1;
		atomic_store_explicit(&c->ctx->slot->busy_since_ns, clock_now_ns(),
		                      memory_order_relaxed);
		sb_set_state(c->ctx->slot, WS_BUSY);
		return 1;
	}
	/* Nothing came (or the client's FIN): close() sends a plain FIN, no reset. */
	*res = failed ? result_of(IO_ERROR) : SERVE_YIELDED;
	return 0;
}

/* The access log line of the request at the start of in[]: its request line as it
 * came (the bytes before the first CR or LF; even a refused one), its Referer and
 * User-Agent when its head was parsed. */
static void log_request(struct conn *c, const struct http_request *r)
{
	static char line[ACCESS_LINE_MAX];
	struct access_entry e = {
		.host = c->host,
		.when = time(NULL),
		.status = c->status,
		.body_bytes = c->body_bytes,
	};
	size_t at = 0, end, n;

	while (at < c->have && (in[at] == '\r' || in[at] == '\n'))
		at++;
	for (end = at; end < c->have && in[end] != '\r' && in[end] != '\n'; end++)
		;
	e.request_line = in + at;
	e.request_line_len = end - at;
	if (r) {
		e.referer = r->referer.p;
		e.referer_len = r->referer.len;
		e.user_agent = r->user_agent.p;
		e.user_agent_len = r->user_agent.len;
	}
	n = access_log_format(line, sizeof line, &e);
	if (access_log_write(line, n) < 0)
		sb_add(&c->ctx->slot->counters[C_HTTP_ACCESS_LOG_FAILED], 1);
}

/* A request counted in C_HTTP_REQUESTS is over (answered, or given up): its service
 * time (two vDSO clock reads, no syscall) and, with --access-log, its line (one
 * write). r: its parsed head, or NULL for one refused before it was parsed. */
static void request_done(struct conn *c, const struct http_request *r)
{
	uint64_t now = clock_now_ns();
	uint64_t us = now > c->req_start_ns ? (now - c->req_start_ns) / 1000 : 0;

	sb_add(&c->ctx->slot->req_hist[hist_bucket(us)], 1);
	if (access_log_enabled())
		log_request(c, r);
	c->status = 0;
	c->body_bytes = 0;
}

/* Is the refused request at the start of in[] a HEAD? The parser gives no method
 * for a head it refused, but a client frames the answer by the method it sent: an
 * answer to HEAD has no content (RFC 9112 6.3), else its bytes would follow it. */
static int refused_is_head(const struct conn *c)
{
	size_t at = 0;

	while (at + 1 < c->have && in[at] == '\r' && in[at + 1] == '\n')
		at += 2;
	return c->have - at >= 5 && memcmp(in + at, "HEAD ", 5) == 0;
}

/* One request: 1 to read the next one, else the connection's result. */
static int answer(struct conn *c, enum serve_result *res)
{
	const struct serve_ctx *ctx = c->ctx;
	struct http_request r;
	int st, keep, rc, skipped = 0;
	long body = 0;
	ssize_t n;

	if (c->have == 0) {
		n = await_request(c);
		if (n == IO_EVICTED && c->requests > 0) {
			if (!yield(c, res))
				return 0;
			n = 1; /* a request was on the wire: answered, as the last */
		}
		if (n <= 0) {
			*res = c->requests == 0 || n != IO_TIMEOUT ? result_of(n) : SERVE_OK;
			return 0;
		}
	}
	if (c->requests > 0)
		sb_add(&ctx->slot->counters[C_HTTP_KEEPALIVE_REUSES], 1);
	st = read_head(c, &r);
	c->req_start_ns = clock_now_ns();
	sb_set_op(ctx->slot, WOP_SERVICE, c->req_start_ns);
	if (st <= 0) {
		if (st == IO_TIMEOUT) {
			/* Part of a request arrived (else await_request would not have
			 * returned): it is answered. */
			sb_add(&ctx->slot->counters[C_HTTP_REQUESTS], 1);
			rc = send_status(c, 408, 0, 1, refused_is_head(c), NULL);
			request_done(c, NULL);
			if (rc == 0)
				close_gently(c);
		}
		*res = result_of(st);
		return 0;
	}
	sb_add(&ctx->slot->counters[C_HTTP_REQUESTS], 1);
	c->requests++;
	if (st != 1) {
		rc = send_status(c, st, 0, 1, refused_is_head(c), NULL);
		request_done(c, NULL);
		if (rc == 0)
			close_gently(c);
		*res = SERVE_OK;
		return 0;
	}
	keep = r.keep_alive && opt.keepalive_ns > 0 &&
	       c->requests < (unsigned long)opt.keepalive_requests && !*ctx->stopping &&
	       !ctx->last_connection && !c->yielding;
	if (r.content_length > BODY_DISCARD_MAX) {
		rc = send_status(c, 413, 0, r.version_minor, r.method == HTTP_HEAD, NULL);
		request_done(c, &r);
		if (rc == 0)
			close_gently(c);
		*res = SERVE_OK;
		return 0;
	}
	/* Expect: 100-continue, and none of the body sent yet (RFC 9110 10.1.1): the
	 * answer does not depend on the body, so it goes at once, as the connection's
	 * last, instead of a 100 (Continue) that would only bring a body to drop; the
	 * client need not send it, and the linger after our FIN drops what it does. */
	if (r.expect_continue && (r.content_length > 0 || r.chunked) && c->have == r.head_len) {
		keep = 0;
		skipped = 1; /* the body may still come: always the linger below */
		r.content_length = 0;
		r.chunked = 0;
	}
	if (r.content_length > 0) {
		body = discard_body(c, r.head_len, r.content_length);
		if (body < 0) {
			*res = body_result(c); /* before request_done: its errno */
			request_done(c, &r);   /* status 0: no answer was sent */
			return 0;
		}
	}
	if (r.chunked) {
		int refuse = 0;

		body = discard_chunked(c, r.head_len, &refuse);
		if (body < 0) {
			/* A body that cannot be read to its end leaves nothing to resume at. */
			*res = refuse ? SERVE_OK : body_result(c);
			rc = refuse ? send_status(c, refuse, 0, r.version_minor,
			                          r.method == HTTP_HEAD, NULL)
			            : -1;
			request_done(c, &r);
			if (rc == 0)
				close_gently(c);
			return 0;
		}
	}
	if (r.method == HTTP_GET || r.method == HTTP_HEAD)
		rc = serve_get(c, &r, keep);
	else
		rc = send_status(c, r.method == HTTP_UNKNOWN ? 501 : 405, keep, r.version_minor, 0,
		                 r.method == HTTP_UNKNOWN ? NULL : "Allow: GET, HEAD\r\n");
	/* How a failed answer ended, before request_done (its log write) sets errno. */
	if (rc < 0)
		*res = errno == ETIMEDOUT || errno == EAGAIN ? SERVE_TIMEOUT : result_of(IO_ERROR);
	request_done(c, &r);
	if (rc < 0)
		return 0;
	c->have -= r.head_len + (size_t)body;
	memmove(in, in + r.head_len + (size_t)body, c->have);
	if (!keep) {
		if (r.keep_alive || skipped || c->have > 0 || !nothing_unread(c))
			close_gently(c);
		*res = SERVE_OK;
		return 0;
	}
	return 1;
}

static enum serve_result serve_http(int fd, const struct serve_ctx *ctx)
{
	struct conn c = { .fd = fd, .ctx = ctx };
	enum serve_result res = SERVE_OK;

	/* The socket came non-blocking from accept4() (accept_flags): every wait is a
	 * ppoll() here. accept4() wrote the peer into the slot: no getpeername(). */
	if (access_log_enabled())
		access_log_host(&ctx->slot->peer, c.host, sizeof c.host);
	while (answer(&c, &res))
		;
	return res;
}

/* After the privilege drop: the root is opened as the workers' user, so it must be
 * readable by them, and a root that the master alone could read is never served. */
static int http_worker_init(const struct config *cfg)
{
	root_fd = open(cfg->http_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		log_error("--root %s: %s", cfg->http_root, strerror(errno));
		return -1;
	}
	if (cfg->mime_types && load_mime_types(cfg->mime_types) < 0)
		return -1;
	opt.first_byte_ns = seconds_to_ns(cfg->first_byte_timeout);
	opt.keepalive_ns = seconds_to_ns(cfg->keepalive_timeout);
	opt.head_ns = seconds_to_ns(cfg->request_head_timeout);
	opt.idle_ns = seconds_to_ns(cfg->idle_timeout);
	opt.keepalive_requests = cfg->keepalive_requests;
	opt.autoindex = cfg->http_autoindex;
	if (!http_open_uses_openat2())
		log_info("http: openat2 is not used; symlinks beneath --root are refused too");
	return 0;
}

const struct service service_http = {
	.name = "http",
	.summary = "HTTP/1.1 static files from --root: GET and HEAD, keep-alive, ranges",
	.serve = serve_http,
	.worker_init = http_worker_init,
	.accept_flags = SOCK_NONBLOCK,
};
