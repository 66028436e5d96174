/* SPDX-License-Identifier: MIT */
/* Small helpers every domain file uses. */
#ifndef LMSYNC_DOMAIN_COMMON_H
#define LMSYNC_DOMAIN_COMMON_H

#include <sqlite3.h>
#include <stddef.h>

/* The time now, UTC, as 2026-12-03T08:21:24Z: how updated_at and closed_at
 * are written everywhere. */
void dom_now(char out[32]);

/* Column i of stmt's row as text into out; NULL reads as "". */
void dom_col_text(sqlite3_stmt *stmt, int i, char *out, size_t cap);

/* arr (*cap elements of size bytes) with room for element n: arr itself,
 * or moved to twice the room (16 at first) when full; NULL when out of
 * memory, arr and *cap as they were. */
void *dom_grow(void *arr, int *cap, int n, size_t size);

#endif
