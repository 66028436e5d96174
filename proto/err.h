/* SPDX-License-Identifier: MIT */
/* An error message travelling up the layers beside a -1 return.
 *
 * Every fallible lmsync function returns 0 on success or -1 on failure and,
 * on failure, has written into the caller's lm_err a sentence a person can
 * act on. Lower layers never print: they fill an lm_err and the daemon or the
 * CLI decides how to show it. A caller that adds context wraps the message
 * with lm_err_wrap ("reading /x/lmsync.conf: line 3: ...").
 */
#ifndef LMSYNC_PROTO_ERR_H
#define LMSYNC_PROTO_ERR_H

#include <stddef.h>

#define LM_ERR_MAX 512

typedef struct lm_err {
	char msg[LM_ERR_MAX];
} lm_err;

/* Set the message; always returns -1 so callers can `return lm_errf(...)`.
 * A NULL err is allowed and ignored. */
int lm_errf(lm_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with context: "<context>: <old message>". */
int lm_err_wrap(lm_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
