/* SPDX-License-Identifier: MIT */
/* msgpack map helpers; see mp.h. */
#include "proto/mp.h"

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
