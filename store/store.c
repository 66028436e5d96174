/* SPDX-License-Identifier: MIT */
/* Opening the store, applying migrations, site metadata; see store.h. */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/siteid.h"
#include "store/logfile.h"
#include "store/registry.h"
#include "store/rowclock.h"
#include "store/schema.h"
#include "store/textfold.h"

/* ---- the statement cache ------------------------------------------------
 * Open addressing over a fixed table: a statement lives in one of the
 * STMT_PROBE slots after its hash; a new one takes a free slot there or
 * evicts the least recently used statement that is not out. The table is
 * bounded, so statements built per column set (merge) cannot grow it. */
#define STMT_SLOTS 256
#define STMT_PROBE 8
#define STMT_OUT   16 /* statements out at once, remembered for release */

struct stmt_slot {
	uint64_t hash, used;
	size_t len;
	char *sql;
	sqlite3_stmt *stmt;
	int out; /* handed out, not yet released */
};

struct store_stmt_cache {
	struct stmt_slot slot[STMT_SLOTS];
	struct stmt_slot *out[STMT_OUT]; /* the slots out, most recent last */
	size_t nout;
	uint64_t tick;
};

/* 64-bit FNV-1a over 8-byte words: statements run once per row are looked
 * up by their text, so this is on the hot path. */
static uint64_t sql_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ len, w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; len > 0; s++, len--)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h ^ (h >> 32);
}

static sqlite3_stmt *take(struct store_stmt_cache *c, struct stmt_slot *s)
{
	s->out = 1;
	s->used = ++c->tick;
	if (c->nout < STMT_OUT)
		c->out[c->nout++] = s;
	return s->stmt;
}

static sqlite3_stmt *prepare_uncached(struct store *st, const char *sql, lm_err *err)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
		sqlite3_finalize(stmt);
		return NULL;
	}
	return stmt;
}

static void slot_clear(struct stmt_slot *s)
{
	sqlite3_finalize(s->stmt);
	free(s->sql);
	memset(s, 0, sizeof(*s));
}

sqlite3_stmt *store_stmt(struct store *st, const char *sql, lm_err *err)
{
	struct store_stmt_cache *c = st->stmts;
	struct stmt_slot *s, *victim = NULL;
	size_t i, len = strlen(sql);
	uint64_t h = sql_hash(sql, len);

	if (c == NULL)
		c = st->stmts = calloc(1, sizeof(*c));
	if (c == NULL)
		return prepare_uncached(st, sql, err);
	for (i = 0; i < STMT_PROBE; i++) {
		s = &c->slot[(h + i) % STMT_SLOTS];
		if (s->sql != NULL && s->hash == h && s->len == len &&
		    memcmp(s->sql, sql, len) == 0) {
			if (s->out) /* in use further up the stack */
				return prepare_uncached(st, sql, err);
			return take(c, s);
		}
		if (s->out)
			continue;
		if (victim == NULL ||
		    (victim->sql != NULL && (s->sql == NULL || s->used < victim->used)))
			victim = s;
	}
	if (victim == NULL)
		return prepare_uncached(st, sql, err);
	slot_clear(victim);
	victim->sql = strdup(sql);
	if (victim->sql == NULL)
		return prepare_uncached(st, sql, err);
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &victim->stmt, NULL) !=
	    SQLITE_OK) {
		lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
		slot_clear(victim);
		return NULL;
	}
	victim->hash = h;
	victim->len = len;
	return take(c, victim);
}

static void give_back(struct store_stmt_cache *c, struct stmt_slot *s)
{
	size_t i;

	sqlite3_reset(s->stmt);
	sqlite3_clear_bindings(s->stmt);
	s->out = 0;
	for (i = c->nout; i > 0; i--)
		if (c->out[i - 1] == s) {
			memmove(&c->out[i - 1], &c->out[i], (c->nout - i) * sizeof(c->out[0]));
			c->nout--;
			break;
		}
}

void store_release(struct store *st, sqlite3_stmt *stmt)
{
	struct store_stmt_cache *c = st->stmts;
	size_t i;

	if (stmt == NULL)
		return;
	for (i = c ? c->nout : 0; i > 0; i--)
		if (c->out[i - 1]->stmt == stmt) {
			give_back(c, c->out[i - 1]);
			return;
		}
	/* Not among the remembered ones: look through the table. */
	for (i = 0; c != NULL && i < STMT_SLOTS; i++)
		if (c->slot[i].stmt == stmt && c->slot[i].out) {
			give_back(c, &c->slot[i]);
			return;
		}
	sqlite3_finalize(stmt);
}

static void stmt_cache_free(struct store *st)
{
	size_t i;

	if (st->stmts == NULL)
		return;
	for (i = 0; i < STMT_SLOTS; i++)
		slot_clear(&st->stmts->slot[i]);
	free(st->stmts);
	st->stmts = NULL;
}

int store_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt, lm_err *err)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

/* The error of a statement that failed: a commit the log refused says why,
 * not "constraint failed". */
static int exec_error(struct store *st, const char *msg, lm_err *err)
{
	int code = sqlite3_extended_errcode(st->db);

	/* A COMMIT whose flush failed (store_sync says why this sticks). */
	if (code == SQLITE_IOERR_FSYNC || code == SQLITE_IOERR_DIR_FSYNC)
		st->flush_failed = 1;
	if (code == SQLITE_CONSTRAINT_COMMITHOOK && logfile_commit_error(st) != NULL)
		return lm_errf(err, "%s: %s", st->path, logfile_commit_error(st));
	return lm_errf(err, "%s: %s", st->path, msg ? msg : sqlite3_errmsg(st->db));
}

int store_exec(struct store *st, const char *sql, lm_err *err)
{
	char *msg = NULL;

	st->log_refusal.msg[0] = '\0';
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		exec_error(st, msg, err);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int store_run(struct store *st, const char *sql, lm_err *err)
{
	sqlite3_stmt *stmt;
	int step;

	st->log_refusal.msg[0] = '\0';
	stmt = store_stmt(st, sql, err);
	if (stmt == NULL)
		return -1;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	if (step != SQLITE_DONE)
		exec_error(st, NULL, err);
	store_release(st, stmt);
	return step == SQLITE_DONE ? 0 : -1;
}

int store_pragma_fresh(struct store *st, const char *sql, int64_t *value, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	rc = sqlite3_step(stmt);
	*value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	if (rc != SQLITE_ROW)
		lm_errf(err, "%s: %s: %s", st->path, sql, sqlite3_errmsg(st->db));
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

int store_schema_latest(void)
{
	return schema_latest();
}

int store_schema_version(struct store *st, int *version, lm_err *err)
{
	int64_t v;
	int rc = store_pragma_fresh(st, "PRAGMA user_version", &v, err);

	*version = (int)v;
	return rc;
}

static int migrate_one(struct store *st, int from, lm_err *err)
{
	char bump[64];

	int now = 0;

	snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", from + 1);
	if (store_exec(st, "BEGIN IMMEDIATE", err) != 0)
		return -1;
	/* Another process (lmsync beside lmsyncd) may have migrated meanwhile:
	 * look again now that we hold the write lock. */
	if (store_schema_version(st, &now, err) != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (now > from)
		return store_exec(st, "ROLLBACK", err);
	if (store_exec(st, schema_migration(from), err) != 0 || store_exec(st, bump, err) != 0) {
		lm_err_wrap(err, "migrating the store from schema %d to %d", from, from + 1);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return store_exec(st, "COMMIT", err);
}

static int migrate(struct store *st, lm_err *err)
{
	int version, latest = schema_latest();

	if (store_schema_version(st, &version, err) != 0)
		return -1;
	if (version > latest)
		return lm_errf(err,
			       "%s has schema version %d, newer than this lmsync (%d, version %s); "
			       "upgrade lmsync before opening it",
			       st->path, version, latest, LMSYNC_VERSION);
	if (version == latest)
		return 0;
	for (; version < latest; version++)
		if (migrate_one(st, version, err) != 0)
			return -1;
	/* A migration may have changed replicated tables: capture them anew. */
	return registry_reinstall_all(st, err);
}

/* lm_rowclock(cl, col, hlc, origin): the aggregate migration 3 -> 4 packs
 * the column clocks of one row into repl_row.clocks with (rowclock.h). */
struct rowclock_agg {
	struct rowclock rc;
	char names[REGISTRY_MAX_COLS][65];
	uint8_t origins[REGISTRY_MAX_COLS][CS_KEY_LEN];
	int bad;
};

static void rowclock_agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct rowclock_agg *a = sqlite3_aggregate_context(ctx, sizeof(*a));
	const char *name = (const char *)sqlite3_value_text(argv[1]);
	size_t i;

	(void)argc;
	if (a == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	i = a->rc.n;
	if (name == NULL || strlen(name) == 0 || strlen(name) > 64 || i == REGISTRY_MAX_COLS ||
	    sqlite3_value_bytes(argv[3]) != CS_KEY_LEN) {
		a->bad = 1;
		return;
	}
	a->rc.cl = (uint64_t)sqlite3_value_int64(argv[0]);
	snprintf(a->names[i], sizeof(a->names[i]), "%s", name);
	memcpy(a->origins[i], sqlite3_value_blob(argv[3]), CS_KEY_LEN);
	a->rc.c[i].name = a->names[i];
	a->rc.c[i].name_len = strlen(name);
	a->rc.c[i].hlc = (uint64_t)sqlite3_value_int64(argv[2]);
	a->rc.c[i].origin = a->origins[i];
	a->rc.n++;
}

static void rowclock_agg_final(sqlite3_context *ctx)
{
	struct rowclock_agg *a = sqlite3_aggregate_context(ctx, 0);
	uint8_t blob[ROWCLOCK_BLOB_MAX];
	size_t len;

	if (a == NULL || a->rc.n == 0) {
		sqlite3_result_null(ctx);
		return;
	}
	len = a->bad ? 0 : rowclock_encode(&a->rc, blob, sizeof(blob));
	if (len == 0)
		sqlite3_result_error(ctx, "lm_rowclock: a column clock cannot be packed", -1);
	else
		sqlite3_result_blob(ctx, blob, (int)len, SQLITE_TRANSIENT);
}

/* lm_clocks(cl, clocks): repl_row's column clocks as text, for operators
 * and tests (rowclock_describe). */
static void clocks_text(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char *text;

	(void)argc;
	text = rowclock_describe(sqlite3_value_blob(argv[1]), (size_t)sqlite3_value_bytes(argv[1]),
				 (uint64_t)sqlite3_value_int64(argv[0]));
	if (text == NULL)
		sqlite3_result_error(ctx, "lm_clocks: damaged column clocks (or out of memory)",
				     -1);
	else
		sqlite3_result_text(ctx, text, -1, free);
}

/* WAL lets the CLI read while the daemon writes; synchronous=FULL makes a
 * commit survive power loss, which the no-loss invariant needs. */
static int configure(struct store *st, lm_err *err)
{
	char mode[16] = "";
	sqlite3_stmt *stmt;

	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		snprintf(mode, sizeof(mode), "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (strcmp(mode, "wal") != 0)
		return lm_errf(err, "%s: cannot switch to WAL mode (%s)", st->path,
			       sqlite3_errmsg(st->db));
	return store_exec(st, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL", err);
}

/* The connection alone: no schema read, nothing configured. */
static int open_connection(struct store *st, const char *path, enum store_mode mode, lm_err *err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	memset(st, 0, sizeof(*st));
	st->log_fd = -1;
	st->quiet_at = -1;
	st->quiet_min_bytes = STORE_QUIET_MIN_BYTES;
	snprintf(st->path, sizeof(st->path), "%s", path);
	if (mode == STORE_CREATE) {
		if (access(path, F_OK) == 0)
			return lm_errf(err, "%s already exists", path);
		flags |= SQLITE_OPEN_CREATE;
	} else if (access(path, F_OK) != 0) {
		return lm_errf(err, "no store at %s; create a site with `lmsync init`", path);
	}
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		lm_errf(err, "cannot open %s: %s", path,
			st->db ? sqlite3_errmsg(st->db) : "out of memory");
		store_close(st);
		return -1;
	}
	return 0;
}

int store_open(struct store *st, const char *path, enum store_mode mode, lm_err *err)
{
	if (open_connection(st, path, mode, err) != 0)
		return -1;
	sqlite3_extended_result_codes(st->db, 1);
	if (sqlite3_create_function(st->db, "lm_rowclock", 4, SQLITE_UTF8, NULL, NULL,
				    rowclock_agg_step, rowclock_agg_final) != SQLITE_OK ||
	    sqlite3_create_function(st->db, "lm_clocks", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
				    NULL, clocks_text, NULL, NULL) != SQLITE_OK ||
	    textfold_register(st->db) != SQLITE_OK) {
		lm_errf(err, "%s: %s", path, sqlite3_errmsg(st->db));
		store_close(st);
		return -1;
	}
	/* Before anything is written: a new file takes its page size now. */
	if (mode == STORE_CREATE &&
	    store_exec(st, "PRAGMA page_size = " STORE_PAGE_SIZE_TEXT, err) != 0) {
		store_close(st);
		return -1;
	}
	if (configure(st, err) != 0 || migrate(st, err) != 0 ||
	    logfile_open(st, mode == STORE_CREATE, err) != 0) {
		store_close(st);
		return -1;
	}
	return 0;
}

void store_close(struct store *st)
{
	/* The log file is opened only after the connection; a zeroed struct's
	 * log_fd of 0 is no file of ours. */
	if (st->db == NULL)
		return;
	logfile_close(st);
	stmt_cache_free(st);
	sqlite3_close_v2(st->db);
	st->db = NULL;
}

int store_meta_set(struct store *st, const char *key, const char *value, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = store_stmt(st, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	store_release(st, stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: writing meta %s: %s", st->path, key,
			       sqlite3_errmsg(st->db));
	return 0;
}

int store_meta_get(struct store *st, const char *key, char *value, size_t cap, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = store_stmt(st, "SELECT value FROM meta WHERE key = ?", err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(value, cap, "%s", (const char *)sqlite3_column_text(stmt, 0));
	store_release(st, stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return lm_errf(err, "%s: reading meta %s: %s", st->path, key, sqlite3_errmsg(st->db));
}

int store_claim(struct store *st, const uint8_t site_id[32], lm_err *err)
{
	char hex[SITEID_HEX_LEN + 1], have[SITEID_HEX_LEN + 8];
	int found;

	siteid_to_hex(site_id, hex);
	found = store_meta_get(st, "site_id", have, sizeof(have), err);
	if (found < 0)
		return -1;
	if (found == 0)
		return store_meta_set(st, "site_id", hex, err);
	if (strcmp(have, hex) != 0)
		return lm_errf(err,
			       "%s belongs to site %.16s..., but site.key is site %.16s... (hex): "
			       "the key or the store was replaced; restore the matching pair",
			       st->path, have, hex);
	return 0;
}

int store_pragma_int(struct store *st, const char *sql, int64_t *value, lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(st, sql, err);
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	*value = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	store_release(st, stmt);
	if (rc != SQLITE_ROW)
		return lm_errf(err, "%s: %s: %s", st->path, sql, sqlite3_errmsg(st->db));
	return 0;
}

int store_data_version(struct store *st, uint64_t *version, lm_err *err)
{
	int64_t v;
	int rc = store_pragma_int(st, "PRAGMA data_version", &v, err);

	*version = (uint64_t)v;
	return rc;
}

int store_unsynced_begin(struct store *st, lm_err *err)
{
	/* SQLite reads the level at each commit, and lets it change only
	 * between transactions. */
	return store_exec(st, "PRAGMA synchronous=NORMAL", err);
}

int store_unsynced_end(struct store *st, int committed, lm_err *err)
{
	if (committed)
		st->unsynced = 1;
	return store_exec(st, "PRAGMA synchronous=FULL", err);
}

int store_sync(struct store *st, lm_err *err)
{
	sqlite3_file *wal = NULL;
	int rc;

	if (st->flush_failed)
		return lm_errf(err,
			       "%s: a flush of the write-ahead log failed earlier; what was merged "
			       "since may not be on disk: check the disk, then restart",
			       st->path);
	if (!st->unsynced)
		return 0;
	/* The connection's own handle on the WAL: SQLite's VFS syncs it as it
	 * does at a FULL commit. */
	rc = sqlite3_file_control(st->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
	if (rc != SQLITE_OK || wal == NULL || wal->pMethods == NULL)
		return lm_errf(err, "%s: cannot reach the write-ahead log to flush it (%s)",
			       st->path, sqlite3_errstr(rc));
	rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK) {
		st->flush_failed = 1;
		return lm_errf(err,
			       "%s: cannot flush the write-ahead log to disk (%s): the last "
			       "changes merged may be lost on a power failure; check the disk",
			       st->path, sqlite3_errstr(rc));
	}
	st->unsynced = 0;
	return 0;
}

int store_defer_checkpoints(struct store *st, lm_err *err)
{
	if (sqlite3_wal_autocheckpoint(st->db, 0) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

int store_open_for_checkpoints(struct store *st, const char *path, lm_err *err)
{
	return open_connection(st, path, STORE_OPEN, err);
}

int store_checkpoint(struct store *st, lm_err *err)
{
	uint64_t version;
	int rc, frames = 0, copied = 0;

	/* A connection that has read nothing since it opened has no WAL open,
	 * and its checkpoint would do nothing; this read opens it without
	 * reading the schema. */
	if (store_data_version(st, &version, err) != 0)
		return -1;
	rc = sqlite3_wal_checkpoint_v2(st->db, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
	/* Under steady writes the WAL starts over only when a writer happens to
	 * begin right after a complete checkpoint; until then it grows, and
	 * other clients' commits checkpoint for themselves past 1,000 pages.
	 * Once all of it is copied, a RESTART makes the next writer start it
	 * over; it takes the write lock only if free and waits for no reader
	 * (no busy handler here), so a writer is held back at most for the
	 * moment of copying what came since the passive pass. */
	if (rc == SQLITE_OK && frames >= STORE_WAL_RESTART_FRAMES && copied == frames)
		rc = sqlite3_wal_checkpoint_v2(st->db, "main", SQLITE_CHECKPOINT_RESTART, NULL,
					       NULL);
	/* Busy: another connection is checkpointing, or a writer or a reader
	 * is in the way; ours can wait. */
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return lm_errf(err, "%s: checkpoint: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}
