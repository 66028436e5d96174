/* SPDX-License-Identifier: MIT */
/* Row keys and shared SQL helpers; see rowkey.h. */
#include "store/rowkey.h"

#include "store/rowclock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int prepare(struct store *st, const char *sql, sqlite3_stmt **stmt, lm_err *err)
{
	*stmt = store_stmt(st, sql, err);
	return *stmt == NULL ? -1 : 0;
}

void cs_value_bind(sqlite3_stmt *stmt, int index, const struct cs_value *v)
{
	switch (v->type) {
	case CS_INT:
		sqlite3_bind_int64(stmt, index, v->i);
		break;
	case CS_REAL:
		sqlite3_bind_double(stmt, index, v->r);
		break;
	case CS_TEXT:
		sqlite3_bind_text(stmt, index, (const char *)v->p, (int)v->len, SQLITE_STATIC);
		break;
	case CS_BLOB:
		sqlite3_bind_blob(stmt, index, v->p, (int)v->len, SQLITE_STATIC);
		break;
	default:
		sqlite3_bind_null(stmt, index);
	}
}

void rowkey_bind(sqlite3_stmt *stmt, int first, const struct rowkey *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		cs_value_bind(stmt, first + (int)i, &k->values[i]);
}

static void value_from_sqlite(sqlite3_value *sv, struct cs_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_value_type(sv)) {
	case SQLITE_INTEGER:
		v->type = CS_INT;
		v->i = sqlite3_value_int64(sv);
		break;
	case SQLITE_FLOAT:
		v->type = CS_REAL;
		v->r = sqlite3_value_double(sv);
		break;
	case SQLITE_TEXT:
		v->type = CS_TEXT;
		v->p = sqlite3_value_text(sv);
		v->len = (size_t)sqlite3_value_bytes(sv);
		break;
	case SQLITE_BLOB:
		v->type = CS_BLOB;
		v->p = sqlite3_value_blob(sv);
		v->len = (size_t)sqlite3_value_bytes(sv);
		break;
	default:
		v->type = CS_NIL;
	}
}

void rowkey_column_value(sqlite3_stmt *stmt, int i, struct cs_value *v)
{
	value_from_sqlite(sqlite3_column_value(stmt, i), v);
}

/* The values of a key json_array() wrote, read in C when every value is in
 * a form that json_each would return unchanged: text without escapes
 * (no byte below 0x20, no '"' or '\\') and integers of at most 18 digits
 * without a leading zero. Text points into json. Returns 0 when it read
 * all of them, -1 for anything else: SQLite then reads the key. */
static int json_key_parse(const char *json, struct rowkey *k)
{
	const char *p = json, *start;
	size_t n = 0, digits;
	int64_t v;
	int neg;

	if (*p++ != '[')
		return -1;
	for (;;) {
		if (n == ROWKEY_MAX)
			return -1;
		if (*p == '"') {
			start = ++p;
			while ((unsigned char)*p >= 0x20 && *p != '"' && *p != '\\')
				p++;
			if (*p != '"')
				return -1;
			k->values[n].type = CS_TEXT;
			k->values[n].p = (const uint8_t *)start;
			k->values[n].len = (size_t)(p - start);
			p++;
		} else {
			neg = *p == '-';
			start = p += neg;
			for (v = 0; *p >= '0' && *p <= '9' && p - start < 18; p++)
				v = v * 10 + (*p - '0');
			digits = (size_t)(p - start);
			/* 19 digits or more could overflow: SQLite reads those. */
			if (digits == 0 || (*p >= '0' && *p <= '9') ||
			    (*start == '0' && (digits > 1 || neg)))
				return -1;
			k->values[n].type = CS_INT;
			k->values[n].i = neg ? -v : v;
		}
		n++;
		if (*p == ']' && p[1] == '\0')
			break;
		if (*p++ != ',')
			return -1;
	}
	k->n = n;
	return 0;
}

int rowkey_from_json(struct store *st, struct rowkey *k, const char *table, const char *json,
		     lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(k, 0, sizeof(*k));
	snprintf(k->table, sizeof(k->table), "%s", table);
	k->json = strdup(json);
	if (k->json == NULL)
		return lm_errf(err, "out of memory");
	if (json_key_parse(k->json, k) == 0)
		return 0;
	memset(k->values, 0, sizeof(k->values));
	k->n = 0;
	if (prepare(st, "SELECT value FROM json_each(?) ORDER BY key", &stmt, err) != 0) {
		rowkey_free(k);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && k->n < ROWKEY_MAX) {
		k->owned[k->n] = sqlite3_value_dup(sqlite3_column_value(stmt, 0));
		if (k->owned[k->n] == NULL)
			break;
		value_from_sqlite(k->owned[k->n], &k->values[k->n]);
		k->n++;
	}
	store_release(st, stmt);
	if (rc != SQLITE_DONE) {
		rowkey_free(k);
		return lm_errf(err, "%s: bad row key %s", st->path, json);
	}
	return 0;
}

/* json_array() of the values, as SQLite writes it, for the values whose
 * form leaves no doubt: integers, and text of printable ASCII without '"'
 * or '\\' (copied between quotes whatever the SQLite version). Returns
 * NULL for anything else (and when out of memory): SQLite forms those. */
static char *json_key_plain(const struct cs_value *v, size_t n)
{
	size_t i, j, len = 2;
	char *json, *p;

	for (i = 0; i < n; i++) {
		if (v[i].type == CS_INT) {
			len += 21;
		} else if (v[i].type == CS_TEXT) {
			for (j = 0; j < v[i].len; j++)
				if (v[i].p[j] < 0x20 || v[i].p[j] > 0x7e || v[i].p[j] == '"' ||
				    v[i].p[j] == '\\')
					return NULL;
			len += v[i].len + 2;
		} else {
			return NULL;
		}
		len++; /* the comma */
	}
	json = p = malloc(len + 1);
	if (json == NULL)
		return NULL;
	*p++ = '[';
	for (i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		if (v[i].type == CS_INT) {
			p += snprintf(p, 22, "%lld", (long long)v[i].i);
		} else {
			*p++ = '"';
			memcpy(p, v[i].p, v[i].len);
			p += v[i].len;
			*p++ = '"';
		}
	}
	*p++ = ']';
	*p = '\0';
	return json;
}

int rowkey_from_values(struct store *st, struct rowkey *k, const char *table, size_t table_len,
		       const struct cs_value *pk, size_t n, lm_err *err)
{
	static const char *const sql[ROWKEY_MAX + 1] = {
	    NULL,
	    "SELECT json_array(?1)",
	    "SELECT json_array(?1, ?2)",
	    "SELECT json_array(?1, ?2, ?3)",
	    "SELECT json_array(?1, ?2, ?3, ?4)",
	    "SELECT json_array(?1, ?2, ?3, ?4, ?5)",
	    "SELECT json_array(?1, ?2, ?3, ?4, ?5, ?6)",
	    "SELECT json_array(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	    "SELECT json_array(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	};
	sqlite3_stmt *stmt;
	int rc;

	memset(k, 0, sizeof(*k));
	if (n == 0 || n > ROWKEY_MAX || table_len >= sizeof(k->table))
		return lm_errf(err, "a row key has 1 to %d values", ROWKEY_MAX);
	memcpy(k->table, table, table_len);
	memcpy(k->values, pk, n * sizeof(*pk));
	k->n = n;
	k->json = json_key_plain(pk, n);
	if (k->json != NULL)
		return 0;
	if (prepare(st, sql[n], &stmt, err) != 0)
		return -1;
	rowkey_bind(stmt, 1, k);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		k->json = strdup((const char *)sqlite3_column_text(stmt, 0));
	store_release(st, stmt);
	if (k->json == NULL)
		return lm_errf(err, "%s: cannot form a row key: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

void rowkey_free(struct rowkey *k)
{
	size_t i;

	for (i = 0; i < ROWKEY_MAX; i++)
		sqlite3_value_free(k->owned[i]);
	free(k->json);
	memset(k, 0, sizeof(*k));
}

/* SELECT of the shipped columns of t, the key as ?1, ?2, ... */
static int select_sql(const struct repl_table *t, const int *ship, char *sql, size_t cap,
		      lm_err *err)
{
	size_t n = 0;
	int i, any = 0;

	n += (size_t)snprintf(sql + n, cap - n, "SELECT ");
	for (i = 0; i < t->ncols && n < cap; i++) {
		if (!ship[i])
			continue;
		n += (size_t)snprintf(sql + n, cap - n, "%s\"%s\"", any ? ", " : "", t->cols[i]);
		any = 1;
	}
	if (!any && n < cap)
		n += (size_t)snprintf(sql + n, cap - n, "1");
	if (n < cap)
		n += (size_t)snprintf(sql + n, cap - n, " FROM \"%s\" WHERE ", t->name);
	for (i = 0; i < t->npk && n < cap; i++)
		n += (size_t)snprintf(sql + n, cap - n, "%s\"%s\" = ?%d", i ? " AND " : "",
				      t->cols[i], i + 1);
	if (n >= cap)
		return lm_errf(err, "%s: query too long", t->name);
	return 0;
}

int rowkey_select(struct store *st, const struct repl_table *t, const struct rowkey *k,
		  const int *ship, sqlite3_stmt **stmt, lm_err *err)
{
	char sql[8192];

	if (select_sql(t, ship, sql, sizeof(sql), err) != 0 || prepare(st, sql, stmt, err) != 0)
		return -1;
	rowkey_bind(*stmt, 1, k);
	return 0;
}

int rowkey_select_prepare(struct store *st, const struct repl_table *t, const int *ship,
			  sqlite3_stmt **stmt, lm_err *err)
{
	char sql[8192];

	*stmt = NULL;
	if (select_sql(t, ship, sql, sizeof(sql), err) != 0)
		return -1;
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) !=
	    SQLITE_OK) {
		lm_errf(err, "%s: reading the columns of %s to seal: %s", st->path, t->name,
			sqlite3_errmsg(st->db));
		sqlite3_finalize(*stmt);
		*stmt = NULL;
		return -1;
	}
	return 0;
}

/* The row's clocks (old, old_len bytes) decoded, as belonging to cl; a
 * blob of another causal length reads as no clocks. */
static int clocks_decode(struct store *st, const struct rowkey *k, const void *old, size_t old_len,
			 uint64_t cl, struct rowclock *rc, lm_err *err)
{
	if (old_len > ROWCLOCK_BLOB_MAX)
		return lm_errf(err, "%s: reading the column clocks of %s %s: %s", st->path,
			       k->table, k->json, sqlite3_errstr(SQLITE_CORRUPT));
	if (rowclock_decode(old, old_len, rc) != 0)
		return lm_errf(err, "%s: the column clocks of %s %s are damaged", st->path,
			       k->table, k->json);
	if (rc->cl != cl) { /* another incarnation's clocks */
		rc->n = 0;
		rc->cl = cl;
	}
	return 0;
}

static size_t find_col(const struct rowclock *rc, const struct cs_col *col)
{
	size_t j;

	for (j = 0; j < rc->n; j++)
		if (rc->c[j].name_len == col->name_len &&
		    memcmp(rc->c[j].name, col->name, col->name_len) == 0)
			break;
	return j;
}

int rowkey_bases(struct store *st, const struct rowkey *k, const void *old, size_t old_len,
		 uint64_t cl, const struct cs_col *cols, size_t ncols, struct cs_base *bases,
		 int *any, lm_err *err)
{
	struct rowclock rc;
	size_t i, j;

	*any = 0;
	memset(bases, 0, ncols * sizeof(*bases));
	if (old_len == 0)
		return 0; /* a row new here: nothing held (every insert) */
	if (clocks_decode(st, k, old, old_len, cl, &rc, err) != 0)
		return -1;
	for (i = 0; i < ncols; i++) {
		j = find_col(&rc, &cols[i]);
		if (j == rc.n)
			continue;
		bases[i].held = 1;
		bases[i].hlc = rc.c[j].hlc;
		memcpy(bases[i].origin, rc.c[j].origin, CS_KEY_LEN);
		*any = 1;
	}
	return 0;
}

int rowkey_clocks_after(struct store *st, const struct rowkey *k, const void *old, size_t old_len,
			uint64_t cl, const struct cs_col *cols, const struct cs_base *bases,
			size_t ncols, uint64_t hlc, const uint8_t origin[CS_KEY_LEN], uint8_t *blob,
			size_t *len, lm_err *err)
{
	struct rowclock rc;
	size_t i, j;

	if (clocks_decode(st, k, old, old_len, cl, &rc, err) != 0)
		return -1;
	for (i = 0; i < ncols; i++) {
		j = find_col(&rc, &cols[i]);
		if (j == rc.n) {
			if (rc.n == REGISTRY_MAX_COLS)
				return lm_errf(err, "%s: more than %d columns", k->table,
					       REGISTRY_MAX_COLS);
			rc.n++;
			rc.c[j].name = cols[i].name;
			rc.c[j].name_len = cols[i].name_len;
		}
		rc.c[j].hlc = hlc;
		rc.c[j].origin = origin;
		/* Exactly what the change set says, so that every site keeps the
		 * same base for this write. */
		rc.c[j].base = bases != NULL && bases[i].held ? ROWCLOCK_HELD : ROWCLOCK_NONE;
		if (rc.c[j].base == ROWCLOCK_HELD) {
			rc.c[j].base_hlc = bases[i].hlc;
			rc.c[j].base_origin = bases[i].origin;
		}
	}
	*len = rowclock_encode(&rc, blob, ROWCLOCK_BLOB_MAX);
	if (*len == 0)
		return lm_errf(err, "%s: cannot encode the column clocks of %s", st->path,
			       k->table);
	return 0;
}

const struct repl_table *table_cache_get(struct table_cache *c, struct store *st, const char *table,
					 lm_err *err)
{
	struct repl_table *t;
	int i, rc;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->t[i]->name, table) == 0)
			return c->t[i];
	for (i = 0; i < c->nabsent; i++)
		if (strcmp(c->absent[i], table) == 0)
			goto absent;
	if (c->n == (int)(sizeof(c->t) / sizeof(c->t[0]))) {
		lm_errf(err, "more than %d replicated tables", c->n);
		return NULL;
	}
	t = malloc(sizeof(*t));
	if (t == NULL) {
		lm_errf(err, "out of memory");
		return NULL;
	}
	rc = registry_find(st, table, t, err);
	if (rc == 1) {
		c->t[c->n++] = t;
		return t;
	}
	free(t);
	if (rc < 0)
		return NULL;
	if (c->nabsent < (int)(sizeof(c->absent) / sizeof(c->absent[0])) &&
	    strlen(table) < sizeof(c->absent[0]))
		snprintf(c->absent[c->nabsent++], sizeof(c->absent[0]), "%s", table);
absent:
	lm_errf(err, "table '%s' is not replicated here", table);
	return NULL;
}

void table_cache_free(struct table_cache *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		free(c->t[i]);
	c->n = 0;
	c->nabsent = 0;
}
