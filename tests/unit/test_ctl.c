/* SPDX-License-Identifier: MIT */
/* Control protocol framing and the msgpack map helpers: headers in network
 * byte order, messages reassembled from any chunking, oversized messages
 * refused, and typed lookups that treat a wrong type as missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "proto/ctl.h"
#include "proto/mp.h"

static int has(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

static void test_header_round_trip(void **state)
{
	static const uint32_t values[] = {
	    0, 1, 255, 256, 0x01020304, CTL_MAX_MESSAGE, 0x7fffffff, 0x80000000, 0xffffffff};
	uint8_t hdr[CTL_HEADER_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		ctl_header_write(hdr, values[i]);
		assert_int_equal(ctl_header_read(hdr), values[i]);
	}
	/* Big-endian on the wire. */
	ctl_header_write(hdr, 0x01020304);
	assert_int_equal(hdr[0], 1);
	assert_int_equal(hdr[1], 2);
	assert_int_equal(hdr[2], 3);
	assert_int_equal(hdr[3], 4);
	ctl_header_write(hdr, 0xffffffff);
	assert_int_equal(hdr[0] & hdr[1] & hdr[2] & hdr[3], 0xff);
	ctl_header_write(hdr, 0);
	assert_int_equal(hdr[0] | hdr[1] | hdr[2] | hdr[3], 0);
}

/* Three messages: a msgpack request, an empty message, and 600 bytes (more
 * than the reader's first allocation). */
struct stream {
	uint8_t bytes[1024];
	size_t len;
	const uint8_t *msg[3];
	size_t msg_len[3];
	uint8_t big[600];
	msgpack_sbuffer sb;
};

static void append(struct stream *s, const void *data, size_t len, int index)
{
	ctl_header_write(s->bytes + s->len, (uint32_t)len);
	s->len += CTL_HEADER_LEN;
	memcpy(s->bytes + s->len, data, len);
	s->len += len;
	s->msg[index] = data;
	s->msg_len[index] = len;
}

static void stream_init(struct stream *s)
{
	msgpack_packer pk;
	size_t i;

	memset(s, 0, sizeof(*s));
	msgpack_sbuffer_init(&s->sb);
	msgpack_packer_init(&pk, &s->sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	mp_pack_cstr(&pk, "peer.add");
	msgpack_pack_map(&pk, 1);
	mp_pack_kv_str(&pk, "name", "Tromsø");
	for (i = 0; i < sizeof(s->big); i++)
		s->big[i] = (uint8_t)(i * 7 + 3);
	append(s, s->sb.data, s->sb.size, 0);
	append(s, "", 0, 1);
	append(s, s->big, sizeof(s->big), 2);
}

static void stream_free(struct stream *s)
{
	msgpack_sbuffer_destroy(&s->sb);
}

/* Take every complete message out of r, checking each against the next
 * expected one; returns how many were taken. */
static int drain(struct ctl_reader *r, const struct stream *s, int *next)
{
	const uint8_t *msg;
	size_t len;
	int n = 0;

	while (ctl_reader_next(r, &msg, &len)) {
		assert_true(*next < 3);
		assert_int_equal(len, s->msg_len[*next]);
		if (len > 0)
			assert_memory_equal(msg, s->msg[*next], len);
		/* next without consume returns the same message. */
		{
			const uint8_t *again;
			size_t again_len;

			assert_int_equal(ctl_reader_next(r, &again, &again_len), 1);
			assert_ptr_equal(again, msg);
			assert_int_equal(again_len, len);
		}
		ctl_reader_consume(r);
		(*next)++;
		n++;
	}
	return n;
}

static void test_reader_byte_at_a_time(void **state)
{
	struct ctl_reader r;
	struct stream s;
	lm_err err;
	size_t i;
	int next = 0;

	(void)state;
	stream_init(&s);
	ctl_reader_init(&r, CTL_MAX_MESSAGE);
	for (i = 0; i < s.len; i++) {
		assert_int_equal(ctl_reader_feed(&r, s.bytes + i, 1, &err), 0);
		drain(&r, &s, &next);
	}
	assert_int_equal(next, 3);
	assert_int_equal(r.len, 0);
	ctl_reader_free(&r);
	assert_null(r.buf);
	stream_free(&s);
}

static void test_reader_all_at_once(void **state)
{
	struct ctl_reader r;
	struct stream s;
	lm_err err;
	int next = 0;

	(void)state;
	stream_init(&s);
	ctl_reader_init(&r, CTL_MAX_MESSAGE);
	assert_int_equal(ctl_reader_feed(&r, s.bytes, s.len, &err), 0);
	assert_int_equal(drain(&r, &s, &next), 3);
	assert_int_equal(r.len, 0);
	/* Nothing left: next says so and consume is harmless. */
	{
		const uint8_t *msg = NULL;
		size_t len = 99;

		assert_int_equal(ctl_reader_next(&r, &msg, &len), 0);
		assert_null(msg);
		assert_int_equal(len, 99);
		ctl_reader_consume(&r);
		assert_int_equal(r.len, 0);
	}
	ctl_reader_free(&r);
	stream_free(&s);
}

/* Chunks of 1 to 13 bytes that cut headers and bodies everywhere. */
static void test_reader_odd_chunks(void **state)
{
	struct ctl_reader r;
	struct stream s;
	lm_err err;
	size_t pos = 0, chunk = 1;
	int next = 0;

	(void)state;
	stream_init(&s);
	ctl_reader_init(&r, CTL_MAX_MESSAGE);
	while (pos < s.len) {
		size_t n = chunk < s.len - pos ? chunk : s.len - pos;

		assert_int_equal(ctl_reader_feed(&r, s.bytes + pos, n, &err), 0);
		pos += n;
		drain(&r, &s, &next);
		chunk = chunk % 13 + 1;
	}
	assert_int_equal(next, 3);
	ctl_reader_free(&r);
	stream_free(&s);
}

static void test_reader_header_over_max(void **state)
{
	struct ctl_reader r;
	uint8_t hdr[CTL_HEADER_LEN];
	const uint8_t *msg;
	size_t len;
	lm_err err;
	int i;

	(void)state;
	/* Whole header at once. */
	ctl_reader_init(&r, 100);
	ctl_header_write(hdr, 101);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ctl_reader_feed(&r, hdr, sizeof(hdr), &err), -1);
	assert_true(has(err.msg, "101"));
	assert_true(has(err.msg, "100"));
	assert_int_equal(ctl_reader_next(&r, &msg, &len), 0);
	/* And every later feed is refused too. */
	assert_int_equal(ctl_reader_feed(&r, "x", 1, &err), -1);
	ctl_reader_free(&r);

	/* Header one byte at a time: refused when the last byte arrives. */
	ctl_reader_init(&r, CTL_MAX_MESSAGE);
	ctl_header_write(hdr, 0xffffffff);
	for (i = 0; i < 3; i++)
		assert_int_equal(ctl_reader_feed(&r, hdr + i, 1, &err), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ctl_reader_feed(&r, hdr + 3, 1, &err), -1);
	assert_true(has(err.msg, "4294967295"));
	ctl_reader_free(&r);

	/* Exactly max is accepted. */
	{
		uint8_t buf[CTL_HEADER_LEN + 100];

		ctl_reader_init(&r, 100);
		ctl_header_write(buf, 100);
		memset(buf + CTL_HEADER_LEN, 'm', 100);
		assert_int_equal(ctl_reader_feed(&r, buf, sizeof(buf), &err), 0);
		assert_int_equal(ctl_reader_next(&r, &msg, &len), 1);
		assert_int_equal(len, 100);
		assert_memory_equal(msg, buf + CTL_HEADER_LEN, 100);
		ctl_reader_free(&r);
	}
}

static void test_reader_chunk_over_max(void **state)
{
	uint8_t buf[CTL_HEADER_LEN + 11];
	struct ctl_reader r;
	lm_err err;

	(void)state;
	/* A 10-byte message announced honestly, followed by one byte more than
	 * the reader may hold. */
	ctl_header_write(buf, 10);
	memset(buf + CTL_HEADER_LEN, 'z', 11);
	ctl_reader_init(&r, 10);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ctl_reader_feed(&r, buf, sizeof(buf), &err), -1);
	assert_true(has(err.msg, "10 bytes"));
	assert_int_equal(r.len, 0);
	/* max + header in one go is fine. */
	assert_int_equal(ctl_reader_feed(&r, buf, sizeof(buf) - 1, &err), 0);
	ctl_reader_free(&r);
}

/* Feeding nothing (libuv may report a read of 0 bytes) changes nothing. */
static void test_reader_feed_nothing(void **state)
{
	struct ctl_reader r;
	const uint8_t *msg;
	size_t len;
	lm_err err;
	uint8_t byte = 0;

	(void)state;
	ctl_reader_init(&r, 100);
	assert_int_equal(ctl_reader_feed(&r, &byte, 0, &err), 0);
	assert_int_equal(r.len, 0);
	assert_int_equal(ctl_reader_next(&r, &msg, &len), 0);
	ctl_reader_free(&r);
}

/* A map of every type the helpers read, unpacked from real msgpack bytes. */
struct map {
	msgpack_sbuffer sb;
	msgpack_unpacked up;
	const msgpack_object *obj;
};

static void map_init(struct map *m)
{
	msgpack_packer pk;
	size_t off = 0;

	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&pk, &m->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 9);
	mp_pack_kv_str(&pk, "name", "Bodø kommune");
	mp_pack_kv_int(&pk, "count", 42);
	mp_pack_kv_int(&pk, "neg", -7);
	mp_pack_kv_int(&pk, "min", INT64_MIN);
	mp_pack_kv_bool(&pk, "ok", 1);
	mp_pack_kv_bool(&pk, "no", 0);
	mp_pack_cstr(&pk, "big");
	msgpack_pack_uint64(&pk, UINT64_MAX);
	mp_pack_kv_str(&pk, "nil", NULL);
	mp_pack_kv_str(&pk, "", "empty key");
	msgpack_unpacked_init(&m->up);
	assert_int_equal(msgpack_unpack_next(&m->up, m->sb.data, m->sb.size, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, m->sb.size);
	m->obj = &m->up.data;
	assert_int_equal(m->obj->type, MSGPACK_OBJECT_MAP);
}

static void map_free(struct map *m)
{
	msgpack_unpacked_destroy(&m->up);
	msgpack_sbuffer_destroy(&m->sb);
}

static void test_mp_map_str(void **state)
{
	struct map m;
	char out[64];

	(void)state;
	map_init(&m);
	assert_int_equal(mp_map_str(m.obj, "name", out, sizeof(out)), 1);
	assert_string_equal(out, "Bodø kommune");
	assert_int_equal(mp_map_str(m.obj, "", out, sizeof(out)), 1);
	assert_string_equal(out, "empty key");
	/* Truncated to the buffer, always terminated. */
	assert_int_equal(mp_map_str(m.obj, "name", out, 4), 1);
	assert_string_equal(out, "Bod");
	assert_int_equal(mp_map_str(m.obj, "name", out, 1), 1);
	assert_string_equal(out, "");

	snprintf(out, sizeof(out), "untouched");
	assert_int_equal(mp_map_str(m.obj, "name", out, 0), 0);
	assert_int_equal(mp_map_str(m.obj, "missing", out, sizeof(out)), 0);
	assert_int_equal(mp_map_str(m.obj, "count", out, sizeof(out)), 0);
	assert_int_equal(mp_map_str(m.obj, "ok", out, sizeof(out)), 0);
	assert_int_equal(mp_map_str(m.obj, "nil", out, sizeof(out)), 0);
	assert_int_equal(mp_map_str(m.obj, "Name", out, sizeof(out)), 0);
	assert_int_equal(mp_map_str(m.obj, "nam", out, sizeof(out)), 0);
	assert_string_equal(out, "untouched");

	/* Not a map: nothing is found. */
	assert_int_equal(mp_map_str(&m.obj->via.map.ptr[0].val, "name", out, sizeof(out)), 0);
	assert_null(mp_map_get(NULL, "name"));
	assert_null(mp_map_get(&m.obj->via.map.ptr[0].key, "name"));
	map_free(&m);
}

static void test_mp_map_int_bool(void **state)
{
	struct map m;
	int64_t v;
	int b;

	(void)state;
	map_init(&m);
	assert_int_equal(mp_map_int(m.obj, "count", &v), 1);
	assert_int_equal(v, 42);
	assert_int_equal(mp_map_int(m.obj, "neg", &v), 1);
	assert_int_equal(v, -7);
	assert_int_equal(mp_map_int(m.obj, "min", &v), 1);
	assert_true(v == INT64_MIN);

	v = 12345;
	assert_int_equal(mp_map_int(m.obj, "missing", &v), 0);
	assert_int_equal(mp_map_int(m.obj, "name", &v), 0);
	assert_int_equal(mp_map_int(m.obj, "ok", &v), 0);
	assert_int_equal(mp_map_int(m.obj, "nil", &v), 0);
	/* Too large for int64_t: not silently wrapped. */
	assert_int_equal(mp_map_int(m.obj, "big", &v), 0);
	assert_int_equal(v, 12345);

	assert_int_equal(mp_map_bool(m.obj, "ok", &b), 1);
	assert_int_equal(b, 1);
	assert_int_equal(mp_map_bool(m.obj, "no", &b), 1);
	assert_int_equal(b, 0);
	b = 77;
	assert_int_equal(mp_map_bool(m.obj, "count", &b), 0);
	assert_int_equal(mp_map_bool(m.obj, "name", &b), 0);
	assert_int_equal(mp_map_bool(m.obj, "missing", &b), 0);
	assert_int_equal(mp_map_bool(m.obj, "nil", &b), 0);
	assert_int_equal(b, 77);

	/* "nil" is present, packed as nil. */
	assert_non_null(mp_map_get(m.obj, "nil"));
	assert_int_equal(mp_map_get(m.obj, "nil")->type, MSGPACK_OBJECT_NIL);
	map_free(&m);
}

static void test_mp_str_eq(void **state)
{
	struct map m;
	const msgpack_object *name, *count, *empty;

	(void)state;
	map_init(&m);
	name = mp_map_get(m.obj, "name");
	count = mp_map_get(m.obj, "count");
	empty = &m.obj->via.map.ptr[8].key;
	assert_non_null(name);
	assert_non_null(count);
	assert_int_equal(mp_str_eq(name, "Bodø kommune"), 1);
	assert_int_equal(mp_str_eq(name, "Bodø"), 0);
	assert_int_equal(mp_str_eq(name, "Bodø kommune!"), 0);
	assert_int_equal(mp_str_eq(name, "bodø kommune"), 0);
	assert_int_equal(mp_str_eq(name, ""), 0);
	assert_int_equal(mp_str_eq(count, "42"), 0);
	assert_int_equal(mp_str_eq(empty, ""), 1);
	assert_int_equal(mp_str_eq(empty, "x"), 0);
	map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_round_trip),
	    cmocka_unit_test(test_reader_byte_at_a_time),
	    cmocka_unit_test(test_reader_all_at_once),
	    cmocka_unit_test(test_reader_odd_chunks),
	    cmocka_unit_test(test_reader_header_over_max),
	    cmocka_unit_test(test_reader_chunk_over_max),
	    cmocka_unit_test(test_reader_feed_nothing),
	    cmocka_unit_test(test_mp_map_str),
	    cmocka_unit_test(test_mp_map_int_bool),
	    cmocka_unit_test(test_mp_str_eq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
