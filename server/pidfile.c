/* The pidfile is written through safe_open() (no symlink followed, a regular file of
 * ours with one link, in directories others cannot change) after the instance lock
 * is held, so two starters never write it at once. */
#include "pidfile.h"

#include "instance_lock.h"
#include "log.h"
#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void pidfile_init(struct pidfile *pf)
{
	memset(pf, 0, sizeof *pf);
	pf->lock_fd = -1;
}

/* Write the new number over the old one, then cut the file to its length: a
 * reader sees the old pid or the new one, never an empty file. */
static int write_pid(int fd, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);

	if (pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return ftruncate(fd, n);
}

int pidfile_create(struct pidfile *pf, const char *path, int inherited_lock, char *err,
                   size_t errlen)
{
	int fd;

	if (safe_path_resolve(path, pf->path, sizeof pf->path, err, errlen) < 0)
		return -1;
	pf->lock_fd = inherited_lock >= 0 ? instance_lock_adopt(inherited_lock)
	                                  : instance_lock_take(path, "pidfile", err, errlen);
	if (pf->lock_fd < 0)
		return -1;
	/* A binary upgrade's new master: the old one renamed PATH away, so a file there
	 * now is the old master's own, taken back because it rolled the upgrade back
	 * while this master was starting. Never write over it: it is not ours. */
	fd = safe_open(path, O_WRONLY | O_CREAT | (inherited_lock >= 0 ? O_EXCL : 0), 0644, &pf->st,
	               err, errlen);
	if (fd < 0) {
		if (inherited_lock >= 0 && errno == EEXIST)
			snprintf(err, errlen,
			         "pidfile %s exists again: the old master rolled this upgrade back",
			         path);
		return -1;
	}
	pf->written = 1; /* ours now: removed at exit even if the write fails */
	pf->owned = inherited_lock < 0;
	if (write_pid(fd, getpid()) < 0) {
		snprintf(err, errlen, "cannot write pidfile %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void pidfile_remove(struct pidfile *pf)
{
	char err[512];

	if (pf->written && pf->owned && safe_remove_ours(pf->path, &pf->st, err, sizeof err) < 0)
		log_warn("pidfile: %s", err);
	pf->written = 0;
	if (pf->lock_fd >= 0)
		close(pf->lock_fd);
	pf->lock_fd = -1;
}

void pidfile_own(struct pidfile *pf)
{
	pf->owned = 1;
}

/* rename() within the pidfile's own directory, which safe_path_resolve checked at
 * start: nobody else can change it. The file stays the one we wrote (same inode),
 * so pidfile_remove() still knows it. */
int pidfile_rename(struct pidfile *pf, const char *suffix, char *err, size_t errlen)
{
	char to[PATH_MAX];
	size_t len = strlen(pf->path), slen = strlen(suffix);
	const char *from = pf->path;
	char base[PATH_MAX];

	if (!pf->written)
		return 0;
	/* Either way round: PATH to PATH.oldbin, or back. */
	if (len > slen && strcmp(pf->path + len - slen, suffix) == 0) {
		snprintf(to, sizeof to, "%.*s", (int)(len - slen), pf->path);
	} else if (snprintf(to, sizeof to, "%s%s", pf->path, suffix) >= (int)sizeof to) {
		snprintf(err, errlen, "pidfile %s: path too long", pf->path);
		return -1;
	}
	snprintf(base, sizeof base, "%s", from);
	if (rename(base, to) < 0) {
		snprintf(err, errlen, "rename %s to %s: %s", base, to, strerror(errno));
		return -1;
	}
	memcpy(pf->path, to, strlen(to) + 1);
	return 0;
}
