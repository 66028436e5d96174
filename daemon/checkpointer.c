/* SPDX-License-Identifier: MIT */
/* Checkpoints on a worker thread; see checkpointer.h. */
#include "daemon/checkpointer.h"

#include <string.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

void checkpointer_init(struct checkpointer *c, struct daemon *d)
{
	memset(c, 0, sizeof(*c));
	c->d = d;
	c->work.data = c;
}

/* On the thread pool: only the worker touches the connection. */
static void checkpoint(uv_work_t *req)
{
	struct checkpointer *c = req->data;

	c->rc = store_checkpoint(&c->store, &c->err);
}

static void on_checkpointed(uv_work_t *req, int status)
{
	struct checkpointer *c = req->data;

	c->busy = 0;
	if (status != 0)
		log_warn("store", "checkpoint failed error=\"%s\"", uv_strerror(status));
	else if (c->rc != 0)
		log_warn("store", "checkpoint failed error=\"%s\"", c->err.msg);
}

void checkpointer_kick(struct checkpointer *c)
{
	struct daemon *d = c->d;
	lm_err err;
	int rc;

	if (c->busy || d->stopping)
		return;
	if (!c->opened) {
		if (store_open_for_checkpoints(&c->store, d->sd.store, &err) != 0) {
			log_warn("store", "cannot open the store to checkpoint it error=\"%s\"",
				 err.msg);
			return; /* the next tick tries again */
		}
		c->opened = 1;
	}
	rc = uv_queue_work(&d->loop, &c->work, checkpoint, on_checkpointed);
	if (rc != 0) {
		log_warn("store", "cannot start a checkpoint error=\"%s\"", uv_strerror(rc));
		return;
	}
	c->busy = 1;
	c->last_start = uv_now(&d->loop);
}

/* About 20 single changes' pages (16 each) at most between checkpoints. */
#define CHECKPOINT_SOON_MS 20

void checkpointer_soon(struct checkpointer *c)
{
	if (uv_now(&c->d->loop) - c->last_start >= CHECKPOINT_SOON_MS)
		checkpointer_kick(c);
}

void checkpointer_close(struct checkpointer *c)
{
	if (c->opened)
		store_close(&c->store);
	c->opened = 0;
}
