/* Process titles: `ps` tells the master from its workers ("preforkd: master ADDR",
 * "preforkd: worker 3 (gen 2)") without an exec, by rewriting the argv area. */
#ifndef PREFORKD_PROCTITLE_H
#define PREFORKD_PROCTITLE_H

/* First thing in main(), before anything reads argv or the environment: moves the
 * argv and environ strings out of the area the title will overwrite and points
 * argv[] and environ[] at the copies, so every later reader sees the originals. */
void proctitle_init(int argc, char **argv);

/* Once each, at start: never on the hot path. */
void proctitle_set_master(const char *listen_text);
void proctitle_set_worker(int slot, unsigned generation);

#endif
