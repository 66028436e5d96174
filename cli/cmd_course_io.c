/* SPDX-License-Identifier: MIT */
/* `lmsync course run add|update|list`, `course export` and `course import`:
 * the runs of a course, and the catalogue in and out as CSV or JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cmd_course.h"
#include "domain/csv.h"
#include "domain/org.h"
#include "domain/validate.h"

/* ---- JSON ---- */

void course_json(struct json *j, struct store *st, const struct course *c, int with_names)
{
	char name[DOM_TEXT_SHORT + 1];
	int i;

	json_object_begin(j);
	for (i = 0; i < CC_NCOLS; i++) {
		json_key(j, course_cols[i].name);
		if (c->v[i] == NULL)
			json_null(j);
		else if (course_cols[i].type == COL_INT)
			json_int(j, strtoll(c->v[i], NULL, 10));
		else if (course_cols[i].type == COL_BOOL)
			json_bool(j, course_bool(c->v[i]));
		else
			json_str(j, c->v[i]);
	}
	if (with_names) {
		org_name(st, c->v[CC_OWNER], name, sizeof(name));
		json_kv_str(j, "owner_name", name);
	}
	json_object_end(j);
}

void course_run_json(struct json *j, const struct course_run *r)
{
	int i;

	json_object_begin(j);
	for (i = 0; i < RC_NCOLS; i++) {
		json_key(j, run_cols[i].name);
		if (r->v[i] == NULL)
			json_null(j);
		else if (run_cols[i].type == COL_INT)
			json_int(j, strtoll(r->v[i], NULL, 10));
		else if (run_cols[i].type == COL_BOOL)
			json_bool(j, course_bool(r->v[i]));
		else if (run_cols[i].type == COL_HOURS) {
			/* A number as the store writes it (2.5); json.h has no doubles,
			 * and the key before it took the value's comma. */
			j->after_key = 0;
			fputs(r->v[i], j->out);
		} else
			json_str(j, r->v[i]);
	}
	json_object_end(j);
}

/* ---- runs ---- */

enum { OPT_RUN = 1000 };

static const struct option run_opts[] = {
    {"starts", required_argument, NULL, OPT_RUN + RC_STARTS},
    {"ends", required_argument, NULL, OPT_RUN + RC_ENDS},
    {"held", required_argument, NULL, OPT_RUN + RC_HELD},
    {"sessions-held", required_argument, NULL, OPT_RUN + RC_SESSIONS_HELD},
    {"patients", required_argument, NULL, OPT_RUN + RC_PATIENTS},
    {"relatives", required_argument, NULL, OPT_RUN + RC_RELATIVES},
    {"professional-hours", required_argument, NULL, OPT_RUN + RC_PROFESSIONAL_HOURS},
    {"user-rep-hours", required_argument, NULL, OPT_RUN + RC_USER_REP_HOURS},
    {"forms", required_argument, NULL, OPT_RUN + RC_FORMS},
    {"benefit-none", required_argument, NULL, OPT_RUN + RC_BENEFIT_NONE},
    {"benefit-some", required_argument, NULL, OPT_RUN + RC_BENEFIT_SOME},
    {"benefit-good", required_argument, NULL, OPT_RUN + RC_BENEFIT_GOOD},
    {"benefit-very-good", required_argument, NULL, OPT_RUN + RC_BENEFIT_VERY_GOOD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The run options into in (add takes only the dates). */
static int parse_run(int argc, char **argv, struct run_input *in, int dates_only)
{
	int c;

	memset(in, 0, sizeof(*in));
	while ((c = cli_getopt(&cmd_course, argc, argv, ":h", run_opts)) != -1) {
		if (c < OPT_RUN || c >= OPT_RUN + RC_NCOLS)
			return EXIT_USAGE;
		if (dates_only && c != OPT_RUN + RC_STARTS && c != OPT_RUN + RC_ENDS)
			return cli_usage(&cmd_course,
					 "course run add takes --starts and --ends; report the run "
					 "with `course run update` (%s)",
					 run_cols[c - OPT_RUN].opt);
		in->v[c - OPT_RUN] = optarg;
	}
	return EXIT_OK;
}

static int run_add_cmd(struct cli *cli, int argc, char **argv)
{
	char id[COURSE_ID_LEN + 1];
	struct run_input in;
	struct store st;
	int rc = parse_run(argc, argv, &in, 1);

	if (rc != EXIT_OK)
		return rc;
	if (optind != argc - 1)
		return cli_usage(&cmd_course, "course run add takes one COURSE");
	if (in.v[RC_STARTS] == NULL)
		return cli_usage(&cmd_course, "course run add needs --starts DATE");
	if (course_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = course_run_add(&st, argv[optind], &in, id, course_print_error, NULL);
	store_close(&st);
	if (rc != 0)
		return EXIT_FAIL;
	printf("%s\n", id);
	return EXIT_OK;
}

static int run_update_cmd(struct cli *cli, int argc, char **argv)
{
	struct run_input in;
	struct store st;
	int rc = parse_run(argc, argv, &in, 0), i, any = 0;

	if (rc != EXIT_OK)
		return rc;
	if (optind != argc - 1)
		return cli_usage(&cmd_course, "course run update takes one RUN");
	for (i = 0; i < RC_NCOLS; i++)
		any |= in.v[i] != NULL;
	if (!any)
		return cli_usage(&cmd_course,
				 "course run update needs a field to change (--held, --patients, "
				 "...)");
	if (course_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = course_run_update(&st, argv[optind], &in, course_print_error, NULL);
	store_close(&st);
	if (rc != 0)
		return EXIT_FAIL;
	printf("Updated run %s.\n", argv[optind]);
	return EXIT_OK;
}

struct run_listing {
	struct json j;
	int as_json, count;
};

static int print_run(const struct course_run *r, void *ctx)
{
	struct run_listing *l = ctx;

	if (l->as_json) {
		course_run_json(&l->j, r);
	} else {
		if (l->count == 0)
			printf("%-16s  %-16s  %-10s  %-10s  %-4s  %8s  %9s  %5s\n", "RUN", "COURSE",
			       "STARTS", "ENDS", "HELD", "PATIENTS", "PÅRØRENDE", "FORMS");
		printf("%-16s  %-16s  %-10s  %-10s  %-4s  %8s  %9s  %5s\n", r->v[RC_ID],
		       r->v[RC_COURSE], r->v[RC_STARTS] ? r->v[RC_STARTS] : "-",
		       r->v[RC_ENDS] ? r->v[RC_ENDS] : "-",
		       course_bool(r->v[RC_HELD]) ? "ja" : "nei", r->v[RC_PATIENTS],
		       r->v[RC_RELATIVES], r->v[RC_FORMS]);
	}
	l->count++;
	return 0;
}

static int run_list_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct course c = {{NULL}};
	struct run_listing l;
	struct store st;
	lm_err err;
	int ch, rc;

	memset(&l, 0, sizeof(l));
	while ((ch = cli_getopt(&cmd_course, argc, argv, ":h", opts)) != -1) {
		if (ch == 'j')
			l.as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind < argc - 1)
		return cli_usage(&cmd_course, "course run list takes at most one COURSE");
	if (course_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	if (optind == argc - 1 && course_find(&st, argv[optind], &c, &err) != 1) {
		store_close(&st);
		return cli_fail("%s", err.msg);
	}
	if (l.as_json) {
		json_init(&l.j, stdout);
		json_array_begin(&l.j);
	}
	rc = course_run_list(&st, c.v[CC_OWNER], c.v[CC_ID], print_run, &l, &err);
	if (l.as_json) {
		json_array_end(&l.j);
		json_finish(&l.j);
	}
	course_free(&c);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	if (!l.as_json && l.count == 0)
		printf("No runs yet. `lmsync course run add COURSE --starts DATE` adds one.\n");
	return EXIT_OK;
}

int course_run_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"add", run_add_cmd}, {"update", run_update_cmd}, {"list", run_list_cmd}};

	return cli_dispatch(&cmd_course, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}

/* ---- export ---- */

static int parse_format(const char *s, enum course_format *fmt)
{
	if (strcmp(s, "csv") == 0)
		*fmt = COURSE_CSV;
	else if (strcmp(s, "json") == 0)
		*fmt = COURSE_JSON;
	else
		return cli_usage(&cmd_course, "--format: '%s' is neither csv nor json", s);
	return EXIT_OK;
}

static int write_json_course(const struct course *c, void *ctx)
{
	struct json *j = ctx;

	course_json(j, NULL, c, 0);
	return 0;
}

int course_export_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'}, {"network", required_argument, NULL, 'n'},
	    {"owner", required_argument, NULL, 'o'},  {"output", required_argument, NULL, 'O'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	const char *network = NULL, *owner = NULL, *output = NULL;
	enum course_format fmt = COURSE_CSV;
	struct course_filter f;
	struct store st;
	struct json j;
	FILE *out = stdout;
	lm_err err;
	int c, rc, failed;

	memset(&f, 0, sizeof(f));
	while ((c = cli_getopt(&cmd_course, argc, argv, ":h", opts)) != -1) {
		if (c == 'f' && parse_format(optarg, &fmt) != EXIT_OK)
			return EXIT_USAGE;
		else if (c == 'n')
			network = optarg;
		else if (c == 'o')
			owner = optarg;
		else if (c == 'O')
			output = optarg;
		else if (c != 'f')
			return EXIT_USAGE;
	}
	if (optind != argc)
		return cli_usage(&cmd_course, "course export takes options only, not '%s'",
				 argv[optind]);
	if (course_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	if (course_filter_set(&st, &f, network, owner, &err) != 0) {
		store_close(&st);
		return cli_fail("%s", err.msg);
	}
	if (output != NULL && (out = fopen(output, "w")) == NULL) {
		store_close(&st);
		return cli_fail("--output: cannot write %s: %s", output, strerror(errno));
	}
	if (fmt == COURSE_CSV) {
		rc = course_export_csv(&st, &f, out, &err);
	} else {
		f.archived = 1;
		f.by_key = 1;
		json_init(&j, out);
		json_array_begin(&j);
		rc = course_list(&st, &f, write_json_course, &j, &err);
		json_array_end(&j);
		json_finish(&j);
	}
	store_close(&st);
	/* The file is closed on every path; the first failure is the one told. */
	failed = ferror(out) != 0;
	if (out != stdout)
		failed |= fclose(out) != 0;
	else
		failed |= fflush(out) != 0;
	if (rc == 0 && failed)
		rc = lm_errf(&err, "writing %s: %s", output ? output : "stdout", strerror(errno));
	return rc == 0 ? EXIT_OK : cli_fail("%s", err.msg);
}

/* ---- import ---- */

/* The whole file into *data (NUL-terminated). */
static int read_file(const char *path, char **data, size_t *len)
{
	FILE *in = fopen(path, "rb");
	size_t cap = 65536, n = 0, got;
	char *buf = NULL, *grown;

	if (in == NULL)
		return cli_fail("cannot read %s: %s", path, strerror(errno));
	do {
		grown = n + 1 >= cap || buf == NULL ? realloc(buf, cap *= 2) : buf;
		if (grown == NULL) {
			free(buf);
			fclose(in);
			return cli_fail("%s: out of memory", path);
		}
		buf = grown;
		got = fread(buf + n, 1, cap - n - 1, in);
		n += got;
	} while (got > 0);
	if (ferror(in)) {
		free(buf);
		fclose(in);
		return cli_fail("reading %s: %s", path, strerror(errno));
	}
	fclose(in);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return EXIT_OK;
}

/* A CSV file that is not UTF-8, and holds no UTF-8 letter at all, is most
 * likely what a spreadsheet on Norwegian Windows saves: Windows-1252. Read
 * so, and say it. A file that cannot be that either is left as it is, for
 * the import to name the first bad field; so is damaged UTF-8 (some valid
 * letters: the caller checks) and a file that starts with a UTF-8 byte
 * order mark, which claims to be UTF-8. */
static void from_windows1252(const char *path, char **data, size_t *len)
{
	char *utf8;
	size_t n;

	if (*len >= 3 && memcmp(*data, "\xef\xbb\xbf", 3) == 0)
		return;
	if (csv_from_windows1252(*data, *len, &utf8, &n) != 0)
		return;
	printf("Read %s as Windows-1252, since it is not UTF-8 (a spreadsheet's CSV on "
	       "Windows).\n",
	       path);
	free(*data);
	*data = utf8;
	*len = n;
}

static void print_import_error(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "lmsync: %s\n", msg);
}

int course_import_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	enum course_format fmt = COURSE_CSV;
	int c, given = 0, rc, added, changed, same, multibyte;
	const char *path, *dot;
	struct store st;
	char *data = NULL;
	size_t len = 0;

	while ((c = cli_getopt(&cmd_course, argc, argv, ":h", opts)) != -1) {
		if (c != 'f' || parse_format(optarg, &fmt) != EXIT_OK)
			return EXIT_USAGE;
		given = 1;
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_course, "course import takes one FILE");
	path = argv[optind];
	dot = strrchr(path, '.');
	if (!given && dot && strcasecmp(dot, ".json") == 0)
		fmt = COURSE_JSON;
	else if (!given && !(dot && strcasecmp(dot, ".csv") == 0))
		return cli_usage(&cmd_course,
				 "%s: cannot tell the format from the name; give --format csv or "
				 "--format json",
				 path);
	if (read_file(path, &data, &len) != EXIT_OK)
		return EXIT_FAIL;
	if (fmt == COURSE_CSV && !dom_utf8_valid(data, len, &multibyte) && !multibyte)
		from_windows1252(path, &data, &len);
	if (course_open_store(cli, &st) != EXIT_OK) {
		free(data);
		return EXIT_FAIL;
	}
	rc = course_import(&st, path, data, len, fmt, print_import_error, NULL, &added, &changed,
			   &same);
	store_close(&st);
	free(data);
	if (rc != 0)
		return cli_fail("nothing was imported from %s: %d error%s", path, rc,
				rc == 1 ? "" : "s");
	printf("Imported %s: %d new, %d changed, %d unchanged.\n", path, added, changed, same);
	return EXIT_OK;
}
