/* SPDX-License-Identifier: MIT */
/* The report grid; see grid.h. Every format prints from the same cells:
 * only what a table shows of a site id differs. */
#include "cli/grid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "proto/siteid.h"

void grid_init(struct grid *g, const struct grid_col *cols, int ncols)
{
	memset(g, 0, sizeof(*g));
	g->cols = cols;
	g->ncols = ncols;
}

void grid_free(struct grid *g)
{
	free(g->cell);
	g->cell = NULL;
	g->nrows = g->cap = 0;
}

char *grid_next(struct grid *g)
{
	size_t need = (size_t)(g->nrows + 1) * (size_t)g->ncols;

	if ((int)need > g->cap) {
		int cap = g->cap ? 2 * g->cap : 64 * g->ncols;
		char(*c)[GRID_CELL_MAX];

		while (cap < (int)need)
			cap *= 2;
		c = realloc(g->cell, (size_t)cap * sizeof(*c));
		if (c == NULL)
			return NULL;
		g->cell = c;
		g->cap = cap;
	}
	return g->cell[g->nrows++ * g->ncols];
}

static void pad(int n)
{
	while (n-- > 0)
		putchar(' ');
}

/* What a table shows of cell c of row r (r < 0: the heading). */
static const char *shown(const struct grid *g, int r, int c, char *buf)
{
	const char *s = r < 0 ? g->cols[c].head : g->cell[r * g->ncols + c];

	return r < 0 || g->cols[c].kind != GRID_SITE ? s : cli_site_short(s, buf);
}

static void print_table(const struct grid *g)
{
	char buf[SITEID_SHORT_LEN + 1];
	int w[GRID_COLS_MAX], r, c;

	for (c = 0; c < g->ncols; c++)
		w[c] = cli_text_width(g->cols[c].head);
	for (r = 0; r < g->nrows; r++)
		for (c = 0; c < g->ncols; c++)
			if (cli_text_width(shown(g, r, c, buf)) > w[c])
				w[c] = cli_text_width(shown(g, r, c, buf));
	for (r = -1; r < g->nrows; r++) {
		for (c = 0; c < g->ncols; c++) {
			const char *s = shown(g, r, c, buf);
			int gap = w[c] - cli_text_width(s);

			if (c > 0)
				fputs("  ", stdout);
			if (g->cols[c].kind == GRID_NUM)
				pad(gap);
			fputs(s, stdout);
			if (g->cols[c].kind != GRID_NUM && c + 1 < g->ncols)
				pad(gap);
		}
		putchar('\n');
	}
}

/* RFC 4180: quote a field holding a comma, quote or line break. */
static void csv_field(const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void print_csv(const struct grid *g)
{
	int r, c;

	for (r = -1; r < g->nrows; r++) {
		for (c = 0; c < g->ncols; c++) {
			if (c > 0)
				putchar(',');
			csv_field(r < 0 ? g->cols[c].key : g->cell[r * g->ncols + c]);
		}
		fputs("\r\n", stdout);
	}
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* A number cell is a JSON number unless it holds a marker ("<5", "x"). */
static void print_json(const struct grid *g)
{
	int r, c;

	putchar('[');
	for (r = 0; r < g->nrows; r++) {
		fputs(r ? ",\n {" : "\n {", stdout);
		for (c = 0; c < g->ncols; c++) {
			const char *s = g->cell[r * g->ncols + c];

			if (c > 0)
				fputs(", ", stdout);
			json_string(g->cols[c].key);
			fputs(": ", stdout);
			if (g->cols[c].kind == GRID_BOOL)
				fputs(strcmp(s, "yes") == 0 ? "true" : "false", stdout);
			else if (g->cols[c].kind == GRID_NUM && s[0] != '<' && s[0] != 'x')
				fputs(s, stdout);
			else
				json_string(s);
		}
		putchar('}');
	}
	fputs(g->nrows ? "\n]\n" : "]\n", stdout);
}

void grid_print(const struct grid *g, enum grid_format f)
{
	if (f == GRID_TABLE)
		print_table(g);
	else if (f == GRID_CSV)
		print_csv(g);
	else
		print_json(g);
}

int grid_format_parse(const char *s, enum grid_format *f)
{
	if (strcmp(s, "table") == 0)
		*f = GRID_TABLE;
	else if (strcmp(s, "csv") == 0)
		*f = GRID_CSV;
	else if (strcmp(s, "json") == 0)
		*f = GRID_JSON;
	else
		return -1;
	return 0;
}
