/* SPDX-License-Identifier: MIT */
/* Site id text form: round trips, tolerance of case and look-alikes, and
 * refusal of every single-character typo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "proto/siteid.h"

static void random_key(uint8_t key[SITEID_KEY_LEN])
{
	randombytes_buf(key, SITEID_KEY_LEN);
}

static void test_text_round_trip(void **state)
{
	uint8_t key[SITEID_KEY_LEN], back[SITEID_KEY_LEN];
	char text[SITEID_TEXT_LEN + 1];
	lm_err err;
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		random_key(key);
		siteid_to_text(key, text);
		assert_int_equal(strlen(text), SITEID_TEXT_LEN);
		assert_int_equal(siteid_parse(text, back, &err), 0);
		assert_memory_equal(key, back, SITEID_KEY_LEN);
	}
}

static void test_hex_round_trip(void **state)
{
	uint8_t key[SITEID_KEY_LEN], back[SITEID_KEY_LEN];
	char hex[SITEID_HEX_LEN + 1];
	lm_err err;

	(void)state;
	random_key(key);
	siteid_to_hex(key, hex);
	assert_int_equal(strlen(hex), SITEID_HEX_LEN);
	assert_int_equal(siteid_parse(hex, back, &err), 0);
	assert_memory_equal(key, back, SITEID_KEY_LEN);
}

static void test_known_key(void **state)
{
	uint8_t key[SITEID_KEY_LEN] = {0};
	char text[SITEID_TEXT_LEN + 1], hex[SITEID_HEX_LEN + 1];

	(void)state;
	siteid_to_hex(key, hex);
	assert_string_equal(hex,
			    "0000000000000000000000000000000000000000000000000000000000000000");
	siteid_to_text(key, text);
	/* 32 zero bytes are 51 zero characters and a bit; the check follows. */
	assert_memory_equal(text, "0000000-0000000-0000000", 23);
	assert_int_equal(text[7], '-');
}

static void test_lenient_reading(void **state)
{
	uint8_t key[SITEID_KEY_LEN], back[SITEID_KEY_LEN];
	char text[SITEID_TEXT_LEN + 1], loose[2 * SITEID_TEXT_LEN];
	size_t i, o = 0;
	lm_err err;

	(void)state;
	random_key(key);
	siteid_to_text(key, text);
	/* Lower case, no dashes, spaces between some groups, O for 0, l for 1. */
	for (i = 0; text[i]; i++) {
		char c = text[i];

		if (c == '-') {
			if (i % 2)
				loose[o++] = ' ';
			continue;
		}
		if (c == '0')
			c = 'O';
		else if (c == '1')
			c = 'l';
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		loose[o++] = c;
	}
	loose[o] = '\0';
	assert_int_equal(siteid_parse(loose, back, &err), 0);
	assert_memory_equal(key, back, SITEID_KEY_LEN);
}

static void test_every_typo_refused(void **state)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint8_t key[SITEID_KEY_LEN], back[SITEID_KEY_LEN];
	char text[SITEID_TEXT_LEN + 1], typo[SITEID_TEXT_LEN + 1];
	size_t i, a;
	lm_err err;

	(void)state;
	random_key(key);
	siteid_to_text(key, text);
	for (i = 0; i < SITEID_TEXT_LEN; i++) {
		if (text[i] == '-')
			continue;
		for (a = 0; a < 32; a++) {
			if (alphabet[a] == text[i])
				continue;
			memcpy(typo, text, sizeof(typo));
			typo[i] = alphabet[a];
			assert_int_equal(siteid_parse(typo, back, &err), -1);
			assert_non_null(strstr(err.msg, "mistyped"));
		}
	}
}

static void test_bad_forms(void **state)
{
	uint8_t back[SITEID_KEY_LEN];
	lm_err err;

	(void)state;
	assert_int_equal(siteid_parse("", back, &err), -1);
	assert_non_null(strstr(err.msg, "0 characters"));
	assert_int_equal(siteid_parse("ABCDEFG-HJKMNPQ", back, &err), -1);
	assert_non_null(strstr(err.msg, "14 characters"));
	/* 56 characters with one outside the alphabet. */
	assert_int_equal(
	    siteid_parse("UUUUUUU-0000000-0000000-0000000-0000000-0000000-0000000-0000000", back,
			 &err),
	    -1);
	assert_non_null(strstr(err.msg, "'U'"));
	/* 64 characters that are not hex. */
	assert_int_equal(
	    siteid_parse("zz00000000000000000000000000000000000000000000000000000000000000", back,
			 &err),
	    -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_round_trip),    cmocka_unit_test(test_hex_round_trip),
	    cmocka_unit_test(test_known_key),	       cmocka_unit_test(test_lenient_reading),
	    cmocka_unit_test(test_every_typo_refused), cmocka_unit_test(test_bad_forms),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
