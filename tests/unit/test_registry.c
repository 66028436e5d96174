/* SPDX-License-Identifier: MIT */
/* The table registry and its capture triggers, on a real store: what an
 * insert, update and delete record, the causal length of re-created rows,
 * silence while a merge applies, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/registry.h"
#include "store/store.h"
#include "tests/support/store_fx.h"

/* A new store with the test's owner-policy table course registered. */
static int setup(void **state)
{
	struct store_fx *f;
	lm_err err;

	if (store_fx_setup_open(state, "registry") != 0)
		return -1;
	f = *state;
	if (store_meta_set(&f->st, "site_id", "o1", &err) != 0) {
		(void)store_fx_teardown(state);
		return -1;
	}
	store_fx_exec(&f->st, "CREATE TABLE course (owner TEXT NOT NULL, id TEXT NOT NULL, "
			      "scope TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '', "
			      "seats INTEGER, PRIMARY KEY (owner, id))");
	if (registry_add(&f->st, "course", "owner,id", "scope", POLICY_OWNER, &err) != 0)
		fail_msg("registry_add: %s", err.msg);
	return 0;
}

static int teardown(void **state)
{
	return store_fx_teardown(state);
}

static int count(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt;
	int n = -1;

	assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

static void test_capture_insert_update_delete(void **state)
{
	struct store_fx *f = *state;
	struct store *st = &f->st;

	store_fx_exec(st, "INSERT INTO course VALUES ('o1', 'c1', 'net', 'KOLS-skole', 12)");
	assert_int_equal(count(st, "SELECT count(*) FROM repl_capture WHERE tbl = 'course' AND "
				   "pk = '[\"o1\",\"c1\"]' AND col IS NULL"),
			 1);
	assert_int_equal(count(st, "SELECT cl FROM repl_row WHERE pk = '[\"o1\",\"c1\"]'"), 1);
	assert_int_equal(count(st, "SELECT count(*) FROM repl_row WHERE scope = 'net'"), 1);

	store_fx_exec(st, "UPDATE course SET title = 'Mestringstreff' WHERE id = 'c1'");
	assert_int_equal(count(st, "SELECT count(*) FROM repl_capture WHERE col = 'title'"), 1);
	/* An update that changes nothing records nothing. */
	store_fx_exec(st, "UPDATE course SET seats = 12 WHERE id = 'c1'");
	assert_int_equal(count(st, "SELECT count(*) FROM repl_capture WHERE col = 'seats'"), 0);

	store_fx_exec(st, "DELETE FROM course WHERE id = 'c1'");
	assert_int_equal(count(st, "SELECT cl FROM repl_row WHERE pk = '[\"o1\",\"c1\"]'"), 2);
	assert_int_equal(count(st, "SELECT count(*) FROM repl_capture WHERE col IS NULL"), 2);

	/* Re-creation: odd again, one more than the delete. */
	store_fx_exec(st, "INSERT INTO course(owner, id, scope) VALUES ('o1', 'c1', 'net')");
	assert_int_equal(count(st, "SELECT cl FROM repl_row WHERE pk = '[\"o1\",\"c1\"]'"), 3);
}

static void test_quiet_while_applying(void **state)
{
	struct store_fx *f = *state;
	struct store *st = &f->st;

	store_fx_exec(st, "BEGIN; INSERT INTO repl_applying VALUES (1); "
			  "INSERT INTO course VALUES ('o1', 'c2', 'net', 'x', 1); "
			  "UPDATE course SET title = 'y'; DELETE FROM course; "
			  "DELETE FROM repl_applying; COMMIT");
	assert_int_equal(count(st, "SELECT count(*) FROM repl_capture"), 0);
	assert_int_equal(count(st, "SELECT count(*) FROM repl_row"), 0);
}

static void test_key_and_scope_are_fixed(void **state)
{
	struct store_fx *f = *state;
	struct store *st = &f->st;
	lm_err err;

	store_fx_exec(st, "INSERT INTO course VALUES ('o1', 'c3', 'net', 'x', 1)");
	assert_int_equal(store_exec(st, "UPDATE course SET id = 'c4'", &err), -1);
	assert_non_null(strstr(err.msg, "cannot change"));
	assert_int_equal(store_exec(st, "UPDATE course SET scope = 'other'", &err), -1);
	assert_non_null(strstr(err.msg, "cannot change"));
	assert_int_equal(count(st, "SELECT count(*) FROM course WHERE id = 'c3' AND scope = 'net'"),
			 1);
}

/* A row without a scope would stop every later seal: refused at write
 * time, with nothing captured, whoever writes it. */
static void test_row_needs_a_scope(void **state)
{
	struct store_fx *f = *state;
	struct store *st = &f->st;
	lm_err err;

	assert_int_equal(store_exec(st, "INSERT INTO course(owner, id) VALUES ('o1', 'c5')", &err),
			 -1);
	assert_non_null(strstr(err.msg, "needs a scope"));
	assert_int_equal(
	    store_exec(st, "INSERT INTO course VALUES ('o1', 'c6', x'6e6574', 'x', 1)", &err), -1);
	assert_int_equal(
	    store_exec(st, "INSERT INTO course VALUES ('o1', 'c7', printf('%.129c', 's'), 'x', 1)",
		       &err),
	    -1);
	assert_int_equal(count(st, "SELECT count(*) FROM repl_capture"), 0);
	store_fx_exec(st, "INSERT INTO course VALUES ('o1', 'c8', printf('%.128c', 's'), 'x', 1)");
	assert_int_equal(count(st, "SELECT count(*) FROM course"), 1);
}

static void test_owner_guard(void **state)
{
	struct store_fx *f = *state;
	struct store *st = &f->st;
	lm_err err;

	/* Rows of another owner: not insertable, updatable or deletable here... */
	assert_int_equal(
	    store_exec(st, "INSERT INTO course VALUES ('o2', 'c9', 'net', 'x', 1)", &err), -1);
	assert_non_null(strstr(err.msg, "belongs to another site"));
	/* ...except by a merge, which is how they arrive. */
	store_fx_exec(st, "BEGIN; INSERT INTO repl_applying VALUES (1); "
			  "INSERT INTO course VALUES ('o2', 'c9', 'net', 'x', 1); "
			  "DELETE FROM repl_applying; COMMIT");
	assert_int_equal(
	    store_exec(st, "UPDATE course SET title = 'mine now' WHERE id = 'c9'", &err), -1);
	assert_int_equal(store_exec(st, "DELETE FROM course WHERE id = 'c9'", &err), -1);
	assert_int_equal(count(st, "SELECT count(*) FROM course WHERE title = 'x'"), 1);
	assert_int_equal(count(st, "SELECT count(*) FROM repl_capture"), 0);
}

static void test_refusals(void **state)
{
	struct store_fx *f = *state;
	struct store *st = &f->st;
	lm_err err;

	store_fx_exec(st, "CREATE TABLE strict_t (id TEXT NOT NULL PRIMARY KEY, scope TEXT, "
			  "must TEXT NOT NULL)");
	assert_int_equal(registry_add(st, "strict_t", "id", "scope", POLICY_SCOPE, &err), -1);
	assert_non_null(strstr(err.msg, "strict_t.must is NOT NULL without a default"));
	/* A NULL in a key could never be sealed: keys must be NOT NULL. */
	store_fx_exec(st, "CREATE TABLE loose_t (id TEXT PRIMARY KEY, scope TEXT)");
	assert_int_equal(registry_add(st, "loose_t", "id", "scope", POLICY_SCOPE, &err), -1);
	assert_non_null(strstr(err.msg, "loose_t.id is a key column and must be NOT NULL"));
	assert_int_equal(registry_add(st, "nope", "id", "scope", POLICY_SCOPE, &err), -1);
	assert_non_null(strstr(err.msg, "no table 'nope'"));
	assert_int_equal(registry_add(st, "course", "owner,missing", "scope", POLICY_OWNER, &err),
			 -1);
	assert_non_null(strstr(err.msg, "no column 'missing'"));
	assert_int_equal(registry_add(st, "course", "owner,id", "nothere", POLICY_OWNER, &err), -1);
	assert_int_equal(registry_add(st, "course", "owner,id", "id", POLICY_OWNER, &err), -1);
	assert_int_equal(registry_add(st, "bad name", "id", "scope", POLICY_OWNER, &err), -1);
	/* A refused registration leaves nothing behind. */
	assert_int_equal(count(st, "SELECT count(*) FROM repl_table WHERE name <> 'lm_member'"), 1);
}

static void test_get_and_reinstall(void **state)
{
	struct store_fx *f = *state;
	struct store *st = &f->st;
	struct repl_table t;
	lm_err err;

	assert_int_equal(registry_get(st, "course", &t, &err), 0);
	assert_int_equal(t.npk, 2);
	assert_string_equal(t.cols[0], "owner");
	assert_string_equal(t.cols[1], "id");
	assert_string_equal(t.cols[t.scope_col], "scope");
	assert_int_equal(t.ncols, 5);
	assert_int_equal(t.policy, POLICY_OWNER);

	/* A column added later is captured once the triggers are re-installed. */
	store_fx_exec(st, "ALTER TABLE course ADD COLUMN venue TEXT");
	assert_int_equal(registry_reinstall_all(st, &err), 0);
	store_fx_exec(st, "INSERT INTO course VALUES ('o1', 'c5', 'net', 'x', 1, 'Molde')");
	store_fx_exec(st, "UPDATE course SET venue = 'Rauma' WHERE id = 'c5'");
	assert_int_equal(count(st, "SELECT count(*) FROM repl_capture WHERE col = 'venue'"), 1);
	assert_int_equal(registry_get(st, "absent", &t, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_capture_insert_update_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quiet_while_applying, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_and_scope_are_fixed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_row_needs_a_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owner_guard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_and_reinstall, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
