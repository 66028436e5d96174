/* SPDX-License-Identifier: MIT */
/* The frame reader and header writer; see frame.h for the format.
 *
 * The reader alternates between two phases: collecting the 2-byte header
 * (want == 0) and collecting the body (want > 0). A body found whole in the
 * caller's chunk while nothing of it is buffered is returned in place; any
 * other body is gathered in buf. */
#include "proto/frame.h"

#include <stdlib.h>
#include <string.h>

int frame_reader_init(frame_reader *r, size_t max_len, lm_err *err)
{
	if (max_len == 0 || max_len > FRAME_MAX_LEN)
		return lm_errf(err, "a maximum frame length of %zu is outside 1 to %d", max_len,
			       FRAME_MAX_LEN);
	r->max_len = max_len;
	r->header_have = 0;
	r->want = 0;
	r->have = 0;
	r->broken = 0;
	r->buf = NULL;
	return 0;
}

void frame_reader_release(frame_reader *r)
{
	if (r->have == 0) {
		free(r->buf);
		r->buf = NULL;
	}
}

void frame_reader_free(frame_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->have = 0;
	r->want = 0;
}

size_t frame_reader_pending(const frame_reader *r)
{
	return r->want > 0 ? FRAME_HEADER_LEN + r->have : r->header_have;
}

/* The header is complete: check the length it announces. */
static int start_body(frame_reader *r, lm_err *err)
{
	size_t len = ((size_t)r->header[0] << 8) | r->header[1];

	r->header_have = 0;
	if (len == 0 || len > r->max_len) {
		r->broken = 1;
		if (len == 0)
			return lm_errf(err, "the peer sent a frame of length 0; every frame "
					    "carries a Noise message of at least one byte");
		return lm_errf(err, "the peer sent a frame of %zu bytes, over the maximum of %zu",
			       len, r->max_len);
	}
	r->want = len;
	r->have = 0;
	return 0;
}

/* Take header bytes until the header is complete or data runs out. */
static int read_header(frame_reader *r, const uint8_t *data, size_t len, size_t *off, lm_err *err)
{
	while (r->want == 0 && *off < len) {
		r->header[r->header_have++] = data[(*off)++];
		if (r->header_have == FRAME_HEADER_LEN && start_body(r, err) < 0)
			return -1;
	}
	return 0;
}

static void finish_body(frame_reader *r, const uint8_t *body, const uint8_t **frame,
			size_t *frame_len)
{
	*frame = body;
	*frame_len = r->want;
	r->want = 0;
	r->have = 0;
}

/* Take body bytes: returns 1 when the body is complete, 0 when not, -1
 * when there is no memory to gather it in. */
static int read_body(frame_reader *r, const uint8_t *data, size_t len, size_t *off,
		     const uint8_t **frame, size_t *frame_len, lm_err *err)
{
	size_t take, avail = len - *off;

	if (r->have == 0 && avail >= r->want) {
		*off += r->want;
		finish_body(r, data + *off - r->want, frame, frame_len);
		return 1;
	}
	if (r->buf == NULL && (r->buf = malloc(r->max_len)) == NULL) {
		r->broken = 1;
		return lm_errf(err, "out of memory gathering a frame of %zu bytes", r->want);
	}
	take = r->want - r->have < avail ? r->want - r->have : avail;
	memcpy(r->buf + r->have, data + *off, take);
	r->have += take;
	*off += take;
	if (r->have < r->want)
		return 0;
	finish_body(r, r->buf, frame, frame_len);
	return 1;
}

int frame_reader_next(frame_reader *r, const uint8_t *data, size_t len, size_t *used,
		      const uint8_t **frame, size_t *frame_len, lm_err *err)
{
	size_t off = 0;
	int rc = 0;

	*used = 0;
	*frame = NULL;
	*frame_len = 0;
	if (r->broken)
		return lm_errf(err, "the stream is out of step after a framing error; "
				    "close the connection");
	if (read_header(r, data, len, &off, err) < 0)
		rc = -1;
	else if (r->want > 0 && off < len)
		rc = read_body(r, data, len, &off, frame, frame_len, err);
	*used = off;
	return rc;
}

int frame_write_header(uint8_t header[FRAME_HEADER_LEN], size_t len, lm_err *err)
{
	if (len == 0 || len > FRAME_MAX_LEN)
		return lm_errf(err,
			       "a frame of %zu bytes cannot be sent: frames carry 1 to %d bytes",
			       len, FRAME_MAX_LEN);
	header[0] = (uint8_t)(len >> 8);
	header[1] = (uint8_t)len;
	return 0;
}
