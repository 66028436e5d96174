/* SPDX-License-Identifier: MIT */
/* Noise_*_25519_ChaChaPoly_BLAKE2b, following the Noise spec revision 34
 * section by section: the crypto functions (5.1 of the spec's section 4),
 * CipherState, SymmetricState, HandshakeState, then the Ed25519 helpers.
 * Static functions carry the spec's names in snake case so the two read side
 * by side. Handshake patterns are data: a table of tokens per message. */
#include "proto/noise.h"

#include <sodium.h>
#include <string.h>

#include "proto/siteid.h"

#define DHLEN	 NOISE_DHLEN
#define HASHLEN	 NOISE_HASHLEN
#define BLOCKLEN NOISE_BLOCKLEN
#define TAGLEN	 NOISE_TAGLEN
#define NONCELEN crypto_aead_chacha20poly1305_IETF_NPUBBYTES

_Static_assert(NOISE_KEYLEN == crypto_aead_chacha20poly1305_IETF_KEYBYTES, "key length");
_Static_assert(TAGLEN == crypto_aead_chacha20poly1305_IETF_ABYTES, "tag length");
_Static_assert(DHLEN == crypto_scalarmult_BYTES, "DH length");
_Static_assert(HASHLEN == crypto_generichash_blake2b_BYTES_MAX, "hash length");
_Static_assert(NOISE_ED25519_SK_LEN == crypto_sign_ed25519_SECRETKEYBYTES, "Ed25519 sk");
_Static_assert(NOISE_ED25519_PK_LEN == crypto_sign_ed25519_PUBLICKEYBYTES, "Ed25519 pk");

/* ---- Patterns -------------------------------------------------------- */

enum token { TOK_END = 0, TOK_E, TOK_S, TOK_EE, TOK_ES, TOK_SE, TOK_SS };

#define MAX_MESSAGES 3
#define MAX_TOKENS   6 /* IX's second message has five, then TOK_END */

/* The seven patterns here only ever pre-share s, so the pre-messages are two
 * flags: "-> s" (the initiator's key) and "<- s" (the responder's). Message i
 * (from 0) is written by the initiator when i is even. */
struct pattern_def {
	const char *name;
	const char *protocol;
	int pre_s_initiator;
	int pre_s_responder;
	unsigned nmessages;
	uint8_t tokens[MAX_MESSAGES][MAX_TOKENS];
};

#define NAMES(n) #n, "Noise_" #n "_25519_ChaChaPoly_BLAKE2b"

static const struct pattern_def patterns[NOISE_PATTERN_COUNT] = {
    [NOISE_NN] = {NAMES(NN), 0, 0, 2, {{TOK_E}, {TOK_E, TOK_EE}}},
    [NOISE_NK] = {NAMES(NK), 0, 1, 2, {{TOK_E, TOK_ES}, {TOK_E, TOK_EE}}},
    [NOISE_XK] = {NAMES(XK), 0, 1, 3, {{TOK_E, TOK_ES}, {TOK_E, TOK_EE}, {TOK_S, TOK_SE}}},
    [NOISE_XX] = {NAMES(XX), 0, 0, 3, {{TOK_E}, {TOK_E, TOK_EE, TOK_S, TOK_ES}, {TOK_S, TOK_SE}}},
    [NOISE_KK] = {NAMES(KK), 1, 1, 2, {{TOK_E, TOK_ES, TOK_SS}, {TOK_E, TOK_EE, TOK_SE}}},
    [NOISE_IK] = {NAMES(IK), 0, 1, 2, {{TOK_E, TOK_ES, TOK_S, TOK_SS}, {TOK_E, TOK_EE, TOK_SE}}},
    [NOISE_IX] = {NAMES(IX), 0, 0, 2, {{TOK_E, TOK_S}, {TOK_E, TOK_EE, TOK_SE, TOK_S, TOK_ES}}},
};

static const char *const token_names[] = {"", "e", "s", "ee", "es", "se", "ss"};

static int valid_pattern(noise_pattern p)
{
	return (unsigned)p < NOISE_PATTERN_COUNT;
}

const char *noise_pattern_name(noise_pattern p)
{
	return valid_pattern(p) ? patterns[p].name : "(unknown pattern)";
}

const char *noise_protocol_name(noise_pattern p)
{
	return valid_pattern(p) ? patterns[p].protocol : "(unknown protocol)";
}

int noise_protocol_parse(const char *name, noise_pattern *p, lm_err *err)
{
	int i;

	for (i = 0; i < NOISE_PATTERN_COUNT; i++) {
		if (strcmp(name, patterns[i].protocol) == 0) {
			*p = (noise_pattern)i;
			return 0;
		}
	}
	return lm_errf(err,
		       "'%s' is not a supported Noise protocol: only the patterns NN, NK, XK, XX, "
		       "KK, IK and IX with 25519_ChaChaPoly_BLAKE2b are, without modifiers",
		       name);
}

static int writes_message(int initiator, unsigned index)
{
	return (index % 2 == 0) == (initiator != 0);
}

unsigned noise_pattern_keys(noise_pattern p, int initiator)
{
	const struct pattern_def *d;
	unsigned need = 0, i;
	const uint8_t *t;

	if (!valid_pattern(p))
		return 0;
	d = &patterns[p];
	if (initiator ? d->pre_s_initiator : d->pre_s_responder)
		need |= NOISE_NEEDS_LOCAL_STATIC;
	if (initiator ? d->pre_s_responder : d->pre_s_initiator)
		need |= NOISE_NEEDS_REMOTE_STATIC;
	for (i = 0; i < d->nmessages; i++) {
		if (!writes_message(initiator, i))
			continue;
		for (t = d->tokens[i]; *t != TOK_END; t++)
			if (*t == TOK_S)
				need |= NOISE_NEEDS_LOCAL_STATIC;
	}
	return need;
}

/* ---- Crypto functions ------------------------------------------------- */

static void keypair_from_private(noise_keypair *kp, const uint8_t priv[DHLEN])
{
	memcpy(kp->priv, priv, DHLEN);
	/* X25519 clamps the scalar itself; the base point has no low order, so
	 * this cannot fail. */
	(void)crypto_scalarmult_base(kp->pub, kp->priv);
	kp->present = 1;
}

static void generate_keypair(noise_keypair *kp)
{
	uint8_t priv[DHLEN];

	randombytes_buf(priv, sizeof(priv));
	keypair_from_private(kp, priv);
	sodium_memzero(priv, sizeof(priv));
}

/* DH(key_pair, public_key); an all-zero result means the peer chose a
 * low-order point to force a known secret, so it is refused. */
static int dh(uint8_t out[DHLEN], const noise_keypair *kp, const uint8_t pub[DHLEN], lm_err *err)
{
	if (crypto_scalarmult(out, kp->priv, pub) != 0 || sodium_is_zero(out, DHLEN)) {
		sodium_memzero(out, DHLEN);
		return lm_errf(err, "the Diffie-Hellman result is all zeros: the peer sent a "
				    "low-order public key");
	}
	return 0;
}

/* HASH(a || b) with BLAKE2b-512. out may be a. */
static void hash_two(uint8_t out[HASHLEN], const uint8_t *a, size_t a_len, const uint8_t *b,
		     size_t b_len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&st, a, a_len);
	crypto_generichash_blake2b_update(&st, b, b_len);
	crypto_generichash_blake2b_final(&st, out, HASHLEN);
	sodium_memzero(&st, sizeof(st));
}

/* HMAC-HASH(key, data) as RFC 2104 over BLAKE2b, as the spec defines it (not
 * BLAKE2b's own keyed mode). Noise only keys it with HASHLEN bytes, which fit
 * in one block, so the key is never hashed first. */
static void hmac_hash(uint8_t out[HASHLEN], const uint8_t key[HASHLEN], const uint8_t *data,
		      size_t len)
{
	uint8_t pad[BLOCKLEN], inner[HASHLEN];
	size_t i;

	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, HASHLEN);
	for (i = 0; i < BLOCKLEN; i++)
		pad[i] ^= 0x36;
	hash_two(inner, pad, BLOCKLEN, data, len);
	for (i = 0; i < BLOCKLEN; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	hash_two(out, pad, BLOCKLEN, inner, HASHLEN);
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
}

/* HKDF(chaining_key, input_key_material, num_outputs) for 2 or 3 outputs:
 * output_i = HMAC-HASH(temp_key, output_{i-1} || byte(i)). outs[0] may be
 * chaining_key: it is read only before any output is written. */
static void hkdf(const uint8_t ck[HASHLEN], const uint8_t *ikm, size_t ikm_len, uint8_t *outs[],
		 size_t num_outputs)
{
	uint8_t temp_key[HASHLEN], in[HASHLEN + 1];
	size_t i, in_len = 0;

	hmac_hash(temp_key, ck, ikm, ikm_len);
	for (i = 0; i < num_outputs; i++) {
		in[in_len] = (uint8_t)(i + 1);
		hmac_hash(outs[i], temp_key, in, in_len + 1);
		memcpy(in, outs[i], HASHLEN);
		in_len = HASHLEN;
	}
	sodium_memzero(temp_key, sizeof(temp_key));
	sodium_memzero(in, sizeof(in));
}

/* ChaChaPoly's nonce: 32 bits of zeros, then n as 64 bits little-endian. */
static void encode_nonce(uint8_t out[NONCELEN], uint64_t n)
{
	int i;

	memset(out, 0, 4);
	for (i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (8 * i));
}

/* ---- CipherState ------------------------------------------------------ */

void noise_cipher_init_key(noise_cipher *cs, const uint8_t k[NOISE_KEYLEN])
{
	memcpy(cs->k, k, NOISE_KEYLEN);
	cs->has_key = 1;
	cs->n = 0;
}

int noise_cipher_has_key(const noise_cipher *cs)
{
	return cs->has_key;
}

void noise_cipher_set_nonce(noise_cipher *cs, uint64_t n)
{
	cs->n = n;
}

void noise_cipher_wipe(noise_cipher *cs)
{
	sodium_memzero(cs, sizeof(*cs));
}

/* 2^64-1 is reserved: once n reaches it the cipher is spent. */
static int check_nonce(const noise_cipher *cs, lm_err *err)
{
	if (cs->n == UINT64_MAX)
		return lm_errf(err, "nonce exhausted: this key has carried 2^64-1 messages; "
				    "open a new connection");
	return 0;
}

/* EncryptWithAd: out gets len + TAGLEN bytes, or the plaintext unchanged
 * while there is no key. */
static int cipher_encrypt_ad(noise_cipher *cs, const uint8_t *ad, size_t ad_len,
			     const uint8_t *plain, size_t len, uint8_t *out, lm_err *err)
{
	uint8_t nonce[NONCELEN];

	if (!cs->has_key) {
		if (len > 0)
			memmove(out, plain, len);
		return 0;
	}
	if (check_nonce(cs, err) < 0)
		return -1;
	encode_nonce(nonce, cs->n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, plain, len, ad, ad_len, NULL, nonce,
						  cs->k);
	cs->n++;
	return 0;
}

/* DecryptWithAd: out gets len - TAGLEN bytes, or len while there is no key.
 * On failure n stays as it was. */
static int cipher_decrypt_ad(noise_cipher *cs, const uint8_t *ad, size_t ad_len, const uint8_t *msg,
			     size_t len, uint8_t *out, lm_err *err)
{
	uint8_t nonce[NONCELEN];

	if (!cs->has_key) {
		if (len > 0)
			memmove(out, msg, len);
		return 0;
	}
	if (check_nonce(cs, err) < 0)
		return -1;
	if (len < TAGLEN)
		return lm_errf(err, "a %zu-byte ciphertext is too short to hold its %d-byte tag",
			       len, TAGLEN);
	encode_nonce(nonce, cs->n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, msg, len, ad, ad_len, nonce,
						      cs->k) != 0)
		return lm_errf(err, "decryption failed: the message was altered, or the peer "
				    "does not hold the keys this side expects");
	cs->n++;
	return 0;
}

int noise_cipher_encrypt(noise_cipher *cs, const uint8_t *plain, size_t len, uint8_t *out,
			 size_t cap, size_t *out_len, lm_err *err)
{
	if (!cs->has_key)
		return lm_errf(err,
			       "the cipher has no key: finish the handshake and split it first");
	if (len > NOISE_MAX_PAYLOAD_LEN)
		return lm_errf(err,
			       "a %zu-byte payload is over the %d bytes a Noise transport "
			       "message can carry",
			       len, NOISE_MAX_PAYLOAD_LEN);
	if (cap < len + TAGLEN)
		return lm_errf(err, "a %zu-byte buffer cannot hold a %zu-byte transport message",
			       cap, len + TAGLEN);
	if (cipher_encrypt_ad(cs, NULL, 0, plain, len, out, err) < 0)
		return -1;
	*out_len = len + TAGLEN;
	return 0;
}

int noise_cipher_decrypt(noise_cipher *cs, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
			 size_t *out_len, lm_err *err)
{
	if (!cs->has_key)
		return lm_errf(err,
			       "the cipher has no key: finish the handshake and split it first");
	if (len > NOISE_MAX_MSG_LEN)
		return lm_errf(err,
			       "a %zu-byte transport message is over the %d-byte limit of Noise",
			       len, NOISE_MAX_MSG_LEN);
	if (len < TAGLEN)
		return lm_errf(err,
			       "a %zu-byte transport message is too short to hold its %d-byte tag",
			       len, TAGLEN);
	if (cap < len - TAGLEN)
		return lm_errf(err, "a %zu-byte buffer cannot hold the %zu-byte payload", cap,
			       len - TAGLEN);
	if (cipher_decrypt_ad(cs, NULL, 0, msg, len, out, err) < 0)
		return -1;
	*out_len = len - TAGLEN;
	return 0;
}

/* ---- SymmetricState --------------------------------------------------- */

/* InitializeSymmetric: h is the name padded with zeros to HASHLEN, or its
 * hash if longer (never for the names here, which are 33 bytes); ck = h. */
static void symmetric_init(noise_symmetric *ss, const char *protocol)
{
	size_t len = strlen(protocol);

	memset(ss, 0, sizeof(*ss));
	if (len <= HASHLEN)
		memcpy(ss->h, protocol, len);
	else
		hash_two(ss->h, (const uint8_t *)protocol, len, NULL, 0);
	memcpy(ss->ck, ss->h, HASHLEN);
}

static void mix_hash(noise_symmetric *ss, const uint8_t *data, size_t len)
{
	hash_two(ss->h, ss->h, HASHLEN, data, len);
}

/* MixKey: ck, temp_k = HKDF(ck, ikm, 2); the key is temp_k's first 32 bytes. */
static void mix_key(noise_symmetric *ss, const uint8_t ikm[DHLEN])
{
	uint8_t temp_k[HASHLEN];
	uint8_t *outs[2] = {ss->ck, temp_k};

	hkdf(ss->ck, ikm, DHLEN, outs, 2);
	noise_cipher_init_key(&ss->cs, temp_k);
	sodium_memzero(temp_k, sizeof(temp_k));
}

/* Bytes EncryptAndHash adds to a plaintext in the current state. */
static size_t symmetric_overhead(const noise_symmetric *ss)
{
	return ss->cs.has_key ? TAGLEN : 0;
}

static int encrypt_and_hash(noise_symmetric *ss, const uint8_t *plain, size_t len, uint8_t *out,
			    lm_err *err)
{
	size_t out_len = len + symmetric_overhead(ss);

	if (cipher_encrypt_ad(&ss->cs, ss->h, HASHLEN, plain, len, out, err) < 0)
		return -1;
	mix_hash(ss, out, out_len);
	return 0;
}

/* DecryptAndHash. The next h is computed before decrypting, so h only moves
 * when decryption succeeds and out may even be msg itself. */
static int decrypt_and_hash(noise_symmetric *ss, const uint8_t *msg, size_t len, uint8_t *out,
			    lm_err *err)
{
	uint8_t next_h[HASHLEN];

	hash_two(next_h, ss->h, HASHLEN, msg, len);
	if (cipher_decrypt_ad(&ss->cs, ss->h, HASHLEN, msg, len, out, err) < 0)
		return -1;
	memcpy(ss->h, next_h, HASHLEN);
	return 0;
}

/* Split: two CipherStates from HKDF(ck, zerolen, 2), keys truncated to 32. */
static void symmetric_split(noise_symmetric *ss, noise_cipher *c1, noise_cipher *c2)
{
	uint8_t k1[HASHLEN], k2[HASHLEN];
	uint8_t *outs[2] = {k1, k2};

	hkdf(ss->ck, NULL, 0, outs, 2);
	noise_cipher_init_key(c1, k1);
	noise_cipher_init_key(c2, k2);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
}

/* ---- HandshakeState --------------------------------------------------- */

static const char *side_name(int initiator)
{
	return initiator ? "initiator" : "responder";
}

static int check_keys(noise_pattern p, int initiator, const uint8_t *s, const uint8_t *rs,
		      lm_err *err)
{
	unsigned need = noise_pattern_keys(p, initiator);
	const char *side = side_name(initiator), *name = patterns[p].protocol;

	if ((need & NOISE_NEEDS_LOCAL_STATIC) && s == NULL)
		return lm_errf(err, "the %s of %s needs its own static key", side, name);
	if (!(need & NOISE_NEEDS_LOCAL_STATIC) && s != NULL)
		return lm_errf(err, "the %s of %s has no static key, yet one was given", side,
			       name);
	if ((need & NOISE_NEEDS_REMOTE_STATIC) && rs == NULL)
		return lm_errf(err, "the %s of %s needs the peer's static key in advance", side,
			       name);
	if (!(need & NOISE_NEEDS_REMOTE_STATIC) && rs != NULL)
		return lm_errf(err,
			       "the %s of %s learns the peer's static key from the handshake, "
			       "yet one was given in advance",
			       side, name);
	return 0;
}

/* The pre-messages in order: the initiator's, then the responder's. */
static void mix_pre_messages(noise_handshake *hs)
{
	const struct pattern_def *d = &patterns[hs->pattern];

	if (d->pre_s_initiator)
		mix_hash(&hs->sym, hs->initiator ? hs->s.pub : hs->rs, DHLEN);
	if (d->pre_s_responder)
		mix_hash(&hs->sym, hs->initiator ? hs->rs : hs->s.pub, DHLEN);
}

int noise_handshake_init(noise_handshake *hs, noise_pattern p, int initiator,
			 const uint8_t *prologue, size_t prologue_len,
			 const uint8_t *local_static_private, const uint8_t *remote_static_public,
			 lm_err *err)
{
	if (!valid_pattern(p))
		return lm_errf(err, "%d is not a Noise pattern this module knows", (int)p);
	if (prologue == NULL && prologue_len > 0)
		return lm_errf(err, "a %zu-byte prologue was announced but not given",
			       prologue_len);
	if (check_keys(p, initiator, local_static_private, remote_static_public, err) < 0)
		return -1;
	memset(hs, 0, sizeof(*hs));
	hs->pattern = p;
	hs->initiator = initiator != 0;
	symmetric_init(&hs->sym, patterns[p].protocol);
	mix_hash(&hs->sym, prologue, prologue_len);
	if (local_static_private != NULL)
		keypair_from_private(&hs->s, local_static_private);
	if (remote_static_public != NULL) {
		memcpy(hs->rs, remote_static_public, DHLEN);
		hs->has_rs = 1;
	}
	mix_pre_messages(hs);
	return 0;
}

int noise_handshake_set_ephemeral(noise_handshake *hs, const uint8_t priv[NOISE_DHLEN], lm_err *err)
{
	if (hs->e.present)
		return lm_errf(err, "the ephemeral key is already chosen; set it right after init");
	keypair_from_private(&hs->e, priv);
	return 0;
}

int noise_handshake_is_done(const noise_handshake *hs)
{
	return hs->next >= patterns[hs->pattern].nmessages;
}

int noise_handshake_writes_next(const noise_handshake *hs)
{
	return !noise_handshake_is_done(hs) && writes_message(hs->initiator, hs->next);
}

/* The message-independent reasons a read or write cannot happen now. */
static int check_step(const noise_handshake *hs, int writing, lm_err *err)
{
	const struct pattern_def *d = &patterns[hs->pattern];
	int writer_is_initiator = writes_message(1, hs->next);

	if (hs->failed)
		return lm_errf(err,
			       "the %s handshake already failed; start over on a new connection",
			       d->protocol);
	if (noise_handshake_is_done(hs))
		return lm_errf(err, "the %s handshake is complete: it has no message %u",
			       d->protocol, hs->next + 1);
	if (writes_message(hs->initiator, hs->next) != writing)
		return lm_errf(err,
			       "out of turn: message %u of %s is the %s's to write, and this side "
			       "is the %s",
			       hs->next + 1, d->protocol, side_name(writer_is_initiator),
			       side_name(hs->initiator));
	return 0;
}

/* Bytes the tokens of the next message take, and (in *keyed) whether the
 * payload after them is encrypted: the state as it will be once they run. */
static size_t tokens_len(const noise_handshake *hs, int *keyed)
{
	const uint8_t *t = patterns[hs->pattern].tokens[hs->next];
	int key = hs->sym.cs.has_key;
	size_t len = 0;

	for (; *t != TOK_END; t++) {
		if (*t == TOK_E)
			len += DHLEN;
		else if (*t == TOK_S)
			len += DHLEN + (key ? TAGLEN : 0);
		else
			key = 1; /* every DH token calls MixKey */
	}
	*keyed = key;
	return len;
}

/* ee, es, se, ss: MixKey(DH(ours, theirs)), the spec's choice of key pair
 * for each token and side. */
static int mix_dh(noise_handshake *hs, enum token t, lm_err *err)
{
	int local_e =
	    t == TOK_EE || (t == TOK_ES && hs->initiator) || (t == TOK_SE && !hs->initiator);
	int remote_e =
	    t == TOK_EE || (t == TOK_ES && !hs->initiator) || (t == TOK_SE && hs->initiator);
	const noise_keypair *local = local_e ? &hs->e : &hs->s;
	const uint8_t *remote = remote_e ? hs->re : hs->rs;
	int have_remote = remote_e ? hs->has_re : hs->has_rs;
	uint8_t shared[DHLEN];

	if (!local->present || !have_remote)
		return lm_errf(err, "token %s: a key it needs is missing", token_names[t]);
	if (dh(shared, local, remote, err) < 0)
		return lm_err_wrap(err, "token %s", token_names[t]);
	mix_key(&hs->sym, shared);
	sodium_memzero(shared, sizeof(shared));
	return 0;
}

static int write_token(noise_handshake *hs, enum token t, uint8_t *out, size_t *off, lm_err *err)
{
	size_t len;

	switch (t) {
	case TOK_E:
		if (!hs->e.present)
			generate_keypair(&hs->e);
		memcpy(out + *off, hs->e.pub, DHLEN);
		mix_hash(&hs->sym, hs->e.pub, DHLEN);
		*off += DHLEN;
		return 0;
	case TOK_S:
		len = DHLEN + symmetric_overhead(&hs->sym);
		if (encrypt_and_hash(&hs->sym, hs->s.pub, DHLEN, out + *off, err) < 0)
			return -1;
		*off += len;
		return 0;
	default:
		return mix_dh(hs, t, err);
	}
}

static int read_token(noise_handshake *hs, enum token t, const uint8_t *msg, size_t *off,
		      lm_err *err)
{
	size_t len;

	switch (t) {
	case TOK_E:
		memcpy(hs->re, msg + *off, DHLEN);
		hs->has_re = 1;
		mix_hash(&hs->sym, hs->re, DHLEN);
		*off += DHLEN;
		return 0;
	case TOK_S:
		len = DHLEN + symmetric_overhead(&hs->sym);
		if (decrypt_and_hash(&hs->sym, msg + *off, len, hs->rs, err) < 0)
			return lm_err_wrap(err, "the peer's static key");
		hs->has_rs = 1;
		*off += len;
		return 0;
	default:
		return mix_dh(hs, t, err);
	}
}

static int write_tokens(noise_handshake *hs, uint8_t *out, lm_err *err)
{
	const uint8_t *t = patterns[hs->pattern].tokens[hs->next];
	size_t off = 0;

	for (; *t != TOK_END; t++)
		if (write_token(hs, (enum token) * t, out, &off, err) < 0)
			return -1;
	return 0;
}

static int read_tokens(noise_handshake *hs, const uint8_t *msg, lm_err *err)
{
	const uint8_t *t = patterns[hs->pattern].tokens[hs->next];
	size_t off = 0;

	for (; *t != TOK_END; t++)
		if (read_token(hs, (enum token) * t, msg, &off, err) < 0)
			return -1;
	return 0;
}

/* A failure half way through a message: the state is spent. */
static int fail_message(noise_handshake *hs, const char *verb, lm_err *err)
{
	hs->failed = 1;
	return lm_err_wrap(err, "%s message %u of %s", verb, hs->next + 1,
			   patterns[hs->pattern].protocol);
}

int noise_handshake_write(noise_handshake *hs, const uint8_t *payload, size_t payload_len,
			  uint8_t *out, size_t cap, size_t *out_len, lm_err *err)
{
	const char *name = patterns[hs->pattern].protocol;
	size_t off, total;
	int keyed;

	if (check_step(hs, 1, err) < 0)
		return -1;
	off = tokens_len(hs, &keyed);
	if (payload_len > NOISE_MAX_MSG_LEN ||
	    off + payload_len + (keyed ? TAGLEN : 0) > NOISE_MAX_MSG_LEN)
		return lm_errf(err,
			       "a %zu-byte payload makes message %u of %s longer than the %d "
			       "bytes a Noise message may have",
			       payload_len, hs->next + 1, name, NOISE_MAX_MSG_LEN);
	total = off + payload_len + (keyed ? TAGLEN : 0);
	if (total > cap)
		return lm_errf(err, "message %u of %s takes %zu bytes, the buffer has %zu",
			       hs->next + 1, name, total, cap);
	if (write_tokens(hs, out, err) < 0 ||
	    encrypt_and_hash(&hs->sym, payload, payload_len, out + off, err) < 0)
		return fail_message(hs, "writing", err);
	hs->next++;
	*out_len = total;
	return 0;
}

int noise_handshake_read(noise_handshake *hs, const uint8_t *msg, size_t len, uint8_t *payload_out,
			 size_t cap, size_t *payload_len, lm_err *err)
{
	const char *name = patterns[hs->pattern].protocol;
	size_t off, min;
	int keyed;

	if (check_step(hs, 0, err) < 0)
		return -1;
	if (len > NOISE_MAX_MSG_LEN)
		return lm_errf(err,
			       "message %u of %s is %zu bytes, over the %d a Noise message may "
			       "have",
			       hs->next + 1, name, len, NOISE_MAX_MSG_LEN);
	off = tokens_len(hs, &keyed);
	min = off + (keyed ? TAGLEN : 0);
	if (len < min)
		return lm_errf(err, "message %u of %s is %zu bytes, too short: it has at least %zu",
			       hs->next + 1, name, len, min);
	if (len - min > cap)
		return lm_errf(err,
			       "the %zu-byte payload of message %u of %s does not fit in %zu bytes",
			       len - min, hs->next + 1, name, cap);
	if (read_tokens(hs, msg, err) < 0 ||
	    decrypt_and_hash(&hs->sym, msg + off, len - off, payload_out, err) < 0)
		return fail_message(hs, "reading", err);
	hs->next++;
	*payload_len = len - min;
	return 0;
}

/* What a finished handshake keeps: h and the peer's key, no secrets. */
static void forget_secrets(noise_handshake *hs)
{
	sodium_memzero(hs->sym.ck, sizeof(hs->sym.ck));
	noise_cipher_wipe(&hs->sym.cs);
	sodium_memzero(&hs->s, sizeof(hs->s));
	sodium_memzero(&hs->e, sizeof(hs->e));
}

static int check_finished(const noise_handshake *hs, lm_err *err)
{
	const struct pattern_def *d = &patterns[hs->pattern];

	if (hs->failed)
		return lm_errf(err, "the %s handshake failed", d->protocol);
	if (!noise_handshake_is_done(hs))
		return lm_errf(err, "the %s handshake is not finished: message %u of %u is next",
			       d->protocol, hs->next + 1, d->nmessages);
	return 0;
}

int noise_handshake_split(noise_handshake *hs, noise_cipher *send, noise_cipher *recv, lm_err *err)
{
	noise_cipher c1, c2;

	if (check_finished(hs, err) < 0)
		return -1;
	if (hs->split)
		return lm_errf(err, "the handshake was already split into transport ciphers");
	symmetric_split(&hs->sym, &c1, &c2);
	/* The initiator sends with the first cipher, the responder with the second. */
	*send = hs->initiator ? c1 : c2;
	*recv = hs->initiator ? c2 : c1;
	noise_cipher_wipe(&c1);
	noise_cipher_wipe(&c2);
	forget_secrets(hs);
	hs->split = 1;
	return 0;
}

int noise_handshake_hash(const noise_handshake *hs, uint8_t out[NOISE_HASHLEN], lm_err *err)
{
	if (check_finished(hs, err) < 0)
		return -1;
	memcpy(out, hs->sym.h, HASHLEN);
	return 0;
}

int noise_handshake_remote_static(const noise_handshake *hs, uint8_t out[NOISE_DHLEN], lm_err *err)
{
	if (!hs->has_rs)
		return lm_errf(err, "the peer's static key is not known yet at message %u of %s",
			       hs->next + 1, patterns[hs->pattern].protocol);
	memcpy(out, hs->rs, DHLEN);
	return 0;
}

void noise_handshake_wipe(noise_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
	hs->failed = 1; /* a wiped state refuses to be used again */
}

/* ---- Ed25519 site keys as Noise static keys --------------------------- */

int noise_public_from_ed25519(const uint8_t ed_pk[NOISE_ED25519_PK_LEN], uint8_t x_pub[NOISE_DHLEN],
			      lm_err *err)
{
	char hex[SITEID_HEX_LEN + 1];

	if (crypto_sign_ed25519_pk_to_curve25519(x_pub, ed_pk) == 0)
		return 0;
	siteid_to_hex(ed_pk, hex);
	return lm_errf(err, "%s is not a valid Ed25519 public key, so it cannot be a site id", hex);
}

int noise_static_from_ed25519(const uint8_t ed_sk[NOISE_ED25519_SK_LEN],
			      uint8_t x_priv[NOISE_DHLEN], uint8_t x_pub[NOISE_DHLEN], lm_err *err)
{
	const uint8_t *ed_pk = ed_sk + crypto_sign_ed25519_SEEDBYTES;
	uint8_t derived[DHLEN];
	int match;

	if (noise_public_from_ed25519(ed_pk, x_pub, err) < 0)
		return lm_err_wrap(err, "the site key is damaged");
	if (crypto_sign_ed25519_sk_to_curve25519(x_priv, ed_sk) != 0)
		return lm_errf(err, "the site key is damaged: its secret half cannot be converted");
	(void)crypto_scalarmult_base(derived, x_priv);
	match = sodium_memcmp(derived, x_pub, DHLEN) == 0;
	sodium_memzero(derived, sizeof(derived));
	if (!match) {
		sodium_memzero(x_priv, DHLEN);
		return lm_errf(err, "the site key is damaged: its secret half does not belong to "
				    "its public half");
	}
	return 0;
}
