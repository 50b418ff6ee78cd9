/* The kernel's view of the listener's connections, asked on demand through
 * NETLINK_SOCK_DIAG: one dump per status request, so the workers' hot path pays
 * nothing. Each connection comes with both ends (the local address is the real one
 * even behind a wildcard listener), its TCP state and, from struct tcp_info, its RTT
 * and retransmits. Calls only libc and log. */
#ifndef PREFORKD_SOCKDIAG_H
#define PREFORKD_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The whole dump, from the request to its last message; a kernel that takes longer
 * costs the master's loop at most this once per status request. */
#define SOCKDIAG_TIMEOUT_MS 250

/* One connection as the kernel reports it. */
struct sockdiag_conn {
	struct sockaddr_storage local, peer;
	int state;       /* the kernel's TCP state number (TCP_ESTABLISHED, ...) */
	uint32_t inode;  /* 0: no process holds it (still queued, or closed and orphaned) */
	int has_rtt;     /* tcp_info was long enough for rtt_us and rttvar_us */
	int has_retrans; /* ... and for total_retrans */
	uint32_t rtt_us, rttvar_us, total_retrans;
};

typedef void sockdiag_fn(const struct sockdiag_conn *c, void *arg);

/* One datagram of the kernel's reply to request SEQ, LEN bytes: calls FN for each
 * connection in it. Returns 1 when the dump is complete, 0 when more datagrams
 * follow, -1 (errno set, the reason in ERR) on an error reply or a malformed one.
 * Every length is checked against LEN: the reply is input like any other. */
int sockdiag_parse(const void *buf, size_t len, uint32_t seq, sockdiag_fn *fn, void *arg, char *err,
                   size_t errlen);

/* Dumps the TCP connections whose local port is LISTENER's (same family), within
 * TIMEOUT_MS; FN is called for each. 0, or -1 with errno and the reason in ERR.
 * Logs a warning the first time it fails (and when it works again), so a server
 * without sock_diag says so once, not at every status request. */
int sockdiag_dump(const struct sockaddr *listener, int timeout_ms, sockdiag_fn *fn, void *arg,
                  char *err, size_t errlen);

/* "ESTABLISHED", "CLOSE_WAIT", ...; "UNKNOWN" for a number the kernel may add. */
const char *sockdiag_state_name(int state);

#endif
