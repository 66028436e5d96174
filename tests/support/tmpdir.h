/* SPDX-License-Identifier: MIT */
/* Temporary directories for tests that need real files. */
#ifndef LMSYNC_TESTS_TMPDIR_H
#define LMSYNC_TESTS_TMPDIR_H

#include <stddef.h>

/* Create /tmp/lmsync-test-NAME-XXXXXX into dir (at least 64 bytes) and, when
 * file is not NULL, write "DIR/FILE" into path. Returns 0 or -1. */
int tmpdir_make(const char *name, char *dir, size_t dircap, const char *file, char *path,
		size_t pathcap);

/* Remove path and everything below it; missing paths are fine. */
void tmpdir_remove(const char *path);

/* The state of a test on one file in a fresh directory (the conf and key
 * file tests): the same set-up and tear-down, written once. */
struct tmpdir_fx {
	char dir[64];
	char path[128]; /* DIR/FILE, not created */
};

/* cmocka set-up: *state becomes a tmpdir_fx with its directory made for
 * test NAME. Returns 0 or -1 (leaving nothing behind). */
int tmpdir_fx_setup(void **state, const char *name, const char *file);
/* cmocka tear-down of a tmpdir_fx: remove the directory, free. */
int tmpdir_fx_teardown(void **state);

#endif
