/* SPDX-License-Identifier: MIT */
/* Sealing on a worker thread; see sealer.h. */
#include "daemon/sealer.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "store/seal.h"

/* Captures sealed per transaction: a bulk write goes out in chunks of about
 * 3 MB of change sets, the first within tens of milliseconds of its commit,
 * while the worker seals the rest. */
#define SEAL_CHUNK 4096

/* Change sets sealed at once after which freed memory goes back to the
 * system (about 1 MB of envelopes). */
#define SEAL_TRIM_AFTER 16

/* Change sets sealed at once that still count as a small write (a few
 * local transactions), after which a checkpoint soon pays (checkpointer.h). */
#define SEAL_SMALL 4

/* After a failed chunk (a full disk, say), wait this long before the next
 * try instead of retrying on every loop turn. */
#define SEAL_RETRY_MS 1000

void sealer_init(struct sealer *w, struct daemon *d)
{
	memset(w, 0, sizeof(*w));
	w->d = d;
	w->work.data = w;
}

int sealer_active(const struct sealer *w)
{
	return w->busy || w->more;
}

int sealer_holds_merges(const struct sealer *w)
{
	/* Not after a failed chunk: merges must not wait on a disk that may
	 * stay full. */
	return w->busy || (w->more && w->retry_at == 0);
}

/* On the thread pool: touches the sealer's connection and reads the key,
 * which the loop leaves alone until every chunk is done. */
static void seal_chunk(uv_work_t *req)
{
	struct sealer *w = req->data;
	struct seal_key key = {w->d->key.public_key, w->d->key.secret_key};

	w->count = 0;
	w->chunk_more = 0;
	w->rc = seal_pending_some(&w->store, &key, daemon_wall_ms(), SEAL_CHUNK, &w->count,
				  &w->chunk_more, &w->err);
}

static void on_chunk_sealed(uv_work_t *req, int status)
{
	struct sealer *w = req->data;
	struct daemon *d = w->d;

	w->busy = 0;
	if (status != 0 || w->rc != 0) {
		log_error("store", "sealing local changes failed error=\"%s\"",
			  status != 0 ? uv_strerror(status) : w->err.msg);
		w->retry_at = uv_now(&d->loop) + SEAL_RETRY_MS;
		w->more = 1; /* the captures are still there */
	} else {
		log_debug("store", "sealed local changes changesets=%d more=%d", w->count,
			  w->chunk_more);
		sealer_log_held(&w->store, &w->held_logged);
		w->more = w->chunk_more;
		w->sealed_in_run += w->count;
		w->retry_at = 0;
		if (!w->more && w->sealed_in_run <= SEAL_SMALL)
			checkpointer_soon(&d->checkpointer);
	}
	if (daemon_stop_if_disk_failed(d, &w->store))
		return;
	if (!w->more) {
#ifdef __GLIBC__
		/* Sealing a bulk write allocates many small blocks at once; glibc
		 * keeps freed heap resident unless asked, and an idle daemon
		 * should be small. */
		if (w->sealed_in_run >= SEAL_TRIM_AFTER)
			malloc_trim(0);
#endif
		w->sealed_in_run = 0;
	}
	if (d->stopping)
		return;
	/* The merges that waited run now, while nothing else is pending but
	 * what was written since, and before the next chunk can hold them
	 * again: a steady local writer does not starve them. */
	if (!sealer_holds_merges(w))
		daemon_flush(d);
	daemon_log_check(d); /* pump what was sealed; seal the next chunk */
}

void sealer_log_held(const struct store *st, int64_t *logged)
{
	if (st->held_rows > *logged)
		log_warn("store",
			 "held back rows=%lld: a text of theirs looks like a national identity "
			 "number (fødselsnummer), so they are not sent; `lmsync quarantine` lists "
			 "them, and a change that removes it sends each",
			 (long long)(st->held_rows - *logged));
	*logged = st->held_rows;
}

static int sealer_open(struct sealer *w, lm_err *err)
{
	if (w->opened)
		return 0;
	if (store_open(&w->store, w->d->sd.store, STORE_OPEN, err) != 0)
		return -1;
	/* Checkpoints are the checkpointer's (checkpointer.h), as for the
	 * loop's connection. */
	if (store_defer_checkpoints(&w->store, err) != 0) {
		store_close(&w->store);
		return -1;
	}
	w->opened = 1;
	return 0;
}

void sealer_kick(struct sealer *w)
{
	struct daemon *d = w->d;
	lm_err err;
	int pending, rc;

	if (w->busy || d->stopping)
		return;
	if (w->retry_at != 0 && uv_now(&d->loop) < w->retry_at)
		return;
	pending = seal_has_pending(&d->store, &err);
	if (pending < 0)
		log_error("store", "cannot look for local changes error=\"%s\"", err.msg);
	if (pending <= 0) {
		w->more = 0;
		return;
	}
	if (sealer_open(w, &err) != 0) {
		log_error("store", "cannot open the store for sealing error=\"%s\"", err.msg);
		w->retry_at = uv_now(&d->loop) + SEAL_RETRY_MS;
		w->more = 1;
		return;
	}
	rc = uv_queue_work(&d->loop, &w->work, seal_chunk, on_chunk_sealed);
	if (rc != 0) {
		log_error("store", "cannot start sealing error=\"%s\"", uv_strerror(rc));
		w->retry_at = uv_now(&d->loop) + SEAL_RETRY_MS;
		w->more = 1;
		return;
	}
	w->busy = 1;
}

void sealer_close(struct sealer *w)
{
	if (w->opened)
		store_close(&w->store);
	w->opened = 0;
}
