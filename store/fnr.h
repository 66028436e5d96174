/* SPDX-License-Identifier: MIT */
/* Norwegian national identity numbers (fødselsnummer) in text: lmsync
 * replicates no personal data, so input that holds one is refused where a
 * person typed it (domain/validate.c) and never sealed whoever wrote it
 * (seal.c). A fødselsnummer is 11 digits whose last two are mod-11 check
 * digits; it may be written 6 + 5 with one space, dot or dash between. */
#ifndef LMSYNC_STORE_FNR_H
#define LMSYNC_STORE_FNR_H

#include <stddef.h>

/* The mod-11 check digit of the digits d[0..n-1] with weights w, or -1 when
 * there is none (a remainder of 1); fødselsnummer and organisasjonsnummer
 * both use it. */
int fnr_mod11(const char *d, const int *w, size_t n);

/* 1 when the 11 digits d[0..10] carry valid fødselsnummer check digits. */
int fnr_valid(const char d[11]);

/* 1 when the len bytes at s hold one (its offset into *at), else 0: a run of
 * exactly 11 digits, or of 6 and 5 digits with one separator, whose check
 * digits fit. With bounded, the run may not touch an ASCII letter or digit
 * either: text a person wrote, not an identifier that happens to hold
 * digits (a site id in hex). */
int fnr_find(const char *s, size_t len, int bounded, size_t *at);

#endif
