/* SPDX-License-Identifier: MIT */
/* Sealing captures into change sets; see seal.h. */
#include "store/seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/changeset.h"
#include "store/clock.h"
#include "store/cslog.h"
#include "store/registry.h"
#include "store/rowkey.h"

/* One change set being written for one scope. */
struct sealing {
	struct store *st;
	const struct seal_key *key;
	struct hlc *clock;
	uint64_t now_ms;
	struct cs_header h;
	struct cs_writer w;
	int open; /* w has begun */
	int *count;
	struct table_cache tables;
};

static int begin_changeset(struct sealing *s, lm_err *err)
{
	uint64_t head;

	if (cslog_head(s->st, s->key->public_key, s->h.scope, &head, s->h.prev, err) != 0)
		return -1;
	memcpy(s->h.origin, s->key->public_key, CS_KEY_LEN);
	s->h.seq = head + 1;
	s->h.hlc = hlc_now(s->clock, s->now_ms);
	if (cs_writer_begin(&s->w, &s->h, err) != 0)
		return -1;
	s->open = 1;
	return 0;
}

static int finish_changeset(struct sealing *s, lm_err *err)
{
	uint8_t *env = NULL, hash[CS_HASH_LEN];
	size_t len;
	int rc;

	if (!s->open)
		return 0;
	s->open = 0;
	rc = cs_writer_seal(&s->w, s->key->secret_key, &env, &len, hash, err);
	if (rc == 0)
		rc = cslog_append(s->st, &s->h, hash, env, len, err);
	cs_writer_free(&s->w);
	free(env);
	if (rc == 0)
		(*s->count)++;
	return rc;
}

/* The values of the row's columns to ship, read from the table now. */
static int read_columns(struct sealing *s, const struct repl_table *t, struct rowkey *k, int whole,
			struct cs_col *cols, size_t *ncols, sqlite3_stmt **stmt, lm_err *err)
{
	int ship[REGISTRY_MAX_COLS] = {0}, i, n = 0;

	for (i = t->npk; i < t->ncols; i++)
		ship[i] = i != t->scope_col && (whole || rowkey_captured(s->st, k, t->cols[i]));
	if (rowkey_select(s->st, t, k, ship, stmt, err) != 0)
		return -1;
	if (sqlite3_step(*stmt) != SQLITE_ROW) {
		*ncols = 0; /* gone since: the delete that follows will say so */
		return 1;
	}
	for (i = t->npk; i < t->ncols; i++) {
		if (!ship[i])
			continue;
		cols[n].name = t->cols[i];
		cols[n].name_len = strlen(t->cols[i]);
		rowkey_column_value(*stmt, n, &cols[n].value);
		n++;
	}
	*ncols = (size_t)n;
	return 0;
}

static int add_row(struct sealing *s, const struct cs_row *row, lm_err *err)
{
	if (!s->open && begin_changeset(s, err) != 0)
		return -1;
	if (cs_writer_add_row(&s->w, row, err) == 0)
		return 0;
	/* Full: seal what we have and put the row in the next one. */
	if (s->w.nrows == 0)
		return lm_err_wrap(err, "a row of %.*s is too large to replicate",
				   (int)row->table_len, row->table);
	if (finish_changeset(s, err) != 0 || begin_changeset(s, err) != 0)
		return -1;
	return cs_writer_add_row(&s->w, row, err);
}

static int seal_row(struct sealing *s, const char *table, const char *key, int whole, uint64_t cl,
		    int here, lm_err *err)
{
	const struct repl_table *t = table_cache_get(&s->tables, s->st, table, err);
	struct cs_col cols[REGISTRY_MAX_COLS];
	sqlite3_stmt *stmt = NULL;
	struct cs_row row;
	struct rowkey k;
	size_t ncols = 0;
	int rc;

	if (t == NULL || rowkey_from_json(s->st, &k, table, key, err) != 0)
		return -1;
	rc = cl % 2 ? read_columns(s, t, &k, whole, cols, &ncols, &stmt, err) : 0;
	if (rc == 0) {
		memset(&row, 0, sizeof(row));
		row.table = t->name;
		row.table_len = strlen(t->name);
		row.pk = k.values;
		row.npk = k.n;
		row.cl = cl;
		row.cols = cols;
		row.ncols = ncols;
		rc = add_row(s, &row, err);
		/* This write sets the row's scope register, deletes included, unless
		 * it is the delete left behind in a scope the row has moved out of. */
		if (rc == 0 && here)
			rc = rowkey_stamp(s->st, &k, cl, cols, ncols, s->h.hlc, s->h.origin, here,
					  err);
	}
	store_release(s->st, stmt);
	rowkey_free(&k);
	return rc < 0 ? -1 : 0;
}

static int seal_scope(struct sealing *s, const char *scope, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc = 0, step;

	snprintf(s->h.scope, sizeof(s->h.scope), "%s", scope);
	stmt = store_stmt(s->st,
			  "SELECT c.tbl, c.pk, max(c.col IS NULL), r.cl, r.scope = ?1 "
			  "FROM repl_capture c JOIN repl_row r ON r.tbl = c.tbl AND r.pk = "
			  "c.pk WHERE coalesce(c.scope, r.scope) = ?1 GROUP BY c.tbl, c.pk "
			  "ORDER BY min(c.id)",
			  err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, scope, -1, SQLITE_TRANSIENT);
	while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint64_t cl = (uint64_t)sqlite3_column_int64(stmt, 3);
		int here = sqlite3_column_int(stmt, 4);

		/* The row has moved to another scope since: here it is deleted. */
		if (!here && cl % 2 == 1)
			cl--;
		rc = seal_row(s, (const char *)sqlite3_column_text(stmt, 0),
			      (const char *)sqlite3_column_text(stmt, 1),
			      sqlite3_column_int(stmt, 2), cl, here, err);
	}
	store_release(s->st, stmt);
	if (rc == 0)
		rc = finish_changeset(s, err);
	if (s->open) {
		cs_writer_free(&s->w);
		s->open = 0;
	}
	return rc;
}

/* The scopes with pending captures; the caller frees the list. */
static int pending_scopes(struct store *st, char ***scopes, int *n, lm_err *err)
{
	sqlite3_stmt *stmt;
	char **list = NULL, **grown;
	int count = 0, rc;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT DISTINCT coalesce(c.scope, r.scope) FROM repl_capture c "
			       "JOIN repl_row r ON r.tbl = c.tbl AND r.pk = c.pk ORDER BY 1",
			       -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		grown = realloc(list, (size_t)(count + 1) * sizeof(*list));
		if (grown == NULL)
			break;
		list = grown;
		list[count] = strdup((const char *)sqlite3_column_text(stmt, 0));
		if (list[count] == NULL)
			break;
		count++;
	}
	sqlite3_finalize(stmt);
	*scopes = list;
	*n = count;
	/* A short list must not be sealed: seal_all then clears every capture,
	 * those of the scopes left out included. */
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: listing the scopes to seal: %s", st->path,
			       rc == SQLITE_ROW ? "out of memory" : sqlite3_errstr(rc));
	return 0;
}

static int seal_all(struct sealing *s, lm_err *err)
{
	char **scopes = NULL;
	int n = 0, i, rc;

	rc = pending_scopes(s->st, &scopes, &n, err);
	for (i = 0; rc == 0 && i < n; i++)
		rc = seal_scope(s, scopes[i], err);
	for (i = 0; i < n; i++)
		free(scopes[i]);
	free(scopes);
	if (rc == 0)
		rc = store_exec(s->st, "DELETE FROM repl_capture", err);
	if (rc == 0)
		rc = clock_save(s->st, s->clock, err);
	return rc;
}

int seal_has_pending(struct store *st, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc, pending = 0;

	stmt = store_stmt(st, "SELECT EXISTS (SELECT 1 FROM repl_capture)", err);
	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		pending = sqlite3_column_int(stmt, 0);
	store_release(st, stmt);
	if (rc != SQLITE_ROW)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	return pending;
}

int seal_pending_locked(struct store *st, const struct seal_key *key, uint64_t now_ms, int *count,
			lm_err *err)
{
	struct sealing s;
	struct hlc clock;
	int rc;

	*count = 0;
	memset(&s, 0, sizeof(s));
	s.st = st;
	s.key = key;
	s.clock = &clock;
	s.now_ms = now_ms;
	s.count = count;
	rc = clock_load(st, &clock, err);
	if (rc == 0)
		rc = seal_all(&s, err);
	table_cache_free(&s.tables);
	return rc;
}

int seal_pending(struct store *st, const struct seal_key *key, uint64_t now_ms, int *count,
		 lm_err *err)
{
	int rc;

	if (store_exec(st, "BEGIN IMMEDIATE", err) != 0)
		return -1;
	rc = seal_pending_locked(st, key, now_ms, count, err);
	if (rc == 0)
		rc = store_exec(st, "COMMIT", err);
	if (rc != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		*count = 0;
	}
	return rc;
}
