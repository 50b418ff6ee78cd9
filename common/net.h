/* Sockets: the listening socket, client connect with a deadline, and full reads and
 * writes bounded by a CLOCK_MONOTONIC deadline. Errors fill a buffer; callers log. */
#ifndef PREFORKD_NET_H
#define PREFORKD_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/types.h>

struct listen_opts {
	int backlog;
	double recv_timeout; /* inherited by accepted sockets as SO_RCVTIMEO */
	int defer_accept;    /* seconds of TCP_DEFER_ACCEPT, 0 = off */
};

/* The per-connection limits, the same for every connection of a worker. */
struct conn_limits {
	uint64_t first_byte_ns; /* longest wait for the first byte */
	uint64_t idle_ns;       /* longest wait for progress after that */
	uint64_t slice_ns;      /* the socket's SO_RCVTIMEO: one blocking recv's wait */
	/* Asked when a wait was cut short by a signal or timed out a slice (slow path
	 * only): nonzero ends the connection, the call failing with ECONNABORTED. The
	 * server's pressure defence (an eviction); NULL: none. */
	int (*abandon)(void);
};

/* The waits of one served connection (see conn_recv). The server sets lim and
 * wait_start_ns (the accept) and waiting = 1 when it accepts; the helpers keep the
 * rest. */
struct conn_waits {
	const struct conn_limits *lim;
	uint64_t wait_start_ns; /* when the current wait began (the accept, at first) */
	int waiting;            /* wait_start_ns is set */
	int got_first;          /* a recv returned data or EOF */
	/* Set by the server when the socket has SO_TIMESTAMPNS: the first recv is a
	 * recvmsg() that keeps the kernel's receive time (CLOCK_REALTIME, ns) of the
	 * first data in first_rx_real_ns (0: none came with a timestamp). */
	int stamp_first;
	uint64_t first_rx_real_ns;
};

/* A byte moved: the next wait starts afresh. Nothing more on the hot path: the
 * server sees a connection's progress in the byte counts its services keep (its
 * pressure defence samples them), so no call here reads a clock. */
static inline void conn_progress(struct conn_waits *w)
{
	w->waiting = 0;
}

int listen_tcp(const struct sockaddr *sa, socklen_t len, const struct listen_opts *o, char *err,
               size_t errlen);
int connect_tcp(const struct sockaddr *sa, socklen_t len, uint64_t deadline_ns);
int wait_fd(int fd, short events, uint64_t deadline_ns);
ssize_t write_full(int fd, const void *buf, size_t len, uint64_t deadline_ns);
ssize_t read_some(int fd, void *buf, size_t len, uint64_t deadline_ns);
int set_nonblocking(int fd);
/* The slow paths of conn_recv/conn_send: called only when the call would block. */
ssize_t conn_recv_wait(int fd, void *buf, size_t len, struct conn_waits *w);
ssize_t conn_send_wait(int fd, const void *buf, size_t len, struct conn_waits *w);
/* The first recv with --queue-wait: one recvmsg() in place of the recv(). */
ssize_t conn_recv_stamped(int fd, void *buf, size_t len, struct conn_waits *w);

/* recv() for a served connection: see conn_recv_wait in net.c for the deadlines.
 * Inline, so that the hot path (data there, or arriving within the socket's
 * SO_RCVTIMEO) costs what a bare recv() did, without a call into another file. */
static inline ssize_t conn_recv(int fd, void *buf, size_t len, struct conn_waits *w)
{
	ssize_t n = w->stamp_first ? conn_recv_stamped(fd, buf, len, w) : recv(fd, buf, len, 0);

	if (n < 0)
		return conn_recv_wait(fd, buf, len, w);
	conn_progress(w);
	w->got_first = 1;
	return n;
}

/* send() that never blocks, and waits for room at most the idle limit. */
static inline ssize_t conn_send(int fd, const void *buf, size_t len, struct conn_waits *w)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return conn_send_wait(fd, buf, len, w);
	conn_progress(w);
	return n;
}

#endif
