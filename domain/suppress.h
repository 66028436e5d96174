/* SPDX-License-Identifier: MIT */
/* Small-number suppression for published tables of person counts: a pure
 * function over a table of numbers (no SQL), so the same rule runs on every
 * site's report and can be tested alone.
 *
 * THE RULE (quoted by `lmsync report --help` and the docs)
 *
 * A cell that counts persons (patients, relatives, participants, evaluation
 * forms, benefit ratings) is shown as a number, as 0, or hidden:
 *
 *   "<5"  the number is 1, 2, 3 or 4 (primary suppression);
 *   "x"   hidden so that no "<5" cell can be worked out by subtraction
 *         (secondary suppression); it says nothing about its size.
 *
 *  1. Primary: every cell from 1 to 4 is "<5", group rows and total alike.
 *     0 is shown: nobody can be recognised in an empty cell.
 *  2. Cells that add up within a row travel together. A row's participant
 *     cells (patients, relatives, participants) are shown or hidden
 *     together; so are its evaluation cells (forms and the four benefit
 *     ratings). Participants (patients + relatives) and forms (which bound
 *     the ratings) are always "x" when hidden, whatever their size, so
 *     their marker tells no range.
 *  3. Column by column, the hidden cells of the group rows add up to the
 *     total minus the shown cells. While that lets anyone pin down a "<5"
 *     cell (or a hidden participants or forms cell) to a single value, hide
 *     the smallest non-zero shown cell of the column (the first such group
 *     in the table's order on a tie), which hides its row's cells of the
 *     same kind (2.), and check every column again. This covers one hidden
 *     cell alone in its column, two "<5" cells summing to 2 or 8, a "<5"
 *     and an "x" summing to 6, a total of 1 to 4 over four "<5" groups
 *     (all ones), and so on: the check is exact, from the bounds 1..4 of
 *     "<5", 5 and up of an "x" in a group row, and the total.
 *  4. When no shown cell is left to hide, the column's total is hidden as
 *     "x" (with its row's cells of the same kind). A hidden total ties the
 *     column's cells to nothing, so every hidden cell keeps at least two
 *     possible values.
 *  A single group's row equals the total and gets the same markers; a table
 *  without groups is its total row alone (rules 1 and 2).
 *
 * The model behind "pinned": a reader knows the markers' meaning ("<5" is
 * 1..4, an "x" in a group row of an ordinary column 5 or more, any other
 * "x" at least 1) and that columns add up to their totals and participants
 * to patients + relatives; tests/unit/test_suppress.c checks by brute force
 * that no "<5" can then be worked out. Ratings only bound forms (a form may
 * leave the question blank), so they can narrow a hidden rating without
 * pinning it; a reader who replays this algorithm's choices may narrow
 * more. What it does not protect against: combining several reports (another
 * period, another grouping) and subtracting their totals; and the members
 * of a network hold the counts of its course runs in their own stores
 * anyway (counts only: no table has a participant's name). The rule makes
 * one published table safe to hand on, not the store.
 */
#ifndef LMSYNC_DOMAIN_SUPPRESS_H
#define LMSYNC_DOMAIN_SUPPRESS_H

#define SUP_LIMIT 5 /* counts from 1 to SUP_LIMIT - 1 are hidden */

enum sup_mark {
	SUP_SHOWN = 0, /* the number itself */
	SUP_LOW,       /* "<5": 1 to 4 */
	SUP_HIDDEN,    /* "x" */
};

/* A table of person counts: rows 0 .. nrows-1 are the groups, row nrows the
 * total row, each with ncols cells in value[row * ncols + col]. Cells of one
 * row whose columns share a block number (>= 0) are shown or hidden together
 * (block -1: a column alone); opaque columns hold a sum of their block (or
 * bound it), and their hidden cells are always SUP_HIDDEN. */
struct sup_table {
	int nrows, ncols;
	const long *value;	     /* (nrows + 1) * ncols, each >= 0 */
	const int *block;	     /* ncols */
	const unsigned char *opaque; /* ncols: 1 for a sum column */
	enum sup_mark *mark;	     /* out: (nrows + 1) * ncols */
};

/* Mark every cell by the rule above. Returns 0, or -1 when the table cannot
 * be protected as it is: a negative count, or (with groups) a total that is
 * not the sum of its column. */
int sup_apply(const struct sup_table *t);

/* "<5", "x", or NULL for a shown cell. */
const char *sup_mark_text(enum sup_mark m);

#endif
