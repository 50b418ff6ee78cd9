/* The server's listeners (listeners.h): opened from --listen, or adopted from
 * LISTEN_FDS. Calls: activation, addr, listen_spec, log, net, safe_path,
 * unix_listen. Touches: sockets and, for unix: listeners, their files. */
#include "listeners.h"

#include "activation.h"
#include "addr.h"
#include "listen_spec.h"
#include "log.h"
#include "net.h"
#include "safe_path.h"
#include "unix_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void describe(struct listener *l)
{
	if (l->addr.ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&l->addr;

		snprintf(l->text, sizeof l->text, "unix:%.*s",
		         (int)(l->addr_len > offsetof(struct sockaddr_un, sun_path)
		                       ? l->addr_len - offsetof(struct sockaddr_un, sun_path)
		                       : 0),
		         sun->sun_path);
		/* the kernel may count the terminating NUL in the length */
		l->text[strnlen(l->text, sizeof l->text)] = '\0';
		return;
	}
	char a[ADDR_TEXT_MAX];

	addr_format((const struct sockaddr *)&l->addr, a, sizeof a);
	snprintf(l->text, sizeof l->text, "%s%s", l->kind == LISTENER_UDP ? "udp:" : "", a);
}

static int fill_address(struct listener *l, char *err, size_t errlen)
{
	l->addr_len = sizeof l->addr;
	memset(&l->addr, 0, sizeof l->addr);
	if (getsockname(l->fd, (struct sockaddr *)&l->addr, &l->addr_len) < 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		return -1;
	}
	describe(l);
	return 0;
}

/* An inherited fd: a stream socket that listens, or a datagram one; INET, INET6 or
 * (stream only) UNIX. */
static int adopt(struct listener *l, int fd, const char *name, char *err, size_t errlen)
{
	int type = 0, acc = 0;
	socklen_t len = sizeof type;

	l->fd = fd;
	l->inherited = 1;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		snprintf(err, errlen, "LISTEN_FDS: fd %d%s%s: not a socket (%s)", fd,
		         name[0] ? " " : "", name, strerror(errno));
		return -1;
	}
	if (fill_address(l, err, errlen) < 0)
		return -1;
	if (type == SOCK_STREAM) {
		len = sizeof acc;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc) {
			snprintf(err, errlen,
			         "LISTEN_FDS: fd %d (%s): a stream socket that does not "
			         "listen",
			         fd, l->text);
			return -1;
		}
		l->kind = l->addr.ss_family == AF_UNIX ? LISTENER_UNIX : LISTENER_TCP;
	} else if (type == SOCK_DGRAM && l->addr.ss_family != AF_UNIX) {
		l->kind = LISTENER_UDP;
		describe(l);
	} else {
		snprintf(err, errlen,
		         "LISTEN_FDS: fd %d: socket type %d is neither a stream "
		         "listener nor a UDP socket",
		         fd, type);
		return -1;
	}
	if (l->addr.ss_family != AF_INET && l->addr.ss_family != AF_INET6 &&
	    l->addr.ss_family != AF_UNIX) {
		snprintf(err, errlen, "LISTEN_FDS: fd %d: address family %d not served", fd,
		         (int)l->addr.ss_family);
		return -1;
	}
	return 0;
}

static unsigned port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/* Does inherited listener l answer spec (kind, resolved address, port)? */
static int matches(const struct listener *l, enum listener_kind kind,
                   const struct sockaddr_storage *ss, const char *unix_path)
{
	if (l->kind != kind)
		return 0;
	if (kind == LISTENER_UNIX)
		return strcmp(l->text + 5, unix_path) == 0;
	if (l->addr.ss_family != ss->ss_family)
		return 0;
	if (port_of(ss) != 0 && port_of(ss) != port_of(&l->addr))
		return 0;
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&l->addr)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr,
	              &((const struct sockaddr_in6 *)&l->addr)->sin6_addr,
	              sizeof(struct in6_addr)) == 0;
}

static int resolve_owner(const char *spec, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	char user[64];
	const char *colon = strchr(spec, ':');
	struct passwd *pw;

	snprintf(user, sizeof user, "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "--unix-owner: no such user '%s'", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon) {
		struct group *gr = getgrnam(colon + 1);

		if (!gr) {
			snprintf(err, errlen, "--unix-owner: no such group '%s'", colon + 1);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* The worker's read slice as the listener's SO_RCVTIMEO: its accept4() wakes once a
 * slice when idle (the single-listener path), and accepted TCP sockets inherit it as
 * their recv() slice. Set on every stream listener, inherited ones too: a socket
 * systemd made has none, and without it a worker would wait on its connections'
 * recv() for ever. Unix connections do not inherit it (worker.c sets theirs). */
static void set_slice(const struct listener *l, double seconds)
{
	struct timeval tv;

	if (seconds <= 0 || l->kind == LISTENER_UDP)
		return;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	if (setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		log_warn("setsockopt SO_RCVTIMEO on %s: %s; its connections set their own", l->text,
		         strerror(errno));
}

static int open_unix(struct listener *l, const char *path, const struct listen_params *p, char *err,
                     size_t errlen)
{
	char full[sizeof((struct sockaddr_un *)0)->sun_path + 1];
	uid_t uid = 0;
	gid_t gid = 0;
	int own = p->unix_owner != NULL;

	if (own && geteuid() != 0) {
		snprintf(err, errlen, "--unix-owner %s: needs preforkd started as root",
		         p->unix_owner);
		return -1;
	}
	if (own && resolve_owner(p->unix_owner, &uid, &gid, err, errlen) < 0)
		return -1;
	if (safe_path_resolve(path, full, sizeof full, err, errlen) < 0)
		return -1;
	if (unix_listen_remove_stale("unix listener", full, err, errlen) < 0)
		return -1;
	l->fd = unix_listen_bind("unix listener", full, SOCK_STREAM, p->unix_mode, own, uid, gid,
	                         p->backlog, &l->unix_st, err, errlen);
	if (l->fd < 0)
		return -1;
	l->unix_made = 1;
	return 0;
}

static int open_inet(struct listener *l, const struct sockaddr_storage *ss, socklen_t len,
                     const struct listen_params *p, char *err, size_t errlen)
{
	struct listen_opts o = {
		.backlog = p->backlog,
		.recv_timeout = p->recv_timeout,
		.defer_accept = p->defer_accept,
	};
	char why[256];

	if (l->kind == LISTENER_UDP) {
		l->fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (l->fd < 0 || bind(l->fd, (const struct sockaddr *)ss, len) < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			if (l->fd >= 0)
				close(l->fd);
			l->fd = -1;
			return -1;
		}
		return 0;
	}
	l->fd = listen_tcp((const struct sockaddr *)ss, len, &o, why, sizeof why);
	if (l->fd < 0) {
		int e = errno;

		log_debug("listen: %s", why); /* which call failed */
		snprintf(err, errlen, "%s", strerror(e));
		return -1;
	}
	/* Accepted sockets inherit it: their first data carries its receive time. */
	if (p->queue_wait &&
	    setsockopt(l->fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int)) < 0)
		log_warn("setsockopt SO_TIMESTAMPNS: %s; queue wait not measured", strerror(errno));
	return 0;
}

static void count(struct listener_set *s)
{
	s->n_stream = s->n_dgram = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->l[i].kind == LISTENER_UDP)
			s->n_dgram++;
		else
			s->n_stream++;
	}
}

/* One --listen, parsed: its kind, and its resolved address or its Unix path as
 * bound (the directory's real path: what an inherited socket's address shows). */
struct spec_target {
	const char *rest; /* after the "unix:" or "udp:" prefix */
	struct sockaddr_storage ss;
	enum listener_kind kind;
	socklen_t len;
	char path[sizeof((struct sockaddr_un *)0)->sun_path + 1];
};

static int spec_target(const char *spec, struct spec_target *t, char *err, size_t errlen)
{
	enum listen_spec_kind sk;
	struct host_port hp;
	char why[512];

	memset(t, 0, sizeof *t);
	t->len = sizeof t->ss;
	if (listen_spec_parse(spec, &sk, &t->rest, why, sizeof why) < 0) {
		snprintf(err, errlen, "--listen %s: %s", spec, why);
		return -1;
	}
	t->kind = sk == LISTEN_SPEC_UNIX  ? LISTENER_UNIX
	          : sk == LISTEN_SPEC_UDP ? LISTENER_UDP
	                                  : LISTENER_TCP;
	if (t->kind == LISTENER_UNIX) {
		/* Unresolvable (a directory missing): no inherited socket can be it, and
		 * opening it says why. */
		if (safe_path_resolve(t->rest, t->path, sizeof t->path, why, sizeof why) < 0)
			snprintf(t->path, sizeof t->path, "%s", t->rest);
		return 0;
	}
	if (addr_split(t->rest, &hp, why, sizeof why) < 0 ||
	    addr_resolve(&hp, 1, &t->ss, &t->len, why, sizeof why) < 0) {
		snprintf(err, errlen, "--listen %s: %s", spec, why);
		return -1;
	}
	return 0;
}

/* One spec not matched to an inherited socket: opened. */
static int open_spec(struct listener_set *s, const char *spec, const struct spec_target *t,
                     const struct listen_params *p, char *err, size_t errlen)
{
	struct listener *l = &s->l[s->n];
	char why[512];

	memset(l, 0, sizeof *l);
	l->fd = -1;
	l->kind = t->kind;
	if ((t->kind == LISTENER_UNIX ? open_unix(l, t->rest, p, why, sizeof why)
	                              : open_inet(l, &t->ss, t->len, p, why, sizeof why)) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, why);
		return -1;
	}
	s->n++;
	if (fill_address(l, why, sizeof why) < 0) {
		snprintf(err, errlen, "--listen %s: %s", spec, why);
		return -1;
	}
	if (l->kind == LISTENER_UNIX)
		set_slice(l, p->recv_timeout);
	return 0;
}

/* Which inherited socket each spec takes: first the specs that name a port (or a
 * path), then those of port 0, which take any port of their kind, family and host,
 * so that `--listen 127.0.0.1:0 --listen 127.0.0.1:8080` never gives 8080's socket
 * to the first. */
static void match_specs(const struct spec_target *t, size_t n, const struct listener *inh,
                        int *used, size_t n_inh, int *match)
{
	for (int any_port = 0; any_port <= 1; any_port++) {
		for (size_t i = 0; i < n; i++) {
			int wildcard = t[i].kind != LISTENER_UNIX && port_of(&t[i].ss) == 0;

			if (match[i] >= 0 || wildcard != any_port)
				continue;
			for (size_t k = 0; k < n_inh; k++) {
				if (!used[k] && matches(&inh[k], t[i].kind, &t[i].ss, t[i].path)) {
					used[k] = 1;
					match[i] = (int)k;
					break;
				}
			}
		}
	}
}

int listeners_open(struct listener_set *s, const struct listen_params *p, struct activation *act,
                   char *err, size_t errlen)
{
	struct listener inh[LISTENERS_MAX];
	int used[LISTENERS_MAX] = { 0 };
	struct spec_target t[LISTENERS_MAX];
	int match[LISTENERS_MAX];
	size_t n_inh = 0;

	memset(s, 0, sizeof *s);
	for (size_t i = 0; act && act->present && i < act->n; i++) {
		struct activation_fd *a = &act->fds[i];

		if (a->taken || activation_name_reserved(a->name))
			continue;
		if (n_inh == LISTENERS_MAX) {
			snprintf(err, errlen, "LISTEN_FDS: more than %d listeners", LISTENERS_MAX);
			goto fail;
		}
		memset(&inh[n_inh], 0, sizeof inh[n_inh]);
		a->taken = 1;
		if (adopt(&inh[n_inh], a->fd, a->name, err, errlen) < 0) {
			close(a->fd);
			goto fail;
		}
		n_inh++;
	}
	for (size_t i = 0; i < n_inh; i++)
		set_slice(&inh[i], p->recv_timeout);
	for (size_t i = 0; i < p->n_specs; i++) {
		match[i] = -1;
		if (spec_target(p->specs[i], &t[i], err, errlen) < 0)
			goto fail;
	}
	match_specs(t, p->n_specs, inh, used, n_inh, match);
	for (size_t i = 0; i < p->n_specs; i++) {
		if (match[i] < 0) {
			if (open_spec(s, p->specs[i], &t[i], p, err, errlen) < 0)
				goto fail;
			continue;
		}
		s->l[s->n++] = inh[match[i]];
		log_info("--listen %s: the inherited socket %s (not bound again)", p->specs[i],
		         inh[match[i]].text);
	}
	for (size_t i = 0; i < n_inh; i++) {
		if (used[i])
			continue;
		if (s->n == LISTENERS_MAX) {
			snprintf(err, errlen, "more than %d listeners with the inherited ones",
			         LISTENERS_MAX);
			goto fail;
		}
		s->l[s->n++] = inh[i];
		used[i] = 1;
		log_info("using the inherited socket %s (no --listen names it)", inh[i].text);
	}
	if (s->n == 0 && p->fallback &&
	    (spec_target(p->fallback, &t[0], err, errlen) < 0 ||
	     open_spec(s, p->fallback, &t[0], p, err, errlen) < 0))
		goto fail;
	count(s);
	return 0;
fail:
	for (size_t i = 0; i < n_inh; i++)
		if (!used[i])
			close(inh[i].fd);
	listeners_close(s);
	return -1;
}

void listeners_join(const struct listener_set *s, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		                         s->l[i].text);
}

int listeners_set_nonblocking(const struct listener_set *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->n; i++)
		if (set_nonblocking(s->l[i].fd) < 0) {
			snprintf(err, errlen, "O_NONBLOCK on %s: %s", s->l[i].text,
			         strerror(errno));
			return -1;
		}
	return 0;
}

void listeners_unlink(struct listener *l)
{
	char why[512];

	if (l->kind != LISTENER_UNIX || !l->unix_made || l->inherited)
		return;
	if (safe_remove_ours(l->text + 5, &l->unix_st, why, sizeof why) < 0)
		log_warn("%s", why);
	l->unix_made = 0;
}

void listeners_close(struct listener_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		listeners_unlink(&s->l[i]);
		if (s->l[i].fd >= 0)
			close(s->l[i].fd);
		s->l[i].fd = -1;
	}
	s->n = s->n_stream = s->n_dgram = 0;
}
