/* SPDX-License-Identifier: MIT */
/* Small conveniences over msgpack-c for building and reading maps keyed by
 * strings, shared by the control protocol's two ends. Readers never trust
 * the type of what they find: a missing key and a wrong type look the same. */
#ifndef LMSYNC_PROTO_MP_H
#define LMSYNC_PROTO_MP_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

/* Pack a NUL-terminated string (NULL packs nil). */
void mp_pack_cstr(msgpack_packer *pk, const char *s);
/* Pack "key" then a value; for building maps. */
void mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *value);
void mp_pack_kv_int(msgpack_packer *pk, const char *key, int64_t value);
void mp_pack_kv_bool(msgpack_packer *pk, const char *key, int value);

/* 1 when obj is a string equal to s. */
int mp_str_eq(const msgpack_object *obj, const char *s);

/* The value under key in a map, or NULL. */
const msgpack_object *mp_map_get(const msgpack_object *map, const char *key);

/* Copy a string value into out (truncating); 1 when found, else 0. */
int mp_map_str(const msgpack_object *map, const char *key, char *out, size_t cap);
/* Read an integer or boolean value; 1 when found, else 0. */
int mp_map_int(const msgpack_object *map, const char *key, int64_t *out);
int mp_map_bool(const msgpack_object *map, const char *key, int *out);

/* What a value is, for error messages: "a str of 7 bytes", "-1", "nil",
 * "an array of 3". Returns buf or a constant. */
const char *mp_describe(const msgpack_object *o, char *buf, size_t cap);

/* The deepest nesting mp_skim checks (msgpack-c's own stack limit). */
#define MP_SKIM_DEPTH_MAX 32

/* Check, without allocating, that p holds one complete msgpack value nested
 * at most max_depth deep whose announced sizes fit in len, and set *end past
 * it. `what` names the input in messages ("the message", "the body"). */
int mp_skim(const uint8_t *p, size_t len, size_t max_depth, const char *what, size_t *end,
	    lm_err *err);

#endif
