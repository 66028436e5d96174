/* SPDX-License-Identifier: MIT */
/* The closed lists of the field: kinds of organisation, network roles, kinds
 * of offer, statuses. One list each, used for validation, for the help texts
 * and for the CHECK constraints of the domain schema, so the three cannot
 * drift apart. The values are the words coordinators use, in Norwegian.
 */
#ifndef LMSYNC_DOMAIN_ENUMS_H
#define LMSYNC_DOMAIN_ENUMS_H

#include <stddef.h>

#include "proto/err.h"

struct dom_enum {
	const char *field;	    /* what the value is, for messages: "kind", "status" */
	const char *const *values;  /* as stored */
	const char *const *meaning; /* one line each, for help texts */
	size_t n;
};

extern const struct dom_enum dom_org_kind, dom_network_kind, dom_network_role, dom_course_kind,
    dom_target_group, dom_age_group, dom_delivery, dom_course_status, dom_agreement_status,
    dom_item_status, dom_responsible, dom_note_kind, dom_party_role, dom_benefit;

/* The stored value s stands for, or NULL with err naming field and the
 * allowed values. Case, spaces for hyphens and ASCII spellings are accepted
 * ("Svaert god", "apen", "aapen" for "svært-god", "åpen"), since not every
 * keyboard or spreadsheet has æ, ø and å. */
const char *dom_enum_parse(const struct dom_enum *e, const char *field, const char *s,
			   lm_err *err);

/* "a, b or c" into out. */
void dom_enum_list(const struct dom_enum *e, char *out, size_t cap);

#endif
