/* SPDX-License-Identifier: MIT */
/* Shared pieces of the lmsync command-line tool: the command table, option
 * parsing conventions and exit codes. Each command lives in its own cmd_*.c.
 *
 * Exit codes: 0 done; 1 failed (the message says why); 2 usage error;
 * 3 `status` found no running daemon.
 */
#ifndef LMSYNC_CLI_CLI_H
#define LMSYNC_CLI_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "conf/sitedir.h"
#include "proto/siteid.h"
#include "store/store.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3 };

struct cli {
	const char *dir_option; /* -d DIR as given, or NULL */
	struct sitedir sd;	/* resolved by cli_site */
};

struct cli_command {
	const char *name;
	const char *summary; /* one line for `lmsync --help` */
	const char *help;    /* the whole text for `lmsync NAME --help` */
	int (*run)(struct cli *cli, int argc, char **argv);
	/* Optional: prints the rest of the help after `help`, for a text made
	 * at run time (course lists the values of domain/enums.h). */
	void (*print_more_help)(FILE *out);
};

extern const struct cli_command cmd_init, cmd_id, cmd_peer, cmd_status, cmd_changes, cmd_conflicts,
    cmd_quarantine, cmd_table, cmd_scope, cmd_member, cmd_sync;
extern const struct cli_command cmd_network, cmd_org, cmd_course, cmd_agreement, cmd_report;

struct json;
struct peer;

/* Print the whole help of cmd to out. */
void cli_print_help(const struct cli_command *cmd, FILE *out);

/* Write peers as a JSON array (shared by `peer list` and `status`). */
void cli_peers_json(struct json *j, const struct peer *peers, int n);

/* Print "lmsync: <message>" to stderr; returns EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "lmsync NAME: <message>", the usage line and a pointer to --help;
 * returns EXIT_USAGE. */
int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A subcommand: `lmsync peer add ...` runs add with argv[0] "add". */
struct cli_subcommand {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
};

/* Run the subcommand argv[1] names (with argv shifted by one), print the
 * help for -h/--help, or a usage error naming the subcommands. */
int cli_dispatch(const struct cli_command *cmd, const struct cli_subcommand *subs, size_t n,
		 struct cli *cli, int argc, char **argv);

/* getopt_long over a command's arguments (argv[0] is the command name).
 * Handles -h/--help (prints the help, exits 0) and reports unknown options
 * as usage errors: returns the option, -1 at the end, or '?' after an
 * error was printed. Unknown options must be mapped to EXIT_USAGE. */
int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/* A site id as the coordinators' tables keep it (64 hex digits), as people
 * read it: its text form (as `lmsync id` prints it), or the first group of
 * that; what is no site id comes back as it is. */
const char *cli_site_text(const char *hex, char out[SITEID_TEXT_LEN + 1]);
const char *cli_site_short(const char *hex, char out[SITEID_SHORT_LEN + 1]);

/* Display width of UTF-8 text: every byte that does not continue a
 * character counts one column (æ, ø and å take two bytes and one column). */
int cli_text_width(const char *s);

/* The field width to give printf's %-*s so that s fills width columns:
 * printf pads by bytes, and æ, ø and å take two. */
int cli_pad(const char *s, int width);

/* "Name (SHORTID)" when the directory or the peer list of st names the
 * site, else the short id alone. */
void cli_site_label(struct store *st, const uint8_t key[SITEID_KEY_LEN], char *out, size_t cap);

/* Resolve the site directory into cli->sd; on error print it. */
int cli_site(struct cli *cli);

/* Resolve the site directory and require that it holds a site. */
int cli_require_site(struct cli *cli);

/* Resolve the site and open its store (which must exist). */
int cli_open_store(struct cli *cli, struct store *st);

/* The same, for the coordinators' commands: the store must hold the domain
 * tables (a hub's has none); otherwise the message says this site holds no
 * what ("course catalogue", "agreements", ...) and why. */
int cli_open_domain(struct cli *cli, struct store *st, const char *what);

#endif
