/* SPDX-License-Identifier: MIT */
/* Who last wrote each column of a replicated row. Internal to store/.
 *
 * The clocks of one row live in one blob in repl_row.clocks, so that
 * merging or sealing a row writes one metadata row, not one per column:
 *
 *   version  1 byte, 1
 *   cl       uvarint (LEB128): the causal length the clocks belong to; a
 *            row re-created since (repl_row.cl differs) has no clocks yet
 *   nclocks  1 byte, then nclocks times: hlc (8 bytes, big-endian) and
 *            origin (32 bytes); the distinct clocks, usually one, since an
 *            insert writes every column at once
 *   columns  to the end: name length (1 byte, 1 to 64), name, clock index
 *            (1 byte)
 *
 * Names, not column positions, so that adding or dropping a column keeps
 * the other columns' clocks.
 */
#ifndef LMSYNC_STORE_ROWCLOCK_H
#define LMSYNC_STORE_ROWCLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "proto/changeset.h"
#include "store/registry.h"

#define ROWCLOCK_VERSION 1
/* Room for every column of a table with its own clock. */
#define ROWCLOCK_BLOB_MAX (1 + 10 + 1 + REGISTRY_MAX_COLS * (8 + CS_KEY_LEN + 1 + 64 + 1))

struct rowclock_col {
	const char *name; /* not NUL-terminated: name_len bytes */
	size_t name_len;
	uint64_t hlc;
	const uint8_t *origin; /* CS_KEY_LEN bytes */
};

struct rowclock {
	uint64_t cl;
	size_t n;
	struct rowclock_col c[REGISTRY_MAX_COLS];
};

/* Decode blob (names and origins point into it). Returns 0, or -1 when
 * the blob is malformed, which only a damaged store can cause. */
int rowclock_decode(const void *blob, size_t len, struct rowclock *rc);

/* Encode rc into buf (ROWCLOCK_BLOB_MAX bytes suffice); returns the length,
 * 0 when it does not fit. */
size_t rowclock_encode(const struct rowclock *rc, uint8_t *buf, size_t cap);

/* A canonical text form for dumps and tests: "col hlc origin-hex" per
 * column, sorted by name, one per line; empty when the clocks belong to
 * another causal length than cl. malloc'd; NULL when out of memory or
 * malformed. SQL sees it as lm_clocks(cl, clocks) (store.c). */
char *rowclock_describe(const void *blob, size_t len, uint64_t cl);

#endif
