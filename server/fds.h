/* Inherited file descriptors: whoever starts preforkd may leave fds open (a CI
 * runner's pipe, an ssh channel, a file open as fd 9). Workers never exec, so
 * close-on-exec cannot help: the master closes them before it opens anything. */
#ifndef PREFORKD_FDS_H
#define PREFORKD_FDS_H

#include <stddef.h>

/* Closes every fd >= 3 except those listed in keep (any order; socket activation
 * will pass its LISTEN_FDS here). 0 on success, -1 with errno if some could not be
 * closed. */
int fds_close_inherited(const int *keep, size_t nkeep);

/* The fallback for kernels without close_range(2): closes the fds in lo..hi that
 * /proc/self/fd lists. Declared for the unit test. */
int fds_close_listed(unsigned lo, unsigned hi);

#endif
