/* Unit tests: process titles. After proctitle_init, argv and the environment read
 * the same as before from their new place, so a title can overwrite the old one;
 * /proc/self/cmdline and /proc/self/comm show what was set. Runs on this test's own
 * argv area, so it exercises the move under the sanitizers too. */
#include "proctitle.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define SAVED_MAX 64

/* Reads a /proc/self file whole (NULs included); returns its length. */
static size_t read_proc(const char *name, char *buf, size_t size)
{
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static int only_nuls(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\0')
			return 0;
	return 1;
}

/* The bytes the kernel laid out from argv[0] on: argv's strings, then environ's. */
static size_t area_size(char **argv)
{
	char *end = argv[0];

	for (char **s = argv; *s; s++)
		if (*s == end)
			end += strlen(*s) + 1;
	for (char **s = environ; s && *s; s++)
		if (*s == end)
			end += strlen(*s) + 1;
	return (size_t)(end - argv[0]);
}

/* The title as cmdline should show it: cut to the area when longer. */
static int shows_title(const char *cmdline, const char *title, size_t room)
{
	size_t len = strlen(title) < room - 1 ? strlen(title) : room - 1;

	return strlen(cmdline) == len && strncmp(cmdline, title, len) == 0;
}

/* Every argv string reads as before, from memory outside the old area. */
static int argv_intact(int argc, char **argv, char **saved, char *old_start, char *old_end)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], saved[i]) != 0 || (argv[i] >= old_start && argv[i] < old_end))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	char *saved[SAVED_MAX], *old_start = argv[0];
	char *old_end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	char cmdline[4096], comm[64];
	const char *path, *var;
	char *path_before;
	size_t n, room;

	if (argc > SAVED_MAX)
		return 2;
	for (int i = 0; i < argc; i++)
		if (!(saved[i] = strdup(argv[i])))
			exit(2);
	/* A variable of our own, so that the test does not depend on the caller's. */
	if (setenv("PREFORKD_UNIT_VAR", "kept", 1) < 0)
		exit(2);
	path = getenv("PATH");
	path_before = strdup(path ? path : "");
	if (!path_before)
		exit(2);

	room = area_size(argv);
	proctitle_init(argc, argv);
	CHECK(argv_intact(argc, argv, saved, old_start, old_end),
	      "after init, argv reads the same from outside the old area");
	path = getenv("PATH");
	CHECK(strcmp(path ? path : "", path_before) == 0 && (var = getenv("PREFORKD_UNIT_VAR")) &&
	              strcmp(var, "kept") == 0,
	      "after init, the environment reads the same");
	CHECK(strcmp(program_invocation_name, saved[0]) == 0,
	      "program_invocation_name follows argv[0]");

	proctitle_set_worker(3, 2);
	n = read_proc("/proc/self/cmdline", cmdline, sizeof cmdline);
	CHECK(n > 0 && shows_title(cmdline, "preforkd: worker 3 (gen 2)", room),
	      "cmdline shows the worker's title, cut to %zu bytes (%s)", room - 1, cmdline);
	CHECK(n > 0 && only_nuls(cmdline + strlen(cmdline), n - strlen(cmdline)),
	      "nothing of the old command line is left after the title");
	read_proc("/proc/self/comm", comm, sizeof comm);
	comm[strcspn(comm, "\n")] = '\0';
	CHECK(strcmp(comm, "preforkd-w3") == 0, "comm is preforkd-w3 (%s)", comm);
	CHECK(argv_intact(argc, argv, saved, old_start, old_end),
	      "after a title, argv still reads the same");
	path = getenv("PATH");
	CHECK(strcmp(path ? path : "", path_before) == 0,
	      "after a title, the environment still reads the same");

	proctitle_set_master("[::1]:7777");
	read_proc("/proc/self/cmdline", cmdline, sizeof cmdline);
	CHECK(shows_title(cmdline, "preforkd: master [::1]:7777", room),
	      "a second title replaces the first (%s)", cmdline);

	for (int i = 0; i < argc; i++)
		free(saved[i]);
	free(path_before);
	return unit_done();
}
