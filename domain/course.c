/* SPDX-License-Identifier: MIT */
/* Courses: the column table, the one check of a course (course_check), add,
 * edit and archive. Rows in general are course_row.c's. */
#include "domain/course.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/enums.h"
#include "domain/org.h"
#include "domain/schema.h"

const struct dom_col course_cols[CC_NCOLS] = {
    {"owner", "owner", NULL, COL_TEXT},
    {"id", "id", NULL, COL_TEXT},
    {"network", "scope", "--network", COL_TEXT},
    {"title", "title", "--title", COL_TEXT},
    {"description", "description", "--description", COL_TEXT},
    {"kind", "kind", "--kind", COL_TEXT},
    {"target", "target", "--target", COL_TEXT},
    {"age_group", "age_group", "--age-group", COL_TEXT},
    {"diagnosis", "diagnosis", "--diagnosis", COL_NULLABLE},
    {"standard_metode", "standard_metode", "--standard-metode", COL_BOOL},
    {"user_reps", "user_reps", "--user-reps", COL_INT},
    {"co_organisers", "co_organisers", "--co-organisers", COL_TEXT},
    {"sessions", "sessions", "--sessions", COL_INT},
    {"session_minutes", "session_minutes", "--session-minutes", COL_INT},
    {"capacity", "capacity", "--capacity", COL_INT},
    {"delivery", "delivery", "--delivery", COL_TEXT},
    {"venue", "venue", "--venue", COL_TEXT},
    {"municipality", "municipality", "--municipality", COL_TEXT},
    {"language", "language", "--language", COL_TEXT},
    {"price", "price", "--price", COL_INT},
    {"registration", "registration", "--registration", COL_TEXT},
    {"status", "status", "--status", COL_TEXT},
    {"starts", "starts", "--starts", COL_NULLABLE},
    {"ends", "ends", "--ends", COL_NULLABLE},
    {"archived", "archived", NULL, COL_BOOL},
    {"updated_at", "updated_at", NULL, COL_TEXT},
};

/* What a new course is unless told otherwise. */
static const char *const course_defaults[CC_NCOLS] = {
    [CC_TITLE] = "",
    [CC_DESCRIPTION] = "",
    [CC_KIND] = "",
    [CC_TARGET] = "",
    [CC_AGE_GROUP] = "alle",
    [CC_STANDARD_METODE] = "0",
    [CC_USER_REPS] = "0",
    [CC_CO_ORGANISERS] = "",
    [CC_SESSIONS] = "0",
    [CC_SESSION_MINUTES] = "0",
    [CC_CAPACITY] = "0",
    [CC_DELIVERY] = "fysisk",
    [CC_VENUE] = "",
    [CC_MUNICIPALITY] = "",
    [CC_LANGUAGE] = "norsk",
    [CC_PRICE] = "0",
    [CC_REGISTRATION] = "",
    [CC_STATUS] = "planlagt",
    [CC_ARCHIVED] = "0",
    [CC_UPDATED_AT] = "",
};

/* The upper bounds of the counts (the store allows up to a million). */
static long count_max(int col)
{
	switch (col) {
	case CC_USER_REPS:
	case CC_SESSIONS:
		return 1000;
	case CC_SESSION_MINUTES:
		return 1440; /* one day */
	case CC_CAPACITY:
		return 100000;
	default:
		return 1000000;
	}
}

int course_bool(const char *v)
{
	return v != NULL && strcmp(v, "1") == 0;
}

void course_free(struct course *c)
{
	int i;

	for (i = 0; i < CC_NCOLS; i++) {
		free(c->v[i]);
		c->v[i] = NULL;
	}
}

/* ---- the check ---- */

struct chk {
	struct store *st;
	enum dom_names names;
	dom_err_fn fn;
	void *ctx;
	int n;
};

static const char *fname(const struct chk *k, int col)
{
	return k->names == NAMES_OPTIONS && course_cols[col].opt ? course_cols[col].opt
								 : course_cols[col].name;
}

static void bad(struct chk *k, int col, const lm_err *e)
{
	k->n++;
	k->fn(k->ctx, col, e->msg);
}

static void badf(struct chk *k, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void badf(struct chk *k, int col, const char *fmt, ...)
{
	lm_err e;
	va_list ap;
	int w;

	w = snprintf(e.msg, sizeof(e.msg), "%s: ", fname(k, col));
	va_start(ap, fmt);
	vsnprintf(e.msg + w, sizeof(e.msg) - (size_t)w, fmt, ap);
	va_end(ap);
	bad(k, col, &e);
}

static void put(struct chk *k, struct course *c, int col, const char *v)
{
	if (dom_set(&c->v[col], v) != 0)
		badf(k, col, "out of memory");
}

static const struct dom_enum *course_enum(int col)
{
	switch (col) {
	case CC_KIND:
		return &dom_course_kind;
	case CC_TARGET:
		return &dom_target_group;
	case CC_AGE_GROUP:
		return &dom_age_group;
	case CC_DELIVERY:
		return &dom_delivery;
	case CC_STATUS:
		return &dom_course_status;
	default:
		return NULL;
	}
}

/* 1 when s is a time as dom_now writes it. */
static int is_stamp(const char *s)
{
	static const char form[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (strlen(s) != sizeof(form) - 1)
		return 0;
	for (i = 0; form[i]; i++)
		if (form[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != form[i])
			return 0;
	return 1;
}

/* One given value of column col into c: the value to keep into *out, or
 * -1 after reporting what is wrong. */
static int parse_one(struct chk *k, struct course *c, int col, const char *s, const char *me,
		     char *buf, size_t cap, const char **out)
{
	const struct dom_enum *e = course_enum(col);
	const char *f = fname(k, col);
	char name[DOM_TEXT_SHORT + 1];
	long l;
	int b = 0, rc = 0;
	lm_err err;

	*out = s;
	if (e != NULL) {
		*out = dom_enum_parse(e, f, s, &err);
		rc = *out == NULL ? -1 : 0;
	} else if (course_cols[col].type == COL_INT) {
		rc = dom_parse_int(f, s, 0, count_max(col), &l, &err);
		snprintf(buf, cap, "%ld", rc == 0 ? l : 0);
		*out = buf;
	} else if (course_cols[col].type == COL_BOOL) {
		rc = dom_parse_bool(f, s, &b, &err);
		*out = b ? "1" : "0";
	} else if (col == CC_OWNER) {
		*out = c->v[CC_OWNER] ? c->v[CC_OWNER] : me;
		if (s[0] != '\0' && strcmp(s, *out) != 0) {
			org_name(k->st, s, name, sizeof(name));
			rc = lm_errf(&err,
				     "%s: this course belongs to %s, not to this site; import only "
				     "this site's own courses (leave owner empty to make it one of "
				     "them)",
				     f, name);
		}
	} else if (col == CC_ID) {
		if (s[0] != '\0' && (strlen(s) != COURSE_ID_LEN || !dom_is_hex(s)))
			rc = lm_errf(&err,
				     "%s: '%s' is not a course id: 16 lowercase hex digits, or "
				     "empty for a new course",
				     f, s);
		*out = s[0] ? s : c->v[CC_ID];
	} else if (col == CC_NETWORK) {
		rc = network_resolve(k->st, s, buf, cap, &err);
		if (rc != 0)
			lm_err_wrap(&err, "%s", f);
		*out = buf;
	} else if (col == CC_DESCRIPTION || col == CC_CO_ORGANISERS) {
		rc = dom_check_text(f, s, col == CC_DESCRIPTION ? DOM_TEXT_LONG : 1000,
				    col == CC_DESCRIPTION, 0, &err);
	} else if (col == CC_REGISTRATION) {
		rc = s[0] ? dom_check_registration(f, s, &err) : 0;
	} else if (col == CC_STARTS || col == CC_ENDS) {
		/* Kept as YYYY-MM-DD, however it was written. */
		rc = s[0] ? dom_parse_date(f, s, buf, &err) : 0;
		*out = s[0] ? buf : NULL;
	} else if (col == CC_UPDATED_AT) {
		if (s[0] != '\0' && !is_stamp(s))
			rc = lm_errf(&err, "%s: '%s' is not a time; write YYYY-MM-DDTHH:MM:SSZ (UTC)",
				     f, s);
	} else {
		/* title, venue, municipality, language, diagnosis */
		rc = dom_check_text(f, s, DOM_TEXT_SHORT, 0, col == CC_TITLE || col == CC_LANGUAGE,
				    &err);
		if (col == CC_DIAGNOSIS && s[0] == '\0')
			*out = NULL;
	}
	if (rc != 0)
		bad(k, col, &err);
	return rc;
}

static void check_one(struct chk *k, struct course *c, int col, const char *s, const char *me)
{
	char buf[NETWORK_ID_MAX + 1];
	const char *v;

	if (parse_one(k, c, col, s, me, buf, sizeof(buf), &v) == 0 && v != c->v[col])
		put(k, c, col, v);
}

/* A course in the standard method with no brukerrepresentant, which the
 * method rules out. */
static int no_user_reps_in_standard(const struct course *c)
{
	return course_bool(c->v[CC_STANDARD_METODE]) && c->v[CC_USER_REPS] != NULL &&
	       strcmp(c->v[CC_USER_REPS], "0") == 0;
}

int course_check(struct store *st, const struct course_input *in, enum dom_names names,
		 struct course *c, dom_err_fn fn, void *ctx)
{
	struct chk k = {st, names, fn, ctx, 0};
	int fresh = c->v[CC_ID] == NULL, col, before, moved, stored_so;
	char me[65], id[COURSE_ID_LEN + 1], list[256];
	lm_err err;

	if (domain_site_hex(st, me, &err) != 0) {
		bad(&k, CC_OWNER, &err);
		return k.n;
	}
	stored_so = !fresh && no_user_reps_in_standard(c);
	if (fresh)
		for (col = 0; col < CC_NCOLS; col++)
			if (c->v[col] == NULL && course_defaults[col] != NULL)
				put(&k, c, col, course_defaults[col]);
	/* A course may move to another network: check the right to publish
	 * there as for a new one. */
	moved = !fresh && in->v[CC_NETWORK] != NULL;
	for (col = 0; col < CC_NCOLS; col++)
		if (in->v[col] != NULL) {
			if (col == CC_NETWORK && moved) {
				char *was = c->v[CC_NETWORK];

				c->v[CC_NETWORK] = NULL;
				check_one(&k, c, col, in->v[col], me);
				moved = c->v[CC_NETWORK] && strcmp(c->v[CC_NETWORK], was) != 0;
				if (c->v[CC_NETWORK] == NULL)
					c->v[CC_NETWORK] = was;
				else
					free(was);
				continue;
			}
			check_one(&k, c, col, in->v[col], me);
		}
	if (fresh) {
		put(&k, c, CC_OWNER, me);
		if (c->v[CC_ID] == NULL) {
			dom_new_id(id);
			put(&k, c, CC_ID, id);
		}
		if (in->v[CC_NETWORK] == NULL)
			badf(&k, CC_NETWORK, "must be given: the network to publish the course to");
		if (in->v[CC_TITLE] == NULL)
			badf(&k, CC_TITLE, "must be given");
		if (in->v[CC_KIND] == NULL) {
			dom_enum_list(&dom_course_kind, list, sizeof(list));
			badf(&k, CC_KIND, "must be given: %s", list);
		}
		if (in->v[CC_TARGET] == NULL) {
			dom_enum_list(&dom_target_group, list, sizeof(list));
			badf(&k, CC_TARGET, "must be given: %s", list);
		}
	}
	before = k.n;
	if (c->v[CC_STARTS] && c->v[CC_ENDS] && strcmp(c->v[CC_ENDS], c->v[CC_STARTS]) < 0)
		badf(&k, CC_ENDS, "%s is before the start, %s", c->v[CC_ENDS], c->v[CC_STARTS]);
	/* Judged only when one of the two is given and the pair was not so
	 * already: an edit of another field, or the import of the course's
	 * own export, never fails on a course stored before this check. */
	if ((in->v[CC_STANDARD_METODE] != NULL || in->v[CC_USER_REPS] != NULL) &&
	    no_user_reps_in_standard(c) && !stored_so)
		badf(&k, CC_USER_REPS,
		     "must be 1 or more for a course in the standard method (%s ja): it is "
		     "planned and run with brukerrepresentanter as equal partners",
		     fname(&k, CC_STANDARD_METODE));
	if ((fresh || moved) && c->v[CC_NETWORK] != NULL && before == k.n &&
	    dom_may_publish(st, c->v[CC_NETWORK], &err) != 0)
		badf(&k, CC_NETWORK, "%s", err.msg);
	return k.n;
}

/* The runs of a course, collected to be moved with it. */
struct runs {
	struct course_run *r;
	size_t n, cap;
};

static int keep_run(const struct course_run *r, void *ctx)
{
	struct runs *l = ctx;
	struct course_run *copy;
	int i;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct course_run *grown = realloc(l->r, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		l->r = grown;
		l->cap = cap;
	}
	copy = &l->r[l->n++];
	memset(copy, 0, sizeof(*copy));
	for (i = 0; i < RC_NCOLS; i++)
		if (dom_set(&copy->v[i], r->v[i]) != 0)
			return -1;
	return 0;
}

static int exec_key(struct store *st, const char *sql, const char *owner, const char *id,
		    lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st, sql, &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: moving the course: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

/* A row's scope never changes in place (the triggers refuse it): moving a
 * course to another network deletes it and its runs from the old one and
 * writes them anew in the other, under the same ids, in one savepoint. The
 * old network's sites see it go, the new one's see it come. Alone, it takes
 * the write lock first: a read that turns into a write fails at once when
 * lmsyncd has written in between. */
static int course_move(struct store *st, const struct course *c, lm_err *err)
{
	struct runs l = {NULL, 0, 0};
	int alone = sqlite3_get_autocommit(st->db), rc;
	size_t i;

	if (store_exec(st, alone ? "BEGIN IMMEDIATE" : "SAVEPOINT course_move", err) != 0)
		return -1;
	rc = course_run_list(st, c->v[CC_OWNER], c->v[CC_ID], keep_run, &l, err);
	if (rc == 0)
		rc = exec_key(st, "DELETE FROM lm_course_run WHERE owner = ?1 AND course = ?2",
			      c->v[CC_OWNER], c->v[CC_ID], err);
	if (rc == 0)
		rc = exec_key(st, "DELETE FROM lm_course WHERE owner = ?1 AND id = ?2",
			      c->v[CC_OWNER], c->v[CC_ID], err);
	if (rc == 0)
		rc = dom_row_put(st, "lm_course", course_cols, CC_NCOLS, c->v, err);
	for (i = 0; rc == 0 && i < l.n; i++) {
		rc = dom_set(&l.r[i].v[RC_NETWORK], c->v[CC_NETWORK]) != 0
			 ? lm_errf(err, "out of memory")
			 : dom_row_put(st, "lm_course_run", run_cols, RC_NCOLS, l.r[i].v, err);
	}
	for (i = 0; i < l.n; i++)
		course_run_free(&l.r[i]);
	free(l.r);
	if (rc == 0)
		rc = store_exec(st, alone ? "COMMIT" : "RELEASE course_move", err);
	if (rc == 0)
		return 0;
	sqlite3_exec(st->db, alone ? "ROLLBACK" : "ROLLBACK TO course_move; RELEASE course_move",
		     NULL, NULL, NULL);
	return -1;
}

int course_put(struct store *st, const struct course *c, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc, moved = 0;

	if (store_prepare(st, "SELECT scope IS NOT ?3 FROM lm_course WHERE owner = ?1 AND id = ?2",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, c->v[CC_OWNER], -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, c->v[CC_ID], -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, c->v[CC_NETWORK], -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		moved = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading courses: %s", st->path, sqlite3_errmsg(st->db));
	if (moved)
		return course_move(st, c, err);
	return dom_row_put(st, "lm_course", course_cols, CC_NCOLS, c->v, err);
}

int course_get(struct store *st, const char *owner, const char *id, struct course *c,
	       lm_err *err)
{
	return dom_row_get(st, "lm_course", course_cols, CC_NCOLS, owner, id, c->v, err);
}

int course_find(struct store *st, const char *arg, struct course *c, lm_err *err)
{
	char owner[65], id[COURSE_ID_LEN + 1];
	int rc = dom_row_find(st, "lm_course", "course", arg, owner, id, err);

	if (rc != 1)
		return -1;
	rc = course_get(st, owner, id, c, err);
	if (rc == 0)
		return lm_errf(err, "course %s went away while it was read", id);
	return rc;
}

/* Report a store error through fn, counting it as one. */
static int store_failed(dom_err_fn fn, void *ctx, const lm_err *err)
{
	fn(ctx, -1, err->msg);
	return 1;
}

int course_add(struct store *st, const struct course_input *in, char id[COURSE_ID_LEN + 1],
	       dom_err_fn fn, void *ctx)
{
	struct course c = {{NULL}};
	char now[32];
	lm_err err;
	int n = course_check(st, in, NAMES_OPTIONS, &c, fn, ctx);

	if (n == 0) {
		dom_now(now);
		if (dom_set(&c.v[CC_UPDATED_AT], now) != 0)
			n = store_failed(fn, ctx, &(lm_err){"out of memory"});
		else if (course_put(st, &c, &err) != 0)
			n = store_failed(fn, ctx, &err);
		else
			snprintf(id, COURSE_ID_LEN + 1, "%s", c.v[CC_ID]);
	}
	course_free(&c);
	return n;
}

int course_edit(struct store *st, const char *arg, const struct course_input *in, dom_err_fn fn,
		void *ctx)
{
	struct course c = {{NULL}};
	char me[65], now[32];
	lm_err err;
	int n;

	if (course_find(st, arg, &c, &err) != 1 || domain_site_hex(st, me, &err) != 0)
		return store_failed(fn, ctx, &err);
	if (strcmp(c.v[CC_OWNER], me) != 0) {
		dom_not_owner(st, c.v[CC_OWNER], "course", &err);
		course_free(&c);
		return store_failed(fn, ctx, &err);
	}
	n = course_check(st, in, NAMES_OPTIONS, &c, fn, ctx);
	if (n == 0) {
		dom_now(now);
		if (dom_set(&c.v[CC_UPDATED_AT], now) != 0)
			n = store_failed(fn, ctx, &(lm_err){"out of memory"});
		else if (course_put(st, &c, &err) != 0)
			n = store_failed(fn, ctx, &err);
	}
	course_free(&c);
	return n;
}

int course_archive(struct store *st, const char *arg, int archived, char id[COURSE_ID_LEN + 1],
		   lm_err *err)
{
	struct course c = {{NULL}};
	char me[65], now[32];
	int rc = -1;

	if (course_find(st, arg, &c, err) != 1 || domain_site_hex(st, me, err) != 0)
		goto out;
	if (strcmp(c.v[CC_OWNER], me) != 0) {
		dom_not_owner(st, c.v[CC_OWNER], "course", err);
		goto out;
	}
	snprintf(id, COURSE_ID_LEN + 1, "%s", c.v[CC_ID]);
	if (course_bool(c.v[CC_ARCHIVED]) == archived) {
		rc = 0;
		goto out;
	}
	dom_now(now);
	if (dom_set(&c.v[CC_ARCHIVED], archived ? "1" : "0") != 0 ||
	    dom_set(&c.v[CC_UPDATED_AT], now) != 0) {
		lm_errf(err, "out of memory");
		goto out;
	}
	rc = course_put(st, &c, err) == 0 ? 1 : -1;
out:
	course_free(&c);
	return rc;
}
