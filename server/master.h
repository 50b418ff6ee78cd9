/* The master: owns the listener, the scoreboard and the worker table; its poll()
 * loop reaps, respawns, scales, reloads and stops. The struct is shared with the
 * stats and admin code, which read it; only master.c changes it. */
#ifndef PREFORKD_MASTER_H
#define PREFORKD_MASTER_H

#include "addr.h"
#include "admin.h"
#include "config.h"
#include "pidfile.h"
#include "scoreboard.h"

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum exit_cause {
	EXIT_CAUSE_CODE,     /* exited with an unexpected code */
	EXIT_CAUSE_SIGNAL,   /* killed by a signal it was not sent by the master */
	EXIT_CAUSE_TIMEOUT,  /* killed by the master: busy with no progress */
	EXIT_CAUSE_RECYCLED, /* served --max-requests and retired */
	EXIT_CAUSE_STOPPED,  /* asked to stop: scale down, reload, shutdown */
	EXIT_CAUSE_COUNT
};

struct exit_record {
	int valid;
	time_t when;
	pid_t pid;
	enum exit_cause cause;
	int status;    /* exit code, or signal number */
	int core;      /* dumped core */
	uint64_t lifetime_ns;
	uint64_t connections;
};

struct worker {
	pid_t pid; /* 0 = slot free */
	unsigned generation;
	uint64_t started_ns;
	time_t started_wall;
	int stopping; /* told to stop; no longer counts toward the target */
	int killed_for_timeout;
	uint64_t progress_mark;
	uint64_t progress_ns;
	uint64_t signalled_ns;
	uint64_t hang_limit_ns; /* --worker-timeout when it was spawned; 0 = never */
	uint64_t spawn_seq; /* order of spawning: tells a crash-loop probe from its elders */
	struct exit_record last_exit;
};

#define RECENT_EXITS 16

struct master {
	struct config *cfg;
	long target;
	int listen_fd;
	/* This master created the listener and is its last holder: a graceful stop may
	 * filter and drain it (drain.c). A listener that outlives the master (handed to
	 * a new binary, or owned by systemd) is never filtered: only its workers stop. */
	int listener_owned;
	int draining; /* graceful stop: the listener drops new SYNs, workers empty it */
	char listen_text[ADDR_TEXT_MAX];
	struct sb_slot *sb;
	struct worker workers[SLOTS_MAX];
	struct sb_totals retired;
	unsigned generation;
	uint64_t started_ns;
	time_t started_wall;
	uint64_t exits[EXIT_CAUSE_COUNT];
	struct exit_record recent[RECENT_EXITS];
	unsigned recent_next;
	/* crash-loop back-off: an episode begins with a failed start and ends when a
	 * worker started during it proves itself (master.c, "crash loops") */
	unsigned failed_starts;  /* failed starts reaped during the episode */
	unsigned backoff_steps;  /* failed probes: the back-off doubles once per step */
	uint64_t backoff_ns;
	uint64_t next_spawn_ns;
	uint64_t spawns;         /* workers spawned so far (their spawn_seq) */
	uint64_t episode_seq;    /* spawns when the episode began */
	uint64_t step_seq;       /* spawns when the last step was taken */
	uint64_t fail_tat_ns;    /* rate bound on failed starts (see note_failed_start) */
	int slots_exhausted;     /* a spawn found no free slot; logged once until one frees */
	uint64_t slots_exhausted_total;
	unsigned fork_failures;
	uint64_t fork_failures_total;
	/* shutdown */
	int stopping;
	int killed_all;
	uint64_t stop_deadline_ns;
	struct pidfile pidfile; /* the instance lock for --pidfile, and what we wrote */
	struct admin admin; /* the admin socket and its clients (admin.c) */
};

int master_run(struct config *cfg);

/* Requests from signals and the admin socket; the loop carries them out. */
int master_scale(struct master *m, long workers, char *err, size_t errlen);
/* Re-reads the --config file, if any, then starts the rolling restart. Returns 0
 * with msg "" or " (FILE re-read)[; needs a restart to take effect: KEYS]", or -1
 * with msg saying why nothing changed. */
int master_reload(struct master *m, const char *why, char *msg, size_t msglen);
void master_stop(struct master *m, int fast, const char *why);

int master_live_count(const struct master *m);
const char *exit_cause_name(enum exit_cause c);
void exit_record_describe(const struct exit_record *r, char *buf, size_t len);

#endif
