/* SPDX-License-Identifier: MIT */
/* Merging change sets; see merge.h for the invariants.
 *
 * For each change set, in the order given: decode; place it against the
 * version vector (duplicate, fork, gap or next); authenticate it (the
 * signature of the last member of its consecutive run and the hash links,
 * or its own signature when the run does not verify as a whole); observe its
 * clock (or hold it back); check every row against the write policies
 * (or quarantine it); apply its rows; append it to the log.
 */
#include "store/merge.h"

#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hlc.h"
#include "proto/siteid.h"
#include "store/clock.h"
#include "store/cslog.h"
#include "store/member.h"
#include "store/mergehook.h"
#include "store/registry.h"
#include "store/rowclock.h"
#include "store/rowkey.h"

/* How the reason of a change set held for want of a role begins. */
#define MEMBER_WAIT "waiting for membership"

struct refusal {
	uint8_t hash[CS_HASH_LEN];
	char why[LM_ERR_MAX];
	int set;
};

struct merging {
	struct store *st;
	const struct merge_options *opt;
	struct hlc clock;
	struct table_cache tables;
	const struct repl_table *last_table; /* the table row_table found last */
	/* A relay: the table row_table found last not to be replicated here
	 * (length 0: none). */
	char relay_absent[CS_NAME_MAX];
	size_t relay_absent_len;
	struct changeset *cs; /* decoded batch; cs[i].body NULL when undecodable */
	int *verified;	      /* 1 when cs[i] is authenticated */
	size_t n;
	struct sql_memo { /* statements on replicated tables, as built */
		const struct repl_table *t;
		int kind;
		uint64_t cols; /* bit i: column i takes a value */
		char *sql;
	} memo[16];
	unsigned memo_next;
	int members_changed; /* an lm_member row was applied */
	int quiet;	     /* triggers are off: hooks stand in (mergehook.h) */
	int known_last;	     /* the last row applied was known here (apply_row) */
	/* Change sets a table constraint refused in an earlier attempt at this
	 * batch, quarantined this time; and the one refused in this attempt. */
	const struct refusal *refused;
	size_t nrefused;
	struct refusal *hit;
};

const char *merge_result_name(enum merge_result r)
{
	static const char *const names[] = {"applied",	"duplicate",   "gap",
					    "rejected", "quarantined", "held"};

	return (unsigned)r <= MERGE_HELD ? names[r] : "?";
}

static int outcome(struct merge_outcome *o, enum merge_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int outcome(struct merge_outcome *o, enum merge_result r, const char *fmt, ...)
{
	va_list ap;

	o->result = r;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* ---- applying rows ---------------------------------------------------- */

/* Run a cached statement to completion; it is released either way. */
static int run(struct store *st, sqlite3_stmt *stmt, lm_err *err)
{
	int rc = sqlite3_step(stmt);

	store_release(st, stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

static void where_key(char *sql, size_t cap, size_t *n, const struct repl_table *t, int first)
{
	int i;

	for (i = 0; i < t->npk && *n < cap; i++)
		*n += (size_t)snprintf(sql + *n, cap - *n, "%s\"%s\" = ?%d", i ? " AND " : "",
				       t->cols[i], first + i);
}

/* The values a row takes: win[i] for column i of the table (NULL: none),
 * and the same as a bit set. */
struct row_values {
	const struct cs_value *win[REGISTRY_MAX_COLS];
	uint64_t cols;
};

enum row_sql {
	ROW_DELETE,	  /* the row, by key (?1...) */
	ROW_UPDATE,	  /* the columns in cols, by key */
	ROW_UPDATE_SCOPE, /* the same and the scope */
	ROW_INSERT, /* insert of scope, key and the columns in cols, unless the key is there */
};

/* Statements set the scope as ?1, the key as ?2..., the values of the
 * columns in cols after them in column order (ROW_DELETE: the key as ?1...).
 * Returns the length, or 0 when the statement would not fit. */
static size_t row_sql_build(const struct repl_table *t, int kind, uint64_t cols, char *sql,
			    size_t cap)
{
	size_t n = 0;
	int i, p = 2 + t->npk, any = 0;

	if (kind == ROW_DELETE) {
		n = (size_t)snprintf(sql, cap, "DELETE FROM \"%s\" WHERE ", t->name);
		where_key(sql, cap, &n, t, 1);
	} else if (kind == ROW_INSERT) {
		n = (size_t)snprintf(sql, cap, "INSERT INTO \"%s\"(\"%s\"", t->name,
				     t->cols[t->scope_col]);
		for (i = 0; i < t->ncols && n < cap; i++)
			if (i < t->npk || (cols >> i & 1))
				n += (size_t)snprintf(sql + n, cap - n, ", \"%s\"", t->cols[i]);
		if (n < cap)
			n += (size_t)snprintf(sql + n, cap - n, ") VALUES (?1");
		for (i = 0, p = 1; i < t->ncols && n < cap; i++)
			if (i < t->npk || (cols >> i & 1))
				n += (size_t)snprintf(sql + n, cap - n, ", ?%d", ++p);
		/* Not INSERT OR IGNORE: that would skip a row a CHECK refuses too. */
		if (n < cap)
			n += (size_t)snprintf(sql + n, cap - n, ") ON CONFLICT DO NOTHING");
	} else {
		n = (size_t)snprintf(sql, cap, "UPDATE \"%s\" SET ", t->name);
		if (kind == ROW_UPDATE_SCOPE && n < cap)
			n += (size_t)snprintf(sql + n, cap - n, "\"%s\" = ?1",
					      t->cols[t->scope_col]),
			    any = 1;
		for (i = t->npk; i < t->ncols && n < cap; i++)
			if (cols >> i & 1)
				n += (size_t)snprintf(sql + n, cap - n, "%s\"%s\" = ?%d",
						      any++ ? ", " : "", t->cols[i], p++);
		if (n < cap)
			n += (size_t)snprintf(sql + n, cap - n, " WHERE ");
		where_key(sql, cap, &n, t, 2);
	}
	return n < cap ? n : 0;
}

/* The statement of that kind, built once per batch. */
static sqlite3_stmt *row_stmt(struct merging *m, const struct repl_table *t, int kind,
			      uint64_t cols, lm_err *err)
{
	struct sql_memo *e;
	char sql[8192];
	size_t i;

	if (kind == ROW_DELETE)
		cols = 0;
	for (i = 0; i < sizeof(m->memo) / sizeof(m->memo[0]); i++) {
		e = &m->memo[i];
		if (e->sql != NULL && e->t == t && e->kind == kind && e->cols == cols)
			return store_stmt(m->st, e->sql, err);
	}
	if (row_sql_build(t, kind, cols, sql, sizeof(sql)) == 0) {
		lm_errf(err, "%s: statement too long", t->name);
		return NULL;
	}
	e = &m->memo[m->memo_next++ % (sizeof(m->memo) / sizeof(m->memo[0]))];
	free(e->sql);
	e->sql = strdup(sql);
	e->t = t;
	e->kind = kind;
	e->cols = cols;
	if (e->sql == NULL) {
		lm_errf(err, "out of memory");
		return NULL;
	}
	return store_stmt(m->st, e->sql, err);
}

/* In a quiet merge, the hooks that stand in for the skipped triggers, for
 * a row just written or about to be deleted (mergehook.h). */
static int row_hooks(struct merging *m, const struct repl_table *t, const struct rowkey *k,
		     int deleting, lm_err *err)
{
	return m->quiet ? mergehook_row(m->st, t->name, k->json, deleting, err) : 0;
}

static int row_delete(struct merging *m, const struct repl_table *t, const struct rowkey *k,
		      lm_err *err)
{
	sqlite3_stmt *stmt;

	if (row_hooks(m, t, k, 1, err) != 0)
		return -1;
	stmt = row_stmt(m, t, ROW_DELETE, 0, err);
	if (stmt == NULL)
		return -1;
	rowkey_bind(stmt, 1, k);
	return run(m->st, stmt, err);
}

static void bind_row(sqlite3_stmt *stmt, const struct repl_table *t, const struct rowkey *k,
		     const char *scope, const struct row_values *v)
{
	int i, p = 2 + t->npk;

	if (scope != NULL)
		sqlite3_bind_text(stmt, 1, scope, -1, SQLITE_STATIC);
	rowkey_bind(stmt, 2, k);
	for (i = t->npk; i < t->ncols; i++)
		if (v->win[i] != NULL)
			cs_value_bind(stmt, p++, v->win[i]);
}

/* UPDATE the winning columns (and the scope, when scope is set). */
static int row_update(struct merging *m, const struct repl_table *t, const struct rowkey *k,
		      const char *scope, const struct row_values *v, lm_err *err)
{
	sqlite3_stmt *stmt;

	if (scope == NULL && v->cols == 0)
		return 0;
	stmt = row_stmt(m, t, scope ? ROW_UPDATE_SCOPE : ROW_UPDATE, v->cols, err);
	if (stmt == NULL)
		return -1;
	bind_row(stmt, t, k, scope, v);
	if (run(m->st, stmt, err) != 0)
		return -1;
	return row_hooks(m, t, k, 0, err);
}

/* Make sure the row exists in scope with its key and the winning values:
 * created with them (the other columns take their defaults) or, when it is
 * there already, updated. */
static int row_ensure(struct merging *m, const struct repl_table *t, const struct rowkey *k,
		      const char *scope, const struct row_values *v, lm_err *err)
{
	sqlite3_stmt *stmt = row_stmt(m, t, ROW_INSERT, v->cols, err);
	int rc;

	if (stmt == NULL)
		return -1;
	bind_row(stmt, t, k, scope, v);
	rc = sqlite3_step(stmt);
	store_release(m->st, stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: %s", m->st->path, sqlite3_errmsg(m->st->db));
	if (sqlite3_changes(m->st->db) > 0)
		return row_hooks(m, t, k, 0, err);
	return row_update(m, t, k, scope, v, err);
}

/* Keep a value that lost against a write whose writer had not seen it
 * (merge_columns decides, from the bases; docs/DECISIONS.md says where
 * each loser is recorded). */
static int conflict_record(struct store *st, const struct rowkey *k, const char *col,
			   const struct cs_value *loser, uint64_t loser_hlc,
			   const uint8_t *loser_origin, uint64_t winner_hlc,
			   const uint8_t *winner_origin, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = store_stmt(st,
			  "INSERT INTO conflict(tbl, pk, col, loser_value, loser_hlc, "
			  "loser_origin, winner_hlc, winner_origin) VALUES (?,?,?,?,?,?,?,?)",
			  err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, k->table, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, k->json, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, col, -1, SQLITE_STATIC);
	cs_value_bind(stmt, 4, loser);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)loser_hlc);
	sqlite3_bind_blob(stmt, 6, loser_origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, (sqlite3_int64)winner_hlc);
	sqlite3_bind_blob(stmt, 8, winner_origin, CS_KEY_LEN, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	store_release(st, stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: recording a conflict: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

/* The index of a value column (neither key nor scope) by name, or -1. It
 * runs for every column of every row (policy check, merge, clocks): the
 * byte after a name of len bytes rules most columns out without a strlen. */
static int col_by_name(const struct repl_table *t, const char *name, size_t len)
{
	int i;

	if (len == 0 || len >= sizeof(t->cols[0]))
		return -1;
	for (i = t->npk; i < t->ncols; i++)
		if (t->cols[i][len] == '\0' && t->cols[i][0] == name[0] &&
		    memcmp(t->cols[i], name, len) == 0 && memchr(name, '\0', len) == NULL &&
		    i != t->scope_col)
			return i;
	return -1;
}

static int col_index(const struct repl_table *t, const struct cs_col *c)
{
	return col_by_name(t, c->name, c->name_len);
}

/* Why a column of cols is none of t's: a key column travels in pk and the
 * scope column is the change set's scope, so neither belongs in cols. */
static const char *col_misplaced(const struct repl_table *t, const struct cs_col *c)
{
	int i;

	for (i = 0; i < t->ncols; i++)
		if (c->name_len == strlen(t->cols[i]) &&
		    memcmp(t->cols[i], c->name, c->name_len) == 0)
			return i < t->npk ? "a key column, which travels in pk"
					  : "the scope column, which is the change set's scope";
	return NULL;
}

/* Who last wrote each column of the row's current incarnation, and what
 * that write replaced at its writer (its base), by column index
 * (repl_row.clocks, see rowclock.h). */
struct col_clock {
	int found;
	uint64_t hlc;
	uint8_t origin[CS_KEY_LEN];
	enum rowclock_base base;
	uint64_t base_hlc; /* base ROWCLOCK_HELD: the clock replaced */
	uint8_t base_origin[CS_KEY_LEN];
};

struct row_clocks {
	struct col_clock c[REGISTRY_MAX_COLS];
};

/* What repl_row holds for a row. */
struct row_state {
	int found;
	uint64_t cl, scope_hlc;
	char scope[CS_SCOPE_MAX + 1];
	uint8_t scope_origin[CS_KEY_LEN];
	struct row_clocks clocks;
};

/* Clocks written at another causal length belong to another incarnation:
 * they are left out, as if never written. */
static int clocks_from_blob(const struct repl_table *t, const void *blob, size_t len, uint64_t cl,
			    struct row_clocks *rc)
{
	struct rowclock d;
	size_t j;

	memset(rc, 0, sizeof(*rc));
	if (rowclock_decode(blob, len, &d) != 0)
		return -1;
	if (d.cl != cl)
		return 0;
	for (j = 0; j < d.n; j++) {
		int i = col_by_name(t, d.c[j].name, d.c[j].name_len);

		if (i < 0)
			continue; /* a column dropped since */
		rc->c[i].found = 1;
		rc->c[i].hlc = d.c[j].hlc;
		memcpy(rc->c[i].origin, d.c[j].origin, CS_KEY_LEN);
		rc->c[i].base = d.c[j].base;
		if (d.c[j].base == ROWCLOCK_HELD) {
			rc->c[i].base_hlc = d.c[j].base_hlc;
			memcpy(rc->c[i].base_origin, d.c[j].base_origin, CS_KEY_LEN);
		}
	}
	return 0;
}

static size_t clocks_to_blob(const struct repl_table *t, uint64_t cl, const struct row_clocks *rc,
			     uint8_t *buf, size_t cap)
{
	struct rowclock e;
	int i;

	e.cl = cl;
	e.n = 0;
	for (i = t->npk; i < t->ncols; i++) {
		if (!rc->c[i].found)
			continue;
		e.c[e.n].name = t->cols[i];
		e.c[e.n].name_len = strlen(t->cols[i]);
		e.c[e.n].hlc = rc->c[i].hlc;
		e.c[e.n].origin = rc->c[i].origin;
		e.c[e.n].base = rc->c[i].base;
		e.c[e.n].base_hlc = rc->c[i].base_hlc;
		e.c[e.n].base_origin = rc->c[i].base_origin;
		e.n++;
	}
	return rowclock_encode(&e, buf, cap);
}

static int row_state_read(struct store *st, const struct repl_table *t, const struct rowkey *k,
			  struct row_state *rs, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc, bad = 0;

	memset(rs, 0, sizeof(*rs));
	stmt = store_stmt(st,
			  "SELECT cl, scope, scope_hlc, scope_origin, clocks FROM repl_row "
			  "WHERE tbl = ? AND pk = ?",
			  err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, k->table, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, k->json, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		rs->found = 1;
		rs->cl = (uint64_t)sqlite3_column_int64(stmt, 0);
		snprintf(rs->scope, sizeof(rs->scope), "%s",
			 (const char *)sqlite3_column_text(stmt, 1));
		rs->scope_hlc = (uint64_t)sqlite3_column_int64(stmt, 2);
		if (sqlite3_column_bytes(stmt, 3) == CS_KEY_LEN)
			memcpy(rs->scope_origin, sqlite3_column_blob(stmt, 3), CS_KEY_LEN);
		bad = clocks_from_blob(t, sqlite3_column_blob(stmt, 4),
				       (size_t)sqlite3_column_bytes(stmt, 4), rs->cl, &rs->clocks);
	}
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	if (bad)
		return lm_errf(err, "%s: the column clocks of %s %s are damaged", st->path,
			       k->table, k->json);
	return 0;
}

#define ROW_STATE_INSERT                                                                           \
	"INSERT INTO repl_row(tbl, pk, cl, scope, scope_hlc, scope_origin, clocks) "               \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (tbl, pk) "

/* Store the row's causal length, scope register and clocks, one statement.
 * With only_new, only when repl_row holds nothing for the key
 * (sqlite3_changes says whether it went in). */
static int row_state_write(struct store *st, const struct repl_table *t, const struct rowkey *k,
			   const struct row_state *rs, int only_new, lm_err *err)
{
	uint8_t blob[ROWCLOCK_BLOB_MAX];
	sqlite3_stmt *stmt;
	size_t len = clocks_to_blob(t, rs->cl, &rs->clocks, blob, sizeof(blob));

	if (len == 0)
		return lm_errf(err, "%s: cannot encode the column clocks of %s", st->path, t->name);
	stmt =
	    store_stmt(st,
		       only_new ? ROW_STATE_INSERT "DO NOTHING"
				: ROW_STATE_INSERT
			   "DO UPDATE SET cl = excluded.cl, scope = excluded.scope, "
			   "scope_hlc = excluded.scope_hlc, scope_origin = excluded.scope_origin, "
			   "clocks = excluded.clocks",
		       err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, k->table, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, k->json, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)rs->cl);
	sqlite3_bind_text(stmt, 4, rs->scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)rs->scope_hlc);
	sqlite3_bind_blob(stmt, 6, rs->scope_origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 7, blob, (int)len, SQLITE_STATIC);
	return run(st, stmt, err);
}

/* (hlc, origin) order, the order of last-writer-wins: <0, 0 or >0. */
static int clock_cmp(uint64_t a_hlc, const uint8_t *a_origin, uint64_t b_hlc,
		     const uint8_t *b_origin)
{
	if (a_hlc != b_hlc)
		return a_hlc < b_hlc ? -1 : 1;
	return memcmp(a_origin, b_origin, CS_KEY_LEN);
}

/* The base cs gives column j of row: unknown in format 1 (it cannot say),
 * none when the row carries no bases or none for that column. */
static enum rowclock_base incoming_base(const struct changeset *cs, const struct cs_row *row,
					size_t j)
{
	if (cs->h.format == CS_FORMAT_V1)
		return ROWCLOCK_UNKNOWN;
	return row->bases != NULL && row->bases[j].held ? ROWCLOCK_HELD : ROWCLOCK_NONE;
}

/* An incoming write that wins over the value held here overwrote it
 * unseen (a concurrent write, not an edit of it) when its writer held no
 * value for the column or one older than the held one. Unknown (format 1):
 * taken as seen, as before bases, since a sequential edit looks the same. */
static int overwrites_unseen(const struct changeset *cs, const struct cs_row *row, size_t j,
			     uint64_t held_hlc, const uint8_t *held_origin)
{
	switch (incoming_base(cs, row, j)) {
	case ROWCLOCK_NONE:
		return 1;
	case ROWCLOCK_HELD:
		return clock_cmp(row->bases[j].hlc, row->bases[j].origin, held_hlc, held_origin) <
		       0;
	default:
		return 0;
	}
}

/* The value held here for column i, about to be overwritten by a write of
 * cs that never saw it, goes to the conflict table. The value is read from
 * the table; a row missing there (which a consistent store never shows)
 * records its clock with nil. */
static int record_overwritten(struct merging *m, const struct repl_table *t, const struct rowkey *k,
			      int i, uint64_t held_hlc, const uint8_t *held_origin,
			      const struct changeset *cs, lm_err *err)
{
	int ship[REGISTRY_MAX_COLS] = {0}, step, rc;
	struct cs_value v = {CS_NIL, 0, 0, NULL, 0};
	sqlite3_stmt *stmt;

	ship[i] = 1;
	if (rowkey_select(m->st, t, k, ship, &stmt, err) != 0)
		return -1;
	step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		rowkey_column_value(stmt, 0, &v);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = lm_errf(err, "%s: reading %s %s to keep its value %s: %s", m->st->path,
			     t->name, k->json, t->cols[i], sqlite3_errmsg(m->st->db));
	else
		rc = conflict_record(m->st, k, t->cols[i], &v, held_hlc, held_origin, cs->h.hlc,
				     cs->h.origin, err);
	store_release(m->st, stmt);
	return rc;
}

/* Per-column last-writer-wins: the winning values go to v and their clocks
 * and bases to clocks. A losing value goes to the conflict table unless
 * the winner's writer had seen it (see docs/DECISIONS.md): an incoming
 * loser unless the held value's base is the loser's clock or later, a held
 * loser when the incoming winner's base says it never saw it. */
static int merge_columns(struct merging *m, const struct repl_table *t, const struct rowkey *k,
			 const struct cs_row *row, const struct changeset *cs,
			 struct row_clocks *clocks, struct row_values *v, lm_err *err)
{
	size_t j;

	/* Only t's columns are ever read: clearing all REGISTRY_MAX_COLS was
	 * a cost of every row. */
	memset(v->win, 0, (size_t)t->ncols * sizeof(v->win[0]));
	v->cols = 0;
	for (j = 0; j < row->ncols; j++) {
		const struct cs_col *c = &row->cols[j];
		int i = col_index(t, c), wins, cmp = 1;
		struct col_clock *held = &clocks->c[i];

		if (held->found) {
			cmp = clock_cmp(cs->h.hlc, cs->h.origin, held->hlc, held->origin);
			if (cmp == 0)
				continue; /* the same write, seen again */
		}
		wins = cmp > 0;
		if (wins) {
			if (held->found && overwrites_unseen(cs, row, j, held->hlc, held->origin) &&
			    record_overwritten(m, t, k, i, held->hlc, held->origin, cs, err) != 0)
				return -1;
			v->win[i] = &c->value;
			v->cols |= UINT64_C(1) << i;
			held->found = 1;
			held->hlc = cs->h.hlc;
			memcpy(held->origin, cs->h.origin, CS_KEY_LEN);
			held->base = incoming_base(cs, row, j);
			if (held->base == ROWCLOCK_HELD) {
				held->base_hlc = row->bases[j].hlc;
				memcpy(held->base_origin, row->bases[j].origin, CS_KEY_LEN);
			}
		} else if ((held->base != ROWCLOCK_HELD ||
			    clock_cmp(cs->h.hlc, cs->h.origin, held->base_hlc, held->base_origin) >
				0) &&
			   conflict_record(m->st, k, t->cols[i], &c->value, cs->h.hlc, cs->h.origin,
					   held->hlc, held->origin, err) != 0) {
			return -1;
		}
	}
	return 0;
}

/* Values sent for an incarnation that a delete here has already ended lose. */
static int record_stale(struct merging *m, const struct repl_table *t, const struct rowkey *k,
			const struct cs_row *row, const struct changeset *cs, lm_err *err)
{
	static const uint8_t nobody[CS_KEY_LEN];
	size_t i;

	for (i = 0; i < row->ncols; i++) {
		int c = col_index(t, &row->cols[i]);

		if (conflict_record(m->st, k, t->cols[c], &row->cols[i].value, cs->h.hlc,
				    cs->h.origin, 0, nobody, err) != 0)
			return -1;
	}
	return 0;
}

/* apply_row for a row with no state here, which any causal length of 1 or
 * more makes fresh: it takes this change set's causal length and scope, and
 * every column it sends, written by it (with no clock to lose against,
 * merge_columns records no conflict). With only_new the state goes in only
 * when repl_row holds nothing for the key, so that a row can be tried as
 * new without reading repl_row first. 1: applied; 0: the row is known after
 * all, nothing was written; -1: error. */
static int apply_new_row(struct merging *m, const struct repl_table *t, const struct rowkey *k,
			 const struct cs_row *row, const struct changeset *cs, int only_new,
			 lm_err *err)
{
	struct row_state rs;
	struct row_values v;

	/* The state of t's columns only (the rest is never read): a full
	 * struct row_state is 6 kB, cleared for every new row. */
	memset(&rs, 0, offsetof(struct row_state, clocks));
	memset(rs.clocks.c, 0, (size_t)t->ncols * sizeof(rs.clocks.c[0]));
	rs.cl = row->cl;
	memcpy(rs.scope, cs->h.scope, strlen(cs->h.scope) + 1); /* both CS_SCOPE_MAX + 1 */
	rs.scope_hlc = cs->h.hlc;
	memcpy(rs.scope_origin, cs->h.origin, CS_KEY_LEN);
	if (merge_columns(m, t, k, row, cs, &rs.clocks, &v, err) != 0 ||
	    row_state_write(m->st, t, k, &rs, only_new, err) != 0)
		return -1;
	if (only_new && sqlite3_changes(m->st->db) == 0)
		return 0;
	if (row->cl % 2 == 0)
		return row_delete(m, t, k, err) == 0 ? 1 : -1;
	return row_ensure(m, t, k, cs->h.scope, &v, err) == 0 ? 1 : -1;
}

/* Apply one row: causal length first (an older incarnation loses whole, a
 * newer one starts afresh with no column written), then the scope register
 * (the write with the highest (hlc, origin) at the row's causal length sets
 * it, in any arrival order), then the columns. */
static int apply_row(struct merging *m, const struct repl_table *t, const struct rowkey *k,
		     const struct cs_row *row, const struct changeset *cs, lm_err *err)
{
	struct row_state rs;
	struct row_values v;
	int fresh, moved = 0;

	/* Most rows a catch-up brings are new here: trying one as new first
	 * spares reading repl_row. Later change sets mostly touch known rows,
	 * where the try would cost a lookup more; rows come in runs of either,
	 * so the last row decides. */
	if (!m->known_last && row->cl > 0) {
		int rc = apply_new_row(m, t, k, row, cs, 1, err);

		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	if (row_state_read(m->st, t, k, &rs, err) != 0)
		return -1;
	m->known_last = rs.found;
	if (!rs.found && row->cl > 0)
		return apply_new_row(m, t, k, row, cs, 0, err) < 0 ? -1 : 0;
	if (row->cl < rs.cl)
		return record_stale(m, t, k, row, cs, err);
	fresh = row->cl > rs.cl;
	if (fresh || rs.scope_hlc < cs->h.hlc ||
	    (rs.scope_hlc == cs->h.hlc && memcmp(rs.scope_origin, cs->h.origin, CS_KEY_LEN) < 0)) {
		moved = !fresh && strcmp(rs.scope, cs->h.scope) != 0;
		snprintf(rs.scope, sizeof(rs.scope), "%s", cs->h.scope);
		rs.scope_hlc = cs->h.hlc;
		memcpy(rs.scope_origin, cs->h.origin, CS_KEY_LEN);
	} else {
		moved = -1; /* the scope stays as it is */
	}
	if (fresh) {
		rs.cl = row->cl;
		memset(&rs.clocks, 0, sizeof(rs.clocks));
	}
	if (row->cl % 2 == 0) {
		if (moved >= 0 && row_state_write(m->st, t, k, &rs, 0, err) != 0)
			return -1;
		return fresh ? row_delete(m, t, k, err) : 0;
	}
	if (merge_columns(m, t, k, row, cs, &rs.clocks, &v, err) != 0)
		return -1;
	if (moved >= 0 || v.cols != 0) {
		if (row_state_write(m->st, t, k, &rs, 0, err) != 0)
			return -1;
	}
	if (fresh || moved > 0)
		return row_ensure(m, t, k, cs->h.scope, &v, err);
	return row_update(m, t, k, NULL, &v, err);
}

/* The registered table row names, or NULL when there is none (or on
 * error). A change set's rows mostly name one table, so the last one
 * found is tried first, by its name's bytes (wire names hold no NUL). */
static const struct repl_table *row_table(struct merging *m, const struct cs_row *row, lm_err *err)
{
	char name[CS_NAME_MAX + 1];
	const struct repl_table *t = m->last_table;

	if (t != NULL && row->table_len < sizeof(t->name) && t->name[row->table_len] == '\0' &&
	    memcmp(t->name, row->table, row->table_len) == 0)
		return t;
	/* A hub replicates none of the tables it relays, and its callers take
	 * any NULL as "relay it": asking the cache again, and formatting why
	 * not, cost a hub 3 % of a stream's CPU. */
	if (m->opt->relay && row->table_len == m->relay_absent_len &&
	    memcmp(m->relay_absent, row->table, row->table_len) == 0)
		return NULL;
	snprintf(name, sizeof(name), "%.*s", (int)row->table_len, row->table);
	t = table_cache_get(&m->tables, m->st, name, err);
	if (t != NULL) {
		m->last_table = t;
	} else if (m->opt->relay && row->table_len <= sizeof(m->relay_absent)) {
		memcpy(m->relay_absent, row->table, row->table_len);
		m->relay_absent_len = row->table_len;
	}
	return t;
}

static int merge_row(struct merging *m, const struct changeset *cs, const struct cs_row *row,
		     lm_err *err)
{
	const struct repl_table *t;
	struct rowkey k;
	int rc;

	t = row_table(m, row, err);
	/* check_policy let it through: a table a relay does not replicate. */
	if (t == NULL && m->opt->relay)
		return 0;
	if (t == NULL ||
	    rowkey_from_values(m->st, &k, row->table, row->table_len, row->pk, row->npk, err) != 0)
		return -1;
	rc = apply_row(m, t, &k, row, cs, err);
	rowkey_free(&k);
	if (t->policy == POLICY_ADMIN)
		m->members_changed = 1;
	return rc;
}

/* ---- checking --------------------------------------------------------- */

/* Every rule here depends only on the change set and on the registry, so
 * every site reaches the same verdict whatever else it has received. *need
 * is the role a governed scope asks of the origin: admin when a row is of an
 * admin-policy table (the member list), member otherwise. */
static int check_policy(struct merging *m, const struct changeset *cs, enum member_role *need,
			char *why, size_t cap)
{
	char hex[2 * CS_KEY_LEN + 1];
	const struct repl_table *t;
	size_t r, c;
	lm_err err;

	*need = ROLE_MEMBER;
	sodium_bin2hex(hex, sizeof(hex), cs->h.origin, CS_KEY_LEN);
	for (r = 0; r < cs->nrows; r++) {
		const struct cs_row *row = &cs->rows[r];

		t = row_table(m, row, &err);
		if (t == NULL && m->opt->relay)
			continue; /* a hub stores and forwards what it does not replicate */
		if (t == NULL)
			return snprintf(why, cap, "row %zu: table '%.*s' is not replicated here", r,
					(int)row->table_len, row->table),
			       -1;
		if ((int)row->npk != t->npk)
			return snprintf(why, cap, "row %zu: %s has a key of %d values, not %zu", r,
					t->name, t->npk, row->npk),
			       -1;
		for (c = 0; c < row->ncols; c++)
			if (col_index(t, &row->cols[c]) < 0) {
				const char *misplaced = col_misplaced(t, &row->cols[c]);

				if (misplaced)
					return snprintf(why, cap, "row %zu: cols names %s.%.*s, %s",
							r, t->name, (int)row->cols[c].name_len,
							row->cols[c].name, misplaced),
					       -1;
				return snprintf(why, cap, "row %zu: %s has no column '%.*s'", r,
						t->name, (int)row->cols[c].name_len,
						row->cols[c].name),
				       -1;
			}
		if (t->policy == POLICY_ADMIN &&
		    (row->pk[0].type != CS_TEXT || row->pk[0].len != strlen(cs->h.scope) ||
		     memcmp(row->pk[0].p, cs->h.scope, row->pk[0].len) != 0))
			return snprintf(why, cap,
					"row %zu: %s rows live in the scope their key names, and "
					"this one is in another",
					r, t->name),
			       -1;
		if (t->policy == POLICY_ADMIN)
			*need = ROLE_ADMIN;
		if (t->policy == POLICY_OWNER &&
		    (row->pk[0].type != CS_TEXT || row->pk[0].len != 2 * CS_KEY_LEN ||
		     memcmp(row->pk[0].p, hex, 2 * CS_KEY_LEN) != 0))
			return snprintf(why, cap,
					"row %zu: %s rows belong to the site named in their key, "
					"and this one is not the origin's",
					r, t->name),
			       -1;
	}
	return 0;
}

/* In a governed scope the origin needs the role need (check_policy), held
 * here. 0: it has it, or the scope is open; 1: not (yet), why says so. */
static int check_membership(struct merging *m, const struct changeset *cs, enum member_role need,
			    char *why, size_t cap, lm_err *err)
{
	char hex[2 * CS_KEY_LEN + 1], by[2 * CS_KEY_LEN + 1];
	struct member_removal rm;
	uint8_t root[CS_KEY_LEN];
	enum member_role role;
	int removed;

	if (!scope_root(cs->h.scope, root))
		return 0;
	if (member_role(m->st, cs->h.scope, cs->h.origin, &role, err) != 0)
		return -1;
	if (role >= need)
		return 0;
	sodium_bin2hex(hex, sizeof(hex), cs->h.origin, CS_KEY_LEN);
	/* Say so when the origin was removed: no grant is on its way. */
	removed = member_removal(m->st, cs->h.scope, cs->h.origin, &rm, err);
	if (removed < 0)
		return -1;
	sodium_bin2hex(by, sizeof(by), rm.by, CS_KEY_LEN);
	if (removed)
		snprintf(why, cap,
			 "%s: site %.16s... is no longer a member of this scope (removed by "
			 "%.16s...); held unless an administrator adds it again",
			 MEMBER_WAIT, hex, by);
	else
		snprintf(
		    why, cap,
		    "%s: site %.16s... is %s in this scope here, and writing this needs %s; held "
		    "until a grant arrives",
		    MEMBER_WAIT, hex, member_role_name(role), member_role_name(need));
	return 1;
}

/* ---- placing and authenticating -------------------------------------- */

/* Authenticate cs[i]: verify the run it starts, or itself alone. */
static int authenticate(struct merging *m, size_t i, const uint8_t head_hash[CS_HASH_LEN],
			char *why, size_t cap)
{
	const struct changeset *run[256];
	size_t j, len = 1;
	lm_err err;

	if (m->verified[i])
		return 0;
	run[0] = &m->cs[i];
	for (j = i + 1; j < m->n && len < 256; j++) {
		const struct changeset *a = run[len - 1], *b = &m->cs[j];

		if (b->body == NULL || memcmp(a->h.origin, b->h.origin, CS_KEY_LEN) != 0 ||
		    strcmp(a->h.scope, b->h.scope) != 0 || b->h.seq != a->h.seq + 1)
			break;
		run[len++] = b;
	}
	if (changeset_verify_run(run, len, head_hash, &err) == 0) {
		for (j = 0; j < len; j++)
			m->verified[i + j] = 1;
		return 0;
	}
	/* The run as a whole failed: judge this one on its own. */
	if (changeset_verify_run(run, 1, head_hash, &err) == 0)
		return m->verified[i] = 1, 0;
	snprintf(why, cap, "%s", err.msg);
	return -1;
}

/* Where cs sits against the log: 0 next, else the outcome is filled. */
static int place(struct merging *m, const struct changeset *cs, uint8_t head_hash[CS_HASH_LEN],
		 struct merge_outcome *o, lm_err *err)
{
	uint8_t held[CS_HASH_LEN];
	uint64_t head;
	int found;

	if (cslog_head(m->st, cs->h.origin, cs->h.scope, &head, head_hash, err) != 0)
		return -1;
	if (cs->h.seq == head + 1)
		return 0;
	if (cs->h.seq > head + 1)
		return outcome(o, MERGE_GAP, "holds up to %llu; %llu comes first",
			       (unsigned long long)head, (unsigned long long)head + 1),
		       1;
	found = cslog_find(m->st, cs->h.origin, cs->h.scope, cs->h.seq, NULL, held, err);
	if (found < 0)
		return -1;
	if (found && sodium_memcmp(held, cs->hash, CS_HASH_LEN) == 0)
		return outcome(o, MERGE_DUPLICATE, "already held"), 1;
	return outcome(o, MERGE_REJECTED,
		       "fork: another change set %llu of this origin and scope is already held; "
		       "the origin has forked its history",
		       (unsigned long long)cs->h.seq),
	       1;
}

/* Keep a change set aside with its reason: in `held` (dated ahead, retried
 * later) or in `quarantine` (breaks a write rule, never applied). */
static int set_aside(struct store *st, int quarantined, const struct changeset *cs,
		     const uint8_t *env, size_t len, const char *reason, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = store_stmt(st,
			  quarantined ? "INSERT OR REPLACE INTO quarantine(origin, scope, seq, "
					"envelope, reason) VALUES (?, ?, ?, ?, ?)"
				      : "INSERT OR REPLACE INTO held(origin, scope, seq, envelope, "
					"reason) VALUES (?, ?, ?, ?, ?)",
			  err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_blob(stmt, 1, cs->h.origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, cs->h.scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)cs->h.seq);
	sqlite3_bind_blob(stmt, 4, env, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	store_release(st, stmt);
	return rc == SQLITE_DONE ? 0 : lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
}

static int unhold(struct store *st, const struct changeset *cs, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = store_stmt(st, "DELETE FROM held WHERE origin = ? AND scope = ? AND seq = ?", err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_blob(stmt, 1, cs->h.origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, cs->h.scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)cs->h.seq);
	rc = sqlite3_step(stmt);
	store_release(st, stmt);
	return rc == SQLITE_DONE ? 0 : lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
}

/* Logged and counted like an applied one, so the origin's later change
 * sets still flow, but never applied. */
static int quarantine(struct merging *m, const struct changeset *cs, const uint8_t *env, size_t len,
		      struct merge_outcome *o, const char *why, lm_err *err)
{
	outcome(o, MERGE_QUARANTINED, "%s", why);
	if (set_aside(m->st, 1, cs, env, len, why, err) != 0)
		return -1;
	return cslog_append(m->st, &cs->h, cs->hash, env, len, err);
}

static int merge_one(struct merging *m, size_t i, const uint8_t *env, size_t len,
		     struct merge_outcome *o, lm_err *err)
{
	struct changeset *cs = &m->cs[i];
	uint8_t head_hash[CS_HASH_LEN];
	enum member_role need;
	char why[LM_ERR_MAX];
	size_t r;
	lm_err skew;
	int rc;

	memcpy(o->origin, cs->h.origin, CS_KEY_LEN);
	snprintf(o->scope, sizeof(o->scope), "%s", cs->h.scope);
	o->seq = cs->h.seq;
	/* Whatever becomes of it now, it is no longer held (set_aside puts it back). */
	if (unhold(m->st, cs, err) != 0)
		return -1;
	rc = place(m, cs, head_hash, o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (authenticate(m, i, head_hash, why, sizeof(why)) != 0)
		return outcome(o, MERGE_REJECTED, "%s", why);
	if (hlc_observe(&m->clock, cs->h.hlc, m->opt->now_ms, m->opt->max_skew_ms, &skew) != 0) {
		outcome(o, MERGE_HELD, "%s", skew.msg);
		return set_aside(m->st, 0, cs, env, len, skew.msg, err);
	}
	if (check_policy(m, cs, &need, why, sizeof(why)) != 0)
		return quarantine(m, cs, env, len, o, why, err);
	for (r = 0; r < m->nrefused; r++)
		if (memcmp(m->refused[r].hash, cs->hash, CS_HASH_LEN) == 0)
			return quarantine(m, cs, env, len, o, m->refused[r].why, err);
	rc = check_membership(m, cs, need, why, sizeof(why), err);
	if (rc != 0) {
		if (rc < 0)
			return -1;
		outcome(o, MERGE_HELD, "%s", why);
		return set_aside(m->st, 0, cs, env, len, why, err);
	}
	/* A row the table's own constraints refuse (a CHECK, NOT NULL) fails
	 * the attempt; merge_batch then runs the batch again with this change
	 * set quarantined, instead of failing it at every retry. (A savepoint
	 * per change set would cost a copy of every page it touches.) */
	for (r = 0; r < cs->nrows; r++) {
		if (merge_row(m, cs, &cs->rows[r], err) == 0)
			continue;
		if ((sqlite3_errcode(m->st->db) & 0xff) == SQLITE_CONSTRAINT && !m->hit->set) {
			memcpy(m->hit->hash, cs->hash, CS_HASH_LEN);
			snprintf(m->hit->why, sizeof(m->hit->why), "row %zu: %s", r, err->msg);
			m->hit->set = 1;
		}
		return -1;
	}
	outcome(o, MERGE_APPLIED, "%s", "");
	return cslog_append(m->st, &cs->h, cs->hash, env, len, err);
}

static void release(struct merging *m)
{
	size_t i;

	for (i = 0; m->cs && i < m->n; i++)
		if (m->cs[i].body)
			changeset_free(&m->cs[i]);
	free(m->cs);
	free(m->verified);
	table_cache_free(&m->tables);
	for (i = 0; i < sizeof(m->memo) / sizeof(m->memo[0]); i++)
		free(m->memo[i].sql);
}

static int merge_all(struct merging *m, const uint8_t *const *envelopes, const size_t *lens,
		     struct merge_outcome *out, lm_err *err)
{
	size_t i;
	lm_err bad;

	for (i = 0; i < m->n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		if (changeset_decode(envelopes[i], lens[i], &m->cs[i], &bad) != 0) {
			memset(&m->cs[i], 0, sizeof(m->cs[i]));
			outcome(&out[i], MERGE_REJECTED, "%s", bad.msg);
		}
	}
	for (i = 0; i < m->n; i++)
		if (m->cs[i].body && merge_one(m, i, envelopes[i], lens[i], &out[i], err) != 0)
			return -1;
	return 0;
}

/* *sealed: how many change sets of this site's own were made. */
static int seal_first(struct store *st, const struct merge_options *opt, int *sealed, lm_err *err)
{
	int pending = seal_has_pending(st, err);

	*sealed = 0;
	if (pending <= 0)
		return pending;
	if (opt->seal == NULL)
		return lm_errf(err, "local changes wait to be sealed; seal them before merging");
	return seal_pending_locked(st, opt->seal, opt->now_ms, sealed, err);
}

/* Held change sets, loaded whole: there are few, and they are small. */
struct held_list {
	uint8_t **env;
	size_t *len;
	size_t n;
};

static void held_free(struct held_list *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->env[i]);
	free(h->env);
	free(h->len);
}

static int held_load(struct store *st, int waiting, struct held_list *h, lm_err *err)
{
	sqlite3_stmt *stmt;
	size_t cap = 0;
	int rc;

	memset(h, 0, sizeof(*h));
	if (sqlite3_prepare_v2(st->db,
			       waiting ? "SELECT envelope FROM held WHERE reason GLOB '" MEMBER_WAIT
					 "*' ORDER BY origin, scope, seq"
				       : "SELECT envelope FROM held ORDER BY origin, scope, seq",
			       -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(stmt, 0);

		if (h->n == cap) {
			void *e, *l;

			cap = cap ? 2 * cap : 8;
			e = realloc(h->env, cap * sizeof(*h->env));
			if (e != NULL)
				h->env = e;
			l = realloc(h->len, cap * sizeof(*h->len));
			if (l != NULL)
				h->len = l;
			if (e == NULL || l == NULL)
				break;
		}
		h->env[h->n] = malloc(len ? len : 1);
		if (h->env[h->n] == NULL)
			break;
		memcpy(h->env[h->n], sqlite3_column_blob(stmt, 0), len);
		h->len[h->n++] = len;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		held_free(h);
		return lm_errf(err, "%s: reading held change sets failed", st->path);
	}
	return 0;
}

/* Change sets held for want of a role, tried again in the same transaction
 * once the member list has changed: the grant may have come in this batch.
 * A grant let in may let in another, hence the rounds. */
static int retry_waiting(struct merging *m, lm_err *err)
{
	int round, rc = 0;

	for (round = 0; rc == 0 && round < 16 && m->members_changed; round++) {
		struct merge_outcome *out = NULL;
		struct held_list h;
		struct merging sub;

		m->members_changed = 0;
		if (held_load(m->st, 1, &h, err) != 0)
			return -1;
		memset(&sub, 0, sizeof(sub));
		sub.st = m->st;
		sub.opt = m->opt;
		sub.clock = m->clock;
		sub.refused = m->refused;
		sub.nrefused = m->nrefused;
		sub.hit = m->hit;
		sub.quiet = m->quiet;
		sub.n = h.n;
		sub.cs = calloc(h.n ? h.n : 1, sizeof(*sub.cs));
		sub.verified = calloc(h.n ? h.n : 1, sizeof(*sub.verified));
		out = calloc(h.n ? h.n : 1, sizeof(*out));
		if (sub.cs == NULL || sub.verified == NULL || out == NULL)
			rc = lm_errf(err, "out of memory retrying held change sets");
		else
			rc = merge_all(&sub, (const uint8_t *const *)h.env, h.len, out, err);
		m->clock = sub.clock;
		m->members_changed = sub.members_changed;
		release(&sub);
		free(out);
		held_free(&h);
	}
	return rc;
}

static size_t batch_bytes(const size_t *lens, size_t n)
{
	size_t i, sum = 0;

	for (i = 0; i < n; i++)
		sum += lens[i];
	return sum;
}

/* A large merge dirties about twice its envelopes' bytes of pages (the
 * rows, repl_row and their indexes), all held until its commit. With
 * SQLite's default 2 MB page cache they spill to the WAL and are read back
 * as the indexes are written again further on: merging 100,000 rows in one
 * transaction (68 MB of envelopes) ran about 7 % faster with a cache that
 * holds them. So for the transaction the cache may grow to that size, up
 * to MERGE_CACHE_MAX_KIB, and is set back after it (SQLite then frees the
 * pages beyond the old size). *saved is the size to restore, or 0 when the
 * cache was left as it was. */
#define MERGE_CACHE_MIN_KIB 2048 /* about SQLite's default */
#define MERGE_CACHE_MAX_KIB (256 * 1024)

static int cache_grow(struct store *st, size_t bytes, int64_t *saved, lm_err *err)
{
	int64_t now, page, kib, want = (int64_t)(bytes / 1024) * 2;
	char sql[64];

	*saved = 0;
	if (want <= MERGE_CACHE_MIN_KIB)
		return 0; /* a small merge: SQLite's default will do */
	if (want > MERGE_CACHE_MAX_KIB)
		want = MERGE_CACHE_MAX_KIB;
	if (store_pragma_fresh(st, "PRAGMA cache_size", &now, err) != 0 ||
	    store_pragma_fresh(st, "PRAGMA page_size", &page, err) != 0)
		return -1;
	/* Negative: KiB; positive: pages. */
	kib = now < 0 ? -now : now * (page / 1024);
	if (now == 0 || kib >= want)
		return 0;
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%lld", (long long)want);
	if (store_exec(st, sql, err) != 0)
		return -1;
	*saved = now;
	return 0;
}

static int cache_restore(struct store *st, int64_t saved, lm_err *err)
{
	char sql[64];

	if (saved == 0)
		return 0;
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = %lld", (long long)saved);
	return store_exec(st, sql, err);
}

static int attempt(struct store *st, const uint8_t *const *envelopes, const size_t *lens, size_t n,
		   const struct merge_options *opt, struct merge_outcome *out,
		   const struct refusal *refused, size_t nrefused, struct refusal *hit, lm_err *err)
{
	struct merging m;
	size_t bytes = batch_bytes(lens, n);
	int64_t cache = 0;
	int rc, sealed = 0;

	memset(&m, 0, sizeof(m));
	m.st = st;
	m.opt = opt;
	m.n = n;
	m.refused = refused;
	m.nrefused = nrefused;
	m.hit = hit;
	m.cs = calloc(n ? n : 1, sizeof(*m.cs));
	m.verified = calloc(n ? n : 1, sizeof(*m.verified));
	if (m.cs == NULL || m.verified == NULL) {
		release(&m);
		return lm_errf(err, "out of memory merging %zu change sets", n);
	}
	rc = cache_grow(st, bytes, &cache, err);
	if (rc == 0 && opt->unsynced)
		rc = store_unsynced_begin(st, err);
	if (rc == 0)
		rc = store_run(st, "BEGIN IMMEDIATE", err);
	if (rc == 0)
		rc = seal_first(st, opt, &sealed, err);
	if (rc == 0)
		rc = store_run(st, "INSERT INTO repl_applying VALUES (1)", err);
	if (rc == 0)
		rc = mergehook_quiet_begin(st, bytes, &m.quiet, err);
	if (rc == 0)
		rc = clock_load(st, &m.clock, err);
	if (rc == 0)
		rc = merge_all(&m, envelopes, lens, out, err);
	if (rc == 0)
		rc = retry_waiting(&m, err);
	if (rc == 0)
		rc = clock_save(st, &m.clock, err);
	if (rc == 0)
		rc = store_run(st, "DELETE FROM repl_applying", err);
	if (rc == 0)
		rc = store_run(st, "COMMIT", err);
	if (rc != 0)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	if (opt->unsynced) {
		lm_err back;

		/* Change sets of this site's own that were sealed first may not
		 * wait: once they leave, sealing them again after a power failure
		 * would make other bytes under the same sequence numbers, a fork. */
		if (store_unsynced_end(st, rc == 0, &back) != 0 ||
		    (rc == 0 && sealed > 0 && store_sync(st, &back) != 0)) {
			if (rc == 0)
				*err = back;
			rc = -1;
		}
	}
	if (cache != 0) {
		lm_err back;

		if (cache_restore(st, cache, &back) != 0 && rc == 0) {
			*err = back;
			rc = -1;
		}
	}
	if (m.quiet) {
		lm_err on;

		/* Local writes on this connection must be captured again. */
		if (mergehook_quiet_end(st, &on) != 0 && rc == 0) {
			*err = on;
			rc = -1;
		}
	}
	release(&m);
	return rc;
}

int merge_batch(struct store *st, const uint8_t *const *envelopes, const size_t *lens, size_t n,
		const struct merge_options *opt, struct merge_outcome *out, lm_err *err)
{
	struct refusal *refused = NULL, hit, *grown;
	size_t nrefused = 0;
	int rc;

	/* Each failed attempt names a change set (of the batch or a held one
	 * retried with it) not refused before, so this ends. */
	for (;;) {
		size_t i;

		memset(&hit, 0, sizeof(hit));
		rc = attempt(st, envelopes, lens, n, opt, out, refused, nrefused, &hit, err);
		for (i = 0; hit.set && i < nrefused; i++)
			if (memcmp(refused[i].hash, hit.hash, CS_HASH_LEN) == 0)
				hit.set = 0; /* no progress: give up with the error */
		if (rc == 0 || !hit.set)
			break;
		grown = realloc(refused, (nrefused + 1) * sizeof(*refused));
		if (grown == NULL) {
			rc = lm_errf(err, "out of memory merging %zu change sets", n);
			break;
		}
		refused = grown;
		refused[nrefused++] = hit;
	}
	free(refused);
	return rc;
}

int merge_retry_held(struct store *st, const struct merge_options *opt, int *applied, lm_err *err)
{
	struct held_list h;
	struct merge_outcome o;
	size_t i;
	int rc = 0;

	*applied = 0;
	if (held_load(st, 0, &h, err) != 0)
		return -1;
	/* In (origin, scope, seq) order, so each one finds its predecessor in. */
	for (i = 0; rc == 0 && i < h.n; i++) {
		const uint8_t *env = h.env[i];

		rc = merge_batch(st, &env, &h.len[i], 1, opt, &o, err);
		*applied += rc == 0 && o.result == MERGE_APPLIED;
	}
	held_free(&h);
	return rc;
}
