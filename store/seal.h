/* SPDX-License-Identifier: MIT */
/* Sealing: pending local captures become signed change sets in the log.
 *
 * One transaction takes every capture (or, with seal_pending_some, those of
 * the rows first captured, a chunk at a time), groups them by scope, and writes per
 * scope one change set (more when the rows exceed CS_MAX_ENVELOPE), numbered
 * after the scope's last one, dated by the site's clock, chained by hash,
 * signed; it records the column clocks and empties repl_capture. A crash
 * leaves either all of it or none.
 *
 * Rows carry the changed columns as they are when sealed: an insert every
 * non-key column but the scope (the change set names it), an update the
 * columns it changed, a delete none. Each column carries its base, the
 * clock it had in repl_row before this write (none for an insert or a
 * column never held here), and the same base is recorded with the new
 * clock. Several local transactions sealed together make one change set,
 * which applies atomically everywhere.
 */
#ifndef LMSYNC_STORE_SEAL_H
#define LMSYNC_STORE_SEAL_H

#include <stdint.h>

#include "store/store.h"

/* The signing identity: Ed25519 public key and libsodium secret key. */
struct seal_key {
	const uint8_t *public_key; /* 32 bytes */
	const uint8_t *secret_key; /* 64 bytes */
};

/* The same inside a transaction the caller holds (merge seals first, so
 * an unsealed local write is compared as a write, never overwritten as if
 * it were old). */
int seal_pending_locked(struct store *st, const struct seal_key *key, uint64_t now_ms, int *count,
			lm_err *err);

/* 1 when captures wait to be sealed, 0 when not, -1 on error. Cheap. */
int seal_has_pending(struct store *st, lm_err *err);

/* Seal everything pending; *count receives the number of change sets made.
 * now_ms is the wall clock (the caller passes it so tests can steer time).
 * A backlog of more than SEAL_BATCH (16384) captures is taken that many at a
 * time within the one transaction, each batch ending its change sets as a
 * chunk of seal_pending_some does (seal.c says why). */
int seal_pending(struct store *st, const struct seal_key *key, uint64_t now_ms, int *count,
		 lm_err *err);

/* Seal the rows of the first `captures` pending captures (every capture of
 * those rows included), in a transaction of its own; *more says whether
 * captures are left. captures 0: everything. A bulk write is sealed in such
 * chunks so its first change sets can travel while the rest is sealed; a
 * change set never spans two chunks, and a local transaction already
 * spreads over several change sets (CS_MAX_ENVELOPE), so no receiver sees
 * less atomicity than before. */
int seal_pending_some(struct store *st, const struct seal_key *key, uint64_t now_ms, int captures,
		      int *count, int *more, lm_err *err);

#endif
