/* SPDX-License-Identifier: MIT */
/* The store's schema as a list of forward migrations. Migration i brings a
 * store from user_version i to i + 1. Never edit a migration that has shipped:
 * append a new one. */
#include "store/schema.h"

#include <stddef.h>

static const char *const migrations[] = {
    /* 0 -> 1: site metadata and the peers this site connects to. Peers are
     * local configuration, not replicated: each site chooses its own. */
    "CREATE TABLE meta (\n"
    "  key   TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE peer (\n"
    "  id       BLOB PRIMARY KEY CHECK (length(id) = 32),\n"
    "  addr     TEXT NOT NULL,\n"
    "  name     TEXT NOT NULL DEFAULT '',\n"
    "  is_hub   INTEGER NOT NULL DEFAULT 0 CHECK (is_hub IN (0, 1)),\n"
    "  added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))\n"
    ") WITHOUT ROWID;\n",

    /* 1 -> 2: replication. See store/registry.c, seal.c, merge.c. */
    /* Which tables replicate: key columns, scope column, write policy. */
    "CREATE TABLE repl_table (\n"
    "  name      TEXT PRIMARY KEY,\n"
    "  pk_cols   TEXT NOT NULL,\n" /* comma-separated, in key order */
    "  scope_col TEXT NOT NULL,\n"
    "  policy    TEXT NOT NULL CHECK (policy IN ('owner', 'scope'))\n"
    ") WITHOUT ROWID;\n"
    /* Every replicated row ever seen: causal length (odd: exists, even:
     * deleted) and its scope, which outlives the row for deletes. The key
     * is json_array() of the primary key values. */
    "CREATE TABLE repl_row (\n"
    "  tbl   TEXT NOT NULL,\n"
    "  pk    TEXT NOT NULL,\n"
    "  cl    INTEGER NOT NULL,\n"
    "  scope TEXT NOT NULL,\n"
    "  PRIMARY KEY (tbl, pk)\n"
    ") WITHOUT ROWID;\n"
    /* Who wrote each column last, at which causal length and clock. */
    "CREATE TABLE repl_clock (\n"
    "  tbl    TEXT NOT NULL,\n"
    "  pk     TEXT NOT NULL,\n"
    "  col    TEXT NOT NULL,\n"
    "  cl     INTEGER NOT NULL,\n"
    "  hlc    INTEGER NOT NULL,\n"
    "  origin BLOB NOT NULL,\n"
    "  PRIMARY KEY (tbl, pk, col)\n"
    ") WITHOUT ROWID;\n"
    /* Local changes not yet sealed, written by the capture triggers; col
     * NULL marks an insert or delete of the whole row. */
    "CREATE TABLE repl_capture (\n"
    "  id  INTEGER PRIMARY KEY,\n"
    "  tbl TEXT NOT NULL,\n"
    "  pk  TEXT NOT NULL,\n"
    "  col TEXT\n"
    ");\n"
    /* Holds one row only inside a merge transaction: the capture triggers
     * check it, so merged changes are not captured again. Other connections
     * never see the row. */
    "CREATE TABLE repl_applying (x INTEGER);\n"
    /* The log: every accepted change set, local or remote, as signed. */
    "CREATE TABLE changeset (\n"
    "  origin   BLOB NOT NULL,\n"
    "  scope    TEXT NOT NULL,\n"
    "  seq      INTEGER NOT NULL,\n"
    "  hlc      INTEGER NOT NULL,\n"
    "  hash     BLOB NOT NULL,\n"
    "  envelope BLOB NOT NULL,\n"
    "  local_id INTEGER NOT NULL UNIQUE,\n" /* arrival order at this site */
    "  PRIMARY KEY (origin, scope, seq)\n"
    ") WITHOUT ROWID;\n"
    /* Version vector: the highest contiguous seq held per (origin, scope)
     * and the hash of that change set, the link the next one must name. */
    "CREATE TABLE vv (\n"
    "  origin BLOB NOT NULL,\n"
    "  scope  TEXT NOT NULL,\n"
    "  seq    INTEGER NOT NULL,\n"
    "  hash   BLOB NOT NULL,\n"
    "  PRIMARY KEY (origin, scope)\n"
    ") WITHOUT ROWID;\n"
    /* Values that lost a last-writer-wins comparison, for the operator. */
    "CREATE TABLE conflict (\n"
    "  id            INTEGER PRIMARY KEY,\n"
    "  tbl           TEXT NOT NULL,\n"
    "  pk            TEXT NOT NULL,\n"
    "  col           TEXT NOT NULL,\n"
    "  loser_value,\n"
    "  loser_hlc     INTEGER NOT NULL,\n"
    "  loser_origin  BLOB NOT NULL,\n"
    "  winner_hlc    INTEGER NOT NULL,\n"
    "  winner_origin BLOB NOT NULL,\n"
    "  at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))\n"
    ");\n"
    /* Change sets refused for breaking a write policy: never applied. */
    "CREATE TABLE quarantine (\n"
    "  origin   BLOB NOT NULL,\n"
    "  scope    TEXT NOT NULL,\n"
    "  seq      INTEGER NOT NULL,\n"
    "  envelope BLOB NOT NULL,\n"
    "  reason   TEXT NOT NULL,\n"
    "  at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),\n"
    "  PRIMARY KEY (origin, scope, seq)\n"
    ") WITHOUT ROWID;\n"
    /* Change sets held back (dated too far ahead): retried later. */
    "CREATE TABLE held (\n"
    "  origin   BLOB NOT NULL,\n"
    "  scope    TEXT NOT NULL,\n"
    "  seq      INTEGER NOT NULL,\n"
    "  envelope BLOB NOT NULL,\n"
    "  reason   TEXT NOT NULL,\n"
    "  at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),\n"
    "  PRIMARY KEY (origin, scope, seq)\n"
    ") WITHOUT ROWID;\n",

    /* 2 -> 3: a capture remembers the scope it was made in, so a row that
     * moves (deleted, re-created in another scope) also leaves its old
     * scope with a delete there. The triggers are re-installed. */
    "ALTER TABLE repl_capture ADD COLUMN scope TEXT;\n"
    /* The scope of a row is a last-writer-wins register like a column: the
     * write with the highest (hlc, origin) at the row's causal length sets
     * it, whatever order writes arrive in. */
    "ALTER TABLE repl_row ADD COLUMN scope_hlc INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE repl_row ADD COLUMN scope_origin BLOB NOT NULL DEFAULT x'';\n",

    /* 3 -> 4: the column clocks of a row move into one blob in its repl_row
     * entry (see store/rowclock.h): merging a row of five columns wrote six
     * metadata rows, now one. Only the clocks of the row's current causal
     * length are kept; older ones never won anything again. lm_rowclock is
     * the aggregate store.c registers for this. */
    "ALTER TABLE repl_row ADD COLUMN clocks BLOB;\n"
    "UPDATE repl_row SET clocks = (SELECT lm_rowclock(c.cl, c.col, c.hlc, c.origin) "
    "FROM repl_clock c WHERE c.tbl = repl_row.tbl AND c.pk = repl_row.pk "
    "AND c.cl = repl_row.cl);\n"
    "DROP TABLE repl_clock;\n"
    /* The log becomes a rowid table keyed by arrival order: envelopes of up
     * to 60 kB sit badly in a WITHOUT ROWID B-tree, whose cells are meant to
     * be small. (origin, scope, seq) stays unique through an index. */
    "CREATE TABLE changeset_v4 (\n"
    "  local_id INTEGER PRIMARY KEY,\n" /* arrival order at this site */
    "  origin   BLOB NOT NULL,\n"
    "  scope    TEXT NOT NULL,\n"
    "  seq      INTEGER NOT NULL,\n"
    "  hlc      INTEGER NOT NULL,\n"
    "  hash     BLOB NOT NULL,\n"
    "  envelope BLOB NOT NULL,\n"
    "  UNIQUE (origin, scope, seq)\n"
    ");\n"
    "INSERT INTO changeset_v4(local_id, origin, scope, seq, hlc, hash, envelope) "
    "SELECT local_id, origin, scope, seq, hlc, hash, envelope FROM changeset "
    "ORDER BY local_id;\n"
    "DROP TABLE changeset;\n"
    "ALTER TABLE changeset_v4 RENAME TO changeset;\n",

    /* 4 -> 5: scope membership (store/member.h), replicated under the new
     * admin policy. repl_table is rebuilt to let its CHECK name that policy;
     * the triggers of every table are re-installed after migrating. */
    "CREATE TABLE repl_table_v5 (\n"
    "  name      TEXT PRIMARY KEY,\n"
    "  pk_cols   TEXT NOT NULL,\n"
    "  scope_col TEXT NOT NULL,\n"
    "  policy    TEXT NOT NULL CHECK (policy IN ('owner', 'scope', 'admin'))\n"
    ") WITHOUT ROWID;\n"
    "INSERT INTO repl_table_v5 SELECT name, pk_cols, scope_col, policy FROM repl_table;\n"
    "DROP TABLE repl_table;\n"
    "ALTER TABLE repl_table_v5 RENAME TO repl_table;\n"
    "CREATE TABLE lm_member (\n"
    "  of_scope TEXT NOT NULL,\n"
    "  member   TEXT NOT NULL CHECK (length(member) = 64 AND NOT member GLOB '*[^0-9a-f]*'),\n"
    "  scope    TEXT NOT NULL DEFAULT '',\n"
    "  role     TEXT NOT NULL DEFAULT 'member'\n"
    "           CHECK (role IN ('admin', 'member', 'reader', 'relay')),\n"
    "  PRIMARY KEY (of_scope, member)\n"
    ");\n"
    "INSERT INTO repl_table(name, pk_cols, scope_col, policy) "
    "VALUES ('lm_member', 'of_scope,member', 'scope', 'admin');\n",

    /* 5 -> 6: sealing asks, for every column it ships, whether that column
     * was captured; without an index each question scans every capture,
     * which made sealing many updated rows quadratic. */
    "CREATE INDEX repl_capture_key ON repl_capture(tbl, pk, col);\n",

    /* 6 -> 7: envelopes move out of the B-tree into the store's log file
     * (store/logfile.h): in the table, every byte of a 60 kB envelope was
     * written twice (WAL, then checkpoint) in 4 kB overflow pages; the file
     * takes it once. A row names its bytes by (at, len); rows from before
     * keep theirs in envelope, with at NULL. */
    "CREATE TABLE changeset_v7 (\n"
    "  local_id INTEGER PRIMARY KEY,\n" /* arrival order at this site */
    "  origin   BLOB NOT NULL,\n"
    "  scope    TEXT NOT NULL,\n"
    "  seq      INTEGER NOT NULL,\n"
    "  hlc      INTEGER NOT NULL,\n"
    "  hash     BLOB NOT NULL,\n"
    "  len      INTEGER NOT NULL,\n" /* of the envelope */
    "  at       INTEGER,\n"	     /* its offset in the log file */
    "  envelope BLOB,\n"	     /* or the envelope itself */
    "  UNIQUE (origin, scope, seq),\n"
    "  CHECK ((at IS NULL) <> (envelope IS NULL))\n"
    ");\n"
    "INSERT INTO changeset_v7(local_id, origin, scope, seq, hlc, hash, len, at, envelope) "
    "SELECT local_id, origin, scope, seq, hlc, hash, length(envelope), NULL, envelope "
    "FROM changeset ORDER BY local_id;\n"
    "DROP TABLE changeset;\n"
    "ALTER TABLE changeset_v7 RENAME TO changeset;\n"
    /* Where the file's named bytes end, found at once (logfile.c). */
    "CREATE INDEX changeset_at ON changeset(at) WHERE at IS NOT NULL;\n",

    /* 7 -> 8: repl_row becomes a rowid table with a unique index on its key.
     * Rows arrive in random key order, so every commit rewrote a random
     * leaf page per row it touched; now the entries (about 260 bytes) are
     * appended in arrival order and only the index (the key, about half)
     * is written at random. Queries are unchanged. The table is copied
     * aside, not renamed, so the capture triggers that name it stay valid. */
    "CREATE TEMP TABLE repl_row_v7 AS SELECT * FROM repl_row;\n"
    "DROP TABLE repl_row;\n"
    "CREATE TABLE repl_row (\n"
    "  tbl          TEXT NOT NULL,\n"
    "  pk           TEXT NOT NULL,\n"
    "  cl           INTEGER NOT NULL,\n"
    "  scope        TEXT NOT NULL,\n"
    "  scope_hlc    INTEGER NOT NULL DEFAULT 0,\n"
    "  scope_origin BLOB NOT NULL DEFAULT x'',\n"
    "  clocks       BLOB,\n"
    "  UNIQUE (tbl, pk)\n"
    ");\n"
    "INSERT INTO repl_row(tbl, pk, cl, scope, scope_hlc, scope_origin, clocks) "
    "SELECT tbl, pk, cl, scope, scope_hlc, scope_origin, clocks FROM repl_row_v7;\n"
    "DROP TABLE repl_row_v7;\n",

    /* 8 -> 9: the capture triggers refuse a row without a scope, which used
     * to stop every later seal of the site (registry.c sql_scope_guard);
     * nothing to change in the tables: the triggers are re-installed after
     * migrating. */
    "SELECT 1;\n",

    /* 9 -> 10: rows the seal held back, unsent, because a text of theirs
     * looks like a fødselsnummer (seal.c); the next write of such a row
     * that no longer holds one sends it whole. Never replicated. */
    "CREATE TABLE repl_held (\n"
    "  tbl TEXT NOT NULL,\n"
    "  pk  TEXT NOT NULL,\n"
    "  col TEXT NOT NULL,\n" /* the column that holds it */
    "  at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),\n"
    "  PRIMARY KEY (tbl, pk)\n"
    ") WITHOUT ROWID;\n",
};

int schema_latest(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *schema_migration(int from)
{
	return from >= 0 && from < schema_latest() ? migrations[from] : NULL;
}
