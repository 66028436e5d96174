/* SPDX-License-Identifier: MIT */
/* Organisations: each site acts for one, and describes it in its own lm_org
 * row (policy owner), which every site receives (open scope "org"): the
 * region's directory of who is who, built from the sites themselves. */
#ifndef LMSYNC_DOMAIN_ORG_H
#define LMSYNC_DOMAIN_ORG_H

#include "domain/validate.h"
#include "store/store.h"

struct org {
	char site[65];		      /* 64 hex digits */
	char name[DOM_TEXT_SHORT + 1];
	char kind[32];		      /* dom_org_kind */
	char orgnr[10];		      /* "" when not given */
	char kommunenr[5];	      /* "" when not given */
	char region[DOM_TEXT_SHORT + 1];
};

/* Write this site's own row (o->site is ignored: it is this site). Every
 * field is checked first (dom_org_kind, dom_check_orgnr, ...); the message
 * names the option. */
int org_set_self(struct store *st, const struct org *o, lm_err *err);

/* The row of site (64 hex digits): 1 found, 0 not, -1 error. */
int org_get(struct store *st, const char *site, struct org *o, lm_err *err);

/* Every organisation known here, by name; return non-zero to stop. */
typedef int (*org_cb)(const struct org *o, void *ctx);
int org_list(struct store *st, org_cb cb, void *ctx, lm_err *err);

/* The site arg names, as 64 hex digits: a site id in either form, or the
 * name of exactly one organisation or peer known here (case ignored). */
int dom_site_resolve(struct store *st, const char *arg, char hex[65], lm_err *err);

/* The display name of site: its lm_org name, else its peer name, else the
 * first 7 characters of its id. */
void org_name(struct store *st, const char *site, char *out, size_t cap);

#endif
