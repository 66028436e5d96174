/* SPDX-License-Identifier: MIT */
/* Hybrid logical clock; see hlc.h. */
#include "proto/hlc.h"

#include <inttypes.h>

void hlc_init(struct hlc *c, uint64_t last)
{
	c->last = last;
}

uint64_t hlc_now(struct hlc *c, uint64_t now_ms)
{
	uint64_t wall = (now_ms > HLC_MS_MAX ? HLC_MS_MAX : now_ms) << HLC_COUNTER_BITS;

	if (wall > c->last)
		c->last = wall;
	else if (c->last < UINT64_MAX)
		c->last++;
	return c->last;
}

int hlc_observe(struct hlc *c, uint64_t remote, uint64_t now_ms, uint64_t max_skew_ms, lm_err *err)
{
	uint64_t ms = hlc_ms(remote);

	if (ms > now_ms && ms - now_ms > max_skew_ms)
		return lm_errf(err,
			       "dated %" PRIu64 " ms ahead of this site's clock (limit %" PRIu64
			       " ms): held back until the clock catches up; check both clocks",
			       ms - now_ms, max_skew_ms);
	if (remote > c->last)
		c->last = remote;
	return 0;
}
