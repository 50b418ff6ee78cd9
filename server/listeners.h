/* The server's listeners: every --listen (TCP, IPv6, Unix stream, UDP), or the
 * sockets inherited through LISTEN_FDS (systemd's socket activation, or the old
 * master during a binary upgrade). The master opens or adopts them once at start;
 * a reload never closes or re-binds them (they change with a restart or an
 * upgrade); workers inherit them across fork().
 *
 * Layering: the master (and the upgrade, which hands them on) owns the set; the
 * worker reads it; stats and the admin replies read it through struct pool. */
#ifndef PREFORKD_LISTENERS_H
#define PREFORKD_LISTENERS_H

#include "addr.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/* --listen may be given this many times (and LISTEN_FDS may hold this many). */
#define LISTENERS_MAX 16

/* "unix:" + a sun_path, the longest of the forms shown */
#define LISTENER_TEXT_MAX (sizeof((struct sockaddr_un *)0)->sun_path + ADDR_TEXT_MAX)

enum listener_kind {
	LISTENER_TCP,  /* HOST:PORT, [V6]:PORT: stream, TCP */
	LISTENER_UNIX, /* unix:/path: stream, AF_UNIX */
	LISTENER_UDP,  /* udp:HOST:PORT: one datagram socket every worker receives on */
};

struct listener {
	int fd;
	enum listener_kind kind;
	/* Handed to this master (LISTEN_FDS: systemd, or an upgrade): never drained,
	 * and a Unix socket's file is never removed by it. */
	int inherited;
	int unix_made;      /* see unix_st */
	socklen_t addr_len; /* of addr */
	/* As logged and shown: "127.0.0.1:8080", "[::1]:8080", "unix:/run/p.sock",
	 * "udp:127.0.0.1:7000" (the bound address: port 0 resolved). */
	char text[LISTENER_TEXT_MAX];
	struct sockaddr_storage addr; /* as bound (getsockname) */
	/* LISTENER_UNIX made by this master: the file it made, so that only that one
	 * is removed at exit (not one another instance put there since). */
	struct stat unix_st;
};

struct listener_set {
	struct listener l[LISTENERS_MAX];
	size_t n;        /* l[0..n-1] are open */
	size_t n_stream; /* TCP + Unix */
	size_t n_dgram;  /* UDP */
};

/* How the master opens its own listeners (the master fills it from the config:
 * this module does not read struct config). */
struct listen_params {
	const char *const *specs; /* --listen values (listen_spec.h), n_specs of them */
	size_t n_specs;
	const char *fallback; /* listened on when no spec is given and none inherited */
	int backlog;
	double recv_timeout; /* SO_RCVTIMEO of stream listeners: the worker's slice */
	int defer_accept;    /* TCP_DEFER_ACCEPT seconds; 0 off */
	int queue_wait;      /* SO_TIMESTAMPNS on TCP listeners */
	unsigned unix_mode;
	const char *unix_owner; /* USER[:GROUP] or NULL */
};

struct activation;

/* Opens every spec and adopts the inherited sockets of `act` (those not under a
 * reserved name): each spec matched to an inherited socket of the same kind and
 * address (port 0: any port of that kind, family and host) uses it, unbound specs
 * are bound, inherited ones no spec names are used too (logged). A socket of the
 * wrong type, not listening, or of an unknown family is an error. 0, or -1 with
 * the reason in err (whatever this call opened is closed again). */
int listeners_open(struct listener_set *s, const struct listen_params *p, struct activation *act,
                   char *err, size_t errlen);

/* "A, B, C" (the texts), for the log and the process title. */
void listeners_join(const struct listener_set *s, char *buf, size_t len);

/* O_NONBLOCK on every listener: workers that wait in epoll never block in accept. */
int listeners_set_nonblocking(const struct listener_set *s, char *err, size_t errlen);

/* Closes every listener; a Unix socket's file this master made is removed if it is
 * still that file. */
void listeners_close(struct listener_set *s);

/* A Unix listener's file, removed now (graceful stop: new connects fail while the
 * workers empty the queue); only if this master made it and it is still that file. */
void listeners_unlink(struct listener *l);

/* One stream listener and nothing else: workers block in accept4() on it, the
 * hot path of the single-listener case. Anything else: workers wait in epoll. */
static inline int listeners_single_stream(const struct listener_set *s)
{
	return s->n == 1 && s->n_stream == 1;
}

#endif
