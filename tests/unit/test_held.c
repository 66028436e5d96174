/* SPDX-License-Identifier: MIT */
/* Rows held back (store/held.h): whoever writes a replicated row, one whose
 * text looks like a fødselsnummer is never sealed.
 *
 *  - a row that holds one in a column or its key is not sealed, its
 *    captures go, and repl_held names the column; the rows sealed with it
 *    are not held up;
 *  - a later change that still holds one keeps it back; the change that
 *    removes it seals the row with every column, since none of it went;
 *  - a held row deleted is sealed as a delete and no longer held;
 *  - digits inside an identifier (a hex site id) are not taken for one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/changeset.h"
#include "store/cslog.h"
#include "store/held.h"
#include "store/registry.h"
#include "store/seal.h"
#include "store/store.h"
#include "tests/support/store_fx.h"
#include "tests/support/tmpdir.h"

#define FNR "15057545612" /* valid check digits */

struct fixture {
	char dir[256], path[512];
	struct store st;
	uint8_t pk[32], sk[64];
	uint64_t now;
	int64_t logged; /* change sets in the log so far */
};

static int64_t int_of(struct store *st, const char *sql)
{
	int64_t v;
	lm_err err;

	if (store_pragma_int(st, sql, &v, &err) != 0)
		fail_msg("%s", err.msg);
	return v;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	lm_err err;

	if (f == NULL ||
	    tmpdir_make("held", f->dir, sizeof(f->dir), "store.db", f->path, sizeof(f->path)) != 0)
		return -1;
	if (store_fx_open_claimed(&f->st, f->path, 9, f->pk, f->sk, &err) != 0)
		fail_msg("opening the store: %s", err.msg);
	store_fx_exec(&f->st,
		      "CREATE TABLE course (id TEXT NOT NULL PRIMARY KEY, scope TEXT NOT NULL "
		      "DEFAULT '', title "
		      "TEXT, description TEXT, seats INTEGER)");
	if (registry_add(&f->st, "course", "id", "scope", POLICY_SCOPE, &err) != 0)
		fail_msg("%s", err.msg);
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

/* Seal; the rows of the change sets it made, in order, as "id:ncols" (a
 * delete: "id:-"), joined by spaces. */
static void seal_rows(struct fixture *f, char *out, size_t cap)
{
	struct seal_key key = {f->pk, f->sk};
	struct cslog_entry e[16];
	size_t n, i, r, used = 0;
	int made = 0;
	lm_err err;

	f->now += 1000;
	if (seal_pending(&f->st, &key, f->now, &made, &err) != 0)
		fail_msg("seal_pending: %s", err.msg);
	assert_int_equal(cslog_scan(&f->st, f->logged, e, 16, &n, &err), 0);
	assert_int_equal((int)n, made);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		struct changeset cs;
		uint8_t *env;
		size_t len;

		assert_int_equal(cslog_envelope(&f->st, e[i].local_id, &env, &len, &err), 1);
		assert_int_equal(changeset_decode(env, len, &cs, &err), 0);
		for (r = 0; r < cs.nrows; r++) {
			const struct cs_row *row = &cs.rows[r];

			assert_int_equal(row->pk[0].type, CS_TEXT);
			if (row->cl % 2)
				used += (size_t)snprintf(out + used, cap - used, "%s%.*s:%zu",
							 used ? " " : "", (int)row->pk[0].len,
							 (const char *)row->pk[0].p, row->ncols);
			else
				used += (size_t)snprintf(out + used, cap - used, "%s%.*s:-",
							 used ? " " : "", (int)row->pk[0].len,
							 (const char *)row->pk[0].p);
		}
		changeset_free(&cs);
		free(env);
		f->logged = e[i].local_id;
	}
}

static void test_held_and_sent_when_clean(void **state)
{
	struct fixture *f = *state;
	char rows[256];

	/* Any writer: plain SQL, no lmsync check on the way. */
	store_fx_exec(&f->st, "INSERT INTO course VALUES ('k1', 'net', 'KOLS-skole', 'Deltaker " FNR
			      " meldte seg på', 12), ('k2', 'net', 'Temakveld', 'Velkommen', 30)");
	seal_rows(f, rows, sizeof(rows));
	assert_string_equal(rows, "k2:3");
	assert_int_equal(int_of(&f->st, "SELECT count(*) FROM repl_held WHERE tbl = 'course' AND "
					"pk = '[\"k1\"]' AND col = 'description'"),
			 1);
	assert_int_equal(int_of(&f->st, "SELECT count(*) FROM repl_capture"), 0);
	assert_int_equal(f->st.held_rows, 1);

	/* Still there after a change of another column: still not sent. */
	store_fx_exec(&f->st, "UPDATE course SET seats = 14 WHERE id = 'k1'");
	seal_rows(f, rows, sizeof(rows));
	assert_string_equal(rows, "");
	assert_int_equal(f->st.held_rows, 2);

	/* Removed: the whole row goes (title, description, seats), once. */
	store_fx_exec(&f->st,
		      "UPDATE course SET description = 'Deltaker meldte seg på' WHERE id = 'k1'");
	seal_rows(f, rows, sizeof(rows));
	assert_string_equal(rows, "k1:3");
	assert_int_equal(int_of(&f->st, "SELECT count(*) FROM repl_held"), 0);
	store_fx_exec(&f->st, "UPDATE course SET seats = 15 WHERE id = 'k1'");
	seal_rows(f, rows, sizeof(rows));
	assert_string_equal(rows, "k1:1");
}

static void test_held_in_the_key_or_deleted(void **state)
{
	struct fixture *f = *state;
	char rows[256];

	/* As 6 + 5 in the key, and a hex id that merely holds the digits. */
	store_fx_exec(&f->st, "INSERT INTO course VALUES ('150575-45612', 'net', 'A', NULL, 1), "
			      "('8a" FNR "ff', 'net', 'B', '" FNR "x', 2)");
	seal_rows(f, rows, sizeof(rows));
	assert_string_equal(rows, "8a" FNR "ff:3");
	assert_int_equal(int_of(&f->st, "SELECT count(*) FROM repl_held WHERE col = 'key'"), 1);

	/* A held row deleted: its delete goes (receivers never had it, so it
	 * is harmless) and it is no longer held. */
	store_fx_exec(&f->st, "DELETE FROM course WHERE id = '150575-45612'");
	seal_rows(f, rows, sizeof(rows));
	assert_string_equal(rows, "150575-45612:-");
	assert_int_equal(int_of(&f->st, "SELECT count(*) FROM repl_held"), 0);
}

struct listed {
	int n;
	char last[256];
};

static int list_one(const struct held_row *h, void *ctx)
{
	struct listed *l = ctx;

	l->n++;
	snprintf(l->last, sizeof(l->last), "%s %s %s", h->table, h->key, h->column);
	return 0;
}

static void test_held_listed(void **state)
{
	struct fixture *f = *state;
	struct listed l = {0, ""};
	char rows[256];
	lm_err err;

	store_fx_exec(&f->st, "INSERT INTO course VALUES ('k3', 'net', 'Nr. " FNR "', NULL, 1)");
	seal_rows(f, rows, sizeof(rows));
	assert_string_equal(rows, "");
	assert_int_equal(held_list(&f->st, list_one, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.last, "course [\"k3\"] title");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_held_and_sent_when_clean, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_held_in_the_key_or_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_held_listed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
