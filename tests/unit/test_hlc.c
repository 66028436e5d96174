/* SPDX-License-Identifier: MIT */
/* The hybrid logical clock: strictly increasing through a wall clock that
 * steps back and through more events in one millisecond than the counter
 * holds; remote timestamps pull it forward unless they are too far ahead,
 * when it is left as it was; a persisted value carries on after a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proto/hlc.h"

#define NOW  UINT64_C(1735689600000) /* 2025-01-01T00:00:00Z in ms */
#define HOUR UINT64_C(3600000)
#define SKEW UINT64_C(300000)

static void test_tracks_wall_clock(void **state)
{
	struct hlc c;
	uint64_t t;

	(void)state;
	hlc_init(&c, 0);
	t = hlc_now(&c, NOW);
	assert_true(t == NOW << HLC_COUNTER_BITS);
	assert_true(hlc_ms(t) == NOW);
	t = hlc_now(&c, NOW + 5);
	assert_true(t == (NOW + 5) << HLC_COUNTER_BITS);
	assert_true(c.last == t);
}

static void test_wall_clock_steps_back(void **state)
{
	uint64_t t, prev;
	struct hlc c;
	int i;

	(void)state;
	hlc_init(&c, 0);
	prev = hlc_now(&c, NOW);
	for (i = 1; i <= 100; i++) {
		t = hlc_now(&c, NOW - HOUR + (uint64_t)i);
		assert_true(t > prev);
		assert_true(hlc_ms(t) == NOW); /* held at the newest wall clock seen */
		prev = t;
	}
	assert_true(prev == (NOW << HLC_COUNTER_BITS) + 100);
	/* Once the wall clock passes it again, it follows the wall clock. */
	t = hlc_now(&c, NOW + 1);
	assert_true(t == (NOW + 1) << HLC_COUNTER_BITS);
}

static void test_many_events_in_one_ms(void **state)
{
	uint64_t first, t, prev;
	struct hlc c;
	int i;

	(void)state;
	hlc_init(&c, 0);
	first = prev = hlc_now(&c, NOW);
	for (i = 1; i < 70000; i++) {
		t = hlc_now(&c, NOW);
		assert_true(t > prev);
		prev = t;
	}
	assert_true(prev - first == 69999);
	/* The counter ran over 65535 and carried into the milliseconds. */
	assert_true(hlc_ms(prev) == NOW + 1);
	assert_true(hlc_now(&c, NOW + 1) == prev + 1);
}

static void test_observe_pulls_forward(void **state)
{
	uint64_t remote = ((NOW + 1000) << HLC_COUNTER_BITS) | 7;
	struct hlc c;
	lm_err err;

	(void)state;
	hlc_init(&c, 0);
	hlc_now(&c, NOW);
	assert_int_equal(hlc_observe(&c, remote, NOW, SKEW, &err), 0);
	assert_true(c.last == remote);
	assert_true(hlc_now(&c, NOW) == remote + 1);
	/* An older remote timestamp does not move it back. */
	assert_int_equal(hlc_observe(&c, NOW << HLC_COUNTER_BITS, NOW, SKEW, &err), 0);
	assert_true(c.last == remote + 1);
	/* Exactly max_skew ahead is still taken in. */
	remote = (NOW + SKEW) << HLC_COUNTER_BITS | 0xffff;
	assert_int_equal(hlc_observe(&c, remote, NOW, SKEW, &err), 0);
	assert_true(c.last == remote);
}

static void test_observe_refuses_far_future(void **state)
{
	struct hlc c;
	uint64_t before;
	lm_err err;

	(void)state;
	hlc_init(&c, 0);
	before = hlc_now(&c, NOW);
	memset(&err, 0, sizeof(err));
	assert_int_equal(hlc_observe(&c, (NOW + HOUR) << HLC_COUNTER_BITS, NOW, SKEW, &err), -1);
	assert_non_null(strstr(err.msg, "dated 3600000 ms ahead of this site's clock "
					"(limit 300000 ms)"));
	assert_true(c.last == before);
	assert_int_equal(hlc_observe(&c, (NOW + SKEW + 1) << HLC_COUNTER_BITS, NOW, SKEW, &err),
			 -1);
	assert_non_null(strstr(err.msg, "dated 300001 ms ahead"));
	assert_int_equal(hlc_observe(&c, UINT64_MAX, NOW, SKEW, NULL), -1);
	assert_true(c.last == before);
	assert_true(hlc_now(&c, NOW) == before + 1);
}

static void test_persisted_value_restores(void **state)
{
	struct hlc a, b;
	uint64_t saved = 0;
	int i;

	(void)state;
	hlc_init(&a, 0);
	for (i = 0; i < 10; i++)
		saved = hlc_now(&a, NOW);
	/* A restart with the wall clock an hour behind. */
	hlc_init(&b, saved);
	assert_true(b.last == saved);
	assert_true(hlc_now(&b, NOW - HOUR) == saved + 1);
}

static void test_extremes(void **state)
{
	struct hlc c;

	(void)state;
	hlc_init(&c, 0);
	/* A wall clock past 48 bits counts as the largest one, without wrapping. */
	assert_true(hlc_now(&c, UINT64_C(1) << 48) == HLC_MS_MAX << HLC_COUNTER_BITS);
	assert_true(hlc_now(&c, UINT64_MAX) == (HLC_MS_MAX << HLC_COUNTER_BITS) + 1);
	hlc_init(&c, UINT64_MAX - 1);
	assert_true(hlc_now(&c, NOW) == UINT64_MAX);
	assert_true(hlc_now(&c, NOW) == UINT64_MAX); /* saturates, never wraps to 0 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tracks_wall_clock),
	    cmocka_unit_test(test_wall_clock_steps_back),
	    cmocka_unit_test(test_many_events_in_one_ms),
	    cmocka_unit_test(test_observe_pulls_forward),
	    cmocka_unit_test(test_observe_refuses_far_future),
	    cmocka_unit_test(test_persisted_value_restores),
	    cmocka_unit_test(test_extremes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
