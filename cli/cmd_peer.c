/* SPDX-License-Identifier: MIT */
/* `lmsync peer add|list|remove`: the sites this site connects to. The list
 * lives in the store; a running lmsyncd is asked to reload it at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/control_client.h"
#include "cli/json.h"
#include "conf/conf.h"
#include "domain/network.h"
#include "proto/mp.h"
#include "proto/siteid.h"
#include "store/peer.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_peer = {
    .name = "peer",
    .summary = "add, list or remove the sites this site connects to",
    .help = "usage: lmsync [-d DIR] peer add|list|remove ...\n"
	    "\n"
	    "  peer add ID --addr HOST:PORT [--hub] [--name NAME]\n"
	    "      Connect to the site ID at HOST:PORT. ID is the text form printed by\n"
	    "      `lmsync id` on that site (or its 64 hex characters); a mistyped ID is\n"
	    "      refused. --hub marks the regional hub that stores and forwards; it is\n"
	    "      given the role relay in every network and agreement this site\n"
	    "      administers, so they travel through it.\n"
	    "      IPv6 addresses go in brackets: [2001:db8::1]:7411.\n"
	    "  peer list [--json]\n"
	    "      Show the configured peers.\n"
	    "  peer remove ID\n"
	    "      Stop connecting to ID.\n"
	    "\n"
	    "A running lmsyncd picks up the change at once (and on SIGHUP).\n",
    .run = run,
};

/* Tell a running daemon; say so either way, since the user will wonder. */
static void notify_daemon(struct cli *cli)
{
	msgpack_unpacked reply;
	lm_err err;
	int rc, ok = 0;

	rc = control_request(cli->sd.control, "reload", 5000, &reply, &err);
	if (rc == CONTROL_NOT_RUNNING)
		printf("lmsyncd is not running; it will use the new list when it starts.\n");
	else if (rc < 0)
		fprintf(stderr, "lmsync: warning: could not ask lmsyncd to reload: %s\n", err.msg);
	else if (mp_map_bool(&reply.data, "ok", &ok) && ok)
		printf("lmsyncd reloaded its peer list.\n");
	else
		fprintf(stderr, "lmsync: warning: lmsyncd could not reload its peer list\n");
	msgpack_unpacked_destroy(&reply);
}

static int own_id(struct store *st, const uint8_t id[32])
{
	char hex[SITEID_HEX_LEN + 1], mine[SITEID_HEX_LEN + 8];
	lm_err err;

	siteid_to_hex(id, hex);
	return store_meta_get(st, "site_id", mine, sizeof(mine), &err) == 1 &&
	       strcmp(hex, mine) == 0;
}

static int parse_add(int argc, char **argv, struct peer *p)
{
	static const struct option longopts[] = {
	    {"addr", required_argument, NULL, 'a'},
	    {"name", required_argument, NULL, 'n'},
	    {"hub", no_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct conf_addr addr;
	const char *addr_arg = NULL, *name = "";
	lm_err err;
	int c;

	while ((c = cli_getopt(&cmd_peer, argc, argv, ":h", longopts)) != -1) {
		if (c == 'a')
			addr_arg = optarg;
		else if (c == 'n')
			name = optarg;
		else if (c == 'H')
			p->is_hub = 1;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_peer, "peer add takes one site ID");
	if (addr_arg == NULL)
		return cli_usage(&cmd_peer, "peer add needs --addr HOST:PORT");
	if (siteid_parse(argv[optind], p->id, &err) != 0)
		return cli_fail("%s", err.msg);
	if (conf_addr_parse(addr_arg, &addr, &err) != 0)
		return cli_usage(&cmd_peer, "--addr: %s", err.msg);
	if (name[0] != '\0' && conf_name_check(name, &err) != 0)
		return cli_usage(&cmd_peer, "--name: %s", err.msg);
	conf_addr_format(&addr, p->addr, sizeof(p->addr));
	snprintf(p->name, sizeof(p->name), "%s", name);
	return EXIT_OK;
}

static int peer_add_cmd(struct cli *cli, int argc, char **argv)
{
	struct peer p;
	struct store st;
	char id[SITEID_TEXT_LEN + 1];
	lm_err err;
	int rc, granted = 0;

	memset(&p, 0, sizeof(p));
	rc = parse_add(argc, argv, &p);
	if (rc != EXIT_OK)
		return rc;
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	siteid_to_text(p.id, id);
	if (own_id(&st, p.id))
		rc = cli_fail("%s is this site's own id; add the id of the other site", id);
	else if (peer_add(&st, &p, &err) != 0)
		rc = cli_fail("%s", err.msg);
	else if (p.is_hub && dom_grant_hub_everywhere(&st, p.id, &granted, &err) != 0)
		rc = cli_fail("added the hub, but could not give it the role relay in this site's "
			      "networks and agreements: %s",
			      err.msg);
	store_close(&st);
	if (rc != EXIT_OK)
		return rc;
	printf("Added peer %s%s%s at %s%s.\n", p.name[0] ? p.name : id, p.name[0] ? " " : "",
	       p.name[0] ? id : "", p.addr, p.is_hub ? " (hub)" : "");
	if (granted > 0)
		printf("Gave the hub the role relay in %d network%s or agreement%s this site "
		       "administers.\n",
		       granted, granted == 1 ? "" : "s", granted == 1 ? "" : "s");
	notify_daemon(cli);
	return EXIT_OK;
}

static int peer_remove_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint8_t id[32];
	struct store st;
	lm_err err;
	int c, rc;

	while ((c = cli_getopt(&cmd_peer, argc, argv, ":h", longopts)) != -1)
		return EXIT_USAGE;
	if (optind != argc - 1)
		return cli_usage(&cmd_peer, "peer remove takes one site ID");
	if (siteid_parse(argv[optind], id, &err) != 0)
		return cli_fail("%s", err.msg);
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = peer_remove(&st, id, &err);
	store_close(&st);
	if (rc < 0)
		return cli_fail("%s", err.msg);
	if (rc == 0)
		return cli_fail("no peer %s is configured; `lmsync peer list` shows them",
				argv[optind]);
	printf("Removed peer %s.\n", argv[optind]);
	notify_daemon(cli);
	return EXIT_OK;
}

static void print_table(const struct peer *peers, int n)
{
	char id[SITEID_TEXT_LEN + 1];
	int i;

	if (n == 0) {
		printf("No peers. Add one with `lmsync peer add ID --addr HOST:PORT`.\n");
		return;
	}
	printf("%-24s %-22s %-4s %s\n", "NAME", "ADDRESS", "HUB", "SITE ID");
	for (i = 0; i < n; i++) {
		const char *name = peers[i].name[0] ? peers[i].name : "-";

		siteid_to_text(peers[i].id, id);
		printf("%-*s %-22s %-4s %s\n", cli_pad(name, 24), name, peers[i].addr,
		       peers[i].is_hub ? "yes" : "no", id);
	}
}

void cli_peers_json(struct json *j, const struct peer *peers, int n)
{
	char id[SITEID_TEXT_LEN + 1];
	int i;

	json_array_begin(j);
	for (i = 0; i < n; i++) {
		siteid_to_text(peers[i].id, id);
		json_object_begin(j);
		json_kv_str(j, "id", id);
		json_kv_str(j, "name", peers[i].name);
		json_kv_str(j, "addr", peers[i].addr);
		json_kv_bool(j, "hub", peers[i].is_hub);
		json_kv_str(j, "added_at", peers[i].added_at);
		json_object_end(j);
	}
	json_array_end(j);
}

static int peer_list_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct peer *peers;
	struct store st;
	struct json j;
	lm_err err;
	int c, n, as_json = 0, rc;

	while ((c = cli_getopt(&cmd_peer, argc, argv, ":h", longopts)) != -1) {
		if (c == 'j')
			as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind != argc)
		return cli_usage(&cmd_peer, "peer list takes no arguments");
	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	rc = peer_list(&st, &peers, &n, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	if (as_json) {
		json_init(&j, stdout);
		cli_peers_json(&j, peers, n);
		json_finish(&j);
	} else {
		print_table(peers, n);
	}
	free(peers);
	return EXIT_OK;
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"add", peer_add_cmd}, {"list", peer_list_cmd}, {"remove", peer_remove_cmd}};

	return cli_dispatch(&cmd_peer, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}
