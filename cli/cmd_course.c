/* SPDX-License-Identifier: MIT */
/* `lmsync course add|edit|show|list|search|archive`: the course catalogue
 * (tilbud) a site publishes to its networks. The rules are domain/course.h's;
 * this file parses options and prints. Runs, export and import are in
 * cmd_course_io.c, the help text in cmd_course_help.c. */
#include "cli/cmd_course.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/org.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_course = {
    .name = "course",
    .summary = "the course catalogue (tilbud): add, edit, search, runs, import",
    .help =
	"usage: lmsync [-d DIR] course add|edit|show|list|search|archive|run|export|import ...\n",
    .run = run,
    .print_more_help = course_print_more_help,
};

int course_open_store(struct cli *cli, struct store *st)
{
	return cli_open_domain(cli, st, "course catalogue");
}

void course_print_error(void *ctx, int col, const char *msg)
{
	(void)ctx;
	(void)col;
	fprintf(stderr, "lmsync: %s\n", msg);
}

/* ---- add and edit ---- */

enum { OPT_COL = 1000, OPT_INDEPENDENT = 2000 };

static const struct option field_opts[] = {
    {"network", required_argument, NULL, OPT_COL + CC_NETWORK},
    {"title", required_argument, NULL, OPT_COL + CC_TITLE},
    {"description", required_argument, NULL, OPT_COL + CC_DESCRIPTION},
    {"kind", required_argument, NULL, OPT_COL + CC_KIND},
    {"target", required_argument, NULL, OPT_COL + CC_TARGET},
    {"age-group", required_argument, NULL, OPT_COL + CC_AGE_GROUP},
    {"diagnosis", required_argument, NULL, OPT_COL + CC_DIAGNOSIS},
    {"diagnosis-independent", no_argument, NULL, OPT_INDEPENDENT},
    {"standard-metode", required_argument, NULL, OPT_COL + CC_STANDARD_METODE},
    {"user-reps", required_argument, NULL, OPT_COL + CC_USER_REPS},
    {"co-organisers", required_argument, NULL, OPT_COL + CC_CO_ORGANISERS},
    {"sessions", required_argument, NULL, OPT_COL + CC_SESSIONS},
    {"session-minutes", required_argument, NULL, OPT_COL + CC_SESSION_MINUTES},
    {"capacity", required_argument, NULL, OPT_COL + CC_CAPACITY},
    {"delivery", required_argument, NULL, OPT_COL + CC_DELIVERY},
    {"venue", required_argument, NULL, OPT_COL + CC_VENUE},
    {"municipality", required_argument, NULL, OPT_COL + CC_MUNICIPALITY},
    {"language", required_argument, NULL, OPT_COL + CC_LANGUAGE},
    {"price", required_argument, NULL, OPT_COL + CC_PRICE},
    {"registration", required_argument, NULL, OPT_COL + CC_REGISTRATION},
    {"status", required_argument, NULL, OPT_COL + CC_STATUS},
    {"starts", required_argument, NULL, OPT_COL + CC_STARTS},
    {"ends", required_argument, NULL, OPT_COL + CC_ENDS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The field options into in; EXIT_OK or EXIT_USAGE. */
static int parse_fields(int argc, char **argv, struct course_input *in)
{
	int c, independent = 0;

	memset(in, 0, sizeof(*in));
	while ((c = cli_getopt(&cmd_course, argc, argv, ":h", field_opts)) != -1) {
		if (c == OPT_INDEPENDENT)
			independent = 1;
		else if (c >= OPT_COL && c < OPT_COL + CC_NCOLS)
			in->v[c - OPT_COL] = optarg;
		else
			return EXIT_USAGE;
	}
	if (independent && in->v[CC_DIAGNOSIS] != NULL)
		return cli_usage(&cmd_course,
				 "--diagnosis and --diagnosis-independent exclude each other");
	if (independent)
		in->v[CC_DIAGNOSIS] = "";
	return EXIT_OK;
}

static int add_cmd(struct cli *cli, int argc, char **argv)
{
	static const int required[] = {CC_NETWORK, CC_TITLE, CC_KIND, CC_TARGET};
	char id[COURSE_ID_LEN + 1];
	struct course_input in;
	struct store st;
	size_t i;
	int rc = parse_fields(argc, argv, &in);

	if (rc != EXIT_OK)
		return rc;
	if (optind != argc)
		return cli_usage(&cmd_course, "course add takes options only, not '%s'",
				 argv[optind]);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (in.v[required[i]] == NULL)
			return cli_usage(&cmd_course, "course add needs %s",
					 course_cols[required[i]].opt);
	if (course_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = course_add(&st, &in, id, course_print_error, NULL);
	store_close(&st);
	if (rc != 0)
		return EXIT_FAIL;
	printf("%s\n", id);
	return EXIT_OK;
}

static int edit_cmd(struct cli *cli, int argc, char **argv)
{
	struct course c = {{NULL}};
	lm_err err;
	struct course_input in;
	struct store st;
	size_t i;
	int rc = parse_fields(argc, argv, &in), any = 0;

	if (rc != EXIT_OK)
		return rc;
	if (optind != argc - 1)
		return cli_usage(&cmd_course, "course edit takes one course ID");
	for (i = 0; i < CC_NCOLS; i++)
		any |= in.v[i] != NULL;
	if (!any)
		return cli_usage(&cmd_course, "course edit needs a field to change (--title, ...)");
	if (course_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	/* The whole id, for the message. */
	if (course_find(&st, argv[optind], &c, &err) != 1) {
		store_close(&st);
		return cli_fail("%s", err.msg);
	}
	rc = course_edit(&st, c.v[CC_ID], &in, course_print_error, NULL);
	store_close(&st);
	if (rc == 0)
		printf("Changed course %s.\n", c.v[CC_ID]);
	course_free(&c);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

static int archive_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"undo", no_argument, NULL, 'u'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	char id[COURSE_ID_LEN + 1] = "";
	struct store st;
	lm_err err;
	int c, rc, undo = 0;

	while ((c = cli_getopt(&cmd_course, argc, argv, ":h", opts)) != -1) {
		if (c == 'u')
			undo = 1;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_course, "course archive takes one course ID");
	if (course_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = course_archive(&st, argv[optind], !undo, id, &err);
	store_close(&st);
	if (rc < 0)
		return cli_fail("%s", err.msg);
	if (undo)
		printf(rc ? "Course %s is back in list and search.\n"
			  : "Course %s is not archived; nothing changed.\n",
		       id);
	else
		printf(rc ? "Archived course %s.\n" : "Course %s is archived already.\n", id);
	return EXIT_OK;
}

/* ---- output ---- */

struct listing {
	struct store *st;
	struct json j;
	int as_json, count;
};

static int print_course_line(const struct course *c, void *ctx)
{
	struct listing *l = ctx;
	char name[DOM_TEXT_SHORT + 1];

	if (l->as_json) {
		course_json(&l->j, l->st, c, 1);
	} else {
		if (l->count == 0)
			printf("%-16s  %-10s  %-16s  %-11s  %s\n", "ID", "STARTS", "KIND", "STATUS",
			       "TITLE (OWNER)");
		org_name(l->st, c->v[CC_OWNER], name, sizeof(name));
		printf("%-16s  %-10s  %-*s  %-*s  %s (%s)%s\n", c->v[CC_ID],
		       c->v[CC_STARTS] ? c->v[CC_STARTS] : "-", cli_pad(c->v[CC_KIND], 16),
		       c->v[CC_KIND], cli_pad(c->v[CC_STATUS], 11), c->v[CC_STATUS], c->v[CC_TITLE],
		       name, course_bool(c->v[CC_ARCHIVED]) ? " [archived]" : "");
	}
	l->count++;
	return 0;
}

static int print_run_in_show(const struct course_run *r, void *ctx)
{
	struct listing *l = ctx;

	if (l->as_json) {
		course_run_json(&l->j, r);
	} else {
		if (l->count == 0)
			printf("\nRuns (gjennomføringer):\n");
		printf("  %s  %s to %s  %s  patients %s, pårørende %s, forms %s\n", r->v[RC_ID],
		       r->v[RC_STARTS] ? r->v[RC_STARTS] : "-", r->v[RC_ENDS] ? r->v[RC_ENDS] : "-",
		       course_bool(r->v[RC_HELD]) ? "held" : "not held yet", r->v[RC_PATIENTS],
		       r->v[RC_RELATIVES], r->v[RC_FORMS]);
	}
	l->count++;
	return 0;
}

static int show_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct course c = {{NULL}};
	char name[DOM_TEXT_SHORT + 1];
	struct listing l;
	struct network n;
	struct store st;
	lm_err err;
	int ch, i, rc;

	memset(&l, 0, sizeof(l));
	while ((ch = cli_getopt(&cmd_course, argc, argv, ":h", opts)) != -1) {
		if (ch == 'j')
			l.as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_course, "course show takes one course ID");
	if (course_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	l.st = &st;
	if (course_find(&st, argv[optind], &c, &err) != 1) {
		store_close(&st);
		return cli_fail("%s", err.msg);
	}
	if (l.as_json) {
		json_init(&l.j, stdout);
		json_object_begin(&l.j);
		json_key(&l.j, "course");
		course_json(&l.j, &st, &c, 1);
		json_key(&l.j, "runs");
		json_array_begin(&l.j);
	} else {
		org_name(&st, c.v[CC_OWNER], name, sizeof(name));
		printf("%s\n", c.v[CC_TITLE]);
		for (i = 0; i < CC_NCOLS; i++) {
			const char *v = c.v[i];

			if (i == CC_TITLE)
				continue;
			if (i == CC_OWNER) {
				printf("  %-16s %s (%s)\n", "owner", name, v);
				continue;
			}
			if (i == CC_NETWORK && network_get(&st, v, &n, &err) == 1) {
				printf("  %-16s %s (%s)\n", "network", n.name, v);
				continue;
			}
			if (i == CC_DIAGNOSIS && v == NULL)
				v = "diagnosis-independent";
			else if (course_cols[i].type == COL_BOOL)
				v = course_bool(v) ? "ja" : "nei";
			printf("  %-16s %s\n", course_cols[i].name, v && v[0] ? v : "-");
		}
	}
	rc = course_run_list(&st, c.v[CC_OWNER], c.v[CC_ID], print_run_in_show, &l, &err);
	if (l.as_json) {
		json_array_end(&l.j);
		json_object_end(&l.j);
		json_finish(&l.j);
	} else if (rc == 0 && l.count == 0) {
		printf("\nNo runs yet (`lmsync course run add %s --starts DATE`).\n", c.v[CC_ID]);
	}
	course_free(&c);
	store_close(&st);
	return rc == 0 ? EXIT_OK : cli_fail("%s", err.msg);
}

/* list and search: the filters, then the walk. */
static int list_or_search(struct cli *cli, int argc, char **argv, int search)
{
	enum { F_NET = 1, F_OWNER, F_KIND, F_TARGET, F_DIAG, F_MUN, F_STATUS, F_FROM, F_TO };
	static const struct option opts[] = {
	    {"network", required_argument, NULL, F_NET},
	    {"owner", required_argument, NULL, F_OWNER},
	    {"kind", required_argument, NULL, F_KIND},
	    {"target", required_argument, NULL, F_TARGET},
	    {"diagnosis", required_argument, NULL, F_DIAG},
	    {"municipality", required_argument, NULL, F_MUN},
	    {"status", required_argument, NULL, F_STATUS},
	    {"from", required_argument, NULL, F_FROM},
	    {"to", required_argument, NULL, F_TO},
	    {"archived", no_argument, NULL, 'a'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *network = NULL, *owner = NULL;
	struct course_filter f;
	char query[1024];
	struct listing l;
	struct store st;
	size_t len = 0;
	lm_err err;
	int c, rc, i;

	memset(&f, 0, sizeof(f));
	memset(&l, 0, sizeof(l));
	while ((c = cli_getopt(&cmd_course, argc, argv, ":h", opts)) != -1) {
		switch (c) {
		case F_NET:
			network = optarg;
			break;
		case F_OWNER:
			owner = optarg;
			break;
		case F_KIND:
			f.kind = optarg;
			break;
		case F_TARGET:
			f.target = optarg;
			break;
		case F_DIAG:
			f.diagnosis = optarg;
			break;
		case F_MUN:
			f.municipality = optarg;
			break;
		case F_STATUS:
			f.status = optarg;
			break;
		case F_FROM:
			f.from = optarg;
			break;
		case F_TO:
			f.to = optarg;
			break;
		case 'a':
			f.archived = 1;
			break;
		case 'j':
			l.as_json = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (search) {
		if (optind == argc)
			return cli_usage(&cmd_course,
					 "course search needs a QUERY (words to find)");
		query[0] = '\0';
		for (i = optind; i < argc; i++)
			len += (size_t)snprintf(query + len,
						len < sizeof(query) ? sizeof(query) - len : 0,
						"%s%s", i > optind ? " " : "", argv[i]);
		if (len >= sizeof(query))
			return cli_usage(&cmd_course, "QUERY: too long (at most %zu bytes)",
					 sizeof(query) - 1);
		f.query = query;
	} else if (optind != argc) {
		return cli_usage(&cmd_course, "course list takes options only, not '%s'",
				 argv[optind]);
	}
	if (course_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	l.st = &st;
	if (course_filter_set(&st, &f, network, owner, &err) != 0) {
		store_close(&st);
		return cli_fail("%s", err.msg);
	}
	if (l.as_json) {
		json_init(&l.j, stdout);
		json_array_begin(&l.j);
	}
	rc = course_list(&st, &f, print_course_line, &l, &err);
	store_close(&st);
	if (l.as_json) {
		json_array_end(&l.j);
		json_finish(&l.j);
	}
	if (rc != 0)
		return cli_fail("%s", err.msg);
	if (!l.as_json && l.count == 0)
		printf(search ? "No course matches.\n"
			      : "No courses here yet. `lmsync course add` publishes one.\n");
	return EXIT_OK;
}

static int list_cmd(struct cli *cli, int argc, char **argv)
{
	return list_or_search(cli, argc, argv, 0);
}

static int search_cmd(struct cli *cli, int argc, char **argv)
{
	return list_or_search(cli, argc, argv, 1);
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"add", add_cmd},
	    {"edit", edit_cmd},
	    {"show", show_cmd},
	    {"list", list_cmd},
	    {"search", search_cmd},
	    {"archive", archive_cmd},
	    {"run", course_run_cmd},
	    {"export", course_export_cmd},
	    {"import", course_import_cmd},
	};

	return cli_dispatch(&cmd_course, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}
