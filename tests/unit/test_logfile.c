/* SPDX-License-Identifier: MIT */
/* The change set log file beside the store (store/logfile.h): made 0600 with
 * its magic, appends that roll back leave no trace, two connections never
 * overlap, small envelopes stay in the table, a damaged or foreign file is
 * refused with a message saying so, and a commit whose flush fails is
 * refused with that reason. cslog_append takes any bytes as an envelope, so
 * the envelopes here are patterned bytes, not change sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/cslog.h"
#include "store/logfile.h"
#include "store/store.h"
#include "tests/support/tmpdir.h"

#define BIG 20000 /* goes to the file */

struct fx {
	char dir[64], path[128], log[140];
	struct store st, other;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	lm_err err;

	if (f == NULL || tmpdir_make("logfile", f->dir, sizeof(f->dir), "store.db", f->path,
				     sizeof(f->path)) != 0)
		return -1;
	snprintf(f->log, sizeof(f->log), "%s-log", f->path);
	if (store_open(&f->st, f->path, STORE_CREATE, &err) != 0)
		fail_msg("%s", err.msg);
	f->other.log_fd = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(&f->st);
	store_close(&f->other);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 8));
}

/* Append envelope number n (len bytes, pattern n) as the next change set,
 * on st, inside a transaction the caller holds; -1 with err on failure. */
static int append(struct store *st, unsigned n, size_t len, lm_err *err)
{
	uint8_t *env = malloc(len), hash[CS_HASH_LEN];
	struct cs_header h;
	int rc;

	assert_non_null(env);
	fill(env, len, n);
	memset(&h, 0, sizeof(h));
	memset(h.origin, 0x5a, CS_KEY_LEN);
	snprintf(h.scope, sizeof(h.scope), "net");
	assert_int_equal(cslog_head(st, h.origin, h.scope, &h.seq, h.prev, err), 0);
	h.seq++;
	h.hlc = n;
	memset(hash, (int)n, sizeof(hash));
	rc = cslog_append(st, &h, hash, env, len, err);
	free(env);
	return rc;
}

static void append_committed(struct store *st, unsigned n, size_t len)
{
	lm_err err;

	if (store_exec(st, "BEGIN IMMEDIATE", &err) != 0 || append(st, n, len, &err) != 0 ||
	    store_exec(st, "COMMIT", &err) != 0)
		fail_msg("appending %u: %s", n, err.msg);
}

/* The envelope of the change set with local_id id is pattern n, len bytes. */
static void expect_envelope(struct store *st, int64_t id, unsigned n, size_t len)
{
	uint8_t *env, *want = malloc(len);
	size_t got;
	lm_err err;

	assert_non_null(want);
	fill(want, len, n);
	if (cslog_envelope(st, id, &env, &got, &err) != 1)
		fail_msg("change set %lld: %s", (long long)id, err.msg);
	assert_int_equal(got, len);
	assert_memory_equal(env, want, len);
	free(env);
	free(want);
}

static long long qint(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

static void open_other(struct fx *f)
{
	lm_err err;

	if (store_open(&f->other, f->path, STORE_OPEN, &err) != 0)
		fail_msg("%s", err.msg);
}

static void expect_open_fails(struct fx *f, const char *says)
{
	struct store st;
	lm_err err;

	assert_int_not_equal(store_open(&st, f->path, STORE_OPEN, &err), 0);
	if (strstr(err.msg, says) == NULL || strstr(err.msg, f->log) == NULL)
		fail_msg("expected '%s' naming %s, got: %s", says, f->log, err.msg);
}

static void test_created_private_with_magic(void **state)
{
	struct fx *f = *state;
	char head[LOGFILE_START];
	struct stat sb;
	int fd;

	assert_int_equal(stat(f->log, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	fd = open(f->log, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, head, sizeof(head)), sizeof(head));
	close(fd);
	assert_memory_equal(head, LOGFILE_MAGIC, LOGFILE_START);
}

static void test_small_in_table_big_in_file(void **state)
{
	struct fx *f = *state;

	append_committed(&f->st, 1, 300);
	append_committed(&f->st, 2, BIG);
	append_committed(&f->st, 3, LOGFILE_MIN_ENVELOPE - 1);
	append_committed(&f->st, 4, LOGFILE_MIN_ENVELOPE);
	assert_int_equal(qint(&f->st, "SELECT group_concat(at IS NULL, '') FROM (SELECT at FROM "
				      "changeset ORDER BY local_id)"),
			 1010);
	assert_int_equal(qint(&f->st, "SELECT at FROM changeset WHERE local_id = 2"),
			 LOGFILE_START);
	assert_int_equal(qint(&f->st, "SELECT at FROM changeset WHERE local_id = 4"),
			 LOGFILE_START + BIG);
	expect_envelope(&f->st, 1, 1, 300);
	expect_envelope(&f->st, 2, 2, BIG);
	expect_envelope(&f->st, 3, 3, LOGFILE_MIN_ENVELOPE - 1);
	expect_envelope(&f->st, 4, 4, LOGFILE_MIN_ENVELOPE);
}

/* Bytes a rolled-back transaction wrote are written over by the next. */
static void test_rollback_leaves_no_trace(void **state)
{
	struct fx *f = *state;
	lm_err err;

	append_committed(&f->st, 1, BIG);
	assert_int_equal(store_exec(&f->st, "BEGIN IMMEDIATE", &err), 0);
	assert_int_equal(append(&f->st, 2, BIG, &err), 0);
	assert_int_equal(append(&f->st, 3, BIG, &err), 0);
	assert_int_equal(store_exec(&f->st, "ROLLBACK", &err), 0);
	append_committed(&f->st, 4, BIG + 5);
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM changeset"), 2);
	assert_int_equal(qint(&f->st, "SELECT at FROM changeset WHERE local_id = 2"),
			 LOGFILE_START + BIG);
	expect_envelope(&f->st, 1, 1, BIG);
	expect_envelope(&f->st, 2, 4, BIG + 5);
}

/* Two connections (lmsyncd and lmsync) append in turn: no overlap, and
 * each reads what the other wrote. */
static void test_two_connections_take_turns(void **state)
{
	struct fx *f = *state;
	unsigned n;

	open_other(f);
	for (n = 1; n <= 6; n++)
		append_committed(n % 2 ? &f->st : &f->other, n, BIG + n);
	for (n = 1; n <= 6; n++) {
		expect_envelope(&f->st, n, n, BIG + n);
		expect_envelope(&f->other, n, n, BIG + n);
	}
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM changeset a JOIN changeset b ON "
				      "a.local_id < b.local_id AND a.at + a.len > b.at"),
			 0);
}

static void test_cut_short_is_refused(void **state)
{
	struct fx *f = *state;
	uint8_t *env;
	size_t len;
	lm_err err;

	append_committed(&f->st, 1, BIG);
	append_committed(&f->st, 2, BIG);
	/* Cut while open: reading says so. */
	assert_int_equal(truncate(f->log, LOGFILE_START + BIG + 100), 0);
	expect_envelope(&f->st, 1, 1, BIG);
	assert_int_equal(cslog_envelope(&f->st, 2, &env, &len, &err), -1);
	assert_non_null(strstr(err.msg, "cut short"));
	assert_non_null(strstr(err.msg, f->log));
	/* And opening refuses it. */
	store_close(&f->st);
	expect_open_fails(f, "cut short");
	/* A missing file is recreated empty, then found short. */
	assert_int_equal(unlink(f->log), 0);
	expect_open_fails(f, "cut short");
}

static void test_foreign_file_is_refused(void **state)
{
	struct fx *f = *state;
	int fd;

	store_close(&f->st);
	fd = open(f->log, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "SQLite f", 8), 8);
	close(fd);
	expect_open_fails(f, "not an lmsync change set log");
}

/* A flush that fails turns the commit into a rollback, with its reason. */
static void test_failed_flush_refuses_the_commit(void **state)
{
	struct fx *f = *state;
	int pipefd[2];
	lm_err err;

	append_committed(&f->st, 1, BIG);
	assert_int_equal(store_exec(&f->st, "BEGIN IMMEDIATE", &err), 0);
	assert_int_equal(append(&f->st, 2, BIG, &err), 0);
	/* fdatasync on a pipe fails (EINVAL). */
	assert_int_equal(pipe(pipefd), 0);
	assert_true(dup2(pipefd[0], f->st.log_fd) >= 0);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(store_exec(&f->st, "COMMIT", &err), -1);
	if (strstr(err.msg, "cannot flush the change set log") == NULL)
		fail_msg("unexpected: %s", err.msg);
	assert_int_equal(sqlite3_get_autocommit(f->st.db), 1);
	store_close(&f->st);
	open_other(f);
	assert_int_equal(qint(&f->other, "SELECT count(*) FROM changeset"), 1);
	expect_envelope(&f->other, 1, 1, BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_created_private_with_magic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_small_in_table_big_in_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_leaves_no_trace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_connections_take_turns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_short_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_file_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_flush_refuses_the_commit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
