/* SPDX-License-Identifier: MIT */
/* The frame reader: a stream of frames cut at every possible place (once
 * and twice) yields the same frames; frames whole inside a chunk come back
 * without a copy; zero and oversized lengths break the stream for good. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proto/frame.h"

#define MAX_FRAMES 16
#define STREAM_CAP 1024

/* What a reader handed back, copied out. */
struct collected {
	size_t n;
	size_t lens[MAX_FRAMES];
	uint8_t bytes[STREAM_CAP];
	size_t total;
	size_t in_place; /* frames returned as pointers into the chunk */
};

static frame_reader reader;
static const size_t frame_lens[] = {1, 5, 2, 300, 17};
#define NFRAMES (sizeof(frame_lens) / sizeof(frame_lens[0]))

/* The stream of the frames above, each body filled with a counter. */
static size_t build_stream(uint8_t *s)
{
	size_t i, j, off = 0;
	lm_err err;

	for (i = 0; i < NFRAMES; i++) {
		assert_int_equal(frame_write_header(s + off, frame_lens[i], &err), 0);
		off += FRAME_HEADER_LEN;
		for (j = 0; j < frame_lens[i]; j++)
			s[off++] = (uint8_t)(i * 31 + j);
	}
	return off;
}

/* Feed one chunk, collecting every frame it completes. */
static int feed(const uint8_t *data, size_t len, struct collected *c, lm_err *err)
{
	const uint8_t *frame;
	size_t used, flen;
	int rc;

	while (len > 0) {
		rc = frame_reader_next(&reader, data, len, &used, &frame, &flen, err);
		if (rc < 0)
			return -1;
		assert_true(used <= len);
		if (rc == 0) {
			assert_int_equal(used, len);
		} else {
			assert_true(c->n < MAX_FRAMES && c->total + flen <= STREAM_CAP);
			c->in_place += frame >= data && frame + flen <= data + len;
			memcpy(c->bytes + c->total, frame, flen);
			c->lens[c->n++] = flen;
			c->total += flen;
		}
		data += used;
		len -= used;
	}
	frame_reader_release(&reader); /* as the daemon does after a chunk */
	return 0;
}

static void check_all_frames(const struct collected *c, const uint8_t *stream)
{
	size_t i, off = 0, soff = 0;

	assert_int_equal(c->n, NFRAMES);
	for (i = 0; i < NFRAMES; i++) {
		assert_int_equal(c->lens[i], frame_lens[i]);
		soff += FRAME_HEADER_LEN;
		assert_memory_equal(c->bytes + off, stream + soff, frame_lens[i]);
		off += frame_lens[i];
		soff += frame_lens[i];
	}
	assert_int_equal(frame_reader_pending(&reader), 0);
}

/* Feed the stream as chunks [0,a) [a,b) [b,len). */
static void feed_in_three(const uint8_t *stream, size_t len, size_t a, size_t b)
{
	struct collected c;
	lm_err err;

	memset(&c, 0, sizeof(c));
	assert_int_equal(frame_reader_init(&reader, FRAME_MAX_LEN, &err), 0);
	assert_int_equal(feed(stream, a, &c, &err), 0);
	assert_int_equal(feed(stream + a, b - a, &c, &err), 0);
	assert_int_equal(feed(stream + b, len - b, &c, &err), 0);
	check_all_frames(&c, stream);
	frame_reader_free(&reader);
}

static void test_every_single_cut(void **state)
{
	uint8_t stream[STREAM_CAP];
	size_t len = build_stream(stream), a;

	(void)state;
	for (a = 0; a <= len; a++)
		feed_in_three(stream, len, a, a);
}

static void test_every_double_cut(void **state)
{
	uint8_t stream[STREAM_CAP];
	size_t len = build_stream(stream), a, b;

	(void)state;
	for (a = 0; a <= len; a++)
		for (b = a; b <= len; b++)
			feed_in_three(stream, len, a, b);
}

static void test_byte_by_byte(void **state)
{
	uint8_t stream[STREAM_CAP];
	size_t len = build_stream(stream), i;
	struct collected c;
	lm_err err;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(frame_reader_init(&reader, FRAME_MAX_LEN, &err), 0);
	for (i = 0; i < len; i++) {
		assert_int_equal(feed(stream + i, 1, &c, &err), 0);
		if (i == 2)
			assert_int_equal(frame_reader_pending(&reader), 0); /* frame 1 done */
		if (i == 5)
			assert_int_equal(frame_reader_pending(&reader), 2 + 1);
	}
	check_all_frames(&c, stream);
	assert_int_equal(c.in_place, 1); /* the 1-byte frame fits its 1-byte chunk */
}

static void test_one_chunk_no_copy(void **state)
{
	uint8_t stream[STREAM_CAP];
	size_t len = build_stream(stream);
	struct collected c;
	lm_err err;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(frame_reader_init(&reader, FRAME_MAX_LEN, &err), 0);
	assert_int_equal(feed(stream, len, &c, &err), 0);
	check_all_frames(&c, stream);
	assert_int_equal(c.in_place, NFRAMES);
}

static void test_zero_length_refused(void **state)
{
	const uint8_t bad[] = {0, 1, 'x', 0, 0, 0, 1, 'y'};
	struct collected c;
	lm_err err;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(frame_reader_init(&reader, FRAME_MAX_LEN, &err), 0);
	assert_int_equal(feed(bad, sizeof(bad), &c, &err), -1);
	assert_non_null(strstr(err.msg, "length 0"));
	assert_int_equal(c.n, 1);
	/* The stream is broken for good. */
	assert_int_equal(feed(bad, 3, &c, &err), -1);
	assert_non_null(strstr(err.msg, "out of step"));
}

static void test_oversized_refused(void **state)
{
	uint8_t big[FRAME_HEADER_LEN + 101];
	struct collected c;
	lm_err err;

	(void)state;
	memset(big, 7, sizeof(big));
	memset(&c, 0, sizeof(c));
	assert_int_equal(frame_reader_init(&reader, 100, &err), 0);
	assert_int_equal(frame_write_header(big, 100, &err), 0);
	assert_int_equal(feed(big, FRAME_HEADER_LEN + 100, &c, &err), 0);
	assert_int_equal(c.n, 1);
	/* 101 bytes, the header arriving in two chunks. */
	assert_int_equal(frame_write_header(big, 101, &err), 0);
	assert_int_equal(feed(big, 1, &c, &err), 0);
	assert_int_equal(feed(big + 1, 1, &c, &err), -1);
	assert_non_null(strstr(err.msg, "101 bytes, over the maximum of 100"));
	/* The largest the wire allows, with the largest maximum. */
	assert_int_equal(frame_reader_init(&reader, FRAME_MAX_LEN, &err), 0);
	assert_int_equal(frame_write_header(big, FRAME_MAX_LEN, &err), 0);
	assert_int_equal(feed(big, FRAME_HEADER_LEN, &c, &err), 0);
	assert_int_equal(frame_reader_pending(&reader), FRAME_HEADER_LEN);
}

static void test_limits(void **state)
{
	uint8_t h[FRAME_HEADER_LEN];
	lm_err err;

	(void)state;
	assert_int_equal(frame_reader_init(&reader, 0, &err), -1);
	assert_int_equal(frame_reader_init(&reader, FRAME_MAX_LEN + 1, &err), -1);
	assert_int_equal(frame_write_header(h, 0, &err), -1);
	assert_int_equal(frame_write_header(h, FRAME_MAX_LEN + 1, &err), -1);
	assert_int_equal(frame_write_header(h, 258, &err), 0);
	assert_int_equal(h[0], 1);
	assert_int_equal(h[1], 2);
	assert_int_equal(frame_write_header(h, FRAME_MAX_LEN, &err), 0);
	assert_int_equal(h[0], 0xff);
	assert_int_equal(h[1], 0xff);
}

/* The gathering buffer exists only while a split frame is gathered (and
 * until released): an idle connection holds none. */
static void test_buffer_only_while_gathering(void **state)
{
	uint8_t stream[2 + 300];
	const uint8_t *frame;
	size_t used, flen;
	lm_err err;

	(void)state;
	assert_int_equal(frame_write_header(stream, 300, &err), 0);
	memset(stream + 2, 7, 300);
	assert_int_equal(frame_reader_init(&reader, FRAME_MAX_LEN, &err), 0);
	assert_null(reader.buf);
	/* Whole in the chunk: returned in place, no buffer. */
	assert_int_equal(
	    frame_reader_next(&reader, stream, sizeof(stream), &used, &frame, &flen, &err), 1);
	assert_ptr_equal(frame, stream + 2);
	assert_null(reader.buf);
	/* Split: gathered in a buffer, kept while half read... */
	assert_int_equal(frame_reader_next(&reader, stream, 100, &used, &frame, &flen, &err), 0);
	assert_non_null(reader.buf);
	frame_reader_release(&reader);
	assert_non_null(reader.buf);
	assert_int_equal(frame_reader_next(&reader, stream + 100, sizeof(stream) - 100, &used,
					   &frame, &flen, &err),
			 1);
	assert_int_equal(flen, 300);
	assert_ptr_equal(frame, reader.buf);
	assert_int_equal(frame[299], 7);
	/* ...and given back once whole and handled. */
	frame_reader_release(&reader);
	assert_null(reader.buf);
	assert_int_equal(frame_reader_pending(&reader), 0);
}

static int free_reader(void **state)
{
	(void)state;
	frame_reader_free(&reader);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_every_single_cut, free_reader),
	    cmocka_unit_test_teardown(test_every_double_cut, free_reader),
	    cmocka_unit_test_teardown(test_byte_by_byte, free_reader),
	    cmocka_unit_test_teardown(test_one_chunk_no_copy, free_reader),
	    cmocka_unit_test_teardown(test_zero_length_refused, free_reader),
	    cmocka_unit_test_teardown(test_oversized_refused, free_reader),
	    cmocka_unit_test_teardown(test_limits, free_reader),
	    cmocka_unit_test_teardown(test_buffer_only_while_gathering, free_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
