/* SPDX-License-Identifier: MIT */
/* The log file of envelopes; see logfile.h for the invariants. */
#include "store/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *log_path(const struct store *st, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s", st->path, LOGFILE_SUFFIX);
	return buf;
}

/* Where the bytes the rows name end, as this connection sees the store. */
static int named_end(struct store *st, int64_t *end, lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(
	    st, "SELECT at + len FROM changeset WHERE at IS NOT NULL ORDER BY at DESC LIMIT 1",
	    err);
	int rc;

	if (stmt == NULL)
		return -1;
	*end = LOGFILE_START;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*end = sqlite3_column_int64(stmt, 0);
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the log: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

/* Runs before each commit of the connection: the bytes the commit's rows
 * name must be on disk first. Non-zero turns the commit into a rollback. */
static int on_commit(void *arg)
{
	struct store *st = arg;
	char path[300];

	st->log_end = -1; /* others may append once the lock is released */
	if (!st->log_dirty)
		return 0;
	st->log_dirty = 0;
	if (fdatasync(st->log_fd) == 0)
		return 0;
	st->flush_failed = 1;
	lm_errf(&st->log_refusal,
		"cannot flush the change set log %s to disk (%s); nothing was "
		"committed: check the disk, then try again",
		log_path(st, path, sizeof(path)), strerror(errno));
	return 1;
}

static void on_rollback(void *arg)
{
	struct store *st = arg;

	st->log_end = -1;
	st->log_dirty = 0;
}

static int write_all(int fd, const uint8_t *p, size_t n, int64_t at)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		at += w;
	}
	return 0;
}

/* A new or emptied file gets its magic; any other must start with it. */
static int check_magic(struct store *st, const char *path, off_t size, lm_err *err)
{
	char head[LOGFILE_START];
	ssize_t n;

	if (size == 0) {
		if (write_all(st->log_fd, (const uint8_t *)LOGFILE_MAGIC, LOGFILE_START, 0) != 0 ||
		    fdatasync(st->log_fd) != 0)
			return lm_errf(err, "cannot write %s: %s", path, strerror(errno));
		return 0;
	}
	n = pread(st->log_fd, head, sizeof(head), 0);
	if (n != (ssize_t)sizeof(head) || memcmp(head, LOGFILE_MAGIC, sizeof(head)) != 0)
		return lm_errf(err,
			       "%s is not an lmsync change set log (it does not start as one); "
			       "restore the site directory from a backup",
			       path);
	return 0;
}

int logfile_open(struct store *st, int create, lm_err *err)
{
	char path[300];
	struct stat sb;
	int64_t end;

	log_path(st, path, sizeof(path));
	st->log_end = -1;
	st->log_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (create ? O_TRUNC : 0), 0600);
	if (st->log_fd < 0)
		return lm_errf(err, "cannot open the change set log %s: %s", path, strerror(errno));
	if (fstat(st->log_fd, &sb) != 0)
		return lm_errf(err, "cannot read %s: %s", path, strerror(errno));
	if (check_magic(st, path, sb.st_size, err) != 0 || named_end(st, &end, err) != 0)
		return -1;
	if (end > LOGFILE_START && (int64_t)sb.st_size < end)
		return lm_errf(err,
			       "the change set log %s holds %lld bytes, but the store names bytes "
			       "up to %lld: the file was cut short or replaced; restore the site "
			       "directory from a backup",
			       path, (long long)sb.st_size, (long long)end);
	sqlite3_commit_hook(st->db, on_commit, st);
	sqlite3_rollback_hook(st->db, on_rollback, st);
	return 0;
}

void logfile_close(struct store *st)
{
	if (st->log_fd >= 0)
		close(st->log_fd);
	st->log_fd = -1;
}

int logfile_append(struct store *st, const uint8_t *bytes, size_t len, int64_t *at, lm_err *err)
{
	char path[300];

	if (sqlite3_get_autocommit(st->db))
		return lm_errf(err, "%s: appending to the log outside a transaction", st->path);
	if (st->log_end < 0 && named_end(st, &st->log_end, err) != 0)
		return -1;
	st->log_dirty = 1;
	if (write_all(st->log_fd, bytes, len, st->log_end) != 0)
		return lm_errf(err, "cannot write the change set log %s: %s",
			       log_path(st, path, sizeof(path)), strerror(errno));
	*at = st->log_end;
	st->log_end += (int64_t)len;
	return 0;
}

int logfile_read(struct store *st, int64_t at, size_t len, uint8_t *buf, lm_err *err)
{
	char path[300];
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(st->log_fd, buf + got, len - got, (off_t)(at + (int64_t)got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return lm_errf(err, "cannot read the change set log %s: %s",
				       log_path(st, path, sizeof(path)), strerror(errno));
		if (r == 0)
			return lm_errf(err,
				       "the change set log %s ends before the change set at byte "
				       "%lld (%zu bytes): the file was cut short or replaced; "
				       "restore the site directory from a backup",
				       log_path(st, path, sizeof(path)), (long long)at, len);
		got += (size_t)r;
	}
	return 0;
}

const char *logfile_commit_error(const struct store *st)
{
	return st->log_refusal.msg[0] ? st->log_refusal.msg : NULL;
}
