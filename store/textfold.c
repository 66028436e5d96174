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

void textfold_lower(const char *s, size_t len, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t c, low;

		/* Two-byte sequences C3 80 to C5 BF are U+00C0 to U+017F. */
		if (i + 1 < len && u[i] >= 0xc3 && u[i] <= 0xc5 && (u[i + 1] & 0xc0) == 0x80) {
			c = ((uint32_t)(u[i] & 0x1f) << 6) | (u[i + 1] & 0x3f);
			low = lower_of(c);
			out[i] = (char)(0xc0 | (low >> 6));
			out[i + 1] = (char)(0x80 | (low & 0x3f));
			i += 2;
			continue;
		}
		out[i] = (char)(u[i] < 0x80 ? lower_of(u[i]) : u[i]);
		i++;
	}
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
	return sqlite3_create_function(db, "lm_lower", 1,
				       SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
				       lm_lower, NULL, NULL);
}
