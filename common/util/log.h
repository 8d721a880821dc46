/*
 * log: one line per message on stderr, prefixed with a Splunk level.
 *
 * splunkd files every stderr line of a modular input under ExecProcessor and
 * reads the level from the first word (DEBUG, INFO, WARN, ERROR); a line
 * without one is taken as ERROR.  So every line we write starts with a level,
 * then the input name when one is set, then the message.  Newlines inside a
 * message are folded into spaces so one message never becomes two events.
 */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Messages below `level` are dropped.  Default LOG_INFO. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parse "debug", "info", "warn"/"warning", "error" (any case).
 * Returns 0 and sets *level_r, or -1 for anything else. */
int log_level_parse(const char *name, enum log_level *level_r);

/* Name shown after the level, e.g. "dmarc_directory://reports".  Copied.
 * NULL clears it. */
void log_set_input(const char *name);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
