/* SPDX-License-Identifier: MIT */
/* Small-number suppression; the rule is in suppress.h. */
#include "domain/suppress.h"

#include <stddef.h>

/* What a reader knows of a hidden cell: lo .. hi, hi < 0 for no bound. */
struct bounds {
	long lo, hi;
};

#define UNBOUNDED (-1L)

static long cell(const struct sup_table *t, int r, int c)
{
	return t->value[(size_t)r * (size_t)t->ncols + (size_t)c];
}

static enum sup_mark *mark_at(const struct sup_table *t, int r, int c)
{
	return &t->mark[(size_t)r * (size_t)t->ncols + (size_t)c];
}

/* Hide one cell (if it is shown and not 0) by its size and column. */
static void hide_one(const struct sup_table *t, int r, int c)
{
	long v = cell(t, r, c);
	enum sup_mark *m = mark_at(t, r, c);

	if (v == 0 || *m != SUP_SHOWN)
		return;
	*m = !t->opaque[c] && v < SUP_LIMIT ? SUP_LOW : SUP_HIDDEN;
}

/* Hide a cell and the cells of its block in the same row (rule 2). */
static void hide(const struct sup_table *t, int r, int c)
{
	int k;

	hide_one(t, r, c);
	if (t->block[c] < 0)
		return;
	for (k = 0; k < t->ncols; k++)
		if (t->block[k] == t->block[c])
			hide_one(t, r, k);
}

/* A reader's bounds of a hidden cell: "<5" is 1..4; "x" in a group row of
 * an ordinary column is 5 and up (a smaller number would show "<5"); an
 * opaque "x" or a hidden total may be anything from 1. */
static struct bounds known(const struct sup_table *t, int r, int c)
{
	struct bounds b = {1, UNBOUNDED};

	if (*mark_at(t, r, c) == SUP_LOW)
		b.hi = SUP_LIMIT - 1;
	else if (r < t->nrows && !t->opaque[c])
		b.lo = SUP_LIMIT;
	return b;
}

/* 1 when some protected cell of column c is pinned to one value by the
 * column's sum: a "<5" cell, a hidden cell of an opaque column, or a "<5"
 * total. Exact for one sum over cells with bounds: a cell's possible values
 * are [max(lo, Smin - sum of the others' hi), min(hi, Smax - sum of the
 * others' lo)], S being the hidden cells' sum. */
static int column_leaks(const struct sup_table *t, int c)
{
	long shown = 0, sum_lo = 0, sum_hi = 0, smin, smax, lo, hi;
	int r, nunbounded = 0, n = t->nrows;
	enum sup_mark tm = *mark_at(t, n, c);
	struct bounds b;

	if (n == 0)
		return 0; /* no sum ties the total to anything */
	for (r = 0; r < n; r++) {
		if (*mark_at(t, r, c) == SUP_SHOWN) {
			shown += cell(t, r, c);
			continue;
		}
		b = known(t, r, c);
		sum_lo += b.lo;
		if (b.hi == UNBOUNDED)
			nunbounded++;
		else
			sum_hi += b.hi;
	}
	if (tm == SUP_HIDDEN)
		return 0; /* the sum is unknown: every cell keeps its own range */
	if (tm == SUP_LOW) {
		/* The total itself: shown + hidden cells, within 1..4. */
		lo = shown + sum_lo > 1 ? shown + sum_lo : 1;
		hi = SUP_LIMIT - 1;
		if (nunbounded == 0 && shown + sum_hi < hi)
			hi = shown + sum_hi;
		if (lo >= hi)
			return 1;
		smin = 1 - shown, smax = SUP_LIMIT - 1 - shown;
	} else {
		smin = smax = cell(t, n, c) - shown;
	}
	for (r = 0; r < n; r++) {
		if (*mark_at(t, r, c) == SUP_SHOWN)
			continue;
		if (*mark_at(t, r, c) != SUP_LOW && !t->opaque[c])
			continue; /* an "x" of 5 and up protects; it needs no protection */
		b = known(t, r, c);
		lo = b.lo;
		/* Others' highest leave the least for this one. */
		if (nunbounded - (b.hi == UNBOUNDED) == 0) {
			long rest = sum_hi - (b.hi == UNBOUNDED ? 0 : b.hi);

			if (smin - rest > lo)
				lo = smin - rest;
		}
		hi = smax - (sum_lo - b.lo);
		if (b.hi != UNBOUNDED && b.hi < hi)
			hi = b.hi;
		if (lo >= hi)
			return 1;
	}
	return 0;
}

/* Hide more for column c (rules 3 and 4). */
static void protect(const struct sup_table *t, int c)
{
	int r, best = -1, n = t->nrows;

	for (r = 0; r < n; r++)
		if (*mark_at(t, r, c) == SUP_SHOWN && cell(t, r, c) > 0 &&
		    (best < 0 || cell(t, r, c) < cell(t, best, c)))
			best = r;
	if (best >= 0) {
		hide(t, best, c);
		return;
	}
	/* The total, even one of 1 to 4 that showed "<5": "x" tells no range. */
	hide(t, n, c);
	*mark_at(t, n, c) = SUP_HIDDEN;
}

int sup_apply(const struct sup_table *t)
{
	int r, c, changed, rows = t->nrows + 1;
	long sum;

	for (c = 0; c < t->ncols; c++) {
		sum = 0;
		for (r = 0; r < rows; r++) {
			if (cell(t, r, c) < 0)
				return -1;
			*mark_at(t, r, c) = SUP_SHOWN;
			if (r < t->nrows)
				sum += cell(t, r, c);
		}
		if (t->nrows > 0 && sum != cell(t, t->nrows, c))
			return -1;
	}
	for (r = 0; r < rows; r++)
		for (c = 0; c < t->ncols; c++)
			if (cell(t, r, c) > 0 && cell(t, r, c) < SUP_LIMIT)
				hide(t, r, c);
	/* Each pass hides at least one more cell, so this ends. */
	do {
		changed = 0;
		for (c = 0; c < t->ncols; c++)
			if (column_leaks(t, c)) {
				protect(t, c);
				changed = 1;
			}
	} while (changed);
	return 0;
}

const char *sup_mark_text(enum sup_mark m)
{
	return m == SUP_LOW ? "<5" : m == SUP_HIDDEN ? "x" : NULL;
}
