/* One fuzz input through preforkd's two configuration parsers together, as start-up
 * runs them: the configuration file's text, then a command line over it. The input
 * is the file's text up to the first NUL byte, then command-line words separated by
 * NUL bytes. Whatever is accepted must print (-T) and read back to the same output;
 * anything else must be refused with an error, never a crash (the sanitizers judge
 * that). Shared by the libFuzzer target (test/fuzz/config.c, `make fuzz`) and the
 * bounded deterministic run in the unit tests (test/unit/config_fuzz.c). */
#ifndef PREFORKD_FUZZ_CONFIG_ONE_H
#define PREFORKD_FUZZ_CONFIG_ONE_H

#include "config.h"
#include "config_print.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_WORDS_MAX 16

static unsigned long fuzz_accepted; /* inputs that made a valid configuration */

/* Words that would read a real file (--config) or print and stop (--help,
 * --version) are left out: getopt takes any unambiguous prefix of a long name, and
 * a short option may hide in a cluster (-qc). */
static int fuzz_word_allowed(const char *w)
{
	static const char *const banned[] = { "config", "help", "version" };

	if (w[0] != '-' || w[1] == '\0')
		return 1;
	if (w[1] != '-')
		return !strpbrk(w + 1, "chv");
	if (w[2] == '\0')
		return 1;
	for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++) {
		size_t n = strcspn(w + 2, "=");

		if (n <= strlen(banned[i]) && strncmp(w + 2, banned[i], n) == 0)
			return 0;
	}
	return 1;
}

static void fuzz_fail(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "config fuzz: %s\n--- first\n%s\n--- second\n%s\n", what, a, b);
	abort();
}

/* -T's output read back as a file must print the same again. */
static void fuzz_check_round_trip(const struct config *cfg)
{
	struct strbuf once = { 0 }, twice = { 0 };
	struct config again;
	char err[8192];

	config_print(cfg, &once);
	if (once.failed)
		return;
	config_defaults(&again);
	if (config_load_text(&again, "/fuzz/printed.conf", once.data, once.len, err, sizeof err) <
	            0 ||
	    config_validate(&again, err, sizeof err) < 0)
		fuzz_fail("-T output does not read back", once.data, err);
	config_print(&again, &twice);
	if (!twice.failed && (once.len != twice.len || memcmp(once.data, twice.data, once.len)))
		fuzz_fail("-T output read back prints differently", once.data, twice.data);
	config_release(&again);
	strbuf_free(&once);
	strbuf_free(&twice);
}

static int config_fuzz_one(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[FUZZ_WORDS_MAX + 2], err[8192];
	size_t text_len = 0;
	int argc = 0;
	struct config cfg;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	while (text_len < size && copy[text_len] != '\0')
		text_len++;
	argv[argc++] = "preforkd";
	for (size_t i = text_len + 1; i < size && argc <= FUZZ_WORDS_MAX;) {
		char *w = copy + i;

		i += strlen(w) + 1;
		if (fuzz_word_allowed(w))
			argv[argc++] = w;
	}
	argv[argc] = NULL;
	config_defaults(&cfg);
	err[0] = '\0';
	if (config_load_text(&cfg, "/fuzz/input.conf", copy, text_len, err, sizeof err) == 0 &&
	    config_parse(&cfg, argc, argv, err, sizeof err) == CONFIG_OK) {
		fuzz_accepted++;
		fuzz_check_round_trip(&cfg);
	} else if (err[0] == '\0') {
		fuzz_fail("refused without a reason", copy, "");
	}
	config_release(&cfg);
	free(copy);
	return 0;
}

#endif
