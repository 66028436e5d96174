/* SPDX-License-Identifier: MIT */
/* Merging change sets from other sites into the store.
 *
 * Invariants:
 *  - One SQLite transaction per batch: a crash leaves the store as before or
 *    after the whole batch, never between.
 *  - A change set is applied at most once, only in seq order per (origin,
 *    scope), only when its hash chain links to what the log holds and its
 *    origin's signature is valid (once per consecutive run, see
 *    changeset_verify_run). Duplicates are ignored; a different change set
 *    under a seq already held is a fork and is rejected.
 *  - With opt->relay (a hub), rows of tables this store does not replicate
 *    are skipped: the change set is still verified, logged and counted, its
 *    other rows (the member lists) applied, so the hub can forward it.
 *  - A change set that breaks a write policy is quarantined: never applied,
 *    listed with its reason, but logged and counted in the version vector so
 *    the origin's later change sets still flow and every site decides alike.
 *    So is one whose rows the table's own constraints refuse (undone alone).
 *  - A change set dated more than max_skew ahead of this site's clock is
 *    held back with its reason and retried later (merge_retry_held). So is
 *    one in a governed scope whose origin holds no writing role here yet
 *    (member.h); those are retried within the batch that changes a member
 *    list.
 *  - Applying follows the merge rules: per-column last-writer-wins by (HLC,
 *    origin id); causal length decides deletes and re-creations. Which
 *    value wins never depends on bases. A losing value is kept in the
 *    conflict table unless the winner's writer had seen it, as far as the
 *    bases tell (docs/DECISIONS.md). Merged changes are not captured again.
 *  - Local changes not yet sealed are sealed first, in the same transaction,
 *    so a local write is weighed as a write and never overwritten unseen.
 *    Without opt->seal a batch is refused while local changes are pending.
 */
#ifndef LMSYNC_STORE_MERGE_H
#define LMSYNC_STORE_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/changeset.h"
#include "store/seal.h"
#include "store/store.h"

enum merge_result {
	MERGE_APPLIED,
	MERGE_DUPLICATE,   /* already held: ignored */
	MERGE_GAP,	   /* an earlier one of its (origin, scope) is missing: send it first */
	MERGE_REJECTED,	   /* malformed, bad signature, broken chain or fork: dropped */
	MERGE_QUARANTINED, /* breaks a write policy: logged, never applied */
	MERGE_HELD,	   /* dated too far ahead, or no role yet: kept aside, retried later */
};

struct merge_outcome {
	enum merge_result result;
	uint8_t origin[CS_KEY_LEN];
	char scope[CS_SCOPE_MAX + 1];
	uint64_t seq;
	char reason[LM_ERR_MAX]; /* why, for every result but APPLIED and DUPLICATE */
};

struct merge_options {
	uint64_t now_ms;	     /* the wall clock */
	uint64_t max_skew_ms;	     /* hold back change sets dated further ahead */
	const struct seal_key *seal; /* this site's key: local changes are sealed first */
	int relay;		     /* a hub: rows of tables not replicated here are logged and
				      * forwarded, not applied, instead of quarantining the set */
	int unsynced;		     /* commit without waiting for the disk: the caller runs
				      * store_sync before it acknowledges (store_unsynced_begin) */
};

/* Merge envelopes[0..n-1] (in the given order) in one transaction. out[i]
 * says what became of envelope i. Returns -1 only when the store failed; the
 * batch is then rolled back whole. */
int merge_batch(struct store *st, const uint8_t *const *envelopes, const size_t *lens, size_t n,
		const struct merge_options *opt, struct merge_outcome *out, lm_err *err);

/* Try the held change sets again; *applied counts those that went in. */
int merge_retry_held(struct store *st, const struct merge_options *opt, int *applied, lm_err *err);

const char *merge_result_name(enum merge_result r);

#endif
