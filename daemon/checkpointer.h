/* SPDX-License-Identifier: MIT */
/* Checkpoints on a worker thread.
 *
 * A checkpoint copies the WAL back into the database file and flushes it:
 * 0.5 to 2 ms on the tick of a daemon that syncs all the time. On the loop
 * it held up whatever change was passing through (a single change's p99
 * through a hub was made of them). The checkpointer runs store_checkpoint
 * (passive; a long WAL, once copied, is made to start over) on libuv's
 * thread pool with a connection of its own, which
 * never reads the schema (about 0.1 MiB more for an idle site, where a
 * full connection cost 1.4; docs/DECISIONS.md, "Durability");
 * SQLite lets writers append to the WAL meanwhile, and the loop never
 * waits for it.
 */
#ifndef LMSYNC_DAEMON_CHECKPOINTER_H
#define LMSYNC_DAEMON_CHECKPOINTER_H

#include <stdint.h>
#include <uv.h>

#include "proto/err.h"
#include "store/store.h"

struct daemon;

struct checkpointer {
	struct daemon *d;
	struct store store; /* the worker's connection, opened on first use */
	int opened;
	uv_work_t work;
	int busy;	     /* a checkpoint is on the thread pool */
	uint64_t last_start; /* uv_now of the last one started */
	/* The outcome, written by the worker, read after it. */
	int rc;
	lm_err err;
};

void checkpointer_init(struct checkpointer *c, struct daemon *d);

/* Start a checkpoint on the thread pool unless one is running. Loop thread
 * only. */
void checkpointer_kick(struct checkpointer *c);

/* The same after a small commit of this daemon's own (a seal or a merge of
 * a few change sets), at most every CHECKPOINT_SOON_MS: under a steady
 * stream of single changes the tick alone let the WAL pass 1,000 pages,
 * and every other client's commit then checkpointed for itself. Bulk
 * writes wait for the tick: checkpoints among them cost throughput. */
void checkpointer_soon(struct checkpointer *c);

/* After the loop has run dry (no checkpoint can be in flight): close the
 * worker's connection. */
void checkpointer_close(struct checkpointer *c);

#endif
