/* SPDX-License-Identifier: MIT */
/* The captures one seal takes, grouped the way sealing walks them. Internal
 * to store/ (seal.c).
 *
 * Sealing visits each row with pending captures once per scope it has
 * captures in: scopes in byte order, and within a scope the rows in the
 * order of their first capture there. For each such group it needs whether
 * the row was inserted or deleted there (a capture of the whole row), and
 * for the row: the columns any of its captures names (any scope), and its
 * repl_row entry (rowid, causal length, scope, clocks).
 *
 * SQL did this with GROUP BY and ORDER BY over the captures joined to
 * repl_row: two sorts of wide records, about a fifth of a seal's
 * instructions. Here one pass over the captures fills a hash table of rows
 * and the groups are sorted in C. Everything lives until pending_free, so a
 * seal's batch bounds the memory (about 250 bytes a row).
 *
 * Invariants:
 *  - The groups are exactly those GROUP BY coalesce(c.scope, r.scope),
 *    c.tbl, c.pk gave for scopes of type text, in the same order.
 *  - The rows are those with a capture in the range loaded, and every
 *    capture of theirs past it is taken too (a row that moved has captures
 *    in two scopes, which must be sealed together). None has a capture
 *    before the range when the ranges before were sealed the same way.
 */
#ifndef LMSYNC_STORE_PENDING_H
#define LMSYNC_STORE_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "store/rowkey.h"
#include "store/store.h"

struct pending_row {
	const char *tbl, *pk; /* NUL-terminated copies */
	size_t tbl_len, pk_len;
	uint32_t hash;
	int has_entry; /* a repl_row entry exists; else the row is never sealed */
	int64_t rowid; /* of the repl_row entry */
	uint64_t cl;
	const char *scope; /* repl_row.scope when it is text, else NULL */
	size_t scope_len;
	const uint8_t *clocks; /* repl_row.clocks, clocks_len bytes (NULL, 0: none) */
	size_t clocks_len;
	const struct repl_table *t; /* NULL when the table could not be loaded */
	uint64_t cols;		    /* bit i: some capture names t->cols[i] */
	int later;		    /* some capture of the row is past upto */
	uint32_t first_group;	    /* PENDING_NONE when the row has none */
};

struct pending_group {
	uint32_t row, next; /* next: the row's next group, or PENDING_NONE */
	const char *scope;  /* text, scope_len bytes */
	size_t scope_len;
	int64_t first; /* the smallest capture id */
	int whole;     /* some capture is of the whole row (insert or delete) */
};

#define PENDING_NONE UINT32_MAX

/* Owned by the seal that loads it; pending_free releases everything. */
struct pending {
	struct pending_row *rows;
	size_t nrows, rows_cap;
	struct pending_group *groups;
	size_t ngroups, groups_cap;
	const struct pending_group **order; /* the ngroups groups in sealing order */
	uint32_t *slots;		    /* open addressing: row index + 1, 0 for free */
	size_t nslots;
	struct pending_block *blocks; /* the strings and clocks, never moved */
};

/* Load the captures with an id after after and up to upto (0: no bound;
 * INT64_MIN for after: none), group and order them. tables caches the
 * registered tables. */
int pending_load(struct pending *p, struct store *st, struct table_cache *tables, int64_t after,
		 int64_t upto, lm_err *err);

/* Delete the captures pending_load took past upto (those of rows with a
 * capture in range); the caller deletes the range itself, at once. */
int pending_clear_later(const struct pending *p, struct store *st, int64_t upto, lm_err *err);

void pending_free(struct pending *p);

#endif
