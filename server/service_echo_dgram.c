/* Echo over UDP: each datagram sent back to its sender, in batches (one recvmmsg()
 * takes up to DGRAM_BATCH, one sendmmsg() answers them), never blocking: every
 * worker competes on the one socket, and a reply the socket has no room for is
 * counted dropped, not waited for. Before any answer the reflection defence
 * (udp_guard.h) has its say; whatever is not answered is counted by why.
 *
 * Memory: allocated at the first datagram, so only workers that serve UDP pay for
 * it; a batch of DGRAM_BATCH buffers of DGRAM_MAX bytes (64 KiB) and the guard's
 * table (24 KiB), in one anonymous mapping whose pages the kernel provides as they
 * are first touched. A datagram larger than DGRAM_MAX is not echoed in part (a cut
 * echo would be a wrong answer): it is counted truncated. 64 KiB buffers, enough for
 * any datagram, would cost a worker 1 MiB.
 *
 * Layering: uses the scoreboard (its own slot), the guard, common/ (clock, log). */
#include "service_echo_dgram.h"

#include "clock.h"
#include "config.h"
#include "log.h"
#include "scoreboard.h"
#include "service.h"
#include "udp_guard.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define DGRAM_BATCH 16
#define DGRAM_MAX 4096
/* Batches per call: then back to the worker's loop (signals, its tick), which
 * calls again at once if more is queued. */
#define DGRAM_ROUNDS 8
/* Sources the rate limit tracks at once, per worker (a power of two). */
#define GUARD_ENTRIES 1024

struct dgram_state {
	char buf[DGRAM_BATCH][DGRAM_MAX]; /* first: page-aligned, one page each */
	struct mmsghdr in[DGRAM_BATCH], out[DGRAM_BATCH];
	struct iovec iov_in[DGRAM_BATCH], iov_out[DGRAM_BATCH];
	struct sockaddr_storage from[DGRAM_BATCH];
	struct udp_guard guard;
	struct udp_guard_entry table[GUARD_ENTRIES];
};

static struct dgram_state *st;

static uint64_t random_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed)
		return seed;
	/* No entropy yet (early boot): a weaker key, still unknown to a remote sender. */
	return clock_now_ns() ^ ((uint64_t)getpid() << 32);
}

/* Once per worker: a fresh mapping is zeroed, the guard's table with it. */
static int open_state(const struct config *cfg)
{
	void *p =
		mmap(NULL, sizeof *st, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		log_error("udp echo: mmap of %zu bytes: %s", sizeof *st, strerror(errno));
		return -1;
	}
	st = p;
	for (int i = 0; i < DGRAM_BATCH; i++) {
		st->iov_in[i] = (struct iovec){ .iov_base = st->buf[i], .iov_len = DGRAM_MAX };
		st->in[i].msg_hdr.msg_iov = &st->iov_in[i];
		st->in[i].msg_hdr.msg_iovlen = 1;
		st->in[i].msg_hdr.msg_name = &st->from[i];
	}
	udp_guard_init(&st->guard, st->table, GUARD_ENTRIES, cfg->udp_rate, cfg->udp_burst,
	               random_seed());
	return 0;
}

/* recvmmsg() writes the lengths back: set them again before each call. */
static void arm_batch(void)
{
	for (int i = 0; i < DGRAM_BATCH; i++) {
		st->in[i].msg_hdr.msg_namelen = sizeof st->from[i];
		st->in[i].msg_hdr.msg_flags = 0;
	}
}

/* The verdict on datagram i: an answer is queued in out[], anything else counted. */
static int judge(struct sb_slot *slot, int i, uint64_t now, int nout)
{
	struct msghdr *h = &st->in[i].msg_hdr;
	enum udp_verdict v;

	sb_add(&slot->counters[C_DGRAM_IN], 1);
	sb_add(&slot->counters[C_DGRAM_BYTES_IN], st->in[i].msg_len);
	if (h->msg_flags & MSG_TRUNC) {
		sb_add(&slot->counters[C_DGRAM_TRUNCATED], 1);
		return nout;
	}
	v = udp_guard_check(&st->guard, (const struct sockaddr *)&st->from[i], now);
	if (v == UDP_REFUSED_PORT) {
		sb_add(&slot->counters[C_DGRAM_REFUSED_PORT], 1);
		return nout;
	}
	if (v == UDP_LIMITED) {
		sb_add(&slot->counters[C_DGRAM_RATE_LIMITED], 1);
		return nout;
	}
	st->iov_out[nout] = (struct iovec){ .iov_base = st->buf[i], .iov_len = st->in[i].msg_len };
	st->out[nout].msg_hdr = (struct msghdr){
		.msg_name = &st->from[i],
		.msg_namelen = h->msg_namelen,
		.msg_iov = &st->iov_out[nout],
		.msg_iovlen = 1,
	};
	return nout + 1;
}

static void count_sent(struct sb_slot *slot, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		sb_add(&slot->counters[C_DGRAM_OUT], 1);
		sb_add(&slot->counters[C_DGRAM_BYTES_OUT], st->out[i].msg_len);
	}
}

/* One sendmmsg() for the batch's answers; it stops at the first reply that fails
 * (returning how many went), so go on after it. Never waits: a full socket buffer
 * (EAGAIN, ENOBUFS) drops the rest of the batch, an error for one destination
 * (unreachable, refused by a firewall) drops that reply alone. */
static int send_answers(int fd, const struct dgram_ctx *ctx, int n)
{
	struct sb_slot *slot = ctx->slot;
	int i = 0;

	while (i < n) {
		int r = sendmmsg(fd, &st->out[i], (unsigned)(n - i), MSG_DONTWAIT);

		if (r > 0) {
			count_sent(slot, i, r);
			i += r;
			continue;
		}
		if (r < 0 && errno == EINTR && !*ctx->quit_now)
			continue;
		if (r < 0 && (errno == EBADF || errno == ENOTSOCK || errno == EFAULT)) {
			log_error("udp echo: sendmmsg: %s; worker exits", strerror(errno));
			return -1;
		}
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
		    errno != EINTR) {
			sb_add(&slot->counters[C_DGRAM_SEND_DROPPED], 1);
			i++;
			continue;
		}
		sb_add(&slot->counters[C_DGRAM_SEND_DROPPED], (uint64_t)(n - i));
		break;
	}
	return 0;
}

/* One batch: 1 if it was full (more may be queued), 0 if the queue is empty, -1
 * on a fatal error. */
static int serve_batch(int fd, const struct dgram_ctx *ctx)
{
	int n, nout = 0;
	uint64_t now;

	arm_batch();
	do
		n = recvmmsg(fd, st->in, DGRAM_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR && !*ctx->quit_now);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ENOMEM || errno == ENOBUFS)
			return 0; /* the kernel's memory: the datagram stays queued */
		log_error("udp echo: recvmmsg: %s; worker exits", strerror(errno));
		return -1;
	}
	now = clock_now_ns(); /* one clock read per batch */
	for (int i = 0; i < n; i++)
		nout = judge(ctx->slot, i, now, nout);
	if (nout > 0 && send_answers(fd, ctx, nout) < 0)
		return -1;
	return n == DGRAM_BATCH;
}

int echo_serve_datagram(int fd, const struct dgram_ctx *ctx)
{
	if (!st && open_state(ctx->cfg) < 0)
		return -1;
	for (int round = 0; round < DGRAM_ROUNDS && !*ctx->quit_now; round++) {
		int r = serve_batch(fd, ctx);

		if (r <= 0)
			return r;
	}
	return 0;
}
