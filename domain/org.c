/* SPDX-License-Identifier: MIT */
#include "domain/org.h"
#include "domain/common.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "domain/enums.h"
#include "domain/schema.h"
#include "proto/siteid.h"

static void bind_or_null(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s[0] == '\0')
		sqlite3_bind_null(stmt, i);
	else
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
}

int org_set_self(struct store *st, const struct org *o, lm_err *err)
{
	char me[65], now[32];
	sqlite3_stmt *stmt;
	const char *kind;
	int rc;

	if (dom_check_text("--name", o->name, DOM_TEXT_SHORT, 0, 1, err) != 0 ||
	    (kind = dom_enum_parse(&dom_org_kind, "--kind", o->kind, err)) == NULL ||
	    (o->orgnr[0] && dom_check_orgnr("--orgnr", o->orgnr, err) != 0) ||
	    (o->kommunenr[0] && dom_check_kommunenr("--kommunenr", o->kommunenr, err) != 0) ||
	    dom_check_text("--region", o->region, DOM_TEXT_SHORT, 0, 0, err) != 0)
		return -1;
	/* A hub keeps no directory of its own, and only a kommune has a
	 * kommunenummer. */
	if (strcmp(kind, "hub") == 0)
		return lm_errf(err, "--kind: hub is the kind of a relaying site, which has no "
				    "organisation row; give the organisation's own kind");
	if (o->kommunenr[0] && strcmp(kind, "kommune") != 0)
		return lm_errf(err, "--kommunenr: only a kommune has a kommunenummer, and this "
				    "organisation is of kind %s",
			       kind);
	if (domain_site_hex(st, me, err) != 0)
		return -1;
	dom_now(now);
	if (store_prepare(st,
			  "INSERT INTO lm_org(site, name, kind, orgnr, kommunenr, region, updated_at) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (site) DO UPDATE SET "
			  "name = ?2, kind = ?3, orgnr = ?4, kommunenr = ?5, region = ?6, "
			  "updated_at = ?7",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, me, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, o->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_STATIC);
	bind_or_null(stmt, 4, o->orgnr);
	bind_or_null(stmt, 5, o->kommunenr);
	sqlite3_bind_text(stmt, 6, o->region, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: writing the organisation: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

#define ORG_COLS "SELECT site, name, kind, orgnr, kommunenr, region FROM lm_org "

static void read_org(sqlite3_stmt *stmt, struct org *o)
{
	memset(o, 0, sizeof(*o));
	dom_col_text(stmt, 0, o->site, sizeof(o->site));
	dom_col_text(stmt, 1, o->name, sizeof(o->name));
	dom_col_text(stmt, 2, o->kind, sizeof(o->kind));
	dom_col_text(stmt, 3, o->orgnr, sizeof(o->orgnr));
	dom_col_text(stmt, 4, o->kommunenr, sizeof(o->kommunenr));
	dom_col_text(stmt, 5, o->region, sizeof(o->region));
}

int org_list(struct store *st, org_cb cb, void *ctx, lm_err *err)
{
	sqlite3_stmt *stmt;
	struct org o;
	int rc;

	if (store_prepare(st, ORG_COLS "ORDER BY name COLLATE lm_name, site", &stmt, err) != 0)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		read_org(stmt, &o);
		if (cb(&o, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading organisations: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

int org_get(struct store *st, const char *site, struct org *o, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(o, 0, sizeof(*o));
	if (store_prepare(st, ORG_COLS "WHERE site = ?", &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, site, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		read_org(stmt, o);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading organisations: %s", st->path,
			       sqlite3_errmsg(st->db));
	return rc == SQLITE_ROW;
}

void org_name(struct store *st, const char *site, char *out, size_t cap)
{
	sqlite3_stmt *stmt;
	lm_err err;

	/* Listings ask once per row: the connection keeps the statement. */
	snprintf(out, cap, "%.7s", site);
	stmt = store_stmt(st,
			  "SELECT name FROM lm_org WHERE site = ?1 AND name <> '' UNION ALL "
			  "SELECT name FROM peer WHERE hex(id) = upper(?1) AND name <> '' LIMIT 1",
			  &err);
	if (stmt == NULL)
		return;
	sqlite3_bind_text(stmt, 1, site, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(stmt, 0));
	store_release(st, stmt);
}

int dom_site_resolve(struct store *st, const char *arg, char hex[65], lm_err *err)
{
	uint8_t key[CS_KEY_LEN];
	sqlite3_stmt *stmt;
	lm_err why;
	int rc, found = 0;

	if (siteid_parse(arg, key, &why) == 0) {
		siteid_to_hex(key, hex);
		return 0;
	}
	if (store_prepare(st,
			  "SELECT DISTINCT site FROM (SELECT site, name FROM lm_org UNION ALL "
			  "SELECT lower(hex(id)), name FROM peer) WHERE lm_lower(name) = lm_lower(?1)",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (found++ == 0)
			snprintf(hex, 65, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading organisations: %s", st->path,
			       sqlite3_errmsg(st->db));
	if (found == 1)
		return 0;
	if (found > 1)
		return lm_errf(err, "'%s' is the name of %d sites here; give its site id", arg,
			       found);
	return lm_errf(err,
		       "'%s' is neither a site id nor the name of an organisation or peer known "
		       "here (%s)",
		       arg, why.msg);
}
