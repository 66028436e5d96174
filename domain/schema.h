/* SPDX-License-Identifier: MIT */
/* The coordinators' tables: organisations, networks, the course catalogue,
 * agreements and their follow-up, reporting. All are ordinary replicated
 * tables (store/registry.h) with the write policies the field needs:
 *
 *   org             owner   each site describes its own organisation;
 *                           open scope "org" (public directory data)
 *   network         admin   a network is a governed scope (NAME@ROOT); its
 *   network_member  admin   administrators keep its description and members
 *   course          owner   only the owning organisation changes its offers,
 *   course_run      owner   published to one network (the row's scope)
 *   agreement       scope   one governed scope per agreement: its parties
 *   agreement_party admin   (and observers) alone receive it; either party
 *   agreement_part  scope   updates it, its administrators (the creator)
 *   agreement_item  scope   name the parties
 *   agreement_note  owner   append-only: each party writes its own notes
 *   report_close    owner   an organisation closes its reporting period
 *
 * Rows are keyed by stable random ids (16 hex digits) or by the site id (64
 * hex digits) where the policy needs the owner in the key. No table has a
 * column for a participant's name or contact data: runs carry counts only.
 * course_fts (FTS5) indexes the catalogue locally; it is not replicated:
 * triggers keep it in step with course whoever writes it, and merges, which
 * skip triggers, through a hook (course_fts.c).
 */
#ifndef LMSYNC_DOMAIN_SCHEMA_H
#define LMSYNC_DOMAIN_SCHEMA_H

#include "store/member.h"
#include "store/store.h"

/* 2: the course search index is kept by rowid (course_fts.c). */
#define DOMAIN_VERSION 2
#define DOMAIN_ORG_SCOPE "org"

/* Create and register the domain tables unless the store has them at
 * DOMAIN_VERSION already (meta key domain_version); one transaction. Every
 * call also gives this connection's merges the work the tables' local
 * triggers do (course_fts_hook), so call it on every connection that
 * merges. */
int domain_install(struct store *st, lm_err *err);

/* 1 when the store holds the domain tables, 0 when not, -1 on error. */
int domain_installed(struct store *st, lm_err *err);

/* This site's id as 64 hex digits (meta site_id). */
int domain_site_hex(struct store *st, char out[65], lm_err *err);

/* The role this site holds in scope (store/member.h): what every domain
 * write checks first, to refuse in the field's terms before the store does. */
int domain_my_role(struct store *st, const char *scope, enum member_role *role, lm_err *err);

#endif
