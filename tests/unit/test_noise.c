/* SPDX-License-Identifier: MIT */
/* Noise handshakes between two of our own handshake states: the lmsync XX
 * handshake and transport both ways, tampering anywhere, wrong prologue, out
 * of turn, nonce exhaustion, size limits, low-order keys, every pattern, and
 * the Ed25519 to X25519 conversion. The public vectors are checked by
 * noise_vectors; these tests cover what vectors cannot: the failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "proto/noise.h"

#define PROLOGUE     ((const uint8_t *)NOISE_PROLOGUE_LMSYNC)
#define PROLOGUE_LEN NOISE_PROLOGUE_LMSYNC_LEN
#define BUF_LEN	     (NOISE_MAX_MSG_LEN + 64)

struct keypair {
	uint8_t priv[NOISE_DHLEN], pub[NOISE_DHLEN];
};

/* Both ends of one connection. */
struct pair {
	struct keypair ik, rk; /* initiator's and responder's static keys */
	noise_handshake init, resp;
	noise_cipher init_send, init_recv, resp_send, resp_recv;
};

static uint8_t msg[BUF_LEN], out[BUF_LEN];

static void random_keypair(struct keypair *kp)
{
	randombytes_buf(kp->priv, sizeof(kp->priv));
	crypto_scalarmult_base(kp->pub, kp->priv);
}

static void pair_init_xx(struct pair *p, const char *init_prologue, const char *resp_prologue)
{
	lm_err err;

	random_keypair(&p->ik);
	random_keypair(&p->rk);
	assert_int_equal(noise_handshake_init(&p->init, NOISE_XX, 1, (const uint8_t *)init_prologue,
					      strlen(init_prologue), p->ik.priv, NULL, &err),
			 0);
	assert_int_equal(noise_handshake_init(&p->resp, NOISE_XX, 0, (const uint8_t *)resp_prologue,
					      strlen(resp_prologue), p->rk.priv, NULL, &err),
			 0);
}

static void pair_wipe(struct pair *p)
{
	noise_handshake_wipe(&p->init);
	noise_handshake_wipe(&p->resp);
	noise_cipher_wipe(&p->init_send);
	noise_cipher_wipe(&p->init_recv);
	noise_cipher_wipe(&p->resp_send);
	noise_cipher_wipe(&p->resp_recv);
}

/* Message i of the handshake: the sender writes payload, flipping bit 0 of
 * byte flip_at if that is inside the message; the receiver reads. Returns
 * the read's result; a write must succeed. */
static int step(struct pair *p, unsigned i, const char *payload, size_t flip_at, lm_err *err)
{
	noise_handshake *from = i % 2 == 0 ? &p->init : &p->resp;
	noise_handshake *to = i % 2 == 0 ? &p->resp : &p->init;
	size_t len, plen;

	assert_int_equal(noise_handshake_writes_next(from), 1);
	assert_int_equal(noise_handshake_writes_next(to), 0);
	assert_int_equal(noise_handshake_write(from, (const uint8_t *)payload, strlen(payload), msg,
					       sizeof(msg), &len, err),
			 0);
	if (flip_at < len)
		msg[flip_at] ^= 1;
	if (noise_handshake_read(to, msg, len, out, sizeof(out), &plen, err) < 0)
		return -1;
	assert_int_equal(plen, strlen(payload));
	assert_memory_equal(out, payload, plen);
	return 0;
}

/* The whole handshake, with one byte of message flip_msg flipped. Returns
 * 0 if it completed, -1 at the first failed read. */
static int handshake(struct pair *p, unsigned flip_msg, size_t flip_at, lm_err *err)
{
	static const char *const payloads[] = {"", "two", "three"};
	unsigned i;

	for (i = 0; i < 3; i++)
		if (step(p, i, payloads[i], i == flip_msg ? flip_at : SIZE_MAX, err) < 0)
			return -1;
	return 0;
}

static void split_both(struct pair *p)
{
	lm_err err;

	assert_int_equal(noise_handshake_split(&p->init, &p->init_send, &p->init_recv, &err), 0);
	assert_int_equal(noise_handshake_split(&p->resp, &p->resp_send, &p->resp_recv, &err), 0);
}

static void send_transport(noise_cipher *send, noise_cipher *recv, size_t len)
{
	uint8_t plain[300], back[300];
	size_t clen, plen;
	lm_err err;

	randombytes_buf(plain, len);
	assert_int_equal(noise_cipher_encrypt(send, plain, len, msg, sizeof(msg), &clen, &err), 0);
	assert_int_equal(clen, len + NOISE_TAGLEN);
	assert_int_equal(noise_cipher_decrypt(recv, msg, clen, back, sizeof(back), &plen, &err), 0);
	assert_int_equal(plen, len);
	assert_memory_equal(back, plain, len);
}

static void connect_pair(struct pair *p)
{
	lm_err err;

	pair_init_xx(p, NOISE_PROLOGUE_LMSYNC, NOISE_PROLOGUE_LMSYNC);
	assert_int_equal(handshake(p, 99, 0, &err), 0);
	split_both(p);
}

static void test_xx_handshake_and_transport(void **state)
{
	uint8_t h1[NOISE_HASHLEN], h2[NOISE_HASHLEN], rs[NOISE_DHLEN];
	struct pair p;
	size_t len;
	lm_err err;

	(void)state;
	pair_init_xx(&p, NOISE_PROLOGUE_LMSYNC, NOISE_PROLOGUE_LMSYNC);
	assert_int_equal(noise_handshake_remote_static(&p.resp, rs, &err), -1);
	assert_int_equal(handshake(&p, 99, 0, &err), 0);
	assert_true(noise_handshake_is_done(&p.init));
	assert_true(noise_handshake_is_done(&p.resp));
	assert_int_equal(noise_handshake_remote_static(&p.init, rs, &err), 0);
	assert_memory_equal(rs, p.rk.pub, NOISE_DHLEN);
	assert_int_equal(noise_handshake_remote_static(&p.resp, rs, &err), 0);
	assert_memory_equal(rs, p.ik.pub, NOISE_DHLEN);
	assert_int_equal(noise_handshake_hash(&p.init, h1, &err), 0);
	assert_int_equal(noise_handshake_hash(&p.resp, h2, &err), 0);
	assert_memory_equal(h1, h2, NOISE_HASHLEN);
	split_both(&p);
	for (len = 0; len < 300; len += 37) {
		send_transport(&p.init_send, &p.resp_recv, len);
		send_transport(&p.resp_send, &p.init_recv, len);
	}
	/* After split the hash and the peer's key stay; a second split does not. */
	assert_int_equal(noise_handshake_hash(&p.init, h1, &err), 0);
	assert_memory_equal(h1, h2, NOISE_HASHLEN);
	assert_int_equal(noise_handshake_split(&p.init, &p.init_send, &p.init_recv, &err), -1);
	pair_wipe(&p);
}

static void test_flipped_handshake_byte_fails(void **state)
{
	static const size_t lens[] = {32, 32 + 48 + 16 + 3, 48 + 16 + 5};
	struct pair p;
	unsigned m;
	size_t at;
	lm_err err;

	(void)state;
	for (m = 0; m < 3; m++) {
		for (at = 0; at < lens[m]; at++) {
			pair_init_xx(&p, NOISE_PROLOGUE_LMSYNC, NOISE_PROLOGUE_LMSYNC);
			assert_int_equal(handshake(&p, m, at, &err), -1);
			assert_non_null(strstr(err.msg, "decryption failed"));
			pair_wipe(&p);
		}
	}
}

static void test_flipped_transport_byte_fails(void **state)
{
	const uint8_t plain[] = "a transport message";
	uint8_t back[sizeof(plain)];
	struct pair p;
	size_t clen, plen, at;
	lm_err err;

	(void)state;
	connect_pair(&p);
	assert_int_equal(
	    noise_cipher_encrypt(&p.init_send, plain, sizeof(plain), msg, sizeof(msg), &clen, &err),
	    0);
	for (at = 0; at < clen; at++) {
		memcpy(out, msg, clen);
		out[at] ^= 0x80;
		assert_int_equal(
		    noise_cipher_decrypt(&p.resp_recv, out, clen, back, sizeof(back), &plen, &err),
		    -1);
		assert_non_null(strstr(err.msg, "decryption failed"));
	}
	/* Failures left the nonce alone: the genuine message still decrypts. */
	assert_int_equal(
	    noise_cipher_decrypt(&p.resp_recv, msg, clen, back, sizeof(back), &plen, &err), 0);
	assert_memory_equal(back, plain, sizeof(plain));
	/* A replay is refused: the nonce has moved on. */
	assert_int_equal(
	    noise_cipher_decrypt(&p.resp_recv, msg, clen, back, sizeof(back), &plen, &err), -1);
	pair_wipe(&p);
}

static void test_wrong_prologue_fails(void **state)
{
	struct pair p;
	lm_err err;

	(void)state;
	pair_init_xx(&p, "lmsync/1", "lmsync/2");
	assert_int_equal(handshake(&p, 99, 0, &err), -1);
	assert_non_null(strstr(err.msg, "reading message 2"));
	pair_wipe(&p);
}

static void test_out_of_turn_fails(void **state)
{
	struct pair p;
	size_t len;
	lm_err err;

	(void)state;
	pair_init_xx(&p, NOISE_PROLOGUE_LMSYNC, NOISE_PROLOGUE_LMSYNC);
	assert_int_equal(noise_handshake_read(&p.init, msg, 32, out, sizeof(out), &len, &err), -1);
	assert_non_null(strstr(err.msg, "out of turn"));
	assert_int_equal(noise_handshake_write(&p.resp, NULL, 0, msg, sizeof(msg), &len, &err), -1);
	assert_non_null(strstr(err.msg, "out of turn"));
	/* Nothing changed: the handshake still goes through. */
	assert_int_equal(handshake(&p, 99, 0, &err), 0);
	assert_int_equal(noise_handshake_write(&p.init, NULL, 0, msg, sizeof(msg), &len, &err), -1);
	assert_non_null(strstr(err.msg, "complete"));
	assert_int_equal(noise_handshake_read(&p.resp, msg, 64, out, sizeof(out), &len, &err), -1);
	pair_wipe(&p);
}

static void test_nonce_exhaustion_fails(void **state)
{
	struct pair p;
	size_t len;
	lm_err err;

	(void)state;
	connect_pair(&p);
	noise_cipher_set_nonce(&p.init_send, UINT64_MAX);
	assert_int_equal(noise_cipher_encrypt(&p.init_send, msg, 4, out, sizeof(out), &len, &err),
			 -1);
	assert_non_null(strstr(err.msg, "nonce exhausted"));
	/* 2^64-2 is the last usable nonce, on both sides. */
	noise_cipher_set_nonce(&p.init_send, UINT64_MAX - 1);
	noise_cipher_set_nonce(&p.resp_recv, UINT64_MAX - 1);
	send_transport(&p.init_send, &p.resp_recv, 4);
	assert_int_equal(noise_cipher_encrypt(&p.init_send, msg, 4, out, sizeof(out), &len, &err),
			 -1);
	assert_non_null(strstr(err.msg, "nonce exhausted"));
	assert_int_equal(noise_cipher_decrypt(&p.resp_recv, msg, 20, out, sizeof(out), &len, &err),
			 -1);
	assert_non_null(strstr(err.msg, "nonce exhausted"));
	pair_wipe(&p);
}

static void test_size_limits(void **state)
{
	struct pair p;
	size_t len;
	lm_err err;

	(void)state;
	pair_init_xx(&p, NOISE_PROLOGUE_LMSYNC, NOISE_PROLOGUE_LMSYNC);
	/* Message 1 is e (32 bytes) and a plaintext payload. */
	assert_int_equal(noise_handshake_write(&p.init, msg, NOISE_MAX_MSG_LEN - 31, out,
					       sizeof(out), &len, &err),
			 -1);
	assert_non_null(strstr(err.msg, "65535"));
	assert_int_equal(noise_handshake_write(&p.init, NULL, 0, out, 31, &len, &err), -1);
	assert_int_equal(noise_handshake_read(&p.resp, msg, 31, out, sizeof(out), &len, &err), -1);
	assert_non_null(strstr(err.msg, "too short"));
	assert_int_equal(
	    noise_handshake_read(&p.resp, msg, NOISE_MAX_MSG_LEN + 1, out, sizeof(out), &len, &err),
	    -1);
	/* None of that changed the state. */
	assert_int_equal(handshake(&p, 99, 0, &err), 0);
	split_both(&p);
	assert_int_equal(noise_cipher_encrypt(&p.init_send, msg, NOISE_MAX_PAYLOAD_LEN + 1, out,
					      sizeof(out), &len, &err),
			 -1);
	assert_int_equal(noise_cipher_encrypt(&p.init_send, msg, NOISE_MAX_PAYLOAD_LEN, out,
					      sizeof(out), &len, &err),
			 0);
	assert_int_equal(len, NOISE_MAX_MSG_LEN);
	assert_int_equal(noise_cipher_decrypt(&p.resp_recv, out, len, out, len, &len, &err), 0);
	assert_int_equal(noise_cipher_decrypt(&p.resp_recv, out, NOISE_MAX_MSG_LEN + 1, msg,
					      sizeof(msg), &len, &err),
			 -1);
	assert_int_equal(
	    noise_cipher_decrypt(&p.resp_recv, out, NOISE_TAGLEN - 1, msg, sizeof(msg), &len, &err),
	    -1);
	assert_non_null(strstr(err.msg, "too short"));
	pair_wipe(&p);
}

static void test_low_order_key_fails(void **state)
{
	struct pair p;
	size_t len;
	lm_err err;

	(void)state;
	pair_init_xx(&p, NOISE_PROLOGUE_LMSYNC, NOISE_PROLOGUE_LMSYNC);
	memset(msg, 0, 32); /* message 1 with an all-zero ephemeral key */
	assert_int_equal(noise_handshake_read(&p.resp, msg, 32, out, sizeof(out), &len, &err), 0);
	assert_int_equal(noise_handshake_write(&p.resp, NULL, 0, msg, sizeof(msg), &len, &err), -1);
	assert_non_null(strstr(err.msg, "all zeros"));
	assert_int_equal(noise_handshake_write(&p.resp, NULL, 0, msg, sizeof(msg), &len, &err), -1);
	assert_non_null(strstr(err.msg, "already failed"));
	pair_wipe(&p);
}

static void test_not_done_refusals(void **state)
{
	uint8_t h[NOISE_HASHLEN];
	noise_cipher send, recv;
	struct pair p;
	size_t len;
	lm_err err;

	(void)state;
	pair_init_xx(&p, NOISE_PROLOGUE_LMSYNC, NOISE_PROLOGUE_LMSYNC);
	assert_int_equal(noise_handshake_split(&p.init, &send, &recv, &err), -1);
	assert_non_null(strstr(err.msg, "not finished"));
	assert_int_equal(noise_handshake_hash(&p.init, h, &err), -1);
	memset(&send, 0, sizeof(send));
	assert_int_equal(noise_cipher_encrypt(&send, msg, 1, out, sizeof(out), &len, &err), -1);
	assert_non_null(strstr(err.msg, "no key"));
	pair_wipe(&p);
}

static void test_init_checks_keys(void **state)
{
	struct keypair k;
	noise_handshake hs;
	noise_pattern pat;
	lm_err err;

	(void)state;
	random_keypair(&k);
	assert_int_equal(
	    noise_handshake_init(&hs, NOISE_XX, 1, PROLOGUE, PROLOGUE_LEN, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "needs its own static key"));
	assert_int_equal(
	    noise_handshake_init(&hs, NOISE_XX, 0, PROLOGUE, PROLOGUE_LEN, k.priv, k.pub, &err),
	    -1);
	assert_int_equal(
	    noise_handshake_init(&hs, NOISE_NN, 0, PROLOGUE, PROLOGUE_LEN, k.priv, NULL, &err), -1);
	assert_int_equal(
	    noise_handshake_init(&hs, NOISE_IK, 1, PROLOGUE, PROLOGUE_LEN, k.priv, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "in advance"));
	assert_int_equal(noise_pattern_keys(NOISE_XX, 1), NOISE_NEEDS_LOCAL_STATIC);
	assert_int_equal(noise_pattern_keys(NOISE_IK, 1),
			 NOISE_NEEDS_LOCAL_STATIC | NOISE_NEEDS_REMOTE_STATIC);
	assert_int_equal(noise_pattern_keys(NOISE_IK, 0), NOISE_NEEDS_LOCAL_STATIC);
	assert_int_equal(noise_pattern_keys(NOISE_NN, 0), 0);
	assert_int_equal(noise_protocol_parse("Noise_XX_25519_ChaChaPoly_BLAKE2b", &pat, &err), 0);
	assert_int_equal(pat, NOISE_XX);
	assert_int_equal(noise_protocol_parse("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", &pat, &err),
			 -1);
	assert_int_equal(noise_protocol_parse("Noise_XX_25519_AESGCM_SHA256", &pat, &err), -1);
}

/* A pattern between our own states, with whatever keys it needs. */
static void round_trip_pattern(noise_pattern pat)
{
	uint8_t h1[NOISE_HASHLEN], h2[NOISE_HASHLEN], rs[NOISE_DHLEN];
	unsigned ni = noise_pattern_keys(pat, 1), nr = noise_pattern_keys(pat, 0);
	struct pair p;
	size_t len, plen;
	lm_err err;

	random_keypair(&p.ik);
	random_keypair(&p.rk);
	assert_int_equal(noise_handshake_init(&p.init, pat, 1, PROLOGUE, PROLOGUE_LEN,
					      ni & NOISE_NEEDS_LOCAL_STATIC ? p.ik.priv : NULL,
					      ni & NOISE_NEEDS_REMOTE_STATIC ? p.rk.pub : NULL,
					      &err),
			 0);
	assert_int_equal(noise_handshake_init(&p.resp, pat, 0, PROLOGUE, PROLOGUE_LEN,
					      nr & NOISE_NEEDS_LOCAL_STATIC ? p.rk.priv : NULL,
					      nr & NOISE_NEEDS_REMOTE_STATIC ? p.ik.pub : NULL,
					      &err),
			 0);
	while (!noise_handshake_is_done(&p.init)) {
		noise_handshake *from = noise_handshake_writes_next(&p.init) ? &p.init : &p.resp;
		noise_handshake *to = from == &p.init ? &p.resp : &p.init;

		assert_int_equal(noise_handshake_write(from, NULL, 0, msg, sizeof(msg), &len, &err),
				 0);
		assert_int_equal(noise_handshake_read(to, msg, len, out, sizeof(out), &plen, &err),
				 0);
		assert_int_equal(plen, 0);
	}
	assert_true(noise_handshake_is_done(&p.resp));
	assert_int_equal(noise_handshake_hash(&p.init, h1, &err), 0);
	assert_int_equal(noise_handshake_hash(&p.resp, h2, &err), 0);
	assert_memory_equal(h1, h2, NOISE_HASHLEN);
	if (nr & NOISE_NEEDS_LOCAL_STATIC) {
		assert_int_equal(noise_handshake_remote_static(&p.init, rs, &err), 0);
		assert_memory_equal(rs, p.rk.pub, NOISE_DHLEN);
	}
	split_both(&p);
	send_transport(&p.init_send, &p.resp_recv, 10);
	send_transport(&p.resp_send, &p.init_recv, 10);
	pair_wipe(&p);
}

static void test_every_pattern_round_trips(void **state)
{
	int pat;

	(void)state;
	for (pat = 0; pat < NOISE_PATTERN_COUNT; pat++)
		round_trip_pattern((noise_pattern)pat);
}

static void test_ed25519_conversion(void **state)
{
	uint8_t pk[NOISE_ED25519_PK_LEN], sk[NOISE_ED25519_SK_LEN];
	uint8_t pk2[NOISE_ED25519_PK_LEN], sk2[NOISE_ED25519_SK_LEN];
	uint8_t xpriv[NOISE_DHLEN], xpub[NOISE_DHLEN], xpub2[NOISE_DHLEN], derived[NOISE_DHLEN];
	uint8_t identity[NOISE_ED25519_PK_LEN] = {1};
	lm_err err;
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		crypto_sign_keypair(pk, sk);
		assert_int_equal(noise_static_from_ed25519(sk, xpriv, xpub, &err), 0);
		assert_int_equal(noise_public_from_ed25519(pk, xpub2, &err), 0);
		assert_memory_equal(xpub, xpub2, NOISE_DHLEN);
		crypto_scalarmult_base(derived, xpriv);
		assert_memory_equal(derived, xpub, NOISE_DHLEN);
	}
	/* A secret key whose public half belongs to another key. */
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	memcpy(sk + 32, pk2, 32);
	assert_int_equal(noise_static_from_ed25519(sk, xpriv, xpub, &err), -1);
	assert_non_null(strstr(err.msg, "damaged"));
	/* The identity point is of small order: no site id. */
	assert_int_equal(noise_public_from_ed25519(identity, xpub, &err), -1);
	assert_non_null(strstr(err.msg, "not a valid Ed25519 public key"));
}

/* The lmsync use: static keys from Ed25519 site keys, and the key learned
 * in the handshake compared with the converted site id of the peer. */
static void test_xx_with_site_keys(void **state)
{
	uint8_t ipk[32], isk[64], rpk[32], rsk[64], ix[32], ixp[32], rx[32], rxp[32];
	uint8_t learned[NOISE_DHLEN], expected[NOISE_DHLEN];
	struct pair p;
	lm_err err;

	(void)state;
	crypto_sign_keypair(ipk, isk);
	crypto_sign_keypair(rpk, rsk);
	assert_int_equal(noise_static_from_ed25519(isk, ix, ixp, &err), 0);
	assert_int_equal(noise_static_from_ed25519(rsk, rx, rxp, &err), 0);
	assert_int_equal(
	    noise_handshake_init(&p.init, NOISE_XX, 1, PROLOGUE, PROLOGUE_LEN, ix, NULL, &err), 0);
	assert_int_equal(
	    noise_handshake_init(&p.resp, NOISE_XX, 0, PROLOGUE, PROLOGUE_LEN, rx, NULL, &err), 0);
	assert_int_equal(handshake(&p, 99, 0, &err), 0);
	assert_int_equal(noise_handshake_remote_static(&p.resp, learned, &err), 0);
	assert_int_equal(noise_public_from_ed25519(ipk, expected, &err), 0);
	assert_memory_equal(learned, expected, NOISE_DHLEN);
	assert_int_equal(noise_handshake_remote_static(&p.init, learned, &err), 0);
	assert_int_equal(noise_public_from_ed25519(rpk, expected, &err), 0);
	assert_memory_equal(learned, expected, NOISE_DHLEN);
	pair_wipe(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xx_handshake_and_transport),
	    cmocka_unit_test(test_flipped_handshake_byte_fails),
	    cmocka_unit_test(test_flipped_transport_byte_fails),
	    cmocka_unit_test(test_wrong_prologue_fails),
	    cmocka_unit_test(test_out_of_turn_fails),
	    cmocka_unit_test(test_nonce_exhaustion_fails),
	    cmocka_unit_test(test_size_limits),
	    cmocka_unit_test(test_low_order_key_fails),
	    cmocka_unit_test(test_not_done_refusals),
	    cmocka_unit_test(test_init_checks_keys),
	    cmocka_unit_test(test_every_pattern_round_trips),
	    cmocka_unit_test(test_ed25519_conversion),
	    cmocka_unit_test(test_xx_with_site_keys),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
