/* SPDX-License-Identifier: MIT */
/* Loading and saving the hybrid logical clock; see clock.h. */
#include "store/clock.h"

#include <stdio.h>
#include <stdlib.h>

int clock_load(struct store *st, struct hlc *c, lm_err *err)
{
	char text[32];
	int found = store_meta_get(st, "hlc", text, sizeof(text), err);

	if (found < 0)
		return -1;
	hlc_init(c, found ? strtoull(text, NULL, 10) : 0);
	return 0;
}

int clock_save(struct store *st, const struct hlc *c, lm_err *err)
{
	char text[32];

	snprintf(text, sizeof(text), "%llu", (unsigned long long)c->last);
	return store_meta_set(st, "hlc", text, err);
}
