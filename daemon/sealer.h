/* SPDX-License-Identifier: MIT */
/* Sealing local changes on a worker thread.
 *
 * Sealing a bulk write takes about 10 ms per 1,000 rows, most of it
 * signing and hashing. Done on the loop, it kept the daemon from sending
 * what it had already sealed: a stream of 100,000 rows went out mostly
 * after the last chunk was sealed. The sealer runs one chunk at a time on
 * libuv's thread pool, with a store connection of its own, while the loop
 * goes on sending, receiving and answering lmsync.
 *
 * Only the worker uses the sealer's connection, and only while a chunk is
 * being sealed; the loop's connection is never touched by the worker.
 * SQLite's write lock orders the worker's transactions against the loop's
 * merges (which seal what is pending in their own transaction) and against
 * other clients, exactly as it orders two processes.
 */
#ifndef LMSYNC_DAEMON_SEALER_H
#define LMSYNC_DAEMON_SEALER_H

#include <stdint.h>
#include <uv.h>

#include "proto/err.h"
#include "store/store.h"

struct daemon;

struct sealer {
	struct daemon *d;
	struct store store; /* the worker's connection, opened on first use */
	int opened;
	uv_work_t work;
	int busy;	   /* a chunk is on the thread pool */
	int more;	   /* captures were left after the last chunk */
	int sealed_in_run; /* change sets sealed since the bulk write began */
	uint64_t retry_at; /* uv_now before which a failed chunk is not retried */
	/* The chunk's outcome, written by the worker, read after it. */
	int rc, count, chunk_more;
	lm_err err;
	int64_t held_logged; /* of store.held_rows: the rows held back already logged */
};

void sealer_init(struct sealer *w, struct daemon *d);

/* If no chunk is being sealed and captures are pending, seal the next
 * chunk on the thread pool. Loop thread only. */
void sealer_kick(struct sealer *w);

/* Log the rows that seals through st held back since *logged (a count
 * of st->held_rows), and move *logged on. The worker's seals and those a
 * merge makes first, on the loop's connection, each keep their own count. */
void sealer_log_held(const struct store *st, int64_t *logged);

/* 1 while captures are being sealed or known to be left. */
int sealer_active(const struct sealer *w);

/* 1 while merges wait for the sealer: a chunk is being sealed, or more
 * than a chunk was left and the worker goes on. A merge compares with every
 * local write, so it seals what is pending first: now, that could be a
 * whole backlog, on the loop. Once a chunk leaves nothing more, the sealer
 * runs the waiting merges (daemon_flush) before it seals again. */
int sealer_holds_merges(const struct sealer *w);

/* After the loop has run dry (no chunk can be in flight): close the
 * worker's connection. */
void sealer_close(struct sealer *w);

#endif
