/* SPDX-License-Identifier: MIT */
/* Rows held back for want of privacy; see held.h. */
#include "store/held.h"

#include <string.h>

#include "store/fnr.h"

static int held_step(struct store *st, sqlite3_stmt *stmt, const char *what, lm_err *err)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return rc;
	return lm_errf(err, "%s: %s the rows held back: %s", st->path, what,
		       sqlite3_errmsg(st->db));
}

int held_any(struct store *st, lm_err *err)
{
	int64_t any;

	if (store_pragma_int(st, "SELECT EXISTS (SELECT 1 FROM repl_held)", &any, err) != 0)
		return -1;
	return any != 0;
}

int held_count(struct store *st, int64_t *n, lm_err *err)
{
	return store_pragma_int(st, "SELECT count(*) FROM repl_held", n, err);
}

/* The step's outcome of sql bound to one row (tbl, pk), or -1. */
static int on_row(struct store *st, const char *sql, const char *tbl, const char *pk,
		  const char *what, lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(st, sql, err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, pk, -1, SQLITE_STATIC);
	rc = held_step(st, stmt, what, err);
	store_release(st, stmt);
	return rc;
}

int held_has(struct store *st, const char *tbl, const char *pk, lm_err *err)
{
	int rc = on_row(st, "SELECT 1 FROM repl_held WHERE tbl = ?1 AND pk = ?2", tbl, pk,
			"reading", err);

	return rc < 0 ? -1 : rc == SQLITE_ROW;
}

int held_put(struct store *st, const char *tbl, const char *pk, const char *col, size_t col_len,
	     lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(st,
					"INSERT OR REPLACE INTO repl_held(tbl, pk, col) "
					"VALUES (?1, ?2, ?3)",
					err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, pk, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, col, (int)col_len, SQLITE_STATIC);
	rc = held_step(st, stmt, "writing", err);
	store_release(st, stmt);
	return rc < 0 ? -1 : 0;
}

int held_drop(struct store *st, const char *tbl, const char *pk, lm_err *err)
{
	int rc = on_row(st, "DELETE FROM repl_held WHERE tbl = ?1 AND pk = ?2", tbl, pk, "clearing",
			err);

	return rc < 0 ? -1 : 0;
}

static int text_holds_one(const struct cs_value *v)
{
	size_t at;

	return v->type == CS_TEXT && fnr_find((const char *)v->p, v->len, 1, &at);
}

const char *held_column(const struct cs_value *pk, size_t npk, const struct cs_col *cols,
			size_t ncols, size_t *len)
{
	size_t i;

	for (i = 0; i < npk; i++)
		if (text_holds_one(&pk[i])) {
			*len = 3;
			return "key";
		}
	for (i = 0; i < ncols; i++)
		if (text_holds_one(&cols[i].value)) {
			*len = cols[i].name_len;
			return cols[i].name;
		}
	return NULL;
}

int held_list(struct store *st, held_row_cb cb, void *ctx, lm_err *err)
{
	sqlite3_stmt *stmt;
	struct held_row h;
	int rc;

	if (store_prepare(st, "SELECT tbl, pk, col, at FROM repl_held ORDER BY at, tbl, pk", &stmt,
			  err) != 0)
		return -1;
	while ((rc = held_step(st, stmt, "listing", err)) == SQLITE_ROW) {
		h.table = (const char *)sqlite3_column_text(stmt, 0);
		h.key = (const char *)sqlite3_column_text(stmt, 1);
		h.column = (const char *)sqlite3_column_text(stmt, 2);
		h.at = (const char *)sqlite3_column_text(stmt, 3);
		if (h.table == NULL || h.key == NULL || h.column == NULL || h.at == NULL) {
			rc =
			    lm_errf(err, "%s: listing the rows held back: out of memory", st->path);
			break;
		}
		if (cb(&h, ctx) != 0)
			break;
	}
	sqlite3_finalize(stmt);
	return rc < 0 ? -1 : 0;
}
