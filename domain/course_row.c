/* SPDX-License-Identifier: MIT */
/* Rows of lm_course and lm_course_run as text arrays (course.h): reading,
 * writing with the triggers' refusals in words, finding by id or prefix,
 * and the right to publish to a network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/course.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "store/member.h"

int dom_set(char **slot, const char *v)
{
	char *copy = NULL;

	if (v != NULL && (copy = strdup(v)) == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

void dom_cols_sql(const struct dom_col *cols, int n, const char *prefix, char *out, size_t cap)
{
	size_t len = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s%s", i ? ", " : "", prefix,
					cols[i].sql);
}

int dom_row_read(sqlite3_stmt *stmt, int first, int n, char **v)
{
	int i;

	for (i = 0; i < n; i++) {
		const unsigned char *s = sqlite3_column_text(stmt, first + i);

		if (dom_set(&v[i], s ? (const char *)s : NULL) != 0)
			return -1;
	}
	return 0;
}

int dom_row_get(struct store *st, const char *table, const struct dom_col *cols, int n,
		const char *owner, const char *id, char **v, lm_err *err)
{
	char list[1024], sql[1200];
	sqlite3_stmt *stmt;
	int rc;

	dom_cols_sql(cols, n, "", list, sizeof(list));
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE owner = ? AND id = ?", list, table);
	if (store_prepare(st, sql, &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && dom_row_read(stmt, 0, n, v) != 0) {
		sqlite3_finalize(stmt);
		return lm_errf(err, "out of memory");
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading %s: %s", st->path, table, sqlite3_errmsg(st->db));
	return rc == SQLITE_ROW;
}

int dom_not_owner(struct store *st, const char *owner, const char *what, lm_err *err)
{
	char name[DOM_TEXT_SHORT + 1];

	org_name(st, owner, name, sizeof(name));
	return lm_errf(err, "this %s belongs to %s; only its owner can change it", what, name);
}

/* A refusal of the capture triggers, in a coordinator's words. */
static int write_failed(struct store *st, const char *table, char *const *v, lm_err *err)
{
	const char *msg = sqlite3_errmsg(st->db);
	struct network n;

	if (strstr(msg, "has no role in this scope") != NULL) {
		if (network_get(st, v[2], &n, err) != 1)
			snprintf(n.name, sizeof(n.name), "%s", v[2]);
		return lm_errf(err,
			       "this site is not a member of the network %s, so it cannot publish "
			       "courses there; an administrator of the network (its leder, "
			       "nestleder or koordinator) must add it first",
			       n.name);
	}
	if (strstr(msg, "belongs to another site") != NULL)
		return dom_not_owner(st, v[0], strcmp(table, "lm_course") == 0 ? "course" : "run",
				     err);
	return lm_errf(err, "%s: writing %s: %s", st->path, table, msg);
}

int dom_row_put(struct store *st, const char *table, const struct dom_col *cols, int n,
		char *const *v, lm_err *err)
{
	char list[1024], sql[4096];
	size_t len;
	sqlite3_stmt *stmt;
	int i, rc;

	dom_cols_sql(cols, n, "", list, sizeof(list));
	len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s(%s) VALUES (", table, list);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?", i ? ", " : "");
	len += (size_t)snprintf(sql + len, sizeof(sql) - len,
				") ON CONFLICT (owner, id) DO UPDATE SET ");
	/* Key and scope never change (the triggers refuse it). */
	for (i = 3; i < n; i++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s%s = excluded.%s",
					i > 3 ? ", " : "", cols[i].sql, cols[i].sql);
	if (len >= sizeof(sql))
		return lm_errf(err, "%s: SQL too long", table);
	if (store_prepare(st, sql, &stmt, err) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] == NULL)
			sqlite3_bind_null(stmt, i + 1);
		else if (cols[i].type == COL_INT || cols[i].type == COL_BOOL)
			sqlite3_bind_int64(stmt, i + 1, strtoll(v[i], NULL, 10));
		else if (cols[i].type == COL_HOURS)
			sqlite3_bind_double(stmt, i + 1, strtod(v[i], NULL));
		else
			sqlite3_bind_text(stmt, i + 1, v[i], -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return write_failed(st, table, v, err);
	return 0;
}

int dom_is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

int dom_row_find(struct store *st, const char *table, const char *what, const char *arg,
		 char owner[65], char id[COURSE_ID_LEN + 1], lm_err *err)
{
	char me[65], sql[256], found[5][COURSE_ID_LEN + 1], low[COURSE_ID_LEN + 1];
	sqlite3_stmt *stmt;
	const char *given = arg;
	size_t n = strlen(arg), i;
	int rc, count = 0, mine_exact = 0;

	/* Ids are stored in lower case; one read aloud may be typed in upper. */
	for (i = 0; i < n && i < COURSE_ID_LEN; i++)
		low[i] = (char)(arg[i] >= 'A' && arg[i] <= 'F' ? arg[i] - 'A' + 'a' : arg[i]);
	low[i] = '\0';
	arg = low;
	if (n < COURSE_ID_MIN || n > COURSE_ID_LEN || !dom_is_hex(arg))
		return lm_errf(err,
			       "'%s' is not a %s id: give its 16 hex digits (`lmsync course %slist` "
			       "shows them) or the first %d or more",
			       given, what, strcmp(what, "run") == 0 ? "run " : "", COURSE_ID_MIN);
	if (domain_site_hex(st, me, err) != 0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "SELECT owner, id FROM %s WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id = ?1 "
		 "AND owner = ?2 DESC, id, owner",
		 table);
	if (store_prepare(st, sql, &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, me, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(stmt, 0);
		const char *k = (const char *)sqlite3_column_text(stmt, 1);

		if (count == 0) {
			snprintf(owner, 65, "%s", o);
			snprintf(id, COURSE_ID_LEN + 1, "%s", k);
			mine_exact = strcmp(k, arg) == 0 && strcmp(o, me) == 0;
		}
		if (count < 5)
			snprintf(found[count], sizeof(found[count]), "%s", k);
		count++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading %s: %s", st->path, table, sqlite3_errmsg(st->db));
	if (count == 0)
		return lm_errf(err, "no %s '%s' here; `lmsync course %slist` shows them", what, arg,
			       strcmp(what, "run") == 0 ? "run " : "");
	/* This site's own course wins an exact id that other sites' copies share. */
	if (count == 1 || mine_exact)
		return 1;
	return lm_errf(err, "'%s' names %d %ss here (%s, %s%s); give more of the id", arg, count,
		       what, found[0], found[1], count > 2 ? ", ..." : "");
}

int dom_may_publish(struct store *st, const char *network, lm_err *err)
{
	enum member_role role;
	struct network n;

	if (domain_my_role(st, network, &role, err) != 0)
		return -1;
	if (role >= ROLE_MEMBER)
		return 0;
	if (network_get(st, network, &n, err) != 1)
		snprintf(n.name, sizeof(n.name), "%s", network);
	return lm_errf(err,
		       "this site is not a member of the network %s, so it cannot publish courses "
		       "there; an administrator of the network (its leder, nestleder or "
		       "koordinator) must add it first",
		       n.name);
}

