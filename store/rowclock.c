/* SPDX-License-Identifier: MIT */
/* Per-row column clocks in one blob; see rowclock.h. */
#include "store/rowclock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOCK_BYTES (8 + CS_KEY_LEN)
#define MAX_CLOCKS  (2 * REGISTRY_MAX_COLS) /* a writer's and a base's per column */

_Static_assert(MAX_CLOCKS < ROWCLOCK_BASE_NONE, "a clock index is never a base marker");

static uint64_t get_hlc(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The base byte b of a version 2 column: a clock index or a marker. */
static int decode_base(struct rowclock_col *c, uint8_t b, const uint8_t *clocks, size_t nclocks)
{
	if (b == ROWCLOCK_BASE_UNSET) {
		c->base = ROWCLOCK_UNKNOWN;
	} else if (b == ROWCLOCK_BASE_NONE) {
		c->base = ROWCLOCK_NONE;
	} else if (b < nclocks) {
		c->base = ROWCLOCK_HELD;
		c->base_hlc = get_hlc(clocks + b * CLOCK_BYTES);
		c->base_origin = clocks + b * CLOCK_BYTES + 8;
	} else {
		return -1;
	}
	return 0;
}

int rowclock_decode(const void *blob, size_t len, struct rowclock *rc)
{
	const uint8_t *p = blob, *end, *clocks;
	unsigned shift = 0;
	size_t nclocks, k, tail;
	int version;

	memset(rc, 0, sizeof(*rc));
	if (len == 0)
		return 0; /* no clocks (NULL): nothing written at any causal length */
	end = p + len;
	version = *p++;
	if (version != ROWCLOCK_VERSION && version != ROWCLOCK_VERSION_V1)
		return -1;
	tail = version == ROWCLOCK_VERSION ? 2 : 1; /* bytes after a name */
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
		size_t name_len = *p++;

		if (rc->n == REGISTRY_MAX_COLS || name_len == 0 || name_len > 64 ||
		    (size_t)(end - p) < name_len + tail || p[name_len] >= nclocks)
			return -1;
		c->name = (const char *)p;
		c->name_len = name_len;
		k = p[name_len];
		c->hlc = get_hlc(clocks + k * CLOCK_BYTES);
		c->origin = clocks + k * CLOCK_BYTES + 8;
		if (tail == 2 && decode_base(c, p[name_len + 1], clocks, nclocks) != 0)
			return -1;
		p += name_len + tail;
		rc->n++;
	}
	return 0;
}

struct clock_ref {
	uint64_t hlc;
	const uint8_t *origin;
};

/* The index of (hlc, origin) among the n distinct clocks v, added if new. */
static size_t clock_index(struct clock_ref *v, size_t *n, uint64_t hlc, const uint8_t *origin)
{
	size_t k;

	for (k = 0; k < *n; k++)
		if (v[k].hlc == hlc && memcmp(v[k].origin, origin, CS_KEY_LEN) == 0)
			return k;
	v[k].hlc = hlc;
	v[k].origin = origin;
	return (*n)++;
}

size_t rowclock_encode(const struct rowclock *rc, uint8_t *buf, size_t cap)
{
	struct clock_ref v[MAX_CLOCKS];
	uint8_t index[REGISTRY_MAX_COLS], base[REGISTRY_MAX_COLS];
	size_t nclocks = 0, i, k, n = 0;
	uint64_t cl = rc->cl;
	int b;

	if (rc->n > REGISTRY_MAX_COLS || cap < ROWCLOCK_BLOB_MAX)
		return 0;
	/* The distinct clocks, in order of first use, a column's before its
	 * base's. */
	for (i = 0; i < rc->n; i++) {
		const struct rowclock_col *c = &rc->c[i];

		index[i] = (uint8_t)clock_index(v, &nclocks, c->hlc, c->origin);
		if (c->base == ROWCLOCK_HELD)
			base[i] = (uint8_t)clock_index(v, &nclocks, c->base_hlc, c->base_origin);
		else if (c->base == ROWCLOCK_NONE)
			base[i] = ROWCLOCK_BASE_NONE;
		else if (c->base == ROWCLOCK_UNKNOWN)
			base[i] = ROWCLOCK_BASE_UNSET;
		else
			return 0;
	}
	buf[n++] = ROWCLOCK_VERSION;
	do {
		buf[n] = (uint8_t)(cl & 0x7f);
		cl >>= 7;
		buf[n++] |= cl ? 0x80 : 0;
	} while (cl);
	buf[n++] = (uint8_t)nclocks;
	for (k = 0; k < nclocks; k++) {
		for (b = 7; b >= 0; b--)
			buf[n++] = (uint8_t)(v[k].hlc >> (8 * b));
		memcpy(buf + n, v[k].origin, CS_KEY_LEN);
		n += CS_KEY_LEN;
	}
	for (i = 0; i < rc->n; i++) {
		if (rc->c[i].name_len == 0 || rc->c[i].name_len > 64)
			return 0;
		buf[n++] = (uint8_t)rc->c[i].name_len;
		memcpy(buf + n, rc->c[i].name, rc->c[i].name_len);
		n += rc->c[i].name_len;
		buf[n++] = index[i];
		buf[n++] = base[i];
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
