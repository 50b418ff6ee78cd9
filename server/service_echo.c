/* Echo (RFC 862 over TCP): every byte received is sent back until the client
 * half-closes. Memory is bounded by one buffer: the worker reads only what it has
 * just written back, so a client that sends but never reads fills its own socket
 * buffers and is cut off when a write has waited the idle timeout for room. Its
 * datagram form (udp: listeners) is service_echo_dgram.c. */
#include "net.h"
#include "scoreboard.h"
#include "service.h"
#include "service_echo_dgram.h"

#include <errno.h>
#include <unistd.h>

#define ECHO_BUF 16384
/* The buffer starts mid-page. The kernel copies from skb data whose page offsets
 * follow the sender's allocations; when the destination sits just past the same
 * offset, the copy runs far slower on some CPUs (AMD Zen's rep movsb). Measured
 * on the project machine, 16 KiB keep-alive echo with one worker: 19.9 us of
 * server CPU per transaction at offset 2048 (and at 0 or 3072), 22.4 us where the
 * linker happened to put the buffer (offset 1344), 31.9 us at offset 16. */
#define ECHO_BUF_PAGE_OFFSET 2048

static char echo_block[ECHO_BUF_PAGE_OFFSET + ECHO_BUF] __attribute__((aligned(4096)));
static char *const echo_buf = echo_block + ECHO_BUF_PAGE_OFFSET;

static enum serve_result classify_errno(int e)
{
	if (e == ETIMEDOUT)
		return SERVE_TIMEOUT; /* --first-byte-timeout or --idle-timeout (conn_recv) */
	if (e == ECONNRESET || e == EPIPE)
		return SERVE_RESET;
	return SERVE_OTHER;
}

static enum serve_result send_back(int fd, const char *p, size_t n, const struct serve_ctx *ctx)
{
	while (n > 0) {
		ssize_t w = conn_send(fd, p, n, ctx->waits);

		if (w < 0) {
			if (errno == EINTR && !*ctx->quit_now)
				continue;
			return classify_errno(errno);
		}
		sb_add(&ctx->slot->counters[C_BYTES_OUT], (uint64_t)w);
		p += w;
		n -= (size_t)w;
	}
	return SERVE_OK;
}

static enum serve_result serve_echo(int fd, const struct serve_ctx *ctx)
{
	for (;;) {
		ssize_t n = conn_recv(fd, echo_buf, ECHO_BUF, ctx->waits);
		enum serve_result r;

		if (n == 0)
			return SERVE_OK;
		if (n < 0) {
			if (errno == EINTR && !*ctx->quit_now)
				continue;
			return classify_errno(errno);
		}
		sb_add(&ctx->slot->counters[C_BYTES_IN], (uint64_t)n);
		r = send_back(fd, echo_buf, (size_t)n, ctx);
		if (r != SERVE_OK)
			return r;
	}
}

const struct service service_echo = {
	.name = "echo",
	.summary = "RFC 862 echo: every byte received is sent back until the client half-closes",
	.serve = serve_echo,
	.serve_datagram = echo_serve_datagram,
};
