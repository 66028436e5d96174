/* SPDX-License-Identifier: MIT */
/* cmocka assertions on replicas, shared by the merge and membership tests:
 * each fails the running test with a message naming the replica. Link
 * lmtestcheck (which needs cmocka; the convergence program does not). */
#ifndef LMSYNC_TESTS_REPLICA_CHECK_H
#define LMSYNC_TESTS_REPLICA_CHECK_H

#include <stdint.h>

#include "store/merge.h"
#include "tests/support/replica.h"

/* Create DIR/NAME.db for the key of a seed of 32 bytes seedbyte (the sites
 * the tests make from fixed seeds); an error fails the test. */
void replica_make(struct replica *r, const char *dir, const char *name, uint8_t seedbyte);

/* Run SQL on r; any error fails the test. */
void replica_sqlf(struct replica *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first column of the first row of a query, as an integer. */
int64_t replica_qint(struct replica *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Add the change set r's log gained last (sealed or merged) to l. */
void replica_newest(struct replica *r, struct envlist *l);

/* x and y give the same dump; when not, print the difference and fail. */
void replica_assert_same(const char *what, struct replica *x, struct replica *y,
			 char *(*dump)(struct replica *));

/* o has result want, and its reason contains reason_has (when not NULL). */
void replica_expect(const struct merge_outcome *o, enum merge_result want, const char *reason_has);

#endif
