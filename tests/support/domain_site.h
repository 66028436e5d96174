/* SPDX-License-Identifier: MIT */
/* Sites for the domain tests (agreements, courses, reports): a replica made
 * from a fixed seed, with the domain tables and its own lm_org row. Each of
 * those tests made its sites the same way with a copy of this; the org's
 * name and kind are what differ. Link lmtestdomain (it needs cmocka). */
#ifndef LMSYNC_TESTS_DOMAIN_SITE_H
#define LMSYNC_TESTS_DOMAIN_SITE_H

#include <stdint.h>

#include "tests/support/replica.h"

/* Create DIR/FILE.db for the key of a seed of 32 bytes seedbyte, install the
 * domain tables and set the site's org (org_name, org_kind); an error fails
 * the test. */
void domain_site_make(struct replica *r, const char *dir, const char *file, uint8_t seedbyte,
		      const char *org_name, const char *org_kind);

#endif
