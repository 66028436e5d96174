/* SPDX-License-Identifier: MIT */
/* Opening the store, applying migrations, site metadata; see store.h. */
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto/siteid.h"
#include "store/registry.h"
#include "store/schema.h"

int store_exec(struct store *st, const char *sql, lm_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		lm_errf(err, "%s: %s", st->path, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int query_int(struct store *st, const char *sql, int *out, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(stmt, 0);
	else
		lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : -1;
}

int store_schema_latest(void)
{
	return schema_latest();
}

int store_schema_version(struct store *st, int *version, lm_err *err)
{
	return query_int(st, "PRAGMA user_version", version, err);
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

int store_open(struct store *st, const char *path, enum store_mode mode, lm_err *err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	memset(st, 0, sizeof(*st));
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
	sqlite3_extended_result_codes(st->db, 1);
	if (configure(st, err) != 0 || migrate(st, err) != 0) {
		store_close(st);
		return -1;
	}
	return 0;
}

void store_close(struct store *st)
{
	if (st->db != NULL)
		sqlite3_close_v2(st->db);
	st->db = NULL;
}

int store_meta_set(struct store *st, const char *key, const char *value, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", -1,
			       &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: writing meta %s: %s", st->path, key,
			       sqlite3_errmsg(st->db));
	return 0;
}

int store_meta_get(struct store *st, const char *key, char *value, size_t cap, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?", -1, &stmt, NULL) !=
	    SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(value, cap, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
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
