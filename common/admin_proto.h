/* The admin protocol, one definition for preforkd and preforkctl: the limits, the one
 * table of commands (from which the server's dispatcher, its `help` reply and
 * `preforkctl --help` are all made), parsing a command line into a typed request, and
 * the reply framing. A client sends one command line; the server answers with
 *     ok LEN\n  then exactly LEN bytes     a success; the body is built whole first
 *     error: MESSAGE\n                     a refusal: one line, nothing after it
 * and closes. A reader that meets EOF before LEN bytes knows the reply was cut short.
 * May call: strbuf, parse, net (the reader). Touches no server data. */
#ifndef PREFORKD_ADMIN_PROTO_H
#define PREFORKD_ADMIN_PROTO_H

#include "pool_size.h"
#include "strbuf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#define ADMIN_COMMAND_MAX 4096 /* one command line, its newline included */
#define ADMIN_CLIENTS_MAX 16   /* served at once; the rest wait in the backlog */
#define ADMIN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
/* Deadlines, all CLOCK_MONOTONIC. The command line must arrive whole within
 * ADMIN_REQUEST_MS of the connect. A reply is sent in ADMIN_SEND_CHUNK pieces; the
 * reader must take at least one piece in every ADMIN_PROGRESS_MS (about 4 KiB/s, so
 * a reader that has stopped is let go after a second) and the whole reply within
 * ADMIN_REPLY_MS (an 834 KB `stats json` of 1024 workers needs 28 KB/s on average).
 * A reply that fits the socket's buffer is handed over at once and holds nothing. */
#define ADMIN_REQUEST_MS 1000
#define ADMIN_PROGRESS_MS 1000
#define ADMIN_REPLY_MS 30000
#define ADMIN_SEND_CHUNK 4096
#define ADMIN_HEADER_MAX 32         /* "ok " and up to 20 digits and "\n", with room */
#define ADMIN_REPLY_MAX (64u << 20) /* a reader refuses a longer LEN: a confused peer */

enum admin_cmd {
	ADMIN_CMD_STATUS,
	ADMIN_CMD_STATS,
	ADMIN_CMD_WORKERS,
	ADMIN_CMD_SCALE,
	ADMIN_CMD_RELOAD,
	ADMIN_CMD_STOP,
	ADMIN_CMD_MAINT,
	ADMIN_CMD_UPGRADE,
	ADMIN_CMD_HELP,
	ADMIN_CMD_COUNT
};

enum admin_format { ADMIN_FORMAT_TEXT, ADMIN_FORMAT_JSON, ADMIN_FORMAT_PROMETHEUS };

/* A row of the command table. */
struct admin_command {
	const char *name;
	const char *args; /* the arguments' synopsis, "" when there are none */
	const char *help; /* one line, or several separated by '\n' */
	int min_args, max_args;
	int changes_state; /* a request that the master applies; logged at info */
};

/* Indexed by enum admin_cmd, in the order `help` lists them. */
extern const struct admin_command admin_commands[ADMIN_CMD_COUNT];

/* The command named NAME (an enum admin_cmd), or -1. */
int admin_command_find(const char *name);

/* A command line, parsed and validated. */
struct admin_request {
	enum admin_cmd cmd;
	enum admin_format format;     /* stats */
	long workers;                 /* scale: 1..WORKERS_MAX; MIN of MIN..MAX */
	long workers_max;             /* scale: MAX (== workers for scale N) */
	int maint;                    /* maint: 1 on, 0 off */
	char path[ADMIN_COMMAND_MAX]; /* upgrade: the binary, "" for the one started */
};

/* Parses LINE (LEN bytes, its newline already removed). Returns 0, or -1 with the
 * refusal in ERR, without the "error: " prefix. Every word of the line that ERR
 * quotes is made printable and bounded (admin_quote). */
int admin_parse(const char *line, size_t len, struct admin_request *req, char *err, size_t errlen);
/* The request as a command line, for the audit log: "scale 4", "stats json". */
void admin_describe(const struct admin_request *req, char *buf, size_t len);
/* S as it may appear in a reply or a log line: every byte that is not printable ASCII
 * becomes '?', and a long word ends in "...": a client cannot make the reply carry
 * terminal escapes. */
void admin_quote(const char *s, char *buf, size_t len);

/* The table as help text: one "  NAME ARGS   HELP" entry per command. */
void admin_help(struct strbuf *b);

/* The server's state: the `state` statistic, and the word after " - " on the first
 * line of a `status` reply, which admin_status_line writes and admin_status_state
 * reads back (preforkctl's exit status for `status` depends on it). */
#define ADMIN_STATE_RUNNING "running"
#define ADMIN_STATE_FAILING "failing" /* a crash loop past --crash-loop-limit */
#define ADMIN_STATE_STOPPING "stopping"
#define ADMIN_STATE_MAX 16

/* "preforkd VERSION - STATE, pid PID\n". */
void admin_status_line(struct strbuf *b, const char *version, const char *state,
                       unsigned long long pid);
/* The STATE of a `status` reply's body (LEN bytes) in STATE: 0, or -1 when the body
 * does not begin with a status line. */
int admin_status_state(const char *body, size_t len, char *state, size_t statelen);

/* Framing, for the server. admin_frame_ok puts the header before the body in B;
 * admin_frame_error replaces B's content with one error line (control characters of
 * MESSAGE become '?', so it stays one line). Either leaves B failed on ENOMEM. */
void admin_frame_ok(struct strbuf *b);
void admin_frame_error(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Judging a reply, for a client. */
enum admin_reply_kind {
	ADMIN_REPLY_OK,        /* header and exactly LEN bytes: body is the LEN bytes */
	ADMIN_REPLY_ERROR,     /* one error line: body is MESSAGE, without its newline */
	ADMIN_REPLY_TRUNCATED, /* EOF before the end of the header, the body or the line */
	ADMIN_REPLY_MALFORMED, /* anything else; the reason is in why */
};

struct admin_reply {
	char *data; /* everything received, NUL-terminated (malloc'd) */
	size_t len;
	enum admin_reply_kind kind;
	const char *body; /* inside data */
	size_t body_len;
	size_t expected; /* LEN from the header, when there was one */
	char why[96];    /* for MALFORMED and TRUNCATED: what was wrong */
};

/* Judges the LEN bytes a server sent before EOF. Pure: no I/O. */
void admin_reply_judge(struct admin_reply *r);
/* Reads one reply from FD until EOF (ECONNRESET after some bytes counts as EOF: the
 * server closed with our input unread) or DEADLINE_NS, then judges it. Returns 0, or
 * -1 with errno (ETIMEDOUT, ENOMEM, or the read's) and nothing in R to free. Stops
 * early, MALFORMED, when the header announces more than ADMIN_REPLY_MAX or more bytes
 * follow than it announced. */
int admin_read_reply(int fd, uint64_t deadline_ns, struct admin_reply *r);
void admin_reply_free(struct admin_reply *r);

#endif
