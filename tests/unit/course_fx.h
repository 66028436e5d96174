/* SPDX-License-Identifier: MIT */
/* The fixture of test_course and test_course_import: two sites made from
 * fixed seeds with the domain tables, A's network "midt" (Helse Midt) with
 * B a member, and the moves the tests make with them. Errors reported
 * through cfx_collect gather in f->errs. */
#ifndef LMSYNC_TESTS_COURSE_FX_H
#define LMSYNC_TESTS_COURSE_FX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/course.h"
#include "domain/network.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "tests/support/domain_site.h"
#include "tests/support/replica.h"
#include "tests/support/tmpdir.h"

#define EPOCH_MS UINT64_C(1795440000000)
#define SKEW_MS	 UINT64_C(300000)

struct fx {
	char dir[64];
	struct replica a, b;
	char net[NETWORK_ID_MAX + 1]; /* A's network "midt", B a member */
	char errs[16384];	      /* what the error callbacks were told */
	int nerrs;
};

/* Error callbacks (dom_err_fn and course_import's) gathering into f. */
void cfx_collect(void *ctx, int col, const char *msg);
void cfx_collect_import(void *ctx, const char *msg);
void cfx_reset(struct fx *f);
/* Fail unless one of the errors gathered holds want. */
void cfx_has_err(struct fx *f, const char *want);

/* Seal at from and merge everything into to (every scope). */
void cfx_pull(struct replica *to, struct replica *from);

int cfx_setup(void **state);
int cfx_teardown(void **state);

/* Add a course "title" at r in midt, a kurs for pasienter unless the
 * column/value pairs after title (ended by -1) say otherwise; the id into
 * id. Returns the number of errors (in f->errs). */
int cfx_add(struct fx *f, struct replica *r, char *id, const char *title, ...);
/* The course id names at r, or fail. */
void cfx_get(struct replica *r, const char *id, struct course *c);
/* The titles course_list gives for the filter, in order, space-separated
 * (a static buffer). */
char *cfx_titles(struct replica *r, struct course_filter *f, const char *network,
		 const char *owner);
/* The titles a search for q gives, best first. */
char *cfx_search(struct replica *r, const char *q);

#endif
