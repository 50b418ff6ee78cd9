# preforkd — build, test, bench, install. `make` builds everything into bin/.
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# systemd reads units from /usr/local/lib/systemd/system too; logrotate only from /etc.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
LOGROTATEDIR ?= /etc/logrotate.d
# The sample configuration (scripts/preforkd.conf); SYSCONFDIR=/etc for a system install.
SYSCONFDIR ?= $(PREFIX)/etc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror
CPPFLAGS_ALL := -std=c11 -D_GNU_SOURCE $(CPPFLAGS)
# Include paths by source directory: common/ and client/ see only common/, so a
# client that included a server header would not build; server/ and the tests see both.
INC_common := -Icommon
INC_client := -Icommon
INC_server := -Icommon -Iserver
INC_test := -Icommon -Iserver
INC = $(INC_$(firstword $(subst /, ,$<)))
LDLIBS := -lm
# Full RELRO with every symbol bound at start (BIND_NOW): the master resolves the
# dynamic symbols once, so a forked worker never runs the dynamic linker, never
# faults in its pages and never copies the GOT on write. Measured: a worker's PSS
# fell from 147-158 kB to 89-110 kB (RSS from about 920 kB to 550 kB).
LDHARDEN := -Wl,-z,relro -Wl,-z,now

# SANITIZE=1 builds everything with AddressSanitizer and UBSan (CI runs the suites so).
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD := build/san
else
BUILD := build/rel
endif

COMMON_SRC := $(wildcard common/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
# The test build of the server compiles in fault injection; the installed one never does.
TEST_SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/test/%.o) $(BUILD)/test/server/main.o
UNIT_SRC := $(wildcard test/unit/*.c)
TOOL_SRC := $(wildcard test/tools/*.c)

CLIENTS := $(patsubst client/%.c,bin/%,$(wildcard client/*.c))
BINS := bin/preforkd $(CLIENTS)
TEST_BINS := bin/test/preforkd $(patsubst test/unit/%.c,bin/test/unit-%,$(UNIT_SRC)) \
	$(patsubst test/tools/%.c,bin/test/%,$(TOOL_SRC))

# Stamps, rewritten only when their text changes. The compile stamp lives in each
# build's own directory: objects are rebuilt when the compiler flags change, and a
# switch between SANITIZE builds reuses the other build's objects. bin/ is shared
# by both builds, so the link stamp names the build: a switch relinks, no more.
COMPILE_STAMP := $(BUILD)/.cflags
LINK_STAMP := bin/.link
COMPILE_FLAGS := $(CC) $(CPPFLAGS_ALL) $(CFLAGS) $(WARN) [$(INC_common)] [$(INC_server)]
LINK_FLAGS := $(BUILD) $(CC) $(LDHARDEN) $(LDFLAGS) $(LDLIBS)
# Every binary links its object prerequisites the same way.
LINK = $(CC) $(LDHARDEN) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

all: $(BINS)

$(COMPILE_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(COMPILE_FLAGS)' | cmp -s - $@ || echo '$(COMPILE_FLAGS)' > $@

$(LINK_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(LINK_FLAGS)' | cmp -s - $@ || echo '$(LINK_FLAGS)' > $@

$(BUILD)/%.o: %.c $(COMPILE_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(INC) $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

$(BUILD)/test/%.o: %.c $(COMPILE_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(INC) -DPREFORKD_TEST_FAULTS $(CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

# Link order: the code a worker runs first, together, master.c (whose spawn_worker
# the new worker returns through) last among it. The kernel maps a file's pages in
# 64 KiB blocks around each fault, so a worker that runs one function of a block
# holds all of it: grouped, a worker holds about half of the binary's text instead
# of all of it (README, "Worker memory").
WORKER_SIDE := server/worker server/service server/service_http server/http_parse \
	server/http_path server/http_date server/access_log server/service_echo \
	server/service_echo_dgram server/udp_guard server/scoreboard server/proctitle \
	server/signals server/privdrop common/log common/net common/hist common/fixbuf \
	common/strbuf server/master
WORKER_SIDE_OBJ := $(WORKER_SIDE:%=$(BUILD)/%.o)
PREFORKD_OBJ := $(BUILD)/server/main.o $(WORKER_SIDE_OBJ) \
	$(filter-out $(WORKER_SIDE_OBJ),$(SERVER_OBJ) $(COMMON_OBJ))

bin/preforkd: $(PREFORKD_OBJ) $(LINK_STAMP)
	@mkdir -p $(@D)
	$(LINK)

bin/test/preforkd: $(TEST_SERVER_OBJ) $(COMMON_OBJ) $(LINK_STAMP)
	@mkdir -p $(@D)
	$(LINK)

# A client links common/ and nothing of the server (prefork-bench takes its clock,
# histogram, address and number parsing from there).
bin/%: $(BUILD)/client/%.o $(COMMON_OBJ) $(LINK_STAMP)
	@mkdir -p $(@D)
	$(LINK)

bin/test/unit-%: $(BUILD)/test/unit/%.o $(SERVER_OBJ) $(COMMON_OBJ) $(LINK_STAMP)
	@mkdir -p $(@D)
	$(LINK)

bin/test/%: $(BUILD)/test/tools/%.o $(LINK_STAMP)
	@mkdir -p $(@D)
	$(LINK)

test-bins: $(BINS) $(TEST_BINS)

# The README's test command: unit tests and every BATS suite, one closing line.
test: test-bins
	@scripts/run-tests.sh

# ARGS: extra preforkd options, e.g. make run ARGS='--workers 2 --admin my.sock'.
run: all
	bin/preforkd $(ARGS)

bench:
	@$(MAKE) --no-print-directory SANITIZE= CFLAGS='-O2 -g' all test-bins
	@scripts/bench.sh

# preforkd's http service beside nginx and Apache prefork (scripts/bench-http.sh);
# installs what it lacks without starting their services. Not part of `make bench`.
bench-http:
	@$(MAKE) --no-print-directory SANITIZE= CFLAGS='-O2 -g' all
	@scripts/bench-http.sh

# Coverage-guided fuzzing with clang's libFuzzer, FUZZ_TIME seconds for each target
# in FUZZ: the configuration parsers (config), the metrics endpoint's HTTP reader
# (metrics_http) and the http service's request parser (http), e.g. make fuzz
# FUZZ=http FUZZ_TIME=600. New inputs it finds are kept in build/fuzz/TARGET. The
# same checks run bounded and deterministic in `make test` (bin/test/unit-config_fuzz,
# bin/test/unit-metrics_http_fuzz, bin/test/unit-http_fuzz).
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ ?= config metrics_http http
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

bin/fuzz/%: test/fuzz/%.c test/fuzz/%_one.h $(COMMON_SRC) $(SERVER_SRC)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(INC_test) $(FUZZ_FLAGS) $(WARN) -o $@ $< \
		$(COMMON_SRC) $(SERVER_SRC) $(LDLIBS)

fuzz: $(FUZZ:%=bin/fuzz/%)
	@set -e; for t in $(FUZZ); do \
		mkdir -p build/fuzz/$$t; \
		echo "fuzz: $$t for $(FUZZ_TIME) s"; \
		bin/fuzz/$$t -max_total_time=$(FUZZ_TIME) -max_len=8300 \
			-dict=test/fuzz/$$t.dict -artifact_prefix=build/fuzz/$$t- \
			build/fuzz/$$t test/fuzz/corpus/$$t; \
	done

# Static checks (scripts/lint.sh --help): clang-format, clang-tidy, cppcheck, shellcheck,
# include layering, man pages. The LLVM tools are pinned to one version: clang-format's
# output differs between versions. CHECKS names a subset: make lint CHECKS='format tidy'.
LLVM_VERSION := 14
CLANG_FORMAT ?= clang-format-$(LLVM_VERSION)
CLANG_TIDY ?= clang-tidy-$(LLVM_VERSION)
LINT_ENV = LLVM_VERSION=$(LLVM_VERSION) CLANG_FORMAT='$(CLANG_FORMAT)' \
	CLANG_TIDY='$(CLANG_TIDY)' LINT_CPPFLAGS='$(CPPFLAGS_ALL) $(INC_test)'

lint:
	@$(LINT_ENV) scripts/lint.sh $(CHECKS)

# Rewrites every C file with the pinned clang-format (what the format check expects).
format:
	@$(LINT_ENV) scripts/lint.sh --fix format

# Everything `make install` writes, and so exactly what `make uninstall` removes.
MAN1 := $(wildcard docs/*.1)
MAN8 := $(wildcard docs/*.8)
INSTALLED := $(DESTDIR)$(SBINDIR)/preforkd $(CLIENTS:bin/%=$(DESTDIR)$(BINDIR)/%) \
	$(MAN1:docs/%=$(DESTDIR)$(MANDIR)/man1/%) $(MAN8:docs/%=$(DESTDIR)$(MANDIR)/man8/%) \
	$(DESTDIR)$(SYSTEMDUNITDIR)/preforkd.service $(DESTDIR)$(LOGROTATEDIR)/preforkd

# The unit names the binary by its installed path: the prefix replaces /usr/local.
# The configuration is the operator's once installed: an existing one is never
# overwritten, and uninstall removes it only while it is still the sample.
CONF := $(DESTDIR)$(SYSCONFDIR)/preforkd.conf
install: $(BINS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(LOGROTATEDIR) \
		$(DESTDIR)$(SYSCONFDIR)
	if [ -e $(CONF) ]; then echo "keeping $(CONF)"; \
	else install -m 0644 scripts/preforkd.conf $(CONF); fi
	install -m 0755 bin/preforkd $(DESTDIR)$(SBINDIR)/preforkd
	install -m 0755 $(CLIENTS) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	sed 's|/usr/local/sbin/preforkd|$(SBINDIR)/preforkd|g' scripts/preforkd.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/preforkd.service.tmp
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/preforkd.service.tmp
	mv -f $(DESTDIR)$(SYSTEMDUNITDIR)/preforkd.service.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/preforkd.service
	install -m 0644 scripts/preforkd.logrotate $(DESTDIR)$(LOGROTATEDIR)/preforkd

# Only our files: the directories may hold other software's, so they stay.
uninstall:
	rm -f $(INSTALLED)
	if cmp -s scripts/preforkd.conf $(CONF); then rm -f $(CONF); \
	elif [ -e $(CONF) ]; then echo "keeping $(CONF): changed since it was installed"; fi

clean:
	rm -rf build bin

FORCE:
.SECONDARY:
.PHONY: all test test-bins run bench bench-http fuzz lint format install uninstall clean FORCE

-include $(shell find build -name '*.d' 2>/dev/null)
