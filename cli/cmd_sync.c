/* SPDX-License-Identifier: MIT */
/* lmsync sync: is this site in step with its connected peers, and waiting
 * until it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/control_client.h"
#include "cli/json.h"
#include "proto/changeset.h"
#include "proto/mp.h"
#include "proto/siteid.h"

#define POLL_MS 50

static int run(struct cli *cli, int argc, char **argv);

const struct cli_command cmd_sync = {
    .name = "sync",
    .summary = "wait until this site and its connected peers hold the same changes",
    .help = "usage: lmsync sync [--wait] [--timeout SECONDS] [--json]\n"
	    "\n"
	    "Reports, for every connected peer, whether this site has sent everything\n"
	    "the peer lacks (in the scopes the peer may receive) and holds everything\n"
	    "the peer has told it of. With --wait, asks every connected peer to finish\n"
	    "what it is sending and waits until all are in step.\n"
	    "\n"
	    "Options:\n"
	    "  --wait             wait until in step (at least one peer must be connected)\n"
	    "  --timeout SECONDS  give up waiting after this long (default 60)\n"
	    "  --json             print the last report as JSON\n"
	    "\n"
	    "Exit status: 0 in step; 1 not in step (or timed out), with what is missing;\n"
	    "2 usage error; 3 lmsyncd is not running.\n"
	    "\n"
	    "A change set a peer refused (a broken signature, a forged chain) keeps the\n"
	    "two sites out of step: the report names it, and `lmsync status` shows the\n"
	    "peer's last refusal.\n"
	    "\n"
	    "In step means in step on everything the two may still exchange. A site\n"
	    "removed from a governed scope receives the scope up to its removal, then\n"
	    "nothing: the scope counts up to there. Change sets whose origin is no\n"
	    "longer a member of their scope (by this site's member list: those a removed\n"
	    "site wrote before it learnt of its removal) are held back by every site\n"
	    "that knows of the removal; they are listed as held and waited for by\n"
	    "nobody. Adding the site again lets them in.\n",
    .run = run,
};

/* A scope the peer or this site lost its role in. */
struct removal {
	char scope[CS_SCOPE_MAX + 1];
	int self;	    /* this site was removed; else the peer was */
	char by[64];	    /* the remover's id, text form, or "" */
	char by_label[320]; /* "Name (SHORTID)", filled by label_removals */
};

struct peer_sync {
	char name[128], id[64];
	int connected, ready, in_step;
	int64_t to_send, to_receive, refused_there, refused_here, held;
	char last_refusal[256];
	struct removal *removals;
	size_t nremovals;
};

struct report {
	struct peer_sync *peers;
	size_t n, connected, in_step;
};

/* The scopes of a peer's entry that someone was removed from. */
static void read_removals(const msgpack_object *o, struct peer_sync *p)
{
	const msgpack_object *arr = mp_map_get(o, "scopes");
	char removed[8];
	uint32_t i;

	if (arr == NULL || arr->type != MSGPACK_OBJECT_ARRAY || arr->via.array.size == 0)
		return;
	p->removals = calloc(arr->via.array.size, sizeof(*p->removals));
	if (p->removals == NULL)
		return;
	for (i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *e = &arr->via.array.ptr[i];
		struct removal *rm = &p->removals[p->nremovals];

		if (!mp_map_str(e, "removed", removed, sizeof(removed)) || removed[0] == '\0' ||
		    !mp_map_str(e, "scope", rm->scope, sizeof(rm->scope)))
			continue;
		rm->self = strcmp(removed, "peer") != 0;
		mp_map_str(e, "removed_by", rm->by, sizeof(rm->by));
		snprintf(rm->by_label, sizeof(rm->by_label), "%s",
			 rm->by[0] ? rm->by : "an administrator");
		p->nremovals++;
	}
}

static void report_free(struct report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->peers[i].removals);
	free(r->peers);
	memset(r, 0, sizeof(*r));
}

/* The removers by name where the store knows them. */
static void label_removals(struct cli *cli, struct report *r)
{
	uint8_t key[SITEID_KEY_LEN];
	struct store st;
	size_t i, j;
	int open = 0;
	lm_err err;

	for (i = 0; i < r->n; i++)
		for (j = 0; j < r->peers[i].nremovals; j++) {
			struct removal *rm = &r->peers[i].removals[j];

			if (rm->by[0] == '\0' || siteid_parse(rm->by, key, &err) != 0)
				continue;
			if (!open && cli_open_store(cli, &st) != EXIT_OK)
				return;
			open = 1;
			cli_site_label(&st, key, rm->by_label, sizeof(rm->by_label));
		}
	if (open)
		store_close(&st);
}

static void read_report(const msgpack_object *reply, struct report *r)
{
	const msgpack_object *arr = mp_map_get(reply, "peers");
	size_t i;

	memset(r, 0, sizeof(*r));
	if (arr == NULL || arr->type != MSGPACK_OBJECT_ARRAY || arr->via.array.size == 0)
		return;
	r->peers = calloc(arr->via.array.size, sizeof(*r->peers));
	if (r->peers == NULL)
		return;
	for (i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *o = &arr->via.array.ptr[i], *y;
		struct peer_sync *p = &r->peers[r->n++];

		mp_map_str(o, "name", p->name, sizeof(p->name));
		mp_map_str(o, "id", p->id, sizeof(p->id));
		mp_map_bool(o, "connected", &p->connected);
		y = mp_map_get(o, "sync");
		if (!p->connected || y == NULL || y->type != MSGPACK_OBJECT_MAP)
			continue;
		r->connected++;
		mp_map_bool(y, "ready", &p->ready);
		mp_map_bool(y, "in_step", &p->in_step);
		mp_map_int(y, "to_send", &p->to_send);
		mp_map_int(y, "to_receive", &p->to_receive);
		mp_map_int(y, "refused_there", &p->refused_there);
		mp_map_int(y, "refused_here", &p->refused_here);
		mp_map_int(y, "held", &p->held);
		mp_map_str(y, "last_refusal", p->last_refusal, sizeof(p->last_refusal));
		read_removals(o, p);
		r->in_step += p->in_step;
	}
}

static int ask(struct cli *cli, const char *command, const uint64_t *arg, msgpack_unpacked *reply,
	       int *exit_code)
{
	lm_err err;
	int ok = 0, rc;

	rc = arg ? control_request_u64(cli->sd.control, command, *arg, 5000, reply, &err)
		 : control_request(cli->sd.control, command, 5000, reply, &err);
	if (rc == CONTROL_NOT_RUNNING) {
		fprintf(stderr,
			"lmsync: lmsyncd is not running for %s; start it with `lmsyncd -d %s`\n",
			cli->sd.dir, cli->sd.dir);
		*exit_code = EXIT_NOT_RUNNING;
		return -1;
	}
	if (rc < 0) {
		*exit_code = cli_fail("%s", err.msg);
		return -1;
	}
	if (!mp_map_bool(&reply->data, "ok", &ok) || !ok) {
		*exit_code = cli_fail("lmsyncd refused the request %s", command);
		return -1;
	}
	return 0;
}

static int get_report(struct cli *cli, uint64_t barrier, struct report *r, int *exit_code)
{
	msgpack_unpacked reply;
	int rc = ask(cli, "sync-state", &barrier, &reply, exit_code);

	if (rc == 0)
		read_report(&reply.data, r);
	msgpack_unpacked_destroy(&reply);
	return rc;
}

static void print_removals(const struct peer_sync *p)
{
	size_t i;

	for (i = 0; i < p->nremovals; i++) {
		const struct removal *rm = &p->removals[i];

		if (rm->self)
			printf("%-24s this site is no longer a member of %s (removed by %s): "
			       "in step up to its removal\n",
			       "", rm->scope, rm->by_label);
		else
			printf("%-24s the peer is no longer a member of %s (removed by %s): "
			       "sent up to its removal\n",
			       "", rm->scope, rm->by_label);
	}
	if (p->held)
		printf("%-24s %lld change set%s held back, %s origin no longer being a member "
		       "(not waited for)\n",
		       "", (long long)p->held, p->held == 1 ? "" : "s",
		       p->held == 1 ? "its" : "their");
}

static void print_text(const struct report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct peer_sync *p = &r->peers[i];
		const char *name = p->name[0] ? p->name : p->id;

		if (!p->connected) {
			printf("%-*s not connected\n", cli_pad(name, 24), name);
		} else if (p->in_step) {
			printf("%-*s in step\n", cli_pad(name, 24), name);
		} else if (!p->ready) {
			printf("%-*s connected, exchanging version vectors\n", cli_pad(name, 24),
			       name);
		} else {
			printf("%-*s %lld to send, %lld to receive", cli_pad(name, 24), name,
			       (long long)p->to_send, (long long)p->to_receive);
			if (p->refused_there)
				printf(", %lld refused by the peer", (long long)p->refused_there);
			if (p->refused_here)
				printf(", %lld refused here", (long long)p->refused_here);
			printf("\n");
		}
		if (p->last_refusal[0])
			printf("%-24s last refusal: %s\n", "", p->last_refusal);
		print_removals(p);
	}
}

static void print_json(const struct report *r, int done)
{
	struct json j;
	size_t i, k;

	json_init(&j, stdout);
	json_object_begin(&j);
	json_kv_bool(&j, "in_step", done);
	json_key(&j, "peers");
	json_array_begin(&j);
	for (i = 0; i < r->n; i++) {
		const struct peer_sync *p = &r->peers[i];

		json_object_begin(&j);
		json_kv_str(&j, "id", p->id);
		json_kv_str(&j, "name", p->name);
		json_kv_bool(&j, "connected", p->connected);
		json_kv_bool(&j, "in_step", p->in_step);
		json_kv_int(&j, "to_send", p->to_send);
		json_kv_int(&j, "to_receive", p->to_receive);
		json_kv_int(&j, "refused_there", p->refused_there);
		json_kv_int(&j, "refused_here", p->refused_here);
		json_kv_int(&j, "held", p->held);
		json_kv_str(&j, "last_refusal", p->last_refusal);
		json_key(&j, "removed");
		json_array_begin(&j);
		for (k = 0; k < p->nremovals; k++) {
			json_object_begin(&j);
			json_kv_str(&j, "scope", p->removals[k].scope);
			json_kv_str(&j, "who", p->removals[k].self ? "self" : "peer");
			json_kv_str(&j, "by", p->removals[k].by);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {{"wait", no_argument, NULL, 'w'},
						 {"timeout", required_argument, NULL, 't'},
						 {"json", no_argument, NULL, 'j'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	int wait = 0, json = 0, opt, code = EXIT_OK, done;
	double timeout_s = 60;
	uint64_t barrier = 0;
	int64_t deadline;
	struct report r;
	char *end;

	while ((opt = cli_getopt(&cmd_sync, argc, argv, ":h", longopts)) != -1) {
		if (opt == 'w')
			wait = 1;
		else if (opt == 'j')
			json = 1;
		else if (opt == 't') {
			timeout_s = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || timeout_s < 0 || timeout_s > 86400)
				return cli_usage(
				    &cmd_sync, "--timeout takes seconds from 0 to 86400, not '%s'",
				    optarg);
		} else
			return EXIT_USAGE;
	}
	if (optind != argc)
		return cli_usage(&cmd_sync, "unexpected argument '%s'", argv[optind]);
	if (cli_require_site(cli) != EXIT_OK)
		return EXIT_FAIL;
	deadline = mono_ms() + (int64_t)(timeout_s * 1000);
	if (wait) {
		msgpack_unpacked reply;
		int64_t b = 0;

		if (ask(cli, "sync-begin", NULL, &reply, &code) != 0) {
			msgpack_unpacked_destroy(&reply);
			return code;
		}
		mp_map_int(&reply.data, "barrier", &b);
		msgpack_unpacked_destroy(&reply);
		barrier = (uint64_t)b;
	}
	for (;;) {
		if (get_report(cli, barrier, &r, &code) != 0)
			return code;
		done = r.connected > 0 && r.in_step == r.connected;
		if (done || !wait || mono_ms() >= deadline)
			break;
		report_free(&r);
		struct timespec ts = {0, POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (json) {
		print_json(&r, done);
	} else {
		label_removals(cli, &r);
		print_text(&r);
	}
	if (!done && !json) {
		if (r.connected == 0)
			fprintf(stderr, "lmsync: no peer is connected%s\n",
				wait ? " (waited for one until the timeout)" : "");
		else if (wait)
			fprintf(stderr, "lmsync: not in step after %.0f s\n", timeout_s);
	}
	report_free(&r);
	return done ? EXIT_OK : EXIT_FAIL;
}
