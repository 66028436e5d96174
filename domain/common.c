/* SPDX-License-Identifier: MIT */
#include "domain/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void dom_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void dom_col_text(sqlite3_stmt *stmt, int i, char *out, size_t cap)
{
	const unsigned char *s = sqlite3_column_text(stmt, i);

	snprintf(out, cap, "%s", s ? (const char *)s : "");
}

void *dom_grow(void *arr, int *cap, int n, size_t size)
{
	void *grown;
	int want;

	if (n < *cap)
		return arr;
	want = *cap ? 2 * *cap : 16;
	grown = realloc(arr, (size_t)want * size);
	if (grown != NULL)
		*cap = want;
	return grown;
}
