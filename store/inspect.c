/* SPDX-License-Identifier: MIT */
/* Operator views of the replication state; see inspect.h. */
#include "store/inspect.h"

#include <stdlib.h>
#include <string.h>

#include "store/cslog.h"

static void copy_key(uint8_t out[CS_KEY_LEN], sqlite3_stmt *stmt, int col)
{
	memset(out, 0, CS_KEY_LEN);
	if (sqlite3_column_bytes(stmt, col) == CS_KEY_LEN)
		memcpy(out, sqlite3_column_blob(stmt, col), CS_KEY_LEN);
}

static int finish(struct store *st, sqlite3_stmt *stmt, int rc, int stopped, lm_err *err)
{
	sqlite3_finalize(stmt);
	if (!stopped && rc != SQLITE_DONE)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

int inspect_changes(struct store *st, const struct inspect_filter *f, inspect_change_cb cb,
		    void *ctx, lm_err *err)
{
	struct inspect_change c;
	struct changeset cs;
	sqlite3_stmt *stmt;
	int rc, stopped = 0;
	lm_err bad;

	if (store_prepare(st,
			  "SELECT origin, scope, seq, hlc, local_id, "
			  "hex(origin) = upper((SELECT value FROM meta WHERE key = 'site_id')) "
			  "FROM changeset WHERE (?1 IS NULL OR origin = ?1) AND (?2 IS NULL OR "
			  "scope = ?2) ORDER BY local_id DESC LIMIT ?3",
			  &stmt, err) != 0)
		return -1;
	if (f->origin)
		sqlite3_bind_blob(stmt, 1, f->origin, CS_KEY_LEN, SQLITE_STATIC);
	if (f->scope)
		sqlite3_bind_text(stmt, 2, f->scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, f->limit > 0 ? f->limit : -1);
	while (!stopped && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint8_t *env;
		size_t len;

		int found = cslog_envelope(st, sqlite3_column_int64(stmt, 4), &env, &len, err);

		if (found < 0) {
			sqlite3_finalize(stmt);
			return -1;
		}
		memset(&c, 0, sizeof(c));
		copy_key(c.origin, stmt, 0);
		c.scope = (const char *)sqlite3_column_text(stmt, 1);
		c.seq = (uint64_t)sqlite3_column_int64(stmt, 2);
		c.hlc = (uint64_t)sqlite3_column_int64(stmt, 3);
		c.bytes = len;
		c.local = sqlite3_column_int(stmt, 5);
		if (found && changeset_decode(env, len, &cs, &bad) == 0) {
			c.rows = cs.nrows;
			changeset_free(&cs);
		}
		stopped = cb(&c, ctx) != 0;
		free(env);
	}
	return finish(st, stmt, rc, stopped, err);
}

int inspect_conflicts(struct store *st, int64_t limit, inspect_conflict_cb cb, void *ctx,
		      lm_err *err)
{
	struct inspect_conflict c;
	sqlite3_stmt *stmt;
	int rc, stopped = 0;

	if (store_prepare(
		st,
		"SELECT id, tbl, pk, col, CASE WHEN typeof(loser_value) = 'blob' THEN "
		"'x''' || hex(loser_value) || '''' ELSE loser_value END, loser_hlc, "
		"loser_origin, winner_hlc, winner_origin, at FROM conflict ORDER BY id DESC "
		"LIMIT ?",
		&stmt, err) != 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, limit > 0 ? limit : -1);
	while (!stopped && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		c.id = sqlite3_column_int64(stmt, 0);
		c.table = (const char *)sqlite3_column_text(stmt, 1);
		c.key = (const char *)sqlite3_column_text(stmt, 2);
		c.column = (const char *)sqlite3_column_text(stmt, 3);
		c.loser_text = (const char *)sqlite3_column_text(stmt, 4);
		c.loser_hlc = (uint64_t)sqlite3_column_int64(stmt, 5);
		copy_key(c.loser_origin, stmt, 6);
		c.winner_hlc = (uint64_t)sqlite3_column_int64(stmt, 7);
		copy_key(c.winner_origin, stmt, 8);
		c.at = (const char *)sqlite3_column_text(stmt, 9);
		stopped = cb(&c, ctx) != 0;
	}
	return finish(st, stmt, rc, stopped, err);
}

int inspect_quarantine(struct store *st, inspect_quarantined_cb cb, void *ctx, lm_err *err)
{
	struct inspect_quarantined q;
	sqlite3_stmt *stmt;
	int rc, stopped = 0;

	if (store_prepare(st,
			  "SELECT origin, scope, seq, reason, at, 0 FROM quarantine UNION ALL "
			  "SELECT origin, scope, seq, reason, at, 1 FROM held ORDER BY 6, 5 DESC",
			  &stmt, err) != 0)
		return -1;
	while (!stopped && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&q, 0, sizeof(q));
		copy_key(q.origin, stmt, 0);
		q.scope = (const char *)sqlite3_column_text(stmt, 1);
		q.seq = (uint64_t)sqlite3_column_int64(stmt, 2);
		q.reason = (const char *)sqlite3_column_text(stmt, 3);
		q.at = (const char *)sqlite3_column_text(stmt, 4);
		q.held = sqlite3_column_int(stmt, 5);
		stopped = cb(&q, ctx) != 0;
	}
	return finish(st, stmt, rc, stopped, err);
}
