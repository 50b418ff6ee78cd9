/* Request paths: percent-decoding exactly once, then a path that can only name
 * something beneath the root. The decoded path never contains "..", an encoded '/'
 * or NUL (refused, not cleaned up: a client that sends them is not a browser
 * following a link), and it is opened relative to the root's fd, never by a path
 * string that the process's root or working directory could change.
 * Calls: http_parse (hex digits), openat/openat2. Touches: nothing else. */
#include "http_path.h"

#include "http_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Ends the segment that starts at out[seg] and runs to out[*n]: "." and empty ones
 * are dropped, ".." refused. */
static int end_segment(char *out, size_t seg, size_t *n)
{
	size_t len = *n - seg;

	if (len == 2 && out[seg] == '.' && out[seg + 1] == '.')
		return 400;
	if (len == 0 || (len == 1 && out[seg] == '.')) {
		*n = seg > 0 ? seg - 1 : 0; /* also drop the '/' put before it */
		return 0;
	}
	return 0;
}

int http_path_decode(const char *target, size_t len, char *out, size_t outlen, int *dir_form)
{
	size_t n = 0, seg = 0, i = 0;
	int rc;

	if (len == 0 || target[0] != '/' || outlen == 0)
		return 400;
	*dir_form = 0;
	for (i = 1; i < len && target[i] != '?'; i++) {
		char c = target[i];

		if (c == '#')
			return 400; /* a fragment is never sent (RFC 9110 7.1) */
		if (c == '/') {
			rc = end_segment(out, seg, &n);
			if (rc)
				return rc;
			if (n > 0)
				out[n++] = '/';
			seg = n;
			continue;
		}
		if (c == '%') {
			int hi = i + 2 < len ? http_hex_value((unsigned char)target[i + 1]) : -1;
			int lo = hi >= 0 ? http_hex_value((unsigned char)target[i + 2]) : -1;

			if (lo < 0)
				return 400;
			c = (char)(hi << 4 | lo);
			if (c == '\0' || c == '/')
				return 400;
			i += 2;
		}
		if (n + 2 >= outlen)
			return 414;
		out[n++] = c;
	}
	*dir_form = target[i - 1] == '/';
	rc = end_segment(out, seg, &n);
	if (rc)
		return rc;
	if (n > 0 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	return 0;
}

/* 1: try openat2; 0: it failed with ENOSYS or EPERM once, use the walk from then on. */
static int openat2_works = 1;

int http_open_uses_openat2(void)
{
#ifdef PREFORKD_TEST_FAULTS
	/* The tests cannot take openat2 away from the kernel; they ask for the walk. */
	if (openat2_works && getenv("PREFORKD_TEST_NO_OPENAT2"))
		openat2_works = 0;
#endif
	return openat2_works;
}

/* The fallback: one component at a time, each opened with O_NOFOLLOW from the one
 * before, so a symlink anywhere on the path fails (ELOOP or ENOTDIR) instead of
 * leading out of the root. Symlinks inside the root are refused too: the walk
 * cannot tell where one leads without resolving it itself. */
static int walk_beneath(int rootfd, const char *rel, int flags)
{
	char comp[256];
	int dir = rootfd;

	for (;;) {
		const char *slash = strchr(rel, '/');
		size_t n = slash ? (size_t)(slash - rel) : strlen(rel);
		int fd, e;

		if (n >= sizeof comp) {
			if (dir != rootfd)
				close(dir);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, rel, n);
		comp[n] = '\0';
		if (slash)
			fd = openat(dir, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		else
			fd = openat(dir, n ? comp : ".", flags | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		if (dir != rootfd)
			close(dir);
		if (fd < 0 || !slash) {
			errno = e;
			return fd;
		}
		dir = fd;
		rel = slash + 1;
	}
}

int http_open_beneath(int rootfd, const char *rel, int flags)
{
	if (http_open_uses_openat2()) {
		struct open_how how = {
			.flags = (unsigned long long)(flags | O_CLOEXEC),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		long fd;

		do
			fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof how);
		while (fd < 0 && errno == EINTR);
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return (int)fd;
		openat2_works = 0;
	}
	return walk_beneath(rootfd, rel, flags);
}
