/* SPDX-License-Identifier: MIT */
/* Fuzz the responder side of lmsync's handshake, XX with prologue
 * "lmsync/1", with attacker bytes where a peer's messages go.
 *
 * The first input byte picks where the rest goes (mod 3):
 *   0: message 1, read by a fresh responder, which then writes message 2;
 *   1: message 3, read by a responder that has seen our initiator's
 *      message 1 and written message 2;
 *   2: transport messages after a completed handshake, as a stream of
 *      2-byte-length frames, each decrypted by the responder.
 * All keys, ephemeral ones included, are fixed so runs are deterministic;
 * the honest states are built once and copied for each run. Every call
 * must succeed or fail cleanly, and the few checks below must hold.
 *
 * Built with -DFUZZ_HANDSHAKE_SEEDS this file is instead a program writing
 * the seed corpus (valid messages for these fixed keys) into a directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_handshake: check failed: %s (%s:%d)\n", #c,          \
				__FILE__, __LINE__);                                               \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define PROLOGUE     ((const uint8_t *)NOISE_PROLOGUE_LMSYNC)
#define PROLOGUE_LEN NOISE_PROLOGUE_LMSYNC_LEN

/* The honest states, built once. */
struct honest {
	noise_handshake resp0;		   /* a fresh responder */
	noise_handshake resp2;		   /* the responder after message 2 */
	noise_cipher resp_recv, resp_send; /* the responder after the handshake */
	noise_cipher init_send;		   /* the initiator after the handshake */
	uint8_t init_static_pub[NOISE_DHLEN];
	uint8_t msg1[NOISE_MAX_MSG_LEN], msg3[NOISE_MAX_MSG_LEN];
	size_t msg1_len, msg3_len;
};

static uint8_t buf[NOISE_MAX_MSG_LEN], out[NOISE_MAX_MSG_LEN];

static void fill(uint8_t key[NOISE_DHLEN], uint8_t tag)
{
	int i;

	for (i = 0; i < NOISE_DHLEN; i++)
		key[i] = (uint8_t)(tag + i);
}

static void init_side(noise_handshake *hs, int initiator)
{
	uint8_t s[NOISE_DHLEN], e[NOISE_DHLEN];
	lm_err err;

	fill(s, initiator ? 0x10 : 0x30);
	fill(e, initiator ? 0x20 : 0x40);
	CHECK(noise_handshake_init(hs, NOISE_XX, initiator, PROLOGUE, PROLOGUE_LEN, s, NULL,
				   &err) == 0);
	CHECK(noise_handshake_set_ephemeral(hs, e, &err) == 0);
}

static void build_honest(struct honest *h)
{
	noise_handshake init, resp;
	noise_cipher init_recv;
	size_t len, plen;
	lm_err err;

	init_side(&init, 1);
	init_side(&resp, 0);
	h->resp0 = resp;
	CHECK(noise_handshake_write(&init, NULL, 0, h->msg1, sizeof(h->msg1), &h->msg1_len, &err) ==
	      0);
	CHECK(noise_handshake_read(&resp, h->msg1, h->msg1_len, out, sizeof(out), &plen, &err) ==
	      0);
	CHECK(noise_handshake_write(&resp, NULL, 0, buf, sizeof(buf), &len, &err) == 0);
	h->resp2 = resp;
	CHECK(noise_handshake_read(&init, buf, len, out, sizeof(out), &plen, &err) == 0);
	CHECK(noise_handshake_write(&init, NULL, 0, h->msg3, sizeof(h->msg3), &h->msg3_len, &err) ==
	      0);
	CHECK(noise_handshake_read(&resp, h->msg3, h->msg3_len, out, sizeof(out), &plen, &err) ==
	      0);
	CHECK(noise_handshake_remote_static(&resp, h->init_static_pub, &err) == 0);
	CHECK(noise_handshake_split(&init, &h->init_send, &init_recv, &err) == 0);
	CHECK(noise_handshake_split(&resp, &h->resp_send, &h->resp_recv, &err) == 0);
	noise_handshake_wipe(&init);
	noise_handshake_wipe(&resp);
}

static const struct honest *honest(void)
{
	static struct honest h;
	static int built;

	if (!built) {
		build_honest(&h);
		built = 1;
	}
	return &h;
}

static void fuzz_message1(const uint8_t *data, size_t size)
{
	noise_handshake hs = honest()->resp0;
	size_t plen, len;
	lm_err err;

	if (noise_handshake_read(&hs, data, size, out, sizeof(out), &plen, &err) < 0) {
		CHECK(size < NOISE_DHLEN || size > NOISE_MAX_MSG_LEN);
		return;
	}
	CHECK(plen == size - NOISE_DHLEN);
	/* Only a low-order ephemeral key can make message 2 fail. */
	if (noise_handshake_write(&hs, NULL, 0, buf, sizeof(buf), &len, &err) < 0)
		CHECK(strstr(err.msg, "all zeros") != NULL);
	noise_handshake_wipe(&hs);
}

static void fuzz_message3(const uint8_t *data, size_t size)
{
	const struct honest *h = honest();
	noise_handshake hs = h->resp2;
	uint8_t rs[NOISE_DHLEN];
	noise_cipher send, recv;
	size_t plen;
	lm_err err;

	if (noise_handshake_read(&hs, data, size, out, sizeof(out), &plen, &err) == 0) {
		CHECK(noise_handshake_is_done(&hs));
		CHECK(noise_handshake_remote_static(&hs, rs, &err) == 0);
		CHECK(memcmp(rs, h->init_static_pub, NOISE_DHLEN) == 0);
		CHECK(noise_handshake_split(&hs, &send, &recv, &err) == 0);
		noise_cipher_wipe(&send);
		noise_cipher_wipe(&recv);
	} else {
		CHECK(!noise_handshake_is_done(&hs));
	}
	noise_handshake_wipe(&hs);
}

static void fuzz_transport(const uint8_t *data, size_t size)
{
	static frame_reader reader;
	noise_cipher recv = honest()->resp_recv;
	const uint8_t *frame;
	size_t used, flen, plen;
	lm_err err;
	int rc;

	CHECK(frame_reader_init(&reader, FRAME_MAX_LEN, &err) == 0);
	while (size > 0) {
		rc = frame_reader_next(&reader, data, size, &used, &frame, &flen, &err);
		if (rc < 0)
			break;
		if (rc == 1 &&
		    noise_cipher_decrypt(&recv, frame, flen, out, sizeof(out), &plen, &err) == 0)
			CHECK(plen == flen - NOISE_TAGLEN);
		data += used;
		size -= used;
	}
	frame_reader_free(&reader);
	noise_cipher_wipe(&recv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_message1(data + 1, size - 1);
		break;
	case 1:
		fuzz_message3(data + 1, size - 1);
		break;
	default:
		fuzz_transport(data + 1, size - 1);
		break;
	}
	return 0;
}

#ifdef FUZZ_HANDSHAKE_SEEDS
/* Seeds: the honest messages for these keys, and a few near misses. */
#include <sodium.h>

static void write_seed(const char *dir, const char *name, uint8_t mode, const uint8_t *p,
		       size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK(fwrite(&mode, 1, 1, f) == 1);
	CHECK(len == 0 || fwrite(p, 1, len, f) == len);
	CHECK(fclose(f) == 0);
}

/* Two transport frames, from the honest initiator. */
static size_t transport_frames(uint8_t *p)
{
	static const char *const msgs[] = {"\x92\xa5hello\x80", "\x91\xa3"
								"bye"};
	noise_cipher send = honest()->init_send;
	size_t off = 0, len, i;
	lm_err err;

	for (i = 0; i < 2; i++) {
		CHECK(noise_cipher_encrypt(&send, (const uint8_t *)msgs[i], strlen(msgs[i]),
					   p + off + 2, 1024, &len, &err) == 0);
		CHECK(frame_write_header(p + off, len, &err) == 0);
		off += 2 + len;
	}
	return off;
}

int main(int argc, char **argv)
{
	const struct honest *h;
	uint8_t p[4096];
	size_t len;

	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: fuzz_handshake_seeds DIR\n");
		return 2;
	}
	h = honest();
	write_seed(argv[1], "msg1-valid", 0, h->msg1, h->msg1_len);
	memcpy(p, h->msg1, h->msg1_len);
	memcpy(p + h->msg1_len, "payload", 7);
	write_seed(argv[1], "msg1-payload", 0, p, h->msg1_len + 7);
	memset(p, 0, NOISE_DHLEN);
	write_seed(argv[1], "msg1-zero-key", 0, p, NOISE_DHLEN);
	write_seed(argv[1], "msg3-valid", 1, h->msg3, h->msg3_len);
	write_seed(argv[1], "msg3-short", 1, h->msg3, 47);
	len = transport_frames(p);
	write_seed(argv[1], "transport-valid", 2, p, len);
	write_seed(argv[1], "transport-cut", 2, p, len - 3);
	write_seed(argv[1], "transport-zero-frame", 2, (const uint8_t *)"\0\0", 2);
	return 0;
}
#endif
