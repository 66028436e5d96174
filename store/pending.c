/* SPDX-License-Identifier: MIT */
/* The captures of one seal, grouped in C; see pending.h. */
#include "store/pending.h"

#include <stdlib.h>
#include <string.h>

/* The captures after ?2 with their row's repl_row entry, when there is one
 * (a row written before its table was registered has none: its captures
 * are cleared, never sealed). Read in id order, no sorting. */
#define LIST_SQL                                                                                   \
	"SELECT c.id, c.tbl, c.pk, c.col, c.scope, r.rowid, r.cl, r.scope, r.clocks, 0 "           \
	"FROM repl_capture AS c NOT INDEXED LEFT JOIN repl_row AS r ON r.tbl = c.tbl AND "         \
	"r.pk = c.pk WHERE c.id > ?2"

/* The captures after ?2 up to ?1, and whether their row has captures past
 * ?1. */
#define LIST_UPTO_SQL                                                                              \
	"SELECT c.id, c.tbl, c.pk, c.col, c.scope, r.rowid, r.cl, r.scope, r.clocks, EXISTS "      \
	"(SELECT 1 FROM repl_capture AS x INDEXED BY repl_capture_key WHERE x.tbl = c.tbl AND "    \
	"x.pk = c.pk AND x.id > ?1) "                                                              \
	"FROM repl_capture AS c NOT INDEXED LEFT JOIN repl_row AS r ON r.tbl = c.tbl AND "         \
	"r.pk = c.pk WHERE c.id > ?2 AND c.id <= ?1"

/* The captures of one row past ?3 (rare: the row was written again after
 * the chunk's last capture). */
#define LATER_SQL                                                                                  \
	"SELECT id, col, scope FROM repl_capture INDEXED BY repl_capture_key WHERE tbl = ?1 AND "  \
	"pk = ?2 AND id > ?3"
#define LATER_DELETE_SQL "DELETE FROM repl_capture WHERE tbl = ?1 AND pk = ?2 AND id > ?3"

#define BLOCK_MIN (64u << 10)

struct pending_block {
	struct pending_block *next;
	size_t used, cap;
	unsigned char data[];
};

/* A copy of n bytes and a NUL that lives until pending_free. */
static void *keep(struct pending *p, const void *src, size_t n)
{
	struct pending_block *b = p->blocks;
	unsigned char *dst;

	if (b == NULL || b->cap - b->used < n + 1) {
		size_t cap = n + 1 > BLOCK_MIN ? n + 1 : BLOCK_MIN;

		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->next = p->blocks;
		b->used = 0;
		b->cap = cap;
		p->blocks = b;
	}
	dst = b->data + b->used;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
	b->used += n + 1;
	return dst;
}

static int grow_array(void **v, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? 2 * *cap : 1024;
	void *grown;

	if (n < *cap)
		return 0;
	if (want > UINT32_MAX - 1)
		return -1;
	grown = realloc(*v, want * size);
	if (grown == NULL)
		return -1;
	*v = grown;
	*cap = want;
	return 0;
}

/* FNV-1a over the table name, a separator and the key. */
static uint32_t row_hash(const char *tbl, size_t tbl_len, const char *pk, size_t pk_len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < tbl_len; i++)
		h = (h ^ (unsigned char)tbl[i]) * 16777619u;
	h = (h ^ 0xffu) * 16777619u;
	for (i = 0; i < pk_len; i++)
		h = (h ^ (unsigned char)pk[i]) * 16777619u;
	return h;
}

/* Double the slots and put every row back. */
static int rehash(struct pending *p)
{
	size_t n = p->nslots ? 2 * p->nslots : 4096, i, j;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (i = 0; i < p->nrows; i++) {
		for (j = p->rows[i].hash & (n - 1); slots[j] != 0; j = (j + 1) & (n - 1))
			;
		slots[j] = (uint32_t)i + 1;
	}
	free(p->slots);
	p->slots = slots;
	p->nslots = n;
	return 0;
}

/* The slot holding row (tbl, pk), or the free slot where it goes. */
static size_t find_slot(const struct pending *p, uint32_t h, const char *tbl, size_t tbl_len,
			const char *pk, size_t pk_len)
{
	size_t j = h & (p->nslots - 1);

	for (; p->slots[j] != 0; j = (j + 1) & (p->nslots - 1)) {
		const struct pending_row *r = &p->rows[p->slots[j] - 1];

		if (r->hash == h && r->pk_len == pk_len && r->tbl_len == tbl_len &&
		    memcmp(r->pk, pk, pk_len) == 0 && memcmp(r->tbl, tbl, tbl_len) == 0)
			break;
	}
	return j;
}

/* A capture's column name, NULL for a capture of the whole row; -1 when
 * SQLite ran out of memory converting it. */
static int column_name(sqlite3_stmt *stmt, int i, const char **col)
{
	*col = NULL;
	if (sqlite3_column_type(stmt, i) == SQLITE_NULL)
		return 0;
	*col = (const char *)sqlite3_column_text(stmt, i);
	return *col == NULL ? -1 : 0;
}

/* A text column's bytes, or NULL (with *len 0) when it is not text. */
static const char *column_text(sqlite3_stmt *stmt, int i, size_t *len)
{
	const char *text;

	*len = 0;
	if (sqlite3_column_type(stmt, i) != SQLITE_TEXT)
		return NULL;
	text = (const char *)sqlite3_column_text(stmt, i); /* then the length, as SQLite asks */
	*len = text != NULL ? (size_t)sqlite3_column_bytes(stmt, i) : 0;
	return text;
}

/* A new row from the listing's current result (columns 1, 2 and 5 to 8). */
static int add_row(struct pending *p, struct store *st, struct table_cache *tables,
		   sqlite3_stmt *stmt, uint32_t h, size_t slot, lm_err *err)
{
	struct pending_row *r;
	size_t tbl_len, pk_len, scope_len;
	const char *tbl = column_text(stmt, 1, &tbl_len), *pk = column_text(stmt, 2, &pk_len);
	const char *scope = column_text(stmt, 7, &scope_len);
	const void *clocks = sqlite3_column_blob(stmt, 8);
	lm_err ignored;

	if (grow_array((void **)&p->rows, &p->rows_cap, p->nrows, sizeof(*p->rows)) != 0)
		return lm_errf(err, "out of memory listing the rows to seal");
	r = &p->rows[p->nrows];
	memset(r, 0, sizeof(*r));
	r->hash = h;
	r->first_group = PENDING_NONE;
	r->tbl_len = tbl_len;
	r->pk_len = pk_len;
	r->tbl = keep(p, tbl, tbl_len);
	r->pk = keep(p, pk, pk_len);
	r->has_entry = sqlite3_column_type(stmt, 5) != SQLITE_NULL;
	r->rowid = sqlite3_column_int64(stmt, 5);
	r->cl = (uint64_t)sqlite3_column_int64(stmt, 6);
	r->scope_len = scope_len;
	r->scope = scope != NULL ? keep(p, scope, scope_len) : NULL;
	r->clocks_len = clocks != NULL ? (size_t)sqlite3_column_bytes(stmt, 8) : 0;
	r->clocks = clocks != NULL ? keep(p, clocks, r->clocks_len) : NULL;
	if (r->tbl == NULL || r->pk == NULL || (scope != NULL && r->scope == NULL) ||
	    (clocks != NULL && r->clocks == NULL))
		return lm_errf(err, "out of memory listing the rows to seal");
	/* A table that cannot be loaded fails the seal only if a row of it is
	 * sealed, as before; seal.c asks again there and reports why. */
	r->t = table_cache_get(tables, st, r->tbl, &ignored);
	p->slots[slot] = (uint32_t)p->nrows + 1;
	p->nrows++;
	return 0;
}

/* Columns tagged in repl_capture are at most 64 bytes of [A-Za-z0-9_]
 * (registry.c checks), so matching them against t->cols is exact. */
static void mark_column(struct pending_row *r, const char *col)
{
	int i;

	_Static_assert(REGISTRY_MAX_COLS <= 64, "one bit per column");
	for (i = r->t != NULL ? r->t->npk : 0; r->t != NULL && i < r->t->ncols; i++)
		if (strcmp(r->t->cols[i], col) == 0)
			r->cols |= (uint64_t)1 << i;
}

/* Count capture id of row ri: col (NULL: the whole row) in scope cs (the
 * capture's own, or NULL to take the row's). */
static int add_capture(struct pending *p, uint32_t ri, int64_t id, const char *col, int cs_null,
		       const char *cs, size_t cs_len, lm_err *err)
{
	struct pending_row *r = &p->rows[ri];
	struct pending_group *g;
	uint32_t gi;

	if (col != NULL)
		mark_column(r, col);
	if (!r->has_entry)
		return 0;
	if (cs_null) {
		cs = r->scope;
		cs_len = r->scope_len;
	}
	if (cs == NULL)
		return 0; /* a scope that is not text matches no scope: dropped */
	for (gi = r->first_group; gi != PENDING_NONE; gi = p->groups[gi].next)
		if (p->groups[gi].scope_len == cs_len &&
		    memcmp(p->groups[gi].scope, cs, cs_len) == 0)
			break;
	if (gi == PENDING_NONE) {
		if (grow_array((void **)&p->groups, &p->groups_cap, p->ngroups,
			       sizeof(*p->groups)) != 0)
			return lm_errf(err, "out of memory listing the rows to seal");
		gi = (uint32_t)p->ngroups++;
		g = &p->groups[gi];
		g->row = ri;
		g->next = r->first_group;
		g->scope = cs == r->scope ? r->scope : keep(p, cs, cs_len);
		g->scope_len = cs_len;
		g->first = id;
		g->whole = 0;
		r->first_group = gi;
		if (g->scope == NULL)
			return lm_errf(err, "out of memory listing the rows to seal");
	}
	g = &p->groups[gi];
	if (id < g->first)
		g->first = id;
	g->whole |= col == NULL;
	return 0;
}

/* The listing's current capture: find or add its row, then count it. */
static int take_listed(struct pending *p, struct store *st, struct table_cache *tables,
		       sqlite3_stmt *stmt, lm_err *err)
{
	size_t tbl_len, pk_len, cs_len, slot;
	const char *tbl = column_text(stmt, 1, &tbl_len), *pk = column_text(stmt, 2, &pk_len);
	const char *cs = column_text(stmt, 4, &cs_len), *col;
	uint32_t h;

	if (tbl == NULL || pk == NULL || column_name(stmt, 3, &col) != 0)
		return lm_errf(err,
			       "%s: listing the rows to seal: out of memory or a damaged capture",
			       st->path);
	if (2 * (p->nrows + 1) > p->nslots && rehash(p) != 0)
		return lm_errf(err, "out of memory listing the rows to seal");
	h = row_hash(tbl, tbl_len, pk, pk_len);
	slot = find_slot(p, h, tbl, tbl_len, pk, pk_len);
	if (p->slots[slot] == 0 && add_row(p, st, tables, stmt, h, slot, err) != 0)
		return -1;
	p->rows[p->slots[slot] - 1].later |= sqlite3_column_int(stmt, 9);
	return add_capture(p, p->slots[slot] - 1, sqlite3_column_int64(stmt, 0), col,
			   sqlite3_column_type(stmt, 4) == SQLITE_NULL, cs, cs_len, err);
}

static int list(struct pending *p, struct store *st, struct table_cache *tables, int64_t after,
		int64_t upto, lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(st, upto ? LIST_UPTO_SQL : LIST_SQL, err);
	int rc = 0, step = SQLITE_DONE;

	if (stmt == NULL)
		return -1;
	if (upto)
		sqlite3_bind_int64(stmt, 1, upto);
	sqlite3_bind_int64(stmt, 2, after);
	while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW)
		rc = take_listed(p, st, tables, stmt, err);
	store_release(st, stmt);
	/* A short list must not be sealed: the captures are cleared after. */
	if (rc == 0 && step != SQLITE_DONE)
		rc = lm_errf(err, "%s: listing the rows to seal: %s", st->path,
			     sqlite3_errstr(step));
	return rc;
}

/* Bind row r and upto to LATER_SQL or LATER_DELETE_SQL. */
static void bind_later(sqlite3_stmt *stmt, const struct pending_row *r, int64_t upto)
{
	sqlite3_bind_text(stmt, 1, r->tbl, (int)r->tbl_len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, r->pk, (int)r->pk_len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, upto);
}

/* The captures of row ri past upto. */
static int list_later(struct pending *p, struct store *st, uint32_t ri, int64_t upto, lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(st, LATER_SQL, err);
	size_t cs_len;
	int rc = 0, step = SQLITE_DONE;

	if (stmt == NULL)
		return -1;
	bind_later(stmt, &p->rows[ri], upto);
	while (rc == 0 && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *cs = column_text(stmt, 2, &cs_len), *col;

		if (column_name(stmt, 1, &col) != 0)
			rc = lm_errf(err, "%s: listing the rows to seal: out of memory", st->path);
		else
			rc = add_capture(p, ri, sqlite3_column_int64(stmt, 0), col,
					 sqlite3_column_type(stmt, 2) == SQLITE_NULL, cs, cs_len,
					 err);
	}
	store_release(st, stmt);
	if (rc == 0 && step != SQLITE_DONE)
		rc = lm_errf(err, "%s: listing the later captures of %s %s: %s", st->path,
			     p->rows[ri].tbl, p->rows[ri].pk, sqlite3_errstr(step));
	return rc;
}

static int group_order(const void *a, const void *b)
{
	const struct pending_group *x = *(const struct pending_group *const *)a;
	const struct pending_group *y = *(const struct pending_group *const *)b;
	size_t n = x->scope_len < y->scope_len ? x->scope_len : y->scope_len;
	int c = memcmp(x->scope, y->scope, n);

	if (c != 0)
		return c;
	if (x->scope_len != y->scope_len)
		return x->scope_len < y->scope_len ? -1 : 1;
	return (x->first > y->first) - (x->first < y->first);
}

int pending_load(struct pending *p, struct store *st, struct table_cache *tables, int64_t after,
		 int64_t upto, lm_err *err)
{
	size_t i, n;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = list(p, st, tables, after, upto, err);
	for (i = 0, n = p->nrows; rc == 0 && i < n; i++)
		if (p->rows[i].later)
			rc = list_later(p, st, (uint32_t)i, upto, err);
	if (rc == 0 && p->ngroups > 0) {
		p->order = malloc(p->ngroups * sizeof(*p->order));
		if (p->order == NULL)
			return lm_errf(err, "out of memory ordering the rows to seal");
		for (i = 0; i < p->ngroups; i++)
			p->order[i] = &p->groups[i];
		qsort(p->order, p->ngroups, sizeof(*p->order), group_order);
	}
	return rc;
}

/* The captures of row r past upto are gone with it. */
static int clear_later(struct store *st, const struct pending_row *r, int64_t upto, lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(st, LATER_DELETE_SQL, err);
	int step;

	if (stmt == NULL)
		return -1;
	bind_later(stmt, r, upto);
	step = sqlite3_step(stmt);
	store_release(st, stmt);
	if (step != SQLITE_DONE)
		return lm_errf(err, "%s: clearing the sealed captures of %s %s: %s", st->path,
			       r->tbl, r->pk, sqlite3_errmsg(st->db));
	return 0;
}

int pending_clear_later(const struct pending *p, struct store *st, int64_t upto, lm_err *err)
{
	size_t i;

	for (i = 0; i < p->nrows; i++)
		if (p->rows[i].later && clear_later(st, &p->rows[i], upto, err) != 0)
			return -1;
	return 0;
}

void pending_free(struct pending *p)
{
	struct pending_block *b, *next;

	for (b = p->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(p->rows);
	free(p->groups);
	free(p->order);
	free(p->slots);
	memset(p, 0, sizeof(*p));
}
