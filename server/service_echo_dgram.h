/* Echo over UDP (RFC 862's datagram form): the echo service's datagram entry. */
#ifndef PREFORKD_SERVICE_ECHO_DGRAM_H
#define PREFORKD_SERVICE_ECHO_DGRAM_H

struct dgram_ctx;

/* service.h's serve_datagram: echo what is queued on a udp: listener, a bounded
 * number of batches, without blocking. */
int echo_serve_datagram(int fd, const struct dgram_ctx *ctx);

#endif
