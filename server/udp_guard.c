/* The reflection defence of datagram services (udp_guard.h): a port rule and a
 * per-source rate limit in a fixed table (no allocation per datagram). The key is
 * the address alone: a sender picks its source port freely. */
#include "udp_guard.h"

#include <string.h>

void udp_guard_init(struct udp_guard *g, struct udp_guard_entry *table, size_t size, long rate,
                    long burst, uint64_t seed)
{
	memset(g, 0, sizeof *g);
	g->table = table;
	g->size = size;
	g->seed = seed | 1;
	if (rate > 0) {
		g->interval_ns = 1000000000ULL / (uint64_t)rate;
		if (g->interval_ns == 0)
			g->interval_ns = 1;
		g->tolerance_ns = (uint64_t)(burst > 1 ? burst - 1 : 0) * g->interval_ns;
	}
}

static int source_port(const struct sockaddr *src)
{
	if (src->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)src)->sin_port);
	if (src->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)src)->sin6_port);
	return -1;
}

int udp_guard_port_ok(const struct sockaddr *src)
{
	return source_port(src) >= UDP_GUARD_PORT_MIN;
}

static void source_key(const struct sockaddr *src, struct in6_addr *key)
{
	memset(key, 0, sizeof *key);
	if (src->sa_family == AF_INET6) {
		*key = ((const struct sockaddr_in6 *)(const void *)src)->sin6_addr;
		return;
	}
	key->s6_addr[10] = 0xff;
	key->s6_addr[11] = 0xff;
	memcpy(&key->s6_addr[12], &((const struct sockaddr_in *)(const void *)src)->sin_addr, 4);
}

/* A keyed mix of the 16 bytes (splitmix64's finaliser over two words): not a
 * cryptographic MAC, only enough that a sender who does not know the seed cannot
 * choose addresses that share one window. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t source_hash(const struct udp_guard *g, const struct in6_addr *key)
{
	uint64_t a, b;

	memcpy(&a, &key->s6_addr[0], 8);
	memcpy(&b, &key->s6_addr[8], 8);
	return (size_t)mix(mix(a ^ g->seed) ^ b);
}

/* The source's entry: its own, else a free one in its window, else the window's
 * stalest (lowest tat: a source whose bucket has refilled loses nothing when its
 * entry goes; one still limited gets a fresh bucket when it returns, which only a
 * flood of other sources through the same window can cause). */
static struct udp_guard_entry *find_entry(struct udp_guard *g, const struct in6_addr *key)
{
	size_t mask = g->size - 1, h = source_hash(g, key);
	struct udp_guard_entry *stalest = NULL, *free_entry = NULL;

	for (size_t i = 0; i < UDP_GUARD_WINDOW; i++) {
		struct udp_guard_entry *e = &g->table[(h + i) & mask];

		if (e->tat_ns != 0 && memcmp(&e->addr, key, sizeof *key) == 0)
			return e;
		if (e->tat_ns == 0 && !free_entry)
			free_entry = e;
		if (!stalest || e->tat_ns < stalest->tat_ns)
			stalest = e;
	}
	if (!free_entry) {
		free_entry = stalest;
		g->evictions++;
	}
	free_entry->addr = *key;
	free_entry->tat_ns = 0;
	return free_entry;
}

enum udp_verdict udp_guard_check(struct udp_guard *g, const struct sockaddr *src, uint64_t now_ns)
{
	struct in6_addr key;
	struct udp_guard_entry *e;
	uint64_t tat;

	if (!udp_guard_port_ok(src))
		return UDP_REFUSED_PORT;
	if (g->interval_ns == 0)
		return UDP_ANSWER;
	source_key(src, &key);
	e = find_entry(g, &key);
	tat = e->tat_ns > now_ns ? e->tat_ns : now_ns;
	if (tat - now_ns > g->tolerance_ns)
		return UDP_LIMITED;
	/* Never 0, which marks a free entry. */
	e->tat_ns = tat + g->interval_ns;
	return UDP_ANSWER;
}
