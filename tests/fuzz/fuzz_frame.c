/* SPDX-License-Identifier: MIT */
/* Fuzz the frame reader: arbitrary bytes in arbitrary chunks.
 *
 * Input: two bytes choosing the maximum frame length, one byte seeding the
 * chunk sizes, then the stream. The stream is fed in chunks and every result
 * is checked against a reference parse of the whole stream at once: the same
 * frames with the same bytes, an error exactly where the reference finds a
 * bad length, and at the end as many pending bytes as the reference leaves.
 * A difference aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_frame: check failed: %s (%s:%d)\n", #c, __FILE__,    \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The obvious parse of a whole stream. */
struct ref {
	const uint8_t *s;
	size_t len, pos, max;
};

/* 1 and the next frame, 0 if the rest is an unfinished frame, -1 if the
 * next length is bad. */
static int ref_next(struct ref *r, const uint8_t **frame, size_t *frame_len)
{
	size_t n;

	if (r->len - r->pos < 2)
		return 0;
	n = ((size_t)r->s[r->pos] << 8) | r->s[r->pos + 1];
	if (n == 0 || n > r->max)
		return -1;
	if (r->len - r->pos - 2 < n)
		return 0;
	*frame = r->s + r->pos + 2;
	*frame_len = n;
	r->pos += 2 + n;
	return 1;
}

/* Chunk sizes: mostly small, sometimes large, from a xorshift state. */
static size_t next_chunk(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return (*x % 4 == 0) ? 1 + *x % 4096 : 1 + *x % 8;
}

/* Feed one chunk, checking each frame against the reference. Returns -1
 * once the reader reports an error, which the reference must agree with. */
static int feed_chunk(frame_reader *r, struct ref *ref, const uint8_t *p, size_t len)
{
	const uint8_t *frame, *want;
	size_t used, flen, want_len;
	lm_err err;
	int rc;

	while (len > 0) {
		rc = frame_reader_next(r, p, len, &used, &frame, &flen, &err);
		if (rc < 0) {
			CHECK(ref_next(ref, &want, &want_len) == -1);
			return -1;
		}
		CHECK(used <= len && (rc == 1 || used == len));
		if (rc == 1) {
			CHECK(ref_next(ref, &want, &want_len) == 1);
			CHECK(flen == want_len && flen >= 1 && flen <= r->max_len);
			CHECK(memcmp(frame, want, flen) == 0);
		}
		p += used;
		len -= used;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static frame_reader reader;
	const uint8_t *stream, *want;
	size_t max, len, off = 0, n, want_len;
	struct ref ref;
	uint32_t x;
	lm_err err;

	if (size < 3)
		return 0;
	max = 1 + (((size_t)data[0] << 8 | data[1]) % FRAME_MAX_LEN);
	x = 0x9e3779b9u ^ data[2];
	stream = data + 3;
	len = size - 3;
	CHECK(frame_reader_init(&reader, max, &err) == 0);
	ref = (struct ref){stream, len, 0, max};
	while (off < len) {
		n = next_chunk(&x);
		n = n < len - off ? n : len - off;
		if (feed_chunk(&reader, &ref, stream + off, n) < 0) {
			CHECK(frame_reader_next(&reader, stream, len, &n, &want, &want_len, &err) ==
			      -1);
			frame_reader_free(&reader);
			return 0;
		}
		/* As the daemon does once a chunk's frames are handled. */
		frame_reader_release(&reader);
		CHECK(reader.have > 0 || reader.buf == NULL);
		off += n;
	}
	CHECK(ref_next(&ref, &want, &want_len) == 0);
	CHECK(frame_reader_pending(&reader) == len - ref.pos);
	frame_reader_free(&reader);
	return 0;
}
