/* SPDX-License-Identifier: MIT */
/* Fødselsnummer in text; see fnr.h. */
#include "store/fnr.h"

#include <string.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int fnr_mod11(const char *d, const int *w, size_t n)
{
	int sum = 0, k;
	size_t i;

	for (i = 0; i < n; i++)
		sum += (d[i] - '0') * w[i];
	k = 11 - sum % 11;
	return k == 11 ? 0 : k == 10 ? -1 : k;
}

int fnr_valid(const char d[11])
{
	static const int w1[9] = {3, 7, 6, 1, 8, 9, 4, 5, 2};
	static const int w2[10] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};

	return fnr_mod11(d, w1, 9) == d[9] - '0' && fnr_mod11(d, w2, 10) == d[10] - '0';
}

/* The length of the run of digits at s[i], within len. */
static size_t digits_at(const char *s, size_t i, size_t len)
{
	size_t n = 0;

	while (i + n < len && is_digit(s[i + n]))
		n++;
	return n;
}

/* A candidate from s[i] to s[end - 1] stands apart from letters and digits. */
static int apart(const char *s, size_t i, size_t end, size_t len)
{
	return (i == 0 || !is_alnum(s[i - 1])) && (end == len || !is_alnum(s[end]));
}

int fnr_find(const char *s, size_t len, int bounded, size_t *at)
{
	size_t i = 0, n;
	char d[11];

	while (i < len) {
		if (!is_digit(s[i])) {
			i++;
			continue;
		}
		n = digits_at(s, i, len);
		if (n == 11 && fnr_valid(s + i) && (!bounded || apart(s, i, i + 11, len))) {
			*at = i;
			return 1;
		}
		/* 6 + 5 with one separator: "010190 12345", "010190-12345". */
		if (n == 6 && i + 12 <= len &&
		    (s[i + 6] == ' ' || s[i + 6] == '.' || s[i + 6] == '-') &&
		    digits_at(s, i + 7, len) == 5) {
			memcpy(d, s + i, 6);
			memcpy(d + 6, s + i + 7, 5);
			if (fnr_valid(d) && (!bounded || apart(s, i, i + 12, len))) {
				*at = i;
				return 1;
			}
		}
		i += n;
	}
	return 0;
}
