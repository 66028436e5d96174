/* SPDX-License-Identifier: MIT */
/* Fuzz the transport message decoder: the input is one decrypted transport
 * plaintext, any bytes at all.
 *
 * Beyond not crashing, leaking or reading out of bounds, every result is
 * checked: a failure leaves a terminated, non-empty error message; a success
 * leaves terminated strings free of control characters, and for a known type
 * the decoded message encodes again into no more bytes than it came in and
 * decodes back to the same fields. The HEADS maps and the envelopes of sets
 * are walked to the end with their iterators, which must not fail on a
 * decoded message and must point inside the input, and are rebuilt with
 * their writers, which must give the same entries back. A difference
 * aborts.
 *
 * Built with -DFUZZ_MESSAGE_SEEDS this file is instead a program writing the
 * seed corpus, one valid message of each type, into the directory it is
 * given: `fuzz_message_seeds tests/fuzz/corpus/message`. */
#include <stddef.h>
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

#define MAX_PLAINTEXT MSG_MAX

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
	case MSG_HEADS:
		rc = msg_encode_heads(&m->u.heads.heads, m->u.heads.more, buf, cap, &len, &err);
		break;
	case MSG_ACK:
		rc = msg_encode_ack(m->u.ack.count, &m->u.ack.heads, buf, cap, &len, &err);
		break;
	case MSG_MARK:
		rc = msg_encode_mark(m->u.mark.n, buf, cap, &len, &err);
		break;
	case MSG_MARKED:
		rc = msg_encode_marked(m->u.marked.n, m->u.marked.refused, buf, cap, &len, &err);
		break;
	case MSG_SETS: /* rebuilt by check_sets */
	case MSG_UNKNOWN:
		break;
	}
	CHECK(rc == 0);
	return len;
}

static int same_heads(const struct msg_heads *a, const struct msg_heads *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
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
		CHECK(same_heads(&a->u.hello.heads, &b->u.hello.heads));
		CHECK(a->u.hello.more == b->u.hello.more);
		break;
	case MSG_PING:
	case MSG_PONG:
		CHECK(a->u.nonce == b->u.nonce);
		break;
	case MSG_ERROR:
		CHECK(strcmp(a->u.error.code, b->u.error.code) == 0);
		CHECK(strcmp(a->u.error.text, b->u.error.text) == 0);
		break;
	case MSG_HEADS:
		CHECK(same_heads(&a->u.heads.heads, &b->u.heads.heads));
		CHECK(a->u.heads.more == b->u.heads.more);
		break;
	case MSG_ACK:
		CHECK(a->u.ack.count == b->u.ack.count);
		CHECK(same_heads(&a->u.ack.heads, &b->u.ack.heads));
		break;
	case MSG_MARK:
		CHECK(a->u.mark.n == b->u.mark.n);
		break;
	case MSG_MARKED:
		CHECK(a->u.marked.n == b->u.marked.n);
		CHECK(a->u.marked.refused == b->u.marked.refused);
		break;
	case MSG_SETS:
	case MSG_UNKNOWN:
		break;
	}
}

static int inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
	const uint8_t *q = p;

	return q >= data && n <= size && q - data <= (ptrdiff_t)(size - n);
}

/* Walk h to the end, every entry within the rules and inside the input;
 * rebuild it with the writer, whose map must hold the same entries in the
 * same order. */
static void check_heads(const struct msg_heads *h, const uint8_t *data, size_t size)
{
	/* Rebuilt, a map can grow: map 32 and array 32 headers where the input
	 * used fixmap and fixarray (4 bytes per scope, which takes 39 or more). */
	static uint8_t again[2 * MAX_PLAINTEXT];
	struct msg_heads_iter it, it2;
	struct msg_heads_writer w;
	struct msg_heads h2;
	const char *scope, *scope2;
	const uint8_t *origin, *origin2;
	size_t scope_len, scope_len2, n = 0;
	char cscope[129];
	uint64_t seq, seq2;
	lm_err err;
	int rc;

	CHECK(h->len == 0 || inside(h->p, h->len, data, size));
	msg_heads_writer_begin(&w, again, sizeof(again));
	msg_heads_iter_begin(&it, h);
	while ((rc = msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err)) == 1) {
		CHECK(scope_len >= 1 && scope_len < sizeof(cscope));
		CHECK(inside(scope, scope_len, data, size));
		CHECK(inside(origin, 32, data, size));
		memcpy(cscope, scope, scope_len);
		cscope[scope_len] = '\0';
		CHECK(msg_heads_writer_add(&w, cscope, origin, seq, &err) == 0);
		n++;
	}
	CHECK(rc == 0);
	CHECK(msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err) == 0);
	CHECK(msg_heads_writer_count(&w) == n);
	h2.p = again;
	h2.len = msg_heads_writer_finish(&w);
	msg_heads_iter_begin(&it, h);
	msg_heads_iter_begin(&it2, &h2);
	while ((rc = msg_heads_next(&it, &scope, &scope_len, &origin, &seq, &err)) == 1) {
		CHECK(msg_heads_next(&it2, &scope2, &scope_len2, &origin2, &seq2, &err) == 1);
		CHECK(scope_len == scope_len2 && memcmp(scope, scope2, scope_len) == 0);
		CHECK(memcmp(origin, origin2, 32) == 0);
		CHECK(seq == seq2);
	}
	CHECK(rc == 0);
	CHECK(msg_heads_next(&it2, &scope2, &scope_len2, &origin2, &seq2, &err) == 0);
}

/* Walk the envelopes of a sets message; rebuild the message with the writer
 * and decode it back to the same envelopes. */
static void check_sets(const struct msg *m, const uint8_t *data, size_t size)
{
	static uint8_t again[MAX_PLAINTEXT];
	struct msg_sets_iter it, it2;
	struct msg_sets_writer w;
	const uint8_t *env, *env2;
	size_t len, len2, n = 0, added = 0;
	struct msg m2;
	int rc, wrc, fits = 1;
	lm_err err;

	CHECK(m->u.sets.count >= 1);
	CHECK(inside(m->u.sets.p, m->u.sets.len, data, size));
	msg_sets_writer_begin(&w, again, sizeof(again));
	msg_sets_iter_begin(&it, &m->u.sets);
	while ((rc = msg_sets_next(&it, &env, &len, &err)) == 1) {
		CHECK(len >= 1 && len <= MSG_SETS_ENVELOPE_MAX);
		CHECK(inside(env, len, data, size));
		n++;
		wrc = msg_sets_writer_add(&w, env, len, &err);
		CHECK(wrc == 0 || wrc == 1);
		added += wrc == 0;
		/* The writer's array 32 header is at most 4 bytes longer than the
		 * input's: only a message that close to the limit may not fit. */
		if (wrc == 1) {
			CHECK(size + 4 > MAX_PLAINTEXT);
			fits = 0;
		}
	}
	CHECK(rc == 0);
	CHECK(n == m->u.sets.count);
	CHECK(msg_sets_writer_count(&w) == added);
	if (!fits)
		return;
	len = msg_sets_writer_finish(&w);
	CHECK(len >= 1 && len <= size + 4);
	CHECK(msg_decode(again, len, &m2, &err) == 0);
	CHECK(m2.type == MSG_SETS && m2.u.sets.count == n);
	msg_sets_iter_begin(&it, &m->u.sets);
	msg_sets_iter_begin(&it2, &m2.u.sets);
	while (msg_sets_next(&it, &env, &len, &err) == 1) {
		CHECK(msg_sets_next(&it2, &env2, &len2, &err) == 1);
		CHECK(len == len2 && memcmp(env, env2, len) == 0);
	}
	CHECK(msg_sets_next(&it2, &env2, &len2, &err) == 0);
}

static void check_decoded(const struct msg *m, const uint8_t *data, size_t size)
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
		CHECK(m->u.hello.more == 0 || m->u.hello.more == 1);
		check_heads(&m->u.hello.heads, data, size);
		break;
	case MSG_ERROR:
		check_text(m->u.error.code, sizeof(m->u.error.code));
		check_text(m->u.error.text, sizeof(m->u.error.text));
		break;
	case MSG_HEADS:
		CHECK(m->u.heads.more == 0 || m->u.heads.more == 1);
		CHECK(m->u.heads.heads.len > 0);
		check_heads(&m->u.heads.heads, data, size);
		break;
	case MSG_ACK:
		CHECK(m->u.ack.heads.len > 0);
		check_heads(&m->u.ack.heads, data, size);
		break;
	case MSG_SETS:
		CHECK(strcmp(m->type_name, "sets") == 0);
		check_sets(m, data, size);
		return;
	case MSG_PING:
	case MSG_PONG:
	case MSG_MARK:
	case MSG_MARKED:
		break;
	case MSG_UNKNOWN: {
		enum msg_type t;

		for (t = MSG_HELLO; t < MSG_UNKNOWN; t++)
			CHECK(strcmp(m->type_name, msg_type_name(t)) != 0);
		return;
	}
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
		check_decoded(&m, data, size);
		return 0;
	}
	CHECK(err.msg[0] != '\0');
	CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
	return 0;
}

#ifdef FUZZ_MESSAGE_SEEDS
/* Seeds: one valid message of each type (hello both without and with
 * heads), and one of a type yet unknown. */
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
	static const char *const scopes[] = {"helse-vest", "helse-vest", "kurs", "kurs@x"};
	static const uint64_t seqs[] = {7, 300, 0, 70000};
	struct msg_heads_writer hw;
	struct msg_sets_writer sw;
	struct msg_hello hello;
	struct msg_heads heads;
	uint8_t buf[1024], hb[512], origin[32], env[300];
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

	/* The sync messages: four entries in three scopes, two sharing one. */
	msg_heads_writer_begin(&hw, hb, sizeof(hb));
	for (i = 0; i < 4; i++) {
		memset(origin, (int)(0x10 * (i + 1)), sizeof(origin));
		CHECK(msg_heads_writer_add(&hw, scopes[i], origin, seqs[i], &err) == 0);
	}
	heads.p = hb;
	heads.len = msg_heads_writer_finish(&hw);
	hello.heads = heads;
	hello.more = 1;
	CHECK(msg_encode_hello(&hello, buf, sizeof(buf), &len, &err) == 0);
	write_seed(argv[1], "hello-heads", buf, len);
	CHECK(msg_encode_heads(&heads, 0, buf, sizeof(buf), &len, &err) == 0);
	write_seed(argv[1], "heads", buf, len);
	CHECK(msg_encode_ack(3, &heads, buf, sizeof(buf), &len, &err) == 0);
	write_seed(argv[1], "ack", buf, len);
	CHECK(msg_encode_mark(2, buf, sizeof(buf), &len, &err) == 0);
	write_seed(argv[1], "mark", buf, len);
	CHECK(msg_encode_marked(2, 1, buf, sizeof(buf), &len, &err) == 0);
	write_seed(argv[1], "marked", buf, len);
	/* Envelopes are not decoded here: any bytes do, in both bin sizes. */
	for (i = 0; i < sizeof(env); i++)
		env[i] = (uint8_t)i;
	msg_sets_writer_begin(&sw, buf, sizeof(buf));
	CHECK(msg_sets_writer_add(&sw, env, 3, &err) == 0);
	CHECK(msg_sets_writer_add(&sw, env, sizeof(env), &err) == 0);
	CHECK(msg_sets_writer_add(&sw, env + 5, 1, &err) == 0);
	len = msg_sets_writer_finish(&sw);
	CHECK(len > 0);
	write_seed(argv[1], "sets", buf, len);
	return 0;
}
#endif
