/* SPDX-License-Identifier: MIT */
/* Merging change sets between real store files (tests/support/replica.h):
 *
 *  - writes from outside lmsync (the sqlite3 shell) are captured, sealed and
 *    reach other sites, and merged rows are not captured again;
 *  - tampering and misbehaviour are refused with a reason and leave nothing
 *    behind: altered body or signature, a foreign origin, a fork, a gap, a
 *    row outside the origin's rights, a date far in the future, a signature
 *    that only a run vouched for;
 *  - the merge rules: concurrent updates, ties, delete against update,
 *    re-creation, scopes of re-created rows, local writes not yet sealed;
 *  - causal context: the bases a seal sends and keeps, and which losing
 *    values are recorded where (concurrent edits everywhere, edits of a
 *    value seen nowhere, whatever the order; format 1 and old clock blobs
 *    as before bases);
 *  - crash safety: a merge killed with SIGKILL leaves the store as before
 *    or as after the whole batch, and merging again finishes the job.
 *
 * Each test builds its sites from fixed seeds in a fresh temporary
 * directory, so a failure replays the same way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/changeset.h"
#include "store/cslog.h"
#include "store/mergehook.h"
#include "store/registry.h"
#include "store/rowclock.h"
#include "tests/support/replica.h"
#include "tests/support/replica_check.h"
#include "tests/support/tmpdir.h"

#define EPOCH_MS UINT64_C(1795440000000)
#define SKEW_MS	 UINT64_C(300000)
#define HOUR_MS	 UINT64_C(3600000)

struct fx {
	char dir[64];
	struct replica a, b, c;
	struct replica d;	 /* a copy of B's file, for the crash test */
	uint64_t now;		 /* everybody's wall clock; tests move it on */
	struct envlist lists[8]; /* released by teardown, even after a failure */
	int nlists;
	void *owned[64]; /* likewise */
	int nowned;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || tmpdir_make("merge", f->dir, sizeof(f->dir), NULL, NULL, 0) != 0) {
		free(f);
		return -1;
	}
	replica_make(&f->a, f->dir, "a", 'A');
	replica_make(&f->b, f->dir, "b", 'B');
	replica_make(&f->c, f->dir, "c", 'C');
	f->now = EPOCH_MS;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int i;

	replica_destroy(&f->a);
	replica_destroy(&f->b);
	replica_destroy(&f->c);
	replica_destroy(&f->d);
	for (i = 0; i < f->nlists; i++)
		envlist_free(&f->lists[i]);
	for (i = 0; i < f->nowned; i++)
		free(f->owned[i]);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* An envelope list the fixture releases. */
static struct envlist *new_list(struct fx *f)
{
	assert_true(f->nlists < (int)(sizeof(f->lists) / sizeof(f->lists[0])));
	return &f->lists[f->nlists++];
}

/* Hand p (malloc'd) to the fixture to release; returns p. */
static void *own(struct fx *f, void *p)
{
	assert_non_null(p);
	assert_true(f->nowned < (int)(sizeof(f->owned) / sizeof(f->owned[0])));
	f->owned[f->nowned++] = p;
	return p;
}

/* The text of the first column of the first row (caller frees). */
static char *qtext(struct replica *r, const char *sql)
{
	char *t = replica_query_text(r, sql);

	assert_non_null(t);
	return t;
}

static int seal(struct fx *f, struct replica *r)
{
	int count;
	lm_err err;

	f->now += 10;
	if (replica_seal(r, f->now, &count, &err) != 0)
		fail_msg("seal_pending %s: %s", r->path, err.msg);
	return count;
}

/* Everything r's log holds, in (scope, origin, seq) order. */
static void log_of(struct replica *r, struct envlist *l)
{
	lm_err err;

	if (replica_missing(r, NULL, 0, l, &err) != 0)
		fail_msg("listing the log of %s: %s", r->path, err.msg);
}

static void merge_at(struct fx *f, struct replica *r, uint8_t *const *env, const size_t *len,
		     size_t n, uint64_t now, struct merge_outcome *out)
{
	lm_err err;

	(void)f;
	if (replica_merge(r, env, len, n, now, SKEW_MS, out, &err) != 0)
		fail_msg("merge_batch at %s: %s", r->path, err.msg);
}

static void merge_one(struct fx *f, struct replica *r, const uint8_t *env, size_t len,
		      struct merge_outcome *out)
{
	uint8_t *e = (uint8_t *)env;

	merge_at(f, r, &e, &len, 1, f->now, out);
}

/* to takes everything from `from` that it lacks; all must apply. */
static void pull(struct fx *f, struct replica *to, struct replica *from)
{
	lm_err err;

	if (replica_pull(to, from, f->now, SKEW_MS, NULL, &err) != 0)
		fail_msg("%s", err.msg);
}

static void exchange(struct fx *f, struct replica *x, struct replica *y)
{
	pull(f, x, y);
	pull(f, y, x);
}

static void assert_consistent(struct replica *r)
{
	lm_err err;

	if (replica_check_rows(r, &err) != 0)
		fail_msg("%s", err.msg);
}

/* A digest of every envelope of the log, in arrival order, as read back. */
static void log_digest(struct replica *r, char hex[2 * crypto_generichash_BYTES + 1])
{
	uint8_t sum[crypto_generichash_BYTES], *env;
	crypto_generichash_state h;
	struct cslog_entry e[64];
	int64_t after = 0;
	size_t n, i, len;
	lm_err err;

	crypto_generichash_init(&h, NULL, 0, sizeof(sum));
	do {
		if (cslog_scan(&r->st, after, e, 64, &n, &err) != 0)
			fail_msg("%s", err.msg);
		for (i = 0; i < n; i++) {
			if (cslog_envelope(&r->st, e[i].local_id, &env, &len, &err) != 1)
				fail_msg("reading change set %lld of %s: %s",
					 (long long)e[i].local_id, r->path, err.msg);
			crypto_generichash_update(&h, env, len);
			free(env);
			after = e[i].local_id;
		}
	} while (n == 64);
	crypto_generichash_final(&h, sum, sizeof(sum));
	sodium_bin2hex(hex, 2 * crypto_generichash_BYTES + 1, sum, sizeof(sum));
}

/* Tables, causal lengths, version vector, winners and the log's bytes: one
 * text to compare. */
static char *state_of(struct replica *r)
{
	char *all = replica_dump_all(r);
	char *extra = replica_query_text(
	    r, "SELECT (SELECT count(*) FROM changeset), (SELECT count(*) FROM conflict), "
	       "(SELECT count(*) FROM quarantine), (SELECT count(*) FROM held), "
	       "(SELECT count(*) FROM repl_capture), (SELECT count(*) FROM repl_applying)");
	char digest[2 * crypto_generichash_BYTES + 1], *s = NULL;

	log_digest(r, digest);
	if (all && extra && (s = malloc(strlen(all) + strlen(extra) + sizeof(digest) + 32)) != NULL)
		sprintf(s, "%s== counts\n%s== log %s\n", all, extra, digest);
	free(all);
	free(extra);
	return s;
}

static void flip(uint8_t *env, size_t len, size_t at)
{
	assert_true(at < len);
	env[at] ^= 0x20;
}

static size_t find(const uint8_t *env, size_t len, const void *what, size_t n)
{
	size_t i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(env + i, what, n) == 0)
			return i;
	fail_msg("pattern not found in the envelope");
	return 0;
}

/* ---- (a) writes from outside lmsync ---- */

static void test_external_writer(void **state)
{
	struct fx *f = *state;
	char cmd[2048];
	int rc;

	if (system("command -v sqlite3 >/dev/null 2>&1") != 0)
		skip();
	/* The daemon has the store open (WAL) while the shell writes. */
	snprintf(cmd, sizeof(cmd),
		 "sqlite3 %s \"INSERT INTO note(id, scope, body, n, x) VALUES ('shell-1', 'net', "
		 "'fra skallet', 3, 1.5); INSERT INTO note(id, scope, body) VALUES ('shell-2', "
		 "'net', 'slettes'); INSERT INTO course VALUES ('%s', 'kols', 'net', "
		 "'KOLS-skole', 12);\"",
		 f->a.path, f->a.hex);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	snprintf(cmd, sizeof(cmd),
		 "sqlite3 %s \"UPDATE note SET n = 4 WHERE id = 'shell-1'; DELETE FROM note WHERE "
		 "id = 'shell-2'; UPDATE course SET seats = 14;\"",
		 f->a.path);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	assert_true(replica_qint(&f->a, "SELECT count(*) FROM repl_capture") > 0);
	assert_int_equal(seal(f, &f->a), 1);
	assert_int_equal(replica_qint(&f->a, "SELECT count(*) FROM repl_capture"), 0);

	pull(f, &f->b, &f->a);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->b, replica_dump_rows);
	replica_assert_same("version vectors", &f->a, &f->b, replica_dump_vv);
	replica_assert_same("column winners", &f->a, &f->b, replica_dump_clocks);
	assert_int_equal(replica_qint(&f->b, "SELECT n FROM note WHERE id = 'shell-1'"), 4);
	assert_int_equal(replica_qint(&f->b, "SELECT cl FROM repl_row WHERE pk = '[\"shell-2\"]'"),
			 2);
	/* Merged rows are not captured: nothing to seal, nothing echoed back. */
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM repl_capture"), 0);
	assert_int_equal(seal(f, &f->b), 0);
	assert_consistent(&f->a);
	assert_consistent(&f->b);
}

/* ---- (b) tampering and misbehaviour ---- */

/* A's first change set: one note row and one course row in scope 'net'. */
static void first_changeset(struct fx *f, struct envlist *l)
{
	replica_sqlf(
	    &f->a, "INSERT INTO note(id, scope, body, n) VALUES ('k1', 'net', 'Hjerteskolen', 1)");
	replica_sqlf(&f->a, "INSERT INTO course VALUES ('%s', 'c1', 'net', 'Diabetesskole', 10)",
		     f->a.hex);
	assert_int_equal(seal(f, &f->a), 1);
	replica_newest(&f->a, l);
}

/* Merge a tampered envelope at B: refused for `reason`, nothing kept; the
 * genuine one still applies afterwards. */
static void refused_then_genuine(struct fx *f, uint8_t *bad, size_t len, const uint8_t *good,
				 size_t good_len, const char *reason)
{
	struct merge_outcome o;
	char *before = own(f, state_of(&f->b)), *after;

	merge_one(f, &f->b, bad, len, &o);
	replica_expect(&o, MERGE_REJECTED, reason);
	after = own(f, state_of(&f->b));
	assert_string_equal(before, after);
	merge_one(f, &f->b, good, good_len, &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
}

static void test_tamper_body(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f);
	uint8_t *bad;
	size_t len;

	first_changeset(f, l);
	len = l->len[0];
	bad = own(f, malloc(len));
	memcpy(bad, l->env[0], len);
	/* One letter of a value: still well-formed, no longer what A signed. */
	flip(bad, len, find(bad, len, "Hjerteskolen", 12));
	refused_then_genuine(f, bad, len, l->env[0], l->len[0], "signature");
}

static void test_tamper_signature(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f);
	uint8_t *bad;
	size_t len;

	first_changeset(f, l);
	len = l->len[0];
	bad = own(f, malloc(len));
	memcpy(bad, l->env[0], len);
	flip(bad, len, len - 10); /* inside the 64 signature bytes at the end */
	refused_then_genuine(f, bad, len, l->env[0], l->len[0], "signature");
}

static void test_foreign_origin(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f);
	uint8_t *bad;
	size_t len;

	first_changeset(f, l);
	len = l->len[0];
	bad = own(f, malloc(len));
	memcpy(bad, l->env[0], len);
	/* The body names C as its origin; the signature is still A's. */
	memcpy(bad + find(bad, len, f->a.pk, 32), f->c.pk, 32);
	refused_then_genuine(f, bad, len, l->env[0], l->len[0], "signature");
	assert_int_equal(
	    replica_qint(&f->b, "SELECT count(*) FROM vv WHERE origin = x'%s'", f->c.hex), 0);
}

static void test_fork(void **state)
{
	struct fx *f = *state;
	struct envlist *mine = new_list(f), *twin = new_list(f);
	struct replica a2;
	struct merge_outcome o;
	char path[160], *before, *after;
	lm_err err;

	/* A second store file holding A's key writes its own seq 1. */
	snprintf(path, sizeof(path), "%s/a2.db", f->dir);
	if (replica_create_with_key(&a2, path, f->a.pk, f->a.sk, &err) != 0)
		fail_msg("%s", err.msg);
	first_changeset(f, mine);
	replica_sqlf(&a2,
		     "INSERT INTO note(id, scope, body) VALUES ('k1', 'net', 'en annen historie')");
	assert_int_equal(seal(f, &a2), 1);
	replica_newest(&a2, twin);

	merge_one(f, &f->b, mine->env[0], mine->len[0], &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	before = own(f, state_of(&f->b));
	merge_one(f, &f->b, twin->env[0], twin->len[0], &o);
	replica_expect(&o, MERGE_REJECTED, "fork");
	assert_int_equal(o.seq, 1);
	after = own(f, state_of(&f->b));
	assert_string_equal(before, after);
	/* The genuine one again is only a duplicate. */
	merge_one(f, &f->b, mine->env[0], mine->len[0], &o);
	replica_expect(&o, MERGE_DUPLICATE, NULL);
	replica_destroy(&a2);
}

static void test_gap(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f);
	struct merge_outcome o[2];
	uint8_t *e[2];
	size_t n[2];
	int i;

	for (i = 1; i <= 3; i++) {
		replica_sqlf(&f->a,
			     "INSERT INTO note(id, scope, body) VALUES ('g%d', 'net', 'nr %d')", i,
			     i);
		assert_int_equal(seal(f, &f->a), 1);
	}
	log_of(&f->a, l);
	assert_int_equal(l->n, 3);
	merge_one(f, &f->b, l->env[0], l->len[0], o);
	replica_expect(o, MERGE_APPLIED, NULL);
	merge_one(f, &f->b, l->env[2], l->len[2], o);
	replica_expect(o, MERGE_GAP, NULL);
	assert_int_equal(o->seq, 3);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM note WHERE id = 'g3'"), 0);
	assert_int_equal(replica_qint(&f->b, "SELECT max(seq) FROM vv"), 1);
	e[0] = l->env[1];
	e[1] = l->env[2];
	n[0] = l->len[1];
	n[1] = l->len[2];
	merge_at(f, &f->b, e, n, 2, f->now, o);
	replica_expect(&o[0], MERGE_APPLIED, NULL);
	replica_expect(&o[1], MERGE_APPLIED, NULL);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("version vectors", &f->a, &f->b, replica_dump_vv);
}

/* A signs a change set with a course row that names C as its owner, and
 * logs it as its own (buggy or hostile software on A's side). */
static void craft_foreign_course(struct fx *f, uint8_t **env, size_t *len)
{
	struct cs_value pk[2] = {{CS_TEXT, 0, 0, (const uint8_t *)f->c.hex, 64},
				 {CS_TEXT, 0, 0, (const uint8_t *)"c1", 2}};
	struct cs_col cols[1] = {{"title", 5, {CS_TEXT, 0, 0, (const uint8_t *)"kapret", 6}}};
	struct cs_row row = {"course", 6, pk, 2, 1, cols, 1, NULL};
	uint8_t hash[CS_HASH_LEN];
	struct cs_header h;
	struct cs_writer w;
	uint64_t head;
	lm_err err;

	memset(&h, 0, sizeof(h));
	memcpy(h.origin, f->a.pk, CS_KEY_LEN);
	snprintf(h.scope, sizeof(h.scope), "net");
	if (cslog_head(&f->a.st, f->a.pk, "net", &head, h.prev, &err) != 0)
		fail_msg("%s", err.msg);
	h.seq = head + 1;
	h.hlc = (f->now += 10) << 16;
	if (cs_writer_begin(&w, &h, &err) != 0 || cs_writer_add_row(&w, &row, &err) != 0 ||
	    cs_writer_seal(&w, f->a.sk, env, len, hash, &err) != 0)
		fail_msg("crafting: %s", err.msg);
	cs_writer_free(&w);
	replica_sqlf(&f->a, "BEGIN");
	if (cslog_append(&f->a.st, &h, hash, *env, *len, &err) != 0)
		fail_msg("%s", err.msg);
	replica_sqlf(&f->a, "COMMIT");
}

static void test_owner_violation(void **state)
{
	struct fx *f = *state;
	struct envlist *first = new_list(f), *next = new_list(f);
	struct merge_outcome o;
	uint8_t *bad;
	size_t len;
	char *before, *after;

	first_changeset(f, first);
	merge_one(f, &f->b, first->env[0], first->len[0], &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	craft_foreign_course(f, &bad, &len);
	own(f, bad);
	before = own(f, replica_dump_tables(&f->b));

	merge_one(f, &f->b, bad, len, &o);
	replica_expect(&o, MERGE_QUARANTINED, "belong");
	assert_int_equal(o.seq, 2);
	after = own(f, replica_dump_tables(&f->b));
	assert_string_equal(before, after);
	assert_int_equal(
	    replica_qint(&f->b, "SELECT count(*) FROM course WHERE owner = '%s'", f->c.hex), 0);
	assert_int_equal(
	    replica_qint(&f->b,
			 "SELECT count(*) FROM quarantine WHERE origin = x'%s' AND seq = 2 "
			 "AND scope = 'net' AND reason LIKE '%%belong%%'",
			 f->a.hex),
	    1);
	/* Counted in the vector, so what A sends next still flows. */
	assert_int_equal(replica_qint(&f->b, "SELECT seq FROM vv WHERE origin = x'%s'", f->a.hex),
			 2);
	merge_one(f, &f->b, bad, len, &o);
	replica_expect(&o, MERGE_DUPLICATE, NULL);

	replica_sqlf(&f->a, "UPDATE course SET seats = 11 WHERE id = 'c1'");
	assert_int_equal(seal(f, &f->a), 1);
	replica_newest(&f->a, next);
	merge_one(f, &f->b, next->env[0], next->len[0], &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	assert_int_equal(o.seq, 3);
	assert_int_equal(replica_qint(&f->b, "SELECT seats FROM course WHERE id = 'c1'"), 11);
}

static void test_future(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f);
	struct merge_outcome o;
	struct merge_options opt;
	char *before, *after;
	int applied, count;
	lm_err err;

	replica_sqlf(&f->a,
		     "INSERT INTO note(id, scope, body) VALUES ('f1', 'net', 'fra framtida')");
	if (replica_seal(&f->a, f->now + HOUR_MS, &count, &err) != 0)
		fail_msg("%s", err.msg);
	replica_newest(&f->a, l);
	before = own(f, replica_dump_tables(&f->b));

	merge_one(f, &f->b, l->env[0], l->len[0], &o);
	replica_expect(&o, MERGE_HELD, "ahead");
	assert_int_equal(replica_qint(&f->b,
				      "SELECT count(*) FROM held WHERE origin = x'%s' AND seq = 1 "
				      "AND reason LIKE '%%ahead%%'",
				      f->a.hex),
			 1);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM note"), 0);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM vv"), 0);
	/* Delivered again while still ahead: held once, still not applied. */
	merge_one(f, &f->b, l->env[0], l->len[0], &o);
	replica_expect(&o, MERGE_HELD, NULL);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM held"), 1);
	/* The tables did not move. */
	after = own(f, replica_dump_tables(&f->b));
	assert_string_equal(before, after);
	memset(&opt, 0, sizeof(opt)); /* no key: B has nothing to seal */
	opt.now_ms = f->now + 1000;
	opt.max_skew_ms = SKEW_MS;
	if (merge_retry_held(&f->b.st, &opt, &applied, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(applied, 0);
	assert_true(replica_qint(&f->b, "SELECT CAST(value AS INTEGER) >> 16 FROM meta WHERE key = "
					"'hlc'") < (int64_t)(f->now + HOUR_MS - SKEW_MS));

	opt.now_ms = f->now + HOUR_MS;
	if (merge_retry_held(&f->b.st, &opt, &applied, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(applied, 1);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM held"), 0);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
}

/* The log keeps envelopes so they can be forwarded and verified by others
 * (cslog.h). A change set inside a run is authenticated by the run, not by
 * its own signature: one whose signature was damaged in transit must not
 * end up in the log, where the next site, getting it on its own, refuses
 * it. */
static void test_relayed_envelopes_verify_alone(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f), *relayed = new_list(f);
	struct merge_outcome o[3];
	size_t i;
	int k;

	for (k = 1; k <= 3; k++) {
		replica_sqlf(&f->a,
			     "INSERT INTO note(id, scope, body) VALUES ('r%d', 'net', 'nr %d')", k,
			     k);
		assert_int_equal(seal(f, &f->a), 1);
	}
	log_of(&f->a, l);
	assert_int_equal(l->n, 3);
	flip(l->env[1], l->len[1], l->len[1] - 5); /* seq 2's signature */
	merge_at(f, &f->b, l->env, l->len, 3, f->now, o);
	/* B may take the whole run (the last signature and the links vouch for
	 * the bodies) or refuse seq 2; either way, what it forwards must verify
	 * one by one. */
	log_of(&f->b, relayed);
	for (i = 0; i < relayed->n; i++) {
		merge_one(f, &f->c, relayed->env[i], relayed->len[i], o);
		if (o->result != MERGE_APPLIED)
			fail_msg("C refused change set %zu that B forwards from its log: %s: %s",
				 i + 1, merge_result_name(o->result), o->reason);
	}
}

/* ---- (c) the merge rules ---- */

static void shared_note(struct fx *f, const char *id, const char *scope)
{
	replica_sqlf(&f->a,
		     "INSERT INTO note(id, scope, body, n, x) VALUES ('%s', '%s', 'start', 0, 0.5)",
		     id, scope);
	assert_int_equal(seal(f, &f->a), 1);
	pull(f, &f->b, &f->a);
}

static void test_concurrent_update(void **state)
{
	struct fx *f = *state;
	char sql[256], *winner_a, *winner_b;

	shared_note(f, "k", "net");
	replica_sqlf(&f->a, "UPDATE note SET body = 'fra A' WHERE id = 'k'");
	assert_int_equal(seal(f, &f->a), 1);
	replica_sqlf(&f->b, "UPDATE note SET body = 'fra B' WHERE id = 'k'");
	assert_int_equal(seal(f, &f->b), 1); /* later: B's clock is ahead */
	exchange(f, &f->a, &f->b);

	assert_int_equal(replica_qint(&f->a, "SELECT body = 'fra B' FROM note WHERE id = 'k'"), 1);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("column winners", &f->a, &f->b, replica_dump_clocks);
	snprintf(sql, sizeof(sql),
		 "SELECT substr(c, instr(c, 'body ')) FROM (SELECT lm_clocks(cl, clocks) AS c "
		 "FROM repl_row WHERE pk = '[\"k\"]')");
	winner_a = own(f, qtext(&f->a, sql));
	winner_b = own(f, qtext(&f->b, sql));
	assert_string_equal(winner_a, winner_b);
	*strchr(winner_a, '\n') = '\0'; /* the line of body */
	assert_non_null(strstr(winner_a, f->b.hex));
	/* A's value lost on arrival at B, which holds it, naming both writers.
	 * At A it was overwritten by a write whose base is the value both
	 * held before, not A's: recorded there too. */
	assert_int_equal(
	    replica_qint(&f->a,
			 "SELECT count(*) FROM conflict WHERE pk = '[\"k\"]' AND col = 'body' "
			 "AND loser_value = 'fra A' AND loser_origin = x'%s' AND "
			 "winner_origin = x'%s'",
			 f->a.hex, f->b.hex),
	    1);
	assert_int_equal(
	    replica_qint(&f->b,
			 "SELECT count(*) FROM conflict WHERE pk = '[\"k\"]' AND col = 'body' "
			 "AND loser_value = 'fra A' AND loser_origin = x'%s' AND "
			 "winner_origin = x'%s'",
			 f->a.hex, f->b.hex),
	    1);
	assert_int_equal(
	    replica_qint(&f->a, "SELECT count(*) FROM conflict WHERE loser_value = 'fra B'"), 0);
}

static void test_tie_by_origin(void **state)
{
	struct fx *f = *state;
	struct replica *hi, *lo;
	uint64_t t;
	int count;
	lm_err err;

	shared_note(f, "k", "net");
	/* Same wall clock, fresh clocks: both updates carry the same HLC. */
	t = f->now + 1000;
	replica_sqlf(&f->a, "UPDATE note SET n = 1 WHERE id = 'k'");
	replica_sqlf(&f->b, "UPDATE note SET n = 2 WHERE id = 'k'");
	if (replica_seal(&f->a, t, &count, &err) != 0 || replica_seal(&f->b, t, &count, &err) != 0)
		fail_msg("%s", err.msg);
	f->now = t;
	assert_int_equal(
	    replica_qint(&f->a, "SELECT hlc FROM changeset WHERE origin = x'%s' AND seq = 2",
			 f->a.hex),
	    replica_qint(&f->b, "SELECT hlc FROM changeset WHERE origin = x'%s' AND seq = 1",
			 f->b.hex));
	exchange(f, &f->a, &f->b);
	hi = memcmp(f->a.pk, f->b.pk, 32) > 0 ? &f->a : &f->b;
	lo = hi == &f->a ? &f->b : &f->a;
	assert_int_equal(replica_qint(&f->a, "SELECT n FROM note"), hi == &f->a ? 1 : 2);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("column winners", &f->a, &f->b, replica_dump_clocks);
	assert_int_equal(
	    replica_qint(hi, "SELECT count(*) FROM conflict WHERE loser_origin = x'%s'", lo->hex),
	    1);
	/* The loser is recorded where it arrived after the winner, and where
	 * the winner overwrote it (its writer had not seen it). */
	assert_int_equal(
	    replica_qint(lo, "SELECT count(*) FROM conflict WHERE loser_origin = x'%s'", lo->hex),
	    1);
	assert_int_equal(replica_qint(lo, "SELECT count(*) FROM conflict"), 1);
	assert_int_equal(replica_qint(hi, "SELECT count(*) FROM conflict"), 1);
}

static void test_delete_wins_then_recreate(void **state)
{
	struct fx *f = *state;

	shared_note(f, "k", "net");
	replica_sqlf(&f->a, "DELETE FROM note WHERE id = 'k'");
	assert_int_equal(seal(f, &f->a), 1);
	replica_sqlf(&f->b, "UPDATE note SET body = 'oppdatert', n = 7 WHERE id = 'k'");
	assert_int_equal(seal(f, &f->b), 1); /* dated after the delete, yet it loses */
	exchange(f, &f->a, &f->b);
	assert_int_equal(replica_qint(&f->a, "SELECT count(*) FROM note"), 0);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM note"), 0);
	assert_int_equal(replica_qint(&f->a, "SELECT cl FROM repl_row WHERE pk = '[\"k\"]'"), 2);
	assert_int_equal(replica_qint(&f->b, "SELECT cl FROM repl_row WHERE pk = '[\"k\"]'"), 2);
	/* The update that lost is kept for the operator at A. */
	assert_int_equal(replica_qint(&f->a, "SELECT count(*) FROM conflict WHERE loser_value = "
					     "'oppdatert'"),
			 1);

	replica_sqlf(&f->b,
		     "INSERT INTO note(id, scope, body) VALUES ('k', 'net', 'gjenoppstått')");
	assert_int_equal(seal(f, &f->b), 1);
	exchange(f, &f->a, &f->b);
	assert_int_equal(replica_qint(&f->a, "SELECT cl FROM repl_row WHERE pk = '[\"k\"]'"), 3);
	assert_int_equal(replica_qint(&f->b, "SELECT cl FROM repl_row WHERE pk = '[\"k\"]'"), 3);
	assert_int_equal(replica_qint(&f->a,
				      "SELECT count(*) FROM note WHERE body = 'gjenoppstått' AND "
				      "n IS NULL AND x IS NULL"),
			 1);
	replica_sqlf(&f->a, "UPDATE note SET n = 3 WHERE id = 'k'");
	assert_int_equal(seal(f, &f->a), 1);
	exchange(f, &f->a, &f->b);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->b, replica_dump_rows);
	replica_assert_same("column winners", &f->a, &f->b, replica_dump_clocks);
	assert_consistent(&f->a);
	assert_consistent(&f->b);
}

/* B writes a column and, before B seals, A's concurrent write of it merges
 * in. B's write is dated when B seals, after A's: it must win, or at the
 * very least be kept as a conflict; it must not vanish. */
static void test_unsealed_local_write_survives_merge(void **state)
{
	struct fx *f = *state;

	shared_note(f, "k", "net");
	replica_sqlf(&f->b, "UPDATE note SET body = 'lokal' WHERE id = 'k'");
	replica_sqlf(&f->a, "UPDATE note SET body = 'fjern' WHERE id = 'k'");
	assert_int_equal(seal(f, &f->a), 1);
	pull(f, &f->b, &f->a);
	/* The merge sealed B's pending write first, in its own transaction. */
	assert_int_equal(seal(f, &f->b), 0);
	assert_int_equal(
	    replica_qint(&f->b, "SELECT count(*) FROM changeset WHERE scope = 'net' AND "
				"origin = (SELECT origin FROM changeset ORDER BY local_id DESC "
				"LIMIT 1)"),
	    replica_qint(&f->b, "SELECT max(seq) FROM vv WHERE origin = (SELECT origin FROM "
				"changeset ORDER BY local_id DESC LIMIT 1) AND scope = 'net'"));
	exchange(f, &f->a, &f->b);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	if (replica_qint(&f->b, "SELECT count(*) FROM note WHERE body = 'lokal'") == 0 &&
	    replica_qint(&f->a, "SELECT count(*) FROM conflict WHERE loser_value = 'lokal'") == 0 &&
	    replica_qint(&f->b, "SELECT count(*) FROM conflict WHERE loser_value = 'lokal'") == 0)
		fail_msg("B's unsealed write 'lokal' was overwritten by the merge of A's 'fjern' "
			 "and is neither the winner nor kept as a conflict anywhere");
}

/* An integer query on a connection of its own, as another client reads. */
static int count_elsewhere(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int n = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		fail_msg("opening %s: %s", path, sqlite3_errmsg(db));
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

/* The change sets `from` has that `to` lacks, merged unsynced (as lmsyncd
 * merges). */
static void merge_unsynced(struct fx *f, struct replica *to, struct replica *from)
{
	struct envlist *l = new_list(f);
	struct merge_outcome o[4];
	struct seal_key key = {to->pk, to->sk};
	struct merge_options opt = {f->now, SKEW_MS, &key, 0, 1};
	const uint8_t *envs[4];
	lm_err err;
	size_t i;

	if (replica_missing_for(from, to, l, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(l->n >= 1 && l->n <= 4);
	for (i = 0; i < l->n; i++)
		envs[i] = l->env[i];
	if (merge_batch(&to->st, envs, l->len, l->n, &opt, o, &err) != 0)
		fail_msg("merge_batch at %s: %s", to->path, err.msg);
	for (i = 0; i < l->n; i++)
		assert_int_equal(o[i].result, MERGE_APPLIED);
}

/* lmsyncd merges unsynced and syncs before it acknowledges: the rows are
 * visible to other connections at once, the store says a sync is owed,
 * and the connection's later commits are FULL again. A merge that sealed
 * this site's own captures first syncs them itself, before they can leave. */
static void test_unsynced_merge_is_visible_and_owes_a_sync(void **state)
{
	struct fx *f = *state;
	lm_err err;

	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('u1', 'net', 'raskt')");
	assert_int_equal(seal(f, &f->a), 1);
	merge_unsynced(f, &f->b, &f->a);
	assert_int_equal(f->b.st.unsynced, 1);
	assert_int_equal(replica_qint(&f->b, "PRAGMA synchronous"), 2);
	assert_int_equal(count_elsewhere(f->b.path, "SELECT count(*) FROM note WHERE id = 'u1'"),
			 1);
	assert_int_equal(store_sync(&f->b.st, &err), 0);
	assert_int_equal(f->b.st.unsynced, 0);
	assert_int_equal(store_sync(&f->b.st, &err), 0); /* nothing owed: nothing done */

	/* B has a capture of its own pending when A's next change set arrives. */
	replica_sqlf(&f->b, "UPDATE note SET body = 'her' WHERE id = 'u1'");
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('u2', 'net', 'igjen')");
	assert_int_equal(seal(f, &f->a), 1);
	merge_unsynced(f, &f->b, &f->a);
	assert_int_equal(seal(f, &f->b), 0);   /* sealed by the merge */
	assert_int_equal(f->b.st.unsynced, 0); /* and synced with it */
	assert_int_equal(replica_qint(&f->b, "PRAGMA synchronous"), 2);
}

/* Two sites create the same key at the same time in different scopes. */
static void test_concurrent_create_in_two_scopes(void **state)
{
	struct fx *f = *state;

	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('k', 'net', 'A sin')");
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('k', 'avtale', 'B sin')");
	assert_int_equal(seal(f, &f->a), 1);
	assert_int_equal(seal(f, &f->b), 1);
	exchange(f, &f->a, &f->b);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->b, replica_dump_rows);
	assert_consistent(&f->a);
	assert_consistent(&f->b);
}

/* The same, reaching a third site that held neither: the row arrives new
 * there, and the later of the two creates must keep the scope. */
static void test_concurrent_create_reaches_third_site(void **state)
{
	struct fx *f = *state;

	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('k', 'net', 'A sin')");
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('k', 'avtale', 'B sin')");
	assert_int_equal(seal(f, &f->a), 1);
	assert_int_equal(seal(f, &f->b), 1);
	exchange(f, &f->a, &f->b);
	pull(f, &f->c, &f->a);
	replica_assert_same("tables", &f->a, &f->c, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->c, replica_dump_rows);
	replica_assert_same("clocks", &f->a, &f->c, replica_dump_clocks);
	assert_consistent(&f->c);
}

/* A new row after a known one in one change set (merge then reads repl_row
 * before applying it) and a delete of a row never seen: each arrives whole. */
static void test_new_and_known_rows_mixed(void **state)
{
	struct fx *f = *state;

	shared_note(f, "k", "net");
	replica_sqlf(&f->a, "UPDATE note SET body = 'endret' WHERE id = 'k'");
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body, n) VALUES ('n1', 'net', 'ny', 1)");
	replica_sqlf(&f->a, "UPDATE note SET n = 7 WHERE id = 'k'");
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body, n) VALUES ('n2', 'net', 'ny', 2)");
	replica_sqlf(&f->a, "DELETE FROM note WHERE id = 'n2'");
	assert_int_equal(seal(f, &f->a), 1);
	pull(f, &f->b, &f->a);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->b, replica_dump_rows);
	replica_assert_same("clocks", &f->a, &f->b, replica_dump_clocks);
	assert_consistent(&f->b);
}

/* Then each deletes its own: the tombstones must agree too (the scope a
 * deleted row is remembered in). */
static void test_concurrent_deletes_in_two_scopes(void **state)
{
	struct fx *f = *state;

	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('k', 'net', 'A sin')");
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('k', 'avtale', 'B sin')");
	assert_int_equal(seal(f, &f->a), 1);
	assert_int_equal(seal(f, &f->b), 1);
	replica_sqlf(&f->a, "DELETE FROM note WHERE id = 'k'");
	replica_sqlf(&f->b, "DELETE FROM note WHERE id = 'k'");
	assert_int_equal(seal(f, &f->a), 1);
	assert_int_equal(seal(f, &f->b), 1);
	exchange(f, &f->a, &f->b);
	pull(f, &f->c, &f->b);
	pull(f, &f->c, &f->a);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->b, replica_dump_rows);
	replica_assert_same("causal lengths", &f->a, &f->c, replica_dump_rows);
}

/* A deletes a row of scope 'net' and creates the key again in 'avtale',
 * sealed in one go; B held the old row. */
static void test_recreate_in_other_scope(void **state)
{
	struct fx *f = *state;

	shared_note(f, "k", "net");
	replica_sqlf(&f->a, "DELETE FROM note WHERE id = 'k'");
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('k', 'avtale', 'ny')");
	seal(f, &f->a);
	pull(f, &f->b, &f->a);
	assert_int_equal(replica_qint(&f->a, "SELECT count(*) FROM note WHERE scope = 'avtale'"),
			 1);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->b, replica_dump_rows);
	assert_consistent(&f->b);
}

/* The same, sealed separately (a delete in 'net', an insert in 'avtale'),
 * and delivered to B in the other order: scopes are independent streams. */
static void test_recreate_in_other_scope_reordered(void **state)
{
	struct fx *f = *state;
	struct envlist *del = new_list(f), *ins = new_list(f);
	struct merge_outcome o;

	shared_note(f, "k", "net");
	replica_sqlf(&f->a, "DELETE FROM note WHERE id = 'k'");
	assert_int_equal(seal(f, &f->a), 1);
	replica_newest(&f->a, del);
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('k', 'avtale', 'ny')");
	assert_int_equal(seal(f, &f->a), 1);
	replica_newest(&f->a, ins);
	merge_one(f, &f->b, ins->env[0], ins->len[0], &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	merge_one(f, &f->b, del->env[0], del->len[0], &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->b, replica_dump_rows);
	assert_consistent(&f->b);
}

/* INSERT OR REPLACE is how many clients write; with another scope it is a
 * scope change, which lmsync must refuse or carry through, not half-do. */
static void test_replace_into_other_scope(void **state)
{
	struct fx *f = *state;

	shared_note(f, "k", "net");
	if (sqlite3_exec(
		f->a.st.db,
		"INSERT OR REPLACE INTO note(id, scope, body) VALUES ('k', 'avtale', 'ny')", NULL,
		NULL, NULL) != SQLITE_OK)
		return; /* refused: fine */
	assert_consistent(&f->a);
	seal(f, &f->a);
	pull(f, &f->b, &f->a);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->b, replica_dump_rows);
}

/* A change set of one scope may only carry rows of that scope: sites of
 * the row's scope that are not in the other never see it. */
/* A row's scope is a register (docs/DECISIONS.md, "Merge"): a change set of
 * one scope may move a row of another, and no merge rule could refuse that
 * and still converge, since a member of the new scope that is not in the
 * old one never learns the row was there. A table whose rows must stay
 * where they are ties its key to its scope with a CHECK on the row alone,
 * as the coordinators' tables do (domain/schema.c SCOPE_IS): then every site
 * refuses the move alike, whether it holds the row or not. */
static void card_table(struct replica *r)
{
	lm_err err;

	replica_sqlf(r, "CREATE TABLE card (id TEXT NOT NULL PRIMARY KEY, scope TEXT NOT NULL "
			"DEFAULT '' CHECK (scope = substr(id, 1, instr(id, ':') - 1)), body TEXT)");
	if (registry_add(&r->st, "card", "id", "scope", POLICY_SCOPE, &err) != 0)
		fail_msg("registering card: %s", err.msg);
}

static void test_row_keyed_to_its_scope_stays_there(void **state)
{
	struct fx *f = *state;
	struct cs_value pk[1] = {{CS_TEXT, 0, 0, (const uint8_t *)"net:k", 5}};
	struct cs_col cols[1] = {{"body", 4, {CS_TEXT, 0, 0, (const uint8_t *)"utenfra", 7}}};
	struct cs_row row = {"card", 4, pk, 1, 1, cols, 1, NULL};
	uint8_t hash[CS_HASH_LEN], *env;
	struct merge_outcome o;
	struct cs_header h;
	struct cs_writer w;
	size_t len;
	lm_err err;

	card_table(&f->a);
	card_table(&f->b);
	card_table(&f->c);
	replica_sqlf(&f->a, "INSERT INTO card(id, scope, body) VALUES ('net:k', 'net', 'start')");
	assert_int_equal(seal(f, &f->a), 1);
	pull(f, &f->b, &f->a);
	/* C writes row net:k in a change set of scope 'avtale'. */
	memset(&h, 0, sizeof(h));
	memcpy(h.origin, f->c.pk, CS_KEY_LEN);
	snprintf(h.scope, sizeof(h.scope), "avtale");
	h.seq = 1;
	h.hlc = (f->now += 10) << 16;
	if (cs_writer_begin(&w, &h, &err) != 0 || cs_writer_add_row(&w, &row, &err) != 0 ||
	    cs_writer_seal(&w, f->c.sk, &env, &len, hash, &err) != 0)
		fail_msg("crafting: %s", err.msg);
	cs_writer_free(&w);
	own(f, env);
	/* B holds the row in 'net'; A's store is just like it. */
	merge_one(f, &f->b, env, len, &o);
	replica_expect(&o, MERGE_QUARANTINED, "CHECK");
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM card WHERE id = 'net:k' AND "
					     "scope = 'net' AND body = 'start'"),
			 1);
	/* C never held it: the row alone breaks the CHECK there too. */
	merge_one(f, &f->c, env, len, &o);
	replica_expect(&o, MERGE_QUARANTINED, "CHECK");
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM card"), 0);
	/* And C's own store refuses the write outright. */
	assert_int_not_equal(replica_exec(&f->c,
					  "INSERT INTO card(id, scope, body) VALUES ('net:j', "
					  "'avtale', 'utenfra')",
					  &err),
			     0);
}

/* B edits a value after it has received A's: B knew A's value, so nothing
 * was in conflict and the operator has nothing to look at. */
static void test_sequential_edit_is_not_a_conflict(void **state)
{
	struct fx *f = *state;

	shared_note(f, "k", "net");
	replica_sqlf(&f->a, "UPDATE note SET body = 'A skrev' WHERE id = 'k'");
	seal(f, &f->a);
	pull(f, &f->b, &f->a);
	replica_sqlf(&f->b, "UPDATE note SET body = 'B svarte' WHERE id = 'k'");
	seal(f, &f->b);
	pull(f, &f->c, &f->a);
	exchange(f, &f->a, &f->b);
	pull(f, &f->c, &f->b);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("tables", &f->a, &f->c, replica_dump_tables);
	assert_int_equal(replica_qint(&f->a, "SELECT count(*) FROM conflict"), 0);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM conflict"), 0);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM conflict"), 0);
}

/* A edits note k, which C holds as it was; B, having A's edit, answers
 * with one of its own, which goes to reply. */
static void a_writes_b_answers(struct fx *f, struct envlist *reply)
{
	shared_note(f, "k", "net");
	pull(f, &f->c, &f->a);
	replica_sqlf(&f->a, "UPDATE note SET body = 'A skrev' WHERE id = 'k'");
	seal(f, &f->a);
	pull(f, &f->b, &f->a);
	replica_sqlf(&f->b, "UPDATE note SET body = 'B svarte' WHERE id = 'k'");
	seal(f, &f->b);
	replica_newest(&f->b, reply);
}

/* The same edits, but C gets B's reply before A's value it answered (they
 * come from different origins, so no order holds between them). A's value
 * was seen and replaced by B: still no conflict, at C as anywhere. */
static void test_sequential_edit_out_of_order_is_not_a_conflict(void **state)
{
	struct fx *f = *state;
	struct envlist *reply = new_list(f);
	struct merge_outcome o;

	a_writes_b_answers(f, reply);
	merge_one(f, &f->c, reply->env[0], reply->len[0], &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	pull(f, &f->c, &f->a);
	replica_assert_same("tables", &f->b, &f->c, replica_dump_tables);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM conflict"), 0);
}

/* ---- (c2) causal context: which losers are recorded, and where ---- */

/* Conflicts at r with loser value `value` on note k's body, written by
 * loser and beaten by winner. */
static int64_t losses(struct replica *r, const char *value, const struct replica *loser,
		      const struct replica *winner)
{
	return replica_qint(
	    r,
	    "SELECT count(*) FROM conflict WHERE pk = '[\"k\"]' AND col = 'body' AND "
	    "loser_value = '%s' AND loser_origin = x'%s' AND winner_origin = x'%s'",
	    value, loser->hex, winner->hex);
}

static void merge_applied(struct fx *f, struct replica *r, const struct envlist *l)
{
	struct merge_outcome o;

	merge_one(f, r, l->env[0], l->len[0], &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
}

/* A and B edit one column at once (neither saw the other's): A's value
 * loses and is recorded at A, where it was overwritten, at B, where it
 * arrived after the winner, and at third sites C and D, which take the two
 * in either order. Everywhere the same loser, clock and winner. */
static void test_concurrent_edit_is_a_conflict_everywhere(void **state)
{
	struct fx *f = *state;
	struct envlist *ea = new_list(f), *eb = new_list(f);
	struct replica *sites[4] = {&f->a, &f->b, &f->c, &f->d};
	int64_t hlc_a;
	int i;

	replica_make(&f->d, f->dir, "d", 'D');
	shared_note(f, "k", "net");
	pull(f, &f->c, &f->a);
	pull(f, &f->d, &f->a);
	replica_sqlf(&f->a, "UPDATE note SET body = 'fra A' WHERE id = 'k'");
	seal(f, &f->a);
	replica_newest(&f->a, ea);
	replica_sqlf(&f->b, "UPDATE note SET body = 'fra B' WHERE id = 'k'");
	seal(f, &f->b); /* later: B wins */
	replica_newest(&f->b, eb);
	merge_applied(f, &f->c, ea);
	merge_applied(f, &f->c, eb);
	merge_applied(f, &f->d, eb);
	merge_applied(f, &f->d, ea);
	exchange(f, &f->a, &f->b);
	hlc_a = replica_qint(&f->a, "SELECT hlc FROM changeset WHERE origin = x'%s' AND seq = 2",
			     f->a.hex);
	for (i = 0; i < 4; i++) {
		struct replica *r = sites[i];

		assert_int_equal(replica_qint(r, "SELECT body = 'fra B' FROM note"), 1);
		assert_int_equal(replica_qint(r, "SELECT count(*) FROM conflict"), 1);
		if (losses(r, "fra A", &f->a, &f->b) != 1)
			fail_msg("%s does not hold A's value as the loser to B's", r->path);
		assert_int_equal(replica_qint(r, "SELECT loser_hlc FROM conflict"), hlc_a);
	}
	replica_assert_same("tables", &f->c, &f->d, replica_dump_tables);
	replica_assert_same("column winners", &f->c, &f->d, replica_dump_clocks);
}

/* A and B create the same key in the same scope at once: neither held the
 * other's row, so the earlier one's columns are recorded as losers at both. */
static void test_concurrent_create_is_a_conflict(void **state)
{
	struct fx *f = *state;

	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('k', 'net', 'A sin')");
	seal(f, &f->a);
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('k', 'net', 'B sin')");
	seal(f, &f->b);
	exchange(f, &f->a, &f->b);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	assert_int_equal(replica_qint(&f->a, "SELECT body = 'B sin' FROM note"), 1);
	assert_int_equal(losses(&f->a, "A sin", &f->a, &f->b), 1);
	assert_int_equal(losses(&f->b, "A sin", &f->a, &f->b), 1);
	/* body, n and x: an insert writes every column. */
	assert_int_equal(replica_qint(&f->a,
				      "SELECT count(*) FROM conflict WHERE loser_origin = "
				      "x'%s'",
				      f->a.hex),
			 3);
	assert_int_equal(replica_qint(&f->b,
				      "SELECT count(*) FROM conflict WHERE loser_origin = "
				      "x'%s'",
				      f->a.hex),
			 3);
	assert_int_equal(replica_qint(&f->a, "SELECT count(*) FROM conflict"), 3);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM conflict"), 3);
}

/* V1 (A creates the row), V2 (B edits it, having V1), V3 (C edits it,
 * having V2): a chain of edits, each of the one before. D receives them
 * last first. Nothing is a conflict, at D or anywhere. */
static void test_chain_in_reverse_is_not_a_conflict(void **state)
{
	struct fx *f = *state;
	struct envlist *v1 = new_list(f), *v2 = new_list(f), *v3 = new_list(f);
	struct replica *sites[4] = {&f->a, &f->b, &f->c, &f->d};
	int i;

	replica_make(&f->d, f->dir, "d", 'D');
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body, n) VALUES ('k', 'net', 'V1', 1)");
	seal(f, &f->a);
	replica_newest(&f->a, v1);
	pull(f, &f->b, &f->a);
	replica_sqlf(&f->b, "UPDATE note SET body = 'V2' WHERE id = 'k'");
	seal(f, &f->b);
	replica_newest(&f->b, v2);
	pull(f, &f->c, &f->b);
	replica_sqlf(&f->c, "UPDATE note SET body = 'V3' WHERE id = 'k'");
	seal(f, &f->c);
	replica_newest(&f->c, v3);
	merge_applied(f, &f->d, v3); /* a row seen first as a partial update */
	merge_applied(f, &f->d, v2);
	merge_applied(f, &f->d, v1);
	replica_assert_same("tables", &f->c, &f->d, replica_dump_tables);
	replica_assert_same("column winners", &f->c, &f->d, replica_dump_clocks);
	assert_int_equal(replica_qint(&f->d, "SELECT body = 'V3' AND n = 1 FROM note"), 1);
	pull(f, &f->a, &f->c);
	pull(f, &f->b, &f->c);
	for (i = 0; i < 4; i++)
		if (replica_qint(sites[i], "SELECT count(*) FROM conflict") != 0)
			fail_msg("%s recorded a conflict for a chain of edits", sites[i]->path);
}

/* The base a seal puts on the wire for each column is that column's clock
 * here before the write (none for an insert, a re-creation, or a column
 * never held), and the same base is kept in repl_row, where every site
 * that takes the write keeps it too. */
static void expect_base(const struct cs_row *row, const char *col, const struct replica *by,
			int64_t hlc)
{
	size_t i;

	for (i = 0; i < row->ncols; i++) {
		if (row->cols[i].name_len != strlen(col) ||
		    memcmp(row->cols[i].name, col, row->cols[i].name_len) != 0)
			continue;
		if (by == NULL) {
			assert_true(row->bases == NULL || !row->bases[i].held);
			return;
		}
		assert_non_null(row->bases);
		assert_true(row->bases[i].held);
		assert_true(row->bases[i].hlc == (uint64_t)hlc);
		assert_memory_equal(row->bases[i].origin, by->pk, CS_KEY_LEN);
		return;
	}
	fail_msg("the row has no column %s", col);
}

/* The newest change set of r, decoded (its envelope owned by the fixture). */
static void newest_decoded(struct fx *f, struct replica *r, struct changeset *cs)
{
	struct envlist *l = new_list(f);
	lm_err err;

	replica_newest(r, l);
	if (changeset_decode(l->env[0], l->len[0], cs, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(cs->h.format == CS_FORMAT);
	assert_int_equal(cs->nrows, 1);
}

/* repl_row's base for column col of note k at r, as "hlc origin-hex",
 * "none" or "unknown". */
static void expect_stored_base(struct replica *r, const char *col, const char *want)
{
	struct rowclock rc;
	sqlite3_stmt *stmt;
	char got[128] = "no such column";
	size_t i;

	assert_int_equal(sqlite3_prepare_v2(r->st.db,
					    "SELECT clocks FROM repl_row WHERE pk = '[\"k\"]'", -1,
					    &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_int_equal(rowclock_decode(sqlite3_column_blob(stmt, 0),
					 (size_t)sqlite3_column_bytes(stmt, 0), &rc),
			 0);
	for (i = 0; i < rc.n; i++) {
		if (rc.c[i].name_len != strlen(col) || memcmp(rc.c[i].name, col, rc.c[i].name_len))
			continue;
		if (rc.c[i].base == ROWCLOCK_HELD) {
			int n = snprintf(got, sizeof(got), "%lld ", (long long)rc.c[i].base_hlc);

			sodium_bin2hex(got + n, sizeof(got) - (size_t)n, rc.c[i].base_origin,
				       CS_KEY_LEN);
		} else {
			snprintf(got, sizeof(got), "%s",
				 rc.c[i].base == ROWCLOCK_NONE ? "none" : "unknown");
		}
	}
	sqlite3_finalize(stmt);
	assert_string_equal(got, want);
}

static void test_seal_puts_bases_on_the_wire(void **state)
{
	struct fx *f = *state;
	struct changeset ins, upd, both, again;
	int64_t hlc_ins, hlc_b;
	char want[128];

	shared_note(f, "k", "net");
	newest_decoded(f, &f->a, &ins);
	assert_null(ins.rows[0].bases); /* an insert: 4 elements */
	hlc_ins = (int64_t)ins.h.hlc;
	expect_stored_base(&f->a, "body", "none");
	expect_stored_base(&f->b, "body", "none");

	replica_sqlf(&f->b, "UPDATE note SET body = 'B' WHERE id = 'k'");
	seal(f, &f->b);
	newest_decoded(f, &f->b, &upd);
	expect_base(&upd.rows[0], "body", &f->a, hlc_ins);
	hlc_b = (int64_t)upd.h.hlc;
	snprintf(want, sizeof(want), "%lld %s", (long long)hlc_ins, f->a.hex);
	expect_stored_base(&f->b, "body", want);
	pull(f, &f->a, &f->b);
	expect_stored_base(&f->a, "body", want);

	/* body was last B's, n still A's own insert: one base each. */
	replica_sqlf(&f->a, "UPDATE note SET body = 'A', n = 5 WHERE id = 'k'");
	seal(f, &f->a);
	newest_decoded(f, &f->a, &both);
	expect_base(&both.rows[0], "body", &f->b, hlc_b);
	expect_base(&both.rows[0], "n", &f->a, hlc_ins);
	pull(f, &f->b, &f->a);
	snprintf(want, sizeof(want), "%lld %s", (long long)hlc_b, f->b.hex);
	expect_stored_base(&f->a, "body", want);
	expect_stored_base(&f->b, "body", want);
	snprintf(want, sizeof(want), "%lld %s", (long long)hlc_ins, f->a.hex);
	expect_stored_base(&f->b, "n", want);
	expect_stored_base(&f->b, "x", "none");

	/* Deleted and created again: a new incarnation holds nothing yet. */
	replica_sqlf(&f->a, "DELETE FROM note WHERE id = 'k'");
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('k', 'net', 'igjen')");
	seal(f, &f->a);
	newest_decoded(f, &f->a, &again);
	assert_true(again.rows[0].cl == 3);
	assert_null(again.rows[0].bases);
	expect_stored_base(&f->a, "body", "none");
	changeset_free(&ins);
	changeset_free(&upd);
	changeset_free(&both);
	changeset_free(&again);
}

/* A change set of note k's body from the key of seed byte `who` (a site
 * not among the fixture's), seq 1 in 'net', at hlc, in format `format`
 * with base (NULL: none), as a writer of either format seals it. */
static void craft_note(struct fx *f, uint8_t who, uint64_t format, uint64_t hlc, const char *body,
		       const struct cs_base *base, uint8_t **env, size_t *len)
{
	struct cs_value key = {CS_TEXT, 0, 0, (const uint8_t *)"k", 1};
	struct cs_col col = {"body", 4, {CS_TEXT, 0, 0, (const uint8_t *)body, strlen(body)}};
	struct cs_row row = {"note", 4, &key, 1, 1, &col, 1, base};
	uint8_t seed[32], pk[32], sk[64], hash[CS_HASH_LEN];
	struct cs_header h;
	struct cs_writer w;
	lm_err err;

	memset(seed, who, sizeof(seed));
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	memset(&h, 0, sizeof(h));
	h.format = format;
	memcpy(h.origin, pk, CS_KEY_LEN);
	snprintf(h.scope, sizeof(h.scope), "net");
	h.seq = 1;
	h.hlc = hlc;
	if (cs_writer_begin(&w, &h, &err) != 0 || cs_writer_add_row(&w, &row, &err) != 0 ||
	    cs_writer_seal(&w, sk, env, len, hash, &err) != 0)
		fail_msg("crafting: %s", err.msg);
	cs_writer_free(&w);
	sodium_memzero(sk, sizeof(sk));
	own(f, *env);
}

/* A change set sealed before bases (format 1) still verifies, is logged
 * byte for byte and merges as it did: it wins and loses by its clock alone,
 * a value it overwrites is not recorded (it cannot say whether it saw it)
 * and it is recorded when it loses. The same write with a base, for
 * contrast, records the value it overwrote unseen. */
static void test_format_1_change_set_records_as_before(void **state)
{
	struct fx *f = *state;
	struct envlist *logged = new_list(f);
	uint8_t *old_wins, *new_wins, *old_loses;
	size_t old_wins_len, new_wins_len, old_loses_len;
	struct merge_outcome o;
	struct cs_base seen_insert;
	int64_t hlc_ins, hlc_b;

	replica_make(&f->d, f->dir, "d", 'D');
	shared_note(f, "k", "net");
	hlc_ins = replica_qint(&f->a, "SELECT hlc FROM changeset WHERE origin = x'%s'", f->a.hex);
	replica_sqlf(&f->b, "UPDATE note SET body = 'B ny' WHERE id = 'k'");
	seal(f, &f->b);
	pull(f, &f->d, &f->b); /* D holds what B holds */
	hlc_b = replica_qint(&f->b, "SELECT hlc FROM changeset WHERE origin = x'%s'", f->b.hex);

	/* Site E, later than B's edit, having seen only A's insert. */
	seen_insert.held = 1;
	seen_insert.hlc = (uint64_t)hlc_ins;
	memcpy(seen_insert.origin, f->a.pk, CS_KEY_LEN);
	craft_note(f, 'E', CS_FORMAT_V1, (uint64_t)hlc_b + 5, "E gammel", NULL, &old_wins,
		   &old_wins_len);
	craft_note(f, 'E', CS_FORMAT, (uint64_t)hlc_b + 5, "E ny", &seen_insert, &new_wins,
		   &new_wins_len);
	/* Site F, between A's insert and B's edit, in format 1. */
	craft_note(f, 'F', CS_FORMAT_V1, (uint64_t)hlc_ins + 5, "F gammel", NULL, &old_loses,
		   &old_loses_len);

	merge_one(f, &f->b, old_wins, old_wins_len, &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	replica_newest(&f->b, logged);
	assert_int_equal(logged->len[0], old_wins_len);
	assert_memory_equal(logged->env[0], old_wins, old_wins_len);
	assert_int_equal(replica_qint(&f->b, "SELECT body = 'E gammel' FROM note"), 1);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM conflict"), 0);
	merge_one(f, &f->b, old_loses, old_loses_len, &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM conflict"), 1);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM conflict WHERE loser_value = "
					     "'F gammel'"),
			 1);
	/* Relayed on, the old change set merges elsewhere the same way. */
	pull(f, &f->c, &f->b);
	replica_assert_same("tables", &f->b, &f->c, replica_dump_tables);

	merge_one(f, &f->d, new_wins, new_wins_len, &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	assert_int_equal(replica_qint(&f->d, "SELECT body = 'E ny' FROM note"), 1);
	assert_int_equal(replica_qint(&f->d,
				      "SELECT count(*) FROM conflict WHERE loser_value = "
				      "'B ny' AND loser_origin = x'%s'",
				      f->b.hex),
			 1);
}

/* A store from before bases (its clock blobs of version 1) reads every base
 * as unknown, and records a value that loses on arrival, as it did: here
 * A's edit reaching C after B's reply to it, which with bases is none. */
static void test_old_clock_blobs_record_as_before(void **state)
{
	struct fx *f = *state;
	struct envlist *reply = new_list(f);
	uint8_t v1[ROWCLOCK_BLOB_MAX];
	struct rowclock rc;
	sqlite3_stmt *stmt;
	size_t n = 0, i;

	a_writes_b_answers(f, reply);
	merge_applied(f, &f->c, reply);

	/* C's clocks of k rewritten as an older lmsync wrote them. */
	assert_int_equal(sqlite3_prepare_v2(f->c.st.db,
					    "SELECT clocks FROM repl_row WHERE pk = '[\"k\"]'", -1,
					    &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_int_equal(rowclock_decode(sqlite3_column_blob(stmt, 0),
					 (size_t)sqlite3_column_bytes(stmt, 0), &rc),
			 0);
	v1[n++] = ROWCLOCK_VERSION_V1;
	v1[n++] = (uint8_t)rc.cl; /* 1: one varint byte */
	v1[n++] = (uint8_t)rc.n;  /* a clock per column, repeats allowed */
	for (i = 0; i < rc.n; i++) {
		for (int b = 7; b >= 0; b--)
			v1[n++] = (uint8_t)(rc.c[i].hlc >> (8 * b));
		memcpy(v1 + n, rc.c[i].origin, CS_KEY_LEN);
		n += CS_KEY_LEN;
	}
	for (i = 0; i < rc.n; i++) {
		v1[n++] = (uint8_t)rc.c[i].name_len;
		memcpy(v1 + n, rc.c[i].name, rc.c[i].name_len);
		n += rc.c[i].name_len;
		v1[n++] = (uint8_t)i;
	}
	sqlite3_finalize(stmt);
	assert_int_equal(sqlite3_prepare_v2(f->c.st.db,
					    "UPDATE repl_row SET clocks = ? WHERE pk = '[\"k\"]'",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(stmt, 1, v1, (int)n, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
	expect_stored_base(&f->c, "body", "unknown");

	pull(f, &f->c, &f->a);
	replica_assert_same("tables", &f->b, &f->c, replica_dump_tables);
	assert_int_equal(losses(&f->c, "A skrev", &f->a, &f->b), 1);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM conflict"), 1);
}

/* ---- sealing limits and registration ---- */

/* A bulk write sealed in chunks (as lmsyncd does, so the first change sets
 * travel early) gives the same replica as one seal; a row's captures are
 * never split between chunks, so a row moved to another scope early and
 * written again late leaves its old scope in the chunk that moves it. */
static void test_seal_in_chunks(void **state)
{
	struct seal_key key;
	struct fx *f = *state;
	int count, more, chunks = 0, total = 0;
	lm_err err;

	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('moved', 'net', 'first')");
	assert_int_equal(seal(f, &f->a), 1);
	replica_sqlf(
	    &f->a, "BEGIN; DELETE FROM note WHERE id = 'moved'; "
		   "INSERT INTO note(id, scope, body) VALUES ('moved', 'avtale', 'again'); "
		   "WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 1000) "
		   "INSERT INTO note(id, scope, body, n) SELECT 'r' || n, CASE n %% 3 WHEN 0 THEN "
		   "'net' ELSE 'avtale' END, 'rad ' || n, n FROM i; "
		   "UPDATE note SET body = 'late' WHERE id = 'moved'; COMMIT");
	key.public_key = f->a.pk;
	key.secret_key = f->a.sk;
	do {
		f->now += 10;
		if (seal_pending_some(&f->a.st, &key, f->now, 100, &count, &more, &err) != 0)
			fail_msg("seal_pending_some: %s", err.msg);
		/* The first chunk took every capture of 'moved', the late one too. */
		if (chunks++ == 0)
			assert_int_equal(replica_qint(&f->a,
						      "SELECT count(*) FROM repl_capture WHERE pk "
						      "LIKE '%%moved%%'"),
					 0);
		total += count;
	} while (more);
	assert_true(chunks >= 10);
	assert_true(total >= chunks);
	assert_int_equal(replica_qint(&f->a, "SELECT count(*) FROM repl_capture"), 0);
	/* B takes the moved row once, in its new scope, with its late value. */
	pull(f, &f->b, &f->a);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("causal lengths", &f->a, &f->b, replica_dump_rows);
	assert_int_equal(replica_qint(&f->b,
				      "SELECT count(*) FROM note WHERE id = 'moved' AND scope "
				      "= 'avtale' AND body = 'late'"),
			 1);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM note"), 1001);
	/* Nothing pending: one empty call, nothing made. */
	assert_int_equal(seal_pending_some(&f->a.st, &key, f->now, 100, &count, &more, &err), 0);
	assert_int_equal(count, 0);
	assert_int_equal(more, 0);
}

static void test_large_seal_splits(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f);
	size_t i;
	int n;

	replica_sqlf(
	    &f->a, "WITH RECURSIVE i(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM i WHERE v < 3000) "
		   "INSERT INTO note(id, scope, body, n) SELECT printf('rad-%%05d', v), 'net', "
		   "printf('%%060d', v), v FROM i");
	n = seal(f, &f->a);
	assert_true(n >= 3);
	log_of(&f->a, l);
	assert_int_equal(l->n, (size_t)n);
	for (i = 0; i < l->n; i++)
		assert_true(l->len[i] <= CS_MAX_ENVELOPE);
	pull(f, &f->b, &f->a);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM note"), 3000);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	replica_assert_same("column winners", &f->a, &f->b, replica_dump_clocks);
}

/* The page cache size seen while a merge writes rows (a merge hook). */
static int note_cache_size(struct store *st, const char *key_json, int deleting, void *ctx,
			   lm_err *err)
{
	int64_t *seen = ctx;
	sqlite3_stmt *stmt;

	(void)key_json;
	(void)deleting;
	if (sqlite3_prepare_v2(st->db, "PRAGMA cache_size", -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s", sqlite3_errmsg(st->db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		*seen = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return 0;
}

/* A large merge holds its pages in a larger page cache for its
 * transaction, and gives the connection its own size back after it; a
 * cache already large enough is left alone. */
static void test_large_merge_grows_the_cache_for_itself(void **state)
{
	struct fx *f = *state;
	int64_t seen = 0;
	lm_err err;

	replica_sqlf(
	    &f->a, "WITH RECURSIVE i(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM i WHERE v < 3000) "
		   "INSERT INTO note(id, scope, body, n) SELECT printf('rad-%%05d', v), 'net', "
		   "printf('%%0900d', v), v FROM i");
	assert_true(seal(f, &f->a) >= 40); /* about 2.7 MB of envelopes */
	replica_sqlf(&f->c, "%s", "PRAGMA cache_size = -100000");
	replica_sqlf(&f->b, "%s", "PRAGMA cache_size = 300"); /* pages, 1.2 MB */
	if (mergehook_add(&f->b.st, "note", "lm_test_cache_", note_cache_size, &seen, &err) != 0 ||
	    mergehook_add(&f->c.st, "note", "lm_test_cache_", note_cache_size, &seen, &err) != 0)
		fail_msg("%s", err.msg);
	pull(f, &f->b, &f->a);
	assert_true(seen <= -5000); /* in KiB: twice the envelopes */
	assert_int_equal(replica_qint(&f->b, "PRAGMA cache_size"), 300);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);
	pull(f, &f->c, &f->a);
	assert_int_equal(seen, -100000);
	assert_int_equal(replica_qint(&f->c, "PRAGMA cache_size"), -100000);
	replica_assert_same("tables", &f->a, &f->c, replica_dump_tables);
}

/* A row too large for any change set, written by some client, gets a clear
 * error; it must not stop everything else the site writes from replicating. */
static void test_oversized_row_does_not_block(void **state)
{
	struct fx *f = *state;
	int count, rc;
	lm_err err;

	if (sqlite3_exec(f->a.st.db,
			 "INSERT INTO note(id, scope, body) VALUES ('stor', 'net', "
			 "printf('%.*c', 70000, 'x'))",
			 NULL, NULL, NULL) == SQLITE_OK) {
		rc = replica_seal(&f->a, f->now += 10, &count, &err);
		if (rc != 0)
			assert_non_null(strstr(err.msg, "too large"));
	}
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('liten', 'net', 'kort')");
	if (replica_seal(&f->a, f->now += 10, &count, &err) != 0)
		fail_msg("one oversized row blocks every later seal: %s", err.msg);
	pull(f, &f->b, &f->a);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM note WHERE id = 'liten'"), 1);
}

/* Rows a table already held when it was registered replicate like the
 * rest (or registering a non-empty table is refused). */
static void test_preexisting_rows_replicate(void **state)
{
	struct fx *f = *state;
	lm_err err;

	replica_sqlf(&f->a, "CREATE TABLE tema (id TEXT NOT NULL PRIMARY KEY, scope TEXT NOT NULL "
			    "DEFAULT '', navn TEXT)");
	replica_sqlf(&f->b, "CREATE TABLE tema (id TEXT NOT NULL PRIMARY KEY, scope TEXT NOT NULL "
			    "DEFAULT '', navn TEXT)");
	replica_sqlf(&f->a,
		     "INSERT INTO tema VALUES ('t1', 'net', 'fra før'), ('t2', 'net', 'også')");
	if (registry_add(&f->a.st, "tema", "id", "scope", POLICY_SCOPE, &err) != 0)
		return; /* refused: fine */
	if (registry_add(&f->b.st, "tema", "id", "scope", POLICY_SCOPE, &err) != 0)
		fail_msg("%s", err.msg);
	replica_sqlf(&f->a, "UPDATE tema SET navn = 'endret' WHERE id = 't1'");
	replica_sqlf(&f->a, "DELETE FROM tema WHERE id = 't2'");
	seal(f, &f->a);
	pull(f, &f->b, &f->a);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM tema WHERE id = 't1' AND navn = "
					     "'endret' AND scope = 'net'"),
			 1);
	assert_int_equal(replica_qint(&f->a, "SELECT count(*) FROM repl_row WHERE tbl = 'tema'"),
			 2);
}

/* ---- (d) crash safety ---- */

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* A closed store is its file and its log file. */
static void copy_store(const char *from, const char *to)
{
	char a[300], b[300];

	copy_file(from, to);
	snprintf(a, sizeof(a), "%s-log", from);
	snprintf(b, sizeof(b), "%s-log", to);
	copy_file(a, b);
}

static void remove_store(const char *path)
{
	static const char *const suffixes[] = {"-wal", "-shm", "-log"};
	char p[300];
	size_t i;

	unlink(path);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Open a copy of B at path, as B. */
static void open_as(struct fx *f, struct replica *r, const char *path)
{
	lm_err err;

	*r = f->b;
	memset(&r->st, 0, sizeof(r->st));
	snprintf(r->path, sizeof(r->path), "%s", path);
	if (replica_reopen(r, &err) != 0)
		fail_msg("%s", err.msg);
}

static void merge_all(struct fx *f, struct replica *r, const struct envlist *l)
{
	struct merge_outcome *o = own(f, calloc(l->n, sizeof(*o)));
	size_t i;

	merge_at(f, r, l->env, l->len, l->n, f->now, o);
	for (i = 0; i < l->n; i++)
		if (o[i].result != MERGE_APPLIED && o[i].result != MERGE_DUPLICATE)
			fail_msg("change set %zu: %s: %s", i, merge_result_name(o[i].result),
				 o[i].reason);
}

/* The child: merge l into the store at path in one batch, saying "s" on fd
 * just before and "d" once it has committed, then wait to be killed. */
static void crash_child(struct fx *f, const char *path, const struct envlist *l, int fd)
{
	struct merge_outcome *o = calloc(l->n, sizeof(*o));
	const uint8_t **envs = calloc(l->n, sizeof(*envs));
	struct merge_options opt = {f->now, SKEW_MS, NULL, 0, 0};
	struct store st;
	lm_err err;
	size_t i;

	if (o == NULL || envs == NULL || store_open(&st, path, STORE_OPEN, &err) != 0)
		_exit(2);
	for (i = 0; i < l->n; i++)
		envs[i] = l->env[i];
	if (write(fd, "s", 1) != 1)
		_exit(3);
	if (merge_batch(&st, envs, l->len, l->n, &opt, o, &err) != 0)
		_exit(4);
	if (write(fd, "d", 1) != 1)
		_exit(5);
	for (;;)
		pause(); /* no close: killed as it stands */
}

/* Run the child on a fresh copy of pristine at trial; kill it delay_us
 * after it starts the batch (or, with delay_us < 0, once it has
 * committed). Returns the seconds from start to commit, or 0. */
static double crash_trial(struct fx *f, const char *pristine, const char *trial,
			  const struct envlist *l, long delay_us)
{
	double t0, took = 0;
	int fds[2], status;
	char c = 0;
	pid_t pid;

	remove_store(trial);
	copy_store(pristine, trial);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		crash_child(f, trial, l, fds[1]);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 's');
	t0 = seconds();
	if (delay_us < 0) {
		assert_int_equal(read(fds[0], &c, 1), 1);
		assert_int_equal(c, 'd');
		took = seconds() - t0;
	} else {
		usleep((useconds_t)delay_us);
	}
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return took;
}

/* A hub without the table (relay): A's change sets are logged and counted,
 * their rows skipped, nothing quarantined; without relay they would be
 * quarantined. Forwarded from the hub, they apply at B as from A. */
static void test_relay_without_the_table(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f), *fwd = new_list(f);
	struct merge_outcome o[4];
	struct merge_options opt = {f->now, SKEW_MS, NULL, 1, 0};
	const uint8_t *envs[4];
	char path[160];
	struct store hub;
	lm_err err;
	size_t i;

	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('r1', 'net', 'videre')");
	seal(f, &f->a);
	replica_sqlf(&f->a, "UPDATE note SET body = 'videre 2' WHERE id = 'r1'");
	seal(f, &f->a);
	log_of(&f->a, l);
	assert_int_equal(l->n, 2);
	snprintf(path, sizeof(path), "%s/hub.db", f->dir);
	if (store_open(&hub, path, STORE_CREATE, &err) != 0)
		fail_msg("%s", err.msg);
	for (i = 0; i < l->n; i++)
		envs[i] = l->env[i];
	assert_int_equal(merge_batch(&hub, envs, l->len, l->n, &opt, o, &err), 0);
	for (i = 0; i < l->n; i++)
		assert_int_equal(o[i].result, MERGE_APPLIED);
	/* Without relay the same would be quarantined (a fresh store). */
	{
		struct store plain;
		char p2[160];

		opt.relay = 0;
		snprintf(p2, sizeof(p2), "%s/plain.db", f->dir);
		if (store_open(&plain, p2, STORE_CREATE, &err) != 0)
			fail_msg("%s", err.msg);
		assert_int_equal(merge_batch(&plain, envs, l->len, 1, &opt, o, &err), 0);
		assert_int_equal(o[0].result, MERGE_QUARANTINED);
		store_close(&plain);
	}
	/* The hub's log forwards them to B, byte for byte. */
	{
		struct cslog_entry e[4];
		size_t n;
		uint8_t *env;
		size_t len;

		assert_int_equal(cslog_scan(&hub, 0, e, 4, &n, &err), 0);
		assert_int_equal(n, 2);
		for (i = 0; i < n; i++) {
			assert_int_equal(cslog_envelope(&hub, e[i].local_id, &env, &len, &err), 1);
			assert_int_equal(envlist_add(fwd, env, len), 0);
			free(env);
		}
	}
	store_close(&hub);
	merge_all(f, &f->b, fwd);
	assert_string_equal(own(f, qtext(&f->b, "SELECT body FROM note WHERE id = 'r1'")),
			    "t8:videre 2\n");
}

static void test_crash_mid_batch(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f), *head = new_list(f);
	char pristine[160], ref[160], trial[160], *before, *after, *got;
	int cs, row, k, as_before = 0, as_after = 0;
	double took = 0;
	long delay = -1;

	/* 200 change sets of 50 rows: inserts, and updates of earlier rows.
	 * Every other insert has a long body, which puts its change set in the
	 * log file; the others stay in the changeset table. */
	for (cs = 0; cs < 200; cs++) {
		replica_sqlf(&f->a, "BEGIN");
		for (row = 0; row < 50; row++)
			replica_sqlf(
			    &f->a,
			    "INSERT INTO note(id, scope, body, n, x) VALUES ('n%03d-%02d', 'net', "
			    "'tekst %d' || hex(zeroblob(%d)), %d, %d.25) "
			    "ON CONFLICT (id) DO UPDATE SET n = n + 1",
			    cs % 150, row, cs, cs % 2 ? 0 : 200, row, cs);
		replica_sqlf(&f->a, "COMMIT");
		assert_int_equal(seal(f, &f->a), 1);
	}
	log_of(&f->a, l);
	assert_int_equal(l->n, 200);
	/* B already holds the first 10 and has a write of its own. */
	for (k = 0; k < 10; k++)
		assert_int_equal(envlist_add(head, l->env[k], l->len[k]), 0);
	merge_all(f, &f->b, head);
	replica_sqlf(&f->b, "UPDATE note SET body = 'B var her' WHERE id = 'n003-07'");
	seal(f, &f->b);
	before = own(f, state_of(&f->b));
	replica_close(&f->b);
	snprintf(pristine, sizeof(pristine), "%s/pristine.db", f->dir);
	snprintf(ref, sizeof(ref), "%s/ref.db", f->dir);
	snprintf(trial, sizeof(trial), "%s/trial.db", f->dir);
	copy_store(f->b.path, pristine);

	/* The uninterrupted run says what "after" is. */
	copy_store(pristine, ref);
	open_as(f, &f->d, ref);
	merge_all(f, &f->d, l);
	after = own(f, state_of(&f->d));
	assert_true(replica_qint(&f->d, "SELECT count(*) FROM changeset WHERE at IS NULL") > 0);
	assert_true(replica_qint(&f->d, "SELECT count(*) FROM changeset WHERE at IS NOT NULL") > 0);
	replica_close(&f->d);
	assert_string_not_equal(before, after);

	/* Trial 0 is killed once committed, and times the batch; the others at
	 * random points inside it. */
	for (k = 0; k < 4; k++) {
		if (k > 0)
			delay =
			    (long)(took * 1e6 * (0.05 + 0.9 * randombytes_uniform(1000) / 1000.0));
		if (k == 0)
			took = crash_trial(f, pristine, trial, l, -1);
		else
			crash_trial(f, pristine, trial, l, delay);
		open_as(f, &f->d, trial);
		got = own(f, state_of(&f->d));
		if (strcmp(got, before) == 0) {
			as_before++;
		} else if (strcmp(got, after) == 0) {
			as_after++;
		} else {
			replica_diff("state after SIGKILL vs before", "got", got, "before", before);
			replica_diff("state after SIGKILL vs after", "got", got, "after", after);
			fail_msg("trial %d (killed %ld us into the batch): the store is neither as "
				 "before nor as after it",
				 k, delay);
		}
		if (k == 0)
			assert_string_equal(got, after);
		merge_all(f, &f->d, l);
		got = own(f, state_of(&f->d));
		if (strcmp(got, after) != 0) {
			replica_diff("state after merging again", "got", got, "after", after);
			fail_msg("trial %d: merging again after the crash differs from an "
				 "uninterrupted run",
				 k);
		}
		replica_close(&f->d);
	}
	print_message("crash: the batch takes %.2f s; %d trials as before, %d as after\n", took,
		      as_before, as_after);
	assert_int_equal(as_before + as_after, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_external_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_body, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_signature, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_origin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owner_violation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_future, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relayed_envelopes_verify_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tie_by_origin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_wins_then_recreate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsealed_local_write_survives_merge, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unsynced_merge_is_visible_and_owes_a_sync, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_create_in_two_scopes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_create_reaches_third_site, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_new_and_known_rows_mixed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_deletes_in_two_scopes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recreate_in_other_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recreate_in_other_scope_reordered, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_replace_into_other_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_row_keyed_to_its_scope_stays_there, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sequential_edit_is_not_a_conflict, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sequential_edit_out_of_order_is_not_a_conflict,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_edit_is_a_conflict_everywhere, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_create_is_a_conflict, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_chain_in_reverse_is_not_a_conflict, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_seal_puts_bases_on_the_wire, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_format_1_change_set_records_as_before, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_old_clock_blobs_record_as_before, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seal_in_chunks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_seal_splits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_merge_grows_the_cache_for_itself, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_oversized_row_does_not_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_preexisting_rows_replicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relay_without_the_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_mid_batch, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
