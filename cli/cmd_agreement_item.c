/* SPDX-License-Identifier: MIT */
/* `lmsync agreement item add|update|list` and `agreement note`: the
 * follow-up items of an agreement and its log of notes and avvik (see cmd_agreement.c for the
 * command and its help). */
#include <stdio.h>
#include <string.h>

#include "cli/cmd_agreement.h"
#include "domain/enums.h"

static const struct option item_opts[] = {
    {"what", required_argument, NULL, 'w'},
    {"responsible", required_argument, NULL, 'r'},
    {"due", required_argument, NULL, 'd'},
    {"part", required_argument, NULL, 'p'},
    {"status", required_argument, NULL, 's'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The options of add and update into s; a bad --part is a validation
 * failure (1), an unknown option a usage error (2). */
static int item_options(int argc, char **argv, struct agreement_item_spec *s)
{
	lm_err err;
	long n;
	int c;

	memset(s, 0, sizeof(*s));
	while ((c = cli_getopt(&cmd_agreement, argc, argv, ":h", item_opts)) != -1) {
		switch (c) {
		case 'w':
			s->what = optarg;
			break;
		case 'r':
			s->responsible = optarg;
			break;
		case 'd':
			s->due = optarg;
			break;
		case 's':
			s->status = optarg;
			break;
		case 'p':
			if (dom_parse_int("--part", optarg, 1, AGREEMENT_PARTS_MAX, &n, &err) != 0)
				return cli_fail("%s", err.msg);
			s->part = (int)n;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

static int add_cmd(struct cli *cli, int argc, char **argv)
{
	char id[AGREEMENT_ID_MAX + 1], item[17];
	struct agreement_item_spec s;
	struct store st;
	lm_err err;
	int rc = item_options(argc, argv, &s);

	if (rc != EXIT_OK)
		return rc;
	if (optind != argc - 1)
		return cli_usage(&cmd_agreement, "agreement item add takes one agreement A");
	if (s.what == NULL || s.responsible == NULL || s.due == NULL)
		return cli_usage(&cmd_agreement,
				 "agreement item add needs --what, --responsible and --due");
	if (agr_open(cli, &st) != EXIT_OK || agr_resolve(&st, argv[optind], id, sizeof(id)))
		return EXIT_FAIL;
	rc = agreement_item_add(&st, id, &s, item, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	printf("%s\n", item);
	return EXIT_OK;
}

static int update_cmd(struct cli *cli, int argc, char **argv)
{
	char id[AGREEMENT_ID_MAX + 1], item[17];
	struct agreement_item_spec s;
	struct store st;
	lm_err err;
	int rc = item_options(argc, argv, &s);

	if (rc != EXIT_OK)
		return rc;
	if (optind != argc - 2)
		return cli_usage(&cmd_agreement,
				 "agreement item update takes an agreement A and an ITEM");
	if (!s.what && !s.responsible && !s.due && !s.status && !s.part)
		return cli_usage(&cmd_agreement,
				 "agreement item update: nothing to change; give "
				 "--status, --due, --what, --responsible or --part");
	if (agr_open(cli, &st) != EXIT_OK || agr_resolve(&st, argv[optind], id, sizeof(id)))
		return EXIT_FAIL;
	rc = agreement_item_resolve(&st, id, argv[optind + 1], NULL, 0, item, &err);
	if (rc == 0)
		rc = agreement_item_update(&st, id, item, &s, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	printf("Updated item %s of %s.\n", item, id);
	return EXIT_OK;
}

struct listing {
	struct json j;
	int as_json, count;
	char agreement[AGREEMENT_ID_MAX + 1]; /* the heading printed last */
};

static int list_one(const struct agreement_item *it, void *ctx)
{
	struct listing *l = ctx;

	if (l->as_json) {
		agr_item_json(&l->j, it, 0);
	} else {
		if (l->count == 0 || strcmp(l->agreement, it->agreement) != 0) {
			printf("%s%s\n", l->count ? "\n" : "", it->agreement);
			snprintf(l->agreement, sizeof(l->agreement), "%s", it->agreement);
		}
		agr_item_line(it, 2);
	}
	l->count++;
	return 0;
}

static int list_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"status", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char id[AGREEMENT_ID_MAX + 1];
	const char *status = NULL;
	struct listing l;
	struct store st;
	lm_err err;
	int c, rc;

	memset(&l, 0, sizeof(l));
	while ((c = cli_getopt(&cmd_agreement, argc, argv, ":h", longopts)) != -1) {
		if (c == 's')
			status = optarg;
		else if (c == 'j')
			l.as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind < argc - 1)
		return cli_usage(&cmd_agreement,
				 "agreement item list takes at most one agreement A");
	if (status && (status = dom_enum_parse(&dom_item_status, "--status", status, &err)) == NULL)
		return cli_fail("%s", err.msg);
	if (agr_open(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	if (optind == argc - 1 && agr_resolve(&st, argv[optind], id, sizeof(id)) != EXIT_OK)
		return EXIT_FAIL;
	if (l.as_json) {
		json_init(&l.j, stdout);
		json_array_begin(&l.j);
	}
	rc = agreement_items(&st, optind == argc - 1 ? id : NULL, status, list_one, &l, &err);
	if (l.as_json) {
		json_array_end(&l.j);
		json_finish(&l.j);
	}
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	if (!l.as_json && l.count == 0)
		printf("No items%s%s.\n", status ? " with status " : "", status ? status : "");
	return EXIT_OK;
}

/* ---- note ---- */

int agr_note_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"item", required_argument, NULL, 'i'},
	    {"avvik", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char id[AGREEMENT_ID_MAX + 1], note[17], body[DOM_TEXT_LONG + 2];
	const char *item = NULL;
	struct store st;
	size_t len = 0;
	int c, rc, avvik = 0, i;
	lm_err err;

	while ((c = cli_getopt(&cmd_agreement, argc, argv, ":h", longopts)) != -1) {
		if (c == 'i')
			item = optarg;
		else if (c == 'a')
			avvik = 1;
		else
			return EXIT_USAGE;
	}
	if (optind > argc - 2)
		return cli_usage(&cmd_agreement,
				 "agreement note takes an agreement A and the TEXT");
	/* The words of TEXT, unquoted, make one text. */
	body[0] = '\0';
	for (i = optind + 1; i < argc && len < sizeof(body) - 1; i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len, "%s%s",
					i > optind + 1 ? " " : "", argv[i]);
	if (len >= sizeof(body) - 1)
		return cli_fail("TEXT: too long; at most %d bytes", DOM_TEXT_LONG);
	if (agr_open(cli, &st) != EXIT_OK || agr_resolve(&st, argv[optind], id, sizeof(id)))
		return EXIT_FAIL;
	rc = agreement_note_add(&st, id, item, avvik ? "avvik" : "notat", body, note, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	printf("%s\n", note);
	return EXIT_OK;
}

int agr_item_run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"add", add_cmd}, {"update", update_cmd}, {"list", list_cmd}};

	return cli_dispatch(&cmd_agreement, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}
