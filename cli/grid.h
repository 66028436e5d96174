/* SPDX-License-Identifier: MIT */
/* A table of text cells printed as aligned columns, CSV or JSON. A report
 * is laid out once as a grid, which each format then prints, so a table,
 * its CSV and its JSON cannot disagree. */
#ifndef LMSYNC_CLI_GRID_H
#define LMSYNC_CLI_GRID_H

enum grid_format { GRID_TABLE, GRID_CSV, GRID_JSON };

/* GRID_NUM: right-aligned in tables, a JSON number unless it holds a marker
 * ("<5", "x"). GRID_BOOL: "yes" or "no", a JSON true or false. GRID_SITE: a
 * site id in hex, shown as its short text form in tables (as `status` and
 * `org list` show sites) and whole in csv and json. */
enum grid_kind { GRID_TEXT, GRID_NUM, GRID_BOOL, GRID_SITE };

struct grid_col {
	const char *key;  /* csv and json */
	const char *head; /* table */
	enum grid_kind kind;
};

#define GRID_CELL_MAX 256
#define GRID_COLS_MAX 32

/* Cells: ncols per row, row-major. The caller owns the struct and cols;
 * the cells are the grid's, freed by grid_free. */
struct grid {
	const struct grid_col *cols;
	int ncols, nrows, cap;
	char (*cell)[GRID_CELL_MAX];
};

/* An empty grid of ncols (at most GRID_COLS_MAX) columns. */
void grid_init(struct grid *g, const struct grid_col *cols, int ncols);
void grid_free(struct grid *g);

/* Append a row; returns its first cell (the next ones follow it, each
 * GRID_CELL_MAX bytes on), or NULL when out of memory. */
char *grid_next(struct grid *g);

void grid_print(const struct grid *g, enum grid_format f);

/* "table", "csv" or "json" into *f; 0, or -1 for anything else. */
int grid_format_parse(const char *s, enum grid_format *f);

#endif
