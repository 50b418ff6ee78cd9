/* Unit tests: the UDP reflection defence. Source port 0 and every port below 1024
 * are refused; the per-source token bucket answers a burst, then the rate, and
 * keeps sources apart; a full window gives its stalest entry away; rate 0 is no
 * limit. */
#include "udp_guard.h"
#include "unit.h"

#include <arpa/inet.h>

#define MS 1000000ULL
#define SEC 1000000000ULL
#define TABLE 64

static struct sockaddr_in v4(const char *ip, int port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof s);
	s.sin_family = AF_INET;
	s.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

static struct sockaddr_in6 v6(const char *ip, int port)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof s);
	s.sin6_family = AF_INET6;
	s.sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return s;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void test_ports(void)
{
	static const int refused[] = { 0, 7, 13, 17, 19, 37, 53, 123, 161, 1023 };
	struct udp_guard_entry t[TABLE] = { 0 };
	struct udp_guard g;
	struct sockaddr_in6 six0 = v6("::1", 0), six = v6("::1", 40000);
	struct sockaddr_in a;
	int all = 1;

	udp_guard_init(&g, t, TABLE, 0, 1, 42);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		a = v4("127.0.0.1", refused[i]);
		all &= !udp_guard_port_ok(SA(a)) &&
		       udp_guard_check(&g, SA(a), SEC) == UDP_REFUSED_PORT;
	}
	CHECK(all, "source ports 0, 7, 13, 17, 19, 37, 53, 123, 161 and 1023 are refused");
	a = v4("127.0.0.1", 1024);
	CHECK(udp_guard_check(&g, SA(a), SEC) == UDP_ANSWER, "port 1024 is answered");
	a = v4("127.0.0.1", 65535);
	CHECK(udp_guard_check(&g, SA(a), SEC) == UDP_ANSWER, "port 65535 is answered");
	CHECK(udp_guard_check(&g, SA(six0), SEC) == UDP_REFUSED_PORT, "IPv6 source port 0 refused");
	CHECK(udp_guard_check(&g, SA(six), SEC) == UDP_ANSWER, "IPv6 port 40000 answered");
}

static int answered(struct udp_guard *g, const struct sockaddr *src, int n, uint64_t now)
{
	int yes = 0;

	for (int i = 0; i < n; i++)
		yes += udp_guard_check(g, src, now) == UDP_ANSWER;
	return yes;
}

static void test_rate(void)
{
	struct udp_guard_entry t[TABLE] = { 0 };
	struct udp_guard g;
	struct sockaddr_in a = v4("192.0.2.1", 5000), a2 = v4("192.0.2.1", 5001);
	struct sockaddr_in b = v4("192.0.2.2", 5000);
	uint64_t now = 1000 * SEC;
	enum udp_verdict first, second;
	int n;

	udp_guard_init(&g, t, TABLE, 10, 5, 42);
	n = answered(&g, SA(a), 50, now);
	CHECK(n == 5, "a burst of 50 at once: the burst of 5 is answered (%d)", n);
	CHECK(udp_guard_check(&g, SA(a2), now) == UDP_LIMITED,
	      "another port of the same address shares its bucket");
	CHECK(answered(&g, SA(b), 5, now) == 5, "another source has its own bucket");
	CHECK(udp_guard_check(&g, SA(a), now + 99 * MS) == UDP_LIMITED,
	      "99 ms later (rate 10/s): still nothing");
	first = udp_guard_check(&g, SA(a), now + 100 * MS);
	second = udp_guard_check(&g, SA(a), now + 100 * MS);
	CHECK(first == UDP_ANSWER && second == UDP_LIMITED, "100 ms later: one answer");
	n = answered(&g, SA(a), 50, now + 10 * SEC);
	CHECK(n == 5, "after a quiet spell: a full burst again, never more (%d)", n);
	n = 0;
	for (int ms = 0; ms < 10000; ms++)
		n += answered(&g, SA(b), 1, now + 20 * SEC + (uint64_t)ms * MS);
	CHECK(n >= 100 && n <= 105, "a steady flood for 10 s gets the burst + 10/s (%d)", n);
}

static void test_no_limit(void)
{
	struct udp_guard_entry t[TABLE] = { 0 };
	struct udp_guard g;
	struct sockaddr_in a = v4("192.0.2.1", 5000);

	udp_guard_init(&g, t, TABLE, 0, 1, 42);
	CHECK(answered(&g, SA(a), 100000, SEC) == 100000, "rate 0: no limit");
	CHECK(t[0].tat_ns == 0 && g.evictions == 0, "rate 0: the table is not touched");
}

static void test_eviction(void)
{
	struct udp_guard_entry t[TABLE] = { 0 };
	struct udp_guard g;
	struct sockaddr_in a = v4("198.51.100.1", 5000);
	uint64_t now = 1000 * SEC;
	char ip[32];
	int used = 0, fresh = 0;

	udp_guard_init(&g, t, TABLE, 1, 1, 7);
	CHECK(answered(&g, SA(a), 3, now) == 1, "rate 1, burst 1: one answer");
	/* Many more sources than entries, later: the table holds at most TABLE of them. */
	for (int i = 0; i < 4 * TABLE; i++) {
		struct sockaddr_in s;

		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 200, i % 200 + 1);
		s = v4(ip, 6000);
		fresh += udp_guard_check(&g, SA(s), now + SEC) == UDP_ANSWER;
	}
	CHECK(fresh == 4 * TABLE, "each new source is answered (%d)", fresh);
	for (size_t i = 0; i < TABLE; i++)
		used += t[i].tat_ns != 0;
	CHECK(used == TABLE && g.evictions > 0,
	      "%d sources in %d entries: the table is full, %llu entries given away", 4 * TABLE,
	      TABLE, (unsigned long long)g.evictions);
	CHECK(udp_guard_check(&g, SA(a), now + 2 * SEC) == UDP_ANSWER,
	      "an evicted source starts again with a full bucket");
}

int main(void)
{
	test_ports();
	test_rate();
	test_no_limit();
	test_eviction();
	return unit_done();
}
