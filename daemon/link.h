/* SPDX-License-Identifier: MIT */
/* A link: one configured peer, and what this daemon knows of it now: its
 * ready session, the dial in progress, the backoff, the last error, the
 * round-trip time. Links mirror the peer table of the store; daemon reloads
 * replace the set, keeping links whose peer stays.
 *
 * Invariants:
 *  - At most one READY session per link. Two sites that dial each other at
 *    once both keep the session initiated by the smaller site id, so they
 *    agree on which one survives without talking about it.
 *  - A link removed from the configuration closes its sessions and is freed
 *    once none refers to it any more.
 */
#ifndef LMSYNC_DAEMON_LINK_H
#define LMSYNC_DAEMON_LINK_H

#include <stdint.h>
#include <time.h>

#include "store/peer.h"

struct daemon;
struct session;

struct link {
	struct daemon *d;
	struct link *next;
	struct peer peer;	 /* id, address, name, hub flag */
	uint8_t x25519[32];	 /* the peer's Noise static key, from its id */
	struct session *session; /* the READY session, or NULL */
	struct session *dialing; /* our outbound session before READY, or NULL */
	int refs;		 /* sessions pointing here (ready, dialing, or not) */
	int removed;		 /* gone from the configuration */

	uint32_t failures;     /* consecutive failed dials, for the backoff */
	uint64_t next_dial_ms; /* loop time of the next dial */
	time_t connected_at;   /* wall clock when the current session got ready */
	int64_t rtt_us;	       /* last measured round trip, -1 before any */
	char last_error[LM_ERR_MAX];
};

/* Make the daemon's links match peers: keep, add, update, remove. */
int link_sync_all(struct daemon *d, const struct peer *peers, int n, lm_err *err);

/* The link whose Noise static key is x25519, or NULL. */
struct link *link_by_key(struct daemon *d, const uint8_t x25519[32]);

/* Sessions report here. */
void link_on_ready(struct link *l, struct session *s);
void link_on_closed(struct link *l, struct session *s, const char *reason, int failure);
void link_release(struct link *l);

/* Dial every link that is due; called every tick. */
void link_tick_all(struct daemon *d, uint64_t now);

/* Close every session and free every link (daemon stop). */
void link_close_all(struct daemon *d);

#endif
