/* SPDX-License-Identifier: MIT */
/* `lmsync report activity|completeness|close|agreements`: regional reporting
 * from this site's own store (domain/report.h). Every report is first laid
 * out as one grid of cells (grid.h), which the three formats then print, so
 * a table, its CSV and its JSON cannot disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/grid.h"
#include "domain/report.h"
#include "domain/schema.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_report = {
    .name = "report",
    .summary = "regional reports: activity, closed periods, agreement follow-up",
    .help = "usage: lmsync [-d DIR] report activity|completeness|close|agreements ...\n"
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
	    "  YYYY-MM-DD or DD.MM.YYYY. P is a year (2026), a half (2026-H1), a quarter\n"
	    "  (2026-Q3) or a month (2026-09). Formats: table (aligned columns, the\n"
	    "  default), csv (RFC 4180, with a header row), json (an array of objects;\n"
	    "  hidden counts are the strings \"<5\" and \"x\", every other count a number).\n",
    .run = run,
};

static int parse_format(const char *s, enum grid_format *f)
{
	if (grid_format_parse(s, f) != 0)
		return cli_usage(&cmd_report, "--format: '%s' is no format; use table, csv or json",
				 s);
	return EXIT_OK;
}

/* The options every report shares. */
struct opts {
	const char *network, *from, *to, *by, *period, *date;
	char from_date[11], to_date[11], date_date[11]; /* as YYYY-MM-DD */
	enum grid_format fmt;
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
			o->fmt = GRID_JSON;
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

static const struct grid_col activity_cols[] = {
    {"group", "group", GRID_TEXT},
    {"courses", "courses", GRID_NUM},
    {"runs", "runs", GRID_NUM},
    {"sessions", "sessions", GRID_NUM},
    {"patients", "patients", GRID_NUM},
    {"relatives", "pårørende", GRID_NUM},
    {"participants", "participants", GRID_NUM},
    {"professional_hours", "prof. hours", GRID_NUM},
    {"user_rep_hours", "brukerrep. hours", GRID_NUM},
    {"user_rep_runs", "runs w/ brukerrep.", GRID_NUM},
    {"user_rep_runs_pct", "brukerrep. %", GRID_NUM},
    {"standard_metode_pct", "Standard metode %", GRID_NUM},
    {"forms", "forms", GRID_NUM},
    {"benefit_ingen", "ingen", GRID_NUM},
    {"benefit_noe", "noe", GRID_NUM},
    {"benefit_god", "god", GRID_NUM},
    {"benefit_svaert_god", "svært god", GRID_NUM},
};
#define NACTIVITY ((int)(sizeof(activity_cols) / sizeof(activity_cols[0])))

static void hours(char *out, int64_t centi)
{
	snprintf(out, GRID_CELL_MAX, "%lld.%02lld", (long long)(centi / 100),
		 (long long)(centi % 100));
}

static int activity_row(struct grid *g, const struct rep_row *r)
{
	char *c = grid_next(g);
	int k;

	if (c == NULL)
		return -1;
	snprintf(c, GRID_CELL_MAX, "%s", r->label);
	snprintf(c += GRID_CELL_MAX, GRID_CELL_MAX, "%ld", r->courses);
	snprintf(c += GRID_CELL_MAX, GRID_CELL_MAX, "%ld", r->runs);
	snprintf(c += GRID_CELL_MAX, GRID_CELL_MAX, "%ld", r->sessions);
	for (k = REP_PATIENTS; k <= REP_PARTICIPANTS; k++) {
		const char *m = sup_mark_text(r->mark[k]);

		snprintf(c += GRID_CELL_MAX, GRID_CELL_MAX, "%ld", r->person[k]);
		if (m != NULL)
			snprintf(c, GRID_CELL_MAX, "%s", m);
	}
	hours(c += GRID_CELL_MAX, r->prof_centi);
	hours(c += GRID_CELL_MAX, r->user_rep_centi);
	snprintf(c += GRID_CELL_MAX, GRID_CELL_MAX, "%ld", r->user_rep_runs);
	snprintf(c += GRID_CELL_MAX, GRID_CELL_MAX, "%ld", rep_percent(r->user_rep_runs, r->runs));
	snprintf(c += GRID_CELL_MAX, GRID_CELL_MAX, "%ld", rep_percent(r->std_courses, r->courses));
	for (k = REP_FORMS; k < REP_NPERSON; k++) {
		const char *m = sup_mark_text(r->mark[k]);

		snprintf(c += GRID_CELL_MAX, GRID_CELL_MAX, "%ld", r->person[k]);
		if (m != NULL)
			snprintf(c, GRID_CELL_MAX, "%s", m);
	}
	return 0;
}

static int activity_cmd(struct cli *cli, int argc, char **argv)
{
	char id[NETWORK_ID_MAX + 1];
	struct grid_col cols[NACTIVITY];
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
	if (dom_parse_date_opt("--from", &o.from, o.from_date, &err) != 0 ||
	    dom_parse_date_opt("--to", &o.to, o.to_date, &err) != 0 ||
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
	grid_init(&g, cols, NACTIVITY);
	for (i = 0, rc = 0; rc == 0 && i < a.n; i++)
		rc = activity_row(&g, &a.rows[i]);
	if (rc == 0)
		rc = activity_row(&g, &a.total);
	rep_activity_free(&a);
	if (rc != 0) {
		grid_free(&g);
		return cli_fail("out of memory for the report");
	}
	if (o.fmt == GRID_TABLE)
		printf("Activity in %s, %s to %s (runs held)\n\n", id, o.from, o.to);
	grid_print(&g, o.fmt);
	grid_free(&g);
	return EXIT_OK;
}

static const struct grid_col member_cols[] = {
    {"org", "organisation", GRID_TEXT},	   {"site", "site", GRID_SITE},
    {"role", "role", GRID_TEXT},	   {"closed", "closed", GRID_BOOL},
    {"closed_at", "closed at", GRID_TEXT},
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
	grid_init(&g, member_cols, 5);
	for (i = 0; i < n; i++) {
		char *c = grid_next(&g);

		if (c == NULL) {
			free(m), grid_free(&g);
			return cli_fail("out of memory for the report");
		}
		snprintf(c, GRID_CELL_MAX, "%s", m[i].name);
		snprintf(c + GRID_CELL_MAX, GRID_CELL_MAX, "%s", m[i].org);
		snprintf(c + 2 * GRID_CELL_MAX, GRID_CELL_MAX, "%s", m[i].role);
		snprintf(c + 3 * GRID_CELL_MAX, GRID_CELL_MAX, "%s", m[i].closed ? "yes" : "no");
		snprintf(c + 4 * GRID_CELL_MAX, GRID_CELL_MAX, "%s", m[i].closed_at);
		closed += m[i].closed;
	}
	free(m);
	if (o.fmt == GRID_TABLE)
		printf("Reporting for %s (%s to %s) in %s: %d of %d members closed\n\n", o.period,
		       from, to, id, closed, n);
	grid_print(&g, o.fmt);
	grid_free(&g);
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

static const struct grid_col pair_cols[] = {
    {"helseforetak", "helseforetak", GRID_TEXT},
    {"helseforetak_site", "site", GRID_SITE},
    {"kommune", "kommune", GRID_TEXT},
    {"kommune_site", "site", GRID_SITE},
    {"agreements", "agreements", GRID_NUM},
    {"open", "open", GRID_NUM},
    {"overdue", "overdue", GRID_NUM},
    {"avvik", "avvik", GRID_NUM},
    {"done", "fullført", GRID_NUM},
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
	if (dom_parse_date_opt("--date", &o.date, o.date_date, &err) != 0)
		return cli_usage(&cmd_report, "%s", err.msg);
	localtime_r(&t, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if (cli_open_domain(cli, &st, "reports") != EXIT_OK)
		return EXIT_FAIL;
	rc = rep_agreements(&st, o.date ? o.date : today, &p, &n, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	grid_init(&g, pair_cols, 9);
	for (i = 0; i < n; i++) {
		char *c = grid_next(&g);

		if (c == NULL) {
			free(p), grid_free(&g);
			return cli_fail("out of memory for the report");
		}
		snprintf(c, GRID_CELL_MAX, "%s", p[i].hf_name);
		snprintf(c + GRID_CELL_MAX, GRID_CELL_MAX, "%s", p[i].hf);
		snprintf(c + 2 * GRID_CELL_MAX, GRID_CELL_MAX, "%s", p[i].kommune_name);
		snprintf(c + 3 * GRID_CELL_MAX, GRID_CELL_MAX, "%s", p[i].kommune);
		snprintf(c + 4 * GRID_CELL_MAX, GRID_CELL_MAX, "%ld", p[i].agreements);
		snprintf(c + 5 * GRID_CELL_MAX, GRID_CELL_MAX, "%ld", p[i].open);
		snprintf(c + 6 * GRID_CELL_MAX, GRID_CELL_MAX, "%ld", p[i].overdue);
		snprintf(c + 7 * GRID_CELL_MAX, GRID_CELL_MAX, "%ld", p[i].deviations);
		snprintf(c + 8 * GRID_CELL_MAX, GRID_CELL_MAX, "%ld", p[i].done);
	}
	free(p);
	if (o.fmt == GRID_TABLE) {
		if (n == 0) {
			printf("No agreements here yet.\n");
			grid_free(&g);
			return EXIT_OK;
		}
		printf("Agreement follow-up per helseforetak and kommune, overdue as of %s\n\n",
		       o.date ? o.date : today);
	}
	grid_print(&g, o.fmt);
	grid_free(&g);
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
