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

/* The waits of one served connection (see conn_recv). The server fills the first
 * four fields when it accepts; the helpers keep the rest. */
struct conn_waits {
	uint64_t first_byte_ns; /* longest wait for the first byte */
	uint64_t idle_ns;       /* longest wait for progress after that */
	uint64_t slice_ns;      /* the socket's SO_RCVTIMEO: one blocking recv's wait */
	uint64_t wait_start_ns; /* when the current wait began (the accept, at first) */
	int waiting;            /* wait_start_ns is set */
	int got_first;          /* a recv returned data or EOF */
};

int listen_tcp(const struct sockaddr *sa, socklen_t len, const struct listen_opts *o,
	       char *err, size_t errlen);
int connect_tcp(const struct sockaddr *sa, socklen_t len, uint64_t deadline_ns);
int wait_fd(int fd, short events, uint64_t deadline_ns);
ssize_t write_full(int fd, const void *buf, size_t len, uint64_t deadline_ns);
ssize_t read_some(int fd, void *buf, size_t len, uint64_t deadline_ns);
int set_nonblocking(int fd);
ssize_t conn_recv(int fd, void *buf, size_t len, struct conn_waits *w);
ssize_t conn_send(int fd, const void *buf, size_t len, struct conn_waits *w);

#endif
