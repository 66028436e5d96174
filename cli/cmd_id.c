/* SPDX-License-Identifier: MIT */
/* `lmsync id`: print this site's id, the thing other sites need to add it. */
#include <stdio.h>

#include "cli/cli.h"
#include "conf/keyfile.h"
#include "proto/siteid.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_id = {
    .name = "id",
    .summary = "print this site's id",
    .help = "usage: lmsync [-d DIR] id [--hex]\n"
	    "\n"
	    "Print the site id: the site's public key, in eight groups of seven\n"
	    "characters with a built-in check, made to be read aloud and compared.\n"
	    "Letters are not case-sensitive; O reads as 0, I and L as 1.\n"
	    "\n"
	    "  --hex   print the 64 hex characters of the Ed25519 public key instead\n",
    .run = run,
};

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"hex", no_argument, NULL, 'x'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char out[SITEID_HEX_LEN + 1];
	struct site_key key;
	lm_err err;
	int c, hex = 0;

	while ((c = cli_getopt(&cmd_id, argc, argv, ":h", longopts)) != -1) {
		if (c == 'x')
			hex = 1;
		else
			return EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage(&cmd_id, "unexpected argument '%s'", argv[optind]);
	if (cli_require_site(cli) != EXIT_OK)
		return EXIT_FAIL;
	if (keyfile_load(cli->sd.key, &key, &err) != 0)
		return cli_fail("%s", err.msg);
	if (hex)
		siteid_to_hex(key.public_key, out);
	else
		siteid_to_text(key.public_key, out);
	site_key_wipe(&key);
	printf("%s\n", out);
	return EXIT_OK;
}
