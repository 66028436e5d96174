/* SPDX-License-Identifier: MIT */
/* The site key file (site.key): the Ed25519 identity of a site.
 *
 * The file holds the 32-byte Ed25519 seed as 64 hex characters after a comment
 * line naming the site id; the key pair is derived from the seed on load. It
 * is created with mode 0600 and refused on load when group or others may read
 * or write it, because whoever holds it can speak for the site.
 */
#ifndef LMSYNC_CONF_KEYFILE_H
#define LMSYNC_CONF_KEYFILE_H

#include <stdint.h>

#include "proto/err.h"

#define SITE_PUBLIC_LEN 32
#define SITE_SECRET_LEN 64

struct site_key {
	uint8_t public_key[SITE_PUBLIC_LEN];
	uint8_t secret_key[SITE_SECRET_LEN]; /* libsodium form: seed || public key */
};

/* Generate a new key pair and write it to path, which must not exist. */
int keyfile_create(const char *path, struct site_key *key, lm_err *err);

/* Load path, refusing it when its mode lets group or others in. */
int keyfile_load(const char *path, struct site_key *key, lm_err *err);

/* Wipe the secret half; call when the key is no longer needed. */
void site_key_wipe(struct site_key *key);

#endif
