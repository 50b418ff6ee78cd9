/* Logging: one line per event with wall-clock time, pid and level, written with a
 * single write() so lines from the master and its workers never interleave. Only
 * the master writes the log; workers send it their lines over a pipe. */
#ifndef PREFORKD_LOG_H
#define PREFORKD_LOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
/* plain: "TIME preforkd[PID] LEVEL: ..."; journal: "<N>[PID] LEVEL: ...", systemd's
 * stream form (its own timestamp, N the syslog priority); auto: journal when the
 * log is stderr and stderr is the journal's stream (JOURNAL_STREAM). */
enum log_format { LOG_FORMAT_AUTO, LOG_FORMAT_PLAIN, LOG_FORMAT_JOURNAL };

int log_open(const char *path);
/* Another log file (the access log) under the same rules as the log: the one safe
 * open for files the master appends to. An fd, or -1 with err set. */
int log_file_open(const char *path, char *err, size_t errlen);
int log_reopen(void);
/* A reload names another file: open it as at start and write there from now on
 * (SIGUSR1 then reopens that path). Only from a file to a file; on failure (err set)
 * the old file stays. */
int log_switch(const char *path, char *err, size_t errlen);
/* A daemon: point fd 2 at the log file, and keep it there across reopens. */
int log_capture_stderr(void);
void log_protect_stderr(void);
int log_pipe_open(void); /* master, before the first fork: the fd to poll */
int log_pipe_fd(void);
void log_drain_pipe(void);     /* master: copy what workers wrote (bounded) */
void log_drain_pipe_all(void); /* master, every worker gone: copy all of it */
void log_enter_worker(_Atomic uint64_t *drops);
uint64_t log_dropped(void); /* lines the master itself could not write */
void log_set_level(enum log_level level);
void log_set_ident(const char *ident);
/* After log_open, before the first fork: workers inherit the form. Returns the form
 * chosen (never AUTO). */
enum log_format log_set_format(enum log_format format);
int log_fd(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
