/* SPDX-License-Identifier: MIT */
/* Noticing commits by other SQLite clients (the sqlite3 shell, a
 * spreadsheet's driver, lmsync itself) as soon as they show.
 *
 * A commit writes the store's WAL, which inotify announces; but the writer
 * writes its frames first and commits after (fsync, then the WAL index in
 * shared memory, which no event announces). So after a WAL event the
 * daemon looks at PRAGMA data_version again every 100 µs for 2 ms, then
 * every millisecond until 100 ms have passed: most commits show within a
 * fraction of a millisecond, and a slow disk's fsync is still caught.
 * Writes after a quiet millisecond start the quick rechecks again, also in
 * the middle of a round (this daemon's own merges start rounds too).
 * libuv's timers count whole milliseconds, so on Linux the short waits use
 * a timerfd; elsewhere every wait is a millisecond.
 *
 * Only a speed-up: the daemon's tick looks too, so a platform without
 * inotify loses nothing else.
 */
#ifndef LMSYNC_DAEMON_WALWATCH_H
#define LMSYNC_DAEMON_WALWATCH_H

#include <stdint.h>
#include <uv.h>

struct daemon;

struct walwatch {
	struct daemon *d;
	uv_fs_event_t event;   /* the store's directory */
	uv_timer_t timer;      /* rechecks where there is no timerfd */
	uv_poll_t poll;	       /* the timerfd's readiness */
	int tfd;	       /* the timerfd, -1 when none */
	int use_tfd;	       /* it works: rechecks use it */
	int started;	       /* event and timer are initialised */
	int polling;	       /* poll is initialised */
	int left;	       /* rechecks left in this round */
	uint64_t data_version; /* PRAGMA data_version when last looked */
	uint64_t last_event;   /* uv_hrtime of the last WAL event */
};

/* Start watching; a failure only costs speed and is logged. */
void walwatch_start(struct walwatch *w, struct daemon *d);

/* Close the handles (for daemon_stop); the timerfd closes with its poll. */
void walwatch_stop(struct walwatch *w);

/* Look at data_version now; when another connection committed, look for
 * captures (daemon_log_check). Returns 1 when it had. */
int walwatch_check(struct walwatch *w);

#endif
