/* SPDX-License-Identifier: MIT */
/* Change sets: a body of several rows with every kind of value round-trips
 * zero-copy; the hash and signature are exactly BLAKE2b-256 and Ed25519 over
 * the body (recomputed here with libsodium); the example in docs/PROTOCOL.md
 * is what the encoder produces; any flipped byte of an envelope fails decode
 * or verify; a run verifies with one signature and every way of breaking it
 * is named; the writer stops at CS_MAX_ENVELOPE and what it sealed before is
 * valid; bad names, scopes, rows and bodies are refused by writer and decoder
 * alike; hostile sizes are refused before msgpack-c sees them; values order
 * as SQLite orders them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/changeset.h"

#define RUN_LEN 5

struct key {
	uint8_t pk[CS_KEY_LEN];
	uint8_t sk[64];
};

/* An envelope built by a test. */
struct env {
	uint8_t *p;
	size_t len;
	uint8_t hash[CS_HASH_LEN];
};

/* ---- Helpers ---- */

static void make_key(struct key *k, uint8_t fill)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	memset(seed, fill, sizeof(seed));
	assert_int_equal(crypto_sign_seed_keypair(k->pk, k->sk, seed), 0);
}

static void make_header(struct cs_header *h, const struct key *k, const char *scope, uint64_t seq,
			const uint8_t *prev)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->origin, k->pk, CS_KEY_LEN);
	strcpy(h->scope, scope);
	h->seq = seq;
	h->hlc = (UINT64_C(1735689600000) + seq) << 16;
	if (prev != NULL)
		memcpy(h->prev, prev, CS_HASH_LEN);
}

static struct cs_value int_value(int64_t i)
{
	struct cs_value v = {CS_INT, i, 0, NULL, 0};

	return v;
}

static struct cs_value real_value(double r)
{
	struct cs_value v = {CS_REAL, 0, r, NULL, 0};

	return v;
}

static struct cs_value text_value(const char *s)
{
	struct cs_value v = {CS_TEXT, 0, 0, (const uint8_t *)s, strlen(s)};

	return v;
}

static struct cs_value blob_value(const void *p, size_t len)
{
	struct cs_value v = {CS_BLOB, 0, 0, p, len};

	return v;
}

static struct cs_value nil_value(void)
{
	struct cs_value v = {CS_NIL, 0, 0, NULL, 0};

	return v;
}

static void expect_msg(const lm_err *err, const char *want)
{
	if (strstr(err->msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err->msg, want);
}

static void add_ok(struct cs_writer *w, const struct cs_row *r)
{
	lm_err err;

	if (cs_writer_add_row(w, r, &err) != 0)
		fail_msg("add_row failed: %s", err.msg);
}

static void seal_ok(struct cs_writer *w, const struct key *k, struct env *e)
{
	lm_err err;

	if (cs_writer_seal(w, k->sk, &e->p, &e->len, e->hash, &err) != 0)
		fail_msg("seal failed: %s", err.msg);
	cs_writer_free(w);
}

static void begin_ok(struct cs_writer *w, const struct cs_header *h)
{
	lm_err err;

	if (cs_writer_begin(w, h, &err) != 0)
		fail_msg("begin failed: %s", err.msg);
}

static void decode_ok(const struct env *e, struct changeset *cs)
{
	lm_err err;

	if (changeset_decode(e->p, e->len, cs, &err) != 0)
		fail_msg("decode failed: %s", err.msg);
}

static void expect_decode_error(const uint8_t *p, size_t len, const char *want)
{
	struct changeset cs;
	lm_err err;

	memset(&err, 0, sizeof(err));
	if (changeset_decode(p, len, &cs, &err) == 0) {
		changeset_free(&cs);
		fail_msg("decode succeeded; expected an error containing \"%s\"", want);
	}
	expect_msg(&err, want);
	assert_null(cs.arena);
	assert_null(cs.rows);
}

/* A change set of (k, scope, seq, prev) holding one row whose title is text. */
static void one_row(struct env *e, const struct key *k, const char *scope, uint64_t seq,
		    const uint8_t *prev, const char *text)
{
	struct cs_value pk = int_value((int64_t)seq);
	struct cs_col col = {"title", 5, text_value(text)};
	struct cs_row row = {"course", 6, &pk, 1, 1, &col, 1, NULL};
	struct cs_header h;
	struct cs_writer w;

	make_header(&h, k, scope, seq, prev);
	begin_ok(&w, &h);
	add_ok(&w, &row);
	seal_ok(&w, k, e);
}

/* n consecutive change sets from seq first, the first after prev. */
static void make_chain(struct env *e, size_t n, const struct key *k, const char *scope,
		       uint64_t first, const uint8_t *prev)
{
	char text[32];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "course %zu", i);
		one_row(&e[i], k, scope, first + i, i == 0 ? prev : e[i - 1].hash, text);
	}
}

static void free_envs(struct env *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(e[i].p);
}

/* Wrap body bytes in an envelope with a real signature by k. */
static void wrap(const void *body, size_t len, const struct key *k, msgpack_sbuffer *out)
{
	uint8_t sig[CS_SIG_LEN];
	msgpack_packer pk;

	crypto_sign_detached(sig, NULL, body, len, k->sk);
	msgpack_sbuffer_init(out);
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_bin(&pk, len);
	msgpack_pack_bin_body(&pk, body, len);
	msgpack_pack_bin(&pk, CS_SIG_LEN);
	msgpack_pack_bin_body(&pk, sig, CS_SIG_LEN);
}

/* How a hand-made body departs from a good one. */
struct body_spec {
	int items;	   /* elements of the body array; 7 */
	int format;	   /* -1 packs the str "1" */
	size_t origin;	   /* bytes of the origin bin; 32 */
	const char *scope; /* NULL packs the integer 5 */
	int64_t seq;
	int64_t hlc;
	size_t prev; /* bytes of the prev bin; 32 */
	int prev_fill;
	const char *rows; /* raw msgpack of the rows value */
	size_t rows_len;
};

static struct body_spec good_spec(const char *rows, size_t rows_len)
{
	struct body_spec s = {7, 1, 32, "net", 2, 99, 32, 0xab, rows, rows_len};

	return s;
}

static void pack_int(msgpack_packer *pk, int64_t v)
{
	msgpack_pack_int64(pk, v);
}

static void pack_body(msgpack_sbuffer *sb, const struct body_spec *s, const struct key *k)
{
	uint8_t bytes[64];
	msgpack_packer pk;
	int i;

	memset(bytes, s->prev_fill, sizeof(bytes));
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, (size_t)s->items);
	for (i = 0; i < s->items && i < 7; i++) {
		switch (i) {
		case 0:
			if (s->format < 0)
				msgpack_pack_str_with_body(&pk, "1", 1);
			else
				pack_int(&pk, s->format);
			break;
		case 1:
			msgpack_pack_bin_with_body(&pk, k->pk, s->origin);
			break;
		case 2:
			if (s->scope == NULL)
				pack_int(&pk, 5);
			else
				msgpack_pack_str_with_body(&pk, s->scope, strlen(s->scope));
			break;
		case 3:
			pack_int(&pk, s->seq);
			break;
		case 4:
			pack_int(&pk, s->hlc);
			break;
		case 5:
			msgpack_pack_bin_with_body(&pk, bytes, s->prev);
			break;
		case 6:
			msgpack_sbuffer_write(sb, s->rows, s->rows_len);
			break;
		}
	}
	for (; i < s->items; i++)
		msgpack_pack_nil(&pk);
}

static void spec_envelope(const struct body_spec *s, msgpack_sbuffer *env)
{
	msgpack_sbuffer body;
	struct key k;

	make_key(&k, 0x01);
	pack_body(&body, s, &k);
	wrap(body.data, body.size, &k, env);
	msgpack_sbuffer_destroy(&body);
}

static void expect_spec_error(const struct body_spec *s, const char *want)
{
	msgpack_sbuffer env;

	spec_envelope(s, &env);
	expect_decode_error((const uint8_t *)env.data, env.size, want);
	msgpack_sbuffer_destroy(&env);
}

static void expect_rows_error(const char *rows, size_t len, const char *want)
{
	struct body_spec s = good_spec(rows, len);

	expect_spec_error(&s, want);
}

/* Decode a body with these rows and hand back the first row's first
 * column value, which must decode. */
static void rows_value(const char *rows, size_t len, struct cs_value *v)
{
	struct body_spec s = good_spec(rows, len);
	msgpack_sbuffer env;
	struct changeset cs;
	lm_err err;

	spec_envelope(&s, &env);
	if (changeset_decode((const uint8_t *)env.data, env.size, &cs, &err) != 0)
		fail_msg("decode failed: %s", err.msg);
	assert_int_equal(cs.nrows, 1);
	assert_int_equal(cs.rows[0].ncols, 1);
	*v = cs.rows[0].cols[0].value;
	v->p = NULL; /* points into env, freed below */
	changeset_free(&cs);
	msgpack_sbuffer_destroy(&env);
}

#define ROWS(lit) lit, sizeof(lit) - 1

/* ---- Round trip ---- */

static const uint8_t blob_bytes[] = {0x00, 0xff, 0x10, 0x00};

static void sample_values(struct cs_col *cols)
{
	static const char *const names[] = {"n",      "imin", "imax", "zero",  "neg",
					    "mzero",  "half", "inf",  "empty", "utf8",
					    "bempty", "blob", "big_1"};
	struct cs_value v[] = {
	    nil_value(),	  int_value(INT64_MIN),
	    int_value(INT64_MAX), int_value(0),
	    int_value(-1),	  real_value(-0.0),
	    real_value(1.5),	  real_value(-INFINITY),
	    text_value(""),	  text_value("\xc3\xa6\xc3\xb8\xc3\xa5 \xc3\x86\xc3\x98\xc3\x85"),
	    blob_value("", 0),	  blob_value(blob_bytes, sizeof(blob_bytes)),
	    int_value(300)};
	size_t i;

	for (i = 0; i < 13; i++) {
		cols[i].name = names[i];
		cols[i].name_len = strlen(names[i]);
		cols[i].value = v[i];
	}
}

static void assert_same_value(const struct cs_value *a, const struct cs_value *b)
{
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case CS_NIL:
		break;
	case CS_INT:
		assert_true(a->i == b->i);
		break;
	case CS_REAL:
		assert_memory_equal(&a->r, &b->r, sizeof(double)); /* -0.0 keeps its sign */
		break;
	case CS_TEXT:
	case CS_BLOB:
		assert_int_equal(a->len, b->len);
		if (a->len > 0)
			assert_memory_equal(a->p, b->p, a->len);
		break;
	}
}

static void assert_same_row(const struct cs_row *a, const struct cs_row *b)
{
	size_t i;

	assert_int_equal(a->table_len, b->table_len);
	assert_memory_equal(a->table, b->table, a->table_len);
	assert_int_equal(a->npk, b->npk);
	for (i = 0; i < a->npk; i++)
		assert_same_value(&a->pk[i], &b->pk[i]);
	assert_true(a->cl == b->cl);
	assert_int_equal(a->ncols, b->ncols);
	for (i = 0; i < a->ncols; i++) {
		assert_int_equal(a->cols[i].name_len, b->cols[i].name_len);
		assert_memory_equal(a->cols[i].name, b->cols[i].name, a->cols[i].name_len);
		assert_same_value(&a->cols[i].value, &b->cols[i].value);
	}
}

/* Every string and blob of cs lies inside the envelope. */
static void assert_in(const struct env *e, const void *p, size_t len)
{
	const uint8_t *q = p;

	if (len > 0)
		assert_true(q >= e->p && q + len <= e->p + e->len);
}

static void assert_zero_copy(const struct env *e, const struct changeset *cs)
{
	size_t i, j;

	assert_in(e, cs->body, cs->body_len);
	for (i = 0; i < cs->nrows; i++) {
		assert_in(e, cs->rows[i].table, cs->rows[i].table_len);
		for (j = 0; j < cs->rows[i].npk; j++)
			assert_in(e, cs->rows[i].pk[j].p, cs->rows[i].pk[j].len);
		for (j = 0; j < cs->rows[i].ncols; j++) {
			assert_in(e, cs->rows[i].cols[j].name, cs->rows[i].cols[j].name_len);
			assert_in(e, cs->rows[i].cols[j].value.p, cs->rows[i].cols[j].value.len);
		}
	}
}

static void test_round_trip(void **state)
{
	static const uint8_t prev[CS_HASH_LEN] = {1, 2, 3};
	struct cs_value pk1 = int_value(42), pk2 = int_value(-7), pk3[3];
	struct cs_col cols[13], note = {"note", 4, text_value("x")};
	struct cs_row rows[3] = {{"course", 6, &pk1, 1, 1, cols, 13, NULL},
				 {"course", 6, &pk2, 1, 4, NULL, 0, NULL},
				 {"report_item", 11, pk3, 3, 3, &note, 1, NULL}};
	struct cs_header h;
	struct cs_writer w;
	struct changeset cs;
	struct env e;
	struct key k;
	size_t i;

	(void)state;
	pk3[0] = text_value("org_\xc3\xa6");
	pk3[1] = int_value(2024);
	pk3[2] = blob_value(blob_bytes, 2);
	sample_values(cols);
	make_key(&k, 0x21);
	make_header(&h, &k, "region/helse-vest \xc3\xa6\xc3\xb8\xc3\xa5", 17, prev);
	h.hlc = UINT64_MAX;
	begin_ok(&w, &h);
	for (i = 0; i < 3; i++)
		add_ok(&w, &rows[i]);
	seal_ok(&w, &k, &e);
	decode_ok(&e, &cs);
	assert_memory_equal(cs.h.origin, h.origin, CS_KEY_LEN);
	assert_string_equal(cs.h.scope, h.scope);
	assert_true(cs.h.seq == 17 && cs.h.hlc == UINT64_MAX);
	assert_memory_equal(cs.h.prev, prev, CS_HASH_LEN);
	assert_int_equal(cs.nrows, 3);
	for (i = 0; i < 3; i++)
		assert_same_row(&rows[i], &cs.rows[i]);
	assert_true(signbit(cs.rows[0].cols[5].value.r));
	assert_zero_copy(&e, &cs);
	assert_int_equal(changeset_verify(&cs, NULL), 0);
	changeset_free(&cs);
	assert_null(cs.arena);
	free(e.p);
}

/* A change set with no rows is valid and decodes to none. */
static void test_empty_change_set(void **state)
{
	struct cs_header h;
	struct cs_writer w;
	struct changeset cs;
	struct env e;
	struct key k;

	(void)state;
	make_key(&k, 0x22);
	make_header(&h, &k, "s", 1, NULL);
	begin_ok(&w, &h);
	seal_ok(&w, &k, &e);
	decode_ok(&e, &cs);
	assert_int_equal(cs.nrows, 0);
	assert_int_equal(changeset_verify(&cs, NULL), 0);
	changeset_free(&cs);
	free(e.p);
}

/* ---- Hash, signature and exact bytes ---- */

static void test_hash_and_signature(void **state)
{
	uint8_t hash[CS_HASH_LEN], sig[CS_SIG_LEN], signed_msg[19 + CS_HASH_LEN];
	struct changeset cs;
	struct env e;
	struct key k;
	size_t at;

	(void)state;
	make_key(&k, 0x05);
	one_row(&e, &k, "net", 1, NULL, "Mestring");
	decode_ok(&e, &cs);
	/* [bin body, bin 64 sig]: 92, a bin 8 header here, the body, c4 40, sig */
	assert_true(cs.body_len < 256);
	assert_int_equal(e.p[0], 0x92);
	assert_int_equal(e.p[1], 0xc4);
	assert_int_equal(e.p[2], cs.body_len);
	assert_ptr_equal(cs.body, e.p + 3);
	at = 3 + cs.body_len;
	assert_int_equal(e.len, at + 2 + CS_SIG_LEN);
	assert_int_equal(e.p[at], 0xc4);
	assert_int_equal(e.p[at + 1], CS_SIG_LEN);
	/* Format 3 signs "lmsync change set 3" and BLAKE2b-256 of the body. */
	assert_int_equal(cs.h.format, 3);
	assert_int_equal(cs.body[1], 0x03);
	memcpy(signed_msg, "lmsync change set 3", 19);
	crypto_generichash(signed_msg + 19, CS_HASH_LEN, cs.body, cs.body_len, NULL, 0);
	assert_memory_equal(signed_msg + 19, cs.digest, CS_HASH_LEN);
	crypto_sign_detached(sig, NULL, signed_msg, sizeof(signed_msg), k.sk); /* deterministic */
	{
		/* The hash covers the body, then the signature. */
		crypto_generichash_blake2b_state hs;

		crypto_generichash_blake2b_init(&hs, NULL, 0, sizeof(hash));
		crypto_generichash_blake2b_update(&hs, cs.body, cs.body_len);
		crypto_generichash_blake2b_update(&hs, sig, sizeof(sig));
		crypto_generichash_blake2b_final(&hs, hash, sizeof(hash));
	}
	assert_memory_equal(hash, cs.hash, CS_HASH_LEN);
	assert_memory_equal(hash, e.hash, CS_HASH_LEN);
	assert_memory_equal(sig, cs.sig, CS_SIG_LEN);
	assert_memory_equal(sig, e.p + at + 2, CS_SIG_LEN);
	assert_int_equal(crypto_sign_verify_detached(cs.sig, signed_msg, sizeof(signed_msg), k.pk),
			 0);
	/* Not a signature of the body itself, as formats 1 and 2 make. */
	assert_int_not_equal(crypto_sign_verify_detached(cs.sig, cs.body, cs.body_len, k.pk), 0);
	assert_int_equal(changeset_verify(&cs, NULL), 0);
	changeset_free(&cs);
	free(e.p);
}

/* The first example of docs/PROTOCOL.md, "Change sets": key from the seed
 * of 32 bytes 01, scope "helse-vest", seq 1, hlc 1735689600000 ms + counter
 * 3, one row course [7], cl 1, {"title": "Mestring", "seats": 12}, in
 * format 1 (an insert reads the same in format 2 but for the format byte). */
static const uint8_t doc_example[199] = {
    0x92, 0xc4, 0x82, 0x97, 0x01, 0xc4, 0x20, 0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95, 0xfd,
    0x52, 0xdb, 0x2d, 0x3c, 0xba, 0x5d, 0x72, 0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94, 0x12, 0x1b, 0xf3,
    0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c, 0xaa, 0x68, 0x65, 0x6c, 0x73, 0x65, 0x2d, 0x76, 0x65,
    0x73, 0x74, 0x01, 0xcf, 0x01, 0x94, 0x1f, 0x29, 0x7c, 0x00, 0x00, 0x03, 0xc4, 0x20, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xdd, 0x00,
    0x00, 0x00, 0x01, 0x94, 0xa6, 0x63, 0x6f, 0x75, 0x72, 0x73, 0x65, 0x91, 0x07, 0x01, 0x82, 0xa5,
    0x74, 0x69, 0x74, 0x6c, 0x65, 0xa8, 0x4d, 0x65, 0x73, 0x74, 0x72, 0x69, 0x6e, 0x67, 0xa5, 0x73,
    0x65, 0x61, 0x74, 0x73, 0x0c, 0xc4, 0x40, 0x85, 0xc2, 0xd2, 0xe4, 0x74, 0x37, 0xa8, 0x60, 0x92,
    0xae, 0x75, 0x49, 0x81, 0x1d, 0x84, 0xc9, 0x06, 0xee, 0xc2, 0x76, 0xda, 0x81, 0x85, 0x45, 0xaa,
    0xc3, 0xef, 0xf8, 0xc9, 0x1b, 0x1f, 0xb9, 0xa7, 0x33, 0x6a, 0xb1, 0x50, 0xbe, 0xa7, 0x4c, 0xb7,
    0x4e, 0xe1, 0x2a, 0xa0, 0xf7, 0x37, 0xf3, 0x27, 0x3c, 0x3b, 0x6f, 0x78, 0xee, 0x39, 0x13, 0x42,
    0x99, 0x0b, 0x5c, 0xa1, 0x3d, 0x5d, 0x0d};

static void test_doc_example(void **state)
{
	static const uint8_t doc_hash[CS_HASH_LEN] = {
	    0xe3, 0xb2, 0x86, 0x05, 0xce, 0x44, 0xb4, 0x74, 0xc8, 0xd3, 0x5b,
	    0xde, 0x80, 0x5b, 0x26, 0x47, 0x5a, 0xd5, 0xc9, 0x3d, 0x6e, 0x7d,
	    0xbf, 0x4e, 0x2a, 0xd3, 0x13, 0xbe, 0x3f, 0x19, 0x2e, 0xda};
	struct cs_value pk = int_value(7);
	struct cs_col cols[2] = {{"title", 5, text_value("Mestring")}, {"seats", 5, int_value(12)}};
	struct cs_row row = {"course", 6, &pk, 1, 1, cols, 2, NULL};
	struct cs_header h;
	struct cs_writer w;
	struct env e;
	struct key k;

	(void)state;
	make_key(&k, 0x01);
	make_header(&h, &k, "helse-vest", 1, NULL);
	h.format = CS_FORMAT_V1;
	h.hlc = UINT64_C(1735689600000) << 16 | 3;
	begin_ok(&w, &h);
	add_ok(&w, &row);
	assert_int_equal(cs_writer_envelope_size(&w), sizeof(doc_example));
	seal_ok(&w, &k, &e);
	assert_int_equal(e.len, sizeof(doc_example));
	assert_memory_equal(e.p, doc_example, sizeof(doc_example));
	assert_memory_equal(e.hash, doc_hash, CS_HASH_LEN);
	free(e.p);
}

/* The second example: seq 2 of the same chain, in format 2, one minute
 * later, sets seats to 14; the value it replaced was the origin's own
 * (the first example's), so its base is that hlc alone, bin 8. */
static const uint8_t doc_example_2[194] = {
    0x92, 0xc4, 0x7d, 0x97, 0x02, 0xc4, 0x20, 0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95,
    0xfd, 0x52, 0xdb, 0x2d, 0x3c, 0xba, 0x5d, 0x72, 0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94, 0x12,
    0x1b, 0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c, 0xaa, 0x68, 0x65, 0x6c, 0x73, 0x65,
    0x2d, 0x76, 0x65, 0x73, 0x74, 0x02, 0xcf, 0x01, 0x94, 0x1f, 0x2a, 0x66, 0x60, 0x00, 0x00,
    0xc4, 0x20, 0xe3, 0xb2, 0x86, 0x05, 0xce, 0x44, 0xb4, 0x74, 0xc8, 0xd3, 0x5b, 0xde, 0x80,
    0x5b, 0x26, 0x47, 0x5a, 0xd5, 0xc9, 0x3d, 0x6e, 0x7d, 0xbf, 0x4e, 0x2a, 0xd3, 0x13, 0xbe,
    0x3f, 0x19, 0x2e, 0xda, 0xdd, 0x00, 0x00, 0x00, 0x01, 0x95, 0xa6, 0x63, 0x6f, 0x75, 0x72,
    0x73, 0x65, 0x91, 0x07, 0x01, 0x81, 0xa5, 0x73, 0x65, 0x61, 0x74, 0x73, 0x0e, 0xc4, 0x08,
    0x01, 0x94, 0x1f, 0x29, 0x7c, 0x00, 0x00, 0x03, 0xc4, 0x40, 0xad, 0x45, 0x54, 0x44, 0x12,
    0xa6, 0x6f, 0x85, 0x16, 0x46, 0xfb, 0x1a, 0x0c, 0x4e, 0x90, 0x91, 0xba, 0x6e, 0xce, 0x97,
    0xc0, 0x65, 0xb2, 0x30, 0x35, 0xfa, 0xd4, 0x8c, 0x8d, 0xdf, 0xb0, 0x64, 0x30, 0x19, 0xd9,
    0x15, 0xca, 0x46, 0x9c, 0xf3, 0x5c, 0x27, 0x3a, 0x30, 0x54, 0x81, 0x02, 0x7b, 0xd5, 0x30,
    0x35, 0xbb, 0x53, 0x2a, 0x69, 0x82, 0x73, 0xe8, 0x66, 0xea, 0x00, 0x26, 0xed, 0x08};

/* The same change set in format 3: only the format byte, the signature
 * (over the digest) and the hash differ. */
static const uint8_t doc_example_3[194] = {
    0x92, 0xc4, 0x7d, 0x97, 0x03, 0xc4, 0x20, 0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95,
    0xfd, 0x52, 0xdb, 0x2d, 0x3c, 0xba, 0x5d, 0x72, 0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94, 0x12,
    0x1b, 0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c, 0xaa, 0x68, 0x65, 0x6c, 0x73, 0x65,
    0x2d, 0x76, 0x65, 0x73, 0x74, 0x02, 0xcf, 0x01, 0x94, 0x1f, 0x2a, 0x66, 0x60, 0x00, 0x00,
    0xc4, 0x20, 0xe3, 0xb2, 0x86, 0x05, 0xce, 0x44, 0xb4, 0x74, 0xc8, 0xd3, 0x5b, 0xde, 0x80,
    0x5b, 0x26, 0x47, 0x5a, 0xd5, 0xc9, 0x3d, 0x6e, 0x7d, 0xbf, 0x4e, 0x2a, 0xd3, 0x13, 0xbe,
    0x3f, 0x19, 0x2e, 0xda, 0xdd, 0x00, 0x00, 0x00, 0x01, 0x95, 0xa6, 0x63, 0x6f, 0x75, 0x72,
    0x73, 0x65, 0x91, 0x07, 0x01, 0x81, 0xa5, 0x73, 0x65, 0x61, 0x74, 0x73, 0x0e, 0xc4, 0x08,
    0x01, 0x94, 0x1f, 0x29, 0x7c, 0x00, 0x00, 0x03, 0xc4, 0x40, 0x3c, 0xb8, 0xe3, 0xde, 0x83,
    0x40, 0xf0, 0xbc, 0x67, 0x7b, 0x40, 0x3a, 0x5d, 0xe4, 0xc5, 0x40, 0x4d, 0xdf, 0x76, 0xcb,
    0x5f, 0xe8, 0xe2, 0x24, 0xaa, 0xea, 0x0f, 0x3d, 0xf4, 0x67, 0xd2, 0xe1, 0xb8, 0x6a, 0xaa,
    0x70, 0x7b, 0x32, 0x02, 0xf4, 0x1b, 0x51, 0xc4, 0xa9, 0x8a, 0x14, 0x8b, 0x5a, 0xf7, 0x48,
    0xb2, 0x7b, 0x23, 0xa4, 0xcc, 0xa3, 0x0f, 0x39, 0x3d, 0x39, 0xb2, 0xbc, 0xc5, 0x06};

/* The second example sealed in format, which must give the bytes want
 * (194) and the hash want_hash, and decode with its base. */
static void check_doc_example_2(uint64_t format, const uint8_t *want, const uint8_t *want_hash)
{
	static const uint8_t doc_hash[CS_HASH_LEN] = {
	    0xe3, 0xb2, 0x86, 0x05, 0xce, 0x44, 0xb4, 0x74, 0xc8, 0xd3, 0x5b,
	    0xde, 0x80, 0x5b, 0x26, 0x47, 0x5a, 0xd5, 0xc9, 0x3d, 0x6e, 0x7d,
	    0xbf, 0x4e, 0x2a, 0xd3, 0x13, 0xbe, 0x3f, 0x19, 0x2e, 0xda};
	struct cs_value pk = int_value(7);
	struct cs_col col = {"seats", 5, int_value(14)};
	struct cs_base base;
	struct cs_row row = {"course", 6, &pk, 1, 1, &col, 1, &base};
	struct cs_header h;
	struct cs_writer w;
	struct changeset cs;
	struct env e;
	struct key k;

	make_key(&k, 0x01);
	make_header(&h, &k, "helse-vest", 2, doc_hash);
	h.format = format;
	h.hlc = UINT64_C(1735689660000) << 16;
	base.held = 1;
	base.hlc = UINT64_C(1735689600000) << 16 | 3;
	memcpy(base.origin, k.pk, CS_KEY_LEN);
	begin_ok(&w, &h);
	add_ok(&w, &row);
	seal_ok(&w, &k, &e);
	assert_int_equal(e.len, 194);
	assert_memory_equal(e.p, want, 194);
	assert_memory_equal(e.hash, want_hash, CS_HASH_LEN);
	decode_ok(&e, &cs);
	assert_true(cs.h.format == (format == 0 ? CS_FORMAT : format));
	assert_non_null(cs.rows[0].bases);
	assert_true(cs.rows[0].bases[0].held && cs.rows[0].bases[0].hlc == base.hlc);
	assert_memory_equal(cs.rows[0].bases[0].origin, k.pk, CS_KEY_LEN);
	assert_int_equal(changeset_verify(&cs, NULL), 0);
	changeset_free(&cs);
	free(e.p);
}

static void test_doc_example_bases(void **state)
{
	static const uint8_t doc_hash_2[CS_HASH_LEN] = {
	    0xee, 0xcd, 0x4d, 0x64, 0x31, 0xdf, 0x6c, 0x93, 0x3d, 0x19, 0xca,
	    0xab, 0x76, 0xe8, 0x3d, 0x4f, 0x60, 0x2e, 0x94, 0xc4, 0xa0, 0x3a,
	    0x72, 0x59, 0x49, 0x0f, 0x6a, 0x6c, 0xd5, 0x99, 0xad, 0x1d};

	(void)state;
	check_doc_example_2(CS_FORMAT_V2, doc_example_2, doc_hash_2);
}

static void test_doc_example_format_3(void **state)
{
	static const uint8_t doc_hash_3[CS_HASH_LEN] = {
	    0xa7, 0x16, 0x7b, 0x33, 0x33, 0xa8, 0xc0, 0x30, 0xf7, 0x62, 0xf2,
	    0x15, 0xd1, 0x9a, 0x74, 0x34, 0x7d, 0x05, 0xd5, 0x68, 0xe3, 0xfb,
	    0x59, 0xa5, 0x2e, 0x42, 0xdd, 0x8b, 0xe9, 0x2b, 0x12, 0xb3};

	(void)state;
	check_doc_example_2(0, doc_example_3, doc_hash_3);
}

/* ---- Bases ---- */

static struct cs_base base_of(uint64_t hlc, const uint8_t *origin)
{
	struct cs_base b = {1, hlc, {0}};

	memcpy(b.origin, origin, CS_KEY_LEN);
	return b;
}

/* Every column of a and b has the same base: NULL stands for none held. */
static void assert_same_bases(const struct cs_row *a, const struct cs_row *b)
{
	static const struct cs_base none;
	size_t i;

	for (i = 0; i < a->ncols; i++) {
		const struct cs_base *x = a->bases ? &a->bases[i] : &none;
		const struct cs_base *y = b->bases ? &b->bases[i] : &none;

		assert_int_equal(x->held != 0, y->held != 0);
		if (x->held) {
			assert_true(x->hlc == y->hlc);
			assert_memory_equal(x->origin, y->origin, CS_KEY_LEN);
		}
	}
}

/* The body of a change set of k holding just row ends with tail; the row
 * decodes with its bases. */
static void expect_row_tail(const struct key *k, const struct cs_row *row, const void *tail,
			    size_t n)
{
	struct cs_header h;
	struct cs_writer w;
	struct changeset cs;
	struct env e;

	make_header(&h, k, "net", 1, NULL);
	begin_ok(&w, &h);
	add_ok(&w, row);
	seal_ok(&w, k, &e);
	decode_ok(&e, &cs);
	assert_true(cs.body_len >= n);
	assert_memory_equal(cs.body + cs.body_len - n, tail, n);
	assert_same_bases(row, &cs.rows[0]);
	changeset_free(&cs);
	free(e.p);
}

/* Bases round-trip in each of their forms, and each row is written in the
 * shortest: no bases (an insert), one clock for all columns (of the origin
 * itself: 8 bytes; of another: 40), or an entry per column with nil for
 * none and an index for a clock an earlier entry gave. */
static void test_bases_round_trip(void **state)
{
	const uint64_t t1 = UINT64_C(0x0102030405060708), t2 = UINT64_C(0x1112131415161718);
	struct cs_value pk = int_value(1);
	struct cs_col cols[4] = {{"a", 1, int_value(1)},
				 {"b", 1, int_value(2)},
				 {"c", 1, int_value(3)},
				 {"d", 1, int_value(4)}};
	struct cs_base b[4];
	struct cs_row row = {"t", 1, &pk, 1, 3, cols, 4, b};
	struct key k, other;
	uint8_t tail[128];
	size_t n;

	(void)state;
	make_key(&k, 0x41);
	make_key(&other, 0x42);
	/* None held, said or not: the row has 4 elements and ends with cols. */
	memset(b, 0, sizeof(b));
	expect_row_tail(&k, &row,
			"\x94\xa1t\x91\x01\x03\x84\xa1"
			"a\x01\xa1"
			"b\x02\xa1"
			"c\x03\xa1"
			"d\x04",
			19);
	row.bases = NULL;
	expect_row_tail(&k, &row,
			"\xa1"
			"d\x04",
			3);
	row.bases = b;
	/* One base of the origin's own for every column: bin 8. */
	b[0] = b[1] = b[2] = b[3] = base_of(t1, k.pk);
	expect_row_tail(&k, &row,
			"\xa1"
			"d\x04\xc4\x08\x01\x02\x03\x04\x05\x06\x07\x08",
			13);
	/* One of another origin: bin 40. */
	b[0] = b[1] = b[2] = b[3] = base_of(t2, other.pk);
	memcpy(tail, "\xc4\x28\x11\x12\x13\x14\x15\x16\x17\x18", 10);
	memcpy(tail + 10, other.pk, CS_KEY_LEN);
	expect_row_tail(&k, &row, tail, 10 + CS_KEY_LEN);
	/* Mixed: [own t1, nil, other t2, index 0]. */
	b[0] = base_of(t1, k.pk);
	memset(&b[1], 0, sizeof(b[1]));
	b[2] = base_of(t2, other.pk);
	b[3] = base_of(t1, k.pk);
	n = 0;
	memcpy(tail + n, "\x94\xc4\x08\x01\x02\x03\x04\x05\x06\x07\x08\xc0", 12);
	n += 12;
	memcpy(tail + n, "\xc4\x28\x11\x12\x13\x14\x15\x16\x17\x18", 10);
	n += 10;
	memcpy(tail + n, other.pk, CS_KEY_LEN);
	n += CS_KEY_LEN;
	tail[n++] = 0x00;
	expect_row_tail(&k, &row, tail, n);
	/* The same clock of another origin twice is written once. */
	b[3] = b[2];
	tail[n - 1] = 0x02;
	expect_row_tail(&k, &row, tail, n);
	/* A delete has no columns, so no bases whatever it is given. */
	row.cl = 4, row.cols = NULL, row.ncols = 0;
	expect_row_tail(&k, &row, "\x94\xa1t\x91\x01\x04\x80", 7);
}

/* Format 1, asked for, is written without bases and refuses a row that has
 * one; a format the writer does not know is refused. */
static void test_format_1_writer(void **state)
{
	struct cs_value pk = int_value(1);
	struct cs_col col = {"a", 1, int_value(1)};
	struct cs_base b = {0, 0, {0}};
	struct cs_row row = {"t", 1, &pk, 1, 1, &col, 1, &b};
	struct cs_header h;
	struct cs_writer w;
	struct changeset cs;
	struct env e;
	struct key k;
	lm_err err;

	(void)state;
	make_key(&k, 0x43);
	make_header(&h, &k, "net", 1, NULL);
	h.format = CS_FORMAT_V1;
	begin_ok(&w, &h);
	add_ok(&w, &row); /* a base not held says nothing format 1 lacks */
	b = base_of(5, k.pk);
	memset(&err, 0, sizeof(err));
	assert_int_equal(cs_writer_add_row(&w, &row, &err), -1);
	expect_msg(&err, "cannot add row 2");
	expect_msg(&err, "column 'a' has a base, which format 1 cannot carry");
	seal_ok(&w, &k, &e);
	decode_ok(&e, &cs);
	assert_true(cs.h.format == CS_FORMAT_V1);
	assert_int_equal(cs.nrows, 1);
	assert_null(cs.rows[0].bases);
	assert_int_equal(e.p[4], 0x01);
	changeset_free(&cs);
	free(e.p);
	h.format = 4;
	assert_int_equal(cs_writer_begin(&w, &h, &err), -1);
	expect_msg(&err, "format 4 is not one this site writes (3, or the older 2 and 1)");
	cs_writer_free(&w);
}

/* ---- Tampering ---- */

static void test_every_flipped_byte_fails(void **state)
{
	static const uint8_t masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
	struct cs_value pk[3] = {int_value(1), text_value("a"), blob_value("b", 1)};
	struct cs_col cols[2] = {{"x", 1, real_value(2.5)}, {"y", 1, text_value("\xc3\xa6")}};
	struct cs_row row = {"t", 1, pk, 3, 1, cols, 2, NULL};
	struct cs_header h;
	struct cs_writer w;
	struct changeset cs;
	size_t pos, m;
	struct env e;
	struct key k;
	lm_err err;

	(void)state;
	make_key(&k, 0x07);
	make_header(&h, &k, "net", 3, (const uint8_t *)"0123456789abcdef0123456789abcdef");
	begin_ok(&w, &h);
	add_ok(&w, &row);
	seal_ok(&w, &k, &e);
	for (pos = 0; pos < e.len; pos++) {
		for (m = 0; m < sizeof(masks); m++) {
			e.p[pos] ^= masks[m];
			if (changeset_decode(e.p, e.len, &cs, &err) == 0) {
				if (changeset_verify(&cs, &err) == 0)
					fail_msg("byte %zu ^ 0x%02x: still decodes and verifies",
						 pos, masks[m]);
				changeset_free(&cs);
			}
			e.p[pos] ^= masks[m];
		}
	}
	decode_ok(&e, &cs);
	assert_int_equal(changeset_verify(&cs, NULL), 0);
	changeset_free(&cs);
	free(e.p);
}

static void test_wrong_origin_fails(void **state)
{
	struct cs_header h;
	struct cs_writer w;
	struct changeset cs;
	struct key a, b;
	struct env e;
	uint8_t *p;
	size_t len;
	lm_err err;

	(void)state;
	make_key(&a, 0x0a);
	make_key(&b, 0x0b);
	/* The writer will not sign b's change set with a's key. */
	make_header(&h, &b, "net", 1, NULL);
	begin_ok(&w, &h);
	assert_int_equal(cs_writer_seal(&w, a.sk, &p, &len, e.hash, &err), -1);
	expect_msg(&err, "not the origin's");
	cs_writer_free(&w);
	/* A forger does: a's signature over a body naming b as origin. */
	one_row(&e, &b, "net", 1, NULL, "forged");
	decode_ok(&e, &cs);
	crypto_sign_detached(e.p + e.len - CS_SIG_LEN, NULL, cs.body, cs.body_len, a.sk);
	changeset_free(&cs);
	decode_ok(&e, &cs);
	assert_int_equal(changeset_verify(&cs, &err), -1);
	expect_msg(&err, "signature of change set seq 1 of site");
	expect_msg(&err, "is not valid");
	changeset_free(&cs);
	free(e.p);
}

/* ---- Runs ---- */

static void decode_all(const struct env *e, size_t n, struct changeset *cs,
		       const struct changeset **v)
{
	size_t i;

	for (i = 0; i < n; i++) {
		decode_ok(&e[i], &cs[i]);
		v[i] = &cs[i];
	}
}

static void free_all(struct changeset *cs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		changeset_free(&cs[i]);
}

static void expect_run_error(const struct changeset *const *v, size_t n, const uint8_t *prev,
			     const char *want1, const char *want2)
{
	lm_err err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(changeset_verify_run(v, n, prev, &err), -1);
	expect_msg(&err, want1);
	if (want2 != NULL)
		expect_msg(&err, want2);
}

static void test_run_verifies(void **state)
{
	static const uint8_t zeros[CS_HASH_LEN];
	const struct changeset *v[RUN_LEN];
	struct changeset cs[RUN_LEN];
	struct env e[RUN_LEN];
	struct key k;
	lm_err err;

	(void)state;
	make_key(&k, 0x11);
	make_chain(e, RUN_LEN, &k, "net", 1, NULL);
	decode_all(e, RUN_LEN, cs, v);
	if (changeset_verify_run(v, RUN_LEN, zeros, &err) != 0)
		fail_msg("run failed: %s", err.msg);
	/* A tail of the run, after the hash of the member before it. */
	assert_int_equal(changeset_verify_run(v + 2, 3, cs[1].hash, NULL), 0);
	assert_int_equal(changeset_verify_run(v + 4, 1, cs[3].hash, NULL), 0);
	expect_run_error(v + 2, 3, cs[0].hash, "first change set (seq 3)", "hash held for seq 2");
	expect_run_error(v, 0, zeros, "empty run", NULL);
	free_all(cs, RUN_LEN);
	free_envs(e, RUN_LEN);
}

/* A chain may change format: seq 1 and 2 in format 2 (signed over the
 * body), seq 3 in format 3 (over the digest). Each verifies alone and the
 * run verifies as one, whichever format its last member has. */
static void test_run_across_formats(void **state)
{
	static const uint8_t zeros[CS_HASH_LEN];
	const struct changeset *v[3];
	struct changeset cs[3];
	struct cs_value pk = int_value(1);
	struct cs_col col = {"title", 5, text_value("Mestring")};
	struct cs_row row = {"course", 6, &pk, 1, 1, &col, 1, NULL};
	struct cs_header h;
	struct cs_writer w;
	struct env e[3];
	struct key k;
	size_t i;

	(void)state;
	make_key(&k, 0x13);
	for (i = 0; i < 3; i++) {
		make_header(&h, &k, "net", i + 1, i > 0 ? e[i - 1].hash : NULL);
		h.format = i < 2 ? CS_FORMAT_V2 : CS_FORMAT;
		begin_ok(&w, &h);
		add_ok(&w, &row);
		seal_ok(&w, &k, &e[i]);
	}
	decode_all(e, 3, cs, v);
	for (i = 0; i < 3; i++) {
		assert_int_equal(cs[i].h.format, i < 2 ? 2 : 3);
		assert_int_equal(changeset_verify(&cs[i], NULL), 0);
	}
	assert_int_equal(changeset_verify_run(v, 3, zeros, NULL), 0);
	assert_int_equal(changeset_verify_run(v, 2, zeros, NULL), 0);
	/* A signature over the body itself, as formats 1 and 2 make, does
	 * not pass for a format 3 change set. */
	crypto_sign_detached(cs[2].sig, NULL, cs[2].body, cs[2].body_len, k.sk);
	assert_int_equal(changeset_verify(&cs[2], NULL), -1);
	free_all(cs, 3);
	free_envs(e, 3);
}

/* Only the last signature is verified, but the hash of each member covers
 * its signature: a middle member with a swapped signature breaks the link
 * to the next one, so a relay cannot slip one past run verification. */
static void test_run_binds_middle_signatures(void **state)
{
	static const uint8_t zeros[CS_HASH_LEN];
	const struct changeset *v[RUN_LEN];
	struct changeset cs[RUN_LEN];
	struct env e[RUN_LEN];
	struct key k;

	(void)state;
	make_key(&k, 0x12);
	make_chain(e, RUN_LEN, &k, "net", 1, NULL);
	e[2].p[e[2].len - 1] ^= 0x01;
	decode_all(e, RUN_LEN, cs, v);
	assert_int_equal(changeset_verify(&cs[2], NULL), -1);
	assert_int_equal(changeset_verify_run(v, RUN_LEN, zeros, NULL), -1);
	assert_int_equal(changeset_verify_run(v, 2, zeros, NULL), 0);
	expect_run_error(v, 3, zeros, "signature of change set seq 3", "member 3 of 3, the last");
	free_all(cs, RUN_LEN);
	free_envs(e, RUN_LEN);
}

static void test_run_broken_links(void **state)
{
	static const uint8_t zeros[CS_HASH_LEN];
	const struct changeset *v[RUN_LEN + 1];
	struct changeset cs[RUN_LEN + 1];
	struct env e[RUN_LEN + 1];
	const struct changeset *w[RUN_LEN];
	struct key k;

	(void)state;
	make_key(&k, 0x13);
	make_chain(e, RUN_LEN, &k, "net", 1, NULL);
	one_row(&e[RUN_LEN], &k, "net", 3, e[0].hash, "fork"); /* seq 3 after seq 1's hash */
	decode_all(e, RUN_LEN + 1, cs, v);
	/* A changed prev: seq 3 that does not link to seq 2. */
	memcpy(w, v, sizeof(w));
	w[2] = v[RUN_LEN];
	expect_run_error(w, RUN_LEN, zeros, "link from seq 2 to seq 3 (run member 3 of 5)",
			 "not the hash of seq 2");
	/* A missing middle member. */
	w[0] = v[0], w[1] = v[1], w[2] = v[3], w[3] = v[4];
	expect_run_error(w, 4, zeros, "run member 3 of 4 has seq 4 after seq 2", "missing");
	/* A reordered pair. */
	w[0] = v[0], w[1] = v[2], w[2] = v[1], w[3] = v[3], w[4] = v[4];
	expect_run_error(w, RUN_LEN, zeros, "run member 2 of 5 has seq 3 after seq 1",
			 "out of order");
	/* A wrong prev_hash for the first. */
	expect_run_error(v, RUN_LEN, cs[0].hash, "first change set (seq 1)", "hash held for seq 0");
	/* Not a decoded change set. */
	w[0] = v[0], w[1] = NULL;
	expect_run_error(w, 2, zeros, "run member 2 of 2 is not a decoded change set", NULL);
	free_all(cs, RUN_LEN + 1);
	free_envs(e, RUN_LEN + 1);
}

static void test_run_foreign_members(void **state)
{
	static const uint8_t zeros[CS_HASH_LEN];
	const struct changeset *v[RUN_LEN], *w[RUN_LEN];
	struct changeset cs[RUN_LEN], other[2];
	struct env e[RUN_LEN], o[2];
	struct key a, b;

	(void)state;
	make_key(&a, 0x14);
	make_key(&b, 0x15);
	make_chain(e, RUN_LEN, &a, "net", 1, NULL);
	one_row(&o[0], &b, "net", 3, e[1].hash, "other origin");
	one_row(&o[1], &a, "other-net", 3, e[1].hash, "other scope");
	decode_all(e, RUN_LEN, cs, v);
	decode_ok(&o[0], &other[0]);
	decode_ok(&o[1], &other[1]);
	memcpy(w, v, sizeof(w));
	w[2] = &other[0];
	expect_run_error(w, RUN_LEN, zeros, "run member 3 of 5 (seq 3) is from site",
			 "not the run's origin");
	w[2] = &other[1];
	expect_run_error(w, RUN_LEN, zeros, "run member 3 of 5 (seq 3) is in scope 'other-net'",
			 "not the run's scope 'net'");
	changeset_free(&other[0]);
	changeset_free(&other[1]);
	free_envs(o, 2);
	free_all(cs, RUN_LEN);
	free_envs(e, RUN_LEN);
}

static void test_run_bad_last_signature(void **state)
{
	static const uint8_t zeros[CS_HASH_LEN];
	const struct changeset *v[RUN_LEN];
	struct changeset cs[RUN_LEN];
	struct env e[RUN_LEN];
	struct key k;

	(void)state;
	make_key(&k, 0x16);
	make_chain(e, RUN_LEN, &k, "net", 1, NULL);
	e[RUN_LEN - 1].p[e[RUN_LEN - 1].len - 10] ^= 0x40;
	decode_all(e, RUN_LEN, cs, v);
	expect_run_error(v, RUN_LEN, zeros, "run member 5 of 5, the last",
			 "signature of change set seq 5");
	free_all(cs, RUN_LEN);
	free_envs(e, RUN_LEN);
}

/* ---- The envelope limit ---- */

static uint8_t big[CS_MAX_ENVELOPE + 1];

static struct cs_row blob_row(struct cs_value *pk, struct cs_col *col, int64_t id, size_t len)
{
	struct cs_row r = {"attachment", 10, pk, 1, 1, col, 1, NULL};

	*pk = int_value(id);
	col->name = "data";
	col->name_len = 4;
	col->value = blob_value(big, len);
	return r;
}

static void test_envelope_limit(void **state)
{
	struct cs_value pk;
	struct cs_col col;
	struct cs_row r;
	struct cs_header h;
	struct cs_writer w;
	struct changeset cs;
	size_t before, want, nrows, len;
	struct env e;
	struct key k;
	lm_err err;

	(void)state;
	make_key(&k, 0x17);
	make_header(&h, &k, "net", 1, NULL);
	begin_ok(&w, &h);
	for (nrows = 0;; nrows++) {
		r = blob_row(&pk, &col, (int64_t)nrows, 1000);
		before = cs_writer_envelope_size(&w);
		want = cs_writer_size_with(&w, &r);
		if (cs_writer_add_row(&w, &r, &err) != 0)
			break;
		assert_int_equal(cs_writer_envelope_size(&w), want);
	}
	expect_msg(&err, "the change set is full");
	expect_msg(&err, "seal it");
	assert_true(want > CS_MAX_ENVELOPE);
	assert_int_equal(w.nrows, nrows);
	assert_int_equal(cs_writer_envelope_size(&w), before);
	/* The largest row that still fits goes in, exactly to the limit. */
	for (len = 0;; len++) {
		r = blob_row(&pk, &col, -1, len + 1);
		if (cs_writer_size_with(&w, &r) > CS_MAX_ENVELOPE)
			break;
	}
	assert_int_equal(cs_writer_size_with(&w, &r), CS_MAX_ENVELOPE + 1);
	assert_int_equal(cs_writer_add_row(&w, &r, &err), -1);
	expect_msg(&err, "would take 60001 bytes, over the limit of 60000");
	r = blob_row(&pk, &col, -1, len);
	assert_int_equal(cs_writer_size_with(&w, &r), CS_MAX_ENVELOPE);
	add_ok(&w, &r);
	assert_int_equal(cs_writer_envelope_size(&w), CS_MAX_ENVELOPE);
	r = blob_row(&pk, &col, -2, 0);
	r.cols = NULL, r.ncols = 0, r.cl = 2; /* even a small delete is refused now */
	assert_int_equal(cs_writer_add_row(&w, &r, &err), -1);
	expect_msg(&err, "the change set is full");
	seal_ok(&w, &k, &e);
	assert_int_equal(e.len, CS_MAX_ENVELOPE);
	decode_ok(&e, &cs);
	assert_int_equal(cs.nrows, nrows + 1);
	assert_int_equal(changeset_verify(&cs, NULL), 0);
	changeset_free(&cs);
	free(e.p);
}

/* A row too large for any change set says so. */
static void test_row_too_large(void **state)
{
	struct cs_value pk;
	struct cs_col col;
	struct cs_row r;
	struct cs_header h;
	struct cs_writer w;
	struct key k;
	lm_err err;

	(void)state;
	make_key(&k, 0x17);
	make_header(&h, &k, "net", 1, NULL);
	begin_ok(&w, &h);
	r = blob_row(&pk, &col, 1, CS_MAX_ENVELOPE);
	assert_int_equal(cs_writer_add_row(&w, &r, &err), -1);
	expect_msg(&err, "too many for any change set");
	assert_int_equal(w.nrows, 0);
	cs_writer_free(&w);
}

/* One byte over the limit is refused by the decoder without looking. */
static void test_decode_limit(void **state)
{
	(void)state;
	memset(big, 0, sizeof(big));
	expect_decode_error(big, CS_MAX_ENVELOPE + 1, "over the limit of 60000");
	expect_decode_error(big, 0, "empty");
}

/* ---- What the writer refuses ---- */

static void expect_begin_error(const char *scope, uint64_t seq, int prev_fill, const char *want)
{
	struct cs_header h;
	struct cs_writer w;
	struct key k;
	lm_err err;

	make_key(&k, 0x18);
	make_header(&h, &k, "x", seq, NULL);
	memset(h.scope, 0, sizeof(h.scope));
	memcpy(h.scope, scope, strlen(scope) < sizeof(h.scope) ? strlen(scope) : sizeof(h.scope));
	memset(h.prev, prev_fill, sizeof(h.prev));
	memset(&err, 0, sizeof(err));
	assert_int_equal(cs_writer_begin(&w, &h, &err), -1);
	expect_msg(&err, "cannot begin a change set");
	expect_msg(&err, want);
	assert_int_equal(cs_writer_add_row(&w, NULL, &err), -1);
	expect_msg(&err, "failed earlier");
	cs_writer_free(&w);
}

static void test_bad_scopes(void **state)
{
	char s[200];
	struct cs_header h;
	struct cs_writer w;
	struct key k;
	size_t i;

	(void)state;
	expect_begin_error("", 1, 0, "the scope has 0 bytes");
	memset(s, 'a', sizeof(s));
	s[CS_SCOPE_MAX + 1] = '\0';
	expect_begin_error(s, 1, 0, "the scope has 129 bytes");
	expect_begin_error("a\nb", 1, 0, "control character U+000A at byte 1");
	expect_begin_error("a\x7f", 1, 0, "control character U+007F");
	expect_begin_error("a\xc2\x85", 1, 0, "control character U+0085");
	expect_begin_error("\xff", 1, 0, "not UTF-8: byte 0 (0xff)");
	expect_begin_error("ab\xc0\xaf", 1, 0, "not UTF-8: byte 2");	/* overlong "/" */
	expect_begin_error("a\xe0\x80\xaf", 1, 0, "not UTF-8: byte 1"); /* overlong, 3 bytes */
	expect_begin_error("\xf0\x80\x80\xaf", 1, 0, "not UTF-8");	/* overlong, 4 bytes */
	expect_begin_error("\xed\xa0\x80", 1, 0, "not UTF-8");		/* a surrogate */
	expect_begin_error("\xf4\x90\x80\x80", 1, 0, "not UTF-8");	/* past U+10FFFF */
	expect_begin_error("\xc3", 1, 0, "not UTF-8");			/* cut */
	expect_begin_error("ok", 0, 0, "seq is 0");
	expect_begin_error("ok", 1, 0x01, "prev is not 32 zero bytes");
	/* The longest scope: 64 two-byte characters. */
	make_key(&k, 0x18);
	make_header(&h, &k, "x", 2, NULL);
	for (i = 0; i < CS_SCOPE_MAX; i += 2)
		memcpy(h.scope + i, "\xc3\xa5", 2);
	h.scope[CS_SCOPE_MAX] = '\0';
	begin_ok(&w, &h);
	cs_writer_free(&w);
}

static void expect_row_ok(const struct cs_row *r)
{
	struct cs_header h;
	struct cs_writer w;
	struct key k;
	lm_err err;

	make_key(&k, 0x19);
	make_header(&h, &k, "x", 1, NULL);
	begin_ok(&w, &h);
	memset(&err, 0, sizeof(err));
	if (cs_writer_add_row(&w, r, &err) != 0)
		fail_msg("the row was refused: %s", err.msg);
	cs_writer_free(&w);
}

static void expect_row_error(const struct cs_row *r, const char *want)
{
	struct cs_header h;
	struct cs_writer w;
	struct key k;
	lm_err err;
	size_t size;

	make_key(&k, 0x19);
	make_header(&h, &k, "x", 1, NULL);
	begin_ok(&w, &h);
	size = cs_writer_envelope_size(&w);
	memset(&err, 0, sizeof(err));
	assert_int_equal(cs_writer_add_row(&w, r, &err), -1);
	expect_msg(&err, "cannot add row 1");
	expect_msg(&err, want);
	assert_int_equal(cs_writer_envelope_size(&w), size);
	assert_int_equal(w.nrows, 0);
	cs_writer_free(&w);
}

static void test_bad_rows(void **state)
{
	char long_name[CS_NAME_MAX + 2];
	struct cs_value pk[CS_PK_MAX + 1], nil = nil_value();
	struct cs_col cols[70], c1 = {"ok", 2, int_value(1)};
	struct cs_row r = {"t", 1, pk, 1, 1, NULL, 0, NULL};
	char names[70][4];
	size_t i;

	(void)state;
	for (i = 0; i <= CS_PK_MAX; i++)
		pk[i] = int_value((int64_t)i);
	memset(long_name, 'n', sizeof(long_name));
	r.table = "", r.table_len = 0;
	expect_row_error(&r, "the table name is empty");
	r.table = "bad-name", r.table_len = 8;
	expect_row_error(&r, "the table name 'bad-name' has the byte 0x2d at 3");
	r.table = "a b", r.table_len = 3;
	expect_row_error(&r, "byte 0x20 at 1");
	r.table = "\xc3\xa6", r.table_len = 2;
	expect_row_error(&r, "byte 0xc3 at 0");
	r.table = long_name, r.table_len = CS_NAME_MAX + 1;
	expect_row_error(&r, "has 65 bytes, over the maximum of 64");
	r.table = "t", r.table_len = 1;
	r.npk = 0;
	expect_row_error(&r, "the pk has 0 values");
	r.npk = CS_PK_MAX + 1;
	expect_row_error(&r, "the pk has 9 values");
	r.npk = 1, r.pk = &nil;
	expect_row_error(&r, "pk value 1 is nil");
	r.pk = pk, r.cl = 0;
	expect_row_error(&r, "cl is 0");
	r.cl = 2, r.cols = &c1, r.ncols = 1;
	expect_row_error(&r, "a delete (even cl 2) has no columns");
	r.cl = 3;
	c1.name = "x.y", c1.name_len = 3;
	expect_row_error(&r, "column 1: the column name 'x.y'");
	c1.name = long_name, c1.name_len = CS_NAME_MAX + 1;
	expect_row_error(&r, "over the maximum of 64");
	c1.name = long_name, c1.name_len = CS_NAME_MAX;
	c1.value = real_value(NAN);
	expect_row_error(&r, "NaN");
	c1.value = text_value("x"), c1.value.p = NULL;
	expect_row_error(&r, "no pointer");
	c1.value = int_value(1), c1.value.type = (enum cs_type)9;
	expect_row_error(&r, "unknown type 9");
	for (i = 0; i < 20; i++) {
		cols[i].name = long_name;
		cols[i].name_len = i + 1;
		cols[i].value = int_value(1);
	}
	r.cols = cols, r.ncols = 3, cols[2].name_len = 1;
	expect_row_error(&r, "the column 'n' appears twice");
	r.ncols = 20, cols[2].name_len = 3, cols[19].name_len = 7;
	expect_row_error(&r, "the column 'nnnnnnn' appears twice");
	/* 64 columns, the most a table has, are checked pairwise; more are
	 * sorted. A duplicate is found first, last and in between. */
	for (i = 0; i < 70; i++) {
		snprintf(names[i], sizeof(names[i]), "c%02zu", i);
		cols[i].name = names[i];
		cols[i].name_len = 3;
		cols[i].value = int_value(1);
	}
	for (r.ncols = 64; r.ncols <= 70; r.ncols += 6) {
		expect_row_ok(&r);
		cols[r.ncols - 1].name = names[0];
		expect_row_error(&r, "the column 'c00' appears twice");
		cols[r.ncols - 1].name = names[r.ncols - 2];
		expect_row_error(&r, "appears twice");
		cols[r.ncols - 1].name = names[r.ncols - 1];
		cols[1].name = names[0];
		expect_row_error(&r, "the column 'c00' appears twice");
		cols[1].name = names[1];
		cols[40].name = names[33];
		expect_row_error(&r, "the column 'c33' appears twice");
		cols[40].name = names[40];
	}
}

/* A writer restarted after sealing keeps its buffer and seals in place; the
 * envelopes must be byte for byte those of a fresh writer and cs_writer_seal,
 * for bodies under 256 bytes (bin 8 head) and over (bin 16 head), and after
 * a larger change set left stale bytes in the buffer. */
static void test_writer_restart_in_place(void **state)
{
	static const size_t rows[] = {300, 1, 40, 0, 2};
	uint8_t prev[CS_HASH_LEN] = {0}, hash[CS_HASH_LEN];
	struct cs_writer reused, fresh;
	const uint8_t *view;
	struct cs_header h;
	struct changeset cs;
	struct env e;
	struct key k;
	size_t i, j, len;
	lm_err err;

	(void)state;
	make_key(&k, 0x31);
	memset(&reused, 0, sizeof(reused));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		make_header(&h, &k, "skole", i + 1, i == 0 ? NULL : prev);
		begin_ok(&fresh, &h);
		if (cs_writer_restart(&reused, &h, &err) != 0)
			fail_msg("restart failed: %s", err.msg);
		assert_int_equal(reused.nrows, 0);
		for (j = 0; j < rows[i]; j++) {
			char text[32];
			struct cs_value pk = int_value((int64_t)j);
			struct cs_col col;
			struct cs_row row = {"course", 6, &pk, 1, 1, &col, 1, NULL};

			/* The text first: text_value takes its length. */
			snprintf(text, sizeof(text), "kurs %zu av %zu", j, rows[i]);
			col = (struct cs_col){"title", 5, text_value(text)};
			add_ok(&fresh, &row);
			add_ok(&reused, &row);
		}
		assert_int_equal(cs_writer_envelope_size(&reused), cs_writer_envelope_size(&fresh));
		if (cs_writer_seal_inplace(&reused, k.sk, &view, &len, hash, &err) != 0)
			fail_msg("seal in place failed: %s", err.msg);
		seal_ok(&fresh, &k, &e);
		assert_int_equal(len, e.len);
		assert_memory_equal(view, e.p, len);
		assert_memory_equal(hash, e.hash, CS_HASH_LEN);
		decode_ok(&e, &cs);
		assert_int_equal(cs.nrows, rows[i]);
		assert_memory_equal(cs.hash, hash, CS_HASH_LEN);
		changeset_free(&cs);
		/* Sealed in place is sealed: no more rows, no second seal. */
		assert_int_equal(cs_writer_seal_inplace(&reused, k.sk, &view, &len, hash, &err),
				 -1);
		expect_msg(&err, "already sealed");
		memcpy(prev, e.hash, CS_HASH_LEN);
		free(e.p);
	}
	/* A refused header leaves the writer failed; cs_writer_free releases it. */
	make_header(&h, &k, "", 1, NULL);
	assert_int_equal(cs_writer_restart(&reused, &h, &err), -1);
	expect_msg(&err, "cannot begin");
	assert_int_equal(cs_writer_seal_inplace(&reused, k.sk, &view, &len, hash, &err), -1);
	expect_msg(&err, "failed earlier");
	cs_writer_free(&reused);
	/* The wrong key is refused in place too, and leaves w usable. */
	make_header(&h, &k, "skole", 1, NULL);
	if (cs_writer_restart(&reused, &h, &err) != 0)
		fail_msg("restart failed: %s", err.msg);
	{
		struct key other;

		make_key(&other, 0x32);
		assert_int_equal(cs_writer_seal_inplace(&reused, other.sk, &view, &len, hash, &err),
				 -1);
		expect_msg(&err, "not the origin's");
	}
	if (cs_writer_seal_inplace(&reused, k.sk, &view, &len, hash, &err) != 0)
		fail_msg("seal in place failed: %s", err.msg);
	cs_writer_free(&reused);
}

static void test_writer_states(void **state)
{
	struct cs_value pk = int_value(1);
	struct cs_row r = {"t", 1, &pk, 1, 1, NULL, 0, NULL};
	struct cs_header h;
	struct cs_writer w;
	struct env e;
	struct key k;
	lm_err err;

	(void)state;
	make_key(&k, 0x1a);
	make_header(&h, &k, "x", 1, NULL);
	begin_ok(&w, &h);
	add_ok(&w, &r);
	assert_int_equal(cs_writer_seal(&w, k.sk, &e.p, &e.len, e.hash, &err), 0);
	free(e.p);
	assert_int_equal(cs_writer_add_row(&w, &r, &err), -1);
	expect_msg(&err, "already sealed");
	assert_int_equal(cs_writer_seal(&w, k.sk, &e.p, &e.len, e.hash, &err), -1);
	expect_msg(&err, "already sealed");
	cs_writer_free(&w);
	cs_writer_free(&w); /* harmless twice */
}

/* ---- What the decoder refuses, and the other encodings it accepts ---- */

static void test_decode_header_errors(void **state)
{
	static const char rows[] = "\x91\x94\xa1t\x91\x01\x01\x80"; /* [["t", [1], 1, {}]] */
	struct body_spec s;
	msgpack_sbuffer env;
	struct changeset cs;

	(void)state;
	s = good_spec(ROWS(rows));
	spec_envelope(&s, &env); /* the good one decodes */
	assert_int_equal(changeset_decode((uint8_t *)env.data, env.size, &cs, NULL), 0);
	assert_int_equal(cs.h.seq, 2);
	assert_int_equal(cs.h.hlc, 99);
	changeset_free(&cs);
	msgpack_sbuffer_destroy(&env);
	s.items = 6;
	expect_spec_error(&s, "the body must be an array of 7");
	s.items = 8;
	expect_spec_error(&s, "got an array of 8");
	s = good_spec(ROWS(rows)), s.format = 4;
	expect_spec_error(&s, "format 4 is not known here: this site reads formats 1 to 3");
	s.format = 0;
	expect_spec_error(&s, "format 0 is not known here");
	s.format = -1;
	expect_spec_error(&s, "the format must be an integer");
	s = good_spec(ROWS(rows)), s.origin = 31;
	expect_spec_error(&s, "the origin must be a bin of 32 bytes, got a bin of 31 bytes");
	s = good_spec(ROWS(rows)), s.scope = NULL;
	expect_spec_error(&s, "the scope must be a str, got 5");
	s.scope = "";
	expect_spec_error(&s, "the scope has 0 bytes");
	s.scope = "a\tb";
	expect_spec_error(&s, "control character U+0009");
	s.scope = "\xe2\x82";
	expect_spec_error(&s, "not UTF-8");
	s = good_spec(ROWS(rows)), s.seq = 0;
	expect_spec_error(&s, "seq is 0");
	s.seq = -1;
	expect_spec_error(&s, "seq must be an integer from 0 to 2^64 - 1, got -1");
	s.seq = 1;
	expect_spec_error(&s, "prev is not 32 zero bytes");
	s = good_spec(ROWS(rows)), s.hlc = -5;
	expect_spec_error(&s, "the hlc must be an integer");
	s = good_spec(ROWS(rows)), s.prev = 33;
	expect_spec_error(&s, "prev must be a bin of 32 bytes");
	s = good_spec(ROWS("\x80"));
	expect_spec_error(&s, "rows must be an array, got a map of 0");
}

static void test_decode_row_errors(void **state)
{
	(void)state;
	expect_rows_error(ROWS("\x92\x94\xa1t\x91\x01\x01\x80\x05"),
			  "row 2: a row must be an array of 4 (table, pk, cl, cols), got 5");
	expect_rows_error(ROWS("\x91\x93\xa1t\x91\x01\x01"), "row 1: a row must be an array of 4");
	expect_rows_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x80\xc0"), "got an array of 5");
	expect_rows_error(ROWS("\x91\x94\x01\x91\x01\x01\x80"), "the table must be a str, got 1");
	expect_rows_error(ROWS("\x91\x94\xa0\x91\x01\x01\x80"), "row 1: the table name is empty");
	expect_rows_error(ROWS("\x91\x94\xa3t-u\x91\x01\x01\x80"), "'t-u' has the byte 0x2d");
	expect_rows_error(ROWS("\x91\x94\xa1t\x01\x01\x80"), "the pk must be an array, got 1");
	expect_rows_error(ROWS("\x91\x94\xa1t\x90\x01\x80"), "the pk has 0 values");
	expect_rows_error(ROWS("\x91\x94\xa1t\x99\x01\x02\x03\x04\x05\x06\x07\x08\x09\x01\x80"),
			  "the pk has 9 values");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\xc0\x01\x80"), "pk value 1 is nil");
	expect_rows_error(ROWS("\x91\x94\xa1t\x92\x01\xc3\x01\x80"),
			  "row 1: pk value 2: a value must be nil, an integer, a float, a str "
			  "or a bin, got true");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x00\x80"), "cl is 0");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\xff\x80"), "cl must be an integer");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x02\x81\xa1"
			       "a\x01"),
			  "a delete (even cl 2) has no columns; this one has 1");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x01\x90"),
			  "cols must be a map, got an array");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\x01\x01"),
			  "column 1: the name must be a str, got 1");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa3"
			       "a b\x01"),
			  "column 1: the column name 'a b'");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x01\x82\xa1"
			       "a\x01\xa1"
			       "a\x02"),
			  "the column 'a' appears twice");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa1"
			       "a\xd4\x01\x02"),
			  "column 1: a value must be nil, an integer, a float, a str or a bin, "
			  "got an ext");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa1"
			       "a\xcf\x80\x00\x00\x00\x00\x00\x00\x00"),
			  "the integer 9223372036854775808 is over 2^63 - 1");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa1"
			       "a\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"),
			  "column 1: the value is a NaN");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa1"
			       "a\xca\x7f\xc0\x00\x00"),
			  "NaN");
	expect_rows_error(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa1"
			       "a\x91\x01"),
			  "the body nests arrays and maps more than 4 deep");
}

static void expect_rows2_error(const char *rows, size_t len, const char *want)
{
	struct body_spec s = good_spec(rows, len);

	s.format = 2;
	expect_spec_error(&s, want);
}

/* A clock of hlc 1, in its bin 8 form. */
#define CLOCK1 "\xc4\x08\x00\x00\x00\x00\x00\x00\x00\x01"

/* Malformed bases, each refused with what is wrong (indexes count from 0). */
static void test_decode_bases_errors(void **state)
{
	(void)state;
	/* Bases are format 2's: a row of 5 in format 1 is refused. */
	expect_rows_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x81\xa1"
			       "a\x01" CLOCK1),
			  "row 1: a row of format 1 must be an array of 4 (table, pk, cl, cols), "
			  "got an array of 5: bases came with format 2");
	expect_rows2_error(ROWS("\x91\x96\xa1t\x91\x01\x01\x80\xc0\xc0"),
			   "row 1: a row must be an array of 4 (table, pk, cl, cols) or 5 (and "
			   "bases), got an array of 6");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x81\xa1"
				"a\x01\xc4\x07\x00\x00\x00\x00\x00\x00\x01"),
			   "row 1: bases must be a bin of 8 bytes (hlc) or 40 (hlc, origin), got "
			   "a bin of 7 bytes");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x81\xa1"
				"a\x01\xa1x"),
			   "bases must be a bin or an array, got a str");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x81\xa1"
				"a\x01\xc0"),
			   "bases must be a bin or an array, got nil");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x81\xa1"
				"a\x01\x92\xc0\xc0"),
			   "bases has 2 entries for 1 columns; it has one per column");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x82\xa1"
				"a\x01\xa1"
				"b\x02\x91\xc0"),
			   "bases has 1 entries for 2 columns");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x81\xa1"
				"a\x01\x91\xc3"),
			   "bases[0] must be nil, a bin or an index, got true");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x81\xa1"
				"a\x01\x91\xff"),
			   "bases[0] must be nil, a bin or an index, got -1");
	expect_rows2_error(
	    ROWS("\x91\x95\xa1t\x91\x01\x01\x82\xa1"
		 "a\x01\xa1"
		 "b\x02\x92" CLOCK1 "\x01"),
	    "bases[1] refers to bases[1]; an entry may only refer to an earlier one");
	expect_rows2_error(
	    ROWS("\x91\x95\xa1t\x91\x01\x01\x82\xa1"
		 "a\x01\xa1"
		 "b\x02\x92\x01" CLOCK1),
	    "bases[0] refers to bases[1]; an entry may only refer to an earlier one");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x82\xa1"
				"a\x01\xa1"
				"b\x02\x92\xc0\x00"),
			   "bases[1] refers to bases[0], which is not a clock (a bin)");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x82\xa1"
				"a\x01\xa1"
				"b\x02\x92" CLOCK1 "\xc4\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01"),
			   "bases[1] must be a bin of 8 bytes (hlc) or 40 (hlc, origin), got a bin "
			   "of 9 bytes");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x81\xa1"
				"a\x01\x91\x91\x00"),
			   "nests arrays and maps more than 4 deep");
	/* A delete, or any row without columns, has none. */
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x02\x80" CLOCK1),
			   "row 1: the row has bases but no columns");
	expect_rows2_error(ROWS("\x91\x95\xa1t\x91\x01\x01\x80\x90"),
			   "the row has bases but no columns");
}

/* Forms of bases lmsync does not write are read for what they say: a row
 * of 4 in format 2 holds no base; nil, and one clock given twice. */
static void test_decode_bases_accepts(void **state)
{
	static const char rows[] = "\x92\x94\xa1t\x91\x01\x01\x81\xa1"
				   "a\x01"
				   "\x95\xa1t\x91\x02\x01\x83\xa1"
				   "a\x01\xa1"
				   "b\x02\xa1"
				   "c\x03"
				   "\x93\xc0" CLOCK1 CLOCK1;
	struct body_spec s = good_spec(ROWS(rows));
	msgpack_sbuffer env;
	struct changeset cs;
	struct key k;
	lm_err err;

	(void)state;
	make_key(&k, 0x01); /* spec_envelope's */
	s.format = 2;
	spec_envelope(&s, &env);
	if (changeset_decode((const uint8_t *)env.data, env.size, &cs, &err) != 0)
		fail_msg("decode failed: %s", err.msg);
	assert_true(cs.h.format == 2);
	assert_null(cs.rows[0].bases);
	assert_non_null(cs.rows[1].bases);
	assert_false(cs.rows[1].bases[0].held);
	assert_true(cs.rows[1].bases[1].held && cs.rows[1].bases[1].hlc == 1);
	assert_true(cs.rows[1].bases[2].held && cs.rows[1].bases[2].hlc == 1);
	assert_memory_equal(cs.rows[1].bases[1].origin, k.pk, CS_KEY_LEN);
	assert_memory_equal(cs.rows[1].bases[2].origin, k.pk, CS_KEY_LEN);
	changeset_free(&cs);
	msgpack_sbuffer_destroy(&env);
}

/* Other encodings of the same values are read as those values. */
static void test_decode_accepts(void **state)
{
	struct cs_value v;

	(void)state;
	rows_value(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa1"
			"a\xca\x3f\xc0\x00\x00"),
		   &v);
	assert_int_equal(v.type, CS_REAL);
	assert_true(v.r == 1.5);
	rows_value(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa1"
			"a\xd3\x00\x00\x00\x00\x00\x00\x00\x05"),
		   &v);
	assert_int_equal(v.type, CS_INT);
	assert_int_equal(v.i, 5);
	rows_value(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa1"
			"a\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
		   &v);
	assert_true(v.i == INT64_MIN);
	rows_value(ROWS("\x91\x94\xa1t\x91\x01\x01\x81\xa1"
			"a\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"),
		   &v);
	assert_true(v.i == INT64_MAX);
	/* str 8 for a short name, array 16 for rows, map 16, cl as int 8. */
	rows_value(ROWS("\xdc\x00\x01\x94\xd9\x01t\x91\x01\xd0\x01\xde\x00\x01\xd9\x01"
			"a\xc4\x00"),
		   &v);
	assert_int_equal(v.type, CS_BLOB);
	assert_int_equal(v.len, 0);
}

static void test_decode_envelope_errors(void **state)
{
	static const char rows[] = "\x91\x94\xa1t\x91\x01\x01\x80";
	struct body_spec s = good_spec(ROWS(rows));
	msgpack_sbuffer body, env;
	uint8_t buf[512];
	struct key k;

	(void)state;
	make_key(&k, 0x01);
	pack_body(&body, &s, &k);
	wrap(body.data, body.size, &k, &env);
	memcpy(buf, env.data, env.size);
	buf[env.size] = 0x00;
	expect_decode_error(buf, env.size + 1, "1 trailing byte after the envelope");
	expect_decode_error(buf, env.size - 1, "the envelope is cut short");
	buf[0] = 0x93;
	expect_decode_error(buf, env.size + 1, "the envelope must be an array of 2");
	buf[0] = 0x82; /* a map of 2: key, value, key, then nothing */
	expect_decode_error(buf, env.size, "the envelope is cut short: it ends after");
	buf[0] = 0xc1;
	expect_decode_error(buf, env.size, "the envelope is not msgpack: byte 0 is 0xc1");
	msgpack_sbuffer_destroy(&env);
	/* A body followed by a byte inside its bin. */
	msgpack_sbuffer_write(&body, "\xc0", 1);
	wrap(body.data, body.size, &k, &env);
	expect_decode_error((uint8_t *)env.data, env.size, "1 trailing byte after the body");
	msgpack_sbuffer_destroy(&env);
	/* A body as str, a signature of 63 bytes. */
	memcpy(buf, "\x92\xa1x\xc4\x40", 5);
	expect_decode_error(buf, 5 + 64, "the body must be a bin, got a str of 1 byte");
	memcpy(buf, "\x92\xc4\x01\x90\xc4\x3f", 6);
	expect_decode_error(buf, 6 + 63,
			    "the signature must be a bin of 64 bytes, got a bin of 63");
	msgpack_sbuffer_destroy(&body);
}

/* Claimed sizes far beyond the bytes are refused before msgpack-c would
 * allocate for them. */
static void test_hostile_sizes(void **state)
{
	static const uint8_t huge_rows[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x94};
	static const uint8_t huge_bin[] = {0x92, 0xc6, 0xff, 0xff, 0xff, 0xf0, 0x00};
	static const uint8_t huge_map[] = {0x92, 0xdf, 0x7f, 0xff, 0xff, 0xff, 0x00};
	static const uint8_t huge_env[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0};
	struct body_spec s = good_spec((const char *)huge_rows, sizeof(huge_rows));

	(void)state;
	expect_spec_error(&s, "the body announces 4294967295 elements");
	expect_decode_error(huge_bin, sizeof(huge_bin), "the envelope is cut short");
	expect_decode_error(huge_map, sizeof(huge_map), "more than 1 deep");
	expect_decode_error(huge_env, sizeof(huge_env),
			    "the envelope announces 4294967295 elements at byte 0 but has only 2");
}

/* ---- Ordering ---- */

static void test_value_cmp(void **state)
{
	/* In ascending order; equal neighbours share a rank. */
	static const struct {
		int rank;
		struct cs_value v;
	} t[] = {
	    {0, {CS_NIL, 0, 0, NULL, 0}},
	    {1, {CS_REAL, 0, -INFINITY, NULL, 0}},
	    {2, {CS_INT, INT64_MIN, 0, NULL, 0}},
	    {2, {CS_REAL, 0, -9223372036854775808.0, NULL, 0}},
	    {3, {CS_INT, INT64_MIN + 1, 0, NULL, 0}},
	    {4, {CS_REAL, 0, -1.5, NULL, 0}},
	    {5, {CS_INT, -1, 0, NULL, 0}},
	    {5, {CS_REAL, 0, -1.0, NULL, 0}},
	    {6, {CS_REAL, 0, -0.5, NULL, 0}},
	    {7, {CS_INT, 0, 0, NULL, 0}},
	    {7, {CS_REAL, 0, 0.0, NULL, 0}},
	    {7, {CS_REAL, 0, -0.0, NULL, 0}},
	    {8, {CS_REAL, 0, 1e-300, NULL, 0}},
	    {9, {CS_INT, 1, 0, NULL, 0}},
	    {10, {CS_REAL, 0, 1.5, NULL, 0}},
	    {11, {CS_INT, 9007199254740992, 0, NULL, 0}},
	    {11, {CS_REAL, 0, 9007199254740992.0, NULL, 0}},
	    {12, {CS_INT, 9007199254740993, 0, NULL, 0}},
	    {13, {CS_INT, INT64_MAX, 0, NULL, 0}},
	    {14, {CS_REAL, 0, 9223372036854775808.0, NULL, 0}},
	    {15, {CS_REAL, 0, INFINITY, NULL, 0}},
	    {16, {CS_TEXT, 0, 0, (const uint8_t *)"", 0}},
	    {17, {CS_TEXT, 0, 0, (const uint8_t *)"A", 1}},
	    {18, {CS_TEXT, 0, 0, (const uint8_t *)"a", 1}},
	    {19, {CS_TEXT, 0, 0, (const uint8_t *)"a\0", 2}},
	    {20, {CS_TEXT, 0, 0, (const uint8_t *)"ab", 2}},
	    {21, {CS_TEXT, 0, 0, (const uint8_t *)"b", 1}},
	    {22, {CS_TEXT, 0, 0, (const uint8_t *)"\xc3\xa6", 2}},
	    {23, {CS_BLOB, 0, 0, NULL, 0}},
	    {24, {CS_BLOB, 0, 0, (const uint8_t *)"\0", 1}},
	    {25, {CS_BLOB, 0, 0, (const uint8_t *)"\0\0", 2}},
	    {26, {CS_BLOB, 0, 0, (const uint8_t *)"\x01", 1}},
	    {27, {CS_BLOB, 0, 0, (const uint8_t *)"\xff", 1}},
	};
	size_t n = sizeof(t) / sizeof(t[0]), i, j;
	int got, want;

	(void)state;
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			got = cs_value_cmp(&t[i].v, &t[j].v);
			want = (t[i].rank > t[j].rank) - (t[i].rank < t[j].rank);
			if ((got > 0) - (got < 0) != want)
				fail_msg("cmp(#%zu, #%zu) = %d, want %d", i, j, got, want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_empty_change_set),
	    cmocka_unit_test(test_hash_and_signature),
	    cmocka_unit_test(test_doc_example),
	    cmocka_unit_test(test_doc_example_bases),
	    cmocka_unit_test(test_doc_example_format_3),
	    cmocka_unit_test(test_bases_round_trip),
	    cmocka_unit_test(test_format_1_writer),
	    cmocka_unit_test(test_every_flipped_byte_fails),
	    cmocka_unit_test(test_wrong_origin_fails),
	    cmocka_unit_test(test_run_verifies),
	    cmocka_unit_test(test_run_across_formats),
	    cmocka_unit_test(test_run_binds_middle_signatures),
	    cmocka_unit_test(test_run_broken_links),
	    cmocka_unit_test(test_run_foreign_members),
	    cmocka_unit_test(test_run_bad_last_signature),
	    cmocka_unit_test(test_envelope_limit),
	    cmocka_unit_test(test_row_too_large),
	    cmocka_unit_test(test_decode_limit),
	    cmocka_unit_test(test_bad_scopes),
	    cmocka_unit_test(test_bad_rows),
	    cmocka_unit_test(test_writer_states),
	    cmocka_unit_test(test_writer_restart_in_place),
	    cmocka_unit_test(test_decode_header_errors),
	    cmocka_unit_test(test_decode_row_errors),
	    cmocka_unit_test(test_decode_bases_errors),
	    cmocka_unit_test(test_decode_bases_accepts),
	    cmocka_unit_test(test_decode_accepts),
	    cmocka_unit_test(test_decode_envelope_errors),
	    cmocka_unit_test(test_hostile_sizes),
	    cmocka_unit_test(test_value_cmp),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
