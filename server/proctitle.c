/* Process titles. /proc/PID/cmdline, and so ps's args column, shows the bytes of
 * the process's argv area, which the kernel laid out as argv's strings followed by
 * environ's, one after another. A title may use all of it once those strings have
 * moved to the heap (nginx and PostgreSQL do the same): a title longer than the
 * command line runs on into the old environment strings, and the kernel then reads
 * the area up to the first NUL. A title that fits the command line leaves them be,
 * so /proc/PID/environ still shows what the process was started with. comm (top, /proc/PID/stat) is
 * a separate 15-byte name, set with PR_SET_NAME.
 *
 * Calls: log. Touches: the argv area, argv[], environ[], program_invocation_name;
 * only in proctitle_init, before anything else reads them. */
#include "proctitle.h"

#include "fixbuf.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern char **environ;

static char *title_start, *title_end; /* the area a title may overwrite */
static char *dirty_end;               /* what a title must clear: the old argv, or more once used */
/* The moved strings, in one block. Nothing frees it (argv and environ point into it
 * for the whole run); the static also keeps it reachable for LeakSanitizer. */
static char *moved;

static size_t strings_size(char *const *strs)
{
	size_t bytes = 0;

	for (; strs && *strs; strs++)
		bytes += strlen(*strs) + 1;
	return bytes;
}

/* Only a run of strings that follow each other exactly is known to be the area the
 * kernel set up: *end moves over each string that starts where it stands. */
static void extend_over(char *const *strs, char **end)
{
	for (; strs && *strs; strs++)
		if (*strs == *end)
			*end += strlen(*strs) + 1;
}

/* Copies each string to *to and points the array at the copy. */
static void move_strings(char **strs, char **to)
{
	for (; strs && *strs; strs++) {
		size_t len = strlen(*strs) + 1;

		memcpy(*to, *strs, len);
		*strs = *to;
		*to += len;
	}
}

void proctitle_init(int argc, char **argv)
{
	char *end, *to, *slash;

	if (argc < 1 || !argv[0])
		return;
	moved = malloc(strings_size(argv) + strings_size(environ));
	if (!moved) {
		fprintf(stderr, "preforkd: no memory to move the command line: process "
		                "titles stay as started\n");
		return;
	}
	end = argv[0];
	extend_over(argv, &end);
	dirty_end = end;
	extend_over(environ, &end);
	title_start = argv[0];
	title_end = end;
	to = moved;
	move_strings(argv, &to);
	move_strings(environ, &to);
	/* glibc's own messages (assert, malloc checks) name the program through these,
	 * which point at the old argv[0]. */
	program_invocation_name = argv[0];
	slash = strrchr(argv[0], '/');
	program_invocation_short_name = slash ? slash + 1 : argv[0];
}

/* What follows the title, up to the end of what any title or the old command line
 * used, is zeroed: ps (procps) drops trailing NULs, and no piece of an old argument
 * stays readable in cmdline. */
static void clear_after_title(void)
{
	char *after = title_start + strlen(title_start) + 1;

	if (after > dirty_end)
		dirty_end = title_end; /* into the environment: clear all of it */
	memset(after - 1, 0, (size_t)(dirty_end - (after - 1)));
}

__attribute__((format(printf, 1, 2))) static void set_title(const char *fmt, ...)
{
	va_list ap;

	if (!title_start || title_end <= title_start)
		return;
	va_start(ap, fmt);
	vsnprintf(title_start, (size_t)(title_end - title_start), fmt, ap);
	va_end(ap);
	clear_after_title();
}

/* set_title without printf, for a worker. */
static void put_title(const char *title)
{
	size_t n = strlen(title);

	if (!title_start || title_end <= title_start)
		return;
	if (n >= (size_t)(title_end - title_start))
		n = (size_t)(title_end - title_start) - 1;
	memcpy(title_start, title, n);
	title_start[n] = '\0';
	clear_after_title();
}

void proctitle_set_master(const char *listen_text)
{
	/* comm stays the program's name: `pgrep -x preforkd`, `pidof` and `killall`
	 * find the master alone, which is the process to signal. */
	set_title("preforkd: master %s", listen_text);
}

void proctitle_set_worker(int slot, unsigned generation)
{
	/* Without printf: a worker that never formats with it keeps vfprintf's pages
	 * of libc unmapped (README, "Worker memory"). */
	char title[64], comm[16];
	struct fixbuf t = fixbuf_on(title, sizeof title), n = fixbuf_on(comm, sizeof comm);

	fixbuf_str(&t, "preforkd: worker ");
	fixbuf_i64(&t, slot);
	fixbuf_str(&t, " (gen ");
	fixbuf_u64(&t, generation);
	fixbuf_mem(&t, ")", 1);
	put_title(fixbuf_cstr(&t));
	/* At most 15 bytes: slots stay below 2048, so "preforkd-w2047" fits. */
	fixbuf_str(&n, "preforkd-w");
	fixbuf_i64(&n, slot);
	if (prctl(PR_SET_NAME, fixbuf_cstr(&n)) < 0)
		log_warn("prctl PR_SET_NAME %s: %s", comm, strerror(errno));
}
