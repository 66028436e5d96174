/* SPDX-License-Identifier: MIT */
/* A store file in a fresh temporary directory, the state the store tests
 * start from. Their set-up and tear-down were copies from file to file; they
 * are written once here. How far set-up goes (the directory only, a new
 * store, one claimed by a fixed key) differs between the tests, so each
 * test says which it wants. Link lmteststore (it needs cmocka). */
#ifndef LMSYNC_TESTS_STORE_FX_H
#define LMSYNC_TESTS_STORE_FX_H

#include <stdint.h>

#include "proto/err.h"
#include "store/store.h"

struct store_fx {
	char dir[64];
	char path[128];	 /* DIR/store.db */
	struct store st; /* closed (st.db NULL) until opened */
};

/* cmocka set-up: *state becomes a store_fx with its directory made for test
 * NAME; the test opens the store itself. Returns 0 or -1. */
int store_fx_setup(void **state, const char *name);
/* The same, with a new store created at path (STORE_CREATE). */
int store_fx_setup_open(void **state, const char *name);
/* cmocka tear-down of a store_fx: close the store, remove the directory. */
int store_fx_teardown(void **state);

/* Create a new store at path and claim it for the Ed25519 key of a seed of
 * 32 bytes seedbyte (into pk, sk): the fixed site of the sealing tests.
 * Returns 0 or -1 with err. */
int store_fx_open_claimed(struct store *st, const char *path, uint8_t seedbyte, uint8_t pk[32],
			  uint8_t sk[64], lm_err *err);

/* Run sql on st; an error fails the running test. */
void store_fx_exec(struct store *st, const char *sql);

#endif
