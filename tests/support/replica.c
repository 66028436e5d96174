/* SPDX-License-Identifier: MIT */
/* Replicas for tests; see replica.h. Everything goes through the public
 * store API and plain SQL, as the daemon and outside clients do. */
#include "tests/support/replica.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/registry.h"
#include "store/seal.h"

static const char *const schema_sql =
    "CREATE TABLE note (id TEXT NOT NULL PRIMARY KEY, scope TEXT NOT NULL DEFAULT '', "
    "body TEXT, n INTEGER, x REAL);"
    "CREATE TABLE course (owner TEXT NOT NULL, id TEXT NOT NULL, "
    "scope TEXT NOT NULL DEFAULT '', title TEXT DEFAULT '', seats INTEGER, "
    "PRIMARY KEY (owner, id));";

int replica_create_with_key(struct replica *r, const char *path, const uint8_t pk[32],
			    const uint8_t sk[64], lm_err *err)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", path);
	memcpy(r->pk, pk, 32);
	memcpy(r->sk, sk, 64);
	sodium_bin2hex(r->hex, sizeof(r->hex), pk, 32);
	if (store_open(&r->st, path, STORE_CREATE, err) != 0)
		return -1;
	if (store_claim(&r->st, pk, err) != 0 || store_exec(&r->st, schema_sql, err) != 0 ||
	    registry_add(&r->st, "note", "id", "scope", POLICY_SCOPE, err) != 0 ||
	    registry_add(&r->st, "course", "owner,id", "scope", POLICY_OWNER, err) != 0) {
		store_close(&r->st);
		return -1;
	}
	return 0;
}

int replica_create(struct replica *r, const char *path, const uint8_t seed[32], lm_err *err)
{
	uint8_t pk[32], sk[64];
	int rc;

	crypto_sign_seed_keypair(pk, sk, seed);
	rc = replica_create_with_key(r, path, pk, sk, err);
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

void replica_close(struct replica *r)
{
	store_close(&r->st);
}

int replica_reopen(struct replica *r, lm_err *err)
{
	if (store_open(&r->st, r->path, STORE_OPEN, err) != 0)
		return -1;
	return store_claim(&r->st, r->pk, err);
}

int replica_restart(struct replica *r, lm_err *err)
{
	replica_close(r);
	return replica_reopen(r, err);
}

void replica_destroy(struct replica *r)
{
	replica_close(r);
	sodium_memzero(r->sk, sizeof(r->sk));
}

int replica_exec(struct replica *r, const char *sql, lm_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(r->st.db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		lm_errf(err, "%s: %s: %s", r->path, sql, msg ? msg : sqlite3_errmsg(r->st.db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int64_t replica_int(struct replica *r, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v = 0;

	if (sqlite3_prepare_v2(r->st.db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

int replica_seal(struct replica *r, uint64_t now_ms, int *count, lm_err *err)
{
	struct seal_key key = {r->pk, r->sk};
	int n;

	return seal_pending(&r->st, &key, now_ms, count ? count : &n, err);
}

/* ---- envelope lists ---- */

int envlist_add(struct envlist *l, const uint8_t *env, size_t len)
{
	uint8_t *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		uint8_t **e = realloc(l->env, cap * sizeof(*e));
		size_t *n;

		if (e == NULL)
			return -1;
		l->env = e;
		n = realloc(l->len, cap * sizeof(*n));
		if (n == NULL)
			return -1;
		l->len = n;
		l->cap = cap;
	}
	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, env, len);
	l->env[l->n] = copy;
	l->len[l->n++] = len;
	return 0;
}

void envlist_free(struct envlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->env[i]);
	free(l->env);
	free(l->len);
	memset(l, 0, sizeof(*l));
}

int replica_missing(struct replica *r, const struct vv_entry *theirs, size_t ntheirs,
		    struct envlist *out, lm_err *err)
{
	struct cslog_missing it;
	const uint8_t *env;
	size_t len;
	int rc;

	if (cslog_missing_begin(&it, &r->st, theirs, ntheirs, NULL, 0, err) != 0)
		return -1;
	while ((rc = cslog_missing_next(&it, &env, &len, err)) == 1)
		if (envlist_add(out, env, len) != 0) {
			rc = lm_errf(err, "out of memory");
			break;
		}
	cslog_missing_end(&it);
	return rc < 0 ? -1 : 0;
}

int replica_missing_for(struct replica *from, struct replica *to, struct envlist *out, lm_err *err)
{
	struct vv_entry *vv;
	size_t n;
	int rc;

	if (cslog_vv(&to->st, &vv, &n, err) != 0)
		return -1;
	rc = replica_missing(from, vv, n, out, err);
	free(vv);
	return rc;
}

int replica_merge(struct replica *r, uint8_t *const *env, const size_t *len, size_t n,
		  uint64_t now_ms, uint64_t max_skew_ms, struct merge_outcome *out, lm_err *err)
{
	const uint8_t **envs = calloc(n ? n : 1, sizeof(*envs));
	struct merge_outcome *o = out ? out : calloc(n ? n : 1, sizeof(*o));
	struct seal_key key = {r->pk, r->sk};
	struct merge_options opt = {now_ms, max_skew_ms, &key, 0, 0};
	size_t i;
	int rc;

	if (envs == NULL || o == NULL) {
		free(envs);
		if (out == NULL)
			free(o);
		return lm_errf(err, "out of memory");
	}
	for (i = 0; i < n; i++)
		envs[i] = env[i];
	rc = merge_batch(&r->st, envs, len, n, &opt, o, err);
	for (i = 0; rc == 0 && out == NULL && i < n; i++)
		if (o[i].result != MERGE_APPLIED && o[i].result != MERGE_DUPLICATE &&
		    o[i].result != MERGE_GAP)
			rc = lm_errf(err, "%s: change set %zu of %zu (seq %llu, scope %s): %s: %s",
				     r->path, i + 1, n, (unsigned long long)o[i].seq, o[i].scope,
				     merge_result_name(o[i].result), o[i].reason);
	free(envs);
	if (out == NULL)
		free(o);
	return rc;
}

int replica_pull(struct replica *to, struct replica *from, uint64_t now_ms, uint64_t max_skew_ms,
		 int *applied, lm_err *err)
{
	struct envlist l = {0};
	struct merge_outcome *o;
	size_t i;
	int rc;

	if (applied)
		*applied = 0;
	if (replica_missing_for(from, to, &l, err) != 0) {
		envlist_free(&l);
		return -1;
	}
	o = calloc(l.n ? l.n : 1, sizeof(*o));
	if (o == NULL) {
		envlist_free(&l);
		return lm_errf(err, "out of memory");
	}
	rc = replica_merge(to, l.env, l.len, l.n, now_ms, max_skew_ms, o, err);
	for (i = 0; rc == 0 && i < l.n; i++) {
		if (o[i].result == MERGE_APPLIED && applied)
			(*applied)++;
		else if (o[i].result != MERGE_APPLIED && o[i].result != MERGE_DUPLICATE)
			rc = lm_errf(err, "%s from %s: seq %llu of scope %s: %s: %s", to->path,
				     from->path, (unsigned long long)o[i].seq, o[i].scope,
				     merge_result_name(o[i].result), o[i].reason);
	}
	free(o);
	envlist_free(&l);
	return rc;
}

/* ---- canonical text ---- */

struct text {
	char *s;
	size_t len, cap;
	int failed;
};

static void text_add(struct text *t, const char *p, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		char *s;

		while (cap < t->len + n + 1)
			cap *= 2;
		s = realloc(t->s, cap);
		if (s == NULL) {
			t->failed = 1;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static void text_value(struct text *t, sqlite3_stmt *stmt, int i)
{
	char buf[64];
	const unsigned char *p;
	int n, k;

	switch (sqlite3_column_type(stmt, i)) {
	case SQLITE_INTEGER:
		snprintf(buf, sizeof(buf), "i:%lld", (long long)sqlite3_column_int64(stmt, i));
		text_str(t, buf);
		break;
	case SQLITE_FLOAT:
		snprintf(buf, sizeof(buf), "r:%.17g", sqlite3_column_double(stmt, i));
		text_str(t, buf);
		break;
	case SQLITE_TEXT:
		p = sqlite3_column_text(stmt, i);
		n = sqlite3_column_bytes(stmt, i);
		snprintf(buf, sizeof(buf), "t%d:", n);
		text_str(t, buf);
		text_add(t, (const char *)p, (size_t)n);
		break;
	case SQLITE_BLOB:
		p = sqlite3_column_blob(stmt, i);
		n = sqlite3_column_bytes(stmt, i);
		text_str(t, "b:");
		for (k = 0; k < n; k++) {
			snprintf(buf, sizeof(buf), "%02x", p[k]);
			text_str(t, buf);
		}
		break;
	default:
		text_str(t, "null");
	}
}

char *replica_query_text(struct replica *r, const char *sql)
{
	struct text t = {0};
	sqlite3_stmt *stmt;
	int i, rc;

	text_str(&t, "");
	if (sqlite3_prepare_v2(r->st.db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		text_str(&t, "ERROR: ");
		text_str(&t, sqlite3_errmsg(r->st.db));
		return t.failed ? (free(t.s), NULL) : t.s;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(stmt); i++) {
			if (i)
				text_str(&t, " ");
			text_value(&t, stmt, i);
		}
		text_str(&t, "\n");
	}
	if (rc != SQLITE_DONE) {
		text_str(&t, "ERROR: ");
		text_str(&t, sqlite3_errmsg(r->st.db));
	}
	sqlite3_finalize(stmt);
	if (t.failed) {
		free(t.s);
		return NULL;
	}
	return t.s;
}

static char *concat(char **parts, int n)
{
	struct text t = {0};
	int i;

	text_str(&t, "");
	for (i = 0; i < n; i++) {
		text_str(&t, parts[i] ? parts[i] : "(out of memory)\n");
		free(parts[i]);
	}
	if (t.failed) {
		free(t.s);
		return NULL;
	}
	return t.s;
}

char *replica_dump_tables(struct replica *r)
{
	char *parts[4] = {
	    strdup("-- note\n"),
	    replica_query_text(r, "SELECT * FROM note ORDER BY id"),
	    strdup("-- course\n"),
	    replica_query_text(r, "SELECT * FROM course ORDER BY owner, id"),
	};

	return concat(parts, 4);
}

char *replica_dump_rows(struct replica *r)
{
	return replica_query_text(r, "SELECT tbl, pk, cl, scope FROM repl_row ORDER BY tbl, pk");
}

char *replica_dump_vv(struct replica *r)
{
	return replica_query_text(r,
				  "SELECT lower(hex(origin)), scope, seq, lower(hex(hash)) FROM vv "
				  "ORDER BY origin, scope");
}

/* The winners of the live incarnation of each live row. Clocks of older
 * incarnations and of deleted rows are not compared: a site that learnt of
 * a delete before the writes it ended never records their clocks. */
char *replica_dump_clocks(struct replica *r)
{
	return replica_query_text(
	    r, "SELECT tbl, pk, cl, lm_clocks(cl, clocks) FROM repl_row WHERE cl % 2 = 1 "
	       "ORDER BY tbl, pk");
}

char *replica_dump_all(struct replica *r)
{
	char *parts[8] = {
	    strdup("== tables\n"), replica_dump_tables(r), strdup("== repl_row\n"),
	    replica_dump_rows(r),  strdup("== vv\n"),	   replica_dump_vv(r),
	    strdup("== clocks\n"), replica_dump_clocks(r),
	};

	return concat(parts, 8);
}

int replica_check_rows(struct replica *r, lm_err *err)
{
	static const char *const checks[][2] = {
	    {"a note row without a live repl_row entry of its scope",
	     "SELECT count(*) FROM note n WHERE NOT EXISTS (SELECT 1 FROM repl_row w WHERE "
	     "w.tbl = 'note' AND w.pk = json_array(n.id) AND w.cl % 2 = 1 AND w.scope = n.scope)"},
	    {"a live note repl_row entry without its row",
	     "SELECT count(*) FROM repl_row w WHERE w.tbl = 'note' AND w.cl % 2 = 1 AND NOT "
	     "EXISTS (SELECT 1 FROM note n WHERE json_array(n.id) = w.pk)"},
	    {"a course row without a live repl_row entry of its scope",
	     "SELECT count(*) FROM course c WHERE NOT EXISTS (SELECT 1 FROM repl_row w WHERE "
	     "w.tbl = 'course' AND w.pk = json_array(c.owner, c.id) AND w.cl % 2 = 1 AND "
	     "w.scope = c.scope)"},
	    {"a live course repl_row entry without its row",
	     "SELECT count(*) FROM repl_row w WHERE w.tbl = 'course' AND w.cl % 2 = 1 AND NOT "
	     "EXISTS (SELECT 1 FROM course c WHERE json_array(c.owner, c.id) = w.pk)"},
	};
	size_t i;
	int64_t n;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		n = replica_int(r, checks[i][1]);
		if (n != 0)
			return lm_errf(err, "%s: %lld times %s", r->path, (long long)n,
				       checks[i][0]);
	}
	return 0;
}

void replica_diff(const char *what, const char *name_a, const char *a, const char *name_b,
		  const char *b)
{
	const char *la = a, *lb = b;
	int line = 1;

	while (*la && *lb) {
		const char *ea = strchr(la, '\n'), *eb = strchr(lb, '\n');
		size_t na = ea ? (size_t)(ea - la) : strlen(la);
		size_t nb = eb ? (size_t)(eb - lb) : strlen(lb);

		if (na != nb || memcmp(la, lb, na) != 0)
			break;
		la += na + (ea != NULL);
		lb += nb + (eb != NULL);
		line++;
	}
	fprintf(stderr, "%s differs at line %d:\n  %s: %.*s\n  %s: %.*s\n", what, line, name_a,
		(int)strcspn(la, "\n"), la, name_b, (int)strcspn(lb, "\n"), lb);
}
