/* --listen values (listen_spec.h). Calls: addr. */
#include "listen_spec.h"

#include "addr.h"

#include <stdio.h>
#include <string.h>
#include <sys/un.h>

int listen_spec_parse(const char *spec, enum listen_spec_kind *kind, const char **rest, char *err,
                      size_t errlen)
{
	struct host_port hp;

	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;

		if (path[0] != '/') {
			snprintf(err, errlen, "unix: expected an absolute path, got '%s'", path);
			return -1;
		}
		if (strlen(path) >= sizeof((struct sockaddr_un *)0)->sun_path) {
			snprintf(err, errlen, "unix: path longer than %zu bytes: '%s'",
			         sizeof((struct sockaddr_un *)0)->sun_path - 1, path);
			return -1;
		}
		*kind = LISTEN_SPEC_UNIX;
		*rest = path;
		return 0;
	}
	*kind = LISTEN_SPEC_TCP;
	*rest = spec;
	if (strncmp(spec, "udp:", 4) == 0) {
		*kind = LISTEN_SPEC_UDP;
		*rest = spec + 4;
	}
	return addr_split(*rest, &hp, err, errlen);
}

int listen_spec_same(const char *a, const char *b)
{
	enum listen_spec_kind ka, kb;
	const char *ra, *rb;
	struct host_port ha, hb;
	char err[256];

	if (listen_spec_parse(a, &ka, &ra, err, sizeof err) < 0 ||
	    listen_spec_parse(b, &kb, &rb, err, sizeof err) < 0 || ka != kb)
		return 0;
	if (ka == LISTEN_SPEC_UNIX)
		return strcmp(ra, rb) == 0;
	if (addr_split(ra, &ha, err, sizeof err) < 0 || addr_split(rb, &hb, err, sizeof err) < 0)
		return 0;
	return ha.port != 0 && ha.port == hb.port && strcmp(ha.host, hb.host) == 0;
}
