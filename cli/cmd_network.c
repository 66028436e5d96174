/* SPDX-License-Identifier: MIT */
/* `lmsync network create|show|list` and `lmsync network member
 * add|remove|list`: the networks that coordinate the field, each a governed
 * scope whose members alone receive its rows (domain/network.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "domain/enums.h"
#include "domain/network.h"
#include "domain/org.h"
#include "proto/siteid.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_network = {
    .name = "network",
    .summary = "create, show and list networks; manage their members",
    .help = "usage: lmsync [-d DIR] network create|show|list|member ...\n"
	    "\n"
	    "A network coordinates learning and mastery work between organisations: the\n"
	    "health region, the network around one helseforetak (hospital trust), an\n"
	    "inter-municipal network or a themed one. It has a host organisation, a\n"
	    "mandate and members with roles. Courses are published to a network, and only\n"
	    "its members (and the hubs that relay it) ever receive its rows.\n"
	    "\n"
	    "  network create NAME --title TITLE --kind KIND [--host ORG] [--mandate TEXT]\n"
	    "      Make the network NAME, administered from this site, which becomes its\n"
	    "      leder. Prints its id (NAME@ and this site's id in hex). Every hub this\n"
	    "      site peers with is given the role relay, so the network travels through\n"
	    "      the region's hub. KIND is one of:\n"
	    "        region          the health region's network\n"
	    "        helseforetak    the network around one helseforetak\n"
	    "        interkommunalt  an inter-municipal network\n"
	    "        tema            a themed network\n"
	    "      --host ORG names the host organisation (default: this site).\n"
	    "  network show NETWORK [--json]\n"
	    "      The network's description and members.\n"
	    "  network list [--json]\n"
	    "      The networks this site belongs to.\n"
	    "  network member add NETWORK ORG --role ROLE\n"
	    "      Make ORG a member, or change its role. Only the network's leder,\n"
	    "      nestleder or koordinator can. ROLE is one of:\n"
	    "        leder        leads the network; adds and removes members\n"
	    "        nestleder    deputy leader; adds and removes members\n"
	    "        koordinator  coordinates the network; adds and removes members\n"
	    "        medlem       a member: publishes its own courses to the network\n"
	    "  network member remove NETWORK ORG\n"
	    "      Take ORG out of the network. It keeps what it received; it receives\n"
	    "      its removal, then nothing new, and what it writes there is no longer\n"
	    "      accepted.\n"
	    "  network member list NETWORK [--json]\n"
	    "\n"
	    "NETWORK is a network's id, or the NAME part of it, or its title, when only\n"
	    "one network here has it. ORG is a site id (as `lmsync id` prints it) or the\n"
	    "name of an organisation or peer this site knows.\n",
    .run = run,
};

static int json_option(int argc, char **argv, int *as_json)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	*as_json = 0;
	while ((c = cli_getopt(&cmd_network, argc, argv, ":h", longopts)) != -1) {
		if (c == 'j')
			*as_json = 1;
		else
			return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int create_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"title", required_argument, NULL, 't'}, {"kind", required_argument, NULL, 'k'},
	    {"host", required_argument, NULL, 'o'},  {"mandate", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},	     {NULL, 0, NULL, 0},
	};
	const char *title = NULL, *kind = NULL, *host = NULL, *mandate = "";
	char id[NETWORK_ID_MAX + 1];
	struct network n;
	struct store st;
	lm_err err;
	int c, rc;

	while ((c = cli_getopt(&cmd_network, argc, argv, ":h", longopts)) != -1) {
		if (c == 't')
			title = optarg;
		else if (c == 'k')
			kind = optarg;
		else if (c == 'o')
			host = optarg;
		else if (c == 'm')
			mandate = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_network, "network create takes one NAME");
	if (title == NULL || kind == NULL)
		return cli_usage(&cmd_network, "network create needs --title and --kind");
	memset(&n, 0, sizeof(n));
	if (strlen(title) >= sizeof(n.name) || strlen(mandate) >= sizeof(n.mandate))
		return cli_fail("%s: too long",
				strlen(title) >= sizeof(n.name) ? "--title" : "--mandate");
	snprintf(n.name, sizeof(n.name), "%s", title);
	snprintf(n.kind, sizeof(n.kind), "%s", kind);
	snprintf(n.mandate, sizeof(n.mandate), "%s", mandate);
	if (cli_open_domain(cli, &st, "networks") != EXIT_OK)
		return EXIT_FAIL;
	rc = host ? dom_site_resolve(&st, host, n.host, &err) : 0;
	if (rc == 0)
		rc = network_create(&st, argv[optind], &n, id, sizeof(id), &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	printf("%s\n", id);
	return EXIT_OK;
}

struct members {
	struct json j;
	int as_json, count;
};

static int print_member(const struct network_member *m, void *ctx)
{
	struct members *l = ctx;
	char buf[SITEID_TEXT_LEN + 1];
	const char *id = cli_site_text(m->site, buf);

	if (l->as_json) {
		json_object_begin(&l->j);
		json_kv_str(&l->j, "org", id);
		json_kv_str(&l->j, "name", m->name);
		json_kv_str(&l->j, "role", m->role);
		json_object_end(&l->j);
	} else {
		printf("  %-12s %-*s %s\n", m->role, cli_pad(m->name, 32), m->name, id);
	}
	l->count++;
	return 0;
}

static int resolve(struct store *st, const char *arg, char *id, size_t cap)
{
	lm_err err;

	if (network_resolve(st, arg, id, cap, &err) != 0)
		return cli_fail("%s", err.msg);
	return EXIT_OK;
}

/* For a command of one NETWORK: EXIT_OK with st open and the network's
 * id, or the exit code with st closed. */
static int open_network(struct cli *cli, int argc, char **argv, const char *usage, struct store *st,
			char id[NETWORK_ID_MAX + 1])
{
	int rc;

	if (optind != argc - 1)
		return cli_usage(&cmd_network, "%s", usage);
	if (cli_open_domain(cli, st, "networks") != EXIT_OK)
		return EXIT_FAIL;
	rc = resolve(st, argv[optind], id, NETWORK_ID_MAX + 1);
	if (rc != EXIT_OK)
		store_close(st);
	return rc;
}

static int show_cmd(struct cli *cli, int argc, char **argv)
{
	char id[NETWORK_ID_MAX + 1], host[DOM_TEXT_SHORT + 1];
	struct members l;
	struct network n;
	struct store st;
	lm_err err;
	int rc;

	memset(&l, 0, sizeof(l));
	rc = json_option(argc, argv, &l.as_json);
	if (rc == EXIT_OK)
		rc = open_network(cli, argc, argv, "network show takes one NETWORK", &st, id);
	if (rc != EXIT_OK)
		return rc;
	if (network_get(&st, id, &n, &err) != 1) {
		store_close(&st);
		return cli_fail("%s", err.msg);
	}
	org_name(&st, n.host, host, sizeof(host));
	if (l.as_json) {
		json_init(&l.j, stdout);
		json_object_begin(&l.j);
		json_kv_str(&l.j, "id", n.id);
		json_kv_str(&l.j, "title", n.name);
		json_kv_str(&l.j, "kind", n.kind);
		json_kv_str(&l.j, "host", host);
		json_kv_str(&l.j, "mandate", n.mandate);
		json_key(&l.j, "members");
		json_array_begin(&l.j);
	} else {
		printf("Network  %s (%s)\nId       %s\nHost     %s\n", n.name, n.kind, n.id, host);
		if (n.mandate[0])
			printf("Mandate  %s\n", n.mandate);
		printf("Members\n");
	}
	rc = network_members(&st, id, print_member, &l, &err);
	store_close(&st);
	if (l.as_json) {
		json_array_end(&l.j);
		json_object_end(&l.j);
		json_finish(&l.j);
	}
	return rc == 0 ? EXIT_OK : cli_fail("%s", err.msg);
}

struct networks {
	struct json j;
	struct store *st;
	int as_json, count;
};

static int print_network(const struct network *n, void *ctx)
{
	struct networks *l = ctx;
	char host[DOM_TEXT_SHORT + 1];

	org_name(l->st, n->host, host, sizeof(host));
	if (l->as_json) {
		json_object_begin(&l->j);
		json_kv_str(&l->j, "id", n->id);
		json_kv_str(&l->j, "title", n->name);
		json_kv_str(&l->j, "kind", n->kind);
		json_kv_str(&l->j, "host", host);
		json_object_end(&l->j);
	} else {
		printf("%-*s %-14s %-*s %.*s\n", cli_pad(n->name, 32), n->name, n->kind,
		       cli_pad(host, 24), host,
		       (int)(strchr(n->id, '@') ? strchr(n->id, '@') - n->id + 8 : 64), n->id);
	}
	l->count++;
	return 0;
}

static int list_cmd(struct cli *cli, int argc, char **argv)
{
	struct networks l;
	struct store st;
	lm_err err;
	int rc;

	memset(&l, 0, sizeof(l));
	rc = json_option(argc, argv, &l.as_json);
	if (rc != EXIT_OK)
		return rc;
	if (optind != argc)
		return cli_usage(&cmd_network, "network list takes no arguments");
	if (cli_open_domain(cli, &st, "networks") != EXIT_OK)
		return EXIT_FAIL;
	l.st = &st;
	if (l.as_json) {
		json_init(&l.j, stdout);
		json_array_begin(&l.j);
	} else {
		printf("%-32s %-14s %-24s %s\n", "Title", "Kind", "Host", "Id");
	}
	rc = network_list(&st, print_network, &l, &err);
	store_close(&st);
	if (l.as_json) {
		json_array_end(&l.j);
		json_finish(&l.j);
	}
	if (rc != 0)
		return cli_fail("%s", err.msg);
	if (!l.as_json && l.count == 0)
		printf("(none yet: `lmsync network create` makes one; a network another site "
		       "made arrives once its leder adds this site)\n");
	return EXIT_OK;
}

static int member_add_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char id[NETWORK_ID_MAX + 1], site[65], name[DOM_TEXT_SHORT + 1];
	const char *role = NULL;
	struct store st;
	lm_err err;
	int c, rc;

	while ((c = cli_getopt(&cmd_network, argc, argv, ":h", longopts)) != -1) {
		if (c == 'r')
			role = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind != argc - 2)
		return cli_usage(&cmd_network, "network member add takes a NETWORK and an ORG");
	if (role == NULL)
		return cli_usage(
		    &cmd_network,
		    "network member add needs --role leder|nestleder|koordinator|medlem");
	if (dom_enum_parse(&dom_network_role, "--role", role, &err) == NULL)
		return cli_usage(&cmd_network, "%s", err.msg);
	if (cli_open_domain(cli, &st, "networks") != EXIT_OK)
		return EXIT_FAIL;
	rc = resolve(&st, argv[optind], id, sizeof(id));
	if (rc == EXIT_OK && (dom_site_resolve(&st, argv[optind + 1], site, &err) != 0 ||
			      network_member_set(&st, id, site, role, &err) != 0))
		rc = cli_fail("%s", err.msg);
	if (rc == EXIT_OK) {
		org_name(&st, site, name, sizeof(name));
		printf("%s is now %s of %s.\n", name,
		       dom_enum_parse(&dom_network_role, "", role, &err), id);
	}
	store_close(&st);
	return rc;
}

static int member_remove_cmd(struct cli *cli, int argc, char **argv)
{
	char id[NETWORK_ID_MAX + 1], site[65], name[DOM_TEXT_SHORT + 1];
	struct store st;
	lm_err err;
	int as_json, rc;

	rc = json_option(argc, argv, &as_json);
	if (rc != EXIT_OK)
		return rc;
	if (optind != argc - 2)
		return cli_usage(&cmd_network, "network member remove takes a NETWORK and an ORG");
	if (cli_open_domain(cli, &st, "networks") != EXIT_OK)
		return EXIT_FAIL;
	rc = resolve(&st, argv[optind], id, sizeof(id));
	if (rc == EXIT_OK && dom_site_resolve(&st, argv[optind + 1], site, &err) != 0)
		rc = cli_fail("%s", err.msg);
	if (rc == EXIT_OK) {
		org_name(&st, site, name, sizeof(name));
		switch (network_member_remove(&st, id, site, &err)) {
		case 1:
			printf("Removed %s from %s.\n", name, id);
			break;
		case 0:
			rc = cli_fail("%s is no member of %s", name, id);
			break;
		default:
			rc = cli_fail("%s", err.msg);
		}
	}
	store_close(&st);
	return rc;
}

static int member_list_cmd(struct cli *cli, int argc, char **argv)
{
	char id[NETWORK_ID_MAX + 1];
	struct members l;
	struct store st;
	lm_err err;
	int rc;

	memset(&l, 0, sizeof(l));
	rc = json_option(argc, argv, &l.as_json);
	if (rc == EXIT_OK)
		rc =
		    open_network(cli, argc, argv, "network member list takes one NETWORK", &st, id);
	if (rc != EXIT_OK)
		return rc;
	if (l.as_json) {
		json_init(&l.j, stdout);
		json_array_begin(&l.j);
	}
	rc = network_members(&st, id, print_member, &l, &err);
	store_close(&st);
	if (l.as_json) {
		json_array_end(&l.j);
		json_finish(&l.j);
	}
	return rc == 0 ? EXIT_OK : cli_fail("%s", err.msg);
}

static int member_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"add", member_add_cmd}, {"remove", member_remove_cmd}, {"list", member_list_cmd}};

	return cli_dispatch(&cmd_network, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
	    {"create", create_cmd}, {"show", show_cmd}, {"list", list_cmd}, {"member", member_cmd}};

	return cli_dispatch(&cmd_network, subs, sizeof(subs) / sizeof(subs[0]), cli, argc, argv);
}
