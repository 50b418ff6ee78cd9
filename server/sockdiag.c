/* sock_diag for status: one NETLINK_SOCK_DIAG dump of the listener's TCP
 * connections (inet_diag_req_v2 with INET_DIAG_INFO), parsed with every length
 * checked. The master calls it only while it answers a status request; it is
 * bounded in time (a non-blocking socket and one CLOCK_MONOTONIC deadline), and a
 * kernel without sock_diag, or a sandbox that forbids AF_NETLINK, costs one log
 * line and leaves the status without the kernel's view. Reading other users'
 * sockets needs no privilege: the kernel gives every user the dump (as ss(8) shows
 * it), tcp_info included. */
#include "sockdiag.h"

#include "clock.h"
#include "log.h"
#include "master_fault.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* The kernel fills a dump datagram up to the reader's buffer, at most 32 KiB
 * (netlink_recvmsg); a bigger one would arrive truncated, which is refused. */
#define SOCKDIAG_BUF 32768

/* The kernel's TCP state numbers (include/net/tcp_states.h), stable ABI. */
static const char *const state_names[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT",  [3] = "SYN_RECV", [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2",   [6] = "TIME_WAIT", [7] = "CLOSE",    [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK",    [10] = "LISTEN",   [11] = "CLOSING", [12] = "NEW_SYN_RECV",
};

const char *sockdiag_state_name(int state)
{
	size_t i = state > 0 ? (size_t)state : 0;

	if (i == 0 || i >= sizeof state_names / sizeof state_names[0])
		return "UNKNOWN";
	return state_names[i];
}

static int fail(int e, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	errno = e;
	return -1;
}

/* inet_diag carries addresses as 4 words in network order: 1 for IPv4, 4 for IPv6. */
static void to_sockaddr(int family, const __be32 *addr, __be16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = port;
		memcpy(&in->sin_addr, addr, sizeof in->sin_addr);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = port;
		memcpy(&in6->sin6_addr, addr, sizeof in6->sin6_addr);
	}
}

/* tcp_info grows with kernels: take what this one sends, and only the fields it
 * covers. */
static void read_tcp_info(const unsigned char *p, size_t len, struct sockdiag_conn *c)
{
	struct tcp_info ti;

	memset(&ti, 0, sizeof ti);
	memcpy(&ti, p, len < sizeof ti ? len : sizeof ti);
	c->has_rtt = len >= offsetof(struct tcp_info, tcpi_rttvar) + sizeof ti.tcpi_rttvar;
	c->has_retrans =
		len >= offsetof(struct tcp_info, tcpi_total_retrans) + sizeof ti.tcpi_total_retrans;
	if (c->has_rtt) {
		c->rtt_us = ti.tcpi_rtt;
		c->rttvar_us = ti.tcpi_rttvar;
	}
	if (c->has_retrans)
		c->total_retrans = ti.tcpi_total_retrans;
}

/* One SOCK_DIAG_BY_FAMILY message: struct inet_diag_msg, then attributes. A
 * message that is too short, or of a family we did not ask for, is an error: the
 * kernel never sends one. */
static int parse_conn(const unsigned char *p, size_t len, sockdiag_fn *fn, void *arg, char *err,
                      size_t errlen)
{
	struct inet_diag_msg m;
	struct sockdiag_conn c;
	size_t off = NLMSG_ALIGN(sizeof m);

	if (len < sizeof m)
		return fail(EPROTO, err, errlen, "a connection message shorter than inet_diag_msg");
	memcpy(&m, p, sizeof m);
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
		return fail(EPROTO, err, errlen, "a connection of an unknown address family");
	memset(&c, 0, sizeof c);
	to_sockaddr(m.idiag_family, m.id.idiag_src, m.id.idiag_sport, &c.local);
	to_sockaddr(m.idiag_family, m.id.idiag_dst, m.id.idiag_dport, &c.peer);
	c.state = m.idiag_state;
	c.inode = m.idiag_inode;
	while (off < len) {
		struct rtattr a;

		if (len - off < sizeof a)
			return fail(EPROTO, err, errlen, "a truncated attribute header");
		memcpy(&a, p + off, sizeof a);
		if (a.rta_len < sizeof a || a.rta_len > len - off)
			return fail(EPROTO, err, errlen, "an attribute length out of bounds");
		if (a.rta_type == INET_DIAG_INFO)
			read_tcp_info(p + off + RTA_LENGTH(0), a.rta_len - RTA_LENGTH(0), &c);
		off += RTA_ALIGN(a.rta_len);
	}
	fn(&c, arg);
	return 0;
}

/* The error code an NLMSG_ERROR or NLMSG_DONE carries (0 = none). */
static int carried_error(const unsigned char *payload, size_t len)
{
	int e;

	if (len < sizeof e)
		return 0;
	memcpy(&e, payload, sizeof e);
	return e < 0 ? -e : 0;
}

int sockdiag_parse(const void *buf, size_t len, uint32_t seq, sockdiag_fn *fn, void *arg, char *err,
                   size_t errlen)
{
	const unsigned char *p = buf;
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		const unsigned char *payload = p + off + NLMSG_HDRLEN;
		size_t plen;
		int e;

		memcpy(&h, p + off, sizeof h);
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
			return fail(EPROTO, err, errlen, "a message length out of bounds");
		plen = h.nlmsg_len - NLMSG_HDRLEN;
		/* A reply to an older request (one that timed out) is not ours: skip. */
		if (h.nlmsg_seq == seq) {
			if (h.nlmsg_type == NLMSG_DONE) {
				e = carried_error(payload, plen);
				return e ? fail(e, err, errlen, "the dump ended in an error") : 1;
			}
			if (h.nlmsg_type == NLMSG_ERROR) {
				e = carried_error(payload, plen);
				return fail(e ? e : EPROTO, err, errlen,
				            "the kernel refused the dump");
			}
			if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
			    parse_conn(payload, plen, fn, arg, err, errlen) < 0)
				return -1;
		}
		off += NLMSG_ALIGN(h.nlmsg_len);
		if (off > len)
			break; /* the last message's padding is not sent */
	}
	if (off < len)
		return fail(EPROTO, err, errlen, "a truncated message header");
	return 0;
}

/* Every state a worker's connection can be in: not a listener, nor what the
 * kernel keeps without a socket (TIME_WAIT, SYN_RECV before the accept queue). */
#define WANTED_STATES                                                                              \
	((1U << TCP_ESTABLISHED) | (1U << TCP_FIN_WAIT1) | (1U << TCP_FIN_WAIT2) |                 \
	 (1U << TCP_CLOSE) | (1U << TCP_CLOSE_WAIT) | (1U << TCP_LAST_ACK) | (1U << TCP_CLOSING))

static int send_request(int fd, const struct sockaddr *listener, uint32_t seq)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	memset(&req, 0, sizeof req);
	req.h.nlmsg_len = sizeof req;
	req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = seq;
	req.r.sdiag_family = (uint8_t)listener->sa_family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = WANTED_STATES;
	req.r.idiag_ext = 1U << (INET_DIAG_INFO - 1);
	/* The kernel skips connections of other local ports itself. */
	req.r.id.idiag_sport = listener->sa_family == AF_INET
	                               ? ((const struct sockaddr_in *)listener)->sin_port
	                               : ((const struct sockaddr_in6 *)listener)->sin6_port;
	req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	do
		n = sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof req) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* Waits for the next datagram until DEADLINE: 1 when one is there, -1 (ETIMEDOUT
 * or poll's errno) otherwise. */
static int wait_readable(int fd, uint64_t deadline)
{
	for (;;) {
		uint64_t now = clock_now_ns();
		struct pollfd pfd = { .fd = fd, .events = POLLIN, .revents = 0 };
		int r;

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, (int)((deadline - now + NS_PER_MS - 1) / NS_PER_MS));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Reads datagrams until the dump is done; 0, or -1 with errno and err. */
static int read_dump(int fd, uint32_t seq, uint64_t deadline, sockdiag_fn *fn, void *arg, char *err,
                     size_t errlen)
{
	static unsigned char buf[SOCKDIAG_BUF] __attribute__((aligned(8)));

	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
		struct msghdr msg = { .msg_name = &from,
			              .msg_namelen = sizeof from,
			              .msg_iov = &iov,
			              .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &msg, 0);
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return fail(errno, err, errlen, "recvmsg");
			if (wait_readable(fd, deadline) < 0)
				return fail(errno, err, errlen, "waiting for the kernel's reply");
			continue;
		}
		if (msg.msg_flags & MSG_TRUNC)
			return fail(EMSGSIZE, err, errlen,
			            "a reply datagram too big for the buffer");
		if (msg.msg_namelen < sizeof from || from.nl_pid != 0)
			continue; /* only the kernel speaks here */
		r = sockdiag_parse(buf, (size_t)n, seq, fn, arg, err, errlen);
		if (r != 0)
			return r < 0 ? -1 : 0;
		if (clock_now_ns() >= deadline)
			return fail(ETIMEDOUT, err, errlen, "the dump took too long");
	}
}

/* One warning when the query starts failing, one line when it works again. */
static void report(int ok, const char *err, int e)
{
	static int failing;

	if (ok && failing) {
		log_info("sock_diag works again: status shows the kernel's view of connections");
		failing = 0;
	} else if (!ok && !failing) {
		log_warn("sock_diag: %s: %s; status shows no TCP state, RTT or server address", err,
		         strerror(e));
		failing = 1;
	} else if (!ok) {
		log_debug("sock_diag: %s: %s", err, strerror(e));
	}
}

static int dump(const struct sockaddr *listener, int timeout_ms, sockdiag_fn *fn, void *arg,
                char *err, size_t errlen)
{
	static uint32_t seq;
	uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * NS_PER_MS;
	int fault = master_fault_fail("sockdiag");
	int fd, r, e;

	if (listener->sa_family != AF_INET && listener->sa_family != AF_INET6)
		return fail(EAFNOSUPPORT, err, errlen, "the listener is not TCP/IP");
	if (fault > 0)
		return fail(fault, err, errlen, "socket(AF_NETLINK) (test fault)");
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return fail(errno, err, errlen, "socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
	seq++;
	if (fault == 0 && send_request(fd, listener, seq) < 0) {
		e = errno;
		close(fd);
		return fail(e, err, errlen, "sending the dump request");
	}
	r = read_dump(fd, seq, deadline, fn, arg, err, errlen);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int sockdiag_dump(const struct sockaddr *listener, int timeout_ms, sockdiag_fn *fn, void *arg,
                  char *err, size_t errlen)
{
	int r = dump(listener, timeout_ms, fn, arg, err, errlen);
	int e = errno;

	report(r == 0, err, e);
	errno = e;
	return r;
}
