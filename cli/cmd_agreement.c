/* SPDX-License-Identifier: MIT */
/* `lmsync agreement`: cooperation agreements between kommuner and their
 * helseforetak, and their follow-up (domain/agreement.h). This file holds
 * the command, its help and shared helpers, create, update and party add;
 * cmd_agreement_item.c the items and notes, cmd_agreement_view.c show,
 * list and overdue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmd_agreement.h"
#include "domain/enums.h"
#include "domain/network.h"
#include "domain/org.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_agreement = {
    .name = "agreement",
    .summary = "cooperation agreements (samarbeidsavtaler) and their follow-up",
    .help = "usage: lmsync [-d DIR] agreement create|show|list|update|party|item|note|overdue ...\n"
	    "\n"
	    "By law every kommune has a cooperation agreement (samarbeidsavtale) with its\n"
	    "helseforetak (HF, the hospital trust): a framework agreement and numbered\n"
	    "sub-agreements (delavtaler; 2 and 10 cover læring og mestring, 6 kompetanse).\n"
	    "lmsync keeps what the parties agreed to follow up: items with a responsible\n"
	    "party and a due date, and a log of notes and avvik (deviations: something\n"
	    "not done as agreed) that neither party can change afterwards.\n"
	    "\n"
	    "Each agreement is a governed scope of its own (NAME@ROOT, see `lmsync scope\n"
	    "--help`), rooted at the site that creates it: only its parties and observers\n"
	    "receive it, relayed by this site's hubs. Kommune and helseforetak parties\n"
	    "change the agreement, its delavtaler and items and write notes; observers\n"
	    "(observatør) only read; the creating site alone names the parties. When both\n"
	    "parties change one field at once, the later change wins everywhere and the\n"
	    "other is kept in `lmsync conflicts`.\n"
	    "\n"
	    "A is an agreement's id, a unique beginning of it, or its NAME; SITE is a\n"
	    "site id or the name of an organisation or peer known here; ITEM is an\n"
	    "item's id or its first 4 or more hex digits. Dates are YYYY-MM-DD or\n"
	    "DD.MM.YYYY (kept as YYYY-MM-DD).\n"
	    "\n"
	    "  agreement create NAME --title T --kommune SITE [--kommune SITE ...]\n"
	    "        [--hf SITE] [--from DATE] [--to DATE] [--status S]\n"
	    "        [--next-review DATE] [--part N[:TITLE] ...]\n"
	    "      Make agreement NAME@this site and print its id. This site is the\n"
	    "      helseforetak party when it is a helseforetak; otherwise give --hf, and\n"
	    "      this site must be one of the --kommune parties. --part adds delavtale\n"
	    "      N (1 to 99), e.g. --part '10:Læring og mestring'. Status S, also of\n"
	    "      delavtaler: under-forhandling (the default), signert, publisert or\n"
	    "      til-revisjon.\n"
	    "  agreement show A [--json]\n"
	    "      The agreement, its parties, delavtaler, items and latest notes.\n"
	    "  agreement list [--json]\n"
	    "      The agreements this site is party to or observes.\n"
	    "  agreement update A [--status S] [--next-review DATE] [--from DATE]\n"
	    "        [--to DATE] [--part N --part-status S]\n"
	    "      Change the agreement, or the status of its delavtale N. An empty\n"
	    "      --next-review, --from or --to clears the date.\n"
	    "  agreement party add A SITE --role kommune|observatør\n"
	    "      Add a kommune party or an observer (creating site only).\n"
	    "  agreement item add A --what TEXT --responsible R --due DATE [--part N]\n"
	    "        [--status S]\n"
	    "      Add a follow-up item and print its id. R: helseforetak, kommune or\n"
	    "      felles (both together). S: åpen (the default), pågår, fullført or\n"
	    "      avvik.\n"
	    "  agreement item update A ITEM [--status S] [--due DATE] [--what TEXT]\n"
	    "        [--responsible R] [--part N]\n"
	    "  agreement item list [A] [--status S] [--json]\n"
	    "  agreement note A [--item ITEM] [--avvik] TEXT\n"
	    "      Append a note (or, with --avvik, a deviation) to the agreement's log,\n"
	    "      about one item when --item is given. Notes are never changed.\n"
	    "  agreement overdue [A] [--date DATE] [--json]\n"
	    "      Items past due on DATE (default today) and not fullført, per agreement\n"
	    "      and responsible party, with the days overdue. An item due on DATE is\n"
	    "      not overdue yet.\n"
	    "\n"
	    "No free text may hold a national identity number (fødselsnummer): lmsync\n"
	    "shares no personal data.\n",
    .run = run,
};

/* ---- shared with cmd_agreement_item.c and cmd_agreement_view.c ---- */

int agr_open(struct cli *cli, struct store *st)
{
	return cli_open_domain(cli, st, "agreements");
}

int agr_resolve(struct store *st, const char *arg, char *id, size_t cap)
{
	lm_err err;

	if (agreement_resolve(st, arg, id, cap, &err) == 0)
		return EXIT_OK;
	store_close(st);
	return cli_fail("%s", err.msg);
}

void agr_today(char out[11])
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

void agr_item_json(struct json *j, const struct agreement_item *it, int with_days)
{
	json_object_begin(j);
	json_kv_str(j, "agreement", it->agreement);
	json_kv_str(j, "id", it->id);
	json_key(j, "part");
	if (it->part)
		json_int(j, it->part);
	else
		json_null(j);
	json_kv_str(j, "what", it->what);
	json_kv_str(j, "responsible", it->responsible);
	json_kv_str(j, "due", it->due);
	json_kv_str(j, "status", it->status);
	json_kv_str(j, "updated_at", it->updated_at);
	if (with_days)
		json_kv_int(j, "days_overdue", it->days_overdue);
	json_object_end(j);
}

void agr_item_line(const struct agreement_item *it, int indent)
{
	char part[16] = "";

	if (it->part)
		snprintf(part, sizeof(part), "delavtale %d", it->part);
	printf("%*s%s  %-10s  %-*s  %-12s  %-12s  %s\n", indent, "", it->id, it->due,
	       cli_pad(it->status, 8), it->status, it->responsible, part, it->what);
}

/* ---- create ---- */

#define MAX_KOMMUNER 64

static int create_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"title", required_argument, NULL, 't'},
	    {"kommune", required_argument, NULL, 'k'},
	    {"hf", required_argument, NULL, 'f'},
	    {"from", required_argument, NULL, 'F'},
	    {"to", required_argument, NULL, 'T'},
	    {"status", required_argument, NULL, 's'},
	    {"next-review", required_argument, NULL, 'r'},
	    {"part", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct agreement_part parts[AGREEMENT_PARTS_MAX];
	const char *kommune_args[MAX_KOMMUNER], *hf_arg = NULL;
	char kommuner[MAX_KOMMUNER][65], hf[65], id[AGREEMENT_ID_MAX + 1];
	const char *kp[MAX_KOMMUNER];
	struct agreement_spec s;
	struct store st;
	size_t nk = 0, i;
	lm_err err;
	int c, rc;

	memset(&s, 0, sizeof(s));
	while ((c = cli_getopt(&cmd_agreement, argc, argv, ":h", longopts)) != -1) {
		switch (c) {
		case 't':
			s.title = optarg;
			break;
		case 'k':
			if (nk == MAX_KOMMUNER)
				return cli_usage(&cmd_agreement, "--kommune: at most %d kommuner",
						 MAX_KOMMUNER);
			kommune_args[nk++] = optarg;
			break;
		case 'f':
			hf_arg = optarg;
			break;
		case 'F':
			s.from = optarg;
			break;
		case 'T':
			s.to = optarg;
			break;
		case 's':
			s.status = optarg;
			break;
		case 'r':
			s.next_review = optarg;
			break;
		case 'p':
			if (s.nparts == AGREEMENT_PARTS_MAX)
				return cli_usage(&cmd_agreement, "--part: at most %d delavtaler",
						 AGREEMENT_PARTS_MAX);
			if (agreement_part_parse("--part", optarg, &parts[s.nparts], &err) != 0)
				return cli_fail("%s", err.msg);
			s.nparts++;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_agreement, "agreement create takes one NAME");
	if (s.title == NULL)
		return cli_usage(&cmd_agreement, "agreement create needs --title");
	if (nk == 0)
		return cli_usage(&cmd_agreement, "agreement create needs --kommune SITE (one or "
						 "more)");
	if (agr_open(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = 0;
	for (i = 0; rc == 0 && i < nk; i++) {
		rc = dom_site_resolve(&st, kommune_args[i], kommuner[i], &err);
		if (rc != 0)
			lm_err_wrap(&err, "--kommune");
		kp[i] = kommuner[i];
	}
	if (rc == 0 && hf_arg && (rc = dom_site_resolve(&st, hf_arg, hf, &err)) != 0)
		lm_err_wrap(&err, "--hf");
	s.hf = hf_arg ? hf : NULL;
	s.kommuner = kp;
	s.nkommuner = nk;
	s.parts = parts;
	if (rc == 0)
		rc = agreement_create(&st, argv[optind], &s, id, sizeof(id), &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	printf("%s\n", id);
	return EXIT_OK;
}

/* ---- update and party add ---- */

static int update_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"status", required_argument, NULL, 's'}, {"next-review", required_argument, NULL, 'r'},
	    {"from", required_argument, NULL, 'F'},   {"to", required_argument, NULL, 'T'},
	    {"part", required_argument, NULL, 'p'},   {"part-status", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	const char *part = NULL, *part_status = NULL;
	char id[AGREEMENT_ID_MAX + 1];
	struct agreement_change ch;
	struct store st;
	long n = 0;
	lm_err err;
	int c, rc = 0;

	memset(&ch, 0, sizeof(ch));
	while ((c = cli_getopt(&cmd_agreement, argc, argv, ":h", longopts)) != -1) {
		if (c == 's')
			ch.status = optarg;
		else if (c == 'r')
			ch.next_review = optarg;
		else if (c == 'F')
			ch.from = optarg;
		else if (c == 'T')
			ch.to = optarg;
		else if (c == 'p')
			part = optarg;
		else if (c == 'P')
			part_status = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_agreement, "agreement update takes one agreement A");
	if ((part == NULL) != (part_status == NULL))
		return cli_usage(&cmd_agreement, "--part N and --part-status S go together");
	if (!ch.status && !ch.next_review && !ch.from && !ch.to && !part)
		return cli_usage(&cmd_agreement, "agreement update: nothing to change; give "
						 "--status, --next-review, --from, --to or --part "
						 "with --part-status");
	if (part && dom_parse_int("--part", part, 1, AGREEMENT_PARTS_MAX, &n, &err) != 0)
		return cli_fail("%s", err.msg);
	if (agr_open(cli, &st) != EXIT_OK || agr_resolve(&st, argv[optind], id, sizeof(id)))
		return EXIT_FAIL;
	if (ch.status || ch.next_review || ch.from || ch.to)
		rc = agreement_update(&st, id, &ch, &err);
	if (rc == 0 && part)
		rc = agreement_part_set_status(&st, id, (int)n, part_status, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	printf("Updated %s.\n", id);
	return EXIT_OK;
}

static int party_add_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char id[AGREEMENT_ID_MAX + 1], site[65], name[DOM_TEXT_SHORT + 1];
	const char *role = NULL, *r;
	struct store st;
	lm_err err;
	int c, rc;

	while ((c = cli_getopt(&cmd_agreement, argc, argv, ":h", longopts)) != -1) {
		if (c == 'r')
			role = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 2)
		return cli_usage(&cmd_agreement,
				 "agreement party add takes an agreement A and a SITE");
	if (role == NULL)
		return cli_usage(&cmd_agreement,
				 "agreement party add needs --role kommune|observatør");
	if ((r = dom_enum_parse(&dom_party_role, "--role", role, &err)) == NULL)
		return cli_fail("%s", err.msg);
	if (agr_open(cli, &st) != EXIT_OK || agr_resolve(&st, argv[optind], id, sizeof(id)))
		return EXIT_FAIL;
	rc = dom_site_resolve(&st, argv[optind + 1], site, &err);
	if (rc != 0)
		lm_err_wrap(&err, "SITE");
	else
		rc = agreement_party_add(&st, id, site, r, &err);
	if (rc >= 0)
		org_name(&st, site, name, sizeof(name));
	store_close(&st);
	if (rc < 0)
		return cli_fail("%s", err.msg);
	if (rc == 0)
		printf("%s is a party (%s) to %s already; nothing changed.\n", name, r, id);
	else
		printf("%s is now a party (%s) to %s.\n", name, r, id);
	return EXIT_OK;
}

static int party_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {{"add", party_add_cmd}};

	return cli_dispatch(&cmd_agreement, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"create", create_cmd}, {"show", agr_show_cmd},	  {"list", agr_list_cmd},
	    {"update", update_cmd}, {"party", party_cmd},	  {"item", agr_item_run},
	    {"note", agr_note_cmd}, {"overdue", agr_overdue_cmd},
	};

	return cli_dispatch(&cmd_agreement, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}
