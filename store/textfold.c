/* SPDX-License-Identifier: MIT */
/* Lower case beyond ASCII; see textfold.h. */
#include "store/textfold.h"

#include <stdint.h>
#include <string.h>

/* The lower case of code point c (U+0000 to U+017F), or c. */
static uint32_t lower_of(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7) /* À to Þ, not × */
		return c + 32;
	if (c < 0x100)
		return c;
	/* Latin Extended-A pairs each capital with the small letter after it,
	 * even first, except where the odd one leads: Ĺ to ň and Ź to ž. */
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return c % 2 ? c + 1 : c;
	if (c == 0x178) /* Ÿ */
		return 0xff;
	if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17f)
		return c; /* İ ı ĸ ŉ ſ: no pair of the same length */
	return c % 2 ? c : c + 1;
}

/* The code point of the two-byte UTF-8 sequence at u[i] (U+0080 to
 * U+07FF), or 0 when none starts there. */
static uint32_t two_byte_at(const unsigned char *u, size_t len, size_t i)
{
	if (i + 1 < len && u[i] >= 0xc2 && u[i] <= 0xdf && (u[i + 1] & 0xc0) == 0x80)
		return ((uint32_t)(u[i] & 0x1f) << 6) | (u[i + 1] & 0x3f);
	return 0;
}

/* The lower case of the code point of a one- or two-byte sequence: only
 * U+017F and below have one here, and it keeps the sequence's length. */
static uint32_t folded(uint32_t c)
{
	return c <= 0x17f ? lower_of(c) : c;
}

void textfold_lower(const char *s, size_t len, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t c = two_byte_at(u, len, i);

		if (c != 0) {
			c = folded(c);
			out[i] = (char)(0xc0 | (c >> 6));
			out[i + 1] = (char)(0x80 | (c & 0x3f));
			i += 2;
			continue;
		}
		out[i] = (char)(u[i] < 0x80 ? lower_of(u[i]) : u[i]);
		i++;
	}
}

/* The next code point of s[*i..len), folded to lower case. A byte of 0x80
 * or more that starts no two-byte sequence is no letter: it counts as
 * itself past every code point, as textfold_lower copies it. */
static uint32_t next_folded(const unsigned char *s, size_t len, size_t *i)
{
	uint32_t c = two_byte_at(s, len, *i);

	if (c != 0) {
		*i += 2;
		return folded(c);
	}
	c = s[(*i)++];
	return c < 0x80 ? lower_of(c) : 0x110000 + c;
}

/* The letter each small letter of U+00E0 to U+00FF sorts as: æ ø å (and
 * ä ö) after z as 1 2 3, the others as their base letter (é as e, ü as y,
 * as Norwegian dictionaries have them); 0 for ÷. */
static const char latin1_sorts_as[32] = {
    'a', 'a', 'a', 'a', 1,   3,	  1, 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
    'd', 'n', 'o', 'o', 'o', 'o', 2, 0,	  2,   'u', 'u', 'u', 'y', 'y', 't', 'y',
};

/* Where c sorts: a to z, then æ ø å; Latin-1 and the Sami letters of
 * Latin Extended-A (á č đ ŋ š ŧ ž) with their base letter; the rest after. */
static uint32_t sort_key(uint32_t c)
{
	char to = 0;

	if (c >= 0xe0 && c <= 0xff)
		to = latin1_sorts_as[c - 0xe0];
	else if (c == 0x10d)
		to = 'c';
	else if (c == 0x111)
		to = 'd';
	else if (c == 0x14b)
		to = 'n';
	else if (c == 0x161)
		to = 's';
	else if (c == 0x167)
		to = 't';
	else if (c == 0x17e)
		to = 'z';
	if (to >= 1 && to <= 3)
		return 'z' + (uint32_t)to;
	if (to != 0)
		return (uint32_t)to;
	return c <= 'z' ? c : c + 0x100;
}

int textfold_compare(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
	size_t i = 0, j = 0;
	int rc;

	while (i < alen && j < blen) {
		uint32_t ka = sort_key(next_folded(ua, alen, &i));
		uint32_t kb = sort_key(next_folded(ub, blen, &j));

		if (ka != kb)
			return ka < kb ? -1 : 1;
	}
	if (i < alen || j < blen)
		return i < alen ? 1 : -1; /* the shorter first */
	rc = memcmp(a, b, alen < blen ? alen : blen);
	if (rc != 0)
		return rc;
	return alen < blen ? -1 : alen > blen;
}

static int compare_names(void *arg, int alen, const void *a, int blen, const void *b)
{
	(void)arg;
	return textfold_compare(a, (size_t)alen, b, (size_t)blen);
}

static void lm_lower(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s;
	char *out;
	int len;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return; /* NULL, as lower(NULL) */
	s = (const char *)sqlite3_value_text(argv[0]);
	len = sqlite3_value_bytes(argv[0]);
	if (s == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	out = sqlite3_malloc(len > 0 ? len : 1);
	if (out == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	textfold_lower(s, (size_t)len, out);
	sqlite3_result_text(ctx, out, len, sqlite3_free);
}

int textfold_register(sqlite3 *db)
{
	int rc = sqlite3_create_function(db, "lm_lower", 1,
					 SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
					 NULL, lm_lower, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_create_collation(db, "lm_name", SQLITE_UTF8, NULL, compare_names);
	return rc;
}
