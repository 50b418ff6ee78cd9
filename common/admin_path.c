/* The default admin socket path (see admin_path.h). */
#include "admin_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fit(int n, size_t len, char *err, size_t errlen, const char *what)
{
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "default admin socket path too long (%s)", what);
		return -1;
	}
	return 0;
}

/* A per-user runtime directory as pam_systemd makes it: ours, 0700. */
static const char *user_runtime_dir(char *why, size_t whylen)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (!dir || dir[0] != '/') {
		snprintf(why, whylen, "XDG_RUNTIME_DIR is %s", dir ? "not absolute" : "unset");
		return NULL;
	}
	if (stat(dir, &st) < 0) {
		snprintf(why, whylen, "XDG_RUNTIME_DIR %s: %s", dir, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
		snprintf(why, whylen,
		         "XDG_RUNTIME_DIR %s is not a 0700 directory of uid %ld (owner uid %ld, "
		         "mode %04o)",
		         dir, (long)geteuid(), (long)st.st_uid, (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	return dir;
}

int admin_path_default(const char *pidfile, char *buf, size_t len, char *err, size_t errlen)
{
	const char *slash = pidfile ? strrchr(pidfile, '/') : NULL, *dir;
	char why[512];

	if (pidfile && !slash)
		return fit(snprintf(buf, len, "%s", ADMIN_SOCKET_NAME), len, err, errlen, pidfile);
	if (pidfile)
		return fit(snprintf(buf, len, "%.*s/%s", (int)(slash - pidfile), pidfile,
		                    ADMIN_SOCKET_NAME),
		           len, err, errlen, pidfile);
	if (geteuid() == 0)
		return fit(snprintf(buf, len, "%s/%s", ADMIN_ROOT_DIR, ADMIN_SOCKET_NAME), len, err,
		           errlen, ADMIN_ROOT_DIR);
	dir = user_runtime_dir(why, sizeof why);
	if (!dir) {
		snprintf(err, errlen, "no default admin socket for uid %ld: %s; give the path",
		         (long)geteuid(), why);
		return -1;
	}
	return fit(snprintf(buf, len, "%s/%s", dir, ADMIN_SOCKET_NAME), len, err, errlen, dir);
}

int admin_path_make_root_dir(char *err, size_t errlen)
{
	if (mkdir(ADMIN_ROOT_DIR, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", ADMIN_ROOT_DIR, strerror(errno));
		return -1;
	}
	return 0;
}
