/* SPDX-License-Identifier: MIT */
/* Links: the daemon's view of each configured peer; see link.h.
 *
 * Reconnection uses exponential backoff with jitter: after n consecutive
 * failed attempts the next one waits d/2 + random(d/2), d = min(250 ms * 2^n,
 * reconnect_max), so a hub that comes back is not hit by all its sites in the
 * same millisecond. A session that was READY and drops is redialled at once.
 */
#include "daemon/link.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/session.h"
#include "proto/noise.h"
#include "proto/siteid.h"

#define BACKOFF_BASE_MS 250

static uint64_t backoff_ms(const struct link *l)
{
	uint64_t cap = l->d->conf.limits.reconnect_max_ms, d = BACKOFF_BASE_MS;
	uint32_t i;

	for (i = 0; i < l->failures && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	return d / 2 + randombytes_uniform((uint32_t)(d / 2) + 1);
}

struct link *link_by_key(struct daemon *d, const uint8_t x25519[32])
{
	struct link *l;

	for (l = d->links; l; l = l->next)
		if (sodium_memcmp(l->x25519, x25519, 32) == 0)
			return l;
	return NULL;
}

static struct link *link_by_id(struct daemon *d, const uint8_t id[32])
{
	struct link *l;

	for (l = d->links; l; l = l->next)
		if (memcmp(l->peer.id, id, 32) == 0)
			return l;
	return NULL;
}

static void close_sessions_of(struct daemon *d, struct link *l, const char *reason)
{
	struct session *s, *next;

	for (s = d->sessions; s; s = next) {
		next = s->next;
		if (s->link == l)
			session_close(s, reason, 0);
	}
}

void link_release(struct link *l)
{
	if (--l->refs == 0 && l->removed)
		free(l);
}

/* Take l out of the list; it is freed once no session refers to it. */
static void link_remove(struct daemon *d, struct link *l, const char *reason)
{
	struct link **pp;

	for (pp = &d->links; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	l->removed = 1;
	l->refs++; /* hold it while its sessions close */
	close_sessions_of(d, l, reason);
	link_release(l);
}

static int link_add(struct daemon *d, const struct peer *p, lm_err *err)
{
	struct link *l = calloc(1, sizeof(*l));
	char id[SITEID_TEXT_LEN + 1];

	if (l == NULL)
		return lm_errf(err, "out of memory adding a peer");
	if (noise_public_from_ed25519(p->id, l->x25519, err) != 0) {
		siteid_to_text(p->id, id);
		log_warn("daemon", "ignoring peer site=%s: not a valid site key (%s)", id,
			 err->msg);
		free(l);
		return 0;
	}
	l->d = d;
	l->peer = *p;
	l->rtt_us = -1;
	l->next_dial_ms = uv_now(&d->loop);
	l->next = d->links;
	d->links = l;
	return 0;
}

static void link_update(struct daemon *d, struct link *l, const struct peer *p)
{
	int moved = strcmp(l->peer.addr, p->addr) != 0;

	l->peer = *p;
	if (moved) {
		/* A dial to the old address is pointless; try the new one now. */
		l->failures = 0;
		l->next_dial_ms = uv_now(&d->loop);
		if (l->dialing)
			session_close(l->dialing, "peer address changed", 0);
	}
}

int link_sync_all(struct daemon *d, const struct peer *peers, int n, lm_err *err)
{
	struct link *l, *next;
	int i, keep;

	for (l = d->links; l; l = next) {
		next = l->next;
		for (keep = 0, i = 0; i < n && !keep; i++)
			keep = memcmp(l->peer.id, peers[i].id, 32) == 0;
		if (!keep)
			link_remove(d, l, "peer removed from the configuration");
	}
	for (i = 0; i < n; i++) {
		l = link_by_id(d, peers[i].id);
		if (l != NULL)
			link_update(d, l, &peers[i]);
		else if (link_add(d, &peers[i], err) != 0)
			return -1;
	}
	return 0;
}

/* Which of two sessions with the same peer both sides keep: the one opened
 * by the smaller site id; between two opened by the same side, the newer. */
static int keeps_first(const struct link *l, const struct session *a, const struct session *b)
{
	const uint8_t *ia = a->initiator ? l->d->key.public_key : l->peer.id;
	const uint8_t *ib = b->initiator ? l->d->key.public_key : l->peer.id;
	int c = memcmp(ia, ib, 32);

	if (c != 0)
		return c < 0;
	return a->opened_ms > b->opened_ms;
}

void link_on_ready(struct link *l, struct session *s)
{
	char id[SITEID_TEXT_LEN + 1];
	struct session *old = l->session;

	if (l->dialing == s)
		l->dialing = NULL;
	if (old != NULL && keeps_first(l, old, s)) {
		session_close(s, "duplicate connection; keeping the other one", 0);
		return;
	}
	l->session = s;
	if (old != NULL)
		session_close(old, "replaced by a simultaneous connection", 0);
	l->failures = 0;
	l->connected_at = time(NULL);
	l->last_error[0] = '\0';
	siteid_to_text(l->peer.id, id);
	log_info("peer", "connected site=%s name=\"%s\" addr=%s direction=%s", id, l->peer.name,
		 s->remote, s->initiator ? "out" : "in");
}

void link_on_closed(struct link *l, struct session *s, const char *reason, int failure)
{
	uint64_t now = uv_now(&l->d->loop);
	int mine = l->session == s || l->dialing == s;

	if (l->dialing == s)
		l->dialing = NULL;
	if (l->session == s) {
		l->session = NULL;
		l->connected_at = 0;
	}
	/* A spare connection closed beside a ready one is no error of the link. */
	if (l->session == NULL)
		snprintf(l->last_error, sizeof(l->last_error), "%s", reason);
	if (!mine || l->removed)
		return;
	if (failure)
		l->failures++;
	l->next_dial_ms = failure ? now + backoff_ms(l) : now;
}

void link_tick_all(struct daemon *d, uint64_t now)
{
	struct link *l;
	lm_err err;

	for (l = d->links; l; l = l->next) {
		if (l->session || l->dialing || now < l->next_dial_ms)
			continue;
		if (session_dial(d, l, &err) != 0) {
			snprintf(l->last_error, sizeof(l->last_error), "%s", err.msg);
			l->failures++;
			l->next_dial_ms = now + backoff_ms(l);
		}
	}
}

void link_close_all(struct daemon *d)
{
	struct session *s, *next;

	while (d->links)
		link_remove(d, d->links, "lmsyncd is stopping");
	/* Inbound sessions not yet tied to a peer. */
	for (s = d->sessions; s; s = next) {
		next = s->next;
		session_close(s, "lmsyncd is stopping", 0);
	}
}
