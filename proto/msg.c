/* SPDX-License-Identifier: MIT */
/* Transport messages; see msg.h for their shapes, docs/PROTOCOL.md for the
 * rules.
 *
 * Encoders pack into the caller's buffer through a msgpack_packer whose
 * writer never passes the end: it counts what the message would need and
 * copies only while that fits, so the encode path allocates nothing.
 *
 * The decoder walks the bytes once without allocating ("skim") before
 * msgpack-c sees them: they must hold exactly one complete msgpack value,
 * nested at most MSG_MAX_DEPTH deep, whose arrays and maps announce no more
 * elements than the bytes left could hold. msgpack-c sizes its zone from
 * those announced counts, so the skim keeps it within a small multiple of the
 * input whatever the peer sends. */
#include "proto/msg.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "proto/mp.h"
#include "proto/noise.h"

#define MSG_MAX_LEN NOISE_MAX_PAYLOAD_LEN /* 65519: the largest transport plaintext */

/* ---- Encoding ---- */

struct out {
	uint8_t *buf;
	size_t cap;
	size_t len; /* bytes the message needs so far; past cap once it overflowed */
};

static int out_write(void *data, const char *p, size_t n)
{
	struct out *o = data;

	if (n == 0)
		return 0;
	if (o->len <= o->cap && n <= o->cap - o->len)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

static void out_init(struct out *o, msgpack_packer *pk, uint8_t *buf, size_t cap)
{
	o->buf = buf;
	o->cap = cap;
	o->len = 0;
	msgpack_packer_init(pk, o, out_write);
}

static int out_finish(const struct out *o, const char *what, size_t *len, lm_err *err)
{
	if (o->len > o->cap)
		return lm_errf(err, "cannot encode %s: it needs %zu bytes, the buffer holds %zu",
			       what, o->len, o->cap);
	*len = o->len;
	return 0;
}

static void pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

int msg_encode_hello(const struct msg_hello *hello, uint8_t *buf, size_t cap, size_t *len,
		     lm_err *err)
{
	msgpack_packer pk;
	struct out o;

	out_init(&o, &pk, buf, cap);
	msgpack_pack_array(&pk, 2);
	mp_pack_cstr(&pk, "hello");
	msgpack_pack_map(&pk, 4);
	mp_pack_cstr(&pk, "site");
	msgpack_pack_bin(&pk, sizeof(hello->site));
	msgpack_pack_bin_body(&pk, hello->site, sizeof(hello->site));
	mp_pack_cstr(&pk, "software");
	pack_strn(&pk, hello->software, strnlen(hello->software, sizeof(hello->software)));
	mp_pack_cstr(&pk, "protocol");
	msgpack_pack_uint32(&pk, hello->protocol);
	mp_pack_cstr(&pk, "schema");
	msgpack_pack_uint32(&pk, hello->schema);
	return out_finish(&o, "a hello", len, err);
}

static int encode_nonce(const char *type, uint64_t nonce, uint8_t *buf, size_t cap, size_t *len,
			lm_err *err)
{
	msgpack_packer pk;
	struct out o;

	out_init(&o, &pk, buf, cap);
	msgpack_pack_array(&pk, 2);
	mp_pack_cstr(&pk, type);
	msgpack_pack_uint64(&pk, nonce);
	return out_finish(&o, type, len, err);
}

int msg_encode_ping(uint64_t nonce, uint8_t *buf, size_t cap, size_t *len, lm_err *err)
{
	return encode_nonce("ping", nonce, buf, cap, len, err);
}

int msg_encode_pong(uint64_t nonce, uint8_t *buf, size_t cap, size_t *len, lm_err *err)
{
	return encode_nonce("pong", nonce, buf, cap, len, err);
}

int msg_encode_error(const char *code, const char *text, uint8_t *buf, size_t cap, size_t *len,
		     lm_err *err)
{
	msgpack_packer pk;
	struct out o;

	out_init(&o, &pk, buf, cap);
	msgpack_pack_array(&pk, 3);
	mp_pack_cstr(&pk, "error");
	mp_pack_cstr(&pk, code ? code : "");
	mp_pack_cstr(&pk, text ? text : "");
	return out_finish(&o, "an error", len, err);
}

/* ---- Decoding ---- */

/* Copy received text for logs and display: at most cap - 1 bytes, cut
 * before a UTF-8 character that would not fit whole, control characters
 * replaced by '?'. */
static void copy_text(char *out, size_t cap, const char *p, uint32_t n)
{
	size_t k = n < cap - 1 ? n : cap - 1, i;

	for (i = 0; k < n && i < 3 && k > 0 && ((uint8_t)p[k] & 0xc0) == 0x80; i++)
		k--;
	for (i = 0; i < k; i++) {
		uint8_t c = (uint8_t)p[i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[k] = '\0';
}

static int hello_uint32(const msgpack_object *map, const char *key, uint32_t *out, lm_err *err)
{
	const msgpack_object *v = mp_map_get(map, key);
	char what[48];

	if (v == NULL)
		return lm_errf(err, "hello: the map has no '%s'", key);
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > UINT32_MAX)
		return lm_errf(err, "hello: '%s' must be an integer from 0 to %" PRIu32 ", got %s",
			       key, UINT32_MAX, mp_describe(v, what, sizeof(what)));
	*out = (uint32_t)v->via.u64;
	return 0;
}

static int decode_hello(const msgpack_object_array *a, struct msg_hello *h, lm_err *err)
{
	const msgpack_object *map, *v;
	char what[48];

	if (a->size < 2)
		return lm_errf(err,
			       "hello: no map after the type; a hello is [\"hello\", {\"site\", "
			       "\"software\", \"protocol\", \"schema\"}]");
	map = &a->ptr[1];
	if (map->type != MSGPACK_OBJECT_MAP)
		return lm_errf(err, "hello: the second element must be a map, got %s",
			       mp_describe(map, what, sizeof(what)));
	v = mp_map_get(map, "site");
	if (v == NULL)
		return lm_errf(err, "hello: the map has no 'site'");
	if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size != sizeof(h->site))
		return lm_errf(err, "hello: 'site' must be %zu bytes of binary, got %s",
			       sizeof(h->site), mp_describe(v, what, sizeof(what)));
	memcpy(h->site, v->via.bin.ptr, sizeof(h->site));
	v = mp_map_get(map, "software");
	if (v == NULL)
		return lm_errf(err, "hello: the map has no 'software'");
	if (v->type != MSGPACK_OBJECT_STR)
		return lm_errf(err, "hello: 'software' must be a str, got %s",
			       mp_describe(v, what, sizeof(what)));
	copy_text(h->software, sizeof(h->software), v->via.str.ptr, v->via.str.size);
	if (hello_uint32(map, "protocol", &h->protocol, err) < 0 ||
	    hello_uint32(map, "schema", &h->schema, err) < 0)
		return -1;
	return 0;
}

static int decode_nonce(const char *type, const msgpack_object_array *a, uint64_t *nonce,
			lm_err *err)
{
	char what[48];

	if (a->size < 2)
		return lm_errf(err, "%s: no nonce; a %s is [\"%s\", nonce]", type, type, type);
	if (a->ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return lm_errf(err, "%s: the nonce must be an integer from 0 to 2^64 - 1, got %s",
			       type, mp_describe(&a->ptr[1], what, sizeof(what)));
	*nonce = a->ptr[1].via.u64;
	return 0;
}

static int decode_error(const msgpack_object_array *a, struct msg_error *e, lm_err *err)
{
	static const char *const names[] = {"code", "text"};
	char *outs[] = {e->code, e->text};
	size_t caps[] = {sizeof(e->code), sizeof(e->text)};
	const msgpack_object *v;
	char what[48];
	size_t i;

	for (i = 0; i < 2; i++) {
		if (a->size < i + 2)
			return lm_errf(err, "error: no %s; an error is [\"error\", code, text]",
				       names[i]);
		v = &a->ptr[i + 1];
		if (v->type != MSGPACK_OBJECT_STR)
			return lm_errf(err, "error: the %s must be a str, got %s", names[i],
				       mp_describe(v, what, sizeof(what)));
		copy_text(outs[i], caps[i], v->via.str.ptr, v->via.str.size);
	}
	return 0;
}

static int decode_array(const msgpack_object *root, struct msg *out, lm_err *err)
{
	static const enum msg_type known[] = {MSG_HELLO, MSG_PING, MSG_PONG, MSG_ERROR};
	const msgpack_object_array *a;
	const msgpack_object *type;
	char what[48];
	size_t i;

	if (root->type != MSGPACK_OBJECT_ARRAY)
		return lm_errf(err, "a message must be a msgpack array, got %s",
			       mp_describe(root, what, sizeof(what)));
	a = &root->via.array;
	if (a->size == 0)
		return lm_errf(err, "the message is an empty array; it must start with its type");
	type = &a->ptr[0];
	if (type->type != MSGPACK_OBJECT_STR)
		return lm_errf(err, "the message type (first element) must be a str, got %s",
			       mp_describe(type, what, sizeof(what)));
	out->type = MSG_UNKNOWN;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (mp_str_eq(type, msg_type_name(known[i])))
			out->type = known[i];
	copy_text(out->type_name, sizeof(out->type_name), type->via.str.ptr, type->via.str.size);
	switch (out->type) {
	case MSG_HELLO:
		return decode_hello(a, &out->u.hello, err);
	case MSG_PING:
	case MSG_PONG:
		return decode_nonce(out->type_name, a, &out->u.nonce, err);
	case MSG_ERROR:
		return decode_error(a, &out->u.error, err);
	case MSG_UNKNOWN:
		break;
	}
	return 0;
}

int msg_decode(const uint8_t *buf, size_t len, struct msg *out, lm_err *err)
{
	msgpack_unpacked result;
	size_t end = 0, off = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->type = MSG_UNKNOWN;
	if (len == 0)
		return lm_errf(err, "the message is empty; it must be a msgpack array");
	if (len > MSG_MAX_LEN)
		return lm_errf(err, "the message has %zu bytes, over the maximum of %d", len,
			       MSG_MAX_LEN);
	if (mp_skim(buf, len, MSG_MAX_DEPTH, "the message", &end, err) < 0)
		return -1;
	if (end < len)
		return lm_errf(err, "%zu trailing byte%s after the message", len - end,
			       len - end == 1 ? "" : "s");
	msgpack_unpacked_init(&result);
	if (msgpack_unpack_next(&result, (const char *)buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len)
		rc = lm_errf(err, "the message is not valid msgpack");
	else
		rc = decode_array(&result.data, out, err);
	msgpack_unpacked_destroy(&result);
	if (rc < 0)
		memset(&out->u, 0, sizeof(out->u));
	return rc;
}

const char *msg_type_name(enum msg_type type)
{
	switch (type) {
	case MSG_HELLO:
		return "hello";
	case MSG_PING:
		return "ping";
	case MSG_PONG:
		return "pong";
	case MSG_ERROR:
		return "error";
	case MSG_UNKNOWN:
		break;
	}
	return "unknown";
}
