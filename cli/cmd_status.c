/* SPDX-License-Identifier: MIT */
/* `lmsync status`: what the site is and what its daemon is doing. Asks the
 * running lmsyncd over the control socket; with no daemon it says so and
 * shows what the configuration and the store hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/control_client.h"
#include "cli/json.h"
#include "conf/conf.h"
#include "proto/changeset.h"
#include "proto/mp.h"
#include "proto/siteid.h"
#include "store/held.h"
#include "store/peer.h"

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_status = {
    .name = "status",
    .summary = "show the site, its daemon and its peers",
    .help = "usage: lmsync [-d DIR] status [--json]\n"
	    "\n"
	    "Show the site (name, kind, id), whether lmsyncd is running (pid, uptime,\n"
	    "listening address), the store (schema version, size) and the peers.\n"
	    "Exit status 3 when lmsyncd is not running; the rest is still shown.\n"
	    "\n"
	    "  --json   print one JSON object instead of text\n",
    .run = run,
};

/* What one scope's sync with a peer stands at. */
struct scope_state {
	char scope[CS_SCOPE_MAX + 1];
	int64_t to_send, to_receive, last_at, held;
	char removed[8];		      /* "peer", "self", "both" or "" */
	char removed_by[SITEID_TEXT_LEN + 8]; /* text id, or "" */
	char by_label[320];		      /* "Name (SHORTID)", filled by label_removals */
};

/* A peer as the daemon sees it: the configuration, the connection and the
 * sync. */
struct peer_state {
	int connected;
	char direction[8], remote[PEER_ADDR_MAX], last_error[256];
	int64_t since, rtt_us;
	int ready;
	int64_t to_send, to_receive, refused_there, refused_here, held, sent, received, last_at;
	int64_t inflight, bytes_out, bytes_in;
	char last_refusal[256];
	struct scope_state *scopes;
	int nscopes;
};

/* What status reports, gathered from the daemon and the files. */
struct site_status {
	struct conf conf;
	char site_id[SITEID_TEXT_LEN + 1];
	int schema;
	int64_t store_bytes;
	int64_t not_sent;	   /* rows held back (store/held.h) */
	struct peer *peers;	   /* from the store, or from the daemon when it runs */
	struct peer_state *states; /* from the daemon, else NULL */
	int npeers;
	/* From the daemon, when it answered. */
	int running;
	int64_t pid, uptime_ms, started_at, connections;
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
		rc = held_count(&st, &s->not_sent, &err);
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

static void read_sync(const msgpack_object *o, struct peer_state *st)
{
	const msgpack_object *y = mp_map_get(o, "sync"), *arr = mp_map_get(o, "scopes");
	uint32_t i;

	if (y != NULL && y->type == MSGPACK_OBJECT_MAP) {
		mp_map_bool(y, "ready", &st->ready);
		mp_map_int(y, "to_send", &st->to_send);
		mp_map_int(y, "to_receive", &st->to_receive);
		mp_map_int(y, "refused_there", &st->refused_there);
		mp_map_int(y, "refused_here", &st->refused_here);
		mp_map_int(y, "held", &st->held);
		mp_map_int(y, "sent", &st->sent);
		mp_map_int(y, "received", &st->received);
		mp_map_int(y, "last_at", &st->last_at);
		mp_map_int(y, "inflight", &st->inflight);
		mp_map_int(y, "bytes_out", &st->bytes_out);
		mp_map_int(y, "bytes_in", &st->bytes_in);
		mp_map_str(y, "last_refusal", st->last_refusal, sizeof(st->last_refusal));
	}
	if (arr == NULL || arr->type != MSGPACK_OBJECT_ARRAY || arr->via.array.size == 0)
		return;
	st->scopes = calloc(arr->via.array.size, sizeof(*st->scopes));
	if (st->scopes == NULL)
		return;
	for (i = 0; i < arr->via.array.size; i++) {
		struct scope_state *sc = &st->scopes[st->nscopes];
		const msgpack_object *e = &arr->via.array.ptr[i];

		if (!mp_map_str(e, "scope", sc->scope, sizeof(sc->scope)))
			continue;
		mp_map_int(e, "to_send", &sc->to_send);
		mp_map_int(e, "to_receive", &sc->to_receive);
		mp_map_int(e, "last_at", &sc->last_at);
		mp_map_int(e, "held", &sc->held);
		mp_map_str(e, "removed", sc->removed, sizeof(sc->removed));
		mp_map_str(e, "removed_by", sc->removed_by, sizeof(sc->removed_by));
		st->nscopes++;
	}
}

static int read_peer(const msgpack_object *o, struct peer *p, struct peer_state *st)
{
	char id[SITEID_TEXT_LEN + 8];
	lm_err err;

	memset(p, 0, sizeof(*p));
	memset(st, 0, sizeof(*st));
	st->rtt_us = -1;
	if (!mp_map_str(o, "id", id, sizeof(id)) || siteid_parse(id, p->id, &err) != 0)
		return -1;
	mp_map_str(o, "name", p->name, sizeof(p->name));
	mp_map_str(o, "addr", p->addr, sizeof(p->addr));
	mp_map_bool(o, "hub", &p->is_hub);
	mp_map_bool(o, "connected", &st->connected);
	mp_map_str(o, "direction", st->direction, sizeof(st->direction));
	mp_map_str(o, "remote", st->remote, sizeof(st->remote));
	mp_map_str(o, "last_error", st->last_error, sizeof(st->last_error));
	mp_map_int(o, "since", &st->since);
	mp_map_int(o, "rtt_us", &st->rtt_us);
	read_sync(o, st);
	return 0;
}

/* The daemon's view of the peers replaces what the store said. */
static int read_peers(const msgpack_object *reply, struct site_status *s)
{
	const msgpack_object *arr = mp_map_get(reply, "peers");
	uint32_t i, n;

	if (arr == NULL || arr->type != MSGPACK_OBJECT_ARRAY)
		return 0;
	n = arr->via.array.size;
	free(s->peers);
	s->peers = calloc(n ? n : 1, sizeof(*s->peers));
	s->states = calloc(n ? n : 1, sizeof(*s->states));
	s->npeers = 0;
	if (s->peers == NULL || s->states == NULL)
		return cli_fail("out of memory");
	for (i = 0; i < n; i++)
		if (read_peer(&arr->via.array.ptr[i], &s->peers[s->npeers],
			      &s->states[s->npeers]) == 0)
			s->npeers++;
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
	mp_map_int(&reply.data, "connections", &s->connections);
	mp_map_str(&reply.data, "version", s->version, sizeof(s->version));
	rc = read_peers(&reply.data, s);
	msgpack_unpacked_destroy(&reply);
	return rc;
}

/* Who removed a site from a scope, by name where the directory or the peer
 * list has one. Best effort: without the store, the daemon's id stays. */
static void label_removals(struct cli *cli, struct site_status *s)
{
	uint8_t key[SITEID_KEY_LEN];
	struct store st;
	int i, j, open = 0;
	lm_err err;

	for (i = 0; s->states != NULL && i < s->npeers; i++)
		for (j = 0; j < s->states[i].nscopes; j++) {
			struct scope_state *sc = &s->states[i].scopes[j];

			snprintf(sc->by_label, sizeof(sc->by_label), "%s",
				 sc->removed_by[0] ? sc->removed_by : "an administrator");
			if (sc->removed_by[0] == '\0' ||
			    siteid_parse(sc->removed_by, key, &err) != 0)
				continue;
			if (!open && cli_open_store(cli, &st) != EXIT_OK)
				return;
			open = 1;
			cli_site_label(&st, key, sc->by_label, sizeof(sc->by_label));
		}
	if (open)
		store_close(&st);
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

static void print_ago(int64_t at)
{
	char ago[32];

	if (at <= 0) {
		printf("never");
		return;
	}
	format_duration((int64_t)(time(NULL) - at) * 1000, ago, sizeof(ago));
	printf("%s ago", ago);
}

/* NAME@ROOT with the 64 hex digits of ROOT cut to 8: enough to tell scopes
 * apart on a screen (--json has them whole). */
static void scope_short(const char *scope, char *out, size_t cap)
{
	const char *at = strrchr(scope, '@');

	if (at != NULL && strlen(at + 1) == 64)
		snprintf(out, cap, "%.*s@%.8s...", (int)(at - scope), scope, at + 1);
	else
		snprintf(out, cap, "%s", scope);
}

static void print_sync(const struct peer_state *st)
{
	char name[CS_SCOPE_MAX + 1];
	int i;

	if (!st->ready) {
		printf("    sync: exchanging version vectors\n");
		return;
	}
	printf("    sync: %lld change set%s sent, %lld received (%.1f / %.1f KiB on the wire), "
	       "last ",
	       (long long)st->sent, st->sent == 1 ? "" : "s", (long long)st->received,
	       (double)st->bytes_out / 1024.0, (double)st->bytes_in / 1024.0);
	print_ago(st->last_at);
	if (st->refused_there)
		printf("; %lld refused by the peer", (long long)st->refused_there);
	if (st->refused_here)
		printf("; %lld refused here", (long long)st->refused_here);
	printf("\n");
	if (st->last_refusal[0])
		printf("    last refusal: %s\n", st->last_refusal);
	for (i = 0; i < st->nscopes; i++) {
		const struct scope_state *sc = &st->scopes[i];

		scope_short(sc->scope, name, sizeof(name));
		printf("    scope %-*s ", cli_pad(name, 32), name);
		if (strcmp(sc->removed, "self") == 0 || strcmp(sc->removed, "both") == 0)
			printf("this site is no longer a member (removed by %s): it takes nothing "
			       "more of it",
			       sc->by_label);
		else if (strcmp(sc->removed, "peer") == 0)
			printf("the peer is no longer a member (removed by %s): it gets the "
			       "scope up to its removal, then nothing",
			       sc->by_label);
		if (sc->removed[0] != '\0' && (sc->to_send != 0 || sc->to_receive != 0))
			printf("; ");
		if (sc->to_send == 0 && sc->to_receive == 0 && sc->removed[0] == '\0')
			printf("in step");
		else if (sc->to_send != 0 || sc->to_receive != 0)
			printf("peer lacks %lld, this site lacks %lld", (long long)sc->to_send,
			       (long long)sc->to_receive);
		if (sc->held != 0)
			printf("; %lld change set%s held back, %s origin no longer being a member",
			       (long long)sc->held, sc->held == 1 ? "" : "s",
			       sc->held == 1 ? "its" : "their");
		printf(", last change ");
		print_ago(sc->last_at);
		printf("\n");
	}
}

static void print_peer_state(const struct peer_state *st)
{
	char when[32], ago[32];
	time_t since = (time_t)st->since;
	struct tm tm;

	if (!st->connected) {
		printf("    not connected%s%s\n", st->last_error[0] ? ": " : "", st->last_error);
		return;
	}
	localtime_r(&since, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	format_duration((int64_t)(time(NULL) - since) * 1000, ago, sizeof(ago));
	printf("    connected (%s, %s) since %s (%s)", st->direction, st->remote, when, ago);
	if (st->rtt_us >= 0)
		printf(", rtt %.1f ms", (double)st->rtt_us / 1000.0);
	printf("\n");
	print_sync(st);
}

static void print_text(const struct cli *cli, const struct site_status *s)
{
	char listen[CONF_HOST_MAX + 16], up[32], id[SITEID_TEXT_LEN + 1];
	int i, connected;

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
	if (s->not_sent > 0)
		printf("Not sent   %lld row%s whose text looks like a national identity number\n"
		       "           (fødselsnummer); `lmsync quarantine` lists them\n",
		       (long long)s->not_sent, s->not_sent == 1 ? "" : "s");
	if (s->states == NULL) {
		printf("Peers      %d configured\n", s->npeers);
	} else {
		for (i = 0, connected = 0; i < s->npeers; i++)
			connected += s->states[i].connected;
		printf("Peers      %d configured, %d connected\n", s->npeers, connected);
	}
	for (i = 0; i < s->npeers; i++) {
		const struct peer *p = &s->peers[i];

		siteid_to_short(p->id, id);
		printf("  %-*s %-22s %s%s\n", cli_pad(p->name[0] ? p->name : "-", 24),
		       p->name[0] ? p->name : "-", p->addr, id, p->is_hub ? "  hub" : "");
		if (s->states != NULL)
			print_peer_state(&s->states[i]);
	}
}

static void sync_json(struct json *j, const struct peer_state *st)
{
	int i;

	json_key(j, "sync");
	json_object_begin(j);
	json_kv_bool(j, "ready", st->ready);
	json_kv_int(j, "to_send", st->to_send);
	json_kv_int(j, "to_receive", st->to_receive);
	json_kv_int(j, "refused_there", st->refused_there);
	json_kv_int(j, "refused_here", st->refused_here);
	json_kv_int(j, "held", st->held);
	json_kv_int(j, "sent", st->sent);
	json_kv_int(j, "received", st->received);
	json_kv_int(j, "last_at", st->last_at);
	json_kv_int(j, "inflight", st->inflight);
	json_kv_int(j, "bytes_out", st->bytes_out);
	json_kv_int(j, "bytes_in", st->bytes_in);
	json_kv_str(j, "last_refusal", st->last_refusal);
	json_object_end(j);
	json_key(j, "scopes");
	json_array_begin(j);
	for (i = 0; i < st->nscopes; i++) {
		json_object_begin(j);
		json_kv_str(j, "scope", st->scopes[i].scope);
		json_kv_int(j, "to_send", st->scopes[i].to_send);
		json_kv_int(j, "to_receive", st->scopes[i].to_receive);
		json_kv_int(j, "last_at", st->scopes[i].last_at);
		json_kv_int(j, "held", st->scopes[i].held);
		json_kv_str(j, "removed", st->scopes[i].removed);
		json_kv_str(j, "removed_by", st->scopes[i].removed_by);
		json_object_end(j);
	}
	json_array_end(j);
}

static void peers_state_json(struct json *j, const struct site_status *s)
{
	char id[SITEID_TEXT_LEN + 1];
	int i;

	json_array_begin(j);
	for (i = 0; i < s->npeers; i++) {
		const struct peer_state *st = &s->states[i];

		siteid_to_text(s->peers[i].id, id);
		json_object_begin(j);
		json_kv_str(j, "id", id);
		json_kv_str(j, "name", s->peers[i].name);
		json_kv_str(j, "addr", s->peers[i].addr);
		json_kv_bool(j, "hub", s->peers[i].is_hub);
		json_kv_bool(j, "connected", st->connected);
		if (st->connected) {
			json_kv_str(j, "direction", st->direction);
			json_kv_str(j, "remote", st->remote);
			json_kv_int(j, "since", st->since);
			json_key(j, "rtt_us");
			if (st->rtt_us >= 0)
				json_int(j, st->rtt_us);
			else
				json_null(j);
			sync_json(j, st);
		}
		json_kv_str(j, "last_error", st->last_error);
		json_object_end(j);
	}
	json_array_end(j);
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
		json_kv_int(&j, "connections", s->connections);
	}
	json_object_end(&j);
	json_key(&j, "store");
	json_object_begin(&j);
	json_kv_int(&j, "schema", s->schema);
	json_kv_int(&j, "bytes", s->store_bytes);
	json_kv_int(&j, "rows_not_sent", s->not_sent);
	json_object_end(&j);
	json_key(&j, "peers");
	if (s->states == NULL)
		cli_peers_json(&j, s->peers, s->npeers);
	else
		peers_state_json(&j, s);
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
	int c, i, as_json = 0, rc;

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
	if (rc == EXIT_OK && !as_json)
		label_removals(cli, &s);
	if (rc == EXIT_OK) {
		if (as_json)
			print_json(cli, &s);
		else
			print_text(cli, &s);
		rc = s.running ? EXIT_OK : EXIT_NOT_RUNNING;
	}
	free(s.peers);
	for (i = 0; s.states != NULL && i < s.npeers; i++)
		free(s.states[i].scopes);
	free(s.states);
	return rc;
}
