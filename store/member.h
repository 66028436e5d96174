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
 * policies apply. See docs/DECISIONS.md for what removal does and does not
 * guarantee.
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

#endif
