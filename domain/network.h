/* SPDX-License-Identifier: MIT */
/* Networks: the health region, the network around one helseforetak, an
 * inter-municipal or a themed network. A network is a governed scope
 * (store/member.h) rooted at the site that created it, so only its members
 * receive its rows: its description (lm_network), its members with their
 * roles (lm_network_member), and the courses published to it.
 *
 * Roles: leder, nestleder and koordinator administer the network (role admin
 * in lm_member: they add and remove members), medlem writes its own rows
 * in it (role member). Every hub this site peers with is given role relay,
 * so the network's rows travel through the region's hub.
 */
#ifndef LMSYNC_DOMAIN_NETWORK_H
#define LMSYNC_DOMAIN_NETWORK_H

#include "domain/validate.h"
#include "proto/changeset.h"
#include "store/store.h"

#define NETWORK_ID_MAX CS_SCOPE_MAX

struct network {
	char id[NETWORK_ID_MAX + 1]; /* the scope: NAME@ROOT */
	char name[DOM_TEXT_SHORT + 1];
	char kind[32]; /* dom_network_kind */
	char host[65]; /* the host organisation's site id, or "" */
	char mandate[DOM_TEXT_LONG + 1];
};

/* Make network NAME (the scope NAME@this site) with n's name, kind, host
 * and mandate (n->id is ignored; the id made goes to id). This site becomes
 * its leder; every hub peer gets role relay. Refused when it exists. */
int network_create(struct store *st, const char *name, const struct network *n, char *id,
		   size_t cap, lm_err *err);

/* The network arg names: its id, or the NAME part of one (or its display
 * name) when exactly one network here has it. */
int network_resolve(struct store *st, const char *arg, char *id, size_t cap, lm_err *err);

/* The network with id: 1 found, 0 not, -1 error. */
int network_get(struct store *st, const char *id, struct network *n, lm_err *err);

/* Give site (64 hex digits) role (dom_network_role) in the network, or
 * change it. Only an administrator of the network can. */
int network_member_set(struct store *st, const char *id, const char *site, const char *role,
		       lm_err *err);

/* Take site out of the network: 1 removed, 0 it was no member, -1 error. */
int network_member_remove(struct store *st, const char *id, const char *site, lm_err *err);

/* Walk the networks this site holds, by name; return non-zero to stop. */
typedef int (*network_cb)(const struct network *n, void *ctx);
int network_list(struct store *st, network_cb cb, void *ctx, lm_err *err);

/* One member of a network: its site, role and display name (org_name). */
struct network_member {
	char site[65];
	char role[16];
	char name[DOM_TEXT_SHORT + 1];
};
typedef int (*network_member_cb)(const struct network_member *m, void *ctx);

/* The members of network id, leaders first, then by name. */
int network_members(struct store *st, const char *id, network_member_cb cb, void *ctx,
		    lm_err *err);

/* Give every hub this site peers with role relay in scope, so the scope's
 * rows travel through the region's hub (networks and agreements alike). */
int dom_grant_hubs(struct store *st, const char *scope, lm_err *err);

/* A hub added after networks and agreements were made: give it role relay
 * in every one this site administers, as dom_grant_hubs does at creation.
 * *granted counts the scopes it was new to. Nothing on a hub's store. */
int dom_grant_hub_everywhere(struct store *st, const uint8_t hub[CS_KEY_LEN], int *granted,
			     lm_err *err);


#endif
