/* SPDX-License-Identifier: MIT */
/* `lmsync scope create` and `lmsync member add|remove|list`: governed scopes
 * and who holds which role in them (store/member.h). A member row is written
 * like any other replicated row; a running lmsyncd seals it by itself, so the
 * daemon is not asked anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "proto/siteid.h"
#include "store/member.h"

static int run_scope(struct cli *cli, int argc, char **argv);
static int run_member(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_scope = {
    .name = "scope",
    .summary = "make the id of a new governed scope rooted at this site",
    .help = "usage: lmsync [-d DIR] scope create NAME\n"
	    "\n"
	    "A scope is the set of sites that share some rows: a regional network of\n"
	    "learning and mastery services, say, or one agreement between a kommune and\n"
	    "a helseforetak. A governed scope has the id NAME@ROOT, ROOT being the 64 hex\n"
	    "digits of the site that made it: the id itself makes that site the scope's\n"
	    "administrator for good, and no other site can claim it.\n"
	    "\n"
	    "  scope create NAME\n"
	    "      Print the id of this site's scope NAME (NAME@ and this site's id in\n"
	    "      hex). Nothing is written: the scope exists once a row is written in\n"
	    "      it. Give other sites roles with `lmsync member add`, and use the id\n"
	    "      in the scope column of replicated rows. NAME has 1 to 63 bytes, no '@'\n"
	    "      and no control characters; the same NAME always gives the same id.\n",
    .run = run_scope,
};

const struct cli_command cmd_member = {
    .name = "member",
    .summary = "give, take away or list the roles of sites in a governed scope",
    .help = "usage: lmsync [-d DIR] member add|remove|list ...\n"
	    "\n"
	    "Who may write, and who receives, a governed scope (NAME@ROOT, see\n"
	    "`lmsync scope --help`). The root site is always an administrator; every\n"
	    "other site has the role an administrator gave it:\n"
	    "  admin   writes the scope's rows and its member list\n"
	    "  member  writes the scope's rows, as the tables' policies allow\n"
	    "  reader  receives the scope, writes nothing\n"
	    "  relay   a hub: stores and forwards the scope, writes nothing\n"
	    "The member list is itself replicated in the scope (table lm_member), so\n"
	    "only an administrator of the scope can change it, and its sites all come to\n"
	    "see the same list. A change is an ordinary write: a running lmsyncd seals\n"
	    "it by itself within a second, like any other.\n"
	    "\n"
	    "  member add SCOPE SITE --role admin|member|reader|relay\n"
	    "      Give SITE the role in SCOPE, or change its role. SITE is the id\n"
	    "      `lmsync id` prints on that site (or its 64 hex digits).\n"
	    "  member remove SCOPE SITE\n"
	    "      Take SITE's role in SCOPE away. What it wrote stays. It receives the\n"
	    "      scope up to its removal, then nothing more, and can no longer write\n"
	    "      there; what it wrote before it heard is held back by every site the\n"
	    "      removal has reached, until it is added again (docs/DECISIONS.md says\n"
	    "      what removal does not guarantee).\n"
	    "  member list [SCOPE] [--json]\n"
	    "      The members of SCOPE, or of every scope this site holds, the root\n"
	    "      first (listed as admin, marked root).\n",
    .run = run_member,
};

/* Subcommands with no options of their own but --help. */
static int no_options(const struct cli_command *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};

	if (cli_getopt(cmd, argc, argv, ":h", longopts) != -1)
		return EXIT_USAGE;
	return EXIT_OK;
}

static int scope_create_cmd(struct cli *cli, int argc, char **argv)
{
	char scope[CS_SCOPE_MAX + 1];
	struct store st;
	lm_err err;
	int rc;

	rc = no_options(&cmd_scope, argc, argv);
	if (rc != EXIT_OK)
		return rc;
	if (optind != argc - 1)
		return cli_usage(&cmd_scope, "scope create takes one NAME");
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = member_scope_make(&st, argv[optind], scope, sizeof(scope), &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	printf("%s\n", scope);
	return EXIT_OK;
}

static int run_scope(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {{"create", scope_create_cmd}};

	return cli_dispatch(&cmd_scope, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}

/* Only governed scopes have members; say how to get one. */
static int require_governed(const char *scope)
{
	uint8_t root[CS_KEY_LEN];

	if (scope_root(scope, root))
		return EXIT_OK;
	return cli_fail("'%s' is not a governed scope (NAME@ROOT, ROOT the 64 lowercase hex "
			"digits of a site id); only governed scopes have members. `lmsync scope "
			"create NAME` prints one of this site's",
			scope);
}

static int member_add_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *role_arg = NULL, *scope;
	char id[SITEID_TEXT_LEN + 1];
	enum member_role role;
	uint8_t site[CS_KEY_LEN];
	struct store st;
	lm_err err;
	int c, rc;

	while ((c = cli_getopt(&cmd_member, argc, argv, ":h", longopts)) != -1) {
		if (c == 'r')
			role_arg = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 2)
		return cli_usage(&cmd_member, "member add takes a SCOPE and a SITE");
	if (role_arg == NULL)
		return cli_usage(&cmd_member, "member add needs --role admin|member|reader|relay");
	if (member_role_parse(role_arg, &role, &err) != 0)
		return cli_usage(&cmd_member, "--role: %s", err.msg);
	scope = argv[optind];
	if (require_governed(scope) != EXIT_OK)
		return EXIT_FAIL;
	if (siteid_parse(argv[optind + 1], site, &err) != 0)
		return cli_fail("SITE: %s", err.msg);
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = member_set(&st, scope, site, role, &err);
	store_close(&st);
	if (rc < 0)
		return cli_fail("%s", err.msg);
	siteid_to_text(site, id);
	if (rc == 0)
		printf("%s has the role %s in %s already; nothing changed.\n", id,
		       member_role_name(role), scope);
	else
		printf("%s now has the role %s in %s.\n", id, member_role_name(role), scope);
	return EXIT_OK;
}

static int member_remove_cmd(struct cli *cli, int argc, char **argv)
{
	char id[SITEID_TEXT_LEN + 1];
	uint8_t site[CS_KEY_LEN];
	struct store st;
	const char *scope;
	lm_err err;
	int rc;

	rc = no_options(&cmd_member, argc, argv);
	if (rc != EXIT_OK)
		return rc;
	if (optind != argc - 2)
		return cli_usage(&cmd_member, "member remove takes a SCOPE and a SITE");
	scope = argv[optind];
	if (require_governed(scope) != EXIT_OK)
		return EXIT_FAIL;
	if (siteid_parse(argv[optind + 1], site, &err) != 0)
		return cli_fail("SITE: %s", err.msg);
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = member_unset(&st, scope, site, &err);
	store_close(&st);
	siteid_to_text(site, id);
	if (rc < 0)
		return cli_fail("%s", err.msg);
	if (rc == 0)
		return cli_fail("%s has no role in %s here; `lmsync member list %s` shows the "
				"members",
				id, scope, scope);
	printf("Removed %s from %s.\n", id, scope);
	return EXIT_OK;
}

struct listing {
	struct json j;
	int as_json, count;
	char me[SITEID_HEX_LEN + 1]; /* this site, in hex */
	char last[CS_SCOPE_MAX + 1]; /* the scope of the last line printed */
};

static int print_member(const struct member_entry *e, void *ctx)
{
	struct listing *l = ctx;
	char id[SITEID_TEXT_LEN + 1], hex[SITEID_HEX_LEN + 1];
	int mine;

	siteid_to_text(e->site, id);
	siteid_to_hex(e->site, hex);
	mine = strcmp(hex, l->me) == 0;
	if (l->as_json) {
		json_object_begin(&l->j);
		json_kv_str(&l->j, "scope", e->scope);
		json_kv_str(&l->j, "site", id);
		json_kv_str(&l->j, "role", member_role_name(e->role));
		json_kv_bool(&l->j, "root", e->root);
		json_kv_bool(&l->j, "this_site", mine);
		json_object_end(&l->j);
	} else {
		if (l->count == 0 || strcmp(l->last, e->scope) != 0) {
			printf("%s%s\n", l->count ? "\n" : "", e->scope);
			snprintf(l->last, sizeof(l->last), "%s", e->scope);
		}
		printf("  %-7s %s%s%s%s\n", member_role_name(e->role), id,
		       e->root || mine ? "  " : "", e->root ? "root" : "",
		       mine ? (e->root ? ", this site" : "this site") : "");
	}
	l->count++;
	return 0;
}

static int member_list_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *scope = NULL;
	uint8_t root[CS_KEY_LEN];
	struct listing l;
	struct store st;
	lm_err err;
	int c, rc;

	memset(&l, 0, sizeof(l));
	while ((c = cli_getopt(&cmd_member, argc, argv, ":h", longopts)) != -1) {
		if (c == 'j')
			l.as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind < argc - 1)
		return cli_usage(&cmd_member, "member list takes at most one SCOPE");
	if (optind == argc - 1)
		scope = argv[optind];
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = store_meta_get(&st, "site_id", l.me, sizeof(l.me), &err);
	if (rc < 0) {
		store_close(&st);
		return cli_fail("%s", err.msg);
	}
	if (l.as_json) {
		json_init(&l.j, stdout);
		json_array_begin(&l.j);
	}
	rc = member_list(&st, scope, print_member, &l, &err);
	store_close(&st);
	if (l.as_json) {
		json_array_end(&l.j);
		json_finish(&l.j);
	}
	if (rc != 0)
		return cli_fail("%s", err.msg);
	if (l.as_json || l.count > 0)
		return EXIT_OK;
	if (scope != NULL && !scope_root(scope, root))
		printf("'%s' is an open scope: it has no members; any site writes it as the "
		       "tables' policies allow.\n",
		       scope);
	else
		printf("No governed scopes here yet. `lmsync scope create NAME` makes one; "
		       "`lmsync member add` gives sites roles in it.\n");
	return EXIT_OK;
}

static int run_member(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"add", member_add_cmd}, {"remove", member_remove_cmd}, {"list", member_list_cmd}};

	return cli_dispatch(&cmd_member, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}
