/* SPDX-License-Identifier: MIT */
/* Error messages: formatting and wrapping. */
#include "proto/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int lm_errf(lm_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int lm_err_wrap(lm_err *err, const char *fmt, ...)
{
	char old[LM_ERR_MAX];
	va_list ap;
	size_t n;

	if (err == NULL)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* Truncation keeps the start of both parts, which is where the meaning is. */
	n = strlen(err->msg);
	if (n + 2 < sizeof(err->msg)) {
		memcpy(err->msg + n, ": ", 2);
		n += 2;
		strncpy(err->msg + n, old, sizeof(err->msg) - n - 1);
		err->msg[sizeof(err->msg) - 1] = '\0';
	}
	return -1;
}
