/* SPDX-License-Identifier: MIT */
/* The course catalogue (tilbud): the offers a site publishes to one of its
 * networks (lm_course, policy owner) and their runs (gjennomføringer,
 * lm_course_run) with the counts of who took part and what the evaluation
 * forms said. Counts only: no row holds a participant.
 *
 * A course or run is held as text, one value per column in the store's own
 * form ("1" for ja, "2026-09-14", NULL for no date), so one table of columns
 * drives validation, writing, reading, export and import alike. What people
 * type goes through course_check (runs: course_run_check), the one place
 * that says what a valid course is; add, edit and import all use it.
 */
#ifndef LMSYNC_DOMAIN_COURSE_H
#define LMSYNC_DOMAIN_COURSE_H

#include <stddef.h>
#include <stdio.h>

#include "domain/network.h"
#include "domain/common.h"
#include "domain/validate.h"
#include "store/store.h"

#define COURSE_ID_LEN 16
#define COURSE_ID_MIN 4 /* the shortest prefix a command accepts */

enum course_col {
	CC_OWNER,
	CC_ID,
	CC_NETWORK, /* the scope column */
	CC_TITLE,
	CC_DESCRIPTION,
	CC_KIND,
	CC_TARGET,
	CC_AGE_GROUP,
	CC_DIAGNOSIS,
	CC_STANDARD_METODE,
	CC_USER_REPS,
	CC_CO_ORGANISERS,
	CC_SESSIONS,
	CC_SESSION_MINUTES,
	CC_CAPACITY,
	CC_DELIVERY,
	CC_VENUE,
	CC_MUNICIPALITY,
	CC_LANGUAGE,
	CC_PRICE,
	CC_REGISTRATION,
	CC_STATUS,
	CC_STARTS,
	CC_ENDS,
	CC_ARCHIVED,
	CC_UPDATED_AT,
	CC_NCOLS
};

enum run_col {
	RC_OWNER,
	RC_ID,
	RC_NETWORK,
	RC_COURSE,
	RC_STARTS,
	RC_ENDS,
	RC_HELD,
	RC_SESSIONS_HELD,
	RC_PATIENTS,
	RC_RELATIVES,
	RC_PROFESSIONAL_HOURS,
	RC_USER_REP_HOURS,
	RC_FORMS,
	RC_BENEFIT_NONE,
	RC_BENEFIT_SOME,
	RC_BENEFIT_GOOD,
	RC_BENEFIT_VERY_GOOD,
	RC_UPDATED_AT,
	RC_NCOLS
};

/* How a column's text is shown: as it is, a whole number, ja/nei, hours,
 * or text that may be NULL. */
enum dom_col_type { COL_TEXT, COL_INT, COL_BOOL, COL_HOURS, COL_NULLABLE };

struct dom_col {
	const char *name; /* the key in export files and JSON: the store's column,
			     but "network" for the scope */
	const char *sql;  /* the store's column */
	const char *opt;  /* the command's option, or NULL when there is none */
	enum dom_col_type type;
};

extern const struct dom_col course_cols[CC_NCOLS], run_cols[RC_NCOLS];

/* A course or run: v[col] is heap text, NULL for SQL NULL. */
struct course {
	char *v[CC_NCOLS];
};
struct course_run {
	char *v[RC_NCOLS];
};

void course_free(struct course *c);
void course_run_free(struct course_run *r);

/* What was given, column by column: NULL not given, "" given empty (for a
 * nullable column: none). */
struct course_input {
	const char *v[CC_NCOLS];
};
struct run_input {
	const char *v[RC_NCOLS];
};

/* Called once per error found: col the column (-1 for none), msg naming
 * the field as an option or a file's column (enum dom_names). */
typedef void (*dom_err_fn)(void *ctx, int col, const char *msg);

/* Which names errors use: the options (--kind) or the file's columns (kind). */
enum dom_names { NAMES_OPTIONS, NAMES_COLUMNS };

/* Check every given value of in and put it, in the store's form, into c,
 * which holds the course as it was (course_get) or, for a new one, has
 * c->v all NULL: then the defaults go in and title, kind, target and the
 * network are required. owner and id, when given, must be this site's and
 * 16 hex digits (empty: this site, a new id); updated_at, when given, must
 * be a time YYYY-MM-DDTHH:MM:SSZ. Checks across fields: ends not before
 * starts, the network one this site may publish to (it is a member), for
 * a new course and for one moved to another network. Returns the number of
 * errors, each reported through fn. */
int course_check(struct store *st, const struct course_input *in, enum dom_names names,
		 struct course *c, dom_err_fn fn, void *ctx);

/* Write c (checked) as a new course or over the one with its key, in the
 * caller's transaction or alone; a course given another network moves
 * there with its runs. A refusal of the store's triggers comes back in
 * words. */
int course_put(struct store *st, const struct course *c, lm_err *err);

/* The course arg names: its 16 hex digits, or a prefix of 4 or more that
 * names one course here. An exact id held by several sites means this
 * site's own course when it has one. 1 found (c filled), -1 error (not
 * found or ambiguous, said in err). */
int course_find(struct store *st, const char *arg, struct course *c, lm_err *err);

/* Read the course (owner, id): 1 found, 0 not, -1 error. */
int course_get(struct store *st, const char *owner, const char *id, struct course *c,
	       lm_err *err);

/* Add a checked course: fills in this site, a new id and the time. The id
 * goes to id. Errors come through fn; returns the number (store errors
 * count as one). */
int course_add(struct store *st, const struct course_input *in, char id[COURSE_ID_LEN + 1],
	       dom_err_fn fn, void *ctx);

/* Change the given fields of the course arg names (course_find). Only its
 * owner can: otherwise the message names the owner's organisation. */
int course_edit(struct store *st, const char *arg, const struct course_input *in, dom_err_fn fn,
		void *ctx);

/* Archive the course arg names (archived = 1), or bring it back (0); its
 * whole id goes to id. 1 done, 0 it was so already, -1 error. */
int course_archive(struct store *st, const char *arg, int archived, char id[COURSE_ID_LEN + 1],
		   lm_err *err);

struct course_filter {
	const char *query; /* words to search for (FTS), or NULL */
	const char *kind, *target, *status; /* stored values, or NULL */
	const char *diagnosis;		    /* a group, "independent", or NULL */
	const char *municipality;	    /* or NULL; case ignored */
	const char *from, *to; /* dates: courses whose [starts, ends] overlaps */
	char from_date[11], to_date[11]; /* from and to as YYYY-MM-DD (course_filter_set) */
	char network[NETWORK_ID_MAX + 1]; /* a network id, or "" */
	char owner[65];			  /* 64 hex digits, or "" */
	int archived;			  /* include archived courses */
	int by_key;			  /* order by owner and id (export) */
};

/* Check the filter's values as typed and put their stored forms in place
 * (kind, target, status through the enums; dates as YYYY-MM-DD), and resolve the
 * network (network_resolve) and owner (dom_site_resolve) args, either NULL.
 * Returns 0 or -1 (err names the option). */
int course_filter_set(struct store *st, struct course_filter *f, const char *network,
		      const char *owner, lm_err *err);

/* Call cb for each course f lets through: by start date and title, or for a
 * query, best match first. Returning non-zero from cb stops the walk. */
typedef int (*course_cb)(const struct course *c, void *ctx);
int course_list(struct store *st, const struct course_filter *f, course_cb cb, void *ctx,
		lm_err *err);

/* The FTS5 query for what a person typed: each word a quoted prefix term,
 * every word required. "" when the text has no word. */
void course_fts_query(const char *text, char *out, size_t cap);

/* The full-text index lm_course_fts and its triggers (course_fts.c), built
 * afresh from lm_course: run by domain_install. */
extern const char course_fts_sql[];
/* Keep the index in step with this connection's merges, which run without
 * triggers (store/mergehook.h). domain_install calls it. */
int course_fts_hook(struct store *st, lm_err *err);

/* Runs. Check the given values into r (as course_check does; r all NULL
 * for a new run, which needs starts): ends not before starts, and the four
 * benefit counts summing to at most the forms returned. */
int course_run_check(const struct run_input *in, struct course_run *r, dom_err_fn fn,
		     void *ctx);

/* Add a run of the course arg names (this site's own): id to id. */
int course_run_add(struct store *st, const char *course, const struct run_input *in,
		   char id[COURSE_ID_LEN + 1], dom_err_fn fn, void *ctx);

/* Change the given fields of the run arg names (id or prefix). */
int course_run_update(struct store *st, const char *arg, const struct run_input *in,
		      dom_err_fn fn, void *ctx);

/* The run arg names: 1 (r filled) or -1. */
int course_run_find(struct store *st, const char *arg, struct course_run *r, lm_err *err);

/* The runs of a course (owner, id), or every run when owner is NULL, by
 * start date. */
typedef int (*course_run_cb)(const struct course_run *r, void *ctx);
int course_run_list(struct store *st, const char *owner, const char *course, course_run_cb cb,
		    void *ctx, lm_err *err);

/* Import courses from a CSV (RFC 4180, a header row of column names) or a
 * JSON array of objects, all in one transaction: nothing is written unless
 * every record is valid. Every error is reported through fn (at most
 * COURSE_IMPORT_ERRORS), as "NAME:LINE: field: ..." for CSV and
 * "NAME[INDEX]: field: ..." for JSON. Counts of new, changed and unchanged
 * courses go to the last three; returns the number of errors. */
#define COURSE_IMPORT_ERRORS 50
enum course_format { COURSE_CSV, COURSE_JSON };
int course_import(struct store *st, const char *name, const char *data, size_t len,
		  enum course_format fmt, void (*fn)(void *ctx, const char *msg), void *ctx,
		  int *added, int *changed, int *unchanged);

/* Write courses f lets through (by owner and id) as CSV, with a header. */
int course_export_csv(struct store *st, const struct course_filter *f, FILE *out, lm_err *err);

/* The value of a COL_BOOL column. */
int course_bool(const char *v);

/* Shared by the course_*.c files: rows of lm_course and lm_course_run as
 * text arrays, v[0] the owner and v[1] the id. */
int dom_row_get(struct store *st, const char *table, const struct dom_col *cols, int n,
		const char *owner, const char *id, char **v, lm_err *err);
int dom_row_put(struct store *st, const char *table, const struct dom_col *cols, int n,
		char *const *v, lm_err *err);
/* The key of the row arg names (an id or a prefix of at least 4 hex). */
int dom_row_find(struct store *st, const char *table, const char *what, const char *arg,
		 char owner[65], char id[COURSE_ID_LEN + 1], lm_err *err);
/* Columns first .. first+n-1 of a result row into v (heap copies). */
int dom_row_read(sqlite3_stmt *stmt, int first, int n, char **v);
/* "P.a, P.b, ..." for the columns. */
void dom_cols_sql(const struct dom_col *cols, int n, const char *prefix, char *out, size_t cap);
/* 1 when s is all lowercase hex digits. */
int dom_is_hex(const char *s);
/* Replace *slot with a copy of v (NULL stays NULL); -1 out of memory. */
int dom_set(char **slot, const char *v);
/* 0 when this site may publish to network (a member there), else -1. */
int dom_may_publish(struct store *st, const char *network, lm_err *err);
/* The message for a course or run of another site. */
int dom_not_owner(struct store *st, const char *owner, const char *what, lm_err *err);

#endif
