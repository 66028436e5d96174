/* SPDX-License-Identifier: MIT */
/* The table registry and the capture triggers; see registry.h. */
#include "store/registry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/member.h"

/* Trigger SQL for a table with many columns runs to a few kilobytes. */
#define SQL_MAX 32768

struct sqlbuf {
	char s[SQL_MAX];
	size_t len;
	int overflow;
};

static void sql_add(struct sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sql_add(struct sqlbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, sizeof(b->s) - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->s) - b->len)
		b->overflow = 1;
	else
		b->len += (size_t)n;
}

const char *repl_policy_name(enum repl_policy policy)
{
	return policy == POLICY_OWNER ? "owner" : policy == POLICY_ADMIN ? "admin" : "scope";
}

int repl_policy_parse(const char *s, enum repl_policy *policy, lm_err *err)
{
	if (strcmp(s, "owner") == 0)
		*policy = POLICY_OWNER;
	else if (strcmp(s, "scope") == 0)
		*policy = POLICY_SCOPE;
	else if (strcmp(s, "admin") == 0)
		*policy = POLICY_ADMIN;
	else
		return lm_errf(err, "unknown write policy '%s'; use owner, scope or admin", s);
	return 0;
}

static int name_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

	return n > 0 && n < 64 && s[n] == '\0';
}

static int find_col(const struct repl_table *t, const char *name)
{
	int i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], name) == 0)
			return i;
	return -1;
}

/* Put the key columns first, in key order, then the others as declared. */
static int order_columns(struct repl_table *t, const char *pk_cols, char (*all)[64], int nall,
			 lm_err *err)
{
	char list[1024], *tok, *save = NULL;
	int i;

	snprintf(list, sizeof(list), "%s", pk_cols);
	t->ncols = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < nall && strcmp(all[i], tok) != 0; i++)
			;
		if (i == nall)
			return lm_errf(err, "%s has no column '%s' for the key", t->name, tok);
		snprintf(t->cols[t->ncols++], 64, "%.63s", tok);
	}
	t->npk = t->ncols;
	if (t->npk == 0 || t->npk > 8)
		return lm_errf(err, "%s: a key has 1 to 8 columns", t->name);
	for (i = 0; i < nall; i++)
		if (find_col(t, all[i]) < 0)
			snprintf(t->cols[t->ncols++], 64, "%.63s", all[i]);
	return 0;
}

/* Read the table's columns and check they suit replication. */
static int describe(struct store *st, struct repl_table *t, const char *pk_cols,
		    const char *scope_col, lm_err *err)
{
	char all[REGISTRY_MAX_COLS][64], sql[160];
	sqlite3_stmt *stmt;
	int nall = 0, rc = 0;

	snprintf(sql, sizeof(sql),
		 "SELECT name, \"notnull\", dflt_value, pk FROM pragma_table_info('%s')", t->name);
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	while (rc == 0 && sqlite3_step(stmt) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 0);
		int notnull = sqlite3_column_int(stmt, 1),
		    has_default = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
		int in_pk = sqlite3_column_int(stmt, 3) > 0;

		if (in_pk && !notnull)
			rc = lm_errf(err, "%s.%s is a key column and must be NOT NULL", t->name,
				     name);
		else if (nall == REGISTRY_MAX_COLS)
			rc =
			    lm_errf(err, "%s has more than %d columns", t->name, REGISTRY_MAX_COLS);
		else if (!name_ok(name))
			rc = lm_errf(err, "%s: column name '%s' must be letters, digits and _",
				     t->name, name);
		else if (notnull && !has_default && !in_pk)
			rc = lm_errf(
			    err,
			    "%s.%s is NOT NULL without a default; a replicated column needs "
			    "one, since a merge may create a row from a partial update",
			    t->name, name);
		else
			snprintf(all[nall++], 64, "%.63s", name);
	}
	sqlite3_finalize(stmt);
	if (rc != 0)
		return -1;
	if (nall == 0)
		return lm_errf(err, "no table '%s' in %s", t->name, st->path);
	if (order_columns(t, pk_cols, all, nall, err) != 0)
		return -1;
	t->scope_col = find_col(t, scope_col);
	if (t->scope_col < 0)
		return lm_errf(err, "%s has no scope column '%s'", t->name, scope_col);
	if (t->scope_col < t->npk)
		return lm_errf(err, "%s: the scope column cannot be part of the key", t->name);
	return 0;
}

/* json_array(P.a, P.b) for the key columns, with P NEW or OLD. */
static void sql_key(struct sqlbuf *b, const struct repl_table *t, const char *p)
{
	int i;

	sql_add(b, "json_array(");
	for (i = 0; i < t->npk; i++)
		sql_add(b, "%s%s.\"%s\"", i ? ", " : "", p, t->cols[i]);
	sql_add(b, ")");
}

/* Owner tables: only the owning site writes a row, here as everywhere. */
static void sql_owner_guard(struct sqlbuf *b, const struct repl_table *t, const char *p)
{
	if (t->policy != POLICY_OWNER)
		return;
	sql_add(b,
		"SELECT RAISE(ABORT, 'lmsync: this row belongs to another site; only its owner "
		"can change it') WHERE %s.\"%s\" IS NOT (SELECT value FROM meta WHERE key = "
		"'site_id');\n",
		p, t->cols[0]);
}

/* Governed scopes (NAME@ROOT, see member.h): only the root and the sites
 * lm_member gives a writing role may write their rows, admin-policy rows
 * only the root and admins. Plain SQL, since any SQLite client fires it. */
static void sql_member_guard(struct sqlbuf *b, const struct repl_table *t, const char *p)
{
	const char *scope = t->cols[t->scope_col], *me = "(SELECT value FROM meta WHERE key = "
							 "'site_id')";
	char self[128] = "";

	/* The trigger runs after the write: a site's own member row must not
	 * vouch for the change that made it (granting or promoting itself). */
	if (strcmp(t->name, MEMBER_TABLE) == 0)
		snprintf(self, sizeof(self), " AND member IS NOT %s.\"%s\"", p, t->cols[1]);

	if (t->policy == POLICY_ADMIN)
		sql_add(b,
			"SELECT RAISE(ABORT, 'lmsync: a member row lives in the scope it grants') "
			"WHERE %s.\"%s\" IS NOT %s.\"%s\";\n",
			p, t->cols[0], p, scope);
	sql_add(b,
		"SELECT RAISE(ABORT, 'lmsync: this site has no role in this scope that lets it "
		"write this table; an administrator of the scope must grant one (lm_member)') "
		"WHERE length(%s.\"%s\") > 65 AND substr(%s.\"%s\", -65, 1) = '@' AND NOT "
		"substr(%s.\"%s\", -64) GLOB '*[^0-9a-f]*' AND substr(%s.\"%s\", -64) IS NOT %s "
		"AND NOT EXISTS (SELECT 1 FROM lm_member WHERE of_scope = %s.\"%s\" AND member = "
		"%s AND role IN ('admin'%s)%s);\n",
		p, scope, p, scope, p, scope, p, scope, me, p, scope, me,
		t->policy == POLICY_ADMIN ? "" : ", 'member'", self);
}

/* A row must fit one change set with room to spare; refuse it at write
 * time, where the writer can still do something about it. */
static void sql_size_guard(struct sqlbuf *b, const struct repl_table *t)
{
	int i;

	sql_add(b,
		"SELECT RAISE(ABORT, 'lmsync: a replicated row may hold at most %d bytes') "
		"WHERE 0",
		REGISTRY_ROW_MAX);
	for (i = 0; i < t->ncols; i++)
		sql_add(b, " + coalesce(length(CAST(NEW.\"%s\" AS BLOB)), 0)", t->cols[i]);
	sql_add(b, " > %d;\n", REGISTRY_ROW_MAX);
}

/* A row's scope names its change set (proto/changeset.h: 1 to CS_SCOPE_MAX
 * bytes of text). One without would stop the site's sealing at the seal,
 * long after its writer has gone: refuse it here. */
static void sql_scope_guard(struct sqlbuf *b, const struct repl_table *t)
{
	const char *scope = t->cols[t->scope_col];

	sql_add(b,
		"SELECT RAISE(ABORT, 'lmsync: a replicated row needs a scope: text of 1 to %d "
		"bytes in column %s') WHERE typeof(NEW.\"%s\") IS NOT 'text' OR "
		"length(CAST(NEW.\"%s\" AS BLOB)) NOT BETWEEN 1 AND %d;\n",
		CS_SCOPE_MAX, scope, scope, scope, CS_SCOPE_MAX);
}

static void sql_insert_trigger(struct sqlbuf *b, const struct repl_table *t)
{
	sql_add(b,
		"CREATE TRIGGER \"lm_%s_ins\" AFTER INSERT ON \"%s\" "
		"WHEN NOT EXISTS (SELECT 1 FROM repl_applying) BEGIN\n",
		t->name, t->name);
	sql_owner_guard(b, t, "NEW");
	sql_member_guard(b, t, "NEW");
	sql_size_guard(b, t);
	sql_scope_guard(b, t);
	/* INSERT OR REPLACE into another scope replaces without firing the delete
	 * trigger: record the old scope's loss first, as a delete would. */
	sql_add(b,
		"INSERT INTO repl_capture(tbl, pk, col, scope) SELECT '%s', pk, NULL, scope FROM "
		"repl_row WHERE tbl = '%s' AND pk = ",
		t->name, t->name);
	sql_key(b, t, "NEW");
	sql_add(b, " AND cl %% 2 = 1 AND scope IS NOT NEW.\"%s\";\n", t->cols[t->scope_col]);
	sql_add(b, "INSERT INTO repl_capture(tbl, pk, col, scope) VALUES ('%s', ", t->name);
	sql_key(b, t, "NEW");
	sql_add(b, ", NULL, NEW.\"%s\");\nINSERT INTO repl_row(tbl, pk, cl, scope) VALUES ('%s', ",
		t->cols[t->scope_col], t->name);
	sql_key(b, t, "NEW");
	/* A key seen before was deleted (even cl): this insert re-creates it. A
	 * live row replaced into another scope is a delete and a re-creation. */
	sql_add(b,
		", 1, NEW.\"%s\") ON CONFLICT (tbl, pk) DO UPDATE SET cl = cl + CASE WHEN cl %% 2 "
		"= 0 THEN 1 ELSE 2 END, scope = excluded.scope WHERE cl %% 2 = 0 OR scope IS NOT "
		"excluded.scope;\nEND;\n",
		t->cols[t->scope_col]);
}

static void sql_update_trigger(struct sqlbuf *b, const struct repl_table *t)
{
	int i;

	sql_add(b,
		"CREATE TRIGGER \"lm_%s_upd\" AFTER UPDATE ON \"%s\" "
		"WHEN NOT EXISTS (SELECT 1 FROM repl_applying) BEGIN\n",
		t->name, t->name);
	sql_add(b, "SELECT RAISE(ABORT, 'lmsync: the key and the scope of a replicated row "
		   "cannot change; delete it and insert a new one') WHERE ");
	for (i = 0; i < t->npk; i++)
		sql_add(b, "NEW.\"%s\" IS NOT OLD.\"%s\" OR ", t->cols[i], t->cols[i]);
	sql_add(b, "NEW.\"%s\" IS NOT OLD.\"%s\";\n", t->cols[t->scope_col], t->cols[t->scope_col]);
	sql_owner_guard(b, t, "OLD");
	sql_member_guard(b, t, "OLD");
	sql_size_guard(b, t);
	for (i = t->npk; i < t->ncols; i++) {
		if (i == t->scope_col)
			continue;
		sql_add(b, "INSERT INTO repl_capture(tbl, pk, col, scope) SELECT '%s', ", t->name);
		sql_key(b, t, "NEW");
		sql_add(b, ", '%s', NEW.\"%s\" WHERE NEW.\"%s\" IS NOT OLD.\"%s\";\n", t->cols[i],
			t->cols[t->scope_col], t->cols[i], t->cols[i]);
	}
	sql_add(b, "END;\n");
}

static void sql_delete_trigger(struct sqlbuf *b, const struct repl_table *t)
{
	sql_add(b,
		"CREATE TRIGGER \"lm_%s_del\" AFTER DELETE ON \"%s\" "
		"WHEN NOT EXISTS (SELECT 1 FROM repl_applying) BEGIN\n",
		t->name, t->name);
	sql_owner_guard(b, t, "OLD");
	sql_member_guard(b, t, "OLD");
	sql_add(b, "INSERT INTO repl_capture(tbl, pk, col, scope) VALUES ('%s', ", t->name);
	sql_key(b, t, "OLD");
	sql_add(b,
		", NULL, OLD.\"%s\");\nUPDATE repl_row SET cl = cl + 1 WHERE tbl = '%s' AND pk = ",
		t->cols[t->scope_col], t->name);
	sql_key(b, t, "OLD");
	sql_add(b, " AND cl %% 2 = 1;\nEND;\n");
}

static int install_triggers(struct store *st, const struct repl_table *t, lm_err *err)
{
	struct sqlbuf *b = calloc(1, sizeof(*b));
	int rc;

	if (b == NULL)
		return lm_errf(err, "out of memory");
	sql_add(b,
		"DROP TRIGGER IF EXISTS \"lm_%s_ins\";\nDROP TRIGGER IF EXISTS \"lm_%s_upd\";\n"
		"DROP TRIGGER IF EXISTS \"lm_%s_del\";\n",
		t->name, t->name, t->name);
	sql_insert_trigger(b, t);
	sql_update_trigger(b, t);
	sql_delete_trigger(b, t);
	rc = b->overflow ? lm_errf(err, "%s: trigger SQL too long", t->name)
			 : store_exec(st, b->s, err);
	free(b);
	return rc;
}

/* Rows already in the table when it is registered replicate like new ones
 * (for owner tables, those this site owns). */
static int capture_existing(struct store *st, const struct repl_table *t, lm_err *err)
{
	struct sqlbuf *b = calloc(1, sizeof(*b));
	char mine[160] = "1";
	int rc;

	if (b == NULL)
		return lm_errf(err, "out of memory");
	if (t->policy == POLICY_OWNER)
		snprintf(mine, sizeof(mine),
			 "\"%s\" IS (SELECT value FROM meta WHERE key = 'site_id')", t->cols[0]);
	sql_add(b, "INSERT INTO repl_capture(tbl, pk, col, scope) SELECT '%s', ", t->name);
	sql_key(b, t, "T");
	sql_add(b,
		", NULL, T.\"%s\" FROM \"%s\" AS T WHERE %s AND NOT EXISTS (SELECT 1 FROM "
		"repl_row r WHERE r.tbl = '%s' AND r.pk = ",
		t->cols[t->scope_col], t->name, mine, t->name);
	sql_key(b, t, "T");
	sql_add(b, ");\nINSERT INTO repl_row(tbl, pk, cl, scope) SELECT '%s', ", t->name);
	sql_key(b, t, "T");
	sql_add(b, ", 1, T.\"%s\" FROM \"%s\" AS T WHERE %s ON CONFLICT DO NOTHING;\n",
		t->cols[t->scope_col], t->name, mine);
	rc = b->overflow ? lm_errf(err, "%s: SQL too long", t->name) : store_exec(st, b->s, err);
	free(b);
	return rc;
}

static int record(struct store *st, const struct repl_table *t, lm_err *err)
{
	char pk[1024] = "";
	sqlite3_stmt *stmt;
	size_t n = 0;
	int i, rc;

	for (i = 0; i < t->npk; i++)
		n += (size_t)snprintf(pk + n, sizeof(pk) - n, "%s%s", i ? "," : "", t->cols[i]);
	if (sqlite3_prepare_v2(
		st->db,
		"INSERT INTO repl_table(name, pk_cols, scope_col, policy) VALUES "
		"(?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET pk_cols = excluded.pk_cols, "
		"scope_col = excluded.scope_col, policy = excluded.policy",
		-1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_text(stmt, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, pk, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, t->cols[t->scope_col], -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, repl_policy_name(t->policy), -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: registering %s: %s", st->path, t->name,
			       sqlite3_errmsg(st->db));
	return 0;
}

int registry_add(struct store *st, const char *table, const char *pk_cols, const char *scope_col,
		 enum repl_policy policy, lm_err *err)
{
	struct repl_table t;
	int rc;

	memset(&t, 0, sizeof(t));
	if (!name_ok(table))
		return lm_errf(err, "table name '%s' must be letters, digits and _", table);
	snprintf(t.name, sizeof(t.name), "%s", table);
	t.policy = policy;
	if (describe(st, &t, pk_cols, scope_col, err) != 0)
		return -1;
	if (store_exec(st, "SAVEPOINT registry_add", err) != 0)
		return -1;
	rc = record(st, &t, err);
	if (rc == 0)
		rc = install_triggers(st, &t, err);
	if (rc == 0)
		rc = capture_existing(st, &t, err);
	if (rc != 0) {
		sqlite3_exec(st->db, "ROLLBACK TO registry_add; RELEASE registry_add", NULL, NULL,
			     NULL);
		return -1;
	}
	return store_exec(st, "RELEASE registry_add", err);
}

int registry_find(struct store *st, const char *table, struct repl_table *t, lm_err *err)
{
	char pk[1024], scope[64], policy[16];
	sqlite3_stmt *stmt;
	int rc;

	memset(t, 0, sizeof(*t));
	stmt =
	    store_stmt(st, "SELECT pk_cols, scope_col, policy FROM repl_table WHERE name = ?", err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(pk, sizeof(pk), "%s", (const char *)sqlite3_column_text(stmt, 0));
		snprintf(scope, sizeof(scope), "%s", (const char *)sqlite3_column_text(stmt, 1));
		snprintf(policy, sizeof(policy), "%s", (const char *)sqlite3_column_text(stmt, 2));
	}
	store_release(st, stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	snprintf(t->name, sizeof(t->name), "%s", table);
	if (repl_policy_parse(policy, &t->policy, err) != 0 || describe(st, t, pk, scope, err) != 0)
		return -1;
	return 1;
}

int registry_get(struct store *st, const char *table, struct repl_table *t, lm_err *err)
{
	int rc = registry_find(st, table, t, err);

	if (rc == 0)
		lm_errf(err, "table '%s' is not replicated here", table);
	return rc == 1 ? 0 : -1;
}

int registry_reinstall_all(struct store *st, lm_err *err)
{
	sqlite3_stmt *stmt;
	char names[64][64];
	int n = 0, i, rc;
	struct repl_table t;

	if (sqlite3_prepare_v2(st->db, "SELECT name FROM repl_table ORDER BY name", -1, &stmt,
			       NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	while (n < 64 && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		snprintf(names[n++], 64, "%.63s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	for (i = 0; i < n; i++)
		if (registry_get(st, names[i], &t, err) != 0 || install_triggers(st, &t, err) != 0)
			return -1;
	return 0;
}
