/* SPDX-License-Identifier: MIT */
/* lmsync: the command-line tool for coordinators and operators. This file
 * holds global options, the command table and the helpers every command
 * shares; each command is in its own cmd_*.c. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "store/peer.h"

static const struct cli_command *const commands[] = {
    /* Setting a site up and running it. */
    &cmd_init,
    &cmd_id,
    &cmd_peer,
    &cmd_status,
    &cmd_sync,
    /* The coordinators' commands. */
    &cmd_org,
    &cmd_network,
    &cmd_course,
    &cmd_agreement,
    &cmd_report,
    /* Replication underneath. */
    &cmd_table,
    &cmd_scope,
    &cmd_member,
    &cmd_changes,
    &cmd_conflicts,
    &cmd_quarantine,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *out)
{
	size_t i;

	fputs("usage: lmsync [-d DIR] COMMAND [ARGS]\n"
	      "\n"
	      "lmsync keeps learning and mastery services (lærings- og mestringstjenester)\n"
	      "in municipalities (kommuner) and hospital trusts (helseforetak) in step,\n"
	      "without a central server. Each site runs lmsyncd beside its own store.\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\n"
	      "Options:\n"
	      "  -d, --dir DIR   site directory (default: $LMSYNC_DIR, else\n"
	      "                  ~/.local/share/lmsync)\n"
	      "  -h, --help      show this help; `lmsync COMMAND --help` for a command\n"
	      "      --version   print the version\n"
	      "\n"
	      "Exit status: 0 done, 1 failed, 2 usage error, 3 daemon not running (status).\n",
	      out);
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("lmsync: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

void cli_print_help(const struct cli_command *cmd, FILE *out)
{
	fputs(cmd->help, out);
	if (cmd->print_more_help)
		cmd->print_more_help(out);
}

/* The first line of a command's help is its usage line. */
static void print_usage_line(const struct cli_command *cmd, FILE *out)
{
	const char *nl = strchr(cmd->help, '\n');

	fprintf(out, "%.*s\n", nl ? (int)(nl - cmd->help) : (int)strlen(cmd->help), cmd->help);
}

int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lmsync %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage_line(cmd, stderr);
	fprintf(stderr, "Try 'lmsync %s --help'.\n", cmd->name);
	return EXIT_USAGE;
}

/* "a", "a or b", "a, b or c". */
static void list_names(const struct cli_subcommand *subs, size_t n, char *out, size_t cap)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
					i == 0	     ? ""
					: i + 1 == n ? " or "
						     : ", ",
					subs[i].name);
}

int cli_dispatch(const struct cli_command *cmd, const struct cli_subcommand *subs, size_t n,
		 struct cli *cli, int argc, char **argv)
{
	char names[256];
	size_t i;

	list_names(subs, n, names, sizeof(names));
	if (argc < 2)
		return cli_usage(cmd, "which one: %s?", names);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_print_help(cmd, stdout);
		return EXIT_OK;
	}
	for (i = 0; i < n; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(cli, argc - 1, argv + 1);
	return cli_usage(cmd, "unknown subcommand '%s'; use %s", argv[1], names);
}

int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	int c, index = 0;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, &index);
	if (c == 'h') {
		cli_print_help(cmd, stdout);
		exit(EXIT_OK);
	}
	if (c == '?') {
		if (optopt != 0 && strchr(shortopts, optopt) != NULL)
			cli_usage(cmd, "option -%c needs a value", optopt);
		else if (optopt != 0)
			cli_usage(cmd, "unknown option -%c", optopt);
		else
			cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
	} else if (c == ':') {
		cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
		c = '?';
	}
	return c;
}

int cli_site(struct cli *cli)
{
	lm_err err;

	if (sitedir_resolve(&cli->sd, cli->dir_option, &err) != 0)
		return cli_fail("%s", err.msg);
	return EXIT_OK;
}

int cli_require_site(struct cli *cli)
{
	if (cli_site(cli) != EXIT_OK)
		return EXIT_FAIL;
	if (!sitedir_has_site(&cli->sd))
		return cli_fail("%s holds no site; create one with `lmsync -d %s init --name NAME "
				"--kind KIND`",
				cli->sd.dir, cli->sd.dir);
	return EXIT_OK;
}

int cli_open_store(struct cli *cli, struct store *st)
{
	lm_err err;

	if (cli_require_site(cli) != EXIT_OK)
		return EXIT_FAIL;
	if (store_open(st, cli->sd.store, STORE_OPEN, &err) != 0)
		return cli_fail("%s", err.msg);
	return EXIT_OK;
}

const char *cli_site_text(const char *hex, char out[SITEID_TEXT_LEN + 1])
{
	uint8_t key[SITEID_KEY_LEN];
	lm_err err;

	if (siteid_parse(hex, key, &err) != 0)
		return hex;
	siteid_to_text(key, out);
	return out;
}

const char *cli_site_short(const char *hex, char out[SITEID_SHORT_LEN + 1])
{
	uint8_t key[SITEID_KEY_LEN];
	lm_err err;

	if (siteid_parse(hex, key, &err) != 0)
		return hex;
	siteid_to_short(key, out);
	return out;
}

int cli_text_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

int cli_pad(const char *s, int width)
{
	return width + (int)strlen(s) - cli_text_width(s);
}

void cli_site_label(struct store *st, const uint8_t key[SITEID_KEY_LEN], char *out, size_t cap)
{
	char hex[SITEID_HEX_LEN + 1], short_id[SITEID_SHORT_LEN + 1], name[256];

	struct peer *peers = NULL;
	int npeers = 0, i;
	lm_err err;

	siteid_to_hex(key, hex);
	siteid_to_short(key, short_id);
	org_name(st, hex, name, sizeof(name));
	/* A hub has no directory (org_name gives the id back): its peer list
	 * still names the sites it talks to. */
	if (strncmp(name, hex, 7) == 0 && strlen(name) == 7 &&
	    peer_list(st, &peers, &npeers, &err) == 0) {
		for (i = 0; i < npeers; i++)
			if (memcmp(peers[i].id, key, SITEID_KEY_LEN) == 0 && peers[i].name[0])
				snprintf(name, sizeof(name), "%s", peers[i].name);
		free(peers);
	}
	if (strncmp(name, hex, 7) == 0 && strlen(name) == 7)
		snprintf(out, cap, "%s", short_id);
	else
		snprintf(out, cap, "%s (%s)", name, short_id);
}

int cli_open_domain(struct cli *cli, struct store *st, const char *what)
{
	lm_err err;
	int rc;

	if (cli_open_store(cli, st) != EXIT_OK)
		return EXIT_FAIL;
	rc = domain_installed(st, &err);
	if (rc == 1)
		return EXIT_OK;
	store_close(st);
	if (rc < 0)
		return cli_fail("%s", err.msg);
	return cli_fail("this site holds no %s: it is a hub, which stores and forwards the "
			"sites' change sets without the coordinators' tables",
			what);
}

static const struct cli_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct cli cli = {NULL, {{0}, {0}, {0}, {0}, {0}, {0}}};
	const struct cli_command *cmd;
	int c;

	/* '+': stop at the command name; its options are its own. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			cli.dir_option = optarg;
			break;
		case 'h':
			print_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("lmsync %s\n", LMSYNC_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "lmsync: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			fputs("usage: lmsync [-d DIR] COMMAND [ARGS]\nTry 'lmsync --help'.\n",
			      stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (cmd == NULL) {
		fprintf(stderr, "lmsync: unknown command '%s'\n", argv[optind]);
		fputs("usage: lmsync [-d DIR] COMMAND [ARGS]\nTry 'lmsync --help' for the "
		      "commands.\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0)
		return cli_fail("libsodium failed to initialise");
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: 0 restarts getopt for the command's own options */
	return cmd->run(&cli, argc, argv);
}
