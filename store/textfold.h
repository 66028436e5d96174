/* SPDX-License-Identifier: MIT */
/* Lower case for comparing what a person types with a stored name.
 *
 * SQLite's lower() changes ASCII letters only, so "ørland kommune" did not
 * find "Ørland kommune", nor "ålesund" the municipality Ålesund. This
 * folds ASCII, Latin-1 (Æ Ø Å É Ü ...) and Latin Extended-A (the Sami
 * letters Č Đ Ŋ Š Ŧ Ž among them) to their lower case. Each such letter
 * keeps its length in UTF-8, so the result is as long as the text; other
 * bytes, and bytes that are not UTF-8, are copied as they are.
 *
 * store_open registers it as the SQL function lm_lower(text) on every
 * connection. Only lmsync's own queries use it: a trigger, view or index
 * that did would fail in another SQLite client, which lacks it.
 */
#ifndef LMSYNC_STORE_TEXTFOLD_H
#define LMSYNC_STORE_TEXTFOLD_H

#include <stddef.h>

#include <sqlite3.h>

/* Fold len bytes of s into out (len bytes, no NUL added). */
void textfold_lower(const char *s, size_t len, char *out);

/* Register lm_lower on db: SQLITE_OK or SQLite's error code. */
int textfold_register(sqlite3 *db);

#endif
