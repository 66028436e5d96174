/* SPDX-License-Identifier: MIT */
/* Noticing other writers' commits; see walwatch.h. */
#include "daemon/walwatch.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/timerfd.h>
#endif

#include "daemon/daemon.h"
#include "daemon/log.h"

#define RECHECK_FAST_US	   100	   /* one fsync on a fast disk is about 200 µs */
#define RECHECK_FAST_TRIES 20	   /* 2 ms of those */
#define RECHECK_SLOW_TRIES 98	   /* then 1 ms apart, to 100 ms: a slow disk */
#define QUIET_NS	   1000000 /* WAL writes this far apart are two commits */

int walwatch_check(struct walwatch *w)
{
	struct daemon *d = w->d;
	uint64_t v;
	lm_err err;

	if (store_data_version(&d->store, &v, &err) != 0) {
		log_error("store", "cannot read data_version error=\"%s\"", err.msg);
		return 0;
	}
	if (v == w->data_version)
		return 0;
	w->data_version = v;
	daemon_log_check(d);
	return 1;
}

static void on_timer(uv_timer_t *t);

/* Next recheck in us microseconds, then every us; 0 disarms. */
static void recheck_arm(struct walwatch *w, long us)
{
#ifdef __linux__
	if (w->use_tfd) {
		struct itimerspec it;

		memset(&it, 0, sizeof(it));
		it.it_value.tv_nsec = us * 1000;
		it.it_interval = it.it_value;
		if (timerfd_settime(w->tfd, 0, &it, NULL) == 0)
			return;
		log_warn("store", "cannot arm the WAL recheck timer; using 1 ms waits");
		uv_poll_stop(&w->poll);
		w->use_tfd = 0;
	}
#endif
	if (us == 0)
		uv_timer_stop(&w->timer);
	else
		uv_timer_start(&w->timer, on_timer, 1, 1);
}

/* One recheck; ends the round when the commit showed or time ran out. */
static void recheck(struct walwatch *w)
{
	if (w->left <= 0)
		return; /* a timerfd expiry read after the round ended */
	if (walwatch_check(w) || --w->left <= 0) {
		w->left = 0;
		recheck_arm(w, 0);
	} else if (w->left == RECHECK_SLOW_TRIES) {
		recheck_arm(w, 1000); /* the 100 µs phase is over */
	}
}

static void on_timer(uv_timer_t *t)
{
	recheck(t->data);
}

#ifdef __linux__
static void on_timerfd(uv_poll_t *p, int status, int events)
{
	struct walwatch *w = p->data;
	uint64_t expirations;

	(void)events;
	if (status < 0 || read(w->tfd, &expirations, sizeof(expirations)) < 0)
		return; /* EAGAIN: a disarm raced the expiry */
	recheck(w);
}
#endif

static void on_wal_change(uv_fs_event_t *h, const char *file, int events, int status)
{
	struct walwatch *w = h->data;
	struct daemon *d = w->d;
	const char *base = strrchr(d->sd.store, '/');
	uint64_t now;
	size_t n;
	int quiet;

	(void)events;
	base = base ? base + 1 : d->sd.store;
	n = strlen(base);
	/* Only the store's WAL: the directory also holds logs and sockets. */
	if (status != 0 || file == NULL || strncmp(file, base, n) != 0 ||
	    strcmp(file + n, "-wal") != 0)
		return;
	now = uv_hrtime();
	quiet = now - w->last_event >= QUIET_NS;
	w->last_event = now;
	if (walwatch_check(w) || w->left > RECHECK_SLOW_TRIES)
		return; /* seen, or rechecks at 100 µs are on */
	/* Writes after a quiet spell start a new commit: back to the quick
	 * rechecks, or a commit that came into the slow part of a round (one
	 * of this daemon's own merges starts rounds too) would be noticed up
	 * to a millisecond late. Writes without a pause are one long
	 * transaction, whose end a millisecond late is no loss. */
	if (w->left > 0 && !quiet)
		return;
	w->left = RECHECK_FAST_TRIES + RECHECK_SLOW_TRIES;
	recheck_arm(w, w->use_tfd ? RECHECK_FAST_US : 1000);
}

static void start_timerfd(struct walwatch *w)
{
#ifdef __linux__
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->tfd < 0)
		return;
	if (uv_poll_init(&w->d->loop, &w->poll, w->tfd) != 0) {
		close(w->tfd);
		w->tfd = -1;
		return;
	}
	w->poll.data = w;
	w->polling = 1; /* from here the fd closes with the poll handle */
	w->use_tfd = uv_poll_start(&w->poll, UV_READABLE, on_timerfd) == 0;
#else
	(void)w;
#endif
}

/* The directory is watched, not the file, because SQLite creates the WAL
 * only on the first write and removes it when the last connection closes. */
void walwatch_start(struct walwatch *w, struct daemon *d)
{
	memset(w, 0, sizeof(*w));
	w->d = d;
	w->tfd = -1;
	if (uv_timer_init(&d->loop, &w->timer) != 0)
		return;
	w->timer.data = w;
	if (uv_fs_event_init(&d->loop, &w->event) != 0) {
		uv_close((uv_handle_t *)&w->timer, NULL);
		return;
	}
	w->event.data = w;
	w->started = 1;
	start_timerfd(w);
	if (uv_fs_event_start(&w->event, on_wal_change, d->sd.dir, 0) != 0)
		log_warn("store", "cannot watch %s; local writes are noticed on the tick",
			 d->sd.dir);
}

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_poll_closed(uv_handle_t *h)
{
	struct walwatch *w = h->data;

	if (w->tfd >= 0)
		close(w->tfd);
	w->tfd = -1;
}

void walwatch_stop(struct walwatch *w)
{
	if (w->started) {
		close_handle((uv_handle_t *)&w->event);
		close_handle((uv_handle_t *)&w->timer);
	}
	if (w->polling && !uv_is_closing((uv_handle_t *)&w->poll))
		uv_close((uv_handle_t *)&w->poll, on_poll_closed);
	w->started = 0;
	w->polling = 0;
}
