/* SPDX-License-Identifier: MIT */
/* The per-row column clock blob (store/rowclock.h): encoding and decoding,
 * bases (version 2) and blobs from before them (version 1, bases unknown),
 * refusal of damaged blobs without reading past their end, the text form
 * lm_clocks shows, and migration 3 -> 4, which moves a store's repl_clock
 * rows into that blob and rebuilds the changeset log as a rowid table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/store_fx.h"
#include "store/cslog.h"
#include "store/rowclock.h"
#include "store/schema.h"
#include "store/store.h"

#define CLOCK_BYTES (8 + CS_KEY_LEN)

/* Bytes a LEB128 varint of v takes. */
static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >>= 7)
		n++;
	return n;
}

static void fill_origin(uint8_t origin[CS_KEY_LEN], uint8_t seed)
{
	for (size_t i = 0; i < CS_KEY_LEN; i++)
		origin[i] = (uint8_t)(seed + 17 * i);
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void set_col(struct rowclock *rc, const char *name, uint64_t hlc, const uint8_t *origin)
{
	struct rowclock_col *c = &rc->c[rc->n++];

	c->name = name;
	c->name_len = strlen(name);
	c->hlc = hlc;
	c->origin = origin;
}

static void assert_col(const struct rowclock_col *c, const char *name, uint64_t hlc,
		       const uint8_t *origin)
{
	assert_int_equal(c->name_len, strlen(name));
	assert_memory_equal(c->name, name, c->name_len);
	assert_true(c->hlc == hlc);
	assert_memory_equal(c->origin, origin, CS_KEY_LEN);
}

/* A 64-byte name, the longest allowed. */
static const char long_name[] = "c123456789012345678901234567890123456789012345678901234567890123";

static void test_round_trip(void **state)
{
	/* cl values around each varint length step, and the largest. */
	static const uint64_t cls[] = {1, 127, 128, 16383, 16384, (uint64_t)1 << 40, UINT64_MAX};
	const uint64_t hlc_a = ((uint64_t)1 << 48) + 1, hlc_b = 0x0123456789abcdefULL;
	uint8_t origin_a[CS_KEY_LEN], origin_b[CS_KEY_LEN], buf[ROWCLOCK_BLOB_MAX];
	struct rowclock in, out;
	size_t len, names, i;

	(void)state;
	assert_int_equal(sizeof(long_name) - 1, 64);
	fill_origin(origin_a, 0x11);
	fill_origin(origin_b, 0xa0);
	for (i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.cl = cls[i];
		/* An insert writes every column with one clock; a later update of
		 * one column gives it its own. Clock b sits between uses of a. */
		set_col(&in, "title", hlc_a, origin_a);
		set_col(&in, "body", hlc_a, origin_a);
		set_col(&in, "owner", hlc_b, origin_b);
		set_col(&in, long_name, hlc_a, origin_a);
		set_col(&in, "x", hlc_a, origin_a);
		len = rowclock_encode(&in, buf, sizeof(buf));

		/* Two distinct clocks stored, not five; each column a name, its
		 * clock and its base (unknown here). */
		names = (1 + 5 + 2) + (1 + 4 + 2) + (1 + 5 + 2) + (1 + 64 + 2) + (1 + 1 + 2);
		assert_int_equal(len, 1 + varint_len(cls[i]) + 1 + 2 * CLOCK_BYTES + names);
		assert_int_equal(buf[0], ROWCLOCK_VERSION);
		assert_int_equal(buf[1 + varint_len(cls[i])], 2);
		/* Clocks in order of first use, hlc big-endian. */
		assert_int_equal(buf[2 + varint_len(cls[i])], 0x00);
		assert_int_equal(buf[2 + varint_len(cls[i]) + 1], 0x01);
		assert_int_equal(buf[2 + varint_len(cls[i]) + CLOCK_BYTES], 0x01);
		assert_int_equal(buf[2 + varint_len(cls[i]) + CLOCK_BYTES + 7], 0xef);

		assert_int_equal(rowclock_decode(buf, len, &out), 0);
		assert_true(out.cl == cls[i]);
		assert_int_equal(out.n, 5);
		assert_col(&out.c[0], "title", hlc_a, origin_a);
		assert_col(&out.c[1], "body", hlc_a, origin_a);
		assert_col(&out.c[2], "owner", hlc_b, origin_b);
		assert_col(&out.c[3], long_name, hlc_a, origin_a);
		assert_col(&out.c[4], "x", hlc_a, origin_a);
		for (size_t j = 0; j < out.n; j++)
			assert_int_equal(out.c[j].base, ROWCLOCK_UNKNOWN);
		/* Names and origins point into the blob, not at the input. */
		assert_true((const uint8_t *)out.c[0].name > buf &&
			    (const uint8_t *)out.c[0].name < buf + len);
		assert_true(out.c[0].origin > buf && out.c[0].origin < buf + len);
	}

	/* The varint is LEB128: 128 is 0x80 0x01. */
	memset(&in, 0, sizeof(in));
	in.cl = 128;
	set_col(&in, "a", 1, origin_a);
	assert_int_not_equal(rowclock_encode(&in, buf, sizeof(buf)), 0);
	assert_int_equal(buf[1], 0x80);
	assert_int_equal(buf[2], 0x01);

	/* No columns: version, cl and a zero clock count. */
	memset(&in, 0, sizeof(in));
	in.cl = 5;
	assert_int_equal(rowclock_encode(&in, buf, sizeof(buf)), 3);
	assert_int_equal(rowclock_decode(buf, 3, &out), 0);
	assert_true(out.cl == 5);
	assert_int_equal(out.n, 0);

	/* Every column with a clock and a base of its own still fits
	 * ROWCLOCK_BLOB_MAX. */
	{
		static char name[REGISTRY_MAX_COLS][65];
		static uint8_t origin[REGISTRY_MAX_COLS][CS_KEY_LEN];

		memset(&in, 0, sizeof(in));
		in.cl = UINT64_MAX;
		for (i = 0; i < REGISTRY_MAX_COLS; i++) {
			snprintf(name[i], sizeof(name[i]), "%02zu%s", i, long_name + 2);
			fill_origin(origin[i], (uint8_t)i);
			set_col(&in, name[i], i, origin[i]);
			in.c[i].base = ROWCLOCK_HELD;
			in.c[i].base_hlc = 1000 + i;
			in.c[i].base_origin = origin[i];
		}
		len = rowclock_encode(&in, buf, sizeof(buf));
		assert_int_equal(len, ROWCLOCK_BLOB_MAX);
		assert_int_equal(rowclock_decode(buf, len, &out), 0);
		assert_int_equal(out.n, REGISTRY_MAX_COLS);
		for (i = 0; i < REGISTRY_MAX_COLS; i++) {
			assert_col(&out.c[i], name[i], i, origin[i]);
			assert_int_equal(out.c[i].base, ROWCLOCK_HELD);
			assert_true(out.c[i].base_hlc == 1000 + i);
			assert_memory_equal(out.c[i].base_origin, origin[i], CS_KEY_LEN);
		}
	}
}

/* Every prefix of a valid blob, in a heap buffer of exactly that size so
 * that ASan sees any read past its end: refused, or decoded as the first
 * columns of the whole blob, pointing inside the prefix. */
static void test_truncated(void **state)
{
	uint8_t origin_a[CS_KEY_LEN], origin_b[CS_KEY_LEN], buf[ROWCLOCK_BLOB_MAX], *cut;
	struct rowclock in, full, out;
	size_t len, plen, i, accepted = 0;

	(void)state;
	fill_origin(origin_a, 1);
	fill_origin(origin_b, 2);
	memset(&in, 0, sizeof(in));
	in.cl = (uint64_t)1 << 40; /* a 6-byte varint to cut through */
	set_col(&in, "title", 300, origin_a);
	set_col(&in, "owner", (uint64_t)1 << 50, origin_b);
	set_col(&in, "body", 300, origin_a);
	len = rowclock_encode(&in, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(rowclock_decode(buf, len, &full), 0);

	for (plen = 1; plen < len; plen++) {
		cut = malloc(plen);
		assert_non_null(cut);
		memcpy(cut, buf, plen);
		if (rowclock_decode(cut, plen, &out) == 0) {
			accepted++;
			assert_true(out.cl == in.cl);
			assert_true(out.n < full.n);
			for (i = 0; i < out.n; i++) {
				assert_true((const uint8_t *)out.c[i].name >= cut &&
					    (const uint8_t *)out.c[i].name + out.c[i].name_len <=
						cut + plen);
				assert_true(out.c[i].origin >= cut &&
					    out.c[i].origin + CS_KEY_LEN <= cut + plen);
				assert_int_equal(out.c[i].name_len, full.c[i].name_len);
				assert_memory_equal(out.c[i].name, full.c[i].name,
						    full.c[i].name_len);
				assert_true(out.c[i].hlc == full.c[i].hlc);
				assert_memory_equal(out.c[i].origin, full.c[i].origin, CS_KEY_LEN);
			}
		}
		free(cut);
	}
	/* Only the cuts between columns decode: after the clocks, after the
	 * first column, after the second. */
	assert_int_equal(accepted, 3);
}

/* A hand-made blob: version 1, cl 1, one clock, then the given column
 * bytes. Returns the length. */
static size_t one_clock_blob(uint8_t *buf, const uint8_t *cols, size_t ncols)
{
	size_t n = 0;

	buf[n++] = 1;
	buf[n++] = 1;
	buf[n++] = 1;
	memset(buf + n, 0x5a, CLOCK_BYTES);
	n += CLOCK_BYTES;
	memcpy(buf + n, cols, ncols);
	return n + ncols;
}

static void test_malformed(void **state)
{
	uint8_t origin[CS_KEY_LEN], buf[ROWCLOCK_BLOB_MAX], blob[256], cols[80];
	struct rowclock in, out;
	size_t len, n;

	(void)state;
	fill_origin(origin, 3);
	memset(&in, 0, sizeof(in));
	in.cl = 9;
	set_col(&in, "a", 1, origin);
	set_col(&in, "b", 2, origin);
	len = rowclock_encode(&in, buf, sizeof(buf));
	assert_int_equal(rowclock_decode(buf, len, &out), 0);

	/* Another version, and 0. */
	buf[0] = ROWCLOCK_VERSION + 1;
	assert_int_equal(rowclock_decode(buf, len, &out), -1);
	buf[0] = 0;
	assert_int_equal(rowclock_decode(buf, len, &out), -1);
	buf[0] = ROWCLOCK_VERSION;

	/* The last column names clock 2 of 2 (indexes 0 and 1 are valid). */
	assert_int_equal(buf[len - 2], 1);
	buf[len - 2] = 2;
	assert_int_equal(rowclock_decode(buf, len, &out), -1);
	buf[len - 2] = 0xff;
	assert_int_equal(rowclock_decode(buf, len, &out), -1);
	buf[len - 2] = 1;
	assert_int_equal(rowclock_decode(buf, len, &out), 0);
	/* Its base: a clock index (0 or 1), none (0xfe) or unknown (0xff);
	 * anything else is damage. */
	assert_int_equal(buf[len - 1], ROWCLOCK_BASE_UNSET);
	buf[len - 1] = 0;
	assert_int_equal(rowclock_decode(buf, len, &out), 0);
	assert_int_equal(out.c[1].base, ROWCLOCK_HELD);
	buf[len - 1] = ROWCLOCK_BASE_NONE;
	assert_int_equal(rowclock_decode(buf, len, &out), 0);
	assert_int_equal(out.c[1].base, ROWCLOCK_NONE);
	buf[len - 1] = 2;
	assert_int_equal(rowclock_decode(buf, len, &out), -1);
	buf[len - 1] = 0xfd;
	assert_int_equal(rowclock_decode(buf, len, &out), -1);
	/* Cut before the base byte: refused, not read past the end. */
	assert_int_equal(rowclock_decode(buf, len - 1, &out), -1);
	buf[len - 1] = ROWCLOCK_BASE_UNSET;

	/* Name lengths: 1 and 64 decode, 0 and 65 do not, even with the bytes
	 * for them present. */
	memset(cols, 'n', sizeof(cols));
	cols[0] = 1;
	cols[2] = 0;
	n = one_clock_blob(blob, cols, 3);
	assert_int_equal(rowclock_decode(blob, n, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.c[0].base, ROWCLOCK_UNKNOWN); /* version 1: no bases */
	cols[0] = 64;
	cols[65] = 0;
	n = one_clock_blob(blob, cols, 66);
	assert_int_equal(rowclock_decode(blob, n, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.c[0].name_len, 64);
	cols[0] = 0;
	cols[1] = 0;
	n = one_clock_blob(blob, cols, 2);
	assert_int_equal(rowclock_decode(blob, n, &out), -1);
	cols[0] = 65;
	cols[66] = 0;
	n = one_clock_blob(blob, cols, 67);
	assert_int_equal(rowclock_decode(blob, n, &out), -1);

	/* A 10-byte varint is the longest (UINT64_MAX); 11 bytes are refused. */
	n = 0;
	blob[n++] = 1;
	for (int i = 0; i < 9; i++)
		blob[n++] = 0xff;
	blob[n++] = 0x01;
	blob[n++] = 0; /* no clocks */
	assert_int_equal(rowclock_decode(blob, n, &out), 0);
	assert_true(out.cl == UINT64_MAX);
	n = 0;
	blob[n++] = 1;
	for (int i = 0; i < 10; i++)
		blob[n++] = 0x80;
	blob[n++] = 0x01;
	blob[n++] = 0;
	assert_int_equal(rowclock_decode(blob, n, &out), -1);

	/* More columns than a table can have: refused before overrunning
	 * rc->c. */
	{
		uint8_t many[2 + 3 * (REGISTRY_MAX_COLS + 1)];
		static uint8_t big[sizeof(many) + 3 + CLOCK_BYTES];

		for (n = 0; n < REGISTRY_MAX_COLS + 1; n++) {
			many[3 * n] = 1;
			many[3 * n + 1] = 'a';
			many[3 * n + 2] = 0;
		}
		n = one_clock_blob(big, many, 3 * REGISTRY_MAX_COLS);
		assert_int_equal(rowclock_decode(big, n, &out), 0);
		assert_int_equal(out.n, REGISTRY_MAX_COLS);
		n = one_clock_blob(big, many, 3 * (REGISTRY_MAX_COLS + 1));
		assert_int_equal(rowclock_decode(big, n, &out), -1);
	}

	/* An empty blob: no clocks at any causal length. */
	memset(&out, 0xee, sizeof(out));
	assert_int_equal(rowclock_decode(blob, 0, &out), 0);
	assert_int_equal(out.n, 0);
	assert_true(out.cl == 0);
}

static void test_encode_refuses(void **state)
{
	uint8_t origin[CS_KEY_LEN], buf[ROWCLOCK_BLOB_MAX];
	char name65[66];
	struct rowclock rc;

	(void)state;
	fill_origin(origin, 4);
	memset(&rc, 0, sizeof(rc));
	rc.cl = 1;
	set_col(&rc, "a", 1, origin);
	/* The cap is checked up front, even when this blob would fit. */
	assert_int_equal(rowclock_encode(&rc, buf, ROWCLOCK_BLOB_MAX - 1), 0);
	assert_int_equal(rowclock_encode(&rc, buf, 64), 0);
	assert_int_not_equal(rowclock_encode(&rc, buf, ROWCLOCK_BLOB_MAX), 0);

	memset(name65, 'n', 65);
	name65[65] = '\0';
	set_col(&rc, name65, 1, origin);
	assert_int_equal(rowclock_encode(&rc, buf, sizeof(buf)), 0);
	rc.c[1].name_len = 64;
	assert_int_not_equal(rowclock_encode(&rc, buf, sizeof(buf)), 0);
	rc.c[1].name_len = 0;
	assert_int_equal(rowclock_encode(&rc, buf, sizeof(buf)), 0);

	rc.c[1].name_len = 1;
	rc.n = REGISTRY_MAX_COLS + 1;
	assert_int_equal(rowclock_encode(&rc, buf, sizeof(buf)), 0);
}

static void test_describe(void **state)
{
	uint8_t origin_a[CS_KEY_LEN], origin_b[CS_KEY_LEN], buf[ROWCLOCK_BLOB_MAX];
	char hex_a[2 * CS_KEY_LEN + 1], hex_b[2 * CS_KEY_LEN + 1], want[512];
	struct rowclock rc;
	size_t len;
	char *text;

	(void)state;
	fill_origin(origin_a, 0x0f);
	fill_origin(origin_b, 0xf0);
	to_hex(origin_a, CS_KEY_LEN, hex_a);
	to_hex(origin_b, CS_KEY_LEN, hex_b);
	memset(&rc, 0, sizeof(rc));
	rc.cl = 7;
	/* Stored out of order; "alpha" sorts before its extension "alphabet". */
	set_col(&rc, "zeta", 5, origin_a);
	set_col(&rc, "alphabet", UINT64_MAX, origin_b);
	set_col(&rc, "mid", 5, origin_a);
	set_col(&rc, "alpha", (uint64_t)1 << 48, origin_b);
	len = rowclock_encode(&rc, buf, sizeof(buf));
	assert_true(len > 0);

	text = rowclock_describe(buf, len, 7);
	assert_non_null(text);
	snprintf(want, sizeof(want),
		 "alpha 281474976710656 %s\nalphabet 18446744073709551615 %s\nmid 5 %s\nzeta 5 "
		 "%s\n",
		 hex_b, hex_b, hex_a, hex_a);
	assert_string_equal(text, want);
	free(text);

	/* The row was deleted or re-created since: its clocks no longer count. */
	text = rowclock_describe(buf, len, 8);
	assert_non_null(text);
	assert_string_equal(text, "");
	free(text);

	/* No blob at all, and a damaged one. */
	text = rowclock_describe(buf, 0, 0);
	assert_non_null(text);
	assert_string_equal(text, "");
	free(text);
	/* Bases are not shown: a blob with them reads the same. */
	rc.c[0].base = ROWCLOCK_HELD;
	rc.c[0].base_hlc = 4;
	rc.c[0].base_origin = origin_b;
	rc.c[1].base = ROWCLOCK_NONE;
	len = rowclock_encode(&rc, buf, sizeof(buf));
	text = rowclock_describe(buf, len, 7);
	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	buf[0] = 3;
	assert_null(rowclock_describe(buf, len, 7));
}

/* Version 2 keeps each column's base: unknown, none, or a clock, which
 * shares the clock table with the writers' (a base is often the clock of
 * another column, whose value was not written again). A version 1 blob,
 * from before bases, reads with every base unknown. */
static void test_bases(void **state)
{
	const uint64_t t1 = ((uint64_t)1 << 48) + 5, t2 = ((uint64_t)1 << 48) + 9;
	uint8_t origin_a[CS_KEY_LEN], origin_b[CS_KEY_LEN], buf[ROWCLOCK_BLOB_MAX], v1[256];
	struct rowclock in, out;
	size_t len, n;

	(void)state;
	fill_origin(origin_a, 0x31);
	fill_origin(origin_b, 0x32);
	memset(&in, 0, sizeof(in));
	in.cl = 3;
	/* title was inserted at t1 by a; b then wrote seats over a's value. */
	set_col(&in, "title", t1, origin_a);
	in.c[0].base = ROWCLOCK_NONE;
	set_col(&in, "seats", t2, origin_b);
	in.c[1].base = ROWCLOCK_HELD;
	in.c[1].base_hlc = t1;
	in.c[1].base_origin = origin_a;
	set_col(&in, "venue", t2, origin_b); /* from a format 1 change set */
	len = rowclock_encode(&in, buf, sizeof(buf));
	/* Two clocks (seats' base is title's clock), names, index and base. */
	assert_int_equal(len, 1 + 1 + 1 + 2 * CLOCK_BYTES + (1 + 5 + 2) * 3);
	assert_int_equal(buf[0], ROWCLOCK_VERSION);
	assert_int_equal(buf[2], 2);
	assert_int_equal(buf[len - 1], ROWCLOCK_BASE_UNSET);
	assert_int_equal(buf[len - 2], 1);
	assert_int_equal(buf[len - 9], 0);
	assert_int_equal(buf[len - 17], ROWCLOCK_BASE_NONE);
	assert_int_equal(rowclock_decode(buf, len, &out), 0);
	assert_int_equal(out.n, 3);
	assert_int_equal(out.c[0].base, ROWCLOCK_NONE);
	assert_int_equal(out.c[1].base, ROWCLOCK_HELD);
	assert_true(out.c[1].base_hlc == t1);
	assert_memory_equal(out.c[1].base_origin, origin_a, CS_KEY_LEN);
	assert_int_equal(out.c[2].base, ROWCLOCK_UNKNOWN);
	assert_col(&out.c[1], "seats", t2, origin_b);

	/* A base clock no writer has gets a clock of its own. */
	in.c[1].base_hlc = t1 - 1;
	len = rowclock_encode(&in, buf, sizeof(buf));
	assert_int_equal(buf[2], 3);
	assert_int_equal(rowclock_decode(buf, len, &out), 0);
	assert_true(out.c[1].base_hlc == t1 - 1);

	/* An undefined base kind is refused, not written as something else. */
	in.c[2].base = (enum rowclock_base)7;
	assert_int_equal(rowclock_encode(&in, buf, sizeof(buf)), 0);

	/* Version 1, by hand: cl 3, one clock, two columns of it. */
	n = 0;
	v1[n++] = ROWCLOCK_VERSION_V1;
	v1[n++] = 3;
	v1[n++] = 1;
	memset(v1 + n, 0, 8);
	v1[n + 7] = 42;
	memcpy(v1 + n + 8, origin_b, CS_KEY_LEN);
	n += CLOCK_BYTES;
	memcpy(v1 + n, "\x05title\x00\x05seats\x00", 14);
	n += 14;
	assert_int_equal(rowclock_decode(v1, n, &out), 0);
	assert_true(out.cl == 3);
	assert_int_equal(out.n, 2);
	assert_col(&out.c[0], "title", 42, origin_b);
	assert_col(&out.c[1], "seats", 42, origin_b);
	assert_int_equal(out.c[0].base, ROWCLOCK_UNKNOWN);
	assert_int_equal(out.c[1].base, ROWCLOCK_UNKNOWN);
	/* Written again, it becomes version 2 with the bases still unknown. */
	len = rowclock_encode(&out, buf, sizeof(buf));
	assert_int_equal(len, n + 2);
	assert_int_equal(buf[0], ROWCLOCK_VERSION);
	assert_int_equal(rowclock_decode(buf, len, &out), 0);
	assert_int_equal(out.c[1].base, ROWCLOCK_UNKNOWN);
}

/* Migration 3 -> 4 on a store built by hand at version 3, in a fresh
 * directory of its own. */
static int setup(void **state)
{
	return store_fx_setup(state, "rowclock");
}

static int teardown(void **state)
{
	return store_fx_teardown(state);
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

static void clock_row(sqlite3 *db, const char *pk, const char *col, int64_t cl, int64_t hlc,
		      const uint8_t *origin)
{
	sqlite3_stmt *stmt;

	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT INTO repl_clock(tbl, pk, col, cl, hlc, origin) "
					    "VALUES ('note', ?, ?, ?, ?, ?)",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(stmt, 1, pk, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, col, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, cl);
	sqlite3_bind_int64(stmt, 4, hlc);
	sqlite3_bind_blob(stmt, 5, origin, CS_KEY_LEN, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
}

struct logrow {
	int64_t local_id;
	uint8_t origin[CS_KEY_LEN];
	const char *scope;
	int64_t seq, hlc;
	uint8_t hash[32];
	uint8_t envelope[3000]; /* past one page: overflow pages move too */
	size_t envelope_len;
};

/* An entry as schema 3 wrote it, or (with_len) as later schemas do for an
 * envelope kept in the row. */
static int log_insert(sqlite3 *db, const struct logrow *r, int with_len)
{
	sqlite3_stmt *stmt;
	int rc;

	assert_int_equal(
	    sqlite3_prepare_v2(db,
			       with_len ? "INSERT INTO changeset(origin, scope, seq, hlc, hash, "
					  "envelope, local_id, len) VALUES (?, ?, ?, ?, ?, ?, ?, "
					  "length(?6))"
					: "INSERT INTO changeset(origin, scope, seq, hlc, hash, "
					  "envelope, local_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
			       -1, &stmt, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(stmt, 1, r->origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, r->scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, r->seq);
	sqlite3_bind_int64(stmt, 4, r->hlc);
	sqlite3_bind_blob(stmt, 5, r->hash, sizeof(r->hash), SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 6, r->envelope, (int)r->envelope_len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, r->local_id);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc;
}

static int count_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int n;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	n = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

static void test_migration_3_to_4(void **state)
{
	struct store_fx *f = *state;
	const int64_t hlc_title = ((int64_t)1 << 48) + 77, hlc_body = ((int64_t)1 << 52) + 3;
	uint8_t origin_a[CS_KEY_LEN], origin_b[CS_KEY_LEN], origin_c[CS_KEY_LEN];
	char hex_a[2 * CS_KEY_LEN + 1], hex_b[2 * CS_KEY_LEN + 1], want[512];
	static struct logrow rows[2];
	struct logrow dup;
	uint8_t *env;
	size_t len;
	sqlite3_stmt *stmt;
	sqlite3 *db;
	int version = -1, i;
	lm_err err;

	assert_true(schema_latest() >= 4);
	fill_origin(origin_a, 0x21);
	fill_origin(origin_b, 0x42);
	fill_origin(origin_c, 0x63);
	to_hex(origin_a, CS_KEY_LEN, hex_a);
	to_hex(origin_b, CS_KEY_LEN, hex_b);

	/* A version 3 store as an older lmsync left it. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	for (i = 0; i < 3; i++)
		exec_ok(db, schema_migration(i));
	exec_ok(db, "PRAGMA user_version = 3");
	exec_ok(db, "INSERT INTO repl_row(tbl, pk, cl, scope) VALUES ('note', '[\"k\"]', 3, "
		    "'net')");
	clock_row(db, "[\"k\"]", "title", 3, hlc_title, origin_a);
	clock_row(db, "[\"k\"]", "body", 3, hlc_body, origin_b);
	/* Written before the row was deleted and re-created: never wins again. */
	clock_row(db, "[\"k\"]", "draft", 1, hlc_body + 1, origin_c);
	/* A deleted row whose clocks are all from its earlier life. */
	exec_ok(db, "INSERT INTO repl_row(tbl, pk, cl, scope) VALUES ('note', '[\"gone\"]', 4, "
		    "'net')");
	clock_row(db, "[\"gone\"]", "title", 3, hlc_title, origin_c);

	/* Two log entries, the later arrival inserted first. */
	for (i = 0; i < 2; i++) {
		struct logrow *r = &rows[i];

		r->local_id = i == 0 ? 9 : 4;
		fill_origin(r->origin, (uint8_t)(0x80 + i));
		r->scope = i == 0 ? "net" : "staff";
		r->seq = i == 0 ? 2 : 1;
		r->hlc = ((int64_t)1 << 49) + i;
		memset(r->hash, 0xa0 + i, sizeof(r->hash));
		for (size_t k = 0; k < sizeof(r->envelope); k++)
			r->envelope[k] = (uint8_t)(k * 31 + i);
		r->envelope_len = i == 0 ? sizeof(r->envelope) : 100;
		assert_int_equal(log_insert(db, r, 0), SQLITE_DONE);
	}
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	if (store_open(&f->st, f->path, STORE_OPEN, &err) != 0)
		fail_msg("store_open %s: %s", f->path, err.msg);
	assert_int_equal(store_schema_version(&f->st, &version, &err), 0);
	assert_int_equal(version, schema_latest());

	/* The live row keeps its two current clocks; the stale one is gone.
	 * The deleted row kept none, and reads as no clocks. */
	assert_int_equal(
	    sqlite3_prepare_v2(f->st.db,
			       "SELECT pk, cl, scope, lm_clocks(cl, clocks), clocks IS "
			       "NULL FROM repl_row ORDER BY pk",
			       -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "[\"gone\"]");
	assert_int_equal(sqlite3_column_int(stmt, 1), 4);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 3), "");
	assert_int_equal(sqlite3_column_int(stmt, 4), 1);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "[\"k\"]");
	assert_int_equal(sqlite3_column_int(stmt, 1), 3);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 2), "net");
	snprintf(want, sizeof(want), "body %lld %s\ntitle %lld %s\n", (long long)hlc_body, hex_b,
		 (long long)hlc_title, hex_a);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 3), want);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);

	assert_int_equal(count_of(f->st.db, "SELECT count(*) FROM sqlite_master WHERE name IN "
					    "('repl_clock', 'changeset_v4')"),
			 0);

	/* Every log column survived; the table is now keyed by arrival order
	 * (rowid is local_id). */
	assert_int_equal(
	    sqlite3_prepare_v2(f->st.db,
			       "SELECT rowid, local_id, origin, scope, seq, hlc, hash, "
			       "envelope, at, len FROM changeset ORDER BY local_id",
			       -1, &stmt, NULL),
	    SQLITE_OK);
	for (i = 1; i >= 0; i--) {
		const struct logrow *r = &rows[i];

		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(stmt, 0), r->local_id);
		assert_int_equal(sqlite3_column_int64(stmt, 1), r->local_id);
		assert_int_equal(sqlite3_column_bytes(stmt, 2), CS_KEY_LEN);
		assert_memory_equal(sqlite3_column_blob(stmt, 2), r->origin, CS_KEY_LEN);
		assert_string_equal((const char *)sqlite3_column_text(stmt, 3), r->scope);
		assert_int_equal(sqlite3_column_int64(stmt, 4), r->seq);
		assert_int_equal(sqlite3_column_int64(stmt, 5), r->hlc);
		assert_int_equal(sqlite3_column_bytes(stmt, 6), sizeof(r->hash));
		assert_memory_equal(sqlite3_column_blob(stmt, 6), r->hash, sizeof(r->hash));
		assert_int_equal(sqlite3_column_bytes(stmt, 7), r->envelope_len);
		assert_memory_equal(sqlite3_column_blob(stmt, 7), r->envelope, r->envelope_len);
		/* Kept in the row (schema 7 moved only new ones to the file), and
		 * read back like any other. */
		assert_int_equal(sqlite3_column_type(stmt, 8), SQLITE_NULL);
		assert_int_equal(sqlite3_column_int64(stmt, 9), r->envelope_len);
		assert_int_equal(cslog_envelope(&f->st, r->local_id, &env, &len, &err), 1);
		assert_int_equal(len, r->envelope_len);
		assert_memory_equal(env, r->envelope, len);
		free(env);
	}
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);

	/* (origin, scope, seq) is still unique; the next seq is accepted. */
	dup = rows[0];
	dup.local_id = 20;
	assert_int_equal(log_insert(f->st.db, &dup, 1), SQLITE_CONSTRAINT_UNIQUE);
	dup.seq = 3;
	assert_int_equal(log_insert(f->st.db, &dup, 1), SQLITE_DONE);
	assert_int_equal(count_of(f->st.db, "SELECT count(*) FROM changeset"), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_encode_refuses),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_bases),
	    cmocka_unit_test_setup_teardown(test_migration_3_to_4, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
