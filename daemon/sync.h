/* SPDX-License-Identifier: MIT */
/* The sync engine of one READY session: keeping a peer's store and ours in
 * step, as docs/PROTOCOL.md ("Sync") specifies.
 *
 *   hello/heads  each side tells the other what it holds in the scopes the
 *                other may receive; once the peer's vector is complete we
 *                stream what it lacks, in log (local_id) order
 *   sets/ack     change sets go out in messages within the frame limit; the
 *                peer merges what one loop turn read as one batch (one
 *                transaction) and acks it with its heads afterwards
 *   mark/marked  a barrier for `lmsync sync --wait`
 *
 * Invariants:
 *  - Flow control: at most SYNC_WINDOW bytes of sets (plus one message) are
 *    unacknowledged per peer, and the log is read only as the window opens, so a stalled peer
 *    costs a bounded amount of memory and never delays the others.
 *  - Routing: a change set goes to a peer only when, by this store's own
 *    replicated member lists, the peer may receive its scope (open scopes:
 *    every peer; governed ones: the root and every site with a role). A
 *    site removed from a scope receives it up to and including the change
 *    set that removed it, in log order, so it learns of its removal; then
 *    nothing more. Routing is read from the store at every step, so a
 *    restart or a new session routes alike; no cursor is kept.
 *  - A pair the peer did not take (refused, held) is stalled: not sent again
 *    until a backoff has passed, so one bad change set never loops, and
 *    everything else keeps flowing. A stalled pair whose origin regains a
 *    writing role is sent again at once.
 *  - In step (sync --wait) means in step on what either side may still take:
 *    change sets whose origin may not write their scope by this site's
 *    member list (a removed member's later ones) are reported as held, not
 *    waited for.
 *
 * Owner: the session (s->sync), from READY until the session is freed.
 */
#ifndef LMSYNC_DAEMON_SYNC_H
#define LMSYNC_DAEMON_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "proto/changeset.h"
#include "proto/msg.h"

#define SYNC_WINDOW (1024 * 1024) /* unacknowledged bytes of sets per peer */

struct daemon;
struct session;

/* Our hello (with our heads in the scopes the peer may receive) and the
 * heads messages that complete it. Called once the handshake is done. */
void sync_send_hello(struct session *s);

/* The peer's hello arrived and the session is READY: start syncing. */
int sync_start(struct session *s, const struct msg_hello *hello);
void sync_free(struct session *s);

/* A heads, sets, ack, mark or marked message from the peer. */
void sync_on_message(struct session *s, const struct msg *m);

/* Merge the sets received since the last flush, as one batch. Returns 1
 * when there were any; the caller then runs daemon_merged, which acks them
 * once they are on disk. */
int sync_flush(struct session *s);

/* Acknowledge what the last flush merged (durable: the store synced it),
 * or close the session when the store could not sync (durable 0). */
void sync_ack(struct session *s, int durable);

/* Send what the peer lacks, as far as the window allows. */
void sync_pump(struct session *s);

/* Housekeeping every tick: stalled pairs whose backoff has passed. */
void sync_tick(struct session *s, uint64_t now);

/* The log grew (a seal, a merge): pump every ready session. */
void sync_log_grew(struct daemon *d);

/* `lmsync sync --wait`: start a barrier with every connected peer; returns
 * its number. */
uint64_t sync_barrier_start(struct daemon *d);

/* Per scope: what each side lacks, and when the scope last moved. */
struct sync_scope_report {
	char scope[CS_SCOPE_MAX + 1];
	uint64_t to_send, to_receive;
	int64_t last_at;
	/* Change sets one side holds back because their origin may not write
	 * the scope (by this site's member list): ours the peer did not take,
	 * and the peer's we would hold. Not counted in to_send, to_receive. */
	uint64_t held;
	int peer_removed;		/* the peer lost its role here: sent up to the removal */
	int self_removed;		/* this site lost its role in the scope */
	uint8_t removed_by[CS_KEY_LEN]; /* who removed it (either), when known */
	int removed_by_known;
};

/* One peer's part in sync, for status and sync --wait. */
struct sync_report {
	int ready;		/* the peer's initial vector arrived */
	int in_step;		/* barrier passed, nothing to send, nothing in flight */
	uint64_t to_send;	/* change sets it lacks that it may receive */
	uint64_t to_receive;	/* change sets it has told us of that we lack */
	uint64_t refused_there; /* change sets the peer did not take from us */
	uint64_t refused_here;	/* change sets we did not take from it */
	uint64_t held;		/* sum of the scopes' held */
	uint64_t sets_sent, sets_received;
	int64_t last_at; /* wall clock of the last change set either way, 0: none */
	size_t inflight; /* bytes sent, not yet acknowledged */
	char last_refusal[256];
	struct sync_scope_report *scopes; /* the scopes the two share; malloc'd */
	size_t nscopes;
};

/* Fill r for session s; barrier is the number sync_barrier_start gave (0:
 * none asked). The caller frees r->scopes. */
void sync_report(struct session *s, uint64_t barrier, struct sync_report *r);

#endif
