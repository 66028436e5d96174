/* SPDX-License-Identifier: MIT */
/* lmsyncd's state: one per process, owned by main() and driven by one libuv
 * loop. Everything the daemon holds for its site hangs off struct daemon.
 *
 * Life cycle: daemon_open (refuses to start with an actionable message),
 * daemon_run (returns once a stop was requested and every handle closed),
 * daemon_close (releases the store, the lock and wipes the key).
 */
#ifndef LMSYNC_DAEMON_DAEMON_H
#define LMSYNC_DAEMON_DAEMON_H

#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "conf/conf.h"
#include "conf/keyfile.h"
#include "conf/sitedir.h"
#include "daemon/checkpointer.h"
#include "daemon/control.h"
#include "daemon/link.h"
#include "daemon/sealer.h"
#include "daemon/session.h"
#include "daemon/walwatch.h"
#include "store/peer.h"
#include "store/store.h"

struct daemon {
	uv_loop_t loop;
	struct sitedir sd;
	struct conf conf;
	struct site_key key;
	struct store store;
	int lock_fd;

	struct link *links; /* configured peers, reloaded on SIGHUP */
	int nlinks;
	struct session *sessions; /* every open connection */
	int nsessions;

	uv_tcp_t listener;
	uv_timer_t tick;	  /* housekeeping: timeouts, keepalives, redials */
	struct walwatch walwatch; /* the store's WAL: another client committed */
	uv_check_t flush;	  /* after the reads of a loop turn: merge what came */
	int flush_ready;
	struct sealer sealer;		  /* seals local changes on a worker thread */
	struct checkpointer checkpointer; /* checkpoints on a worker thread */
	int64_t log_last_id;		  /* the newest log entry peers were pumped for */
	int64_t held_logged;		  /* store.held_rows already logged (sealer_log_held) */
	uint64_t barrier;		  /* the latest `sync --wait` barrier */
	uv_signal_t sig_term, sig_int, sig_hup;
	struct control_server control;
	uint8_t rbuf[262144]; /* the read buffer every session shares */

	uint64_t started_ms; /* uv_now at start, for uptime */
	time_t started_at;   /* wall clock at start, for display */
	int stopping;
	int failed; /* stopped by daemon_fail: lmsyncd exits 1 */
};

struct daemon_options {
	const char *dir;       /* -d, may be NULL */
	const char *log_level; /* --log-level overrides the file, may be NULL */
};

int daemon_open(struct daemon *d, const struct daemon_options *opt, lm_err *err);
int daemon_run(struct daemon *d, lm_err *err);
void daemon_close(struct daemon *d);

/* Ask the loop to wind down: close every handle; daemon_run then returns. */
void daemon_stop(struct daemon *d, const char *why);

/* Stop because of why (logged as an error), and make daemon_run fail. */
void daemon_fail(struct daemon *d, const char *why);

/* A flush of the store failed: stop at once, before anything more leaves
 * the site (a change set this site sealed and sent, lost from its disk,
 * would be sealed again as other bytes under its number: a fork). 1 when
 * it stopped. */
int daemon_stop_if_disk_failed(struct daemon *d, const struct store *st);

/* Seal local changes if there are any, then pump every peer if the log
 * grew. Cheap when nothing happened; called after merges, on every tick
 * and when the store's WAL changes. */
void daemon_log_check(struct daemon *d);

/* The wall clock in milliseconds since the epoch (for seals and merges). */
uint64_t daemon_wall_ms(void);

/* After sync_flush merged: forward what the merges logged, make it durable,
 * then acknowledge it to its senders. */
void daemon_merged(struct daemon *d);

/* Merge the sets every session received (sync_flush), then daemon_merged. */
void daemon_flush(struct daemon *d);

/* Merge received sets once this loop turn's reads are done (sync_flush). */
void daemon_flush_soon(struct daemon *d);

/* Re-read the peer list from the store. */
int daemon_reload_peers(struct daemon *d, lm_err *err);

#endif
