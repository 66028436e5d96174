/* SPDX-License-Identifier: MIT */
#include "domain/report.h"
#include "domain/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/org.h"
#include "domain/schema.h"

static const char *const by_names[] = {"", "org", "kind", "target", "diagnosis", "municipality"};

/* The group of a run, by its course (c). */
static const char *const by_sql[] = {
    "''", "c.owner", "c.kind", "c.target", "COALESCE(c.diagnosis, '')", "c.municipality",
};

int rep_by_parse(const char *field, const char *s, enum rep_by *by, lm_err *err)
{
	int i;

	for (i = REP_BY_ORG; i <= REP_BY_MUNICIPALITY; i++)
		if (strcmp(s, by_names[i]) == 0) {
			*by = (enum rep_by)i;
			return 0;
		}
	return lm_errf(err, "%s: '%s' is no grouping; use org, kind, target, diagnosis or "
			    "municipality",
		       field, s);
}

const char *rep_by_name(enum rep_by by)
{
	return by_names[by];
}

long rep_percent(long a, long b)
{
	return b > 0 ? (200 * a + b) / (2 * b) : 0;
}

/* Runs held in [?2, ?3] of courses published to ?1 and not archived. The
 * hours are summed in hundredths, so every site gets the same sum whatever
 * order its rows are in. */
static const char activity_sql[] =
    "SELECT %s AS g, count(DISTINCT c.owner || ':' || c.id), count(*),\n"
    "  total(r.sessions_held), total(c.user_reps > 0),\n"
    "  count(DISTINCT CASE WHEN c.standard_metode = 1 THEN c.owner || ':' || c.id END),\n"
    "  total(CAST(round(r.professional_hours * 100) AS INTEGER)),\n"
    "  total(CAST(round(r.user_rep_hours * 100) AS INTEGER)),\n"
    "  total(r.patients), total(r.relatives), total(r.patients + r.relatives),\n"
    "  total(r.forms), total(r.benefit_none), total(r.benefit_some), total(r.benefit_good),\n"
    "  total(r.benefit_very_good)\n"
    "FROM lm_course_run r JOIN lm_course c ON c.owner = r.owner AND c.id = r.course\n"
    "WHERE c.scope = ?1 AND c.archived = 0 AND r.held = 1 AND r.starts BETWEEN ?2 AND ?3\n"
    "%s";

static void read_row(sqlite3_stmt *stmt, struct rep_row *row)
{
	int k;

	memset(row, 0, sizeof(*row));
	dom_col_text(stmt, 0, row->key, sizeof(row->key));
	row->courses = sqlite3_column_int(stmt, 1);
	row->runs = sqlite3_column_int(stmt, 2);
	row->sessions = (long)sqlite3_column_int64(stmt, 3);
	row->user_rep_runs = (long)sqlite3_column_int64(stmt, 4);
	row->std_courses = sqlite3_column_int(stmt, 5);
	row->prof_centi = sqlite3_column_int64(stmt, 6);
	row->user_rep_centi = sqlite3_column_int64(stmt, 7);
	for (k = 0; k < REP_NPERSON; k++)
		row->person[k] = (long)sqlite3_column_int64(stmt, 8 + k);
}

static void label_row(struct store *st, enum rep_by by, struct rep_row *row)
{
	if (by == REP_BY_ORG)
		org_name(st, row->key, row->label, sizeof(row->label));
	else if (by == REP_BY_DIAGNOSIS && row->key[0] == '\0')
		snprintf(row->label, sizeof(row->label), "%s", REP_NO_DIAGNOSIS);
	else if (row->key[0] == '\0')
		snprintf(row->label, sizeof(row->label), "%s", REP_NO_MUNICIPALITY);
	else
		snprintf(row->label, sizeof(row->label), "%s", row->key);
}

static int by_label(const void *a, const void *b)
{
	const struct rep_row *x = a, *y = b;
	int c = strcmp(x->label, y->label);

	return c != 0 ? c : strcmp(x->key, y->key);
}

static int query(struct store *st, enum rep_by by, const char *network, const char *from,
		 const char *to, struct rep_activity *a, lm_err *err)
{
	char sql[sizeof(activity_sql) + 64];
	sqlite3_stmt *stmt;
	struct rep_row *rows;
	int rc, cap = 0;

	snprintf(sql, sizeof(sql), activity_sql, by_sql[by], by == REP_BY_NONE ? "" : "GROUP BY g");
	if (store_prepare(st, sql, &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, to, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (by == REP_BY_NONE) {
			read_row(stmt, &a->total);
			snprintf(a->total.label, sizeof(a->total.label), "total");
			continue;
		}
		rows = dom_grow(a->rows, &cap, a->n, sizeof(*rows));
		if (rows == NULL) {
			sqlite3_finalize(stmt);
			return lm_errf(err, "out of memory for the report");
		}
		a->rows = rows;
		read_row(stmt, &a->rows[a->n]);
		label_row(st, by, &a->rows[a->n]);
		a->n++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading courses and runs: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

/* Mark the person counts of the groups and the total (domain/suppress.h). */
static int suppress(struct rep_activity *a, lm_err *err)
{
	static const int block[REP_NPERSON] = {0, 0, 0, 1, 1, 1, 1, 1};
	static const unsigned char opaque[REP_NPERSON] = {0, 0, 1, 1, 0, 0, 0, 0};
	size_t cells = (size_t)(a->n + 1) * REP_NPERSON;
	long *v = malloc(cells * sizeof(*v));
	enum sup_mark *m = malloc(cells * sizeof(*m));
	struct sup_table t = {a->n, REP_NPERSON, v, block, opaque, m};
	int r, k, rc = -1, oom;

	if (v != NULL && m != NULL) {
		for (r = 0; r <= a->n; r++)
			for (k = 0; k < REP_NPERSON; k++)
				v[r * REP_NPERSON + k] =
				    (r < a->n ? &a->rows[r] : &a->total)->person[k];
		rc = sup_apply(&t);
		for (r = 0; rc == 0 && r <= a->n; r++)
			for (k = 0; k < REP_NPERSON; k++)
				(r < a->n ? &a->rows[r] : &a->total)->mark[k] =
				    m[r * REP_NPERSON + k];
	}
	oom = v == NULL || m == NULL;
	free(v);
	free(m);
	if (oom)
		return lm_errf(err, "out of memory hiding the report's small numbers");
	if (rc != 0)
		return lm_errf(err, "the report's totals do not add up; the store changed while "
				    "it was read? Run it again");
	return 0;
}

int rep_activity(struct store *st, const char *network, const char *from, const char *to,
		 enum rep_by by, struct rep_activity *out, lm_err *err)
{
	memset(out, 0, sizeof(*out));
	out->by = by;
	if (strcmp(from, to) > 0)
		return lm_errf(err, "--from %s is after --to %s", from, to);
	/* One read transaction, so the groups and the total see the same rows. */
	if (store_exec(st, "BEGIN", err) != 0)
		return -1;
	if (query(st, by, network, from, to, out, err) != 0 ||
	    (by != REP_BY_NONE && query(st, REP_BY_NONE, network, from, to, out, err) != 0)) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		rep_activity_free(out);
		return -1;
	}
	if (store_exec(st, "COMMIT", err) != 0) {
		rep_activity_free(out);
		return -1;
	}
	snprintf(out->total.label, sizeof(out->total.label), "total");
	if (out->n > 1)
		qsort(out->rows, (size_t)out->n, sizeof(*out->rows), by_label);
	if (suppress(out, err) != 0) {
		rep_activity_free(out);
		return -1;
	}
	return 0;
}

void rep_activity_free(struct rep_activity *a)
{
	free(a->rows);
	a->rows = NULL;
	a->n = 0;
}

static int by_member(const void *a, const void *b)
{
	const struct rep_member *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->org, y->org);
}

int rep_completeness(struct store *st, const char *network, const char *period,
		     struct rep_member **out, int *n, lm_err *err)
{
	char from[11], to[11];
	struct rep_member *list = NULL, *grown;
	sqlite3_stmt *stmt;
	int rc, cap = 0;

	*out = NULL, *n = 0;
	if (dom_period_parse("--period", period, from, to, err) != 0)
		return -1;
	if (store_prepare(st,
			  "SELECT m.org, m.role, rc.closed_at FROM lm_network_member m LEFT JOIN "
			  "lm_report_close rc ON rc.owner = m.org AND rc.network = m.network AND "
			  "rc.period = ?2 WHERE m.network = ?1",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, period, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct rep_member *m;

		if ((grown = dom_grow(list, &cap, *n, sizeof(*list))) == NULL)
			break;
		list = grown;
		m = &list[(*n)++];
		memset(m, 0, sizeof(*m));
		dom_col_text(stmt, 0, m->org, sizeof(m->org));
		dom_col_text(stmt, 1, m->role, sizeof(m->role));
		m->closed = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
		dom_col_text(stmt, 2, m->closed_at, sizeof(m->closed_at));
		org_name(st, m->org, m->name, sizeof(m->name));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(list);
		*n = 0;
		if (rc == SQLITE_ROW)
			return lm_errf(err, "out of memory for the member list");
		return lm_errf(err, "%s: reading the network's members: %s", st->path,
			       sqlite3_errmsg(st->db));
	}
	if (*n > 1)
		qsort(list, (size_t)*n, sizeof(*list), by_member);
	*out = list;
	return 0;
}

/* 1 and closed_at filled when this site closed period already. */
static int closed_already(struct store *st, const char *me, const char *network,
			  const char *period, char *closed_at, size_t cap, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st,
			  "SELECT closed_at FROM lm_report_close WHERE owner = ?1 AND network = ?2 "
			  "AND period = ?3",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, me, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, period, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		dom_col_text(stmt, 0, closed_at, cap);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading report closings: %s", st->path,
			       sqlite3_errmsg(st->db));
	return rc == SQLITE_ROW;
}

static int is_member(struct store *st, const char *me, const char *network, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st, "SELECT 1 FROM lm_network_member WHERE network = ?1 AND org = ?2",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, me, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the network's members: %s", st->path,
			       sqlite3_errmsg(st->db));
	return rc == SQLITE_ROW;
}

int rep_close(struct store *st, const char *network, const char *period, const char *now,
	      char *closed_at, size_t cap, lm_err *err)
{
	char me[65], from[11], to[11];
	sqlite3_stmt *stmt;
	int rc;

	closed_at[0] = '\0';
	if (dom_period_parse("--period", period, from, to, err) != 0)
		return -1;
	if (strncmp(from, now, 10) > 0)
		return lm_errf(err, "--period: %s has not begun yet (it begins %s); close it once "
				    "its reporting is done",
			       period, from);
	if (domain_site_hex(st, me, err) != 0)
		return -1;
	rc = is_member(st, me, network, err);
	if (rc <= 0)
		return rc < 0 ? -1
			      : lm_errf(err,
					"this site is no member of network %s, so it has no "
					"reporting to close there; `lmsync report completeness "
					"--network %s --period %s` shows its members",
					network, network, period);
	if (store_exec(st, "BEGIN IMMEDIATE", err) != 0)
		return -1;
	rc = closed_already(st, me, network, period, closed_at, cap, err);
	if (rc == 1) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return 0;
	}
	if (rc == 0 &&
	    store_prepare(st,
			  "INSERT INTO lm_report_close(owner, network, period, scope, closed_at) "
			  "VALUES (?1, ?2, ?3, ?2, ?4)",
			  &stmt, err) == 0) {
		sqlite3_bind_text(stmt, 1, me, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, network, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, period, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 4, now, -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = lm_errf(err, "closing %s in %s was refused: %s", period, network,
				     sqlite3_errmsg(st->db));
		else
			rc = 1;
		sqlite3_finalize(stmt);
		if (rc == 1)
			snprintf(closed_at, cap, "%s", now);
	} else if (rc == 0) {
		rc = -1;
	}
	if (rc < 0 || store_exec(st, "COMMIT", err) != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return rc;
}

static int by_pair(const void *a, const void *b)
{
	const struct rep_pair *x = a, *y = b;
	int c = strcmp(x->hf_name, y->hf_name);

	if (c == 0)
		c = strcmp(x->hf, y->hf);
	if (c == 0)
		c = strcmp(x->kommune_name, y->kommune_name);
	return c != 0 ? c : strcmp(x->kommune, y->kommune);
}

static void pair_name(struct store *st, const char *site, const char *none, char *out,
		      size_t cap)
{
	if (site[0] == '\0')
		snprintf(out, cap, "%s", none);
	else
		org_name(st, site, out, cap);
}

int rep_agreements(struct store *st, const char *date, struct rep_pair **out, int *n,
		   lm_err *err)
{
	struct rep_pair *list = NULL, *grown;
	sqlite3_stmt *stmt;
	int rc, cap = 0;

	*out = NULL, *n = 0;
	/* An item's status '' (a partial row) is not done: it counts as open. */
	if (store_prepare(st,
			  "WITH pairs AS (SELECT a.id AS agreement, COALESCE(a.hf, '') AS hf,\n"
			  "  COALESCE(p.org, '') AS kommune FROM lm_agreement a LEFT JOIN\n"
			  "  lm_agreement_party p ON p.agreement = a.id AND p.role = 'kommune')\n"
			  "SELECT pr.hf, pr.kommune, count(DISTINCT pr.agreement),\n"
			  "  total(i.status IN ('åpen', 'pågår', '')),\n"
			  "  total(i.due IS NOT NULL AND i.due < ?1 AND i.status <> 'fullført'),\n"
			  "  total(i.status = 'avvik'), total(i.status = 'fullført')\n"
			  "FROM pairs pr LEFT JOIN lm_agreement_item i ON i.agreement = "
			  "pr.agreement\n"
			  "GROUP BY pr.hf, pr.kommune",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, date, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct rep_pair *p;

		if ((grown = dom_grow(list, &cap, *n, sizeof(*list))) == NULL)
			break;
		list = grown;
		p = &list[(*n)++];
		memset(p, 0, sizeof(*p));
		dom_col_text(stmt, 0, p->hf, sizeof(p->hf));
		dom_col_text(stmt, 1, p->kommune, sizeof(p->kommune));
		p->agreements = sqlite3_column_int(stmt, 2);
		p->open = (long)sqlite3_column_int64(stmt, 3);
		p->overdue = (long)sqlite3_column_int64(stmt, 4);
		p->deviations = (long)sqlite3_column_int64(stmt, 5);
		p->done = (long)sqlite3_column_int64(stmt, 6);
		pair_name(st, p->hf, "(no helseforetak given)", p->hf_name, sizeof(p->hf_name));
		pair_name(st, p->kommune, "(no kommune party)", p->kommune_name,
			  sizeof(p->kommune_name));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(list);
		*n = 0;
		if (rc == SQLITE_ROW)
			return lm_errf(err, "out of memory for the agreements report");
		return lm_errf(err, "%s: reading agreements: %s", st->path,
			       sqlite3_errmsg(st->db));
	}
	if (*n > 1)
		qsort(list, (size_t)*n, sizeof(*list), by_pair);
	*out = list;
	return 0;
}
