/* SPDX-License-Identifier: MIT */
/* Sites for the domain tests; see domain_site.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "domain/org.h"
#include "domain/schema.h"
#include "tests/support/domain_site.h"
#include "tests/support/replica_check.h"

void domain_site_make(struct replica *r, const char *dir, const char *file, uint8_t seedbyte,
		      const char *org_name, const char *org_kind)
{
	struct org o;
	lm_err err;

	replica_make(r, dir, file, seedbyte);
	if (domain_install(&r->st, &err) != 0)
		fail_msg("creating %s: %s", file, err.msg);
	memset(&o, 0, sizeof(o));
	snprintf(o.name, sizeof(o.name), "%s", org_name);
	snprintf(o.kind, sizeof(o.kind), "%s", org_kind);
	if (org_set_self(&r->st, &o, &err) != 0)
		fail_msg("org of %s: %s", file, err.msg);
}
