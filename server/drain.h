/* Graceful stop that serves every queued connection (see drain.c). */
#ifndef PREFORKD_DRAIN_H
#define PREFORKD_DRAIN_H

/* Master, on a graceful stop of a listener it owns: drop new SYNs and make the
 * shared listener non-blocking. Returns -1 (logged) when it could not. */
int drain_begin(int listen_fd);

#endif
