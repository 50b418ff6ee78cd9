/* The configuration file's format, shared by preforkd and preforkctl: one `key value`
 * per line, `#` comments, blank lines. Only the syntax lives here; what a key means
 * is the reader's business (server/config.c, client/preforkctl.c). */
#ifndef PREFORKD_CONF_FILE_H
#define PREFORKD_CONF_FILE_H

#include <stddef.h>

#define CONF_FILE_MAX (1024 * 1024) /* a configuration is a few hundred bytes */
#define CONF_LINE_MAX 4096          /* a path is at most PATH_MAX */

struct conf_line {
	unsigned line;     /* 1-based */
	const char *key;   /* [a-z0-9-]+ */
	const char *value; /* the rest of the line, trimmed; NULL for a key alone */
};

/* Called for each key line; returns 0, or -1 with err set (one phrase, the key
 * first: "workers: expected ..."), which conf_file_parse prefixes with PATH:LINE. */
typedef int conf_line_fn(void *ctx, const struct conf_line *l, char *err, size_t errlen);

/* Reads a whole configuration file into a malloc'd, NUL-terminated buffer. It must
 * be a regular file of at most CONF_FILE_MAX bytes. strict (a server that may run as
 * root): the path follows the safe-path rule (safe_path.h) and the file must not be
 * writable by group or others, as OpenSSH's StrictModes: whoever can change it
 * decides where root appends its log. */
int conf_file_read(const char *path, int strict, char **text, size_t *len, char *err,
                   size_t errlen);

/* Splits text (modified in place; it must stay alive while the values are used) into
 * lines and calls fn for each key. A value runs to the end of the line or to a '#'
 * that follows a blank (a comment); surrounding blanks and a CR before the newline
 * are dropped. Stops at the first error, reported as "PATH:LINE: ..."; returns 0 or
 * -1. */
int conf_file_parse(const char *path, char *text, size_t len, conf_line_fn *fn, void *ctx,
                    char *err, size_t errlen);

#endif
