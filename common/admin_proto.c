/* The admin protocol: the command table, the parser, the help text and the reply
 * framing, shared by preforkd and preforkctl so that the two can never disagree on
 * a limit, a command or a byte of the wire format. */
#include "admin_proto.h"

#include "net.h"
#include "parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX 4    /* words after which a line is refused whole */
#define QUOTE_MAX 64  /* a word echoed in a reply, "..." and its NUL included */
#define HELP_WIDTH 24 /* the NAME ARGS column of the help text */
#define READ_FIRST (64u << 10)

#define STR_(x) #x
#define STR(x) STR_(x)

const struct admin_command admin_commands[ADMIN_CMD_COUNT] = {
	[ADMIN_CMD_STATUS] = {
		.name = "status",
		.args = "",
		.help = "header, totals, latency and the per-worker table",
	},
	[ADMIN_CMD_STATS] = {
		.name = "stats",
		.args = "[json|prometheus]",
		.help = "every statistic as 'key: value' lines, JSON or\nPrometheus text",
		.max_args = 1,
	},
	[ADMIN_CMD_WORKERS] = {
		.name = "workers",
		.args = "",
		.help = "the per-worker table",
	},
	[ADMIN_CMD_SCALE] = {
		.name = "scale",
		.args = "N|MIN..MAX",
		.help = "run N workers (1.." STR(WORKERS_MAX) "), as SIGTTIN/SIGTTOU do;\n"
		        "MIN..MAX: an adaptive pool within these bounds",
		.min_args = 1,
		.max_args = 1,
		.changes_state = 1,
	},
	[ADMIN_CMD_RELOAD] = {
		.name = "reload",
		.args = "",
		.help = "re-read the --config file, then a rolling\nrestart of every worker, as SIGHUP",
		.changes_state = 1,
	},
	[ADMIN_CMD_STOP] = {
		.name = "stop",
		.args = "",
		.help = "graceful stop, as SIGTERM; the reply comes before\nthe server goes away",
		.changes_state = 1,
	},
	[ADMIN_CMD_MAINT] = {
		.name = "maint",
		.args = "on|off",
		.help = "the agent-check (--agent-listen) says maint,\nor ready again; the pool serves on",
		.min_args = 1,
		.max_args = 1,
		.changes_state = 1,
	},
	[ADMIN_CMD_UPGRADE] = {
		.name = "upgrade",
		.args = "[PATH]",
		.help = "start the binary again (or PATH, absolute) with\nthe same arguments, "
		        "handing over the sockets;\nthe reply waits for the new master or "
		        "a rollback",
		.max_args = 1,
		.changes_state = 1,
	},
	[ADMIN_CMD_HELP] = {
		.name = "help",
		.args = "",
		.help = "this list of commands",
	},
};

int admin_command_find(const char *name)
{
	for (int i = 0; i < ADMIN_CMD_COUNT; i++)
		if (strcmp(name, admin_commands[i].name) == 0)
			return i;
	return -1;
}

/* ---- parsing ---- */

void admin_quote(const char *s, char *buf, size_t len)
{
	size_t i = 0, max;

	if (len < 4) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	max = len - 4; /* room for "..." and the NUL */
	for (; *s && i < max; s++) {
		char c = *s;

		if (c < 0x20 || c >= 0x7f)
			c = '?';
		buf[i++] = c;
	}
	if (*s) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
}

static int split_words(char *line, char **argv)
{
	int argc = 0;

	for (char *save = NULL, *w = strtok_r(line, " \t\r", &save); w;
	     w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == ARGS_MAX)
			return -1;
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	return argc;
}

static int parse_args(struct admin_request *req, char **argv, char *err, size_t errlen)
{
	char quoted[QUOTE_MAX], ignored[128];
	/* The table's argument counts were checked by the caller, so a command that needs
	 * a word has one; "" keeps this function safe on its own all the same. */
	const char *arg = argv[1] ? argv[1] : "";

	switch (req->cmd) {
	case ADMIN_CMD_STATS:
		if (!argv[1])
			req->format = ADMIN_FORMAT_TEXT;
		else if (strcmp(argv[1], "json") == 0)
			req->format = ADMIN_FORMAT_JSON;
		else if (strcmp(argv[1], "prometheus") == 0)
			req->format = ADMIN_FORMAT_PROMETHEUS;
		else
			break;
		return 0;
	case ADMIN_CMD_SCALE:
		if (parse_range("scale", arg, 1, WORKERS_MAX, &req->workers, &req->workers_max,
		                ignored, sizeof ignored) == 0)
			return 0;
		admin_quote(arg, quoted, sizeof quoted);
		if (strstr(arg, ".."))
			snprintf(err, errlen,
			         "scale: expected MIN..MAX, integers 1..%d with MIN <= MAX, got "
			         "'%s'",
			         WORKERS_MAX, quoted);
		else
			snprintf(err, errlen, "scale: expected an integer 1..%d, got '%s'",
			         WORKERS_MAX, quoted);
		return -1;
	case ADMIN_CMD_MAINT:
		if (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0) {
			req->maint = strcmp(arg, "on") == 0;
			return 0;
		}
		admin_quote(arg, quoted, sizeof quoted);
		snprintf(err, errlen, "maint: expected 'on' or 'off', got '%s'", quoted);
		return -1;
	case ADMIN_CMD_UPGRADE:
		if (!argv[1])
			return 0;
		if (arg[0] == '/') {
			snprintf(req->path, sizeof req->path, "%s", arg);
			return 0;
		}
		admin_quote(arg, quoted, sizeof quoted);
		snprintf(err, errlen, "upgrade: PATH must be absolute, got '%s'", quoted);
		return -1;
	default:
		return 0;
	}
	admin_quote(arg, quoted, sizeof quoted);
	snprintf(err, errlen, "stats: expected 'json' or 'prometheus', got '%s'", quoted);
	return -1;
}

int admin_parse(const char *line, size_t len, struct admin_request *req, char *err, size_t errlen)
{
	char copy[ADMIN_COMMAND_MAX], *argv[ARGS_MAX + 1], quoted[QUOTE_MAX];
	const struct admin_command *c;
	int argc, i;

	memset(req, 0, sizeof *req);
	if (len >= sizeof copy) {
		snprintf(err, errlen, "command too long (at most %d bytes with its newline)",
		         ADMIN_COMMAND_MAX);
		return -1;
	}
	if (memchr(line, '\0', len)) {
		snprintf(err, errlen, "command contains a NUL byte");
		return -1;
	}
	memcpy(copy, line, len);
	copy[len] = '\0';
	argc = split_words(copy, argv);
	if (argc == 0) {
		snprintf(err, errlen, "empty command (try 'help')");
		return -1;
	}
	admin_quote(argv[0], quoted, sizeof quoted);
	if (argc < 0) {
		snprintf(err, errlen, "%s: too many arguments", quoted);
		return -1;
	}
	i = admin_command_find(argv[0]);
	if (i < 0) {
		snprintf(err, errlen, "unknown command '%s' (try 'help')", quoted);
		return -1;
	}
	c = &admin_commands[i];
	if (argc - 1 < c->min_args || argc - 1 > c->max_args) {
		snprintf(err, errlen, "%s: usage: %s%s%s", c->name, c->name, *c->args ? " " : "",
		         c->args);
		return -1;
	}
	req->cmd = (enum admin_cmd)i;
	return parse_args(req, argv, err, errlen);
}

void admin_describe(const struct admin_request *req, char *buf, size_t len)
{
	static const char *const formats[] = { "", " json", " prometheus" };
	const char *name = admin_commands[req->cmd].name;

	if (req->cmd == ADMIN_CMD_SCALE && req->workers == req->workers_max)
		snprintf(buf, len, "%s %ld", name, req->workers);
	else if (req->cmd == ADMIN_CMD_SCALE)
		snprintf(buf, len, "%s %ld..%ld", name, req->workers, req->workers_max);
	else if (req->cmd == ADMIN_CMD_MAINT)
		snprintf(buf, len, "%s %s", name, req->maint ? "on" : "off");
	else if (req->cmd == ADMIN_CMD_STATS)
		snprintf(buf, len, "%s%s", name, formats[req->format]);
	else if (req->cmd == ADMIN_CMD_UPGRADE && req->path[0])
		snprintf(buf, len, "%s %s", name, req->path);
	else
		snprintf(buf, len, "%s", name);
}

/* ---- help ---- */

void admin_help(struct strbuf *b)
{
	for (int i = 0; i < ADMIN_CMD_COUNT; i++) {
		const struct admin_command *c = &admin_commands[i];
		const char *h = c->help;
		char usage[HELP_WIDTH + 16];

		snprintf(usage, sizeof usage, "%s%s%s", c->name, *c->args ? " " : "", c->args);
		strbuf_printf(b, "  %-*s %.*s\n", HELP_WIDTH, usage, (int)strcspn(h, "\n"), h);
		for (h = strchr(h, '\n'); h; h = strchr(h, '\n')) {
			h++;
			strbuf_printf(b, "  %-*s %.*s\n", HELP_WIDTH, "", (int)strcspn(h, "\n"), h);
		}
	}
}

/* ---- the status line ---- */

static const char status_prefix[] = "preforkd ";

void admin_status_line(struct strbuf *b, const char *version, const char *state,
                       unsigned long long pid)
{
	strbuf_printf(b, "%s%s - %s, pid %llu\n", status_prefix, version, state, pid);
}

int admin_status_state(const char *body, size_t len, char *state, size_t statelen)
{
	const char *end = memchr(body, '\n', len), *dash, *word, *comma;

	if (!end || (size_t)(end - body) < sizeof status_prefix - 1 ||
	    memcmp(body, status_prefix, sizeof status_prefix - 1) != 0)
		return -1;
	/* The version is one word: the state follows the first " - ". */
	dash = memchr(body + sizeof status_prefix - 1, ' ',
	              (size_t)(end - body) - (sizeof status_prefix - 1));
	if (!dash || end - dash < 4 || memcmp(dash, " - ", 3) != 0)
		return -1;
	word = dash + 3;
	comma = memchr(word, ',', (size_t)(end - word));
	if (!comma || comma == word || (size_t)(comma - word) >= statelen)
		return -1;
	memcpy(state, word, (size_t)(comma - word));
	state[comma - word] = '\0';
	return 0;
}

/* ---- framing: the server ---- */

void admin_frame_ok(struct strbuf *b)
{
	char head[ADMIN_HEADER_MAX];
	size_t body = b->len;
	int n;

	if (b->failed)
		return;
	n = snprintf(head, sizeof head, "ok %zu\n", body);
	strbuf_append(b, head, (size_t)n); /* makes the room */
	if (b->failed)
		return;
	memmove(b->data + n, b->data, body);
	memcpy(b->data, head, (size_t)n);
}

void admin_frame_error(struct strbuf *b, const char *fmt, ...)
{
	char msg[ADMIN_COMMAND_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	strbuf_free(b);
	strbuf_printf(b, "error: %s\n", msg);
}

/* ---- framing: the client ---- */

static const char ok_prefix[] = "ok ", error_prefix[] = "error: ";

/* Whether the N bytes at D could still become PREFIX. */
static int is_prefix_of(const char *d, size_t n, const char *prefix)
{
	size_t plen = strlen(prefix);

	return memcmp(d, prefix, n < plen ? n : plen) == 0;
}

/* The "ok LEN\n" header at D: 1 complete (LEN in *len, its size in *hlen), 0 cut
 * short, -1 not a header (the reason in WHY). One spelling only: decimal digits, no
 * sign, no leading zero, no space, at most ADMIN_REPLY_MAX. */
static int parse_ok_header(const char *d, size_t n, size_t *len, size_t *hlen, char *why,
                           size_t whylen)
{
	size_t i = sizeof ok_prefix - 1, v = 0;

	for (; i < n && d[i] >= '0' && d[i] <= '9'; i++) {
		if (i > sizeof ok_prefix - 1 && v == 0) {
			snprintf(why, whylen, "a leading zero in the length");
			return -1;
		}
		v = v * 10 + (size_t)(d[i] - '0');
		if (v > ADMIN_REPLY_MAX) {
			snprintf(why, whylen, "a reply over %u bytes", ADMIN_REPLY_MAX);
			return -1;
		}
	}
	if (i == n)
		return 0;
	if (d[i] != '\n' || i == sizeof ok_prefix - 1) {
		snprintf(why, whylen, "a bad header: expected 'ok LEN'");
		return -1;
	}
	*len = v;
	*hlen = i + 1;
	return 1;
}

/* What is known from the first bytes: 1 a complete ok header (LEN in *len), 0 not
 * yet known or an error line, -1 hopeless. */
static int peek_header(const char *d, size_t n, size_t *len, size_t *hlen, char *why, size_t whylen)
{
	if (n >= sizeof ok_prefix - 1 && memcmp(d, ok_prefix, sizeof ok_prefix - 1) == 0)
		return parse_ok_header(d, n, len, hlen, why, whylen);
	if (is_prefix_of(d, n, ok_prefix) || is_prefix_of(d, n, error_prefix))
		return 0;
	snprintf(why, whylen, "no 'ok LEN' or 'error:' header");
	return -1;
}

static void judge_error_line(struct admin_reply *r)
{
	const char *msg = r->data + sizeof error_prefix - 1;
	const char *nl = memchr(msg, '\n', r->len - (size_t)(msg - r->data));

	if (!nl) {
		r->kind = ADMIN_REPLY_TRUNCATED;
		snprintf(r->why, sizeof r->why, "the error line has no end");
	} else if (nl != r->data + r->len - 1) {
		r->kind = ADMIN_REPLY_MALFORMED;
		snprintf(r->why, sizeof r->why, "bytes after the error line");
	} else {
		r->kind = ADMIN_REPLY_ERROR;
		r->body = msg;
		r->body_len = (size_t)(nl - msg);
	}
}

void admin_reply_judge(struct admin_reply *r)
{
	size_t hlen = 0;
	int rc = peek_header(r->data, r->len, &r->expected, &hlen, r->why, sizeof r->why);

	r->body = NULL;
	r->body_len = 0;
	if (rc < 0) {
		r->kind = ADMIN_REPLY_MALFORMED;
	} else if (rc == 0 && r->len >= sizeof error_prefix - 1 &&
	           memcmp(r->data, error_prefix, sizeof error_prefix - 1) == 0) {
		judge_error_line(r);
	} else if (rc == 0) {
		r->kind = ADMIN_REPLY_TRUNCATED;
		snprintf(r->why, sizeof r->why, "%s",
		         r->len ? "the reply ends inside its header" : "no reply");
	} else if (r->len - hlen < r->expected) {
		r->kind = ADMIN_REPLY_TRUNCATED;
		snprintf(r->why, sizeof r->why, "got %zu of %zu bytes", r->len - hlen, r->expected);
	} else if (r->len - hlen > r->expected) {
		r->kind = ADMIN_REPLY_MALFORMED;
		snprintf(r->why, sizeof r->why, "more bytes than the %zu announced", r->expected);
	} else {
		r->kind = ADMIN_REPLY_OK;
		r->body = r->data + hlen;
		r->body_len = r->expected;
	}
}

static int grow(struct admin_reply *r, size_t *cap, size_t want)
{
	char *p;

	if (want <= *cap)
		return 0;
	p = realloc(r->data, want);
	if (!p)
		return -1;
	r->data = p;
	*cap = want;
	return 0;
}

/* Once the header is known, the buffer is sized for the whole reply and one byte
 * more: a byte beyond LEN means a malformed reply, and reading stops there. */
static size_t room_wanted(const struct admin_reply *r, size_t cap)
{
	size_t len, hlen;
	char why[96];

	if (peek_header(r->data, r->len, &len, &hlen, why, sizeof why) == 1)
		return hlen + len + 2;
	if (r->len + 1 < cap)
		return cap;
	return cap * 2 > ADMIN_REPLY_MAX ? cap + 1 : cap * 2;
}

int admin_read_reply(int fd, uint64_t deadline_ns, struct admin_reply *r)
{
	size_t cap = 0;
	char why[96];
	int err;

	memset(r, 0, sizeof *r);
	if (grow(r, &cap, READ_FIRST) < 0)
		return -1;
	for (;;) {
		size_t len, hlen;
		ssize_t n;

		if (peek_header(r->data, r->len, &len, &hlen, why, sizeof why) < 0 ||
		    r->len > ADMIN_REPLY_MAX + ADMIN_HEADER_MAX)
			break; /* judged below: nothing more can make it right */
		if (grow(r, &cap, room_wanted(r, cap)) < 0)
			goto fail;
		if (r->len + 1 >= cap)
			break; /* a byte past the announced length: malformed */
		n = read_some(fd, r->data + r->len, cap - r->len - 1, deadline_ns);
		if (n == 0 || (n < 0 && errno == ECONNRESET && r->len > 0))
			break;
		if (n < 0)
			goto fail;
		r->len += (size_t)n;
	}
	r->data[r->len] = '\0';
	admin_reply_judge(r);
	return 0;
fail:
	err = errno;
	admin_reply_free(r);
	errno = err;
	return -1;
}

void admin_reply_free(struct admin_reply *r)
{
	free(r->data);
	memset(r, 0, sizeof *r);
}
