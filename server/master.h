/* The master: owns the listener, the scoreboard and the pool of children; its poll()
 * loop reaps, respawns, scales, reloads and stops. Other modules read the pool it
 * exports (pool.h), never the rest of this struct; only master.c changes it. */
#ifndef PREFORKD_MASTER_H
#define PREFORKD_MASTER_H

#include "activation.h"
#include "admin.h"
#include "agent.h"
#include "config.h"
#include "listeners.h"
#include "metrics.h"
#include "pidfile.h"
#include "pool.h"
#include "pressure.h"
#include "upgrade.h"

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct master {
	struct pool pool;   /* what the master exports; only master.c writes it */
	struct config *cfg; /* the same as pool.cfg, writable: a reload replaces it */
	/* Every listener (listeners.h): opened or adopted at start, never changed by a
	 * reload. A graceful stop filters and drains only the ones this master made
	 * (not inherited): one that outlives the master (systemd's, or handed to a new
	 * binary) is left alone, only its workers stop. pool.listeners points here. */
	struct listener_set listeners;
	/* LISTEN_FDS as read at start; the fds under reserved names (the binary
	 * upgrade's: admin, locks, readiness pipe) stay here untaken for it. */
	struct activation activation;
	/* crash-loop bookkeeping behind pool.failed_starts and pool.failed_probes */
	uint64_t spawns;        /* workers spawned so far (their spawn_seq) */
	uint64_t episode_seq;   /* spawns when the episode began */
	uint64_t step_seq;      /* spawns when the last step was taken */
	uint64_t fail_tat_ns;   /* rate bound on failed starts (see note_failed_start) */
	unsigned fork_failures; /* in a row: the fork back-off doubles with each */
	/* shutdown */
	int exit_code; /* master_run's: 0, or PREFORKD_EXIT_CRASH_LOOP */
	int killed_all;
	uint64_t stop_deadline_ns;
	struct pidfile pidfile; /* the instance lock for --pidfile, and what we wrote */
	struct admin admin;     /* the admin socket and its clients (admin.c) */
	struct metrics metrics; /* --metrics-listen and its clients (metrics.c) */
	struct agent agent;     /* --agent-listen and its clients (agent.c) */
	/* what the master last saw of each slot's connection: its stall (pressure.h) */
	struct progress_seen seen[SLOTS_MAX];
	uint64_t next_judge_ns; /* under pressure: when the next one may be stalled; 0 none */
	/* binary upgrade (upgrade.h): as the old master, the one in flight and the admin
	 * client that waits for its outcome; as the new one, the pipe to tell the old
	 * master that the workers serve (-1 once told, or not an upgrade) */
	struct upgrade upgrade;
	int upgrade_client; /* upgrade_token is a waiting admin client */
	uint64_t upgrade_token;
	int upgrade_ready_fd;
	/* As the new master, told the old one and waiting for it to go: until then the
	 * listeners and the admin socket stay the old master's (a rollback that crossed
	 * the ready byte must find them as they were). old_master: its pid. */
	int takeover_pending;
	pid_t old_master;
};

/* The master's exit status after --crash-loop-exit stopped it: sysexits.h's
 * EX_UNAVAILABLE, which systemd shows as "status=69/UNAVAILABLE"; distinct from 1
 * (could not start) and 2 (a bad option). */
#define PREFORKD_EXIT_CRASH_LOOP 69

/* Runs the server until it stops. Returns the process's exit status: 0 after a
 * stop, 1 when it could not start, PREFORKD_EXIT_CRASH_LOOP. */
/* `inherited`: LISTEN_FDS as main() read it (none present: nothing inherited); the
 * master adopts its listeners and keeps the rest (reserved names) for the upgrade. */
int master_run(struct config *cfg, const struct activation *inherited);

#endif
