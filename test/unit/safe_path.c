/* Unit tests: the safe-path rule (directories, last component, removal of what is
 * ours) and the default admin socket path. Runs in a private temporary directory. */
#include "admin_path.h"
#include "safe_path.h"
#include "unit.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[64];

static const char *at(const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", top, name);
	return b;
}

static void test_directories(void)
{
	char out[PATH_MAX], want[PATH_MAX], err[768];

	SETUP(mkdir(at("ok"), 0755) == 0);
	SETUP(mkdir(at("open"), 0755) == 0);
	SETUP(chmod(at("open"), 0777) == 0);
	SETUP(mkdir(at("sticky"), 0755) == 0);
	SETUP(chmod(at("sticky"), 01777) == 0);
	SETUP(mkdir(at("real"), 0755) == 0);
	SETUP(symlink("real", at("link")) == 0);

	CHECK(safe_path_resolve(at("ok/f"), out, sizeof out, err, sizeof err) == 0 &&
	              strcmp(out, at("ok/f")) == 0,
	      "a file in a directory of ours resolves to itself");
	CHECK(safe_path_resolve(at("open/f"), out, sizeof out, err, sizeof err) < 0 &&
	              strstr(err, "is writable by group or others") && strstr(err, "owner uid"),
	      "a directory writable by others is refused, naming its owner (%s)", err);
	CHECK(safe_path_resolve(at("sticky/f"), out, sizeof out, err, sizeof err) == 0,
	      "a sticky directory is allowed");
	snprintf(want, sizeof want, "%s", at("real/f"));
	CHECK(safe_path_resolve(at("link/f"), out, sizeof out, err, sizeof err) == 0 &&
	              strcmp(out, want) == 0,
	      "a symlinked directory is resolved (%s)", out);
	CHECK(safe_path_resolve(at("ok/"), out, sizeof out, err, sizeof err) < 0,
	      "a path ending in / is not a file name");
	CHECK(safe_path_resolve(at("ok/../real/f"), out, sizeof out, err, sizeof err) == 0 &&
	              strcmp(out, want) == 0,
	      "'..' is resolved (%s)", out);
	/* A symlink planted in a directory others can write, pointing at one of ours:
	 * the resolved path alone looks safe, the path as given is not. */
	SETUP(symlink("../ok", at("open/d")) == 0);
	CHECK(safe_path_resolve(at("open/d/f"), out, sizeof out, err, sizeof err) < 0 &&
	              strstr(err, "is writable by group or others"),
	      "a symlinked directory reached through a writable directory is refused (%s)", err);
	if (geteuid() == 0) {
		SETUP(symlink("../ok", at("sticky/planted")) == 0);
		if (lchown(at("sticky/planted"), 65534, 65534) == 0)
			CHECK(safe_path_resolve(at("sticky/planted/f"), out, sizeof out, err,
			                        sizeof err) < 0 &&
			              strstr(err, "symlink") && strstr(err, "uid 65534"),
			      "a symlink of another user in a sticky directory is not followed "
			      "(%s)",
			      err);
	}
}

static void test_files(void)
{
	char err[768];
	struct stat st;
	int fd;

	SETUP(symlink("/etc/hostname", at("ok/sym")) == 0);
	CHECK(safe_open(at("ok/sym"), O_WRONLY | O_CREAT, 0644, NULL, err, sizeof err) < 0 &&
	              strstr(err, "is a symlink"),
	      "a symlink is never followed (%s)", err);
	SETUP(mkfifo(at("ok/fifo"), 0644) == 0);
	CHECK(safe_open(at("ok/fifo"), O_WRONLY | O_CREAT, 0644, NULL, err, sizeof err) < 0 &&
	              strstr(err, "is a FIFO"),
	      "a FIFO is refused without blocking (%s)", err);
	fd = open(at("ok/one"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	close(fd);
	SETUP(link(at("ok/one"), at("ok/two")) == 0);
	CHECK(safe_open(at("ok/one"), O_WRONLY, 0, NULL, err, sizeof err) < 0 &&
	              strstr(err, "hard links"),
	      "a file with two links is refused (%s)", err);
	SETUP(unlink(at("ok/two")) == 0);
	fd = safe_open(at("ok/one"), O_WRONLY, 0, &st, err, sizeof err);
	CHECK(fd >= 0 && !(fcntl(fd, F_GETFL) & O_NONBLOCK) && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	      "a regular file of ours opens, blocking and close-on-exec");
	close(fd);
	/* Replaced by another file since (a rename over it): not ours any more. */
	fd = open(at("ok/new"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	close(fd);
	SETUP(rename(at("ok/new"), at("ok/one")) == 0);
	CHECK(safe_remove_ours(at("ok/one"), &st, err, sizeof err) == 0 &&
	              access(at("ok/one"), F_OK) == 0,
	      "a file replaced since is left alone");
	SETUP(stat(at("ok/one"), &st) == 0);
	CHECK(safe_remove_ours(at("ok/one"), &st, err, sizeof err) == 1 &&
	              access(at("ok/one"), F_OK) < 0,
	      "our file is removed");
}

static void test_admin_default(void)
{
	char buf[PATH_MAX], err[768];

	CHECK(admin_path_default("/run/x/p.pid", buf, sizeof buf, err, sizeof err) == 0 &&
	              strcmp(buf, "/run/x/preforkd.sock") == 0,
	      "beside the pidfile");
	CHECK(admin_path_default("p.pid", buf, sizeof buf, err, sizeof err) == 0 &&
	              strcmp(buf, "preforkd.sock") == 0,
	      "beside a relative pidfile");
	setenv("XDG_RUNTIME_DIR", top, 1);
	if (geteuid() == 0)
		CHECK(admin_path_default(NULL, buf, sizeof buf, err, sizeof err) == 0 &&
		              strcmp(buf, "/run/preforkd/preforkd.sock") == 0,
		      "root: /run/preforkd, whatever XDG_RUNTIME_DIR says");
	else
		CHECK(admin_path_default(NULL, buf, sizeof buf, err, sizeof err) == 0,
		      "a user: XDG_RUNTIME_DIR when it is a 0700 directory of theirs");
}

int main(void)
{
	char tmpl[] = "/tmp/preforkd-unit.XXXXXX", cmd[128];

	if (!mkdtemp(tmpl))
		return 1;
	snprintf(top, sizeof top, "%s", tmpl);
	test_directories();
	test_files();
	test_admin_default();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	/* NOLINTNEXTLINE(cert-env33-c): removes our own mkdtemp() tree, named by us. */
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", top);
	return unit_done();
}
