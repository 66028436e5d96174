/* SPDX-License-Identifier: MIT */
#include "domain/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ';' when the first line holds a semicolon and no comma, else ','. */
static char first_line_sep(const char *s, size_t len)
{
	const char *eol = memchr(s, '\n', len);
	size_t n = eol ? (size_t)(eol - s) : len;

	return memchr(s, ';', n) != NULL && memchr(s, ',', n) == NULL ? ';' : ',';
}

void csv_reader_init(struct csv_reader *r, const char *s, size_t len)
{
	r->s = s;
	r->len = len;
	r->pos = 0;
	r->line = 1;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		r->pos = 3;
	r->sep = first_line_sep(s + r->pos, len - r->pos);
}

/* U+0080 to U+009F in Windows-1252; 0 where it defines no character. */
static const uint16_t cp1252_high[32] = {
    0x20ac, 0,	    0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,	    0x017d, 0,
    0,	    0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,	    0x017e, 0x0178,
};

int csv_from_windows1252(const char *s, size_t len, char **out, size_t *out_len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *b = malloc(3 * len + 1); /* a byte takes at most three in UTF-8 */
	size_t i, n = 0;

	if (b == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		uint32_t c = u[i];

		if (c >= 0x80 && c <= 0x9f && (c = cp1252_high[c - 0x80]) == 0) {
			free(b);
			return -1;
		}
		if (c < 0x80) {
			b[n++] = (char)c;
		} else if (c < 0x800) {
			b[n++] = (char)(0xc0 | (c >> 6));
			b[n++] = (char)(0x80 | (c & 0x3f));
		} else {
			b[n++] = (char)(0xe0 | (c >> 12));
			b[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[n++] = (char)(0x80 | (c & 0x3f));
		}
	}
	b[n] = '\0';
	*out = b;
	*out_len = n;
	return 0;
}

void csv_record_free(struct csv_record *rec)
{
	free(rec->buf);
	rec->buf = NULL;
	rec->cap = 0;
	rec->n = 0;
}

/* Append c to the record's buffer at *used. */
static int put(struct csv_record *rec, size_t *used, char c, lm_err *err)
{
	if (*used + 1 >= rec->cap) {
		size_t cap = rec->cap ? rec->cap * 2 : 1024;
		char *b = realloc(rec->buf, cap);

		if (b == NULL)
			return lm_errf(err, "out of memory reading CSV");
		rec->buf = b;
		rec->cap = cap;
	}
	rec->buf[(*used)++] = c;
	return 0;
}

/* At a record's end: CRLF or LF (consumed), or the end of the input. */
static int at_eol(struct csv_reader *r)
{
	if (r->pos >= r->len)
		return 1;
	if (r->s[r->pos] == '\n') {
		r->pos++;
		r->line++;
		return 1;
	}
	if (r->s[r->pos] == '\r' && r->pos + 1 < r->len && r->s[r->pos + 1] == '\n') {
		r->pos += 2;
		r->line++;
		return 1;
	}
	return 0;
}

int csv_read(struct csv_reader *r, struct csv_record *rec, lm_err *err)
{
	size_t used = 0, starts[CSV_FIELDS_MAX], i;
	const char *s = r->s;

	/* Blank lines between records carry nothing. */
	while (r->pos < r->len && (s[r->pos] == '\n' || (s[r->pos] == '\r' && r->pos + 1 < r->len &&
							      s[r->pos + 1] == '\n')))
		(void)at_eol(r);
	if (r->pos >= r->len)
		return 0;
	rec->n = 0;
	rec->line = r->line;
	for (;;) {
		if (rec->n == CSV_FIELDS_MAX)
			return lm_errf(err, "line %d: more than %d fields", rec->line,
				       CSV_FIELDS_MAX);
		starts[rec->n++] = used;
		if (r->pos < r->len && s[r->pos] == '"') {
			int open_line = r->line;

			r->pos++;
			for (;;) {
				if (r->pos >= r->len)
					return lm_errf(err,
						       "line %d: field %zu: the quoted field opened "
						       "here is never closed (a \" is missing)",
						       open_line, rec->n);
				if (s[r->pos] == '"') {
					if (r->pos + 1 < r->len && s[r->pos + 1] == '"') {
						if (put(rec, &used, '"', err) != 0)
							return -1;
						r->pos += 2;
						continue;
					}
					r->pos++;
					break;
				}
				if (s[r->pos] == '\0')
					return lm_errf(err, "line %d: field %zu: a NUL byte",
						       r->line, rec->n);
				if (s[r->pos] == '\n')
					r->line++;
				if (put(rec, &used, s[r->pos++], err) != 0)
					return -1;
			}
			if (r->pos < r->len && s[r->pos] != r->sep && s[r->pos] != '\n' &&
			    s[r->pos] != '\r')
				return lm_errf(err,
					       "line %d: field %zu: text after the closing quote; "
					       "a quote inside a field is written twice (\"\")",
					       r->line, rec->n);
		} else {
			while (r->pos < r->len && s[r->pos] != r->sep && s[r->pos] != '\n' &&
			       !(s[r->pos] == '\r' && r->pos + 1 < r->len &&
				 s[r->pos + 1] == '\n')) {
				if (s[r->pos] == '"')
					return lm_errf(err,
						       "line %d: field %zu: a quote in a field that "
						       "does not start with one; put the field in "
						       "quotes and write the quote twice (\"\")",
						       r->line, rec->n);
				if (s[r->pos] == '\0')
					return lm_errf(err, "line %d: field %zu: a NUL byte",
						       r->line, rec->n);
				if (put(rec, &used, s[r->pos++], err) != 0)
					return -1;
			}
		}
		if (put(rec, &used, '\0', err) != 0)
			return -1;
		if (r->pos < r->len && s[r->pos] == r->sep) {
			r->pos++;
			continue;
		}
		if (at_eol(r))
			break;
		/* A lone CR outside quotes. */
		return lm_errf(err, "line %d: field %zu: a carriage return not followed by a line "
				    "feed; put the field in quotes",
			       r->line, rec->n);
	}
	for (i = 0; i < rec->n; i++)
		rec->fields[i] = rec->buf + starts[i];
	return 1;
}

void csv_field(FILE *out, const char *s, int first)
{
	if (!first)
		fputc(',', out);
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

void csv_end(FILE *out)
{
	fputs("\r\n", out);
}
