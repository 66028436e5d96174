/* SPDX-License-Identifier: MIT */
/* The store schema's forward migrations (internal to store/). */
#ifndef LMSYNC_STORE_SCHEMA_H
#define LMSYNC_STORE_SCHEMA_H

/* Number of migrations, which is the latest schema version. */
int schema_latest(void);

/* The SQL taking a store from version `from` to `from + 1`, or NULL. */
const char *schema_migration(int from);

#endif
