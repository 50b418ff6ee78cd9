/* The UDP echo's defence against reflection (CVE-1999-0103: echo aimed at echo or
 * chargen loops forever; a spoofed source turns a reply into an attack on a third
 * party): which sources a datagram service answers, and how often. Pure: the
 * caller owns the table and passes the time (CLOCK_MONOTONIC); unit-tested.
 *
 * Layering: calls nothing but libc; service_echo_dgram.c uses it. */
#ifndef PREFORKD_UDP_GUARD_H
#define PREFORKD_UDP_GUARD_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Source ports below this are never answered: 0 (no sender may use it) and the
 * well-known and privileged ports, where echo (7), daytime (13), qotd (17), chargen
 * (19), time (37), DNS (53), NTP (123), SNMP (161)... answer whatever reaches them. */
#define UDP_GUARD_PORT_MIN 1024

enum udp_verdict { UDP_ANSWER, UDP_REFUSED_PORT, UDP_LIMITED };

/* One source address's token bucket, as a theoretical arrival time (GCRA): the
 * source may be answered while tat - now <= the burst's tolerance. 24 bytes. */
struct udp_guard_entry {
	struct in6_addr addr; /* IPv4 as ::ffff:a.b.c.d */
	uint64_t tat_ns;      /* 0: a free entry */
};

struct udp_guard {
	struct udp_guard_entry *table;
	size_t size;           /* a power of two */
	uint64_t interval_ns;  /* 1 s / rate; 0: no limit */
	uint64_t tolerance_ns; /* (burst - 1) x interval */
	uint64_t seed;         /* keys the hash: a sender cannot aim at one bucket */
	uint64_t evictions;    /* entries taken over by another source (a full window) */
};

/* The entries a source may hash to: a full window gives its stalest entry away. */
#define UDP_GUARD_WINDOW 8

/* table: size entries (a power of two, at least UDP_GUARD_WINDOW), zeroed by the
 * caller. rate: answers per second per source, 0 = no limit; burst: answers a
 * quiet source may have at once (>= 1). */
void udp_guard_init(struct udp_guard *g, struct udp_guard_entry *table, size_t size, long rate,
                    long burst, uint64_t seed);

/* 1 if a datagram from this source port may be answered. */
int udp_guard_port_ok(const struct sockaddr *src);

/* The verdict for one datagram from src at now_ns; an answered one takes a token. */
enum udp_verdict udp_guard_check(struct udp_guard *g, const struct sockaddr *src, uint64_t now_ns);

#endif
