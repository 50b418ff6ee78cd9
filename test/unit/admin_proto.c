/* Unit tests: the admin protocol (common/admin_proto.c): the command table, parsing
 * a command line into a request, the help text, and the reply framing both ways,
 * truncation and bad headers included. */
#include "admin_proto.h"
#include "clock.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_table(void)
{
	int changing = 0;

	for (int i = 0; i < ADMIN_CMD_COUNT; i++) {
		const struct admin_command *c = &admin_commands[i];

		CHECK(c->name && c->args && c->help && *c->help, "command %d has a name and help",
		      i);
		CHECK(admin_command_find(c->name) == i, "'%s' is found at its own index", c->name);
		CHECK(c->min_args <= c->max_args && c->max_args <= 1, "'%s' takes 0..1 arguments",
		      c->name);
		changing += c->changes_state;
	}
	CHECK(admin_command_find("top") < 0 && admin_command_find("") < 0 &&
	              admin_command_find("STATUS") < 0,
	      "unknown names are not found");
	CHECK(changing == 5 && admin_commands[ADMIN_CMD_SCALE].changes_state &&
	              admin_commands[ADMIN_CMD_RELOAD].changes_state &&
	              admin_commands[ADMIN_CMD_STOP].changes_state &&
	              admin_commands[ADMIN_CMD_MAINT].changes_state &&
	              admin_commands[ADMIN_CMD_UPGRADE].changes_state,
	      "scale, reload, stop, maint and upgrade, and only they, change the server");
}

static void test_help(void)
{
	struct strbuf b = { 0 };
	size_t longest = 0;

	admin_help(&b);
	CHECK(b.data && !b.failed, "help text is built");
	if (!b.data)
		return;
	for (int i = 0; i < ADMIN_CMD_COUNT; i++) {
		char usage[64];

		snprintf(usage, sizeof usage, "\n  %s%s%s ", admin_commands[i].name,
		         *admin_commands[i].args ? " " : "", admin_commands[i].args);
		CHECK(strstr(b.data, usage + (i == 0)) != NULL, "help lists '%s'", usage + 3);
	}
	CHECK(strstr(b.data, "run N workers (1..1024)") != NULL,
	      "the scale range comes from WORKERS_MAX");
	CHECK(strstr(b.data, "\n                           Prometheus text\n") != NULL,
	      "a second help line is indented under the first");
	for (const char *p = b.data; *p;) {
		size_t n = strcspn(p, "\n");

		longest = n > longest ? n : longest;
		p += n + (p[n] == '\n');
	}
	CHECK(longest <= 79, "help lines fit 80 columns (longest %zu)", longest);
	strbuf_free(&b);
}

static int parses(const char *line, struct admin_request *req)
{
	char err[256];

	return admin_parse(line, strlen(line), req, err, sizeof err) == 0;
}

static void test_parse_valid(void)
{
	struct admin_request r;

	CHECK(parses("status", &r) && r.cmd == ADMIN_CMD_STATUS, "status");
	CHECK(parses("stats", &r) && r.cmd == ADMIN_CMD_STATS && r.format == ADMIN_FORMAT_TEXT,
	      "stats");
	CHECK(parses("stats json", &r) && r.format == ADMIN_FORMAT_JSON, "stats json");
	CHECK(parses("\tstats  prometheus \r", &r) && r.format == ADMIN_FORMAT_PROMETHEUS,
	      "stats prometheus with tabs, spaces and a CR");
	CHECK(parses("scale 4", &r) && r.cmd == ADMIN_CMD_SCALE && r.workers == 4, "scale 4");
	CHECK(parses("scale 1024", &r) && r.workers == 1024, "scale 1024");
	CHECK(parses("scale 2..8", &r) && r.workers == 2 && r.workers_max == 8, "scale 2..8");
	CHECK(parses("scale 4", &r) && r.workers_max == 4, "scale N is MIN = MAX = N");
	CHECK(parses("reload", &r) && r.cmd == ADMIN_CMD_RELOAD, "reload");
	CHECK(parses("stop", &r) && r.cmd == ADMIN_CMD_STOP, "stop");
	CHECK(parses("help", &r) && r.cmd == ADMIN_CMD_HELP, "help");
	CHECK(parses("maint on", &r) && r.cmd == ADMIN_CMD_MAINT && r.maint == 1, "maint on");
	CHECK(parses("upgrade", &r) && r.cmd == ADMIN_CMD_UPGRADE && r.path[0] == '\0',
	      "upgrade: the binary started");
	CHECK(parses("upgrade /usr/sbin/preforkd", &r) && r.cmd == ADMIN_CMD_UPGRADE &&
	              strcmp(r.path, "/usr/sbin/preforkd") == 0,
	      "upgrade PATH");
	CHECK(parses("maint off", &r) && r.cmd == ADMIN_CMD_MAINT && r.maint == 0, "maint off");
}

static void test_parse_invalid(void)
{
	static const struct {
		const char *line, *err;
	} cases[] = {
		{ "", "empty command (try 'help')" },
		{ " \t\r", "empty command (try 'help')" },
		{ "frobnicate now", "unknown command 'frobnicate' (try 'help')" },
		{ "status now please", "status: usage: status" },
		{ "scale", "scale: usage: scale N|MIN..MAX" },
		{ "scale 4..2",
		  "scale: expected MIN..MAX, integers 1..1024 with MIN <= MAX, got '4..2'" },
		{ "scale 0..2",
		  "scale: expected MIN..MAX, integers 1..1024 with MIN <= MAX, got '0..2'" },
		{ "scale 2..",
		  "scale: expected MIN..MAX, integers 1..1024 with MIN <= MAX, got '2..'" },
		{ "scale ..3",
		  "scale: expected MIN..MAX, integers 1..1024 with MIN <= MAX, got '..3'" },
		{ "scale 2...3",
		  "scale: expected MIN..MAX, integers 1..1024 with MIN <= MAX, got '2...3'" },
		{ "a b c d e", "a: too many arguments" },
		{ "scale 0", "scale: expected an integer 1..1024, got '0'" },
		{ "scale 1025", "scale: expected an integer 1..1024, got '1025'" },
		{ "scale -3", "scale: expected an integer 1..1024, got '-3'" },
		{ "scale 2.5", "scale: expected an integer 1..1024, got '2.5'" },
		{ "scale +4", "scale: expected an integer 1..1024, got '+4'" },
		{ "scale 1\x1b[2J", "scale: expected an integer 1..1024, got '1?[2J'" },
		{ "stats xml", "stats: expected 'json' or 'prometheus', got 'xml'" },
		{ "maint", "maint: usage: maint on|off" },
		{ "maint yes", "maint: expected 'on' or 'off', got 'yes'" },
		{ "maint ON", "maint: expected 'on' or 'off', got 'ON'" },
		{ "maint on off", "maint: usage: maint on|off" },
		{ "upgrade bin/preforkd", "upgrade: PATH must be absolute, got 'bin/preforkd'" },
		{ "upgrade /a /b", "upgrade: usage: upgrade [PATH]" },
		{ "stats \x1b]0;x\x07", "stats: expected 'json' or 'prometheus', got '?]0;x?'" },
	};
	struct admin_request r;
	char err[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = admin_parse(cases[i].line, strlen(cases[i].line), &r, err, sizeof err);

		CHECK(rc < 0 && strcmp(err, cases[i].err) == 0, "refused: %s (got '%s')",
		      cases[i].err, rc < 0 ? err : "accepted");
	}
	CHECK(admin_parse("stop\0now", 8, &r, err, sizeof err) < 0 &&
	              strcmp(err, "command contains a NUL byte") == 0,
	      "a NUL byte is refused");
}

static void test_parse_bounds(void)
{
	char line[ADMIN_COMMAND_MAX + 1], err[256];
	struct admin_request r;

	memset(line, 'b', sizeof line);
	CHECK(admin_parse(line, ADMIN_COMMAND_MAX - 1, &r, err, sizeof err) < 0 &&
	              strncmp(err, "unknown command 'bbbb", 21) == 0 &&
	              strstr(err, "...' (try 'help')") && strlen(err) < 100,
	      "4095 bytes (4096 with the newline) are a command line; the echo is bounded");
	CHECK(admin_parse(line, ADMIN_COMMAND_MAX, &r, err, sizeof err) < 0 &&
	              strcmp(err, "command too long (at most 4096 bytes with its newline)") == 0,
	      "4096 bytes without the newline are too long");
}

static void test_describe(void)
{
	struct admin_request r;
	char buf[64];

	parses("scale  7", &r);
	admin_describe(&r, buf, sizeof buf);
	CHECK(strcmp(buf, "scale 7") == 0, "describe: scale 7");
	parses("stats prometheus", &r);
	admin_describe(&r, buf, sizeof buf);
	CHECK(strcmp(buf, "stats prometheus") == 0, "describe: stats prometheus");
	parses("stop", &r);
	admin_describe(&r, buf, sizeof buf);
	CHECK(strcmp(buf, "stop") == 0, "describe: stop");
	parses("maint on", &r);
	admin_describe(&r, buf, sizeof buf);
	CHECK(strcmp(buf, "maint on") == 0, "describe: maint on");
}

/* Judges LEN bytes of DATA as a client would. */
static enum admin_reply_kind judge(const char *data, size_t len, struct admin_reply *r)
{
	memset(r, 0, sizeof *r);
	r->data = malloc(len + 1);
	memcpy(r->data, data, len);
	r->data[len] = '\0';
	r->len = len;
	admin_reply_judge(r);
	return r->kind;
}

static void test_frame_round_trip(void)
{
	static const size_t sizes[] = { 0, 1, 9, 10, 4096, 100000 };
	struct admin_reply r;

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct strbuf b = { 0 };
		char *body = malloc(sizes[i] + 1);
		int same;

		/* Bodies that look like headers and error lines must not confuse it. */
		for (size_t j = 0; j < sizes[i]; j++)
			body[j] = "ok 12\nerror: x\n\0\xff"[j % 16];
		strbuf_append(&b, body, sizes[i]);
		admin_frame_ok(&b);
		judge(b.data, b.len, &r);
		same = r.kind == ADMIN_REPLY_OK && r.body_len == sizes[i] &&
		       memcmp(r.body, body, sizes[i]) == 0;
		CHECK(same, "a %zu-byte body survives framing", sizes[i]);
		admin_reply_free(&r);
		free(body);
		strbuf_free(&b);
	}
}

static void test_frame_error(void)
{
	struct strbuf b = { 0 };
	struct admin_reply r;

	strbuf_printf(&b, "a half-built reply");
	admin_frame_error(&b, "unknown command '%s'", "x\ny\x1b");
	CHECK(b.data && strcmp(b.data, "error: unknown command 'x?y?'\n") == 0,
	      "an error is one line, control characters made '?'");
	CHECK(judge(b.data, b.len, &r) == ADMIN_REPLY_ERROR && r.body_len == 22 &&
	              memcmp(r.body, "unknown command 'x?y?'", 22) == 0,
	      "a client reads the error line back");
	admin_reply_free(&r);
	strbuf_free(&b);
}

static void test_truncation(void)
{
	struct strbuf b = { 0 };
	struct admin_reply r;
	int all_truncated = 1;

	strbuf_printf(&b, "preforkd 0.1.0 - running\n");
	admin_frame_ok(&b);
	for (size_t n = 0; n < b.len; n++) {
		if (judge(b.data, n, &r) != ADMIN_REPLY_TRUNCATED) {
			all_truncated = 0;
			printf("# prefix of %zu bytes judged %d (%s)\n", n, r.kind, r.why);
		}
		admin_reply_free(&r);
	}
	CHECK(all_truncated, "every prefix of a reply is truncated, never complete");
	CHECK(judge("ok 100\n0123456789", 17, &r) == ADMIN_REPLY_TRUNCATED &&
	              strcmp(r.why, "got 10 of 100 bytes") == 0 && r.expected == 100,
	      "ok 100 and 10 bytes: truncated, got 10 of 100 bytes");
	admin_reply_free(&r);
	CHECK(judge("error: no end", 13, &r) == ADMIN_REPLY_TRUNCATED,
	      "an error line without its newline is truncated");
	admin_reply_free(&r);
	CHECK(judge("ok 3\nabcd", 9, &r) == ADMIN_REPLY_MALFORMED &&
	              strcmp(r.why, "more bytes than the 3 announced") == 0,
	      "a byte past LEN is malformed");
	admin_reply_free(&r);
	CHECK(judge("error: x\nmore", 13, &r) == ADMIN_REPLY_MALFORMED,
	      "bytes after an error line are malformed");
	admin_reply_free(&r);
	strbuf_free(&b);
}

static void test_bad_headers(void)
{
	static const char *const bad[] = {
		"OK 5\nhello",
		"ok -1\n",
		"ok 05\nhello",
		"ok 5 \nhello",
		"ok \nhello",
		"ok 99999999999999999999\n",
		"ok 67108865\n",
		"preforkd 0.1.0 - running\n",
		"ok: scaling from 2 to 4 workers\n",
		"error:no space\n",
	};
	struct admin_reply r;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char label[20];

		admin_quote(bad[i], label, sizeof label);
		judge(bad[i], strlen(bad[i]), &r);
		CHECK(r.kind == ADMIN_REPLY_MALFORMED && r.why[0], "malformed: '%s' (%s)", label,
		      r.why);
		admin_reply_free(&r);
	}
	CHECK(judge("ok 0\n", 5, &r) == ADMIN_REPLY_OK && r.body_len == 0,
	      "ok 0 is an empty success");
	admin_reply_free(&r);
}

/* A child writes DATA to one end of a socket pair and exits; the parent reads. */
static int read_from_child(const char *data, size_t len, struct admin_reply *r)
{
	int sv[2], rc, status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		while (len > 0) {
			ssize_t n = write(sv[1], data, len);

			if (n <= 0)
				_exit(1);
			data += n;
			len -= (size_t)n;
		}
		_exit(0);
	}
	close(sv[1]);
	rc = admin_read_reply(sv[0], clock_now_ns() + 10 * NS_PER_SEC, r);
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		continue; /* the writer has exited or soon will: only reap it */
	return rc;
}

static void test_read_reply(void)
{
	struct strbuf b = { 0 };
	struct admin_reply r;
	size_t big = 3u << 20;

	for (size_t i = 0; i < big; i++)
		strbuf_append(&b, &"0123456789abcdef\n"[i % 17], 1);
	admin_frame_ok(&b);
	CHECK(read_from_child(b.data, b.len, &r) == 0 && r.kind == ADMIN_REPLY_OK &&
	              r.body_len == big,
	      "a 3 MiB reply is read whole");
	admin_reply_free(&r);
	CHECK(read_from_child(b.data, b.len - 1, &r) == 0 && r.kind == ADMIN_REPLY_TRUNCATED,
	      "a reply one byte short is truncated");
	admin_reply_free(&r);
	CHECK(read_from_child("ok 100\n0123456789", 17, &r) == 0 &&
	              r.kind == ADMIN_REPLY_TRUNCATED && strcmp(r.why, "got 10 of 100 bytes") == 0,
	      "ok 100 then 10 bytes and EOF: truncated");
	admin_reply_free(&r);
	CHECK(read_from_child(b.data, 1000, &r) == 0 && r.kind == ADMIN_REPLY_TRUNCATED,
	      "a big reply cut after 1000 bytes is truncated");
	admin_reply_free(&r);
	CHECK(read_from_child("error: permission denied\n", 25, &r) == 0 &&
	              r.kind == ADMIN_REPLY_ERROR && r.body_len == 17,
	      "an error line is read");
	admin_reply_free(&r);
	strbuf_free(&b);
}

/* The status line preforkctl judges `status` by: written and read back by the one
 * module; anything else reads as no state. */
static void test_status_line(void)
{
	static const char *const states[] = { ADMIN_STATE_RUNNING, ADMIN_STATE_FAILING,
		                              ADMIN_STATE_STOPPING };
	static const char *const bad[] = {
		"",
		"preforkd 0.1.0 - failing, pid 1",      /* no newline: not a whole line */
		"preforkd 0.1.0 failing, pid 1\n",      /* no " - " */
		"preforkd 0.1.0 - , pid 1\n",           /* no state */
		"preforkd 0.1.0 - failing pid 1\n",     /* no comma */
		"Preforkd 0.1.0 - failing, pid 1\n",    /* not the status line */
		"x\npreforkd 0.1.0 - failing, pid 1\n", /* not the first line */
		"preforkd 0.1.0 - averyveryverylongstate, pid 1\n",
	};
	char state[ADMIN_STATE_MAX];

	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		struct strbuf b = { 0 };

		admin_status_line(&b, "0.1.0", states[i], 4242);
		strbuf_printf(&b, "     Since: ...\n");
		CHECK(b.data && strncmp(b.data, "preforkd 0.1.0 - ", 17) == 0 &&
		              admin_status_state(b.data, b.len, state, sizeof state) == 0 &&
		              strcmp(state, states[i]) == 0,
		      "the status line says '%s' and reads back so", states[i]);
		strbuf_free(&b);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(admin_status_state(bad[i], strlen(bad[i]), state, sizeof state) < 0,
		      "no state in bad status line %zu", i);
}

int main(void)
{
	test_table();
	test_status_line();
	test_help();
	test_parse_valid();
	test_parse_invalid();
	test_parse_bounds();
	test_describe();
	test_frame_round_trip();
	test_frame_error();
	test_truncation();
	test_bad_headers();
	test_read_reply();
	return unit_done();
}
