/* SPDX-License-Identifier: MIT */
/* msgpack map helpers; see mp.h. */
#include "proto/mp.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void mp_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n;

	if (s == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *value)
{
	mp_pack_cstr(pk, key);
	mp_pack_cstr(pk, value);
}

void mp_pack_kv_int(msgpack_packer *pk, const char *key, int64_t value)
{
	mp_pack_cstr(pk, key);
	msgpack_pack_int64(pk, value);
}

void mp_pack_kv_bool(msgpack_packer *pk, const char *key, int value)
{
	mp_pack_cstr(pk, key);
	if (value)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

int mp_str_eq(const msgpack_object *obj, const char *s)
{
	size_t n = strlen(s);

	return obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == n &&
	       memcmp(obj->via.str.ptr, s, n) == 0;
}

const msgpack_object *mp_map_get(const msgpack_object *map, const char *key)
{
	uint32_t i;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < map->via.map.size; i++)
		if (mp_str_eq(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	return NULL;
}

int mp_map_str(const msgpack_object *map, const char *key, char *out, size_t cap)
{
	const msgpack_object *v = mp_map_get(map, key);
	size_t n;

	if (v == NULL || v->type != MSGPACK_OBJECT_STR || cap == 0)
		return 0;
	n = v->via.str.size < cap - 1 ? v->via.str.size : cap - 1;
	memcpy(out, v->via.str.ptr, n);
	out[n] = '\0';
	return 1;
}

int mp_map_int(const msgpack_object *map, const char *key, int64_t *out)
{
	const msgpack_object *v = mp_map_get(map, key);

	if (v == NULL)
		return 0;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
		*out = (int64_t)v->via.u64;
	else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = v->via.i64;
	else
		return 0;
	return 1;
}

int mp_map_bool(const msgpack_object *map, const char *key, int *out)
{
	const msgpack_object *v = mp_map_get(map, key);

	if (v == NULL || v->type != MSGPACK_OBJECT_BOOLEAN)
		return 0;
	*out = v->via.boolean ? 1 : 0;
	return 1;
}

/* ---- Skimming: one bounded msgpack value, checked without allocating ----
 *
 * msgpack-c allocates from the sizes a value announces, so hostile bytes
 * like dd ff ff ff ff would ask it for ~100 GB. Decoders skim first: one
 * pass, no allocation, bounded nesting, every announced count checked
 * against the bytes that remain. */

enum kind { SCALAR, BODY, ITEMS, PAIRS };

/* An item's header bytes, payload bytes after them, and contained items. */
struct shape {
	size_t head, body, items;
	int container; /* an array or a map, even an empty one */
};

/* Markers 0xc4 to 0xdf: bytes of the length field, fixed bytes after it,
 * and what the length counts. */
static const struct {
	uint8_t len_bytes, fixed, kind;
} wide[] = {
    {1, 0, BODY},    {2, 0, BODY},   {4, 0, BODY},		     /* bin 8, 16, 32 */
    {1, 1, BODY},    {2, 1, BODY},   {4, 1, BODY},		     /* ext 8, 16, 32 */
    {0, 4, SCALAR},  {0, 8, SCALAR},				     /* float 32, 64 */
    {0, 1, SCALAR},  {0, 2, SCALAR}, {0, 4, SCALAR}, {0, 8, SCALAR}, /* uint 8 to 64 */
    {0, 1, SCALAR},  {0, 2, SCALAR}, {0, 4, SCALAR}, {0, 8, SCALAR}, /* int 8 to 64 */
    {0, 2, SCALAR},  {0, 3, SCALAR}, {0, 5, SCALAR}, {0, 9, SCALAR}, /* fixext 1 to 8 */
    {0, 17, SCALAR},						     /* fixext 16 */
    {1, 0, BODY},    {2, 0, BODY},   {4, 0, BODY},		     /* str 8, 16, 32 */
    {2, 0, ITEMS},   {4, 0, ITEMS},				     /* array 16, 32 */
    {2, 0, PAIRS},   {4, 0, PAIRS},				     /* map 16, 32 */
};

/* The shape of the item at p (avail >= 1, p[0] != 0xc1); -1 when its length
 * field is cut off. */
static int item_shape(const uint8_t *p, size_t avail, struct shape *s)
{
	uint8_t b = p[0];
	size_t n = 0, i, k;

	memset(s, 0, sizeof(*s));
	s->head = 1;
	s->container = (b >= 0x80 && b <= 0x9f) || b == 0xdc || b == 0xdd || b == 0xde || b == 0xdf;
	if (b >= 0x80 && b <= 0x8f)
		s->items = 2 * (size_t)(b & 0x0f);
	else if (b >= 0x90 && b <= 0x9f)
		s->items = b & 0x0f;
	else if (b >= 0xa0 && b <= 0xbf)
		s->body = b & 0x1f;
	if (b < 0xc4 || b >= 0xe0)
		return 0;
	i = (size_t)(b - 0xc4);
	if (avail < 1 + (size_t)wide[i].len_bytes)
		return -1;
	s->head = 1 + (size_t)wide[i].len_bytes + wide[i].fixed;
	for (k = 0; k < wide[i].len_bytes; k++)
		n = n << 8 | p[1 + k];
	if (wide[i].kind == BODY)
		s->body = n;
	else if (wide[i].kind == ITEMS)
		s->items = n;
	else if (wide[i].kind == PAIRS)
		s->items = 2 * n;
	return 0;
}

int mp_skim(const uint8_t *p, size_t len, size_t max_depth, const char *what, size_t *end,
	    lm_err *err)
{
	size_t left[MP_SKIM_DEPTH_MAX], depth = 0, pending = 1, pos = 0, start, room;
	struct shape s;

	if (max_depth > MP_SKIM_DEPTH_MAX)
		max_depth = MP_SKIM_DEPTH_MAX;
	while (pending > 0) {
		if (pos >= len)
			return lm_errf(
			    err,
			    "%s is cut short: it ends after %zu bytes with msgpack values "
			    "still to come",
			    what, len);
		start = pos;
		if (p[pos] == 0xc1)
			return lm_errf(
			    err, "%s is not msgpack: byte %zu is 0xc1, which msgpack never uses",
			    what, pos);
		if (item_shape(p + pos, len - pos, &s) < 0 || s.head > len - pos ||
		    s.body > len - pos - s.head)
			return lm_errf(err,
				       "%s is cut short: the msgpack value at byte %zu needs more "
				       "bytes than %s has",
				       what, start, what);
		pos += s.head + s.body;
		pending--;
		if (depth > 0)
			left[depth - 1]--;
		if (s.container && depth == max_depth)
			return lm_errf(err,
				       "%s nests arrays and maps more than %zu deep (at byte %zu)",
				       what, max_depth, start);
		if (s.items > 0) {
			room = len - pos;
			if (pending > room || s.items > room - pending)
				return lm_errf(err,
					       "%s announces %zu elements at byte %zu but has only "
					       "%zu bytes left",
					       what, s.items, start, room);
			left[depth++] = s.items;
			pending += s.items;
		}
		while (depth > 0 && left[depth - 1] == 0)
			depth--;
	}
	*end = pos;
	return 0;
}

static const char *plural(uint32_t n)
{
	return n == 1 ? "" : "s";
}

const char *mp_describe(const msgpack_object *o, char *buf, size_t cap)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return "nil";
	case MSGPACK_OBJECT_BOOLEAN:
		return o->via.boolean ? "true" : "false";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(buf, cap, "%" PRIu64, o->via.u64);
		return buf;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(buf, cap, "%" PRId64, o->via.i64);
		return buf;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return "a float";
	case MSGPACK_OBJECT_STR:
		snprintf(buf, cap, "a str of %" PRIu32 " byte%s", o->via.str.size,
			 plural(o->via.str.size));
		return buf;
	case MSGPACK_OBJECT_BIN:
		snprintf(buf, cap, "a bin of %" PRIu32 " byte%s", o->via.bin.size,
			 plural(o->via.bin.size));
		return buf;
	case MSGPACK_OBJECT_EXT:
		snprintf(buf, cap, "an ext of %" PRIu32 " byte%s", o->via.ext.size,
			 plural(o->via.ext.size));
		return buf;
	case MSGPACK_OBJECT_ARRAY:
		snprintf(buf, cap, "an array of %" PRIu32, o->via.array.size);
		return buf;
	case MSGPACK_OBJECT_MAP:
		snprintf(buf, cap, "a map of %" PRIu32, o->via.map.size);
		return buf;
	}
	return "an unknown msgpack type";
}
