/* SPDX-License-Identifier: MIT */
/* The daemon's single-instance lock; see lock.h. */
#include "daemon/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static long read_pid(int fd)
{
	char buf[32] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int lock_acquire(const char *path, const char *store_path, lm_err *err)
{
	char pid[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return lm_errf(err, "cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		long holder = read_pid(fd);

		close(fd);
		if (e == EWOULDBLOCK)
			return lm_errf(err,
				       "another lmsyncd (pid %ld) already holds %s; stop it first "
				       "(`kill %ld`), or use another -d DIR",
				       holder, store_path, holder);
		return lm_errf(err, "cannot lock %s: %s", path, strerror(e));
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		lm_errf(err, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
