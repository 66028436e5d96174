/* SPDX-License-Identifier: MIT */
/* Scope membership: who may write, and who receives, each scope.
 *
 * A governed scope has an id of the form NAME@ROOT, ROOT being the 64
 * lowercase hex digits of the site that created it: the id itself says who
 * its first administrator is, so no site can claim another's scope. Every
 * other member is granted by an administrator in lm_member, a replicated
 * table (policy admin) whose rows live in the scope they grant, so exactly
 * the scope's members (and relays) hold its member list:
 *
 *   of_scope  the scope granted (key; equal to the row's scope)
 *   member    the site, 64 lowercase hex digits (key)
 *   role      admin   writes the scope's rows and its member list
 *             member  writes the scope's rows (within the tables' policies)
 *             reader  receives the scope, writes nothing
 *             relay   a hub: stores and forwards, writes nothing
 *
 * A change set in a governed scope is applied only when its origin holds a
 * writing role there (admin for lm_member rows); otherwise it is held back,
 * and tried again when the member list changes, since the grant may simply
 * not have arrived yet. Scope ids without @ROOT are open: only the table
 * policies apply.
 *
 * A removal deletes the member row. The row's state (repl_row: an even
 * causal length, and the clock of the write that set its scope register)
 * outlives it, so a store can say which change set of its log removed a
 * site: the sync engine sends the removed site the scope up to and including
 * that change set, so it learns of its removal (member_removal). See
 * docs/DECISIONS.md for what removal does and does not guarantee.
 */
#ifndef LMSYNC_STORE_MEMBER_H
#define LMSYNC_STORE_MEMBER_H

#include <stdint.h>

#include "proto/changeset.h"
#include "store/store.h"

#define MEMBER_TABLE "lm_member"

enum member_role { ROLE_NONE, ROLE_RELAY, ROLE_READER, ROLE_MEMBER, ROLE_ADMIN };

/* 1 and root filled when scope is governed (NAME@ROOT), 0 when open. */
int scope_root(const char *scope, uint8_t root[CS_KEY_LEN]);

/* The role site holds in scope: admin for the root, else what lm_member
 * says (ROLE_NONE when nothing). Returns 0, or -1 on a store error. */
int member_role(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN],
		enum member_role *role, lm_err *err);

const char *member_role_name(enum member_role role);

/* Parse admin, member, reader or relay (never ROLE_NONE). */
int member_role_parse(const char *s, enum member_role *role, lm_err *err);

/* This site's governed scope named name: NAME@ followed by this site's id in
 * hex, into out (cap >= CS_SCOPE_MAX + 1). name needs 1 byte or more, no '@'
 * and the characters any scope id allows, and must leave the whole id within
 * CS_SCOPE_MAX. Writes nothing: a scope exists once a row is written in it. */
int member_scope_make(struct store *st, const char *name, char *out, size_t cap, lm_err *err);

/* Give site role (not ROLE_NONE) in the governed scope, or change its role,
 * by writing its lm_member row in a transaction of its own (inside the
 * caller's, as a savepoint, when one is open). It is an
 * ordinary write: the capture triggers record it for replication and refuse
 * it unless this site is an administrator of the scope, which the message
 * then says. The root's role cannot be set: it is always admin. Returns 1
 * when written, 0 when site held that role already (nothing written), -1 on
 * error. */
int member_set(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN],
	       enum member_role role, lm_err *err);

/* Take site's role in scope away (delete its row, replicated the same way).
 * Returns 1 when removed, 0 when site had no row there, -1 on error. */
int member_unset(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN], lm_err *err);

/* How site lost its role in a scope, as this store knows it. */
struct member_removal {
	/* The log entry (local_id) of the change set that removed it; 0 while
	 * that change set is not sealed yet (a removal written here a moment
	 * ago: it will enter the log after everything it holds now); -1 when
	 * the log does not say (a store from before scope registers). */
	int64_t local_id;
	uint8_t by[CS_KEY_LEN]; /* who removed it: the origin of that change set */
};

/* 1 when site held a role in the governed scope and no longer does (its
 * lm_member row was deleted here), with *r filled; 0 when it holds a role
 * now, never held one here, or the scope is open (the root never loses its
 * role); -1 on a store error. */
int member_removal(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN],
		   struct member_removal *r, lm_err *err);

/* One line of a member list. */
struct member_entry {
	const char *scope;
	uint8_t site[CS_KEY_LEN];
	enum member_role role;
	int root; /* the scope's root: admin by its id, not by a row */
};

/* Return non-zero to stop the walk. */
typedef int (*member_list_cb)(const struct member_entry *e, void *ctx);

/* The member lists, scope by scope (only scope's when not NULL): the root
 * first, then the lm_member rows by role and site. The root of every
 * governed scope this store holds members, live rows or change sets of is
 * listed, with no row needed; rows naming the root are left out, since its
 * role is admin whatever they say. */
int member_list(struct store *st, const char *scope, member_list_cb cb, void *ctx, lm_err *err);

#endif
