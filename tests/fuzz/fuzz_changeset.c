/* SPDX-License-Identifier: MIT */
/* Fuzz the change set decoder: the input is one envelope, any bytes.
 *
 * Beyond not crashing, leaking or reading out of bounds, every result is
 * checked. A failure leaves a terminated, non-empty message and an empty
 * struct. A success leaves the body and every string and blob inside the
 * input and the hash equal to BLAKE2b-256 of the body and signature; the signature is then
 * verified, alone and as a run of one (both must agree). Finally what the
 * decoder accepted must be what the writer accepts: the header (with the
 * fuzz key as origin) and rows are written again, sealed, decoded, and must
 * come back the same, bases included (a base of the old origin, given as
 * 8 bytes, comes back as 40 and the reverse); the writer may refuse a row only because the
 * re-encoding (float 32 becomes float 64, shortest forms) outgrew the limit.
 *
 * Built with -DFUZZ_CHANGESET_SEEDS this file is instead a program writing
 * the seed corpus, change sets signed by the fuzz key (the one from the seed
 * of 32 bytes 01, as in docs/PROTOCOL.md), into the directory it is given:
 * `fuzz_changeset_seeds tests/fuzz/corpus/changeset`. */
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/changeset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_changeset: check failed: %s (%s:%d)\n", #c,          \
				__FILE__, __LINE__);                                               \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct key {
	uint8_t pk[CS_KEY_LEN];
	uint8_t sk[64];
};

static const struct key *fuzz_key(void)
{
	static struct key k;
	static int done;
	uint8_t seed[32];

	if (!done) {
		CHECK(sodium_init() >= 0);
		memset(seed, 0x01, sizeof(seed));
		CHECK(crypto_sign_seed_keypair(k.pk, k.sk, seed) == 0);
		done = 1;
	}
	return &k;
}

static void check_inside(const uint8_t *data, size_t size, const void *p, size_t len)
{
	const uint8_t *q = p;

	CHECK(len <= size);
	if (len > 0)
		CHECK(q >= data && (size_t)(q - data) <= size - len);
}

static void check_zero_copy(const struct changeset *cs, const uint8_t *data, size_t size)
{
	size_t i, j;

	check_inside(data, size, cs->body, cs->body_len);
	for (i = 0; i < cs->nrows; i++) {
		const struct cs_row *r = &cs->rows[i];

		check_inside(data, size, r->table, r->table_len);
		for (j = 0; j < r->npk; j++)
			check_inside(data, size, r->pk[j].p, r->pk[j].len);
		for (j = 0; j < r->ncols; j++) {
			check_inside(data, size, r->cols[j].name, r->cols[j].name_len);
			check_inside(data, size, r->cols[j].value.p, r->cols[j].value.len);
		}
	}
}

static void check_same_value(const struct cs_value *a, const struct cs_value *b)
{
	CHECK(a->type == b->type);
	CHECK(cs_value_cmp(a, b) == 0);
	if (a->type == CS_REAL)
		CHECK(memcmp(&a->r, &b->r, sizeof(double)) == 0);
}

/* The same base for column i of a and b; no bases means none held. */
static void check_same_base(const struct cs_row *a, const struct cs_row *b, size_t i)
{
	static const struct cs_base none;
	const struct cs_base *x = a->bases ? &a->bases[i] : &none;
	const struct cs_base *y = b->bases ? &b->bases[i] : &none;

	CHECK((x->held != 0) == (y->held != 0));
	if (x->held)
		CHECK(x->hlc == y->hlc && memcmp(x->origin, y->origin, CS_KEY_LEN) == 0);
}

static void check_same_row(const struct cs_row *a, const struct cs_row *b)
{
	size_t i;

	CHECK(a->table_len == b->table_len && memcmp(a->table, b->table, a->table_len) == 0);
	CHECK(a->npk == b->npk && a->cl == b->cl && a->ncols == b->ncols);
	for (i = 0; i < a->npk; i++)
		check_same_value(&a->pk[i], &b->pk[i]);
	for (i = 0; i < a->ncols; i++) {
		CHECK(a->cols[i].name_len == b->cols[i].name_len);
		CHECK(memcmp(a->cols[i].name, b->cols[i].name, a->cols[i].name_len) == 0);
		check_same_value(&a->cols[i].value, &b->cols[i].value);
		check_same_base(a, b, i);
	}
}

/* Write cs again under the fuzz key and compare what comes back. */
static void check_rewrite(const struct changeset *cs)
{
	uint8_t *env, hash[CS_HASH_LEN];
	struct cs_header h = cs->h;
	struct changeset again;
	struct cs_writer w;
	size_t i, len;
	lm_err err;

	memcpy(h.origin, fuzz_key()->pk, CS_KEY_LEN);
	CHECK(cs_writer_begin(&w, &h, &err) == 0);
	for (i = 0; i < cs->nrows; i++) {
		if (cs_writer_add_row(&w, &cs->rows[i], &err) != 0) {
			CHECK(cs_writer_size_with(&w, &cs->rows[i]) > CS_MAX_ENVELOPE);
			cs_writer_free(&w);
			return;
		}
	}
	CHECK(cs_writer_seal(&w, fuzz_key()->sk, &env, &len, hash, &err) == 0);
	cs_writer_free(&w);
	CHECK(changeset_decode(env, len, &again, &err) == 0);
	CHECK(changeset_verify(&again, &err) == 0);
	CHECK(memcmp(again.hash, hash, CS_HASH_LEN) == 0);
	CHECK(memcmp(again.h.origin, h.origin, CS_KEY_LEN) == 0 && again.h.seq == h.seq);
	CHECK(strcmp(again.h.scope, h.scope) == 0 && again.h.hlc == h.hlc);
	CHECK(memcmp(again.h.prev, h.prev, CS_HASH_LEN) == 0);
	CHECK(again.h.format == cs->h.format);
	CHECK(again.nrows == cs->nrows);
	for (i = 0; i < cs->nrows; i++)
		check_same_row(&cs->rows[i], &again.rows[i]);
	changeset_free(&again);
	free(env);
}

static void check_decoded(const struct changeset *cs, const uint8_t *data, size_t size)
{
	const struct changeset *run[1] = {cs};
	uint8_t hash[CS_HASH_LEN];
	int alone, as_run;

	CHECK(size <= CS_MAX_ENVELOPE);
	check_zero_copy(cs, data, size);
	{
		crypto_generichash_blake2b_state hs;

		crypto_generichash_blake2b_init(&hs, NULL, 0, sizeof(hash));
		crypto_generichash_blake2b_update(&hs, cs->body, cs->body_len);
		{
			crypto_generichash_blake2b_state d = hs;

			crypto_generichash_blake2b_final(&d, hash, sizeof(hash));
			CHECK(memcmp(hash, cs->digest, CS_HASH_LEN) == 0);
		}
		crypto_generichash_blake2b_update(&hs, cs->sig, CS_SIG_LEN);
		crypto_generichash_blake2b_final(&hs, hash, sizeof(hash));
	}
	CHECK(memcmp(hash, cs->hash, CS_HASH_LEN) == 0);
	CHECK(cs->h.seq >= 1 && strlen(cs->h.scope) >= 1 && strlen(cs->h.scope) <= CS_SCOPE_MAX);
	CHECK(cs->h.format >= CS_FORMAT_V1 && cs->h.format <= CS_FORMAT);
	for (size_t i = 0; i < cs->nrows; i++)
		CHECK(cs->rows[i].bases == NULL ||
		      (cs->h.format != CS_FORMAT_V1 && cs->rows[i].ncols > 0));
	alone = changeset_verify(cs, NULL);
	as_run = changeset_verify_run(run, 1, cs->h.prev, NULL);
	CHECK(alone == as_run);
	check_rewrite(cs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct changeset empty;
	struct changeset cs;
	lm_err err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = changeset_decode(data, size, &cs, &err);
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		check_decoded(&cs, data, size);
		changeset_free(&cs);
		return 0;
	}
	CHECK(err.msg[0] != '\0');
	CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
	CHECK(memcmp(&cs, &empty, sizeof(cs)) == 0);
	return 0;
}

#ifdef FUZZ_CHANGESET_SEEDS
/* Seeds: honest change sets of several shapes, and one hand-made body in
 * other encodings the decoder accepts (float 32, int 8, str 8, array 16).
 * The seeds from before bases are written in format 1, byte for byte as
 * they were; those with bases in format 2. */
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

static void seal_seed(const char *dir, const char *name, const struct cs_header *h,
		      const struct cs_row *rows, size_t n)
{
	uint8_t *env, hash[CS_HASH_LEN];
	struct cs_writer w;
	size_t i, len;
	lm_err err;

	CHECK(cs_writer_begin(&w, h, &err) == 0);
	for (i = 0; i < n; i++)
		CHECK(cs_writer_add_row(&w, &rows[i], &err) == 0);
	CHECK(cs_writer_seal(&w, fuzz_key()->sk, &env, &len, hash, &err) == 0);
	write_seed(dir, name, env, len);
	free(env);
	cs_writer_free(&w);
}

static void header(struct cs_header *h, uint64_t seq)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->origin, fuzz_key()->pk, CS_KEY_LEN);
	strcpy(h->scope, "helse-vest");
	h->format = CS_FORMAT_V1;
	h->seq = seq;
	h->hlc = UINT64_C(1735689600000) << 16 | 3;
	if (seq > 1)
		memset(h->prev, 0x5a, sizeof(h->prev));
}

static struct cs_value val(enum cs_type t, int64_t i, double r, const char *s)
{
	struct cs_value v = {t, i, r, (const uint8_t *)s, s ? strlen(s) : 0};

	return v;
}

static void doc_example(const char *dir)
{
	struct cs_value pk = val(CS_INT, 7, 0, NULL);
	struct cs_col cols[2] = {{"title", 5, val(CS_TEXT, 0, 0, "Mestring")},
				 {"seats", 5, val(CS_INT, 12, 0, NULL)}};
	struct cs_row row = {"course", 6, &pk, 1, 1, cols, 2, NULL};
	struct cs_header h;

	header(&h, 1);
	seal_seed(dir, "doc-example", &h, &row, 1);
	seal_seed(dir, "empty", &h, NULL, 0);
}

static void all_values(const char *dir)
{
	struct cs_value pk[3] = {val(CS_TEXT, 0, 0, "org_\xc3\xa6"), val(CS_INT, 2024, 0, NULL),
				 val(CS_BLOB, 0, 0, "\x01\x02")};
	struct cs_col cols[9] = {{"n", 1, val(CS_NIL, 0, 0, NULL)},
				 {"imin", 4, val(CS_INT, INT64_MIN, 0, NULL)},
				 {"imax", 4, val(CS_INT, INT64_MAX, 0, NULL)},
				 {"mzero", 5, val(CS_REAL, 0, -0.0, NULL)},
				 {"inf", 3, val(CS_REAL, 0, INFINITY, NULL)},
				 {"empty", 5, val(CS_TEXT, 0, 0, "")},
				 {"utf8", 4, val(CS_TEXT, 0, 0, "\xc3\xa6\xc3\xb8\xc3\xa5")},
				 {"bempty", 6, val(CS_BLOB, 0, 0, "")},
				 {"blob", 4, val(CS_BLOB, 0, 0, "\x7f")}};
	struct cs_row rows[3] = {{"report_item", 11, pk, 3, 1, cols, 9, NULL},
				 {"course", 6, pk + 1, 1, 2, NULL, 0, NULL},
				 {"course", 6, pk + 1, 1, 3, cols + 6, 3, NULL}};
	struct cs_header h;

	header(&h, 9);
	seal_seed(dir, "all-values", &h, rows, 3);
}

static void many_rows(const char *dir)
{
	struct cs_value pk[40];
	struct cs_col col = {"note", 4, val(CS_TEXT, 0, 0, "kurs i mestring")};
	struct cs_row rows[40];
	struct cs_header h;
	size_t i;

	for (i = 0; i < 40; i++) {
		pk[i] = val(CS_INT, (int64_t)i * 1000, 0, NULL);
		rows[i] = (struct cs_row){"offer", 5, &pk[i], 1, 1 + 2 * (i % 3), &col, 1, NULL};
	}
	header(&h, 2);
	seal_seed(dir, "many-rows", &h, rows, 40);
}

/* A body in encodings lmsync does not write, signed: rows as array 16, the
 * table as str 8, the pk as int 8, cl as uint 8, a float 32 value. */
static void other_forms(const char *dir)
{
	static const uint8_t tail[] = {0xdc, 0x00, 0x01, 0x94, 0xd9, 0x01, 't',	 0x91, 0xd0, 0xfe,
				       0xcc, 0x01, 0x81, 0xa1, 'a',  0xca, 0x3f, 0xc0, 0x00, 0x00};
	uint8_t body[128], env[256], sig[CS_SIG_LEN];
	size_t n = 0, k = 0;

	memcpy(body, "\x97\x01\xc4\x20", 4);
	memcpy(body + 4, fuzz_key()->pk, CS_KEY_LEN);
	n = 4 + CS_KEY_LEN;
	memcpy(body + n, "\xa3net\x02\x05\xc4\x20", 8);
	n += 8;
	memset(body + n, 0x5a, CS_HASH_LEN);
	n += CS_HASH_LEN;
	memcpy(body + n, tail, sizeof(tail));
	n += sizeof(tail);
	crypto_sign_detached(sig, NULL, body, n, fuzz_key()->sk);
	env[k++] = 0x92;
	env[k++] = 0xc4;
	env[k++] = (uint8_t)n;
	memcpy(env + k, body, n);
	k += n;
	env[k++] = 0xc4;
	env[k++] = CS_SIG_LEN;
	memcpy(env + k, sig, CS_SIG_LEN);
	write_seed(dir, "other-forms", env, k + CS_SIG_LEN);
}

static struct cs_base held(uint64_t hlc, uint8_t fill)
{
	struct cs_base b = {1, hlc, {0}};

	if (fill)
		memset(b.origin, fill, CS_KEY_LEN);
	else
		memcpy(b.origin, fuzz_key()->pk, CS_KEY_LEN);
	return b;
}

/* Format 2: the second example of docs/PROTOCOL.md (an update whose base
 * is the origin's own, bin 8), and rows with every form of bases: one of
 * another origin for all columns (bin 40), one entry per column with nil,
 * both clock sizes and an index, and an insert without any. */
static void with_bases(const char *dir)
{
	struct cs_value pk[2] = {val(CS_INT, 7, 0, NULL), val(CS_TEXT, 0, 0, "kurs-9")};
	struct cs_col seats = {"seats", 5, val(CS_INT, 14, 0, NULL)};
	struct cs_col cols[4] = {{"title", 5, val(CS_TEXT, 0, 0, "Mestringstreff")},
				 {"seats", 5, val(CS_INT, 8, 0, NULL)},
				 {"venue", 5, val(CS_NIL, 0, 0, NULL)},
				 {"target", 6, val(CS_TEXT, 0, 0, "voksne")}};
	struct cs_base own = held(UINT64_C(1735689600000) << 16 | 3, 0), mixed[4], other[4];
	struct cs_row doc = {"course", 6, pk, 1, 1, &seats, 1, &own};
	struct cs_row rows[3] = {{"course", 6, pk + 1, 1, 1, cols, 4, other},
				 {"course", 6, pk, 1, 3, cols, 4, mixed},
				 {"course", 6, pk + 1, 1, 5, cols, 4, NULL}};
	struct cs_header h;

	header(&h, 2);
	h.format = CS_FORMAT;
	h.hlc = UINT64_C(1735689660000) << 16;
	memcpy(h.prev,
	       "\xe3\xb2\x86\x05\xce\x44\xb4\x74\xc8\xd3\x5b\xde\x80\x5b\x26\x47"
	       "\x5a\xd5\xc9\x3d\x6e\x7d\xbf\x4e\x2a\xd3\x13\xbe\x3f\x19\x2e\xda",
	       CS_HASH_LEN);
	seal_seed(dir, "doc-example-2", &h, &doc, 1);
	other[0] = other[1] = other[2] = other[3] = held(UINT64_C(1735689000000) << 16, 0x77);
	mixed[0] = own;
	memset(&mixed[1], 0, sizeof(mixed[1]));
	mixed[2] = other[0];
	mixed[3] = own;
	header(&h, 3);
	h.format = CS_FORMAT;
	seal_seed(dir, "bases", &h, rows, 3);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_changeset_seeds DIR\n");
		return 2;
	}
	doc_example(argv[1]);
	all_values(argv[1]);
	many_rows(argv[1]);
	other_forms(argv[1]);
	with_bases(argv[1]);
	return 0;
}
#endif
