/* Address parsing is pure (unit-tested); resolution goes through getaddrinfo so
 * hostnames, IPv4 and IPv6 literals behave the same everywhere. */
#include "addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int split_error(const char *text, const char *why, char *err, size_t errlen)
{
	snprintf(err, errlen, "expected HOST:PORT or [IPV6]:PORT, got '%s' (%s)", text, why);
	return -1;
}

static int parse_port(const char *p, unsigned min, unsigned *port)
{
	char *end;
	unsigned long v;

	if (*p < '0' || *p > '9')
		return -1;
	v = strtoul(p, &end, 10);
	if (*end != '\0' || v < min || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

static int split(const char *text, unsigned min_port, struct host_port *hp, char *err,
                 size_t errlen)
{
	const char *colon, *host = text;
	size_t hostlen;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close)
			return split_error(text, "missing ']'", err, errlen);
		if (close[1] != ':')
			return split_error(text, "missing :PORT after ']'", err, errlen);
		host = text + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return split_error(text, "missing :PORT", err, errlen);
		if (memchr(text, ':', (size_t)(colon - text)))
			return split_error(text, "an IPv6 address needs brackets", err, errlen);
		hostlen = (size_t)(colon - text);
	}
	if (hostlen == 0)
		return split_error(text, "empty host", err, errlen);
	if (hostlen >= sizeof hp->host)
		return split_error(text, "host too long", err, errlen);
	if (parse_port(colon + 1, min_port, &hp->port) < 0)
		return split_error(text,
		                   min_port ? "port must be 1..65535" : "port must be 0..65535",
		                   err, errlen);
	memcpy(hp->host, host, hostlen);
	hp->host[hostlen] = '\0';
	return 0;
}

int addr_split(const char *text, struct host_port *hp, char *err, size_t errlen)
{
	return split(text, 0, hp, err, errlen);
}

/* Port 0 means "any" only to bind(): a peer's address needs a real port. */
int addr_split_peer(const char *text, struct host_port *hp, char *err, size_t errlen)
{
	return split(text, 1, hp, err, errlen);
}

/* The first address of the preferred family, else the first IPv4 or IPv6 one;
 * AF_UNSPEC takes the first IPv4 or IPv6 address in getaddrinfo's order. */
static const struct addrinfo *pick_address(const struct addrinfo *res, int prefer)
{
	const struct addrinfo *pick = NULL;

	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (ai->ai_family == prefer)
			return ai;
		if (!pick)
			pick = ai;
	}
	return pick;
}

int addr_resolve_prefer(const struct host_port *hp, int passive, int prefer,
                        struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	const struct addrinfo *pick;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	snprintf(port, sizeof port, "%u", hp->port);
	rc = getaddrinfo(hp->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve '%s': %s", hp->host, gai_strerror(rc));
		return -1;
	}
	pick = pick_address(res, prefer);
	if (!pick) {
		snprintf(err, errlen, "no IPv4 or IPv6 address for '%s'", hp->host);
		freeaddrinfo(res);
		return -1;
	}
	memcpy(ss, pick->ai_addr, pick->ai_addrlen);
	*len = pick->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int addr_resolve(const struct host_port *hp, int passive, struct sockaddr_storage *ss,
                 socklen_t *len, char *err, size_t errlen)
{
	return addr_resolve_prefer(hp, passive, AF_UNSPEC, ss, len, err, errlen);
}

void addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "-");
	}
}
