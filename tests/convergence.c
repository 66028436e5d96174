/* SPDX-License-Identifier: MIT */
/* convergence: the convergence invariant, tested by simulation.
 *
 *   convergence [--seed N] [--ops N] [--replicas N] [--stable-scopes] [--verbose]
 *
 * A few replicas, each a real store file with its own Ed25519 key, take
 * random writes through plain SQL (inserts, re-creations of deleted keys,
 * upserts, updates of random columns, deletes, several statements in one
 * transaction) on a small key space so that conflicts are frequent. Each has
 * a fake wall clock that drifts and sometimes steps back, within max_skew.
 * Replicas seal after a random number of writes; what they seal goes onto a
 * network of in-flight change sets that delivers to random replicas, in
 * random order and batch sizes, with duplicates, drops (delivered again
 * later) and relays (a replica forwards what its log gained, so sites learn
 * change sets from each other, not only from their origin). Replicas restart
 * (close and reopen) at random points. A gap is normal; the change set goes
 * back on the network or is left to anti-entropy.
 *
 * At the end every replica seals, the network drains, and anti-entropy
 * rounds (every pair, the receiver's version vector, cslog_missing_*) run
 * until nothing changes. Then every replica must hold the same replicated
 * tables, causal lengths, version vectors and column winners; nothing may
 * have been rejected, quarantined or held (all sites are honest and their
 * clocks within max_skew), nothing may be left in repl_capture, and each
 * site's own change sets must carry strictly growing clocks that exceed
 * every clock it had seen when it sealed them.
 *
 * Every decision comes from one splitmix64 stream seeded by --seed, keys
 * included (crypto_sign_seed_keypair), so a seed replays the same run.
 * --stable-scopes keeps every key in one scope for its whole life (no row
 * ever changes scope), which checks the other merge rules apart from how
 * re-created rows change scope.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/replica.h"
#include "tests/support/tmpdir.h"

#define MAX_REPLICAS  16
#define NIDS	      8
#define NSCOPES	      2
#define NCOURSES      4
#define MAX_SKEW_MS   300000 /* 5 minutes, the documented default */
#define MAX_OFFSET_MS 60000  /* wall clocks stay within +-1 min of true time */
#define EPOCH_MS      UINT64_C(1795440000000)

struct msg {
	uint8_t *env;
	size_t len;
};

struct queue {
	struct msg *m;
	size_t n, cap;
};

struct stats {
	long ops, sql_statements, refused_ok, seals, changesets, batches, delivered, applied,
	    duplicates, gaps, drops, dups, relays, restarts, step_backs, pulls, rounds;
};

struct sim {
	uint64_t seed, rng;
	int ops, nrep, verbose, stable_scopes;
	char dir[64];
	struct replica rep[MAX_REPLICAS];
	int64_t offset[MAX_REPLICAS];
	uint64_t truth;
	struct queue net[MAX_REPLICAS], dropped[MAX_REPLICAS];
	struct stats s;
	int passed, failed;
};

static const char *const scopes[NSCOPES] = {"net-midt", "avtale-7"};

/* ---- randomness ---- */

static uint64_t rnd(struct sim *s)
{
	uint64_t z = (s->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t below(struct sim *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static int chance(struct sim *s, unsigned num, unsigned den)
{
	return below(s, den) < num;
}

/* ---- reporting ---- */

static void rerun_hint(const struct sim *s)
{
	fprintf(stderr,
		"convergence: rerun with: convergence --seed %" PRIu64 " --ops %d "
		"--replicas %d%s --verbose\n",
		s->seed, s->ops, s->nrep, s->stable_scopes ? " --stable-scopes" : "");
}

static void fatal(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fatal(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "convergence: FATAL (op %ld): ", s->s.ops);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nconvergence: 0 passed, 1 failed\n");
	rerun_hint(s);
	exit(1);
}

static void fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	s->failed++;
	if (s->failed > 20)
		return; /* the first ones tell the story */
	fprintf(stderr, "convergence: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static void trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void trace(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->verbose)
		return;
	printf("[%ld] ", s->s.ops);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- clocks ---- */

static uint64_t wall(const struct sim *s, int r)
{
	return (uint64_t)((int64_t)s->truth + s->offset[r]);
}

static void clamp_offset(struct sim *s, int r)
{
	if (s->offset[r] > MAX_OFFSET_MS)
		s->offset[r] = MAX_OFFSET_MS;
	if (s->offset[r] < -MAX_OFFSET_MS)
		s->offset[r] = -MAX_OFFSET_MS;
}

/* True time moves on; each wall clock drifts, and now and then steps back. */
static void tick(struct sim *s)
{
	int r;

	s->truth += below(s, 1500);
	for (r = 0; r < s->nrep; r++) {
		if (chance(s, 1, 20))
			s->offset[r] += (int64_t)below(s, 10001) - 5000;
		if (chance(s, 1, 60)) {
			uint64_t back = 1 + below(s, 30000);

			s->offset[r] -= (int64_t)back;
			s->s.step_backs++;
			trace(s, "clock of r%d steps back %" PRIu64 " ms", r, back);
		}
		clamp_offset(s, r);
	}
}

/* ---- the network ---- */

static void queue_push(struct sim *s, struct queue *q, const uint8_t *env, size_t len)
{
	struct msg *m;

	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 64;

		m = realloc(q->m, cap * sizeof(*m));
		if (m == NULL)
			fatal(s, "out of memory");
		q->m = m;
		q->cap = cap;
	}
	m = &q->m[q->n];
	m->env = malloc(len);
	if (m->env == NULL)
		fatal(s, "out of memory");
	memcpy(m->env, env, len);
	m->len = len;
	q->n++;
}

/* Take a random message out of q (the caller owns it). */
static struct msg queue_take(struct sim *s, struct queue *q)
{
	size_t i = below(s, q->n);
	struct msg m = q->m[i];

	q->m[i] = q->m[--q->n];
	return m;
}

static void queue_free(struct queue *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		free(q->m[i].env);
	free(q->m);
	memset(q, 0, sizeof(*q));
}

/* Everything dropped on the way to r is on its way again. */
static void redeliver(struct sim *s, int r)
{
	while (s->dropped[r].n > 0) {
		struct msg m = s->dropped[r].m[--s->dropped[r].n];

		queue_push(s, &s->net[r], m.env, m.len);
		free(m.env);
	}
}

/* What r's log gained since it held `before`. */
static void gained(struct sim *s, int r, const struct vv_entry *before, size_t nbefore,
		   struct envlist *out)
{
	lm_err err;

	if (replica_missing(&s->rep[r], before, nbefore, out, &err) != 0)
		fatal(s, "r%d: listing new change sets: %s", r, err.msg);
}

static void vv_of(struct sim *s, int r, struct vv_entry **vv, size_t *n)
{
	lm_err err;

	if (cslog_vv(&s->rep[r].st, vv, n, &err) != 0)
		fatal(s, "r%d: reading the version vector: %s", r, err.msg);
}

/* Send each of l to every other replica with probability num/den. */
static void spread(struct sim *s, int from, const struct envlist *l, unsigned num, unsigned den)
{
	size_t i;
	int to;

	for (i = 0; i < l->n; i++)
		for (to = 0; to < s->nrep; to++)
			if (to != from && chance(s, num, den)) {
				queue_push(s, &s->net[to], l->env[i], l->len[i]);
				s->s.relays++;
			}
}

/* ---- sealing ---- */

static void seal(struct sim *s, int r)
{
	struct replica *rep = &s->rep[r];
	struct envlist fresh = {0};
	struct vv_entry *vv;
	int64_t seen, last_id, first_new;
	size_t nvv;
	int count;
	lm_err err;
	char sql[256];

	seen = replica_int(rep, "SELECT coalesce(max(hlc), 0) FROM changeset");
	last_id = replica_int(rep, "SELECT coalesce(max(local_id), 0) FROM changeset");
	vv_of(s, r, &vv, &nvv);
	if (replica_seal(rep, wall(s, r), &count, &err) != 0)
		fatal(s, "r%d: seal_pending: %s", r, err.msg);
	s->s.seals++;
	s->s.changesets += count;
	trace(s, "r%d seals %d change sets at %" PRIu64, r, count, wall(s, r));
	if (count > 0) {
		/* Causality: what a site seals is dated after all it has seen. */
		snprintf(sql, sizeof(sql),
			 "SELECT coalesce(min(hlc), 0) FROM changeset WHERE local_id > %" PRId64,
			 last_id);
		first_new = replica_int(rep, sql);
		if (first_new <= seen)
			fail(s,
			     "r%d sealed a change set dated %" PRId64 ", not after %" PRId64
			     ", the latest clock its log held",
			     r, first_new, seen);
		if ((uint64_t)first_new >> 16 < wall(s, r))
			fail(s,
			     "r%d sealed a change set dated %" PRId64 " ms, before its wall "
			     "clock %" PRIu64,
			     r, first_new >> 16, wall(s, r));
	}
	gained(s, r, vv, nvv, &fresh);
	free(vv);
	if ((int)fresh.n != count)
		fail(s, "r%d sealed %d change sets but its log gained %zu", r, count, fresh.n);
	spread(s, r, &fresh, 5, 6);
	envlist_free(&fresh);
}

/* ---- delivery ---- */

static void check_outcome(struct sim *s, int r, const struct merge_outcome *o)
{
	char origin[17];

	sodium_bin2hex(origin, sizeof(origin), o->origin, 8);
	trace(s, "  r%d <- %s/%s/%" PRIu64 ": %s %s", r, origin, o->scope, o->seq,
	      merge_result_name(o->result), o->reason);
	switch (o->result) {
	case MERGE_APPLIED:
		s->s.applied++;
		break;
	case MERGE_DUPLICATE:
		s->s.duplicates++;
		break;
	case MERGE_GAP:
		s->s.gaps++;
		break;
	default:
		fail(s, "r%d: change set %s.../%s/%" PRIu64 " from an honest site was %s: %s", r,
		     origin, o->scope, o->seq, merge_result_name(o->result), o->reason);
	}
}

/* Merge l at r in one batch; relay with probability rnum/rden what r's log
 * gained; put gaps back on the network with probability 1/2. */
static void deliver(struct sim *s, int r, const struct envlist *l, unsigned rnum, unsigned rden)
{
	struct merge_outcome *out = calloc(l->n ? l->n : 1, sizeof(*out));
	struct envlist fresh = {0};
	struct vv_entry *vv;
	size_t nvv, i;
	lm_err err;

	if (out == NULL)
		fatal(s, "out of memory");
	vv_of(s, r, &vv, &nvv);
	if (replica_merge(&s->rep[r], l->env, l->len, l->n, wall(s, r), MAX_SKEW_MS, out, &err) !=
	    0)
		fatal(s, "r%d: merge_batch of %zu: %s", r, l->n, err.msg);
	s->s.batches++;
	s->s.delivered += (long)l->n;
	trace(s, "r%d merges a batch of %zu at %" PRIu64, r, l->n, wall(s, r));
	for (i = 0; i < l->n; i++) {
		check_outcome(s, r, &out[i]);
		if (out[i].result == MERGE_GAP && chance(s, 1, 2))
			queue_push(s, &s->net[r], l->env[i], l->len[i]);
	}
	gained(s, r, vv, nvv, &fresh);
	free(vv);
	spread(s, r, &fresh, rnum, rden);
	envlist_free(&fresh);
	free(out);
}

/* One delivery: a random batch of what is in flight to a random replica. */
static void network_step(struct sim *s, int lossy)
{
	struct envlist batch = {0};
	int candidates[MAX_REPLICAS], n = 0, r;
	size_t want, k;

	for (r = 0; r < s->nrep; r++)
		if (s->net[r].n > 0)
			candidates[n++] = r;
	if (n == 0)
		return;
	r = candidates[below(s, (uint64_t)n)];
	want = 1 + below(s, 1 + below(s, 12));
	for (k = 0; k < want && s->net[r].n > 0; k++) {
		struct msg m = queue_take(s, &s->net[r]);

		if (lossy && chance(s, 1, 12)) {
			queue_push(s, &s->dropped[r], m.env, m.len);
			s->s.drops++;
		} else {
			if (lossy && chance(s, 1, 12)) {
				queue_push(s, &s->net[r], m.env, m.len);
				s->s.dups++;
			}
			if (envlist_add(&batch, m.env, m.len) != 0)
				fatal(s, "out of memory");
		}
		free(m.env);
	}
	if (batch.n > 0)
		deliver(s, r, &batch, 1, 4);
	envlist_free(&batch);
}

/* Anti-entropy, one way: `to` takes what `from` holds that it lacks, in
 * batches of random size. Returns the number applied. */
static int pull(struct sim *s, int to, int from)
{
	struct envlist l = {0};
	struct merge_outcome *out;
	size_t at = 0, i, n;
	lm_err err;
	int applied = 0;

	if (replica_missing_for(&s->rep[from], &s->rep[to], &l, &err) != 0)
		fatal(s, "r%d -> r%d: cslog_missing: %s", from, to, err.msg);
	out = calloc(l.n ? l.n : 1, sizeof(*out));
	if (out == NULL)
		fatal(s, "out of memory");
	s->s.pulls++;
	while (at < l.n) {
		n = 1 + below(s, 64);
		if (n > l.n - at)
			n = l.n - at;
		if (replica_merge(&s->rep[to], l.env + at, l.len + at, n, wall(s, to), MAX_SKEW_MS,
				  out, &err) != 0)
			fatal(s, "r%d pulling from r%d: merge_batch: %s", to, from, err.msg);
		s->s.batches++;
		s->s.delivered += (long)n;
		for (i = 0; i < n; i++) {
			check_outcome(s, to, &out[i]);
			if (out[i].result == MERGE_GAP)
				fail(s,
				     "r%d pulling from r%d in log order: seq %" PRIu64
				     " of %s came as a gap: %s",
				     to, from, out[i].seq, out[i].scope, out[i].reason);
			applied += out[i].result == MERGE_APPLIED;
		}
		at += n;
	}
	trace(s, "r%d pulls %zu from r%d: %d applied", to, l.n, from, applied);
	free(out);
	envlist_free(&l);
	return applied;
}

/* ---- client writes ---- */

static void gen_text(struct sim *s, char *out, size_t cap)
{
	static const char *const words[] = {
	    "KOLS-skole",
	    "Mestringstreff",
	    "Hjerteskolen",
	    "L\xc3\xa6ring og mestring",
	    "P\xc3\xa5r\xc3\xb8rendekurs",
	    "R\xc3\xb8ykeslutt",
	    "Diabetesskole",
	    "S\xc3\xb8vnkurs",
	    "it''s",
	    "",
	};
	uint64_t k = below(s, 20), i, n;
	size_t len;

	if (k == 0) {
		snprintf(out, cap, "NULL");
	} else if (k == 1) {
		n = 1 + below(s, 6);
		len = (size_t)snprintf(out, cap, "x'");
		for (i = 0; i < n; i++)
			len +=
			    (size_t)snprintf(out + len, cap - len, "%02x", (unsigned)below(s, 256));
		snprintf(out + len, cap - len, "'");
	} else if (k == 2) {
		snprintf(out, cap, "%" PRId64, (int64_t)below(s, 2001) - 1000);
	} else {
		snprintf(out, cap, "'%s %" PRIu64 "'", words[below(s, 10)], below(s, 100));
	}
}

static void gen_int(struct sim *s, char *out, size_t cap)
{
	switch (below(s, 16)) {
	case 0:
		snprintf(out, cap, "NULL");
		break;
	case 1:
		snprintf(out, cap, "%s",
			 chance(s, 1, 2) ? "9223372036854775807" : "-9223372036854775808");
		break;
	case 2:
		snprintf(out, cap, "%" PRId64 ".5", (int64_t)below(s, 100));
		break;
	case 3:
		snprintf(out, cap, "'%" PRIu64 "'",
			 below(s, 100)); /* affinity makes it an integer */
		break;
	case 4:
		snprintf(out, cap, "'mange'");
		break;
	default:
		snprintf(out, cap, "%" PRId64, (int64_t)below(s, 2001) - 1000);
	}
}

static void gen_real(struct sim *s, char *out, size_t cap)
{
	switch (below(s, 16)) {
	case 0:
		snprintf(out, cap, "NULL");
		break;
	case 1:
		snprintf(out, cap, "%" PRId64, (int64_t)below(s, 100)); /* becomes a real */
		break;
	case 2:
		snprintf(out, cap, "-0.0");
		break;
	case 3:
		snprintf(out, cap, "%s", chance(s, 1, 2) ? "1e300" : "-2.2250738585072014e-308");
		break;
	default:
		snprintf(out, cap, "%.17g", ((double)below(s, 2000001) - 1000000.0) / 997.0);
	}
}

static void note_values(struct sim *s, char *body, char *n, char *x, size_t cap)
{
	gen_text(s, body, cap);
	gen_int(s, n, cap);
	gen_real(s, x, cap);
}

static int note_scope_of(struct sim *s, int id)
{
	return s->stable_scopes ? id % NSCOPES : (int)below(s, NSCOPES);
}

/* The scope a note has now, or -1 when it does not exist. */
static int note_scope_now(struct sim *s, int r, int id)
{
	char sql[128];
	int i;

	for (i = 0; i < NSCOPES; i++) {
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM note WHERE id = 'k%d' AND scope = '%s'", id,
			 scopes[i]);
		if (replica_int(&s->rep[r], sql) > 0)
			return i;
	}
	return -1;
}

/* One statement on note; in_txn: keep it valid whatever ran before it. */
static void gen_note(struct sim *s, int r, int in_txn, char *sql, size_t cap)
{
	char body[64], n[64], x[64];
	int id = (int)below(s, NIDS), now = note_scope_now(s, r, id), sc;

	note_values(s, body, n, x, sizeof(body));
	switch (below(s, 10)) {
	case 0:
	case 1:
	case 2: /* insert, or re-create a deleted key */
		sc = now >= 0 && s->stable_scopes ? now : note_scope_of(s, id);
		if (now < 0 && !in_txn)
			snprintf(sql, cap,
				 "INSERT INTO note(id, scope, body, n, x) VALUES ('k%d', '%s', %s, "
				 "%s, %s)",
				 id, scopes[sc], body, n, x);
		else if (chance(s, 1, 3))
			snprintf(
			    sql, cap,
			    "INSERT OR REPLACE INTO note(id, scope, body, n, x) VALUES ('k%d', "
			    "'%s', %s, %s, %s)",
			    id, scopes[now >= 0 ? now : sc], body, n, x);
		else if (chance(s, 1, 2))
			snprintf(sql, cap,
				 "INSERT INTO note(id, scope, body) VALUES ('k%d', '%s', %s) ON "
				 "CONFLICT (id) DO UPDATE SET body = excluded.body, n = %s",
				 id, scopes[sc], body, n);
		else
			snprintf(
			    sql, cap,
			    "INSERT OR IGNORE INTO note(id, scope, x) VALUES ('k%d', '%s', %s)", id,
			    scopes[sc], x);
		break;
	case 3:
	case 4:
	case 5:
	case 6: /* update random columns */
		switch (below(s, 8)) {
		case 0:
			snprintf(sql, cap,
				 "UPDATE note SET body = %s, n = %s, x = %s WHERE id = 'k%d'", body,
				 n, x, id);
			break;
		case 1:
			snprintf(sql, cap, "UPDATE note SET n = %s, x = %s WHERE id = 'k%d'", n, x,
				 id);
			break;
		case 2:
			snprintf(sql, cap, "UPDATE note SET n = %s WHERE id = 'k%d'", n, id);
			break;
		case 3:
			snprintf(sql, cap, "UPDATE note SET x = %s WHERE id = 'k%d'", x, id);
			break;
		case 4:
			snprintf(sql, cap,
				 "UPDATE note SET x = coalesce(x, 0) + 1.25 WHERE scope = '%s'",
				 scopes[below(s, NSCOPES)]);
			break;
		case 5: /* a write that changes nothing captures nothing */
			snprintf(sql, cap, "UPDATE note SET body = body WHERE id = 'k%d'", id);
			break;
		default:
			snprintf(sql, cap, "UPDATE note SET body = %s WHERE id = 'k%d'", body, id);
		}
		break;
	default: /* delete */
		if (chance(s, 1, 8))
			snprintf(sql, cap, "DELETE FROM note WHERE x > 100 AND scope = '%s'",
				 scopes[below(s, NSCOPES)]);
		else
			snprintf(sql, cap, "DELETE FROM note WHERE id = 'k%d'", id);
	}
}

static int course_exists(struct sim *s, int r, int id)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM course WHERE owner = '%s' AND id = 'c%d'",
		 s->rep[r].hex, id);
	return replica_int(&s->rep[r], sql) > 0;
}

/* One statement on r's own courses. */
static void gen_course(struct sim *s, int r, int in_txn, char *sql, size_t cap)
{
	char title[64], seats[64];
	int id = (int)below(s, NCOURSES),
	    sc = s->stable_scopes ? id % NSCOPES : (int)below(s, NSCOPES);
	const char *owner = s->rep[r].hex;

	gen_text(s, title, sizeof(title));
	gen_int(s, seats, sizeof(seats));
	switch (below(s, 4)) {
	case 0:
		if (!in_txn && !course_exists(s, r, id))
			snprintf(sql, cap, "INSERT INTO course VALUES ('%s', 'c%d', '%s', %s, %s)",
				 owner, id, scopes[sc], title, seats);
		else
			snprintf(sql, cap,
				 "INSERT INTO course(owner, id, scope, title) VALUES ('%s', 'c%d', "
				 "'%s', %s) ON CONFLICT DO UPDATE SET title = excluded.title",
				 owner, id, scopes[sc], title);
		break;
	case 1:
		snprintf(sql, cap, "UPDATE course SET seats = %s WHERE owner = '%s' AND id = 'c%d'",
			 seats, owner, id);
		break;
	case 2:
		snprintf(sql, cap,
			 "UPDATE course SET title = %s, seats = %s WHERE owner = '%s' AND id = "
			 "'c%d'",
			 title, seats, owner, id);
		break;
	default:
		snprintf(sql, cap, "DELETE FROM course WHERE owner = '%s' AND id = 'c%d'", owner,
			 id);
	}
}

static void run_sql(struct sim *s, int r, const char *sql)
{
	lm_err err;

	trace(s, "r%d: %s", r, sql);
	if (replica_exec(&s->rep[r], sql, &err) != 0) {
		sqlite3_exec(s->rep[r].st.db, "ROLLBACK", NULL, NULL, NULL);
		fatal(s, "r%d: a valid write failed: %s", r, err.msg);
	}
	s->s.sql_statements++;
}

/* Writes the triggers must refuse: another site's course, a scope change. */
static void refused(struct sim *s, int r)
{
	char sql[512];
	int other = (r + 1 + (int)below(s, (uint64_t)(s->nrep - 1))) % s->nrep,
	    id = (int)below(s, NIDS);
	int now = note_scope_now(s, r, id);

	if (chance(s, 1, 2) || now < 0)
		snprintf(sql, sizeof(sql),
			 "INSERT INTO course VALUES ('%s', 'c9', '%s', 'not mine', 1)",
			 s->rep[other].hex, scopes[0]);
	else
		snprintf(sql, sizeof(sql), "UPDATE note SET scope = '%s' WHERE id = 'k%d'",
			 scopes[(now + 1) % NSCOPES], id);
	trace(s, "r%d (must be refused): %s", r, sql);
	if (sqlite3_exec(s->rep[r].st.db, sql, NULL, NULL, NULL) == SQLITE_OK)
		fail(s, "r%d: the triggers let through: %s", r, sql);
	else
		s->s.refused_ok++;
}

static void client_op(struct sim *s, int r)
{
	char sql[2048], one[512];
	size_t len;
	int k, n;

	if (chance(s, 1, 100)) {
		refused(s, r);
		return;
	}
	if (chance(s, 1, 6)) {
		n = 2 + (int)below(s, 3);
		len = (size_t)snprintf(sql, sizeof(sql), "BEGIN;");
		for (k = 0; k < n; k++) {
			if (chance(s, 1, 4))
				gen_course(s, r, 1, one, sizeof(one));
			else
				gen_note(s, r, 1, one, sizeof(one));
			len += (size_t)snprintf(sql + len, sizeof(sql) - len, " %s;", one);
		}
		snprintf(sql + len, sizeof(sql) - len, " COMMIT;");
	} else if (chance(s, 1, 4)) {
		gen_course(s, r, 0, sql, sizeof(sql));
	} else {
		gen_note(s, r, 0, sql, sizeof(sql));
	}
	run_sql(s, r, sql);
}

/* ---- the run ---- */

/* Commits here need not survive power loss (test_merge kills merges to
 * test crash safety): NORMAL spares an fsync per transaction, which is most
 * of the run time on a disk. The store sets FULL at every open. */
static void fast_commits(struct sim *s, int r)
{
	lm_err err;

	if (replica_exec(&s->rep[r], "PRAGMA synchronous = NORMAL", &err) != 0)
		fatal(s, "r%d: %s", r, err.msg);
}

static void restart(struct sim *s, int r)
{
	lm_err err;

	trace(s, "r%d restarts", r);
	if (replica_restart(&s->rep[r], &err) != 0)
		fatal(s, "r%d: restart: %s", r, err.msg);
	fast_commits(s, r);
	s->s.restarts++;
}

static void setup(struct sim *s)
{
	uint8_t seed[32];
	char path[128];
	lm_err err;
	int r, i;

	if (tmpdir_make("convergence", s->dir, sizeof(s->dir), NULL, NULL, 0) != 0)
		fatal(s, "cannot make a temporary directory");
	s->truth = EPOCH_MS;
	for (r = 0; r < s->nrep; r++) {
		for (i = 0; i < 32; i += 8) {
			uint64_t v = rnd(s);

			memcpy(seed + i, &v, 8);
		}
		snprintf(path, sizeof(path), "%s/r%d.db", s->dir, r);
		if (replica_create(&s->rep[r], path, seed, &err) != 0)
			fatal(s, "creating replica %d: %s", r, err.msg);
		fast_commits(s, r);
		s->offset[r] = (int64_t)below(s, 2 * MAX_OFFSET_MS + 1) - MAX_OFFSET_MS;
		if (s->verbose)
			printf("r%d is site %.16s...\n", r, s->rep[r].hex);
	}
}

static void run(struct sim *s)
{
	int r, k, n;

	for (s->s.ops = 0; s->s.ops < s->ops; s->s.ops++) {
		tick(s);
		r = (int)below(s, (uint64_t)s->nrep);
		client_op(s, r);
		if (chance(s, 3, 10))
			seal(s, r);
		n = (int)below(s, 3);
		for (k = 0; k < n; k++)
			network_step(s, 1);
		if (chance(s, 1, 50))
			redeliver(s, (int)below(s, (uint64_t)s->nrep));
		if (chance(s, 1, 100))
			restart(s, (int)below(s, (uint64_t)s->nrep));
		if (chance(s, 1, 300)) {
			int to = (int)below(s, (uint64_t)s->nrep);

			pull(s, to, (to + 1 + (int)below(s, (uint64_t)(s->nrep - 1))) % s->nrep);
		}
	}
}

/* Seal what is left, drain the network, then anti-entropy to a fixed point. */
static void settle(struct sim *s)
{
	int r, a, b, changed, rounds = 0;
	size_t left;

	for (r = 0; r < s->nrep; r++) {
		tick(s);
		seal(s, r);
	}
	for (r = 0; r < s->nrep; r++)
		redeliver(s, r);
	do {
		left = 0;
		network_step(s, 0);
		for (r = 0; r < s->nrep; r++)
			left += s->net[r].n;
	} while (left > 0);
	do {
		changed = 0;
		for (a = 0; a < s->nrep; a++)
			for (b = 0; b < s->nrep; b++)
				if (a != b)
					changed += pull(s, b, a);
		rounds++;
		trace(s, "anti-entropy round %d: %d applied", rounds, changed);
	} while (changed > 0 && rounds < 10);
	s->s.rounds = rounds;
	if (changed > 0)
		fail(s, "anti-entropy still changed %d change sets after %d rounds", changed,
		     rounds);
}

static void expect_zero(struct sim *s, int r, const char *what, const char *sql)
{
	int64_t n = replica_int(&s->rep[r], sql);

	if (n != 0)
		fail(s, "r%d: %lld %s", r, (long long)n, what);
	else
		s->passed++;
}

static void compare(struct sim *s, const char *what, char *(*dump)(struct replica *))
{
	char *first = dump(&s->rep[0]), *other, a[16], b[16];
	int r;

	for (r = 1; r < s->nrep; r++) {
		other = dump(&s->rep[r]);
		if (first == NULL || other == NULL) {
			fail(s, "out of memory dumping %s", what);
		} else if (strcmp(first, other) != 0) {
			fail(s, "%s of r0 and r%d differ", what, r);
			snprintf(a, sizeof(a), "r0");
			snprintf(b, sizeof(b), "r%d", r);
			replica_diff(what, a, first, b, other);
		} else {
			s->passed++;
		}
		free(other);
	}
	free(first);
}

static void check(struct sim *s)
{
	char sql[256];
	lm_err err;
	int r;

	for (r = 0; r < s->nrep; r++) {
		expect_zero(s, r, "captures left unsealed (merged changes captured again?)",
			    "SELECT count(*) FROM repl_capture");
		expect_zero(s, r, "change sets quarantined", "SELECT count(*) FROM quarantine");
		expect_zero(s, r, "change sets held", "SELECT count(*) FROM held");
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM (SELECT hlc, lag(hlc) OVER (ORDER BY local_id) AS p "
			 "FROM changeset WHERE origin = x'%s') WHERE hlc <= p",
			 s->rep[r].hex);
		expect_zero(s, r, "own change sets not dated after the one before", sql);
		if (replica_check_rows(&s->rep[r], &err) != 0)
			fail(s, "%s", err.msg);
		else
			s->passed++;
	}
	compare(s, "replicated tables", replica_dump_tables);
	compare(s, "causal lengths (repl_row)", replica_dump_rows);
	compare(s, "version vectors", replica_dump_vv);
	compare(s, "column winners (repl_clock)", replica_dump_clocks);
}

static void report(struct sim *s, double secs)
{
	char *tables = replica_dump_tables(&s->rep[0]);
	int64_t conflicts = 0;
	int r;

	for (r = 0; r < s->nrep; r++)
		conflicts += replica_int(&s->rep[r], "SELECT count(*) FROM conflict");
	printf("convergence: %ld ops (%ld statements, %ld refused as they must be), %ld seals, "
	       "%ld change sets\n",
	       s->s.ops, s->s.sql_statements, s->s.refused_ok, s->s.seals, s->s.changesets);
	printf("convergence: %ld delivered in %ld batches: %ld applied, %ld duplicates, %ld gaps; "
	       "%ld relayed, %ld dropped, %ld doubled\n",
	       s->s.delivered, s->s.batches, s->s.applied, s->s.duplicates, s->s.gaps, s->s.relays,
	       s->s.drops, s->s.dups);
	printf("convergence: %ld restarts, %ld clock steps back, %ld pulls, %ld final rounds, "
	       "%lld conflicts recorded, %zu bytes of table dump, %.1f s\n",
	       s->s.restarts, s->s.step_backs, s->s.pulls, s->s.rounds, (long long)conflicts,
	       tables ? strlen(tables) : 0, secs);
	if (s->verbose && tables)
		printf("%s", tables);
	free(tables);
}

static int parse_args(struct sim *s, int argc, char **argv)
{
	int i;

	s->seed = (uint64_t)time(NULL);
	s->ops = 10000;
	s->nrep = 4;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			s->seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
			s->ops = atoi(argv[++i]);
		else if (strcmp(argv[i], "--replicas") == 0 && i + 1 < argc)
			s->nrep = atoi(argv[++i]);
		else if (strcmp(argv[i], "--verbose") == 0)
			s->verbose = 1;
		else if (strcmp(argv[i], "--stable-scopes") == 0)
			s->stable_scopes = 1;
		else
			return fprintf(stderr,
				       "usage: convergence [--seed N] [--ops N] [--replicas N] "
				       "[--stable-scopes] [--verbose]\nconvergence: bad argument "
				       "'%s'\n",
				       argv[i]),
			       -1;
	}
	if (s->ops < 0 || s->nrep < 2 || s->nrep > MAX_REPLICAS)
		return fprintf(stderr, "convergence: --replicas must be 2 to %d, --ops >= 0\n",
			       MAX_REPLICAS),
		       -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct sim s;
	struct timespec t0, t1;
	int r;

	if (parse_args(&s, argc, argv) != 0)
		return 2;
	s.rng = s.seed;
	printf("convergence: seed %" PRIu64 ", %d ops, %d replicas%s\n", s.seed, s.ops, s.nrep,
	       s.stable_scopes ? ", stable scopes" : "");
	fflush(stdout);
	if (sodium_init() < 0)
		fatal(&s, "sodium_init failed");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	setup(&s);
	run(&s);
	settle(&s);
	check(&s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	report(&s, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (r = 0; r < s.nrep; r++) {
		replica_destroy(&s.rep[r]);
		queue_free(&s.net[r]);
		queue_free(&s.dropped[r]);
	}
	if (s.failed && s.verbose)
		fprintf(stderr, "convergence: the stores are kept in %s\n", s.dir);
	else
		tmpdir_remove(s.dir);
	printf("convergence: %d passed, %d failed\n", s.passed, s.failed);
	if (s.failed)
		rerun_hint(&s);
	return s.failed ? 1 : 0;
}
