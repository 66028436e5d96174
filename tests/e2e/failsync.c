/* SPDX-License-Identifier: MIT */
/* A disk whose flushes fail, for test_disk.sh: preloaded into lmsyncd
 * (LD_PRELOAD), fdatasync and fsync fail with EIO, as a failing disk makes
 * them, while the file LMSYNC_TEST_FAILSYNC names exists. SQLite and the
 * change set log reach the disk through these two calls. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*sync_fn)(int);

/* Resolved before main, so that the daemon's threads only ever read them. */
static sync_fn real_fdatasync, real_fsync;

__attribute__((constructor)) static void failsync_init(void)
{
	real_fdatasync = (sync_fn)dlsym(RTLD_NEXT, "fdatasync");
	real_fsync = (sync_fn)dlsym(RTLD_NEXT, "fsync");
}

static int disk_fails(void)
{
	const char *path = getenv("LMSYNC_TEST_FAILSYNC");

	return path != NULL && access(path, F_OK) == 0;
}

static int call(sync_fn fn, int fd)
{
	if (disk_fails() || fn == NULL) {
		errno = EIO;
		return -1;
	}
	return fn(fd);
}

int fdatasync(int fd)
{
	return call(real_fdatasync, fd);
}

int fsync(int fd)
{
	return call(real_fsync, fd);
}
