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

#endif
