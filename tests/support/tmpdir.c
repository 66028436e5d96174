/* SPDX-License-Identifier: MIT */
/* Temporary directories for tests; see tmpdir.h. */
#include "tests/support/tmpdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tmpdir_make(const char *name, char *dir, size_t dircap, const char *file, char *path,
		size_t pathcap)
{
	int n = snprintf(dir, dircap, "/tmp/lmsync-test-%s-XXXXXX", name);

	if (n < 0 || (size_t)n >= dircap || mkdtemp(dir) == NULL)
		return -1;
	if (file != NULL) {
		n = snprintf(path, pathcap, "%s/%s", dir, file);
		if (n < 0 || (size_t)n >= pathcap)
			return -1;
	}
	return 0;
}

void tmpdir_remove(const char *path)
{
	struct stat st;
	struct dirent *e;
	char child[512];
	DIR *d;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
			tmpdir_remove(child);
		}
		closedir(d);
		rmdir(path);
		return;
	}
	unlink(path);
}

int tmpdir_fx_setup(void **state, const char *name, const char *file)
{
	struct tmpdir_fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (tmpdir_make(name, f->dir, sizeof(f->dir), file, f->path, sizeof(f->path)) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int tmpdir_fx_teardown(void **state)
{
	struct tmpdir_fx *f = *state;

	tmpdir_remove(f->dir);
	free(f);
	return 0;
}
