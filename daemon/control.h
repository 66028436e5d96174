/* SPDX-License-Identifier: MIT */
/* The control socket server: answers `lmsync` on DIR/control.sock. The
 * protocol is in proto/ctl.h; the commands are in control.c. */
#ifndef LMSYNC_DAEMON_CONTROL_H
#define LMSYNC_DAEMON_CONTROL_H

#include <uv.h>

#include "proto/err.h"

struct daemon;
struct control_client;

struct control_server {
	uv_pipe_t pipe;
	struct daemon *daemon;
	const char *path;
	int listening;
	struct control_client *clients; /* open connections, closed on stop */
};

/* Bind the socket with mode 0600 (a stale socket file is replaced: the
 * caller holds the site lock, so nobody else can be serving it). */
int control_start(struct control_server *cs, struct daemon *d, const char *path, lm_err *err);

/* Stop accepting, close the listening socket and remove the file. Clients
 * already connected finish their current request and are closed. */
void control_stop(struct control_server *cs);

#endif
