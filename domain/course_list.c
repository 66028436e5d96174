/* SPDX-License-Identifier: MIT */
/* Finding courses: filters, the full-text search and the CSV export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/course.h"
#include "domain/org.h"
#include "domain/csv.h"
#include "domain/enums.h"

int course_filter_set(struct store *st, struct course_filter *f, const char *network,
		      const char *owner, lm_err *err)
{
	f->network[0] = f->owner[0] = '\0';
	if (f->kind && (f->kind = dom_enum_parse(&dom_course_kind, "--kind", f->kind, err)) == NULL)
		return -1;
	if (f->target &&
	    (f->target = dom_enum_parse(&dom_target_group, "--target", f->target, err)) == NULL)
		return -1;
	if (f->status &&
	    (f->status = dom_enum_parse(&dom_course_status, "--status", f->status, err)) == NULL)
		return -1;
	if (dom_parse_date_opt("--from", &f->from, f->from_date, err) != 0 ||
	    dom_parse_date_opt("--to", &f->to, f->to_date, err) != 0)
		return -1;
	if (f->from && f->to && strcmp(f->to, f->from) < 0)
		return lm_errf(err, "--to: %s is before --from %s", f->to, f->from);
	if (network && network_resolve(st, network, f->network, sizeof(f->network), err) != 0)
		return lm_err_wrap(err, "--network");
	if (owner && dom_site_resolve(st, owner, f->owner, err) != 0)
		return lm_err_wrap(err, "--owner");
	return 0;
}

/* A byte of a word: ASCII letters and digits, and every byte of a
 * multibyte UTF-8 character (æ, ø, å and the rest of the letters). */
static int word_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c >= 0x80;
}

void course_fts_query(const char *text, char *out, size_t cap)
{
	size_t n = 0, i = 0, j;

	out[0] = '\0';
	while (text[i]) {
		if (!word_byte((unsigned char)text[i])) {
			i++;
			continue;
		}
		for (j = i; word_byte((unsigned char)text[j]); j++)
			;
		/* "word"* : the word as typed, and every longer word it begins. */
		if (n + (j - i) + 5 >= cap)
			break;
		n += (size_t)snprintf(out + n, cap - n, "%s\"%.*s\"*", n ? " " : "", (int)(j - i),
				      text + i);
		i = j;
	}
}

int course_list(struct store *st, const struct course_filter *f, course_cb cb, void *ctx,
		lm_err *err)
{
	char cols[1024], sql[3072], fts[1024];
	const char *bind[16];
	size_t len;
	int nb = 0, i, rc;
	sqlite3_stmt *stmt;
	struct course c = {{NULL}};

	dom_cols_sql(course_cols, CC_NCOLS, "c.", cols, sizeof(cols));
	if (f->query != NULL) {
		course_fts_query(f->query, fts, sizeof(fts));
		if (fts[0] == '\0')
			return lm_errf(err, "QUERY: '%s' holds no word to search for", f->query);
		len = (size_t)snprintf(sql, sizeof(sql),
				       "SELECT %s FROM lm_course_fts JOIN lm_course c ON c.rowid = "
				       "lm_course_fts.rowid AND c.owner = lm_course_fts.owner AND "
				       "c.id = lm_course_fts.id WHERE lm_course_fts MATCH ?",
				       cols);
		bind[nb++] = fts;
	} else {
		len = (size_t)snprintf(sql, sizeof(sql), "SELECT %s FROM lm_course c WHERE 1", cols);
	}
#define WHERE(cond, val)                                                                           \
	do {                                                                                       \
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND " cond);               \
		bind[nb++] = (val);                                                                \
	} while (0)
	if (f->network[0])
		WHERE("c.scope = ?", f->network);
	if (f->owner[0])
		WHERE("c.owner = ?", f->owner);
	if (f->kind)
		WHERE("c.kind = ?", f->kind);
	if (f->target)
		WHERE("c.target = ?", f->target);
	if (f->status)
		WHERE("c.status = ?", f->status);
	if (f->diagnosis && strcmp(f->diagnosis, "independent") == 0)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND c.diagnosis IS NULL");
	else if (f->diagnosis)
		WHERE("lm_lower(c.diagnosis) = lm_lower(?)", f->diagnosis);
	if (f->municipality)
		WHERE("lm_lower(c.municipality) = lm_lower(?)", f->municipality);
	/* Overlap of [starts, ends] (a course without an end lasts a day) and
	 * [from, to]; a course with no date is in no range. */
	if (f->from)
		WHERE("coalesce(c.ends, c.starts) >= ?", f->from);
	if (f->to)
		WHERE("c.starts <= ?", f->to);
#undef WHERE
	if (!f->archived)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND c.archived = 0");
	if (f->by_key)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " ORDER BY c.owner, c.id");
	else if (f->query)
		/* Title words weigh most, then the diagnosis, then the rest. */
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					" ORDER BY bm25(lm_course_fts, 0, 0, 10.0, 1.0, 5.0, 2.0, "
					"2.0, 1.0), c.starts, c.id");
	else
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					" ORDER BY c.starts IS NULL, c.starts, c.title COLLATE lm_name, c.id");
	if (len >= sizeof(sql))
		return lm_errf(err, "course list: SQL too long");
	if (store_prepare(st, sql, &stmt, err) != 0)
		return -1;
	for (i = 0; i < nb; i++)
		sqlite3_bind_text(stmt, i + 1, bind[i], -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (dom_row_read(stmt, 0, CC_NCOLS, c.v) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (cb(&c, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	course_free(&c);
	if (rc != SQLITE_DONE)
		lm_errf(err, "%s: reading courses: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int write_csv_row(const struct course *c, void *ctx)
{
	FILE *out = ctx;
	int i;

	for (i = 0; i < CC_NCOLS; i++) {
		const char *v = c->v[i] ? c->v[i] : "";

		if (course_cols[i].type == COL_BOOL)
			v = course_bool(v) ? "ja" : "nei";
		csv_field(out, v, i == 0);
	}
	csv_end(out);
	return 0;
}

int course_export_csv(struct store *st, const struct course_filter *f, FILE *out, lm_err *err)
{
	struct course_filter all = *f;
	int i;

	all.archived = 1;
	all.by_key = 1;
	all.query = NULL;
	for (i = 0; i < CC_NCOLS; i++)
		csv_field(out, course_cols[i].name, i == 0);
	csv_end(out);
	return course_list(st, &all, write_csv_row, out, err);
}
