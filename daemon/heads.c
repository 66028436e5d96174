/* SPDX-License-Identifier: MIT */
/* Open addressing with linear probing; entries are never removed (a pair a
 * peer shares stays for the session). See heads.h. */
#include "daemon/heads.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void heads_init(struct heads *h)
{
	memset(h, 0, sizeof(*h));
	randombytes_buf(h->key, sizeof(h->key));
}

void heads_free(struct heads *h)
{
	while (h->nnames > 0)
		free(h->names[--h->nnames]);
	free(h->names);
	free(h->slots);
	memset(h, 0, sizeof(*h));
}

/* The table's copy of scope, made on first use; NULL when out of memory. */
static const char *name_of(struct heads *h, const char *scope, size_t scope_len)
{
	char *copy;
	size_t i;

	for (i = 0; i < h->nnames; i++)
		if (strlen(h->names[i]) == scope_len && memcmp(h->names[i], scope, scope_len) == 0)
			return h->names[i];
	if (h->nnames == h->names_cap) {
		size_t cap = h->names_cap ? 2 * h->names_cap : 8;
		char **grown = realloc(h->names, cap * sizeof(*grown));

		if (grown == NULL)
			return NULL;
		h->names = grown;
		h->names_cap = cap;
	}
	copy = malloc(scope_len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, scope, scope_len);
	copy[scope_len] = '\0';
	h->names[h->nnames++] = copy;
	return copy;
}

static size_t slot_of(const struct heads *h, const uint8_t *origin, const char *scope,
		      size_t scope_len)
{
	unsigned char in[CS_KEY_LEN + CS_SCOPE_MAX], out[crypto_shorthash_BYTES];
	uint64_t v;

	memcpy(in, origin, CS_KEY_LEN);
	memcpy(in + CS_KEY_LEN, scope, scope_len);
	crypto_shorthash(out, in, CS_KEY_LEN + scope_len, h->key);
	memcpy(&v, out, sizeof(v));
	return (size_t)v & (h->cap - 1);
}

static int same(const struct head *e, const uint8_t *origin, const char *scope, size_t scope_len)
{
	return memcmp(e->origin, origin, CS_KEY_LEN) == 0 && strlen(e->scope) == scope_len &&
	       memcmp(e->scope, scope, scope_len) == 0;
}

struct head *heads_find(struct heads *h, const uint8_t origin[CS_KEY_LEN], const char *scope,
			size_t scope_len)
{
	size_t i;

	if (h->cap == 0 || scope_len > CS_SCOPE_MAX)
		return NULL;
	for (i = slot_of(h, origin, scope, scope_len); h->slots[i].used; i = (i + 1) & (h->cap - 1))
		if (same(&h->slots[i], origin, scope, scope_len))
			return &h->slots[i];
	return NULL;
}

static int grow(struct heads *h)
{
	struct heads bigger = *h;
	size_t i;

	bigger.cap = h->cap ? 2 * h->cap : 64;
	bigger.n = 0;
	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (bigger.slots == NULL)
		return -1;
	for (i = 0; i < h->cap; i++) {
		const struct head *e = &h->slots[i];
		size_t j;

		if (!e->used)
			continue;
		j = slot_of(&bigger, e->origin, e->scope, strlen(e->scope));
		while (bigger.slots[j].used)
			j = (j + 1) & (bigger.cap - 1);
		bigger.slots[j] = *e;
		bigger.n++;
	}
	free(h->slots);
	*h = bigger;
	return 0;
}

struct head *heads_get(struct heads *h, const uint8_t origin[CS_KEY_LEN], const char *scope,
		       size_t scope_len)
{
	struct head *e = heads_find(h, origin, scope, scope_len);
	const char *name;
	size_t i;

	if (e != NULL)
		return e;
	if (scope_len > CS_SCOPE_MAX || (name = name_of(h, scope, scope_len)) == NULL)
		return NULL;
	/* Keep the table at most 3/4 full so probes stay short. */
	if (4 * (h->n + 1) > 3 * h->cap && grow(h) != 0)
		return NULL;
	for (i = slot_of(h, origin, scope, scope_len); h->slots[i].used; i = (i + 1) & (h->cap - 1))
		;
	e = &h->slots[i];
	memset(e, 0, sizeof(*e));
	memcpy(e->origin, origin, CS_KEY_LEN);
	e->scope = name;
	e->used = 1;
	h->n++;
	return e;
}

struct head *heads_each(struct heads *h, size_t *i)
{
	while (*i < h->cap) {
		struct head *e = &h->slots[(*i)++];

		if (e->used)
			return e;
	}
	return NULL;
}
