/* SPDX-License-Identifier: MIT */
/* Transport messages: the plaintext of each Noise transport message is one
 * msgpack array whose first element is the message type (a string). This
 * module encodes and decodes them; docs/PROTOCOL.md, section "Messages",
 * specifies each one.
 *
 *   ["hello", {"site": bin 32, "software": str, "protocol": uint, "schema": uint}]
 *   ["ping", uint nonce]
 *   ["pong", uint nonce]
 *   ["error", str code, str text]
 *
 * Decoding is strict about what it knows and lenient about what it does not:
 * a known type with missing or mistyped fields, or a buffer that is not
 * exactly one msgpack array (nested at most MSG_MAX_DEPTH deep), is an error
 * (the caller closes the connection); an unknown type, and unknown keys inside
 * the hello map, are accepted so the protocol can grow without a version bump.
 * Decoded strings are truncated to their field on a UTF-8 character boundary,
 * and control bytes in them become '?', so they are safe to log. Pure: no I/O.
 */
#ifndef LMSYNC_PROTO_MSG_H
#define LMSYNC_PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define MSG_PROTOCOL_VERSION 1
#define MSG_SOFTWARE_MAX     64
#define MSG_CODE_MAX	     32
#define MSG_TEXT_MAX	     256
#define MSG_TYPE_MAX	     32
#define MSG_MAX_DEPTH	     32 /* nesting of arrays and maps a decoder accepts */

enum msg_type { MSG_HELLO, MSG_PING, MSG_PONG, MSG_ERROR, MSG_UNKNOWN };

struct msg_hello {
	uint8_t site[32];		 /* the sender's site id (Ed25519 public key) */
	char software[MSG_SOFTWARE_MAX]; /* "lmsync 0.1.0"; truncated on decode */
	uint32_t protocol;		 /* MSG_PROTOCOL_VERSION of the sender */
	uint32_t schema;		 /* the sender's store schema version */
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

struct msg {
	enum msg_type type;
	char type_name[MSG_TYPE_MAX]; /* as received (truncated), for logs */
	union {
		struct msg_hello hello;
		uint64_t nonce; /* ping, pong */
		struct msg_error error;
	} u;
};

/* Encoders write one message into buf (cap bytes) and set *len. They fail
 * only when cap is too small, saying how much is needed; then *len and the
 * bytes past cap are untouched. */
int msg_encode_hello(const struct msg_hello *hello, uint8_t *buf, size_t cap, size_t *len,
		     lm_err *err);
int msg_encode_ping(uint64_t nonce, uint8_t *buf, size_t cap, size_t *len, lm_err *err);
int msg_encode_pong(uint64_t nonce, uint8_t *buf, size_t cap, size_t *len, lm_err *err);
int msg_encode_error(const char *code, const char *text, uint8_t *buf, size_t cap, size_t *len,
		     lm_err *err);

/* Decode buf, which must hold exactly one msgpack array (no trailing bytes).
 * Strings are copied into out; out does not point into buf. On failure the
 * union is cleared and type/type_name are kept if the type was read. */
int msg_decode(const uint8_t *buf, size_t len, struct msg *out, lm_err *err);

/* "hello", "ping", ...; "unknown" for MSG_UNKNOWN. */
const char *msg_type_name(enum msg_type type);

#endif
