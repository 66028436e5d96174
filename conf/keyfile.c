/* SPDX-License-Identifier: MIT */
/* Creating and loading site.key; see keyfile.h. Secrets pass through stack
 * buffers only, and every buffer that held one is wiped before returning. */
#include "conf/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/siteid.h"

#define SEED_LEN crypto_sign_SEEDBYTES
#define FILE_MAX 512

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int keyfile_create(const char *path, struct site_key *key, lm_err *err)
{
	char text[FILE_MAX], id[SITEID_TEXT_LEN + 1], seed_hex[2 * SEED_LEN + 1];
	int fd, n, rc = 0;

	crypto_sign_keypair(key->public_key, key->secret_key);
	siteid_to_text(key->public_key, id);
	sodium_bin2hex(seed_hex, sizeof(seed_hex), key->secret_key, SEED_LEN);
	n = snprintf(text, sizeof(text),
		     "# lmsync site key of site %s\n"
		     "# Secret: whoever has this file can speak for the site. Mode 0600.\n"
		     "%s\n",
		     id, seed_hex);
	sodium_memzero(seed_hex, sizeof(seed_hex));
	/* O_EXCL: never overwrite an identity; 0600 from the first byte. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		rc = lm_errf(err, "cannot create %s: %s", path, strerror(errno));
	else if (fchmod(fd, 0600) != 0 || write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0)
		rc = lm_errf(err, "cannot write %s: %s", path, strerror(errno));
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = lm_errf(err, "cannot write %s: %s", path, strerror(errno));
	sodium_memzero(text, sizeof(text));
	if (rc != 0)
		site_key_wipe(key);
	return rc;
}

static int check_mode(int fd, const char *path, lm_err *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return lm_errf(err, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return lm_errf(err, "%s is not a regular file", path);
	if (st.st_mode & 077)
		return lm_errf(err,
			       "%s is readable or writable by group or others (mode %04o); "
			       "the site key must be private: run `chmod 600 %s`, and if others "
			       "may have copied it, create a new site",
			       path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

static int read_file(int fd, const char *path, char *buf, size_t cap, lm_err *err)
{
	size_t have = 0;

	for (;;) {
		ssize_t n = read(fd, buf + have, cap - 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lm_errf(err, "cannot read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		have += (size_t)n;
		if (have == cap - 1)
			return lm_errf(err, "%s is too large to be a site key", path);
	}
	buf[have] = '\0';
	return 0;
}

/* The seed is the first line that is not a comment or blank. */
static int parse_seed(char *text, const char *path, uint8_t seed[SEED_LEN], lm_err *err)
{
	char *line, *save = NULL;
	size_t len;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t\r");
		if (*line == '\0' || *line == '#')
			continue;
		line[strcspn(line, " \t\r")] = '\0';
		if (sodium_hex2bin(seed, SEED_LEN, line, strlen(line), NULL, &len, NULL) != 0 ||
		    len != SEED_LEN || strlen(line) != 2 * SEED_LEN)
			break;
		return 0;
	}
	return lm_errf(err, "%s does not hold a site key (expected 64 hex characters)", path);
}

int keyfile_load(const char *path, struct site_key *key, lm_err *err)
{
	char text[FILE_MAX];
	uint8_t seed[SEED_LEN];
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lm_errf(err, "cannot open the site key %s: %s", path, strerror(errno));
	rc = check_mode(fd, path, err);
	if (rc == 0)
		rc = read_file(fd, path, text, sizeof(text), err);
	close(fd);
	if (rc == 0)
		rc = parse_seed(text, path, seed, err);
	if (rc == 0)
		crypto_sign_seed_keypair(key->public_key, key->secret_key, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(text, sizeof(text));
	return rc;
}

void site_key_wipe(struct site_key *key)
{
	sodium_memzero(key, sizeof(*key));
}
