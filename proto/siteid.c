/* SPDX-License-Identifier: MIT */
/* Site id text and hex forms; see siteid.h for the format. */
#include "proto/siteid.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

#define CHECK_LEN   3
#define RAW_LEN	    (SITEID_KEY_LEN + CHECK_LEN) /* 35 bytes = 280 bits */
#define CHARS	    56				 /* 280 / 5 */
#define GROUP_CHARS 7

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char personal[crypto_generichash_blake2b_PERSONALBYTES] = "lmsync-site-id";

static void compute_check(const uint8_t key[SITEID_KEY_LEN], uint8_t check[CHECK_LEN])
{
	uint8_t h[16];

	crypto_generichash_blake2b_salt_personal(h, sizeof(h), key, SITEID_KEY_LEN, NULL, 0, NULL,
						 (const unsigned char *)personal);
	memcpy(check, h, CHECK_LEN);
}

/* Crockford decoding: case-insensitive, O reads as 0, I and L as 1. */
static int decode_char(char c)
{
	const char *p;

	c = (char)toupper((unsigned char)c);
	if (c == 'O')
		c = '0';
	else if (c == 'I' || c == 'L')
		c = '1';
	if (c == '\0')
		return -1;
	p = strchr(alphabet, c);
	return p ? (int)(p - alphabet) : -1;
}

static void encode_chars(const uint8_t key[SITEID_KEY_LEN], char chars[CHARS])
{
	uint8_t raw[RAW_LEN];
	unsigned acc = 0, bits = 0;
	size_t i, n = 0;

	memcpy(raw, key, SITEID_KEY_LEN);
	compute_check(key, raw + SITEID_KEY_LEN);
	for (i = 0; i < RAW_LEN; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			chars[n++] = alphabet[(acc >> bits) & 31];
		}
	}
}

void siteid_to_text(const uint8_t key[SITEID_KEY_LEN], char out[SITEID_TEXT_LEN + 1])
{
	char chars[CHARS];
	size_t i, o = 0;

	encode_chars(key, chars);
	for (i = 0; i < CHARS; i++) {
		if (i > 0 && i % GROUP_CHARS == 0)
			out[o++] = '-';
		out[o++] = chars[i];
	}
	out[o] = '\0';
}

void siteid_to_short(const uint8_t key[SITEID_KEY_LEN], char out[SITEID_SHORT_LEN + 1])
{
	char chars[CHARS];

	encode_chars(key, chars);
	memcpy(out, chars, SITEID_SHORT_LEN);
	out[SITEID_SHORT_LEN] = '\0';
}

void siteid_to_hex(const uint8_t key[SITEID_KEY_LEN], char out[SITEID_HEX_LEN + 1])
{
	sodium_bin2hex(out, SITEID_HEX_LEN + 1, key, SITEID_KEY_LEN);
}

static int parse_hex(const char *s, uint8_t key[SITEID_KEY_LEN], lm_err *err)
{
	size_t len;

	if (sodium_hex2bin(key, SITEID_KEY_LEN, s, SITEID_HEX_LEN, NULL, &len, NULL) != 0 ||
	    len != SITEID_KEY_LEN)
		return lm_errf(err, "'%s' is not a site id: 64 characters but not all hex digits",
			       s);
	return 0;
}

static int parse_text(const char *s, uint8_t key[SITEID_KEY_LEN], lm_err *err)
{
	uint8_t raw[RAW_LEN], check[CHECK_LEN];
	unsigned acc = 0, bits = 0;
	size_t n = 0, nchars = 0;
	const char *p;

	for (p = s; *p; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		nchars++;
	}
	if (nchars != CHARS)
		return lm_errf(err,
			       "'%s' is not a site id: it has %zu character%s, a site id has %d "
			       "(eight groups of seven) or 64 hex digits",
			       s, nchars, nchars == 1 ? "" : "s", CHARS);
	for (p = s; *p; p++) {
		int v;

		if (*p == '-' || *p == ' ')
			continue;
		v = decode_char(*p);
		if (v < 0)
			return lm_errf(
			    err, "'%s' is not a site id: '%c' is not a site id character", s, *p);
		acc = (acc << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (uint8_t)(acc >> bits);
		}
	}
	compute_check(raw, check);
	if (sodium_memcmp(check, raw + SITEID_KEY_LEN, CHECK_LEN) != 0)
		return lm_errf(err,
			       "'%s' does not check out: the site id was mistyped or cut; "
			       "compare it character by character with `lmsync id` on that site",
			       s);
	memcpy(key, raw, SITEID_KEY_LEN);
	return 0;
}

int siteid_parse(const char *s, uint8_t key[SITEID_KEY_LEN], lm_err *err)
{
	if (strlen(s) == SITEID_HEX_LEN && strchr(s, '-') == NULL) {
		size_t i;
		int hex = 1;

		for (i = 0; i < SITEID_HEX_LEN; i++)
			hex &= isxdigit((unsigned char)s[i]) != 0;
		if (hex)
			return parse_hex(s, key, err);
	}
	return parse_text(s, key, err);
}
