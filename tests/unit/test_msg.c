/* SPDX-License-Identifier: MIT */
/* Transport messages: every type round-trips; ping and hello encode to the
 * exact bytes docs/PROTOCOL.md shows; each way a known message can be
 * malformed is refused with a message naming the problem; unknown types and
 * unknown hello keys are accepted; encoders fail cleanly at every buffer size
 * too small; received strings are truncated and cleaned, never overflowed;
 * hostile sizes and nesting are refused before anything is allocated. */
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
	assert_string_equal(msg_type_name(MSG_UNKNOWN), "unknown");
}

/* ---- Encoders with too little room ---- */

enum which { ENC_HELLO, ENC_PING, ENC_PONG, ENC_ERROR, ENC_COUNT };

static int encode(enum which w, uint8_t *p, size_t cap, size_t *len, lm_err *err)
{
	static const char long_text[] = "a text long enough to need a str 8 header: "
					"0123456789012345678901234567890123456789";
	struct msg_hello h;

	switch (w) {
	case ENC_HELLO:
		sample_hello(&h);
		return msg_encode_hello(&h, p, cap, len, err);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
