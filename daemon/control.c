/* SPDX-License-Identifier: MIT */
/* The control socket server and the commands it answers.
 *
 * Each accepted connection is a control_client owned by the server's list
 * from accept until its close callback, which is the only place it is freed.
 * A malformed or oversized request earns an error reply where possible and
 * the connection is closed; the daemon carries on.
 */
#include "daemon/control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/sync.h"
#include "proto/ctl.h"
#include "proto/mp.h"
#include "proto/siteid.h"

#define REQUEST_MAX (64u << 10)

struct control_client {
	uv_pipe_t pipe;
	struct control_server *server;
	struct control_client *prev, *next;
	struct ctl_reader reader;
	char rbuf[4096];
	int closing;
};

struct control_write {
	uv_write_t req;
	msgpack_sbuffer body;
	uint8_t header[CTL_HEADER_LEN];
};

static void client_on_close(uv_handle_t *h)
{
	struct control_client *c = h->data;

	ctl_reader_free(&c->reader);
	free(c);
}

static void client_close(struct control_client *c)
{
	struct control_server *cs = c->server;

	if (c->closing)
		return;
	c->closing = 1;
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *)&c->pipe, client_on_close);
}

static void on_written(uv_write_t *req, int status)
{
	struct control_write *w = (struct control_write *)req;

	if (status < 0)
		log_debug("control", "reply not delivered error=\"%s\"", uv_strerror(status));
	msgpack_sbuffer_destroy(&w->body);
	free(w);
}

/* Frame and send body; takes ownership of w. */
static void send_reply(struct control_client *c, struct control_write *w)
{
	uv_buf_t bufs[2];
	int rc;

	ctl_header_write(w->header, (uint32_t)w->body.size);
	bufs[0] = uv_buf_init((char *)w->header, CTL_HEADER_LEN);
	bufs[1] = uv_buf_init(w->body.data, (unsigned)w->body.size);
	rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, bufs, 2, on_written);
	if (rc < 0) {
		log_warn("control", "cannot reply error=\"%s\"", uv_strerror(rc));
		msgpack_sbuffer_destroy(&w->body);
		free(w);
		client_close(c);
	}
}

/* A peer's sync figures, then its scopes; barrier 0 when no `sync --wait`
 * asks. Not connected: nil and no scopes. */
static void pack_sync(msgpack_packer *pk, struct session *s, uint64_t barrier)
{
	struct sync_report r;
	size_t i;

	memset(&r, 0, sizeof(r));
	mp_pack_cstr(pk, "sync");
	if (s == NULL) {
		msgpack_pack_nil(pk);
	} else {
		sync_report(s, barrier, &r);
		msgpack_pack_map(pk, 14);
		mp_pack_kv_bool(pk, "ready", r.ready);
		mp_pack_kv_int(pk, "bytes_out", (int64_t)s->bytes_out);
		mp_pack_kv_int(pk, "bytes_in", (int64_t)s->bytes_in);
		mp_pack_kv_bool(pk, "in_step", r.in_step);
		mp_pack_kv_int(pk, "to_send", (int64_t)r.to_send);
		mp_pack_kv_int(pk, "to_receive", (int64_t)r.to_receive);
		mp_pack_kv_int(pk, "refused_there", (int64_t)r.refused_there);
		mp_pack_kv_int(pk, "refused_here", (int64_t)r.refused_here);
		mp_pack_kv_int(pk, "held", (int64_t)r.held);
		mp_pack_kv_int(pk, "sent", (int64_t)r.sets_sent);
		mp_pack_kv_int(pk, "received", (int64_t)r.sets_received);
		mp_pack_kv_int(pk, "last_at", r.last_at);
		mp_pack_kv_int(pk, "inflight", (int64_t)r.inflight);
		mp_pack_kv_str(pk, "last_refusal", r.last_refusal);
	}
	mp_pack_cstr(pk, "scopes");
	msgpack_pack_array(pk, r.nscopes);
	for (i = 0; i < r.nscopes; i++) {
		const struct sync_scope_report *sc = &r.scopes[i];
		char by[SITEID_TEXT_LEN + 1] = "";

		if (sc->removed_by_known)
			siteid_to_text(sc->removed_by, by);
		msgpack_pack_map(pk, 7);
		mp_pack_kv_str(pk, "scope", sc->scope);
		mp_pack_kv_int(pk, "to_send", (int64_t)sc->to_send);
		mp_pack_kv_int(pk, "to_receive", (int64_t)sc->to_receive);
		mp_pack_kv_int(pk, "last_at", sc->last_at);
		mp_pack_kv_int(pk, "held", (int64_t)sc->held);
		/* Who lost its role in the scope: "peer", "self", "both" or "". */
		mp_pack_kv_str(pk, "removed",
			       sc->peer_removed && sc->self_removed ? "both"
			       : sc->peer_removed		    ? "peer"
			       : sc->self_removed		    ? "self"
								    : "");
		mp_pack_kv_str(pk, "removed_by", by);
	}
	free(r.scopes);
}

static void pack_link(msgpack_packer *pk, const struct link *l, uint64_t barrier)
{
	char id[SITEID_TEXT_LEN + 1];
	struct session *s = l->session;

	siteid_to_text(l->peer.id, id);
	msgpack_pack_map(pk, 12);
	mp_pack_kv_str(pk, "id", id);
	mp_pack_kv_str(pk, "name", l->peer.name);
	mp_pack_kv_str(pk, "addr", l->peer.addr);
	mp_pack_kv_bool(pk, "hub", l->peer.is_hub);
	mp_pack_kv_bool(pk, "connected", s != NULL);
	mp_pack_kv_str(pk, "direction", s == NULL ? "" : s->initiator ? "out" : "in");
	mp_pack_kv_str(pk, "remote", s == NULL ? "" : s->remote);
	mp_pack_kv_int(pk, "since", s == NULL ? 0 : (int64_t)l->connected_at);
	mp_pack_kv_int(pk, "rtt_us", l->rtt_us);
	mp_pack_kv_str(pk, "last_error", l->last_error);
	pack_sync(pk, s, barrier);
}

static void pack_peers(msgpack_packer *pk, const struct daemon *d, uint64_t barrier)
{
	const struct link *l;

	mp_pack_cstr(pk, "peers");
	msgpack_pack_array(pk, (size_t)d->nlinks);
	for (l = d->links; l; l = l->next)
		pack_link(pk, l, barrier);
}

static void reply_status(struct daemon *d, msgpack_packer *pk)
{
	char id[SITEID_TEXT_LEN + 1], listen[CONF_HOST_MAX + 16];
	uint64_t uptime_ms = uv_now(&d->loop) - d->started_ms;

	siteid_to_text(d->key.public_key, id);
	conf_addr_format(&d->conf.listen, listen, sizeof(listen));
	msgpack_pack_map(pk, 11);
	mp_pack_kv_bool(pk, "ok", 1);
	mp_pack_kv_str(pk, "site_id", id);
	mp_pack_kv_str(pk, "name", d->conf.name);
	mp_pack_kv_str(pk, "kind", site_kind_name(d->conf.kind));
	mp_pack_kv_str(pk, "version", LMSYNC_VERSION);
	mp_pack_kv_int(pk, "pid", (int64_t)getpid());
	mp_pack_kv_int(pk, "started_at", (int64_t)d->started_at);
	mp_pack_kv_int(pk, "uptime_ms", (int64_t)uptime_ms);
	mp_pack_kv_str(pk, "listen", listen);
	mp_pack_kv_int(pk, "connections", d->nsessions);
	pack_peers(pk, d, 0);
}

/* `lmsync sync --wait`: "sync-begin" starts a barrier; "sync-state" with
 * its number reports each peer against it. */
static void reply_sync_begin(struct daemon *d, msgpack_packer *pk)
{
	/* A commit made just before `sync --wait` may not have been noticed yet
	 * (another client's commit shows a moment after its WAL event): look for
	 * captures now, so the barrier covers everything committed before it. */
	daemon_log_check(d);
	msgpack_pack_map(pk, 2);
	mp_pack_kv_bool(pk, "ok", 1);
	mp_pack_kv_int(pk, "barrier", (int64_t)sync_barrier_start(d));
}

static void reply_sync_state(struct daemon *d, msgpack_packer *pk, const msgpack_object *req)
{
	int64_t barrier = 0;

	if (req->via.array.size >= 2 &&
	    req->via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		barrier = (int64_t)req->via.array.ptr[1].via.u64;
	msgpack_pack_map(pk, 2);
	mp_pack_kv_bool(pk, "ok", 1);
	pack_peers(pk, d, (uint64_t)barrier);
}

static void reply_error(msgpack_packer *pk, const char *msg)
{
	msgpack_pack_map(pk, 2);
	mp_pack_kv_bool(pk, "ok", 0);
	mp_pack_kv_str(pk, "error", msg);
}

static void reply_reload(struct daemon *d, msgpack_packer *pk)
{
	lm_err err;

	if (daemon_reload_peers(d, &err) != 0) {
		reply_error(pk, err.msg);
		return;
	}
	msgpack_pack_map(pk, 2);
	mp_pack_kv_bool(pk, "ok", 1);
	mp_pack_kv_int(pk, "peers", d->nlinks);
}

/* Returns 0 when the connection may go on, -1 when it must close. */
static int handle_request(struct control_client *c, const uint8_t *msg, size_t len)
{
	struct daemon *d = c->server->daemon;
	struct control_write *w = calloc(1, sizeof(*w));
	msgpack_unpacked req;
	msgpack_packer pk;
	const msgpack_object *cmd = NULL;
	int ok = 0;

	if (w == NULL)
		return -1;
	msgpack_sbuffer_init(&w->body);
	msgpack_packer_init(&pk, &w->body, msgpack_sbuffer_write);
	msgpack_unpacked_init(&req);
	if (msgpack_unpack_next(&req, (const char *)msg, len, NULL) == MSGPACK_UNPACK_SUCCESS &&
	    req.data.type == MSGPACK_OBJECT_ARRAY && req.data.via.array.size >= 1)
		cmd = &req.data.via.array.ptr[0];
	if (cmd != NULL && mp_str_eq(cmd, "status")) {
		reply_status(d, &pk);
		ok = 1;
	} else if (cmd != NULL && mp_str_eq(cmd, "sync-begin")) {
		reply_sync_begin(d, &pk);
		ok = 1;
	} else if (cmd != NULL && mp_str_eq(cmd, "sync-state")) {
		reply_sync_state(d, &pk, &req.data);
		ok = 1;
	} else if (cmd != NULL && mp_str_eq(cmd, "reload")) {
		log_info("control", "reload requested");
		reply_reload(d, &pk);
		ok = 1;
	} else if (cmd != NULL && cmd->type == MSGPACK_OBJECT_STR) {
		reply_error(&pk, "unknown control command");
		ok = 1;
	} else {
		reply_error(&pk, "malformed control request: expected [command, ...]");
	}
	msgpack_unpacked_destroy(&req);
	send_reply(c, w);
	return ok ? 0 : -1;
}

static void client_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct control_client *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void client_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct control_client *c = s->data;
	const uint8_t *msg;
	size_t len;
	lm_err err;

	(void)buf;
	if (nread < 0) {
		client_close(c);
		return;
	}
	if (ctl_reader_feed(&c->reader, c->rbuf, (size_t)nread, &err) != 0) {
		log_warn("control", "closing control connection reason=\"%s\"", err.msg);
		client_close(c);
		return;
	}
	while (!c->closing && ctl_reader_next(&c->reader, &msg, &len)) {
		int rc = handle_request(c, msg, len);

		ctl_reader_consume(&c->reader);
		if (rc != 0) {
			log_warn("control",
				 "closing control connection reason=\"malformed request\"");
			client_close(c);
		}
	}
}

static void server_on_connection(uv_stream_t *server, int status)
{
	struct control_server *cs = server->data;
	struct control_client *c;
	int rc;

	if (status < 0) {
		log_warn("control", "accept failed error=\"%s\"", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_error("control", "out of memory accepting a control connection");
		return;
	}
	c->server = cs;
	ctl_reader_init(&c->reader, REQUEST_MAX);
	uv_pipe_init(server->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->next = cs->clients;
	if (cs->clients)
		cs->clients->prev = c;
	cs->clients = c;
	rc = uv_accept(server, (uv_stream_t *)&c->pipe);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&c->pipe, client_on_alloc, client_on_read);
	if (rc < 0) {
		log_warn("control", "cannot serve a control connection error=\"%s\"",
			 uv_strerror(rc));
		client_close(c);
	}
}

int control_start(struct control_server *cs, struct daemon *d, const char *path, lm_err *err)
{
	mode_t old;
	int rc;

	memset(cs, 0, sizeof(*cs));
	cs->daemon = d;
	cs->path = path;
	if (unlink(path) != 0 && errno != ENOENT)
		return lm_errf(err, "cannot remove the stale socket %s: %s", path, strerror(errno));
	rc = uv_pipe_init(&d->loop, &cs->pipe, 0);
	if (rc < 0)
		return lm_errf(err, "control socket: %s", uv_strerror(rc));
	cs->pipe.data = cs;
	cs->listening = 1;
	/* Created 0600 from the start: a chmod after bind would leave a window. */
	old = umask(0177);
	rc = uv_pipe_bind(&cs->pipe, path);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&cs->pipe, 16, server_on_connection);
	if (rc < 0) {
		control_stop(cs);
		return lm_errf(err, "cannot listen on %s: %s", path, uv_strerror(rc));
	}
	return 0;
}

void control_stop(struct control_server *cs)
{
	if (!cs->listening)
		return;
	cs->listening = 0;
	while (cs->clients)
		client_close(cs->clients);
	uv_close((uv_handle_t *)&cs->pipe, NULL);
	if (unlink(cs->path) != 0 && errno != ENOENT)
		log_warn("control", "cannot remove socket path=%s error=\"%s\"", cs->path,
			 strerror(errno));
}
