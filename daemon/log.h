/* SPDX-License-Identifier: MIT */
/* lmsyncd's log: one line per event on stderr, for journald and containers.
 *
 *   2026-11-23T14:05:00.123Z info  daemon: started site=ABCDEFG pid=4242
 *
 * Time (UTC, milliseconds), level, component, a short message, then
 * key=value pairs. The level is checked before anything is formatted. Never
 * log keys or personal data: site ids and counts only.
 */
#ifndef LMSYNC_DAEMON_LOG_H
#define LMSYNC_DAEMON_LOG_H

#include "conf/conf.h"

/* The threshold is process-wide: set once at start and on reload. */
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* fmt is the message followed by its key=value pairs. */
void log_write(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(comp, ...)                                                                       \
	do {                                                                                       \
		if (log_enabled(LOG_DEBUG))                                                        \
			log_write(LOG_DEBUG, comp, __VA_ARGS__);                                   \
	} while (0)
#define log_info(comp, ...)  log_write(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_write(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_write(LOG_ERROR, comp, __VA_ARGS__)

#endif
