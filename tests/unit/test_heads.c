/* SPDX-License-Identifier: MIT */
/* The per-peer heads table: every pair added is found again with what was
 * stored in it, through growth; pairs differing only in origin, in scope, or
 * in a scope that is a prefix of another stay apart; the walk visits each
 * entry once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "daemon/heads.h"

#define PAIRS 5000

static void origin_of(int i, uint8_t origin[CS_KEY_LEN])
{
	memset(origin, 0, CS_KEY_LEN);
	origin[0] = (uint8_t)(i % 7);
	origin[31] = (uint8_t)(i / 7 % 251);
}

static void scope_of(int i, char *scope, size_t cap)
{
	snprintf(scope, cap, "nettverk-%d", i / (7 * 251));
}

static void test_found_after_growth(void **state)
{
	uint8_t origin[CS_KEY_LEN];
	char scope[32];
	struct heads h;
	struct head *e;
	int i;

	(void)state;
	heads_init(&h);
	for (i = 0; i < PAIRS; i++) {
		origin_of(i, origin);
		scope_of(i, scope, sizeof(scope));
		assert_null(heads_find(&h, origin, scope, strlen(scope)));
		e = heads_get(&h, origin, scope, strlen(scope));
		assert_non_null(e);
		assert_int_equal(e->theirs, 0);
		e->theirs = (uint64_t)i + 1;
	}
	assert_int_equal(h.n, PAIRS);
	assert_true(4 * h.n <= 3 * h.cap);
	for (i = 0; i < PAIRS; i++) {
		origin_of(i, origin);
		scope_of(i, scope, sizeof(scope));
		e = heads_find(&h, origin, scope, strlen(scope));
		assert_non_null(e);
		assert_int_equal(e->theirs, (uint64_t)i + 1);
		assert_string_equal(e->scope, scope);
		assert_memory_equal(e->origin, origin, CS_KEY_LEN);
		/* get on an existing pair returns it, not a new one */
		assert_ptr_equal(heads_get(&h, origin, scope, strlen(scope)), e);
	}
	assert_int_equal(h.n, PAIRS);
	heads_free(&h);
}

static void test_keys_stay_apart(void **state)
{
	uint8_t a[CS_KEY_LEN] = {1}, b[CS_KEY_LEN] = {2};
	struct head *e1, *e2, *e3, *e4;
	struct heads h;

	(void)state;
	heads_init(&h);
	e1 = heads_get(&h, a, "region", 6);
	e1->theirs = 1;
	e2 = heads_get(&h, b, "region", 6);
	e2->theirs = 2;
	e3 = heads_get(&h, a, "region-midt", 11);
	e3->theirs = 3;
	/* the scope is given by length: a longer buffer is cut there */
	e4 = heads_get(&h, a, "regionXYZ", 6);
	assert_int_equal(h.n, 3);
	assert_int_equal(heads_find(&h, a, "region", 6)->theirs, 1);
	assert_int_equal(heads_find(&h, b, "region", 6)->theirs, 2);
	assert_int_equal(heads_find(&h, a, "region-midt", 11)->theirs, 3);
	assert_int_equal(e4->theirs, 1);
	assert_null(heads_find(&h, b, "region-midt", 11));
	assert_null(heads_find(&h, a, "regio", 5));
	heads_free(&h);
}

static void test_walk_visits_each_once(void **state)
{
	uint8_t origin[CS_KEY_LEN];
	char scope[32];
	struct heads h;
	struct head *e;
	size_t i = 0, seen = 0;
	uint64_t sum = 0;
	int k;

	(void)state;
	heads_init(&h);
	assert_null(heads_each(&h, &i));
	for (k = 0; k < 300; k++) {
		origin_of(k, origin);
		scope_of(k, scope, sizeof(scope));
		heads_get(&h, origin, scope, strlen(scope))->theirs = (uint64_t)k;
	}
	i = 0;
	while ((e = heads_each(&h, &i)) != NULL) {
		seen++;
		sum += e->theirs;
	}
	assert_int_equal(seen, 300);
	assert_int_equal(sum, 299 * 300 / 2);
	heads_free(&h);
}

static void test_scope_too_long(void **state)
{
	uint8_t origin[CS_KEY_LEN] = {0};
	char scope[CS_SCOPE_MAX + 2];
	struct heads h;

	(void)state;
	memset(scope, 'x', sizeof(scope));
	heads_init(&h);
	assert_non_null(heads_get(&h, origin, scope, CS_SCOPE_MAX));
	assert_null(heads_get(&h, origin, scope, CS_SCOPE_MAX + 1));
	assert_null(heads_find(&h, origin, scope, CS_SCOPE_MAX + 1));
	heads_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_found_after_growth),
	    cmocka_unit_test(test_keys_stay_apart),
	    cmocka_unit_test(test_walk_visits_each_once),
	    cmocka_unit_test(test_scope_too_long),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
