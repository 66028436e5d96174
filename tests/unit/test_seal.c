/* SPDX-License-Identifier: MIT */
/* Sealing, byte for byte, and the row key reader it uses.
 *
 * The change sets a seal makes are signed and immutable, so what a given
 * store seals must never change with the code that seals it. One fixed
 * story (keys of every kind, inserts spread over several change sets and
 * scopes, updates of some columns, deletes, re-creations, rows moved to
 * another scope, a row inserted, updated and deleted before a seal, a table
 * of 23 columns) is sealed round by round with a fixed key and clock, and
 * after each round the digest of every envelope in the log and of every
 * repl_row entry (the column clocks and scope registers sealing records)
 * must be the one the code made before sealing was reworked for speed.
 * Changed on purpose since: the repl_row digests when the clock blob went
 * to version 2 (a base byte per column, rowclock.h), then the log's and
 * repl_row's when sealing went to change set format 2 (rows carry bases;
 * test_merge checks the bases a seal puts on the wire and in repl_row).
 *
 * Built a second time as test_seal_flush with seal.c compiled in and its
 * stamps written out after every row (STAMPS_MAX 0), the same digests show
 * that writing the column clocks in pieces changes nothing.
 *
 * rowkey_from_json reads plain keys in C and leaves the others to SQLite's
 * json_each; both must give the values json_each gives, and the plain ones
 * must not go to SQLite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "store/cslog.h"
#include "store/registry.h"
#include "store/rowkey.h"
#include "store/seal.h"
#include "store/store.h"
#include "tests/support/store_fx.h"
#include "tests/support/tmpdir.h"

struct fixture {
	char dir[256], path[512];
	struct store st;
	uint8_t pk[32], sk[64];
	uint64_t now;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	lm_err err;

	if (f == NULL ||
	    tmpdir_make("seal", f->dir, sizeof(f->dir), "store.db", f->path, sizeof(f->path)) != 0)
		return -1;
	if (store_fx_open_claimed(&f->st, f->path, 7, f->pk, f->sk, &err) != 0)
		fail_msg("opening the store: %s", err.msg);
	f->now = UINT64_C(1767225600000);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(&f->st);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static void hash_column(crypto_generichash_state *h, sqlite3_stmt *stmt, int i)
{
	const void *p = sqlite3_column_blob(stmt, i);
	int32_t len = sqlite3_column_bytes(stmt, i);
	uint8_t type = (uint8_t)sqlite3_column_type(stmt, i);

	crypto_generichash_update(h, &type, 1);
	crypto_generichash_update(h, (const uint8_t *)&len, sizeof(len));
	if (p != NULL)
		crypto_generichash_update(h, p, (size_t)len);
}

/* BLAKE2b of every value sql yields, as 16 hex digits. */
static void digest(struct store *st, const char *sql, char hex[17])
{
	crypto_generichash_state h;
	sqlite3_stmt *stmt;
	uint8_t out[32];
	int i;

	assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
	crypto_generichash_init(&h, NULL, 0, sizeof(out));
	while (sqlite3_step(stmt) == SQLITE_ROW)
		for (i = 0; i < sqlite3_column_count(stmt); i++)
			hash_column(&h, stmt, i);
	sqlite3_finalize(stmt);
	crypto_generichash_final(&h, out, sizeof(out));
	sodium_bin2hex(hex, 17, out, 8);
}

/* lm_envelope(local_id): the envelope, wherever the store keeps it. */
static void sql_envelope(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct store *st = sqlite3_user_data(ctx);
	uint8_t *env;
	size_t len;
	lm_err err;

	(void)argc;
	if (cslog_envelope(st, sqlite3_value_int64(argv[0]), &env, &len, &err) != 1) {
		sqlite3_result_error(ctx, "no such change set", -1);
		return;
	}
	sqlite3_result_blob(ctx, env, (int)len, free);
}

/* Seal at the next second; the log and repl_row must digest to the given
 * values and count change sets must have been made. */
static void seal_expect(struct fixture *f, const char *round, int count, const char *log_hex,
			const char *rows_hex)
{
	struct seal_key key = {f->pk, f->sk};
	char log_got[17], rows_got[17];
	int made = 0;
	lm_err err;

	f->now += 1000;
	if (seal_pending(&f->st, &key, f->now, &made, &err) != 0)
		fail_msg("%s: seal_pending: %s", round, err.msg);
	assert_int_equal(sqlite3_create_function(f->st.db, "lm_envelope", 1, SQLITE_UTF8, &f->st,
						 sql_envelope, NULL, NULL),
			 SQLITE_OK);
	digest(&f->st,
	       "SELECT local_id, origin, scope, seq, hlc, hash, lm_envelope(local_id) FROM "
	       "changeset ORDER BY local_id",
	       log_got);
	digest(&f->st,
	       "SELECT tbl, pk, cl, scope, scope_hlc, scope_origin, clocks FROM repl_row "
	       "ORDER BY tbl, pk",
	       rows_got);
	if (made != count || strcmp(log_got, log_hex) != 0 || strcmp(rows_got, rows_hex) != 0)
		fail_msg("%s: sealed %d change sets, log %s, rows %s; expected %d, %s, %s", round,
			 made, log_got, rows_got, count, log_hex, rows_hex);
}

static void insert_courses(struct store *st, int from, int to)
{
	static const char *const scopes[] = {"molde", "volda", "orsta"};
	char sql[1024], desc[600];
	int i, j;

	store_fx_exec(st, "BEGIN");
	for (i = from; i < to; i++) {
		for (j = 0; j < (int)sizeof(desc) - 1; j++)
			desc[j] = "abcdefghij klmnopqrst"[(i * 7 + j * 13) % 21];
		desc[100 + i % 400] = '\0';
		snprintf(sql, sizeof(sql),
			 "INSERT INTO course(owner, id, scope, title, description, venue, seats) "
			 "VALUES ('o', 'kurs-%05d', '%s', 'Kurs %d', '%s', %s, %d)",
			 i, scopes[i % 3], i, desc, i % 5 ? "'Molde sjukehus'" : "NULL", i % 30);
		store_fx_exec(st, sql);
	}
	store_fx_exec(st, "COMMIT");
}

static void test_seal_bytes(void **state)
{
	struct fixture *f = *state;
	lm_err err;
	char sql[256];
	int i;

	store_fx_exec(&f->st,
		      "CREATE TABLE course (owner TEXT NOT NULL, id TEXT NOT NULL, scope TEXT "
		      "NOT NULL DEFAULT '', title TEXT, description TEXT, venue TEXT, seats "
		      "INTEGER, PRIMARY KEY (owner, id))");
	store_fx_exec(&f->st,
		      "CREATE TABLE misc (k NOT NULL PRIMARY KEY, scope TEXT NOT NULL DEFAULT "
		      "'x', a, b REAL, c BLOB, d TEXT)");
	store_fx_exec(&f->st,
		      "CREATE TABLE wide (a INTEGER NOT NULL, b TEXT NOT NULL, scope TEXT NOT "
		      "NULL DEFAULT 'w', c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, "
		      "c13, c14, c15, c16, c17, c18, c19, PRIMARY KEY (b, a))");
	if (registry_add(&f->st, "course", "owner,id", "scope", POLICY_SCOPE, &err) != 0 ||
	    registry_add(&f->st, "misc", "k", "scope", POLICY_SCOPE, &err) != 0 ||
	    registry_add(&f->st, "wide", "b,a", "scope", POLICY_SCOPE, &err) != 0)
		fail_msg("registry_add: %s", err.msg);

	insert_courses(&f->st, 0, 700);
	seal_expect(f, "inserts", 6, "e7268b3ff5a72d79", "db0b879215899bc2");

	store_fx_exec(&f->st,
		      "INSERT INTO misc(k, scope, a, b, c, d) VALUES (1, 'x', 1, 1.5, x'00ff', "
		      "'t'), (-9223372036854775808, 'y', NULL, -0.0, x'', ''), (2.5, 'x', "
		      "'a\"b', 1e300, NULL, 'ø'), ('plain', 'x', 3, NULL, NULL, NULL), "
		      "('quo\"te', 'y', 4, 2, x'01', '\\'), ('tab\tx', 'x', 5, 3, NULL, NULL), "
		      "('æøå', 'x', 6, 4, NULL, NULL), ('', 'x', 8, 6, NULL, NULL), "
		      "(123456789012345678, 'y', 9, NULL, NULL, NULL), "
		      "(-1234567890123456789, 'y', 10, NULL, NULL, NULL)");
	store_fx_exec(&f->st, "BEGIN");
	for (i = 0; i < 60; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO wide(a, b, scope, c0, c5, c19) VALUES (%d, 'k%d', '%s', %d, "
			 "'v%d', x'%02x')",
			 i, i % 7, i % 2 ? "molde" : "volda", i, i, i);
		store_fx_exec(&f->st, sql);
	}
	store_fx_exec(&f->st, "COMMIT");
	seal_expect(f, "keys", 4, "df8d8ca8a02a8b66", "b0f4cd1f93e0d520");

	store_fx_exec(&f->st, "UPDATE course SET seats = seats + 1 WHERE rowid % 3 = 0");
	store_fx_exec(&f->st,
		      "UPDATE course SET title = 'Ny', venue = 'Ålesund' WHERE rowid % 7 = 0");
	store_fx_exec(&f->st, "UPDATE course SET title = 'Ny2' WHERE rowid % 14 = 0");
	store_fx_exec(&f->st, "UPDATE misc SET a = 99, c = x'0102' WHERE k = 'plain' OR k = 1");
	store_fx_exec(&f->st, "UPDATE wide SET c3 = 1, c1 = 2, c19 = NULL WHERE a % 5 = 0");
	store_fx_exec(&f->st, "UPDATE wide SET c0 = c0 WHERE a % 4 = 0");
	seal_expect(f, "updates", 4, "4d286887d066498a", "7c8d57b722532e41");

	store_fx_exec(&f->st, "DELETE FROM course WHERE rowid % 11 = 0");
	store_fx_exec(&f->st, "DELETE FROM misc WHERE k = 'quo\"te'");
	store_fx_exec(&f->st,
		      "INSERT OR REPLACE INTO misc(k, scope, a) VALUES ('plain', 'y', 100)");
	store_fx_exec(&f->st, "INSERT INTO misc(k, scope, a) VALUES ('tmp', 'x', 1)");
	store_fx_exec(&f->st, "UPDATE misc SET a = 2 WHERE k = 'tmp'");
	store_fx_exec(&f->st, "DELETE FROM misc WHERE k = 'tmp'");
	store_fx_exec(&f->st, "DELETE FROM wide WHERE a % 9 = 0");
	seal_expect(f, "deletes", 5, "9deabc1f8014118e", "d6e9f0f82d44088f");

	store_fx_exec(&f->st,
		      "INSERT INTO misc(k, scope, a, d) VALUES ('quo\"te', 'x', 5, 'again')");
	store_fx_exec(&f->st, "UPDATE course SET description = 'kort' WHERE rowid % 11 = 1");
	store_fx_exec(&f->st, "DELETE FROM wide WHERE a = 1");
	store_fx_exec(&f->st, "INSERT INTO wide(a, b, scope, c2) VALUES (1, 'k1', 'orsta', 5)");
	store_fx_exec(&f->st, "UPDATE wide SET c2 = 6, c7 = 'z' WHERE a = 1");
	store_fx_exec(&f->st, "UPDATE wide SET c4 = 4 WHERE a = 2");
	store_fx_exec(&f->st, "DELETE FROM wide WHERE a = 2");
	seal_expect(f, "re-creations", 4, "48221b44e5d3ac66", "85b5169048bcdd7b");

	store_fx_exec(&f->st, "UPDATE course SET seats = seats + 2, venue = 'Alle'");
	seal_expect(f, "every row", 3, "6744bdae2c9e3caa", "626a8730e9e63bf3");
	seal_expect(f, "nothing", 0, "6744bdae2c9e3caa", "626a8730e9e63bf3");
}

/* json_array() of sql's values, read by rowkey_from_json, must give what
 * json_each gives; fast: the C reader must take it (nothing from SQLite). */
static void expect_key(struct store *st, const char *values, int fast)
{
	char sql[512], *json;
	sqlite3_stmt *stmt;
	struct rowkey k;
	size_t n = 0;
	lm_err err;

	snprintf(sql, sizeof(sql), "SELECT json_array(%s)", values);
	assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	json = strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	assert_non_null(json);
	if (rowkey_from_json(st, &k, "t", json, &err) != 0)
		fail_msg("%s: %s", json, err.msg);
	if (fast && k.owned[0] != NULL)
		fail_msg("%s went to SQLite, not to the C reader", json);
	if (!fast && k.owned[0] == NULL)
		fail_msg("%s was read in C; SQLite should have read it", json);
	assert_int_equal(sqlite3_prepare_v2(st->db, "SELECT value FROM json_each(?) ORDER BY key",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		const struct cs_value *v = &k.values[n++];

		assert_true(n <= k.n);
		switch (sqlite3_column_type(stmt, 0)) {
		case SQLITE_INTEGER:
			assert_int_equal(v->type, CS_INT);
			assert_true(v->i == sqlite3_column_int64(stmt, 0));
			break;
		case SQLITE_FLOAT:
			assert_int_equal(v->type, CS_REAL);
			assert_true(v->r == sqlite3_column_double(stmt, 0));
			break;
		case SQLITE_TEXT:
			assert_int_equal(v->type, CS_TEXT);
			assert_int_equal(v->len, (size_t)sqlite3_column_bytes(stmt, 0));
			assert_memory_equal(v->p, sqlite3_column_text(stmt, 0), v->len);
			break;
		default:
			fail_msg("%s: value %zu of an unexpected type", json, n);
		}
	}
	sqlite3_finalize(stmt);
	assert_int_equal(n, k.n);
	rowkey_free(&k);
	free(json);
}

static void test_rowkey_from_json(void **state)
{
	struct fixture *f = *state;
	struct rowkey k;
	lm_err err;

	expect_key(&f->st, "'o', 'kurs-0000001'", 1);
	expect_key(&f->st, "0", 1);
	expect_key(&f->st, "-1, 7, 'x'", 1);
	expect_key(&f->st, "123456789012345678, -123456789012345678", 1);
	expect_key(&f->st, "''", 1);
	expect_key(&f->st, "'æøå ~ {}[],:'", 1);
	expect_key(&f->st, "1, 2, 3, 4, 5, 6, 7, 8", 1);
	/* 19 digits or more, reals, escapes and control characters: SQLite. */
	expect_key(&f->st, "1234567890123456789", 0);
	expect_key(&f->st, "-9223372036854775808", 0);
	expect_key(&f->st, "2.5", 0);
	expect_key(&f->st, "'a\"b'", 0);
	expect_key(&f->st, "'back\\slash'", 0);
	expect_key(&f->st, "'tab' || char(9)", 0);
	expect_key(&f->st, "1, 'x', 2.0", 0);
	/* More values than a key holds, or none: refused either way. */
	assert_int_equal(rowkey_from_json(&f->st, &k, "t", "[1,2,3,4,5,6,7,8,9]", &err), -1);
	assert_int_equal(rowkey_from_json(&f->st, &k, "t", "[1,2", &err), -1);
	assert_int_equal(rowkey_from_json(&f->st, &k, "t", "[]", &err), 0);
	assert_int_equal(k.n, 0);
	rowkey_free(&k);
	assert_int_equal(rowkey_from_json(&f->st, &k, "t", "[01]", &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_seal_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rowkey_from_json, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
