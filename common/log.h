/* Logging: one line per event with wall-clock time, pid and level, written with a
 * single write() so lines from the master and its workers never interleave. */
#ifndef PREFORKD_LOG_H
#define PREFORKD_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

int log_open(const char *path);
int log_reopen(void);
int log_share(void);
void log_set_level(enum log_level level);
void log_set_ident(const char *ident);
int log_fd(void);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
