/* SPDX-License-Identifier: MIT */
/* Control protocol framing; see ctl.h. */
#include "proto/ctl.h"

#include <stdlib.h>
#include <string.h>

void ctl_header_write(uint8_t hdr[CTL_HEADER_LEN], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

uint32_t ctl_header_read(const uint8_t hdr[CTL_HEADER_LEN])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
}

void ctl_reader_init(struct ctl_reader *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

void ctl_reader_free(struct ctl_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int ctl_reader_feed(struct ctl_reader *r, const void *data, size_t len, lm_err *err)
{
	if (len == 0)
		return 0;
	/* Callers feed what one read returned; a chunk larger than any message
	 * could ever be is refused before it costs memory. */
	if (len > (size_t)r->max + CTL_HEADER_LEN)
		return lm_errf(err, "control message exceeds the limit of %u bytes", r->max);
	if (r->len + len > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		uint8_t *grown;

		while (cap < r->len + len)
			cap *= 2;
		grown = realloc(r->buf, cap);
		if (grown == NULL)
			return lm_errf(err, "out of memory buffering a control message");
		r->buf = grown;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	if (r->len >= CTL_HEADER_LEN && ctl_header_read(r->buf) > r->max)
		return lm_errf(err, "control message of %u bytes exceeds the limit of %u",
			       ctl_header_read(r->buf), r->max);
	return 0;
}

int ctl_reader_next(struct ctl_reader *r, const uint8_t **msg, size_t *len)
{
	uint32_t n;

	if (r->len < CTL_HEADER_LEN)
		return 0;
	n = ctl_header_read(r->buf);
	if (r->len - CTL_HEADER_LEN < n)
		return 0;
	*msg = r->buf + CTL_HEADER_LEN;
	*len = n;
	return 1;
}

void ctl_reader_consume(struct ctl_reader *r)
{
	size_t used;

	if (r->len < CTL_HEADER_LEN)
		return;
	used = CTL_HEADER_LEN + ctl_header_read(r->buf);
	if (used > r->len)
		return;
	memmove(r->buf, r->buf + used, r->len - used);
	r->len -= used;
}
