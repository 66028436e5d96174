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
 * input whatever the peer sends.
 *
 * HEADS maps and the envelope array of sets are not turned into objects for
 * the caller: they stay bytes in the message, walked by iterators over a
 * small bounds-checked reader (raw_*). The decoder validates them by walking
 * those same iterators to the end, so an iterator cannot fail on a message
 * msg_decode accepted. */
#include "proto/msg.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "proto/changeset.h"
#include "proto/mp.h"
#include "proto/noise.h"

_Static_assert(MSG_MAX == NOISE_MAX_PAYLOAD_LEN, "a message is one transport plaintext");
_Static_assert(MSG_SETS_ENVELOPE_MAX == CS_MAX_ENVELOPE, "sets carry whole change sets");
_Static_assert(MSG_SETS_OVERHEAD + 3 + MSG_SETS_ENVELOPE_MAX <= MSG_MAX,
	       "the largest change set fits one sets message");

/* ---- Reading raw msgpack ---- */

enum raw_kind {
	RAW_NIL,
	RAW_BOOL,
	RAW_UINT, /* any integer family holding a value >= 0 */
	RAW_NEG,  /* any integer family holding a value < 0 */
	RAW_FLOAT,
	RAW_STR,
	RAW_BIN,
	RAW_EXT,
	RAW_ARRAY,
	RAW_MAP
};

struct raw {
	enum raw_kind kind;
	uint64_t u;	     /* RAW_UINT; RAW_BOOL 0 or 1 */
	int64_t i;	     /* RAW_NEG */
	uint32_t n;	     /* bytes of a str, bin or ext; elements of an array or map */
	const uint8_t *body; /* of a str, bin or ext */
};

static uint64_t get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

/* Read the value at *pp (before end): its header, and the body of a str, bin
 * or ext; *pp then points past them (to the elements of an array or map).
 * -1, *pp unchanged, when the bytes end first or the byte is 0xc1. Integers
 * are classified by value, not family, as msgpack-c does. */
static int raw_read(const uint8_t **pp, const uint8_t *end, struct raw *r)
{
	const uint8_t *p = *pp;
	size_t left = (size_t)(end - p), w = 0, head;
	int ext = 0, sign = 0;
	uint64_t v;
	uint8_t b;

	memset(r, 0, sizeof(*r));
	if (left == 0)
		return -1;
	b = p[0];
	if (b <= 0x7f) {
		r->kind = RAW_UINT;
		r->u = b;
	} else if (b >= 0xe0) {
		r->kind = RAW_NEG;
		r->i = (int8_t)b;
	} else if (b <= 0x8f) {
		r->kind = RAW_MAP;
		r->n = b & 0x0fu;
	} else if (b <= 0x9f) {
		r->kind = RAW_ARRAY;
		r->n = b & 0x0fu;
	} else if (b <= 0xbf) {
		r->kind = RAW_STR;
		r->n = b & 0x1fu;
	} else if (b == 0xc0) {
		r->kind = RAW_NIL;
	} else if (b == 0xc2 || b == 0xc3) {
		r->kind = RAW_BOOL;
		r->u = b & 1u;
	} else if (b >= 0xc4 && b <= 0xc6) {
		r->kind = RAW_BIN;
		w = (size_t)1 << (b - 0xc4);
	} else if (b >= 0xc7 && b <= 0xc9) {
		r->kind = RAW_EXT;
		w = (size_t)1 << (b - 0xc7);
		ext = 1;
	} else if (b == 0xca || b == 0xcb) {
		r->kind = RAW_FLOAT;
		w = b == 0xca ? 4 : 8;
	} else if (b >= 0xcc && b <= 0xcf) {
		r->kind = RAW_UINT;
		w = (size_t)1 << (b - 0xcc);
	} else if (b >= 0xd0 && b <= 0xd3) {
		r->kind = RAW_NEG;
		w = (size_t)1 << (b - 0xd0);
		sign = 1;
	} else if (b >= 0xd4 && b <= 0xd8) {
		r->kind = RAW_EXT;
		r->n = 1u << (b - 0xd4);
		ext = 1;
	} else if (b >= 0xd9 && b <= 0xdb) {
		r->kind = RAW_STR;
		w = (size_t)1 << (b - 0xd9);
	} else if (b == 0xdc || b == 0xdd) {
		r->kind = RAW_ARRAY;
		w = b == 0xdc ? 2 : 4;
	} else if (b == 0xde || b == 0xdf) {
		r->kind = RAW_MAP;
		w = b == 0xde ? 2 : 4;
	} else {
		return -1; /* 0xc1, never used */
	}
	head = 1 + w + (size_t)ext;
	if (left < head)
		return -1;
	v = get_be(p + 1, w);
	if (r->kind == RAW_UINT && w > 0) {
		r->u = v;
	} else if (sign) {
		/* Sign-extend the w-byte two's complement value. */
		if (w < 8 && (v >> (8 * w - 1)) & 1)
			v |= ~(uint64_t)0 << (8 * w);
		if ((v >> 63) == 0) {
			r->kind = RAW_UINT;
			r->u = v;
		} else {
			r->i = (int64_t)v;
		}
	} else if (r->kind != RAW_FLOAT && w > 0) {
		r->n = (uint32_t)v; /* w <= 4 for lengths and counts */
	}
	if (r->kind == RAW_STR || r->kind == RAW_BIN || r->kind == RAW_EXT) {
		if (left - head < r->n)
			return -1;
		r->body = p + head;
		head += r->n;
	}
	*pp = p + head;
	return 0;
}

/* What a value is, in the words of mp_describe. */
static const char *raw_describe(const struct raw *r, char *buf, size_t cap)
{
	switch (r->kind) {
	case RAW_NIL:
		return "nil";
	case RAW_BOOL:
		return r->u ? "true" : "false";
	case RAW_UINT:
		snprintf(buf, cap, "%" PRIu64, r->u);
		return buf;
	case RAW_NEG:
		snprintf(buf, cap, "%" PRId64, r->i);
		return buf;
	case RAW_FLOAT:
		return "a float";
	case RAW_STR:
	case RAW_BIN:
	case RAW_EXT:
		snprintf(buf, cap, "%s of %" PRIu32 " byte%s",
			 r->kind == RAW_STR   ? "a str"
			 : r->kind == RAW_BIN ? "a bin"
					      : "an ext",
			 r->n, r->n == 1 ? "" : "s");
		return buf;
	case RAW_ARRAY:
		snprintf(buf, cap, "an array of %" PRIu32, r->n);
		return buf;
	case RAW_MAP:
		snprintf(buf, cap, "a map of %" PRIu32, r->n);
		return buf;
	}
	return "an unknown msgpack type";
}

/* ---- Scopes ---- */

/* ---- HEADS ---- */

void msg_heads_iter_begin(struct msg_heads_iter *it, const struct msg_heads *h)
{
	memset(it, 0, sizeof(*it));
	/* p == end: an empty vector, not a malformed one. */
	if (h == NULL || h->len == 0)
		it->state = 1;
	else if (h->p == NULL)
		it->state = 2;
	else {
		it->p = h->p;
		it->end = h->p + h->len;
	}
}

/* Open the next scope's array; 1 when there is one, 0 at the end. */
static int heads_open_scope(struct msg_heads_iter *it, lm_err *err)
{
	struct raw r;
	char what[48];

	if (it->scopes_left == 0) {
		if (it->p != it->end)
			return lm_errf(err, "%zu byte%s after the map", (size_t)(it->end - it->p),
				       it->end - it->p == 1 ? "" : "s");
		return 0;
	}
	if (raw_read(&it->p, it->end, &r) < 0)
		return lm_errf(err, "the map is cut short in key %" PRIu32, it->scope_no + 1);
	if (r.kind != RAW_STR)
		return lm_errf(err, "map key %" PRIu32 " must be a scope (a str), got %s",
			       it->scope_no + 1, raw_describe(&r, what, sizeof(what)));
	if (cs_scope_check((const char *)r.body, r.n, err) < 0)
		return lm_err_wrap(err, "map key %" PRIu32, it->scope_no + 1);
	it->scope = (const char *)r.body;
	it->scope_len = r.n;
	it->scope_no++;
	it->entry_no = 0;
	it->scopes_left--;
	if (raw_read(&it->p, it->end, &r) < 0)
		return lm_errf(err, "scope '%.*s': the map is cut short", (int)it->scope_len,
			       it->scope);
	if (r.kind != RAW_ARRAY)
		return lm_errf(err, "scope '%.*s' must map to an array of [origin, seq], got %s",
			       (int)it->scope_len, it->scope, raw_describe(&r, what, sizeof(what)));
	it->entries_left = r.n;
	return 1;
}

/* msg_heads_next without the bookkeeping of failure. */
static int heads_step(struct msg_heads_iter *it, const uint8_t **origin, uint64_t *seq, lm_err *err)
{
	struct raw r;
	char what[48];
	int rc, sl;

	if (it->state == 0) {
		if (raw_read(&it->p, it->end, &r) < 0)
			return lm_errf(err, "the heads are cut short");
		if (r.kind != RAW_MAP)
			return lm_errf(err, "the heads must be a map, got %s",
				       raw_describe(&r, what, sizeof(what)));
		it->scopes_left = r.n;
		it->state = 1;
	}
	while (it->entries_left == 0) {
		rc = heads_open_scope(it, err);
		if (rc <= 0)
			return rc;
	}
	it->entries_left--;
	it->entry_no++;
	sl = (int)it->scope_len;
	if (raw_read(&it->p, it->end, &r) < 0)
		return lm_errf(err, "scope '%.*s', entry %" PRIu32 ": cut short", sl, it->scope,
			       it->entry_no);
	if (r.kind != RAW_ARRAY || r.n != 2)
		return lm_errf(err,
			       "scope '%.*s', entry %" PRIu32
			       ": an entry is an array of 2 (origin, seq), got %s",
			       sl, it->scope, it->entry_no, raw_describe(&r, what, sizeof(what)));
	if (raw_read(&it->p, it->end, &r) < 0)
		return lm_errf(err, "scope '%.*s', entry %" PRIu32 ": cut short in the origin", sl,
			       it->scope, it->entry_no);
	if (r.kind != RAW_BIN || r.n != CS_KEY_LEN)
		return lm_errf(err,
			       "scope '%.*s', entry %" PRIu32
			       ": the origin must be %d bytes of binary, got %s",
			       sl, it->scope, it->entry_no, CS_KEY_LEN,
			       raw_describe(&r, what, sizeof(what)));
	*origin = r.body;
	if (raw_read(&it->p, it->end, &r) < 0)
		return lm_errf(err, "scope '%.*s', entry %" PRIu32 ": cut short in the seq", sl,
			       it->scope, it->entry_no);
	if (r.kind != RAW_UINT)
		return lm_errf(err,
			       "scope '%.*s', entry %" PRIu32
			       ": the seq must be an integer from 0 to 2^64 - 1, got %s",
			       sl, it->scope, it->entry_no, raw_describe(&r, what, sizeof(what)));
	*seq = r.u;
	return 1;
}

int msg_heads_next(struct msg_heads_iter *it, const char **scope, size_t *scope_len,
		   const uint8_t **origin, uint64_t *seq, lm_err *err)
{
	const uint8_t *o;
	uint64_t s;
	int rc;

	/* A failure is final: the position inside the map is lost. */
	if (it->state == 2)
		return lm_errf(err, "the heads are malformed");
	rc = heads_step(it, &o, &s, err);
	if (rc < 0) {
		it->state = 2;
		return -1;
	}
	if (rc == 1) {
		*scope = it->scope;
		*scope_len = it->scope_len;
		*origin = o;
		*seq = s;
	}
	return rc;
}

/* Walk h to the end: every entry well formed, nothing after the map. */
static int heads_check(const struct msg_heads *h, lm_err *err)
{
	struct msg_heads_iter it;
	const char *scope;
	const uint8_t *origin;
	size_t scope_len;
	uint64_t seq;
	int rc;

	msg_heads_iter_begin(&it, h);
	while ((rc = msg_heads_next(&it, &scope, &scope_len, &origin, &seq, err)) == 1)
		;
	return rc;
}

void msg_heads_writer_begin(struct msg_heads_writer *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	/* len 0 marks a writer too small for even the map header. */
	if (buf != NULL && cap >= 5) {
		buf[0] = 0xdf; /* map 32, the count kept current by add */
		put_be(buf + 1, 0, 4);
		w->len = 5;
	}
}

/* Bytes of the shortest uint encoding of v. */
static size_t uint_size(uint64_t v)
{
	return v <= 0x7f ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffff ? 5 : 9;
}

static size_t put_uint(uint8_t *p, uint64_t v)
{
	size_t n = uint_size(v);

	if (n == 1) {
		p[0] = (uint8_t)v;
		return 1;
	}
	p[0] = n == 2 ? 0xcc : n == 3 ? 0xcd : n == 5 ? 0xce : 0xcf;
	put_be(p + 1, v, n - 1);
	return n;
}

int msg_heads_writer_add(struct msg_heads_writer *w, const char *scope, const uint8_t origin[32],
			 uint64_t seq, lm_err *err)
{
	size_t n, need, entry = 3 + CS_KEY_LEN + uint_size(seq);
	int same;

	if (scope == NULL || origin == NULL)
		return lm_errf(err, "cannot add to the heads: no %s", scope ? "origin" : "scope");
	n = strlen(scope);
	same = w->nscopes > 0 && n == w->scope_len && memcmp(w->buf + w->scope_at, scope, n) == 0;
	if (!same && cs_scope_check(scope, n, err) < 0)
		return lm_err_wrap(err, "cannot add to the heads");
	/* A new scope: its key (str header of 1 or 2 bytes, scope <= 128 bytes)
	 * and an array 32 header before the entry. */
	need = same ? entry : (n < 32 ? 1 : 2) + n + 5 + entry;
	if (w->len == 0 || need > w->cap - w->len ||
	    (same ? w->nentries : w->nscopes) == UINT32_MAX)
		return 1;
	if (!same) {
		if (n < 32) {
			w->buf[w->len++] = (uint8_t)(0xa0 | n);
		} else {
			w->buf[w->len++] = 0xd9;
			w->buf[w->len++] = (uint8_t)n;
		}
		w->scope_at = w->len;
		w->scope_len = n;
		memcpy(w->buf + w->len, scope, n);
		w->len += n;
		w->array_at = w->len;
		w->buf[w->len] = 0xdd; /* array 32, the count kept current below */
		put_be(w->buf + w->len + 1, 0, 4);
		w->len += 5;
		w->nentries = 0;
		put_be(w->buf + 1, ++w->nscopes, 4);
	}
	w->buf[w->len++] = 0x92;
	w->buf[w->len++] = 0xc4;
	w->buf[w->len++] = CS_KEY_LEN;
	memcpy(w->buf + w->len, origin, CS_KEY_LEN);
	w->len += CS_KEY_LEN;
	w->len += put_uint(w->buf + w->len, seq);
	put_be(w->buf + w->array_at + 1, ++w->nentries, 4);
	w->count++;
	return 0;
}

size_t msg_heads_writer_finish(struct msg_heads_writer *w)
{
	/* The counts are current after every add: nothing is left to patch. */
	return w->len;
}

size_t msg_heads_writer_count(const struct msg_heads_writer *w)
{
	return w->count;
}

/* ---- sets ---- */

void msg_sets_iter_begin(struct msg_sets_iter *it, const struct msg_sets *s)
{
	memset(it, 0, sizeof(*it));
	if (s == NULL || s->len == 0)
		it->state = 1; /* nothing to walk */
	else if (s->p == NULL)
		it->state = 2;
	else {
		it->p = s->p;
		it->end = s->p + s->len;
	}
}

/* msg_sets_next without the bookkeeping of failure. */
static int sets_step(struct msg_sets_iter *it, const uint8_t **env, size_t *len, lm_err *err)
{
	struct raw r;
	char what[48];

	if (it->state == 0) {
		if (raw_read(&it->p, it->end, &r) < 0)
			return lm_errf(err, "the array of change sets is cut short");
		if (r.kind != RAW_ARRAY)
			return lm_errf(err, "the change sets must be an array, got %s",
				       raw_describe(&r, what, sizeof(what)));
		it->left = r.n;
		it->state = 1;
	}
	if (it->left == 0) {
		if (it->p != it->end)
			return lm_errf(err, "%zu byte%s after the array of change sets",
				       (size_t)(it->end - it->p), it->end - it->p == 1 ? "" : "s");
		return 0;
	}
	it->left--;
	it->no++;
	if (raw_read(&it->p, it->end, &r) < 0)
		return lm_errf(err, "change set %" PRIu32 " is cut short", it->no);
	if (r.kind != RAW_BIN || r.n == 0 || r.n > MSG_SETS_ENVELOPE_MAX)
		return lm_errf(err, "change set %" PRIu32 " must be a bin of 1 to %d bytes, got %s",
			       it->no, MSG_SETS_ENVELOPE_MAX, raw_describe(&r, what, sizeof(what)));
	*env = r.body;
	*len = r.n;
	return 1;
}

int msg_sets_next(struct msg_sets_iter *it, const uint8_t **env, size_t *len, lm_err *err)
{
	int rc;

	/* A failure is final: the position inside the array is lost. */
	if (it->state == 2)
		return lm_errf(err, "the change sets are malformed");
	rc = sets_step(it, env, len, err);
	if (rc < 0)
		it->state = 2;
	return rc;
}

static const uint8_t sets_head[MSG_SETS_OVERHEAD] = {0x92, 0xa4, 's',  'e',  't', 's',
						     0xdd, 0x00, 0x00, 0x00, 0x00};

void msg_sets_writer_begin(struct msg_sets_writer *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap < MSG_MAX ? cap : MSG_MAX;
	/* len 0 marks a writer too small for even the message's head. */
	if (buf != NULL && w->cap >= sizeof(sets_head)) {
		memcpy(buf, sets_head, sizeof(sets_head));
		w->len = sizeof(sets_head);
	}
}

int msg_sets_writer_add(struct msg_sets_writer *w, const uint8_t *env, size_t len, lm_err *err)
{
	size_t head = len < 256 ? 2 : 3;

	if (env == NULL)
		return lm_errf(err, "cannot add a change set to a sets message: no bytes given");
	if (len == 0 || len > MSG_SETS_ENVELOPE_MAX)
		return lm_errf(err,
			       "cannot add a change set of %zu bytes to a sets message: an "
			       "envelope has 1 to %d bytes",
			       len, MSG_SETS_ENVELOPE_MAX);
	if (w->len == 0 || head + len > w->cap - w->len || w->count == UINT32_MAX)
		return 1;
	if (head == 2) {
		w->buf[w->len++] = 0xc4;
		w->buf[w->len++] = (uint8_t)len;
	} else {
		w->buf[w->len++] = 0xc5;
		put_be(w->buf + w->len, len, 2);
		w->len += 2;
	}
	memcpy(w->buf + w->len, env, len);
	w->len += len;
	put_be(w->buf + MSG_SETS_OVERHEAD - 4, ++w->count, 4);
	return 0;
}

size_t msg_sets_writer_finish(struct msg_sets_writer *w)
{
	return w->count > 0 ? w->len : 0;
}

size_t msg_sets_writer_count(const struct msg_sets_writer *w)
{
	return w->count;
}

/* ---- Encoding ---- */

struct out {
	uint8_t *buf;
	size_t cap;
	size_t len; /* bytes the message needs so far; past cap once it overflowed */
};

static void out_raw(struct out *o, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (o->len <= o->cap && n <= o->cap - o->len)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static int out_write(void *data, const char *p, size_t n)
{
	out_raw(data, p, n);
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
	if (o->len > MSG_MAX)
		return lm_errf(err,
			       "cannot encode %s: it needs %zu bytes, over the maximum of %d for "
			       "a message",
			       what, o->len, MSG_MAX);
	*len = o->len;
	return 0;
}

static void pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

/* A HEADS map verbatim; len 0 is the empty map. */
static void out_heads(struct out *o, const struct msg_heads *h)
{
	static const uint8_t empty = 0x80;

	if (h == NULL || h->len == 0)
		out_raw(o, &empty, 1);
	else
		out_raw(o, h->p, h->len);
}

int msg_encode_hello(const struct msg_hello *hello, uint8_t *buf, size_t cap, size_t *len,
		     lm_err *err)
{
	int heads = hello->heads.len > 0;
	msgpack_packer pk;
	struct out o;

	if (heads && heads_check(&hello->heads, err) < 0)
		return lm_err_wrap(err, "cannot encode a hello: its heads");
	out_init(&o, &pk, buf, cap);
	msgpack_pack_array(&pk, 2);
	mp_pack_cstr(&pk, "hello");
	/* Without heads and more, exactly the hello of version 1's first
	 * release. */
	msgpack_pack_map(&pk, 4 + (size_t)heads + (hello->more != 0));
	mp_pack_cstr(&pk, "site");
	msgpack_pack_bin(&pk, sizeof(hello->site));
	msgpack_pack_bin_body(&pk, hello->site, sizeof(hello->site));
	mp_pack_cstr(&pk, "software");
	pack_strn(&pk, hello->software, strnlen(hello->software, sizeof(hello->software)));
	mp_pack_cstr(&pk, "protocol");
	msgpack_pack_uint32(&pk, hello->protocol);
	mp_pack_cstr(&pk, "schema");
	msgpack_pack_uint32(&pk, hello->schema);
	if (heads) {
		mp_pack_cstr(&pk, "heads");
		out_heads(&o, &hello->heads);
	}
	if (hello->more) {
		mp_pack_cstr(&pk, "more");
		msgpack_pack_true(&pk);
	}
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

int msg_encode_heads(const struct msg_heads *heads, int more, uint8_t *buf, size_t cap, size_t *len,
		     lm_err *err)
{
	msgpack_packer pk;
	struct out o;

	if (heads_check(heads, err) < 0)
		return lm_err_wrap(err, "cannot encode a heads message");
	out_init(&o, &pk, buf, cap);
	msgpack_pack_array(&pk, 3);
	mp_pack_cstr(&pk, "heads");
	out_heads(&o, heads);
	if (more)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	return out_finish(&o, "a heads message", len, err);
}

int msg_encode_ack(uint64_t count, const struct msg_heads *heads, uint8_t *buf, size_t cap,
		   size_t *len, lm_err *err)
{
	msgpack_packer pk;
	struct out o;

	if (heads_check(heads, err) < 0)
		return lm_err_wrap(err, "cannot encode an ack: its heads");
	out_init(&o, &pk, buf, cap);
	msgpack_pack_array(&pk, 3);
	mp_pack_cstr(&pk, "ack");
	msgpack_pack_uint64(&pk, count);
	out_heads(&o, heads);
	return out_finish(&o, "an ack", len, err);
}

int msg_encode_mark(uint64_t n, uint8_t *buf, size_t cap, size_t *len, lm_err *err)
{
	return encode_nonce("mark", n, buf, cap, len, err);
}

int msg_encode_marked(uint64_t n, uint64_t refused, uint8_t *buf, size_t cap, size_t *len,
		      lm_err *err)
{
	msgpack_packer pk;
	struct out o;

	out_init(&o, &pk, buf, cap);
	msgpack_pack_array(&pk, 3);
	mp_pack_cstr(&pk, "marked");
	msgpack_pack_uint64(&pk, n);
	msgpack_pack_uint64(&pk, refused);
	return out_finish(&o, "a marked", len, err);
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

/* The bytes of element i of the message's array (buf was skimmed: every
 * value in it is whole and its depth within bounds). */
static int elem_range(const uint8_t *buf, size_t len, uint32_t i, struct msg_heads *out,
		      lm_err *err)
{
	const uint8_t *q = buf, *end = buf + len;
	struct raw r;
	uint32_t k;
	size_t e;

	if (raw_read(&q, end, &r) < 0 || r.kind != RAW_ARRAY || r.n <= i)
		return lm_errf(err, "the message has no element %" PRIu32, i + 1);
	for (k = 0;; k++) {
		if (mp_skim(q, (size_t)(end - q), MSG_MAX_DEPTH, "the message", &e, err) < 0)
			return -1;
		if (k == i)
			break;
		q += e;
	}
	out->p = q;
	out->len = e;
	return 0;
}

/* The bytes of the value under key in the map whose bytes are m (the first
 * such key, as mp_map_get finds it); 1 when found, 0 when not. */
static int map_value_range(const struct msg_heads *m, const char *key, struct msg_heads *out,
			   lm_err *err)
{
	const uint8_t *q = m->p, *end = m->p + m->len, *k;
	size_t n = strlen(key), e;
	struct raw r;
	uint32_t i, pairs;
	int match;

	if (raw_read(&q, end, &r) < 0 || r.kind != RAW_MAP)
		return lm_errf(err, "the map is not a map");
	pairs = r.n;
	for (i = 0; i < pairs; i++) {
		k = q;
		if (mp_skim(q, (size_t)(end - q), MSG_MAX_DEPTH, "the map", &e, err) < 0)
			return -1;
		q += e;
		match = raw_read(&k, end, &r) == 0 && r.kind == RAW_STR && r.n == n &&
			memcmp(r.body, key, n) == 0;
		if (mp_skim(q, (size_t)(end - q), MSG_MAX_DEPTH, "the map", &e, err) < 0)
			return -1;
		if (match) {
			out->p = q;
			out->len = e;
			return 1;
		}
		q += e;
	}
	return 0;
}

/* Element i of the message, a HEADS map already seen to be a map: point h
 * at its bytes and check all of it. */
static int heads_at(const uint8_t *buf, size_t len, uint32_t i, const char *what,
		    struct msg_heads *h, lm_err *err)
{
	if (elem_range(buf, len, i, h, err) < 0 || heads_check(h, err) < 0)
		return lm_err_wrap(err, "%s", what);
	return 0;
}

static int decode_hello(const uint8_t *buf, size_t len, const msgpack_object_array *a,
			struct msg_hello *h, lm_err *err)
{
	const msgpack_object *map, *v;
	struct msg_heads mapb;
	char what[48];
	int rc;

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
	/* heads and more came with sync; a hello without them (an older peer)
	 * holds empty heads and no more. */
	v = mp_map_get(map, "heads");
	if (v != NULL) {
		if (v->type != MSGPACK_OBJECT_MAP)
			return lm_errf(err, "hello: 'heads' must be a map, got %s",
				       mp_describe(v, what, sizeof(what)));
		if (elem_range(buf, len, 1, &mapb, err) < 0)
			return lm_err_wrap(err, "hello");
		rc = map_value_range(&mapb, "heads", &h->heads, err);
		if (rc == 0) /* msgpack-c found it: cannot happen */
			rc = lm_errf(err, "the map has no 'heads' after all");
		if (rc < 0 || heads_check(&h->heads, err) < 0)
			return lm_err_wrap(err, "hello: 'heads'");
	}
	v = mp_map_get(map, "more");
	if (v != NULL) {
		if (v->type != MSGPACK_OBJECT_BOOLEAN)
			return lm_errf(err, "hello: 'more' must be true or false, got %s",
				       mp_describe(v, what, sizeof(what)));
		h->more = v->via.boolean;
	}
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

/* Element i of the message, which has the elements given in shape; NULL with
 * err set when it has fewer. */
static const msgpack_object *element(const msgpack_object_array *a, uint32_t i, const char *type,
				     const char *name, const char *shape, lm_err *err)
{
	if (a->size <= i) {
		lm_errf(err, "%s: no %s; %s", type, name, shape);
		return NULL;
	}
	return &a->ptr[i];
}

static int want_uint(const msgpack_object *v, const char *type, const char *name, uint64_t *out,
		     lm_err *err)
{
	char what[48];

	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return lm_errf(err, "%s: the %s must be an integer from 0 to 2^64 - 1, got %s",
			       type, name, mp_describe(v, what, sizeof(what)));
	*out = v->via.u64;
	return 0;
}

static int want_map(const msgpack_object *v, const char *type, const char *name, lm_err *err)
{
	char what[48];

	if (v->type != MSGPACK_OBJECT_MAP)
		return lm_errf(err, "%s: the %s must be a map, got %s", type, name,
			       mp_describe(v, what, sizeof(what)));
	return 0;
}

static int decode_heads(const uint8_t *buf, size_t len, const msgpack_object_array *a,
			struct msg_heads_msg *h, lm_err *err)
{
	static const char shape[] = "a heads is [\"heads\", {scope: [[origin, seq], ...]}, more]";
	const msgpack_object *v, *more;
	char what[48];

	if ((v = element(a, 1, "heads", "heads", shape, err)) == NULL ||
	    want_map(v, "heads", "heads", err) < 0 ||
	    (more = element(a, 2, "heads", "more", shape, err)) == NULL)
		return -1;
	if (more->type != MSGPACK_OBJECT_BOOLEAN)
		return lm_errf(err, "heads: 'more' must be true or false, got %s",
			       mp_describe(more, what, sizeof(what)));
	h->more = more->via.boolean;
	return heads_at(buf, len, 1, "heads", &h->heads, err);
}

static int decode_sets(const uint8_t *buf, size_t len, const msgpack_object_array *a,
		       struct msg_sets *s, lm_err *err)
{
	static const char shape[] = "a sets is [\"sets\", [envelope, ...]]";
	struct msg_sets_iter it;
	struct msg_heads range;
	const msgpack_object *v;
	const uint8_t *env;
	size_t n;
	char what[48];
	int rc;

	if ((v = element(a, 1, "sets", "change sets", shape, err)) == NULL)
		return -1;
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return lm_errf(err, "sets: the change sets must be an array, got %s",
			       mp_describe(v, what, sizeof(what)));
	if (v->via.array.size == 0)
		return lm_errf(err, "sets: the array of change sets is empty; a sets holds one "
				    "or more");
	if (elem_range(buf, len, 1, &range, err) < 0)
		return lm_err_wrap(err, "sets");
	s->p = range.p;
	s->len = range.len;
	s->count = v->via.array.size;
	msg_sets_iter_begin(&it, s);
	while ((rc = msg_sets_next(&it, &env, &n, err)) == 1)
		;
	return rc < 0 ? lm_err_wrap(err, "sets") : 0;
}

static int decode_ack(const uint8_t *buf, size_t len, const msgpack_object_array *a,
		      struct msg_ack *ack, lm_err *err)
{
	static const char shape[] = "an ack is [\"ack\", count, {scope: [[origin, seq], ...]}]";
	const msgpack_object *v;

	if ((v = element(a, 1, "ack", "count", shape, err)) == NULL ||
	    want_uint(v, "ack", "count", &ack->count, err) < 0 ||
	    (v = element(a, 2, "ack", "heads", shape, err)) == NULL ||
	    want_map(v, "ack", "heads", err) < 0)
		return -1;
	return heads_at(buf, len, 2, "ack: the heads", &ack->heads, err);
}

static int decode_mark(const msgpack_object_array *a, struct msg_mark *m, lm_err *err)
{
	const msgpack_object *v;

	if ((v = element(a, 1, "mark", "n", "a mark is [\"mark\", n]", err)) == NULL)
		return -1;
	return want_uint(v, "mark", "n", &m->n, err);
}

static int decode_marked(const msgpack_object_array *a, struct msg_marked *m, lm_err *err)
{
	static const char shape[] = "a marked is [\"marked\", n, refused]";
	const msgpack_object *v;

	if ((v = element(a, 1, "marked", "n", shape, err)) == NULL ||
	    want_uint(v, "marked", "n", &m->n, err) < 0 ||
	    (v = element(a, 2, "marked", "refused", shape, err)) == NULL)
		return -1;
	return want_uint(v, "marked", "refused", &m->refused, err);
}

static int decode_array(const uint8_t *buf, size_t len, const msgpack_object *root, struct msg *out,
			lm_err *err)
{
	static const enum msg_type known[] = {MSG_HELLO, MSG_PING, MSG_PONG, MSG_ERROR, MSG_HEADS,
					      MSG_SETS,	 MSG_ACK,  MSG_MARK, MSG_MARKED};
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
		return decode_hello(buf, len, a, &out->u.hello, err);
	case MSG_PING:
	case MSG_PONG:
		return decode_nonce(out->type_name, a, &out->u.nonce, err);
	case MSG_ERROR:
		return decode_error(a, &out->u.error, err);
	case MSG_HEADS:
		return decode_heads(buf, len, a, &out->u.heads, err);
	case MSG_SETS:
		return decode_sets(buf, len, a, &out->u.sets, err);
	case MSG_ACK:
		return decode_ack(buf, len, a, &out->u.ack, err);
	case MSG_MARK:
		return decode_mark(a, &out->u.mark, err);
	case MSG_MARKED:
		return decode_marked(a, &out->u.marked, err);
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
	if (len > MSG_MAX)
		return lm_errf(err, "the message has %zu bytes, over the maximum of %d", len,
			       MSG_MAX);
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
		rc = decode_array(buf, len, &result.data, out, err);
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
	case MSG_HEADS:
		return "heads";
	case MSG_SETS:
		return "sets";
	case MSG_ACK:
		return "ack";
	case MSG_MARK:
		return "mark";
	case MSG_MARKED:
		return "marked";
	case MSG_UNKNOWN:
		break;
	}
	return "unknown";
}
