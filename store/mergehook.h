/* SPDX-License-Identifier: MIT */
/* Merging with triggers off, and the hooks that stand in for the triggers a
 * merge must not skip.
 *
 * Every trigger program a row fires costs SQLite a frame, even when its
 * WHEN clause says no: the capture triggers, which stay quiet while a merge
 * applies remote changes, took a quarter of a merge's instructions. So a
 * merge switches triggers off for its transaction (SQLITE_DBCONFIG_ENABLE_
 * TRIGGER, on its own connection only) when each trigger in the schema is
 * one it may skip:
 *
 *  - one guarded by "NOT EXISTS (SELECT 1 FROM repl_applying)", the capture
 *    triggers and any other that stays quiet while a merge applies rows; or
 *  - one a hook stands in for: the hook is called for every row the merge
 *    writes of the hook's table and does what those triggers would do
 *    (the domain keeps its full-text index of the catalogue this way).
 *
 * Any other trigger (one of the user's own, say) must see merged rows too,
 * and then every trigger runs, as before. The verdict is kept per schema
 * version. Local writes, by any connection, always fire every trigger.
 *
 * Switching the flag expires the connection's prepared statements, and
 * preparing them again costs a one-row merge about 100 us: merges of less
 * than st->quiet_min_bytes of envelopes keep the triggers on.
 */
#ifndef LMSYNC_STORE_MERGEHOOK_H
#define LMSYNC_STORE_MERGEHOOK_H

#include "store/store.h"

/* The merges of this connection call fn for the rows they write of table,
 * instead of running the triggers of table whose names begin with
 * trigger_prefix. At most STORE_HOOKS_MAX hooks; adding one for a table and
 * prefix again replaces it. */
int mergehook_add(struct store *st, const char *table, const char *trigger_prefix,
		  store_row_hook fn, void *ctx, lm_err *err);

/* Internal to store/ (merge.c), inside the merge transaction of envelopes
 * of `bytes` in all. Switch triggers off when every trigger may be skipped
 * and the batch is worth it (st->quiet_min_bytes); *quiet says whether. */
int mergehook_quiet_begin(struct store *st, size_t bytes, int *quiet, lm_err *err);
/* Switch triggers back on (after commit or rollback). */
int mergehook_quiet_end(struct store *st, lm_err *err);
/* A quiet merge wrote (deleting 0) or is about to delete (1) a row of
 * table: run its hook, if it has one. */
int mergehook_row(struct store *st, const char *table, const char *key_json, int deleting,
		  lm_err *err);

#endif
