/* SPDX-License-Identifier: MIT */
/* The site key file on real files: created private whatever the umask, never
 * overwritten, loaded back to the same working key pair, and refused when
 * others could read it or when it holds anything but a seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/keyfile.h"
#include "tests/support/tmpdir.h"
#include "proto/siteid.h"

/* Each test has a fresh directory with site.key (not created) in it. */
static int setup(void **state)
{
	return tmpdir_fx_setup(state, "keyfile", "site.key");
}

static int teardown(void **state)
{
	return tmpdir_fx_teardown(state);
}

/* Write text to path with mode 0600 (the mode load accepts). */
static void write_private(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t n = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static size_t read_all(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, cap - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

static int has(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

static int is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void test_create_mode_0600_with_umask_0(void **state)
{
	struct tmpdir_fx *f = *state;
	struct site_key key;
	struct stat st;
	mode_t old;
	lm_err err;

	old = umask(0);
	assert_int_equal(keyfile_create(f->path, &key, &err), 0);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_false(is_zero(key.public_key, sizeof(key.public_key)));
	site_key_wipe(&key);
	assert_true(is_zero(&key, sizeof(key)));
}

static void test_create_refuses_existing(void **state)
{
	struct tmpdir_fx *f = *state;
	char before[1024], after[1024];
	struct site_key first, second, loaded;
	lm_err err;

	assert_int_equal(keyfile_create(f->path, &first, &err), 0);
	read_all(f->path, before, sizeof(before));
	assert_int_equal(keyfile_create(f->path, &second, &err), -1);
	assert_true(has(err.msg, f->path));
	read_all(f->path, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(keyfile_load(f->path, &loaded, &err), 0);
	assert_memory_equal(loaded.public_key, first.public_key, SITE_PUBLIC_LEN);
	assert_memory_equal(loaded.secret_key, first.secret_key, SITE_SECRET_LEN);
}

static void test_load_same_pair_that_signs(void **state)
{
	static const uint8_t msg[] = "peer.add 2024-05-01 Tromsø";
	struct tmpdir_fx *f = *state;
	struct site_key made, loaded;
	uint8_t sig[crypto_sign_BYTES];
	uint8_t tampered[sizeof(msg)];
	lm_err err;

	assert_int_equal(keyfile_create(f->path, &made, &err), 0);
	memset(&loaded, 0, sizeof(loaded));
	assert_int_equal(keyfile_load(f->path, &loaded, &err), 0);
	assert_memory_equal(loaded.public_key, made.public_key, SITE_PUBLIC_LEN);
	assert_memory_equal(loaded.secret_key, made.secret_key, SITE_SECRET_LEN);

	assert_int_equal(crypto_sign_detached(sig, NULL, msg, sizeof(msg), loaded.secret_key), 0);
	assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof(msg), made.public_key), 0);
	memcpy(tampered, msg, sizeof(msg));
	tampered[0] ^= 1;
	assert_int_equal(
	    crypto_sign_verify_detached(sig, tampered, sizeof(tampered), made.public_key), -1);

	/* Two new keys are different keys. */
	unlink(f->path);
	assert_int_equal(keyfile_create(f->path, &loaded, &err), 0);
	assert_memory_not_equal(loaded.public_key, made.public_key, SITE_PUBLIC_LEN);
}

static void test_load_refuses_open_modes(void **state)
{
	static const mode_t bad[] = {0640, 0604, 0660, 0644, 0602, 0620, 0700 | 0007};
	struct tmpdir_fx *f = *state;
	struct site_key key, loaded;
	char mode[16];
	lm_err err;
	size_t i;

	assert_int_equal(keyfile_create(f->path, &key, &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(f->path, bad[i]), 0);
		memset(&err, 0, sizeof(err));
		assert_int_equal(keyfile_load(f->path, &loaded, &err), -1);
		assert_true(has(err.msg, "chmod 600"));
		assert_true(has(err.msg, f->path));
		snprintf(mode, sizeof(mode), "%04o", (unsigned)bad[i]);
		assert_true(has(err.msg, mode));
	}
	/* Owner-only modes load. */
	assert_int_equal(chmod(f->path, 0400), 0);
	assert_int_equal(keyfile_load(f->path, &loaded, &err), 0);
	assert_memory_equal(loaded.public_key, key.public_key, SITE_PUBLIC_LEN);
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(keyfile_load(f->path, &loaded, &err), 0);
}

static void test_load_refuses_bad_contents(void **state)
{
	static const char *const bad[] = {
	    "",
	    "\n\n",
	    "# only a comment\n",
	    "hello, world\n",
	    "abcdef\n",
	    /* 63 and 65 hex characters */
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n",
	    /* 66 hex characters: one byte too many */
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n",
	    /* 64 characters, one not hex */
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
	    /* the seed with a colon in the middle */
	    "000102030405060708090a0b0c0d0e:0f101112131415161718191a1b1c1d1e1f\n",
	};
	struct tmpdir_fx *f = *state;
	struct site_key key;
	lm_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(f->path);
		write_private(f->path, bad[i]);
		memset(&err, 0, sizeof(err));
		if (keyfile_load(f->path, &key, &err) != -1)
			fail_msg("case %zu accepted", i);
		assert_true(has(err.msg, f->path));
		assert_true(has(err.msg, "does not hold a site key"));
	}
}

static void test_load_missing_and_too_large(void **state)
{
	struct tmpdir_fx *f = *state;
	char big[2048];
	struct site_key key;
	lm_err err;

	assert_int_equal(keyfile_load(f->path, &key, &err), -1);
	assert_true(has(err.msg, f->path));
	assert_true(has(err.msg, "No such file"));

	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_private(f->path, big);
	assert_int_equal(keyfile_load(f->path, &key, &err), -1);
	assert_true(has(err.msg, "too large"));

	/* A directory is not a key. */
	unlink(f->path);
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(keyfile_load(f->path, &key, &err), -1);
	assert_true(has(err.msg, "not a regular file"));
}

/* A hand-written file: comments, blank lines and CRLF around a known seed. */
static void test_load_known_seed(void **state)
{
	struct tmpdir_fx *f = *state;
	uint8_t seed[32], pk[32], sk[64];
	char hex[65], text[256];
	struct site_key key;
	lm_err err;
	int i;

	for (i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_bin2hex(hex, sizeof(hex), seed, sizeof(seed));
	snprintf(text, sizeof(text), "# written by hand\r\n\r\n  # still a comment\r\n  %s \r\n",
		 hex);
	write_private(f->path, text);
	if (keyfile_load(f->path, &key, &err) != 0)
		fail_msg("%s", err.msg);
	assert_memory_equal(key.public_key, pk, 32);
	assert_memory_equal(key.secret_key, sk, 64);

	/* Upper-case hex is the same seed. */
	for (i = 0; hex[i]; i++)
		if (hex[i] >= 'a' && hex[i] <= 'f')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	unlink(f->path);
	snprintf(text, sizeof(text), "%s\n", hex);
	write_private(f->path, text);
	assert_int_equal(keyfile_load(f->path, &key, &err), 0);
	assert_memory_equal(key.public_key, pk, 32);
}

static void test_comment_names_site_id(void **state)
{
	struct tmpdir_fx *f = *state;
	char text[1024], id[SITEID_TEXT_LEN + 1], line[256], seed_hex[65];
	struct site_key key;
	lm_err err;
	char *nl;

	assert_int_equal(keyfile_create(f->path, &key, &err), 0);
	read_all(f->path, text, sizeof(text));
	siteid_to_text(key.public_key, id);
	nl = strchr(text, '\n');
	assert_non_null(nl);
	snprintf(line, sizeof(line), "%.*s", (int)(nl - text), text);
	assert_int_equal(line[0], '#');
	assert_true(has(line, id));

	/* The seed is in the file; the public key and the secret's second half
	 * are derived, so the file holds exactly one copy of the secret. */
	sodium_bin2hex(seed_hex, sizeof(seed_hex), key.secret_key, 32);
	assert_true(has(text, seed_hex));
	assert_memory_equal(key.secret_key + 32, key.public_key, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_mode_0600_with_umask_0, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_refuses_existing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_same_pair_that_signs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_open_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_bad_contents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_missing_and_too_large, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_known_seed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comment_names_site_id, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
