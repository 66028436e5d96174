/* SPDX-License-Identifier: MIT */
/* Merging change sets; see merge.h for the invariants.
 *
 * For each change set, in the order given: decode; place it against the
 * version vector (duplicate, fork, gap or next); authenticate it (the
 * signature of the last member of its consecutive run and the hash links,
 * or its own signature when the run does not verify as a whole); observe its
 * clock (or hold it back); check every row against the write policies
 * (or quarantine it); apply its rows; append it to the log.
 */
#include "store/merge.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hlc.h"
#include "proto/siteid.h"
#include "store/clock.h"
#include "store/cslog.h"
#include "store/registry.h"
#include "store/rowkey.h"

struct merging {
	struct store *st;
	const struct merge_options *opt;
	struct hlc clock;
	struct table_cache tables;
	struct changeset *cs; /* decoded batch; cs[i].body NULL when undecodable */
	int *verified;	      /* 1 when cs[i] is authenticated */
	size_t n;
};

const char *merge_result_name(enum merge_result r)
{
	static const char *const names[] = {"applied",	"duplicate",   "gap",
					    "rejected", "quarantined", "held"};

	return (unsigned)r <= MERGE_HELD ? names[r] : "?";
}

static int outcome(struct merge_outcome *o, enum merge_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int outcome(struct merge_outcome *o, enum merge_result r, const char *fmt, ...)
{
	va_list ap;

	o->result = r;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* ---- applying rows ---------------------------------------------------- */

static int exec_bound(struct store *st, const char *sql, const struct rowkey *k, int first,
		      const struct cs_value *extra, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	if (extra)
		cs_value_bind(stmt, 1, extra);
	rowkey_bind(stmt, first, k);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

static void where_key(char *sql, size_t cap, size_t *n, const struct repl_table *t, int first)
{
	int i;

	for (i = 0; i < t->npk; i++)
		*n += (size_t)snprintf(sql + *n, cap - *n, "%s\"%s\" = ?%d", i ? " AND " : "",
				       t->cols[i], first + i);
}

static int row_delete(struct store *st, const struct repl_table *t, const struct rowkey *k,
		      lm_err *err)
{
	char sql[2048];
	size_t n = (size_t)snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE ", t->name);

	where_key(sql, sizeof(sql), &n, t, 1);
	return exec_bound(st, sql, k, 1, NULL, err);
}

/* Make sure the row exists, with its key and scope, before columns land. */
static int row_ensure(struct store *st, const struct repl_table *t, const struct rowkey *k,
		      const char *scope, lm_err *err)
{
	char sql[2048];
	struct cs_value sv = {CS_TEXT, 0, 0, (const uint8_t *)scope, strlen(scope)};
	size_t n = (size_t)snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO \"%s\"(\"%s\"",
				    t->name, t->cols[t->scope_col]);
	int i;

	for (i = 0; i < t->npk; i++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", \"%s\"", t->cols[i]);
	n += (size_t)snprintf(sql + n, sizeof(sql) - n, ") VALUES (?1");
	for (i = 0; i < t->npk; i++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", ?%d", i + 2);
	snprintf(sql + n, sizeof(sql) - n, ")");
	return exec_bound(st, sql, k, 2, &sv, err);
}

static int column_set(struct store *st, const struct repl_table *t, const struct rowkey *k,
		      const char *col, const struct cs_value *v, lm_err *err)
{
	char sql[2048];
	size_t n = (size_t)snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET \"%s\" = ?1 WHERE ",
				    t->name, col);

	where_key(sql, sizeof(sql), &n, t, 2);
	return exec_bound(st, sql, k, 2, v, err);
}

static int scope_set(struct store *st, const struct repl_table *t, const struct rowkey *k,
		     const char *scope, lm_err *err)
{
	struct cs_value sv = {CS_TEXT, 0, 0, (const uint8_t *)scope, strlen(scope)};

	return column_set(st, t, k, t->cols[t->scope_col], &sv, err);
}

/* Keep a value that lost on arrival. Only those count: a value overwritten
 * here by a newer write may simply have been edited after it was seen, and
 * sequential edits are no conflict. Each losing value is thus recorded at
 * every site that held the winner before it arrived (the winner's origin
 * among them). */
static int conflict_record(struct store *st, const struct rowkey *k, const char *col,
			   const struct cs_value *loser, uint64_t loser_hlc,
			   const uint8_t *loser_origin, uint64_t winner_hlc,
			   const uint8_t *winner_origin, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO conflict(tbl, pk, col, loser_value, loser_hlc, "
			       "loser_origin, winner_hlc, winner_origin) VALUES (?,?,?,?,?,?,?,?)",
			       -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_text(stmt, 1, k->table, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, k->json, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, col, -1, SQLITE_TRANSIENT);
	cs_value_bind(stmt, 4, loser);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)loser_hlc);
	sqlite3_bind_blob(stmt, 6, loser_origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, (sqlite3_int64)winner_hlc);
	sqlite3_bind_blob(stmt, 8, winner_origin, CS_KEY_LEN, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: recording a conflict: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

static int col_index(const struct repl_table *t, const struct cs_col *c)
{
	int i;

	for (i = t->npk; i < t->ncols; i++)
		if (strlen(t->cols[i]) == c->name_len &&
		    memcmp(t->cols[i], c->name, c->name_len) == 0 && i != t->scope_col)
			return i;
	return -1;
}

/* Per-column last-writer-wins at one causal length. */
static int merge_column(struct merging *m, const struct repl_table *t, const struct rowkey *k,
			const struct cs_row *row, const struct cs_col *c,
			const struct changeset *cs, lm_err *err)
{
	uint8_t origin[CS_KEY_LEN];
	uint64_t cl = 0, hlc = 0;
	int i = col_index(t, c), found, wins;

	found = rowkey_get_clock(m->st, k, t->cols[i], &cl, &hlc, origin, err);
	if (found < 0)
		return -1;
	/* A write at an older causal length belongs to a deleted incarnation. */
	if (!found || cl < row->cl)
		wins = 1;
	else if (hlc == cs->h.hlc && memcmp(origin, cs->h.origin, CS_KEY_LEN) == 0)
		return 0; /* the same write, seen again */
	else
		wins = cs->h.hlc > hlc ||
		       (cs->h.hlc == hlc && memcmp(cs->h.origin, origin, CS_KEY_LEN) > 0);
	if (!wins)
		return conflict_record(m->st, k, t->cols[i], &c->value, cs->h.hlc, cs->h.origin,
				       hlc, origin, err);
	if (column_set(m->st, t, k, t->cols[i], &c->value, err) != 0)
		return -1;
	return rowkey_set_clock(m->st, k, t->cols[i], row->cl, cs->h.hlc, cs->h.origin, err);
}

static int local_causal_length(struct store *st, const struct rowkey *k, uint64_t *cl, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	*cl = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT cl FROM repl_row WHERE tbl = ? AND pk = ?", -1,
			       &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_text(stmt, 1, k->table, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, k->json, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*cl = (uint64_t)sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
						     : lm_errf(err, "%s", sqlite3_errmsg(st->db));
}

static int set_causal_length(struct store *st, const struct rowkey *k, uint64_t cl,
			     const char *scope, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO repl_row(tbl, pk, cl, scope) VALUES (?, ?, ?, ?) "
			       "ON CONFLICT (tbl, pk) DO UPDATE SET cl = excluded.cl, "
			       "scope = excluded.scope",
			       -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_text(stmt, 1, k->table, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, k->json, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)cl);
	sqlite3_bind_text(stmt, 4, scope, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
}

/* Values sent for an incarnation that a delete here has already ended lose. */
static int record_stale(struct merging *m, const struct repl_table *t, const struct rowkey *k,
			const struct cs_row *row, const struct changeset *cs, lm_err *err)
{
	static const uint8_t nobody[CS_KEY_LEN];
	size_t i;

	for (i = 0; i < row->ncols; i++) {
		int c = col_index(t, &row->cols[i]);

		if (conflict_record(m->st, k, t->cols[c], &row->cols[i].value, cs->h.hlc,
				    cs->h.origin, 0, nobody, err) != 0)
			return -1;
	}
	return 0;
}

/* The row's scope at its causal length is a last-writer-wins register:
 * the write with the highest (hlc, origin) sets it, in any arrival order.
 * A new incarnation (fresh) takes the change set's scope outright. */
static int merge_scope(struct merging *m, const struct repl_table *t, const struct rowkey *k,
		       const struct cs_row *row, const struct changeset *cs, int fresh, lm_err *err)
{
	char scope[CS_SCOPE_MAX + 1];
	uint8_t origin[CS_KEY_LEN];
	uint64_t hlc = 0;
	int found, rc;

	found = rowkey_get_scope(m->st, k, scope, sizeof(scope), &hlc, origin, err);
	if (found < 0)
		return -1;
	if (!fresh && found &&
	    (hlc > cs->h.hlc ||
	     (hlc == cs->h.hlc && memcmp(origin, cs->h.origin, CS_KEY_LEN) >= 0)))
		return 0;
	rc = rowkey_set_scope_clock(m->st, k, cs->h.hlc, cs->h.origin, err);
	if (rc == 0 && strcmp(scope, cs->h.scope) != 0)
		rc = set_causal_length(m->st, k, row->cl, cs->h.scope, err);
	if (rc == 0 && row->cl % 2 == 1 && (fresh || strcmp(scope, cs->h.scope) != 0)) {
		rc = row_ensure(m->st, t, k, cs->h.scope, err);
		if (rc == 0)
			rc = scope_set(m->st, t, k, cs->h.scope, err);
	}
	return rc;
}

static int merge_row(struct merging *m, const struct changeset *cs, const struct cs_row *row,
		     lm_err *err)
{
	char name[CS_NAME_MAX + 1];
	const struct repl_table *t;
	struct rowkey k;
	uint64_t local;
	size_t i;
	int rc;

	snprintf(name, sizeof(name), "%.*s", (int)row->table_len, row->table);
	t = table_cache_get(&m->tables, m->st, name, err);
	if (t == NULL ||
	    rowkey_from_values(m->st, &k, row->table, row->table_len, row->pk, row->npk, err) != 0)
		return -1;
	rc = local_causal_length(m->st, &k, &local, err);
	if (rc == 0 && row->cl < local)
		rc = record_stale(m, t, &k, row, cs, err);
	else if (rc == 0 && row->cl > local)
		rc = set_causal_length(m->st, &k, row->cl, cs->h.scope, err);
	if (rc == 0 && row->cl >= local)
		rc = merge_scope(m, t, &k, row, cs, row->cl > local, err);
	if (rc == 0 && row->cl >= local && row->cl % 2 == 0 && row->cl > local)
		rc = row_delete(m->st, t, &k, err);
	if (rc == 0 && row->cl >= local && row->cl % 2 == 1) {
		for (i = 0; rc == 0 && i < row->ncols; i++)
			rc = merge_column(m, t, &k, row, &row->cols[i], cs, err);
	}
	rowkey_free(&k);
	return rc;
}

/* ---- checking --------------------------------------------------------- */

/* Every rule here depends only on the change set and on the registry, so
 * every site reaches the same verdict whatever else it has received. */
static int check_policy(struct merging *m, const struct changeset *cs, char *why, size_t cap)
{
	char name[CS_NAME_MAX + 1], hex[2 * CS_KEY_LEN + 1];
	const struct repl_table *t;
	size_t r, c;
	lm_err err;

	sodium_bin2hex(hex, sizeof(hex), cs->h.origin, CS_KEY_LEN);
	for (r = 0; r < cs->nrows; r++) {
		const struct cs_row *row = &cs->rows[r];

		snprintf(name, sizeof(name), "%.*s", (int)row->table_len, row->table);
		t = table_cache_get(&m->tables, m->st, name, &err);
		if (t == NULL)
			return snprintf(why, cap, "row %zu: table '%s' is not replicated here", r,
					name),
			       -1;
		if ((int)row->npk != t->npk)
			return snprintf(why, cap, "row %zu: %s has a key of %d values, not %zu", r,
					name, t->npk, row->npk),
			       -1;
		for (c = 0; c < row->ncols; c++)
			if (col_index(t, &row->cols[c]) < 0)
				return snprintf(why, cap, "row %zu: %s has no column '%.*s'", r,
						name, (int)row->cols[c].name_len,
						row->cols[c].name),
				       -1;
		if (t->policy == POLICY_OWNER &&
		    (row->pk[0].type != CS_TEXT || row->pk[0].len != 2 * CS_KEY_LEN ||
		     memcmp(row->pk[0].p, hex, 2 * CS_KEY_LEN) != 0))
			return snprintf(why, cap,
					"row %zu: %s rows belong to the site named in their key, "
					"and this one is not the origin's",
					r, name),
			       -1;
	}
	return 0;
}

/* ---- placing and authenticating -------------------------------------- */

/* Authenticate cs[i]: verify the run it starts, or itself alone. */
static int authenticate(struct merging *m, size_t i, const uint8_t head_hash[CS_HASH_LEN],
			char *why, size_t cap)
{
	const struct changeset *run[256];
	size_t j, len = 1;
	lm_err err;

	if (m->verified[i])
		return 0;
	run[0] = &m->cs[i];
	for (j = i + 1; j < m->n && len < 256; j++) {
		const struct changeset *a = run[len - 1], *b = &m->cs[j];

		if (b->body == NULL || memcmp(a->h.origin, b->h.origin, CS_KEY_LEN) != 0 ||
		    strcmp(a->h.scope, b->h.scope) != 0 || b->h.seq != a->h.seq + 1)
			break;
		run[len++] = b;
	}
	if (changeset_verify_run(run, len, head_hash, &err) == 0) {
		for (j = 0; j < len; j++)
			m->verified[i + j] = 1;
		return 0;
	}
	/* The run as a whole failed: judge this one on its own. */
	if (changeset_verify_run(run, 1, head_hash, &err) == 0)
		return m->verified[i] = 1, 0;
	snprintf(why, cap, "%s", err.msg);
	return -1;
}

/* Where cs sits against the log: 0 next, else the outcome is filled. */
static int place(struct merging *m, const struct changeset *cs, uint8_t head_hash[CS_HASH_LEN],
		 struct merge_outcome *o, lm_err *err)
{
	uint8_t held[CS_HASH_LEN];
	uint64_t head;
	int found;

	if (cslog_head(m->st, cs->h.origin, cs->h.scope, &head, head_hash, err) != 0)
		return -1;
	if (cs->h.seq == head + 1)
		return 0;
	if (cs->h.seq > head + 1)
		return outcome(o, MERGE_GAP, "holds up to %llu; %llu comes first",
			       (unsigned long long)head, (unsigned long long)head + 1),
		       1;
	found = cslog_hash_at(m->st, cs->h.origin, cs->h.scope, cs->h.seq, held, err);
	if (found < 0)
		return -1;
	if (found && sodium_memcmp(held, cs->hash, CS_HASH_LEN) == 0)
		return outcome(o, MERGE_DUPLICATE, "already held"), 1;
	return outcome(o, MERGE_REJECTED,
		       "fork: another change set %llu of this origin and scope is already held; "
		       "the origin has forked its history",
		       (unsigned long long)cs->h.seq),
	       1;
}

static int hold(struct store *st, const struct changeset *cs, const uint8_t *env, size_t len,
		const char *reason, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR REPLACE INTO held(origin, scope, seq, envelope, reason) "
			       "VALUES (?, ?, ?, ?, ?)",
			       -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_blob(stmt, 1, cs->h.origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, cs->h.scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)cs->h.seq);
	sqlite3_bind_blob(stmt, 4, env, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
}

static int unhold(struct store *st, const struct changeset *cs, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "DELETE FROM held WHERE origin = ? AND scope = ? AND seq = ?", -1,
			       &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_blob(stmt, 1, cs->h.origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, cs->h.scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)cs->h.seq);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
}

static int quarantine(struct store *st, const struct changeset *cs, const uint8_t *env, size_t len,
		      const char *reason, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR REPLACE INTO quarantine(origin, scope, seq, envelope, "
			       "reason) VALUES (?, ?, ?, ?, ?)",
			       -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_blob(stmt, 1, cs->h.origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, cs->h.scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)cs->h.seq);
	sqlite3_bind_blob(stmt, 4, env, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
}

static int merge_one(struct merging *m, size_t i, const uint8_t *env, size_t len,
		     struct merge_outcome *o, lm_err *err)
{
	struct changeset *cs = &m->cs[i];
	uint8_t head_hash[CS_HASH_LEN];
	char why[LM_ERR_MAX];
	size_t r;
	lm_err skew;
	int rc;

	memcpy(o->origin, cs->h.origin, CS_KEY_LEN);
	snprintf(o->scope, sizeof(o->scope), "%s", cs->h.scope);
	o->seq = cs->h.seq;
	/* Whatever becomes of it now, it is no longer held (hold() puts it back). */
	if (unhold(m->st, cs, err) != 0)
		return -1;
	rc = place(m, cs, head_hash, o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (authenticate(m, i, head_hash, why, sizeof(why)) != 0)
		return outcome(o, MERGE_REJECTED, "%s", why);
	if (hlc_observe(&m->clock, cs->h.hlc, m->opt->now_ms, m->opt->max_skew_ms, &skew) != 0) {
		outcome(o, MERGE_HELD, "%s", skew.msg);
		return hold(m->st, cs, env, len, skew.msg, err);
	}
	if (check_policy(m, cs, why, sizeof(why)) != 0) {
		outcome(o, MERGE_QUARANTINED, "%s", why);
		if (quarantine(m->st, cs, env, len, why, err) != 0)
			return -1;
	} else {
		outcome(o, MERGE_APPLIED, "%s", "");
		for (r = 0; r < cs->nrows; r++)
			if (merge_row(m, cs, &cs->rows[r], err) != 0)
				return -1;
	}
	return cslog_append(m->st, &cs->h, cs->hash, env, len, err);
}

static void release(struct merging *m)
{
	size_t i;

	for (i = 0; m->cs && i < m->n; i++)
		if (m->cs[i].body)
			changeset_free(&m->cs[i]);
	free(m->cs);
	free(m->verified);
	table_cache_free(&m->tables);
}

static int merge_all(struct merging *m, const uint8_t *const *envelopes, const size_t *lens,
		     struct merge_outcome *out, lm_err *err)
{
	size_t i;
	lm_err bad;

	for (i = 0; i < m->n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		if (changeset_decode(envelopes[i], lens[i], &m->cs[i], &bad) != 0) {
			memset(&m->cs[i], 0, sizeof(m->cs[i]));
			outcome(&out[i], MERGE_REJECTED, "%s", bad.msg);
		}
	}
	for (i = 0; i < m->n; i++)
		if (m->cs[i].body && merge_one(m, i, envelopes[i], lens[i], &out[i], err) != 0)
			return -1;
	return 0;
}

static int seal_first(struct store *st, const struct merge_options *opt, lm_err *err)
{
	int pending = seal_has_pending(st, err), count;

	if (pending <= 0)
		return pending;
	if (opt->seal == NULL)
		return lm_errf(err, "local changes wait to be sealed; seal them before merging");
	return seal_pending_locked(st, opt->seal, opt->now_ms, &count, err);
}

int merge_batch(struct store *st, const uint8_t *const *envelopes, const size_t *lens, size_t n,
		const struct merge_options *opt, struct merge_outcome *out, lm_err *err)
{
	struct merging m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.st = st;
	m.opt = opt;
	m.n = n;
	m.cs = calloc(n ? n : 1, sizeof(*m.cs));
	m.verified = calloc(n ? n : 1, sizeof(*m.verified));
	if (m.cs == NULL || m.verified == NULL) {
		release(&m);
		return lm_errf(err, "out of memory merging %zu change sets", n);
	}
	rc = store_exec(st, "BEGIN IMMEDIATE", err);
	if (rc == 0)
		rc = seal_first(st, opt, err);
	if (rc == 0)
		rc = store_exec(st, "INSERT INTO repl_applying VALUES (1)", err);
	if (rc == 0)
		rc = clock_load(st, &m.clock, err);
	if (rc == 0)
		rc = merge_all(&m, envelopes, lens, out, err);
	if (rc == 0)
		rc = clock_save(st, &m.clock, err);
	if (rc == 0)
		rc = store_exec(st, "DELETE FROM repl_applying; COMMIT", err);
	if (rc != 0)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	release(&m);
	return rc;
}

/* Held change sets, loaded whole: there are few, and they are small. */
struct held_list {
	uint8_t **env;
	size_t *len;
	size_t n;
};

static void held_free(struct held_list *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->env[i]);
	free(h->env);
	free(h->len);
}

static int held_load(struct store *st, struct held_list *h, lm_err *err)
{
	sqlite3_stmt *stmt;
	size_t cap = 0;
	int rc;

	memset(h, 0, sizeof(*h));
	if (sqlite3_prepare_v2(st->db, "SELECT envelope FROM held ORDER BY origin, scope, seq", -1,
			       &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(stmt, 0);

		if (h->n == cap) {
			void *e, *l;

			cap = cap ? 2 * cap : 8;
			e = realloc(h->env, cap * sizeof(*h->env));
			if (e != NULL)
				h->env = e;
			l = realloc(h->len, cap * sizeof(*h->len));
			if (l != NULL)
				h->len = l;
			if (e == NULL || l == NULL)
				break;
		}
		h->env[h->n] = malloc(len ? len : 1);
		if (h->env[h->n] == NULL)
			break;
		memcpy(h->env[h->n], sqlite3_column_blob(stmt, 0), len);
		h->len[h->n++] = len;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		held_free(h);
		return lm_errf(err, "%s: reading held change sets failed", st->path);
	}
	return 0;
}

int merge_retry_held(struct store *st, const struct merge_options *opt, int *applied, lm_err *err)
{
	struct held_list h;
	struct merge_outcome o;
	size_t i;
	int rc = 0;

	*applied = 0;
	if (held_load(st, &h, err) != 0)
		return -1;
	/* In (origin, scope, seq) order, so each one finds its predecessor in. */
	for (i = 0; rc == 0 && i < h.n; i++) {
		const uint8_t *env = h.env[i];

		rc = merge_batch(st, &env, &h.len[i], 1, opt, &o, err);
		*applied += rc == 0 && o.result == MERGE_APPLIED;
	}
	held_free(&h);
	return rc;
}
