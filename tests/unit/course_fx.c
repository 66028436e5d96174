/* SPDX-License-Identifier: MIT */
/* The course tests' fixture; see course_fx.h. */
#include "tests/unit/course_fx.h"

void cfx_collect(void *ctx, int col, const char *msg)
{
	struct fx *f = ctx;
	size_t n = strlen(f->errs);

	(void)col;
	snprintf(f->errs + n, sizeof(f->errs) - n, "%s\n", msg);
	f->nerrs++;
}

void cfx_collect_import(void *ctx, const char *msg)
{
	cfx_collect(ctx, -1, msg);
}

void cfx_reset(struct fx *f)
{
	f->errs[0] = '\0';
	f->nerrs = 0;
}

void cfx_has_err(struct fx *f, const char *want)
{
	if (strstr(f->errs, want) == NULL)
		fail_msg("expected an error with '%s'; got:\n%s", want, f->errs);
}

/* Seal at from and merge everything into to. */
void cfx_pull(struct replica *to, struct replica *from)
{
	lm_err err;
	int count;

	if (replica_seal(from, EPOCH_MS, &count, &err) != 0 ||
	    replica_pull(to, from, EPOCH_MS, SKEW_MS, NULL, &err) != 0)
		fail_msg("pull: %s", err.msg);
}

int cfx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct network n;
	lm_err err;

	if (f == NULL || tmpdir_make("course", f->dir, sizeof(f->dir), NULL, NULL, 0) != 0) {
		free(f);
		return -1;
	}
	domain_site_make(&f->a, f->dir, "Trondheim kommune", 'A', "Trondheim kommune", "kommune");
	domain_site_make(&f->b, f->dir, "Molde kommune", 'B', "Molde kommune", "kommune");
	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "Helse Midt");
	snprintf(n.kind, sizeof(n.kind), "region");
	if (network_create(&f->a.st, "midt", &n, f->net, sizeof(f->net), &err) != 0 ||
	    network_member_set(&f->a.st, f->net, f->b.hex, "medlem", &err) != 0)
		fail_msg("network: %s", err.msg);
	*state = f;
	return 0;
}

int cfx_teardown(void **state)
{
	struct fx *f = *state;

	replica_destroy(&f->a);
	replica_destroy(&f->b);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* Add a course at r with the given fields (NULL-terminated column/value
 * pairs after title); the id into id. */
int cfx_add(struct fx *f, struct replica *r, char *id, const char *title, ...)
{
	struct course_input in = {{NULL}};
	va_list ap;
	int col, n;

	in.v[CC_NETWORK] = "midt";
	in.v[CC_TITLE] = title;
	in.v[CC_KIND] = "kurs";
	in.v[CC_TARGET] = "pasienter";
	va_start(ap, title);
	while ((col = va_arg(ap, int)) >= 0)
		in.v[col] = va_arg(ap, const char *);
	va_end(ap);
	cfx_reset(f);
	n = course_add(&r->st, &in, id, cfx_collect, f);
	return n;
}

void cfx_get(struct replica *r, const char *id, struct course *c)
{
	lm_err err;

	memset(c, 0, sizeof(*c));
	if (course_find(&r->st, id, c, &err) != 1)
		fail_msg("finding %s: %s", id, err.msg);
}

/* The titles course_list gives, joined by spaces. */
struct ids {
	char s[1024];
};

static int add_title(const struct course *c, void *ctx)
{
	struct ids *l = ctx;
	size_t n = strlen(l->s);

	snprintf(l->s + n, sizeof(l->s) - n, "%s%s", n ? " " : "", c->v[CC_TITLE]);
	return 0;
}

char *cfx_titles(struct replica *r, struct course_filter *f, const char *network, const char *owner)
{
	static struct ids l;
	lm_err err;

	l.s[0] = '\0';
	if (course_filter_set(&r->st, f, network, owner, &err) != 0 ||
	    course_list(&r->st, f, add_title, &l, &err) != 0)
		fail_msg("list: %s", err.msg);
	return l.s;
}

char *cfx_search(struct replica *r, const char *q)
{
	struct course_filter f;

	memset(&f, 0, sizeof(f));
	f.query = q;
	return cfx_titles(r, &f, NULL, NULL);
}
