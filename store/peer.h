/* SPDX-License-Identifier: MIT */
/* The peers a site connects to: local configuration kept in the store, so
 * `lmsync peer add` and a running lmsyncd see one consistent list. Peers are
 * not replicated; who belongs to which scope is (see the sync design). */
#ifndef LMSYNC_STORE_PEER_H
#define LMSYNC_STORE_PEER_H

#include <stdint.h>

#include "store/store.h"

#define PEER_ADDR_MAX 272
#define PEER_NAME_MAX 128

struct peer {
	uint8_t id[32];
	char addr[PEER_ADDR_MAX];
	char name[PEER_NAME_MAX];
	int is_hub;
	char added_at[32];
};

/* Add a peer; an existing id is refused with a message naming it. */
int peer_add(struct store *st, const struct peer *p, lm_err *err);

/* Remove a peer; returns 1 when it existed, 0 when not, -1 on error. */
int peer_remove(struct store *st, const uint8_t id[32], lm_err *err);

/* Load every peer, ordered by name then id, into a malloc'd array the caller
 * frees with free(). */
int peer_list(struct store *st, struct peer **peers, int *count, lm_err *err);

#endif
