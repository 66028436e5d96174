/* SPDX-License-Identifier: MIT */
/* The control protocol between `lmsync` and a running `lmsyncd`, spoken over
 * the unix socket DIR/control.sock (mode 0600, so only the site's owner can
 * use it). Documented in docs/PROTOCOL.md, section "Control socket".
 *
 * Each message is a 4-byte big-endian length followed by that many bytes of
 * one msgpack value. A request is an array whose first element is the command
 * name (a string); the reply is a map with "ok" (bool) and either the
 * command's fields or "error" (a string). One connection may carry several
 * requests; replies come in order.
 */
#ifndef LMSYNC_PROTO_CTL_H
#define LMSYNC_PROTO_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define CTL_HEADER_LEN	4
#define CTL_MAX_MESSAGE (16u << 20)

/* Write the header announcing a message of len bytes. */
void ctl_header_write(uint8_t hdr[CTL_HEADER_LEN], uint32_t len);
uint32_t ctl_header_read(const uint8_t hdr[CTL_HEADER_LEN]);

/* Reassembles messages from a byte stream delivered in arbitrary chunks.
 * Owns its buffer; ctl_reader_free releases it. */
struct ctl_reader {
	uint8_t *buf;
	size_t len, cap;
	uint32_t max; /* largest message accepted */
};

void ctl_reader_init(struct ctl_reader *r, uint32_t max);
void ctl_reader_free(struct ctl_reader *r);

/* Append bytes. Fails on a message over the limit or out of memory. */
int ctl_reader_feed(struct ctl_reader *r, const void *data, size_t len, lm_err *err);

/* When a whole message is buffered, point msg and len at it and return 1; the
 * pointer stays valid until the next ctl_reader_consume. 0: need more bytes. */
int ctl_reader_next(struct ctl_reader *r, const uint8_t **msg, size_t *len);

/* Drop the message returned by the last ctl_reader_next. */
void ctl_reader_consume(struct ctl_reader *r);

#endif
