/* Unit tests: the sock_diag reply parser on crafted datagrams (well formed, cut
 * short at every length, lying lengths, error replies, stale sequence numbers), and
 * one real dump of a loopback connection. */
#include "sockdiag.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEQ 42

static unsigned char buf[8192] __attribute__((aligned(8)));
static size_t used;

struct seen {
	int n;
	struct sockdiag_conn last;
};

static void collect(const struct sockdiag_conn *c, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->last = *c;
}

/* Appends one netlink message: header, then PAYLOAD of LEN bytes. */
static void put_msg(uint16_t type, uint32_t seq, const void *payload, size_t len)
{
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(len),
		              .nlmsg_type = type,
		              .nlmsg_flags = NLM_F_MULTI,
		              .nlmsg_seq = seq,
		              .nlmsg_pid = 0 };

	memcpy(buf + used, &h, sizeof h);
	memcpy(buf + used + NLMSG_HDRLEN, payload, len);
	used += NLMSG_ALIGN(h.nlmsg_len);
}

/* A connection 127.0.0.1:7777 <- 127.0.0.2:40111 in STATE, with INFO_LEN bytes of
 * tcp_info (0: no INET_DIAG_INFO attribute). */
static void put_conn(uint32_t seq, int family, int state, size_t info_len)
{
	unsigned char p[sizeof(struct inet_diag_msg) + RTA_SPACE(sizeof(struct tcp_info))];
	struct inet_diag_msg m;
	struct tcp_info ti;
	struct rtattr a = { .rta_len = (unsigned short)RTA_LENGTH(info_len),
		            .rta_type = INET_DIAG_INFO };
	size_t len = NLMSG_ALIGN(sizeof m);

	memset(p, 0, sizeof p);
	memset(&m, 0, sizeof m);
	m.idiag_family = (uint8_t)family;
	m.idiag_state = (uint8_t)state;
	m.id.idiag_sport = htons(7777);
	m.id.idiag_dport = htons(40111);
	m.id.idiag_src[0] = htonl(0x7f000001);
	m.id.idiag_dst[0] = htonl(0x7f000002);
	m.idiag_inode = 4242;
	memcpy(p, &m, sizeof m);
	if (info_len > 0) {
		memset(&ti, 0, sizeof ti);
		ti.tcpi_rtt = 123;
		ti.tcpi_rttvar = 45;
		ti.tcpi_total_retrans = 3;
		memcpy(p + len, &a, sizeof a);
		memcpy(p + len + RTA_LENGTH(0), &ti, info_len);
		len += RTA_ALIGN(a.rta_len);
	}
	put_msg(SOCK_DIAG_BY_FAMILY, seq, p, len);
}

static void put_done(uint32_t seq, int error)
{
	put_msg(NLMSG_DONE, seq, &error, sizeof error);
}

static int parse(struct seen *s, size_t len)
{
	char err[128] = "";

	memset(s, 0, sizeof *s);
	return sockdiag_parse(buf, len, SEQ, collect, s, err, sizeof err);
}

static void test_well_formed(void)
{
	struct seen s;
	const struct sockaddr_in *local = (const struct sockaddr_in *)&s.last.local;
	const struct sockaddr_in *peer = (const struct sockaddr_in *)&s.last.peer;

	used = 0;
	put_conn(SEQ, AF_INET, 8, sizeof(struct tcp_info));
	put_done(SEQ, 0);
	CHECK(parse(&s, used) == 1 && s.n == 1, "a connection then DONE: one connection, done");
	CHECK(local->sin_family == AF_INET && ntohs(local->sin_port) == 7777 &&
	              ntohl(local->sin_addr.s_addr) == 0x7f000001,
	      "the local address and port are the server's");
	CHECK(ntohs(peer->sin_port) == 40111 && ntohl(peer->sin_addr.s_addr) == 0x7f000002,
	      "the peer address and port are the client's");
	CHECK(s.last.state == 8 && strcmp(sockdiag_state_name(s.last.state), "CLOSE_WAIT") == 0,
	      "the state is CLOSE_WAIT");
	CHECK(s.last.inode == 4242, "the socket's inode");
	CHECK(s.last.has_rtt && s.last.rtt_us == 123 && s.last.rttvar_us == 45 &&
	              s.last.has_retrans && s.last.total_retrans == 3,
	      "rtt, rttvar and total retransmits come from tcp_info");

	used = 0;
	put_conn(SEQ, AF_INET6, 1, sizeof(struct tcp_info));
	CHECK(parse(&s, used) == 0 && s.n == 1 && s.last.peer.ss_family == AF_INET6,
	      "without DONE: more to come; IPv6 connections are read as IPv6");

	used = 0;
	put_conn(SEQ, AF_INET, 1, 8);
	CHECK(parse(&s, used) == 0 && s.n == 1 && !s.last.has_rtt && !s.last.has_retrans,
	      "a tcp_info too short for rtt: no rtt, no retransmits");

	used = 0;
	put_conn(SEQ, AF_INET, 1, 0);
	CHECK(parse(&s, used) == 0 && s.n == 1 && !s.last.has_rtt,
	      "no INET_DIAG_INFO: the connection without figures");

	used = 0;
	put_conn(SEQ + 1, AF_INET, 1, sizeof(struct tcp_info));
	put_done(SEQ + 1, 0);
	put_conn(SEQ, AF_INET, 1, sizeof(struct tcp_info));
	CHECK(parse(&s, used) == 0 && s.n == 1,
	      "messages of an older request are skipped, its DONE too");
}

/* Every prefix of a good datagram is either a shorter good one (ends on a message
 * boundary) or refused; nothing is read past the end (ASan would say so). */
static void test_truncated(void)
{
	struct seen s;
	size_t full, first;
	int ok = 1;

	used = 0;
	put_conn(SEQ, AF_INET, 1, sizeof(struct tcp_info));
	first = used;
	put_done(SEQ, 0);
	full = used;
	for (size_t len = 0; len < full; len++) {
		/* Cut into a heap block of exactly len bytes, so ASan sees an overread. */
		unsigned char *cut = malloc(len ? len : 1);
		char err[128];
		int r;

		if (!cut)
			abort();
		memcpy(cut, buf, len);
		memset(&s, 0, sizeof s);
		r = sockdiag_parse(cut, len, SEQ, collect, &s, err, sizeof err);
		if (len == 0 || len == first)
			ok &= r == 0 && s.n == (len == first);
		else
			ok &= r == -1 && errno == EPROTO;
		free(cut);
	}
	CHECK(ok, "every truncation of a reply is refused with EPROTO, or is a whole message");
}

static void set_u32(size_t off, uint32_t v)
{
	memcpy(buf + off, &v, sizeof v);
}

static void set_u16(size_t off, uint16_t v)
{
	memcpy(buf + off, &v, sizeof v);
}

static void test_lies(void)
{
	struct seen s;
	size_t attr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct inet_diag_msg));
	int e;

	used = 0;
	put_conn(SEQ, AF_INET, 1, sizeof(struct tcp_info));
	set_u32(0, 4);
	CHECK(parse(&s, used) == -1 && errno == EPROTO && s.n == 0,
	      "nlmsg_len shorter than the header is refused");
	set_u32(0, (uint32_t)used + 4);
	CHECK(parse(&s, used) == -1 && errno == EPROTO && s.n == 0,
	      "nlmsg_len past the datagram is refused");

	used = 0;
	put_conn(SEQ, AF_INET, 1, sizeof(struct tcp_info));
	set_u16(attr, 2);
	CHECK(parse(&s, used) == -1 && errno == EPROTO && s.n == 0,
	      "an attribute shorter than its header is refused (no endless loop)");
	set_u16(attr, 60000);
	CHECK(parse(&s, used) == -1 && errno == EPROTO && s.n == 0,
	      "an attribute past its message is refused");

	used = 0;
	put_msg(SOCK_DIAG_BY_FAMILY, SEQ, "abc", 3);
	CHECK(parse(&s, used) == -1 && errno == EPROTO,
	      "a connection message too short is refused");

	used = 0;
	put_conn(SEQ, AF_UNIX, 1, 0);
	CHECK(parse(&s, used) == -1 && errno == EPROTO,
	      "a connection of another family is refused");

	used = 0;
	e = -EPERM;
	put_msg(NLMSG_ERROR, SEQ, &e, sizeof e);
	CHECK(parse(&s, used) == -1 && errno == EPERM, "an error reply gives its errno");
	used = 0;
	put_msg(NLMSG_ERROR, SEQ, "", 0);
	CHECK(parse(&s, used) == -1 && errno == EPROTO, "an error reply without its code: EPROTO");
	used = 0;
	put_done(SEQ, -ENOBUFS);
	CHECK(parse(&s, used) == -1 && errno == ENOBUFS, "a DONE that carries an error fails");
}

static void test_names(void)
{
	CHECK(strcmp(sockdiag_state_name(1), "ESTABLISHED") == 0 &&
	              strcmp(sockdiag_state_name(5), "FIN_WAIT2") == 0 &&
	              strcmp(sockdiag_state_name(0), "UNKNOWN") == 0 &&
	              strcmp(sockdiag_state_name(200), "UNKNOWN") == 0 &&
	              strcmp(sockdiag_state_name(-1), "UNKNOWN") == 0,
	      "state names, UNKNOWN out of range");
}

/* A real dump: a loopback listener and one connection to it. */
static void test_live(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct seen s;
	char err[128];
	int r;

	SETUP(l >= 0 && c >= 0);
	SETUP(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 4) == 0);
	SETUP(getsockname(l, (struct sockaddr *)&a, &len) == 0);
	SETUP(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
	memset(&s, 0, sizeof s);
	r = sockdiag_dump((struct sockaddr *)&a, SOCKDIAG_TIMEOUT_MS, collect, &s, err, sizeof err);
	CHECK(r == 0 && s.n == 1 && s.last.state == 1 && s.last.has_rtt,
	      "a live dump finds the one connection to the port, ESTABLISHED, with its rtt");
	CHECK(((struct sockaddr_in *)&s.last.local)->sin_port == a.sin_port,
	      "its local port is the listener's");
	close(c);
	close(l);
}

int main(void)
{
	test_well_formed();
	test_truncated();
	test_lies();
	test_names();
	test_live();
	return unit_done();
}
