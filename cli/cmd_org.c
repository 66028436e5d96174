/* SPDX-License-Identifier: MIT */
/* `lmsync org show|set|list`: the organisation this site acts for, and the
 * directory of organisations the region's sites describe (domain/org.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "proto/siteid.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_org = {
    .name = "org",
    .summary = "show or set this site's organisation; list those known here",
    .help = "usage: lmsync [-d DIR] org show|set|list ...\n"
	    "\n"
	    "Each site acts for one organisation and describes it: its name, kind,\n"
	    "organisation number and, for a kommune, its kommunenummer. Every site\n"
	    "receives every organisation's description, so the region's directory of who\n"
	    "is who builds itself from the sites.\n"
	    "\n"
	    "  org show [ORG] [--json]\n"
	    "      This site's organisation, or ORG's (a site id or a name known here).\n"
	    "  org set [--name NAME] [--kind KIND] [--orgnr NNNNNNNNN] [--kommunenr NNNN]\n"
	    "          [--region REGION]\n"
	    "      Change this site's description; options not given keep their value.\n"
	    "        --orgnr      the organisasjonsnummer in Enhetsregisteret: 9 digits,\n"
	    "                     the last a mod-11 check digit (spaces between are\n"
	    "                     dropped: 974 760 673)\n"
	    "        --kommunenr  the kommunenummer: 4 digits (e.g. 5001 Trondheim)\n"
	    "        --kind       kommune, interkommunal, helseforetak, rhf (regionalt\n"
	    "                     helseforetak), hub, brukerorganisasjon or nasjonal\n"
	    "        --region     the health region, e.g. \"Helse Midt-Norge\"\n"
	    "  org list [--json]\n"
	    "      Every organisation known here.\n",
    .run = run,
};

static void print_org(const struct org *o, struct json *j)
{
	char buf[SITEID_TEXT_LEN + 1];
	const char *id = cli_site_text(o->site, buf);

	if (j != NULL) {
		json_object_begin(j);
		json_kv_str(j, "site", id);
		json_kv_str(j, "name", o->name);
		json_kv_str(j, "kind", o->kind);
		json_kv_str(j, "orgnr", o->orgnr);
		json_kv_str(j, "kommunenr", o->kommunenr);
		json_kv_str(j, "region", o->region);
		json_object_end(j);
		return;
	}
	printf("Name       %s\nKind       %s\nSite id    %s\n", o->name, o->kind, id);
	if (o->orgnr[0])
		printf("Orgnr      %s\n", o->orgnr);
	if (o->kommunenr[0])
		printf("Kommunenr  %s\n", o->kommunenr);
	if (o->region[0])
		printf("Region     %s\n", o->region);
}

static int show_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char site[65];
	struct store st;
	struct json j;
	struct org o;
	int c, as_json = 0, rc;
	lm_err err;

	while ((c = cli_getopt(&cmd_org, argc, argv, ":h", longopts)) != -1) {
		if (c == 'j')
			as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind < argc - 1)
		return cli_usage(&cmd_org, "org show takes at most one ORG");
	if (cli_open_domain(cli, &st, "directory of organisations") != EXIT_OK)
		return EXIT_FAIL;
	rc = optind == argc - 1 ? dom_site_resolve(&st, argv[optind], site, &err)
				: domain_site_hex(&st, site, &err);
	if (rc == 0)
		rc = org_get(&st, site, &o, &err);
	store_close(&st);
	if (rc < 0)
		return cli_fail("%s", err.msg);
	if (rc == 0)
		return cli_fail("no description of that organisation here yet (it arrives once "
				"its site has synced with this one)");
	if (as_json)
		json_init(&j, stdout);
	print_org(&o, as_json ? &j : NULL);
	if (as_json)
		json_finish(&j);
	return EXIT_OK;
}

/* s without its spaces into out: 0, or -1 when that does not fit (left for
 * the length check to refuse). */
static int without_spaces(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ' ')
			continue;
		if (n + 1 >= cap)
			return -1;
		out[n++] = *s;
	}
	out[n] = '\0';
	return 0;
}

static int set_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"kind", required_argument, NULL, 'k'},
	    {"orgnr", required_argument, NULL, 'o'},
	    {"kommunenr", required_argument, NULL, 'm'},
	    {"region", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *kind = NULL, *orgnr = NULL, *kommunenr = NULL, *region = NULL;
	char orgnr_digits[16];
	char me[65];
	struct store st;
	struct org o;
	lm_err err;
	int c, rc;

	while ((c = cli_getopt(&cmd_org, argc, argv, ":h", longopts)) != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 'k')
			kind = optarg;
		else if (c == 'o')
			orgnr = optarg;
		else if (c == 'm')
			kommunenr = optarg;
		else if (c == 'r')
			region = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc)
		return cli_usage(&cmd_org, "org set takes options only");
	/* Enhetsregisteret writes it in groups of three: 974 760 673. */
	if (orgnr && without_spaces(orgnr, orgnr_digits, sizeof(orgnr_digits)) == 0)
		orgnr = orgnr_digits;
	if (!name && !kind && !orgnr && !kommunenr && !region)
		return cli_usage(&cmd_org, "org set needs at least one option to change");
	if (cli_open_domain(cli, &st, "directory of organisations") != EXIT_OK)
		return EXIT_FAIL;
	rc = domain_install(&st, &err);
	if (rc == 0)
		rc = domain_site_hex(&st, me, &err);
	if (rc == 0)
		rc = org_get(&st, me, &o, &err) < 0 ? -1 : 0;
	/* Too long for its field is refused, never cut. */
	if (rc == 0 &&
	    ((name && strlen(name) >= sizeof(o.name)) || (kind && strlen(kind) >= sizeof(o.kind)) ||
	     (orgnr && strlen(orgnr) >= sizeof(o.orgnr)) ||
	     (kommunenr && strlen(kommunenr) >= sizeof(o.kommunenr)) ||
	     (region && strlen(region) >= sizeof(o.region))))
		rc = lm_errf(&err, "%s: too long",
			     name && strlen(name) >= sizeof(o.name)	 ? "--name"
			     : kind && strlen(kind) >= sizeof(o.kind)	 ? "--kind"
			     : orgnr && strlen(orgnr) >= sizeof(o.orgnr) ? "--orgnr: 9 digits"
			     : region && strlen(region) >= sizeof(o.region)
				 ? "--region"
				 : "--kommunenr: 4 digits");
	if (rc == 0) {
		if (name)
			snprintf(o.name, sizeof(o.name), "%s", name);
		if (kind)
			snprintf(o.kind, sizeof(o.kind), "%s", kind);
		if (orgnr)
			snprintf(o.orgnr, sizeof(o.orgnr), "%s", orgnr);
		if (kommunenr)
			snprintf(o.kommunenr, sizeof(o.kommunenr), "%s", kommunenr);
		if (region)
			snprintf(o.region, sizeof(o.region), "%s", region);
		rc = org_set_self(&st, &o, &err);
	}
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	printf("Updated %s.\n", o.name);
	return EXIT_OK;
}

struct listing {
	struct json j;
	int as_json, count;
};

static int list_one(const struct org *o, void *ctx)
{
	struct listing *l = ctx;
	char id[SITEID_SHORT_LEN + 1];

	if (l->as_json)
		print_org(o, &l->j);
	else
		printf("%-*s %-18s %-9s %-9s %-*s %s\n", cli_pad(o->name, 32), o->name, o->kind,
		       o->orgnr, o->kommunenr, cli_pad(o->region, 20), o->region,
		       cli_site_short(o->site, id));
	l->count++;
	return 0;
}

static int list_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct listing l;
	struct store st;
	lm_err err;
	int c, rc;

	memset(&l, 0, sizeof(l));
	while ((c = cli_getopt(&cmd_org, argc, argv, ":h", longopts)) != -1) {
		if (c == 'j')
			l.as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind != argc)
		return cli_usage(&cmd_org, "org list takes no arguments");
	if (cli_open_domain(cli, &st, "directory of organisations") != EXIT_OK)
		return EXIT_FAIL;
	if (l.as_json) {
		json_init(&l.j, stdout);
		json_array_begin(&l.j);
	} else {
		printf("%-32s %-18s %-9s %-9s %-20s %s\n", "Name", "Kind", "Orgnr", "Kommunenr",
		       "Region", "Site");
	}
	rc = org_list(&st, list_one, &l, &err);
	store_close(&st);
	if (l.as_json) {
		json_array_end(&l.j);
		json_finish(&l.j);
	}
	return rc == 0 ? EXIT_OK : cli_fail("%s", err.msg);
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"show", show_cmd}, {"set", set_cmd}, {"list", list_cmd}};

	return cli_dispatch(&cmd_org, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}
