/* SPDX-License-Identifier: MIT */
/* Agreements, their parties and delavtaler (see agreement.h). */
#include "domain/agreement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/agreement_int.h"
#include "domain/enums.h"
#include "domain/network.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "proto/siteid.h"
#include "store/member.h"

/* ---- shared helpers ---- */

void agreement_now_ms(char out[32])
{
	struct timespec ts;
	struct tm tm;
	char s[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03ldZ", s, ts.tv_nsec / 1000000);
}

int agreement_begin(struct store *st, lm_err *err)
{
	return store_exec(st, "BEGIN IMMEDIATE", err);
}

int agreement_rollback(struct store *st)
{
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int agreement_commit(struct store *st, lm_err *err)
{
	if (store_exec(st, "COMMIT", err) != 0)
		return agreement_rollback(st);
	return 0;
}

static int no_party(const char *id, lm_err *err)
{
	return lm_errf(err,
		       "this site is no party to agreement %s: only its parties change it (the "
		       "site that created it adds parties with `lmsync agreement party add`)",
		       id);
}

int agreement_step(struct store *st, sqlite3_stmt *stmt, const char *id, const char *what,
		   lm_err *err)
{
	char msg[LM_ERR_MAX];
	int rc = sqlite3_step(stmt);

	snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(st->db));
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (strstr(msg, "has no role in this scope") != NULL)
		return no_party(id, err);
	if (strncmp(msg, "lmsync: ", 8) == 0)
		return lm_errf(err, "%s: %s", what, msg + 8);
	return lm_errf(err, "%s: %s: %s", st->path, what, msg);
}

int agreement_need_role(struct store *st, const char *id, enum member_role want, lm_err *err)
{
	enum member_role role;

	if (domain_my_role(st, id, &role, err) != 0)
		return -1;
	if (role >= want)
		return 0;
	if (want == ROLE_ADMIN && role == ROLE_MEMBER)
		return lm_errf(err,
			       "only the site that created agreement %s (its administrator) names "
			       "its parties; ask that site's coordinator to add the party",
			       id);
	if (role == ROLE_READER)
		return lm_errf(err,
			       "this site is an observer (observatør) of agreement %s: it receives "
			       "the agreement but changes nothing",
			       id);
	return no_party(id, err);
}

/* ---- checks ---- */

/* The dates an agreement is given, each as YYYY-MM-DD: "" (which clears
 * it) is left as it is. */
static int date_opt(const char *field, const char **s, char buf[11], lm_err *err)
{
	return *s != NULL && (*s)[0] == '\0' ? 0 : dom_parse_date_opt(field, s, buf, err);
}

struct dates {
	char from[11], to[11], next_review[11];
};

static int dates_parse(const char **from, const char **to, const char **next_review,
		       struct dates *d, lm_err *err)
{
	return date_opt("--from", from, d->from, err) != 0 || date_opt("--to", to, d->to, err) != 0 ||
			       date_opt("--next-review", next_review, d->next_review, err) != 0
		   ? -1
		   : 0;
}

static int check_period(const char *from, const char *to, lm_err *err)
{
	if (from != NULL && to != NULL && from[0] && to[0] && strcmp(from, to) > 0)
		return lm_errf(err, "--to: the agreement period ends (%s) before it begins (%s)", to,
			       from);
	return 0;
}

int agreement_part_parse(const char *field, const char *s, struct agreement_part *p,
			 lm_err *err)
{
	const char *colon = strchr(s, ':');
	char num[8];
	long n;
	size_t len = colon ? (size_t)(colon - s) : strlen(s);

	memset(p, 0, sizeof(*p));
	if (len == 0 || len >= sizeof(num))
		return lm_errf(err,
			       "%s: '%s' is not a delavtale: give its number 1 to 99, optionally "
			       "with a title (10:Læring og mestring)",
			       field, s);
	memcpy(num, s, len);
	num[len] = '\0';
	if (dom_parse_int(field, num, 1, AGREEMENT_PARTS_MAX, &n, err) != 0)
		return -1;
	p->number = (int)n;
	if (colon == NULL)
		return 0;
	if (dom_check_text(field, colon + 1, DOM_TEXT_SHORT, 0, 0, err) != 0)
		return -1;
	snprintf(p->title, sizeof(p->title), "%s", colon + 1);
	return 0;
}

/* The site's lm_org kind, "" when it has no row here. */
static int org_kind(struct store *st, const char *site, char *kind, size_t cap, lm_err *err)
{
	struct org o;
	int rc = org_get(st, site, &o, err);

	if (rc < 0)
		return -1;
	snprintf(kind, cap, "%s", rc ? o.kind : "");
	return 0;
}

static int check_site(const char *field, const char *s, lm_err *err)
{
	uint8_t key[SITEID_KEY_LEN];
	lm_err why;

	if (s == NULL || strlen(s) != 64 || siteid_parse(s, key, &why) != 0)
		return lm_errf(err, "%s: '%s' is not a site id of 64 hex digits", field,
			       s ? s : "");
	return 0;
}

/* Who the parties are: hf into hf, with every check create needs. */
static int check_parties(struct store *st, const struct agreement_spec *s, const char *me,
			 char hf[65], lm_err *err)
{
	char kind[32];
	size_t i, k;
	int me_party;

	if (org_kind(st, me, kind, sizeof(kind), err) != 0)
		return -1;
	if (strcmp(kind, "helseforetak") == 0) {
		if (s->hf != NULL && strcmp(s->hf, me) != 0)
			return lm_errf(err,
				       "--hf: this site is a helseforetak, so it is the agreement's "
				       "helseforetak party; leave --hf out");
		snprintf(hf, 65, "%s", me);
	} else {
		if (s->hf == NULL)
			return lm_errf(err, "--hf: this site is no helseforetak (its kind is %s), so "
					    "name the helseforetak party with --hf SITE",
				       kind[0] ? kind : "not set");
		if (check_site("--hf", s->hf, err) != 0 ||
		    org_kind(st, s->hf, kind, sizeof(kind), err) != 0)
			return -1;
		if (kind[0] && strcmp(kind, "helseforetak") != 0)
			return lm_errf(err, "--hf: site %.7s is a %s, not a helseforetak", s->hf,
				       kind);
		snprintf(hf, 65, "%s", s->hf);
	}
	if (s->nkommuner == 0)
		return lm_errf(err, "--kommune: an agreement needs at least one kommune party");
	me_party = strcmp(hf, me) == 0;
	for (i = 0; i < s->nkommuner; i++) {
		if (check_site("--kommune", s->kommuner[i], err) != 0)
			return -1;
		if (strcmp(s->kommuner[i], hf) == 0)
			return lm_errf(err,
				       "--kommune: site %.7s is the helseforetak party already; a "
				       "party has one role",
				       hf);
		for (k = 0; k < i; k++)
			if (strcmp(s->kommuner[i], s->kommuner[k]) == 0)
				return lm_errf(err, "--kommune: site %.7s is given twice",
					       s->kommuner[i]);
		me_party |= strcmp(s->kommuner[i], me) == 0;
	}
	if (!me_party)
		return lm_errf(err,
			       "--kommune: this site must be a party to the agreement it creates; "
			       "add --kommune %s",
			       me);
	return 0;
}

static int check_spec(const struct agreement_spec *s, const char **status, lm_err *err)
{
	size_t i, k;

	if (dom_check_text("--title", s->title ? s->title : "", DOM_TEXT_SHORT, 0, 1, err) != 0 ||
	    check_period(s->from, s->to, err) != 0)
		return -1;
	*status = dom_enum_parse(&dom_agreement_status, "--status",
				 s->status ? s->status : "under-forhandling", err);
	if (*status == NULL)
		return -1;
	for (i = 0; i < s->nparts; i++) {
		if (s->parts[i].number < 1 || s->parts[i].number > AGREEMENT_PARTS_MAX)
			return lm_errf(err, "--part: %d is not a delavtale number (1 to 99)",
				       s->parts[i].number);
		if (dom_check_text("--part", s->parts[i].title, DOM_TEXT_SHORT, 0, 0, err) != 0)
			return -1;
		for (k = 0; k < i; k++)
			if (s->parts[k].number == s->parts[i].number)
				return lm_errf(err, "--part: delavtale %d is given twice",
					       s->parts[i].number);
	}
	return 0;
}

/* ---- writes ---- */

static void bind_opt(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s == NULL || s[0] == '\0')
		sqlite3_bind_null(stmt, i);
	else
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
}

static int write_party(struct store *st, const char *id, const char *org, const char *role,
		       lm_err *err)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st,
			  "INSERT INTO lm_agreement_party(agreement, org, scope, role) VALUES (?1, "
			  "?2, ?1, ?3) ON CONFLICT (agreement, org) DO UPDATE SET role = ?3 WHERE "
			  "role IS NOT ?3",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, role, -1, SQLITE_STATIC);
	return agreement_step(st, stmt, id, "writing the agreement's party", err);
}

static int write_part(struct store *st, const char *id, const struct agreement_part *p,
		      const char *status, const char *now, lm_err *err)
{
	sqlite3_stmt *stmt;

	if (store_prepare(st,
			  "INSERT INTO lm_agreement_part(agreement, number, scope, title, status, "
			  "updated_at) VALUES (?1, ?2, ?1, ?3, ?4, ?5)",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, p->number);
	sqlite3_bind_text(stmt, 3, p->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, now, -1, SQLITE_STATIC);
	return agreement_step(st, stmt, id, "writing the delavtale", err);
}

static int grant(struct store *st, const char *id, const char *site, enum member_role role,
		 lm_err *err)
{
	uint8_t key[SITEID_KEY_LEN];

	if (siteid_parse(site, key, err) != 0)
		return -1;
	return member_set(st, id, key, role, err) < 0 ? -1 : 0;
}

static int write_rows(struct store *st, const char *id, const struct agreement_spec *s,
		      const char *hf, const char *status, lm_err *err)
{
	sqlite3_stmt *stmt;
	char now[32];
	size_t i;
	int rc;

	dom_now(now);
	if (agreement_begin(st, err) != 0)
		return -1;
	rc = store_prepare(st,
			   "INSERT INTO lm_agreement(id, scope, title, hf, period_from, period_to, "
			   "status, next_review, updated_at) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, "
			   "?8)",
			   &stmt, err);
	if (rc == 0) {
		sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, s->title, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, hf, -1, SQLITE_STATIC);
		bind_opt(stmt, 4, s->from);
		bind_opt(stmt, 5, s->to);
		sqlite3_bind_text(stmt, 6, status, -1, SQLITE_STATIC);
		bind_opt(stmt, 7, s->next_review);
		sqlite3_bind_text(stmt, 8, now, -1, SQLITE_STATIC);
		rc = agreement_step(st, stmt, id, "writing the agreement", err);
	}
	if (rc == 0)
		rc = write_party(st, id, hf, "helseforetak", err);
	for (i = 0; rc == 0 && i < s->nkommuner; i++)
		rc = write_party(st, id, s->kommuner[i], "kommune", err);
	for (i = 0; rc == 0 && i < s->nparts; i++)
		rc = write_part(st, id, &s->parts[i], status, now, err);
	if (rc != 0)
		return agreement_rollback(st);
	return agreement_commit(st, err);
}

int agreement_create(struct store *st, const char *name, const struct agreement_spec *given,
		     char *id, size_t cap, lm_err *err)
{
	struct agreement_spec spec = *given, *s = &spec;
	struct agreement have;
	struct dates d;
	const char *status;
	char me[65], hf[65];
	size_t i;
	int rc;

	if (dates_parse(&spec.from, &spec.to, &spec.next_review, &d, err) != 0 ||
	    check_spec(s, &status, err) != 0 || domain_site_hex(st, me, err) != 0 ||
	    check_parties(st, s, me, hf, err) != 0)
		return -1;
	if (member_scope_make(st, name, id, cap, err) != 0)
		return lm_err_wrap(err, "NAME");
	rc = agreement_get(st, id, &have, err);
	if (rc != 0)
		return rc < 0 ? -1
			      : lm_errf(err, "agreement %s exists already; `lmsync agreement show %s`",
					id, name);
	/* The grants first: they are what the parties' sites need to receive
	 * the rows, and a retry after a failure finds them in place. */
	if (strcmp(hf, me) != 0 && grant(st, id, hf, ROLE_MEMBER, err) != 0)
		return -1;
	for (i = 0; i < s->nkommuner; i++)
		if (strcmp(s->kommuner[i], me) != 0 &&
		    grant(st, id, s->kommuner[i], ROLE_MEMBER, err) != 0)
			return -1;
	if (dom_grant_hubs(st, id, err) != 0)
		return -1;
	return write_rows(st, id, s, hf, status, err);
}

/* ---- changes ---- */

int agreement_need(struct store *st, const char *id, struct agreement *out, lm_err *err)
{
	struct agreement a;
	int rc = agreement_get(st, id, out ? out : &a, err);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return lm_errf(err,
			       "no agreement '%s' here; `lmsync agreement list` shows the agreements "
			       "this site is party to",
			       id);
	return 0;
}

int agreement_update(struct store *st, const char *id, const struct agreement_change *given,
		     lm_err *err)
{
	struct agreement_change change = *given, *c = &change;
	struct agreement a;
	struct dates d;
	const char *status = NULL;
	sqlite3_stmt *stmt;
	char now[32];

	if (dates_parse(&change.from, &change.to, &change.next_review, &d, err) != 0)
		return -1;
	if (c->status && (status = dom_enum_parse(&dom_agreement_status, "--status", c->status,
						  err)) == NULL)
		return -1;
	if (agreement_need(st, id, &a, err) != 0 ||
	    check_period(c->from ? c->from : a.from, c->to ? c->to : a.to, err) != 0 ||
	    agreement_need_role(st, id, ROLE_MEMBER, err) != 0)
		return -1;
	dom_now(now);
	/* Only the columns given are written, so the other party's concurrent
	 * change of another field is no conflict. */
	if (store_prepare(st,
			  "UPDATE lm_agreement SET status = coalesce(?2, status), next_review = "
			  "CASE WHEN ?3 IS NULL THEN next_review ELSE nullif(?3, '') END, "
			  "period_from = CASE WHEN ?4 IS NULL THEN period_from ELSE nullif(?4, '') "
			  "END, period_to = CASE WHEN ?5 IS NULL THEN period_to ELSE nullif(?5, '') "
			  "END, updated_at = ?6 WHERE id = ?1",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	if (status)
		sqlite3_bind_text(stmt, 2, status, -1, SQLITE_STATIC);
	if (c->next_review)
		sqlite3_bind_text(stmt, 3, c->next_review, -1, SQLITE_STATIC);
	if (c->from)
		sqlite3_bind_text(stmt, 4, c->from, -1, SQLITE_STATIC);
	if (c->to)
		sqlite3_bind_text(stmt, 5, c->to, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, now, -1, SQLITE_STATIC);
	return agreement_step(st, stmt, id, "updating the agreement", err);
}

int agreement_part_set_status(struct store *st, const char *id, int number, const char *status,
			      lm_err *err)
{
	struct agreement a;
	const char *s = dom_enum_parse(&dom_agreement_status, "--part-status", status, err);
	sqlite3_stmt *stmt;
	char now[32];

	if (s == NULL)
		return -1;
	if (number < 1 || number > AGREEMENT_PARTS_MAX)
		return lm_errf(err, "--part: %d is not a delavtale number (1 to 99)", number);
	if (agreement_need(st, id, &a, err) != 0 ||
	    agreement_need_role(st, id, ROLE_MEMBER, err) != 0)
		return -1;
	dom_now(now);
	if (store_prepare(st,
			  "UPDATE lm_agreement_part SET status = ?3, updated_at = ?4 WHERE "
			  "agreement = ?1 AND number = ?2",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, number);
	sqlite3_bind_text(stmt, 3, s, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, now, -1, SQLITE_STATIC);
	if (agreement_step(st, stmt, id, "updating the delavtale", err) != 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return lm_errf(err,
			       "--part: agreement %s has no delavtale %d; `lmsync agreement show` "
			       "lists its delavtaler",
			       id, number);
	return 0;
}

int agreement_party_add(struct store *st, const char *id, const char *site, const char *role,
			lm_err *err)
{
	struct agreement a;
	const char *r = dom_enum_parse(&dom_party_role, "--role", role, err);
	uint8_t key[SITEID_KEY_LEN];
	char me[65];
	int changed;

	if (r == NULL || check_site("SITE", site, err) != 0)
		return -1;
	if (strcmp(r, "helseforetak") == 0)
		return lm_errf(err, "--role: an agreement has one helseforetak party, named when it "
				    "is created; use kommune or observatør");
	if (agreement_need(st, id, &a, err) != 0 ||
	    agreement_need_role(st, id, ROLE_ADMIN, err) != 0 || domain_site_hex(st, me, err) != 0)
		return -1;
	if (strcmp(site, a.hf) == 0)
		return lm_errf(err, "SITE: %.7s is the agreement's helseforetak party", site);
	if (strcmp(site, me) == 0)
		return lm_errf(err, "SITE: this site created the agreement and is its party "
				    "already; its role cannot change");
	if (siteid_parse(site, key, err) != 0)
		return -1;
	/* The grant first, as at creation: what the new party needs to receive
	 * the agreement, including the rows written before it joined. */
	changed = member_set(st, id, key, strcmp(r, "kommune") == 0 ? ROLE_MEMBER : ROLE_READER,
			     err);
	if (changed < 0)
		return -1;
	if (write_party(st, id, site, r, err) != 0)
		return -1;
	return changed || sqlite3_changes(st->db) > 0;
}
