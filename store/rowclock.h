/* SPDX-License-Identifier: MIT */
/* Who last wrote each column of a replicated row, and what that write
 * replaced. Internal to store/.
 *
 * The clocks of one row live in one blob in repl_row.clocks, so that
 * merging or sealing a row writes one metadata row, not one per column:
 *
 *   version  1 byte, 2 (1: the same without bases, still read)
 *   cl       uvarint (LEB128): the causal length the clocks belong to; a
 *            row re-created since (repl_row.cl differs) has no clocks yet
 *   nclocks  1 byte, then nclocks times: hlc (8 bytes, big-endian) and
 *            origin (32 bytes); the distinct clocks, writers' and bases'
 *            alike, usually one, since an insert writes every column at
 *            once and has no bases
 *   columns  to the end: name length (1 byte, 1 to 64), name, clock index
 *            (1 byte), and in version 2 the base (1 byte): the index of
 *            its clock, 0xfe for none held, 0xff for unknown
 *
 * The base of a column is the clock of the value its last write replaced
 * at the writer (see proto/changeset.h): none when the writer held no
 * value, unknown when the write came in a change set of format 1, or
 * before the store kept bases (a version 1 blob).
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

#define ROWCLOCK_VERSION    2
#define ROWCLOCK_VERSION_V1 1	 /* without bases */
#define ROWCLOCK_BASE_NONE  0xfe /* the base byte for no value held */
#define ROWCLOCK_BASE_UNSET 0xff /* the base byte for unknown */
/* Room for every column of a table with a clock and a base of its own. */
#define ROWCLOCK_BLOB_MAX (1 + 10 + 1 + REGISTRY_MAX_COLS * (2 * (8 + CS_KEY_LEN) + 1 + 64 + 1 + 1))

enum rowclock_base {
	ROWCLOCK_UNKNOWN, /* zero: what a blob of version 1 and format 1 writes say */
	ROWCLOCK_NONE,	  /* the writer held no value for the column */
	ROWCLOCK_HELD,	  /* it held the value written at (base_hlc, base_origin) */
};

struct rowclock_col {
	const char *name; /* not NUL-terminated: name_len bytes */
	size_t name_len;
	uint64_t hlc;
	const uint8_t *origin; /* CS_KEY_LEN bytes */
	enum rowclock_base base;
	uint64_t base_hlc;
	const uint8_t *base_origin; /* CS_KEY_LEN bytes, for ROWCLOCK_HELD */
};

struct rowclock {
	uint64_t cl;
	size_t n;
	struct rowclock_col c[REGISTRY_MAX_COLS];
};

/* Decode blob of either version (names and origins point into it).
 * Returns 0, or -1 when the blob is malformed, which only a damaged store
 * can cause. */
int rowclock_decode(const void *blob, size_t len, struct rowclock *rc);

/* Encode rc into buf as version 2 (ROWCLOCK_BLOB_MAX bytes suffice);
 * returns the length, 0 when it does not fit. */
size_t rowclock_encode(const struct rowclock *rc, uint8_t *buf, size_t cap);

/* A canonical text form for dumps and tests: "col hlc origin-hex" per
 * column, sorted by name, one per line; empty when the clocks belong to
 * another causal length than cl. Bases are left out: the winners are what
 * sites must agree on. malloc'd; NULL when out of memory or malformed. SQL
 * sees it as lm_clocks(cl, clocks) (store.c). */
char *rowclock_describe(const void *blob, size_t len, uint64_t cl);

#endif
