/* SPDX-License-Identifier: MIT */
/* Checking what people type before it reaches the store. Every function
 * names the field it was given (as the user wrote it: "--title", or a CSV
 * column) in its message, and says what would be accepted.
 *
 * The identity number guard: no free text may hold what looks like a
 * Norwegian national identity number (fødselsnummer or D-number): 11 digits,
 * written together or as 6 + 5 with one space, dot or hyphen between, whose
 * two mod-11 check digits are valid. lmsync has no field for participants'
 * names or contact data; this keeps them from arriving by the back door.
 */
#ifndef LMSYNC_DOMAIN_VALIDATE_H
#define LMSYNC_DOMAIN_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define DOM_TEXT_SHORT 200  /* bytes: titles, names, venues */
#define DOM_TEXT_LONG  8000 /* bytes: descriptions, mandates, notes */

/* 1 when the len bytes at s are valid UTF-8 (no overlong form, surrogate
 * or code point past U+10FFFF), else 0. *multibyte says whether they hold
 * a valid sequence of two or more bytes, valid or not as a whole: text in
 * an 8-bit encoding (Windows-1252) has none, damaged UTF-8 has some. */
int dom_utf8_valid(const char *s, size_t len, int *multibyte);

/* Free text: valid UTF-8, at most max bytes, no control characters (line
 * breaks and tabs allowed when multiline), no identity number. An empty
 * string passes unless required. */
int dom_check_text(const char *field, const char *s, size_t max, int multiline, int required,
		   lm_err *err);

/* Organisation number (organisasjonsnummer): 9 digits, mod-11 check digit
 * with weights 3 2 7 6 5 4 3 2. */
int dom_check_orgnr(const char *field, const char *s, lm_err *err);

/* Kommunenummer: 4 digits, 0101 to 5699 (the first two are the county). */
int dom_check_kommunenr(const char *field, const char *s, lm_err *err);

/* A calendar date written YYYY-MM-DD (ISO 8601), years 1900 to 2199. */
int dom_check_date(const char *field, const char *s, lm_err *err);

/* A date as a person or a spreadsheet writes it: YYYY-MM-DD, or the
 * Norwegian DD.MM.YYYY (D.M.YYYY too), which a spreadsheet set to
 * Norwegian puts in its CSV. out (11 bytes) gets it as YYYY-MM-DD, checked
 * as dom_check_date does. */
int dom_parse_date(const char *field, const char *s, char out[11], lm_err *err);

/* An optional date option: *s NULL is left; otherwise it is parsed
 * (dom_parse_date) into out and *s made to point there. */
int dom_parse_date_opt(const char *field, const char **s, char out[11], lm_err *err);

/* A reporting period: a year (2026), a half (2026-H1), a quarter (2026-Q3)
 * or a month (2026-09). from and to (11 bytes each) get its first and last
 * day. */
int dom_period_parse(const char *field, const char *s, char *from, char *to, lm_err *err);

/* A whole number in [min, max]. */
int dom_parse_int(const char *field, const char *s, long min, long max, long *out, lm_err *err);

/* A number of hours, 0 to max, with at most two decimals ("2.5", "2,5"). */
int dom_parse_hours(const char *field, const char *s, double max, double *out, lm_err *err);

/* ja/nei, yes/no, true/false, 1/0. */
int dom_parse_bool(const char *field, const char *s, int *out, lm_err *err);

/* A registration address: a web address (https:// or http://) or an e-mail
 * address of a role (post@, lms@ ...). It must not look like a person's: no
 * identity number, no phone number of 8 digits. */
int dom_check_registration(const char *field, const char *s, lm_err *err);

/* A new random id: 16 lowercase hex digits (64 bits). */
void dom_new_id(char out[17]);

#endif
