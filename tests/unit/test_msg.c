/* SPDX-License-Identifier: MIT */
/* Transport messages: every type round-trips; ping, hello and ack encode to
 * the exact bytes docs/PROTOCOL.md shows; each way a known message can be
 * malformed is refused with a message naming the problem; unknown types and
 * unknown hello keys are accepted, and so is the hello of an older peer
 * (without heads); encoders fail cleanly at every buffer size too small; the
 * HEADS and sets writers stop exactly at their budget and stay usable; the
 * overhead constants are exact; received strings are truncated and cleaned,
 * never overflowed; hostile sizes and nesting are refused before anything is
 * allocated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg.h"

#define BUF_CAP 70000 /* room for the largest message and then some */

static uint8_t buf[BUF_CAP];

/* ---- Helpers ---- */

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

/* Decode and expect failure with a message containing want. */
static void expect_error(const uint8_t *p, size_t len, const char *want)
{
	struct msg m;
	lm_err err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(msg_decode(p, len, &m, &err), -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("decode error \"%s\" does not contain \"%s\"", err.msg, want);
}

static void expect_sbuf_error(msgpack_sbuffer *sb, const char *want)
{
	expect_error((const uint8_t *)sb->data, sb->size, want);
	msgpack_sbuffer_destroy(sb);
}

static void decode_ok(const uint8_t *p, size_t len, struct msg *m)
{
	lm_err err;

	memset(&err, 0, sizeof(err));
	if (msg_decode(p, len, m, &err) != 0)
		fail_msg("decode failed: %s", err.msg);
}

static void sample_hello(struct msg_hello *h)
{
	size_t i;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < sizeof(h->site); i++)
		h->site[i] = (uint8_t)(0xa0 + i);
	strcpy(h->software, "lmsync 0.1.0");
	h->protocol = MSG_PROTOCOL_VERSION;
	h->schema = 7;
}

static void sample_origin(uint8_t origin[32], uint8_t seed)
{
	size_t i;

	for (i = 0; i < 32; i++)
		origin[i] = (uint8_t)(seed + i * 3);
}

/* A HEADS map of three entries in two scopes, encoded by the writer. */
static void small_heads(struct msg_heads *h)
{
	static uint8_t hb[256];
	struct msg_heads_writer w;
	uint8_t origin[32];
	lm_err err;

	msg_heads_writer_begin(&w, hb, sizeof(hb));
	sample_origin(origin, 1);
	assert_int_equal(msg_heads_writer_add(&w, "a", origin, 1, &err), 0);
	sample_origin(origin, 2);
	assert_int_equal(msg_heads_writer_add(&w, "a", origin, 300, &err), 0);
	assert_int_equal(msg_heads_writer_add(&w, "b", origin, 0, &err), 0);
	h->p = hb;
	h->len = msg_heads_writer_finish(&w);
}

/* How a test hello departs from a good one. */
struct hello_spec {
	int site;	  /* bytes of bin; -1 leaves it out; -2 packs a str of 7 */
	int software;	  /* 0 leaves it out */
	int protocol_set; /* 0 leaves it out */
	int64_t protocol;
	uint64_t protocol_u; /* used instead when nonzero */
	int extra;	     /* unknown keys in the map and elements after it */
};

static const struct hello_spec good_spec = {32, 1, 1, 1, 0, 0};

static void pack_hello_spec(msgpack_sbuffer *sb, const struct hello_spec *s)
{
	static const uint8_t site[40] = {1, 2, 3};
	msgpack_packer pk;
	uint32_t n = 1 + (s->site != -1) + (s->software != 0) + (s->protocol_set != 0);

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, s->extra ? 4 : 2);
	pack_cstr(&pk, "hello");
	msgpack_pack_map(&pk, n + (s->extra ? 3 : 0));
	if (s->extra) {
		pack_cstr(&pk, "scopes");
		msgpack_pack_array(&pk, 2);
		pack_cstr(&pk, "a");
		msgpack_pack_map(&pk, 0);
		msgpack_pack_uint8(&pk, 9); /* a key that is not even a string */
		msgpack_pack_nil(&pk);
	}
	if (s->site >= 0) {
		pack_cstr(&pk, "site");
		msgpack_pack_bin(&pk, (size_t)s->site);
		msgpack_pack_bin_body(&pk, site, (size_t)s->site);
	} else if (s->site == -2) {
		pack_cstr(&pk, "site");
		pack_cstr(&pk, "abcdefg");
	}
	if (s->software) {
		pack_cstr(&pk, "software");
		pack_cstr(&pk, "other 2.0");
	}
	if (s->protocol_set) {
		pack_cstr(&pk, "protocol");
		if (s->protocol_u)
			msgpack_pack_uint64(&pk, s->protocol_u);
		else
			msgpack_pack_int64(&pk, s->protocol);
	}
	pack_cstr(&pk, "schema");
	msgpack_pack_uint32(&pk, 3);
	if (s->extra) {
		pack_cstr(&pk, "zzz");
		msgpack_pack_double(&pk, 1.5);
		msgpack_pack_true(&pk);
		pack_cstr(&pk, "later");
	}
}

/* ---- Round trips ---- */

static void test_hello_round_trip(void **state)
{
	struct msg_hello h;
	struct msg m;
	size_t len;
	lm_err err;

	(void)state;
	sample_hello(&h);
	h.schema = UINT32_MAX;
	assert_int_equal(msg_encode_hello(&h, buf, sizeof(buf), &len, &err), 0);
	decode_ok(buf, len, &m);
	assert_int_equal(m.type, MSG_HELLO);
	assert_string_equal(m.type_name, "hello");
	assert_memory_equal(m.u.hello.site, h.site, 32);
	assert_string_equal(m.u.hello.software, "lmsync 0.1.0");
	assert_int_equal(m.u.hello.protocol, 1);
	assert_int_equal(m.u.hello.schema, UINT32_MAX);
	/* Without heads and more, as an older peer sends it. */
	assert_int_equal(m.u.hello.heads.len, 0);
	assert_null(m.u.hello.heads.p);
	assert_int_equal(m.u.hello.more, 0);
}

static void test_hello_software_unterminated(void **state)
{
	struct msg_hello h;
	struct msg m;
	size_t len;
	lm_err err;

	(void)state;
	/* A software field filled to the brim without a NUL: the encoder stops at
	 * the end of the field, the decoder keeps what fits. */
	sample_hello(&h);
	memset(h.software, 'x', sizeof(h.software));
	assert_int_equal(msg_encode_hello(&h, buf, sizeof(buf), &len, &err), 0);
	decode_ok(buf, len, &m);
	assert_int_equal(strlen(m.u.hello.software), MSG_SOFTWARE_MAX - 1);
	assert_int_equal(m.u.hello.protocol, 1);
}

static void test_ping_pong_round_trip(void **state)
{
	static const uint64_t nonces[] = {
	    0,	       1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
	    UINT64_MAX};
	struct msg m;
	size_t i, len;
	lm_err err;

	(void)state;
	for (i = 0; i < sizeof(nonces) / sizeof(nonces[0]); i++) {
		assert_int_equal(msg_encode_ping(nonces[i], buf, sizeof(buf), &len, &err), 0);
		decode_ok(buf, len, &m);
		assert_int_equal(m.type, MSG_PING);
		assert_string_equal(m.type_name, "ping");
		assert_true(m.u.nonce == nonces[i]);
		assert_int_equal(msg_encode_pong(nonces[i], buf, sizeof(buf), &len, &err), 0);
		decode_ok(buf, len, &m);
		assert_int_equal(m.type, MSG_PONG);
		assert_string_equal(m.type_name, "pong");
		assert_true(m.u.nonce == nonces[i]);
	}
}

static void test_error_round_trip(void **state)
{
	struct msg m;
	size_t len;
	lm_err err;

	(void)state;
	assert_int_equal(msg_encode_error(MSG_ERROR_UNKNOWN_SITE,
					  "site 0123456-... is not a configured peer here", buf,
					  sizeof(buf), &len, &err),
			 0);
	decode_ok(buf, len, &m);
	assert_int_equal(m.type, MSG_ERROR);
	assert_string_equal(m.type_name, "error");
	assert_string_equal(m.u.error.code, "unknown-site");
	assert_string_equal(m.u.error.text, "site 0123456-... is not a configured peer here");
	/* Empty strings, and NULL taken as empty. */
	assert_int_equal(msg_encode_error(NULL, "", buf, sizeof(buf), &len, &err), 0);
	decode_ok(buf, len, &m);
	assert_int_equal(m.type, MSG_ERROR);
	assert_string_equal(m.u.error.code, "");
	assert_string_equal(m.u.error.text, "");
}

/* ---- Exact bytes ---- */

static void test_ping_bytes(void **state)
{
	static const uint8_t ping1[] = {0x92, 0xa4, 'p', 'i', 'n', 'g', 0x01};
	static const uint8_t pong_max[] = {0x92, 0xa4, 'p',  'o',  'n',	 'g',  0xcf, 0xff,
					   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	size_t len;
	lm_err err;

	(void)state;
	assert_int_equal(msg_encode_ping(1, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, sizeof(ping1));
	assert_memory_equal(buf, ping1, sizeof(ping1));
	assert_int_equal(msg_encode_pong(UINT64_MAX, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, sizeof(pong_max));
	assert_memory_equal(buf, pong_max, sizeof(pong_max));
}

static void test_hello_bytes(void **state)
{
	static const char head[] = "\x92\xa5hello\x84\xa4site\xc4\x20";
	static const char tail[] = "\xa8software\xac"
				   "lmsync 0.1.0"
				   "\xa8protocol\x01\xa6schema\x07";
	uint8_t want[128];
	msgpack_unpacked u;
	const msgpack_object_map *map;
	struct msg_hello h;
	size_t len, n = 0;
	lm_err err;

	(void)state;
	sample_hello(&h);
	memcpy(want, head, sizeof(head) - 1);
	n += sizeof(head) - 1;
	memcpy(want + n, h.site, 32);
	n += 32;
	memcpy(want + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	assert_int_equal(n, 87);
	assert_int_equal(msg_encode_hello(&h, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, n);
	assert_memory_equal(buf, want, n);
	/* The same seen through msgpack-c: an array of two, a map of four. */
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)buf, len, NULL),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(u.data.via.array.size, 2);
	assert_int_equal(u.data.via.array.ptr[1].type, MSGPACK_OBJECT_MAP);
	map = &u.data.via.array.ptr[1].via.map;
	assert_int_equal(map->size, 4);
	assert_int_equal(map->ptr[0].val.type, MSGPACK_OBJECT_BIN);
	assert_int_equal(map->ptr[1].val.type, MSGPACK_OBJECT_STR);
	assert_int_equal(map->ptr[2].val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(map->ptr[3].val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	msgpack_unpacked_destroy(&u);
}

static void test_error_bytes(void **state)
{
	static const uint8_t want[] = {0x93, 0xa5, 'e', 'r', 'r', 'o', 'r',  0xa8, 'p', 'r',
				       'o',  't',  'o', 'c', 'o', 'l', 0xa2, 'n',  'o'};
	size_t len;
	lm_err err;

	(void)state;
	assert_int_equal(msg_encode_error(MSG_ERROR_PROTOCOL, "no", buf, sizeof(buf), &len, &err),
			 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

/* ---- Structural errors ---- */

static void test_structure_errors(void **state)
{
	static const uint8_t not_array[] = {0x81, 0xa1, 'a', 0x01};
	static const uint8_t empty_array[] = {0x90};
	static const uint8_t type_int[] = {0x92, 0x05, 0xa4, 'p', 'i', 'n', 'g'};
	static const uint8_t type_nil[] = {0x91, 0xc0};
	static const uint8_t trailing1[] = {0x92, 0xa4, 'p', 'i', 'n', 'g', 0x01, 0x00};
	static const uint8_t trailing2[] = {0x92, 0xa4, 'p', 'i', 'n', 'g', 0x01, 0x92, 0x01};
	static const uint8_t cut[] = {0x92, 0xa4, 'p', 'i', 'n', 'g'};
	static const uint8_t cut_str[] = {0x92, 0xa4, 'p', 'i', 'n'};
	static const uint8_t cut_len[] = {0x92, 0xa4, 'p', 'i', 'n', 'g', 0xcd, 0x01};
	static const uint8_t never_used[] = {0x92, 0xa4, 'p', 'i', 'n', 'g', 0xc1};
	static const uint8_t scalar[] = {0x07};
	lm_err err;
	struct msg m;

	(void)state;
	expect_error(buf, 0, "empty");
	expect_error(NULL, 0, "empty");
	expect_error(not_array, sizeof(not_array), "must be a msgpack array, got a map of 1");
	expect_error(scalar, sizeof(scalar), "must be a msgpack array, got 7");
	expect_error(empty_array, sizeof(empty_array), "empty array");
	expect_error(type_int, sizeof(type_int), "type (first element) must be a str, got 5");
	expect_error(type_nil, sizeof(type_nil), "must be a str, got nil");
	expect_error(trailing1, sizeof(trailing1), "1 trailing byte after the message");
	expect_error(trailing2, sizeof(trailing2), "2 trailing bytes after the message");
	expect_error(cut, sizeof(cut), "cut short: it ends after 6 bytes");
	expect_error(cut_str, sizeof(cut_str), "cut short: the msgpack value at byte 1");
	expect_error(cut_len, sizeof(cut_len), "cut short: the msgpack value at byte 6");
	expect_error(never_used, sizeof(never_used), "byte 6 is 0xc1");
	/* A failed decode leaves no half-filled fields behind. */
	memset(&m, 0x5a, sizeof(m));
	assert_int_equal(msg_decode(trailing1, sizeof(trailing1), &m, &err), -1);
	assert_true(m.u.nonce == 0);
}

static void test_size_limits(void **state)
{
	/* ["x", bin 16 of n bytes]: 6 bytes of framing around the payload. */
	static const size_t max = 65519;
	size_t n = max - 6;
	struct msg m;

	(void)state;
	memset(buf, 0, sizeof(buf));
	buf[0] = 0x92;
	buf[1] = 0xa1;
	buf[2] = 'x';
	buf[3] = 0xc5;
	buf[4] = (uint8_t)(n >> 8);
	buf[5] = (uint8_t)n;
	decode_ok(buf, max, &m);
	assert_int_equal(m.type, MSG_UNKNOWN);
	assert_string_equal(m.type_name, "x");
	n++;
	buf[4] = (uint8_t)(n >> 8);
	buf[5] = (uint8_t)n;
	expect_error(buf, max + 1, "65520 bytes, over the maximum of 65519");
}

static void test_hostile_sizes(void **state)
{
	/* Counts and lengths far beyond the input: refused before msgpack-c would
	 * size a zone from them. */
	static const uint8_t arr32[] = {0x92, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00};
	static const uint8_t map32[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00};
	static const uint8_t str32[] = {0x92, 0xa1, 'x', 0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
	static const uint8_t ext32[] = {0x92, 0xa1, 'x', 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01};
	/* Each of 3 nested arrays claims as many elements as there are bytes
	 * left, which together cannot fit. */
	static const uint8_t sum[] = {0x92, 0xa1, 'x', 0x94, 0x93, 0x00, 0x00, 0x00};
	struct msg m;
	size_t i, n;

	(void)state;
	expect_error(arr32, sizeof(arr32), "announces 4294967295 elements at byte 3");
	expect_error(map32, sizeof(map32), "announces 4294967294 elements");
	expect_error(str32, sizeof(str32), "the msgpack value at byte 3 needs more bytes");
	expect_error(ext32, sizeof(ext32), "the msgpack value at byte 3 needs more bytes");
	expect_error(sum, sizeof(sum), "announces 3 elements at byte 4 but has only 3 bytes left");
	/* The densest legal message: every byte a value. */
	n = 65519 - 6;
	buf[0] = 0x92;
	buf[1] = 0xa1;
	buf[2] = 'x';
	buf[3] = 0xdc;
	buf[4] = (uint8_t)(n >> 8);
	buf[5] = (uint8_t)n;
	for (i = 0; i < n; i++)
		buf[6 + i] = 0xc0;
	decode_ok(buf, 65519, &m);
	assert_int_equal(m.type, MSG_UNKNOWN);
}

static void test_nesting(void **state)
{
	/* ["x", [[[...]]]]: the outer array plus depth - 1 arrays of one element,
	 * the innermost holding nil. */
	size_t depth, i, n;
	struct msg m;

	(void)state;
	for (depth = 30; depth <= 34; depth++) {
		n = 0;
		buf[n++] = 0x92;
		buf[n++] = 0xa1;
		buf[n++] = 'x';
		for (i = 1; i < depth; i++)
			buf[n++] = 0x91;
		buf[n++] = 0xc0;
		if (depth <= 32) {
			decode_ok(buf, n, &m);
			assert_int_equal(m.type, MSG_UNKNOWN);
		} else {
			expect_error(buf, n, "nests arrays and maps more than 32 deep");
		}
	}
	/* Empty arrays and maps count as a level too (msgpack-c counts them). */
	for (depth = 31; depth <= 32; depth++) {
		n = 0;
		buf[n++] = 0x92;
		buf[n++] = 0xa1;
		buf[n++] = 'x';
		for (i = 1; i < depth; i++)
			buf[n++] = 0x92;
		buf[n++] = 0x90;
		buf[n++] = 0x80;
		for (i = 2; i < depth; i++)
			buf[n++] = 0x90;
		if (depth < 32)
			decode_ok(buf, n, &m);
		else
			expect_error(buf, n, "more than 32 deep");
	}
	/* Ten thousand levels are refused without recursion. */
	n = 0;
	for (i = 0; i < 10000; i++)
		buf[n++] = 0x91;
	buf[n++] = 0xc0;
	expect_error(buf, n, "more than 32 deep");
}

/* ---- Known types, malformed ---- */

static void test_hello_errors(void **state)
{
	static const uint8_t no_map[] = {0x91, 0xa5, 'h', 'e', 'l', 'l', 'o'};
	static const uint8_t not_map[] = {0x92, 0xa5, 'h', 'e', 'l', 'l', 'o', 0x90};
	struct hello_spec s;
	msgpack_sbuffer sb;

	(void)state;
	expect_error(no_map, sizeof(no_map), "hello: no map after the type");
	expect_error(not_map, sizeof(not_map),
		     "hello: the second element must be a map, got an "
		     "array of 0");
	s = good_spec;
	s.site = -1;
	pack_hello_spec(&sb, &s);
	expect_sbuf_error(&sb, "hello: the map has no 'site'");
	s = good_spec;
	s.site = 31;
	pack_hello_spec(&sb, &s);
	expect_sbuf_error(&sb, "hello: 'site' must be 32 bytes of binary, got a bin of 31 bytes");
	s.site = 33;
	pack_hello_spec(&sb, &s);
	expect_sbuf_error(&sb, "got a bin of 33 bytes");
	s.site = -2;
	pack_hello_spec(&sb, &s);
	expect_sbuf_error(&sb, "hello: 'site' must be 32 bytes of binary, got a str of 7 bytes");
	s = good_spec;
	s.software = 0;
	pack_hello_spec(&sb, &s);
	expect_sbuf_error(&sb, "hello: the map has no 'software'");
	s = good_spec;
	s.protocol_set = 0;
	pack_hello_spec(&sb, &s);
	expect_sbuf_error(&sb, "hello: the map has no 'protocol'");
	s = good_spec;
	s.protocol = -1;
	pack_hello_spec(&sb, &s);
	expect_sbuf_error(&sb, "hello: 'protocol' must be an integer from 0 to 4294967295, got -1");
	s.protocol_u = (uint64_t)UINT32_MAX + 1;
	pack_hello_spec(&sb, &s);
	expect_sbuf_error(&sb, "'protocol' must be an integer from 0 to 4294967295, got "
			       "4294967296");
	/* The largest protocol number is fine, and so is the spec's own hello. */
	s.protocol_u = UINT32_MAX;
	pack_hello_spec(&sb, &s);
	{
		struct msg m;

		decode_ok((const uint8_t *)sb.data, sb.size, &m);
		assert_int_equal(m.u.hello.protocol, UINT32_MAX);
		assert_int_equal(m.u.hello.schema, 3);
		msgpack_sbuffer_destroy(&sb);
	}
}

static void test_hello_schema_errors(void **state)
{
	static const uint8_t site[32] = {0};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int pass;

	(void)state;
	for (pass = 0; pass < 3; pass++) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 2);
		pack_cstr(&pk, "hello");
		msgpack_pack_map(&pk, pass == 0 ? 3 : 4);
		pack_cstr(&pk, "site");
		msgpack_pack_bin(&pk, 32);
		msgpack_pack_bin_body(&pk, site, 32);
		pack_cstr(&pk, "software");
		if (pass == 1)
			msgpack_pack_bin(&pk, 0);
		else
			pack_cstr(&pk, "s");
		pack_cstr(&pk, "protocol");
		msgpack_pack_uint8(&pk, 1);
		if (pass > 0) {
			pack_cstr(&pk, "schema");
			if (pass == 2)
				msgpack_pack_double(&pk, 2.0);
			else
				msgpack_pack_uint8(&pk, 2);
		}
		expect_sbuf_error(&sb, pass == 0 ? "hello: the map has no 'schema'"
				       : pass == 1
					   ? "hello: 'software' must be a str, got a bin of 0 bytes"
					   : "hello: 'schema' must be an integer from 0 to "
					     "4294967295, got a float");
	}
}

static void test_ping_errors(void **state)
{
	static const uint8_t no_nonce[] = {0x91, 0xa4, 'p', 'i', 'n', 'g'};
	static const uint8_t str_nonce[] = {0x92, 0xa4, 'p', 'i', 'n', 'g', 0xa1, '1'};
	static const uint8_t neg_nonce[] = {0x92, 0xa4, 'p', 'o', 'n', 'g', 0xff};
	static const uint8_t extra[] = {0x93, 0xa4, 'p', 'o', 'n', 'g', 0x05, 0xc0};
	struct msg m;

	(void)state;
	expect_error(no_nonce, sizeof(no_nonce), "ping: no nonce");
	expect_error(str_nonce, sizeof(str_nonce),
		     "ping: the nonce must be an integer from 0 to 2^64 - 1, got a str of 1 byte");
	expect_error(neg_nonce, sizeof(neg_nonce), "pong: the nonce must be an integer");
	expect_error(neg_nonce, sizeof(neg_nonce), "got -1");
	/* Elements after the known ones are for later versions. */
	decode_ok(extra, sizeof(extra), &m);
	assert_int_equal(m.type, MSG_PONG);
	assert_true(m.u.nonce == 5);
}

static void test_error_errors(void **state)
{
	static const uint8_t int_code[] = {0x93, 0xa5, 'e', 'r', 'r', 'o', 'r', 0x05, 0xa1, 'x'};
	static const uint8_t nil_text[] = {0x93, 0xa5, 'e', 'r', 'r', 'o', 'r', 0xa1, 'x', 0xc0};
	static const uint8_t no_text[] = {0x92, 0xa5, 'e', 'r', 'r', 'o', 'r', 0xa1, 'x'};
	static const uint8_t no_code[] = {0x91, 0xa5, 'e', 'r', 'r', 'o', 'r'};

	(void)state;
	expect_error(int_code, sizeof(int_code), "error: the code must be a str, got 5");
	expect_error(nil_text, sizeof(nil_text), "error: the text must be a str, got nil");
	expect_error(no_text, sizeof(no_text), "error: no text");
	expect_error(no_code, sizeof(no_code), "error: no code");
}

/* ---- Leniency ---- */

static void test_unknown_type(void **state)
{
	static const uint8_t frob[] = {0x93, 0xaa, 'f', 'r',  'o',  'b',  'n', 'i', 'c',
				       'a',  't',  'e', 0x01, 0x81, 0xa1, 'k', 0xc0};
	static const uint8_t alone[] = {0x91, 0xa5, 'c', 'h', 'a', 'n', 'g'};
	static const uint8_t empty_name[] = {0x91, 0xa0};
	/* Known names only match exactly. */
	static const uint8_t ping_nul[] = {0x92, 0xa5, 'p', 'i', 'n', 'g', 0x00, 0xa1, 'x'};
	static const uint8_t big_ping[] = {0x92, 0xa4, 'P', 'I', 'N', 'G', 0xa1, 'x'};
	char name[80];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg m;

	(void)state;
	decode_ok(frob, sizeof(frob), &m);
	assert_int_equal(m.type, MSG_UNKNOWN);
	assert_string_equal(m.type_name, "frobnicate");
	decode_ok(alone, sizeof(alone), &m);
	assert_string_equal(m.type_name, "chang");
	decode_ok(empty_name, sizeof(empty_name), &m);
	assert_int_equal(m.type, MSG_UNKNOWN);
	assert_string_equal(m.type_name, "");
	decode_ok(ping_nul, sizeof(ping_nul), &m);
	assert_int_equal(m.type, MSG_UNKNOWN);
	assert_string_equal(m.type_name, "ping?");
	decode_ok(big_ping, sizeof(big_ping), &m);
	assert_int_equal(m.type, MSG_UNKNOWN);
	/* A long name is cut to fit. */
	memset(name, 'n', sizeof(name));
	name[sizeof(name) - 1] = '\0';
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 1);
	pack_cstr(&pk, name);
	decode_ok((const uint8_t *)sb.data, sb.size, &m);
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(m.type, MSG_UNKNOWN);
	assert_int_equal(strlen(m.type_name), MSG_TYPE_MAX - 1);
	assert_memory_equal(m.type_name, name, MSG_TYPE_MAX - 1);
}

static void test_unknown_hello_keys(void **state)
{
	struct hello_spec s = good_spec;
	msgpack_sbuffer sb;
	struct msg m;

	(void)state;
	s.extra = 1;
	pack_hello_spec(&sb, &s);
	decode_ok((const uint8_t *)sb.data, sb.size, &m);
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(m.type, MSG_HELLO);
	assert_int_equal(m.u.hello.site[0], 1);
	assert_int_equal(m.u.hello.site[2], 3);
	assert_int_equal(m.u.hello.site[31], 0);
	assert_string_equal(m.u.hello.software, "other 2.0");
	assert_int_equal(m.u.hello.protocol, 1);
	assert_int_equal(m.u.hello.schema, 3);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(msg_type_name(MSG_HELLO), "hello");
	assert_string_equal(msg_type_name(MSG_PING), "ping");
	assert_string_equal(msg_type_name(MSG_PONG), "pong");
	assert_string_equal(msg_type_name(MSG_ERROR), "error");
	assert_string_equal(msg_type_name(MSG_HEADS), "heads");
	assert_string_equal(msg_type_name(MSG_SETS), "sets");
	assert_string_equal(msg_type_name(MSG_ACK), "ack");
	assert_string_equal(msg_type_name(MSG_MARK), "mark");
	assert_string_equal(msg_type_name(MSG_MARKED), "marked");
	assert_string_equal(msg_type_name(MSG_UNKNOWN), "unknown");
}

/* ---- Encoders with too little room ---- */

enum which {
	ENC_HELLO,
	ENC_PING,
	ENC_PONG,
	ENC_HELLO_HEADS,
	ENC_HEADS,
	ENC_ACK,
	ENC_MARK,
	ENC_MARKED,
	ENC_ERROR,
	ENC_COUNT
};

static int encode(enum which w, uint8_t *p, size_t cap, size_t *len, lm_err *err)
{
	static const char long_text[] = "a text long enough to need a str 8 header: "
					"0123456789012345678901234567890123456789";
	struct msg_hello h;
	struct msg_heads heads;

	small_heads(&heads);
	switch (w) {
	case ENC_HELLO:
		sample_hello(&h);
		return msg_encode_hello(&h, p, cap, len, err);
	case ENC_HELLO_HEADS:
		sample_hello(&h);
		h.heads = heads;
		h.more = 1;
		return msg_encode_hello(&h, p, cap, len, err);
	case ENC_HEADS:
		return msg_encode_heads(&heads, 1, p, cap, len, err);
	case ENC_ACK:
		return msg_encode_ack(UINT64_MAX - 1, &heads, p, cap, len, err);
	case ENC_MARK:
		return msg_encode_mark(70000, p, cap, len, err);
	case ENC_MARKED:
		return msg_encode_marked(5, 300, p, cap, len, err);
	case ENC_PING:
		return msg_encode_ping(UINT64_MAX, p, cap, len, err);
	case ENC_PONG:
		return msg_encode_pong(300, p, cap, len, err);
	case ENC_ERROR:
	case ENC_COUNT:
		break;
	}
	return msg_encode_error(MSG_ERROR_BAD_MESSAGE, long_text, p, cap, len, err);
}

static void test_encoders_too_small(void **state)
{
	uint8_t want[256], p[256 + 16];
	size_t need, cap, len, i;
	enum which w;
	lm_err err;

	(void)state;
	for (w = ENC_HELLO; w < ENC_COUNT; w++) {
		assert_int_equal(encode(w, want, sizeof(want), &need, &err), 0);
		assert_true(need > 2 && need < sizeof(want));
		for (cap = 0; cap < need; cap++) {
			char expect[64];

			memset(p, 0xee, sizeof(p));
			len = 12345;
			memset(&err, 0, sizeof(err));
			assert_int_equal(encode(w, cap ? p : NULL, cap, &len, &err), -1);
			assert_int_equal(len, 12345);
			snprintf(expect, sizeof(expect), "needs %zu bytes, the buffer holds %zu",
				 need, cap);
			if (strstr(err.msg, expect) == NULL)
				fail_msg("encoder %d cap %zu: \"%s\"", (int)w, cap, err.msg);
			for (i = cap; i < sizeof(p); i++)
				assert_int_equal(p[i], 0xee);
		}
		memset(p, 0xee, sizeof(p));
		assert_int_equal(encode(w, p, need, &len, &err), 0);
		assert_int_equal(len, need);
		assert_memory_equal(p, want, need);
		assert_int_equal(p[need], 0xee);
	}
}

/* ---- Received strings ---- */

static void test_long_strings_truncated(void **state)
{
	char sw[200], code[100], text[1000];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg m;
	size_t i;

	(void)state;
	memset(sw, 's', sizeof(sw) - 1);
	sw[sizeof(sw) - 1] = '\0';
	memset(code, 'c', sizeof(code) - 1);
	code[sizeof(code) - 1] = '\0';
	for (i = 0; i < sizeof(text) - 1; i++)
		text[i] = (char)('a' + i % 26);
	text[sizeof(text) - 1] = '\0';

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	pack_cstr(&pk, "hello");
	msgpack_pack_map(&pk, 4);
	pack_cstr(&pk, "software");
	pack_cstr(&pk, sw);
	pack_cstr(&pk, "site");
	msgpack_pack_bin(&pk, 32);
	msgpack_pack_bin_body(&pk, text, 32);
	pack_cstr(&pk, "schema");
	msgpack_pack_uint32(&pk, 77);
	pack_cstr(&pk, "protocol");
	msgpack_pack_uint32(&pk, 1);
	memset(&m, 0x5a, sizeof(m));
	decode_ok((const uint8_t *)sb.data, sb.size, &m);
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(strlen(m.u.hello.software), MSG_SOFTWARE_MAX - 1);
	assert_memory_equal(m.u.hello.software, sw, MSG_SOFTWARE_MAX - 1);
	assert_memory_equal(m.u.hello.site, text, 32);
	/* The fields after software are intact. */
	assert_int_equal(m.u.hello.protocol, 1);
	assert_int_equal(m.u.hello.schema, 77);

	assert_int_equal(msg_encode_error(code, text, buf, sizeof(buf), &i, NULL), 0);
	memset(&m, 0x5a, sizeof(m));
	decode_ok(buf, i, &m);
	assert_int_equal(strlen(m.u.error.code), MSG_CODE_MAX - 1);
	assert_memory_equal(m.u.error.code, code, MSG_CODE_MAX - 1);
	assert_int_equal(strlen(m.u.error.text), MSG_TEXT_MAX - 1);
	assert_memory_equal(m.u.error.text, text, MSG_TEXT_MAX - 1);
}

static void test_strings_cleaned(void **state)
{
	char code[MSG_CODE_MAX + 1];
	struct msg m;
	size_t len;

	(void)state;
	/* Control characters would break a log line. */
	assert_int_equal(
	    msg_encode_error("x", "line one\nline two\r\x1b[31m\x7f", buf, sizeof(buf), &len, NULL),
	    0);
	decode_ok(buf, len, &m);
	assert_string_equal(m.u.error.text, "line one?line two??[31m?");
	/* A two-byte UTF-8 character straddling the cut is dropped whole... */
	memset(code, 'a', sizeof(code));
	memcpy(code + MSG_CODE_MAX - 2, "\xc3\xa9", 3);
	assert_int_equal(strlen(code), MSG_CODE_MAX);
	assert_int_equal(msg_encode_error(code, "", buf, sizeof(buf), &len, NULL), 0);
	decode_ok(buf, len, &m);
	assert_int_equal(strlen(m.u.error.code), MSG_CODE_MAX - 2);
	/* ...and kept when it fits. */
	memcpy(code + MSG_CODE_MAX - 3, "\xc3\xa9", 3);
	assert_int_equal(msg_encode_error(code, "", buf, sizeof(buf), &len, NULL), 0);
	decode_ok(buf, len, &m);
	assert_int_equal(strlen(m.u.error.code), MSG_CODE_MAX - 1);
	assert_memory_equal(m.u.error.code + MSG_CODE_MAX - 3, "\xc3\xa9", 2);
}

/* ---- Sync messages: HEADS ---- */

struct entry {
	char scope[200];
	uint8_t origin[32];
	uint64_t seq;
};

/* Walk h into out (at most max entries); the count. The walk must end
 * cleanly. */
static size_t walk_heads(const struct msg_heads *h, struct entry *out, size_t max)
{
	struct msg_heads_iter it;
	const char *scope;
	const uint8_t *origin;
	size_t n = 0, scope_len;
	uint64_t seq;
	lm_err err;
	int rc;

	msg_heads_iter_begin(&it, h);
	while ((rc = msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err)) == 1) {
		assert_true(n < max);
		assert_true(scope_len < sizeof(out[n].scope));
		memcpy(out[n].scope, scope, scope_len);
		out[n].scope[scope_len] = '\0';
		memcpy(out[n].origin, origin, 32);
		out[n].seq = seq;
		n++;
	}
	if (rc != 0)
		fail_msg("walking the heads failed: %s", err.msg);
	/* The end is final. */
	assert_int_equal(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err), 0);
	return n;
}

static void assert_entries_equal(const struct entry *a, const struct entry *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		assert_string_equal(a[i].scope, b[i].scope);
		assert_memory_equal(a[i].origin, b[i].origin, 32);
		assert_true(a[i].seq == b[i].seq);
	}
}

/* Scopes at the edges of the rule and of msgpack's str headers, seqs at the
 * edges of every integer form. */
#define N_SAMPLE 12
static void sample_entries(struct entry *e)
{
	static const uint64_t seqs[N_SAMPLE] = {0,     1,     127,   128,	 255,	     256,
						65535, 65536, 65537, UINT32_MAX, UINT64_MAX, 7};
	size_t i;

	for (i = 0; i < N_SAMPLE; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		sample_origin(e[i].origin, (uint8_t)(i * 11));
		e[i].seq = seqs[i];
	}
	strcpy(e[0].scope, "x");
	strcpy(e[1].scope, "x"); /* shares x's array */
	memset(e[2].scope, 'a', 31);
	memset(e[3].scope, 'b', 32); /* the first str 8 */
	memset(e[4].scope, 'c', 128);
	strcpy(e[5].scope, "Bergen-s\xc3\xb8r");
	strcpy(e[6].scope, "kurs@0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	strcpy(e[7].scope, "x"); /* x again, after others: a new map entry */
	strcpy(e[8].scope, "x");
	strcpy(e[9].scope, "\xf0\x9f\x8c\x8d");
	strcpy(e[10].scope, "y");
	strcpy(e[11].scope, "y");
}

static size_t write_entries(uint8_t *p, size_t cap, const struct entry *e, size_t n)
{
	struct msg_heads_writer w;
	size_t i;
	lm_err err;

	msg_heads_writer_begin(&w, p, cap);
	for (i = 0; i < n; i++)
		if (msg_heads_writer_add(&w, e[i].scope, e[i].origin, e[i].seq, &err) != 0)
			fail_msg("adding entry %zu: %s", i, err.msg);
	assert_int_equal(msg_heads_writer_count(&w), n);
	return msg_heads_writer_finish(&w);
}

static void test_heads_round_trip(void **state)
{
	static uint8_t hb[4096];
	struct entry want[N_SAMPLE], got[N_SAMPLE + 1];
	struct msg_heads h;
	struct msg m;
	size_t len;
	int more;
	lm_err err;

	(void)state;
	sample_entries(want);
	h.p = hb;
	h.len = write_entries(hb, sizeof(hb), want, N_SAMPLE);
	assert_int_equal(walk_heads(&h, got, N_SAMPLE + 1), N_SAMPLE);
	assert_entries_equal(got, want, N_SAMPLE);
	/* Consecutive entries share a map entry: x, a.., b.., c.., Bergen, kurs,
	 * x, the emoji, y. */
	assert_int_equal(hb[0], 0xdf);
	assert_int_equal(hb[4], 9);
	for (more = 0; more <= 1; more++) {
		assert_int_equal(msg_encode_heads(&h, more, buf, sizeof(buf), &len, &err), 0);
		assert_int_equal(len, 8 + h.len);
		decode_ok(buf, len, &m);
		assert_int_equal(m.type, MSG_HEADS);
		assert_string_equal(m.type_name, "heads");
		assert_int_equal(m.u.heads.more, more);
		/* Zero-copy: the map is the one sent, inside the message. */
		assert_ptr_equal(m.u.heads.heads.p, buf + 7);
		assert_int_equal(m.u.heads.heads.len, h.len);
		assert_memory_equal(m.u.heads.heads.p, hb, h.len);
		assert_int_equal(walk_heads(&m.u.heads.heads, got, N_SAMPLE + 1), N_SAMPLE);
		assert_entries_equal(got, want, N_SAMPLE);
	}
}

static void test_heads_empty(void **state)
{
	static const uint8_t empty_msg[] = {0x93, 0xa5, 'h', 'e', 'a', 'd', 's', 0x80, 0xc2};
	uint8_t hb[8];
	struct msg_heads_writer w;
	struct msg_heads h = {NULL, 0};
	struct entry got[1];
	struct msg m;
	size_t len;
	lm_err err;

	(void)state;
	/* len 0 is the empty vector: an empty map on the wire. */
	assert_int_equal(walk_heads(&h, got, 1), 0);
	assert_int_equal(msg_encode_heads(&h, 0, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, sizeof(empty_msg));
	assert_memory_equal(buf, empty_msg, sizeof(empty_msg));
	assert_int_equal(msg_encode_heads(NULL, 0, buf, sizeof(buf), &len, &err), 0);
	assert_memory_equal(buf, empty_msg, sizeof(empty_msg));
	decode_ok(buf, len, &m);
	assert_int_equal(m.type, MSG_HEADS);
	assert_int_equal(m.u.heads.heads.len, 1);
	assert_int_equal(walk_heads(&m.u.heads.heads, got, 1), 0);
	/* An empty writer: map 32 of 0. */
	memset(hb, 0xee, sizeof(hb));
	msg_heads_writer_begin(&w, hb, 5);
	assert_int_equal(msg_heads_writer_finish(&w), 5);
	assert_int_equal(msg_heads_writer_count(&w), 0);
	assert_memory_equal(hb, "\xdf\x00\x00\x00\x00\xee", 6);
	h.p = hb;
	h.len = 5;
	assert_int_equal(walk_heads(&h, got, 1), 0);
	assert_int_equal(msg_encode_ack(0, &h, buf, sizeof(buf), &len, &err), 0);
	decode_ok(buf, len, &m);
	assert_int_equal(m.type, MSG_ACK);
	assert_int_equal(walk_heads(&m.u.ack.heads, got, 1), 0);
	/* Under 5 bytes not even the map header fits: nothing is written, every
	 * add is refused, and finish gives the empty vector. */
	for (len = 0; len < 5; len++) {
		uint8_t origin[32] = {0};

		memset(hb, 0xee, sizeof(hb));
		msg_heads_writer_begin(&w, len ? hb : NULL, len);
		assert_int_equal(msg_heads_writer_add(&w, "x", origin, 1, &err), 1);
		assert_int_equal(msg_heads_writer_finish(&w), 0);
		assert_int_equal(msg_heads_writer_count(&w), 0);
		assert_int_equal(hb[0], 0xee);
	}
}

/* The writer's bytes: map 32, array 32, each seq in its shortest form. */
static void test_heads_writer_bytes(void **state)
{
	static const struct {
		uint64_t seq;
		size_t size;
	} seqs[] = {{0, 1},	    {127, 1},	     {128, 2},
		    {255, 2},	    {256, 3},	     {65535, 3},
		    {65536, 5},	    {UINT32_MAX, 5}, {(uint64_t)UINT32_MAX + 1, 9},
		    {UINT64_MAX, 9}};
	static const uint8_t want[] = {
	    0xdf, 0x00, 0x00, 0x00, 0x02, 0xa1, 'x',  0xdd, 0x00, 0x00, 0x00, 0x02, 0x92,
	    0xc4, 0x20, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x01, 0x92, 0xc4, 0x20, 0x11,
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	    0x11, 0x11, 0x11, 0x11, 0x11, 0xcd, 0x01, 0x00, 0xa1, 'y',	0xdd, 0x00, 0x00,
	    0x00, 0x01, 0x92, 0xc4, 0x20, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x00};
	uint8_t hb[256], origin[32];
	struct msg_heads_writer w;
	size_t i;
	lm_err err;

	(void)state;
	memset(origin, 0x11, sizeof(origin));
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		msg_heads_writer_begin(&w, hb, sizeof(hb));
		assert_int_equal(msg_heads_writer_add(&w, "x", origin, seqs[i].seq, &err), 0);
		assert_int_equal(msg_heads_writer_finish(&w), 5 + 2 + 5 + 3 + 32 + seqs[i].size);
	}
	msg_heads_writer_begin(&w, hb, sizeof(hb));
	assert_int_equal(msg_heads_writer_add(&w, "x", origin, 1, &err), 0);
	assert_int_equal(msg_heads_writer_add(&w, "x", origin, 256, &err), 0);
	assert_int_equal(msg_heads_writer_add(&w, "y", origin, 0, &err), 0);
	assert_int_equal(msg_heads_writer_finish(&w), sizeof(want));
	assert_memory_equal(hb, want, sizeof(want));
}

/* Add entries to fill w to exactly its cap (at least 136 bytes left): 36-byte
 * entries of one scope, then a last one under a scope long enough to take
 * the rest. */
static void fill_exactly(struct msg_heads_writer *w, size_t cap)
{
	char scope[129];
	uint8_t origin[32];
	size_t left, n;
	lm_err err;

	sample_origin(origin, 9);
	while ((left = cap - msg_heads_writer_finish(w)) > 171)
		assert_int_equal(msg_heads_writer_add(w, "s", origin, 5, &err), 0);
	assert_true(left > 135);
	/* str 8 header (2) + n + array 32 (5) + entry (36) */
	n = left - 43;
	memset(scope, 'q', n);
	scope[n] = '\0';
	assert_int_equal(msg_heads_writer_add(w, scope, origin, 5, &err), 0);
	assert_int_equal(msg_heads_writer_finish(w), cap);
}

static void test_heads_writer_budget(void **state)
{
	static uint8_t hb[1024];
	const size_t first = 5 + 3 + 5 + 37;
	uint8_t origin[32], before[sizeof(hb)];
	struct msg_heads_writer w, saved;
	struct entry got[8];
	struct msg_heads h;
	size_t cap, len, n;
	struct msg m;
	lm_err err;

	(void)state;
	sample_origin(origin, 3);
	/* A new scope "ab" with seq 200: key 3, array header 5, entry 1 + 2 + 32 +
	 * 2, after the map header. */
	for (cap = first - 1; cap <= first; cap++) {
		memset(hb, 0xee, sizeof(hb));
		msg_heads_writer_begin(&w, hb, cap);
		assert_int_equal(msg_heads_writer_add(&w, "ab", origin, 200, &err),
				 cap == first ? 0 : 1);
		assert_int_equal(msg_heads_writer_finish(&w), cap == first ? first : 5);
		assert_int_equal(hb[cap], 0xee);
	}
	/* The same scope again with seq 9: only the entry, 36 bytes. */
	for (cap = first + 36 - 1; cap <= first + 36 + 1; cap++) {
		memset(hb, 0xee, sizeof(hb));
		msg_heads_writer_begin(&w, hb, cap);
		assert_int_equal(msg_heads_writer_add(&w, "ab", origin, 200, &err), 0);
		memcpy(before, hb, sizeof(hb));
		saved = w;
		n = cap >= first + 36 ? 0 : 1;
		assert_int_equal(msg_heads_writer_add(&w, "ab", origin, 9, &err), (int)n);
		if (n == 1) {
			/* Refused: the writer and its buffer are as they were, and
			 * it refuses again the same way. */
			assert_memory_equal(&w, &saved, sizeof(w));
			assert_memory_equal(hb, before, sizeof(hb));
			assert_int_equal(msg_heads_writer_add(&w, "ab", origin, 9, &err), 1);
			assert_memory_equal(&w, &saved, sizeof(w));
		}
		assert_int_equal(hb[cap], 0xee);
		h.p = hb;
		h.len = msg_heads_writer_finish(&w);
		assert_int_equal(h.len, n ? first : first + 36);
		assert_int_equal(msg_heads_writer_count(&w), 2 - n);
		/* Finished after a refusal, it is a valid map that goes out and
		 * decodes. */
		assert_int_equal(msg_encode_ack(1, &h, buf, sizeof(buf), &len, &err), 0);
		decode_ok(buf, len, &m);
		assert_int_equal(walk_heads(&m.u.ack.heads, got, 8), 2 - n);
		assert_string_equal(got[0].scope, "ab");
		assert_true(got[0].seq == 200);
		if (n == 0)
			assert_true(got[1].seq == 9);
	}
	/* A new scope needs its key and array header too: "cd" with seq 1 takes
	 * 3 + 5 + 36 bytes, an entry of "ab" with a 9-byte seq 44. */
	msg_heads_writer_begin(&w, hb, first + 44);
	assert_int_equal(msg_heads_writer_add(&w, "ab", origin, 200, &err), 0);
	assert_int_equal(msg_heads_writer_add(&w, "ab", origin, 1ull << 40, &err), 0);
	assert_int_equal(msg_heads_writer_add(&w, "cd", origin, 1, &err), 1);
	h.p = hb;
	h.len = msg_heads_writer_finish(&w);
	assert_int_equal(walk_heads(&h, got, 8), 2);
	msg_heads_writer_begin(&w, hb, first + 44);
	assert_int_equal(msg_heads_writer_add(&w, "ab", origin, 200, &err), 0);
	assert_int_equal(msg_heads_writer_add(&w, "cd", origin, 1, &err), 0);
	h.len = msg_heads_writer_finish(&w);
	assert_int_equal(h.len, first + 44);
	assert_int_equal(walk_heads(&h, got, 8), 2);
	assert_string_equal(got[1].scope, "cd");
	/* Filling to the byte. */
	msg_heads_writer_begin(&w, hb, 700);
	fill_exactly(&w, 700);
	assert_int_equal(msg_heads_writer_add(&w, "s", origin, 0, &err), 1);
	h.len = msg_heads_writer_finish(&w);
	assert_int_equal(h.len, 700);
	assert_int_equal(msg_encode_heads(&h, 0, buf, sizeof(buf), &len, &err), 0);
	decode_ok(buf, len, &m);
}

static void test_heads_writer_bad_scope(void **state)
{
	static const struct {
		const char *scope;
		const char *want;
	} bad[] = {
	    {"", "the scope has 0 bytes; it must have 1 to 128"},
	    {"a\x01z", "the control character U+0001 at byte 1"},
	    {"a\x7f", "the control character U+007F"},
	    {"a\xc2\x85", "the control character U+0085"},
	    {"tab\there", "U+0009"},
	    {"bad\xff", "not UTF-8: byte 3 (0xff)"},
	    {"\xc0\xaf", "not UTF-8: byte 0"},	   /* overlong */
	    {"\xed\xa0\x80", "not UTF-8: byte 0"}, /* a surrogate */
	    {"\xe2\x82", "not UTF-8"},		   /* cut */
	};
	char long_scope[200];
	uint8_t hb[256], origin[32] = {0};
	struct msg_heads_writer w;
	size_t i;
	lm_err err;

	(void)state;
	msg_heads_writer_begin(&w, hb, sizeof(hb));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(msg_heads_writer_add(&w, bad[i].scope, origin, 1, &err), -1);
		if (strstr(err.msg, bad[i].want) == NULL ||
		    strstr(err.msg, "cannot add to the heads") == NULL)
			fail_msg("scope %zu: \"%s\" lacks \"%s\"", i, err.msg, bad[i].want);
	}
	memset(long_scope, 'l', sizeof(long_scope));
	long_scope[129] = '\0';
	assert_int_equal(msg_heads_writer_add(&w, long_scope, origin, 1, &err), -1);
	assert_non_null(strstr(err.msg, "the scope has 129 bytes"));
	long_scope[128] = '\0';
	assert_int_equal(msg_heads_writer_add(&w, long_scope, origin, 1, &err), 0);
	assert_int_equal(msg_heads_writer_add(&w, NULL, origin, 1, &err), -1);
	assert_int_equal(msg_heads_writer_add(&w, "x", NULL, 1, &err), -1);
	/* Bad arguments are said even when nothing would fit. */
	msg_heads_writer_begin(&w, hb, 0);
	assert_int_equal(msg_heads_writer_add(&w, "a\x01", origin, 1, &err), -1);
	/* The refusals left nothing behind. */
	msg_heads_writer_begin(&w, hb, sizeof(hb));
	assert_int_equal(msg_heads_writer_add(&w, "", origin, 1, &err), -1);
	assert_int_equal(msg_heads_writer_count(&w), 0);
	assert_int_equal(msg_heads_writer_finish(&w), 5);
}

/* The overhead constants are exact: a map of MSG_MAX - overhead bytes in the
 * largest form of each message makes exactly MSG_MAX bytes, and one byte
 * more is refused. */
static void test_heads_overhead(void **state)
{
	static uint8_t hb[MSG_MAX + 16], out[MSG_MAX + 64];
	static const size_t overheads[] = {MSG_HEADS_OVERHEAD_HELLO, MSG_HEADS_OVERHEAD_HEADS,
					   MSG_HEADS_OVERHEAD_ACK};
	struct msg_heads_writer w;
	struct msg_hello hello;
	struct msg_heads h;
	size_t k, len, cap, extra;
	struct msg m;
	lm_err err;
	int rc;

	(void)state;
	assert_int_equal(MSG_MAX, 65535 - 16);
	assert_int_equal(MSG_HEADS_OVERHEAD, MSG_HEADS_OVERHEAD_HELLO);
	for (k = 0; k < 3; k++)
		assert_true(overheads[k] <= MSG_HEADS_OVERHEAD);
	sample_hello(&hello);
	memset(hello.software, 's', sizeof(hello.software) - 1);
	hello.software[sizeof(hello.software) - 1] = '\0';
	hello.protocol = UINT32_MAX;
	hello.schema = UINT32_MAX;
	hello.more = 1;
	for (k = 0; k < 3; k++) {
		for (extra = 0; extra <= 1; extra++) {
			cap = MSG_MAX - overheads[k] + extra;
			msg_heads_writer_begin(&w, hb, cap);
			fill_exactly(&w, cap);
			h.p = hb;
			h.len = msg_heads_writer_finish(&w);
			hello.heads = h;
			memset(&err, 0, sizeof(err));
			len = 0;
			rc = k == 0 ? msg_encode_hello(&hello, out, sizeof(out), &len, &err)
			     : k == 1
				 ? msg_encode_heads(&h, 1, out, sizeof(out), &len, &err)
				 : msg_encode_ack(UINT64_MAX, &h, out, sizeof(out), &len, &err);
			if (extra) {
				assert_int_equal(rc, -1);
				assert_non_null(strstr(err.msg, "over the maximum of 65519"));
				continue;
			}
			assert_int_equal(rc, 0);
			assert_int_equal(len, MSG_MAX);
			decode_ok(out, len, &m);
			assert_int_equal(m.type, k == 0 ? MSG_HELLO : k == 1 ? MSG_HEADS : MSG_ACK);
		}
	}
	/* The general budget fits every one of them. */
	msg_heads_writer_begin(&w, hb, MSG_MAX - MSG_HEADS_OVERHEAD);
	fill_exactly(&w, MSG_MAX - MSG_HEADS_OVERHEAD);
	h.p = hb;
	h.len = msg_heads_writer_finish(&w);
	hello.heads = h;
	assert_int_equal(msg_encode_hello(&hello, out, MSG_MAX, &len, &err), 0);
	assert_int_equal(msg_encode_heads(&h, 1, out, MSG_MAX, &len, &err), 0);
	assert_int_equal(msg_encode_ack(UINT64_MAX, &h, out, MSG_MAX, &len, &err), 0);
}

/* ---- Sync messages: hello with heads ---- */

static void test_hello_heads_round_trip(void **state)
{
	static uint8_t hb[4096];
	struct entry want[N_SAMPLE], got[N_SAMPLE];
	struct msg_hello h;
	struct msg m;
	size_t len, base;
	lm_err err;

	(void)state;
	sample_entries(want);
	sample_hello(&h);
	assert_int_equal(msg_encode_hello(&h, buf, sizeof(buf), &base, &err), 0);
	h.heads.p = hb;
	h.heads.len = write_entries(hb, sizeof(hb), want, N_SAMPLE);
	/* heads, then more true too. */
	assert_int_equal(msg_encode_hello(&h, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, base + 6 + h.heads.len);
	assert_int_equal(buf[7], 0x85);
	decode_ok(buf, len, &m);
	assert_int_equal(m.type, MSG_HELLO);
	assert_memory_equal(m.u.hello.site, h.site, 32);
	assert_int_equal(m.u.hello.schema, 7);
	assert_int_equal(m.u.hello.more, 0);
	assert_int_equal(m.u.hello.heads.len, h.heads.len);
	assert_ptr_equal(m.u.hello.heads.p, buf + base + 6);
	assert_int_equal(walk_heads(&m.u.hello.heads, got, N_SAMPLE), N_SAMPLE);
	assert_entries_equal(got, want, N_SAMPLE);
	h.more = 1;
	assert_int_equal(msg_encode_hello(&h, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, base + 6 + h.heads.len + 6);
	assert_int_equal(buf[7], 0x86);
	decode_ok(buf, len, &m);
	assert_int_equal(m.u.hello.more, 1);
	assert_int_equal(walk_heads(&m.u.hello.heads, got, N_SAMPLE), N_SAMPLE);
	/* more without heads. */
	h.heads.len = 0;
	h.more = 7;
	assert_int_equal(msg_encode_hello(&h, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, base + 6);
	decode_ok(buf, len, &m);
	assert_int_equal(m.u.hello.more, 1);
	assert_int_equal(m.u.hello.heads.len, 0);
	assert_int_equal(walk_heads(&m.u.hello.heads, got, N_SAMPLE), 0);
}

static void put_raw(msgpack_sbuffer *sb, const void *p, size_t n)
{
	assert_int_equal(msgpack_sbuffer_write(sb, p, n), 0);
}

/* A hello as another implementation may send it: heads and more among
 * unknown keys, in another order, more false, a map 16 and an int 8 seq. */
static void test_hello_heads_any_order(void **state)
{
	static const uint8_t site[32] = {9};
	uint8_t origin[32];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct entry got[4];
	struct msg m;

	(void)state;
	sample_origin(origin, 4);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	pack_cstr(&pk, "hello");
	msgpack_pack_map(&pk, 7);
	pack_cstr(&pk, "more");
	msgpack_pack_false(&pk);
	pack_cstr(&pk, "x-later");
	msgpack_pack_array(&pk, 0);
	pack_cstr(&pk, "heads");
	put_raw(&sb, "\xde\x00\x01", 3); /* map 16 of 1 */
	pack_cstr(&pk, "s");
	put_raw(&sb, "\xdc\x00\x02", 3); /* array 16 of 2 */
	msgpack_pack_array(&pk, 2);
	put_raw(&sb, "\xc5\x00\x20", 3); /* bin 16 of 32 */
	put_raw(&sb, origin, 32);
	put_raw(&sb, "\xd0\x05", 2); /* int 8: 5 */
	msgpack_pack_array(&pk, 2);
	msgpack_pack_bin(&pk, 32);
	msgpack_pack_bin_body(&pk, origin, 32);
	put_raw(&sb, "\xd3\x00\x00\x00\x00\x00\x00\x01\x00", 9); /* int 64 */
	pack_cstr(&pk, "schema");
	msgpack_pack_uint8(&pk, 1);
	pack_cstr(&pk, "protocol");
	msgpack_pack_uint8(&pk, 1);
	pack_cstr(&pk, "software");
	pack_cstr(&pk, "other 1.0");
	pack_cstr(&pk, "site");
	msgpack_pack_bin(&pk, 32);
	msgpack_pack_bin_body(&pk, site, 32);
	decode_ok((const uint8_t *)sb.data, sb.size, &m);
	assert_int_equal(m.type, MSG_HELLO);
	assert_int_equal(m.u.hello.more, 0);
	assert_int_equal(walk_heads(&m.u.hello.heads, got, 4), 2);
	assert_string_equal(got[0].scope, "s");
	assert_memory_equal(got[0].origin, origin, 32);
	assert_true(got[0].seq == 5);
	assert_true(got[1].seq == 256);
	msgpack_sbuffer_destroy(&sb);
}

/* A map should not repeat a key; when a hello does, its first heads counts,
 * as its first site does. */
static void test_hello_heads_twice(void **state)
{
	static const uint8_t site[32] = {1};
	uint8_t origin[32];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct entry got[2];
	struct msg m;
	int k;

	(void)state;
	sample_origin(origin, 6);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	pack_cstr(&pk, "hello");
	msgpack_pack_map(&pk, 6);
	for (k = 0; k < 2; k++) {
		pack_cstr(&pk, "heads");
		msgpack_pack_map(&pk, 1);
		pack_cstr(&pk, k == 0 ? "first" : "second");
		msgpack_pack_array(&pk, 1);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_bin(&pk, 32);
		msgpack_pack_bin_body(&pk, origin, 32);
		msgpack_pack_uint8(&pk, (uint8_t)(k + 1));
	}
	pack_cstr(&pk, "site");
	msgpack_pack_bin(&pk, 32);
	msgpack_pack_bin_body(&pk, site, 32);
	pack_cstr(&pk, "software");
	pack_cstr(&pk, "s");
	pack_cstr(&pk, "protocol");
	msgpack_pack_uint8(&pk, 1);
	pack_cstr(&pk, "schema");
	msgpack_pack_uint8(&pk, 1);
	decode_ok((const uint8_t *)sb.data, sb.size, &m);
	assert_int_equal(walk_heads(&m.u.hello.heads, got, 2), 1);
	assert_string_equal(got[0].scope, "first");
	assert_true(got[0].seq == 1);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- Sync messages: sets ---- */

static size_t walk_sets(const struct msg_sets *s, const uint8_t **envs, size_t *lens, size_t max)
{
	struct msg_sets_iter it;
	size_t n = 0;
	lm_err err;
	int rc;

	msg_sets_iter_begin(&it, s);
	while ((rc = msg_sets_next(&it, &envs[n], &lens[n], &err)) == 1) {
		n++;
		assert_true(n < max);
	}
	if (rc != 0)
		fail_msg("walking the sets failed: %s", err.msg);
	assert_int_equal(msg_sets_next(&it, &envs[n], &lens[n], &err), 0);
	return n;
}

static void test_sets_round_trip(void **state)
{
	static uint8_t env[MSG_SETS_ENVELOPE_MAX];
	static const size_t sizes[] = {1, 2, 255, 256, 1000, 40000};
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	const uint8_t *envs[16];
	size_t lens[16], i, len;
	struct msg_sets_writer w;
	struct msg m;
	lm_err err;

	(void)state;
	for (i = 0; i < sizeof(env); i++)
		env[i] = (uint8_t)(i * 7 + i / 256);
	msg_sets_writer_begin(&w, buf, sizeof(buf));
	for (i = 0; i < n; i++)
		assert_int_equal(msg_sets_writer_add(&w, env + i, sizes[i], &err), 0);
	assert_int_equal(msg_sets_writer_count(&w), n);
	len = msg_sets_writer_finish(&w);
	/* the head, 3 bin 8 and 3 bin 16 headers, the envelopes */
	assert_int_equal(len, 11 + 3 * 2 + 3 * 3 + 1 + 2 + 255 + 256 + 1000 + 40000);
	assert_memory_equal(buf, "\x92\xa4sets\xdd\x00\x00\x00\x06\xc4\x01", 13);
	decode_ok(buf, len, &m);
	assert_int_equal(m.type, MSG_SETS);
	assert_string_equal(m.type_name, "sets");
	assert_int_equal(m.u.sets.count, n);
	assert_ptr_equal(m.u.sets.p, buf + 6);
	assert_int_equal(m.u.sets.len, len - 6);
	assert_int_equal(walk_sets(&m.u.sets, envs, lens, 16), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(lens[i], sizes[i]);
		assert_memory_equal(envs[i], env + i, sizes[i]);
		assert_true(envs[i] > buf && envs[i] < buf + len); /* zero-copy */
	}
}

static void test_sets_writer_budget(void **state)
{
	static uint8_t env[MSG_SETS_ENVELOPE_MAX + 1], big[MSG_MAX + 100];
	const uint8_t *envs[4];
	struct msg_sets_writer w, saved;
	size_t lens[4], cap, len;
	struct msg m;
	lm_err err;

	(void)state;
	memset(env, 'e', sizeof(env));
	/* Nothing added: no message (a sets holds at least one envelope). */
	msg_sets_writer_begin(&w, buf, sizeof(buf));
	assert_int_equal(msg_sets_writer_finish(&w), 0);
	/* A 10-byte envelope needs 12 bytes after the 11 of the head. */
	for (cap = 22; cap <= 23; cap++) {
		memset(buf, 0xee, 64);
		msg_sets_writer_begin(&w, buf, cap);
		assert_int_equal(msg_sets_writer_add(&w, env, 10, &err), cap == 23 ? 0 : 1);
		assert_int_equal(msg_sets_writer_finish(&w), cap == 23 ? 23 : 0);
		assert_int_equal(buf[cap], 0xee);
	}
	/* Under 11 bytes not even the head fits. */
	for (cap = 0; cap < 11; cap++) {
		memset(buf, 0xee, 64);
		msg_sets_writer_begin(&w, cap ? buf : NULL, cap);
		assert_int_equal(msg_sets_writer_add(&w, env, 1, &err), 1);
		assert_int_equal(msg_sets_writer_finish(&w), 0);
		assert_int_equal(buf[0], 0xee);
	}
	/* The largest change set goes alone into a message of MSG_MAX, whatever
	 * the buffer beyond it. */
	msg_sets_writer_begin(&w, big, sizeof(big));
	assert_int_equal(msg_sets_writer_add(&w, env, MSG_SETS_ENVELOPE_MAX, &err), 0);
	assert_int_equal(msg_sets_writer_finish(&w), 11 + 3 + MSG_SETS_ENVELOPE_MAX);
	/* Then one that fills the message to the byte, then none more: the cap
	 * is clamped to MSG_MAX. */
	len = MSG_MAX - (11 + 3 + MSG_SETS_ENVELOPE_MAX) - 3;
	assert_int_equal(msg_sets_writer_add(&w, env, len + 1, &err), 1);
	saved = w;
	assert_int_equal(msg_sets_writer_add(&w, env, MSG_SETS_ENVELOPE_MAX, &err), 1);
	assert_memory_equal(&w, &saved, sizeof(w));
	assert_int_equal(msg_sets_writer_add(&w, env, len, &err), 0);
	assert_int_equal(msg_sets_writer_add(&w, env, 1, &err), 1);
	assert_int_equal(msg_sets_writer_count(&w), 2);
	len = msg_sets_writer_finish(&w);
	assert_int_equal(len, MSG_MAX);
	/* Finished after refusals, it decodes. */
	decode_ok(big, len, &m);
	assert_int_equal(m.type, MSG_SETS);
	assert_int_equal(m.u.sets.count, 2);
	assert_int_equal(walk_sets(&m.u.sets, envs, lens, 4), 2);
	assert_int_equal(lens[0], MSG_SETS_ENVELOPE_MAX);
	assert_int_equal(lens[1], MSG_MAX - (11 + 3 + MSG_SETS_ENVELOPE_MAX) - 3);
	/* Bad arguments. */
	msg_sets_writer_begin(&w, buf, sizeof(buf));
	memset(&err, 0, sizeof(err));
	assert_int_equal(msg_sets_writer_add(&w, env, 0, &err), -1);
	assert_non_null(strstr(err.msg, "an envelope has 1 to 60000 bytes"));
	assert_int_equal(msg_sets_writer_add(&w, env, MSG_SETS_ENVELOPE_MAX + 1, &err), -1);
	assert_non_null(strstr(err.msg, "of 60001 bytes"));
	assert_int_equal(msg_sets_writer_add(&w, NULL, 5, &err), -1);
	assert_non_null(strstr(err.msg, "no bytes given"));
	assert_int_equal(msg_sets_writer_count(&w), 0);
	assert_int_equal(msg_sets_writer_finish(&w), 0);
}

/* ---- Sync messages: ack, mark, marked ---- */

static void test_ack_mark_marked_round_trip(void **state)
{
	static const uint64_t values[] = {0, 1, 127, 128, UINT32_MAX, UINT64_MAX};
	struct msg_heads h, empty = {NULL, 0};
	struct entry got[4];
	struct msg m;
	size_t i, len;
	lm_err err;

	(void)state;
	small_heads(&h);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(msg_encode_ack(values[i], &h, buf, sizeof(buf), &len, &err), 0);
		decode_ok(buf, len, &m);
		assert_int_equal(m.type, MSG_ACK);
		assert_string_equal(m.type_name, "ack");
		assert_true(m.u.ack.count == values[i]);
		assert_int_equal(m.u.ack.heads.len, h.len);
		assert_memory_equal(m.u.ack.heads.p, h.p, h.len);
		assert_int_equal(walk_heads(&m.u.ack.heads, got, 4), 3);
		assert_string_equal(got[2].scope, "b");
		assert_int_equal(msg_encode_ack(values[i], &empty, buf, sizeof(buf), &len, &err),
				 0);
		decode_ok(buf, len, &m);
		assert_true(m.u.ack.count == values[i]);
		assert_int_equal(walk_heads(&m.u.ack.heads, got, 4), 0);

		assert_int_equal(msg_encode_mark(values[i], buf, sizeof(buf), &len, &err), 0);
		decode_ok(buf, len, &m);
		assert_int_equal(m.type, MSG_MARK);
		assert_string_equal(m.type_name, "mark");
		assert_true(m.u.mark.n == values[i]);

		assert_int_equal(
		    msg_encode_marked(values[i], values[5 - i], buf, sizeof(buf), &len, &err), 0);
		decode_ok(buf, len, &m);
		assert_int_equal(m.type, MSG_MARKED);
		assert_string_equal(m.type_name, "marked");
		assert_true(m.u.marked.n == values[i]);
		assert_true(m.u.marked.refused == values[5 - i]);
	}
}

/* The ack of docs/PROTOCOL.md, byte for byte. */
static void test_ack_bytes(void **state)
{
	static const uint8_t origin[32] = {0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95,
					   0xfd, 0x52, 0xdb, 0x2d, 0x3c, 0xba, 0x5d, 0x72,
					   0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94, 0x12, 0x1b,
					   0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c};
	static const char head[] = "\x93\xa3"
				   "ack\x03\xdf\x00\x00\x00\x01\xaa"
				   "helse-vest\xdd\x00\x00\x00\x01\x92\xc4\x20";
	static const uint8_t mark[] = {0x92, 0xa4, 'm', 'a', 'r', 'k', 0x03};
	static const uint8_t marked[] = {0x93, 0xa6, 'm', 'a', 'r', 'k', 'e', 'd', 0x03, 0x00};
	uint8_t want[64], hb[64];
	struct msg_heads_writer w;
	struct msg_heads h;
	size_t n = 0, len;
	lm_err err;

	(void)state;
	memcpy(want, head, sizeof(head) - 1);
	n += sizeof(head) - 1;
	memcpy(want + n, origin, 32);
	n += 32;
	want[n++] = 0x07;
	assert_int_equal(n, 63);
	msg_heads_writer_begin(&w, hb, sizeof(hb));
	assert_int_equal(msg_heads_writer_add(&w, "helse-vest", origin, 7, &err), 0);
	h.p = hb;
	h.len = msg_heads_writer_finish(&w);
	assert_int_equal(msg_encode_ack(3, &h, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, n);
	assert_memory_equal(buf, want, n);
	assert_int_equal(msg_encode_mark(3, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, sizeof(mark));
	assert_memory_equal(buf, mark, sizeof(mark));
	assert_int_equal(msg_encode_marked(3, 0, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, sizeof(marked));
	assert_memory_equal(buf, marked, sizeof(marked));
}

/* ---- Sync messages, malformed ---- */

/* One HEADS map holding {"sc": [[origin, 5]]} with one part broken. */
enum heads_bad {
	HB_ORIGIN_31,
	HB_ORIGIN_33,
	HB_ORIGIN_STR,
	HB_ORIGIN_NIL,
	HB_SEQ_NEG,
	HB_SEQ_FLOAT,
	HB_SEQ_STR,
	HB_SEQ_NESTED,
	HB_ENTRY_1,
	HB_ENTRY_3,
	HB_ENTRY_MAP,
	HB_ENTRY_BIN,
	HB_VALUE_MAP,
	HB_VALUE_NIL,
	HB_KEY_INT,
	HB_KEY_BIN,
	HB_SCOPE_129,
	HB_SCOPE_EMPTY,
	HB_SCOPE_CTRL,
	HB_SCOPE_C1,
	HB_SCOPE_UTF8,
	HB_SECOND_BAD, /* a good entry, then a bad one in a second scope */
	HB_COUNT
};

static const char *const heads_bad_want[HB_COUNT] = {
    "scope 'sc', entry 1: the origin must be 32 bytes of binary, got a bin of 31 bytes",
    "scope 'sc', entry 1: the origin must be 32 bytes of binary, got a bin of 33 bytes",
    "scope 'sc', entry 1: the origin must be 32 bytes of binary, got a str of 32 bytes",
    "scope 'sc', entry 1: the origin must be 32 bytes of binary, got nil",
    "scope 'sc', entry 1: the seq must be an integer from 0 to 2^64 - 1, got -1",
    "scope 'sc', entry 1: the seq must be an integer from 0 to 2^64 - 1, got a float",
    "scope 'sc', entry 1: the seq must be an integer from 0 to 2^64 - 1, got a str of 1 byte",
    "scope 'sc', entry 1: the seq must be an integer from 0 to 2^64 - 1, got an array of 1",
    "scope 'sc', entry 1: an entry is an array of 2 (origin, seq), got an array of 1",
    "scope 'sc', entry 1: an entry is an array of 2 (origin, seq), got an array of 3",
    "scope 'sc', entry 1: an entry is an array of 2 (origin, seq), got a map of 2",
    "scope 'sc', entry 1: an entry is an array of 2 (origin, seq), got a bin of 32 bytes",
    "scope 'sc' must map to an array of [origin, seq], got a map of 1",
    "scope 'sc' must map to an array of [origin, seq], got nil",
    "map key 1 must be a scope (a str), got 7",
    "map key 1 must be a scope (a str), got a bin of 2 bytes",
    "map key 1: the scope has 129 bytes; it must have 1 to 128",
    "map key 1: the scope has 0 bytes",
    "map key 1: the scope has the control character U+000A at byte 1",
    "map key 1: the scope has the control character U+009F at byte 0",
    "map key 1: the scope is not UTF-8: byte 2 (0xfe) is wrong there",
    "scope 'tw', entry 2: the seq must be an integer from 0 to 2^64 - 1, got -5",
};

static void pack_bad_heads(msgpack_packer *pk, enum heads_bad b)
{
	static const uint8_t origin[40] = {1, 2, 3};
	char scope[130];

	msgpack_pack_map(pk, b == HB_SECOND_BAD ? 2 : 1);
	if (b == HB_SECOND_BAD) {
		pack_cstr(pk, "on");
		msgpack_pack_array(pk, 1);
		msgpack_pack_array(pk, 2);
		msgpack_pack_bin(pk, 32);
		msgpack_pack_bin_body(pk, origin, 32);
		msgpack_pack_uint8(pk, 1);
		pack_cstr(pk, "tw");
		msgpack_pack_array(pk, 2);
		msgpack_pack_array(pk, 2);
		msgpack_pack_bin(pk, 32);
		msgpack_pack_bin_body(pk, origin, 32);
		msgpack_pack_uint8(pk, 1);
		msgpack_pack_array(pk, 2);
		msgpack_pack_bin(pk, 32);
		msgpack_pack_bin_body(pk, origin, 32);
		msgpack_pack_int8(pk, -5);
		return;
	}
	switch (b) {
	case HB_KEY_INT:
		msgpack_pack_uint8(pk, 7);
		break;
	case HB_KEY_BIN:
		msgpack_pack_bin(pk, 2);
		msgpack_pack_bin_body(pk, "sc", 2);
		break;
	case HB_SCOPE_129:
		memset(scope, 's', 129);
		scope[129] = '\0';
		pack_cstr(pk, scope);
		break;
	case HB_SCOPE_EMPTY:
		pack_cstr(pk, "");
		break;
	case HB_SCOPE_CTRL:
		pack_cstr(pk, "a\nb");
		break;
	case HB_SCOPE_C1:
		pack_cstr(pk, "\xc2\x9f");
		break;
	case HB_SCOPE_UTF8:
		pack_cstr(pk, "ab\xfe");
		break;
	default:
		pack_cstr(pk, "sc");
		break;
	}
	if (b == HB_VALUE_MAP) {
		msgpack_pack_map(pk, 1);
		pack_cstr(pk, "k");
		msgpack_pack_nil(pk);
		return;
	}
	if (b == HB_VALUE_NIL) {
		msgpack_pack_nil(pk);
		return;
	}
	msgpack_pack_array(pk, 1);
	switch (b) {
	case HB_ENTRY_1:
		msgpack_pack_array(pk, 1);
		msgpack_pack_bin(pk, 32);
		msgpack_pack_bin_body(pk, origin, 32);
		return;
	case HB_ENTRY_3:
		msgpack_pack_array(pk, 3);
		break;
	case HB_ENTRY_MAP:
		msgpack_pack_map(pk, 2);
		msgpack_pack_bin(pk, 32);
		msgpack_pack_bin_body(pk, origin, 32);
		msgpack_pack_uint8(pk, 5);
		pack_cstr(pk, "a");
		pack_cstr(pk, "b");
		return;
	case HB_ENTRY_BIN:
		msgpack_pack_bin(pk, 32);
		msgpack_pack_bin_body(pk, origin, 32);
		return;
	default:
		msgpack_pack_array(pk, 2);
		break;
	}
	switch (b) {
	case HB_ORIGIN_31:
	case HB_ORIGIN_33:
		msgpack_pack_bin(pk, b == HB_ORIGIN_31 ? 31 : 33);
		msgpack_pack_bin_body(pk, origin, b == HB_ORIGIN_31 ? 31 : 33);
		break;
	case HB_ORIGIN_STR:
		msgpack_pack_str(pk, 32);
		msgpack_pack_str_body(pk, origin, 32);
		break;
	case HB_ORIGIN_NIL:
		msgpack_pack_nil(pk);
		break;
	default:
		msgpack_pack_bin(pk, 32);
		msgpack_pack_bin_body(pk, origin, 32);
		break;
	}
	switch (b) {
	case HB_SEQ_NEG:
		msgpack_pack_int64(pk, -1);
		break;
	case HB_SEQ_FLOAT:
		msgpack_pack_double(pk, 5.0);
		break;
	case HB_SEQ_STR:
		pack_cstr(pk, "5");
		break;
	case HB_SEQ_NESTED:
		msgpack_pack_array(pk, 1);
		msgpack_pack_uint8(pk, 5);
		break;
	default:
		msgpack_pack_uint8(pk, 5);
		break;
	}
	if (b == HB_ENTRY_3)
		msgpack_pack_nil(pk);
}

static void start_msg(msgpack_sbuffer *sb, msgpack_packer *pk, size_t n, const char *type)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(pk, n);
	pack_cstr(pk, type);
}

static void test_heads_errors(void **state)
{
	static const uint8_t site[32] = {0};
	char want[300];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct msg_heads h;
	enum heads_bad b;
	size_t len;
	lm_err err;
	int where;

	(void)state;
	for (b = 0; b < HB_COUNT; b++) {
		/* The same broken map in each message that carries one. */
		for (where = 0; where < 3; where++) {
			if (where == 0) {
				start_msg(&sb, &pk, 3, "heads");
				pack_bad_heads(&pk, b);
				msgpack_pack_false(&pk);
				snprintf(want, sizeof(want), "heads: %s", heads_bad_want[b]);
			} else if (where == 1) {
				start_msg(&sb, &pk, 3, "ack");
				msgpack_pack_uint8(&pk, 1);
				pack_bad_heads(&pk, b);
				snprintf(want, sizeof(want), "ack: the heads: %s",
					 heads_bad_want[b]);
			} else {
				start_msg(&sb, &pk, 2, "hello");
				msgpack_pack_map(&pk, 5);
				pack_cstr(&pk, "site");
				msgpack_pack_bin(&pk, 32);
				msgpack_pack_bin_body(&pk, site, 32);
				pack_cstr(&pk, "software");
				pack_cstr(&pk, "s");
				pack_cstr(&pk, "heads");
				pack_bad_heads(&pk, b);
				pack_cstr(&pk, "protocol");
				msgpack_pack_uint8(&pk, 1);
				pack_cstr(&pk, "schema");
				msgpack_pack_uint8(&pk, 1);
				snprintf(want, sizeof(want), "hello: 'heads': %s",
					 heads_bad_want[b]);
			}
			expect_sbuf_error(&sb, want);
		}
		/* The encoders refuse to send it. */
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		pack_bad_heads(&pk, b);
		h.p = (const uint8_t *)sb.data;
		h.len = sb.size;
		memset(&err, 0, sizeof(err));
		assert_int_equal(msg_encode_heads(&h, 0, buf, sizeof(buf), &len, &err), -1);
		if (strstr(err.msg, heads_bad_want[b]) == NULL ||
		    strstr(err.msg, "cannot encode a heads message") == NULL)
			fail_msg("variant %d: \"%s\"", (int)b, err.msg);
		msgpack_sbuffer_destroy(&sb);
	}
}

static void test_sync_message_errors(void **state)
{
	static const struct {
		const char *hex; /* the message, msgpack in hex */
		const char *want;
	} bad[] = {
	    /* heads */
	    {"91a56865616473", "heads: no heads; a heads is [\"heads\", {scope: "},
	    {"92a5686561647380", "heads: no more; a heads is"},
	    {"93a56865616473c0c2", "heads: the heads must be a map, got nil"},
	    {"93a5686561647390c2", "heads: the heads must be a map, got an array of 0"},
	    {"93a568656164738001", "heads: 'more' must be true or false, got 1"},
	    {"93a5686561647380c0", "heads: 'more' must be true or false, got nil"},
	    /* sets */
	    {"91a473657473", "sets: no change sets; a sets is [\"sets\", [envelope, ...]]"},
	    {"92a47365747390", "sets: the array of change sets is empty"},
	    {"92a473657473c40101", "sets: the change sets must be an array, got a bin of 1 byte"},
	    {"92a47365747380", "sets: the change sets must be an array, got a map of 0"},
	    {"92a47365747391a10a", "sets: change set 1 must be a bin of 1 to 60000 bytes, got a "
				   "str of 1 byte"},
	    {"92a47365747391c0", "got nil"},
	    {"92a47365747391c400", "sets: change set 1 must be a bin of 1 to 60000 bytes, got a "
				   "bin of 0 bytes"},
	    {"92a47365747392c40101c400", "sets: change set 2 must be a bin of 1 to 60000 bytes"},
	    {"92a47365747392c4010191c40101", "change set 2 must be a bin of 1 to 60000 bytes, got "
					     "an array of 1"},
	    {"92a47365747391ff", "got -1"},
	    /* ack */
	    {"91a361636b", "ack: no count; an ack is [\"ack\", count, {scope: "},
	    {"92a361636b01", "ack: no heads; an ack is"},
	    {"93a361636bff80", "ack: the count must be an integer from 0 to 2^64 - 1, got -1"},
	    {"93a361636ba13380", "ack: the count must be an integer from 0 to 2^64 - 1, got a str "
				 "of 1 byte"},
	    {"93a361636bcb3ff000000000000080", "ack: the count must be an integer from 0 to 2^64 "
					       "- 1, got a float"},
	    {"93a361636bc380", "ack: the count must be an integer from 0 to 2^64 - 1, got true"},
	    {"93a361636b0190", "ack: the heads must be a map, got an array of 0"},
	    /* mark, marked */
	    {"91a46d61726b", "mark: no n; a mark is [\"mark\", n]"},
	    {"92a46d61726bd0fe", "mark: the n must be an integer from 0 to 2^64 - 1, got -2"},
	    {"92a46d61726bc0", "mark: the n must be an integer from 0 to 2^64 - 1, got nil"},
	    {"91a66d61726b6564", "marked: no n; a marked is [\"marked\", n, refused]"},
	    {"92a66d61726b656401", "marked: no refused; a marked is"},
	    {"93a66d61726b6564a13101", "marked: the n must be an integer from 0 to 2^64 - 1, got "
				       "a str of 1 byte"},
	    {"93a66d61726b656401ff", "marked: the refused must be an integer from 0 to 2^64 - 1, "
				     "got -1"},
	};
	uint8_t p[256];
	struct msg m;
	size_t i, k, n;
	lm_err err;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = strlen(bad[i].hex) / 2;
		assert_true(n <= sizeof(p));
		for (k = 0; k < n; k++) {
			unsigned int byte;

			assert_int_equal(sscanf(bad[i].hex + 2 * k, "%2x", &byte), 1);
			p[k] = (uint8_t)byte;
		}
		memset(&err, 0, sizeof(err));
		memset(&m, 0x5a, sizeof(m));
		if (msg_decode(p, n, &m, &err) != -1)
			fail_msg("message %zu (%s) decoded", i, bad[i].hex);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("message %zu: \"%s\" lacks \"%s\"", i, err.msg, bad[i].want);
		/* A failed decode leaves no pointers behind. */
		assert_null(m.u.heads.heads.p);
		assert_int_equal(m.u.sets.count, 0);
	}
}

/* A 60001-byte bin cannot be a change set, though it fits the message. */
static void test_sets_envelope_too_large(void **state)
{
	const size_t n = MSG_SETS_ENVELOPE_MAX + 1;

	(void)state;
	memcpy(buf, "\x92\xa4sets\x91\xc5", 8);
	buf[8] = (uint8_t)(n >> 8);
	buf[9] = (uint8_t)n;
	memset(buf + 10, 'x', n);
	expect_error(buf, 10 + n,
		     "change set 1 must be a bin of 1 to 60000 bytes, got a bin of "
		     "60001 bytes");
	buf[9] = (uint8_t)(n - 1);
	{
		struct msg m;

		decode_ok(buf, 10 + n - 1, &m);
		assert_int_equal(m.u.sets.count, 1);
	}
}

/* Elements after the known ones, and other encodings of the same values. */
static void test_sync_messages_lenient(void **state)
{
	static const struct {
		const char *hex;
		enum msg_type type;
		uint64_t a, b;
	} ok[] = {
	    {"94 a5 6865616473 80 c3 a5 6c61746572", MSG_HEADS, 0, 0}, /* then "later" */
	    {"93 a4 73657473 91 c4 01 78 01", MSG_SETS, 0, 0},	       /* then 1 */
	    {"92 a4 73657473 dc 0001 c5 0001 78", MSG_SETS, 0, 0},     /* array 16, bin 16 */
	    {"94 a3 61636b d3 0000000000000005 80 c0", MSG_ACK, 5, 0}, /* int 64, then nil */
	    {"93 a4 6d61726b cd 0007 90", MSG_MARK, 7, 0},	       /* uint 16, then [] */
	    {"94 a6 6d61726b6564 d0 09 01 c0", MSG_MARKED, 9, 1},      /* int 8 n, then nil */
	    {"92 d9 04 6d61726b 00", MSG_MARK, 0, 0},		       /* type as str 8 */
	};
	uint8_t p[64];
	struct msg m;
	size_t i, k, n, j;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char hex[80];

		/* Spaces in the table are for reading only. */
		for (j = k = 0; ok[i].hex[j] != '\0'; j++)
			if (ok[i].hex[j] != ' ')
				hex[k++] = ok[i].hex[j];
		hex[k] = '\0';
		n = k / 2;
		for (k = 0; k < n; k++) {
			unsigned int byte;

			assert_int_equal(sscanf(hex + 2 * k, "%2x", &byte), 1);
			p[k] = (uint8_t)byte;
		}
		decode_ok(p, n, &m);
		assert_int_equal(m.type, ok[i].type);
		switch (ok[i].type) {
		case MSG_HEADS:
			assert_int_equal(m.u.heads.more, 1);
			break;
		case MSG_SETS:
			assert_int_equal(m.u.sets.count, 1);
			break;
		case MSG_ACK:
			assert_true(m.u.ack.count == ok[i].a);
			break;
		case MSG_MARK:
			assert_true(m.u.mark.n == ok[i].a);
			break;
		case MSG_MARKED:
			assert_true(m.u.marked.n == ok[i].a);
			assert_true(m.u.marked.refused == ok[i].b);
			break;
		default:
			fail();
		}
	}
}

/* Nesting inside a HEADS map counts toward the message's 32 levels. */
static void test_heads_nesting(void **state)
{
	size_t n = 0, i;

	(void)state;
	/* ["heads", {"s": [[[[...]]]]}, false]: levels 1 (message), 2 (map),
	 * 3 (array), then deeper arrays. */
	memcpy(buf, "\x93\xa5heads\x81\xa1s", 10);
	n = 10;
	for (i = 3; i <= 33; i++)
		buf[n++] = 0x91;
	buf[n++] = 0xc0;
	buf[n++] = 0xc2;
	expect_error(buf, n, "more than 32 deep");
	/* One level less is well formed msgpack but a wrong entry. */
	n = 10;
	for (i = 3; i <= 32; i++)
		buf[n++] = 0x91;
	buf[n++] = 0xc0;
	buf[n++] = 0xc2;
	expect_error(buf, n,
		     "heads: scope 's', entry 1: an entry is an array of 2 (origin, "
		     "seq), got an array of 1");
}

/* The iterators on bytes that did not come through msg_decode. */
static void test_iterators_malformed(void **state)
{
	static const uint8_t entry[] = "\x81\xa1s\x91\x92\xc4\x20"
				       "0123456789abcdef0123456789abcdef\x05";
	uint8_t p[128];
	struct msg_heads_iter it;
	struct msg_sets_iter sit;
	struct msg_heads h;
	struct msg_sets s;
	const char *scope;
	const uint8_t *origin, *env;
	size_t scope_len, len, n = sizeof(entry) - 1;
	uint64_t seq;
	lm_err err;

	(void)state;
	memcpy(p, entry, n);
	h.p = p;
	/* Whole: one entry. */
	h.len = n;
	msg_heads_iter_begin(&it, &h);
	assert_int_equal(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err), 1);
	assert_int_equal(scope_len, 1);
	assert_memory_equal(scope, "s", 1);
	assert_ptr_equal(origin, p + 7);
	assert_true(seq == 5);
	assert_int_equal(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err), 0);
	/* Cut anywhere: -1, and -1 again after. */
	for (h.len = 1; h.len < n; h.len++) {
		int rc;

		msg_heads_iter_begin(&it, &h);
		memset(&err, 0, sizeof(err));
		while ((rc = msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err)) == 1)
			;
		assert_int_equal(rc, -1);
		assert_non_null(strstr(err.msg, "cut short"));
		assert_int_equal(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err), -1);
		assert_non_null(strstr(err.msg, "malformed"));
	}
	/* A byte after the map. */
	p[n] = 0xc0;
	h.len = n + 1;
	msg_heads_iter_begin(&it, &h);
	assert_int_equal(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err), 1);
	assert_int_equal(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err), -1);
	assert_non_null(strstr(err.msg, "1 byte after the map"));
	/* Not a map, no bytes. */
	h.len = 1;
	p[0] = 0x90;
	msg_heads_iter_begin(&it, &h);
	assert_int_equal(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err), -1);
	assert_non_null(strstr(err.msg, "the heads must be a map, got an array of 0"));
	h.p = NULL;
	h.len = 3;
	msg_heads_iter_begin(&it, &h);
	assert_int_equal(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err), -1);
	msg_heads_iter_begin(&it, NULL);
	assert_int_equal(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err), 0);

	/* sets */
	memcpy(p, "\x92\xc4\x01x\xc4\x02yz", 8);
	s.p = p;
	s.count = 2;
	for (s.len = 1; s.len < 8; s.len++) {
		int rc;

		msg_sets_iter_begin(&sit, &s);
		while ((rc = msg_sets_next(&sit, &env, &len, &err)) == 1)
			;
		assert_int_equal(rc, -1);
		assert_non_null(strstr(err.msg, "cut short"));
		assert_int_equal(msg_sets_next(&sit, &env, &len, &err), -1);
	}
	s.len = 9;
	p[8] = 0x00;
	msg_sets_iter_begin(&sit, &s);
	assert_int_equal(msg_sets_next(&sit, &env, &len, &err), 1);
	assert_int_equal(msg_sets_next(&sit, &env, &len, &err), 1);
	assert_int_equal(len, 2);
	assert_memory_equal(env, "yz", 2);
	assert_int_equal(msg_sets_next(&sit, &env, &len, &err), -1);
	assert_non_null(strstr(err.msg, "1 byte after the array of change sets"));
	p[0] = 0x80;
	msg_sets_iter_begin(&sit, &s);
	assert_int_equal(msg_sets_next(&sit, &env, &len, &err), -1);
	assert_non_null(strstr(err.msg, "must be an array, got a map of 0"));
	msg_sets_iter_begin(&sit, NULL);
	assert_int_equal(msg_sets_next(&sit, &env, &len, &err), 0);
	/* A hello whose heads the caller broke is not sent. */
	{
		struct msg_hello hello;

		sample_hello(&hello);
		hello.heads.p = (const uint8_t *)"\x81\xa1s\x91\x91\x01";
		hello.heads.len = 6;
		assert_int_equal(msg_encode_hello(&hello, buf, sizeof(buf), &len, &err), -1);
		assert_non_null(strstr(err.msg, "cannot encode a hello: its heads: scope 's', "
						"entry 1: an entry is an array of 2"));
		assert_int_equal(msg_encode_ack(1, &hello.heads, buf, sizeof(buf), &len, &err), -1);
		assert_non_null(strstr(err.msg, "cannot encode an ack: its heads"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_round_trip),
	    cmocka_unit_test(test_hello_software_unterminated),
	    cmocka_unit_test(test_ping_pong_round_trip),
	    cmocka_unit_test(test_error_round_trip),
	    cmocka_unit_test(test_ping_bytes),
	    cmocka_unit_test(test_hello_bytes),
	    cmocka_unit_test(test_error_bytes),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_size_limits),
	    cmocka_unit_test(test_hostile_sizes),
	    cmocka_unit_test(test_nesting),
	    cmocka_unit_test(test_hello_errors),
	    cmocka_unit_test(test_hello_schema_errors),
	    cmocka_unit_test(test_ping_errors),
	    cmocka_unit_test(test_error_errors),
	    cmocka_unit_test(test_unknown_type),
	    cmocka_unit_test(test_unknown_hello_keys),
	    cmocka_unit_test(test_type_names),
	    cmocka_unit_test(test_encoders_too_small),
	    cmocka_unit_test(test_long_strings_truncated),
	    cmocka_unit_test(test_strings_cleaned),
	    cmocka_unit_test(test_heads_round_trip),
	    cmocka_unit_test(test_heads_empty),
	    cmocka_unit_test(test_heads_writer_bytes),
	    cmocka_unit_test(test_heads_writer_budget),
	    cmocka_unit_test(test_heads_writer_bad_scope),
	    cmocka_unit_test(test_heads_overhead),
	    cmocka_unit_test(test_hello_heads_round_trip),
	    cmocka_unit_test(test_hello_heads_any_order),
	    cmocka_unit_test(test_hello_heads_twice),
	    cmocka_unit_test(test_sets_round_trip),
	    cmocka_unit_test(test_sets_writer_budget),
	    cmocka_unit_test(test_sets_envelope_too_large),
	    cmocka_unit_test(test_ack_mark_marked_round_trip),
	    cmocka_unit_test(test_ack_bytes),
	    cmocka_unit_test(test_heads_errors),
	    cmocka_unit_test(test_sync_message_errors),
	    cmocka_unit_test(test_sync_messages_lenient),
	    cmocka_unit_test(test_heads_nesting),
	    cmocka_unit_test(test_iterators_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
