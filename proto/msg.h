/* SPDX-License-Identifier: MIT */
/* Transport messages: the plaintext of each Noise transport message is one
 * msgpack array whose first element is the message type (a string). This
 * module encodes and decodes them; docs/PROTOCOL.md, section "Messages",
 * specifies each one.
 *
 *   ["hello", {"site": bin 32, "software": str, "protocol": uint, "schema": uint,
 *              "heads": HEADS, "more": bool}]      (heads and more optional)
 *   ["ping", uint nonce]
 *   ["pong", uint nonce]
 *   ["error", str code, str text]
 *   ["heads", HEADS, bool more]
 *   ["sets", [bin envelope, ...]]                  (1 or more envelopes)
 *   ["ack", uint count, HEADS]
 *   ["mark", uint n]
 *   ["marked", uint n, uint refused]
 *
 *   HEADS = {str scope: [[bin 32 origin, uint seq], ...], ...}
 *
 * Decoding is strict about what it knows and lenient about what it does not:
 * a known type with missing or mistyped fields, or a buffer that is not
 * exactly one msgpack array (nested at most MSG_MAX_DEPTH deep), is an error
 * (the caller closes the connection); an unknown type, unknown keys inside
 * the hello map and elements after the known ones are accepted so the
 * protocol can grow without a version bump. Decoded strings are truncated to
 * their field on a UTF-8 character boundary, and control bytes in them become
 * '?', so they are safe to log. HEADS and the envelopes of sets are not
 * copied: the decoded message points into the buffer, and iterators walk
 * them. Pure: no I/O.
 */
#ifndef LMSYNC_PROTO_MSG_H
#define LMSYNC_PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define MSG_PROTOCOL_VERSION 1
#define MSG_MAX		     65519 /* bytes of a transport plaintext: 65535 minus the 16-byte tag */
#define MSG_SOFTWARE_MAX     64
#define MSG_CODE_MAX	     32
#define MSG_TEXT_MAX	     256
#define MSG_TYPE_MAX	     32
#define MSG_MAX_DEPTH	     32 /* nesting of arrays and maps a decoder accepts */

/* Bytes a message needs around its HEADS map, at most: a HEADS map of
 * MSG_MAX - overhead bytes always fits the message. hello: the largest hello
 * (software of 63 bytes, protocol and schema of 5 bytes, "more": true) with
 * "heads"; heads: ["heads", HEADS, more]; ack: ["ack", count of 9 bytes,
 * HEADS]. MSG_HEADS_OVERHEAD is the largest, for a writer whose map may go
 * into any of them. */
#define MSG_HEADS_OVERHEAD_HELLO 159
#define MSG_HEADS_OVERHEAD_HEADS 8
#define MSG_HEADS_OVERHEAD_ACK	 14
#define MSG_HEADS_OVERHEAD	 MSG_HEADS_OVERHEAD_HELLO

/* A sets message is its 11-byte head (fixarray, "sets", array 32) and then
 * each envelope as a bin: 2 bytes of header under 256 bytes, else 3. */
#define MSG_SETS_OVERHEAD     11
#define MSG_SETS_ENVELOPE_MAX 60000 /* CS_MAX_ENVELOPE */

enum msg_type {
	MSG_HELLO,
	MSG_PING,
	MSG_PONG,
	MSG_ERROR,
	MSG_HEADS,
	MSG_SETS,
	MSG_ACK,
	MSG_MARK,
	MSG_MARKED,
	MSG_UNKNOWN /* last */
};

/* A HEADS map (a fragment of a version vector), encoded: scope (str, the
 * rule of a change set's scope) -> [[origin (bin 32), seq (uint)], ...].
 * Decoded, p points into the message; len 0 is an empty vector. Walk it with
 * msg_heads_iter; build it with msg_heads_writer. */
struct msg_heads {
	const uint8_t *p;
	size_t len;
};

struct msg_hello {
	uint8_t site[32];		 /* the sender's site id (Ed25519 public key) */
	char software[MSG_SOFTWARE_MAX]; /* "lmsync 0.1.0"; truncated on decode */
	uint32_t protocol;		 /* MSG_PROTOCOL_VERSION of the sender */
	uint32_t schema;		 /* the sender's store schema version */
	/* The sender's heads in the scopes it shares with the receiver; more: 1
	 * when heads messages follow to complete them. An older peer sends
	 * neither: empty heads, more 0. Encoded only when len > 0 (heads) and
	 * when nonzero (more). */
	struct msg_heads heads;
	int more;
};

/* Error codes a site sends before it closes the connection. */
#define MSG_ERROR_PROTOCOL     "protocol"     /* protocol version not spoken here */
#define MSG_ERROR_UNKNOWN_SITE "unknown-site" /* your key is not a configured peer */
#define MSG_ERROR_BAD_MESSAGE  "bad-message"  /* you sent something malformed */
#define MSG_ERROR_WRONG_SITE   "wrong-site"   /* hello names another site than the key */

struct msg_error {
	char code[MSG_CODE_MAX]; /* truncated on decode */
	char text[MSG_TEXT_MAX]; /* truncated on decode */
};

/* ["heads", HEADS, more]: more heads of the initial vector follow while
 * more is 1. */
struct msg_heads_msg {
	struct msg_heads heads;
	int more;
};

/* ["sets", [envelope, ...]]: p/len is the array (its header included) inside
 * the message, count (>= 1) its envelopes. Walk it with msg_sets_iter. */
struct msg_sets {
	const uint8_t *p;
	size_t len;
	uint32_t count;
};

/* ["ack", count, HEADS]: the sender has processed count sets messages of
 * this connection; heads are its heads after them where they touched. */
struct msg_ack {
	uint64_t count;
	struct msg_heads heads;
};

struct msg_mark {
	uint64_t n;
};

/* ["marked", n, refused]: the answer to mark n. */
struct msg_marked {
	uint64_t n;
	uint64_t refused; /* change sets not delivered because the asker refused them */
};

struct msg {
	enum msg_type type;
	char type_name[MSG_TYPE_MAX]; /* as received (truncated), for logs */
	union {
		struct msg_hello hello;
		uint64_t nonce; /* ping, pong */
		struct msg_error error;
		struct msg_heads_msg heads;
		struct msg_sets sets;
		struct msg_ack ack;
		struct msg_mark mark;
		struct msg_marked marked;
	} u;
};

/* Encoders write one message into buf (cap bytes) and set *len. They fail
 * when cap is too small, saying how much is needed (then *len and the bytes
 * past cap are untouched), when the message would pass MSG_MAX, and when a
 * HEADS given is not a valid HEADS map (it is checked, then copied
 * verbatim; len 0 encodes an empty map). */
int msg_encode_hello(const struct msg_hello *hello, uint8_t *buf, size_t cap, size_t *len,
		     lm_err *err);
int msg_encode_ping(uint64_t nonce, uint8_t *buf, size_t cap, size_t *len, lm_err *err);
int msg_encode_pong(uint64_t nonce, uint8_t *buf, size_t cap, size_t *len, lm_err *err);
int msg_encode_error(const char *code, const char *text, uint8_t *buf, size_t cap, size_t *len,
		     lm_err *err);
int msg_encode_heads(const struct msg_heads *heads, int more, uint8_t *buf, size_t cap, size_t *len,
		     lm_err *err);
int msg_encode_ack(uint64_t count, const struct msg_heads *heads, uint8_t *buf, size_t cap,
		   size_t *len, lm_err *err);
int msg_encode_mark(uint64_t n, uint8_t *buf, size_t cap, size_t *len, lm_err *err);
int msg_encode_marked(uint64_t n, uint64_t refused, uint8_t *buf, size_t cap, size_t *len,
		      lm_err *err);

/* Decode buf, which must hold exactly one msgpack array (no trailing bytes).
 * Strings are copied into out; the HEADS of hello, heads and ack and the
 * envelopes of sets point into buf, so keep buf alive and unchanged while
 * using them. Those are fully checked here: their iterators cannot fail on
 * a decoded message. On failure the union is cleared and type/type_name are
 * kept if the type was read. */
int msg_decode(const uint8_t *buf, size_t len, struct msg *out, lm_err *err);

/* "hello", "ping", ...; "unknown" for MSG_UNKNOWN. */
const char *msg_type_name(enum msg_type type);

/* ---- HEADS ---- */

/* Private: use the functions. */
struct msg_heads_iter {
	const uint8_t *p, *end;
	uint32_t scopes_left, entries_left;
	uint32_t scope_no, entry_no; /* for messages */
	const char *scope;
	size_t scope_len;
	int state; /* 0: before the map header, 1: inside, 2: failed */
};

void msg_heads_iter_begin(struct msg_heads_iter *it, const struct msg_heads *h);
/* 1: an entry (scope is not NUL-terminated: scope/scope_len point into the
 * buffer, origin to 32 bytes there), 0: the end, -1: malformed, with err set
 * (never after msg_decode accepted the message; after -1 every call fails).
 * Entries come in the order of the bytes, each key's together; a scope may
 * be a key more than once. */
int msg_heads_next(struct msg_heads_iter *it, const char **scope, size_t *scope_len,
		   const uint8_t **origin, uint64_t *seq, lm_err *err);

/* Builds a HEADS map within a byte budget, streaming: map 32 and array 32
 * headers whose counts are kept up to date, so the buffer holds a valid map
 * after every add. Consecutive entries of one scope share its array; a scope
 * that comes back after another opens a new map entry (allowed: receivers
 * merge). Private: use the functions. */
struct msg_heads_writer {
	uint8_t *buf;
	size_t cap, len;
	size_t count;	   /* entries in all */
	uint32_t nscopes;  /* map entries */
	uint32_t nentries; /* entries in the last scope's array */
	size_t scope_at;   /* the last scope's bytes in buf */
	size_t scope_len;  /* and their length */
	size_t array_at;   /* the last scope's array header in buf */
};

/* buf holds cap bytes (give it MSG_MAX - MSG_HEADS_OVERHEAD, or the overhead
 * of the one message it is for). Under 5 bytes nothing fits, not even the
 * map header: every add returns 1 and finish 0 (an empty HEADS). */
void msg_heads_writer_begin(struct msg_heads_writer *w, uint8_t *buf, size_t cap);
/* 0: added. 1: it does not fit in cap; nothing was written and the writer is
 * as it was, so finish it and go on in a new one. -1: scope (NUL-terminated)
 * breaks the scope rule, or scope or origin is NULL; err says why. */
int msg_heads_writer_add(struct msg_heads_writer *w, const char *scope, const uint8_t origin[32],
			 uint64_t seq, lm_err *err);
/* The encoded length (an empty writer encodes an empty map, 5 bytes). The
 * writer stays usable: more adds, then finish again. */
size_t msg_heads_writer_finish(struct msg_heads_writer *w);
size_t msg_heads_writer_count(const struct msg_heads_writer *w); /* entries added */

/* ---- sets ---- */

/* Private: use the functions. */
struct msg_sets_iter {
	const uint8_t *p, *end;
	uint32_t left, no;
	int state; /* 0: before the array header, 1: inside, 2: failed */
};

void msg_sets_iter_begin(struct msg_sets_iter *it, const struct msg_sets *s);
/* 1: an envelope (env points into the message; not decoded, that is
 * changeset_decode's job), 0: the end, -1: malformed, with err set (never
 * after msg_decode accepted the message). */
int msg_sets_next(struct msg_sets_iter *it, const uint8_t **env, size_t *len, lm_err *err);

/* Builds a whole sets message within a byte budget (cap, taken as MSG_MAX
 * when larger), the envelope count (array 32) kept up to date. An envelope
 * of MSG_SETS_ENVELOPE_MAX bytes always fits an empty writer of MSG_MAX
 * bytes. Private: use the functions. */
struct msg_sets_writer {
	uint8_t *buf;
	size_t cap, len;
	uint32_t count;
};

void msg_sets_writer_begin(struct msg_sets_writer *w, uint8_t *buf, size_t cap);
/* 0: added. 1: it does not fit; nothing was written and the writer is as it
 * was. -1: env is NULL or len is not 1 to MSG_SETS_ENVELOPE_MAX; err says
 * why. */
int msg_sets_writer_add(struct msg_sets_writer *w, const uint8_t *env, size_t len, lm_err *err);
/* The message's length, 0 while it holds no envelope (a sets message holds
 * at least one: send nothing). The writer stays usable. */
size_t msg_sets_writer_finish(struct msg_sets_writer *w);
size_t msg_sets_writer_count(const struct msg_sets_writer *w); /* envelopes added */

#endif
