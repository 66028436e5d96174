/* SPDX-License-Identifier: MIT */
/* The local peer table; see peer.h. */
#include "store/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/siteid.h"

int peer_add(struct store *st, const struct peer *p, lm_err *err)
{
	sqlite3_stmt *stmt;
	char id[SITEID_TEXT_LEN + 1];
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO peer(id, addr, name, is_hub) VALUES (?,?,?,?)",
			       -1, &stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_blob(stmt, 1, p->id, 32, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, p->addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 4, p->is_hub ? 1 : 0);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		siteid_to_text(p->id, id);
		return lm_errf(err, "peer %s is already configured; remove it first to change it",
			       id);
	}
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: adding a peer: %s", st->path, sqlite3_errmsg(st->db));
	return 0;
}

int peer_remove(struct store *st, const uint8_t id[32], lm_err *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db, "DELETE FROM peer WHERE id = ?", -1, &stmt, NULL) !=
	    SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	sqlite3_bind_blob(stmt, 1, id, 32, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: removing a peer: %s", st->path, sqlite3_errmsg(st->db));
	return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

static int read_row(sqlite3_stmt *stmt, struct peer *p)
{
	if (sqlite3_column_bytes(stmt, 0) != 32)
		return -1;
	memcpy(p->id, sqlite3_column_blob(stmt, 0), 32);
	copy_text(p->addr, sizeof(p->addr), stmt, 1);
	copy_text(p->name, sizeof(p->name), stmt, 2);
	p->is_hub = sqlite3_column_int(stmt, 3);
	copy_text(p->added_at, sizeof(p->added_at), stmt, 4);
	return 0;
}

int peer_list(struct store *st, struct peer **peers, int *count, lm_err *err)
{
	sqlite3_stmt *stmt;
	struct peer *arr = NULL;
	int n = 0, cap = 0, rc;

	*peers = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(
		st->db, "SELECT id, addr, name, is_hub, added_at FROM peer ORDER BY name, id", -1,
		&stmt, NULL) != SQLITE_OK)
		return lm_errf(err, "%s: %s", st->path, sqlite3_errmsg(st->db));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			struct peer *grown;

			cap = cap ? 2 * cap : 8;
			grown = realloc(arr, (size_t)cap * sizeof(*arr));
			if (grown == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			arr = grown;
		}
		if (read_row(stmt, &arr[n]) == 0)
			n++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(arr);
		return lm_errf(err, "%s: listing peers: %s", st->path,
			       rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(st->db));
	}
	*peers = arr;
	*count = n;
	return 0;
}
