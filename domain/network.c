/* SPDX-License-Identifier: MIT */
#include "domain/network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/common.h"
#include "domain/enums.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "proto/siteid.h"
#include "store/member.h"
#include "store/peer.h"

static int step_done(struct store *st, sqlite3_stmt *stmt, const char *what, lm_err *err)
{
	int rc = sqlite3_step(stmt);

	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
	return 0;
}

static int write_member_row(struct store *st, const char *id, const char *site, const char *role,
			    lm_err *err)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st,
			  "INSERT INTO lm_network_member(network, org, scope, role) VALUES (?1, ?2, "
			  "?1, ?3) ON CONFLICT (network, org) DO UPDATE SET role = ?3 WHERE role IS "
			  "NOT ?3",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, role, -1, SQLITE_STATIC);
	return step_done(st, stmt, "writing the network's member", err);
}

int dom_grant_hubs(struct store *st, const char *id, lm_err *err)
{
	struct peer *peers = NULL;
	int n = 0, i, rc = 0;

	if (peer_list(st, &peers, &n, err) != 0)
		return -1;
	for (i = 0; rc == 0 && i < n; i++)
		if (peers[i].is_hub && member_set(st, id, peers[i].id, ROLE_RELAY, err) < 0)
			rc = -1;
	free(peers);
	return rc;
}

int network_create(struct store *st, const char *name, const struct network *n, char *id,
		   size_t cap, lm_err *err)
{
	struct network have;
	char me[65], now[32];
	sqlite3_stmt *stmt;
	time_t t = time(NULL);
	struct tm tm;
	const char *kind;
	int rc;

	if (dom_check_text("--name", n->name, DOM_TEXT_SHORT, 0, 1, err) != 0 ||
	    (kind = dom_enum_parse(&dom_network_kind, "--kind", n->kind, err)) == NULL ||
	    dom_check_text("--mandate", n->mandate, DOM_TEXT_LONG, 1, 0, err) != 0)
		return -1;
	if (member_scope_make(st, name, id, cap, err) != 0 || domain_site_hex(st, me, err) != 0)
		return -1;
	rc = network_get(st, id, &have, err);
	if (rc != 0)
		return rc < 0 ? -1 : lm_errf(err, "network %s exists already", id);
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (store_exec(st, "BEGIN IMMEDIATE", err) != 0)
		return -1;
	rc = store_prepare(st,
			   "INSERT INTO lm_network(id, scope, name, kind, host, mandate, created_at) "
			   "VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6)",
			   &stmt, err);
	if (rc == 0) {
		sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, n->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 4, n->host[0] ? n->host : me, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 5, n->mandate, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 6, now, -1, SQLITE_STATIC);
		rc = step_done(st, stmt, "writing the network", err);
	}
	if (rc == 0)
		rc = write_member_row(st, id, me, "leder", err);
	if (rc != 0 || store_exec(st, "COMMIT", err) != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return dom_grant_hubs(st, id, err);
}

int network_get(struct store *st, const char *id, struct network *n, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(n, 0, sizeof(*n));
	if (store_prepare(st, "SELECT id, name, kind, host, mandate FROM lm_network WHERE id = ?",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		dom_col_text(stmt, 0, n->id, sizeof(n->id));
		dom_col_text(stmt, 1, n->name, sizeof(n->name));
		dom_col_text(stmt, 2, n->kind, sizeof(n->kind));
		dom_col_text(stmt, 3, n->host, sizeof(n->host));
		dom_col_text(stmt, 4, n->mandate, sizeof(n->mandate));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading networks: %s", st->path, sqlite3_errmsg(st->db));
	return rc == SQLITE_ROW;
}

int network_list(struct store *st, network_cb cb, void *ctx, lm_err *err)
{
	struct network n;
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st,
			  "SELECT id, name, kind, host, mandate FROM lm_network ORDER BY name COLLATE lm_name, "
			  "id",
			  &stmt, err) != 0)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&n, 0, sizeof(n));
		dom_col_text(stmt, 0, n.id, sizeof(n.id));
		dom_col_text(stmt, 1, n.name, sizeof(n.name));
		dom_col_text(stmt, 2, n.kind, sizeof(n.kind));
		dom_col_text(stmt, 3, n.host, sizeof(n.host));
		dom_col_text(stmt, 4, n.mandate, sizeof(n.mandate));
		if (cb(&n, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading networks: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

int network_members(struct store *st, const char *id, network_member_cb cb, void *ctx,
		    lm_err *err)
{
	struct network_member m;
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st,
			  "SELECT org, role FROM lm_network_member WHERE network = ? ORDER BY CASE "
			  "role WHEN 'leder' THEN 0 WHEN 'nestleder' THEN 1 WHEN 'koordinator' THEN "
			  "2 ELSE 3 END, org",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		dom_col_text(stmt, 0, m.site, sizeof(m.site));
		dom_col_text(stmt, 1, m.role, sizeof(m.role));
		org_name(st, m.site, m.name, sizeof(m.name));
		if (cb(&m, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the network's members: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

int network_resolve(struct store *st, const char *arg, char *id, size_t cap, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc, found = 0;

	if (store_prepare(st,
			  "SELECT id FROM lm_network WHERE id = ?1 OR (instr(?1, '@') = 0 AND "
			  "(substr(id, 1, instr(id, '@') - 1) = ?1 OR lm_lower(name) = lm_lower(?1))) "
			  "ORDER BY id = ?1 DESC, id",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(stmt, 0);

		if (strcmp(s, arg) == 0 || found == 0)
			snprintf(id, cap, "%s", s);
		if (strcmp(s, arg) == 0) {
			found = 1;
			break;
		}
		found++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading networks: %s", st->path, sqlite3_errmsg(st->db));
	if (found == 0)
		return lm_errf(err,
			       "no network '%s' here; `lmsync network list` shows the networks this "
			       "site belongs to",
			       arg);
	if (found > 1)
		return lm_errf(err,
			       "'%s' names %d networks here; give the whole id (`lmsync network "
			       "list`)",
			       arg, found);
	return 0;
}

/* Only the network's leder, nestleder or koordinator (role admin) changes
 * its members: say so in the network's terms before the store refuses. */
static int need_admin(struct store *st, const char *id, lm_err *err)
{
	char host[DOM_TEXT_SHORT + 1];
	enum member_role role;
	struct network n;

	if (domain_my_role(st, id, &role, err) != 0)
		return -1;
	if (role == ROLE_ADMIN)
		return 0;
	if (network_get(st, id, &n, err) < 0)
		return -1;
	org_name(st, n.host, host, sizeof(host));
	return lm_errf(err,
		       "only the network's leder, nestleder or koordinator can change its "
		       "members, and this site is %s there; ask %s",
		       role == ROLE_NONE ? "no member" : "a medlem", host);
}

int network_member_set(struct store *st, const char *id, const char *site, const char *role,
		       lm_err *err)
{
	uint8_t key[CS_KEY_LEN];
	const char *r = dom_enum_parse(&dom_network_role, "--role", role, err);
	int rc;

	if (r == NULL || siteid_parse(site, key, err) != 0 || need_admin(st, id, err) != 0)
		return -1;
	/* The grant first: it is what the member's own site needs to receive the
	 * network, and what the triggers check this site's right by. */
	rc = member_set(st, id, key, strcmp(r, "medlem") == 0 ? ROLE_MEMBER : ROLE_ADMIN, err);
	if (rc < 0)
		return -1;
	return write_member_row(st, id, site, r, err);
}

int network_member_remove(struct store *st, const char *id, const char *site, lm_err *err)
{
	uint8_t key[CS_KEY_LEN];
	sqlite3_stmt *stmt;
	int rc, had;

	if (siteid_parse(site, key, err) != 0 || need_admin(st, id, err) != 0)
		return -1;
	/* The member row and the role go together, or neither does. */
	if (store_exec(st, "BEGIN IMMEDIATE", err) != 0)
		return -1;
	rc = store_prepare(st, "DELETE FROM lm_network_member WHERE network = ? AND org = ?", &stmt,
			   err);
	if (rc == 0) {
		sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, site, -1, SQLITE_STATIC);
		rc = step_done(st, stmt, "removing the network's member", err);
	}
	had = rc == 0 && sqlite3_changes(st->db) > 0;
	if (rc == 0)
		rc = member_unset(st, id, key, err);
	if (rc < 0 || store_exec(st, "COMMIT", err) != 0) {
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return had || rc > 0;
}

int dom_grant_hub_everywhere(struct store *st, const uint8_t hub[CS_KEY_LEN], int *granted,
			     lm_err *err)
{
	char ids[64][NETWORK_ID_MAX + 1];
	enum member_role role;
	sqlite3_stmt *stmt;
	int n = 0, i, rc;

	*granted = 0;
	rc = domain_installed(st, err);
	if (rc <= 0)
		return rc;
	/* Read first, write after: member_set runs a transaction of its own. */
	if (store_prepare(st, "SELECT id FROM lm_network UNION SELECT id FROM lm_agreement", &stmt,
			  err) != 0)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < 64)
		dom_col_text(stmt, 0, ids[n++], sizeof(ids[0]));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading networks and agreements: %s", st->path,
			       sqlite3_errmsg(st->db));
	for (i = 0; i < n; i++) {
		if (domain_my_role(st, ids[i], &role, err) != 0)
			return -1;
		if (role != ROLE_ADMIN)
			continue;
		rc = member_set(st, ids[i], hub, ROLE_RELAY, err);
		if (rc < 0)
			return -1;
		*granted += rc;
	}
	return 0;
}
