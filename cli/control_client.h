/* SPDX-License-Identifier: MIT */
/* The CLI's end of the control socket: one blocking request and its reply. */
#ifndef LMSYNC_CLI_CONTROL_CLIENT_H
#define LMSYNC_CLI_CONTROL_CLIENT_H

#include <msgpack.h>
#include <stdint.h>

#include "proto/err.h"

enum { CONTROL_REPLY = 0, CONTROL_NOT_RUNNING = 1 };

/* Send the request [command] to the daemon listening at path and unpack its
 * reply into *reply (the caller destroys it with msgpack_unpacked_destroy).
 * Returns CONTROL_REPLY, CONTROL_NOT_RUNNING when nothing listens there, or
 * -1 with a message. Waits at most timeout_ms for the reply. */
int control_request(const char *path, const char *command, int timeout_ms, msgpack_unpacked *reply,
		    lm_err *err);

/* The same for the request [command, arg]. */
int control_request_u64(const char *path, const char *command, uint64_t arg, int timeout_ms,
			msgpack_unpacked *reply, lm_err *err);

#endif
