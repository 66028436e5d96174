/* SPDX-License-Identifier: MIT */
/* Site ids: the Ed25519 public key of a site, in forms people can handle.
 *
 * The text form is meant to be read aloud over the phone and compared by eye:
 * the 32-byte key followed by a 3-byte check (the first bytes of a BLAKE2b
 * hash of the key) is written as 56 characters of Crockford base32, in eight
 * groups of seven joined by '-'. Crockford's alphabet has no I, L, O or U, so
 * decoding is case-insensitive and reads O as 0 and I or L as 1. A mistyped
 * character breaks the check with probability 1 - 2^-24.
 *
 * The hex form is the 64 lowercase hex characters of the key.
 */
#ifndef LMSYNC_PROTO_SITEID_H
#define LMSYNC_PROTO_SITEID_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define SITEID_KEY_LEN	 32
#define SITEID_TEXT_LEN	 63 /* 56 characters + 7 dashes, without the NUL */
#define SITEID_HEX_LEN	 64
#define SITEID_SHORT_LEN 7 /* the first group, for tables and logs */

/* Write the text form of key into out (at least SITEID_TEXT_LEN + 1 bytes). */
void siteid_to_text(const uint8_t key[SITEID_KEY_LEN], char out[SITEID_TEXT_LEN + 1]);

/* Write the hex form of key into out (at least SITEID_HEX_LEN + 1 bytes). */
void siteid_to_hex(const uint8_t key[SITEID_KEY_LEN], char out[SITEID_HEX_LEN + 1]);

/* Write the first group of the text form, for compact display. */
void siteid_to_short(const uint8_t key[SITEID_KEY_LEN], char out[SITEID_SHORT_LEN + 1]);

/* Parse an id in either form. Dashes and spaces are ignored in the text form.
 * Returns 0, or -1 with a message naming what is wrong (length, character,
 * check). */
int siteid_parse(const char *s, uint8_t key[SITEID_KEY_LEN], lm_err *err);

#endif
