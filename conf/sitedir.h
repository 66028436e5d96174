/* SPDX-License-Identifier: MIT */
/* The site directory: where one site keeps its key, configuration, store,
 * control socket and lock, and how a command finds it.
 *
 * DIR is chosen by -d, else $LMSYNC_DIR, else ~/.local/share/lmsync. Every
 * file lives directly inside DIR under a fixed name, so an operator backs up a
 * site by copying one directory (with the daemon stopped, or see
 * docs/OPERATIONS.md).
 */
#ifndef LMSYNC_CONF_SITEDIR_H
#define LMSYNC_CONF_SITEDIR_H

#include "proto/err.h"

/* sockaddr_un.sun_path holds 108 bytes: the control socket bounds DIR. */
#define SITEDIR_PATH_MAX 108

struct sitedir {
	char dir[SITEDIR_PATH_MAX];
	char key[SITEDIR_PATH_MAX + 16];     /* site.key: Ed25519 seed, mode 0600 */
	char conf[SITEDIR_PATH_MAX + 16];    /* lmsync.conf */
	char store[SITEDIR_PATH_MAX + 16];   /* store.db (+ -wal, -shm) */
	char control[SITEDIR_PATH_MAX + 16]; /* control.sock, mode 0600 */
	char lock[SITEDIR_PATH_MAX + 16];    /* lmsyncd.lock, holds the daemon's pid */
};

/* Resolve DIR from the option (may be NULL), the environment and $HOME, and
 * fill in every path. Fails when no directory can be determined or the paths
 * would not fit a unix socket address. */
int sitedir_resolve(struct sitedir *sd, const char *option, lm_err *err);

/* 1 when DIR already holds any file of a site, 0 when not. */
int sitedir_has_site(const struct sitedir *sd);

/* Create DIR (and missing parents) with mode 0700. */
int sitedir_create(const struct sitedir *sd, lm_err *err);

#endif
