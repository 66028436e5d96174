/* SPDX-License-Identifier: MIT */
/* Scope membership; see member.h. */
#include "store/member.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/siteid.h"

#define ROOT_HEX (2 * CS_KEY_LEN)

int scope_root(const char *scope, uint8_t root[CS_KEY_LEN])
{
	size_t len = strlen(scope), i;
	const char *hex;

	if (len < ROOT_HEX + 2 || scope[len - ROOT_HEX - 1] != '@')
		return 0;
	hex = scope + len - ROOT_HEX;
	for (i = 0; i < ROOT_HEX; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return 0;
	return sodium_hex2bin(root, CS_KEY_LEN, hex, ROOT_HEX, NULL, NULL, NULL) == 0;
}

static enum member_role role_parse(const char *s)
{
	static const char *const names[] = {"", "relay", "reader", "member", "admin"};
	int i;

	for (i = ROLE_RELAY; s != NULL && i <= ROLE_ADMIN; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum member_role)i;
	return ROLE_NONE;
}

const char *member_role_name(enum member_role role)
{
	static const char *const names[] = {"none", "relay", "reader", "member", "admin"};

	return (unsigned)role <= ROLE_ADMIN ? names[role] : "?";
}

int member_role(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN],
		enum member_role *role, lm_err *err)
{
	uint8_t root[CS_KEY_LEN];
	char hex[ROOT_HEX + 1];
	sqlite3_stmt *stmt;
	int rc;

	*role = ROLE_NONE;
	if (scope_root(scope, root) && sodium_memcmp(root, site, CS_KEY_LEN) == 0) {
		*role = ROLE_ADMIN;
		return 0;
	}
	stmt = store_stmt(st, "SELECT role FROM " MEMBER_TABLE " WHERE of_scope = ? AND member = ?",
			  err);
	if (stmt == NULL)
		return -1;
	sodium_bin2hex(hex, sizeof(hex), site, CS_KEY_LEN);
	sqlite3_bind_text(stmt, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*role = role_parse((const char *)sqlite3_column_text(stmt, 0));
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the members of %s: %s", st->path, scope,
			       sqlite3_errmsg(st->db));
	return 0;
}

int member_role_parse(const char *s, enum member_role *role, lm_err *err)
{
	*role = role_parse(s);
	if (*role == ROLE_NONE)
		return lm_errf(err, "unknown role '%s'; use admin, member, reader or relay", s);
	return 0;
}

/* This site's id, as the capture triggers read it. */
static int own_site(struct store *st, char hex[ROOT_HEX + 1], uint8_t id[CS_KEY_LEN], lm_err *err)
{
	char value[ROOT_HEX + 8];
	int found = store_meta_get(st, "site_id", value, sizeof(value), err);

	if (found < 0)
		return -1;
	if (found == 0 || strlen(value) != ROOT_HEX ||
	    sodium_hex2bin(id, CS_KEY_LEN, value, ROOT_HEX, NULL, NULL, NULL) != 0)
		return lm_errf(err,
			       "%s holds no valid site id (meta site_id); is it a site's store?",
			       st->path);
	memcpy(hex, value, ROOT_HEX + 1);
	return 0;
}

/* The log entry of the removal: the change set whose (hlc, origin) set the
 * deleted row's scope register (every write to a row sets it, deletes
 * included, so the newest delete at the row's causal length holds it). A
 * chunked seal can give several change sets one hlc: the newest of them
 * is, or follows, the removal. */
static int removal_entry(struct store *st, const char *scope, sqlite3_int64 hlc,
			 struct member_removal *r, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt =
	    store_stmt(st,
		       "SELECT max(local_id) FROM changeset WHERE origin = ?1 AND scope = ?2 AND "
		       "hlc = ?3",
		       err);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_blob(stmt, 1, r->by, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, hlc);
	rc = sqlite3_step(stmt);
	r->local_id = -1;
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		r->local_id = sqlite3_column_int64(stmt, 0);
	store_release(st, stmt);
	if (rc != SQLITE_ROW)
		return lm_errf(err, "%s: looking for the removal in %s: %s", st->path, scope,
			       sqlite3_errmsg(st->db));
	return 0;
}

int member_removal(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN],
		   struct member_removal *r, lm_err *err)
{
	char me_hex[ROOT_HEX + 1], hex[ROOT_HEX + 1];
	uint8_t root[CS_KEY_LEN];
	sqlite3_int64 cl = 0, hlc = 0;
	sqlite3_stmt *stmt;
	int rc, pending = 0;

	memset(r, 0, sizeof(*r));
	if (!scope_root(scope, root) || sodium_memcmp(root, site, CS_KEY_LEN) == 0)
		return 0;
	stmt = store_stmt(st,
			  "SELECT r.cl, r.scope_hlc, r.scope_origin, EXISTS (SELECT 1 FROM "
			  "repl_capture c WHERE c.tbl = r.tbl AND c.pk = r.pk) FROM repl_row r "
			  "WHERE r.tbl = '" MEMBER_TABLE "' AND r.pk = json_array(?1, ?2)",
			  err);
	if (stmt == NULL)
		return -1;
	sodium_bin2hex(hex, sizeof(hex), site, CS_KEY_LEN);
	sqlite3_bind_text(stmt, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		cl = sqlite3_column_int64(stmt, 0);
		hlc = sqlite3_column_int64(stmt, 1);
		if (sqlite3_column_bytes(stmt, 2) == CS_KEY_LEN)
			memcpy(r->by, sqlite3_column_blob(stmt, 2), CS_KEY_LEN);
		pending = sqlite3_column_int(stmt, 3);
	}
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the members of %s: %s", st->path, scope,
			       sqlite3_errmsg(st->db));
	/* An odd causal length: the row lives (or never was: no row). */
	if (rc != SQLITE_ROW || cl % 2 != 0 || cl == 0)
		return 0;
	/* Deleted here and not sealed yet: this site removed it. */
	if (pending)
		return own_site(st, me_hex, r->by, err) == 0 ? 1 : -1;
	return removal_entry(st, scope, hlc, r, err) == 0 ? 1 : -1;
}

int member_scope_make(struct store *st, const char *name, char *out, size_t cap, lm_err *err)
{
	size_t len = strlen(name), max = CS_SCOPE_MAX - ROOT_HEX - 1;
	uint8_t id[CS_KEY_LEN];
	char hex[ROOT_HEX + 1];
	lm_err why;

	if (len == 0)
		return lm_errf(err, "a scope name needs at least one character");
	if (strchr(name, '@') != NULL)
		return lm_errf(err,
			       "the scope name '%s' has an '@'; leave it out: '@' and this site's "
			       "id are added to the name to make the scope id",
			       name);
	if (len > max)
		return lm_errf(err,
			       "the scope name has %zu bytes; at most %zu, since '@' and the 64 "
			       "hex digits of the site id follow it",
			       len, max);
	if (own_site(st, hex, id, err) != 0)
		return -1;
	if (cap < len + 1 + ROOT_HEX + 1)
		return lm_errf(err, "no room for the scope id of '%s'", name);
	snprintf(out, cap, "%s@%s", name, hex);
	if (cs_scope_check(out, strlen(out), &why) != 0)
		return lm_errf(err, "the scope name cannot be used: %s", why.msg);
	return 0;
}

/* A member write a capture trigger refused: say why in the operator's terms.
 * Which rule refused is read from the store's state, not from the trigger's
 * message. */
static int refused(struct store *st, const char *scope, const uint8_t root[CS_KEY_LEN],
		   const uint8_t me[CS_KEY_LEN], const uint8_t site[CS_KEY_LEN], const char *sqlerr,
		   lm_err *err)
{
	char root_id[SITEID_TEXT_LEN + 1], me_id[SITEID_TEXT_LEN + 1];
	enum member_role mine;
	lm_err ignored;

	siteid_to_text(root, root_id);
	siteid_to_text(me, me_id);
	if (member_role(st, scope, me, &mine, &ignored) != 0)
		return lm_errf(err, "%s: %s", st->path, sqlerr);
	/* The triggers never let a site's own row vouch for a change to it. */
	if (mine == ROLE_ADMIN && sodium_memcmp(site, me, CS_KEY_LEN) == 0)
		return lm_errf(err,
			       "an administrator cannot change its own role in %s; ask another "
			       "administrator, or the operator of the root site %s",
			       scope, root_id);
	if (mine != ROLE_ADMIN)
		return lm_errf(err,
			       "this site is not an administrator of %s (%s%s there); ask the "
			       "operator of the root site %s, or another administrator, to run "
			       "`lmsync member add %s %s --role admin`",
			       scope, mine == ROLE_NONE ? "it has no role" : "it is only a ",
			       mine == ROLE_NONE ? "" : member_role_name(mine), root_id, scope,
			       me_id);
	return lm_errf(err, "%s: %s", st->path, sqlerr);
}

/* A member write runs in a transaction of its own, or inside the caller's
 * (own 0), so that a caller can write other rows with it atomically. */
static int write_begin(struct store *st, int *own, lm_err *err)
{
	*own = sqlite3_get_autocommit(st->db);
	return store_exec(st, *own ? "BEGIN IMMEDIATE" : "SAVEPOINT member_write", err);
}

static int write_end(struct store *st, int own, lm_err *err)
{
	return store_exec(st, own ? "COMMIT" : "RELEASE member_write", err);
}

/* After a failed write, whose error is the one to report: should ROLLBACK
 * fail too, closing the connection rolls back anyway. */
static void rollback(struct store *st, int own)
{
	(void)sqlite3_exec(st->db,
			   own ? "ROLLBACK" : "ROLLBACK TO member_write; RELEASE member_write",
			   NULL, NULL, NULL);
}

/* Write site's lm_member row in scope (delete it for ROLE_NONE) as an
 * ordinary write, so the capture triggers check and record it. Returns the
 * number of rows changed. */
static int member_write(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN],
			enum member_role role, lm_err *err)
{
	char me_hex[ROOT_HEX + 1], hex[ROOT_HEX + 1], root_id[SITEID_TEXT_LEN + 1];
	char sqlerr[LM_ERR_MAX];
	uint8_t root[CS_KEY_LEN], me[CS_KEY_LEN];
	sqlite3_stmt *stmt;
	int rc, xrc, own, changed = 0;

	if (cs_scope_check(scope, strlen(scope), err) != 0)
		return -1;
	if (!scope_root(scope, root))
		return lm_errf(
		    err,
		    "'%s' is an open scope (its id does not end in @ and a site id in hex): "
		    "it has no members; any site writes it as the tables' policies allow",
		    scope);
	if (sodium_memcmp(root, site, CS_KEY_LEN) == 0) {
		siteid_to_text(root, root_id);
		return lm_errf(err,
			       "site %s is the root of %s: its id makes it an administrator for "
			       "good, so its role cannot be set or taken away",
			       root_id, scope);
	}
	if (own_site(st, me_hex, me, err) != 0)
		return -1;
	sodium_bin2hex(hex, sizeof(hex), site, CS_KEY_LEN);
	if (write_begin(st, &own, err) != 0)
		return -1;
	/* A role already held is not written again: nothing to replicate. */
	stmt = store_stmt(st,
			  role == ROLE_NONE
			      ? "DELETE FROM " MEMBER_TABLE " WHERE of_scope = ?1 AND member = ?2"
			      : "INSERT INTO " MEMBER_TABLE "(of_scope, member, scope, role) "
				"VALUES (?1, ?2, ?1, ?3) ON CONFLICT (of_scope, member) DO UPDATE "
				"SET role = excluded.role WHERE role IS NOT excluded.role",
			  err);
	if (stmt == NULL) {
		rollback(st, own);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, hex, -1, SQLITE_STATIC);
	if (role != ROLE_NONE)
		sqlite3_bind_text(stmt, 3, member_role_name(role), -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	xrc = sqlite3_extended_errcode(st->db);
	snprintf(sqlerr, sizeof(sqlerr), "%s", sqlite3_errmsg(st->db));
	if (rc == SQLITE_DONE)
		changed = sqlite3_changes(st->db);
	store_release(st, stmt);
	if (rc != SQLITE_DONE) {
		if (xrc == SQLITE_CONSTRAINT_TRIGGER)
			refused(st, scope, root, me, site, sqlerr, err);
		else
			lm_errf(err, "%s: writing the members of %s: %s", st->path, scope, sqlerr);
		rollback(st, own);
		return -1;
	}
	if (write_end(st, own, err) != 0) {
		rollback(st, own);
		return -1;
	}
	return changed;
}

int member_set(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN],
	       enum member_role role, lm_err *err)
{
	if (role == ROLE_NONE)
		return lm_errf(err, "no role given for the member of %s", scope);
	return member_write(st, scope, site, role, err);
}

int member_unset(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN], lm_err *err)
{
	return member_write(st, scope, site, ROLE_NONE, err);
}

static int list_root(const char *scope, const uint8_t root[CS_KEY_LEN], member_list_cb cb,
		     void *ctx)
{
	struct member_entry e;

	memset(&e, 0, sizeof(e));
	e.scope = scope;
	memcpy(e.site, root, CS_KEY_LEN);
	e.role = ROLE_ADMIN;
	e.root = 1;
	return cb(&e, ctx);
}

int member_list(struct store *st, const char *scope, member_list_cb cb, void *ctx, lm_err *err)
{
	struct member_entry e;
	uint8_t root[CS_KEY_LEN];
	sqlite3_stmt *stmt;
	char *cur = NULL;
	int rc = SQLITE_DONE, governed = 0, stopped = 0;

	/* Rows with a NULL member only bring a scope (and so its root) in. */
	if (store_prepare(
		st,
		"SELECT s, member, role FROM ("
		"SELECT of_scope AS s, member, role FROM " MEMBER_TABLE
		" UNION ALL SELECT DISTINCT scope, NULL, NULL FROM repl_row WHERE cl % 2 = 1"
		" UNION ALL SELECT DISTINCT scope, NULL, NULL FROM vv"
		") WHERE ?1 IS NULL OR s = ?1 ORDER BY s, member IS NOT NULL, CASE role "
		"WHEN 'admin' THEN 0 WHEN 'member' THEN 1 WHEN 'reader' THEN 2 ELSE 3 "
		"END, member",
		&stmt, err) != 0)
		return -1;
	if (scope != NULL)
		sqlite3_bind_text(stmt, 1, scope, -1, SQLITE_STATIC);
	while (!stopped && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(stmt, 0);
		const char *member = (const char *)sqlite3_column_text(stmt, 1);

		if (s == NULL)
			continue;
		if (cur == NULL || strcmp(cur, s) != 0) {
			free(cur);
			cur = strdup(s);
			if (cur == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			governed = scope_root(cur, root);
			if (governed && list_root(cur, root, cb, ctx) != 0)
				stopped = 1;
		}
		memset(&e, 0, sizeof(e));
		/* The table's CHECK keeps member to 64 hex digits. */
		if (stopped || member == NULL || strlen(member) != ROOT_HEX ||
		    sodium_hex2bin(e.site, CS_KEY_LEN, member, ROOT_HEX, NULL, NULL, NULL) != 0)
			continue;
		if (governed && sodium_memcmp(e.site, root, CS_KEY_LEN) == 0)
			continue;
		e.scope = cur;
		e.role = role_parse((const char *)sqlite3_column_text(stmt, 2));
		stopped = cb(&e, ctx) != 0;
	}
	/* A governed scope this store knows nothing of still has its root. */
	if (!stopped && rc == SQLITE_DONE && cur == NULL && scope != NULL &&
	    scope_root(scope, root))
		stopped = list_root(scope, root, cb, ctx) != 0;
	free(cur);
	if (!stopped && rc != SQLITE_DONE) {
		lm_errf(err, "%s: reading the member lists: %s", st->path,
			rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(st->db));
		sqlite3_finalize(stmt);
		return -1;
	}
	sqlite3_finalize(stmt);
	return 0;
}
