/* SPDX-License-Identifier: MIT */
/* The change set log and version vectors; see cslog.h. */
#include "store/cslog.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/logfile.h"

/* The same from the connection's cache; hand it back with store_release. */
static int cached(struct store *st, const char *sql, sqlite3_stmt **stmt, lm_err *err)
{
	*stmt = store_stmt(st, sql, err);
	return *stmt == NULL ? -1 : 0;
}

int cslog_head(struct store *st, const uint8_t origin[CS_KEY_LEN], const char *scope, uint64_t *seq,
	       uint8_t hash[CS_HASH_LEN], lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	*seq = 0;
	memset(hash, 0, CS_HASH_LEN);
	if (cached(st, "SELECT seq, hash FROM vv WHERE origin = ? AND scope = ?", &stmt, err) != 0)
		return -1;
	sqlite3_bind_blob(stmt, 1, origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, scope, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 1) == CS_HASH_LEN) {
		*seq = (uint64_t)sqlite3_column_int64(stmt, 0);
		memcpy(hash, sqlite3_column_blob(stmt, 1), CS_HASH_LEN);
	}
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the version vector: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

int cslog_append(struct store *st, const struct cs_header *h, const uint8_t hash[CS_HASH_LEN],
		 const uint8_t *envelope, size_t len, lm_err *err)
{
	uint8_t head_hash[CS_HASH_LEN];
	uint64_t head;
	sqlite3_stmt *stmt;
	int64_t at = 0;
	int rc;

	/* The invariant every append keeps: no gap, and the chain links up. */
	if (cslog_head(st, h->origin, h->scope, &head, head_hash, err) != 0)
		return -1;
	if (h->seq != head + 1 || sodium_memcmp(h->prev, head_hash, CS_HASH_LEN) != 0)
		return lm_errf(err,
			       "change set %llu of scope %s does not follow the log (which holds "
			       "up to %llu)",
			       (unsigned long long)h->seq, h->scope, (unsigned long long)head);
	/* A small envelope stays in the row: in the file it would cost the
	 * commit a flush of its own, for a few bytes. */
	if (len >= LOGFILE_MIN_ENVELOPE && logfile_append(st, envelope, len, &at, err) != 0)
		return -1;
	if (cached(st,
		   "INSERT INTO changeset(origin, scope, seq, hlc, hash, len, at, envelope, "
		   "local_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
		   "(SELECT coalesce(max(local_id), 0) + 1 FROM changeset))",
		   &stmt, err) != 0)
		return -1;
	sqlite3_bind_blob(stmt, 1, h->origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, h->scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)h->seq);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)h->hlc);
	sqlite3_bind_blob(stmt, 5, hash, CS_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)len);
	if (len >= LOGFILE_MIN_ENVELOPE)
		sqlite3_bind_int64(stmt, 7, at);
	else
		sqlite3_bind_blob(stmt, 8, envelope, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	store_release(st, stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: appending to the log: %s", st->path,
			       sqlite3_errmsg(st->db));
	if (cached(st,
		   "INSERT INTO vv(origin, scope, seq, hash) VALUES (?1, ?2, ?3, ?4) "
		   "ON CONFLICT (origin, scope) DO UPDATE SET seq = excluded.seq, "
		   "hash = excluded.hash",
		   &stmt, err) != 0)
		return -1;
	sqlite3_bind_blob(stmt, 1, h->origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, h->scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)h->seq);
	sqlite3_bind_blob(stmt, 4, hash, CS_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	store_release(st, stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: advancing the version vector: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

int cslog_find(struct store *st, const uint8_t origin[CS_KEY_LEN], const char *scope, uint64_t seq,
	       int64_t *local_id, uint8_t hash[CS_HASH_LEN], lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc, found = 0;

	if (cached(st,
		   "SELECT local_id, hash FROM changeset WHERE origin = ? AND scope = ? AND "
		   "seq = ?",
		   &stmt, err) != 0)
		return -1;
	sqlite3_bind_blob(stmt, 1, origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)seq);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 1) == CS_HASH_LEN) {
		if (local_id != NULL)
			*local_id = sqlite3_column_int64(stmt, 0);
		if (hash != NULL)
			memcpy(hash, sqlite3_column_blob(stmt, 1), CS_HASH_LEN);
		found = 1;
	}
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the log: %s", st->path, sqlite3_errmsg(st->db));
	return found;
}

static int read_vv_row(sqlite3_stmt *stmt, struct vv_entry *e)
{
	const unsigned char *scope = sqlite3_column_text(stmt, 1);

	if (sqlite3_column_bytes(stmt, 0) != CS_KEY_LEN ||
	    sqlite3_column_bytes(stmt, 3) != CS_HASH_LEN || scope == NULL)
		return -1;
	memcpy(e->origin, sqlite3_column_blob(stmt, 0), CS_KEY_LEN);
	snprintf(e->scope, sizeof(e->scope), "%s", (const char *)scope);
	e->seq = (uint64_t)sqlite3_column_int64(stmt, 2);
	memcpy(e->hash, sqlite3_column_blob(stmt, 3), CS_HASH_LEN);
	return 0;
}

int cslog_vv(struct store *st, struct vv_entry **vv, size_t *n, lm_err *err)
{
	struct vv_entry *arr = NULL, *grown;
	size_t cap = 0, count = 0;
	sqlite3_stmt *stmt;
	int rc;

	*vv = NULL;
	*n = 0;
	if (store_prepare(st, "SELECT origin, scope, seq, hash FROM vv ORDER BY scope, origin",
			  &stmt, err) != 0)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(arr, cap * sizeof(*arr));
			if (grown == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			arr = grown;
		}
		if (read_vv_row(stmt, &arr[count]) == 0)
			count++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(arr);
		return lm_errf(err, "%s: reading the version vector: %s", st->path,
			       rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(st->db));
	}
	*vv = arr;
	*n = count;
	return 0;
}

/* ---- reading envelopes ---------------------------------------------------
 * A row names its envelope's bytes in the log file (at, len), or holds them
 * itself when it was logged before schema 7. */
#define ENTRY_BYTES "at, len, envelope"

/* The envelope of the row stmt is on, whose ENTRY_BYTES start at column
 * col, into *buf (grown as needed, *cap its size); *len its length. */
static int entry_bytes(struct store *st, sqlite3_stmt *stmt, int col, uint8_t **buf, size_t *cap,
		       size_t *len, lm_err *err)
{
	int in_file = sqlite3_column_type(stmt, col) != SQLITE_NULL;
	sqlite3_int64 n =
	    in_file ? sqlite3_column_int64(stmt, col + 1) : sqlite3_column_bytes(stmt, col + 2);

	if (n < 0 || n > CS_MAX_ENVELOPE)
		return lm_errf(err, "%s: a log entry is damaged (it names %lld bytes)", st->path,
			       (long long)n);
	if ((size_t)n > *cap || *buf == NULL) {
		uint8_t *grown = realloc(*buf, n > 0 ? (size_t)n : 1);

		if (grown == NULL)
			return lm_errf(err, "out of memory reading the log");
		*buf = grown;
		*cap = n > 0 ? (size_t)n : 1;
	}
	*len = (size_t)n;
	if (in_file)
		return logfile_read(st, sqlite3_column_int64(stmt, col), *len, *buf, err);
	if (n > 0)
		memcpy(*buf, sqlite3_column_blob(stmt, col + 2), *len);
	return 0;
}

static uint64_t their_seq(const struct cslog_missing *it, const struct vv_entry *e)
{
	size_t i;

	for (i = 0; i < it->ntheirs; i++)
		if (memcmp(it->theirs[i].origin, e->origin, CS_KEY_LEN) == 0 &&
		    strcmp(it->theirs[i].scope, e->scope) == 0)
			return it->theirs[i].seq;
	return 0;
}

static int in_scopes(const struct cslog_missing *it, const char *scope)
{
	size_t i;

	if (it->scopes == NULL)
		return 1;
	for (i = 0; i < it->nscopes; i++)
		if (strcmp(it->scopes[i], scope) == 0)
			return 1;
	return 0;
}

int cslog_missing_begin(struct cslog_missing *it, struct store *st, const struct vv_entry *theirs,
			size_t ntheirs, const char *const *scopes, size_t nscopes, lm_err *err)
{
	memset(it, 0, sizeof(*it));
	it->st = st;
	it->theirs = theirs;
	it->ntheirs = ntheirs;
	it->scopes = scopes;
	it->nscopes = nscopes;
	return cslog_vv(st, &it->mine, &it->nmine, err);
}

/* Open the statement for the next (origin, scope) the other side lacks. */
static int open_next(struct cslog_missing *it, lm_err *err)
{
	while (it->at < it->nmine) {
		const struct vv_entry *e = &it->mine[it->at++];
		uint64_t from = their_seq(it, e);

		if (!in_scopes(it, e->scope) || from >= e->seq)
			continue;
		if (store_prepare(it->st,
				  "SELECT " ENTRY_BYTES
				  " FROM changeset WHERE origin = ? AND scope = ? "
				  "AND seq > ? ORDER BY seq",
				  &it->stmt, err) != 0)
			return -1;
		sqlite3_bind_blob(it->stmt, 1, e->origin, CS_KEY_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_text(it->stmt, 2, e->scope, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(it->stmt, 3, (sqlite3_int64)from);
		return 1;
	}
	return 0;
}

int cslog_missing_next(struct cslog_missing *it, const uint8_t **envelope, size_t *len, lm_err *err)
{
	for (;;) {
		int rc;

		if (it->stmt == NULL) {
			rc = open_next(it, err);
			if (rc <= 0)
				return rc;
		}
		rc = sqlite3_step(it->stmt);
		if (rc == SQLITE_ROW) {
			if (entry_bytes(it->st, it->stmt, 0, &it->buf, &it->cap, len, err) != 0)
				return -1;
			*envelope = it->buf;
			return 1;
		}
		sqlite3_finalize(it->stmt);
		it->stmt = NULL;
		if (rc != SQLITE_DONE)
			return lm_errf(err, "%s: reading the log: %s", it->st->path,
				       sqlite3_errmsg(it->st->db));
	}
}

void cslog_missing_end(struct cslog_missing *it)
{
	if (it->stmt)
		sqlite3_finalize(it->stmt);
	free(it->mine);
	free(it->buf);
	memset(it, 0, sizeof(*it));
}

/* ---- reading in arrival order ------------------------------------------ */

int cslog_scan(struct store *st, int64_t after, struct cslog_entry *out, size_t cap, size_t *n,
	       lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	*n = 0;
	if (cached(st,
		   "SELECT local_id, origin, scope, seq FROM changeset WHERE local_id > ? "
		   "ORDER BY local_id LIMIT ?",
		   &stmt, err) != 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, after);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)cap);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct cslog_entry *e = &out[*n];
		const unsigned char *scope = sqlite3_column_text(stmt, 2);

		if (sqlite3_column_bytes(stmt, 1) != CS_KEY_LEN || scope == NULL) {
			rc = SQLITE_CORRUPT;
			break;
		}
		e->local_id = sqlite3_column_int64(stmt, 0);
		memcpy(e->origin, sqlite3_column_blob(stmt, 1), CS_KEY_LEN);
		snprintf(e->scope, sizeof(e->scope), "%s", (const char *)scope);
		e->seq = (uint64_t)sqlite3_column_int64(stmt, 3);
		(*n)++;
	}
	store_release(st, stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the log: %s", st->path,
			       rc == SQLITE_CORRUPT ? "a log entry is damaged"
						    : sqlite3_errmsg(st->db));
	return 0;
}

int cslog_envelope(struct store *st, int64_t local_id, uint8_t **env, size_t *len, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc, found = 0;

	size_t cap = 0;

	*env = NULL;
	*len = 0;
	if (cached(st, "SELECT " ENTRY_BYTES " FROM changeset WHERE local_id = ?", &stmt, err) != 0)
		return -1;
	sqlite3_bind_int64(stmt, 1, local_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		found = entry_bytes(st, stmt, 0, env, &cap, len, err) == 0 ? 1 : -1;
		if (found < 0) {
			free(*env);
			*env = NULL;
			*len = 0;
		}
	}
	store_release(st, stmt);
	if (found < 0)
		return -1;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the log: %s", st->path, sqlite3_errmsg(st->db));
	return found;
}

int cslog_last_id(struct store *st, int64_t *local_id, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	*local_id = 0;
	if (cached(st, "SELECT coalesce(max(local_id), 0) FROM changeset", &stmt, err) != 0)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*local_id = sqlite3_column_int64(stmt, 0);
	store_release(st, stmt);
	if (rc != SQLITE_ROW)
		return lm_errf(err, "%s: reading the log: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

int cslog_seq_upto(struct store *st, const uint8_t origin[CS_KEY_LEN], const char *scope,
		   int64_t local_id, uint64_t *seq, lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	*seq = 0;
	/* Walks the pair from its newest entry down: cheap for the recent
	 * positions it is asked about (a removal). */
	if (cached(st,
		   "SELECT seq FROM changeset WHERE origin = ? AND scope = ? AND local_id <= ? "
		   "ORDER BY seq DESC LIMIT 1",
		   &stmt, err) != 0)
		return -1;
	sqlite3_bind_blob(stmt, 1, origin, CS_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, local_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(stmt, 0);
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the log: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}
