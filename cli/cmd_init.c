/* SPDX-License-Identifier: MIT */
/* `lmsync init`: create a site directory with its key, configuration and
 * store. Everything is validated before anything is written, and a failure
 * part-way removes what this run created, so init either makes a whole site
 * or leaves the directory as it was. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/conf.h"
#include "conf/keyfile.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "proto/siteid.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_init = {
    .name = "init",
    .summary = "create a new site: key, configuration and store",
    .help = "usage: lmsync [-d DIR] init --name NAME --kind KIND [--listen HOST:PORT]\n"
	    "\n"
	    "Create a new site in DIR: an Ed25519 key pair (site.key, mode 0600), a\n"
	    "commented configuration file (lmsync.conf) and the SQLite store (store.db).\n"
	    "Prints the new site id, which other sites need to add this one as a peer.\n"
	    "Refuses, changing nothing, when DIR already holds a site.\n"
	    "\n"
	    "  --name NAME         the organisation, as people should see it\n"
	    "  --kind KIND         what kind of organisation it is:\n"
	    "                        kommune             a municipality\n"
	    "                        interkommunal       an inter-municipal service\n"
	    "                                            (interkommunalt samarbeid)\n"
	    "                        helseforetak        a hospital trust (HF) and its LMS\n"
	    "                        rhf                 a regional health authority\n"
	    "                                            (regionalt helseforetak)\n"
	    "                        hub                 a regional hub that stores and\n"
	    "                                            forwards for its sites\n"
	    "                        nasjonal            a national service (e.g. NK LMH)\n"
	    "                        brukerorganisasjon  a user organisation\n"
	    "  --listen HOST:PORT  where lmsyncd listens for peers (default 127.0.0.1:7411)\n",
    .run = run,
};

struct created {
	const char *key, *conf, *store;
};

static void remove_created(const struct cli *cli, const struct created *c)
{
	char path[SITEDIR_PATH_MAX + 32];

	if (c->store) {
		unlink(cli->sd.store);
		snprintf(path, sizeof(path), "%s-wal", cli->sd.store);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", cli->sd.store);
		unlink(path);
	}
	if (c->conf)
		unlink(cli->sd.conf);
	if (c->key)
		unlink(cli->sd.key);
}

/* Every site but a hub holds the coordinators' tables (domain/schema.h)
 * from the start, and its own organisation's row in the directory. */
static int install_domain(struct store *st, const struct conf *conf, lm_err *err)
{
	struct org o;

	if (conf->kind == SITE_HUB)
		return 0;
	memset(&o, 0, sizeof(o));
	snprintf(o.name, sizeof(o.name), "%s", conf->name);
	snprintf(o.kind, sizeof(o.kind), "%s", site_kind_name(conf->kind));
	return domain_install(st, err) == 0 && org_set_self(st, &o, err) == 0 ? 0 : -1;
}

static int create_store(struct cli *cli, const struct conf *conf, const struct site_key *key,
			lm_err *err)
{
	struct store st;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	int rc;

	if (store_open(&st, cli->sd.store, STORE_CREATE, err) != 0)
		return -1;
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rc = store_claim(&st, key->public_key, err);
	if (rc == 0)
		rc = store_meta_set(&st, "created_at", now, err);
	if (rc == 0)
		rc = install_domain(&st, conf, err);
	store_close(&st);
	return rc;
}

static int create_site(struct cli *cli, const struct conf *conf, struct site_key *key, lm_err *err)
{
	struct created made = {NULL, NULL, NULL};

	/* Nothing in a site directory is anyone else's business. */
	umask(077);
	if (sitedir_create(&cli->sd, err) != 0)
		return -1;
	if (keyfile_create(cli->sd.key, key, err) != 0)
		return -1;
	made.key = cli->sd.key;
	if (conf_write_new(cli->sd.conf, conf, err) == 0) {
		made.conf = cli->sd.conf;
		made.store = cli->sd.store;
		if (create_store(cli, conf, key, err) == 0)
			return 0;
	}
	remove_created(cli, &made);
	return -1;
}

static int parse(struct cli *cli, int argc, char **argv, struct conf *conf)
{
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"kind", required_argument, NULL, 'k'},
	    {"listen", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *kind = NULL, *listen = NULL;
	lm_err err;
	int c;

	(void)cli;
	while ((c = cli_getopt(&cmd_init, argc, argv, ":h", longopts)) != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 'k')
			kind = optarg;
		else if (c == 'l')
			listen = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage(&cmd_init, "unexpected argument '%s'", argv[optind]);
	if (name == NULL || kind == NULL)
		return cli_usage(&cmd_init, "--name and --kind are required");
	conf_defaults(conf);
	if (conf_name_check(name, &err) != 0 || site_kind_parse(kind, &conf->kind, &err) != 0 ||
	    (listen && conf_addr_parse(listen, &conf->listen, &err) != 0))
		return cli_usage(&cmd_init, "%s", err.msg);
	snprintf(conf->name, sizeof(conf->name), "%s", name);
	return EXIT_OK;
}

static int run(struct cli *cli, int argc, char **argv)
{
	struct conf conf;
	struct site_key key;
	char id[SITEID_TEXT_LEN + 1];
	lm_err err;
	int rc;

	rc = parse(cli, argc, argv, &conf);
	if (rc != EXIT_OK)
		return rc;
	if (cli_site(cli) != EXIT_OK)
		return EXIT_FAIL;
	if (sitedir_has_site(&cli->sd))
		return cli_fail("%s already holds a site; nothing was changed (to start over, "
				"move that directory away first)",
				cli->sd.dir);
	if (create_site(cli, &conf, &key, &err) != 0)
		return cli_fail("%s", err.msg);
	siteid_to_text(key.public_key, id);
	site_key_wipe(&key);
	printf("Created site \"%s\" (%s) in %s\n"
	       "Site id: %s\n"
	       "Start it with `lmsyncd -d %s`; other sites add it with\n"
	       "`lmsync peer add %s --addr HOST:PORT`.\n",
	       conf.name, site_kind_name(conf.kind), cli->sd.dir, id, cli->sd.dir, id);
	return EXIT_OK;
}
