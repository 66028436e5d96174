/* SPDX-License-Identifier: MIT */
/* Fuzz the transport message decoder: the input is one decrypted transport
 * plaintext, any bytes at all.
 *
 * Beyond not crashing, leaking or reading out of bounds, every result is
 * checked: a failure leaves a terminated, non-empty error message; a success
 * leaves terminated strings free of control characters, and for a known type
 * the decoded message encodes again into no more bytes than it came in and
 * decodes back to the same fields. A difference aborts.
 *
 * Built with -DFUZZ_MESSAGE_SEEDS this file is instead a program writing the
 * seed corpus, one valid message of each type, into the directory it is
 * given: `fuzz_message_seeds tests/fuzz/corpus/message`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_message: check failed: %s (%s:%d)\n", #c, __FILE__,  \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define MAX_PLAINTEXT 65519

/* A field of cap bytes holds a terminated string without control bytes. */
static void check_text(const char *s, size_t cap)
{
	size_t i, n = strnlen(s, cap);

	CHECK(n < cap);
	for (i = 0; i < n; i++)
		CHECK((uint8_t)s[i] >= 0x20 && (uint8_t)s[i] != 0x7f);
}

static size_t encode(const struct msg *m, uint8_t *buf, size_t cap)
{
	size_t len = 0;
	lm_err err;
	int rc = -1;

	switch (m->type) {
	case MSG_HELLO:
		rc = msg_encode_hello(&m->u.hello, buf, cap, &len, &err);
		break;
	case MSG_PING:
		rc = msg_encode_ping(m->u.nonce, buf, cap, &len, &err);
		break;
	case MSG_PONG:
		rc = msg_encode_pong(m->u.nonce, buf, cap, &len, &err);
		break;
	case MSG_ERROR:
		rc = msg_encode_error(m->u.error.code, m->u.error.text, buf, cap, &len, &err);
		break;
	case MSG_UNKNOWN:
		break;
	}
	CHECK(rc == 0);
	return len;
}

static void check_same(const struct msg *a, const struct msg *b)
{
	CHECK(a->type == b->type);
	CHECK(strcmp(a->type_name, b->type_name) == 0);
	switch (a->type) {
	case MSG_HELLO:
		CHECK(memcmp(a->u.hello.site, b->u.hello.site, sizeof(a->u.hello.site)) == 0);
		CHECK(strcmp(a->u.hello.software, b->u.hello.software) == 0);
		CHECK(a->u.hello.protocol == b->u.hello.protocol);
		CHECK(a->u.hello.schema == b->u.hello.schema);
		break;
	case MSG_PING:
	case MSG_PONG:
		CHECK(a->u.nonce == b->u.nonce);
		break;
	case MSG_ERROR:
		CHECK(strcmp(a->u.error.code, b->u.error.code) == 0);
		CHECK(strcmp(a->u.error.text, b->u.error.text) == 0);
		break;
	case MSG_UNKNOWN:
		break;
	}
}

static void check_decoded(const struct msg *m, size_t size)
{
	static uint8_t again[MAX_PLAINTEXT];
	struct msg m2;
	size_t len;
	lm_err err;

	CHECK(size >= 1 && size <= MAX_PLAINTEXT);
	check_text(m->type_name, sizeof(m->type_name));
	switch (m->type) {
	case MSG_HELLO:
		check_text(m->u.hello.software, sizeof(m->u.hello.software));
		break;
	case MSG_ERROR:
		check_text(m->u.error.code, sizeof(m->u.error.code));
		check_text(m->u.error.text, sizeof(m->u.error.text));
		break;
	case MSG_PING:
	case MSG_PONG:
		break;
	case MSG_UNKNOWN:
		CHECK(strcmp(m->type_name, "hello") != 0 && strcmp(m->type_name, "ping") != 0 &&
		      strcmp(m->type_name, "pong") != 0 && strcmp(m->type_name, "error") != 0);
		return;
	}
	CHECK(strcmp(m->type_name, msg_type_name(m->type)) == 0);
	len = encode(m, again, sizeof(again));
	CHECK(len <= size);
	CHECK(msg_decode(again, len, &m2, &err) == 0);
	check_same(m, &m2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m;
	lm_err err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = msg_decode(data, size, &m, &err);
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		check_decoded(&m, size);
		return 0;
	}
	CHECK(err.msg[0] != '\0');
	CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
	return 0;
}

#ifdef FUZZ_MESSAGE_SEEDS
/* Seeds: one valid message of each type, and one of a type yet unknown. */
static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK(fwrite(p, 1, len, f) == len);
	CHECK(fclose(f) == 0);
}

int main(int argc, char **argv)
{
	/* ["changes", {"scope": "x", "n": 2}, [1, -1, nil, true, 1.5, bin "ab"]] */
	static const uint8_t unknown[] = {
	    0x93, 0xa7, 'c',  'h',  'a',  'n',	'g',  'e',  's',  0x82, 0xa5, 's',  'c',
	    'o',  'p',	'e',  0xa1, 'x',  0xa1, 'n',  0x02, 0x96, 0x01, 0xff, 0xc0, 0xc3,
	    0xcb, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc4, 0x02, 'a',  'b'};
	struct msg_hello hello;
	uint8_t buf[512];
	size_t len, i;
	lm_err err;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_message_seeds DIR\n");
		return 2;
	}
	memset(&hello, 0, sizeof(hello));
	for (i = 0; i < sizeof(hello.site); i++)
		hello.site[i] = (uint8_t)(i * 7 + 1);
	strcpy(hello.software, "lmsync 0.1.0");
	hello.protocol = MSG_PROTOCOL_VERSION;
	hello.schema = 1;
	CHECK(msg_encode_hello(&hello, buf, sizeof(buf), &len, &err) == 0);
	write_seed(argv[1], "hello", buf, len);
	CHECK(msg_encode_ping(1, buf, sizeof(buf), &len, &err) == 0);
	write_seed(argv[1], "ping", buf, len);
	CHECK(msg_encode_pong(0x0123456789abcdefull, buf, sizeof(buf), &len, &err) == 0);
	write_seed(argv[1], "pong", buf, len);
	CHECK(msg_encode_error(MSG_ERROR_UNKNOWN_SITE, "site 0000000-... is not a configured peer",
			       buf, sizeof(buf), &len, &err) == 0);
	write_seed(argv[1], "error", buf, len);
	write_seed(argv[1], "unknown", unknown, sizeof(unknown));
	return 0;
}
#endif
