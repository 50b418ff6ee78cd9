/* Socket helpers. The listener carries the per-connection options (the receive
 * timeout, TCP_NODELAY) because Linux copies them to every accepted socket: the
 * worker's hot path then needs no setsockopt() per connection. */
#include "net.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int fail(int fd, const char *what, char *err, size_t errlen)
{
	int e = errno;

	snprintf(err, errlen, "%s: %s", what, strerror(e));
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

static int set_recv_timeout(int fd, double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

int listen_tcp(const struct sockaddr *sa, socklen_t len, const struct listen_opts *o, char *err,
               size_t errlen)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail(-1, "socket", err, errlen);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		return fail(fd, "setsockopt SO_REUSEADDR", err, errlen);
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
		return fail(fd, "setsockopt TCP_NODELAY", err, errlen);
	if (o->recv_timeout > 0 && set_recv_timeout(fd, o->recv_timeout) < 0)
		return fail(fd, "setsockopt SO_RCVTIMEO", err, errlen);
	if (o->defer_accept > 0 && setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &o->defer_accept,
	                                      sizeof o->defer_accept) < 0)
		return fail(fd, "setsockopt TCP_DEFER_ACCEPT", err, errlen);
	if (bind(fd, sa, len) < 0)
		return fail(fd, "bind", err, errlen);
	if (listen(fd, o->backlog) < 0)
		return fail(fd, "listen", err, errlen);
	return fd;
}

int set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int remaining_ms(uint64_t deadline_ns)
{
	uint64_t now = clock_now_ns();

	if (deadline_ns == 0)
		return -1;
	if (now >= deadline_ns)
		return 0;
	return (int)((deadline_ns - now + NS_PER_MS - 1) / NS_PER_MS);
}

/* Waits until fd is ready for events; 0 ready, -1 with errno ETIMEDOUT or other. */
int wait_fd(int fd, short events, uint64_t deadline_ns)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int ms = remaining_ms(deadline_ns);
		int rc;

		if (ms == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&p, 1, ms);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

int connect_tcp(const struct sockaddr *sa, socklen_t len, uint64_t deadline_ns)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int soerr = 0;
	socklen_t slen = sizeof soerr;

	if (fd < 0)
		return -1;
	if (connect(fd, sa, len) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	if (wait_fd(fd, POLLOUT, deadline_ns) < 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
		goto fail;
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
	return fd;
fail:
	soerr = errno;
	close(fd);
	errno = soerr;
	return -1;
}

/* fd is non-blocking; writes everything or fails (ETIMEDOUT at the deadline). */
ssize_t write_full(int fd, const void *buf, size_t len, uint64_t deadline_ns)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, p + done, len - done, MSG_NOSIGNAL);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -1;
		if (wait_fd(fd, POLLOUT, deadline_ns) < 0)
			return -1;
	}
	return (ssize_t)done;
}

/* fd is non-blocking; returns bytes read, 0 at EOF, -1 on error or deadline. */
ssize_t read_some(int fd, void *buf, size_t len, uint64_t deadline_ns)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		if (wait_fd(fd, POLLIN, deadline_ns) < 0)
			return -1;
	}
}

/* Waits for events on fd until deadline_ns; 0 ready, -1 with errno ETIMEDOUT, or
 * EINTR for the caller to decide (a worker told to quit abandons the connection). */
static int wait_once(int fd, short events, uint64_t deadline_ns)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc = poll(&p, 1, remaining_ms(deadline_ns));

	if (rc < 0)
		return -1;
	if (rc == 0) {
		/* remaining_ms() rounds up: the deadline has passed. */
		errno = ETIMEDOUT;
		return -1;
	}
	return 0;
}

/* Only the first call asks: the first data's timestamp is the one that says how
 * long the connection waited (net.h). A blocking call, like the recv() it stands
 * for, so it costs no syscall more; a timeout falls to conn_recv_wait as usual. */
ssize_t conn_recv_stamped(int fd, void *buf, size_t len, struct conn_waits *w)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov,
		              .msg_iovlen = 1,
		              .msg_control = cm.buf,
		              .msg_controllen = sizeof cm.buf };
	ssize_t n = recvmsg(fd, &msg, 0);

	w->stamp_first = 0;
	if (n <= 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			w->first_rx_real_ns =
				(uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		}
	return n;
}

/* The server may end a connection whose wait a signal interrupted (an eviction):
 * then the call fails with ECONNABORTED, else with what it had. */
static int cut_short(const struct conn_waits *w)
{
	if (!w->lim->abandon || !w->lim->abandon())
		return 0;
	errno = ECONNABORTED;
	return 1;
}

static uint64_t wait_began(struct conn_waits *w, uint64_t start_ns)
{
	if (!w->waiting) {
		w->wait_start_ns = start_ns;
		w->waiting = 1;
	}
	return w->wait_start_ns;
}

/* A blocking recv() on a socket whose SO_RCVTIMEO is the shorter of the two waits:
 * on the hot path (data already there, or arriving in time) it costs the one
 * syscall it always did. Only when the socket times out is the clock read: a wait
 * that has lasted its whole limit ends with ETIMEDOUT; a longer limit (the idle
 * wait once the first byte came) goes on with another recv(), or with a poll() for
 * what remains when that is less than one slice, so the limit holds to the
 * millisecond rather than to the next multiple of the slice. A recv that timed out
 * has waited one slice, so that is when its wait began; only a signal that
 * restarted the call (EINTR before the first timeout) makes it look shorter. */
ssize_t conn_recv_wait(int fd, void *buf, size_t len, struct conn_waits *w)
{
	const struct conn_limits *lim = w->lim;

	for (;;) {
		uint64_t now, deadline;
		ssize_t n;

		if (cut_short(w) || (errno != EAGAIN && errno != EWOULDBLOCK))
			return -1;
		now = clock_now_ns();
		deadline = wait_began(w, now > lim->slice_ns ? now - lim->slice_ns : 0) +
		           (w->got_first ? lim->idle_ns : lim->first_byte_ns);
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (deadline - now < lim->slice_ns && wait_once(fd, POLLIN, deadline) < 0) {
			cut_short(w);
			return -1;
		}
		n = recv(fd, buf, len, 0);
		if (n >= 0) {
			conn_progress(w);
			w->got_first = 1;
			return n;
		}
	}
}

/* A send() that never blocks: SO_SNDTIMEO would restart with each partial send (a
 * client that reads nothing held its worker about twice the limit). Progress is
 * whatever a send() accepts; a wait for room starts when one fails and lasts at
 * most the idle limit. Returns the bytes one send() took, as send() does, so the
 * caller counts progress as it happens. */
ssize_t conn_send_wait(int fd, const void *buf, size_t len, struct conn_waits *w)
{
	for (;;) {
		ssize_t n;

		if (cut_short(w) || (errno != EAGAIN && errno != EWOULDBLOCK))
			return -1;
		if (wait_once(fd, POLLOUT, wait_began(w, clock_now_ns()) + w->lim->idle_ns) < 0) {
			cut_short(w);
			return -1;
		}
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			conn_progress(w);
			return n;
		}
	}
}
