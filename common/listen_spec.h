/* A --listen value: HOST:PORT, [V6]:PORT, unix:/absolute/path, udp:HOST:PORT or
 * udp:[V6]:PORT. Pure: parsing and comparing text, no system call. */
#ifndef PREFORKD_LISTEN_SPEC_H
#define PREFORKD_LISTEN_SPEC_H

#include <stddef.h>

enum listen_spec_kind { LISTEN_SPEC_TCP, LISTEN_SPEC_UNIX, LISTEN_SPEC_UDP };

/* The kind, and in *rest the address after the "unix:"/"udp:" prefix (the whole
 * text for TCP). Checks the address's form (addr_split; for unix: an absolute path
 * that fits in sun_path). 0, or -1 with the reason in err. */
int listen_spec_parse(const char *spec, enum listen_spec_kind *kind, const char **rest, char *err,
                      size_t errlen);

/* Both parse and name the same socket: same kind and address. Port 0 names a new
 * port each time: never the same. */
int listen_spec_same(const char *a, const char *b);

#endif
