/* SPDX-License-Identifier: MIT */
/* Merging with triggers off (store/mergehook.h). */
#include "store/mergehook.h"

#include <stdio.h>
#include <string.h>

/* The guard the capture triggers carry (registry.c), and with them every
 * trigger that must stay quiet while a merge applies remote rows. */
#define QUIET_GUARD "NOT EXISTS (SELECT 1 FROM repl_applying)"

int mergehook_add(struct store *st, const char *table, const char *trigger_prefix,
		  store_row_hook fn, void *ctx, lm_err *err)
{
	struct store_hook *h = NULL;
	int i;

	if (strlen(table) >= sizeof(h->table) || strlen(trigger_prefix) >= sizeof(h->prefix) ||
	    trigger_prefix[0] == '\0')
		return lm_errf(err, "merge hook for %s: table or trigger prefix invalid", table);
	for (i = 0; i < st->nhooks && h == NULL; i++)
		if (strcmp(st->hooks[i].table, table) == 0 &&
		    strcmp(st->hooks[i].prefix, trigger_prefix) == 0)
			h = &st->hooks[i];
	if (h == NULL) {
		if (st->nhooks == STORE_HOOKS_MAX)
			return lm_errf(err, "merge hook for %s: at most %d hooks", table,
				       STORE_HOOKS_MAX);
		h = &st->hooks[st->nhooks++];
	}
	snprintf(h->table, sizeof(h->table), "%s", table);
	snprintf(h->prefix, sizeof(h->prefix), "%s", trigger_prefix);
	h->fn = fn;
	h->ctx = ctx;
	st->quiet_at = -1; /* a trigger may be covered now */
	return 0;
}

static int hooked(const struct store *st, const char *table, const char *trigger)
{
	int i;

	for (i = 0; i < st->nhooks; i++)
		if (strcmp(st->hooks[i].table, table) == 0 &&
		    strncmp(trigger, st->hooks[i].prefix, strlen(st->hooks[i].prefix)) == 0)
			return 1;
	return 0;
}

/* 1 when a merge may skip every trigger in the schema, 0 when not. */
static int may_skip_all(struct store *st, lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(
	    st, "SELECT name, tbl_name, sql FROM sqlite_schema WHERE type = 'trigger'", err);
	int rc = SQLITE_DONE, all = 1;

	if (stmt == NULL)
		return -1;
	while (all && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 0);
		const char *tbl = (const char *)sqlite3_column_text(stmt, 1);
		const char *sql = (const char *)sqlite3_column_text(stmt, 2);

		all = (sql != NULL && strstr(sql, QUIET_GUARD) != NULL) ||
		      (name != NULL && tbl != NULL && hooked(st, tbl, name));
	}
	if (all && rc != SQLITE_DONE)
		all =
		    lm_errf(err, "%s: reading the triggers: %s", st->path, sqlite3_errmsg(st->db));
	store_release(st, stmt);
	return all;
}

static int triggers_on(struct store *st, int on, lm_err *err)
{
	int now = -1;

	/* Changing the flag expires the connection's statements; SQLite
	 * prepares each again when next used. */
	if (sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, on, &now) != SQLITE_OK ||
	    now != on)
		return lm_errf(err, "%s: cannot switch triggers %s", st->path, on ? "on" : "off");
	return 0;
}

int mergehook_quiet_begin(struct store *st, size_t bytes, int *quiet, lm_err *err)
{
	int64_t v;

	*quiet = 0;
	if (bytes < st->quiet_min_bytes)
		return 0;
	if (store_pragma_int(st, "PRAGMA schema_version", &v, err) != 0)
		return -1;
	if (v != st->quiet_at) {
		int all = may_skip_all(st, err);

		if (all < 0)
			return -1;
		st->quiet = all;
		st->quiet_at = v;
	}
	if (!st->quiet)
		return 0;
	if (triggers_on(st, 0, err) != 0)
		return -1;
	*quiet = 1;
	return 0;
}

int mergehook_quiet_end(struct store *st, lm_err *err)
{
	return triggers_on(st, 1, err);
}

int mergehook_row(struct store *st, const char *table, const char *key_json, int deleting,
		  lm_err *err)
{
	int i;

	for (i = 0; i < st->nhooks; i++)
		if (strcmp(st->hooks[i].table, table) == 0 &&
		    st->hooks[i].fn(st, key_json, deleting, st->hooks[i].ctx, err) != 0)
			return -1;
	return 0;
}
