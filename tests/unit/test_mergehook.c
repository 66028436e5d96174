/* SPDX-License-Identifier: MIT */
/* Merging with triggers off (store/mergehook.h), between real store files:
 * a trigger of the user's own still sees merged rows, a hook stands in for
 * the triggers it names (and only then are they skipped), a trigger created
 * later is noticed, and local writes on the merging connection are captured
 * again after every merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mergehook.h"
#include "tests/support/replica.h"
#include "tests/support/replica_check.h"
#include "tests/support/tmpdir.h"

#define EPOCH_MS UINT64_C(1795440000000)
#define SKEW_MS	 UINT64_C(300000)

struct fx {
	char dir[64];
	struct replica a, b;
	int calls; /* of the hook */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || tmpdir_make("mergehook", f->dir, sizeof(f->dir), NULL, NULL, 0) != 0) {
		free(f);
		return -1;
	}
	replica_make(&f->a, f->dir, "a", 'A');
	replica_make(&f->b, f->dir, "b", 'B');
	f->b.st.quiet_min_bytes = 0; /* quiet however small (but see below) */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	replica_destroy(&f->a);
	replica_destroy(&f->b);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* A writes, seals; B takes everything A has. */
static void a_to_b(struct fx *f, const char *sql)
{
	lm_err err;
	int n;

	replica_sqlf(&f->a, "%s", sql);
	assert_int_equal(replica_seal(&f->a, EPOCH_MS, &n, &err), 0);
	if (replica_pull(&f->b, &f->a, EPOCH_MS, SKEW_MS, NULL, &err) != 0)
		fail_msg("pull: %s", err.msg);
}

#define AUDIT_SQL                                                                                  \
	"CREATE TABLE audit (what TEXT);\n"                                                        \
	"CREATE TRIGGER audit_note_ins AFTER INSERT ON note BEGIN\n"                               \
	"  INSERT INTO audit VALUES ('ins ' || NEW.id);\n"                                         \
	"END;\n"                                                                                   \
	"CREATE TRIGGER audit_note_del AFTER DELETE ON note BEGIN\n"                               \
	"  INSERT INTO audit VALUES ('del ' || OLD.id);\n"                                         \
	"END;\n"

static char *audit(struct replica *r)
{
	static char s[512];
	sqlite3_stmt *stmt;
	size_t n = 0;

	s[0] = '\0';
	assert_int_equal(
	    sqlite3_prepare_v2(r->st.db, "SELECT what FROM audit ORDER BY rowid", -1, &stmt, NULL),
	    SQLITE_OK);
	while (sqlite3_step(stmt) == SQLITE_ROW && n < sizeof(s))
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s", n ? "; " : "",
				      (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return s;
}

/* A user's trigger on a replicated table keeps every trigger on during
 * merges: it sees merged rows as it sees local ones. */
static void test_user_trigger_sees_merged_rows(void **state)
{
	struct fx *f = *state;

	replica_sqlf(&f->b, AUDIT_SQL);
	a_to_b(f, "INSERT INTO note(id, scope, body) VALUES ('n1', 'net', 'en')");
	assert_string_equal(audit(&f->b), "ins n1");
	a_to_b(f, "DELETE FROM note WHERE id = 'n1'");
	assert_string_equal(audit(&f->b), "ins n1; del n1");
	/* Merged rows are not captured again (the capture triggers ran, and
	 * stayed quiet). */
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM repl_capture"), 0);
}

/* A trigger created after a quiet merge is seen by the next one. */
static void test_trigger_created_later_is_noticed(void **state)
{
	struct fx *f = *state;

	a_to_b(f, "INSERT INTO note(id, scope, body) VALUES ('n1', 'net', 'en')");
	replica_sqlf(&f->b, AUDIT_SQL);
	a_to_b(f, "INSERT INTO note(id, scope, body) VALUES ('n2', 'net', 'to')");
	assert_string_equal(audit(&f->b), "ins n2");
}

/* Records what the hook saw: the key, and whether the row was still
 * there, which it must be before a delete. */
static int audit_hook(struct store *st, const char *key_json, int deleting, void *ctx, lm_err *err)
{
	struct fx *f = ctx;
	char *sql = sqlite3_mprintf("INSERT INTO audit VALUES ('hook %s %s ' || (SELECT count(*) "
				    "FROM note WHERE id = json_extract(%Q, '$[0]')))",
				    deleting ? "del" : "put", key_json, key_json);
	int rc;

	if (sql == NULL)
		return lm_errf(err, "out of memory");
	rc = store_exec(st, sql, err);
	sqlite3_free(sql);
	f->calls++;
	return rc;
}

/* With a hook for the audit triggers, merges skip them and call the hook,
 * once per row written, after an insert or update and before a delete;
 * local writes still fire the triggers and are captured. */
static void test_hook_stands_in_for_its_triggers(void **state)
{
	struct fx *f = *state;
	lm_err err;

	replica_sqlf(&f->b, AUDIT_SQL);
	assert_int_equal(mergehook_add(&f->b.st, "note", "audit_note_", audit_hook, f, &err), 0);
	a_to_b(f, "INSERT INTO note(id, scope, body) VALUES ('n1', 'net', 'en'); "
		  "INSERT INTO note(id, scope, body) VALUES ('n2', 'net', 'to')");
	assert_string_equal(audit(&f->b), "hook put [\"n1\"] 1; hook put [\"n2\"] 1");
	a_to_b(f, "UPDATE note SET body = 'tre' WHERE id = 'n2'; DELETE FROM note WHERE id = 'n1'");
	assert_int_equal(f->calls, 4);
	assert_non_null(strstr(audit(&f->b), "hook del [\"n1\"] 1"));
	assert_non_null(strstr(audit(&f->b), "hook put [\"n2\"] 1"));
	assert_null(strstr(audit(&f->b), "ins "));
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM note"), 1);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM repl_capture"), 0);

	/* After the merge, the connection's own writes fire every trigger. */
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('b1', 'net', 'lokal')");
	assert_non_null(strstr(audit(&f->b), "ins b1"));
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM repl_capture"), 1);
	assert_int_equal(f->calls, 4);
}

/* A hook for other triggers of the table does not cover these. */
static void test_hook_covers_only_its_prefix(void **state)
{
	struct fx *f = *state;
	lm_err err;

	replica_sqlf(&f->b, AUDIT_SQL);
	assert_int_equal(mergehook_add(&f->b.st, "note", "search_", audit_hook, f, &err), 0);
	a_to_b(f, "INSERT INTO note(id, scope, body) VALUES ('n1', 'net', 'en')");
	assert_string_equal(audit(&f->b), "ins n1");
	assert_int_equal(f->calls, 0);
}

/* By default a merge of a few rows keeps the triggers on (switching costs
 * more than it saves); a large one goes quiet. */
static void test_small_merges_keep_triggers_on(void **state)
{
	struct fx *f = *state;
	char sql[256];
	lm_err err;
	int i;

	f->b.st.quiet_min_bytes = STORE_QUIET_MIN_BYTES;
	replica_sqlf(&f->b, AUDIT_SQL);
	assert_int_equal(mergehook_add(&f->b.st, "note", "audit_note_", audit_hook, f, &err), 0);
	a_to_b(f, "INSERT INTO note(id, scope, body) VALUES ('n1', 'net', 'en')");
	assert_string_equal(audit(&f->b), "ins n1");
	assert_int_equal(f->calls, 0);

	replica_sqlf(&f->a, "BEGIN");
	for (i = 0; i < 100; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO note(id, scope, body) VALUES ('m%03d', 'net', "
			 "printf('%%.1000c', 'x'))",
			 i);
		replica_sqlf(&f->a, "%s", sql);
	}
	a_to_b(f, "COMMIT");
	assert_int_equal(f->calls, 100);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM audit WHERE what GLOB 'ins m*'"),
			 0);
}

static void test_hook_limits(void **state)
{
	struct fx *f = *state;
	char prefix[16];
	lm_err err;
	int i;

	assert_int_not_equal(mergehook_add(&f->b.st, "note", "", audit_hook, f, &err), 0);
	for (i = 0; i < STORE_HOOKS_MAX; i++) {
		snprintf(prefix, sizeof(prefix), "p%d_", i);
		assert_int_equal(mergehook_add(&f->b.st, "note", prefix, audit_hook, f, &err), 0);
	}
	/* The same table and prefix again replaces its hook... */
	assert_int_equal(mergehook_add(&f->b.st, "note", "p0_", audit_hook, f, &err), 0);
	/* ...a new one past the limit is refused. */
	assert_int_not_equal(mergehook_add(&f->b.st, "note", "more_", audit_hook, f, &err), 0);
	assert_non_null(strstr(err.msg, "at most"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_user_trigger_sees_merged_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trigger_created_later_is_noticed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_stands_in_for_its_triggers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_covers_only_its_prefix, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_small_merges_keep_triggers_on, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hook_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
