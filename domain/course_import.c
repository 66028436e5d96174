/* SPDX-License-Identifier: MIT */
/* Importing courses from CSV or JSON: every record through course_check,
 * every error reported with where it is, and the writes in one transaction
 * only when there is none. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/course.h"
#include "domain/csv.h"
#include "domain/schema.h"

struct rec {
	struct course c;
	int existed;	 /* 1: an update of a course here */
	int same;	 /* 1: nothing changed */
	char where[300]; /* "NAME:LINE" or "NAME[INDEX]" */
};

struct imp {
	struct store *st;
	const char *name;
	void (*fn)(void *ctx, const char *msg);
	void *ctx;
	int errors;
	const char *where; /* of the record being read */
	struct rec *recs;
	size_t n, cap;
};

static int imp_error(struct imp *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Count an error, and report it unless there are too many; returns -1. */
static int imp_error(struct imp *m, const char *fmt, ...)
{
	char msg[LM_ERR_MAX + 320];
	va_list ap;

	m->errors++;
	if (m->errors > COURSE_IMPORT_ERRORS)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->fn(m->ctx, msg);
	return -1;
}

static void field_error(void *ctx, int col, const char *msg)
{
	struct imp *m = ctx;

	(void)col;
	(void)imp_error(m, "%s: %s", m->where, msg);
}

/* Empty numbers, ja/nei and the fields with a default mean "as it was" (or
 * the default), not a value: spreadsheets leave cells empty. */
static int empty_means_unset(int col)
{
	return course_cols[col].type == COL_INT || course_cols[col].type == COL_BOOL ||
	       col == CC_AGE_GROUP || col == CC_DELIVERY || col == CC_STATUS ||
	       col == CC_LANGUAGE || col == CC_UPDATED_AT;
}

/* One record, its values by column (NULL: not in the file). */
static int imp_record(struct imp *m, struct course_input *in, const char *where)
{
	struct rec *r;
	char me[65];
	lm_err err;
	size_t i;
	int col, rc, before = m->errors;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct rec *recs = realloc(m->recs, cap * sizeof(*recs));

		if (recs == NULL)
			return imp_error(m, "%s: out of memory", where);
		m->recs = recs;
		m->cap = cap;
	}
	r = &m->recs[m->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->where, sizeof(r->where), "%s", where);
	m->where = r->where;
	for (col = 0; col < CC_NCOLS; col++)
		if (in->v[col] && in->v[col][0] == '\0' && empty_means_unset(col))
			in->v[col] = NULL;
	if (domain_site_hex(m->st, me, &err) != 0)
		return imp_error(m, "%s", err.msg);
	/* An id of this site's is an update of that course. */
	if (in->v[CC_ID] && in->v[CC_ID][0]) {
		rc = course_get(m->st, me, in->v[CC_ID], &r->c, &err);
		if (rc < 0)
			return imp_error(m, "%s: %s", where, err.msg);
		r->existed = rc;
		for (i = 0; i + 1 < m->n; i++)
			if (m->recs[i].c.v[CC_ID] && strcmp(m->recs[i].c.v[CC_ID], in->v[CC_ID]) == 0)
				imp_error(m, "%s: id: %s is in the file already (%s)", where,
					  in->v[CC_ID], m->recs[i].where);
	}
	if (course_check(m->st, in, NAMES_COLUMNS, &r->c, field_error, m) != 0 ||
	    m->errors != before)
		return -1;
	if (r->existed) {
		struct course old = {{NULL}};

		if (course_get(m->st, me, r->c.v[CC_ID], &old, &err) != 1)
			return imp_error(m, "%s: %s", where, err.msg);
		r->same = 1;
		for (col = 0; col < CC_UPDATED_AT; col++)
			if ((old.v[col] == NULL) != (r->c.v[col] == NULL) ||
			    (old.v[col] && strcmp(old.v[col], r->c.v[col]) != 0))
				r->same = 0;
		course_free(&old);
	}
	return 0;
}

/* ---- CSV ---- */

static void import_csv(struct imp *m, const char *data, size_t len)
{
	struct csv_reader rd;
	struct csv_record rec = {{NULL}, 0, 0, NULL, 0};
	int map[CSV_FIELDS_MAX], col, rc;
	size_t i, ncols;
	char where[300];
	lm_err err;

	csv_reader_init(&rd, data, len);
	rc = csv_read(&rd, &rec, &err);
	if (rc <= 0) {
		if (rc == 0)
			imp_error(m, "%s: the file is empty; it needs a header row of column names",
				  m->name);
		else
			imp_error(m, "%s:%s", m->name, err.msg + strlen("line "));
		csv_record_free(&rec);
		return;
	}
	ncols = rec.n;
	for (i = 0; i < ncols; i++) {
		map[i] = -1;
		for (col = 0; col < CC_NCOLS; col++)
			if (strcmp(rec.fields[i], course_cols[col].name) == 0)
				map[i] = col;
		if (map[i] < 0)
			imp_error(m,
				  "%s:%d: column '%s' is not a course field; the columns are "
				  "those `lmsync course export` writes (owner, id, network, title, "
				  "...)",
				  m->name, rec.line, rec.fields[i]);
		for (col = 0; map[i] >= 0 && (size_t)col < i; col++)
			if (map[col] == map[i])
				imp_error(m, "%s:%d: column '%s' appears twice", m->name, rec.line,
					  rec.fields[i]);
	}
	if (m->errors)
		goto out;
	while ((rc = csv_read(&rd, &rec, &err)) == 1) {
		struct course_input in = {{NULL}};

		snprintf(where, sizeof(where), "%s:%d", m->name, rec.line);
		if (rec.n != ncols) {
			imp_error(m, "%s: %zu fields, but the header has %zu", where, rec.n, ncols);
			continue;
		}
		for (i = 0; i < ncols; i++)
			in.v[map[i]] = rec.fields[i];
		(void)imp_record(m, &in, where); /* its errors are counted */
	}
	if (rc < 0)
		imp_error(m, "%s:%s", m->name, err.msg + strlen("line "));
out:
	csv_record_free(&rec);
}

/* ---- JSON: an array of flat objects ---- */

struct jp {
	const char *s;
	size_t len, pos;
	lm_err err;
};

static void ws(struct jp *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
}

static int jfail(struct jp *p, const char *what)
{
	size_t i;
	int line = 1;

	for (i = 0; i < p->pos && i < p->len; i++)
		line += p->s[i] == '\n';
	return lm_errf(&p->err, "line %d: %s", line, what);
}

static int put_utf8(char *out, size_t *n, unsigned long cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | cp >> 6);
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | cp >> 12);
		out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | cp >> 18);
		out[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
	return 0;
}

static int hex4(struct jp *p, unsigned long *cp)
{
	char h[5];

	if (p->pos + 4 > p->len)
		return jfail(p, "a \\u escape needs 4 hex digits");
	memcpy(h, p->s + p->pos, 4);
	h[4] = '\0';
	if (strspn(h, "0123456789abcdefABCDEF") != 4)
		return jfail(p, "a \\u escape needs 4 hex digits");
	*cp = strtoul(h, NULL, 16);
	p->pos += 4;
	return 0;
}

/* A string at p (after its quote) into a new heap copy. */
static char *jstring(struct jp *p)
{
	char *out = malloc(p->len - p->pos + 1);
	size_t n = 0;
	unsigned long cp, lo;

	if (out == NULL) {
		jfail(p, "out of memory");
		return NULL;
	}
	while (p->pos < p->len && p->s[p->pos] != '"') {
		unsigned char c = (unsigned char)p->s[p->pos++];

		if (c < 0x20) {
			jfail(p, "a control character in a string; write it as \\n, \\t or \\uXXXX");
			goto bad;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		if (p->pos >= p->len)
			break;
		c = (unsigned char)p->s[p->pos++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			out[n++] = (char)c;
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'u':
			if (hex4(p, &cp) != 0)
				goto bad;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (p->pos + 2 > p->len || p->s[p->pos] != '\\' ||
				    p->s[p->pos + 1] != 'u') {
					jfail(p, "a lone surrogate in a \\u escape");
					goto bad;
				}
				p->pos += 2;
				if (hex4(p, &lo) != 0)
					goto bad;
				if (lo < 0xdc00 || lo > 0xdfff) {
					jfail(p, "a lone surrogate in a \\u escape");
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				jfail(p, "a lone surrogate in a \\u escape");
				goto bad;
			}
			if (cp == 0) {
				jfail(p, "a NUL character (\\u0000) in a string");
				goto bad;
			}
			put_utf8(out, &n, cp);
			break;
		default:
			jfail(p, "an unknown escape in a string");
			goto bad;
		}
	}
	if (p->pos >= p->len) {
		jfail(p, "a string that never ends (a \" is missing)");
		goto bad;
	}
	p->pos++;
	out[n] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* A value: string, number, true, false or null, as the text course_check
 * reads (true "1", false "0", null ""). */
static char *jvalue(struct jp *p)
{
	static const char *const words[] = {"true", "false", "null"};
	static const char *const as[] = {"1", "0", ""};
	size_t i, start;
	char *out;

	if (p->pos < p->len && p->s[p->pos] == '"') {
		p->pos++;
		return jstring(p);
	}
	for (i = 0; i < 3; i++)
		if (p->len - p->pos >= strlen(words[i]) &&
		    memcmp(p->s + p->pos, words[i], strlen(words[i])) == 0) {
			p->pos += strlen(words[i]);
			return strdup(as[i]);
		}
	start = p->pos;
	while (p->pos < p->len && strchr("0123456789+-.eE", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
	if (p->pos == start) {
		jfail(p, "expected a value: a string, a number, true, false or null");
		return NULL;
	}
	out = malloc(p->pos - start + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, p->s + start, p->pos - start);
	out[p->pos - start] = '\0';
	return out;
}

static int jexpect(struct jp *p, char c, const char *what)
{
	ws(p);
	if (p->pos >= p->len || p->s[p->pos] != c)
		return jfail(p, what);
	p->pos++;
	return 0;
}

/* One object into vals (heap) by column; unknown keys are errors. */
static int jobject(struct jp *p, struct imp *m, const char *where, char **vals)
{
	char *key = NULL, *val;
	int col;

	if (jexpect(p, '{', "expected an object ({) for each course") != 0)
		return -1;
	ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}')
		return p->pos++, 0;
	for (;;) {
		if (jexpect(p, '"', "expected a key in quotes") != 0 || (key = jstring(p)) == NULL ||
		    jexpect(p, ':', "expected a colon after the key") != 0)
			goto bad;
		ws(p);
		if ((val = jvalue(p)) == NULL)
			goto bad;
		for (col = 0; col < CC_NCOLS; col++)
			if (strcmp(key, course_cols[col].name) == 0)
				break;
		if (col == CC_NCOLS) {
			imp_error(m,
				  "%s: '%s' is not a course field; the keys are those `lmsync "
				  "course export --format json` writes",
				  where, key);
			free(val);
		} else {
			free(vals[col]);
			vals[col] = val;
		}
		free(key);
		key = NULL;
		ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (jexpect(p, '}', "expected , or } in the object") != 0)
			goto bad;
		return 0;
	}
bad:
	free(key);
	return -1;
}

static void import_json(struct imp *m, const char *data, size_t len)
{
	struct jp p = {data, len, 0, {""}};
	char where[300];
	int index = 0, col;

	if (jexpect(&p, '[', "expected an array ([) of courses") != 0)
		goto bad;
	ws(&p);
	if (p.pos < p.len && p.s[p.pos] == ']') {
		p.pos++;
		goto end;
	}
	for (;;) {
		char *vals[CC_NCOLS] = {NULL};
		struct course_input in = {{NULL}};
		int rc;

		snprintf(where, sizeof(where), "%s[%d]", m->name, index++);
		rc = jobject(&p, m, where, vals);
		if (rc == 0) {
			for (col = 0; col < CC_NCOLS; col++)
				in.v[col] = vals[col];
			(void)imp_record(m, &in, where); /* its errors are counted */
		}
		for (col = 0; col < CC_NCOLS; col++)
			free(vals[col]);
		if (rc != 0)
			goto bad;
		ws(&p);
		if (p.pos < p.len && p.s[p.pos] == ',') {
			p.pos++;
			continue;
		}
		if (jexpect(&p, ']', "expected , or ] after a course") != 0)
			goto bad;
		break;
	}
end:
	ws(&p);
	if (p.pos < p.len && jfail(&p, "text after the array") != 0)
		goto bad;
	return;
bad:
	imp_error(m, "%s: %s", m->name, p.err.msg);
}

int course_import(struct store *st, const char *name, const char *data, size_t len,
		  enum course_format fmt, void (*fn)(void *ctx, const char *msg), void *ctx,
		  int *added, int *changed, int *unchanged)
{
	struct imp m = {st, name, fn, ctx, 0, NULL, NULL, 0, 0};
	char now[32];
	lm_err err;
	size_t i;

	*added = *changed = *unchanged = 0;
	if (memchr(data, '\0', len) != NULL)
		imp_error(&m, "%s: holds a NUL byte: not a text file", name);
	else if (fmt == COURSE_CSV)
		import_csv(&m, data, len);
	else
		import_json(&m, data, len);
	if (m.errors > COURSE_IMPORT_ERRORS)
		fn(ctx, "... and more errors; fix these first");
	if (m.errors == 0 && store_exec(st, "BEGIN IMMEDIATE", &err) != 0)
		imp_error(&m, "%s", err.msg);
	dom_now(now);
	for (i = 0; m.errors == 0 && i < m.n; i++) {
		struct rec *r = &m.recs[i];

		if (r->same) {
			(*unchanged)++;
			continue;
		}
		/* A changed course is changed now; a new one keeps its time. */
		if ((r->existed || r->c.v[CC_UPDATED_AT] == NULL || !r->c.v[CC_UPDATED_AT][0]) &&
		    dom_set(&r->c.v[CC_UPDATED_AT], now) != 0)
			imp_error(&m, "%s: out of memory", r->where);
		else if (course_put(st, &r->c, &err) != 0)
			imp_error(&m, "%s: %s", r->where, err.msg);
		else
			++*(r->existed ? changed : added);
	}
	if (m.errors == 0 && store_exec(st, "COMMIT", &err) != 0)
		imp_error(&m, "%s", err.msg);
	if (m.errors != 0)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	if (m.errors != 0)
		*added = *changed = *unchanged = 0;
	for (i = 0; i < m.n; i++)
		course_free(&m.recs[i].c);
	free(m.recs);
	return m.errors;
}
