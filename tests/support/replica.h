/* SPDX-License-Identifier: MIT */
/* Replicas for tests: a real store file with its own Ed25519 key and the
 * replicated test tables, plus the moves a test makes with them (write
 * through plain SQL, seal, collect change sets, merge, anti-entropy) and a
 * canonical text dump to compare replicas by.
 *
 * The tables every replica holds:
 *
 *   note    scope policy, key (id), scope column `scope`; any site writes.
 *   course  owner policy, key (owner, id) where owner is the owning site's
 *           id as 64 lowercase hex digits; only the owner writes.
 *
 * A struct replica is owned by the test that made it; replica_destroy closes
 * the store and wipes the secret key. Envelope lists own copies of their
 * envelopes (envlist_free releases them).
 */
#ifndef LMSYNC_TESTS_REPLICA_H
#define LMSYNC_TESTS_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "store/cslog.h"
#include "store/merge.h"
#include "store/store.h"

struct replica {
	char path[256];
	struct store st; /* st.db is NULL while closed */
	uint8_t pk[32], sk[64];
	char hex[65]; /* the site id as 64 lowercase hex digits */
};

/* Create the store at path (which must not exist) for the key derived from
 * seed (32 bytes), with the test tables registered. */
int replica_create(struct replica *r, const char *path, const uint8_t seed[32], lm_err *err);
/* Create the store at path for an existing key (a second file of one site). */
int replica_create_with_key(struct replica *r, const char *path, const uint8_t pk[32],
			    const uint8_t sk[64], lm_err *err);
/* Close and reopen the store (a restart). */
int replica_restart(struct replica *r, lm_err *err);
void replica_close(struct replica *r);
int replica_reopen(struct replica *r, lm_err *err);
void replica_destroy(struct replica *r);

/* Run SQL on the store's connection, as any SQLite client would. */
int replica_exec(struct replica *r, const char *sql, lm_err *err);
/* The first column of the first row of sql as an integer (0 when none). */
int64_t replica_int(struct replica *r, const char *sql);

/* Seal pending captures with the wall clock at now_ms. */
int replica_seal(struct replica *r, uint64_t now_ms, int *count, lm_err *err);

/* A list of envelope copies. */
struct envlist {
	uint8_t **env;
	size_t *len;
	size_t n, cap;
};

int envlist_add(struct envlist *l, const uint8_t *env, size_t len);
void envlist_free(struct envlist *l);

/* Append to out the change sets r holds that a holder of `theirs` lacks
 * (theirs NULL and ntheirs 0: everything r holds). */
int replica_missing(struct replica *r, const struct vv_entry *theirs, size_t ntheirs,
		    struct envlist *out, lm_err *err);
/* Append to out what `from` holds that `to` lacks, per to's version vector. */
int replica_missing_for(struct replica *from, struct replica *to, struct envlist *out, lm_err *err);

/* Merge envelopes[0..n-1] in one batch, as the daemon does: with the site's
 * key, so pending local changes are sealed first (at now_ms). out may be
 * NULL; then outcomes that are not APPLIED, DUPLICATE or GAP make it fail
 * with their reason. */
int replica_merge(struct replica *r, uint8_t *const *env, const size_t *len, size_t n,
		  uint64_t now_ms, uint64_t max_skew_ms, struct merge_outcome *out, lm_err *err);

/* Bring `to` up to date with `from` (one direction); *applied (may be NULL)
 * counts what went in. Every outcome must be APPLIED or DUPLICATE. */
int replica_pull(struct replica *to, struct replica *from, uint64_t now_ms, uint64_t max_skew_ms,
		 int *applied, lm_err *err);

/* The rows of sql as canonical text: one line per row, each value typed
 * (null, i:INT, r:REAL with 17 digits, tLEN:TEXT, b:HEX). Caller frees. */
char *replica_query_text(struct replica *r, const char *sql);

/* Canonical dumps for comparing replicas (caller frees each). */
char *replica_dump_tables(struct replica *r); /* note and course, by key */
char *replica_dump_rows(struct replica *r);   /* repl_row: key, causal length, scope */
char *replica_dump_vv(struct replica *r);     /* version vector with hashes */
char *replica_dump_clocks(struct replica *r); /* column winners of live rows */
/* Everything above in one text. */
char *replica_dump_all(struct replica *r);

/* Internal consistency of one replica: live repl_row entries and table rows
 * match one to one, with the same scope. Returns 0 or -1 with a message. */
int replica_check_rows(struct replica *r, lm_err *err);

/* Print the first line where a and b differ (for failure messages). */
void replica_diff(const char *what, const char *name_a, const char *a, const char *name_b,
		  const char *b);

#endif
