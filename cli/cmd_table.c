/* SPDX-License-Identifier: MIT */
/* `lmsync table register|list`: which tables of the site's store replicate.
 * A thin layer over store/registry.h; the daemon notices a new table by
 * itself when it next seals, so it is not asked anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "store/registry.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_table = {
    .name = "table",
    .summary = "register a table of the store for replication, or list them",
    .help = "usage: lmsync [-d DIR] table register|list ...\n"
	    "\n"
	    "  table register TABLE --key COL[,COL...] --scope COL --policy POLICY\n"
	    "      Replicate TABLE, an existing table of this site's store (DIR/store.db;\n"
	    "      create it with the sqlite3 shell, say). From then on triggers capture\n"
	    "      every insert, update and delete of it, by any SQLite client, in the\n"
	    "      writer's own transaction; lmsyncd seals them into signed change sets\n"
	    "      for the sites of each row's scope. Rows already in the table replicate\n"
	    "      too. Registering again is harmless: it re-installs the triggers (do so\n"
	    "      after adding a column).\n"
	    "        --key COL[,COL...]  the primary key, 1 to 8 NOT NULL columns of\n"
	    "                            stable ids (never rowid)\n"
	    "        --scope COL         the column naming the scope of each row (not a key\n"
	    "                            column); see `lmsync member --help`\n"
	    "        --policy POLICY     who may write a row:\n"
	    "            owner  only the site whose id (64 hex digits) is in the first key\n"
	    "                   column; every site checks this the same way\n"
	    "            scope  any site that may write the row's scope; a row's scope is\n"
	    "                   last writer wins, so such a site may also move a row\n"
	    "                   of another scope into its own: to keep rows where they\n"
	    "                   are, tie the key to the scope with a CHECK (see\n"
	    "                   docs/DECISIONS.md, \"Merge\")\n"
	    "            admin  only the scope's administrators; the first key column\n"
	    "                   names the scope the row lives in\n"
	    "      In a governed scope (NAME@ROOT) the writer must also be an admin or\n"
	    "      member there, whatever the policy; a refused write fails in the writer's\n"
	    "      transaction. Every column outside the key must allow NULL or have a\n"
	    "      default, since a merge may create a row from an update alone.\n"
	    "  table list [--json]\n"
	    "      Show the replicated tables: key, scope column and policy.\n",
    .run = run,
};

/* lmsync's own tables (store/schema.c) must never get capture triggers. */
static int internal_table(const char *name)
{
	static const char *const names[] = {"meta",	"peer",	      "changeset", "vv",
					    "conflict", "quarantine", "held"};
	size_t i;

	if (strncasecmp(name, "repl_", 5) == 0 || strncasecmp(name, "lm_", 3) == 0 ||
	    strncasecmp(name, "sqlite_", 7) == 0)
		return 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* 1 when table is registered, 0 when not, -1 on a store error. */
static int registered(struct store *st, const char *table, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (store_prepare(st, "SELECT 1 FROM repl_table WHERE name = ?", &stmt, err) != 0)
		return -1;
	sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the table registry: %s", st->path,
			       sqlite3_errmsg(st->db));
	return rc == SQLITE_ROW;
}

static int table_register_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"scope", required_argument, NULL, 's'},
	    {"policy", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key = NULL, *scope = NULL, *policy_arg = NULL, *table;
	enum repl_policy policy;
	struct store st;
	lm_err err;
	int c, rc, before;

	while ((c = cli_getopt(&cmd_table, argc, argv, ":h", longopts)) != -1) {
		if (c == 'k')
			key = optarg;
		else if (c == 's')
			scope = optarg;
		else if (c == 'p')
			policy_arg = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_table, "table register takes one TABLE");
	table = argv[optind];
	if (key == NULL || scope == NULL || policy_arg == NULL)
		return cli_usage(&cmd_table, "table register needs --key, --scope and --policy");
	if (repl_policy_parse(policy_arg, &policy, &err) != 0)
		return cli_usage(&cmd_table, "--policy: %s", err.msg);
	if (internal_table(table))
		return cli_fail(
		    "cannot register %s: it is one of lmsync's own tables (names "
		    "beginning with repl_ or lm_ are kept for them too); choose another "
		    "name",
		    table);
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	before = registered(&st, table, &err);
	rc = before < 0 ? -1 : registry_add(&st, table, key, scope, policy, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("cannot register %s: %s", table, err.msg);
	if (before) {
		printf("%s was registered already; its triggers are re-installed: key %s, scope "
		       "column %s, policy %s.\n",
		       table, key, scope, repl_policy_name(policy));
		return EXIT_OK;
	}
	printf("Registered %s: key %s, scope column %s, policy %s.\n", table, key, scope,
	       repl_policy_name(policy));
	printf("Every write to it is now captured for replication, whoever makes it; rows "
	       "already in it replicate too.\n");
	if (policy == POLICY_SCOPE)
		printf("Policy scope: any site that may write a scope may also move a row of "
		       "another scope into it, unless a CHECK ties each row's key to its scope "
		       "(docs/DECISIONS.md, \"Merge\").\n");
	return EXIT_OK;
}

/* "a,b" as the JSON array ["a", "b"]. */
static void json_key_array(struct json *j, const char *pk_cols)
{
	char list[1024], *tok, *save = NULL;

	snprintf(list, sizeof(list), "%s", pk_cols);
	json_array_begin(j);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_str(j, tok);
	json_array_end(j);
}

static int table_list_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	sqlite3_stmt *stmt;
	struct store st;
	struct json j;
	lm_err err;
	int c, rc, n = 0, as_json = 0;

	while ((c = cli_getopt(&cmd_table, argc, argv, ":h", longopts)) != -1) {
		if (c == 'j')
			as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind != argc)
		return cli_usage(&cmd_table, "table list takes no arguments");
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	if (store_prepare(&st,
			  "SELECT name, pk_cols, scope_col, policy FROM repl_table ORDER BY name",
			  &stmt, &err) != 0) {
		store_close(&st);
		return cli_fail("%s", err.msg);
	}
	if (as_json) {
		json_init(&j, stdout);
		json_array_begin(&j);
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 0),
			   *pk = (const char *)sqlite3_column_text(stmt, 1),
			   *scope = (const char *)sqlite3_column_text(stmt, 2),
			   *policy = (const char *)sqlite3_column_text(stmt, 3);

		if (as_json) {
			json_object_begin(&j);
			json_kv_str(&j, "name", name);
			json_key(&j, "key");
			json_key_array(&j, pk);
			json_kv_str(&j, "scope_column", scope);
			json_kv_str(&j, "policy", policy);
			json_object_end(&j);
		} else {
			if (n == 0)
				printf("%-24s %-24s %-16s %s\n", "TABLE", "KEY", "SCOPE COLUMN",
				       "POLICY");
			printf("%-24s %-24s %-16s %s\n", name, pk, scope, policy);
		}
		n++;
	}
	if (rc != SQLITE_DONE)
		lm_errf(&err, "%s: reading the table registry: %s", st.path, sqlite3_errmsg(st.db));
	sqlite3_finalize(stmt);
	store_close(&st);
	if (as_json) {
		json_array_end(&j);
		json_finish(&j);
	} else if (rc == SQLITE_DONE && n == 0) {
		printf("No replicated tables. Register one with `lmsync table register`.\n");
	}
	if (rc != SQLITE_DONE)
		return cli_fail("%s", err.msg);
	return EXIT_OK;
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {{"register", table_register_cmd},
						     {"list", table_list_cmd}};

	return cli_dispatch(&cmd_table, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}
