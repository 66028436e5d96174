/* SPDX-License-Identifier: MIT */
/* Reading agreements, their parties and delavtaler (see agreement.h). */
#include <stdio.h>
#include <string.h>

#include "domain/agreement.h"
#include "domain/agreement_int.h"

#define AGREEMENT_COLS                                                                             \
	"id, title, hf, period_from, period_to, status, next_review, updated_at FROM lm_agreement"

static void read_agreement(sqlite3_stmt *stmt, struct agreement *a)
{
	memset(a, 0, sizeof(*a));
	dom_col_text(stmt, 0, a->id, sizeof(a->id));
	dom_col_text(stmt, 1, a->title, sizeof(a->title));
	dom_col_text(stmt, 2, a->hf, sizeof(a->hf));
	dom_col_text(stmt, 3, a->from, sizeof(a->from));
	dom_col_text(stmt, 4, a->to, sizeof(a->to));
	dom_col_text(stmt, 5, a->status, sizeof(a->status));
	dom_col_text(stmt, 6, a->next_review, sizeof(a->next_review));
	dom_col_text(stmt, 7, a->updated_at, sizeof(a->updated_at));
}

int agreement_get(struct store *st, const char *id, struct agreement *a, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(a, 0, sizeof(*a));
	if (store_prepare(st, "SELECT " AGREEMENT_COLS " WHERE id = ?", &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		read_agreement(stmt, a);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading agreements: %s", st->path, sqlite3_errmsg(st->db));
	return rc == SQLITE_ROW;
}

int agreement_list(struct store *st, agreement_cb cb, void *ctx, lm_err *err)
{
	struct agreement a;
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st, "SELECT " AGREEMENT_COLS " ORDER BY id", &stmt, err) != 0)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		read_agreement(stmt, &a);
		if (cb(&a, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading agreements: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

int agreement_resolve(struct store *st, const char *arg, char *id, size_t cap, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc, found = 0, best = -1;

	if (arg[0] == '\0')
		return lm_errf(err, "A: give an agreement's id or NAME (`lmsync agreement list`)");
	/* The closest kind of match wins: the whole id, then the NAME part, then a
	 * prefix; within the kind that wins, it must name one agreement. */
	if (store_prepare(st,
			  "SELECT id, CASE WHEN id = ?1 THEN 0 WHEN instr(?1, '@') = 0 AND "
			  "substr(id, 1, instr(id, '@') - 1) = ?1 THEN 1 ELSE 2 END AS how FROM "
			  "lm_agreement WHERE id = ?1 OR substr(id, 1, length(?1)) = ?1 ORDER BY how, "
			  "id",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int how = sqlite3_column_int(stmt, 1);

		if (best >= 0 && how != best) {
			rc = SQLITE_DONE;
			break;
		}
		if (found++ == 0)
			snprintf(id, cap, "%s", (const char *)sqlite3_column_text(stmt, 0));
		best = how;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading agreements: %s", st->path, sqlite3_errmsg(st->db));
	if (found == 1)
		return 0;
	if (found == 0)
		return lm_errf(err,
			       "no agreement '%s' here; `lmsync agreement list` shows the agreements "
			       "this site is party to",
			       arg);
	return lm_errf(err, "'%s' names %d agreements here; give the whole id (`lmsync agreement "
			    "list`)",
		       arg, found);
}

int agreement_parties(struct store *st, const char *id, agreement_party_cb cb, void *ctx,
		      lm_err *err)
{
	struct agreement_party p;
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st,
			  "SELECT org, role, contact FROM lm_agreement_party WHERE agreement = ? "
			  "ORDER BY CASE role WHEN 'helseforetak' THEN 0 WHEN 'kommune' THEN 1 ELSE 2 "
			  "END, org",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		dom_col_text(stmt, 0, p.org, sizeof(p.org));
		dom_col_text(stmt, 1, p.role, sizeof(p.role));
		dom_col_text(stmt, 2, p.contact, sizeof(p.contact));
		if (cb(&p, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading parties: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

int agreement_parts(struct store *st, const char *id, agreement_part_cb cb, void *ctx,
		    lm_err *err)
{
	struct agreement_part p;
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st,
			  "SELECT number, title, status, next_review FROM lm_agreement_part WHERE "
			  "agreement = ? ORDER BY number",
			  &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		p.number = sqlite3_column_int(stmt, 0);
		dom_col_text(stmt, 1, p.title, sizeof(p.title));
		dom_col_text(stmt, 2, p.status, sizeof(p.status));
		dom_col_text(stmt, 3, p.next_review, sizeof(p.next_review));
		if (cb(&p, ctx) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading delavtaler: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

