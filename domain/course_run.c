/* SPDX-License-Identifier: MIT */
/* Runs of a course (gjennomføringer): when it was held and the counts that
 * report it. Only counts: who took part stays at the site that ran it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/course.h"
#include "domain/schema.h"

const struct dom_col run_cols[RC_NCOLS] = {
    {"owner", "owner", NULL, COL_TEXT},
    {"id", "id", NULL, COL_TEXT},
    {"network", "scope", NULL, COL_TEXT},
    {"course", "course", NULL, COL_TEXT},
    {"starts", "starts", "--starts", COL_NULLABLE},
    {"ends", "ends", "--ends", COL_NULLABLE},
    {"held", "held", "--held", COL_BOOL},
    {"sessions_held", "sessions_held", "--sessions-held", COL_INT},
    {"patients", "patients", "--patients", COL_INT},
    {"relatives", "relatives", "--relatives", COL_INT},
    {"professional_hours", "professional_hours", "--professional-hours", COL_HOURS},
    {"user_rep_hours", "user_rep_hours", "--user-rep-hours", COL_HOURS},
    {"forms", "forms", "--forms", COL_INT},
    {"benefit_none", "benefit_none", "--benefit-none", COL_INT},
    {"benefit_some", "benefit_some", "--benefit-some", COL_INT},
    {"benefit_good", "benefit_good", "--benefit-good", COL_INT},
    {"benefit_very_good", "benefit_very_good", "--benefit-very-good", COL_INT},
    {"updated_at", "updated_at", NULL, COL_TEXT},
};

void course_run_free(struct course_run *r)
{
	int i;

	for (i = 0; i < RC_NCOLS; i++) {
		free(r->v[i]);
		r->v[i] = NULL;
	}
}

static void report(dom_err_fn fn, void *ctx, int col, int *n, const lm_err *err)
{
	(*n)++;
	fn(ctx, col, err->msg);
}

int course_run_check(const struct run_input *in, struct course_run *r, dom_err_fn fn, void *ctx)
{
	const char *opt;
	char buf[32];
	long l, sum = 0;
	double h;
	int col, b, n = 0, fresh = r->v[RC_HELD] == NULL;
	lm_err err;

	if (fresh)
		for (col = RC_HELD; col < RC_UPDATED_AT; col++)
			if (dom_set(&r->v[col], "0") != 0)
				report(fn, ctx, col, &n, &(lm_err){"out of memory"});
	for (col = RC_STARTS; col < RC_UPDATED_AT; col++) {
		const char *s = in->v[col], *v = s;
		int rc = 0;

		if (s == NULL)
			continue;
		opt = run_cols[col].opt;
		switch (run_cols[col].type) {
		case COL_INT:
			rc = dom_parse_int(opt, s, 0, col == RC_SESSIONS_HELD ? 1000 : 100000, &l,
					   &err);
			snprintf(buf, sizeof(buf), "%ld", rc == 0 ? l : 0);
			v = buf;
			break;
		case COL_HOURS:
			rc = dom_parse_hours(opt, s, 100000, &h, &err);
			snprintf(buf, sizeof(buf), "%.2f", rc == 0 ? h : 0);
			v = buf;
			break;
		case COL_BOOL:
			rc = dom_parse_bool(opt, s, &b, &err);
			v = b ? "1" : "0";
			break;
		default: /* the dates, kept as YYYY-MM-DD */
			rc = s[0] ? dom_parse_date(opt, s, buf, &err) : 0;
			v = s[0] ? buf : NULL;
			break;
		}
		if (rc != 0)
			report(fn, ctx, col, &n, &err);
		else if (dom_set(&r->v[col], v) != 0)
			report(fn, ctx, col, &n, &(lm_err){"out of memory"});
	}
	if (fresh && in->v[RC_STARTS] == NULL) {
		lm_errf(&err, "--starts: must be given: the day the run begins (YYYY-MM-DD)");
		report(fn, ctx, RC_STARTS, &n, &err);
	}
	if (n > 0)
		return n;
	if (r->v[RC_STARTS] && r->v[RC_ENDS] && strcmp(r->v[RC_ENDS], r->v[RC_STARTS]) < 0) {
		lm_errf(&err, "--ends: %s is before the start, %s", r->v[RC_ENDS],
			r->v[RC_STARTS]);
		report(fn, ctx, RC_ENDS, &n, &err);
	}
	for (col = RC_BENEFIT_NONE; col <= RC_BENEFIT_VERY_GOOD; col++)
		sum += strtol(r->v[col], NULL, 10);
	if (sum > strtol(r->v[RC_FORMS], NULL, 10)) {
		lm_errf(&err,
			"--forms: the answers on benefit (--benefit-none, -some, -good, "
			"-very-good) add up to %ld, more than the %s evaluation forms returned; "
			"every form gives one answer at most",
			sum, r->v[RC_FORMS]);
		report(fn, ctx, RC_FORMS, &n, &err);
	}
	return n;
}

static int failed(dom_err_fn fn, void *ctx, const lm_err *err)
{
	fn(ctx, -1, err->msg);
	return 1;
}

static int put_run(struct store *st, struct course_run *r, dom_err_fn fn, void *ctx)
{
	char now[32];
	lm_err err;

	dom_now(now);
	if (dom_set(&r->v[RC_UPDATED_AT], now) != 0)
		return failed(fn, ctx, &(lm_err){"out of memory"});
	if (dom_row_put(st, "lm_course_run", run_cols, RC_NCOLS, r->v, &err) != 0)
		return failed(fn, ctx, &err);
	return 0;
}

int course_run_add(struct store *st, const char *course, const struct run_input *in,
		   char id[COURSE_ID_LEN + 1], dom_err_fn fn, void *ctx)
{
	struct course c = {{NULL}};
	struct course_run r = {{NULL}};
	char me[65];
	lm_err err;
	int n;

	if (course_find(st, course, &c, &err) != 1 || domain_site_hex(st, me, &err) != 0)
		return failed(fn, ctx, &err);
	if (strcmp(c.v[CC_OWNER], me) != 0) {
		dom_not_owner(st, c.v[CC_OWNER], "course", &err);
		lm_err_wrap(&err, "adding a run");
		course_free(&c);
		return failed(fn, ctx, &err);
	}
	dom_new_id(id);
	n = course_run_check(in, &r, fn, ctx);
	if (n == 0 && (dom_set(&r.v[RC_OWNER], me) != 0 || dom_set(&r.v[RC_ID], id) != 0 ||
		       dom_set(&r.v[RC_NETWORK], c.v[CC_NETWORK]) != 0 ||
		       dom_set(&r.v[RC_COURSE], c.v[CC_ID]) != 0))
		n = failed(fn, ctx, &(lm_err){"out of memory"});
	if (n == 0)
		n = put_run(st, &r, fn, ctx);
	course_free(&c);
	course_run_free(&r);
	return n;
}

int course_run_find(struct store *st, const char *arg, struct course_run *r, lm_err *err)
{
	char owner[65], id[COURSE_ID_LEN + 1];
	int rc = dom_row_find(st, "lm_course_run", "run", arg, owner, id, err);

	if (rc != 1)
		return -1;
	rc = dom_row_get(st, "lm_course_run", run_cols, RC_NCOLS, owner, id, r->v, err);
	if (rc == 0)
		return lm_errf(err, "run %s went away while it was read", id);
	return rc;
}

int course_run_update(struct store *st, const char *arg, const struct run_input *in,
		      dom_err_fn fn, void *ctx)
{
	struct course_run r = {{NULL}};
	char me[65];
	lm_err err;
	int n;

	if (course_run_find(st, arg, &r, &err) != 1 || domain_site_hex(st, me, &err) != 0) {
		course_run_free(&r);
		return failed(fn, ctx, &err);
	}
	if (strcmp(r.v[RC_OWNER], me) != 0) {
		dom_not_owner(st, r.v[RC_OWNER], "run", &err);
		course_run_free(&r);
		return failed(fn, ctx, &err);
	}
	n = course_run_check(in, &r, fn, ctx);
	if (n == 0)
		n = put_run(st, &r, fn, ctx);
	course_run_free(&r);
	return n;
}

int course_run_list(struct store *st, const char *owner, const char *course, course_run_cb cb,
		    void *ctx, lm_err *err)
{
	char cols[1024], sql[1400];
	struct course_run r = {{NULL}};
	sqlite3_stmt *stmt;
	int rc;

	dom_cols_sql(run_cols, RC_NCOLS, "", cols, sizeof(cols));
	snprintf(sql, sizeof(sql),
		 "SELECT %s FROM lm_course_run WHERE ?1 IS NULL OR (owner = ?1 AND course = ?2) "
		 "ORDER BY starts IS NULL, starts, id",
		 cols);
	if (store_prepare(st, sql, &stmt, err) != 0)
		return -1;
	if (owner != NULL) {
		sqlite3_bind_text(stmt, 1, owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, course, -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (dom_row_read(stmt, 0, RC_NCOLS, r.v) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (cb(&r, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	course_run_free(&r);
	if (rc != SQLITE_DONE)
		lm_errf(err, "%s: reading runs: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}
