/* -t: the checks start-up would make, done without their effects. The listener is
 * bound and closed, never listened on; files are judged by the safe-path rule and
 * an existing log is opened for appending, without O_CREAT or O_TRUNC; a directory
 * where a file would be created must be writable by us. EADDRINUSE is fine when the
 * socket in the way belongs to the instance that answers on this configuration's
 * admin socket (or pidfile): /proc says which sockets it holds.
 * Calls: addr, admin (--admin-group's name only), admin_path, config, privdrop (name
 * resolution only), safe_path.
 * Touches: nothing of a running server; reads /proc for the instance's sockets. */
#include "config_check.h"

#include "addr.h"
#include "admin.h"
#include "admin_path.h"
#include "config.h"
#include "privdrop.h"
#include "safe_path.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define INODES_MAX 64

/* ---- who holds the port ---- */

/* All of text as an unsigned number in base, no sign or blank before it: 0, or -1. */
static int scan_ulong(const char *text, int base, unsigned long *out)
{
	char *end;

	if (!(base == 16 ? isxdigit((unsigned char)*text) : isdigit((unsigned char)*text)))
		return -1;
	errno = 0;
	*out = strtoul(text, &end, base);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

/* One line of /proc/net/tcp: "sl local:port remote:port st tx:rx tr:when retrnsmt
 * uid timeout inode ...", numbers in hex but for the last three. 0 and the local
 * port, the state and the inode; -1 for anything else (the header line). */
static int parse_tcp_line(char *line, unsigned long *port, unsigned long *state,
                          unsigned long *inode)
{
	char *field[10], *save = NULL, *colon;
	int n = 0;

	for (char *w = strtok_r(line, " \t\n", &save); w && n < 10;
	     w = strtok_r(NULL, " \t\n", &save))
		field[n++] = w;
	if (n < 10)
		return -1;
	colon = strrchr(field[1], ':');
	if (!colon || scan_ulong(colon + 1, 16, port) < 0 || scan_ulong(field[3], 16, state) < 0 ||
	    scan_ulong(field[9], 10, inode) < 0)
		return -1;
	return 0;
}

/* The inodes of the TCP sockets listening on port, from /proc/net/tcp and tcp6. */
static int listening_inodes(unsigned port, unsigned long *inodes, int max)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	int n = 0;

	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
		FILE *f = fopen(tables[t], "re");
		char line[512];

		if (!f)
			continue; /* no IPv6 */
		while (fgets(line, sizeof line, f) && n < max) {
			unsigned long lport, state, inode;

			if (parse_tcp_line(line, &lport, &state, &inode) == 0 && lport == port &&
			    state == 0x0A /* TCP_LISTEN */)
				inodes[n++] = inode;
		}
		(void)fclose(f); /* read-only: nothing to flush */
	}
	return n;
}

/* 1: pid holds one of the inodes; 0: it does not; -1: cannot tell (errno). */
static int holds_socket(pid_t pid, const unsigned long *inodes, int n)
{
	char dir[64], link[PATH_MAX], target[64];
	struct dirent *e;
	DIR *d;
	int found = 0;

	snprintf(dir, sizeof dir, "/proc/%ld/fd", (long)pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while (!found && (e = readdir(d))) {
		unsigned long inode;
		ssize_t len;

		snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
		len = readlink(link, target, sizeof target - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		/* "socket:[INODE]" */
		if (strncmp(target, "socket:[", 8) != 0 || len < 10 || target[len - 1] != ']')
			continue;
		target[len - 1] = '\0';
		if (scan_ulong(target + 8, 10, &inode) < 0)
			continue;
		for (int i = 0; i < n && !found; i++)
			found = inodes[i] == inode;
	}
	closedir(d);
	return found;
}

/* The master answering on the admin socket: SO_PEERCRED names it (the peer that
 * called listen()). Nothing is sent: the server sees a client that said nothing. */
static pid_t pid_from_admin_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof cred;
	pid_t pid = 0;
	int fd;

	if (strlen(path) >= sizeof sun.sun_path)
		return 0;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    (cred.uid == 0 || cred.uid == geteuid()))
		pid = cred.pid;
	close(fd);
	return pid;
}

static pid_t pid_from_pidfile(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 ? (pid_t)pid : 0;
}

static pid_t running_instance(const struct config *cfg)
{
	char path[PATH_MAX], why[256];
	pid_t pid = 0;

	if (cfg->admin_path)
		pid = pid_from_admin_socket(cfg->admin_path);
	else if (admin_path_default(cfg->pidfile, path, sizeof path, why, sizeof why) == 0)
		pid = pid_from_admin_socket(path);
	if (!pid && cfg->pidfile)
		pid = pid_from_pidfile(cfg->pidfile);
	return pid;
}

static int check_address_in_use(const struct config *cfg, const char *key, const char *text,
                                unsigned port, char *note, size_t notelen, char *err, size_t errlen)
{
	unsigned long inodes[INODES_MAX];
	int n = listening_inodes(port, inodes, INODES_MAX);
	pid_t pid = running_instance(cfg);
	int held = pid && n > 0 ? holds_socket(pid, inodes, n) : 0;

	if (held > 0) {
		snprintf(note, notelen, "; %s is held by the running instance (pid %ld)", text,
		         (long)pid);
		return 0;
	}
	if (held < 0)
		snprintf(err, errlen,
		         "%s: cannot bind %s: address in use; cannot tell whether by the "
		         "running instance (pid %ld): /proc/%ld/fd: %s",
		         key, text, (long)pid, (long)pid, strerror(errno));
	else
		snprintf(err, errlen, "%s: cannot bind %s: address in use%s", key, text,
		         pid ? " by another program than the running instance"
		             : " (and no instance of this configuration answers)");
	return -1;
}

/* bind() without listen(): what start-up would do first, then undone by close().
 * KEY names the option whose address TEXT is: listen, metrics-listen or
 * agent-listen. */
static int check_listen(const struct config *cfg, const char *key, const char *text, char *note,
                        size_t notelen, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct host_port hp;
	char why[512];
	int fd, one = 1, rc;

	if (addr_split(text, &hp, why, sizeof why) < 0 ||
	    addr_resolve(&hp, 1, &ss, &len, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", key, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
		snprintf(err, errlen, "%s: setsockopt SO_REUSEADDR: %s", key, strerror(errno));
		close(fd);
		return -1;
	}
	rc = bind(fd, (struct sockaddr *)&ss, len);
	if (rc < 0 && errno == EADDRINUSE) {
		close(fd);
		return check_address_in_use(cfg, key, text, hp.port, note, notelen, err, errlen);
	}
	if (rc < 0)
		snprintf(err, errlen, "%s: cannot bind %s: %s", key, text, strerror(errno));
	close(fd);
	return rc;
}

/* ---- files ---- */

/* The directory of a resolved path, where start-up creates the file (and PATH.lock). */
static int check_dir_writable(const char *key, const char *full, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(full, '/');

	snprintf(dir, sizeof dir, "%.*s", slash == full ? 1 : (int)(slash - full), full);
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
		snprintf(err, errlen, "%s: cannot create files in %s: %s", key, dir,
		         strerror(errno));
		return -1;
	}
	return 0;
}

/* The safe-path rule on the path, a directory we can write, and what is there
 * already: of the right type and ours; an existing log must open for appending. */
static int check_path(const char *key, const char *path, mode_t type, char *err, size_t errlen)
{
	char full[PATH_MAX], why[768];
	struct stat st;
	int fd;

	if (safe_path_resolve(path, full, sizeof full, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	if (check_dir_writable(key, full, err, errlen) < 0)
		return -1;
	if (lstat(full, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s: %s", key, path, strerror(errno));
		return -1;
	}
	if (safe_check_stat(&st, type, path, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	if (type != S_IFREG || (strcmp(key, "log") != 0 && strcmp(key, "access-log") != 0))
		return 0;
	fd = safe_open(path, O_WRONLY | O_APPEND, 0, NULL, why, sizeof why);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	close(fd);
	return 0;
}

/* Without --admin: the default rule. Root's /run/preforkd is made at start-up when
 * missing, so then the directory above it must take it. */
static int check_admin(const struct config *cfg, char *err, size_t errlen)
{
	char path[PATH_MAX], why[768];
	struct stat st;

	if (cfg->admin_path)
		return check_path("admin", cfg->admin_path, S_IFSOCK, err, errlen);
	if (admin_path_default(cfg->pidfile, path, sizeof path, why, sizeof why) < 0) {
		snprintf(err, errlen, "admin: %s with --admin PATH", why);
		return -1;
	}
	if (!cfg->pidfile && geteuid() == 0 && lstat(ADMIN_ROOT_DIR, &st) < 0 && errno == ENOENT)
		return check_dir_writable("admin", ADMIN_ROOT_DIR, err, errlen);
	return check_path("admin", path, S_IFSOCK, err, errlen);
}

int config_check_system(const struct config *cfg, char *note, size_t notelen, char *err,
                        size_t errlen)
{
	char why[512];
	gid_t gid;

	note[0] = '\0';
	for (size_t i = 0; i < cfg->n_listen || (i == 0 && cfg->n_listen == 0); i++) {
		const char *l = cfg->n_listen ? cfg->listen[i] : CONFIG_LISTEN_DEFAULT;

		/* unix: the file must be ours to replace, or absent; udp: bound at start */
		if (strncmp(l, "unix:", 5) == 0) {
			if (check_path("listen", l + 5, S_IFSOCK, err, errlen) < 0)
				return -1;
		} else if (strncmp(l, "udp:", 4) != 0 &&
		           check_listen(cfg, "listen", l, note + strlen(note),
		                        notelen - strlen(note), err, errlen) < 0) {
			return -1;
		}
	}
	if (cfg->metrics_listen &&
	    check_listen(cfg, "metrics-listen", cfg->metrics_listen, note + strlen(note),
	                 notelen - strlen(note), err, errlen) < 0)
		return -1;
	if (cfg->agent_listen &&
	    check_listen(cfg, "agent-listen", cfg->agent_listen, note + strlen(note),
	                 notelen - strlen(note), err, errlen) < 0)
		return -1;
	if (cfg->log_path && check_path("log", cfg->log_path, S_IFREG, err, errlen) < 0)
		return -1;
	if (cfg->access_log && check_path("access-log", cfg->access_log, S_IFREG, err, errlen) < 0)
		return -1;
	if (cfg->pidfile && check_path("pidfile", cfg->pidfile, S_IFREG, err, errlen) < 0)
		return -1;
	if (check_admin(cfg, err, errlen) < 0)
		return -1;
	if (cfg->admin_group && admin_group_resolve(cfg->admin_group, &gid, err, errlen) < 0)
		return -1;
	if (privdrop_prepare(cfg, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}
