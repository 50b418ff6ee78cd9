/* Unit tests: a log line's form. The journal form starts with the syslog priority
 * of its level and carries no timestamp; auto picks it only when JOURNAL_STREAM
 * names the very file that is stderr. Lines go to a temporary file as fd 2. */
#include "log.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[] = "/tmp/preforkd-unit-log.XXXXXX";

/* Empties the file behind fd 2 and returns what log lines wrote since. */
static void clear_output(void)
{
	if (ftruncate(STDERR_FILENO, 0) < 0 || lseek(STDERR_FILENO, 0, SEEK_SET) < 0)
		perror("resetting the log file");
}

static const char *output(void)
{
	static char buf[4096];
	ssize_t n = pread(STDERR_FILENO, buf, sizeof buf - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* After a failed check: what was written, as TAP comment lines. */
static void show_output(void)
{
	for (const char *p = output(); *p;) {
		size_t n = strcspn(p, "\n");

		printf("#   got: %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static void test_journal_lines(void)
{
	char want[4096];
	long pid = (long)getpid();

	log_set_level(LOG_DEBUG);
	log_set_format(LOG_FORMAT_JOURNAL);
	clear_output();
	log_error("e %d", 1);
	log_warn("w");
	log_info("i");
	log_debug("d");
	snprintf(want, sizeof want,
	         "<3>[%ld] error: e 1\n<4>[%ld] warn: w\n<6>[%ld] info: i\n<7>[%ld] debug: d\n",
	         pid, pid, pid, pid);
	CHECK(strcmp(output(), want) == 0,
	      "journal form: <3> err, <4> warning, <6> info, <7> debug, no time");
	if (strcmp(output(), want) != 0)
		show_output();

	log_set_format(LOG_FORMAT_PLAIN);
	clear_output();
	log_warn("w");
	snprintf(want, sizeof want, "Z preforkd[%ld] warn: w\n", pid);
	CHECK(output()[0] == '2' && strstr(output(), "T") && strstr(output(), want),
	      "plain form: UTC time, ident, pid, level");
	if (!strstr(output(), want))
		show_output();
}

/* auto with JOURNAL_STREAM set to value: the form it chooses. */
static enum log_format auto_with(const char *value)
{
	if (value)
		setenv("JOURNAL_STREAM", value, 1);
	else
		unsetenv("JOURNAL_STREAM");
	return log_set_format(LOG_FORMAT_AUTO);
}

static void test_auto(void)
{
	struct stat st;
	char match[64], other_ino[64], other_dev[64], trailing[80];

	if (fstat(STDERR_FILENO, &st) < 0) {
		CHECK(0, "fstat of the log file");
		return;
	}
	(void)snprintf(match, sizeof match, "%llu:%llu", (unsigned long long)st.st_dev,
	               (unsigned long long)st.st_ino);
	snprintf(other_ino, sizeof other_ino, "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino + 1);
	snprintf(other_dev, sizeof other_dev, "%llu:%llu", (unsigned long long)st.st_dev + 1,
	         (unsigned long long)st.st_ino);
	snprintf(trailing, sizeof trailing, "%s ", match);

	CHECK(auto_with(match) == LOG_FORMAT_JOURNAL,
	      "auto: JOURNAL_STREAM naming stderr's device and inode picks journal");
	CHECK(auto_with(NULL) == LOG_FORMAT_PLAIN, "auto: no JOURNAL_STREAM is plain");
	CHECK(auto_with(other_ino) == LOG_FORMAT_PLAIN, "auto: another inode is plain");
	CHECK(auto_with(other_dev) == LOG_FORMAT_PLAIN, "auto: another device is plain");
	CHECK(auto_with("") == LOG_FORMAT_PLAIN, "auto: an empty value is plain");
	CHECK(auto_with(trailing) == LOG_FORMAT_PLAIN, "auto: trailing bytes are plain");
	CHECK(auto_with("12") == LOG_FORMAT_PLAIN && auto_with("12:") == LOG_FORMAT_PLAIN &&
	              auto_with(":12") == LOG_FORMAT_PLAIN &&
	              auto_with("-1:2") == LOG_FORMAT_PLAIN &&
	              auto_with("a:b") == LOG_FORMAT_PLAIN &&
	              auto_with("99999999999999999999999:1") == LOG_FORMAT_PLAIN,
	      "auto: malformed values are plain");
	CHECK(auto_with(match) == LOG_FORMAT_JOURNAL &&
	              log_set_format(LOG_FORMAT_PLAIN) == LOG_FORMAT_PLAIN,
	      "plain forced on the journal's stream stays plain");
	unsetenv("JOURNAL_STREAM");
	CHECK(log_set_format(LOG_FORMAT_JOURNAL) == LOG_FORMAT_JOURNAL,
	      "journal forced without JOURNAL_STREAM is journal");
}

/* Last: from here on the lines go to the file. */
static void test_log_file_is_not_the_journal(void)
{
	char file[] = "/tmp/preforkd-unit-log-file.XXXXXX";
	int fd = mkstemp(file);
	struct stat st;
	char match[64];

	if (fd < 0 || fstat(STDERR_FILENO, &st) < 0) {
		CHECK(0, "a temporary log file");
		return;
	}
	close(fd);
	snprintf(match, sizeof match, "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	CHECK(log_open(file) == 0 && auto_with(match) == LOG_FORMAT_PLAIN,
	      "auto with a --log file is plain, even when stderr is the journal's stream");
	(void)unlink(file);
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
		perror("log file");
		return 1;
	}
	close(fd);
	(void)unlink(path);
	test_journal_lines();
	test_auto();
	test_log_file_is_not_the_journal();
	return unit_done();
}
