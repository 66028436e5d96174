/* SPDX-License-Identifier: MIT */
/* The bytes of the change set log, kept outside SQLite. Internal to store/.
 *
 * Envelopes of LOGFILE_MIN_ENVELOPE bytes or more are appended to a file
 * beside the store, `<store>-log` (e.g. store.db-log); the changeset table
 * names each one by (at, len). In the B-tree such an envelope would be
 * written twice, to the WAL and again by the checkpoint, in overflow
 * pages; the file takes it once.
 *
 * The file starts with LOGFILE_MAGIC; envelopes follow back to back.
 *
 * Invariants, which make the file as crash-safe as the store:
 *  - Bytes are appended only inside a write transaction, at the end that
 *    the committed rows name, never at the file's size: bytes past that
 *    end belong to a transaction that rolled back or never committed, and
 *    the next append writes over them.
 *  - Before a transaction that appended commits, the file is flushed to
 *    disk (a commit hook; if the flush fails, the commit becomes a
 *    rollback). A committed row therefore never names bytes the disk lacks.
 *  - Bytes a committed row names are never written again.
 * Readers read only what committed rows name, so they need no lock.
 */
#ifndef LMSYNC_STORE_LOGFILE_H
#define LMSYNC_STORE_LOGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define LOGFILE_SUFFIX "-log"
#define LOGFILE_MAGIC  "LMSYNC\x01\n"
#define LOGFILE_START  8 /* the first envelope's offset: after the magic */
/* Smaller envelopes stay in the changeset table (see cslog_append): the
 * file pays off only when what a commit logs outweighs a flush. */
#define LOGFILE_MIN_ENVELOPE 16384

/* Open (creating it when missing, emptying it when create is set) the log
 * file of an open store, install the commit hooks, and check the file
 * holds every byte the store's rows name. */
int logfile_open(struct store *st, int create, lm_err *err);
void logfile_close(struct store *st);

/* Append len bytes; *at receives their offset. Inside a write transaction. */
int logfile_append(struct store *st, const uint8_t *bytes, size_t len, int64_t *at, lm_err *err);

/* Read len bytes at offset at into buf. */
int logfile_read(struct store *st, int64_t at, size_t len, uint8_t *buf, lm_err *err);

/* The message of a commit the log refused (SQLITE_CONSTRAINT_COMMITHOOK),
 * or NULL. */
const char *logfile_commit_error(const struct store *st);

#endif
