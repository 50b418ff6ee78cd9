/* prefork-bench: an epoll load generator for the echo protocol. Each thread drives
 * its share of the connections from one epoll set; every reply is checked byte for
 * byte; latencies go to a bounded log-linear histogram (< 1 % error). With --rate
 * the schedule is open-loop and latency counts from the scheduled start, so a server
 * that stalls cannot hide it (no coordinated omission). */
#include "addr.h"
#include "clock.h"
#include "parse.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define VERSION "0.1.0"
#define RBUF 65536
#define PAYLOAD_SPREAD 65536 /* payloads start at a random offset in a random pool */
#define LAT_SUB_BITS 7       /* 128 sub-buckets per power of two: < 1 % error */
#define LAT_SUB (1u << LAT_SUB_BITS)
#define LAT_MAX_BIT 36
#define LAT_BUCKETS ((LAT_MAX_BIT - LAT_SUB_BITS + 2) * LAT_SUB)
#define RETRY_NS (10 * NS_PER_MS)
#define TICK_MS 50

enum err_kind { E_CONNECT, E_RESET, E_TIMEOUT, E_SHORT, E_MISMATCH, E_OTHER, E_COUNT };
static const char *const err_names[E_COUNT] = { "connect", "reset", "timeout",
						"short", "mismatch", "other" };

enum conn_state { C_IDLE, C_CONNECTING, C_WRITING, C_READING };

struct options {
	const char *connect;
	long concurrency;
	double duration;
	long requests;
	long size;
	int keepalive;
	double rate;
	long threads;
	double timeout;
	long sources;
	int json;
	int quiet;
};

struct conn {
	int fd;
	enum conn_state state;
	const unsigned char *payload;
	size_t woff, roff;
	uint64_t t0;       /* latency origin: actual or scheduled start */
	uint64_t deadline; /* ns */
	uint64_t retry_at; /* C_IDLE after a connect error */
	unsigned src;
};

struct thread {
	pthread_t tid;
	int joined;
	int index;
	int epfd;
	struct conn *conns;
	int nconns;
	uint64_t rng;
	/* open loop: transaction k of this thread is due at sched_base + k * interval */
	uint64_t sched_base, interval_ns, sched_next;
	_Atomic uint64_t ok; /* read by the progress line */
	uint64_t errors[E_COUNT];
	uint64_t lat[LAT_BUCKETS];
	uint64_t lat_max;
	unsigned char rbuf[RBUF];
};

static struct options opt = {
	.connect = "127.0.0.1:7777", .concurrency = 1, .size = 64, .threads = 1,
	.timeout = 5, .sources = 16,
};
static struct sockaddr_storage dst;
static socklen_t dst_len;
static int spread_sources;
static unsigned char *pool;
static uint64_t end_ns;
static _Atomic long started_total;
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- latency histogram ---- */

static unsigned lat_bucket(uint64_t us)
{
	unsigned msb;

	if (us < LAT_SUB)
		return (unsigned)us;
	if (us >= (1ULL << LAT_MAX_BIT))
		us = (1ULL << LAT_MAX_BIT) - 1;
	msb = 63u - (unsigned)__builtin_clzll(us);
	return (msb - LAT_SUB_BITS + 1) * LAT_SUB +
	       (unsigned)((us >> (msb - LAT_SUB_BITS)) & (LAT_SUB - 1));
}

static uint64_t lat_bucket_mid(unsigned b)
{
	unsigned shift;

	if (b < LAT_SUB)
		return b;
	shift = b / LAT_SUB - 1;
	return ((uint64_t)(LAT_SUB + b % LAT_SUB) << shift) + ((1ULL << shift) >> 1);
}

static uint64_t lat_percentile(const uint64_t *lat, uint64_t total, double q, uint64_t max)
{
	uint64_t rank = (uint64_t)(q * (double)total + 0.999999), seen = 0;

	if (total == 0)
		return 0;
	for (unsigned b = 0; b < LAT_BUCKETS; b++) {
		seen += lat[b];
		if (seen >= rank)
			return lat_bucket_mid(b) < max ? lat_bucket_mid(b) : max;
	}
	return max;
}

/* ---- transactions ---- */

static int may_start(const struct thread *t, uint64_t now)
{
	if (interrupted || now >= end_ns)
		return 0;
	if (opt.requests > 0 &&
	    atomic_fetch_add_explicit(&started_total, 1, memory_order_relaxed) >= opt.requests)
		return 0;
	(void)t;
	return 1;
}

static void close_conn(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->state = C_IDLE;
}

static void fail(struct thread *t, struct conn *c, enum err_kind kind, uint64_t now)
{
	t->errors[kind]++;
	close_conn(c);
	c->retry_at = kind == E_CONNECT ? now + RETRY_NS : 0;
}

static enum err_kind kind_of_errno(int e)
{
	switch (e) {
	case ECONNREFUSED:
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EADDRNOTAVAIL:
		return E_CONNECT;
	case ECONNRESET:
	case EPIPE:
		return E_RESET;
	default:
		return E_OTHER;
	}
}

static void finish(struct thread *t, struct conn *c, uint64_t now)
{
	uint64_t us = (now - c->t0) / 1000;

	t->lat[lat_bucket(us)]++;
	if (us > t->lat_max)
		t->lat_max = us;
	atomic_store_explicit(&t->ok, atomic_load_explicit(&t->ok, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (opt.keepalive)
		c->state = C_IDLE; /* keeps its fd for the next transaction */
	else
		close_conn(c);
}

static int open_socket(struct thread *t, struct conn *c, uint64_t now)
{
	int one = 1;
	int fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  .data.ptr = c };

	if (fd < 0) {
		fail(t, c, errno == EMFILE || errno == ENFILE ? E_OTHER : E_CONNECT, now);
		c->retry_at = now + RETRY_NS;
		return -1;
	}
	c->fd = fd;
	if (opt.keepalive)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (spread_sources) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl(0x7f000001u + c->src);
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
			fail(t, c, E_CONNECT, now);
			return -1;
		}
	}
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		fail(t, c, E_OTHER, now);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&dst, dst_len) == 0) {
		c->state = C_WRITING;
		return 0;
	}
	if (errno != EINPROGRESS) {
		fail(t, c, kind_of_errno(errno), now);
		return -1;
	}
	c->state = C_CONNECTING;
	return 0;
}

static void step(struct thread *t, struct conn *c, uint64_t now);

static void begin(struct thread *t, struct conn *c, uint64_t origin, uint64_t now)
{
	c->payload = pool + next_rand(&t->rng) % PAYLOAD_SPREAD;
	c->woff = c->roff = 0;
	c->t0 = origin;
	c->deadline = now + seconds_to_ns(opt.timeout);
	if (c->fd >= 0)
		c->state = C_WRITING;
	else if (open_socket(t, c, now) < 0)
		return;
	if (c->state == C_WRITING)
		step(t, c, now);
}

/* Reads what has arrived, checking it against what was sent. Returns 1 when the
 * transaction is complete, 0 to wait, -1 after a failure. */
static int read_echo(struct thread *t, struct conn *c, uint64_t now)
{
	size_t size = (size_t)opt.size;

	for (;;) {
		size_t want = RBUF;
		ssize_t n;

		/* Keep-alive: never read past this transaction's echo. */
		if (opt.keepalive && want > size - c->roff)
			want = size - c->roff;
		if (want == 0)
			return 1;
		n = recv(c->fd, t->rbuf, want, 0);
		if (n > 0) {
			if (c->roff + (size_t)n > c->woff ||
			    memcmp(t->rbuf, c->payload + c->roff, (size_t)n) != 0) {
				fail(t, c, E_MISMATCH, now);
				return -1;
			}
			c->roff += (size_t)n;
			continue;
		}
		if (n == 0) {
			if (!opt.keepalive && c->roff == size)
				return 1;
			fail(t, c, E_SHORT, now);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		fail(t, c, kind_of_errno(errno), now);
		return -1;
	}
}

static int write_payload(struct thread *t, struct conn *c, uint64_t now)
{
	size_t size = (size_t)opt.size;

	while (c->woff < size) {
		ssize_t n = send(c->fd, c->payload + c->woff, size - c->woff, MSG_NOSIGNAL);

		if (n > 0) {
			c->woff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* The server echoes as it reads: drain it or both sides stall. */
			return read_echo(t, c, now) < 0 ? -1 : 0;
		}
		fail(t, c, kind_of_errno(errno), now);
		return -1;
	}
	if (!opt.keepalive && shutdown(c->fd, SHUT_WR) < 0) {
		fail(t, c, kind_of_errno(errno), now);
		return -1;
	}
	c->state = C_READING;
	return 0;
}

static void step(struct thread *t, struct conn *c, uint64_t now)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			fail(t, c, kind_of_errno(err) == E_OTHER ? E_CONNECT : kind_of_errno(err), now);
			return;
		}
		c->state = C_WRITING;
	}
	if (c->state == C_WRITING && write_payload(t, c, now) < 0)
		return;
	if (c->state == C_READING && read_echo(t, c, now) == 1)
		finish(t, c, now);
}

/* ---- the thread loop ---- */

/* Closed loop: an idle connection starts at once. Open loop: it takes the oldest
 * due slot of the schedule, and its latency counts from that slot's time. */
static void start_idle(struct thread *t, uint64_t now)
{
	for (int i = 0; i < t->nconns; i++) {
		struct conn *c = &t->conns[i];
		uint64_t origin = now;

		if (c->state != C_IDLE || c->retry_at > now)
			continue;
		if (opt.rate > 0) {
			origin = t->sched_base + t->sched_next * t->interval_ns;
			if (origin > now)
				return;
		}
		if (!may_start(t, now)) {
			if (opt.keepalive)
				close_conn(c);
			continue;
		}
		t->sched_next++;
		begin(t, c, origin, now);
	}
}

static int expire_and_count(struct thread *t, uint64_t now)
{
	int busy = 0;

	for (int i = 0; i < t->nconns; i++) {
		struct conn *c = &t->conns[i];

		if (c->state == C_IDLE)
			continue;
		if (now >= c->deadline) {
			fail(t, c, E_TIMEOUT, now);
			continue;
		}
		busy++;
	}
	return busy;
}

static int wait_ms(const struct thread *t, uint64_t now)
{
	uint64_t due;

	if (opt.rate <= 0)
		return TICK_MS;
	due = t->sched_base + t->sched_next * t->interval_ns;
	if (due <= now)
		return 0;
	return due - now < TICK_MS * NS_PER_MS ? (int)((due - now) / NS_PER_MS) : TICK_MS;
}

static void *run_thread(void *arg)
{
	struct thread *t = arg;
	struct epoll_event evs[256];

	for (;;) {
		uint64_t now = clock_now_ns();
		int n;

		start_idle(t, now);
		if (expire_and_count(t, now) == 0 && (interrupted || now >= end_ns ||
						      (opt.requests > 0 &&
						       atomic_load(&started_total) >= opt.requests)))
			break;
		n = epoll_wait(t->epfd, evs, 256, wait_ms(t, now));
		now = clock_now_ns();
		for (int i = 0; i < n; i++)
			step(t, evs[i].data.ptr, now);
	}
	for (int i = 0; i < t->nconns; i++)
		close_conn(&t->conns[i]);
	return NULL;
}

/* ---- set-up and report ---- */

static void usage(void)
{
	printf("Usage: prefork-bench [OPTION]...\n"
	       "Load generator for the TCP echo protocol: every reply is checked byte for byte.\n"
	       "\n"
	       "  --connect HOST:PORT   server (default 127.0.0.1:7777; IPv6 as [ADDR]:PORT)\n"
	       "  -c, --concurrency N   connections in flight (default 1)\n"
	       "  -d, --duration SECONDS  run this long (default 5 when -n is not given)\n"
	       "  -n, --requests N      stop after N transactions (with -d: whichever first)\n"
	       "  -s, --size BYTES      payload per transaction, 0..67108864 (default 64)\n"
	       "  -k, --keepalive       one connection sends and reads back repeatedly; default:\n"
	       "                        short connections (connect, write, half-close, read\n"
	       "                        to EOF, close)\n"
	       "  -r, --rate R          open loop: start R transactions per second on a fixed\n"
	       "                        schedule; latency counts from the scheduled start\n"
	       "  -t, --threads T       threads, each with its own epoll set (default 1)\n"
	       "      --timeout SECONDS per-transaction limit (default 5)\n"
	       "      --sources N       spread IPv4 loopback source addresses over\n"
	       "                        127.0.0.1..127.0.0.N so ephemeral ports last\n"
	       "                        (default 16; 1 = off)\n"
	       "      --json            print one JSON object instead of the table\n"
	       "  -q, --quiet           no progress line\n"
	       "  -h, --help            show this help;  --version  show the version\n"
	       "\n"
	       "Errors are counted by kind: connect, reset, timeout, short (EOF before the\n"
	       "whole echo), mismatch (a byte differs: never counted as success), other.\n"
	       "A progress line is printed each second when stderr is a terminal.\n"
	       "Exit status: 0 the run completed, 1 any mismatch, 2 bad usage or address.\n");
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "prefork-bench: %s\n", msg);
	fprintf(stderr, "Try 'prefork-bench --help' for more information.\n");
	return 2;
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "connect", required_argument, NULL, 'C' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "keepalive", no_argument, NULL, 'k' },
		{ "rate", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "sources", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char err[300];
	int o, rc = 0;

	opterr = 0;
	while ((o = getopt_long(argc, argv, ":c:d:n:s:kr:t:qh", lo, NULL)) != -1) {
		struct host_port hp;

		switch (o) {
		case 'C':
			if (addr_split(optarg, &hp, err, sizeof err) < 0) {
				char msg[400];

				snprintf(msg, sizeof msg, "--connect: %s", err);
				return usage_error(msg);
			}
			opt.connect = optarg;
			break;
		case 'c':
			rc = parse_long("--concurrency", optarg, 1, 100000, &opt.concurrency, err,
					sizeof err);
			break;
		case 'd':
			rc = parse_seconds("--duration", optarg, 0.001, 86400, &opt.duration, err,
					   sizeof err);
			break;
		case 'n':
			rc = parse_long("--requests", optarg, 1, 1000000000000L, &opt.requests, err,
					sizeof err);
			break;
		case 's':
			rc = parse_long("--size", optarg, 0, 64L << 20, &opt.size, err, sizeof err);
			break;
		case 'k':
			opt.keepalive = 1;
			break;
		case 'r':
			rc = parse_seconds("--rate", optarg, 0.001, 10000000, &opt.rate, err,
					   sizeof err);
			break;
		case 't':
			rc = parse_long("--threads", optarg, 1, 256, &opt.threads, err, sizeof err);
			break;
		case 'T':
			rc = parse_seconds("--timeout", optarg, 0.001, 3600, &opt.timeout, err,
					   sizeof err);
			break;
		case 'S':
			rc = parse_long("--sources", optarg, 1, 254, &opt.sources, err, sizeof err);
			break;
		case 'j':
			opt.json = 1;
			break;
		case 'q':
			opt.quiet = 1;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			printf("prefork-bench %s\n", VERSION);
			return 0;
		default:
			snprintf(err, sizeof err, "%s: %s", argv[optind - 1],
				 o == ':' ? "missing value" : "unknown option");
			return usage_error(err);
		}
		if (rc < 0)
			return usage_error(err);
	}
	if (optind < argc) {
		snprintf(err, sizeof err, "unexpected argument '%s'", argv[optind]);
		return usage_error(err);
	}
	if (opt.duration == 0 && opt.requests == 0)
		opt.duration = 5;
	if (opt.threads > opt.concurrency)
		opt.threads = opt.concurrency;
	return -1;
}

static int resolve_target(void)
{
	struct host_port hp;
	char err[300];

	addr_split(opt.connect, &hp, err, sizeof err);
	dst_len = sizeof dst;
	if (addr_resolve(&hp, 0, &dst, &dst_len, err, sizeof err) < 0) {
		fprintf(stderr, "prefork-bench: --connect: %s\n", err);
		return -1;
	}
	if (dst.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&dst;

		spread_sources = opt.sources > 1 && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	return 0;
}

static int make_pool(void)
{
	uint64_t s = clock_now_ns() | 1;
	size_t len = (size_t)opt.size + PAYLOAD_SPREAD;

	pool = malloc(len);
	if (!pool) {
		fprintf(stderr, "prefork-bench: out of memory for a %ld-byte payload\n", opt.size);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		pool[i] = (unsigned char)(next_rand(&s) >> 24);
	return 0;
}

static struct thread *make_threads(uint64_t start)
{
	struct thread *ts = calloc((size_t)opt.threads, sizeof *ts);
	long given = 0;

	if (!ts)
		return NULL;
	for (int i = 0; i < opt.threads; i++) {
		struct thread *t = &ts[i];
		long share = opt.concurrency / opt.threads + (i < opt.concurrency % opt.threads);

		t->index = i;
		t->nconns = (int)share;
		t->conns = calloc((size_t)share, sizeof *t->conns);
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (!t->conns || t->epfd < 0)
			return NULL;
		for (int k = 0; k < t->nconns; k++) {
			t->conns[k].fd = -1;
			t->conns[k].src = (unsigned)((given + k) % opt.sources);
		}
		given += share;
		t->rng = (start ^ (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL) | 1;
		if (opt.rate > 0) {
			/* Interleave the threads' schedules so the global rate is even. */
			t->interval_ns = (uint64_t)((double)NS_PER_SEC * (double)opt.threads / opt.rate);
			t->sched_base = start + t->interval_ns * (uint64_t)i / (uint64_t)opt.threads;
		}
	}
	return ts;
}

struct summary {
	uint64_t ok, errors[E_COUNT], lat[LAT_BUCKETS], max;
	double seconds;
};

static void merge(struct summary *s, struct thread *ts)
{
	memset(s, 0, sizeof *s);
	for (int i = 0; i < opt.threads; i++) {
		s->ok += atomic_load(&ts[i].ok);
		for (int e = 0; e < E_COUNT; e++)
			s->errors[e] += ts[i].errors[e];
		for (unsigned b = 0; b < LAT_BUCKETS; b++)
			s->lat[b] += ts[i].lat[b];
		if (ts[i].lat_max > s->max)
			s->max = ts[i].lat_max;
	}
}

static void print_json(const struct summary *s)
{
	printf("{\"ok\":%llu,\"errors\":{", (unsigned long long)s->ok);
	for (int e = 0; e < E_COUNT; e++)
		printf("%s\"%s\":%llu", e ? "," : "", err_names[e],
		       (unsigned long long)s->errors[e]);
	printf("},\"duration_s\":%.3f,\"tps\":%.1f,\"latency_us\":{\"p50\":%llu,\"p90\":%llu,"
	       "\"p99\":%llu,\"p999\":%llu,\"max\":%llu},\"concurrency\":%ld,\"threads\":%ld,"
	       "\"size\":%ld,\"keepalive\":%s,\"rate\":",
	       s->seconds, s->seconds > 0 ? (double)s->ok / s->seconds : 0,
	       (unsigned long long)lat_percentile(s->lat, s->ok, 0.50, s->max),
	       (unsigned long long)lat_percentile(s->lat, s->ok, 0.90, s->max),
	       (unsigned long long)lat_percentile(s->lat, s->ok, 0.99, s->max),
	       (unsigned long long)lat_percentile(s->lat, s->ok, 0.999, s->max),
	       (unsigned long long)s->max, opt.concurrency, opt.threads, opt.size,
	       opt.keepalive ? "true" : "false");
	if (opt.rate > 0)
		printf("%.3f}\n", opt.rate);
	else
		printf("null}\n");
}

static void print_table(const struct summary *s)
{
	printf("target       %s (%s, %ld B payload, concurrency %ld, %ld thread%s%s)\n",
	       opt.connect, opt.keepalive ? "keep-alive" : "short connections", opt.size,
	       opt.concurrency, opt.threads, opt.threads > 1 ? "s" : "",
	       opt.rate > 0 ? ", open loop" : "");
	printf("transactions %llu in %.3f s = %.1f per second\n", (unsigned long long)s->ok,
	       s->seconds, s->seconds > 0 ? (double)s->ok / s->seconds : 0);
	printf("latency us   p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu\n",
	       (unsigned long long)lat_percentile(s->lat, s->ok, 0.50, s->max),
	       (unsigned long long)lat_percentile(s->lat, s->ok, 0.90, s->max),
	       (unsigned long long)lat_percentile(s->lat, s->ok, 0.99, s->max),
	       (unsigned long long)lat_percentile(s->lat, s->ok, 0.999, s->max),
	       (unsigned long long)s->max);
	printf("errors      ");
	for (int e = 0; e < E_COUNT; e++)
		printf(" %s %llu", err_names[e], (unsigned long long)s->errors[e]);
	printf("\n");
}

/* The main thread only reports progress; the work is in the threads. */
static void show_progress(struct thread *ts, uint64_t start)
{
	int tty = isatty(STDERR_FILENO) && !opt.quiet && !opt.json;
	uint64_t last = 0;

	for (;;) {
		struct timespec ts_wait = { 0, 200 * (long)NS_PER_MS };
		uint64_t now = clock_now_ns(), ok = 0;
		int alive = 0;

		for (int i = 0; i < opt.threads; i++) {
			ok += atomic_load_explicit(&ts[i].ok, memory_order_relaxed);
			if (!ts[i].joined && pthread_tryjoin_np(ts[i].tid, NULL) == 0)
				ts[i].joined = 1;
			alive += !ts[i].joined;
		}
		if (!alive)
			return;
		if (tty && now - start >= (last + 1) * NS_PER_SEC) {
			last = (now - start) / NS_PER_SEC;
			fprintf(stderr, "\r%4llus  %llu transactions, %.0f/s   ",
				(unsigned long long)last, (unsigned long long)ok,
				(double)ok * NS_PER_SEC / (double)(now - start));
		}
		nanosleep(&ts_wait, NULL);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigint };
	struct summary *sum;
	struct thread *ts;
	uint64_t start;
	int rc = parse_args(argc, argv);

	if (rc >= 0)
		return rc;
	if (resolve_target() < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (make_pool() < 0)
		return 2;
	start = clock_now_ns();
	end_ns = opt.duration > 0 ? start + seconds_to_ns(opt.duration) : UINT64_MAX;
	ts = make_threads(start);
	sum = malloc(sizeof *sum);
	if (!ts || !sum) {
		fprintf(stderr, "prefork-bench: cannot set up threads: %s\n", strerror(errno));
		return 2;
	}
	for (int i = 0; i < opt.threads; i++)
		if ((errno = pthread_create(&ts[i].tid, NULL, run_thread, &ts[i])) != 0) {
			fprintf(stderr, "prefork-bench: pthread_create: %s\n", strerror(errno));
			return 2;
		}
	show_progress(ts, start);
	if (isatty(STDERR_FILENO) && !opt.quiet && !opt.json)
		fprintf(stderr, "\n");
	merge(sum, ts);
	sum->seconds = (double)(clock_now_ns() - start) / NS_PER_SEC;
	if (opt.json)
		print_json(sum);
	else
		print_table(sum);
	return sum->errors[E_MISMATCH] > 0 ? 1 : 0;
}
