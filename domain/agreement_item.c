/* SPDX-License-Identifier: MIT */
/* Follow-up items of agreements, the notes and avvik both parties write,
 * and what is overdue (see agreement.h). */
#include <stdio.h>
#include <string.h>

#include "domain/agreement.h"
#include "domain/agreement_int.h"
#include "domain/enums.h"
#include "domain/schema.h"


/* The delavtale must be one of the agreement's. */
static int need_part(struct store *st, const char *id, int part, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (part < 1 || part > AGREEMENT_PARTS_MAX)
		return lm_errf(err, "--part: %d is not a delavtale number (1 to 99)", part);
	if (store_prepare(st,
			  "SELECT 1 FROM lm_agreement_part WHERE agreement = ? AND number = ?",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, part);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading delavtaler: %s", st->path, sqlite3_errmsg(st->db));
	return lm_errf(err,
		       "--part: agreement %s has no delavtale %d; `lmsync agreement show` lists "
		       "its delavtaler",
		       id, part);
}

/* Checks of the fields given; enum values are turned into their stored
 * spelling in out. */
struct checked {
	const char *responsible, *status;
	const char *due; /* YYYY-MM-DD in due_buf, or NULL */
	char due_buf[11];
};

static int check_item(const struct agreement_item_spec *s, int adding, struct checked *out,
		      lm_err *err)
{
	memset(out, 0, sizeof(*out));
	if (adding && s->what == NULL)
		return lm_errf(err, "--what: say what is to be done");
	if (adding && s->responsible == NULL)
		return lm_errf(err, "--responsible: say who does it: helseforetak, kommune or felles");
	if (adding && s->due == NULL)
		return lm_errf(err, "--due: give the date it is due (YYYY-MM-DD)");
	if (s->what && dom_check_text("--what", s->what, DOM_TEXT_LONG, 0, 1, err) != 0)
		return -1;
	if (s->responsible && (out->responsible = dom_enum_parse(&dom_responsible, "--responsible",
								 s->responsible, err)) == NULL)
		return -1;
	out->due = s->due;
	if (dom_parse_date_opt("--due", &out->due, out->due_buf, err) != 0)
		return -1;
	if (adding && s->status == NULL)
		out->status = "åpen";
	else if (s->status &&
		 (out->status = dom_enum_parse(&dom_item_status, "--status", s->status, err)) ==
		     NULL)
		return -1;
	return 0;
}

int agreement_item_add(struct store *st, const char *id, const struct agreement_item_spec *s,
		       char item[17], lm_err *err)
{
	struct checked c;
	sqlite3_stmt *stmt;
	char now[32];

	if (check_item(s, 1, &c, err) != 0 || agreement_need(st, id, NULL, err) != 0 ||
	    (s->part && need_part(st, id, s->part, err) != 0) ||
	    agreement_need_role(st, id, ROLE_MEMBER, err) != 0)
		return -1;
	dom_new_id(item);
	dom_now(now);
	if (store_prepare(st,
			  "INSERT INTO lm_agreement_item(agreement, id, scope, part, what, "
			  "responsible, due, status, updated_at) VALUES (?1, ?2, ?1, ?3, ?4, ?5, ?6, "
			  "?7, ?8)",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, item, -1, SQLITE_STATIC);
	if (s->part)
		sqlite3_bind_int(stmt, 3, s->part);
	sqlite3_bind_text(stmt, 4, s->what, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, c.responsible, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, c.due, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, c.status, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 8, now, -1, SQLITE_STATIC);
	return agreement_step(st, stmt, id, "writing the item", err);
}

int agreement_item_update(struct store *st, const char *id, const char *item,
			  const struct agreement_item_spec *s, lm_err *err)
{
	struct checked c;
	sqlite3_stmt *stmt;
	char now[32];

	if (check_item(s, 0, &c, err) != 0 || agreement_need(st, id, NULL, err) != 0 ||
	    (s->part && need_part(st, id, s->part, err) != 0) ||
	    agreement_need_role(st, id, ROLE_MEMBER, err) != 0)
		return -1;
	if (!s->what && !c.responsible && !s->due && !c.status && !s->part)
		return lm_errf(err, "nothing to change: give --status, --due, --what, "
				    "--responsible or --part");
	dom_now(now);
	/* Only the columns given change, so the two parties' changes of
	 * different fields of one item merge without a conflict. */
	if (store_prepare(st,
			  "UPDATE lm_agreement_item SET what = coalesce(?3, what), responsible = "
			  "coalesce(?4, responsible), due = coalesce(?5, due), status = coalesce(?6, "
			  "status), part = coalesce(?7, part), updated_at = ?8 WHERE agreement = ?1 "
			  "AND id = ?2",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, item, -1, SQLITE_STATIC);
	if (s->what)
		sqlite3_bind_text(stmt, 3, s->what, -1, SQLITE_STATIC);
	if (c.responsible)
		sqlite3_bind_text(stmt, 4, c.responsible, -1, SQLITE_STATIC);
	if (c.due)
		sqlite3_bind_text(stmt, 5, c.due, -1, SQLITE_STATIC);
	if (c.status)
		sqlite3_bind_text(stmt, 6, c.status, -1, SQLITE_STATIC);
	if (s->part)
		sqlite3_bind_int(stmt, 7, s->part);
	sqlite3_bind_text(stmt, 8, now, -1, SQLITE_STATIC);
	if (agreement_step(st, stmt, id, "updating the item", err) != 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return lm_errf(err, "ITEM: agreement %s has no item %s", id, item);
	return 0;
}

int agreement_item_resolve(struct store *st, const char *id, const char *arg, char *agreement,
			   size_t cap, char item[17], lm_err *err)
{
	sqlite3_stmt *stmt;
	size_t i, len = strlen(arg);
	int rc, found = 0;

	for (i = 0; i < len; i++)
		if (!((arg[i] >= '0' && arg[i] <= '9') || (arg[i] >= 'a' && arg[i] <= 'f')))
			break;
	if (len < AGREEMENT_ITEM_MIN || len > 16 || i < len)
		return lm_errf(err,
			       "ITEM: '%s' is not an item id: give its 16 hex digits or the first 4 "
			       "or more (`lmsync agreement item list`)",
			       arg);
	if (store_prepare(st,
			  "SELECT agreement, id FROM lm_agreement_item WHERE substr(id, 1, "
			  "length(?1)) = ?1 AND (?2 IS NULL OR agreement = ?2) ORDER BY agreement, id",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC);
	if (id)
		sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (found++ == 0) {
			if (agreement)
				dom_col_text(stmt, 0, agreement, cap);
			dom_col_text(stmt, 1, item, 17);
		}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading items: %s", st->path, sqlite3_errmsg(st->db));
	if (found == 0)
		return lm_errf(err, "ITEM: no item '%s'%s%s here; `lmsync agreement item list` "
				    "shows them",
			       arg, id ? " in agreement " : "", id ? id : "");
	if (found > 1)
		return lm_errf(err, "ITEM: '%s' begins %d item ids; give more of it", arg, found);
	return 0;
}

#define ITEM_COLS "agreement, id, part, what, responsible, due, status, updated_at"

static int walk_items(struct store *st, sqlite3_stmt *stmt, int with_days, agreement_item_cb cb,
		      void *ctx, lm_err *err)
{
	struct agreement_item it;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&it, 0, sizeof(it));
		dom_col_text(stmt, 0, it.agreement, sizeof(it.agreement));
		dom_col_text(stmt, 1, it.id, sizeof(it.id));
		it.part = sqlite3_column_int(stmt, 2);
		dom_col_text(stmt, 3, it.what, sizeof(it.what));
		dom_col_text(stmt, 4, it.responsible, sizeof(it.responsible));
		dom_col_text(stmt, 5, it.due, sizeof(it.due));
		dom_col_text(stmt, 6, it.status, sizeof(it.status));
		dom_col_text(stmt, 7, it.updated_at, sizeof(it.updated_at));
		if (with_days)
			it.days_overdue = (long)sqlite3_column_int64(stmt, 8);
		if (cb(&it, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading items: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

int agreement_items(struct store *st, const char *id, const char *status, agreement_item_cb cb,
		    void *ctx, lm_err *err)
{
	sqlite3_stmt *stmt;
	const char *s = NULL;

	if (status && (s = dom_enum_parse(&dom_item_status, "--status", status, err)) == NULL)
		return -1;
	if (store_prepare(st,
			  "SELECT " ITEM_COLS " FROM lm_agreement_item WHERE (?1 IS NULL OR "
			  "agreement = ?1) AND (?2 IS NULL OR status = ?2) ORDER BY agreement, due, id",
			  &stmt, err) != 0)
		return -1;
	if (id)
		sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	if (s)
		sqlite3_bind_text(stmt, 2, s, -1, SQLITE_STATIC);
	return walk_items(st, stmt, 0, cb, ctx, err);
}

int agreement_overdue(struct store *st, const char *id, const char *date, agreement_item_cb cb,
		      void *ctx, lm_err *err)
{
	sqlite3_stmt *stmt;

	if (dom_check_date("--date", date, err) != 0)
		return -1;
	/* Whole days between the dates: julianday of two midnights differs by
	 * an exact integer, so the cast truncates nothing. */
	if (store_prepare(st,
			  "SELECT " ITEM_COLS ", CAST(julianday(?2) - julianday(due) AS INTEGER) "
			  "FROM lm_agreement_item WHERE (?1 IS NULL OR agreement = ?1) AND due < ?2 "
			  "AND status IS NOT 'fullført' ORDER BY agreement, CASE responsible WHEN "
			  "'helseforetak' THEN 0 WHEN 'kommune' THEN 1 ELSE 2 END, due, id",
			  &stmt, err) != 0)
		return -1;
	if (id)
		sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, date, -1, SQLITE_STATIC);
	return walk_items(st, stmt, 1, cb, ctx, err);
}

int agreement_note_add(struct store *st, const char *id, const char *item, const char *kind,
		       const char *body, char note[17], lm_err *err)
{
	const char *k = dom_enum_parse(&dom_note_kind, "kind", kind, err);
	char me[65], now[32], found[17];
	sqlite3_stmt *stmt;

	if (k == NULL || dom_check_text("TEXT", body, DOM_TEXT_LONG, 1, 1, err) != 0 ||
	    agreement_need(st, id, NULL, err) != 0 ||
	    (item && agreement_item_resolve(st, id, item, NULL, 0, found, err) != 0) ||
	    agreement_need_role(st, id, ROLE_MEMBER, err) != 0 || domain_site_hex(st, me, err) != 0)
		return -1;
	dom_new_id(note);
	agreement_now_ms(now);
	if (store_prepare(st,
			  "INSERT INTO lm_agreement_note(author, id, scope, item, kind, body, at) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, me, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, note, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, id, -1, SQLITE_STATIC);
	if (item)
		sqlite3_bind_text(stmt, 4, found, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, k, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, now, -1, SQLITE_STATIC);
	return agreement_step(st, stmt, id, "writing the note", err);
}

int agreement_notes(struct store *st, const char *id, int limit, agreement_note_cb cb, void *ctx,
		    lm_err *err)
{
	struct agreement_note n;
	sqlite3_stmt *stmt;
	int rc;

	/* The last `limit` in time order: newest first inside, oldest first out;
	 * notes of one millisecond in the order this store got them. */
	if (store_prepare(st,
			  "SELECT * FROM (SELECT author, id, scope, item, kind, body, at, rowid AS rid "
			  "FROM lm_agreement_note WHERE scope = ?1 ORDER BY at DESC, rowid DESC "
			  "LIMIT ?2) ORDER BY at, rid",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		dom_col_text(stmt, 0, n.author, sizeof(n.author));
		dom_col_text(stmt, 1, n.id, sizeof(n.id));
		dom_col_text(stmt, 2, n.agreement, sizeof(n.agreement));
		dom_col_text(stmt, 3, n.item, sizeof(n.item));
		dom_col_text(stmt, 4, n.kind, sizeof(n.kind));
		dom_col_text(stmt, 5, n.body, sizeof(n.body));
		dom_col_text(stmt, 6, n.at, sizeof(n.at));
		if (cb(&n, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading notes: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}
