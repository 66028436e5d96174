/* SPDX-License-Identifier: MIT */
/* Rows held back: a replicated row whose text looks like a fødselsnummer
 * (store/fnr.h) is not sealed, whoever wrote it, since lmsync replicates no
 * personal data. The seal records it in repl_held instead and drops its
 * captures; the next write of the row that no longer holds one is sealed
 * with every column, since none of the held write was sent. Nothing here
 * is replicated. */
#ifndef LMSYNC_STORE_HELD_H
#define LMSYNC_STORE_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "proto/changeset.h"
#include "store/store.h"

/* 1 when any row is held back, 0 when none, -1 on error. */
int held_any(struct store *st, lm_err *err);
/* How many rows are held back. */
int held_count(struct store *st, int64_t *n, lm_err *err);
/* 1 when row (tbl, pk: the key as repl_capture holds it) is held back. */
int held_has(struct store *st, const char *tbl, const char *pk, lm_err *err);
/* Hold the row back, naming the column (not NUL-terminated) that holds it. */
int held_put(struct store *st, const char *tbl, const char *pk, const char *col, size_t col_len,
	     lm_err *err);
/* The row is sealed or deleted: no longer held. */
int held_drop(struct store *st, const char *tbl, const char *pk, lm_err *err);

/* The column of cols, or of the key values pk, whose text holds one; NULL
 * when none does. *len receives the name's length (a key column: "key"). */
const char *held_column(const struct cs_value *pk, size_t npk, const struct cs_col *cols,
			size_t ncols, size_t *len);

struct held_row {
	const char *table, *key, *column, *at;
};
typedef int (*held_row_cb)(const struct held_row *h, void *ctx);
/* Every row held back, oldest first. */
int held_list(struct store *st, held_row_cb cb, void *ctx, lm_err *err);

#endif
