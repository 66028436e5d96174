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
 * store_open registers it as the SQL function lm_lower(text), and the
 * order below as the collation lm_name, on every connection. Only
 * lmsync's own queries use them: a trigger, view or index that did would
 * fail in another SQLite client, which lacks them.
 */
#ifndef LMSYNC_STORE_TEXTFOLD_H
#define LMSYNC_STORE_TEXTFOLD_H

#include <stddef.h>

#include <sqlite3.h>

/* Fold len bytes of s into out (len bytes, no NUL added). */
void textfold_lower(const char *s, size_t len, char *out);

/* Norwegian alphabetical order of two names, case folded as above: the
 * letters a to z, then æ (and ä), ø (and ö), å; every other character
 * by its code point. Names that fold alike are ordered by their bytes, so
 * that the order is total. <0, 0 or >0, as memcmp. */
int textfold_compare(const char *a, size_t alen, const char *b, size_t blen);

/* Register lm_lower() and the collation lm_name (textfold_compare) on db:
 * SQLITE_OK or SQLite's error code. */
int textfold_register(sqlite3 *db);

#endif
