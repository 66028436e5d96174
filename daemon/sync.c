/* SPDX-License-Identifier: MIT */
/* The sync engine; see sync.h and docs/PROTOCOL.md ("Sync"). */
#include "daemon/sync.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/heads.h"
#include "daemon/log.h"
#include "daemon/session.h"
#include "proto/siteid.h"
#include "store/cslog.h"
#include "store/member.h"
#include "store/merge.h"

#define SCAN_BATCH   256	       /* log entries read per step of the pump */
#define RETRY_MIN_MS 2000	       /* first wait before resending what a peer refused */
#define RETRY_MAX_MS 120000	       /* longest wait */
#define SCOPE_MEMO   16		       /* routing verdicts remembered within one pump */
#define RX_MAX	     (4 * 1024 * 1024) /* received bytes merged at once, at most */
#define MERGE_SMALL  65536	       /* merged bytes after which a checkpoint soon pays */

/* How far a peer may receive a scope. A removed member gets the scope up
 * to and including the change set that removed it, so it learns of its
 * removal, and nothing after. */
enum route_kind { ROUTE_NONE, ROUTE_UPTO, ROUTE_ALL };

struct route {
	enum route_kind kind;
	int64_t upto;		/* ROUTE_UPTO: log entries up to this local_id */
	int removed;		/* the peer held a role in the scope and lost it */
	uint8_t by[CS_KEY_LEN]; /* removed: by whom */
};

struct scope_memo {
	char scope[CS_SCOPE_MAX + 1];
	struct route route;
};

/* A scope the peer may not receive whole, and how far it may. */
struct denied {
	char *scope;
	int64_t upto; /* 0: none of it */
};

struct sync {
	struct heads peer; /* what the peer holds */
	int heads_done;	   /* its initial vector is complete */
	int64_t cursor;	   /* log entries up to here were considered for it */
	int idle;	   /* the last pump found nothing more to send */

	uint64_t sent_msgs, acked_msgs, recv_msgs;
	size_t *inflight_len; /* ring: the sizes of unacknowledged sets messages */
	size_t inflight_cap, inflight;

	uint64_t mark_in;  /* the peer's barrier to answer once idle, 0: none */
	uint64_t mark_out; /* our latest barrier sent */
	uint64_t marked;   /* the peer's latest answer */
	uint64_t refused_there, refused_here;
	uint64_t sets_sent, sets_received;
	int64_t last_at;
	char last_refusal[256];

	struct scope_memo memo[SCOPE_MEMO];
	size_t nmemo;
	struct denied *denied; /* scopes the peer was refused, or given in part */
	size_t ndenied;
	int regained; /* one of them is granted further now: place the cursor again */

	/* Received, not yet merged (sync_flush): envelopes back to back. */
	uint8_t *rx_buf;
	size_t rx_len, rx_cap;
	size_t *rx_at, *rx_len_of, rx_n, rx_ncap;
	uint64_t rx_msgs;
	/* Merged, not yet acknowledged: what the merge made of each, until the
	 * store has them on disk (sync_ack). */
	struct merge_outcome *unacked;
	size_t nunacked;
};

static void label(const struct session *s, char *out, size_t cap)
{
	char id[SITEID_SHORT_LEN + 1];

	siteid_to_short(s->link->peer.id, id);
	snprintf(out, cap, "%s", id);
}

/* ---- routing ------------------------------------------------------------ */

/* How far site may receive scope by this store's member lists: open scopes
 * and sites with a role wholly; a removed site up to its removal's log
 * entry, or wholly while that removal (written here) waits to be sealed,
 * since it will enter the log after everything the log holds now. */
static struct route may_receive(struct daemon *d, const char *scope, const uint8_t site[32])
{
	struct route r = {ROUTE_ALL, 0, 0, {0}};
	struct member_removal rm;
	uint8_t root[CS_KEY_LEN];
	enum member_role role;
	lm_err err;
	int rc;

	if (!scope_root(scope, root))
		return r;
	if (member_role(&d->store, scope, site, &role, &err) != 0) {
		log_error("sync", "cannot read the member list of %s error=\"%s\"", scope, err.msg);
		r.kind = ROUTE_NONE;
		return r;
	}
	if (role != ROLE_NONE)
		return r;
	rc = member_removal(&d->store, scope, site, &rm, &err);
	if (rc < 0)
		log_error("sync", "cannot read the member list of %s error=\"%s\"", scope, err.msg);
	r.kind = ROUTE_NONE;
	if (rc != 1)
		return r;
	r.removed = 1;
	memcpy(r.by, rm.by, CS_KEY_LEN);
	/* A removal the log cannot place (a store from before scope
	 * registers): as before, nothing more. */
	if (rm.local_id == 0)
		r.kind = ROUTE_ALL;
	else if (rm.local_id > 0) {
		r.kind = ROUTE_UPTO;
		r.upto = rm.local_id;
	}
	return r;
}

static int route_takes(const struct route *r, int64_t local_id)
{
	return r->kind == ROUTE_ALL || (r->kind == ROUTE_UPTO && local_id <= r->upto);
}

/* What of (origin, scope) a peer so routed may hold: our head, or the last
 * seq of the pair the log held at the removal. */
static int route_head(struct daemon *d, const struct route *r, const struct vv_entry *v,
		      uint64_t *seq, lm_err *err)
{
	*seq = r->kind == ROUTE_ALL ? v->seq : 0;
	if (r->kind != ROUTE_UPTO)
		return 0;
	return cslog_seq_upto(&d->store, v->origin, v->scope, r->upto, seq, err);
}

/* 1 when origin may write scope by this store's member lists (open scopes:
 * always). A change set of an origin that may not is held by whoever knows
 * so: neither side waits for it. */
static int origin_writes(struct daemon *d, const char *scope, const uint8_t origin[CS_KEY_LEN])
{
	uint8_t root[CS_KEY_LEN];
	enum member_role role;
	lm_err err;

	if (!scope_root(scope, root))
		return 1;
	if (member_role(&d->store, scope, origin, &role, &err) != 0) {
		log_error("sync", "cannot read the member list of %s error=\"%s\"", scope, err.msg);
		return 1;
	}
	return role >= ROLE_MEMBER;
}

/* Remember how far the peer may receive a scope it may not receive whole,
 * so that a grant (or a later removal, placed further down the log) is
 * noticed: what the pump skipped then must be sent after all. */
static void note_denied(struct sync *y, const char *scope, const struct route *r)
{
	int64_t upto = r->kind == ROUTE_UPTO ? r->upto : 0;
	size_t i;

	for (i = 0; i < y->ndenied; i++)
		if (strcmp(y->denied[i].scope, scope) == 0)
			break;
	if (i < y->ndenied && (r->kind == ROUTE_ALL || upto > y->denied[i].upto)) {
		y->regained = 1;
		if (r->kind != ROUTE_ALL) {
			y->denied[i].upto = upto;
			return;
		}
		free(y->denied[i].scope);
		y->denied[i] = y->denied[--y->ndenied];
	} else if (r->kind != ROUTE_ALL && i == y->ndenied) {
		struct denied *grown = realloc(y->denied, (y->ndenied + 1) * sizeof(*grown));
		char *copy = strdup(scope);

		if (grown != NULL)
			y->denied = grown;
		if (grown == NULL || copy == NULL) {
			free(copy);
			y->regained = 1; /* cannot remember: look again from the start */
			return;
		}
		y->denied[y->ndenied].scope = copy;
		y->denied[y->ndenied++].upto = upto;
	}
}

static struct route peer_route(struct session *s, const char *scope)
{
	struct sync *y = s->sync;
	struct route r;
	size_t i;

	for (i = 0; i < y->nmemo; i++)
		if (strcmp(y->memo[i].scope, scope) == 0)
			return y->memo[i].route;
	r = may_receive(s->d, scope, s->link->peer.id);
	note_denied(y, scope, &r);
	if (y->nmemo < SCOPE_MEMO) {
		snprintf(y->memo[y->nmemo].scope, sizeof(y->memo[0].scope), "%s", scope);
		y->memo[y->nmemo++].route = r;
	}
	return r;
}

/* ---- hello and heads ---------------------------------------------------- */

/* Our heads in the scopes the peer may receive, split into hello and as
 * many heads messages as they need. */
void sync_send_hello(struct session *s)
{
	static const size_t budget = MSG_MAX - MSG_HEADS_OVERHEAD;
	struct vv_entry *vv = NULL;
	struct msg_heads_writer w;
	struct msg_hello hello;
	uint8_t *heads, *msg;
	size_t n = 0, i = 0, len;
	int first = 1;
	lm_err err;

	heads = malloc(budget);
	msg = malloc(MSG_MAX);
	if (heads == NULL || msg == NULL) {
		session_close(s, "out of memory", 0);
		goto done;
	}
	if (cslog_vv(&s->d->store, &vv, &n, &err) != 0) {
		session_close(s, err.msg, 0);
		goto done;
	}
	do {
		msg_heads_writer_begin(&w, heads, budget);
		for (; i < n; i++) {
			struct route r = may_receive(s->d, vv[i].scope, s->link->peer.id);
			uint64_t seq;
			int rc;

			if (route_head(s->d, &r, &vv[i], &seq, &err) != 0) {
				session_close(s, err.msg, 0);
				goto done;
			}
			/* A removed peer is shown the scope as of its removal. */
			if (seq == 0)
				continue;
			rc = msg_heads_writer_add(&w, vv[i].scope, vv[i].origin, seq, &err);
			if (rc == 1)
				break;
			if (rc < 0) {
				session_close(s, err.msg, 0);
				goto done;
			}
		}
		struct msg_heads h = {heads, msg_heads_writer_finish(&w)};
		int more = i < n;

		if (first) {
			memset(&hello, 0, sizeof(hello));
			memcpy(hello.site, s->d->key.public_key, 32);
			snprintf(hello.software, sizeof(hello.software), "lmsync %s",
				 LMSYNC_VERSION);
			hello.protocol = MSG_PROTOCOL_VERSION;
			hello.schema = (uint32_t)store_schema_latest();
			hello.heads = h;
			hello.more = more;
			if (msg_encode_hello(&hello, msg, MSG_MAX, &len, &err) != 0) {
				session_close(s, err.msg, 0);
				goto done;
			}
		} else if (msg_encode_heads(&h, more, msg, MSG_MAX, &len, &err) != 0) {
			session_close(s, err.msg, 0);
			goto done;
		}
		if (session_send(s, msg, len) != 0)
			goto done;
		first = 0;
	} while (i < n);
done:
	free(vv);
	free(heads);
	free(msg);
}

/* Take in heads the peer sent: it holds at least that much. */
static int take_heads(struct session *s, const struct msg_heads *h)
{
	struct msg_heads_iter it;
	const uint8_t *origin;
	const char *scope;
	size_t scope_len;
	uint64_t seq;
	lm_err err;
	int rc;

	msg_heads_iter_begin(&it, h);
	while ((rc = msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err)) == 1) {
		struct head *e = heads_get(&s->sync->peer, origin, scope, scope_len);

		if (e == NULL)
			return -1;
		if (seq > e->theirs)
			e->theirs = seq;
	}
	return rc;
}

/* Start after the log entries the peer holds: at the first one it lacks. */
static int place_cursor(struct session *s, lm_err *err)
{
	struct sync *y = s->sync;
	struct vv_entry *vv;
	size_t n, i;
	int64_t at;

	if (cslog_last_id(&s->d->store, &y->cursor, err) != 0 ||
	    cslog_vv(&s->d->store, &vv, &n, err) != 0)
		return -1;
	y->nmemo = 0;
	for (i = 0; i < n; i++) {
		struct head *e =
		    heads_find(&y->peer, vv[i].origin, vv[i].scope, strlen(vv[i].scope));
		uint64_t theirs = e ? e->theirs : 0;
		struct route r;
		int found;

		if (vv[i].seq <= theirs)
			continue;
		r = peer_route(s, vv[i].scope);
		if (r.kind == ROUTE_NONE)
			continue;
		found =
		    cslog_find(&s->d->store, vv[i].origin, vv[i].scope, theirs + 1, &at, NULL, err);
		if (found < 0) {
			free(vv);
			return -1;
		}
		if (found && route_takes(&r, at) && at - 1 < y->cursor)
			y->cursor = at - 1;
	}
	free(vv);
	return 0;
}

/* Ask the peer for barrier n (sync --wait). */
static void send_mark(struct session *s, uint64_t n)
{
	uint8_t buf[32];
	size_t len;
	lm_err err;

	if (msg_encode_mark(n, buf, sizeof(buf), &len, &err) == 0 && session_send(s, buf, len) == 0)
		s->sync->mark_out = n;
}

static void heads_complete(struct session *s)
{
	lm_err err;

	s->sync->heads_done = 1;
	if (place_cursor(s, &err) != 0) {
		session_close(s, err.msg, 0);
		return;
	}
	if (s->d->barrier > s->sync->mark_out)
		send_mark(s, s->d->barrier);
	sync_pump(s);
}

int sync_start(struct session *s, const struct msg_hello *hello)
{
	struct sync *y = calloc(1, sizeof(*y));

	if (y == NULL)
		return -1;
	heads_init(&y->peer);
	s->sync = y;
	if (take_heads(s, &hello->heads) != 0)
		return -1;
	if (!hello->more)
		heads_complete(s);
	return 0;
}

void sync_free(struct session *s)
{
	if (s->sync == NULL)
		return;
	heads_free(&s->sync->peer);
	free(s->sync->inflight_len);
	while (s->sync->ndenied > 0)
		free(s->sync->denied[--s->sync->ndenied].scope);
	free(s->sync->denied);
	free(s->sync->rx_buf);
	free(s->sync->rx_at);
	free(s->sync->rx_len_of);
	free(s->sync->unacked);
	free(s->sync);
	s->sync = NULL;
}

/* ---- sending ------------------------------------------------------------ */

static int inflight_push(struct sync *y, size_t len)
{
	size_t count = y->sent_msgs - y->acked_msgs;

	/* A ring indexed by message number modulo its size. */
	if (count == y->inflight_cap) {
		size_t cap = y->inflight_cap ? 2 * y->inflight_cap : 64, k;
		size_t *ring = malloc(cap * sizeof(*ring));

		if (ring == NULL)
			return -1;
		for (k = 0; k < count; k++)
			ring[(y->acked_msgs + k) % cap] =
			    y->inflight_len[(y->acked_msgs + k) % y->inflight_cap];
		free(y->inflight_len);
		y->inflight_len = ring;
		y->inflight_cap = cap;
	}
	y->inflight_len[y->sent_msgs % y->inflight_cap] = len;
	y->sent_msgs++;
	y->inflight += len;
	return 0;
}

static int flush_sets(struct session *s, struct msg_sets_writer *w, uint8_t *buf)
{
	struct sync *y = s->sync;
	size_t count = msg_sets_writer_count(w), len;

	if (count == 0)
		return 0;
	len = msg_sets_writer_finish(w);
	if (session_send(s, buf, len) != 0)
		return -1;
	if (inflight_push(y, len) != 0) {
		session_close(s, "out of memory", 0);
		return -1;
	}
	y->sets_sent += count;
	y->last_at = (int64_t)time(NULL);
	msg_sets_writer_begin(w, buf, MSG_MAX);
	return 0;
}

/* How many change sets the peer did not take from us: those of stalled
 * pairs, but for pairs whose origin may not write the scope by our own
 * member list (a removed member's later change sets): holding those is
 * what we would do too, so they are counted apart, in *held (may be NULL). */
static uint64_t not_taken(struct session *s, uint64_t *held)
{
	uint8_t hash[CS_HASH_LEN];
	uint64_t total = 0, mine, n;
	struct head *e;
	size_t i = 0;
	lm_err err;

	if (held != NULL)
		*held = 0;
	while ((e = heads_each(&s->sync->peer, &i)) != NULL) {
		if (!e->stalled ||
		    cslog_head(&s->d->store, e->origin, e->scope, &mine, hash, &err) != 0)
			continue;
		n = mine > e->theirs ? mine - e->theirs : 1;
		if (origin_writes(s->d, e->scope, e->origin))
			total += n;
		else if (held != NULL)
			*held += n;
	}
	return total;
}

static void answer_mark(struct session *s)
{
	struct sync *y = s->sync;
	uint8_t buf[48];
	size_t len;
	lm_err err;

	if (y->mark_in == 0 || !y->idle)
		return;
	if (msg_encode_marked(y->mark_in, not_taken(s, NULL), buf, sizeof(buf), &len, &err) == 0)
		session_send(s, buf, len);
	y->mark_in = 0;
}

/* One step: add what the peer lacks among the next log entries. Returns 1
 * when the window is full, 0 when the log was read to its end, -1 on error
 * (the session is closed). */
static int pump_step(struct session *s, struct msg_sets_writer *w, uint8_t *buf)
{
	struct cslog_entry batch[SCAN_BATCH];
	struct sync *y = s->sync;
	size_t n, i;
	lm_err err;

	if (cslog_scan(&s->d->store, y->cursor, batch, SCAN_BATCH, &n, &err) != 0) {
		log_error("sync", "cannot read the log error=\"%s\"", err.msg);
		session_close(s, "this site cannot read its log", 0);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const struct cslog_entry *c = &batch[i];
		struct head *e;
		uint8_t *env;
		size_t len;
		int rc;

		struct route r = peer_route(s, c->scope);

		if (!route_takes(&r, c->local_id)) {
			y->cursor = c->local_id;
			continue;
		}
		/* A scope the peer was refused before is granted now: what was
		 * skipped then is due, so start again where it first lacks. */
		if (y->regained) {
			y->regained = 0;
			if (place_cursor(s, &err) != 0) {
				session_close(s, err.msg, 0);
				return -1;
			}
			return 2;
		}
		e = heads_get(&y->peer, c->origin, c->scope, strlen(c->scope));
		if (e == NULL) {
			session_close(s, "out of memory", 0);
			return -1;
		}
		/* Held already, stalled (resent from a rewind), or out of turn. */
		if (c->seq != e->theirs + 1 || e->stalled) {
			y->cursor = c->local_id;
			continue;
		}
		if (y->inflight >= SYNC_WINDOW)
			return 1;
		rc = cslog_envelope(&s->d->store, c->local_id, &env, &len, &err);
		if (rc <= 0) {
			log_error("sync", "cannot read change set %lld of the log error=\"%s\"",
				  (long long)c->local_id, rc < 0 ? err.msg : "gone");
			session_close(s, "this site cannot read its log", 0);
			return -1;
		}
		rc = msg_sets_writer_add(w, env, len, &err);
		if (rc == 1) {
			if (flush_sets(s, w, buf) != 0) {
				free(env);
				return -1;
			}
			/* Full now: this one waits for the next pump. */
			if (y->inflight >= SYNC_WINDOW) {
				free(env);
				return 1;
			}
			rc = msg_sets_writer_add(w, env, len, &err);
		}
		free(env);
		if (rc != 0) {
			session_close(s, "a change set of the log does not fit a message", 0);
			return -1;
		}
		e->theirs = c->seq;
		e->last_msg = y->sent_msgs + 1; /* the message being filled */
		e->last_at = (int64_t)time(NULL);
		y->cursor = c->local_id;
	}
	return n == 0 ? 0 : 2;
}

void sync_pump(struct session *s)
{
	struct sync *y = s->sync;
	struct msg_sets_writer w;
	uint8_t *buf;
	int rc;

	if (y == NULL || !y->heads_done || s->state != SESSION_READY || s->link == NULL ||
	    s->link->session != s)
		return;
	buf = malloc(MSG_MAX);
	if (buf == NULL) {
		session_close(s, "out of memory", 0);
		return;
	}
	y->nmemo = 0;
	y->idle = 0;
	msg_sets_writer_begin(&w, buf, MSG_MAX);
	do
		rc = pump_step(s, &w, buf);
	while (rc == 2);
	if (rc >= 0 && flush_sets(s, &w, buf) == 0 && rc == 0) {
		y->idle = 1;
		answer_mark(s);
	}
	free(buf);
}

void sync_log_grew(struct daemon *d)
{
	struct session *s;

	for (s = d->sessions; s; s = s->next)
		sync_pump(s);
}

uint64_t sync_barrier_start(struct daemon *d)
{
	struct session *s;

	d->barrier++;
	for (s = d->sessions; s; s = s->next)
		if (s->sync != NULL && s->sync->heads_done && s->state == SESSION_READY)
			send_mark(s, d->barrier);
	return d->barrier;
}

/* ---- receiving ---------------------------------------------------------- */

static void note_refusal(struct session *s, const struct merge_outcome *o)
{
	struct sync *y = s->sync;
	char hex[2 * CS_KEY_LEN + 1], who[SITEID_SHORT_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), o->origin, CS_KEY_LEN);
	label(s, who, sizeof(who));
	snprintf(y->last_refusal, sizeof(y->last_refusal),
		 "%s: origin %.16s... scope %s seq %llu: %s", merge_result_name(o->result), hex,
		 o->scope, (unsigned long long)o->seq, o->reason);
	log_warn("sync", "%s change set from peer=%s origin=%.16s scope=%s seq=%llu reason=\"%s\"",
		 merge_result_name(o->result), who, hex, o->scope, (unsigned long long)o->seq,
		 o->reason);
}

/* The ack for the sets message just merged: our heads of every pair it
 * touched, in as many messages as they need (all with the same count). */
static void send_ack(struct session *s, const struct merge_outcome *out, size_t n)
{
	static const size_t budget = MSG_MAX - MSG_HEADS_OVERHEAD;
	struct sync *y = s->sync;
	struct msg_heads_writer w;
	uint8_t *heads = malloc(budget), *msg = malloc(MSG_MAX);
	uint8_t hash[CS_HASH_LEN];
	size_t i = 0, j, len;
	uint64_t seq;
	lm_err err;

	if (heads == NULL || msg == NULL) {
		session_close(s, "out of memory", 0);
		goto done;
	}
	do {
		msg_heads_writer_begin(&w, heads, budget);
		for (; i < n; i++) {
			int dup = 0, rc;

			if (out[i].scope[0] == '\0')
				continue; /* not even a header could be read */
			for (j = 0; j < i && !dup; j++)
				dup = strcmp(out[j].scope, out[i].scope) == 0 &&
				      memcmp(out[j].origin, out[i].origin, CS_KEY_LEN) == 0;
			if (dup)
				continue;
			if (cslog_head(&s->d->store, out[i].origin, out[i].scope, &seq, hash,
				       &err) != 0) {
				session_close(s, err.msg, 0);
				goto done;
			}
			rc = msg_heads_writer_add(&w, out[i].scope, out[i].origin, seq, &err);
			if (rc == 1)
				break;
			if (rc < 0) {
				session_close(s, err.msg, 0);
				goto done;
			}
		}
		struct msg_heads h = {heads, msg_heads_writer_finish(&w)};

		if (msg_encode_ack(y->recv_msgs, &h, msg, MSG_MAX, &len, &err) != 0) {
			session_close(s, err.msg, 0);
			goto done;
		}
		if (session_send(s, msg, len) != 0)
			goto done;
	} while (i < n);
done:
	free(heads);
	free(msg);
}

void sync_ack(struct session *s, int durable)
{
	struct sync *y = s->sync;

	if (y == NULL || y->unacked == NULL)
		return;
	if (durable)
		send_ack(s, y->unacked, y->nunacked);
	else
		session_close(s, "this site could not flush its store to disk; see its log", 0);
	free(y->unacked);
	y->unacked = NULL;
	y->nunacked = 0;
}

/* Merge what arrived since the last flush as one batch: one transaction for
 * every sets message the loop read in one go, committed without waiting for
 * the disk; the ack waits for it (sync_ack). */
int sync_flush(struct session *s)
{
	struct daemon *d = s->d;
	struct sync *y = s->sync;
	struct seal_key key = {d->key.public_key, d->key.secret_key};
	struct merge_options opt = {daemon_wall_ms(), d->conf.limits.max_skew_ms, &key,
				    d->conf.kind == SITE_HUB, 1};
	const uint8_t **envs = NULL;
	struct merge_outcome *out = NULL;
	size_t n, i;
	lm_err err;

	if (y == NULL || y->rx_msgs == 0)
		return 0;
	/* Local writes are being sealed on the worker; a merge compares with
	 * every local write, so it would first seal all that is left, on the
	 * loop (a bulk write: for seconds). The sets wait for the sealer, which
	 * flushes them (sealer_holds_merges), bounded by the peer's window. */
	if (sealer_holds_merges(&d->sealer))
		return 0;
	/* The caller acks each flush (daemon_merged); should one be left, ack
	 * it first, once durable, so acks stay in order. */
	if (y->unacked != NULL)
		sync_ack(s, store_sync(&d->store, &err) == 0);
	n = y->rx_n;
	envs = calloc(n + 1, sizeof(*envs));
	out = calloc(n + 1, sizeof(*out));
	if (envs == NULL || out == NULL) {
		session_close(s, "out of memory", 0);
		goto done;
	}
	for (i = 0; i < n; i++)
		envs[i] = y->rx_buf + y->rx_at[i];
	if (s->state == SESSION_CLOSING)
		goto done;
	if (merge_batch(&d->store, envs, y->rx_len_of, n, &opt, out, &err) != 0) {
		log_error("sync", "merging failed error=\"%s\"", err.msg);
		session_close(s, "this site could not merge; see its log", 0);
		goto done;
	}
	y->recv_msgs += y->rx_msgs;
	y->sets_received += n;
	y->last_at = (int64_t)time(NULL);
	for (i = 0; i < n; i++) {
		struct head *e;

		if (out[i].result == MERGE_REJECTED || out[i].result == MERGE_QUARANTINED ||
		    out[i].result == MERGE_HELD) {
			if (out[i].result != MERGE_HELD)
				y->refused_here++;
			note_refusal(s, &out[i]);
		}
		if (out[i].result == MERGE_REJECTED || out[i].scope[0] == '\0')
			continue;
		/* The peer holds what it sent us: never send it back. */
		e = heads_get(&y->peer, out[i].origin, out[i].scope, strlen(out[i].scope));
		if (e != NULL && out[i].seq > e->theirs)
			e->theirs = out[i].seq;
		if (e != NULL)
			e->last_at = y->last_at;
	}
	y->unacked = out;
	y->nunacked = n;
	out = NULL;
	if (y->rx_len < MERGE_SMALL)
		checkpointer_soon(&d->checkpointer);
done:
	y->rx_msgs = 0;
	y->rx_n = 0;
	y->rx_len = 0;
	/* Between bursts a session holds no receive buffer: a hub has a session
	 * per site, and a buffer grown by one burst (up to RX_MAX) would stay. */
	free(y->rx_buf);
	free(y->rx_at);
	free(y->rx_len_of);
	y->rx_buf = NULL;
	y->rx_at = NULL;
	y->rx_len_of = NULL;
	y->rx_cap = 0;
	y->rx_ncap = 0;
	free(envs);
	free(out);
	return 1;
}

static int rx_reserve(struct sync *y, size_t bytes)
{
	if (y->rx_n == y->rx_ncap) {
		size_t cap = y->rx_ncap ? 2 * y->rx_ncap : 256;
		size_t *at = realloc(y->rx_at, cap * sizeof(*at));
		size_t *len;

		if (at == NULL)
			return -1;
		y->rx_at = at;
		len = realloc(y->rx_len_of, cap * sizeof(*len));
		if (len == NULL)
			return -1;
		y->rx_len_of = len;
		y->rx_ncap = cap;
	}
	if (y->rx_len + bytes > y->rx_cap) {
		size_t cap = y->rx_cap ? y->rx_cap : 65536;
		uint8_t *buf;

		while (cap < y->rx_len + bytes)
			cap *= 2;
		buf = realloc(y->rx_buf, cap);
		if (buf == NULL)
			return -1;
		y->rx_buf = buf;
		y->rx_cap = cap;
	}
	return 0;
}

/* Keep the envelopes (they point into a buffer the next read reuses) and
 * have them merged once the loop has read what the socket holds. */
static void on_sets(struct session *s, const struct msg_sets *sets)
{
	struct sync *y = s->sync;
	struct msg_sets_iter it;
	const uint8_t *env;
	size_t len;
	lm_err err;

	msg_sets_iter_begin(&it, sets);
	while (msg_sets_next(&it, &env, &len, &err) == 1) {
		if (rx_reserve(y, len) != 0) {
			session_close(s, "out of memory", 0);
			return;
		}
		memcpy(y->rx_buf + y->rx_len, env, len);
		y->rx_at[y->rx_n] = y->rx_len;
		y->rx_len_of[y->rx_n++] = len;
		y->rx_len += len;
	}
	y->rx_msgs++;
	/* The window bounds what a peer sends unacknowledged; this bounds what
	 * waits here if a peer ignores it. */
	if (y->rx_len >= RX_MAX) {
		if (sealer_holds_merges(&s->d->sealer)) {
			session_close(s, "the peer sent more than its window allows", 0);
			return;
		}
		if (sync_flush(s))
			daemon_merged(s->d);
		return;
	}
	daemon_flush_soon(s->d);
}

/* An ack: the window opens, and a head lower than what we sent shows a
 * change set the peer did not take. */
static void on_ack(struct session *s, uint64_t count, const struct msg_heads *h)
{
	struct sync *y = s->sync;
	struct msg_heads_iter it;
	const uint8_t *origin;
	const char *scope;
	size_t scope_len;
	uint64_t seq, now = uv_now(&s->d->loop);
	lm_err err;
	int rc;

	if (count > y->sent_msgs) {
		session_close(s, "the peer acknowledged more than was sent", 0);
		return;
	}
	while (y->acked_msgs < count) {
		y->inflight -= y->inflight_len[y->acked_msgs % y->inflight_cap];
		y->acked_msgs++;
	}
	msg_heads_iter_begin(&it, h);
	while ((rc = msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err)) == 1) {
		struct head *e = heads_find(&y->peer, origin, scope, scope_len);

		if (e == NULL)
			continue;
		if (seq > e->theirs) {
			e->theirs = seq; /* it had more, from elsewhere */
		} else if (seq < e->theirs && e->last_msg <= count && !e->stalled) {
			char who[SITEID_SHORT_LEN + 1];

			label(s, who, sizeof(who));
			e->stalled = 1;
			e->writer = origin_writes(s->d, e->scope, e->origin);
			y->refused_there += e->theirs - seq;
			e->backoff_ms = e->backoff_ms ? e->backoff_ms : RETRY_MIN_MS;
			e->retry_ms = now + e->backoff_ms;
			log_warn("sync",
				 "peer=%s did not take scope=%s seq=%llu (holds %llu); "
				 "sending it again in %u ms",
				 who, e->scope, (unsigned long long)seq + 1,
				 (unsigned long long)seq, e->backoff_ms);
			e->backoff_ms =
			    e->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : e->backoff_ms * 2;
			e->theirs = seq;
		}
	}
	if (rc < 0) {
		session_close(s, err.msg, 0);
		return;
	}
	sync_pump(s);
}

void sync_on_message(struct session *s, const struct msg *m)
{
	struct sync *y = s->sync;

	if (y == NULL)
		return;
	switch (m->type) {
	case MSG_HEADS:
		if (y->heads_done) {
			session_close(s, "heads after the initial vector was complete", 0);
			return;
		}
		if (take_heads(s, &m->u.heads.heads) != 0) {
			session_close(s, "out of memory", 0);
			return;
		}
		if (!m->u.heads.more)
			heads_complete(s);
		break;
	case MSG_SETS:
		on_sets(s, &m->u.sets);
		break;
	case MSG_ACK:
		on_ack(s, m->u.ack.count, &m->u.ack.heads);
		break;
	case MSG_MARK:
		y->mark_in = m->u.mark.n;
		sync_pump(s);
		break;
	case MSG_MARKED:
		if (m->u.marked.n > y->marked)
			y->marked = m->u.marked.n;
		break;
	default:
		break;
	}
}

/* ---- time --------------------------------------------------------------- */

void sync_tick(struct session *s, uint64_t now)
{
	struct sync *y = s->sync;
	struct head *e;
	size_t i = 0;
	int rewound = 0;
	lm_err err;

	if (y == NULL || !y->heads_done)
		return;
	while ((e = heads_each(&y->peer, &i)) != NULL) {
		int64_t at;
		int found;

		if (!e->stalled)
			continue;
		/* An origin that could not write and now can (added again): the
		 * peer, which held its change set for want of a role, may take it
		 * now too, so it need not wait out the backoff. */
		if (now < e->retry_ms) {
			int writer = origin_writes(s->d, e->scope, e->origin);

			if (writer && !e->writer) {
				e->retry_ms = now;
				e->backoff_ms = RETRY_MIN_MS;
			}
			e->writer = writer;
		}
		if (now < e->retry_ms)
			continue;
		e->stalled = 0;
		found =
		    cslog_find(&s->d->store, e->origin, e->scope, e->theirs + 1, &at, NULL, &err);
		if (found < 0) {
			session_close(s, err.msg, 0);
			return;
		}
		if (found && at - 1 < y->cursor)
			y->cursor = at - 1;
		rewound = 1;
	}
	if (rewound || (y->mark_in && !y->idle))
		sync_pump(s);
}

/* ---- reports ------------------------------------------------------------ */

static struct sync_scope_report *scope_entry(struct sync_scope_report **arr, size_t *n, size_t *cap,
					     const char *scope)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*arr)[i].scope, scope) == 0)
			return &(*arr)[i];
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 8;
		struct sync_scope_report *grown = realloc(*arr, c * sizeof(**arr));

		if (grown == NULL)
			return NULL;
		*arr = grown;
		*cap = c;
	}
	memset(&(*arr)[*n], 0, sizeof(**arr));
	snprintf((*arr)[*n].scope, sizeof((*arr)[0].scope), "%s", scope);
	return &(*arr)[(*n)++];
}

/* Our change sets of vv the peer lacks, as it is routed: to send, or held
 * when their origin may not write the scope here (the peer that knows so
 * holds them; one that does not takes them as they are sent, and the
 * barrier still waits for what is sent). */
static int report_ours(struct session *s, const struct vv_entry *v, struct sync_scope_report *r,
		       const struct route *route, lm_err *err)
{
	struct head *e = heads_find(&s->sync->peer, v->origin, v->scope, strlen(v->scope));
	uint64_t theirs = e ? e->theirs : 0, target;

	if (route_head(s->d, route, v, &target, err) != 0)
		return -1;
	if (route->removed) {
		r->peer_removed = 1;
		r->removed_by_known = 1;
		memcpy(r->removed_by, route->by, CS_KEY_LEN);
	}
	if (target <= theirs)
		return 0;
	if (!origin_writes(s->d, v->scope, v->origin))
		r->held += target - theirs;
	else
		r->to_send += target - theirs;
	return 0;
}

/* Whether this site lost its role in each governed scope of the report. */
static int report_self(struct session *s, struct sync_scope_report *arr, size_t n, lm_err *err)
{
	struct member_removal rm;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = member_removal(&s->d->store, arr[i].scope, s->d->key.public_key, &rm, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		arr[i].self_removed = 1;
		arr[i].removed_by_known = 1;
		memcpy(arr[i].removed_by, rm.by, CS_KEY_LEN);
	}
	return 0;
}

/* The scopes the peer shares with us; *out is malloc'd. */
static int scope_report(struct session *s, struct sync_scope_report **out, size_t *n, lm_err *err)
{
	struct sync *y = s->sync;
	struct sync_scope_report *arr = NULL, *r;
	struct vv_entry *vv;
	size_t nvv, cap = 0, i;
	struct head *e;

	*out = NULL;
	*n = 0;
	if (y == NULL)
		return 0;
	if (cslog_vv(&s->d->store, &vv, &nvv, err) != 0)
		return -1;
	y->nmemo = 0;
	for (i = 0; i < nvv; i++) {
		struct route route = peer_route(s, vv[i].scope);

		if (route.kind == ROUTE_NONE)
			continue;
		r = scope_entry(&arr, n, &cap, vv[i].scope);
		if (r == NULL)
			goto oom;
		if (report_ours(s, &vv[i], r, &route, err) != 0)
			goto fail;
	}
	i = 0;
	while ((e = heads_each(&y->peer, &i)) != NULL) {
		uint8_t hash[CS_HASH_LEN];
		uint64_t mine;

		if (cslog_head(&s->d->store, e->origin, e->scope, &mine, hash, err) != 0)
			goto fail;
		r = scope_entry(&arr, n, &cap, e->scope);
		if (r == NULL)
			goto oom;
		/* What we would hold if it came is not waited for. */
		if (e->theirs > mine && origin_writes(s->d, e->scope, e->origin))
			r->to_receive += e->theirs - mine;
		else if (e->theirs > mine)
			r->held += e->theirs - mine;
		if (e->last_at > r->last_at)
			r->last_at = e->last_at;
	}
	if (report_self(s, arr, *n, err) != 0)
		goto fail;
	free(vv);
	*out = arr;
	return 0;
oom:
	lm_errf(err, "out of memory");
fail:
	free(vv);
	free(arr);
	*n = 0;
	return -1;
}

void sync_report(struct session *s, uint64_t barrier, struct sync_report *r)
{
	struct sync *y = s->sync;
	size_t i;
	lm_err err;

	memset(r, 0, sizeof(*r));
	if (y == NULL)
		return;
	r->ready = y->heads_done;
	r->refused_here = y->refused_here;
	r->sets_sent = y->sets_sent;
	r->sets_received = y->sets_received;
	r->last_at = y->last_at;
	r->inflight = y->inflight;
	snprintf(r->last_refusal, sizeof(r->last_refusal), "%s", y->last_refusal);
	r->refused_there = not_taken(s, NULL);
	if (scope_report(s, &r->scopes, &r->nscopes, &err) != 0)
		log_error("sync", "cannot report scopes error=\"%s\"", err.msg);
	for (i = 0; i < r->nscopes; i++) {
		r->to_send += r->scopes[i].to_send;
		r->to_receive += r->scopes[i].to_receive;
		r->held += r->scopes[i].held;
	}
	/* A bulk write still being sealed in chunks has more to send; sets
	 * read but not merged yet (the barrier's answer may come before they
	 * are) have more to receive. */
	r->in_step = y->heads_done && y->idle && y->inflight == 0 && y->marked >= barrier &&
		     r->refused_there == 0 && r->to_send == 0 && r->to_receive == 0 &&
		     y->rx_msgs == 0 && !sealer_active(&s->d->sealer);
}
