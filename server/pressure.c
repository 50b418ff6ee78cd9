/* Pressure bookkeeping: the accept-queue sample, episodes, and the choice of the
 * connections to evict (pressure.h). */
#include "pressure.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int pressure_read_queue(int listen_fd, uint64_t *queue, uint64_t *backlog)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	if (getsockopt(listen_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	/* On a listening socket the kernel reports the accept queue's length in
	 * tcpi_unacked and its limit in tcpi_sacked (tcp_get_info, TCP_LISTEN). */
	*queue = ti.tcpi_unacked;
	*backlog = ti.tcpi_sacked;
	return 0;
}

enum pressure_event pressure_update(struct pool_pressure *p, uint64_t now_ns, uint64_t queue,
                                    uint64_t backlog, int idle_workers)
{
	int active = queue > 0 && idle_workers == 0;
	enum pressure_event ev = PRESSURE_NO_CHANGE;

	/* The time after a sample that found pressure counts as pressure until the
	 * next sample: the total is as fine as the tick. */
	if (p->active && p->sampled && now_ns > p->last_sample_ns)
		p->total_ns += now_ns - p->last_sample_ns;
	p->sampled = 1;
	p->last_sample_ns = now_ns;
	p->queue = queue;
	p->backlog = backlog;
	if (queue > p->queue_max)
		p->queue_max = queue;
	p->active = active;
	if (active) {
		p->last_active_ns = now_ns;
		if (!p->in_episode) {
			p->in_episode = 1;
			p->episodes++;
			p->episode_start_ns = now_ns;
			p->episode_evictions = 0;
			ev = PRESSURE_BEGAN;
		}
	} else if (p->in_episode && now_ns - p->last_active_ns >= PRESSURE_EPISODE_GAP_NS) {
		p->in_episode = 0;
		ev = PRESSURE_ENDED;
	}
	return ev;
}

void progress_start(struct progress_seen *p, uint64_t now_ns)
{
	*p = (struct progress_seen){
		.seq = 0, .bytes = 0, .sampled_ns = now_ns, .moved_ns = now_ns
	};
}

uint64_t progress_see(struct progress_seen *p, uint64_t seq, uint64_t bytes, uint64_t start_ns,
                      uint64_t now_ns)
{
	if (bytes != p->bytes)
		p->moved_ns = now_ns;
	else if (seq != p->seq)
		/* The counts are monotonic: an unchanged one means nothing moved between
		 * the last sample's read and this one, so whatever the new connection
		 * moved came before that sample (or it moved nothing since its start). */
		p->moved_ns = start_ns > p->sampled_ns ? start_ns : p->sampled_ns;
	p->seq = seq;
	p->bytes = bytes;
	p->sampled_ns = now_ns;
	return now_ns > p->moved_ns ? now_ns - p->moved_ns : 0;
}

uint64_t pressure_idle_limit(uint64_t idle_ns, size_t busy, uint64_t queue)
{
	uint64_t floor = idle_ns < PRESSURE_IDLE_FLOOR_NS ? idle_ns : PRESSURE_IDLE_FLOOR_NS;
	uint64_t limit = idle_ns;

	if (queue > busy && busy > 0)
		limit = (uint64_t)((double)idle_ns * (double)busy / (double)queue);
	return limit < floor ? floor : limit;
}

size_t pressure_pick(struct evict_candidate *c, size_t n, uint64_t min_idle_ns, size_t want)
{
	size_t chosen = 0;

	if (min_idle_ns == 0)
		return 0;
	/* Insertion sort: at most SLOTS_MAX candidates, usually a handful. */
	for (size_t i = 1; i < n; i++) {
		struct evict_candidate x = c[i];
		size_t j = i;

		for (; j > 0 && c[j - 1].idle_ns < x.idle_ns; j--)
			c[j] = c[j - 1];
		c[j] = x;
	}
	while (chosen < n && chosen < want && c[chosen].idle_ns >= min_idle_ns)
		chosen++;
	return chosen;
}

uint64_t pressure_next_due(const struct evict_candidate *c, size_t n, uint64_t min_idle_ns)
{
	uint64_t due = UINT64_MAX;

	for (size_t i = 0; i < n; i++)
		if (c[i].idle_ns < min_idle_ns && min_idle_ns - c[i].idle_ns < due)
			due = min_idle_ns - c[i].idle_ns;
	return due;
}
