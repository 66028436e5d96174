/* SPDX-License-Identifier: MIT */
/* Sealing captures into change sets; see seal.h. */
#include "store/seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/changeset.h"
#include "store/clock.h"
#include "store/cslog.h"
#include "store/held.h"
#include "store/pending.h"
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

/* Captures sealed at most in one pass; see seal_everything. */
#ifndef SEAL_BATCH
#define SEAL_BATCH 16384
#endif

/* Bytes of pending stamps after which they are written out early. */
#ifndef STAMPS_MAX
#define STAMPS_MAX (4u << 20)
#endif

/* A row's column clocks, to be recorded after the change sets are written.
 * Sealing goes scope by scope, so recording each row as it is sealed would
 * sweep repl_row once per scope; sorted by rowid, the stamps sweep it once,
 * and each finds its entry without a search of the key index. Every stamp
 * also sets the row's scope register: a row is stamped only in the scope
 * it is in. */
struct stamp {
	int64_t rowid; /* of the repl_row entry */
	uint64_t hlc;
	size_t at, len; /* the clocks blob in stamps.blobs */
};

struct stamps {
	struct stamp *v;
	size_t n, cap;
	uint8_t *blobs;
	size_t used, blobs_cap;
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
	int any_held; /* repl_held had rows when the batch began (held.h) */
};

static int stamp_order(const void *a, const void *b)
{
	const struct stamp *x = a, *y = b;

	return (x->rowid > y->rowid) - (x->rowid < y->rowid);
}

/* One stamp into repl_row with the statement UPDATE_CLOCKS_SQL. */
#define UPDATE_CLOCKS_SQL                                                                          \
	"UPDATE repl_row SET clocks = ?1, scope_hlc = ?2, scope_origin = ?3 WHERE rowid = ?4"

static int stamp_write(struct sealing *s, sqlite3_stmt *stmt, const struct stamp *e, lm_err *err)
{
	int step;

	sqlite3_bind_blob(stmt, 1, s->stamps.blobs + e->at, (int)e->len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)e->hlc);
	sqlite3_bind_blob(stmt, 3, s->key->public_key, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, e->rowid);
	step = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (step != SQLITE_DONE)
		return lm_errf(err, "%s: recording column clocks: %s", s->st->path,
			       sqlite3_errmsg(s->st->db));
	return 0;
}

/* Record the pending stamps, in rowid order, and forget them. */
static int stamps_flush(struct sealing *s, lm_err *err)
{
	struct stamps *p = &s->stamps;
	sqlite3_stmt *stmt;
	size_t i;
	int rc = 0;

	if (p->n == 0)
		return 0;
	qsort(p->v, p->n, sizeof(*p->v), stamp_order);
	stmt = store_stmt(s->st, UPDATE_CLOCKS_SQL, err);
	if (stmt == NULL)
		return -1;
	for (i = 0; i < p->n && rc == 0; i++)
		rc = stamp_write(s, stmt, &p->v[i], err);
	store_release(s->st, stmt);
	p->n = 0;
	p->used = 0;
	return rc;
}

static void stamps_free(struct stamps *p)
{
	free(p->v);
	free(p->blobs);
	memset(p, 0, sizeof(*p));
}

/* Room for one more stamp of at most ROWCLOCK_BLOB_MAX bytes. */
static int stamps_room(struct stamps *p, lm_err *err)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 1024;
		struct stamp *v = realloc(p->v, cap * sizeof(*v));

		if (v == NULL)
			return lm_errf(err, "out of memory recording column clocks");
		p->v = v;
		p->cap = cap;
	}
	if (p->blobs_cap - p->used < ROWCLOCK_BLOB_MAX) {
		size_t cap = p->blobs_cap ? 2 * p->blobs_cap : 64 * ROWCLOCK_BLOB_MAX;
		uint8_t *b = realloc(p->blobs, cap);

		if (b == NULL)
			return lm_errf(err, "out of memory recording column clocks");
		p->blobs = b;
		p->blobs_cap = cap;
	}
	return 0;
}

/* Set aside the clocks of row k (repl_row entry rowid): the change set
 * being written wrote cols at cl over bases, and over the clocks old it
 * has now. */
static int stamp_row(struct sealing *s, int64_t rowid, const struct rowkey *k, const void *old,
		     size_t old_len, uint64_t cl, const struct cs_col *cols,
		     const struct cs_base *bases, size_t ncols, lm_err *err)
{
	struct stamps *p = &s->stamps;
	struct stamp *e;
	size_t len;

	if (stamps_room(p, err) != 0 ||
	    rowkey_clocks_after(s->st, k, old, old_len, cl, cols, bases, ncols, s->h.hlc,
				s->h.origin, p->blobs + p->used, &len, err) != 0)
		return -1;
	e = &p->v[p->n++];
	e->rowid = rowid;
	e->hlc = s->h.hlc;
	e->at = p->used;
	e->len = len;
	p->used += len;
	return p->used + p->n * sizeof(*e) > STAMPS_MAX ? stamps_flush(s, err) : 0;
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

/* The values of the row's columns to ship, read from the table now: every
 * one when whole, else those with a capture (bit i of captured: t->cols[i]);
 * valid until *stmt is reset (the caller does, with sqlite3_reset). */
static int read_columns(struct sealing *s, const struct repl_table *t, struct rowkey *k, int whole,
			uint64_t captured, struct cs_col *cols, size_t *ncols, sqlite3_stmt **stmt,
			lm_err *err)
{
	int ship[REGISTRY_MAX_COLS] = {0}, i, n = 0, step;

	for (i = t->npk; i < t->ncols; i++)
		ship[i] = i != t->scope_col && (whole || ((captured >> i) & 1));
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

/* One captured row r in the scope of group g. */
static int seal_row(struct sealing *s, const struct pending_row *r, const struct pending_group *g,
		    lm_err *err)
{
	const struct repl_table *t =
	    r->t != NULL ? r->t : table_cache_get(&s->tables, s->st, r->tbl, err);
	struct cs_col cols[REGISTRY_MAX_COLS];
	struct cs_base bases[REGISTRY_MAX_COLS];
	sqlite3_stmt *stmt = NULL;
	struct cs_row row;
	struct rowkey k;
	size_t ncols = 0;
	uint64_t cl = r->cl;
	int rc, any = 0;
	/* This write sets the row's scope register, deletes included, unless
	 * it is the delete left behind in a scope the row has moved out of. */
	int here = r->scope != NULL && r->scope_len == g->scope_len &&
		   memcmp(r->scope, g->scope, g->scope_len) == 0;

	const char *fnr_col;
	size_t fnr_col_len;
	/* A row held back is sealed whole once it may go: none of it went. */
	int was_held = here && s->any_held ? held_has(s->st, r->tbl, r->pk, err) : 0;

	if (t == NULL || was_held < 0 || rowkey_from_json(s->st, &k, r->tbl, r->pk, err) != 0)
		return -1;
	if (!here && cl % 2 == 1)
		cl--; /* the row has moved to another scope since: here it is deleted */
	rc = cl % 2
		 ? read_columns(s, t, &k, g->whole || was_held, r->cols, cols, &ncols, &stmt, err)
		 : 0;
	/* Whoever wrote it: no fødselsnummer leaves the site (held.h). */
	fnr_col = rc == 0 && here && cl % 2 ? held_column(k.values, k.n, cols, ncols, &fnr_col_len)
					    : NULL;
	if (fnr_col != NULL) {
		rc = held_put(s->st, r->tbl, r->pk, fnr_col, fnr_col_len, err);
		if (rc == 0)
			s->st->held_rows++;
		goto done;
	}
	/* Each column's base is its clock here before this write: the clocks
	 * read with the captures, which the stamp below replaces. */
	if (rc == 0 && ncols > 0)
		rc = rowkey_bases(s->st, &k, r->clocks, r->clocks_len, cl, cols, ncols, bases, &any,
				  err);
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
		/* Each row is stamped once per seal (in the scope it is in), so the
		 * clocks read with the captures are still the row's. */
		if (rc == 0 && here)
			rc = stamp_row(s, r->rowid, &k, r->clocks, r->clocks_len, cl, cols,
				       row.bases, ncols, err);
		if (rc == 0 && was_held)
			rc = held_drop(s->st, r->tbl, r->pk, err);
	}
done:
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

/* Seal the rows with a capture after capture id after and up to upto (0:
 * no bound): each row once per scope it has captures in (pending.h), scope
 * by scope, each scope's rows in the order they were first captured there.
 * The captures past upto of those rows are deleted; the range is left to
 * the caller, who deletes it at once. */
static int seal_range(struct sealing *s, int64_t after, int64_t upto, lm_err *err)
{
	struct pending p;
	const struct pending_group *g, *prev = NULL;
	size_t i;
	int rc;

	rc = pending_load(&p, s->st, &s->tables, after, upto, err);
	if (rc == 0) {
		rc = held_any(s->st, err);
		s->any_held = rc > 0;
		rc = rc < 0 ? -1 : 0;
	}
	for (i = 0; rc == 0 && i < p.ngroups; i++, prev = g) {
		g = p.order[i];
		/* Scopes are compared whole, as grouping does, not as cut to fit a
		 * header. */
		if (prev == NULL || prev->scope_len != g->scope_len ||
		    memcmp(prev->scope, g->scope, g->scope_len) != 0)
			rc = next_scope(s, g->scope, err);
		if (rc == 0)
			rc = seal_row(s, &p.rows[g->row], g, err);
	}
	if (rc == 0)
		rc = finish_changeset(s, err);
	if (rc == 0)
		rc = stamps_flush(s, err);
	if (rc == 0)
		rc = pending_clear_later(&p, s->st, upto, err);
	pending_free(&p);
	return rc;
}

int seal_has_pending(struct store *st, lm_err *err)
{
	int64_t pending;

	if (store_pragma_int(st, "SELECT EXISTS (SELECT 1 FROM repl_capture)", &pending, err) != 0)
		return -1;
	return pending != 0;
}

/* The id of the captures-th capture after capture id after, or 0 when
 * fewer are pending. */
static int chunk_end(struct store *st, int64_t after, int captures, int64_t *upto, lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(
	    st, "SELECT id FROM repl_capture WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2", err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, after);
	sqlite3_bind_int(stmt, 2, captures - 1);
	rc = sqlite3_step(stmt);
	*upto = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

/* Seal the rows of the next captures captures after capture id after;
 * *upto receives the last one's id, 0 when that took every capture left.
 * *count grows by the change sets made. */
static int seal_batch(struct store *st, const struct seal_key *key, uint64_t now_ms, int64_t after,
		      int captures, int64_t *upto, int *count, lm_err *err)
{
	struct sealing s;
	struct hlc clock;
	int rc;

	memset(&s, 0, sizeof(s));
	s.st = st;
	s.key = key;
	s.clock = &clock;
	s.now_ms = now_ms;
	s.count = count;
	rc = chunk_end(st, after, captures, upto, err);
	if (rc == 0)
		rc = clock_load(st, &clock, err);
	if (rc == 0)
		rc = seal_range(&s, after, *upto, err);
	if (rc == 0)
		rc = clock_save(st, &clock, err);
	cs_writer_free(&s.w);
	stamps_free(&s.stamps);
	selects_free(&s);
	table_cache_free(&s.tables);
	return rc;
}

static int clear_upto(struct store *st, int64_t upto, lm_err *err)
{
	sqlite3_stmt *stmt;
	int step;

	if (upto == 0) /* everything: SQLite empties the table without a search */
		return store_exec(st, "DELETE FROM repl_capture", err);
	stmt = store_stmt(st, "DELETE FROM repl_capture WHERE id <= ?1", err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, upto);
	step = sqlite3_step(stmt);
	store_release(st, stmt);
	if (step != SQLITE_DONE)
		return lm_errf(err, "%s: clearing sealed captures: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

/* Seal every pending capture, a batch of SEAL_BATCH at a time: pending.h
 * holds a batch in memory, about 250 bytes a row (SQL's sort spilled to
 * disk instead). Each batch ends its change sets, as a chunk does, so only
 * a backlog larger than a batch seals differently from one pass. The
 * batches leave their captures for one DELETE at the end. */
static int seal_everything(struct store *st, const struct seal_key *key, uint64_t now_ms,
			   int *count, lm_err *err)
{
	int64_t after = INT64_MIN, upto;
	int rc;

	*count = 0;
	do {
		rc = seal_batch(st, key, now_ms, after, SEAL_BATCH, &upto, count, err);
		after = upto;
	} while (rc == 0 && upto != 0);
	return rc == 0 ? clear_upto(st, 0, err) : -1;
}

int seal_pending_locked(struct store *st, const struct seal_key *key, uint64_t now_ms, int *count,
			lm_err *err)
{
	return seal_everything(st, key, now_ms, count, err);
}

int seal_pending_some(struct store *st, const struct seal_key *key, uint64_t now_ms, int captures,
		      int *count, int *more, lm_err *err)
{
	int64_t upto = 0, held_before = st->held_rows;
	int rc;

	*count = 0;
	*more = 0;
	if (store_run(st, "BEGIN IMMEDIATE", err) != 0)
		return -1;
	if (captures > 0) {
		rc = seal_batch(st, key, now_ms, INT64_MIN, captures, &upto, count, err);
		if (rc == 0)
			rc = clear_upto(st, upto, err);
	} else {
		rc = seal_everything(st, key, now_ms, count, err);
	}
	if (rc == 0 && upto) {
		rc = seal_has_pending(st, err);
		*more = rc > 0;
		rc = rc < 0 ? -1 : 0;
	}
	if (rc == 0)
		rc = store_run(st, "COMMIT", err);
	if (rc != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		*count = 0;
		*more = 0;
		st->held_rows = held_before; /* held again by the next try */
	}
	return rc;
}

int seal_pending(struct store *st, const struct seal_key *key, uint64_t now_ms, int *count,
		 lm_err *err)
{
	int more;

	return seal_pending_some(st, key, now_ms, 0, count, &more, err);
}
