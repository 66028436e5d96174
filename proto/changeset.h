/* SPDX-License-Identifier: MIT */
/* Change sets: the unit lmsync ships. All captured row changes of one origin
 * in one scope since its previous change set, sealed: numbered, dated with a
 * hybrid logical clock, chained to the previous one by hash, signed by the
 * origin. docs/PROTOCOL.md, section "Change sets", is the normative format.
 *
 * Two encodings, both msgpack:
 *
 *   body     = [format: 1 to 3, origin: bin 32, scope: str, seq: uint,
 *               hlc: uint, prev: bin 32, rows: [row...]]
 *   row      = [table: str, pk: [value...], cl: uint, cols: {str: value}]
 *            | [table, pk, cl, cols, bases]            (formats 2 and 3 only)
 *   bases    = clock | [nil | clock | uint...]   (one entry per column)
 *   clock    = bin 8 (hlc; the origin's own) | bin 40 (hlc, origin)
 *   value    = nil | int | float 64 | str | bin
 *   envelope = [body: bin, sig: bin 64]
 *
 * The signature is Ed25519 by the origin: in format 3 over the ASCII bytes
 * "lmsync change set 3" followed by the body's digest (BLAKE2b-256 of the
 * exact body bytes), in formats 1 and 2 over the body bytes themselves. The
 * hash of a change set is BLAKE2b-256 of its body bytes followed by the 64
 * signature bytes (so the chain binds every signature), and `prev` is the hash of
 * the previous change set of the same (origin, scope), 32 zero bytes for seq
 * 1. cl is the row's causal length: odd while the row exists, even once
 * deleted; cols holds the changed columns (empty for a delete).
 *
 * Format 2 (and 3) gives each written column its causal context, its base: the
 * clock of the value the write replaced at its writer, or none when the
 * writer held no value for the column at the row's causal length. A row of
 * 4 elements has no base for any column (an insert: zero extra bytes).
 * Format 1 (lmsync before bases) says nothing about them: the bases of its
 * columns are unknown. Format 3 differs from 2 only in what is signed. All
 * three are read; format 3 is written unless asked.
 *
 * A run of consecutive change sets of one (origin, scope) is authenticated by
 * the signature of its last member and the hash links between them
 * (changeset_verify_run), so catching up costs one Ed25519 verification per
 * run, not per change set. Pure: no I/O.
 */
#ifndef LMSYNC_PROTO_CHANGESET_H
#define LMSYNC_PROTO_CHANGESET_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define CS_FORMAT	3  /* what lmsync writes: signed over a digest of the body */
#define CS_FORMAT_V2	2  /* rows carry their bases, signed over the body; still read */
#define CS_FORMAT_V1	1  /* the format before bases, still read */
#define CS_CLOCK_LEN	40 /* a base of another origin: hlc (8 bytes), origin */
#define CS_HASH_LEN	32
#define CS_SIG_LEN	64
#define CS_KEY_LEN	32
#define CS_SCOPE_MAX	128   /* bytes of a scope id */
#define CS_NAME_MAX	64    /* bytes of a table or column name */
#define CS_PK_MAX	8     /* values in a primary key */
#define CS_MAX_ENVELOPE 60000 /* fits one transport message with room to spare */

enum cs_type { CS_NIL, CS_INT, CS_REAL, CS_TEXT, CS_BLOB };

/* A value. Text and blob point into memory the owner of the value keeps
 * alive (the decoded input, or the caller's buffers when encoding). */
struct cs_value {
	enum cs_type type;
	int64_t i;
	double r;
	const uint8_t *p;
	size_t len;
};

struct cs_col {
	const char *name; /* not NUL-terminated */
	size_t name_len;
	struct cs_value value;
};

/* The base of one column write: what the column held at its writer when
 * the write replaced it. held 0: nothing (a new row or incarnation, or a
 * column it never received); held 1: the value written at (hlc, origin). */
struct cs_base {
	int held;
	uint64_t hlc;
	uint8_t origin[CS_KEY_LEN];
};

struct cs_row {
	const char *table; /* not NUL-terminated */
	size_t table_len;
	const struct cs_value *pk;
	size_t npk;
	uint64_t cl;
	const struct cs_col *cols;
	size_t ncols;
	/* ncols bases, bases[i] for cols[i]; NULL: none held for any column.
	 * Formats 2 and 3 have them: a format 1 row has NULL, bases unknown. */
	const struct cs_base *bases;
};

struct cs_header {
	/* Writing: 0 or CS_FORMAT writes format 3; CS_FORMAT_V2 and
	 * CS_FORMAT_V1 (no bases) the older ones, for tests and tools.
	 * Decoded: the format the body names. */
	uint64_t format;
	uint8_t origin[CS_KEY_LEN];
	char scope[CS_SCOPE_MAX + 1]; /* NUL-terminated */
	uint64_t seq;
	uint64_t hlc;
	uint8_t prev[CS_HASH_LEN];
};

/* ---- writing: build a body row by row, then seal it ---- */

/* Owns a growing buffer; cs_writer_free releases it. */
struct cs_writer {
	uint8_t *mem;	 /* the allocation: room for the envelope's head, then buf */
	uint8_t *buf;	 /* the body */
	size_t len, cap; /* of the body */
	size_t nrows;
	size_t rows_count_at;	    /* where the rows array header is patched in */
	uint64_t format;	    /* of the body being written */
	uint8_t origin[CS_KEY_LEN]; /* its origin: a base of it takes 8 bytes */
	int failed;		    /* begin refused the header, or memory ran out */
	int sealed;		    /* sealed: no more rows, no second seal */
};

/* Begin a body for h (checked: format, scope, seq >= 1, prev all zeros for
 * seq 1).
 * Whatever it returns, release w with cs_writer_free. */
int cs_writer_begin(struct cs_writer *w, const struct cs_header *h, lm_err *err);
/* The same for a writer that began (and perhaps sealed) before, or is all
 * zeros: its buffer is kept, so writing change set after change set does
 * not allocate again. Anything written or sealed in w before is dropped. */
int cs_writer_restart(struct cs_writer *w, const struct cs_header *h, lm_err *err);
/* Append a row after checking it (names, pk of 1 to CS_PK_MAX values without
 * nil, cl >= 1, no cols for a delete, no column twice, no NaN, no base held
 * in format 1). Refuses,
 * leaving w as it was, a row that would take the envelope past
 * CS_MAX_ENVELOPE: when w->nrows > 0 the caller seals and adds the row to
 * the next change set; when 0 the row can never be shipped. */
int cs_writer_add_row(struct cs_writer *w, const struct cs_row *row, lm_err *err);
/* Bytes the envelope would take if sealed now (to split before the limit). */
size_t cs_writer_envelope_size(const struct cs_writer *w);
/* Bytes the envelope would take with row added (row not checked). */
size_t cs_writer_size_with(const struct cs_writer *w, const struct cs_row *row);
/* Finish the body, sign it (format 3: its digest; see docs/PROTOCOL.md,
 * "Hash and signature") with the origin's Ed25519 secret key (64 bytes,
 * libsodium form; refused unless its public half is the header's origin)
 * and produce the envelope in a malloc'd buffer the caller frees; hash
 * receives the change set's hash. The writer is then sealed. */
int cs_writer_seal(struct cs_writer *w, const uint8_t sk[64], uint8_t **envelope, size_t *len,
		   uint8_t hash[CS_HASH_LEN], lm_err *err);
/* The same, but the envelope stays in w's buffer: *envelope points into
 * it and is valid until w is restarted or freed. No allocation, no copy. */
int cs_writer_seal_inplace(struct cs_writer *w, const uint8_t sk[64], const uint8_t **envelope,
			   size_t *len, uint8_t hash[CS_HASH_LEN], lm_err *err);
void cs_writer_free(struct cs_writer *w);

/* ---- reading ---- */

/* A decoded envelope. Rows, values and names point into the envelope bytes
 * given to changeset_decode and into arrays this struct owns; keep the bytes
 * alive while using it and release it with changeset_free. */
struct changeset {
	struct cs_header h;
	const uint8_t *body; /* inside the envelope */
	size_t body_len;
	uint8_t sig[CS_SIG_LEN];
	uint8_t hash[CS_HASH_LEN];   /* BLAKE2b-256 of body || sig, computed on decode */
	uint8_t digest[CS_HASH_LEN]; /* BLAKE2b-256 of body: format 3 signs it */
	struct cs_row *rows;
	size_t nrows;
	void *arena; /* the arrays behind rows, pk and cols */
};

/* Decode an envelope, strictly: exact types, format 1 to 3, bounded sizes, no
 * trailing bytes, every row as cs_writer_add_row checks it. Does NOT verify
 * the signature. On failure cs is left empty (changeset_free is harmless). */
int changeset_decode(const uint8_t *envelope, size_t len, struct changeset *cs, lm_err *err);
void changeset_free(struct changeset *cs);

/* Verify cs's signature against its origin. */
int changeset_verify(const struct changeset *cs, lm_err *err);

/* Verify a run cs[0..n-1] of one (origin, scope) with consecutive seq: each
 * prev is the hash of the one before, cs[0].prev is prev_hash (the hash the
 * receiver holds for seq cs[0].seq - 1, zeros for seq 1), and the signature
 * of cs[n-1] is valid. One Ed25519 verification for the whole run: the
 * signatures of cs[0..n-2] are not looked at (see docs/PROTOCOL.md). */
int changeset_verify_run(const struct changeset *const *cs, size_t n,
			 const uint8_t prev_hash[CS_HASH_LEN], lm_err *err);

/* Compare values the way the merge orders them (SQLite's order: nil < number
 * < text < blob; integers and reals by numeric value, exactly; text and blob
 * by memcmp, then length); returns <0, 0, >0. */
int cs_value_cmp(const struct cs_value *a, const struct cs_value *b);

/* The scope rule: 1 to CS_SCOPE_MAX bytes of well-formed UTF-8 without
 * control characters (docs/PROTOCOL.md, "Body"). Messages check it too. */
int cs_scope_check(const char *s, size_t n, lm_err *err);

#endif
