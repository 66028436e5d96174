/* SPDX-License-Identifier: MIT */
/* `lmsync status`: what the site is and what its daemon is doing. Asks the
 * running lmsyncd over the control socket; with no daemon it says so and
 * shows what the configuration and the store hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/control_client.h"
#include "cli/json.h"
#include "conf/conf.h"
#include "proto/mp.h"
#include "proto/siteid.h"
#include "store/peer.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_status = {
    "status",
    "show the site, its daemon and its peers",
    "usage: lmsync [-d DIR] status [--json]\n"
    "\n"
    "Show the site (name, kind, id), whether lmsyncd is running (pid, uptime,\n"
    "listening address), the store (schema version, size) and the peers.\n"
    "Exit status 3 when lmsyncd is not running; the rest is still shown.\n"
    "\n"
    "  --json   print one JSON object instead of text\n",
    run,
};

/* What status reports, gathered from the daemon and the files. */
struct site_status {
	struct conf conf;
	char site_id[SITEID_TEXT_LEN + 1];
	int schema;
	int64_t store_bytes;
	struct peer *peers;
	int npeers;
	/* From the daemon, when it answered. */
	int running;
	int64_t pid, uptime_ms, started_at;
	char version[32];
};

static void file_size(const char *path, int64_t *total)
{
	struct stat st;

	if (stat(path, &st) == 0)
		*total += (int64_t)st.st_size;
}

static int read_files(struct cli *cli, struct site_status *s)
{
	char hex[SITEID_HEX_LEN + 8], wal[SITEDIR_PATH_MAX + 32];
	uint8_t key[32];
	struct store st;
	lm_err err;
	int rc;

	if (cli_open_store(cli, &st) != EXIT_OK)
		return EXIT_FAIL;
	if (conf_load(cli->sd.conf, &s->conf, &err) != 0) {
		store_close(&st);
		return cli_fail("%s", err.msg);
	}
	rc = store_schema_version(&st, &s->schema, &err);
	if (rc == 0 && store_meta_get(&st, "site_id", hex, sizeof(hex), &err) == 1 &&
	    siteid_parse(hex, key, &err) == 0)
		siteid_to_text(key, s->site_id);
	if (rc == 0)
		rc = peer_list(&st, &s->peers, &s->npeers, &err);
	store_close(&st);
	if (rc != 0)
		return cli_fail("%s", err.msg);
	file_size(cli->sd.store, &s->store_bytes);
	snprintf(wal, sizeof(wal), "%s-wal", cli->sd.store);
	file_size(wal, &s->store_bytes);
	return EXIT_OK;
}

static int ask_daemon(struct cli *cli, struct site_status *s)
{
	msgpack_unpacked reply;
	lm_err err;
	int rc, ok = 0;

	rc = control_request(cli->sd.control, "status", 5000, &reply, &err);
	if (rc == CONTROL_NOT_RUNNING) {
		msgpack_unpacked_destroy(&reply);
		return EXIT_OK;
	}
	if (rc < 0) {
		msgpack_unpacked_destroy(&reply);
		return cli_fail("%s", err.msg);
	}
	if (!mp_map_bool(&reply.data, "ok", &ok) || !ok) {
		msgpack_unpacked_destroy(&reply);
		return cli_fail("lmsyncd answered status with an error");
	}
	s->running = 1;
	mp_map_int(&reply.data, "pid", &s->pid);
	mp_map_int(&reply.data, "uptime_ms", &s->uptime_ms);
	mp_map_int(&reply.data, "started_at", &s->started_at);
	mp_map_str(&reply.data, "version", s->version, sizeof(s->version));
	msgpack_unpacked_destroy(&reply);
	return EXIT_OK;
}

static void format_duration(int64_t ms, char *out, size_t cap)
{
	int64_t s = ms / 1000;

	if (s < 60)
		snprintf(out, cap, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(out, cap, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(out, cap, "%lldh %lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
	else
		snprintf(out, cap, "%lldd %lldh", (long long)(s / 86400),
			 (long long)(s / 3600 % 24));
}

static void print_text(const struct cli *cli, const struct site_status *s)
{
	char listen[CONF_HOST_MAX + 16], up[32], id[SITEID_TEXT_LEN + 1];
	int i;

	conf_addr_format(&s->conf.listen, listen, sizeof(listen));
	printf("Site       %s (%s)\n", s->conf.name, site_kind_name(s->conf.kind));
	printf("Site id    %s\n", s->site_id[0] ? s->site_id : "(not recorded in the store)");
	printf("Directory  %s\n", cli->sd.dir);
	if (s->running) {
		format_duration(s->uptime_ms, up, sizeof(up));
		printf("Daemon     running: pid %lld, up %s, lmsyncd %s, listen %s\n",
		       (long long)s->pid, up, s->version, listen);
	} else {
		printf("Daemon     not running (nothing answers on %s);\n"
		       "           start it with `lmsyncd -d %s`\n",
		       cli->sd.control, cli->sd.dir);
	}
	printf("Store      schema %d, %.1f KiB\n", s->schema, (double)s->store_bytes / 1024.0);
	printf("Peers      %d configured\n", s->npeers);
	for (i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		siteid_to_short(p->id, id);
		printf("  %-24s %-22s %s%s\n", p->name[0] ? p->name : "-", p->addr, id,
		       p->is_hub ? "  hub" : "");
	}
}

static void print_json(const struct cli *cli, const struct site_status *s)
{
	char listen[CONF_HOST_MAX + 16];
	struct json j;

	conf_addr_format(&s->conf.listen, listen, sizeof(listen));
	json_init(&j, stdout);
	json_object_begin(&j);
	json_key(&j, "site");
	json_object_begin(&j);
	json_kv_str(&j, "id", s->site_id);
	json_kv_str(&j, "name", s->conf.name);
	json_kv_str(&j, "kind", site_kind_name(s->conf.kind));
	json_kv_str(&j, "dir", cli->sd.dir);
	json_kv_str(&j, "listen", listen);
	json_object_end(&j);
	json_key(&j, "daemon");
	json_object_begin(&j);
	json_kv_bool(&j, "running", s->running);
	if (s->running) {
		json_kv_int(&j, "pid", s->pid);
		json_kv_int(&j, "uptime_ms", s->uptime_ms);
		json_kv_int(&j, "started_at", s->started_at);
		json_kv_str(&j, "version", s->version);
	}
	json_object_end(&j);
	json_key(&j, "store");
	json_object_begin(&j);
	json_kv_int(&j, "schema", s->schema);
	json_kv_int(&j, "bytes", s->store_bytes);
	json_object_end(&j);
	json_key(&j, "peers");
	cli_peers_json(&j, s->peers, s->npeers);
	json_object_end(&j);
	json_finish(&j);
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct site_status s;
	int c, as_json = 0, rc;

	while ((c = cli_getopt(&cmd_status, argc, argv, ":h", longopts)) != -1) {
		if (c == 'j')
			as_json = 1;
		else
			return EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage(&cmd_status, "unexpected argument '%s'", argv[optind]);
	memset(&s, 0, sizeof(s));
	rc = read_files(cli, &s);
	if (rc == EXIT_OK)
		rc = ask_daemon(cli, &s);
	if (rc == EXIT_OK) {
		if (as_json)
			print_json(cli, &s);
		else
			print_text(cli, &s);
		rc = s.running ? EXIT_OK : EXIT_NOT_RUNNING;
	}
	free(s.peers);
	return rc;
}
