/* SPDX-License-Identifier: MIT */
/* `lmsync report activity|completeness|close|agreements`: regional reporting
 * from this site's own store (domain/report.h). Every report is first laid
 * out as one grid of cells, which the three formats then print, so a table,
 * its CSV and its JSON cannot disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "proto/siteid.h"
#include "domain/report.h"
#include "domain/schema.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_report = {
    "report",
    "regional reporting: activity, who has closed a period, agreement follow-up",
    "usage: lmsync [-d DIR] report activity|completeness|close|agreements ...\n"
    "\n"
    "Reports are computed from this site's own store: every member of a network\n"
    "holds the network's courses and runs, so each gets the same figures, with\n"
    "no central server. `lmsync sync --wait` first waits until this site is in\n"
    "step with its peers, so the store is current.\n"
    "\n"
    "  report activity --network N --from DATE --to DATE [--by GROUP]\n"
    "                  [--format table|csv|json] [--json]\n"
    "      Over the runs held (marked held) whose start date falls in FROM..TO\n"
    "      (both days included), of the courses published to network N and not\n"
    "      archived: courses held, runs, sessions held, participants (patients,\n"
    "      relatives (pårørende) and both), professional hours, hours of\n"
    "      brukerrepresentanter (user representatives: people with lived\n"
    "      experience of an illness, as patient or pårørende, who plan and teach\n"
    "      a course as equal partners of the professionals), runs of courses\n"
    "      with brukerrepresentanter and their share, the share of courses run\n"
    "      by Standard metode (planned, taught and evaluated by brukerrepresentanter\n"
    "      and professionals together, the national model since 1997), the\n"
    "      evaluation forms returned and their benefit ratings (ingen, noe, god,\n"
    "      svært god nytte).\n"
    "        --by GROUP  one row per org (the owning organisation), kind, target\n"
    "                    (target group), diagnosis (diagnoseuavhengig: offers for\n"
    "                    any diagnosis) or municipality, then the total; without\n"
    "                    --by the total alone\n"
    "      Small numbers are hidden so no participant can be singled out:\n"
    "        <5  a count of persons from 1 to 4 (0 is shown as 0);\n"
    "        x   hidden so that no <5 can be worked out by subtraction.\n"
    "      A row's participant counts (patients, pårørende, participants) are\n"
    "      shown or hidden together, and so are its evaluation counts (forms and\n"
    "      ratings); participants and forms are always x when hidden. Column by\n"
    "      column, while the shown cells and the total would pin a hidden cell to\n"
    "      one value (one <5 alone, two <5 summing to 2 or 8, a total of 1 to 4\n"
    "      over four <5 ...), the smallest shown cell of the column is hidden\n"
    "      too, and when none is left, the total (x). Counts of courses, runs,\n"
    "      sessions and hours are never hidden. This protects one table as it is\n"
    "      handed on, not against subtracting two reports (other dates, another\n"
    "      grouping) from each other.\n"
    "  report completeness --network N --period P [--format table|csv|json] [--json]\n"
    "      Which member organisations of network N have closed their reporting\n"
    "      for period P, and when; which have not.\n"
    "  report close --network N --period P\n"
    "      Close this site's own reporting for P in network N (a replicated row\n"
    "      every member receives). Only a member of the network can; closing\n"
    "      again changes nothing.\n"
    "  report agreements [--date DATE] [--format table|csv|json] [--json]\n"
    "      Follow-up of the samarbeidsavtaler (cooperation agreements) this site\n"
    "      holds, per helseforetak-kommune pair: items open (åpen or pågår),\n"
    "      overdue (due before DATE, default today, and not fullført), with\n"
    "      status avvik (a deviation: not done as agreed), and fullført (done).\n"
    "      Notes written with `agreement note --avvik` are in each agreement's\n"
    "      log (`lmsync agreement show`), not counted here.\n"
    "\n"
    "  N is a network's id (NAME@ROOT), its NAME or its display name. DATE is\n"
    "  YYYY-MM-DD. P is a year (2026), a half (2026-H1), a quarter (2026-Q3) or\n"
    "  a month (2026-09). Formats: table (aligned columns, the default), csv\n"
    "  (RFC 4180, with a header row), json (an array of objects; hidden counts\n"
    "  are the strings \"<5\" and \"x\", every other count a number).\n",
    run,
};

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON };
/* K_SITE: a site id in hex, shown as its short text form in tables (as
 * `status` and `org list` show sites) and whole in csv and json. */
enum kind { K_TEXT, K_NUM, K_BOOL, K_SITE };

struct gcol {
	const char *key;  /* csv and json */
	const char *head; /* table */
	enum kind kind;
};

#define CELL_MAX 256

/* A report as cells: ncols per row, row-major. */
struct grid {
	const struct gcol *cols;
	int ncols, nrows, cap;
	char (*cell)[CELL_MAX];
};

static char *grid_next(struct grid *g)
{
	size_t need = (size_t)(g->nrows + 1) * (size_t)g->ncols;

	if ((int)need > g->cap) {
		int cap = g->cap ? 2 * g->cap : 64 * g->ncols;
		char(*c)[CELL_MAX];

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

/* Display width of UTF-8 text: count every byte that does not continue a
 * character (æ, ø, å are one column each). */
static int width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
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

	return r < 0 || g->cols[c].kind != K_SITE ? s : cli_site_short(s, buf);
}

static void print_table(const struct grid *g)
{
	char buf[SITEID_SHORT_LEN + 1];
	int w[32], r, c;

	for (c = 0; c < g->ncols; c++)
		w[c] = width(g->cols[c].head);
	for (r = 0; r < g->nrows; r++)
		for (c = 0; c < g->ncols; c++)
			if (width(shown(g, r, c, buf)) > w[c])
				w[c] = width(shown(g, r, c, buf));
	for (r = -1; r < g->nrows; r++) {
		for (c = 0; c < g->ncols; c++) {
			const char *s = shown(g, r, c, buf);
			int gap = w[c] - width(s);

			if (c > 0)
				fputs("  ", stdout);
			if (g->cols[c].kind == K_NUM)
				pad(gap);
			fputs(s, stdout);
			if (g->cols[c].kind != K_NUM && c + 1 < g->ncols)
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
			if (g->cols[c].kind == K_BOOL)
				fputs(strcmp(s, "yes") == 0 ? "true" : "false", stdout);
			else if (g->cols[c].kind == K_NUM && s[0] != '<' && s[0] != 'x')
				fputs(s, stdout);
			else
				json_string(s);
		}
		putchar('}');
	}
	fputs(g->nrows ? "\n]\n" : "]\n", stdout);
}

static void print_grid(const struct grid *g, enum fmt f)
{
	if (f == FMT_TABLE)
		print_table(g);
	else if (f == FMT_CSV)
		print_csv(g);
	else
		print_json(g);
}

static int parse_format(const char *s, enum fmt *f)
{
	if (strcmp(s, "table") == 0)
		*f = FMT_TABLE;
	else if (strcmp(s, "csv") == 0)
		*f = FMT_CSV;
	else if (strcmp(s, "json") == 0)
		*f = FMT_JSON;
	else
		return cli_usage(&cmd_report, "--format: '%s' is no format; use table, csv or json",
				 s);
	return EXIT_OK;
}

/* The options every report shares. */
struct opts {
	const char *network, *from, *to, *by, *period, *date;
	enum fmt fmt;
};

/* Parse argv; want lists the long options this subcommand takes. */
static int parse(int argc, char **argv, const char *want, struct opts *o)
{
	static const struct option all[] = {
	    {"network", required_argument, NULL, 'n'}, {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},      {"by", required_argument, NULL, 'b'},
	    {"period", required_argument, NULL, 'p'},  {"date", required_argument, NULL, 'D'},
	    {"format", required_argument, NULL, 'F'},  {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	struct option longopts[sizeof(all) / sizeof(all[0])];
	size_t i, k = 0;
	int c;

	memset(o, 0, sizeof(*o));
	for (i = 0; all[i].name != NULL; i++)
		if (strchr(want, all[i].val) != NULL || all[i].val == 'h')
			longopts[k++] = all[i];
	memset(&longopts[k], 0, sizeof(longopts[k]));
	while ((c = cli_getopt(&cmd_report, argc, argv, ":h", longopts)) != -1) {
		switch (c) {
		case 'n':
			o->network = optarg;
			break;
		case 'f':
			o->from = optarg;
			break;
		case 't':
			o->to = optarg;
			break;
		case 'b':
			o->by = optarg;
			break;
		case 'p':
			o->period = optarg;
			break;
		case 'D':
			o->date = optarg;
			break;
		case 'j':
			o->fmt = FMT_JSON;
			break;
		case 'F':
			if (parse_format(optarg, &o->fmt) != EXIT_OK)
				return EXIT_USAGE;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage(&cmd_report, "%s takes no argument '%s'; give it as an option",
				 argv[0], argv[optind]);
	return EXIT_OK;
}

/* Open the store and resolve --network into id. */
static int open_network(struct cli *cli, const char *arg, struct store *st, char *id, size_t cap)
{
	lm_err err;

	if (cli_open_domain(cli, st, "reports") != EXIT_OK)
		return EXIT_FAIL;
	if (network_resolve(st, arg, id, cap, &err) != 0) {
		store_close(st);
		return cli_fail("--network: %s", err.msg);
	}
	return EXIT_OK;
}

static const struct gcol activity_cols[] = {
    {"group", "group", K_TEXT},
    {"courses", "courses", K_NUM},
    {"runs", "runs", K_NUM},
    {"sessions", "sessions", K_NUM},
    {"patients", "patients", K_NUM},
    {"relatives", "pårørende", K_NUM},
    {"participants", "participants", K_NUM},
    {"professional_hours", "prof. hours", K_NUM},
    {"user_rep_hours", "brukerrep. hours", K_NUM},
    {"user_rep_runs", "runs w/ brukerrep.", K_NUM},
    {"user_rep_runs_pct", "brukerrep. %", K_NUM},
    {"standard_metode_pct", "Standard metode %", K_NUM},
    {"forms", "forms", K_NUM},
    {"benefit_ingen", "ingen", K_NUM},
    {"benefit_noe", "noe", K_NUM},
    {"benefit_god", "god", K_NUM},
    {"benefit_svaert_god", "svært god", K_NUM},
};
#define NACTIVITY ((int)(sizeof(activity_cols) / sizeof(activity_cols[0])))

static void hours(char *out, int64_t centi)
{
	snprintf(out, CELL_MAX, "%lld.%02lld", (long long)(centi / 100), (long long)(centi % 100));
}

static int activity_row(struct grid *g, const struct rep_row *r)
{
	char *c = grid_next(g);
	int k;

	if (c == NULL)
		return -1;
	snprintf(c, CELL_MAX, "%s", r->label);
	snprintf(c += CELL_MAX, CELL_MAX, "%ld", r->courses);
	snprintf(c += CELL_MAX, CELL_MAX, "%ld", r->runs);
	snprintf(c += CELL_MAX, CELL_MAX, "%ld", r->sessions);
	for (k = REP_PATIENTS; k <= REP_PARTICIPANTS; k++) {
		const char *m = sup_mark_text(r->mark[k]);

		snprintf(c += CELL_MAX, CELL_MAX, "%ld", r->person[k]);
		if (m != NULL)
			snprintf(c, CELL_MAX, "%s", m);
	}
	hours(c += CELL_MAX, r->prof_centi);
	hours(c += CELL_MAX, r->user_rep_centi);
	snprintf(c += CELL_MAX, CELL_MAX, "%ld", r->user_rep_runs);
	snprintf(c += CELL_MAX, CELL_MAX, "%ld", rep_percent(r->user_rep_runs, r->runs));
	snprintf(c += CELL_MAX, CELL_MAX, "%ld", rep_percent(r->std_courses, r->courses));
	for (k = REP_FORMS; k < REP_NPERSON; k++) {
		const char *m = sup_mark_text(r->mark[k]);

		snprintf(c += CELL_MAX, CELL_MAX, "%ld", r->person[k]);
		if (m != NULL)
			snprintf(c, CELL_MAX, "%s", m);
	}
	return 0;
}

static int activity_cmd(struct cli *cli, int argc, char **argv)
{
	char id[NETWORK_ID_MAX + 1];
	struct gcol cols[NACTIVITY];
	struct rep_activity a;
	struct grid g;
	enum rep_by by = REP_BY_NONE;
	struct opts o;
	struct store st;
	lm_err err;
	int rc, i;

	rc = parse(argc, argv, "nftbFj", &o);
	if (rc != EXIT_OK)
		return rc;
	if (o.network == NULL || o.from == NULL || o.to == NULL)
		return cli_usage(&cmd_report, "report activity needs --network, --from and --to");
	if (dom_check_date("--from", o.from, &err) != 0 ||
	    dom_check_date("--to", o.to, &err) != 0 ||
	    (o.by != NULL && rep_by_parse("--by", o.by, &by, &err) != 0))
		return cli_usage(&cmd_report, "%s", err.msg);
	if (strcmp(o.from, o.to) > 0)
		return cli_usage(&cmd_report,
				 "--from %s is after --to %s; give the earlier day first", o.from,
				 o.to);
	if (open_network(cli, o.network, &st, id, sizeof(id)) != EXIT_OK)
		return EXIT_FAIL;
	rc = rep_activity(&st, id, o.from, o.to, by, &a, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	memcpy(cols, activity_cols, sizeof(cols));
	cols[0].head = by == REP_BY_NONE ? "network" : rep_by_name(by);
	memset(&g, 0, sizeof(g));
	g.cols = cols, g.ncols = NACTIVITY;
	for (i = 0, rc = 0; rc == 0 && i < a.n; i++)
		rc = activity_row(&g, &a.rows[i]);
	if (rc == 0)
		rc = activity_row(&g, &a.total);
	rep_activity_free(&a);
	if (rc != 0) {
		free(g.cell);
		return cli_fail("out of memory for the report");
	}
	if (o.fmt == FMT_TABLE)
		printf("Activity in %s, %s to %s (runs held)\n\n", id, o.from, o.to);
	print_grid(&g, o.fmt);
	free(g.cell);
	return EXIT_OK;
}

static const struct gcol member_cols[] = {
    {"org", "organisation", K_TEXT}, {"site", "site", K_SITE},		 {"role", "role", K_TEXT},
    {"closed", "closed", K_BOOL},    {"closed_at", "closed at", K_TEXT},
};

static int completeness_cmd(struct cli *cli, int argc, char **argv)
{
	char id[NETWORK_ID_MAX + 1], from[11], to[11];
	struct rep_member *m = NULL;
	struct grid g;
	struct opts o;
	struct store st;
	lm_err err;
	int rc, n = 0, i, closed = 0;

	rc = parse(argc, argv, "npFj", &o);
	if (rc != EXIT_OK)
		return rc;
	if (o.network == NULL || o.period == NULL)
		return cli_usage(&cmd_report, "report completeness needs --network and --period");
	if (dom_period_parse("--period", o.period, from, to, &err) != 0)
		return cli_usage(&cmd_report, "%s", err.msg);
	if (open_network(cli, o.network, &st, id, sizeof(id)) != EXIT_OK)
		return EXIT_FAIL;
	rc = rep_completeness(&st, id, o.period, &m, &n, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	memset(&g, 0, sizeof(g));
	g.cols = member_cols, g.ncols = 5;
	for (i = 0; i < n; i++) {
		char *c = grid_next(&g);

		if (c == NULL) {
			free(m), free(g.cell);
			return cli_fail("out of memory for the report");
		}
		snprintf(c, CELL_MAX, "%s", m[i].name);
		snprintf(c + CELL_MAX, CELL_MAX, "%s", m[i].org);
		snprintf(c + 2 * CELL_MAX, CELL_MAX, "%s", m[i].role);
		snprintf(c + 3 * CELL_MAX, CELL_MAX, "%s", m[i].closed ? "yes" : "no");
		snprintf(c + 4 * CELL_MAX, CELL_MAX, "%s", m[i].closed_at);
		closed += m[i].closed;
	}
	free(m);
	if (o.fmt == FMT_TABLE)
		printf("Reporting for %s (%s to %s) in %s: %d of %d members closed\n\n", o.period,
		       from, to, id, closed, n);
	print_grid(&g, o.fmt);
	free(g.cell);
	return EXIT_OK;
}

static int close_cmd(struct cli *cli, int argc, char **argv)
{
	char id[NETWORK_ID_MAX + 1], from[11], to[11], now[32], at[32];
	time_t t = time(NULL);
	struct opts o;
	struct store st;
	struct tm tm;
	lm_err err;
	int rc;

	rc = parse(argc, argv, "np", &o);
	if (rc != EXIT_OK)
		return rc;
	if (o.network == NULL || o.period == NULL)
		return cli_usage(&cmd_report, "report close needs --network and --period");
	if (dom_period_parse("--period", o.period, from, to, &err) != 0)
		return cli_usage(&cmd_report, "%s", err.msg);
	if (open_network(cli, o.network, &st, id, sizeof(id)) != EXIT_OK)
		return EXIT_FAIL;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rc = rep_close(&st, id, o.period, now, at, sizeof(at), &err);
	store_close(&st);
	if (rc < 0)
		return cli_fail("%s", err.msg);
	if (rc == 0)
		printf("This site closed its reporting for %s in %s already, at %s; nothing "
		       "changed.\n",
		       o.period, id, at);
	else
		printf("Closed this site's reporting for %s in %s at %s.\n", o.period, id, at);
	return EXIT_OK;
}

static const struct gcol pair_cols[] = {
    {"helseforetak", "helseforetak", K_TEXT},
    {"helseforetak_site", "site", K_SITE},
    {"kommune", "kommune", K_TEXT},
    {"kommune_site", "site", K_SITE},
    {"agreements", "agreements", K_NUM},
    {"open", "open", K_NUM},
    {"overdue", "overdue", K_NUM},
    {"avvik", "avvik", K_NUM},
    {"done", "fullført", K_NUM},
};

static int agreements_cmd(struct cli *cli, int argc, char **argv)
{
	char today[11];
	time_t t = time(NULL);
	struct rep_pair *p = NULL;
	struct grid g;
	struct opts o;
	struct store st;
	struct tm tm;
	lm_err err;
	int rc, n = 0, i;

	rc = parse(argc, argv, "DFj", &o);
	if (rc != EXIT_OK)
		return rc;
	if (o.date != NULL && dom_check_date("--date", o.date, &err) != 0)
		return cli_usage(&cmd_report, "%s", err.msg);
	localtime_r(&t, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if (cli_open_domain(cli, &st, "reports") != EXIT_OK)
		return EXIT_FAIL;
	rc = rep_agreements(&st, o.date ? o.date : today, &p, &n, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	memset(&g, 0, sizeof(g));
	g.cols = pair_cols, g.ncols = 9;
	for (i = 0; i < n; i++) {
		char *c = grid_next(&g);

		if (c == NULL) {
			free(p), free(g.cell);
			return cli_fail("out of memory for the report");
		}
		snprintf(c, CELL_MAX, "%s", p[i].hf_name);
		snprintf(c + CELL_MAX, CELL_MAX, "%s", p[i].hf);
		snprintf(c + 2 * CELL_MAX, CELL_MAX, "%s", p[i].kommune_name);
		snprintf(c + 3 * CELL_MAX, CELL_MAX, "%s", p[i].kommune);
		snprintf(c + 4 * CELL_MAX, CELL_MAX, "%ld", p[i].agreements);
		snprintf(c + 5 * CELL_MAX, CELL_MAX, "%ld", p[i].open);
		snprintf(c + 6 * CELL_MAX, CELL_MAX, "%ld", p[i].overdue);
		snprintf(c + 7 * CELL_MAX, CELL_MAX, "%ld", p[i].deviations);
		snprintf(c + 8 * CELL_MAX, CELL_MAX, "%ld", p[i].done);
	}
	free(p);
	if (o.fmt == FMT_TABLE) {
		if (n == 0) {
			printf("No agreements here yet.\n");
			free(g.cell);
			return EXIT_OK;
		}
		printf("Agreement follow-up per helseforetak and kommune, overdue as of %s\n\n",
		       o.date ? o.date : today);
	}
	print_grid(&g, o.fmt);
	free(g.cell);
	return EXIT_OK;
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"activity", activity_cmd},
	    {"completeness", completeness_cmd},
	    {"close", close_cmd},
	    {"agreements", agreements_cmd},
	};

	return cli_dispatch(&cmd_report, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}
