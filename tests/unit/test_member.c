/* SPDX-License-Identifier: MIT */
/* Governed scopes and their member list (store/member.h), between real store
 * files (tests/support/replica.h):
 *
 *  - scope ids: NAME@ROOT names its root, with ROOT exactly 64 lowercase
 *    hex digits; anything else is an open scope;
 *  - the capture triggers refuse, locally, writes of sites without a
 *    writing role, member-list writes of non-admins (a site's own new row
 *    does not vouch for it), and member rows kept outside the scope they
 *    grant;
 *  - the merge holds change sets of sites without a role here until the
 *    grant arrives, and applies them in the batch that brings it;
 *  - member rows that break the rules (another scope in their key, a role
 *    the table's CHECK refuses) are quarantined alone, and the origin's
 *    later change sets still flow; so are held ones a grant lets in, however
 *    many, without failing the grant's batch;
 *  - removal: later change sets of the removed site wait, and the removed
 *    site itself can no longer write; every site can say which change set
 *    of its log removed a site (member_removal), and what of a pair its log
 *    held at that point (cslog_seq_upto), which is how far the sync engine
 *    sends the removed site the scope;
 *  - open scopes work for everyone as before.
 *
 * Each test builds its sites from fixed seeds in a fresh temporary
 * directory, so a failure replays the same way. The test tables are those of
 * the fixture: note (scope policy) and course (owner policy).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/changeset.h"
#include "store/member.h"
#include "tests/support/replica.h"
#include "tests/support/replica_check.h"
#include "tests/support/tmpdir.h"

#define EPOCH_MS UINT64_C(1795440000000)
#define SKEW_MS	 UINT64_C(300000)

/* How the merge begins the reason of a change set held for want of a role. */
#define MEMBER_WAIT "waiting for membership"
/* What the capture triggers say to a site without the role a write needs. */
#define NO_ROLE "has no role in this scope"

struct fx {
	char dir[64];
	struct replica a, b, c, d; /* A creates the governed scope S */
	struct replica e;	   /* made by the tests that need a fifth site */
	char s[CS_SCOPE_MAX + 1];  /* S = "net@" + A's id */
	uint64_t now;		   /* everybody's wall clock; tests move it on */
	struct envlist lists[8];   /* released by teardown, even after a failure */
	int nlists;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || tmpdir_make("member", f->dir, sizeof(f->dir), NULL, NULL, 0) != 0) {
		free(f);
		return -1;
	}
	replica_make(&f->a, f->dir, "a", 'A');
	replica_make(&f->b, f->dir, "b", 'B');
	replica_make(&f->c, f->dir, "c", 'C');
	replica_make(&f->d, f->dir, "d", 'D');
	snprintf(f->s, sizeof(f->s), "net@%s", f->a.hex);
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
	replica_destroy(&f->e); /* harmless when never made */
	for (i = 0; i < f->nlists; i++)
		envlist_free(&f->lists[i]);
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

/* The SQL must fail with a message saying `want`, and leave nothing to seal:
 * the trigger aborts the statement with everything it captured. */
static void refused(struct replica *r, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refused(struct replica *r, const char *want, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	lm_err err;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (replica_exec(r, sql, &err) == 0)
		fail_msg("%s: accepted, but should be refused ('%s'): %s", r->path, want, sql);
	if (strstr(err.msg, want) == NULL)
		fail_msg("%s: refused, but the message does not say '%s': %s", r->path, want,
			 err.msg);
	assert_int_equal(replica_int(r, "SELECT count(*) FROM repl_capture"), 0);
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

static void merge_at(struct replica *r, uint8_t *const *env, const size_t *len, size_t n,
		     uint64_t now, struct merge_outcome *out)
{
	lm_err err;

	if (replica_merge(r, env, len, n, now, SKEW_MS, out, &err) != 0)
		fail_msg("merge_batch at %s: %s", r->path, err.msg);
}

static void merge_one(struct fx *f, struct replica *r, const uint8_t *env, size_t len,
		      struct merge_outcome *out)
{
	uint8_t *e = (uint8_t *)env;

	merge_at(r, &e, &len, 1, f->now, out);
}

/* Held for want of a role: the reason begins as the merge promises, so
 * retry_waiting (which selects on that prefix) finds it again. */
static void expect_waiting(const struct merge_outcome *o, const char *reason_has)
{
	replica_expect(o, MERGE_HELD, reason_has);
	if (strncmp(o->reason, MEMBER_WAIT, strlen(MEMBER_WAIT)) != 0)
		fail_msg("held, but the reason does not begin with '%s': %s", MEMBER_WAIT,
			 o->reason);
}

/* to takes everything from `from` that it lacks; all must apply. */
static void pull(struct fx *f, struct replica *to, struct replica *from)
{
	lm_err err;

	if (replica_pull(to, from, f->now, SKEW_MS, NULL, &err) != 0)
		fail_msg("%s", err.msg);
}

/* The member list, to compare sites by (replica_dump_tables has only the
 * test tables). */
static char *dump_members(struct replica *r)
{
	return replica_query_text(r, "SELECT * FROM lm_member ORDER BY of_scope, member");
}

/* A grants `who` role in S (plain SQL at A, sealed); the change set goes to
 * l when l is not NULL. */
static void grant(struct fx *f, struct replica *who, const char *role, struct envlist *l)
{
	replica_sqlf(
	    &f->a,
	    "INSERT INTO lm_member(of_scope, member, scope, role) VALUES ('%s', '%s', '%s', "
	    "'%s')",
	    f->s, who->hex, f->s, role);
	assert_int_equal(seal(f, &f->a), 1);
	if (l != NULL)
		replica_newest(&f->a, l);
}

static enum member_role role_at(struct replica *at, const char *scope, const struct replica *who)
{
	enum member_role role;
	lm_err err;

	if (member_role(&at->st, scope, who->pk, &role, &err) != 0)
		fail_msg("%s", err.msg);
	return role;
}

/* A change set of one lm_member row, as `signer` would sign it (buggy or
 * hostile software on its side), at the next seq of its log in `scope` and
 * logged there as its own, so what it seals next follows it. */
static void craft_member_row(struct fx *f, struct replica *signer, const char *scope,
			     const char *of_scope, const char *member, const char *role,
			     struct envlist *l)
{
	struct cs_value pk[2] = {{CS_TEXT, 0, 0, (const uint8_t *)of_scope, strlen(of_scope)},
				 {CS_TEXT, 0, 0, (const uint8_t *)member, strlen(member)}};
	struct cs_col cols[1] = {{"role", 4, {CS_TEXT, 0, 0, (const uint8_t *)role, strlen(role)}}};
	struct cs_row row = {MEMBER_TABLE, strlen(MEMBER_TABLE), pk, 2, 1, cols, 1, NULL};
	uint8_t hash[CS_HASH_LEN], *env;
	struct cs_header h;
	struct cs_writer w;
	uint64_t head;
	size_t len;
	lm_err err;

	memset(&h, 0, sizeof(h));
	memcpy(h.origin, signer->pk, CS_KEY_LEN);
	snprintf(h.scope, sizeof(h.scope), "%s", scope);
	if (cslog_head(&signer->st, signer->pk, scope, &head, h.prev, &err) != 0)
		fail_msg("%s", err.msg);
	h.seq = head + 1;
	h.hlc = (f->now += 10) << 16;
	if (cs_writer_begin(&w, &h, &err) != 0 || cs_writer_add_row(&w, &row, &err) != 0 ||
	    cs_writer_seal(&w, signer->sk, &env, &len, hash, &err) != 0)
		fail_msg("crafting: %s", err.msg);
	cs_writer_free(&w);
	replica_sqlf(signer, "BEGIN");
	if (cslog_append(&signer->st, &h, hash, env, len, &err) != 0)
		fail_msg("%s", err.msg);
	replica_sqlf(signer, "COMMIT");
	assert_int_equal(envlist_add(l, env, len), 0);
	free(env);
}

/* ---- (1) scope ids ---- */

static void test_scope_root(void **state)
{
	struct fx *f = *state;
	uint8_t root[CS_KEY_LEN];
	char id[CS_SCOPE_MAX + 1], upper[65];
	size_t i;

	memset(root, 0, sizeof(root));
	assert_int_equal(scope_root(f->s, root), 1);
	assert_memory_equal(root, f->a.pk, CS_KEY_LEN);
	/* A one-letter name and an @ inside the name are still governed: only
	 * the last 65 characters say who the root is. */
	snprintf(id, sizeof(id), "x@%s", f->b.hex);
	assert_int_equal(scope_root(id, root), 1);
	assert_memory_equal(root, f->b.pk, CS_KEY_LEN);
	snprintf(id, sizeof(id), "a@b@%s", f->c.hex);
	assert_int_equal(scope_root(id, root), 1);
	assert_memory_equal(root, f->c.pk, CS_KEY_LEN);

	/* Open: no @ROOT at all. */
	assert_int_equal(scope_root("net", root), 0);
	assert_int_equal(scope_root("", root), 0);
	assert_int_equal(scope_root(f->a.hex, root), 0); /* the hex without the @ */
	/* Uppercase hex names no root: ids compare as bytes, so one site must
	 * have one spelling. */
	for (i = 0; i < 64; i++)
		upper[i] = (char)(f->a.hex[i] >= 'a' ? f->a.hex[i] - 'a' + 'A' : f->a.hex[i]);
	upper[64] = '\0';
	assert_true(strcmp(upper, f->a.hex) != 0); /* the key has a letter in it */
	snprintf(id, sizeof(id), "net@%s", upper);
	assert_int_equal(scope_root(id, root), 0);
	/* 63 and 65 digits. */
	snprintf(id, sizeof(id), "net@%.63s", f->a.hex);
	assert_int_equal(scope_root(id, root), 0);
	snprintf(id, sizeof(id), "net@%s0", f->a.hex);
	assert_int_equal(scope_root(id, root), 0);
	/* An empty name. */
	snprintf(id, sizeof(id), "@%s", f->a.hex);
	assert_int_equal(scope_root(id, root), 0);
	/* A character that is no hex digit, at the end and at the start. */
	snprintf(id, sizeof(id), "net@%.63sg", f->a.hex);
	assert_int_equal(scope_root(id, root), 0);
	snprintf(id, sizeof(id), "net@z%.63s", f->a.hex + 1);
	assert_int_equal(scope_root(id, root), 0);
}

/* ---- (2) the local guard ---- */

static void test_local_guard(void **state)
{
	struct fx *f = *state;

	/* The root writes its scope without any member row. */
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('a1', '%s', 'fra roten')",
		     f->s);
	assert_int_equal(seal(f, &f->a), 1);
	assert_int_equal(role_at(&f->a, f->s, &f->a), ROLE_ADMIN);
	assert_int_equal(role_at(&f->b, f->s, &f->a), ROLE_ADMIN); /* by the id alone */

	/* B has no role: refused, before and after it has A's rows. */
	refused(&f->b, NO_ROLE, "INSERT INTO note(id, scope, body) VALUES ('b0', '%s', 'nei')",
		f->s);
	pull(f, &f->b, &f->a);
	refused(&f->b, NO_ROLE, "UPDATE note SET body = 'nei' WHERE id = 'a1'");
	refused(&f->b, NO_ROLE, "DELETE FROM note WHERE id = 'a1'");
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM note WHERE body = 'fra roten'"),
			 1);

	/* A makes B a member and C a reader. */
	grant(f, &f->b, "member", NULL);
	grant(f, &f->c, "reader", NULL);
	pull(f, &f->b, &f->a);
	pull(f, &f->c, &f->a);
	assert_int_equal(role_at(&f->b, f->s, &f->b), ROLE_MEMBER);
	assert_int_equal(role_at(&f->b, f->s, &f->c), ROLE_READER);
	assert_int_equal(role_at(&f->b, f->s, &f->d), ROLE_NONE);

	/* Now B writes rows of S, and they reach A. */
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('b1', '%s', 'fra B')", f->s);
	replica_sqlf(&f->b, "UPDATE note SET body = 'B endret' WHERE id = 'a1'");
	assert_int_equal(seal(f, &f->b), 1);
	pull(f, &f->a, &f->b);
	replica_assert_same("tables", &f->a, &f->b, replica_dump_tables);

	/* But not the member list: that takes admin. */
	refused(&f->b, NO_ROLE,
		"INSERT INTO lm_member(of_scope, member, scope, role) VALUES ('%s', '%s', '%s', "
		"'member')",
		f->s, f->d.hex, f->s);
	refused(&f->b, NO_ROLE, "UPDATE lm_member SET role = 'member' WHERE member = '%s'",
		f->c.hex);
	refused(&f->b, NO_ROLE, "DELETE FROM lm_member WHERE member = '%s'", f->c.hex);

	/* A reader writes nothing. */
	refused(&f->c, NO_ROLE, "INSERT INTO note(id, scope, body) VALUES ('c1', '%s', 'nei')",
		f->s);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM note WHERE id = 'a1'"), 1);
	refused(&f->c, NO_ROLE, "UPDATE note SET body = 'nei' WHERE id = 'a1'");

	/* A member row lives in the scope it grants, even when the root
	 * writes it: elsewhere it would reach the wrong sites. */
	refused(&f->a, "a member row lives in the scope it grants",
		"INSERT INTO lm_member(of_scope, member, scope, role) VALUES ('other@%s', '%s', "
		"'%s', 'member')",
		f->a.hex, f->d.hex, f->s);
	refused(&f->a, "a member row lives in the scope it grants",
		"INSERT INTO lm_member(of_scope, member, scope, role) VALUES ('%s', '%s', "
		"'net', 'member')",
		f->s, f->d.hex);
	assert_int_equal(
	    replica_qint(&f->a, "SELECT count(*) FROM lm_member WHERE member = '%s'", f->d.hex), 0);
	assert_int_equal(seal(f, &f->a), 0);
}

/* The guard runs after the write (AFTER triggers), so it must not count
 * the very row being written as the writer's grant: a site with no role
 * granting itself admin, or a member promoting itself, would pass it. */
static void test_no_self_grant(void **state)
{
	struct fx *f = *state;

	refused(&f->d, NO_ROLE,
		"INSERT INTO lm_member(of_scope, member, scope, role) VALUES ('%s', '%s', '%s', "
		"'admin')",
		f->s, f->d.hex, f->s);
	assert_int_equal(role_at(&f->d, f->s, &f->d), ROLE_NONE);
	refused(&f->d, NO_ROLE, "INSERT INTO note(id, scope, body) VALUES ('d1', '%s', 'nei')",
		f->s);
}

static void test_no_self_promotion(void **state)
{
	struct fx *f = *state;

	grant(f, &f->b, "member", NULL);
	pull(f, &f->b, &f->a);
	refused(&f->b, NO_ROLE, "UPDATE lm_member SET role = 'admin' WHERE member = '%s'",
		f->b.hex);
	assert_int_equal(role_at(&f->b, f->s, &f->b), ROLE_MEMBER);
	refused(&f->b, NO_ROLE,
		"INSERT OR REPLACE INTO lm_member(of_scope, member, scope, role) VALUES ('%s', "
		"'%s', '%s', 'admin')",
		f->s, f->b.hex, f->s);
	assert_int_equal(role_at(&f->b, f->s, &f->b), ROLE_MEMBER);
}

/* ---- (3) held until the grant arrives ---- */

static void test_held_until_grant(void **state)
{
	struct fx *f = *state;
	struct envlist *grants = new_list(f), *bcs = new_list(f);
	struct merge_outcome o[2];
	uint8_t *env[2];
	size_t len[2];

	grant(f, &f->b, "member", grants);
	pull(f, &f->b, &f->a);
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body, n) VALUES ('b1', '%s', 'fra B', 7)",
		     f->s);
	assert_int_equal(seal(f, &f->b), 1);
	replica_newest(&f->b, bcs);

	/* C gets B's change set before A's grant: change sets of different
	 * origins travel independently, so it waits instead of being refused. */
	merge_one(f, &f->c, bcs->env[0], bcs->len[0], o);
	expect_waiting(o, "needs member");
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM note"), 0);
	assert_int_equal(replica_qint(&f->c,
				      "SELECT count(*) FROM held WHERE origin = x'%s' AND seq = 1",
				      f->b.hex),
			 1);
	assert_int_equal(
	    replica_qint(&f->c, "SELECT count(*) FROM vv WHERE origin = x'%s'", f->b.hex), 0);
	/* Delivered again, still waiting, held once. */
	merge_one(f, &f->c, bcs->env[0], bcs->len[0], o);
	expect_waiting(o, NULL);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM held"), 1);

	/* The grant lets it in, in the batch that brings the grant. */
	merge_one(f, &f->c, grants->env[0], grants->len[0], o);
	replica_expect(o, MERGE_APPLIED, NULL);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM held"), 0);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM note WHERE id = 'b1'"), 1);
	assert_int_equal(replica_qint(&f->c, "SELECT seq FROM vv WHERE origin = x'%s'", f->b.hex),
			 1);
	replica_assert_same("tables", &f->b, &f->c, replica_dump_tables);
	replica_assert_same("members", &f->b, &f->c, dump_members);
	replica_assert_same("causal lengths", &f->b, &f->c, replica_dump_rows);

	/* The other order: grant first, then B's row applies straight away. */
	merge_one(f, &f->d, grants->env[0], grants->len[0], o);
	replica_expect(o, MERGE_APPLIED, NULL);
	merge_one(f, &f->d, bcs->env[0], bcs->len[0], o);
	replica_expect(o, MERGE_APPLIED, NULL);
	replica_assert_same("tables", &f->b, &f->d, replica_dump_tables);
	replica_assert_same("members", &f->b, &f->d, dump_members);

	/* Both in one batch, the grantee's row first: both apply. */
	replica_make(&f->e, f->dir, "e", 'E');
	env[0] = bcs->env[0];
	len[0] = bcs->len[0];
	env[1] = grants->env[0];
	len[1] = grants->len[0];
	merge_at(&f->e, env, len, 2, f->now, o);
	expect_waiting(&o[0], NULL); /* what became of it on arrival */
	replica_expect(&o[1], MERGE_APPLIED, NULL);
	assert_int_equal(replica_qint(&f->e, "SELECT count(*) FROM held"), 0);
	replica_assert_same("tables", &f->b, &f->e, replica_dump_tables);
	replica_assert_same("members", &f->b, &f->e, dump_members);
}

/* ---- (4) admin rights and where member rows live ---- */

static void test_member_list_needs_admin(void **state)
{
	struct fx *f = *state;
	struct envlist *grants = new_list(f), *bad = new_list(f), *promote = new_list(f);
	struct merge_outcome o;

	grant(f, &f->b, "member", grants);
	pull(f, &f->b, &f->a);
	pull(f, &f->c, &f->a);
	/* B's own trigger would refuse this (test_local_guard); B's signature on
	 * it is genuine all the same. */
	craft_member_row(f, &f->b, f->s, f->s, f->d.hex, "member", bad);
	merge_one(f, &f->c, bad->env[0], bad->len[0], &o);
	expect_waiting(&o, "needs admin");
	assert_int_equal(
	    replica_qint(&f->c, "SELECT count(*) FROM lm_member WHERE member = '%s'", f->d.hex), 0);
	assert_int_equal(
	    replica_qint(&f->c, "SELECT count(*) FROM held WHERE origin = x'%s'", f->b.hex), 1);
	assert_int_equal(role_at(&f->c, f->s, &f->d), ROLE_NONE);

	/* Made admin later, B's grant goes in with the promotion. */
	replica_sqlf(&f->a, "UPDATE lm_member SET role = 'admin' WHERE member = '%s'", f->b.hex);
	assert_int_equal(seal(f, &f->a), 1);
	replica_newest(&f->a, promote);
	merge_one(f, &f->c, promote->env[0], promote->len[0], &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM held"), 0);
	assert_int_equal(role_at(&f->c, f->s, &f->d), ROLE_MEMBER);
}

static void test_member_row_in_another_scope(void **state)
{
	struct fx *f = *state;
	struct envlist *bad = new_list(f), *next = new_list(f);
	struct merge_outcome o;
	char other[CS_SCOPE_MAX + 1];

	/* Signed by the root itself, yet a row granting 'other@A' shipped in S
	 * would reach S's sites, not other's: refused for good, not held. */
	snprintf(other, sizeof(other), "other@%s", f->a.hex);
	craft_member_row(f, &f->a, f->s, other, f->d.hex, "member", bad);
	merge_one(f, &f->c, bad->env[0], bad->len[0], &o);
	replica_expect(&o, MERGE_QUARANTINED, "live in the scope their key names");
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM lm_member"), 0);
	assert_int_equal(
	    replica_qint(&f->c, "SELECT count(*) FROM repl_row WHERE tbl = 'lm_member'"), 0);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM held"), 0);
	assert_int_equal(
	    replica_qint(&f->c,
			 "SELECT count(*) FROM quarantine WHERE origin = x'%s' AND seq = 1 "
			 "AND reason LIKE '%%live in the scope their key names%%'",
			 f->a.hex),
	    1);
	assert_int_equal(role_at(&f->c, other, &f->d), ROLE_NONE);
	/* Counted, so A's next change set in S still flows. */
	grant(f, &f->d, "member", next);
	merge_one(f, &f->c, next->env[0], next->len[0], &o);
	replica_expect(&o, MERGE_APPLIED, NULL);
	assert_int_equal(o.seq, 2);
	assert_int_equal(role_at(&f->c, f->s, &f->d), ROLE_MEMBER);
}

/* ---- (5) a row the table's CHECK refuses ---- */

/* A change set whose row the table's constraints refuse is quarantined
 * alone: the batch goes on, nothing of it stays, and the version vector
 * moves past it so the origin's next change set applies. */
static void quarantined_alone(struct fx *f, struct envlist *l, size_t bad_at)
{
	struct merge_outcome o[4];
	size_t i;

	assert_true(l->n <= 4 && bad_at < l->n);
	merge_at(&f->d, l->env, l->len, l->n, f->now, o);
	for (i = 0; i < l->n; i++)
		if (i == bad_at)
			replica_expect(&o[i], MERGE_QUARANTINED, "CHECK constraint failed");
		else
			replica_expect(&o[i], MERGE_APPLIED, NULL);
	assert_int_equal(replica_qint(&f->d,
				      "SELECT count(*) FROM lm_member WHERE role NOT IN ('admin', "
				      "'member', 'reader', 'relay')"),
			 0);
	assert_int_equal(
	    replica_qint(&f->d,
			 "SELECT count(*) FROM quarantine WHERE origin = x'%s' AND seq = %zu",
			 f->a.hex, bad_at + 1),
	    1);
	assert_int_equal(replica_qint(&f->d,
				      "SELECT seq FROM vv WHERE origin = x'%s' AND scope = '%s'",
				      f->a.hex, f->s),
			 (int64_t)l->n);
	assert_int_equal(replica_qint(&f->d, "SELECT count(*) FROM note WHERE id = 'after'"), 1);
	assert_int_equal(replica_qint(&f->d, "SELECT count(*) FROM held"), 0);
}

static void test_check_quarantines_new_row(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f);

	craft_member_row(f, &f->a, f->s, f->s, f->c.hex, "superuser", l);
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('after', '%s', 'neste')",
		     f->s);
	assert_int_equal(seal(f, &f->a), 1);
	replica_newest(&f->a, l);
	quarantined_alone(f, l, 0);
	/* Nothing of it: no row, and no live entry in repl_row either, which
	 * would claim a row the table does not have. */
	assert_int_equal(replica_qint(&f->d, "SELECT count(*) FROM lm_member"), 0);
	assert_int_equal(
	    replica_qint(&f->d, "SELECT count(*) FROM repl_row WHERE tbl = 'lm_member'"), 0);
	assert_int_equal(role_at(&f->d, f->s, &f->c), ROLE_NONE);
}

static void test_check_quarantines_update(void **state)
{
	struct fx *f = *state;
	struct envlist *l = new_list(f);

	grant(f, &f->c, "reader", l);
	craft_member_row(f, &f->a, f->s, f->s, f->c.hex, "superuser", l);
	replica_sqlf(&f->a, "INSERT INTO note(id, scope, body) VALUES ('after', '%s', 'neste')",
		     f->s);
	assert_int_equal(seal(f, &f->a), 1);
	replica_newest(&f->a, l);
	assert_int_equal(l->n, 3);
	quarantined_alone(f, l, 1);
	/* The grant before it stands as it was. */
	assert_int_equal(role_at(&f->d, f->s, &f->c), ROLE_READER);
	assert_int_equal(replica_qint(&f->d, "SELECT count(*) FROM lm_member"), 1);
	replica_assert_same("members", &f->a, &f->d, dump_members);
}

/* Held change sets whose rows a CHECK refuses, let in by the grant: each
 * is quarantined alone, however many there are, and the grant applies.
 * Signers B, C, D (nsigners of them) each sign one in S before A makes them
 * admins, in one change set; E hears from them before it hears from A. */
static void held_check_failures(struct fx *f, int nsigners)
{
	struct replica *signers[3] = {&f->b, &f->c, &f->d}, *e = &f->e;
	struct envlist *bad = new_list(f), *grants = new_list(f);
	struct merge_outcome o;
	char member[65];
	lm_err err;
	int i;

	replica_make(e, f->dir, "e", 'E');
	for (i = 0; i < nsigners; i++) {
		memset(member, '1' + i, 64);
		member[64] = '\0';
		craft_member_row(f, signers[i], f->s, f->s, member, "superuser", bad);
		replica_sqlf(
		    &f->a,
		    "INSERT INTO lm_member(of_scope, member, scope, role) VALUES ('%s', '%s', "
		    "'%s', 'admin')",
		    f->s, signers[i]->hex, f->s);
	}
	assert_int_equal(seal(f, &f->a), 1);
	replica_newest(&f->a, grants);
	for (i = 0; i < nsigners; i++) {
		merge_one(f, e, bad->env[i], bad->len[i], &o);
		expect_waiting(&o, "needs admin");
	}
	assert_int_equal(replica_int(e, "SELECT count(*) FROM held"), nsigners);

	/* The grant's batch runs them; their CHECK failures must not fail it. */
	if (replica_merge(e, grants->env, grants->len, 1, f->now, SKEW_MS, &o, &err) != 0)
		fail_msg("the grant's batch failed with %d held change sets a CHECK refuses: %s",
			 nsigners, err.msg);
	replica_expect(&o, MERGE_APPLIED, NULL);
	assert_int_equal(replica_int(e, "SELECT count(*) FROM held"), 0);
	assert_int_equal(replica_int(e, "SELECT count(*) FROM quarantine WHERE reason LIKE "
					"'%CHECK constraint failed%'"),
			 nsigners);
	assert_int_equal(replica_int(e, "SELECT count(*) FROM lm_member WHERE role = 'admin'"),
			 nsigners);
	assert_int_equal(replica_int(e, "SELECT count(*) FROM lm_member"), nsigners);
	assert_int_equal(replica_int(e, "SELECT count(*) FROM repl_row WHERE tbl = 'lm_member'"),
			 nsigners);
	for (i = 0; i < nsigners; i++)
		assert_int_equal(
		    replica_qint(e, "SELECT seq FROM vv WHERE origin = x'%s'", signers[i]->hex), 1);
}

static void test_held_check_failure(void **state)
{
	held_check_failures(*state, 1);
}

static void test_held_check_failures_outnumber_batch(void **state)
{
	held_check_failures(*state, 3);
}

/* ---- (6) removal ---- */

static void test_removal(void **state)
{
	struct fx *f = *state;
	struct envlist *later = new_list(f);
	struct merge_outcome o;

	grant(f, &f->b, "member", NULL);
	grant(f, &f->c, "reader", NULL);
	pull(f, &f->b, &f->a);
	pull(f, &f->c, &f->a);
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('b1', '%s', 'før')", f->s);
	assert_int_equal(seal(f, &f->b), 1);
	pull(f, &f->c, &f->b);

	replica_sqlf(&f->a, "DELETE FROM lm_member WHERE member = '%s'", f->b.hex);
	assert_int_equal(seal(f, &f->a), 1);
	pull(f, &f->c, &f->a);
	assert_int_equal(role_at(&f->c, f->s, &f->b), ROLE_NONE);

	/* B has not heard yet and writes on; C, which has, holds it. */
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('b2', '%s', 'etter')", f->s);
	assert_int_equal(seal(f, &f->b), 1);
	replica_newest(&f->b, later);
	merge_one(f, &f->c, later->env[0], later->len[0], &o);
	expect_waiting(&o, "is no longer a member of this scope");
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM note WHERE id = 'b2'"), 0);
	/* What C applied before the removal stays (docs/DECISIONS.md). */
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM note WHERE id = 'b1'"), 1);

	/* B hears of it and can no longer write. */
	pull(f, &f->b, &f->a);
	assert_int_equal(role_at(&f->b, f->s, &f->b), ROLE_NONE);
	assert_int_equal(
	    replica_qint(&f->b, "SELECT count(*) FROM lm_member WHERE member = '%s'", f->b.hex), 0);
	refused(&f->b, NO_ROLE, "INSERT INTO note(id, scope, body) VALUES ('b3', '%s', 'nei')",
		f->s);
	refused(&f->b, NO_ROLE, "UPDATE note SET body = 'nei' WHERE id = 'b1'");
	/* And the removal's delete is the same row state everywhere. */
	replica_assert_same("members", &f->a, &f->c, dump_members);
	replica_assert_same("members", &f->a, &f->b, dump_members);
}

/* member_removal at r: what it says of who in S. */
static int removal_at(struct replica *r, const char *scope, const struct replica *who,
		      struct member_removal *rm)
{
	lm_err err;
	int rc = member_removal(&r->st, scope, who->pk, rm, &err);

	if (rc < 0)
		fail_msg("member_removal at %s: %s", r->path, err.msg);
	return rc;
}

/* The local_id of (origin, scope, seq) in r's log. */
static int64_t entry_at(struct replica *r, const struct replica *origin, const char *scope,
			uint64_t seq)
{
	int64_t at = 0;
	lm_err err;

	if (cslog_find(&r->st, origin->pk, scope, seq, &at, NULL, &err) != 1)
		fail_msg("%s does not hold seq %llu", r->path, (unsigned long long)seq);
	return at;
}

static uint64_t seq_upto(struct replica *r, const struct replica *origin, int64_t local_id,
			 const char *scope)
{
	uint64_t seq;
	lm_err err;

	if (cslog_seq_upto(&r->st, origin->pk, scope, local_id, &seq, &err) != 0)
		fail_msg("%s", err.msg);
	return seq;
}

static void test_removal_position(void **state)
{
	struct fx *f = *state;
	struct member_removal rm;
	uint64_t head;
	int64_t first, again;
	uint8_t hash[CS_HASH_LEN];
	lm_err err;

	grant(f, &f->b, "member", NULL);
	pull(f, &f->c, &f->a);
	/* A member, a site never granted, the root, an open scope: no removal. */
	assert_int_equal(removal_at(&f->a, f->s, &f->b, &rm), 0);
	assert_int_equal(removal_at(&f->c, f->s, &f->b, &rm), 0);
	assert_int_equal(removal_at(&f->a, f->s, &f->d, &rm), 0);
	assert_int_equal(removal_at(&f->a, f->s, &f->a, &rm), 0);
	assert_int_equal(removal_at(&f->a, "net", &f->b, &rm), 0);

	/* Written, not sealed: removed by A, at no entry yet. */
	replica_sqlf(&f->a, "DELETE FROM lm_member WHERE member = '%s'", f->b.hex);
	assert_int_equal(removal_at(&f->a, f->s, &f->b, &rm), 1);
	assert_int_equal(rm.local_id, 0);
	assert_memory_equal(rm.by, f->a.pk, CS_KEY_LEN);

	/* Sealed: the newest entry, A's change set that deletes the row. */
	assert_int_equal(seal(f, &f->a), 1);
	if (cslog_head(&f->a.st, f->a.pk, f->s, &head, hash, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(removal_at(&f->a, f->s, &f->b, &rm), 1);
	first = entry_at(&f->a, &f->a, f->s, head);
	assert_int_equal(rm.local_id, first);
	assert_int_equal(rm.local_id, replica_qint(&f->a, "SELECT max(local_id) FROM changeset"));
	assert_memory_equal(rm.by, f->a.pk, CS_KEY_LEN);
	/* A pair as the log held it up to there, and just before. */
	assert_int_equal(seq_upto(&f->a, &f->a, first, f->s), head);
	assert_int_equal(seq_upto(&f->a, &f->a, first - 1, f->s), head - 1);
	assert_int_equal(seq_upto(&f->a, &f->a, 0, f->s), 0);
	assert_int_equal(seq_upto(&f->a, &f->b, first, f->s), 0);

	/* Where another site logged the same change set, by the same remover. */
	replica_sqlf(&f->c, "INSERT INTO note(id, scope) VALUES ('c1', 'net')");
	assert_int_equal(seal(f, &f->c), 1);
	pull(f, &f->c, &f->a);
	assert_int_equal(removal_at(&f->c, f->s, &f->b, &rm), 1);
	assert_int_equal(rm.local_id, entry_at(&f->c, &f->a, f->s, head));
	assert_memory_equal(rm.by, f->a.pk, CS_KEY_LEN);
	/* And the removed site, once it has it, says so of itself. */
	pull(f, &f->b, &f->a);
	assert_int_equal(removal_at(&f->b, f->s, &f->b, &rm), 1);
	assert_int_equal(rm.local_id, entry_at(&f->b, &f->a, f->s, head));

	/* Added again: no removal; removed again: the later entry. */
	grant(f, &f->b, "reader", NULL);
	assert_int_equal(removal_at(&f->a, f->s, &f->b, &rm), 0);
	replica_sqlf(&f->a, "DELETE FROM lm_member WHERE member = '%s'", f->b.hex);
	assert_int_equal(seal(f, &f->a), 1);
	assert_int_equal(removal_at(&f->a, f->s, &f->b, &rm), 1);
	again = entry_at(&f->a, &f->a, f->s, head + 2);
	assert_int_equal(rm.local_id, again);
	assert_true(again > first);
	pull(f, &f->c, &f->a);
	assert_int_equal(removal_at(&f->c, f->s, &f->b, &rm), 1);
	assert_int_equal(rm.local_id, entry_at(&f->c, &f->a, f->s, head + 2));
}

/* ---- (7) open scopes ---- */

static void test_open_scopes(void **state)
{
	struct fx *f = *state;
	char almost[CS_SCOPE_MAX + 1];

	/* Not governed: 'net', and an id one hex digit short of naming a root. */
	snprintf(almost, sizeof(almost), "net@%.63s", f->a.hex);
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('o1', 'net', 'åpen')");
	replica_sqlf(&f->b, "INSERT INTO note(id, scope, body) VALUES ('o2', '%s', 'også åpen')",
		     almost);
	replica_sqlf(&f->b, "INSERT INTO course VALUES ('%s', 'c1', 'net', 'Kurs', 3)", f->b.hex);
	assert_int_equal(seal(f, &f->b), 2);
	pull(f, &f->c, &f->b);
	replica_sqlf(&f->c, "UPDATE note SET body = 'C endret' WHERE id = 'o1'");
	assert_int_equal(seal(f, &f->c), 1);
	pull(f, &f->b, &f->c);
	assert_int_equal(replica_qint(&f->b, "SELECT count(*) FROM note WHERE body = 'C endret'"),
			 1);
	replica_assert_same("tables", &f->b, &f->c, replica_dump_tables);
	assert_int_equal(replica_qint(&f->c, "SELECT count(*) FROM held"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_scope_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_local_guard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_self_grant, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_self_promotion, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_held_until_grant, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_list_needs_admin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_row_in_another_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_quarantines_new_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_quarantines_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_held_check_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_held_check_failures_outnumber_batch, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_removal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removal_position, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_scopes, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
