/* SPDX-License-Identifier: MIT */
/* Noise: the Noise Protocol Framework, revision 34, for the one cipher suite
 * lmsync speaks, 25519_ChaChaPoly_BLAKE2b, on libsodium primitives.
 *
 * The spec's three objects map onto three structs the caller allocates (no
 * malloc anywhere): noise_cipher is a CipherState, noise_symmetric a
 * SymmetricState and noise_handshake a HandshakeState. The handshake knows the
 * interactive patterns NN, NK, XK, XX, KK, IK and IX; lmsync itself only uses
 * XX, the others are here so the public test vectors can check every token.
 * PSK modifiers, fallback and REKEY are not implemented.
 *
 * A handshake goes: noise_handshake_init, then noise_handshake_write and
 * noise_handshake_read in turn (noise_handshake_writes_next says which) until
 * noise_handshake_is_done, then noise_handshake_split gives the two transport
 * ciphers. noise_cipher_encrypt and noise_cipher_decrypt then carry transport
 * messages with empty associated data.
 *
 * Every Noise message, handshake or transport, is at most NOISE_MAX_MSG_LEN
 * bytes including its tag; longer ones are refused both ways. A failed read or
 * write returns -1 with a message and never reads or writes out of bounds. A
 * failure after the handshake state has started to change (a bad tag, an
 * all-zero Diffie-Hellman result) leaves the handshake failed for good; one
 * caused by the caller's arguments (a small buffer, out of turn) changes
 * nothing. sodium_init() must have been called before any of this.
 *
 * Owners: the caller owns every struct here and must call the matching wipe
 * function (noise_handshake_wipe, noise_cipher_wipe) when done with it; the
 * wipe zeroes key material with sodium_memzero.
 */
#ifndef LMSYNC_PROTO_NOISE_H
#define LMSYNC_PROTO_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define NOISE_DHLEN		  32 /* X25519 keys and shared secrets */
#define NOISE_KEYLEN		  32 /* ChaCha20-Poly1305 key */
#define NOISE_TAGLEN		  16 /* Poly1305 tag */
#define NOISE_HASHLEN		  64 /* BLAKE2b-512 */
#define NOISE_BLOCKLEN		  128
#define NOISE_MAX_MSG_LEN	  65535
#define NOISE_MAX_PAYLOAD_LEN	  (NOISE_MAX_MSG_LEN - NOISE_TAGLEN) /* of a transport message */
#define NOISE_ED25519_PK_LEN	  32
#define NOISE_ED25519_SK_LEN	  64 /* libsodium's form: seed then public key */
#define NOISE_PROLOGUE_LMSYNC	  "lmsync/1"
#define NOISE_PROLOGUE_LMSYNC_LEN 8

typedef enum noise_pattern {
	NOISE_NN,
	NOISE_NK,
	NOISE_XK,
	NOISE_XX,
	NOISE_KK,
	NOISE_IK,
	NOISE_IX,
	NOISE_PATTERN_COUNT
} noise_pattern;

/* Bits of noise_pattern_keys: which keys a side must pass to init. */
#define NOISE_NEEDS_LOCAL_STATIC  1u
#define NOISE_NEEDS_REMOTE_STATIC 2u

/* CipherState: a key, whether there is one, and the nonce counter. */
typedef struct noise_cipher {
	uint8_t k[NOISE_KEYLEN];
	uint64_t n;
	int has_key;
} noise_cipher;

/* SymmetricState: a CipherState, the chaining key and the handshake hash. */
typedef struct noise_symmetric {
	noise_cipher cs;
	uint8_t ck[NOISE_HASHLEN];
	uint8_t h[NOISE_HASHLEN];
} noise_symmetric;

typedef struct noise_keypair {
	uint8_t pub[NOISE_DHLEN];
	uint8_t priv[NOISE_DHLEN];
	int present;
} noise_keypair;

/* HandshakeState. Fields are private to noise.c. */
typedef struct noise_handshake {
	noise_symmetric sym;
	noise_keypair s;	 /* our static key pair */
	noise_keypair e;	 /* our ephemeral key pair */
	uint8_t rs[NOISE_DHLEN]; /* the peer's static public key */
	uint8_t re[NOISE_DHLEN]; /* the peer's ephemeral public key */
	int has_rs, has_re;
	noise_pattern pattern;
	int initiator;
	unsigned next; /* index of the next message in the pattern */
	int failed;    /* a message failed half way: the state is dead */
	int split;     /* noise_handshake_split has run */
} noise_handshake;

/* The pattern's short name, "XX". */
const char *noise_pattern_name(noise_pattern p);

/* The full protocol name, "Noise_XX_25519_ChaChaPoly_BLAKE2b". */
const char *noise_protocol_name(noise_pattern p);

/* Find the pattern of a full protocol name. Returns -1 with a message if the
 * name is not one of the seven this module supports (another cipher suite, a
 * PSK or fallback modifier, a one-way pattern). */
int noise_protocol_parse(const char *name, noise_pattern *p, lm_err *err);

/* NOISE_NEEDS_* bits for the keys one side of a pattern passes to init. */
unsigned noise_pattern_keys(noise_pattern p, int initiator);

/* Initialize: InitializeSymmetric, MixHash(prologue), the pre-messages.
 * local_static_private is our X25519 private key and remote_static_public
 * the peer's public key, each NOISE_DHLEN bytes; pass exactly those the
 * pattern needs (noise_pattern_keys) and NULL for the others. */
int noise_handshake_init(noise_handshake *hs, noise_pattern p, int initiator,
			 const uint8_t *prologue, size_t prologue_len,
			 const uint8_t *local_static_private, const uint8_t *remote_static_public,
			 lm_err *err);

/* Use priv as our ephemeral private key instead of a random one: for test
 * vectors and deterministic fuzzing only. Must precede the message that
 * sends our ephemeral key. */
int noise_handshake_set_ephemeral(noise_handshake *hs, const uint8_t priv[NOISE_DHLEN],
				  lm_err *err);

/* Whether the next step is ours to write (1) or the peer's to read (0). */
int noise_handshake_writes_next(const noise_handshake *hs);

/* WriteMessage: write the next handshake message, carrying payload, into
 * out (cap bytes); *out_len gets its length. out must not overlap payload;
 * payload may be NULL when payload_len is 0. */
int noise_handshake_write(noise_handshake *hs, const uint8_t *payload, size_t payload_len,
			  uint8_t *out, size_t cap, size_t *out_len, lm_err *err);

/* ReadMessage: read the peer's next handshake message msg (len bytes) and
 * put its payload into payload_out (cap bytes); *payload_len gets its length.
 * payload_out must not overlap msg. */
int noise_handshake_read(noise_handshake *hs, const uint8_t *msg, size_t len, uint8_t *payload_out,
			 size_t cap, size_t *payload_len, lm_err *err);

/* 1 once every message of the pattern has been written or read. */
int noise_handshake_is_done(const noise_handshake *hs);

/* Split: the cipher we send with and the one we receive with, oriented for
 * our side. Only once, after the handshake is done; it then wipes the
 * chaining key and our private keys, keeping the hash and the peer's key. */
int noise_handshake_split(noise_handshake *hs, noise_cipher *send, noise_cipher *recv, lm_err *err);

/* GetHandshakeHash: copy h into out once the handshake is done. */
int noise_handshake_hash(const noise_handshake *hs, uint8_t out[NOISE_HASHLEN], lm_err *err);

/* The peer's static public key, once a pre-message or a message told it. */
int noise_handshake_remote_static(const noise_handshake *hs, uint8_t out[NOISE_DHLEN], lm_err *err);

/* Zero the whole state, key material included; it then refuses every use
 * until initialized again. */
void noise_handshake_wipe(noise_handshake *hs);

/* InitializeKey(k): set the key and reset the nonce to 0. */
void noise_cipher_init_key(noise_cipher *cs, const uint8_t k[NOISE_KEYLEN]);

int noise_cipher_has_key(const noise_cipher *cs);

/* SetNonce(n). */
void noise_cipher_set_nonce(noise_cipher *cs, uint64_t n);

/* Encrypt one transport message (empty associated data): plain (len bytes,
 * at most NOISE_MAX_PAYLOAD_LEN) into out (cap bytes), *out_len = len +
 * NOISE_TAGLEN. out may equal plain exactly (in place), not partly overlap. */
int noise_cipher_encrypt(noise_cipher *cs, const uint8_t *plain, size_t len, uint8_t *out,
			 size_t cap, size_t *out_len, lm_err *err);

/* Decrypt one transport message msg (len bytes, NOISE_TAGLEN to
 * NOISE_MAX_MSG_LEN) into out (cap bytes), *out_len = len - NOISE_TAGLEN.
 * out may equal msg exactly. A failed decryption leaves the nonce as it was,
 * as the spec says; lmsync closes the connection. */
int noise_cipher_decrypt(noise_cipher *cs, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
			 size_t *out_len, lm_err *err);

/* Zero the key and the nonce. */
void noise_cipher_wipe(noise_cipher *cs);

/* A site's Noise static key from its Ed25519 key pair (libsodium's 64-byte
 * secret key): the X25519 private key and its public key. Fails if the
 * secret key's public half is not the public key of its seed. */
int noise_static_from_ed25519(const uint8_t ed_sk[NOISE_ED25519_SK_LEN],
			      uint8_t x_priv[NOISE_DHLEN], uint8_t x_pub[NOISE_DHLEN], lm_err *err);

/* The X25519 public key of a site id (an Ed25519 public key), to compare
 * with noise_handshake_remote_static. Fails for keys that are not valid
 * Ed25519 points. */
int noise_public_from_ed25519(const uint8_t ed_pk[NOISE_ED25519_PK_LEN], uint8_t x_pub[NOISE_DHLEN],
			      lm_err *err);

#endif
