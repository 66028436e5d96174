/* SPDX-License-Identifier: MIT */
/* noise_vectors FILE.json: run the Noise test vectors of one file in the
 * cacophony format against proto/noise.
 *
 * Each vector names a protocol, the prologue and keys of both sides, the
 * expected handshake hash and a list of messages. Following cacophony, the
 * messages alternate between the sides, the initiator sending message i when
 * i is even, counting from the first handshake message; once the pattern's
 * handshake messages are through, the rest are transport messages on the
 * split ciphers. Every ciphertext we write must equal the vector's, the
 * vector's ciphertext must decrypt to the payload on the other side, and both
 * sides must end with the vector's handshake hash.
 *
 * Vectors of protocols proto/noise does not implement (PSK, fallback, other
 * suites) are skipped and counted. One line per failing vector, then
 * "N passed, M failed[, K skipped]"; the exit status is non-zero when any
 * vector failed or none passed.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/noise.h"
#include "tests/support/json.h"

enum outcome { PASSED, FAILED, SKIPPED };

/* One side of a vector: its handshake, then its transport ciphers. */
struct side {
	const char *name; /* "initiator" or "responder" */
	noise_handshake hs;
	noise_cipher send, recv;
	int split;
};

struct buffers {
	uint8_t payload[NOISE_MAX_MSG_LEN];
	uint8_t expected[NOISE_MAX_MSG_LEN];
	uint8_t out[NOISE_MAX_MSG_LEN];
};

/* Decode the hex member key of v into out. Returns 1 if present, 0 if
 * absent, -1 with a message if it is not hex or too long. */
static int get_hex(const json_value *v, const char *key, uint8_t *out, size_t cap, size_t *len,
		   lm_err *err)
{
	const char *hex = json_get_string(v, key);
	const char *end;

	if (hex == NULL)
		return json_get(v, key) ? lm_errf(err, "%s is not a string", key) : 0;
	if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, len, &end) != 0 || *end != '\0')
		return lm_errf(err, "%s is not hex, or longer than %zu bytes", key, cap);
	return 1;
}

/* A key the pattern needs, of exactly NOISE_DHLEN bytes. */
static int get_key(const json_value *v, const char *key, uint8_t out[NOISE_DHLEN], lm_err *err)
{
	size_t len;
	int rc = get_hex(v, key, out, NOISE_DHLEN, &len, err);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return lm_errf(err, "the vector has no %s", key);
	if (len != NOISE_DHLEN)
		return lm_errf(err, "%s is %zu bytes, not %d", key, len, NOISE_DHLEN);
	return 0;
}

/* Initialize one side from the fields "<prefix>_prologue", "_static",
 * "_remote_static" and "_ephemeral"; keys the pattern does not use are not
 * passed even if the vector has them. */
static int setup_side(struct side *sd, const json_value *v, noise_pattern p, int initiator,
		      lm_err *err)
{
	const char *pre = initiator ? "init" : "resp";
	unsigned need = noise_pattern_keys(p, initiator);
	uint8_t prologue[1024], s[NOISE_DHLEN], rs[NOISE_DHLEN], e[NOISE_DHLEN];
	char key[64];
	size_t prologue_len = 0;
	int rc;

	sd->name = initiator ? "initiator" : "responder";
	snprintf(key, sizeof(key), "%s_prologue", pre);
	if (get_hex(v, key, prologue, sizeof(prologue), &prologue_len, err) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s_static", pre);
	if ((need & NOISE_NEEDS_LOCAL_STATIC) && get_key(v, key, s, err) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s_remote_static", pre);
	if ((need & NOISE_NEEDS_REMOTE_STATIC) && get_key(v, key, rs, err) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s_ephemeral", pre);
	if (get_key(v, key, e, err) < 0)
		return -1;
	rc = noise_handshake_init(&sd->hs, p, initiator, prologue, prologue_len,
				  (need & NOISE_NEEDS_LOCAL_STATIC) ? s : NULL,
				  (need & NOISE_NEEDS_REMOTE_STATIC) ? rs : NULL, err);
	if (rc == 0)
		rc = noise_handshake_set_ephemeral(&sd->hs, e, err);
	sodium_memzero(s, sizeof(s));
	sodium_memzero(e, sizeof(e));
	return rc;
}

static int compare(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
		   size_t want_len, lm_err *err)
{
	size_t i;

	if (got_len != want_len)
		return lm_errf(err, "%s is %zu bytes, the vector has %zu", what, got_len, want_len);
	for (i = 0; i < got_len; i++)
		if (got[i] != want[i])
			return lm_errf(err, "%s differs from the vector at byte %zu", what, i);
	return 0;
}

/* One handshake message: the sender writes it, the receiver reads the
 * vector's ciphertext. */
static int handshake_message(struct side *from, struct side *to, const uint8_t *payload,
			     size_t payload_len, const uint8_t *ct, size_t ct_len,
			     struct buffers *b, lm_err *err)
{
	size_t len;

	if (noise_handshake_write(&from->hs, payload, payload_len, b->out, sizeof(b->out), &len,
				  err) < 0 ||
	    compare("the ciphertext written", b->out, len, ct, ct_len, err) < 0)
		return lm_err_wrap(err, "%s writing", from->name);
	if (noise_handshake_read(&to->hs, ct, ct_len, b->out, sizeof(b->out), &len, err) < 0 ||
	    compare("the payload read", b->out, len, payload, payload_len, err) < 0)
		return lm_err_wrap(err, "%s reading", to->name);
	return 0;
}

static int transport_message(struct side *from, struct side *to, const uint8_t *payload,
			     size_t payload_len, const uint8_t *ct, size_t ct_len,
			     struct buffers *b, lm_err *err)
{
	size_t len;

	if (noise_cipher_encrypt(&from->send, payload, payload_len, b->out, sizeof(b->out), &len,
				 err) < 0 ||
	    compare("the transport ciphertext", b->out, len, ct, ct_len, err) < 0)
		return lm_err_wrap(err, "%s encrypting", from->name);
	if (noise_cipher_decrypt(&to->recv, ct, ct_len, b->out, sizeof(b->out), &len, err) < 0 ||
	    compare("the transport plaintext", b->out, len, payload, payload_len, err) < 0)
		return lm_err_wrap(err, "%s decrypting", to->name);
	return 0;
}

/* Once both sides are done: split them and check the handshake hash. */
static int finish_handshake(struct side *sides, const json_value *v, lm_err *err)
{
	uint8_t want[NOISE_HASHLEN], got[NOISE_HASHLEN];
	size_t want_len;
	int i, rc = get_hex(v, "handshake_hash", want, sizeof(want), &want_len, err);

	if (rc <= 0)
		return rc < 0 ? -1 : lm_errf(err, "the vector has no handshake_hash");
	for (i = 0; i < 2; i++) {
		if (noise_handshake_hash(&sides[i].hs, got, err) < 0 ||
		    compare("the handshake hash", got, sizeof(got), want, want_len, err) < 0 ||
		    noise_handshake_split(&sides[i].hs, &sides[i].send, &sides[i].recv, err) < 0)
			return lm_err_wrap(err, "%s", sides[i].name);
		sides[i].split = 1;
	}
	return 0;
}

static int run_message(struct side *sides, const json_value *m, size_t i, struct buffers *b,
		       lm_err *err)
{
	struct side *from = &sides[i % 2], *to = &sides[1 - i % 2];
	size_t payload_len, ct_len;

	if (get_hex(m, "payload", b->payload, sizeof(b->payload), &payload_len, err) <= 0 ||
	    get_hex(m, "ciphertext", b->expected, sizeof(b->expected), &ct_len, err) <= 0)
		return lm_errf(err, "a message lacks a hex payload or ciphertext");
	if (!from->split)
		return handshake_message(from, to, b->payload, payload_len, b->expected, ct_len, b,
					 err);
	return transport_message(from, to, b->payload, payload_len, b->expected, ct_len, b, err);
}

static int run_messages(struct side *sides, const json_value *v, struct buffers *b, lm_err *err)
{
	const json_value *msgs = json_get(v, "messages");
	size_t i;

	if (msgs == NULL || msgs->type != JSON_ARRAY)
		return lm_errf(err, "the vector has no messages array");
	for (i = 0; i < msgs->count; i++) {
		if (run_message(sides, &msgs->items[i], i, b, err) < 0)
			return lm_err_wrap(err, "message %zu", i);
		if (!sides[0].split && noise_handshake_is_done(&sides[0].hs) &&
		    noise_handshake_is_done(&sides[1].hs) && finish_handshake(sides, v, err) < 0)
			return -1;
	}
	if (!sides[0].split)
		return lm_errf(err, "the vector ends before the handshake does");
	return 0;
}

static enum outcome run_vector(const json_value *v, struct buffers *b, lm_err *err)
{
	const char *name = json_get_string(v, "protocol_name");
	struct side sides[2];
	noise_pattern p;
	int rc;

	if (name == NULL) {
		lm_errf(err, "the vector has no protocol_name");
		return FAILED;
	}
	if (noise_protocol_parse(name, &p, err) < 0)
		return SKIPPED;
	memset(sides, 0, sizeof(sides));
	rc = setup_side(&sides[0], v, p, 1, err);
	if (rc == 0)
		rc = setup_side(&sides[1], v, p, 0, err);
	if (rc == 0)
		rc = run_messages(sides, v, b, err);
	noise_handshake_wipe(&sides[0].hs);
	noise_handshake_wipe(&sides[1].hs);
	noise_cipher_wipe(&sides[0].send);
	noise_cipher_wipe(&sides[0].recv);
	noise_cipher_wipe(&sides[1].send);
	noise_cipher_wipe(&sides[1].recv);
	return rc == 0 ? PASSED : FAILED;
}

/* The whole file in a malloc'd buffer, or NULL with a message. */
static char *read_file(const char *path, size_t *len, lm_err *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *p;
	size_t cap = 0, n;
	int ok = 1;

	if (f == NULL) {
		lm_errf(err, "cannot open %s", path);
		return NULL;
	}
	*len = 0;
	do {
		if (*len == cap) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (p == NULL) {
				ok = 0;
				break;
			}
			buf = p;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	if (!ok || ferror(f)) {
		free(buf);
		buf = NULL;
		lm_errf(err, "cannot read %s", path);
	}
	fclose(f);
	return buf;
}

static int run_file(const char *path, int counts[3])
{
	static struct buffers b;
	json_value root;
	const json_value *vectors;
	size_t len, i;
	char *text;
	lm_err err;

	text = read_file(path, &len, &err);
	if (text == NULL || json_parse(text, len, &root, &err) < 0) {
		fprintf(stderr, "noise_vectors: %s: %s\n", path, err.msg);
		free(text);
		return -1;
	}
	free(text);
	vectors = json_get(&root, "vectors");
	if (vectors == NULL || vectors->type != JSON_ARRAY) {
		fprintf(stderr, "noise_vectors: %s: no \"vectors\" array at the top\n", path);
		json_free(&root);
		return -1;
	}
	for (i = 0; i < vectors->count; i++) {
		const char *name = json_get_string(&vectors->items[i], "protocol_name");
		enum outcome o = run_vector(&vectors->items[i], &b, &err);

		counts[o]++;
		if (o == FAILED)
			printf("FAIL vector %zu (%s): %s\n", i, name ? name : "?", err.msg);
	}
	json_free(&root);
	return 0;
}

int main(int argc, char **argv)
{
	int counts[3] = {0, 0, 0};

	if (argc != 2) {
		fprintf(stderr, "usage: noise_vectors FILE.json\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "noise_vectors: libsodium failed to initialize\n");
		return 1;
	}
	if (run_file(argv[1], counts) < 0)
		counts[FAILED]++;
	printf("%d passed, %d failed", counts[PASSED], counts[FAILED]);
	if (counts[SKIPPED] > 0)
		printf(", %d skipped", counts[SKIPPED]);
	printf("\n");
	return counts[FAILED] > 0 || counts[PASSED] == 0;
}
