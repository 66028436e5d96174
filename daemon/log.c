/* SPDX-License-Identifier: MIT */
/* Log line formatting; see log.h. */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level threshold = LOG_INFO;

void log_set_level(enum log_level level)
{
	threshold = level;
}

int log_enabled(enum log_level level)
{
	return level >= threshold;
}

void log_write(enum log_level level, const char *component, const char *fmt, ...)
{
	char line[2048], stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t len;
	int n, m;

	if (!log_enabled(level))
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03dZ %-5s %s: ", stamp, (int)(tv.tv_usec / 1000),
		     log_level_name(level), component);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - 1 - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line keeps lines whole when several processes share stderr.
	 * A failed log write has nowhere to be reported, so it is ignored. */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}
