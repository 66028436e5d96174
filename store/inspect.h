/* SPDX-License-Identifier: MIT */
/* Read-only views of the replication state for operators: the log, the
 * conflicts, the quarantined and held change sets. Each walks its rows in a
 * stable order and hands them to a callback, so nothing is loaded whole. */
#ifndef LMSYNC_STORE_INSPECT_H
#define LMSYNC_STORE_INSPECT_H

#include <stdint.h>

#include "proto/changeset.h"
#include "store/store.h"

struct inspect_change {
	uint8_t origin[CS_KEY_LEN];
	const char *scope;
	uint64_t seq, hlc;
	size_t rows, bytes;
	int local; /* sealed here */
};

struct inspect_conflict {
	int64_t id;
	const char *table, *key, *column, *at;
	const char *loser_text; /* the losing value as text (NULL for NULL) */
	uint64_t loser_hlc, winner_hlc;
	uint8_t loser_origin[CS_KEY_LEN], winner_origin[CS_KEY_LEN];
};

struct inspect_quarantined {
	uint8_t origin[CS_KEY_LEN];
	const char *scope, *reason, *at;
	uint64_t seq;
	int held; /* held back (dated ahead), not quarantined */
};

struct inspect_filter {
	const uint8_t *origin; /* NULL: every origin */
	const char *scope;     /* NULL: every scope */
	int64_t limit;	       /* <= 0: no limit */
};

typedef int (*inspect_change_cb)(const struct inspect_change *c, void *ctx);
typedef int (*inspect_conflict_cb)(const struct inspect_conflict *c, void *ctx);
typedef int (*inspect_quarantined_cb)(const struct inspect_quarantined *q, void *ctx);

/* The log, newest first. */
int inspect_changes(struct store *st, const struct inspect_filter *f, inspect_change_cb cb,
		    void *ctx, lm_err *err);
/* Conflicts, newest first. */
int inspect_conflicts(struct store *st, int64_t limit, inspect_conflict_cb cb, void *ctx,
		      lm_err *err);
/* Quarantined change sets, then held ones. */
int inspect_quarantine(struct store *st, inspect_quarantined_cb cb, void *ctx, lm_err *err);

#endif
