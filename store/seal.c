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
#include "store/rowclock.h"
#include "store/rowkey.h"

#define SELECT_SLOTS 16

/* A prepared SELECT of some columns of a table, by the set of columns:
 * every inserted row of a table ships the same ones, so sealing prepares
 * it once, not once per row. */
struct select_slot {
	const struct repl_table *t;
	uint64_t mask; /* bit i: t->cols[i] */
	sqlite3_stmt *stmt;
};

/* Bytes of pending stamps after which they are written out early. */
#ifndef STAMPS_MAX
#define STAMPS_MAX (4u << 20)
#endif

/* A row's column clocks, to be recorded after the change sets are written.
 * Sealing goes scope by scope, so recording each row as it is sealed would
 * sweep repl_row once per scope; sorted by key, the stamps sweep it once. */
struct stamp {
	const char *table; /* a name in the table cache */
	uint64_t hlc;
	int scope_too;
	size_t clocks_len;
	uint8_t *clocks; /* after pk */
	char pk[];	 /* NUL-terminated */
};

struct stamps {
	struct stamp **v;
	size_t n, cap, bytes;
};

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
	struct select_slot selects[SELECT_SLOTS];
	unsigned next_slot; /* the slot to reuse when all are taken */
	struct stamps stamps;
};

static int stamp_order(const void *a, const void *b)
{
	const struct stamp *x = *(const struct stamp *const *)a;
	const struct stamp *y = *(const struct stamp *const *)b;
	int c = strcmp(x->table, y->table);

	return c != 0 ? c : strcmp(x->pk, y->pk);
}

/* Record the pending stamps, in key order, and forget them. */
static int stamps_flush(struct sealing *s, lm_err *err)
{
	struct stamps *p = &s->stamps;
	size_t i;
	int rc = 0;

	if (p->n > 1) /* v is NULL when nothing was stamped */
		qsort(p->v, p->n, sizeof(*p->v), stamp_order);
	for (i = 0; i < p->n && rc == 0; i++)
		rc = rowkey_clocks_write(s->st, p->v[i]->table, p->v[i]->pk, p->v[i]->clocks,
					 p->v[i]->clocks_len, p->v[i]->hlc, s->h.origin,
					 p->v[i]->scope_too, err);
	for (i = 0; i < p->n; i++)
		free(p->v[i]);
	p->n = 0;
	p->bytes = 0;
	return rc;
}

static void stamps_free(struct stamps *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* Set aside the clocks of row k: (hlc, origin) wrote cols at cl over
 * bases, and over the clocks old it has now. */
static int stamp_row(struct sealing *s, const struct repl_table *t, const struct rowkey *k,
		     const void *old, size_t old_len, uint64_t cl, const struct cs_col *cols,
		     const struct cs_base *bases, size_t ncols, int scope_too, lm_err *err)
{
	struct stamps *p = &s->stamps;
	uint8_t blob[ROWCLOCK_BLOB_MAX];
	size_t len, pk_len = strlen(k->json);
	struct stamp *e, **grown;

	if (rowkey_clocks_after(s->st, k, old, old_len, cl, cols, bases, ncols, s->h.hlc,
				s->h.origin, blob, &len, err) != 0)
		return -1;
	if (p->n == p->cap) {
		grown = realloc(p->v, (p->cap ? 2 * p->cap : 1024) * sizeof(*p->v));
		if (grown == NULL)
			return lm_errf(err, "out of memory recording column clocks");
		p->v = grown;
		p->cap = p->cap ? 2 * p->cap : 1024;
	}
	e = malloc(sizeof(*e) + pk_len + 1 + len);
	if (e == NULL)
		return lm_errf(err, "out of memory recording column clocks");
	e->table = t->name;
	e->hlc = s->h.hlc;
	e->scope_too = scope_too;
	memcpy(e->pk, k->json, pk_len + 1);
	e->clocks = (uint8_t *)e->pk + pk_len + 1;
	e->clocks_len = len;
	memcpy(e->clocks, blob, len);
	p->v[p->n++] = e;
	p->bytes += sizeof(*e) + pk_len + 1 + len;
	return p->bytes > STAMPS_MAX ? stamps_flush(s, err) : 0;
}

static int begin_changeset(struct sealing *s, lm_err *err)
{
	uint64_t head;

	if (cslog_head(s->st, s->key->public_key, s->h.scope, &head, s->h.prev, err) != 0)
		return -1;
	memcpy(s->h.origin, s->key->public_key, CS_KEY_LEN);
	s->h.seq = head + 1;
	s->h.hlc = hlc_now(s->clock, s->now_ms);
	if (cs_writer_restart(&s->w, &s->h, err) != 0)
		return -1;
	s->open = 1;
	return 0;
}

static int finish_changeset(struct sealing *s, lm_err *err)
{
	const uint8_t *env;
	uint8_t hash[CS_HASH_LEN];
	size_t len;

	if (!s->open)
		return 0;
	s->open = 0;
	/* The writer and its buffer serve every change set of the seal. */
	if (cs_writer_seal_inplace(&s->w, s->key->secret_key, &env, &len, hash, err) != 0 ||
	    cslog_append(s->st, &s->h, hash, env, len, err) != 0)
		return -1;
	(*s->count)++;
	return 0;
}

/* The statement selecting the columns ship[] marks, kept for the seal. */
static sqlite3_stmt *select_stmt(struct sealing *s, const struct repl_table *t, const int *ship,
				 lm_err *err)
{
	struct select_slot *slot;
	uint64_t mask = 0;
	unsigned i;

	_Static_assert(REGISTRY_MAX_COLS <= 64, "one bit per column");
	for (i = 0; i < (unsigned)t->ncols; i++)
		if (ship[i])
			mask |= (uint64_t)1 << i;
	for (i = 0; i < SELECT_SLOTS; i++)
		if (s->selects[i].t == t && s->selects[i].mask == mask && s->selects[i].stmt)
			return s->selects[i].stmt;
	slot = &s->selects[s->next_slot++ % SELECT_SLOTS];
	sqlite3_finalize(slot->stmt);
	memset(slot, 0, sizeof(*slot));
	if (rowkey_select_prepare(s->st, t, ship, &slot->stmt, err) != 0)
		return NULL;
	slot->t = t;
	slot->mask = mask;
	return slot->stmt;
}

static void selects_free(struct sealing *s)
{
	unsigned i;

	for (i = 0; i < SELECT_SLOTS; i++)
		sqlite3_finalize(s->selects[i].stmt);
	memset(s->selects, 0, sizeof(s->selects));
}

/* The values of the row's columns to ship, read from the table now; valid
 * until *stmt is reset (the caller does, with sqlite3_reset). */
static int read_columns(struct sealing *s, const struct repl_table *t, struct rowkey *k, int whole,
			struct cs_col *cols, size_t *ncols, sqlite3_stmt **stmt, lm_err *err)
{
	int ship[REGISTRY_MAX_COLS] = {0}, i, n = 0, step;

	if (!whole && rowkey_captured_cols(s->st, t, k, ship, err) != 0)
		return -1;
	for (i = t->npk; i < t->ncols; i++)
		ship[i] = i != t->scope_col && (whole || ship[i]);
	*stmt = select_stmt(s, t, ship, err);
	if (*stmt == NULL)
		return -1;
	rowkey_bind(*stmt, 1, k);
	step = sqlite3_step(*stmt);
	if (step == SQLITE_DONE) {
		*ncols = 0; /* gone since: the delete that follows will say so */
		return 1;
	}
	if (step != SQLITE_ROW)
		return lm_errf(err, "%s: reading %s %s to seal it: %s", s->st->path, t->name,
			       k->json, sqlite3_errmsg(s->st->db));
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

/* One captured row; clocks (clocks_len bytes) are its repl_row.clocks. */
static int seal_row(struct sealing *s, const char *table, const char *key, int whole, uint64_t cl,
		    int here, const void *clocks, size_t clocks_len, lm_err *err)
{
	const struct repl_table *t = table_cache_get(&s->tables, s->st, table, err);
	struct cs_col cols[REGISTRY_MAX_COLS];
	struct cs_base bases[REGISTRY_MAX_COLS];
	sqlite3_stmt *stmt = NULL;
	struct cs_row row;
	struct rowkey k;
	size_t ncols = 0;
	int rc, any = 0;

	if (t == NULL || rowkey_from_json(s->st, &k, table, key, err) != 0)
		return -1;
	rc = cl % 2 ? read_columns(s, t, &k, whole, cols, &ncols, &stmt, err) : 0;
	/* Each column's base is its clock here before this write: the clocks
	 * read with the captures, which the stamp below replaces. */
	if (rc == 0 && ncols > 0)
		rc = rowkey_bases(s->st, &k, clocks, clocks_len, cl, cols, ncols, bases, &any, err);
	if (rc == 0) {
		memset(&row, 0, sizeof(row));
		row.table = t->name;
		row.table_len = strlen(t->name);
		row.pk = k.values;
		row.npk = k.n;
		row.cl = cl;
		row.cols = cols;
		row.ncols = ncols;
		row.bases = any ? bases : NULL;
		rc = add_row(s, &row, err);
		/* This write sets the row's scope register, deletes included, unless
		 * it is the delete left behind in a scope the row has moved out of.
		 * Each row is stamped once per seal (in the scope it is in), so the
		 * clocks read with the captures are still the row's. */
		if (rc == 0 && here)
			rc = stamp_row(s, t, &k, clocks, clocks_len, cl, cols, row.bases, ncols,
				       here, err);
	}
	if (stmt != NULL) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt); /* the key's text lives in k */
	}
	rowkey_free(&k);
	return rc < 0 ? -1 : 0;
}

/* Begin the scope whose rows come next; its change sets start lazily. */
static int next_scope(struct sealing *s, const char *scope, lm_err *err)
{
	if (finish_changeset(s, err) != 0)
		return -1;
	snprintf(s->h.scope, sizeof(s->h.scope), "%s", scope);
	return 0;
}

/* Every pending row, grouped by scope (in scope order), each scope's rows in
 * the order they were first captured: one pass over the captures. A row
 * appears once per scope it has captures in; `whole` says the row was
 * inserted or deleted (else only the captured columns are shipped). Blob
 * scopes (nothing writes one on purpose) match no scope and are dropped, as
 * they always were. */
#define PENDING_SQL                                                                                \
	"SELECT coalesce(c.scope, r.scope) AS s, c.tbl, c.pk, max(c.col IS NULL), r.cl, "          \
	"r.scope = coalesce(c.scope, r.scope), r.clocks "                                          \
	"FROM repl_capture AS c NOT INDEXED JOIN repl_row AS r ON r.tbl = c.tbl AND r.pk = c.pk "  \
	"WHERE typeof(s) = 'text' GROUP BY s, c.tbl, c.pk ORDER BY s, min(c.id)"

/* The rows with a capture up to ?1, every capture of theirs included (a row
 * that moved has captures in two scopes, which must be sealed together). */
#define CHOSEN_SQL "SELECT DISTINCT tbl, pk FROM repl_capture WHERE id <= ?1"

/* The same as PENDING_SQL, for the chosen rows only. */
#define PENDING_UPTO_SQL                                                                           \
	"WITH k AS (" CHOSEN_SQL ") "                                                              \
	"SELECT coalesce(c.scope, r.scope) AS s, c.tbl, c.pk, max(c.col IS NULL), r.cl, "          \
	"r.scope = coalesce(c.scope, r.scope), r.clocks "                                          \
	"FROM k JOIN repl_capture AS c INDEXED BY repl_capture_key ON c.tbl = k.tbl AND "          \
	"c.pk = k.pk JOIN repl_row AS r ON r.tbl = c.tbl AND r.pk = c.pk "                         \
	"WHERE typeof(s) = 'text' GROUP BY s, c.tbl, c.pk ORDER BY s, min(c.id)"

#define DELETE_UPTO_SQL                                                                            \
	"DELETE FROM repl_capture WHERE id IN (SELECT c.id FROM (" CHOSEN_SQL ") AS k JOIN "       \
	"repl_capture AS c ON c.tbl = k.tbl AND c.pk = k.pk)"

static int delete_upto(struct store *st, int64_t upto, lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(st, DELETE_UPTO_SQL, err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, upto);
	rc = sqlite3_step(stmt);
	store_release(st, stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: clearing sealed captures: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

/* Seal the rows captured up to capture id upto, or every row when upto is 0. */
static int seal_all(struct sealing *s, int64_t upto, lm_err *err)
{
	sqlite3_stmt *stmt;
	char *scope = NULL;
	size_t scope_len = 0;
	int rc = 0, step = SQLITE_DONE;

	stmt = store_stmt(s->st, upto ? PENDING_UPTO_SQL : PENDING_SQL, err);
	if (stmt == NULL)
		return -1;
	if (upto)
		sqlite3_bind_int64(stmt, 1, upto);
	while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *sc = (const char *)sqlite3_column_text(stmt, 0);
		size_t sc_len = (size_t)sqlite3_column_bytes(stmt, 0);
		uint64_t cl = (uint64_t)sqlite3_column_int64(stmt, 4);
		int here = sqlite3_column_int(stmt, 5);

		if (sc == NULL) {
			rc = lm_errf(err, "%s: listing the rows to seal: out of memory",
				     s->st->path);
			break;
		}
		/* Scopes are compared whole, as GROUP BY does, not as cut to fit
		 * a header. */
		if (scope == NULL || sc_len != scope_len || memcmp(sc, scope, sc_len) != 0) {
			free(scope);
			scope = malloc(sc_len + 1);
			if (scope == NULL) {
				rc = lm_errf(err, "out of memory");
				break;
			}
			memcpy(scope, sc, sc_len + 1);
			scope_len = sc_len;
			rc = next_scope(s, scope, err);
			if (rc != 0)
				break;
		}
		/* The row has moved to another scope since: here it is deleted. */
		if (!here && cl % 2 == 1)
			cl--;
		rc = seal_row(s, (const char *)sqlite3_column_text(stmt, 1),
			      (const char *)sqlite3_column_text(stmt, 2),
			      sqlite3_column_int(stmt, 3), cl, here, sqlite3_column_blob(stmt, 6),
			      (size_t)sqlite3_column_bytes(stmt, 6), err);
	}
	store_release(s->st, stmt);
	free(scope);
	/* A short list must not be sealed: the DELETE below clears every
	 * capture, those of the rows left out included. */
	if (rc == 0 && step != SQLITE_DONE)
		rc = lm_errf(err, "%s: listing the rows to seal: %s", s->st->path,
			     sqlite3_errstr(step));
	if (rc == 0)
		rc = finish_changeset(s, err);
	if (rc == 0)
		rc = stamps_flush(s, err);
	if (rc == 0)
		rc = upto ? delete_upto(s->st, upto, err)
			  : store_exec(s->st, "DELETE FROM repl_capture", err);
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

static int seal_upto(struct store *st, const struct seal_key *key, uint64_t now_ms, int64_t upto,
		     int *count, lm_err *err)
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
		rc = seal_all(&s, upto, err);
	cs_writer_free(&s.w);
	stamps_free(&s.stamps);
	selects_free(&s);
	table_cache_free(&s.tables);
	return rc;
}

int seal_pending_locked(struct store *st, const struct seal_key *key, uint64_t now_ms, int *count,
			lm_err *err)
{
	return seal_upto(st, key, now_ms, 0, count, err);
}

/* The id of the captures-th pending capture, or 0 when there are no more. */
static int chunk_end(struct store *st, int captures, int64_t *upto, lm_err *err)
{
	sqlite3_stmt *stmt =
	    store_stmt(st, "SELECT id FROM repl_capture ORDER BY id LIMIT 1 OFFSET ?", err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int(stmt, 1, captures - 1);
	rc = sqlite3_step(stmt);
	*upto = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

int seal_pending_some(struct store *st, const struct seal_key *key, uint64_t now_ms, int captures,
		      int *count, int *more, lm_err *err)
{
	int64_t upto = 0;
	int rc;

	*count = 0;
	*more = 0;
	if (store_exec(st, "BEGIN IMMEDIATE", err) != 0)
		return -1;
	rc = captures > 0 ? chunk_end(st, captures, &upto, err) : 0;
	if (rc == 0)
		rc = seal_upto(st, key, now_ms, upto, count, err);
	if (rc == 0 && upto) {
		rc = seal_has_pending(st, err);
		*more = rc > 0;
		rc = rc < 0 ? -1 : 0;
	}
	if (rc == 0)
		rc = store_exec(st, "COMMIT", err);
	if (rc != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		*count = 0;
		*more = 0;
	}
	return rc;
}

int seal_pending(struct store *st, const struct seal_key *key, uint64_t now_ms, int *count,
		 lm_err *err)
{
	int more;

	return seal_pending_some(st, key, now_ms, 0, count, &more, err);
}
