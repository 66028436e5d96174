/* SPDX-License-Identifier: MIT */
/* Per-row column clocks in one blob; see rowclock.h. */
#include "store/rowclock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOCK_BYTES (8 + CS_KEY_LEN)

int rowclock_decode(const void *blob, size_t len, struct rowclock *rc)
{
	const uint8_t *p = blob, *end, *clocks;
	unsigned shift = 0;
	size_t nclocks, k;

	memset(rc, 0, sizeof(*rc));
	if (len == 0)
		return 0; /* no clocks (NULL): nothing written at any causal length */
	end = p + len;
	if (*p++ != ROWCLOCK_VERSION)
		return -1;
	for (;;) {
		/* The tenth byte holds bit 63 only. */
		if (p == end || shift > 63 || (shift == 63 && *p > 1))
			return -1;
		rc->cl |= (uint64_t)(*p & 0x7f) << shift;
		shift += 7;
		if ((*p++ & 0x80) == 0)
			break;
	}
	if (p == end)
		return -1;
	nclocks = *p++;
	if ((size_t)(end - p) < nclocks * CLOCK_BYTES)
		return -1;
	clocks = p;
	p += nclocks * CLOCK_BYTES;
	while (p < end) {
		struct rowclock_col *c = &rc->c[rc->n];
		size_t name_len = *p++, i;

		if (rc->n == REGISTRY_MAX_COLS || name_len == 0 || name_len > 64 ||
		    (size_t)(end - p) < name_len + 1 || p[name_len] >= nclocks)
			return -1;
		c->name = (const char *)p;
		c->name_len = name_len;
		k = p[name_len];
		for (i = 0, c->hlc = 0; i < 8; i++)
			c->hlc = c->hlc << 8 | clocks[k * CLOCK_BYTES + i];
		c->origin = clocks + k * CLOCK_BYTES + 8;
		p += name_len + 1;
		rc->n++;
	}
	return 0;
}

static int same_clock(const struct rowclock_col *a, const struct rowclock_col *b)
{
	return a->hlc == b->hlc && memcmp(a->origin, b->origin, CS_KEY_LEN) == 0;
}

size_t rowclock_encode(const struct rowclock *rc, uint8_t *buf, size_t cap)
{
	size_t index[REGISTRY_MAX_COLS], first[REGISTRY_MAX_COLS], nclocks = 0, i, k, n = 0;
	uint64_t cl = rc->cl;
	int b;

	if (rc->n > REGISTRY_MAX_COLS || cap < ROWCLOCK_BLOB_MAX)
		return 0;
	/* The distinct clocks, in order of first use. */
	for (i = 0; i < rc->n; i++) {
		for (k = 0; k < nclocks && !same_clock(&rc->c[first[k]], &rc->c[i]); k++)
			;
		if (k == nclocks)
			first[nclocks++] = i;
		index[i] = k;
	}
	buf[n++] = ROWCLOCK_VERSION;
	do {
		buf[n] = (uint8_t)(cl & 0x7f);
		cl >>= 7;
		buf[n++] |= cl ? 0x80 : 0;
	} while (cl);
	buf[n++] = (uint8_t)nclocks;
	for (k = 0; k < nclocks; k++) {
		const struct rowclock_col *c = &rc->c[first[k]];

		for (b = 7; b >= 0; b--)
			buf[n++] = (uint8_t)(c->hlc >> (8 * b));
		memcpy(buf + n, c->origin, CS_KEY_LEN);
		n += CS_KEY_LEN;
	}
	for (i = 0; i < rc->n; i++) {
		if (rc->c[i].name_len == 0 || rc->c[i].name_len > 64)
			return 0;
		buf[n++] = (uint8_t)rc->c[i].name_len;
		memcpy(buf + n, rc->c[i].name, rc->c[i].name_len);
		n += rc->c[i].name_len;
		buf[n++] = (uint8_t)index[i];
	}
	return n;
}

static int by_name(const void *a, const void *b)
{
	const struct rowclock_col *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

char *rowclock_describe(const void *blob, size_t len, uint64_t cl)
{
	struct rowclock *rc = malloc(sizeof(*rc));
	size_t cap, n, i, k;
	char *out = NULL;

	if (rc == NULL || rowclock_decode(blob, len, rc) != 0)
		goto done;
	qsort(rc->c, rc->n, sizeof(rc->c[0]), by_name);
	cap = 32 + rc->n * (64 + 24 + 2 * CS_KEY_LEN + 4);
	out = malloc(cap);
	if (out == NULL)
		goto done;
	out[0] = '\0';
	for (i = 0, n = 0; i < rc->n && rc->cl == cl; i++) {
		n += (size_t)snprintf(out + n, cap - n, "%.*s %llu ", (int)rc->c[i].name_len,
				      rc->c[i].name, (unsigned long long)rc->c[i].hlc);
		for (k = 0; k < CS_KEY_LEN; k++)
			n += (size_t)snprintf(out + n, cap - n, "%02x", rc->c[i].origin[k]);
		n += (size_t)snprintf(out + n, cap - n, "\n");
	}
done:
	free(rc);
	return out;
}
