/* SPDX-License-Identifier: MIT */
/* One lmsyncd per site: an exclusive flock on DIR/lmsyncd.lock, held for the
 * daemon's life, with the holder's pid written inside for the operator. The
 * kernel drops the lock when the process dies, even by SIGKILL, so a stale
 * lock file never blocks a restart. */
#ifndef LMSYNC_DAEMON_LOCK_H
#define LMSYNC_DAEMON_LOCK_H

#include "proto/err.h"

/* Take the lock; returns the open descriptor (keep it open), or -1. */
int lock_acquire(const char *path, const char *store_path, lm_err *err);
void lock_release(int fd);

#endif
