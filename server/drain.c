/* Graceful stop of a listener this master owns: take in no new connection, but
 * serve every one the kernel has already accepted. Linux has no call for that:
 * shutdown() and the last close() of a listener reset what is queued. So:
 *
 * 1. a classic BPF socket filter on the listener drops every pure SYN (SYN set,
 *    ACK clear). TCP runs a listener's filter on each segment with skb->data at the
 *    TCP header (tcp_filter() in tcp_v4_rcv/tcp_v6_rcv), so byte 13 is the flags
 *    byte. The ACK that completes a handshake already under way, and data that
 *    wakes a TCP_DEFER_ACCEPT connection, still pass. A client that connects from
 *    now on sees its SYN go unanswered; it retries, and once the listener is
 *    closed its retry is refused.
 * 2. the listener's open file description becomes O_NONBLOCK. It is shared with
 *    every worker (and only with them: the master opened it). The master then
 *    sets the drain flag in the scoreboard's header (workers never read the
 *    listener's blocking state, which other holders may change), and each worker,
 *    once told to stop, polls and accepts until the queues are empty, serves what
 *    it took, and exits.
 *
 * Sockets accepted after step 1 inherit the filter (the kernel copies it to each
 * child socket); an established connection never receives a pure SYN that matters
 * (a stray one only earns a challenge ACK), so it is harmless there.
 * A listener this master does not own (handed over by systemd or to a new binary,
 * later) is left alone: its workers just stop accepting. */
#include "drain.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <string.h>
#include <sys/socket.h>

#define TCP_FLAGS_OFFSET 13
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

int drain_begin(int listen_fd)
{
	/* A = flags & (SYN|ACK); drop (return 0) if A == SYN, else keep the segment. */
	static struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, TCP_FLAGS_OFFSET),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, TCP_FLAG_SYN | TCP_FLAG_ACK),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TCP_FLAG_SYN, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
	};
	struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
	int fl;

	if (setsockopt(listen_fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) {
		log_error("graceful stop: SO_ATTACH_FILTER: %s; queued connections may be "
		          "reset when the listener closes",
		          strerror(errno));
		return -1;
	}
	fl = fcntl(listen_fd, F_GETFL);
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_error("graceful stop: O_NONBLOCK on the listener: %s; queued connections "
		          "may be reset when the listener closes",
		          strerror(errno));
		return -1;
	}
	return 0;
}
