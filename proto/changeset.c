/* SPDX-License-Identifier: MIT */
/* Change sets; see changeset.h for the shapes, docs/PROTOCOL.md ("Change
 * sets") for the byte-exact format.
 *
 * The writer packs through a msgpack_packer into its own growing buffer.
 * Each row is packed in place and taken back (the length set back) when it
 * would take the envelope past CS_MAX_ENVELOPE, so a refused row leaves the
 * change set as it was; cs_writer_size_with counts without writing. The
 * rows array header is a fixed array 32 whose count is patched in at seal.
 *
 * The decoder never lets msgpack-c see bytes it has not skimmed: like
 * proto/msg.c it first walks them without allocating, checking that they hold
 * exactly one complete value, nested no deeper than the format needs, whose
 * arrays and maps announce no more elements than the bytes left could hold
 * (msgpack-c sizes its zone from those counts). The envelope and then the
 * body inside it are each skimmed and unpacked this way. The rows, pk values
 * and columns are then copied into one arena counted beforehand; their
 * strings and blobs stay pointers into the envelope. Every row then passes
 * the same checks as the writer's, so what one accepts the other does. */
#include "proto/changeset.h"

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mp.h"
#include "proto/siteid.h"

_Static_assert(CS_HASH_LEN == crypto_generichash_blake2b_BYTES, "hash length");

/* What format 3 signs: this prefix, then the body's digest. Ed25519 hashes
 * its message twice with SHA-512 (about 250 MB/s here); the digest is
 * BLAKE2b (1 GB/s), which the hash needs anyway, so one pass over the body
 * gives both. The prefix, which no msgpack array begins with, keeps a
 * signed digest from ever reading as a signed format 1 or 2 body. */
static const char SIGNED_PREFIX[] = "lmsync change set 3";
#define SIGNED_PREFIX_LEN (sizeof(SIGNED_PREFIX) - 1)
#define SIGNED_LEN	  (SIGNED_PREFIX_LEN + CS_HASH_LEN)

/* The body's digest into digest, and st left ready for the hash's tail. */
static void hash_body(crypto_generichash_blake2b_state *st, const uint8_t *body, size_t len,
		      uint8_t digest[CS_HASH_LEN])
{
	crypto_generichash_blake2b_state copy;

	crypto_generichash_blake2b_init(st, NULL, 0, CS_HASH_LEN);
	crypto_generichash_blake2b_update(st, body, len);
	copy = *st;
	crypto_generichash_blake2b_final(&copy, digest, CS_HASH_LEN);
}

/* The hash covers the signature too, so the chain binds every signature of a
 * run and a relay cannot swap one that run verification does not check. */
static void hash_finish(crypto_generichash_blake2b_state *st, const uint8_t sig[CS_SIG_LEN],
			uint8_t hash[CS_HASH_LEN])
{
	crypto_generichash_blake2b_update(st, sig, CS_SIG_LEN);
	crypto_generichash_blake2b_final(st, hash, CS_HASH_LEN);
}

/* Formats 1 and 2 sign the body itself. */
static int signs_digest(uint64_t format)
{
	return format >= 3;
}

static void signed_message(const uint8_t digest[CS_HASH_LEN], uint8_t m[SIGNED_LEN])
{
	memcpy(m, SIGNED_PREFIX, SIGNED_PREFIX_LEN);
	memcpy(m + SIGNED_PREFIX_LEN, digest, CS_HASH_LEN);
}
_Static_assert(CS_SIG_LEN == crypto_sign_ed25519_BYTES, "signature length");
_Static_assert(CS_KEY_LEN == crypto_sign_ed25519_PUBLICKEYBYTES, "key length");
_Static_assert(crypto_sign_ed25519_SECRETKEYBYTES == 64, "secret key length");
_Static_assert(CS_KEY_LEN == SITEID_KEY_LEN, "site id length");

#define BODY_ITEMS     7 /* format, origin, scope, seq, hlc, prev, rows */
#define ROW_ITEMS      4 /* table, pk, cl, cols */
#define ROW_ITEMS_BASE 5 /* the same and bases (format 2 on) */
#define BODY_DEPTH     4 /* body, rows, row, pk, cols or bases */
#define OWN_CLOCK_LEN  8 /* a base of the change set's own origin: its hlc */
#define ENVELOPE_DEPTH 1
#define BODY_ORIGIN_AT 4		/* 97, the format, c4 20, then the origin */
#define SIG_TAIL       (2 + CS_SIG_LEN) /* c4 40 and the signature */
#define SMALL_COLS     64 /* up to this many (a table's most), duplicates are found pairwise */
#define SHOW_MAX       48 /* bytes of untrusted text quoted in a message */

/* ---- Checks shared by the writer and the decoder ---- */

/* Untrusted bytes made safe to quote: printable ASCII, cut with "...". */
static const char *show(const void *data, size_t n, char out[SHOW_MAX])
{
	const uint8_t *p = data;
	size_t i, k = n < SHOW_MAX - 4 ? n : SHOW_MAX - 4;

	for (i = 0; i < k; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' ? (char)p[i] : '?';
	if (k < n) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return out;
}

static int name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static int check_name(const char *what, const char *p, size_t n, lm_err *err)
{
	char s[SHOW_MAX];
	size_t i;

	if (n == 0)
		return lm_errf(err, "the %s is empty; names are 1 to %d bytes of A-Z, a-z, 0-9, _",
			       what, CS_NAME_MAX);
	if (p == NULL)
		return lm_errf(err, "the %s has %zu bytes but no pointer to them", what, n);
	if (n > CS_NAME_MAX)
		return lm_errf(err, "the %s '%s' has %zu bytes, over the maximum of %d", what,
			       show(p, n, s), n, CS_NAME_MAX);
	for (i = 0; i < n; i++)
		if (!name_char((uint8_t)p[i]))
			return lm_errf(err,
				       "the %s '%s' has the byte 0x%02x at %zu; names are A-Z, "
				       "a-z, 0-9 and _",
				       what, show(p, n, s), (uint8_t)p[i], i);
	return 0;
}

/* The length of the UTF-8 character at p (n >= 1 bytes) and its code point,
 * or 0 when it is not well-formed (overlong, surrogate, past U+10FFFF, cut). */
static size_t utf8_char(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1fu, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, c = p[0] & 0x0fu, min = 0x800;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07u, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int cs_scope_check(const char *s, size_t n, lm_err *err)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i, k;
	uint32_t c;

	if (n == 0 || n > CS_SCOPE_MAX)
		return lm_errf(err, "the scope has %zu bytes; it must have 1 to %d", n,
			       CS_SCOPE_MAX);
	for (i = 0; i < n; i += k) {
		k = utf8_char(p + i, n - i, &c);
		if (k == 0)
			return lm_errf(err,
				       "the scope is not UTF-8: byte %zu (0x%02x) is wrong there",
				       i, p[i]);
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return lm_errf(
			    err, "the scope has the control character U+%04" PRIX32 " at byte %zu",
			    c, i);
	}
	return 0;
}

static int check_seq_prev(const struct cs_header *h, lm_err *err)
{
	if (h->seq == 0)
		return lm_errf(err, "seq is 0; sequence numbers start at 1");
	if (h->seq == 1 && !sodium_is_zero(h->prev, CS_HASH_LEN))
		return lm_errf(err, "seq is 1 but prev is not 32 zero bytes: nothing comes before "
				    "the first change set");
	return 0;
}

static int check_value(const struct cs_value *v, lm_err *err)
{
	switch (v->type) {
	case CS_NIL:
	case CS_INT:
		return 0;
	case CS_REAL:
		if (isnan(v->r))
			return lm_errf(err, "the value is a NaN, which SQLite stores as NULL");
		return 0;
	case CS_TEXT:
	case CS_BLOB:
		if (v->p == NULL && v->len > 0)
			return lm_errf(err, "the value has %zu bytes but no pointer to them",
				       v->len);
		if (v->len > UINT32_MAX)
			return lm_errf(
			    err, "the value has %zu bytes; msgpack holds at most 2^32 - 1", v->len);
		return 0;
	}
	return lm_errf(err, "the value has the unknown type %d", (int)v->type);
}

static int check_pk(const struct cs_row *r, lm_err *err)
{
	size_t i;

	if (r->npk == 0 || r->npk > CS_PK_MAX)
		return lm_errf(err, "the pk has %zu values; it must have 1 to %d", r->npk,
			       CS_PK_MAX);
	if (r->pk == NULL)
		return lm_errf(err, "the pk has %zu values but no pointer to them", r->npk);
	for (i = 0; i < r->npk; i++) {
		if (r->pk[i].type == CS_NIL)
			return lm_errf(err, "pk value %zu is nil; a primary key has no nil", i + 1);
		if (check_value(&r->pk[i], err) < 0)
			return lm_err_wrap(err, "pk value %zu", i + 1);
	}
	return 0;
}

static int same_name(const struct cs_col *a, const struct cs_col *b)
{
	return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

static int col_order(const void *a, const void *b)
{
	const struct cs_col *x = *(const struct cs_col *const *)a;
	const struct cs_col *y = *(const struct cs_col *const *)b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	return c != 0 ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* A column whose name an earlier one has, or NULL; *oom on no memory.
 * Pairwise up to SMALL_COLS: no allocation and no sort for any row a
 * registered table can produce; only larger (hostile) maps are sorted. */
static const struct cs_col *duplicate_col(const struct cs_col *cols, size_t n, int *oom)
{
	const struct cs_col **v, *dup = NULL;
	size_t i, j;

	*oom = 0;
	if (n <= SMALL_COLS) {
		for (i = 1; i < n; i++)
			for (j = 0; j < i; j++)
				if (same_name(&cols[i], &cols[j]))
					return &cols[i];
		return NULL;
	}
	v = malloc(n * sizeof(*v));
	if (v == NULL) {
		*oom = 1;
		return NULL;
	}
	for (i = 0; i < n; i++)
		v[i] = &cols[i];
	qsort(v, n, sizeof(*v), col_order);
	for (i = 1; i < n && dup == NULL; i++)
		if (same_name(v[i - 1], v[i]))
			dup = v[i];
	free(v);
	return dup;
}

static int check_cols(const struct cs_row *r, lm_err *err)
{
	const struct cs_col *dup;
	char s[SHOW_MAX];
	size_t i;
	int oom;

	if (r->cl % 2 == 0 && r->ncols > 0)
		return lm_errf(err,
			       "a delete (even cl %" PRIu64 ") has no columns; this one has %zu",
			       r->cl, r->ncols);
	if (r->ncols > 0 && r->cols == NULL)
		return lm_errf(err, "the row has %zu columns but no pointer to them", r->ncols);
	for (i = 0; i < r->ncols; i++) {
		if (check_name("column name", r->cols[i].name, r->cols[i].name_len, err) < 0)
			return lm_err_wrap(err, "column %zu", i + 1);
		if (check_value(&r->cols[i].value, err) < 0)
			return lm_err_wrap(err, "column '%s'",
					   show(r->cols[i].name, r->cols[i].name_len, s));
	}
	dup = duplicate_col(r->cols, r->ncols, &oom);
	if (oom)
		return lm_errf(err, "out of memory checking %zu column names", r->ncols);
	if (dup != NULL)
		return lm_errf(err, "the column '%s' appears twice",
			       show(dup->name, dup->name_len, s));
	return 0;
}

/* Format 1 cannot say that a base was held; dropping one silently would
 * make the write look like a blind one everywhere. */
static int check_bases(const struct cs_row *r, uint64_t format, lm_err *err)
{
	char s[SHOW_MAX];
	size_t i;

	for (i = 0; format == CS_FORMAT_V1 && r->bases != NULL && i < r->ncols; i++)
		if (r->bases[i].held)
			return lm_errf(err,
				       "column '%s' has a base, which format 1 cannot carry; "
				       "write format %d",
				       show(r->cols[i].name, r->cols[i].name_len, s), CS_FORMAT);
	return 0;
}

static int check_row(const struct cs_row *r, uint64_t format, lm_err *err)
{
	if (check_name("table name", r->table, r->table_len, err) < 0 || check_pk(r, err) < 0)
		return -1;
	if (r->cl == 0)
		return lm_errf(err, "cl is 0; a causal length starts at 1");
	if (check_cols(r, err) < 0)
		return -1;
	return check_bases(r, format, err);
}

/* ---- Writing ---- */

/* Bytes of the bin header for n bytes, in its shortest form. */
static size_t bin_head_len(size_t n)
{
	return n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
}

static size_t envelope_len(size_t body_len)
{
	return 1 + bin_head_len(body_len) + body_len + SIG_TAIL;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static size_t put_bin_head(uint8_t *p, size_t n)
{
	size_t k = bin_head_len(n);

	p[0] = k == 2 ? 0xc4 : k == 3 ? 0xc5 : 0xc6;
	put_be(p + 1, n, k - 1);
	return k;
}

/* Room kept before the body for the envelope's head (fixarray and the
 * body's bin header, 5 bytes at most), so sealing can frame the body where
 * it lies. */
#define ENV_HEAD_ROOM 6

/* Make room for n more body bytes. */
static int grow(struct cs_writer *w, size_t n)
{
	size_t cap = w->cap ? w->cap : 1024;
	uint8_t *p;

	if (n <= w->cap - w->len)
		return 0;
	while (cap - w->len < n) {
		if (cap > SIZE_MAX / 2 - ENV_HEAD_ROOM)
			return -1;
		cap *= 2;
	}
	p = realloc(w->mem, ENV_HEAD_ROOM + cap);
	if (p == NULL)
		return -1;
	w->mem = p;
	w->buf = p + ENV_HEAD_ROOM;
	w->cap = cap;
	return 0;
}

static int writer_write(void *data, const char *p, size_t n)
{
	struct cs_writer *w = data;

	if (n == 0)
		return 0;
	if (w->failed || grow(w, n) < 0) {
		w->failed = 1;
		return -1;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

static int count_write(void *data, const char *p, size_t n)
{
	(void)p;
	*(size_t *)data += n;
	return 0;
}

static void pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, p, n);
}

static void pack_str(msgpack_packer *pk, const void *p, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, p, n);
}

static void pack_value(msgpack_packer *pk, const struct cs_value *v)
{
	switch (v->type) {
	case CS_NIL:
		msgpack_pack_nil(pk);
		break;
	case CS_INT:
		msgpack_pack_int64(pk, v->i);
		break;
	case CS_REAL:
		msgpack_pack_double(pk, v->r);
		break;
	case CS_TEXT:
		pack_str(pk, v->p, v->len);
		break;
	case CS_BLOB:
		pack_bin(pk, v->p, v->len);
		break;
	}
}

static int same_base(const struct cs_base *a, const struct cs_base *b)
{
	return a->held && b->held && a->hlc == b->hlc &&
	       memcmp(a->origin, b->origin, CS_KEY_LEN) == 0;
}

/* A base clock: its hlc alone when the origin is the change set's own (an
 * origin editing its own value, the usual case), else hlc and origin. */
static void pack_clock(msgpack_packer *pk, const struct cs_base *b, const uint8_t *origin)
{
	uint8_t clock[CS_CLOCK_LEN];

	put_be(clock, b->hlc, OWN_CLOCK_LEN);
	memcpy(clock + OWN_CLOCK_LEN, b->origin, CS_KEY_LEN);
	pack_bin(pk, clock,
		 memcmp(b->origin, origin, CS_KEY_LEN) == 0 ? OWN_CLOCK_LEN : CS_CLOCK_LEN);
}

/* The shortest bases: one clock when every column has the same, else one
 * entry per column: nil, a clock, or the index of an earlier entry that
 * packed the same clock. */
static void pack_bases(msgpack_packer *pk, const struct cs_row *r, const uint8_t *origin)
{
	size_t i, j;

	for (i = 1; i < r->ncols && same_base(&r->bases[0], &r->bases[i]); i++)
		;
	if (i == r->ncols) {
		pack_clock(pk, &r->bases[0], origin);
		return;
	}
	msgpack_pack_array(pk, r->ncols);
	for (i = 0; i < r->ncols; i++) {
		for (j = 0; j < i && !same_base(&r->bases[j], &r->bases[i]); j++)
			;
		if (!r->bases[i].held)
			msgpack_pack_nil(pk);
		else if (j < i)
			msgpack_pack_uint64(pk, j);
		else
			pack_clock(pk, &r->bases[i], origin);
	}
}

/* 1 when the row must carry bases: format 2 on and some column's base held. */
static int has_bases(const struct cs_row *r, uint64_t format)
{
	size_t i;

	for (i = 0; format != CS_FORMAT_V1 && r->bases != NULL && i < r->ncols; i++)
		if (r->bases[i].held)
			return 1;
	return 0;
}

static void pack_row(msgpack_packer *pk, const struct cs_row *r, const struct cs_writer *w)
{
	int bases = has_bases(r, w->format);
	size_t i;

	msgpack_pack_array(pk, bases ? ROW_ITEMS_BASE : ROW_ITEMS);
	pack_str(pk, r->table, r->table_len);
	msgpack_pack_array(pk, r->npk);
	for (i = 0; i < r->npk; i++)
		pack_value(pk, &r->pk[i]);
	msgpack_pack_uint64(pk, r->cl);
	msgpack_pack_map(pk, r->ncols);
	for (i = 0; i < r->ncols; i++) {
		pack_str(pk, r->cols[i].name, r->cols[i].name_len);
		pack_value(pk, &r->cols[i].value);
	}
	if (bases)
		pack_bases(pk, r, w->origin);
}

static size_t row_len(const struct cs_row *r, const struct cs_writer *w)
{
	msgpack_packer pk;
	size_t n = 0;

	msgpack_packer_init(&pk, &n, count_write);
	pack_row(&pk, r, w);
	return n;
}

/* Write the body's head for h into w, which holds no body yet. */
static int writer_start(struct cs_writer *w, const struct cs_header *h, lm_err *err)
{
	static const char rows32[5] = {(char)0xdd, 0, 0, 0, 0};
	size_t scope_len = strnlen(h->scope, sizeof(h->scope));
	msgpack_packer pk;

	w->failed = 1;
	w->format = h->format == 0 ? CS_FORMAT : h->format;
	if (w->format < CS_FORMAT_V1 || w->format > CS_FORMAT)
		return lm_errf(err,
			       "cannot begin a change set: format %" PRIu64
			       " is not one this site writes (%d, or the older %d and %d)",
			       h->format, CS_FORMAT, CS_FORMAT_V2, CS_FORMAT_V1);
	if (cs_scope_check(h->scope, scope_len, err) < 0 || check_seq_prev(h, err) < 0)
		return lm_err_wrap(err, "cannot begin a change set");
	w->failed = 0;
	memcpy(w->origin, h->origin, CS_KEY_LEN);
	msgpack_packer_init(&pk, w, writer_write);
	msgpack_pack_array(&pk, BODY_ITEMS);
	msgpack_pack_uint64(&pk, w->format);
	pack_bin(&pk, h->origin, CS_KEY_LEN);
	pack_str(&pk, h->scope, scope_len);
	msgpack_pack_uint64(&pk, h->seq);
	msgpack_pack_uint64(&pk, h->hlc);
	pack_bin(&pk, h->prev, CS_HASH_LEN);
	w->rows_count_at = w->len + 1;
	writer_write(w, rows32, sizeof(rows32));
	if (w->failed)
		return lm_errf(err, "cannot begin a change set: out of memory");
	return 0;
}

int cs_writer_begin(struct cs_writer *w, const struct cs_header *h, lm_err *err)
{
	memset(w, 0, sizeof(*w));
	return writer_start(w, h, err);
}

int cs_writer_restart(struct cs_writer *w, const struct cs_header *h, lm_err *err)
{
	uint8_t *mem = w->mem;
	size_t cap = w->cap;

	memset(w, 0, sizeof(*w));
	if (mem != NULL) {
		w->mem = mem;
		w->buf = mem + ENV_HEAD_ROOM;
		w->cap = cap;
	}
	return writer_start(w, h, err);
}

static int writer_usable(const struct cs_writer *w, const char *action, lm_err *err)
{
	if (w->sealed)
		return lm_errf(err, "cannot %s: the change set is already sealed", action);
	if (w->failed || w->buf == NULL)
		return lm_errf(err, "cannot %s: the change set writer failed earlier", action);
	return 0;
}

static int row_too_large(const struct cs_writer *w, const struct cs_row *r, size_t need,
			 lm_err *err)
{
	char s[SHOW_MAX];

	if (w->nrows == 0)
		return lm_errf(err,
			       "a row of table '%s' takes %zu bytes, too many for any change set "
			       "(at most %d bytes, envelope included): it cannot be replicated",
			       show(r->table, r->table_len, s), need, CS_MAX_ENVELOPE);
	return lm_errf(err,
		       "the change set is full: with this row of table '%s' (%zu bytes) its "
		       "envelope would take %zu bytes, over the limit of %d; seal it (%zu rows) "
		       "and add the row to the next change set",
		       show(r->table, r->table_len, s), need, envelope_len(w->len + need),
		       CS_MAX_ENVELOPE, w->nrows);
}

int cs_writer_add_row(struct cs_writer *w, const struct cs_row *row, lm_err *err)
{
	size_t need, before = w->len;
	msgpack_packer pk;

	if (writer_usable(w, "add a row", err) < 0)
		return -1;
	if (check_row(row, w->format, err) < 0)
		return lm_err_wrap(err, "cannot add row %zu to the change set", w->nrows + 1);
	/* Packed where it goes, then taken back if it does not fit: one pass
	 * over the row instead of a count and a write. */
	msgpack_packer_init(&pk, w, writer_write);
	pack_row(&pk, row, w);
	need = w->len - before;
	if (w->failed) {
		w->failed = 0; /* the rows before are whole: the writer stays usable */
		w->len = before;
		return lm_errf(err, "cannot add a row to the change set: out of memory");
	}
	if (need > CS_MAX_ENVELOPE || envelope_len(w->len) > CS_MAX_ENVELOPE) {
		w->len = before;
		return row_too_large(w, row, need, err);
	}
	w->nrows++;
	return 0;
}

size_t cs_writer_envelope_size(const struct cs_writer *w)
{
	return envelope_len(w->len);
}

size_t cs_writer_size_with(const struct cs_writer *w, const struct cs_row *row)
{
	return envelope_len(w->len + row_len(row, w));
}

int cs_writer_seal_inplace(struct cs_writer *w, const uint8_t sk[64], const uint8_t **envelope,
			   size_t *len, uint8_t hash[CS_HASH_LEN], lm_err *err)
{
	crypto_generichash_blake2b_state st;
	uint8_t digest[CS_HASH_LEN], m[SIGNED_LEN];
	uint8_t *env, *sig;
	size_t head;

	if (writer_usable(w, "seal the change set", err) < 0)
		return -1;
	if (memcmp(sk + CS_KEY_LEN, w->buf + BODY_ORIGIN_AT, CS_KEY_LEN) != 0)
		return lm_errf(err,
			       "cannot seal the change set: the secret key is not the origin's "
			       "(its public half differs from the header's origin)");
	if (grow(w, SIG_TAIL) < 0)
		return lm_errf(err, "cannot seal the change set: out of memory");
	put_be(w->buf + w->rows_count_at, w->nrows, 4);
	/* [body, sig]: the head goes in the room before the body, the
	 * signature's bin after it. */
	head = 1 + bin_head_len(w->len);
	env = w->buf - head;
	env[0] = 0x92;
	put_bin_head(env + 1, w->len);
	sig = w->buf + w->len + put_bin_head(w->buf + w->len, CS_SIG_LEN);
	hash_body(&st, w->buf, w->len, digest);
	if (signs_digest(w->format)) {
		signed_message(digest, m);
		crypto_sign_ed25519_detached(sig, NULL, m, sizeof(m), sk);
	} else {
		crypto_sign_ed25519_detached(sig, NULL, w->buf, w->len, sk);
	}
	hash_finish(&st, sig, hash);
	w->sealed = 1;
	*envelope = env;
	*len = envelope_len(w->len);
	return 0;
}

int cs_writer_seal(struct cs_writer *w, const uint8_t sk[64], uint8_t **envelope, size_t *len,
		   uint8_t hash[CS_HASH_LEN], lm_err *err)
{
	const uint8_t *view;
	uint8_t *env;
	size_t n;

	if (writer_usable(w, "seal the change set", err) < 0)
		return -1;
	/* Allocated first, so that running out of memory leaves w unsealed. */
	env = malloc(envelope_len(w->len));
	if (env == NULL)
		return lm_errf(err, "cannot seal the change set: out of memory");
	if (cs_writer_seal_inplace(w, sk, &view, &n, hash, err) < 0) {
		free(env);
		return -1;
	}
	memcpy(env, view, n);
	*envelope = env;
	*len = n;
	return 0;
}

void cs_writer_free(struct cs_writer *w)
{
	free(w->mem);
	memset(w, 0, sizeof(*w));
}

/* Skim, then unpack p, which must hold exactly one value. On success the
 * caller destroys u. */
static int unpack_exact(const uint8_t *p, size_t len, size_t max_depth, const char *what,
			msgpack_unpacked *u, lm_err *err)
{
	size_t end = 0, off = 0;

	if (mp_skim(p, len, max_depth, what, &end, err) < 0)
		return -1;
	if (end < len)
		return lm_errf(err, "%zu trailing byte%s after %s", len - end,
			       len - end == 1 ? "" : "s", what);
	msgpack_unpacked_init(u);
	if (msgpack_unpack_next(u, (const char *)p, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    off != len) {
		msgpack_unpacked_destroy(u);
		return lm_errf(err, "%s is not valid msgpack", what);
	}
	return 0;
}

/* ---- Decoding ---- */

/* Where decoded rows go: the arena's next free value and column. */
struct cursor {
	const uint8_t *base; /* the envelope; strings and blobs must lie in it */
	size_t len;
	struct cs_value *values;
	struct cs_col *cols;
	struct cs_base *bases;
	const struct cs_header *h; /* the body's, decoded before its rows */
};

/* Check that a str or bin of msgpack-c points into the input (it does not
 * copy them); a zero-copy guarantee, not a trust in the peer. */
static int inside(const struct cursor *c, const char *p, uint32_t n, lm_err *err)
{
	const uint8_t *q = (const uint8_t *)p;

	if (n == 0 ||
	    (q >= c->base && q <= c->base + c->len && n <= c->len - (size_t)(q - c->base)))
		return 0;
	return lm_errf(err, "msgpack-c copied a string: cannot decode without copying");
}

static int get_uint(const msgpack_object *o, const char *name, uint64_t *out, lm_err *err)
{
	char what[48];

	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return lm_errf(err, "%s must be an integer from 0 to 2^64 - 1, got %s", name,
			       mp_describe(o, what, sizeof(what)));
	*out = o->via.u64;
	return 0;
}

static int get_bin(const msgpack_object *o, const char *name, uint8_t *out, size_t n, lm_err *err)
{
	char what[48];

	if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
		return lm_errf(err, "%s must be a bin of %zu bytes, got %s", name, n,
			       mp_describe(o, what, sizeof(what)));
	memcpy(out, o->via.bin.ptr, n);
	return 0;
}

static int decode_value(const msgpack_object *o, struct cs_value *v, const struct cursor *c,
			lm_err *err)
{
	char what[48];

	memset(v, 0, sizeof(*v));
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		v->type = CS_NIL;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > INT64_MAX)
			return lm_errf(err, "the integer %" PRIu64 " is over 2^63 - 1", o->via.u64);
		v->type = CS_INT;
		v->i = (int64_t)o->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		v->type = CS_INT;
		v->i = o->via.i64;
		return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		v->type = CS_REAL;
		v->r = o->via.f64;
		return check_value(v, err);
	case MSGPACK_OBJECT_STR:
		v->type = CS_TEXT;
		v->p = (const uint8_t *)o->via.str.ptr;
		v->len = o->via.str.size;
		return inside(c, o->via.str.ptr, o->via.str.size, err);
	case MSGPACK_OBJECT_BIN:
		v->type = CS_BLOB;
		v->p = (const uint8_t *)o->via.bin.ptr;
		v->len = o->via.bin.size;
		return inside(c, o->via.bin.ptr, o->via.bin.size, err);
	default:
		break;
	}
	return lm_errf(err, "a value must be nil, an integer, a float, a str or a bin, got %s",
		       mp_describe(o, what, sizeof(what)));
}

static int decode_pk(const msgpack_object *o, struct cs_row *r, struct cursor *c, lm_err *err)
{
	char what[48];
	uint32_t i;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return lm_errf(err, "the pk must be an array, got %s",
			       mp_describe(o, what, sizeof(what)));
	r->pk = c->values;
	r->npk = o->via.array.size;
	for (i = 0; i < o->via.array.size; i++)
		if (decode_value(&o->via.array.ptr[i], c->values++, c, err) < 0)
			return lm_err_wrap(err, "pk value %" PRIu32, i + 1);
	return 0;
}

static int decode_cols(const msgpack_object *o, struct cs_row *r, struct cursor *c, lm_err *err)
{
	const msgpack_object_kv *kv;
	struct cs_col *col;
	char what[48];
	uint32_t i;

	if (o->type != MSGPACK_OBJECT_MAP)
		return lm_errf(err, "cols must be a map, got %s",
			       mp_describe(o, what, sizeof(what)));
	r->cols = c->cols;
	r->ncols = o->via.map.size;
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		col = c->cols++;
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return lm_errf(err, "column %" PRIu32 ": the name must be a str, got %s",
				       i + 1, mp_describe(&kv->key, what, sizeof(what)));
		col->name = kv->key.via.str.ptr;
		col->name_len = kv->key.via.str.size;
		if (inside(c, col->name, kv->key.via.str.size, err) < 0 ||
		    decode_value(&kv->val, &col->value, c, err) < 0)
			return lm_err_wrap(err, "column %" PRIu32, i + 1);
	}
	return 0;
}

/* A base clock: bin 8, the hlc of a value the change set's origin wrote,
 * or bin 40, hlc and origin. */
static int decode_clock(const msgpack_object *o, const char *what, struct cs_base *b,
			const struct cursor *c, lm_err *err)
{
	const uint8_t *p = (const uint8_t *)o->via.bin.ptr;
	size_t k;

	if (o->via.bin.size != OWN_CLOCK_LEN && o->via.bin.size != CS_CLOCK_LEN)
		return lm_errf(err,
			       "%s must be a bin of 8 bytes (hlc) or 40 (hlc, origin), got a bin "
			       "of %" PRIu32 " bytes",
			       what, o->via.bin.size);
	b->held = 1;
	for (k = 0, b->hlc = 0; k < OWN_CLOCK_LEN; k++)
		b->hlc = b->hlc << 8 | p[k];
	memcpy(b->origin, o->via.bin.size == OWN_CLOCK_LEN ? c->h->origin : p + OWN_CLOCK_LEN,
	       CS_KEY_LEN);
	return 0;
}

/* An entry of a bases array: nil (none held), a clock, or the index of an
 * earlier entry that is a clock. */
static int decode_base_entry(const msgpack_object *entries, size_t i, struct cs_base *bases,
			     const struct cursor *c, lm_err *err)
{
	const msgpack_object *e = &entries[i];
	char what[48], name[32];
	uint64_t k;

	switch (e->type) {
	case MSGPACK_OBJECT_NIL:
		memset(&bases[i], 0, sizeof(bases[i]));
		return 0;
	case MSGPACK_OBJECT_BIN:
		snprintf(name, sizeof(name), "bases[%zu]", i);
		return decode_clock(e, name, &bases[i], c, err);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		k = e->via.u64;
		if (k >= i)
			return lm_errf(err,
				       "bases[%zu] refers to bases[%" PRIu64 "]; an entry may only "
				       "refer to an earlier one",
				       i, k);
		if (entries[k].type != MSGPACK_OBJECT_BIN)
			return lm_errf(err,
				       "bases[%zu] refers to bases[%" PRIu64 "], which is not a "
				       "clock (a bin)",
				       i, k);
		bases[i] = bases[k];
		return 0;
	default:
		break;
	}
	return lm_errf(err, "bases[%zu] must be nil, a bin or an index, got %s", i,
		       mp_describe(e, what, sizeof(what)));
}

/* bases: one clock for every column, or an array of one entry per column. */
static int decode_bases(const msgpack_object *o, struct cs_row *r, struct cursor *c, lm_err *err)
{
	struct cs_base *bases = c->bases;
	char what[48];
	size_t i;

	if (r->ncols == 0)
		return lm_errf(err, "the row has bases but no columns; a row without columns has "
				    "4 elements");
	if (o->type == MSGPACK_OBJECT_BIN) {
		if (decode_clock(o, "bases", &bases[0], c, err) < 0)
			return -1;
		for (i = 1; i < r->ncols; i++)
			bases[i] = bases[0];
	} else if (o->type != MSGPACK_OBJECT_ARRAY) {
		return lm_errf(err, "bases must be a bin or an array, got %s",
			       mp_describe(o, what, sizeof(what)));
	} else if (o->via.array.size != r->ncols) {
		return lm_errf(err,
			       "bases has %" PRIu32 " entries for %zu columns; it has one per "
			       "column",
			       o->via.array.size, r->ncols);
	} else {
		for (i = 0; i < r->ncols; i++)
			if (decode_base_entry(o->via.array.ptr, i, bases, c, err) < 0)
				return -1;
	}
	r->bases = bases;
	c->bases += r->ncols;
	return 0;
}

static size_t row_items(const msgpack_object *o, uint64_t format)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return 0;
	if (o->via.array.size == ROW_ITEMS ||
	    (o->via.array.size == ROW_ITEMS_BASE && format != CS_FORMAT_V1))
		return o->via.array.size;
	return 0;
}

static int decode_row(const msgpack_object *o, struct cs_row *r, struct cursor *c, lm_err *err)
{
	const msgpack_object *f;
	char what[48];
	size_t items = row_items(o, c->h->format);

	memset(r, 0, sizeof(*r));
	if (items == 0 && c->h->format == CS_FORMAT_V1 && o->type == MSGPACK_OBJECT_ARRAY &&
	    o->via.array.size == ROW_ITEMS_BASE)
		return lm_errf(err, "a row of format 1 must be an array of 4 (table, pk, cl, "
				    "cols), got an array of 5: bases came with format 2");
	if (items == 0 && c->h->format == CS_FORMAT_V1)
		return lm_errf(err, "a row must be an array of 4 (table, pk, cl, cols), got %s",
			       mp_describe(o, what, sizeof(what)));
	if (items == 0)
		return lm_errf(err,
			       "a row must be an array of 4 (table, pk, cl, cols) or 5 (and "
			       "bases), got %s",
			       mp_describe(o, what, sizeof(what)));
	f = o->via.array.ptr;
	if (f[0].type != MSGPACK_OBJECT_STR)
		return lm_errf(err, "the table must be a str, got %s",
			       mp_describe(&f[0], what, sizeof(what)));
	r->table = f[0].via.str.ptr;
	r->table_len = f[0].via.str.size;
	if (inside(c, r->table, f[0].via.str.size, err) < 0 || decode_pk(&f[1], r, c, err) < 0 ||
	    get_uint(&f[2], "cl", &r->cl, err) < 0 || decode_cols(&f[3], r, c, err) < 0)
		return -1;
	if (check_row(r, c->h->format, err) < 0)
		return -1;
	return items == ROW_ITEMS_BASE ? decode_bases(&f[4], r, c, err) : 0;
}

/* One allocation for every row, pk value, column and base the rows
 * announce (a base per column of a row with bases). */
static int alloc_arena(const msgpack_object_array *rows, struct changeset *cs, struct cursor *c,
		       lm_err *err)
{
	size_t nvalues = 0, ncols = 0, nbases = 0, i, n, bytes, at;
	const msgpack_object *f;
	uint8_t *arena;

	for (i = 0; i < rows->size; i++) {
		n = row_items(&rows->ptr[i], cs->h.format);
		if (n == 0)
			continue;
		f = rows->ptr[i].via.array.ptr;
		nvalues += f[1].type == MSGPACK_OBJECT_ARRAY ? f[1].via.array.size : 0;
		ncols += f[3].type == MSGPACK_OBJECT_MAP ? f[3].via.map.size : 0;
		if (n == ROW_ITEMS_BASE && f[3].type == MSGPACK_OBJECT_MAP)
			nbases += f[3].via.map.size;
	}
	bytes = rows->size * sizeof(struct cs_row) + nvalues * sizeof(struct cs_value) +
		ncols * sizeof(struct cs_col) + nbases * sizeof(struct cs_base);
	if (bytes == 0)
		return 0;
	arena = malloc(bytes);
	if (arena == NULL)
		return lm_errf(err, "out of memory for %" PRIu32 " rows", rows->size);
	cs->arena = arena;
	cs->rows = (struct cs_row *)arena;
	at = rows->size * sizeof(struct cs_row);
	c->values = (struct cs_value *)(arena + at);
	at += nvalues * sizeof(struct cs_value);
	c->cols = (struct cs_col *)(arena + at);
	at += ncols * sizeof(struct cs_col);
	c->bases = (struct cs_base *)(arena + at);
	return 0;
}

static int decode_rows(const msgpack_object *o, struct changeset *cs, struct cursor *c, lm_err *err)
{
	char what[48];
	uint32_t i;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return lm_errf(err, "rows must be an array, got %s",
			       mp_describe(o, what, sizeof(what)));
	if (alloc_arena(&o->via.array, cs, c, err) < 0)
		return -1;
	for (i = 0; i < o->via.array.size; i++)
		if (decode_row(&o->via.array.ptr[i], &cs->rows[i], c, err) < 0)
			return lm_err_wrap(err, "row %" PRIu32, i + 1);
	cs->nrows = o->via.array.size;
	return 0;
}

static int decode_scope(const msgpack_object *o, struct cs_header *h, lm_err *err)
{
	char what[48];

	if (o->type != MSGPACK_OBJECT_STR)
		return lm_errf(err, "the scope must be a str, got %s",
			       mp_describe(o, what, sizeof(what)));
	if (cs_scope_check(o->via.str.ptr, o->via.str.size, err) < 0)
		return -1;
	memcpy(h->scope, o->via.str.ptr, o->via.str.size);
	h->scope[o->via.str.size] = '\0';
	return 0;
}

static int decode_header(const msgpack_object *o, struct cs_header *h, lm_err *err)
{
	const msgpack_object *f;
	uint64_t format = 0;
	char what[48];

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != BODY_ITEMS)
		return lm_errf(err,
			       "the body must be an array of 7 (format, origin, scope, seq, hlc, "
			       "prev, rows), got %s",
			       mp_describe(o, what, sizeof(what)));
	f = o->via.array.ptr;
	if (get_uint(&f[0], "the format", &format, err) < 0)
		return -1;
	if (format < CS_FORMAT_V1 || format > CS_FORMAT)
		return lm_errf(err,
			       "format %" PRIu64 " is not known here: this site reads formats %d "
			       "to %d",
			       format, CS_FORMAT_V1, CS_FORMAT);
	h->format = format;
	if (get_bin(&f[1], "the origin", h->origin, CS_KEY_LEN, err) < 0 ||
	    decode_scope(&f[2], h, err) < 0 || get_uint(&f[3], "seq", &h->seq, err) < 0 ||
	    get_uint(&f[4], "the hlc", &h->hlc, err) < 0 ||
	    get_bin(&f[5], "prev", h->prev, CS_HASH_LEN, err) < 0)
		return -1;
	return check_seq_prev(h, err);
}

static int decode_body(struct changeset *cs, struct cursor *c, lm_err *err)
{
	msgpack_unpacked u;
	int rc;

	if (unpack_exact(cs->body, cs->body_len, BODY_DEPTH, "the body", &u, err) < 0)
		return -1;
	rc = decode_header(&u.data, &cs->h, err);
	if (rc == 0)
		rc = decode_rows(&u.data.via.array.ptr[BODY_ITEMS - 1], cs, c, err);
	msgpack_unpacked_destroy(&u);
	return rc;
}

static int decode_envelope(struct changeset *cs, const struct cursor *c, lm_err *err)
{
	const msgpack_object *f;
	msgpack_unpacked u;
	char what[48];
	int rc = -1;

	if (unpack_exact(c->base, c->len, ENVELOPE_DEPTH, "the envelope", &u, err) < 0)
		return -1;
	f = u.data.via.array.ptr;
	if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 2)
		lm_errf(err, "the envelope must be an array of 2 (body, signature), got %s",
			mp_describe(&u.data, what, sizeof(what)));
	else if (f[0].type != MSGPACK_OBJECT_BIN || f[0].via.bin.size == 0)
		lm_errf(err, "the body must be a bin, got %s",
			mp_describe(&f[0], what, sizeof(what)));
	else if (get_bin(&f[1], "the signature", cs->sig, CS_SIG_LEN, err) == 0 &&
		 inside(c, f[0].via.bin.ptr, f[0].via.bin.size, err) == 0) {
		cs->body = (const uint8_t *)f[0].via.bin.ptr;
		cs->body_len = f[0].via.bin.size;
		rc = 0;
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

int changeset_decode(const uint8_t *envelope, size_t len, struct changeset *cs, lm_err *err)
{
	struct cursor c = {envelope, len, NULL, NULL, NULL, &cs->h};

	memset(cs, 0, sizeof(*cs));
	if (len == 0)
		return lm_errf(err, "the change set is empty");
	if (len > CS_MAX_ENVELOPE)
		return lm_errf(err, "the change set has %zu bytes, over the limit of %d", len,
			       CS_MAX_ENVELOPE);
	if (decode_envelope(cs, &c, err) < 0 || decode_body(cs, &c, err) < 0) {
		changeset_free(cs);
		return -1;
	}
	{
		crypto_generichash_blake2b_state st;

		hash_body(&st, cs->body, cs->body_len, cs->digest);
		hash_finish(&st, cs->sig, cs->hash);
	}
	return 0;
}

void changeset_free(struct changeset *cs)
{
	free(cs->arena);
	memset(cs, 0, sizeof(*cs));
}

/* ---- Verifying ---- */

int changeset_verify(const struct changeset *cs, lm_err *err)
{
	char id[SITEID_TEXT_LEN + 1];
	uint8_t m[SIGNED_LEN];
	int rc;

	if (cs == NULL || cs->body == NULL)
		return lm_errf(err, "not a decoded change set");
	if (signs_digest(cs->h.format)) {
		signed_message(cs->digest, m);
		rc = crypto_sign_ed25519_verify_detached(cs->sig, m, sizeof(m), cs->h.origin);
	} else {
		rc = crypto_sign_ed25519_verify_detached(cs->sig, cs->body, cs->body_len,
							 cs->h.origin);
	}
	if (rc == 0)
		return 0;
	siteid_to_text(cs->h.origin, id);
	return lm_errf(err,
		       "the signature of change set seq %" PRIu64 " of site %s in scope '%s' is "
		       "not valid: altered in transit or not made by that site",
		       cs->h.seq, id, cs->h.scope);
}

/* Member i of a run (of n) belongs to the run's origin and scope and links
 * to the member before it, or to prev_hash. */
static int check_link(const struct changeset *const *cs, size_t i, size_t n,
		      const uint8_t prev_hash[CS_HASH_LEN], lm_err *err)
{
	const struct changeset *c = cs[i];
	char a[SITEID_SHORT_LEN + 1], b[SITEID_SHORT_LEN + 1];

	if (c == NULL || c->body == NULL)
		return lm_errf(err, "run member %zu of %zu is not a decoded change set", i + 1, n);
	if (memcmp(c->h.origin, cs[0]->h.origin, CS_KEY_LEN) != 0) {
		siteid_to_short(c->h.origin, a);
		siteid_to_short(cs[0]->h.origin, b);
		return lm_errf(err,
			       "run member %zu of %zu (seq %" PRIu64 ") is from site %s, not "
			       "the run's origin %s",
			       i + 1, n, c->h.seq, a, b);
	}
	if (strcmp(c->h.scope, cs[0]->h.scope) != 0)
		return lm_errf(err,
			       "run member %zu of %zu (seq %" PRIu64 ") is in scope '%s', not "
			       "the run's scope '%s'",
			       i + 1, n, c->h.seq, c->h.scope, cs[0]->h.scope);
	if (i == 0 && memcmp(c->h.prev, prev_hash, CS_HASH_LEN) != 0)
		return lm_errf(err,
			       "the run's first change set (seq %" PRIu64 ") does not follow "
			       "the hash held for seq %" PRIu64 ": its prev differs (a fork?)",
			       c->h.seq, c->h.seq - 1);
	if (i == 0)
		return 0;
	if (c->h.seq != cs[i - 1]->h.seq + 1)
		return lm_errf(err,
			       "run member %zu of %zu has seq %" PRIu64 " after seq %" PRIu64
			       ": a run is consecutive (one is missing or out of order)",
			       i + 1, n, c->h.seq, cs[i - 1]->h.seq);
	if (memcmp(c->h.prev, cs[i - 1]->hash, CS_HASH_LEN) != 0)
		return lm_errf(err,
			       "the link from seq %" PRIu64 " to seq %" PRIu64 " (run member "
			       "%zu of %zu) is broken: its prev is not the hash of seq %" PRIu64,
			       cs[i - 1]->h.seq, c->h.seq, i + 1, n, cs[i - 1]->h.seq);
	return 0;
}

int changeset_verify_run(const struct changeset *const *cs, size_t n,
			 const uint8_t prev_hash[CS_HASH_LEN], lm_err *err)
{
	size_t i;

	if (cs == NULL || n == 0)
		return lm_errf(err, "an empty run of change sets verifies nothing");
	for (i = 0; i < n; i++)
		if (check_link(cs, i, n, prev_hash, err) < 0)
			return -1;
	if (changeset_verify(cs[n - 1], err) < 0)
		return lm_err_wrap(err, "run member %zu of %zu, the last", n, n);
	return 0;
}

/* ---- Ordering ---- */

static int type_rank(enum cs_type t)
{
	switch (t) {
	case CS_NIL:
		return 0;
	case CS_INT:
	case CS_REAL:
		return 1;
	case CS_TEXT:
		return 2;
	case CS_BLOB:
		return 3;
	}
	return 4;
}

static int cmp_int(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

/* Reals; a NaN (never decoded or written, SQLite has none) sorts below
 * every number so the order stays total. */
static int cmp_real(double a, double b)
{
	int na = isnan(a) != 0, nb = isnan(b) != 0;

	if (na || nb)
		return nb - na;
	return (a > b) - (a < b);
}

/* An integer against a real, exactly (as SQLite's sqlite3IntFloatCompare):
 * neither is converted where the conversion could round. */
static int cmp_int_real(int64_t i, double r)
{
	int64_t y;

	if (isnan(r))
		return 1;
	if (r < -9223372036854775808.0)
		return 1;
	if (r >= 9223372036854775808.0)
		return -1;
	y = (int64_t)r;
	if (i != y)
		return cmp_int(i, y);
	return cmp_real((double)i, r);
}

static int cmp_bytes(const struct cs_value *a, const struct cs_value *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n > 0 ? memcmp(a->p, b->p, n) : 0;

	if (c != 0)
		return c < 0 ? -1 : 1;
	return (a->len > b->len) - (a->len < b->len);
}

int cs_value_cmp(const struct cs_value *a, const struct cs_value *b)
{
	int ra = type_rank(a->type), rb = type_rank(b->type);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra == 1) {
		if (a->type == CS_INT && b->type == CS_INT)
			return cmp_int(a->i, b->i);
		if (a->type == CS_REAL && b->type == CS_REAL)
			return cmp_real(a->r, b->r);
		if (a->type == CS_INT)
			return cmp_int_real(a->i, b->r);
		return -cmp_int_real(b->i, a->r);
	}
	if (ra == 2 || ra == 3)
		return cmp_bytes(a, b);
	return 0;
}
