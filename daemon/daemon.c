/* SPDX-License-Identifier: MIT */
/* lmsyncd's start, run and stop; see daemon.h.
 *
 * Start-up checks, in order, each refusing with a message that says what to
 * do: the configuration parses; the key file is private; no other lmsyncd
 * holds the site; the store opens, migrates and belongs to this key.
 */
#include "daemon/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/lock.h"
#include "daemon/log.h"
#include "daemon/sealer.h"
#include "daemon/sync.h"
#include "daemon/walwatch.h"
#include "domain/schema.h"
#include "proto/siteid.h"
#include "store/cslog.h"

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	lm_err err;

	if (signum == SIGHUP) {
		if (daemon_reload_peers(d, &err) != 0)
			log_error("daemon", "reload failed error=\"%s\"", err.msg);
		return;
	}
	daemon_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int watch_signal(struct daemon *d, uv_signal_t *h, int signum, lm_err *err)
{
	int rc = uv_signal_init(&d->loop, h);

	h->data = d;
	if (rc == 0)
		rc = uv_signal_start(h, on_signal, signum);
	if (rc < 0)
		return lm_errf(err, "cannot watch signal %d: %s", signum, uv_strerror(rc));
	return 0;
}

int daemon_reload_peers(struct daemon *d, lm_err *err)
{
	struct peer *peers;
	struct link *l;
	int n, rc;

	if (peer_list(&d->store, &peers, &n, err) != 0)
		return -1;
	rc = link_sync_all(d, peers, n, err);
	free(peers);
	for (d->nlinks = 0, l = d->links; l; l = l->next)
		d->nlinks++;
	if (rc == 0)
		log_info("daemon", "peers loaded count=%d", d->nlinks);
	return rc;
}

#define TICK_MS 250

uint64_t daemon_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Local writes, by lmsync or any other SQLite client, leave captures behind;
 * sealing (on the sealer's thread) turns them into signed change sets in
 * the log, which the peers are then pumped from. */
void daemon_log_check(struct daemon *d)
{
	int64_t last;
	lm_err err;

	if (daemon_stop_if_disk_failed(d, &d->store))
		return;
	sealer_kick(&d->sealer);
	if (cslog_last_id(&d->store, &last, &err) != 0) {
		log_error("store", "cannot read the log error=\"%s\"", err.msg);
		return;
	}
	if (last == d->log_last_id)
		return;
	d->log_last_id = last;
	sync_log_grew(d);
}

/* A merge is visible, and forwarded, before it is durable: only the ack
 * waits for the disk, so a relay's flush is off the path of a change, as a
 * PostgreSQL subscriber applies before it flushes. One flush serves every
 * session merged in the loop turn. */
void daemon_merged(struct daemon *d)
{
	struct session *s;
	lm_err err;
	int durable;

	sealer_log_held(&d->store, &d->held_logged); /* by a merge that sealed first */
	daemon_log_check(d);			     /* merged change sets went into the log */
	durable = store_sync(&d->store, &err) == 0;
	if (!durable)
		log_error("store", "cannot make merged change sets durable error=\"%s\"", err.msg);
	for (s = d->sessions; s; s = s->next)
		sync_ack(s, durable);
	daemon_stop_if_disk_failed(d, &d->store);
}

void daemon_flush(struct daemon *d)
{
	struct session *s;
	int any = 0;

	for (s = d->sessions; s; s = s->next)
		any |= sync_flush(s);
	if (any)
		daemon_merged(d);
}

static void on_flush(uv_check_t *h)
{
	uv_check_stop(h);
	daemon_flush(h->data);
}

void daemon_flush_soon(struct daemon *d)
{
	if (d->flush_ready && !uv_is_active((uv_handle_t *)&d->flush))
		uv_check_start(&d->flush, on_flush);
}

static void on_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;
	uint64_t now = uv_now(&d->loop);
	struct session *s;

	/* session_tick may close a session; it is freed later, in a callback. */
	for (s = d->sessions; s; s = s->next)
		session_tick(s, now);
	link_tick_all(d, now);
	walwatch_check(&d->walwatch);
	daemon_log_check(d);
	/* Off the path of any change: neither a commit nor the loop waits for
	 * a checkpoint. */
	checkpointer_kick(&d->checkpointer);
}

static void on_peer_connection(uv_stream_t *server, int status)
{
	struct daemon *d = server->data;

	if (status < 0) {
		log_warn("peer", "accept failed error=\"%s\"", uv_strerror(status));
		return;
	}
	session_accept(d, server);
}

static int start_listener(struct daemon *d, lm_err *err)
{
	char addr[CONF_HOST_MAX + 16];
	struct sockaddr_storage sa;
	int rc;

	conf_addr_format(&d->conf.listen, addr, sizeof(addr));
	if (uv_ip4_addr(d->conf.listen.host, d->conf.listen.port, (struct sockaddr_in *)&sa) != 0 &&
	    uv_ip6_addr(d->conf.listen.host, d->conf.listen.port, (struct sockaddr_in6 *)&sa) != 0)
		return lm_errf(err,
			       "%s: listen = %s must be an IP address and port "
			       "(0.0.0.0:7411, [::]:7411, 127.0.0.1:7411)",
			       d->sd.conf, addr);
	rc = uv_tcp_init(&d->loop, &d->listener);
	if (rc == 0) {
		d->listener.data = d;
		rc = uv_tcp_bind(&d->listener, (const struct sockaddr *)&sa, 0);
	}
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&d->listener, 128, on_peer_connection);
	if (rc < 0)
		return lm_errf(err,
			       "cannot listen on %s: %s (is another program using the port? "
			       "see listen in %s)",
			       addr, uv_strerror(rc), d->sd.conf);
	return 0;
}

static int load_identity(struct daemon *d, const struct daemon_options *opt, lm_err *err)
{
	if (sitedir_resolve(&d->sd, opt->dir, err) != 0)
		return -1;
	if (!sitedir_has_site(&d->sd))
		return lm_errf(err, "%s holds no site; create one with `lmsync -d %s init`",
			       d->sd.dir, d->sd.dir);
	if (conf_load(d->sd.conf, &d->conf, err) != 0)
		return -1;
	if (opt->log_level && log_level_parse(opt->log_level, &d->conf.log_level, err) != 0)
		return lm_err_wrap(err, "--log-level");
	log_set_level(d->conf.log_level);
	return keyfile_load(d->sd.key, &d->key, err);
}

static int open_store(struct daemon *d, lm_err *err)
{
	d->lock_fd = lock_acquire(d->sd.lock, d->sd.store, err);
	if (d->lock_fd < 0)
		return -1;
	if (store_open(&d->store, d->sd.store, STORE_OPEN, err) != 0)
		return -1;
	if (store_claim(&d->store, d->key.public_key, err) != 0 ||
	    store_defer_checkpoints(&d->store, err) != 0)
		return -1;
	/* A hub relays the coordinators' tables without holding them; every
	 * other site has them from `lmsync init`, or from here if made before. */
	if (d->conf.kind != SITE_HUB && domain_install(&d->store, err) != 0)
		return -1;
	return 0;
}

static int start_loop(struct daemon *d, lm_err *err)
{
	int rc = uv_loop_init(&d->loop);

	if (rc < 0)
		return lm_errf(err, "cannot start the event loop: %s", uv_strerror(rc));
	d->loop.data = d;
	d->started_ms = uv_now(&d->loop);
	d->started_at = time(NULL);
	/* A peer that hangs up mid-write must cost an error code, not the process. */
	signal(SIGPIPE, SIG_IGN);
	if (watch_signal(d, &d->sig_term, SIGTERM, err) != 0 ||
	    watch_signal(d, &d->sig_int, SIGINT, err) != 0 ||
	    watch_signal(d, &d->sig_hup, SIGHUP, err) != 0)
		return -1;
	if (start_listener(d, err) != 0 || daemon_reload_peers(d, err) != 0)
		return -1;
	rc = uv_timer_init(&d->loop, &d->tick);
	d->tick.data = d;
	if (rc == 0)
		rc = uv_timer_start(&d->tick, on_tick, 0, TICK_MS);
	if (rc < 0)
		return lm_errf(err, "cannot start the timer: %s", uv_strerror(rc));
	rc = uv_check_init(&d->loop, &d->flush);
	if (rc < 0)
		return lm_errf(err, "cannot start the event loop: %s", uv_strerror(rc));
	d->flush.data = d;
	d->flush_ready = 1;
	walwatch_start(&d->walwatch, d);
	return control_start(&d->control, d, d->sd.control, err);
}

int daemon_open(struct daemon *d, const struct daemon_options *opt, lm_err *err)
{
	memset(d, 0, sizeof(*d));
	d->lock_fd = -1;
	sealer_init(&d->sealer, d);
	checkpointer_init(&d->checkpointer, d);
	if (load_identity(d, opt, err) != 0 || open_store(d, err) != 0)
		return -1;
	return start_loop(d, err);
}

int daemon_run(struct daemon *d, lm_err *err)
{
	char id[SITEID_TEXT_LEN + 1], listen[CONF_HOST_MAX + 16];
	int rc;

	siteid_to_text(d->key.public_key, id);
	conf_addr_format(&d->conf.listen, listen, sizeof(listen));
	log_info("daemon", "started site=%s name=\"%s\" kind=%s pid=%ld version=%s listen=%s", id,
		 d->conf.name, site_kind_name(d->conf.kind), (long)getpid(), LMSYNC_VERSION,
		 listen);
	rc = uv_run(&d->loop, UV_RUN_DEFAULT);
	if (d->failed)
		return lm_errf(err, "stopped on an error; see above");
	if (rc != 0 && !d->stopping)
		return lm_errf(err, "event loop ended unexpectedly");
	return 0;
}

static void close_if_open(uv_handle_t *h)
{
	if (h->loop != NULL && !uv_is_closing(h))
		uv_close(h, NULL);
}

void daemon_stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = 1;
	log_info("daemon", "stopping reason=%s", why);
	control_stop(&d->control);
	link_close_all(d);
	close_if_open((uv_handle_t *)&d->listener);
	close_if_open((uv_handle_t *)&d->tick);
	if (d->flush_ready)
		close_if_open((uv_handle_t *)&d->flush);
	walwatch_stop(&d->walwatch);
	close_if_open((uv_handle_t *)&d->sig_term);
	close_if_open((uv_handle_t *)&d->sig_int);
	close_if_open((uv_handle_t *)&d->sig_hup);
}

void daemon_fail(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	log_error("daemon", "%s", why);
	d->failed = 1;
	daemon_stop(d, "error");
}

int daemon_stop_if_disk_failed(struct daemon *d, const struct store *st)
{
	if (!st->flush_failed)
		return 0;
	daemon_fail(d, "stopping: the store could not be flushed to disk (the error is logged "
		       "above), and nothing more may leave this site until it can: check the "
		       "disk (dmesg, free space), then start lmsyncd again");
	return 1;
}

void daemon_close(struct daemon *d)
{
	if (d->loop.data != NULL) {
		/* Handles closed by daemon_stop, and a chunk being sealed, need
		 * more turns to finish. */
		daemon_stop(d, "shutdown");
		uv_run(&d->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&d->loop) != 0)
			log_warn("daemon", "event loop closed with handles still open");
	}
	sealer_close(&d->sealer);
	checkpointer_close(&d->checkpointer);
	store_close(&d->store);
	lock_release(d->lock_fd);
	site_key_wipe(&d->key);
}
