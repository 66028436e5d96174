/* SPDX-License-Identifier: MIT */
/* The site's SQLite store: opening it, migrating its schema, site metadata.
 *
 * Invariants:
 *  - The file is in WAL mode with foreign keys on, for every connection.
 *  - PRAGMA user_version is the schema version; migrations only go forward,
 *    each in its own transaction, so a crash leaves a valid older version.
 *  - A store belongs to one site: meta.site_id is set at creation and a store
 *    opened with a different key is refused.
 *  - A store newer than this program is refused, never downgraded.
 *  - Statements the store layer runs often are prepared once per connection
 *    and kept (store_stmt); store_close finalizes them.
 *  - Change set envelopes live in a file beside the store (store/logfile.h),
 *    made as safe as the store by the way it is written.
 */
#ifndef LMSYNC_STORE_STORE_H
#define LMSYNC_STORE_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "proto/err.h"

struct store_stmt_cache;
struct store;

/* Local work a merge does for a row of a replicated table that the table's
 * own triggers do for every other writer (merge_hook_add, store/merge.h):
 * called after the merge inserted or updated the row (deleting 0) and just
 * before it deletes it (deleting 1). key_json is the row's key as stored,
 * json_array() of its key values. */
typedef int (*store_row_hook)(struct store *st, const char *key_json, int deleting, void *ctx,
			      lm_err *err);

#define STORE_HOOKS_MAX 4

struct store_hook {
	char table[64];
	char prefix[64]; /* the names of the triggers the hook stands in for */
	store_row_hook fn;
	void *ctx;
};

struct store {
	sqlite3 *db;
	char path[256];
	struct store_stmt_cache *stmts; /* made on first use, freed by store_close */
	/* The log file of envelopes (store/logfile.h). */
	int log_fd;	    /* -1 when not open */
	int64_t log_end;    /* where the next append goes; -1: ask the store */
	int log_dirty;	    /* appended since the last commit */
	lm_err log_refusal; /* why the last commit was refused, when it was */
	/* Merges run with triggers off when each trigger in the schema is one
	 * they may skip (store/merge.c); known for schema_version quiet_at. */
	struct store_hook hooks[STORE_HOOKS_MAX];
	int nhooks;
	int64_t quiet_at; /* -1: not known yet */
	int quiet;
	/* Smaller merges keep triggers on: switching them costs each statement
	 * a new prepare, more than the triggers of a few rows. */
	size_t quiet_min_bytes; /* of envelopes; STORE_QUIET_MIN_BYTES */
	/* A commit made without waiting for the disk (store_unsynced_begin)
	 * that store_sync has not yet made durable. */
	int unsynced;
	/* A flush of the WAL failed. Sticky: after a failed fsync the kernel
	 * may have dropped the pages it could not write, so a later flush
	 * that succeeds proves nothing about them (PostgreSQL stops too). */
	int flush_failed;
	/* Rows the seals through this connection held back (store/held.h). */
	int64_t held_rows;
};

#define STORE_QUIET_MIN_BYTES 65536

/* The page size of a store made from now on (existing stores keep theirs):
 * a merge writes rows, repl_row entries and their keys at random places of
 * four B-trees, and 16 KiB pages make it 15 to 20 % faster, where a plain
 * insert gains nothing; a single change costs 0.1 to 0.3 ms more per hop
 * (docs/DECISIONS.md, "Page size"). */
#define STORE_PAGE_SIZE_TEXT "16384"

enum store_mode {
	STORE_OPEN,   /* the file must exist */
	STORE_CREATE, /* the file must not exist */
};

/* Open (or create) the store at path and bring its schema up to date. */
int store_open(struct store *st, const char *path, enum store_mode mode, lm_err *err);
/* Close st; closing it again, or closing a zeroed struct store that was
 * never opened, does nothing. */
void store_close(struct store *st);

/* The schema version this program writes, and the one the file is at. */
int store_schema_latest(void);
int store_schema_version(struct store *st, int *version, lm_err *err);

/* Site metadata (key/value text). store_meta_get returns 1 when found. */
int store_meta_set(struct store *st, const char *key, const char *value, lm_err *err);
int store_meta_get(struct store *st, const char *key, char *value, size_t cap, lm_err *err);

/* Record the owner at creation; on later opens, refuse a different owner. */
int store_claim(struct store *st, const uint8_t site_id[32], lm_err *err);

/* Leave checkpoints to the caller (store_checkpoint), so commits on this
 * connection never copy the WAL back into the database themselves. */
int store_defer_checkpoints(struct store *st, lm_err *err);

/* A connection that only checkpoints (store_checkpoint, store_close): it
 * never reads the schema, which a store_open keeps in memory (about 1.4 MiB
 * for a site's), and never writes. */
int store_open_for_checkpoints(struct store *st, const char *path, lm_err *err);

/* A passive checkpoint: copies what no reader still needs, never waits.
 * A WAL of STORE_WAL_RESTART_FRAMES frames or more, once all copied, is
 * made to start over (a RESTART that waits for nothing). For a connection
 * without a busy handler (store_open_for_checkpoints). */
int store_checkpoint(struct store *st, lm_err *err);

/* Frames past which a copied WAL is made to start over: well under the
 * 1,000 past which other clients' commits checkpoint for themselves. */
#define STORE_WAL_RESTART_FRAMES 256

/* The integer a statement like "PRAGMA schema_version" or "SELECT count(*)
 * FROM ..." returns (its first row's first column). */
int store_pragma_int(struct store *st, const char *sql, int64_t *value, lm_err *err);

/* The same, prepared afresh rather than from the statement cache: SQLite
 * builds some values (PRAGMA cache_size) into the statement. */
int store_pragma_fresh(struct store *st, const char *sql, int64_t *value, lm_err *err);

/* Commits from store_unsynced_begin to store_unsynced_end (both outside a
 * transaction) do not wait for the disk: their writes are visible to every
 * connection at once and survive a crash of the process, but not yet a
 * power failure, until store_sync. Change set bytes in the log file are
 * flushed before each commit as always, so what a committed row names is
 * on disk first. committed: whether one such commit was made. */
int store_unsynced_begin(struct store *st, lm_err *err);
int store_unsynced_end(struct store *st, int committed, lm_err *err);

/* Make every commit of this connection durable (flush the WAL to disk):
 * nothing to do unless a commit was made unsynced since. Once a flush has
 * failed (flush_failed), it fails every time. */
int store_sync(struct store *st, lm_err *err);

/* PRAGMA data_version: changes when another connection commits. */
int store_data_version(struct store *st, uint64_t *version, lm_err *err);

/* Run a statement with no result rows; used for BEGIN/COMMIT and DDL. */
int store_exec(struct store *st, const char *sql, lm_err *err);
/* The same for one statement run often (BEGIN, COMMIT, a fixed INSERT),
 * through the statement cache, so it is not parsed again each time. Not
 * for a PRAGMA: SQLite acts on a PRAGMA's value when preparing it. */
int store_run(struct store *st, const char *sql, lm_err *err);

/* Prepare a statement the caller finalizes; the error names the store. */
int store_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt, lm_err *err);

/* A prepared statement for sql (one statement), with no bindings. The
 * connection keeps the statements it is asked for, keyed by their text, so
 * a statement run once per row is compiled once per connection; a nested
 * use of a statement already out gets a fresh one. NULL (err set) when sql
 * does not compile. Hand it back with store_release once done stepping,
 * whatever happened. */
sqlite3_stmt *store_stmt(struct store *st, const char *sql, lm_err *err);
/* Reset the statement, clear its bindings and give it back (or finalize it
 * when it is not kept). NULL is allowed. */
void store_release(struct store *st, sqlite3_stmt *stmt);

#endif
