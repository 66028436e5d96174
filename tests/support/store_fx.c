/* SPDX-License-Identifier: MIT */
/* Store fixtures for tests; see store_fx.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/store_fx.h"
#include "tests/support/tmpdir.h"

int store_fx_setup(void **state, const char *name)
{
	struct store_fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (tmpdir_make(name, f->dir, sizeof(f->dir), "store.db", f->path, sizeof(f->path)) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int store_fx_setup_open(void **state, const char *name)
{
	struct store_fx *f;
	lm_err err;

	if (store_fx_setup(state, name) != 0)
		return -1;
	f = *state;
	if (store_open(&f->st, f->path, STORE_CREATE, &err) != 0) {
		print_error("opening %s: %s\n", f->path, err.msg);
		(void)store_fx_teardown(state);
		return -1;
	}
	return 0;
}

int store_fx_teardown(void **state)
{
	struct store_fx *f = *state;

	store_close(&f->st);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

int store_fx_open_claimed(struct store *st, const char *path, uint8_t seedbyte, uint8_t pk[32],
			  uint8_t sk[64], lm_err *err)
{
	uint8_t seed[32];

	if (sodium_init() < 0)
		return lm_errf(err, "sodium_init failed");
	memset(seed, seedbyte, sizeof(seed));
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
		return lm_errf(err, "deriving the key of seed %u", seedbyte);
	if (store_open(st, path, STORE_CREATE, err) != 0 || store_claim(st, pk, err) != 0)
		return -1;
	return 0;
}

void store_fx_exec(struct store *st, const char *sql)
{
	lm_err err;

	if (store_exec(st, sql, &err) != 0)
		fail_msg("%s: %s", sql, err.msg);
}
