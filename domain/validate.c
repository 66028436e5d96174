/* SPDX-License-Identifier: MIT */
#include "domain/validate.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/fnr.h"

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The length of the run of digits at s. */
static size_t digits_at(const char *s)
{
	size_t n = 0;

	while (is_digit(s[n]))
		n++;
	return n;
}

/* The length of the UTF-8 sequence at s (left bytes there), or 0 when it
 * is not valid. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past Unicode. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int dom_utf8_valid(const char *s, size_t len, int *multibyte)
{
	size_t i, n;
	int valid = 1;

	*multibyte = 0;
	for (i = 0; i < len; i += n ? n : 1) {
		n = utf8_len((const unsigned char *)s + i, len - i);
		if (n == 0)
			valid = 0;
		else if (n > 1)
			*multibyte = 1;
	}
	return valid;
}

int dom_check_text(const char *field, const char *s, size_t max, int multiline, int required,
		   lm_err *err)
{
	size_t i, n, len = strlen(s), at;

	if (len == 0 && required)
		return lm_errf(err, "%s: must not be empty", field);
	if (len > max)
		return lm_errf(err, "%s: %zu bytes is too long; at most %zu", field, len, max);
	for (i = 0; i < len; i += n) {
		unsigned char c = (unsigned char)s[i];

		n = utf8_len((const unsigned char *)s + i, len - i);
		if (n == 0)
			return lm_errf(err, "%s: not valid UTF-8 text (byte %zu); save the file as UTF-8",
				       field, i + 1);
		if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) ||
		    c == 0x7f)
			return lm_errf(err, "%s: holds a control character (byte %zu)%s", field,
				       i + 1, multiline ? "" : "; line breaks are not allowed here");
	}
	if (fnr_find(s, strlen(s), 0, &at))
		return lm_errf(err,
			       "%s: holds what looks like a national identity number (fødselsnummer) "
			       "at character %zu: lmsync shares no personal data, so remove it",
			       field, at + 1);
	return 0;
}

int dom_check_orgnr(const char *field, const char *s, lm_err *err)
{
	static const int w[8] = {3, 2, 7, 6, 5, 4, 3, 2};
	int k;

	if (strlen(s) != 9 || digits_at(s) != 9)
		return lm_errf(err, "%s: '%s' is not an organisation number: it has 9 digits",
			       field, s);
	k = fnr_mod11(s, w, 8);
	if (k != s[8] - '0')
		return lm_errf(err,
			       "%s: '%s' is not a valid organisation number (its check digit does "
			       "not match); check it in Enhetsregisteret",
			       field, s);
	return 0;
}

int dom_check_kommunenr(const char *field, const char *s, lm_err *err)
{
	int v;

	if (strlen(s) != 4 || digits_at(s) != 4)
		return lm_errf(err, "%s: '%s' is not a kommunenummer: it has 4 digits (e.g. 5001)",
			       field, s);
	v = atoi(s);
	if (v < 101 || v > 5699)
		return lm_errf(err, "%s: '%s' is not a kommunenummer (0101 to 5699)", field, s);
	return 0;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Year y, month m, day d is a day of the calendar; shown is the date as
 * it was written, for the message. */
static int check_ymd(const char *field, const char *shown, int y, int m, int d, lm_err *err)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (y < 1900 || y > 2199)
		return lm_errf(err, "%s: '%s': the year must be between 1900 and 2199", field,
			       shown);
	if (m < 1 || m > 12)
		return lm_errf(err, "%s: '%s': there is no month %02d", field, shown, m);
	if (d < 1 || d > days[m - 1] + (m == 2 && leap(y)))
		return lm_errf(err, "%s: '%s': %04d-%02d has no day %02d", field, shown, y, m, d);
	return 0;
}

int dom_check_date(const char *field, const char *s, lm_err *err)
{
	if (strlen(s) != 10 || digits_at(s) != 4 || s[4] != '-' || digits_at(s + 5) != 2 ||
	    s[7] != '-' || digits_at(s + 8) != 2)
		return lm_errf(err, "%s: '%s' is not a date; write YYYY-MM-DD (e.g. 2026-09-14)",
			       field, s);
	return check_ymd(field, s, atoi(s), atoi(s + 5), atoi(s + 8), err);
}

int dom_parse_date(const char *field, const char *s, char out[11], lm_err *err)
{
	size_t d = digits_at(s), m = d && s[d] == '.' ? digits_at(s + d + 1) : 0;

	if (strlen(s) == 10 && d == 4 && s[4] == '-') {
		memcpy(out, s, 11);
		return dom_check_date(field, out, err);
	}
	/* D.M.YYYY to DD.MM.YYYY */
	if (d >= 1 && d <= 2 && s[d] == '.' && m >= 1 && m <= 2 && s[d + 1 + m] == '.' &&
	    digits_at(s + d + m + 2) == 4 && s[d + m + 6] == '\0') {
		snprintf(out, 11, "%.4s-%02d-%02d", s + d + m + 2, atoi(s + d + 1), atoi(s));
		return check_ymd(field, s, atoi(s + d + m + 2), atoi(s + d + 1), atoi(s), err);
	}
	return lm_errf(err,
		       "%s: '%s' is not a date; write YYYY-MM-DD or DD.MM.YYYY (e.g. 2026-09-14 or "
		       "14.09.2026)",
		       field, s);
}

int dom_parse_date_opt(const char *field, const char **s, char out[11], lm_err *err)
{
	if (*s == NULL)
		return 0;
	if (dom_parse_date(field, *s, out, err) != 0)
		return -1;
	*s = out;
	return 0;
}

int dom_period_parse(const char *field, const char *s, char *from, char *to, lm_err *err)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, first, last;
	size_t n = strlen(s);

	if (n < 4 || digits_at(s) != 4)
		goto bad;
	y = atoi(s);
	if (y < 1900 || y > 2199)
		goto bad;
	if (n == 4) {
		first = 1, last = 12;
	} else if (n == 7 && s[4] == '-' && s[5] == 'H' && (s[6] == '1' || s[6] == '2')) {
		first = s[6] == '1' ? 1 : 7, last = first + 5;
	} else if (n == 7 && s[4] == '-' && s[5] == 'Q' && s[6] >= '1' && s[6] <= '4') {
		first = (s[6] - '1') * 3 + 1, last = first + 2;
	} else if (n == 7 && s[4] == '-' && digits_at(s + 5) == 2 && atoi(s + 5) >= 1 &&
		   atoi(s + 5) <= 12) {
		first = last = atoi(s + 5);
	} else {
		goto bad;
	}
	snprintf(from, 11, "%04d-%02d-01", y, first);
	snprintf(to, 11, "%04d-%02d-%02d", y, last, days[last - 1] + (last == 2 && leap(y)));
	return 0;
bad:
	return lm_errf(err,
		       "%s: '%s' is not a period; write a year (2026), a half (2026-H1), a "
		       "quarter (2026-Q3) or a month (2026-09)",
		       field, s);
}

int dom_parse_int(const char *field, const char *s, long min, long max, long *out, lm_err *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || isspace((unsigned char)*s) || *end != '\0' || errno != 0)
		return lm_errf(err, "%s: '%s' is not a whole number", field, s);
	if (v < min || v > max)
		return lm_errf(err, "%s: %ld is out of range (%ld to %ld)", field, v, min, max);
	*out = v;
	return 0;
}

int dom_parse_hours(const char *field, const char *s, double max, double *out, lm_err *err)
{
	char buf[32], *end;
	size_t i, n = strlen(s), dot = n;
	double v;

	if (n == 0 || n >= sizeof(buf))
		return lm_errf(err, "%s: '%s' is not a number of hours", field, s);
	for (i = 0; i < n; i++) {
		buf[i] = s[i] == ',' ? '.' : s[i];
		if (buf[i] == '.' && dot == n)
			dot = i;
		else if (!is_digit(buf[i]))
			return lm_errf(err, "%s: '%s' is not a number of hours (e.g. 2.5)", field,
				       s);
	}
	buf[n] = '\0';
	if (dot == 0 || dot + 1 == n || (dot < n && n - dot - 1 > 2))
		return lm_errf(err, "%s: '%s' is not a number of hours with at most two decimals",
			       field, s);
	v = strtod(buf, &end);
	if (*end != '\0' || v < 0 || v > max)
		return lm_errf(err, "%s: %s hours is out of range (0 to %.0f)", field, s, max);
	*out = v;
	return 0;
}

int dom_parse_bool(const char *field, const char *s, int *out, lm_err *err)
{
	static const char *const yes[] = {"ja", "yes", "true", "1", "j", "y"};
	static const char *const no[] = {"nei", "no", "false", "0", "n"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	return lm_errf(err, "%s: '%s' is neither ja nor nei", field, s);
}

int dom_check_registration(const char *field, const char *s, lm_err *err)
{
	const char *at = strchr(s, '@');
	size_t i, run = 0;

	if (dom_check_text(field, s, DOM_TEXT_SHORT, 0, 1, err) != 0)
		return -1;
	for (i = 0; s[i]; i++) {
		if (isspace((unsigned char)s[i]))
			return lm_errf(err, "%s: a web address or e-mail address has no spaces",
				       field);
		run = is_digit(s[i]) ? run + 1 : 0;
		if (run == 8 && !is_digit(s[i + 1]))
			return lm_errf(err,
				       "%s: looks like it holds a phone number; give a web page or "
				       "the role address of the service (e.g. lms@kommune.no)",
				       field);
	}
	if (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0)
		return 0;
	if (at != NULL && at != s && strchr(at + 1, '.') != NULL && strchr(at + 1, '@') == NULL &&
	    at[1] != '.')
		return 0;
	return lm_errf(err,
		       "%s: '%s' is neither a web address (https://...) nor an e-mail address "
		       "(use the service's role address, e.g. lms@kommune.no)",
		       field, s);
}

void dom_new_id(char out[17])
{
	unsigned char b[8];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, 17, b, sizeof(b));
}
