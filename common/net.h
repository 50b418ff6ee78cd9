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
	double io_timeout;   /* inherited by accepted sockets as SO_RCVTIMEO/SO_SNDTIMEO */
	int defer_accept;    /* seconds of TCP_DEFER_ACCEPT, 0 = off */
};

int listen_tcp(const struct sockaddr *sa, socklen_t len, const struct listen_opts *o,
	       char *err, size_t errlen);
int connect_tcp(const struct sockaddr *sa, socklen_t len, uint64_t deadline_ns);
int wait_fd(int fd, short events, uint64_t deadline_ns);
ssize_t write_full(int fd, const void *buf, size_t len, uint64_t deadline_ns);
ssize_t read_some(int fd, void *buf, size_t len, uint64_t deadline_ns);
int set_nonblocking(int fd);

#endif
