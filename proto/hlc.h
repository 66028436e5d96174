/* SPDX-License-Identifier: MIT */
/* Hybrid logical clock (Kulkarni et al., 2014) in one 64-bit number: the
 * high 48 bits are milliseconds since the Unix epoch, the low 16 a counter.
 * Timestamps from one clock only grow, even when the wall clock steps back;
 * a received timestamp pulls the clock forward so causality is kept.
 *
 * A timestamp further ahead of the local wall clock than max_skew_ms is not
 * taken in (hlc_observe refuses it): the caller holds the change set back
 * until the wall clock catches up, so one site with a wrong clock cannot drag
 * everyone's clocks into the future. Pure: the caller passes the wall clock.
 */
#ifndef LMSYNC_PROTO_HLC_H
#define LMSYNC_PROTO_HLC_H

#include <stdint.h>

#include "proto/err.h"

#define HLC_COUNTER_BITS 16
#define HLC_MS_MAX	 ((UINT64_C(1) << 48) - 1) /* wall clocks past it count as it */

struct hlc {
	uint64_t last; /* the largest timestamp issued or observed */
};

static inline uint64_t hlc_ms(uint64_t t)
{
	return t >> HLC_COUNTER_BITS;
}

/* Start from a persisted value (0 for a new clock). */
void hlc_init(struct hlc *c, uint64_t last);

/* A new timestamp for a local event at wall clock now_ms: greater than every
 * timestamp issued or observed before (max(now_ms << 16, last + 1); a
 * counter that overflows carries into the milliseconds). Only UINT64_MAX,
 * some 8900 years away, is returned again rather than wrapping. */
uint64_t hlc_now(struct hlc *c, uint64_t now_ms);

/* Take in a remote timestamp: last = max(last, remote). Refuses (-1, with a
 * message naming how far ahead it is, the clock unchanged) one whose
 * milliseconds are more than max_skew_ms ahead of now_ms. */
int hlc_observe(struct hlc *c, uint64_t remote, uint64_t now_ms, uint64_t max_skew_ms, lm_err *err);

#endif
