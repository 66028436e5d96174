/* SPDX-License-Identifier: MIT */
/* Small-number suppression (domain/suppress.h):
 *
 *  - cases by hand: zeros, primary, one hidden cell alone, two "<5" that sum
 *    to 2 or 8, "<5" and "x" that sum to 6, a total of 1 to 4 (four ones),
 *    a single group, a table with no groups, blocks, opaque columns, tables
 *    that cannot be protected;
 *  - the property, on random small tables from fixed seeds: every cell of
 *    1 to 4 is hidden, every shown cell is its true value, the markers are
 *    true ("<5" is 1..4, an "x" in an ordinary group cell is 5 or more), and
 *    no protected cell is pinned to one value. The last is checked by brute
 *    force, apart from the rule's own arithmetic: every assignment of values
 *    to the hidden cells that the markers allow and that adds up to the
 *    total is enumerated, and each protected cell must take at least two
 *    values across them;
 *  - the same for a participants block (patients + relatives = participants
 *    in every row, and the totals), enumerated over both columns at once;
 *  - the report's layout (two blocks, eight columns): each column passes,
 *    and no row's block is half shown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/suppress.h"

#define MAXR   8 /* rows with the total */
#define MAXC   3
#define WINDOW 4 /* check_column's search around the true values */

#define S SUP_SHOWN
#define L SUP_LOW
#define X SUP_HIDDEN

/* One column of groups and its total, marked. */
static void column(const long *v, int n, int opaque, enum sup_mark *m)
{
	long total = 0;
	long vals[MAXR];
	int block = -1, i;
	unsigned char op = (unsigned char)opaque;
	struct sup_table t;

	for (i = 0; i < n; i++) {
		vals[i] = v[i];
		total += v[i];
	}
	vals[n] = total;
	t.nrows = n, t.ncols = 1, t.value = vals, t.block = &block, t.opaque = &op, t.mark = m;
	assert_int_equal(sup_apply(&t), 0);
}

static void expect_column(const long *v, int n, const enum sup_mark *want)
{
	enum sup_mark m[MAXR];
	int i;

	column(v, n, 0, m);
	for (i = 0; i <= n; i++)
		if (m[i] != want[i])
			fail_msg("row %d (value %ld): mark %d, expected %d", i, i < n ? v[i] : -1L,
				 (int)m[i], (int)want[i]);
}

static void test_zeros_shown(void **state)
{
	const long v[] = {0, 0, 0};
	const enum sup_mark want[] = {S, S, S, S};

	(void)state;
	expect_column(v, 3, want);
}

static void test_primary_and_smallest_secondary(void **state)
{
	/* 3 alone would be total - 22: the smallest other cell (7, not 15) goes. */
	const long v[] = {15, 3, 0, 7};
	const enum sup_mark want[] = {S, L, S, X, S};

	(void)state;
	expect_column(v, 4, want);
}

static void test_tie_takes_first_group(void **state)
{
	const long v[] = {9, 2, 9};
	const enum sup_mark want[] = {X, L, S, S};

	(void)state;
	expect_column(v, 3, want);
}

static void test_two_low_sum_2_or_8(void **state)
{
	const long a[] = {1, 1, 9}, b[] = {4, 4, 9}, c[] = {1, 3, 9};
	const enum sup_mark want_ab[] = {L, L, X, S}, want_c[] = {L, L, S, S};

	(void)state;
	expect_column(a, 3, want_ab); /* 1 + 1 = 2: both would be 1 */
	expect_column(b, 3, want_ab); /* 4 + 4 = 8: both would be 4 */
	expect_column(c, 3, want_c);  /* 4 = 1 + 3 or 2 + 2 or 3 + 1 */
}

static void test_low_and_x_sum_6(void **state)
{
	/* 1 and 5 hide each other badly: "<5" + "x" = 6 pins 1 and 5. */
	const long v[] = {1, 5, 20};
	const enum sup_mark want[] = {L, X, X, S};

	(void)state;
	expect_column(v, 3, want);
}

static void test_total_low(void **state)
{
	const long four[] = {1, 1, 1, 1}, two[] = {1, 2, 0};
	const enum sup_mark want_four[] = {L, L, L, L, X}, want_two[] = {L, L, S, L};
	const long pair[] = {4, 4};
	const enum sup_mark want_pair[] = {L, L, X};

	(void)state;
	expect_column(four, 4, want_four); /* <5 over four "<5": each would be 1 */
	expect_column(two, 3, want_two);
	expect_column(pair, 2, want_pair); /* 8 shown: both would be 4 */
}

static void test_single_group(void **state)
{
	const long low[] = {3}, high[] = {12}, zero[] = {0};
	const enum sup_mark want_low[] = {L, L}, want_high[] = {S, S}, want_zero[] = {S, S};

	(void)state;
	expect_column(low, 1, want_low);
	expect_column(high, 1, want_high);
	expect_column(zero, 1, want_zero);
}

/* Patients, relatives, participants (opaque) in block 0. */
static void block_table(const long (*rows)[3], int n, enum sup_mark *m)
{
	static const int block[3] = {0, 0, 0};
	static const unsigned char opaque[3] = {0, 0, 1};
	long v[MAXR * 3];
	struct sup_table t;
	int i, c;

	memset(v, 0, sizeof(v));
	for (i = 0; i < n; i++)
		for (c = 0; c < 3; c++) {
			v[i * 3 + c] = rows[i][c];
			v[n * 3 + c] += rows[i][c];
		}
	if (n == 0)
		for (c = 0; c < 3; c++)
			v[c] = rows[0][c];
	t.nrows = n, t.ncols = 3, t.value = v, t.block = block, t.opaque = opaque, t.mark = m;
	assert_int_equal(sup_apply(&t), 0);
}

static void test_block_travels_together(void **state)
{
	const long one[][3] = {{40, 2, 42}};
	const long rows[][3] = {{40, 2, 42}, {10, 10, 20}, {30, 6, 36}};
	enum sup_mark m[MAXR * 3];

	(void)state;
	/* No groups: the total row alone; participants is "x", not "<5". */
	block_table(one, 0, m);
	assert_int_equal(m[0], X);
	assert_int_equal(m[1], L);
	assert_int_equal(m[2], X);
	/* Groups: relatives 2 hides its row, and relatives then needs a second
	 * hidden cell (6, the smallest), which hides row 3. */
	block_table(rows, 3, m);
	assert_int_equal(m[0], X), assert_int_equal(m[1], L), assert_int_equal(m[2], X);
	assert_int_equal(m[3], S), assert_int_equal(m[4], S), assert_int_equal(m[5], S);
	assert_int_equal(m[6], X), assert_int_equal(m[7], X), assert_int_equal(m[8], X);
	assert_int_equal(m[9], S), assert_int_equal(m[10], S), assert_int_equal(m[11], S);
}

static void test_opaque_low_is_x(void **state)
{
	/* Participants 3 over patients 3 and relatives 0. */
	const long rows[][3] = {{3, 0, 3}, {8, 9, 17}, {7, 6, 13}};
	enum sup_mark m[MAXR * 3];

	(void)state;
	block_table(rows, 3, m);
	assert_int_equal(m[0], L);
	assert_int_equal(m[1], S); /* 0 stays 0 */
	assert_int_equal(m[2], X);
}

static void test_unprotectable_refused(void **state)
{
	long v[] = {3, 4, 8}; /* total 8 is not 3 + 4 */
	long neg[] = {-1, -1};
	int block = -1;
	unsigned char op = 0;
	enum sup_mark m[3];
	struct sup_table t = {2, 1, v, &block, &op, m};

	(void)state;
	assert_int_equal(sup_apply(&t), -1);
	t.nrows = 1, t.value = neg;
	assert_int_equal(sup_apply(&t), -1);
	assert_string_equal(sup_mark_text(SUP_LOW), "<5");
	assert_string_equal(sup_mark_text(SUP_HIDDEN), "x");
	assert_null(sup_mark_text(SUP_SHOWN));
}

/* ---- the property, by brute force ---- */

static uint64_t rng;

static unsigned rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng >> 33) % n);
}

/* Mostly small numbers, the interesting ones. */
static long random_count(void)
{
	unsigned k = rnd(20);

	if (k < 6)
		return 0;
	if (k < 13)
		return 1 + (long)rnd(4);
	if (k < 18)
		return 5 + (long)rnd(5);
	return 10 + (long)rnd(11);
}

/* A reader's range of a hidden cell, knowing the markers only; hi is capped
 * (at cap) where the marker gives no bound, which can only hide witnesses,
 * never invent them. */
static void reader_range(enum sup_mark m, int total_row, int opaque, long cap, long *lo, long *hi)
{
	if (m == SUP_LOW) {
		*lo = 1, *hi = 4;
	} else if (!total_row && !opaque) {
		*lo = 5, *hi = cap;
	} else {
		*lo = 1, *hi = cap;
	}
}

struct enum1 {
	int n, nh, hidx[MAXR]; /* the hidden group rows */
	long lo[MAXR], hi[MAXR], cur[MAXR];
	long tlo, thi, shown;
	unsigned char seen[MAXR][256]; /* values each hidden cell took */
	unsigned char tseen[256];
	long assignments;
};

static void enum1_walk(struct enum1 *e, int k, long sum)
{
	long v, total;
	int i;

	if (k == e->nh) {
		total = e->shown + sum;
		if (total < e->tlo || total > e->thi)
			return;
		e->assignments++;
		for (i = 0; i < e->nh; i++)
			e->seen[i][e->cur[i]] = 1;
		if (total < 256)
			e->tseen[total] = 1;
		return;
	}
	for (v = e->lo[k]; v <= e->hi[k]; v++) {
		if (e->shown + sum + v > e->thi)
			break; /* only ever larger from here */
		e->cur[k] = v;
		enum1_walk(e, k + 1, sum + v);
	}
}

static int distinct(const unsigned char *seen, size_t len)
{
	size_t i;
	int n = 0;

	for (i = 0; i < len; i++)
		n += seen[i];
	return n;
}

/* Check one marked column against the property. */
static void check_column(const long *v, int n, int opaque, const enum sup_mark *m, const char *ctx)
{
	struct enum1 e;
	long cap, lo, hi;
	int i;

	memset(&e, 0, sizeof(e));
	e.n = n;
	for (i = 0; i <= n; i++) {
		if (v[i] >= 1 && v[i] <= 4 && m[i] == SUP_SHOWN)
			fail_msg("%s: row %d holds %ld but is shown", ctx, i, v[i]);
		if (m[i] == SUP_SHOWN)
			continue;
		if (v[i] == 0)
			fail_msg("%s: row %d is 0 but hidden", ctx, i);
		if (m[i] == SUP_LOW && (v[i] > 4 || opaque))
			fail_msg("%s: row %d says <5 for %ld", ctx, i, v[i]);
		if (m[i] == SUP_HIDDEN && i < n && !opaque && v[i] < 5)
			fail_msg("%s: row %d is x (5 and up) for %ld", ctx, i, v[i]);
	}
	if (n == 0)
		return; /* nothing adds up: markers are all a reader has */
	cap = v[n] + 8 < 250 ? v[n] + 8 : 250;
	for (i = 0; i < n; i++) {
		if (m[i] == SUP_SHOWN) {
			e.shown += v[i];
			continue;
		}
		reader_range(m[i], 0, opaque, cap, &lo, &hi);
		/* Only values near the truth: a window can hide witnesses (a
		 * false alarm), never make one up, and one step of one unit
		 * between two cells is all a second value needs. */
		if (lo < v[i] - WINDOW)
			lo = v[i] - WINDOW;
		if (hi > v[i] + WINDOW)
			hi = v[i] + WINDOW;
		e.hidx[e.nh] = i, e.lo[e.nh] = lo, e.hi[e.nh] = hi;
		e.nh++;
	}
	if (m[n] == SUP_SHOWN)
		e.tlo = e.thi = v[n];
	else
		reader_range(m[n], 1, opaque, cap, &e.tlo, &e.thi);
	enum1_walk(&e, 0, 0);
	if (e.assignments == 0)
		fail_msg("%s: the truth itself is not among the assignments", ctx);
	for (i = 0; i < e.nh; i++) {
		int r = e.hidx[i];

		if (!e.seen[i][v[r]])
			fail_msg("%s: row %d's true value %ld is not possible", ctx, r, v[r]);
		if ((m[r] == SUP_LOW || opaque) && distinct(e.seen[i], sizeof(e.seen[i])) < 2)
			fail_msg("%s: row %d (%ld) can be worked out from the table", ctx, r, v[r]);
	}
	if (m[n] == SUP_LOW && distinct(e.tseen, sizeof(e.tseen)) < 2)
		fail_msg("%s: the total (%ld) can be worked out from the table", ctx, v[n]);
}

static void print_column(char *out, size_t cap, const long *v, int n, const enum sup_mark *m)
{
	size_t len = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i <= n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%ld%s", i == n ? " | " : " ", v[i],
					m[i] == SUP_LOW	     ? "(<5)"
					: m[i] == SUP_HIDDEN ? "(x)"
							     : "");
}

static void test_property_columns(void **state)
{
	long v[MAXR];
	enum sup_mark m[MAXR];
	char ctx[256];
	int seed, round, n, i, opaque;
	long hidden = 0, secondary = 0, totals = 0;

	(void)state;
	for (seed = 1; seed <= 3; seed++) {
		rng = (uint64_t)seed;
		for (round = 0; round < 1500; round++) {
			n = 1 + (int)rnd(5);
			opaque = rnd(4) == 0;
			for (i = 0; i < n; i++)
				v[i] = random_count();
			column(v, n, opaque, m);
			v[n] = 0;
			for (i = 0; i < n; i++)
				v[n] += v[i];
			print_column(ctx, sizeof(ctx), v, n, m);
			check_column(v, n, opaque, m, ctx);
			for (i = 0; i < n; i++) {
				hidden += m[i] != SUP_SHOWN;
				secondary += m[i] == SUP_HIDDEN;
			}
			totals += m[n] == SUP_HIDDEN;
		}
	}
	/* The random tables did reach every part of the rule. */
	assert_true(hidden > 1000);
	assert_true(secondary > 300);
	assert_true(totals > 50);
}

/* Patients and relatives over n rows, participants their sum: every
 * assignment to the hidden patients and relatives cells, with every row's
 * participants and the three totals agreeing with their markers. */
struct enum2 {
	int n;
	long v[MAXR][3];
	enum sup_mark m[MAXR][3];
	long cur[MAXR][2], cap;
	unsigned char seen[MAXR][3][128];
	long assignments;
};

static int fits(enum sup_mark m, long truth, long v, int ordinary_group_cell)
{
	if (m == SUP_SHOWN)
		return v == truth;
	if (m == SUP_LOW)
		return v >= 1 && v <= 4;
	return v >= (ordinary_group_cell ? 5 : 1);
}

static void enum2_walk(struct enum2 *e, int k, long sum0, long sum1)
{
	int r = k / 2, c = k % 2, i, j;
	long lo, hi, x, partial = c == 0 ? sum0 : sum1, tot[3];
	enum sup_mark tm;

	if (k == 2 * e->n) {
		tot[0] = sum0, tot[1] = sum1, tot[2] = sum0 + sum1;
		for (j = 0; j < 3; j++)
			if (!fits(e->m[e->n][j], e->v[e->n][j], tot[j], 0))
				return;
		e->assignments++;
		for (i = 0; i < e->n; i++) {
			e->seen[i][0][e->cur[i][0]] = 1;
			e->seen[i][1][e->cur[i][1]] = 1;
			e->seen[i][2][e->cur[i][0] + e->cur[i][1]] = 1;
		}
		for (j = 0; j < 3; j++)
			e->seen[e->n][j][tot[j]] = 1;
		return;
	}
	if (e->m[r][c] == SUP_SHOWN)
		lo = hi = e->v[r][c];
	else
		reader_range(e->m[r][c], 0, 0, e->cap, &lo, &hi);
	tm = e->m[e->n][c];
	for (x = lo; x <= hi; x++) {
		/* Sound pruning only: a shown total caps the column's sum. */
		if (tm == SUP_SHOWN && partial + x > e->v[e->n][c])
			break;
		if (tm == SUP_SHOWN && r == e->n - 1 && partial + x != e->v[e->n][c])
			continue;
		e->cur[r][c] = x;
		if (c == 1 && !fits(e->m[r][2], e->v[r][2], e->cur[r][0] + x, 0))
			continue;
		enum2_walk(e, k + 1, c == 0 ? sum0 + x : sum0, c == 1 ? sum1 + x : sum1);
	}
}

static void test_property_participants_block(void **state)
{
	static const int block[3] = {0, 0, 0};
	static const unsigned char opaque[3] = {0, 0, 1};
	struct enum2 e;
	long vals[MAXR * 3];
	enum sup_mark marks[MAXR * 3];
	struct sup_table t;
	int round, n, i, c, checked = 0;

	(void)state;
	rng = 42;
	for (round = 0; round < 400; round++) {
		memset(&e, 0, sizeof(e));
		memset(vals, 0, sizeof(vals));
		n = 1 + (int)rnd(3);
		e.n = n;
		for (i = 0; i < n; i++) {
			for (c = 0; c < 2; c++) {
				long x = random_count();

				vals[i * 3 + c] = x > 12 ? 12 : x;
			}
			vals[i * 3 + 2] = vals[i * 3] + vals[i * 3 + 1];
			for (c = 0; c < 3; c++)
				vals[n * 3 + c] += vals[i * 3 + c];
		}
		t.nrows = n, t.ncols = 3, t.value = vals, t.block = block, t.opaque = opaque;
		t.mark = marks;
		assert_int_equal(sup_apply(&t), 0);
		for (i = 0; i <= n; i++)
			for (c = 0; c < 3; c++) {
				e.v[i][c] = vals[i * 3 + c];
				e.m[i][c] = marks[i * 3 + c];
			}
		e.cap = 15; /* the largest cell is 12 */
		enum2_walk(&e, 0, 0, 0);
		if (e.assignments == 0)
			fail_msg("round %d: the truth is not among the assignments", round);
		for (i = 0; i <= n; i++)
			for (c = 0; c < 3; c++) {
				int protect = e.m[i][c] == SUP_LOW ||
					      (e.m[i][c] == SUP_HIDDEN && (c == 2 || i == n));

				if (e.m[i][c] != SUP_SHOWN)
					checked++;
				if (protect && distinct(e.seen[i][c], sizeof(e.seen[i][c])) < 2 &&
				    e.v[i][c] < SUP_LIMIT)
					fail_msg(
					    "round %d: row %d column %d (%ld) can be worked out",
					    round, i, c, e.v[i][c]);
			}
	}
	assert_true(checked > 200);
}

/* The report's own layout (domain/report.c): patients, relatives and
 * participants in one block, forms and four ratings in another, the sums
 * opaque. Every column must pass the property on its own, and every row's
 * block must be all shown or all hidden (zeros aside). */
static void test_property_report_layout(void **state)
{
	static const int block[8] = {0, 0, 0, 1, 1, 1, 1, 1};
	static const unsigned char opaque[8] = {0, 0, 1, 1, 0, 0, 0, 0};
	long vals[MAXR * 8], col[MAXR];
	enum sup_mark marks[MAXR * 8], m[MAXR];
	struct sup_table t;
	char ctx[256];
	int round, n, i, c, k;

	(void)state;
	rng = 7;
	for (round = 0; round < 1000; round++) {
		memset(vals, 0, sizeof(vals));
		n = (int)rnd(6); /* 0: the total row alone */
		for (i = 0; i < (n ? n : 1); i++) {
			long *v = &vals[i * 8], extra = rnd(3) == 0 ? random_count() : 0;

			v[0] = random_count(), v[1] = random_count(), v[2] = v[0] + v[1];
			for (k = 4; k < 8; k++)
				v[k] = random_count();
			v[3] = v[4] + v[5] + v[6] + v[7] + extra; /* forms: some unrated */
			if (n > 0)
				for (c = 0; c < 8; c++)
					vals[n * 8 + c] += v[c];
		}
		t.nrows = n, t.ncols = 8, t.value = vals, t.block = block, t.opaque = opaque;
		t.mark = marks;
		assert_int_equal(sup_apply(&t), 0);
		for (i = 0; i <= n; i++)
			for (k = 0; k < 2; k++) {
				int from = k ? 3 : 0, to = k ? 8 : 3, shown = 0, hidden = 0;

				for (c = from; c < to; c++)
					if (vals[i * 8 + c] != 0) {
						shown += marks[i * 8 + c] == SUP_SHOWN;
						hidden += marks[i * 8 + c] != SUP_SHOWN;
					}
				if (shown && hidden)
					fail_msg("round %d: row %d's block %d is half hidden",
						 round, i, k);
			}
		for (c = 0; c < 8; c++) {
			for (i = 0; i <= n; i++) {
				col[i] = vals[i * 8 + c];
				m[i] = marks[i * 8 + c];
			}
			print_column(ctx, sizeof(ctx), col, n, m);
			check_column(col, n, opaque[c], m, ctx);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zeros_shown),
	    cmocka_unit_test(test_primary_and_smallest_secondary),
	    cmocka_unit_test(test_tie_takes_first_group),
	    cmocka_unit_test(test_two_low_sum_2_or_8),
	    cmocka_unit_test(test_low_and_x_sum_6),
	    cmocka_unit_test(test_total_low),
	    cmocka_unit_test(test_single_group),
	    cmocka_unit_test(test_block_travels_together),
	    cmocka_unit_test(test_opaque_low_is_x),
	    cmocka_unit_test(test_unprotectable_refused),
	    cmocka_unit_test(test_property_columns),
	    cmocka_unit_test(test_property_participants_block),
	    cmocka_unit_test(test_property_report_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
