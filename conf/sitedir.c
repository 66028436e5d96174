/* SPDX-License-Identifier: MIT */
/* Finding and creating the site directory; see sitedir.h. */
#include "conf/sitedir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int set_path(char *out, size_t cap, const char *dir, const char *name, lm_err *err)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	/* The control socket must fit sun_path with its NUL. */
	if (n < 0 || (size_t)n >= cap || (size_t)n >= SITEDIR_PATH_MAX)
		return lm_errf(err,
			       "site directory '%s' is too long (a unix socket path inside it "
			       "must stay under %d bytes); choose a shorter -d DIR",
			       dir, SITEDIR_PATH_MAX);
	return 0;
}

static int pick_dir(char *out, size_t cap, const char *option, lm_err *err)
{
	const char *env = getenv("LMSYNC_DIR"), *home;
	int n;

	if (option != NULL && option[0] != '\0')
		n = snprintf(out, cap, "%s", option);
	else if (env != NULL && env[0] != '\0')
		n = snprintf(out, cap, "%s", env);
	else if ((home = getenv("HOME")) != NULL && home[0] != '\0')
		n = snprintf(out, cap, "%s/.local/share/lmsync", home);
	else
		return lm_errf(err, "no site directory: give -d DIR or set LMSYNC_DIR "
				    "(HOME is not set either)");
	if (n < 0 || (size_t)n >= cap)
		return lm_errf(err, "site directory path is too long; choose a shorter -d DIR");
	/* "dir/" and "dir" are the same site: drop trailing slashes. */
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

int sitedir_resolve(struct sitedir *sd, const char *option, lm_err *err)
{
	memset(sd, 0, sizeof(*sd));
	if (pick_dir(sd->dir, sizeof(sd->dir), option, err) != 0)
		return -1;
	if (set_path(sd->key, sizeof(sd->key), sd->dir, "site.key", err) != 0 ||
	    set_path(sd->conf, sizeof(sd->conf), sd->dir, "lmsync.conf", err) != 0 ||
	    set_path(sd->store, sizeof(sd->store), sd->dir, "store.db", err) != 0 ||
	    set_path(sd->control, sizeof(sd->control), sd->dir, "control.sock", err) != 0 ||
	    set_path(sd->lock, sizeof(sd->lock), sd->dir, "lmsyncd.lock", err) != 0)
		return -1;
	return 0;
}

int sitedir_has_site(const struct sitedir *sd)
{
	return access(sd->key, F_OK) == 0 || access(sd->conf, F_OK) == 0 ||
	       access(sd->store, F_OK) == 0;
}

static int mkdir_one(const char *path, lm_err *err)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return lm_errf(err, "cannot create directory %s: %s", path, strerror(errno));
}

int sitedir_create(const struct sitedir *sd, lm_err *err)
{
	char path[SITEDIR_PATH_MAX];
	char *p;

	snprintf(path, sizeof(path), "%s", sd->dir);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_one(path, err) != 0)
			return -1;
		*p = '/';
	}
	return mkdir_one(path, err);
}
