/* SPDX-License-Identifier: MIT */
/* Frames: how Noise messages travel on a TCP stream.
 *
 * Every Noise message, handshake or transport, is preceded by its length as
 * a 2-byte big-endian integer, so a frame body is 1 to 65535 bytes. A length
 * of 0 or over the reader's maximum is a protocol error: the stream cannot be
 * resynchronised and the connection must close.
 *
 * The reader is fed the bytes as they arrive, in chunks of any size, and
 * hands back one complete frame per call. A frame that lies whole inside the
 * chunk is returned in place, without a copy; only a frame split across
 * chunks is gathered into the reader's own buffer. Pure: no I/O.
 *
 * Owner: the caller embeds the frame_reader in its connection. The buffer a
 * split frame is gathered in (up to 64 KiB) is allocated while one is, and
 * given back by frame_reader_release once no frame is half read, so an idle
 * connection holds none (a hub has one per site); frame_reader_free at
 * close.
 */
#ifndef LMSYNC_PROTO_FRAME_H
#define LMSYNC_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define FRAME_HEADER_LEN 2
#define FRAME_MAX_LEN	 65535

typedef struct frame_reader {
	size_t max_len;			  /* largest frame body accepted */
	uint8_t header[FRAME_HEADER_LEN]; /* the length being read */
	size_t header_have;		  /* bytes of it held */
	size_t want;			  /* length of the body being read, 0 between frames */
	size_t have;			  /* bytes of the body held in buf */
	int broken;			  /* a framing error happened: refuse everything */
	uint8_t *buf;			  /* max_len bytes while gathering, else NULL */
} frame_reader;

/* Start a reader accepting frames of 1 to max_len bytes (max_len at most
 * FRAME_MAX_LEN). It holds no buffer yet. */
int frame_reader_init(frame_reader *r, size_t max_len, lm_err *err);

/* Give the gathering buffer back unless a frame is half read in it; a frame
 * returned from it is gone. Call once done with the frames of a chunk. */
void frame_reader_release(frame_reader *r);

/* Give everything back; the reader must be initialised again to be used. */
void frame_reader_free(frame_reader *r);

/* Consume bytes from data (len bytes) until a frame completes or the data
 * runs out; *used says how many were consumed. Returns 1 with the frame in
 * *frame and *frame_len, 0 when every byte was consumed and no frame is
 * complete yet, or -1 on a framing error, after which the reader refuses all
 * input. *frame points into data or into the reader and is valid until the
 * next call or until data goes away, whichever comes first. Call again with
 * the rest (data + *used) while bytes remain. */
int frame_reader_next(frame_reader *r, const uint8_t *data, size_t len, size_t *used,
		      const uint8_t **frame, size_t *frame_len, lm_err *err);

/* Bytes of an unfinished frame (header included) the reader holds: not 0
 * at end of stream means the peer stopped in the middle of a frame. */
size_t frame_reader_pending(const frame_reader *r);

/* Write the 2-byte header for a body of len bytes (1 to FRAME_MAX_LEN). */
int frame_write_header(uint8_t header[FRAME_HEADER_LEN], size_t len, lm_err *err);

#endif
