/* Request paths: decoded once, "..", encoded '/' and NUL refused; opened beneath a
 * root fd so that a symlink cannot lead out of it. */
#include "http_path.h"
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void check_decode(void)
{
	static const struct {
		const char *target;
		const char *path;
		int want;
		int dir;
	} cases[] = {
		{ "/", "", 0, 1 },
		{ "/a/b.txt", "a/b.txt", 0, 0 },
		{ "/a/", "a", 0, 1 },
		{ "/a%20b?x=%00", "a b", 0, 0 },
		{ "//a///b/./c", "a/b/c", 0, 0 },
		{ "/a/.", "a", 0, 0 },
		{ "/%2e%2E/etc/passwd", NULL, 400, 0 },
		{ "/a/../b", NULL, 400, 0 },
		{ "/..", NULL, 400, 0 },
		{ "/a%2Fb", NULL, 400, 0 },
		{ "/a%2f..%2f..%2fetc", NULL, 400, 0 },
		{ "/a%00b", NULL, 400, 0 },
		{ "/a%zz", NULL, 400, 0 },
		{ "/a%4", NULL, 400, 0 },
		{ "/a#b", NULL, 400, 0 },
		{ "/%252e%252e/x", "%2e%2e/x", 0, 0 },
		{ "/...", "...", 0, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[64];
		int dir = -1;
		int got = http_path_decode(cases[i].target, strlen(cases[i].target), out,
		                           sizeof out, &dir);

		CHECK(got == cases[i].want && (got != 0 || (strcmp(out, cases[i].path) == 0 &&
		                                            dir == cases[i].dir)),
		      "%s -> %d %s", cases[i].target, cases[i].want,
		      cases[i].path ? cases[i].path : "");
	}
	{
		char small[8];
		int dir;

		CHECK(http_path_decode("/abcdefghijkl", 13, small, sizeof small, &dir) == 414,
		      "a path longer than the buffer: 414");
	}
}

static void check_open(void)
{
	char tmpl[] = "/tmp/preforkd-http-path-XXXXXX", p[256];
	const char *dir = mkdtemp(tmpl);
	int root, fd;

	SETUP(dir != NULL);
	if (!dir)
		return;
	snprintf(p, sizeof p, "%s/root", dir);
	SETUP(mkdir(p, 0700) == 0);
	snprintf(p, sizeof p, "%s/secret", dir);
	SETUP(close(open(p, O_WRONLY | O_CREAT, 0600)) == 0);
	snprintf(p, sizeof p, "%s/root/in.txt", dir);
	SETUP(close(open(p, O_WRONLY | O_CREAT, 0600)) == 0);
	snprintf(p, sizeof p, "%s/root/out", dir);
	SETUP(symlink("../secret", p) == 0);
	snprintf(p, sizeof p, "%s/root/abs", dir);
	SETUP(symlink("/etc/passwd", p) == 0);
	snprintf(p, sizeof p, "%s/root/inside", dir);
	SETUP(symlink("in.txt", p) == 0);
	snprintf(p, sizeof p, "%s/root", dir);
	root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	SETUP(root >= 0);
	fd = http_open_beneath(root, "in.txt", O_RDONLY);
	CHECK(fd >= 0, "a file beneath the root opens");
	if (fd >= 0)
		close(fd);
	fd = http_open_beneath(root, "out", O_RDONLY);
	CHECK(fd < 0, "a relative symlink out of the root is refused (errno %d)", errno);
	fd = http_open_beneath(root, "abs", O_RDONLY);
	CHECK(fd < 0, "an absolute symlink is refused (errno %d)", errno);
	fd = http_open_beneath(root, "inside", O_RDONLY);
	CHECK(fd >= 0 || !http_open_uses_openat2(),
	      "with openat2, a symlink that stays inside the root is followed");
	if (fd >= 0)
		close(fd);
	close(root);
	{
		static const char *const made[] = { "root/in.txt", "root/out", "root/abs",
			                            "root/inside", "secret",   "root" };

		for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
			snprintf(p, sizeof p, "%s/%s", dir, made[i]);
			SETUP((i + 1 < sizeof made / sizeof made[0] ? unlink(p) : rmdir(p)) == 0);
		}
		SETUP(rmdir(dir) == 0);
	}
}

int main(void)
{
	check_decode();
	check_open();
	return unit_done();
}
