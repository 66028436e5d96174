/* SPDX-License-Identifier: MIT */
/* CSV as RFC 4180 has it, for the catalogue's export and import: fields
 * separated by commas, records by CRLF (a bare LF is read too), a field in
 * double quotes when it holds a comma, a quote, CR or LF, a quote inside it
 * doubled. Text is UTF-8; a byte order mark at the start (spreadsheets write
 * one) is skipped. Readers name the line a record starts on, counting the
 * line breaks inside quoted fields, so an error can point at the file.
 *
 * A reader also takes semicolons for commas when the first line holds
 * semicolons and no comma: a spreadsheet set to Norwegian, where the comma
 * is the decimal sign, saves "CSV (semikolondelt)" so. Writers always use
 * commas. */
#ifndef LMSYNC_DOMAIN_CSV_H
#define LMSYNC_DOMAIN_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "proto/err.h"

#define CSV_FIELDS_MAX 256

struct csv_reader {
	const char *s;
	size_t len, pos;
	int line; /* the line pos is on, from 1 */
	char sep; /* ',' or ';' (see above) */
};

/* One record: n fields, each NUL-terminated, valid until the next read. */
struct csv_record {
	char *fields[CSV_FIELDS_MAX];
	size_t n;
	int line; /* where the record starts */
	char *buf;
	size_t cap;
};

void csv_reader_init(struct csv_reader *r, const char *s, size_t len);

/* The len bytes at s, read as Windows-1252 (what a spreadsheet on Windows
 * set to Norwegian saves as CSV: æ ø å as single bytes), as UTF-8 in a new
 * NUL-terminated buffer *out (*out_len bytes, free it). 0, or -1 when s
 * holds a byte Windows-1252 leaves undefined (then it is something else)
 * or memory ran out. */
int csv_from_windows1252(const char *s, size_t len, char **out, size_t *out_len);

/* The next record into rec: 1 read, 0 at the end, -1 malformed (err says
 * "line N: ..."; reading stops there). Blank lines are skipped. */
int csv_read(struct csv_reader *r, struct csv_record *rec, lm_err *err);

void csv_record_free(struct csv_record *rec);

/* Write one field (quoted when it needs to be), preceded by a comma unless
 * it is the first of its record; csv_end ends the record with CRLF. */
void csv_field(FILE *out, const char *s, int first);
void csv_end(FILE *out);

#endif
