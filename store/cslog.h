/* SPDX-License-Identifier: MIT */
/* The change set log and the version vector.
 *
 * Invariants:
 *  - The log holds, per (origin, scope), the change sets 1..n with no gap:
 *    a change set is appended only when its seq is the next one and its
 *    prev is the hash of the one before (vv.hash). vv(origin, scope) is n
 *    and the hash of change set n.
 *  - Envelopes are stored exactly as signed, so anything read back can be
 *    forwarded and verified by others. Their bytes are in the log file
 *    (store/logfile.h); the changeset table names them.
 *  - Callers hold a transaction around an append and the changes it brings.
 */
#ifndef LMSYNC_STORE_CSLOG_H
#define LMSYNC_STORE_CSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/changeset.h"
#include "store/store.h"

struct vv_entry {
	uint8_t origin[CS_KEY_LEN];
	char scope[CS_SCOPE_MAX + 1];
	uint64_t seq;
	uint8_t hash[CS_HASH_LEN];
};

/* The head of (origin, scope): seq 0 and zero hash when nothing is held. */
int cslog_head(struct store *st, const uint8_t origin[CS_KEY_LEN], const char *scope, uint64_t *seq,
	       uint8_t hash[CS_HASH_LEN], lm_err *err);

/* Append the next change set of its (origin, scope) and advance the vector. */
int cslog_append(struct store *st, const struct cs_header *h, const uint8_t hash[CS_HASH_LEN],
		 const uint8_t *envelope, size_t len, lm_err *err);

/* The log entry of (origin, scope, seq): its local_id and stored hash
 * (either may be NULL). Returns 1 when held, 0 when not. */
int cslog_find(struct store *st, const uint8_t origin[CS_KEY_LEN], const char *scope, uint64_t seq,
	       int64_t *local_id, uint8_t hash[CS_HASH_LEN], lm_err *err);

/* The whole version vector, in (scope, origin) order; the caller frees it. */
int cslog_vv(struct store *st, struct vv_entry **vv, size_t *n, lm_err *err);

/* Stream the change sets a holder of `theirs` lacks, in scopes `scopes`
 * (NULL: every scope), in order per (origin, scope), one at a time:
 *
 *   struct cslog_missing it;
 *   cslog_missing_begin(&it, st, theirs, n, scopes, nscopes);
 *   while ((rc = cslog_missing_next(&it, &env, &len, &err)) == 1) { ... }
 *   cslog_missing_end(&it);
 *
 * env stays valid until the next call. Memory use does not grow with the
 * log: one statement is open at a time. */
struct cslog_missing {
	struct store *st;
	const struct vv_entry *theirs;
	size_t ntheirs;
	const char *const *scopes;
	size_t nscopes;
	struct vv_entry *mine; /* our vector, walked entry by entry */
	size_t nmine, at;
	sqlite3_stmt *stmt; /* the change sets of mine[at - 1] */
	uint8_t *buf;	    /* the envelope last returned */
	size_t cap;
};

int cslog_missing_begin(struct cslog_missing *it, struct store *st, const struct vv_entry *theirs,
			size_t ntheirs, const char *const *scopes, size_t nscopes, lm_err *err);
int cslog_missing_next(struct cslog_missing *it, const uint8_t **envelope, size_t *len,
		       lm_err *err);
void cslog_missing_end(struct cslog_missing *it);

/* ---- reading the log in arrival order (the sync engine) ----
 *
 * Every change set has a local_id, the order in which this site accepted it.
 * That order respects every dependency the merge checks (a grant before the
 * writes it allows, seq n before n + 1), so a peer fed in local_id order can
 * apply everything as it comes. A scan holds no statement between calls:
 * a slow peer never pins a read snapshot (which would stop checkpoints). */

struct cslog_entry {
	int64_t local_id;
	uint8_t origin[CS_KEY_LEN];
	char scope[CS_SCOPE_MAX + 1];
	uint64_t seq;
};

/* Up to cap entries with local_id > after, in local_id order; *n receives
 * how many. Only metadata: fetch envelopes with cslog_envelope. */
int cslog_scan(struct store *st, int64_t after, struct cslog_entry *out, size_t cap, size_t *n,
	       lm_err *err);

/* The envelope of local_id, copied into a malloc'd buffer (*env, *len) the
 * caller frees. Returns 1 when found, 0 when not. */
int cslog_envelope(struct store *st, int64_t local_id, uint8_t **env, size_t *len, lm_err *err);

/* The highest seq of (origin, scope) among the log entries up to local_id
 * (0: none). A pair's change sets enter the log in seq order, so the peer
 * fed the log up to local_id holds 1..*seq of the pair. */
int cslog_seq_upto(struct store *st, const uint8_t origin[CS_KEY_LEN], const char *scope,
		   int64_t local_id, uint64_t *seq, lm_err *err);

/* The newest local_id (0 for an empty log). */
int cslog_last_id(struct store *st, int64_t *local_id, lm_err *err);

#endif
