/* From a request target to a file beneath the served root: the path decoded once
 * and checked (http_path_decode, pure), then opened relative to the root's fd so
 * that nothing outside it can be reached (http_open_beneath). */
#ifndef PREFORKD_HTTP_PATH_H
#define PREFORKD_HTTP_PATH_H

#include <stddef.h>

/* The decoded path of target (up to '?'), relative to the root: no leading '/',
 * segments joined by single '/', "" for the root itself. *dir_form is set when the
 * target ended in '/'. Returns 0, or the status to answer: 400 for a bad escape, an
 * encoded '/' or NUL, a ".." segment or a '#'; 414 when it does not fit in out. */
int http_path_decode(const char *target, size_t len, char *out, size_t outlen, int *dir_form);

/* open() of rel beneath rootfd with flags (O_CLOEXEC is added):
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) where the kernel has it, so a
 * symlink is followed only while it stays inside the root; where openat2 fails with
 * ENOSYS or EPERM (an old kernel, a seccomp filter), a walk one component at a
 * time with O_NOFOLLOW, which refuses every symlink. -1 with errno on failure. */
int http_open_beneath(int rootfd, const char *rel, int flags);

/* Whether openat2 is in use (1) or the walk (0): for the log and the tests. */
int http_open_uses_openat2(void);

#endif
