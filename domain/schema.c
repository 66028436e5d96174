/* SPDX-License-Identifier: MIT */
#include "domain/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/course.h"
#include "domain/enums.h"
#include "proto/siteid.h"
#include "store/registry.h"

/* A site id column: 64 lowercase hex digits. */
#define SITE_CHECK(c) "CHECK (length(" c ") = 64 AND NOT " c " GLOB '*[^0-9a-f]*')"
/* A date column: YYYY-MM-DD or NULL (domain/validate.c checks the calendar). */
#define DATE_CHECK(c)                                                                              \
	"CHECK (" c " IS NULL OR " c " GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]')"
#define COUNT(c)  c " INTEGER NOT NULL DEFAULT 0 CHECK (" c " BETWEEN 0 AND 1000000)"
#define HOURS(c)  c " REAL NOT NULL DEFAULT 0 CHECK (" c " BETWEEN 0 AND 100000)"
#define TEXT_(c)  c " TEXT NOT NULL DEFAULT ''"
#define ENUM_(c, e) c " TEXT NOT NULL DEFAULT '' CHECK (" c " IN (@" e "@))"
/* A row keyed by the agreement or network it belongs to lives in that scope:
 * the scope policy lets any member of a scope write rows there, and without
 * this a party of one agreement could write a row carrying another's key
 * into its own scope, which a site party to both would show under the
 * other. Checked at every site, merges included (a breaking change set is
 * quarantined). */
#define SCOPE_IS(c) "CHECK (scope = " c ")"

/* Each table: its SQL (with @name@ for an enum's values), key, scope column
 * and policy. Tables are created IF NOT EXISTS; changing one later is a new
 * DOMAIN_VERSION with an ALTER of its own. */
static const struct {
	const char *name, *sql, *key, *scope;
	enum repl_policy policy;
} tables[] = {
    {"lm_org",
     "CREATE TABLE IF NOT EXISTS lm_org (\n"
     "  site      TEXT NOT NULL PRIMARY KEY " SITE_CHECK("site") ",\n"
     "  scope     TEXT NOT NULL DEFAULT '" DOMAIN_ORG_SCOPE "',\n"
     "  " TEXT_("name") ",\n"
     "  " ENUM_("kind", "org_kind") ",\n"
     "  orgnr     TEXT CHECK (orgnr IS NULL OR (length(orgnr) = 9 AND NOT orgnr GLOB "
     "'*[^0-9]*')),\n"
     "  kommunenr TEXT CHECK (kommunenr IS NULL OR (length(kommunenr) = 4 AND NOT kommunenr "
     "GLOB '*[^0-9]*')),\n"
     "  " TEXT_("region") ",\n" /* the health region, e.g. Helse Midt-Norge */
     "  " TEXT_("updated_at") "\n"
     ")",
     "site", "scope", POLICY_OWNER},
    {"lm_network",
     "CREATE TABLE IF NOT EXISTS lm_network (\n"
     "  id      TEXT NOT NULL PRIMARY KEY,\n" /* the network's scope, NAME@ROOT */
     "  " TEXT_("scope") ",\n"		      /* equal to id */
     "  " TEXT_("name") ",\n"
     "  " ENUM_("kind", "network_kind") ",\n"
     "  host    TEXT,\n" /* the host organisation's site id */
     "  " TEXT_("mandate") ",\n"
     "  " TEXT_("created_at") "\n"
     ")",
     "id", "scope", POLICY_ADMIN},
    {"lm_network_member",
     "CREATE TABLE IF NOT EXISTS lm_network_member (\n"
     "  network TEXT NOT NULL,\n"
     "  org     TEXT NOT NULL " SITE_CHECK("org") ",\n"
     "  " TEXT_("scope") ",\n"
     "  " ENUM_("role", "network_role") ",\n"
     "  PRIMARY KEY (network, org)\n"
     ")",
     "network,org", "scope", POLICY_ADMIN},
    {"lm_course",
     "CREATE TABLE IF NOT EXISTS lm_course (\n"
     "  owner        TEXT NOT NULL " SITE_CHECK("owner") ",\n"
     "  id           TEXT NOT NULL,\n"
     "  " TEXT_("scope") ",\n" /* the network it is published to */
     "  " TEXT_("title") ",\n"
     "  " TEXT_("description") ",\n"
     "  " ENUM_("kind", "course_kind") ",\n"
     "  " ENUM_("target", "target_group") ",\n"
     "  " ENUM_("age_group", "age_group") ",\n"
     "  diagnosis    TEXT,\n" /* NULL: diagnosis-independent; else the group */
     "  standard_metode INTEGER NOT NULL DEFAULT 0 CHECK (standard_metode IN (0, 1)),\n"
     "  " COUNT("user_reps") ",\n" /* brukerrepresentanter involved */
     "  " TEXT_("co_organisers") ",\n"
     "  " COUNT("sessions") ",\n"
     "  " COUNT("session_minutes") ",\n"
     "  " COUNT("capacity") ",\n"
     "  " ENUM_("delivery", "delivery") ",\n"
     "  " TEXT_("venue") ",\n"
     "  " TEXT_("municipality") ",\n"
     "  language     TEXT NOT NULL DEFAULT 'norsk',\n"
     "  " COUNT("price") ",\n" /* whole kroner */
     "  " TEXT_("registration") ",\n"
     "  " ENUM_("status", "course_status") ",\n"
     "  starts       TEXT " DATE_CHECK("starts") ",\n"
     "  ends         TEXT " DATE_CHECK("ends") ",\n"
     "  archived     INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),\n"
     "  " TEXT_("updated_at") ",\n"
     "  PRIMARY KEY (owner, id)\n"
     ")",
     "owner,id", "scope", POLICY_OWNER},
    {"lm_course_run",
     "CREATE TABLE IF NOT EXISTS lm_course_run (\n"
     "  owner        TEXT NOT NULL " SITE_CHECK("owner") ",\n"
     "  id           TEXT NOT NULL,\n"
     "  " TEXT_("scope") ",\n" /* the course's network */
     "  " TEXT_("course") ",\n" /* the course's id (same owner) */
     "  starts       TEXT " DATE_CHECK("starts") ",\n"
     "  ends         TEXT " DATE_CHECK("ends") ",\n"
     "  held         INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1)),\n"
     "  " COUNT("sessions_held") ",\n"
     "  " COUNT("patients") ",\n"
     "  " COUNT("relatives") ",\n"
     "  " HOURS("professional_hours") ",\n"
     "  " HOURS("user_rep_hours") ",\n"
     "  " COUNT("forms") ",\n" /* evaluation forms returned */
     "  " COUNT("benefit_none") ",\n"
     "  " COUNT("benefit_some") ",\n"
     "  " COUNT("benefit_good") ",\n"
     "  " COUNT("benefit_very_good") ",\n"
     "  " TEXT_("updated_at") ",\n"
     "  PRIMARY KEY (owner, id)\n"
     ")",
     "owner,id", "scope", POLICY_OWNER},
    {"lm_agreement",
     "CREATE TABLE IF NOT EXISTS lm_agreement (\n"
     "  id          TEXT NOT NULL PRIMARY KEY,\n" /* the agreement's scope, NAME@ROOT */
     "  " TEXT_("scope") ",\n"			  /* equal to id */
     "  " TEXT_("title") ",\n"
     "  hf          TEXT,\n" /* the helseforetak party's site id */
     "  period_from TEXT " DATE_CHECK("period_from") ",\n"
     "  period_to   TEXT " DATE_CHECK("period_to") ",\n"
     "  " ENUM_("status", "agreement_status") ",\n"
     "  next_review TEXT " DATE_CHECK("next_review") ",\n"
     "  " TEXT_("updated_at") ",\n"
     "  " SCOPE_IS("id") "\n"
     ")",
     "id", "scope", POLICY_SCOPE},
    {"lm_agreement_party",
     "CREATE TABLE IF NOT EXISTS lm_agreement_party (\n"
     "  agreement TEXT NOT NULL,\n"
     "  org       TEXT NOT NULL " SITE_CHECK("org") ",\n"
     "  " TEXT_("scope") ",\n"
     "  " ENUM_("role", "party_role") ",\n"
     "  " TEXT_("contact") ",\n" /* a role address, never a person's */
     "  PRIMARY KEY (agreement, org)\n"
     ")",
     "agreement,org", "scope", POLICY_ADMIN},
    {"lm_agreement_part",
     "CREATE TABLE IF NOT EXISTS lm_agreement_part (\n"
     "  agreement   TEXT NOT NULL,\n"
     "  number      INTEGER NOT NULL CHECK (number BETWEEN 1 AND 99),\n" /* delavtale */
     "  " TEXT_("scope") ",\n"
     "  " TEXT_("title") ",\n"
     "  " ENUM_("status", "agreement_status") ",\n"
     "  next_review TEXT " DATE_CHECK("next_review") ",\n"
     "  " TEXT_("updated_at") ",\n"
     "  " SCOPE_IS("agreement") ",\n"
     "  PRIMARY KEY (agreement, number)\n"
     ")",
     "agreement,number", "scope", POLICY_SCOPE},
    {"lm_agreement_item",
     "CREATE TABLE IF NOT EXISTS lm_agreement_item (\n"
     "  agreement   TEXT NOT NULL,\n"
     "  id          TEXT NOT NULL,\n"
     "  " TEXT_("scope") ",\n"
     "  part        INTEGER CHECK (part IS NULL OR part BETWEEN 1 AND 99),\n"
     "  " TEXT_("what") ",\n"
     "  " ENUM_("responsible", "responsible") ",\n"
     "  due         TEXT " DATE_CHECK("due") ",\n"
     "  " ENUM_("status", "item_status") ",\n"
     "  " TEXT_("updated_at") ",\n"
     "  " SCOPE_IS("agreement") ",\n"
     "  PRIMARY KEY (agreement, id)\n"
     ")",
     "agreement,id", "scope", POLICY_SCOPE},
    {"lm_agreement_note",
     "CREATE TABLE IF NOT EXISTS lm_agreement_note (\n"
     "  author    TEXT NOT NULL " SITE_CHECK("author") ",\n"
     "  id        TEXT NOT NULL,\n"
     "  " TEXT_("scope") ",\n" /* the agreement */
     "  item      TEXT,\n"	    /* the item it is about, if any */
     "  " ENUM_("kind", "note_kind") ",\n"
     "  " TEXT_("body") ",\n"
     "  " TEXT_("at") ",\n"
     "  PRIMARY KEY (author, id)\n"
     ")",
     "author,id", "scope", POLICY_OWNER},
    {"lm_report_close",
     "CREATE TABLE IF NOT EXISTS lm_report_close (\n"
     "  owner     TEXT NOT NULL " SITE_CHECK("owner") ",\n"
     "  network   TEXT NOT NULL,\n"
     "  period    TEXT NOT NULL,\n"
     "  " TEXT_("scope") ",\n" /* the network */
     "  " TEXT_("closed_at") ",\n"
     "  " SCOPE_IS("network") ",\n"
     "  PRIMARY KEY (owner, network, period)\n"
     ")",
     "owner,network,period", "scope", POLICY_OWNER},
};

/* Local only: the rule that notes are never changed once written (a merge,
 * which stays quiet, is the author's own replicated write), and indexes.
 * The catalogue's full-text index is course_fts_sql (course_fts.c). */
static const char local_sql[] =
    "CREATE TRIGGER IF NOT EXISTS lm_agreement_note_keep BEFORE UPDATE ON lm_agreement_note\n"
    "WHEN NOT EXISTS (SELECT 1 FROM repl_applying) BEGIN\n"
    "  SELECT RAISE(ABORT, 'lmsync: agreement notes are never changed; add a new note');\n"
    "END;\n"
    "CREATE TRIGGER IF NOT EXISTS lm_agreement_note_stay BEFORE DELETE ON lm_agreement_note\n"
    "WHEN NOT EXISTS (SELECT 1 FROM repl_applying) BEGIN\n"
    "  SELECT RAISE(ABORT, 'lmsync: agreement notes are never deleted; add a new note');\n"
    "END;\n"
    "CREATE INDEX IF NOT EXISTS lm_course_scope ON lm_course(scope);\n"
    "CREATE INDEX IF NOT EXISTS lm_course_run_course ON lm_course_run(owner, course);\n"
    "CREATE INDEX IF NOT EXISTS lm_agreement_item_due ON lm_agreement_item(due);\n";

static const struct {
	const char *name;
	const struct dom_enum *e;
} enums[] = {
    {"org_kind", &dom_org_kind},
    {"network_kind", &dom_network_kind},
    {"network_role", &dom_network_role},
    {"course_kind", &dom_course_kind},
    {"target_group", &dom_target_group},
    {"age_group", &dom_age_group},
    {"delivery", &dom_delivery},
    {"course_status", &dom_course_status},
    {"agreement_status", &dom_agreement_status},
    {"item_status", &dom_item_status},
    {"responsible", &dom_responsible},
    {"note_kind", &dom_note_kind},
    {"party_role", &dom_party_role},
};

/* sql with every @name@ replaced by the enum's values quoted, plus '' (a
 * row may arrive as a partial update, so the empty default must pass). */
static int expand(const char *sql, char *out, size_t cap, lm_err *err)
{
	size_t n = 0, i, k;
	const char *end;

	while (*sql) {
		if (*sql != '@') {
			if (n + 1 >= cap)
				goto full;
			out[n++] = *sql++;
			continue;
		}
		end = strchr(sql + 1, '@');
		if (end == NULL)
			return lm_errf(err, "domain schema: unterminated @ in table SQL");
		for (i = 0; i < sizeof(enums) / sizeof(enums[0]); i++)
			if (strlen(enums[i].name) == (size_t)(end - sql - 1) &&
			    memcmp(enums[i].name, sql + 1, (size_t)(end - sql - 1)) == 0)
				break;
		if (i == sizeof(enums) / sizeof(enums[0]))
			return lm_errf(err, "domain schema: no enum %.*s", (int)(end - sql - 1),
				       sql + 1);
		if (n + 3 >= cap)
			goto full;
		n += (size_t)snprintf(out + n, cap - n, "''");
		for (k = 0; k < enums[i].e->n; k++) {
			int w = snprintf(out + n, cap - n, ", '%s'", enums[i].e->values[k]);

			if (w < 0 || (size_t)w >= cap - n)
				goto full;
			n += (size_t)w;
		}
		sql = end + 1;
	}
	out[n] = '\0';
	return 0;
full:
	return lm_errf(err, "domain schema: table SQL too long");
}

int domain_installed(struct store *st, lm_err *err)
{
	char v[16];
	int rc = store_meta_get(st, "domain_version", v, sizeof(v), err);

	if (rc < 0)
		return -1;
	return rc == 1 && atoi(v) >= DOMAIN_VERSION;
}

int domain_install(struct store *st, lm_err *err)
{
	char sql[4096], v[16];
	size_t i;
	int rc = course_fts_hook(st, err);

	if (rc == 0)
		rc = domain_installed(st, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (store_exec(st, "BEGIN IMMEDIATE", err) != 0)
		return -1;
	for (i = 0; rc == 0 && i < sizeof(tables) / sizeof(tables[0]); i++) {
		rc = expand(tables[i].sql, sql, sizeof(sql), err);
		if (rc == 0)
			rc = store_exec(st, sql, err);
		if (rc == 0)
			rc = registry_add(st, tables[i].name, tables[i].key, tables[i].scope,
					  tables[i].policy, err);
	}
	if (rc == 0)
		rc = store_exec(st, local_sql, err);
	if (rc == 0)
		rc = store_exec(st, course_fts_sql, err);
	snprintf(v, sizeof(v), "%d", DOMAIN_VERSION);
	if (rc == 0)
		rc = store_meta_set(st, "domain_version", v, err);
	if (rc == 0)
		return store_exec(st, "COMMIT", err);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int domain_my_role(struct store *st, const char *scope, enum member_role *role, lm_err *err)
{
	uint8_t me[CS_KEY_LEN];
	char hex[65];

	if (domain_site_hex(st, hex, err) != 0 || siteid_parse(hex, me, err) != 0)
		return -1;
	return member_role(st, scope, me, role, err);
}

int domain_site_hex(struct store *st, char out[65], lm_err *err)
{
	int rc = store_meta_get(st, "site_id", out, 65, err);

	if (rc < 0)
		return -1;
	if (rc == 0 || strlen(out) != 64)
		return lm_errf(err, "%s: the store names no site (meta site_id)", st->path);
	return 0;
}
