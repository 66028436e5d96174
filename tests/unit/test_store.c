/* SPDX-License-Identifier: MIT */
/* The store on a real SQLite file in a fresh temporary directory: create and
 * open modes, the connection settings every open must apply, schema version
 * checks, ownership, metadata and the peer table, and that all of it survives
 * closing and reopening. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/store_fx.h"
#include "proto/siteid.h"
#include "store/peer.h"
#include "store/store.h"

/* Each test has a fresh directory; it creates or opens store.db there itself. */
static int setup(void **state)
{
	return store_fx_setup(state, "store");
}

static int teardown(void **state)
{
	return store_fx_teardown(state);
}

static int has(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

static void open_ok(struct store_fx *f, enum store_mode mode)
{
	lm_err err;

	if (store_open(&f->st, f->path, mode, &err) != 0)
		fail_msg("store_open %s: %s", f->path, err.msg);
	assert_non_null(f->st.db);
}

static void reopen(struct store_fx *f)
{
	store_close(&f->st);
	assert_null(f->st.db);
	open_ok(f, STORE_OPEN);
}

static void pragma_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *stmt;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	snprintf(out, cap, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
}

static void test_create_then_refuse_existing(void **state)
{
	struct store_fx *f = *state;
	struct store other;
	lm_err err;

	assert_int_equal(access(f->path, F_OK), -1);
	open_ok(f, STORE_CREATE);
	assert_int_equal(access(f->path, F_OK), 0);
	store_close(&f->st);

	assert_int_equal(store_open(&other, f->path, STORE_CREATE, &err), -1);
	assert_null(other.db);
	assert_true(has(err.msg, f->path));
	assert_true(has(err.msg, "already exists"));
	/* The refused create left the existing store alone. */
	open_ok(f, STORE_OPEN);
}

/* A struct store that was zeroed and never opened, or closed already, is
 * closed without touching a file descriptor (a zeroed log_fd is stdin). */
static void test_close_of_a_store_never_opened(void **state)
{
	struct store st;
	int fd = open("/dev/null", O_RDONLY);

	(void)state;
	assert_true(fd > 0);
	memset(&st, 0, sizeof(st));
	st.log_fd = fd;
	store_close(&st);
	store_close(&st);
	assert_int_not_equal(fcntl(fd, F_GETFD), -1); /* still open */
	assert_int_equal(close(fd), 0);
}

static void test_open_missing(void **state)
{
	struct store_fx *f = *state;
	struct store st;
	lm_err err;

	assert_int_equal(store_open(&st, f->path, STORE_OPEN, &err), -1);
	assert_null(st.db);
	assert_true(has(err.msg, "lmsync init"));
	assert_true(has(err.msg, f->path));
	/* Opening did not create anything. */
	assert_int_equal(access(f->path, F_OK), -1);
}

static void test_open_not_a_database(void **state)
{
	struct store_fx *f = *state;
	struct store st;
	FILE *fp;
	lm_err err;

	fp = fopen(f->path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 64; i++)
		fputs("this is not an SQLite database, it is a text file. ", fp);
	fclose(fp);
	assert_int_equal(store_open(&st, f->path, STORE_OPEN, &err), -1);
	assert_null(st.db);
	assert_true(has(err.msg, f->path));
}

static void test_connection_settings(void **state)
{
	struct store_fx *f = *state;
	char value[32];
	int version = -1;
	lm_err err;

	assert_true(store_schema_latest() >= 1);
	open_ok(f, STORE_CREATE);
	pragma_text(f->st.db, "PRAGMA journal_mode", value, sizeof(value));
	assert_string_equal(value, "wal");
	pragma_text(f->st.db, "PRAGMA foreign_keys", value, sizeof(value));
	assert_string_equal(value, "1");
	/* synchronous=FULL is 2. */
	pragma_text(f->st.db, "PRAGMA synchronous", value, sizeof(value));
	assert_string_equal(value, "2");
	pragma_text(f->st.db, "PRAGMA page_size", value, sizeof(value));
	assert_string_equal(value, STORE_PAGE_SIZE_TEXT);
	assert_int_equal(store_schema_version(&f->st, &version, &err), 0);
	assert_int_equal(version, store_schema_latest());

	/* Foreign keys and synchronous are per connection: a reopen sets them. */
	reopen(f);
	pragma_text(f->st.db, "PRAGMA journal_mode", value, sizeof(value));
	assert_string_equal(value, "wal");
	pragma_text(f->st.db, "PRAGMA foreign_keys", value, sizeof(value));
	assert_string_equal(value, "1");
	pragma_text(f->st.db, "PRAGMA synchronous", value, sizeof(value));
	assert_string_equal(value, "2");
	version = -1;
	assert_int_equal(store_schema_version(&f->st, &version, &err), 0);
	assert_int_equal(version, store_schema_latest());
}

/* Commits between store_unsynced_begin and _end skip the flush and say a
 * sync is owed; the level is FULL again after; SQLite refuses the switch
 * inside a transaction, with a message. */
static void test_unsynced_commits(void **state)
{
	struct store_fx *f = *state;
	char value[32];
	lm_err err;

	open_ok(f, STORE_CREATE);
	assert_int_equal(store_exec(&f->st, "CREATE TABLE t(x)", &err), 0);
	assert_int_equal(store_unsynced_begin(&f->st, &err), 0);
	pragma_text(f->st.db, "PRAGMA synchronous", value, sizeof(value));
	assert_string_equal(value, "1");
	assert_int_equal(
	    store_exec(&f->st, "BEGIN IMMEDIATE; INSERT INTO t VALUES (1); COMMIT", &err), 0);
	assert_int_equal(store_unsynced_end(&f->st, 1, &err), 0);
	assert_int_equal(f->st.unsynced, 1);
	pragma_text(f->st.db, "PRAGMA synchronous", value, sizeof(value));
	assert_string_equal(value, "2");
	assert_int_equal(store_sync(&f->st, &err), 0);
	assert_int_equal(f->st.unsynced, 0);

	assert_int_equal(store_exec(&f->st, "BEGIN", &err), 0);
	assert_int_equal(store_unsynced_begin(&f->st, &err), -1);
	assert_true(has(err.msg, "transaction"));
	assert_int_equal(store_exec(&f->st, "ROLLBACK", &err), 0);
	pragma_text(f->st.db, "PRAGMA synchronous", value, sizeof(value));
	assert_string_equal(value, "2");
}

/* A new store with `rows` rows of `bytes` random bytes each, all still in
 * its WAL: its own connection never checkpoints. */
static void store_with_long_wal(struct store_fx *f, int rows, int bytes)
{
	char sql[256];
	lm_err err;

	open_ok(f, STORE_CREATE);
	assert_int_equal(store_defer_checkpoints(&f->st, &err), 0);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE t(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM "
		 "c WHERE i < %d) INSERT INTO t SELECT randomblob(%d) FROM c",
		 rows, bytes);
	if (store_exec(&f->st, sql, &err) != 0)
		fail_msg("%s", err.msg);
}

/* The checkpointer's connection copies the WAL into the database file
 * without ever reading the schema; a missing store is refused by name. */
static void test_checkpoint_connection(void **state)
{
	struct store_fx *f = *state;
	struct store ck;
	struct stat before, after;
	int cur = -1, high = -1;
	lm_err err;

	store_with_long_wal(f, 1000, 1000);
	assert_int_equal(stat(f->path, &before), 0);
	assert_int_equal(store_open_for_checkpoints(&ck, f->path, &err), 0);
	assert_int_equal(store_checkpoint(&ck, &err), 0);
	assert_int_equal(stat(f->path, &after), 0);
	assert_true(after.st_size > before.st_size + 500000);
	assert_int_equal(sqlite3_db_status(ck.db, SQLITE_DBSTATUS_SCHEMA_USED, &cur, &high, 0),
			 SQLITE_OK);
	assert_int_equal(cur, 0);
	store_close(&ck);
	assert_null(ck.db);

	assert_int_equal(store_open_for_checkpoints(&ck, "/nonexistent/store.db", &err), -1);
	assert_true(has(err.msg, "/nonexistent/store.db"));
}

/* Frames in the WAL, as a passive checkpoint on db reports them. */
static int wal_frames(sqlite3 *db)
{
	int frames = -1, copied = -1;

	assert_int_equal(
	    sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, &copied),
	    SQLITE_OK);
	return frames;
}

/* After the checkpointer's pass over a long WAL the next commit writes
 * from the WAL's first frame. (Alone, as here, a passive pass would do;
 * the RESTART is for writers that never pause, which e2e
 * test_wal_stays_short_under_single_changes shows.) */
static void test_checkpoint_restarts_a_long_wal(void **state)
{
	struct store_fx *f = *state;
	struct store ck;
	lm_err err;

	store_with_long_wal(f, 400, 16000);
	assert_true(wal_frames(f->st.db) >= STORE_WAL_RESTART_FRAMES);
	assert_int_equal(store_open_for_checkpoints(&ck, f->path, &err), 0);
	assert_int_equal(store_checkpoint(&ck, &err), 0);
	assert_int_equal(store_exec(&f->st, "INSERT INTO t VALUES (1)", &err), 0);
	assert_true(wal_frames(f->st.db) < 10);
	store_close(&ck);
}

/* An existing database at version 0 (an empty file) is migrated forward. */
static void test_open_migrates_version_0(void **state)
{
	struct store_fx *f = *state;
	char value[32];
	FILE *fp;
	int version = -1;
	lm_err err;

	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fclose(fp);
	open_ok(f, STORE_OPEN);
	assert_int_equal(store_schema_version(&f->st, &version, &err), 0);
	assert_int_equal(version, store_schema_latest());
	assert_int_equal(store_meta_set(&f->st, "k", "v", &err), 0);
	/* Only a store lmsync creates gets STORE_PAGE_SIZE; one it opens keeps
	 * the page size it has (SQLite's default here). */
	pragma_text(f->st.db, "PRAGMA page_size", value, sizeof(value));
	assert_string_equal(value, "4096");
}

static void test_newer_schema_refused(void **state)
{
	struct store_fx *f = *state;
	char sql[64], want[32];
	struct store st;
	sqlite3 *db;
	int version = -1;
	lm_err err;

	open_ok(f, STORE_CREATE);
	store_close(&f->st);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_schema_latest() + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(&st, f->path, STORE_OPEN, &err), -1);
	assert_null(st.db);
	assert_true(has(err.msg, "newer"));
	assert_true(has(err.msg, f->path));
	snprintf(want, sizeof(want), "version %d", store_schema_latest() + 1);
	assert_true(has(err.msg, want));

	/* It was refused, not downgraded. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	{
		sqlite3_stmt *stmt;

		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		version = sqlite3_column_int(stmt, 0);
		sqlite3_finalize(stmt);
	}
	sqlite3_close(db);
	assert_int_equal(version, store_schema_latest() + 1);
}

static void test_claim(void **state)
{
	struct store_fx *f = *state;
	uint8_t a[32], b[32];
	char hex_a[SITEID_HEX_LEN + 1], hex_b[SITEID_HEX_LEN + 1], have[128], prefix[17];
	lm_err err;

	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	siteid_to_hex(a, hex_a);
	siteid_to_hex(b, hex_b);

	open_ok(f, STORE_CREATE);
	assert_int_equal(store_claim(&f->st, a, &err), 0);
	assert_int_equal(store_meta_get(&f->st, "site_id", have, sizeof(have), &err), 1);
	assert_string_equal(have, hex_a);
	assert_int_equal(store_claim(&f->st, a, &err), 0);

	reopen(f);
	assert_int_equal(store_claim(&f->st, a, &err), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_claim(&f->st, b, &err), -1);
	assert_true(has(err.msg, f->path));
	snprintf(prefix, sizeof(prefix), "%.16s", hex_a);
	assert_true(has(err.msg, prefix));
	snprintf(prefix, sizeof(prefix), "%.16s", hex_b);
	assert_true(has(err.msg, prefix));
	/* The refusal changed nothing. */
	assert_int_equal(store_meta_get(&f->st, "site_id", have, sizeof(have), &err), 1);
	assert_string_equal(have, hex_a);
}

static void test_meta(void **state)
{
	struct store_fx *f = *state;
	char value[64];
	lm_err err;

	open_ok(f, STORE_CREATE);
	assert_int_equal(store_meta_set(&f->st, "name", "Tromsø LMS", &err), 0);
	assert_int_equal(store_meta_set(&f->st, "empty", "", &err), 0);
	assert_int_equal(store_meta_get(&f->st, "name", value, sizeof(value), &err), 1);
	assert_string_equal(value, "Tromsø LMS");
	assert_int_equal(store_meta_get(&f->st, "empty", value, sizeof(value), &err), 1);
	assert_string_equal(value, "");

	/* Setting again replaces. */
	assert_int_equal(store_meta_set(&f->st, "name", "Bodø LMS", &err), 0);
	assert_int_equal(store_meta_get(&f->st, "name", value, sizeof(value), &err), 1);
	assert_string_equal(value, "Bodø LMS");

	/* Missing: 0, and the buffer is left alone. */
	snprintf(value, sizeof(value), "untouched");
	assert_int_equal(store_meta_get(&f->st, "nope", value, sizeof(value), &err), 0);
	assert_string_equal(value, "untouched");
	assert_int_equal(store_meta_get(&f->st, "NAME", value, sizeof(value), &err), 0);

	/* A small buffer gets a truncated, terminated value. */
	assert_int_equal(store_meta_get(&f->st, "name", value, 4, &err), 1);
	assert_string_equal(value, "Bod");

	reopen(f);
	assert_int_equal(store_meta_get(&f->st, "name", value, sizeof(value), &err), 1);
	assert_string_equal(value, "Bodø LMS");
}

static void make_peer(struct peer *p, uint8_t id_byte, const char *name, const char *addr,
		      int is_hub)
{
	memset(p, 0, sizeof(*p));
	memset(p->id, id_byte, sizeof(p->id));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->is_hub = is_hub;
}

static void assert_peer(const struct peer *got, const struct peer *want)
{
	assert_memory_equal(got->id, want->id, 32);
	assert_string_equal(got->name, want->name);
	assert_string_equal(got->addr, want->addr);
	assert_int_equal(got->is_hub, want->is_hub ? 1 : 0);
	/* added_at is set by the store, as YYYY-MM-DDTHH:MM:SSZ. */
	assert_int_equal(strlen(got->added_at), 20);
	assert_int_equal(got->added_at[4], '-');
	assert_int_equal(got->added_at[10], 'T');
	assert_int_equal(got->added_at[19], 'Z');
}

static void test_peers(void **state)
{
	struct store_fx *f = *state;
	struct peer tromso, bodo, alta, dup, *list;
	char id_text[SITEID_TEXT_LEN + 1];
	int count;
	lm_err err;

	open_ok(f, STORE_CREATE);
	assert_int_equal(peer_list(&f->st, &list, &count, &err), 0);
	assert_int_equal(count, 0);
	free(list);

	make_peer(&tromso, 0x01, "Tromsø", "tromso.example.no:7411", 0);
	make_peer(&bodo, 0x02, "Bodø", "[::1]:7412", 1);
	make_peer(&alta, 0x03, "Alta", "10.0.0.3:7411", 0);
	assert_int_equal(peer_add(&f->st, &tromso, &err), 0);
	assert_int_equal(peer_add(&f->st, &bodo, &err), 0);
	assert_int_equal(peer_add(&f->st, &alta, &err), 0);

	/* Same id, different everything else: refused, naming the id. */
	make_peer(&dup, 0x02, "Other", "10.9.9.9:1", 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(peer_add(&f->st, &dup, &err), -1);
	assert_true(has(err.msg, "already configured"));
	siteid_to_text(dup.id, id_text);
	assert_true(has(err.msg, id_text));

	assert_int_equal(peer_list(&f->st, &list, &count, &err), 0);
	assert_int_equal(count, 3);
	assert_peer(&list[0], &alta);
	assert_peer(&list[1], &bodo);
	assert_peer(&list[2], &tromso);
	free(list);

	assert_int_equal(peer_remove(&f->st, bodo.id, &err), 1);
	assert_int_equal(peer_remove(&f->st, bodo.id, &err), 0);
	memset(dup.id, 0x7f, sizeof(dup.id));
	assert_int_equal(peer_remove(&f->st, dup.id, &err), 0);

	assert_int_equal(peer_list(&f->st, &list, &count, &err), 0);
	assert_int_equal(count, 2);
	assert_peer(&list[0], &alta);
	assert_peer(&list[1], &tromso);
	free(list);

	/* A removed id can be added again. */
	assert_int_equal(peer_add(&f->st, &bodo, &err), 0);
}

static void test_peers_same_name_ordered_by_id(void **state)
{
	struct store_fx *f = *state;
	struct peer p, *list;
	int count, i;
	lm_err err;

	open_ok(f, STORE_CREATE);
	/* Twenty peers, more than the list's first allocation, added in
	 * descending id order under one name, plus a hub flag that is not 0/1. */
	for (i = 20; i >= 1; i--) {
		make_peer(&p, (uint8_t)i, "Samme navn", "h:1", i == 5 ? 7 : 0);
		assert_int_equal(peer_add(&f->st, &p, &err), 0);
	}
	assert_int_equal(peer_list(&f->st, &list, &count, &err), 0);
	assert_int_equal(count, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(list[i].id[0], i + 1);
		assert_int_equal(list[i].is_hub, i + 1 == 5 ? 1 : 0);
	}
	free(list);
}

static void test_survives_reopen(void **state)
{
	struct store_fx *f = *state;
	struct peer a, b, *list;
	uint8_t owner[32];
	char value[64];
	int count, version = -1;
	lm_err err;

	randombytes_buf(owner, sizeof(owner));
	open_ok(f, STORE_CREATE);
	assert_int_equal(store_claim(&f->st, owner, &err), 0);
	assert_int_equal(store_meta_set(&f->st, "created_at", "2024-05-01T10:00:00Z", &err), 0);
	make_peer(&a, 0x10, "Hammerfest", "hammerfest.example.no:7411", 0);
	make_peer(&b, 0x20, "Nord-hub", "hub.example.no:7411", 1);
	assert_int_equal(peer_add(&f->st, &a, &err), 0);
	assert_int_equal(peer_add(&f->st, &b, &err), 0);

	reopen(f);
	reopen(f);
	assert_int_equal(store_schema_version(&f->st, &version, &err), 0);
	assert_int_equal(version, store_schema_latest());
	assert_int_equal(store_claim(&f->st, owner, &err), 0);
	owner[31] ^= 1;
	assert_int_equal(store_claim(&f->st, owner, &err), -1);
	assert_int_equal(store_meta_get(&f->st, "created_at", value, sizeof(value), &err), 1);
	assert_string_equal(value, "2024-05-01T10:00:00Z");
	assert_int_equal(peer_list(&f->st, &list, &count, &err), 0);
	assert_int_equal(count, 2);
	assert_peer(&list[0], &a);
	assert_peer(&list[1], &b);
	free(list);
}

static void test_exec_error_names_path(void **state)
{
	struct store_fx *f = *state;
	lm_err err;

	open_ok(f, STORE_CREATE);
	assert_int_equal(store_exec(&f->st, "CREATE TABLE t (x INTEGER)", &err), 0);
	assert_int_equal(store_exec(&f->st, "INSERT INTO nosuch VALUES (1)", &err), -1);
	assert_true(has(err.msg, f->path));
	assert_true(has(err.msg, "nosuch"));
	/* A peer id must be 32 bytes: the schema enforces it. */
	assert_int_equal(
	    store_exec(&f->st, "INSERT INTO peer(id, addr) VALUES (x'00', 'h:1')", &err), -1);
	assert_true(has(err.msg, "CHECK"));
}

/* The prepared statement of sql, when the connection keeps one. */
static int kept(struct store *st, const char *sql)
{
	sqlite3_stmt *s;

	for (s = sqlite3_next_stmt(st->db, NULL); s != NULL; s = sqlite3_next_stmt(st->db, s))
		if (strcmp(sqlite3_sql(s), sql) == 0)
			return 1;
	return 0;
}

static void test_run_keeps_the_statement(void **state)
{
	struct store_fx *f = *state;
	lm_err err;
	int i;

	open_ok(f, STORE_CREATE);
	assert_int_equal(store_exec(&f->st, "CREATE TABLE u (x INTEGER PRIMARY KEY)", &err), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(store_run(&f->st, "BEGIN IMMEDIATE", &err), 0);
		assert_int_equal(store_run(&f->st, "INSERT INTO u VALUES (1)", &err),
				 i == 0 ? 0 : -1);
		assert_int_equal(store_run(&f->st, i == 0 ? "COMMIT" : "ROLLBACK", &err), 0);
	}
	assert_true(has(err.msg, f->path));
	assert_true(has(err.msg, "UNIQUE constraint failed: u.x"));
	/* Reset after the failure: the same statements run again. */
	assert_int_equal(store_run(&f->st, "BEGIN IMMEDIATE", &err), 0);
	assert_int_equal(store_run(&f->st, "DELETE FROM u", &err), 0);
	assert_int_equal(store_run(&f->st, "INSERT INTO u VALUES (1)", &err), 0);
	assert_int_equal(store_run(&f->st, "COMMIT", &err), 0);
	assert_true(kept(&f->st, "COMMIT") && kept(&f->st, "INSERT INTO u VALUES (1)"));
	assert_false(kept(&f->st, "CREATE TABLE u (x INTEGER PRIMARY KEY)")); /* store_exec's */
	assert_int_equal(store_run(&f->st, "INSERT INTO nosuch VALUES (1)", &err), -1);
	assert_true(has(err.msg, "no such table: nosuch"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_then_refuse_existing, setup, teardown),
	    cmocka_unit_test(test_close_of_a_store_never_opened),
	    cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_not_a_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsynced_commits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_connection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_restarts_a_long_wal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_migrates_version_0, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_peers_same_name_ordered_by_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exec_error_names_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_keeps_the_statement, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
