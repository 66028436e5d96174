/* SPDX-License-Identifier: MIT */
/* cmocka assertions on replicas; see replica_check.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/cslog.h"
#include "tests/support/replica_check.h"

void replica_make(struct replica *r, const char *dir, const char *name, uint8_t seedbyte)
{
	uint8_t seed[32];
	char path[160];
	lm_err err;

	memset(seed, seedbyte, sizeof(seed));
	snprintf(path, sizeof(path), "%s/%s.db", dir, name);
	if (replica_create(r, path, seed, &err) != 0)
		fail_msg("creating %s: %s", name, err.msg);
}

void replica_sqlf(struct replica *r, const char *fmt, ...)
{
	char sql[4096];
	va_list ap;
	lm_err err;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (replica_exec(r, sql, &err) != 0)
		fail_msg("%s: %s", sql, err.msg);
}

int64_t replica_qint(struct replica *r, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return replica_int(r, sql);
}

void replica_newest(struct replica *r, struct envlist *l)
{
	int64_t last;
	uint8_t *env;
	size_t len;
	lm_err err;

	if (cslog_last_id(&r->st, &last, &err) != 0 ||
	    cslog_envelope(&r->st, last, &env, &len, &err) != 1)
		fail_msg("reading the newest change set of %s: %s", r->path, err.msg);
	assert_int_equal(envlist_add(l, env, len), 0);
	free(env);
}

void replica_assert_same(const char *what, struct replica *x, struct replica *y,
			 char *(*dump)(struct replica *))
{
	char *a = dump(x), *b = dump(y);

	assert_non_null(a);
	assert_non_null(b);
	if (strcmp(a, b) != 0) {
		replica_diff(what, x->path, a, y->path, b);
		free(a);
		free(b);
		fail_msg("%s of %s and %s differ", what, x->path, y->path);
	}
	free(a);
	free(b);
}

void replica_expect(const struct merge_outcome *o, enum merge_result want, const char *reason_has)
{
	if (o->result != want)
		fail_msg("seq %llu of %.20s...: expected %s, got %s (%s)",
			 (unsigned long long)o->seq, o->scope, merge_result_name(want),
			 merge_result_name(o->result), o->reason);
	if (reason_has && strstr(o->reason, reason_has) == NULL)
		fail_msg("seq %llu: %s, but the reason does not say '%s': %s",
			 (unsigned long long)o->seq, merge_result_name(o->result), reason_has,
			 o->reason);
}
