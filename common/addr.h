/* Addresses: "HOST:PORT" and "[IPv6]:PORT" parsing, resolution and formatting. */
#ifndef PREFORKD_ADDR_H
#define PREFORKD_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define ADDR_HOST_MAX 256
#define ADDR_TEXT_MAX (ADDR_HOST_MAX + 16)

struct host_port {
	char host[ADDR_HOST_MAX];
	unsigned port;
};

int addr_split(const char *text, struct host_port *hp, char *err, size_t errlen);
int addr_split_peer(const char *text, struct host_port *hp, char *err, size_t errlen);
int addr_resolve(const struct host_port *hp, int passive, struct sockaddr_storage *ss,
                 socklen_t *len, char *err, size_t errlen);
int addr_resolve_prefer(const struct host_port *hp, int passive, int prefer,
                        struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen);
void addr_format(const struct sockaddr *sa, char *buf, size_t len);

#endif
