/* SPDX-License-Identifier: MIT */
/* What one peer holds: per (origin, scope), the highest seq it has, or that
 * this daemon sent it. A hash table keyed by (origin, scope), sized by the
 * pairs of the scopes the two sites share; keys come from the peer too, so
 * the hash is SipHash with a random key (no collision flooding).
 *
 * Owner: one sync state (sync.h); freed with it.
 */
#ifndef LMSYNC_DAEMON_HEADS_H
#define LMSYNC_DAEMON_HEADS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/changeset.h"

struct head {
	uint8_t origin[CS_KEY_LEN];
	const char *scope;   /* one copy per scope, kept by the table */
	uint64_t theirs;     /* the peer holds 1..theirs (known, or sent to it) */
	uint64_t last_msg;   /* the number of our last sets message carrying this pair */
	uint64_t retry_ms;   /* stalled: loop time to send again from theirs + 1 */
	uint32_t backoff_ms; /* the next wait after another refusal */
	int stalled;	     /* the peer did not take theirs + 1 */
	int writer;	     /* stalled: the origin could write the scope here then */
	int64_t last_at;     /* wall clock of the last change set either way, 0: none */
	int used;
};

struct heads {
	struct head *slots;
	size_t cap, n; /* cap is a power of two, or 0 */
	unsigned char key[16];
	/* The scope names the entries point to: a hub keeps a table per site,
	 * each with many pairs of few scopes. */
	char **names;
	size_t nnames, names_cap;
};

void heads_init(struct heads *h);
void heads_free(struct heads *h);

/* The entry of (origin, scope), NULL when absent. */
struct head *heads_find(struct heads *h, const uint8_t origin[CS_KEY_LEN], const char *scope,
			size_t scope_len);

/* The entry, added with theirs 0 when absent; NULL when out of memory. */
struct head *heads_get(struct heads *h, const uint8_t origin[CS_KEY_LEN], const char *scope,
		       size_t scope_len);

/* Walk every entry: for (i = 0; (e = heads_each(h, &i)) != NULL;) ... */
struct head *heads_each(struct heads *h, size_t *i);

#endif
