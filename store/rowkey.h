/* SPDX-License-Identifier: MIT */
/* Row keys and the small SQL helpers sealing and merging share. Internal to
 * store/.
 *
 * A replicated row is named by its table and its key: the primary key
 * values, which travel as a msgpack array and are stored in repl_row
 * and repl_capture as json_array() of the values (what the
 * capture triggers compute). Both forms are kept here side by side.
 */
#ifndef LMSYNC_STORE_ROWKEY_H
#define LMSYNC_STORE_ROWKEY_H

#include "proto/changeset.h"
#include "store/registry.h"
#include "store/store.h"

#define ROWKEY_MAX 8

struct rowkey {
	char table[64];
	char *json;			  /* malloc'd */
	sqlite3_value *owned[ROWKEY_MAX]; /* values read from json, if any */
	struct cs_value values[ROWKEY_MAX];
	size_t n;
};

/* From the stored form (the values are read out of the JSON). */
int rowkey_from_json(struct store *st, struct rowkey *k, const char *table, const char *json,
		     lm_err *err);
/* From wire values (they must outlive k); computes the stored form. */
int rowkey_from_values(struct store *st, struct rowkey *k, const char *table, size_t table_len,
		       const struct cs_value *pk, size_t n, lm_err *err);
void rowkey_free(struct rowkey *k);

/* Bind k's values as ?first, ?first+1, ... */
void rowkey_bind(sqlite3_stmt *stmt, int first, const struct rowkey *k);
void cs_value_bind(sqlite3_stmt *stmt, int index, const struct cs_value *v);

/* SELECT the columns marked in ship[] (indexes into t->cols) of the row; hand
 * *stmt back with store_release. */
int rowkey_select(struct store *st, const struct repl_table *t, const struct rowkey *k,
		  const int *ship, sqlite3_stmt **stmt, lm_err *err);
/* The same statement, unbound, for the caller to keep: bind the key with
 * rowkey_bind(stmt, 1, k) for each row, sqlite3_finalize it at the end. */
int rowkey_select_prepare(struct store *st, const struct repl_table *t, const int *ship,
			  sqlite3_stmt **stmt, lm_err *err);

/* The value of result column i as a cs_value (valid until the next step). */
void rowkey_column_value(sqlite3_stmt *stmt, int i, struct cs_value *v);

/* The base of a local write of cols at causal length cl, given the row's
 * clocks before it (old, old_len bytes; NULL and 0 for none): for each
 * column the clock it has there at cl, or none held. *any: some base held. */
int rowkey_bases(struct store *st, const struct rowkey *k, const void *old, size_t old_len,
		 uint64_t cl, const struct cs_col *cols, size_t ncols, struct cs_base *bases,
		 int *any, lm_err *err);
/* The clocks of the row after (hlc, origin) wrote cols at causal length cl
 * over bases (NULL: none held), given its clocks before (old, old_len), into
 * blob (ROWCLOCK_BLOB_MAX bytes), for a caller that stores them later. */
int rowkey_clocks_after(struct store *st, const struct rowkey *k, const void *old, size_t old_len,
			uint64_t cl, const struct cs_col *cols, const struct cs_base *bases,
			size_t ncols, uint64_t hlc, const uint8_t origin[CS_KEY_LEN], uint8_t *blob,
			size_t *len, lm_err *err);

/* Registered table descriptions, loaded once per seal or merge, and the
 * names asked for that are not registered (a hub relays rows of tables it
 * does not have, and asks once per row). */
struct table_cache {
	struct repl_table *t[32];
	int n;
	char absent[8][64];
	int nabsent;
};

const struct repl_table *table_cache_get(struct table_cache *c, struct store *st, const char *table,
					 lm_err *err);
void table_cache_free(struct table_cache *c);

#endif
