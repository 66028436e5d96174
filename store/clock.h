/* SPDX-License-Identifier: MIT */
/* The site's hybrid logical clock, persisted in meta so it never goes back
 * across restarts, even when the wall clock does. Internal to store/. */
#ifndef LMSYNC_STORE_CLOCK_H
#define LMSYNC_STORE_CLOCK_H

#include "proto/hlc.h"
#include "store/store.h"

int clock_load(struct store *st, struct hlc *c, lm_err *err);
int clock_save(struct store *st, const struct hlc *c, lm_err *err);

#endif
