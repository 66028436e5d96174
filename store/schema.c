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
};

int schema_latest(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *schema_migration(int from)
{
	return from >= 0 && from < schema_latest() ? migrations[from] : NULL;
}
