/* SPDX-License-Identifier: MIT */
/* The table registry: which tables replicate, and their capture triggers.
 *
 * A replicated table has a primary key of stable ids (never rowid), a scope
 * column naming the scope each row belongs to, and a write policy:
 *
 *   owner  the first key column holds the owning site's id (64 hex digits);
 *          only that site may write the row. Checked from the change set
 *          alone, so every site decides the same, in any delivery order.
 *   scope  any site of the row's scope may write it.
 *   admin  the scope's administrators (member.h); the first key column
 *          names the scope the row lives in. lm_member has it.
 *
 * In a governed scope (NAME@ROOT, member.h) the writer must also hold a
 * writing role there, whatever the policy.
 *
 * Registering installs AFTER INSERT/UPDATE/DELETE triggers that record each
 * change in repl_capture and keep the row's causal length in repl_row, in
 * the writer's own transaction, whoever the writer is (lmsync, the sqlite3
 * shell, anything). The triggers stay quiet while a merge applies remote
 * changes (repl_applying), refuse changes to a row's key or scope, and
 * refuse a row whose scope is not text of 1 to CS_SCOPE_MAX bytes (it could
 * never be sealed, and would hold up every capture after it).
 * A trigger of the user's own on a replicated table sees merged rows too;
 * one guarded like the capture triggers, by "WHEN NOT EXISTS (SELECT 1 FROM
 * repl_applying)", stays quiet during merges (store/mergehook.h).
 *
 * Every non-key column must be nullable or have a default: a merge may
 * create a row from an update before the insert that made it elsewhere.
 */
#ifndef LMSYNC_STORE_REGISTRY_H
#define LMSYNC_STORE_REGISTRY_H

#include "store/store.h"

enum repl_policy { POLICY_OWNER, POLICY_SCOPE, POLICY_ADMIN };

#define REGISTRY_MAX_COLS 64
#define REGISTRY_ROW_MAX  50000 /* bytes of values in one row, so it fits a change set */

/* A replicated table as the merge needs it. */
struct repl_table {
	char name[64];
	char cols[REGISTRY_MAX_COLS][64]; /* key columns first, in key order */
	int ncols, npk;
	int scope_col; /* index into cols */
	enum repl_policy policy;
};

/* Register table (which must exist) for replication. pk_cols is the
 * comma-separated key, scope_col the scope column. Idempotent: registering
 * again re-installs the triggers (after a schema change, for instance). */
int registry_add(struct store *st, const char *table, const char *pk_cols, const char *scope_col,
		 enum repl_policy policy, lm_err *err);

/* Re-install the triggers of every registered table (after a migration). */
int registry_reinstall_all(struct store *st, lm_err *err);

/* Load a registered table's description; 0 when found, -1 otherwise. */
int registry_get(struct store *st, const char *table, struct repl_table *t, lm_err *err);
/* The same, telling apart a table not registered (0) from a failure (-1);
 * 1 when found. */
int registry_find(struct store *st, const char *table, struct repl_table *t, lm_err *err);

const char *repl_policy_name(enum repl_policy policy);
int repl_policy_parse(const char *s, enum repl_policy *policy, lm_err *err);

#endif
