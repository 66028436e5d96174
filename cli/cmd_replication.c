/* SPDX-License-Identifier: MIT */
/* `lmsync changes`, `lmsync conflicts`, `lmsync quarantine`: what the
 * replication log holds, which values lost a conflict, and which change sets
 * were refused or held back. Read straight from the store; no daemon needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "domain/org.h"
#include "proto/hlc.h"
#include "proto/siteid.h"
#include "store/held.h"
#include "store/inspect.h"

static int run_changes(struct cli *cli, int argc, char **argv);
static int run_conflicts(struct cli *cli, int argc, char **argv);
static int run_quarantine(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_changes = {
    .name = "changes",
    .summary = "list the change sets in this site's log",
    .help = "usage: lmsync [-d DIR] changes [--origin ID] [--scope SCOPE] [--limit N] [--json]\n"
	    "\n"
	    "List the change sets this site holds, newest first: those it sealed itself\n"
	    "(marked *) and those it received, which it can forward. Each is one origin's\n"
	    "changes in one scope, numbered per origin and scope, dated by the origin's\n"
	    "hybrid logical clock, signed by the origin.\n"
	    "\n"
	    "  --origin ID    only change sets of this site (text form or 64 hex digits)\n"
	    "  --scope SCOPE  only this scope\n"
	    "  --limit N      at most N (default 50; 0 for all)\n"
	    "  --json         one JSON array instead of a table\n",
    .run = run_changes,
};

const struct cli_command cmd_conflicts = {
    .name = "conflicts",
    .summary = "list values that lost a conflict between sites",
    .help = "usage: lmsync [-d DIR] conflicts [--limit N] [--all] [--json]\n"
	    "\n"
	    "When two sites change the same column of the same row, the later write (by\n"
	    "hybrid logical clock, then by site id) wins everywhere. The losing value is\n"
	    "kept here, newest first, so nothing is lost silently.\n"
	    "\n"
	    "An edit of a course, an agreement or an item also sets its updated_at, so\n"
	    "two edits of one at once conflict there too, whatever they changed; the\n"
	    "table leaves those out and says how many.\n"
	    "\n"
	    "  --limit N   at most N (default 50; 0 for all)\n"
	    "  --all       also the conflicts over updated_at of lmsync's own tables\n"
	    "  --json      one JSON array instead of a table (with every conflict)\n",
    .run = run_conflicts,
};

const struct cli_command cmd_quarantine = {
    .name = "quarantine",
    .summary = "change sets refused or held back, and rows not sent",
    .help = "usage: lmsync [-d DIR] quarantine [--json]\n"
	    "\n"
	    "A change set that writes what its origin may not write (another site's\n"
	    "course, say) is quarantined: never applied, kept here with the reason. One\n"
	    "dated too far in the future (a site with a wrong clock) is held back until\n"
	    "this site's clock catches up, and listed here as held.\n"
	    "\n"
	    "A row of this site's own whose text looks like a national identity number\n"
	    "(fødselsnummer: 11 digits with valid check digits) is not sent, whatever\n"
	    "program wrote it: lmsync shares no personal data. It is listed here as not\n"
	    "sent until a change that removes the number sends the whole row.\n"
	    "\n"
	    "  --json   one JSON array instead of a table\n",
    .run = run_quarantine,
};

static void format_hlc(uint64_t hlc, char *out, size_t cap)
{
	time_t t = (time_t)(hlc_ms(hlc) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct view {
	struct json j;
	int as_json;
	int all;	  /* conflicts: --all */
	int count;	  /* listed */
	int hidden;	  /* conflicts over updated_at left out */
	int64_t limit;	  /* conflicts: at most this many listed, 0 for all */
	struct store *st; /* for the names of sites */
};

/* limit, origin and scope NULL: the command takes no such option; --all is
 * for conflicts only. */
static int parse_common(const struct cli_command *cmd, int argc, char **argv, struct view *v,
			int64_t *limit, const char **origin, const char **scope)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"limit", required_argument, NULL, 'n'},
	    {"origin", required_argument, NULL, 'o'},
	    {"scope", required_argument, NULL, 's'},
	    {"all", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	while ((c = cli_getopt(cmd, argc, argv, ":h", longopts)) != -1) {
		if (c == 'j')
			v->as_json = 1;
		else if (c == 'n' && limit) {
			*limit = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || *limit < 0)
				return cli_usage(cmd, "--limit takes a whole number, 0 for all");
		} else if (c == 'o' && origin)
			*origin = optarg;
		else if (c == 's' && scope)
			*scope = optarg;
		else if (c == 'a' && cmd == &cmd_conflicts)
			v->all = 1;
		else
			return c == '?' ? EXIT_USAGE : cli_usage(cmd, "option not valid here");
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return EXIT_OK;
}

static void begin(struct view *v)
{
	if (v->as_json) {
		json_init(&v->j, stdout);
		json_array_begin(&v->j);
	}
}

static void end(struct view *v, const char *none)
{
	if (v->as_json) {
		json_array_end(&v->j);
		json_finish(&v->j);
	} else if (v->count == 0) {
		printf("%s\n", none);
	}
}

static int print_change(const struct inspect_change *c, void *ctx)
{
	struct view *v = ctx;
	char id[SITEID_TEXT_LEN + 1], when[32];

	format_hlc(c->hlc, when, sizeof(when));
	if (v->as_json) {
		siteid_to_text(c->origin, id);
		json_object_begin(&v->j);
		json_kv_str(&v->j, "origin", id);
		json_kv_str(&v->j, "scope", c->scope);
		json_kv_int(&v->j, "seq", (int64_t)c->seq);
		json_kv_int(&v->j, "hlc", (int64_t)c->hlc);
		json_kv_str(&v->j, "time", when);
		json_kv_int(&v->j, "rows", (int64_t)c->rows);
		json_kv_int(&v->j, "bytes", (int64_t)c->bytes);
		json_kv_bool(&v->j, "local", c->local);
		json_object_end(&v->j);
	} else {
		if (v->count == 0)
			printf("  %-8s %-24s %6s  %-20s %5s %7s\n", "ORIGIN", "SCOPE", "SEQ",
			       "TIME", "ROWS", "BYTES");
		siteid_to_short(c->origin, id);
		printf("%c %-8s %-24s %6llu  %-20s %5zu %7zu\n", c->local ? '*' : ' ', id, c->scope,
		       (unsigned long long)c->seq, when, c->rows, c->bytes);
	}
	v->count++;
	return 0;
}

static int run_changes(struct cli *cli, int argc, char **argv)
{
	struct inspect_filter f = {NULL, NULL, 50};
	const char *origin = NULL;
	uint8_t key[32];
	struct view v;
	struct store st;
	lm_err err;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = parse_common(&cmd_changes, argc, argv, &v, &f.limit, &origin, &f.scope);
	if (rc != EXIT_OK)
		return rc;
	if (origin && siteid_parse(origin, key, &err) != 0)
		return cli_fail("--origin: %s", err.msg);
	f.origin = origin ? key : NULL;
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	begin(&v);
	rc = inspect_changes(&st, &f, print_change, &v, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	end(&v, "No change sets yet.");
	return EXIT_OK;
}

static int print_conflict(const struct inspect_conflict *c, void *ctx)
{
	struct view *v = ctx;
	char loser[300], winner[300];
	static const uint8_t nobody[32];
	int deleted = memcmp(c->winner_origin, nobody, 32) == 0;

	/* lmsync sets updated_at of its own tables at every edit: a loser
	 * there says only that two edits met, which their columns tell. */
	if (!v->as_json && !v->all && strncmp(c->table, "lm_", 3) == 0 &&
	    strcmp(c->column, "updated_at") == 0) {
		v->hidden++;
		return 0;
	}
	if (v->limit > 0 && v->count >= v->limit)
		return 1; /* --limit counts the conflicts listed */
	if (v->as_json) {
		siteid_to_text(c->loser_origin, loser);
		siteid_to_text(c->winner_origin, winner);
		json_object_begin(&v->j);
		json_kv_int(&v->j, "id", c->id);
		json_kv_str(&v->j, "table", c->table);
		json_kv_str(&v->j, "key", c->key);
		json_kv_str(&v->j, "column", c->column);
		json_kv_str(&v->j, "losing_value", c->loser_text);
		json_kv_str(&v->j, "loser", loser);
		json_kv_str(&v->j, "winner", deleted ? NULL : winner);
		cli_site_label(v->st, c->loser_origin, loser, sizeof(loser));
		cli_site_label(v->st, c->winner_origin, winner, sizeof(winner));
		json_kv_str(&v->j, "loser_name", loser);
		json_kv_str(&v->j, "winner_name", deleted ? NULL : winner);
		json_kv_bool(&v->j, "row_deleted", deleted);
		json_kv_str(&v->j, "at", c->at);
		json_object_end(&v->j);
	} else {
		cli_site_label(v->st, c->loser_origin, loser, sizeof(loser));
		cli_site_label(v->st, c->winner_origin, winner, sizeof(winner));
		printf("%s  %s %s.%s: \"%s\" by %s lost to %s\n", c->at, c->table, c->key,
		       c->column, c->loser_text ? c->loser_text : "NULL", loser,
		       deleted ? "a delete of the row" : winner);
	}
	v->count++;
	return 0;
}

static int run_conflicts(struct cli *cli, int argc, char **argv)
{
	int64_t limit = 50;
	struct view v;
	struct store st;
	lm_err err;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = parse_common(&cmd_conflicts, argc, argv, &v, &limit, NULL, NULL);
	if (rc != EXIT_OK)
		return rc;
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	v.st = &st;
	begin(&v);
	/* Some may be left out, so print_conflict applies the limit. */
	v.limit = limit;
	rc = inspect_conflicts(&st, 0, print_conflict, &v, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	if (v.hidden == 0)
		end(&v, "No conflicts.");
	else if (v.count == 0)
		printf("Only conflicts over updated_at, the time of the last edit: %d (`lmsync "
		       "conflicts --all` lists them).\n",
		       v.hidden);
	else
		printf("%d more over updated_at, the time of the last edit, left out (`lmsync "
		       "conflicts --all` lists them).\n",
		       v.hidden);
	return EXIT_OK;
}

static int print_quarantined(const struct inspect_quarantined *q, void *ctx)
{
	struct view *v = ctx;
	char id[SITEID_TEXT_LEN + 1];

	siteid_to_text(q->origin, id);
	if (v->as_json) {
		json_object_begin(&v->j);
		json_kv_str(&v->j, "state", q->held ? "held" : "quarantined");
		json_kv_str(&v->j, "origin", id);
		json_kv_str(&v->j, "scope", q->scope);
		json_kv_int(&v->j, "seq", (int64_t)q->seq);
		json_kv_str(&v->j, "reason", q->reason);
		json_kv_str(&v->j, "at", q->at);
		json_object_end(&v->j);
	} else {
		printf("%s %s: change set %llu of %s in scope %s\n    %s\n", q->at,
		       q->held ? "held" : "quarantined", (unsigned long long)q->seq, id, q->scope,
		       q->reason);
	}
	v->count++;
	return 0;
}

static int print_held_row(const struct held_row *h, void *ctx)
{
	struct view *v = ctx;

	if (v->as_json) {
		json_object_begin(&v->j);
		json_kv_str(&v->j, "state", "not sent");
		json_kv_str(&v->j, "table", h->table);
		json_kv_str(&v->j, "key", h->key);
		json_kv_str(&v->j, "column", h->column);
		json_kv_str(&v->j, "at", h->at);
		json_object_end(&v->j);
	} else {
		printf(
		    "%s not sent: %s %s\n    %s holds what looks like a national identity number "
		    "(fødselsnummer); lmsync shares no personal data, so this row waits here "
		    "until a change removes it\n",
		    h->at, h->table, h->key, h->column);
	}
	v->count++;
	return 0;
}

static int run_quarantine(struct cli *cli, int argc, char **argv)
{
	struct view v;
	struct store st;
	lm_err err;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = parse_common(&cmd_quarantine, argc, argv, &v, NULL, NULL, NULL);
	if (rc != EXIT_OK)
		return rc;
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	begin(&v);
	rc = inspect_quarantine(&st, print_quarantined, &v, &err);
	if (rc == 0)
		rc = held_list(&st, print_held_row, &v, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	end(&v, "Nothing quarantined, held or unsent.");
	return EXIT_OK;
}
