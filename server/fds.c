/* Closing what preforkd inherited (see fds.h): close_range(2) over the gaps
 * between the fds to keep, else the fds that /proc/self/fd lists. */
#include "fds.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#define KEEP_MAX 64

int fds_close_listed(unsigned lo, unsigned hi)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -1;
	/* Closing while reading is safe here: /proc/self/fd is read in chunks and an
	 * fd closed behind the cursor is simply not listed again. */
	while ((errno = 0, e = readdir(d)) != NULL) {
		char *end;
		unsigned long fd = strtoul(e->d_name, &end, 10);

		if (*end != '\0' || end == e->d_name || fd < lo || fd > hi || (int)fd == dirfd(d))
			continue;
		if (close((int)fd) < 0 && errno != EBADF && errno != EINTR)
			rc = -1;
	}
	if (errno != 0)
		rc = -1;
	closedir(d);
	return rc;
}

static int close_span(unsigned lo, unsigned hi)
{
	if (close_range(lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return -1;
	/* ENOSYS before Linux 5.9; EPERM from a seccomp filter that does not know it. */
	return fds_close_listed(lo, hi);
}

static int compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int fds_close_inherited(const int *keep, size_t nkeep)
{
	int sorted[KEEP_MAX];
	unsigned lo = 3;
	int rc = 0;

	if (nkeep > KEEP_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < nkeep; i++)
		sorted[i] = keep[i];
	qsort(sorted, nkeep, sizeof sorted[0], compare_ints);
	for (size_t i = 0; i < nkeep; i++) {
		if (sorted[i] < (int)lo)
			continue; /* stdio, or listed twice */
		if (sorted[i] > (int)lo && close_span(lo, (unsigned)sorted[i] - 1) < 0)
			rc = -1;
		lo = (unsigned)sorted[i] + 1;
	}
	if (close_span(lo, ~0U) < 0)
		rc = -1;
	return rc;
}
