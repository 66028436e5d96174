/* SPDX-License-Identifier: MIT */
/* The course catalogue (domain/course.h) on real store files with the
 * domain tables, sites made from fixed seeds (tests/support/replica.h):
 *
 *  - every field is checked, each invalid value refused with its field
 *    named, all of them at once; the identity-number guard in free text
 *    refuses a valid fødselsnummer and lets a near miss through;
 *  - add fills in the defaults, edit changes only what it is given, archive
 *    hides a course from list and search; a course moved to another
 *    network takes its runs (a delete in the old, an insert in the new);
 *  - another site's course (received by merge) cannot be edited there: the
 *    message names the owner; a site that is no member cannot publish;
 *  - ids by prefix (too short, unknown, ambiguous);
 *  - search: "kols" finds "KOLS-skole", æ ø å in any case, prefixes, every
 *    word required, title matches first; each filter;
 *  - runs: dates in order, benefit counts within the forms;
 *  - import: one bad line and nothing is written; every error named by line
 *    (or JSON index) and field; export, delete, import, export gives the
 *    same bytes; an unchanged import writes nothing; another site's rows
 *    are refused, and with the owner column emptied become this site's,
 *    exported the same but for the owner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/course.h"
#include "domain/network.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "tests/support/replica.h"
#include "tests/support/tmpdir.h"

#define EPOCH_MS UINT64_C(1795440000000)
#define SKEW_MS	 UINT64_C(300000)

struct fx {
	char dir[64];
	struct replica a, b;
	char net[NETWORK_ID_MAX + 1]; /* A's network "midt", B a member */
	char errs[16384];	      /* what the error callbacks were told */
	int nerrs;
};

static void collect(void *ctx, int col, const char *msg)
{
	struct fx *f = ctx;
	size_t n = strlen(f->errs);

	(void)col;
	snprintf(f->errs + n, sizeof(f->errs) - n, "%s\n", msg);
	f->nerrs++;
}

static void collect_import(void *ctx, const char *msg)
{
	collect(ctx, -1, msg);
}

static void reset_errs(struct fx *f)
{
	f->errs[0] = '\0';
	f->nerrs = 0;
}

static void has_err(struct fx *f, const char *want)
{
	if (strstr(f->errs, want) == NULL)
		fail_msg("expected an error with '%s'; got:\n%s", want, f->errs);
}

static void make_site(struct fx *f, struct replica *r, const char *name, uint8_t seedbyte)
{
	uint8_t seed[32];
	char path[160];
	struct org o;
	lm_err err;

	memset(seed, seedbyte, sizeof(seed));
	snprintf(path, sizeof(path), "%s/%s.db", f->dir, name);
	if (replica_create(r, path, seed, &err) != 0 || domain_install(&r->st, &err) != 0)
		fail_msg("creating %s: %s", name, err.msg);
	memset(&o, 0, sizeof(o));
	snprintf(o.name, sizeof(o.name), "%s", name);
	snprintf(o.kind, sizeof(o.kind), "kommune");
	if (org_set_self(&r->st, &o, &err) != 0)
		fail_msg("org of %s: %s", name, err.msg);
}

/* Seal at from and merge everything into to. */
static void pull(struct replica *to, struct replica *from)
{
	lm_err err;
	int count;

	if (replica_seal(from, EPOCH_MS, &count, &err) != 0 ||
	    replica_pull(to, from, EPOCH_MS, SKEW_MS, NULL, &err) != 0)
		fail_msg("pull: %s", err.msg);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct network n;
	lm_err err;

	if (f == NULL || tmpdir_make("course", f->dir, sizeof(f->dir), NULL, NULL, 0) != 0) {
		free(f);
		return -1;
	}
	make_site(f, &f->a, "Trondheim kommune", 'A');
	make_site(f, &f->b, "Molde kommune", 'B');
	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "Helse Midt");
	snprintf(n.kind, sizeof(n.kind), "region");
	if (network_create(&f->a.st, "midt", &n, f->net, sizeof(f->net), &err) != 0 ||
	    network_member_set(&f->a.st, f->net, f->b.hex, "medlem", &err) != 0)
		fail_msg("network: %s", err.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
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
static int add(struct fx *f, struct replica *r, char *id, const char *title, ...)
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
	reset_errs(f);
	n = course_add(&r->st, &in, id, collect, f);
	return n;
}

static void get(struct replica *r, const char *id, struct course *c)
{
	lm_err err;

	memset(c, 0, sizeof(*c));
	if (course_find(&r->st, id, c, &err) != 1)
		fail_msg("finding %s: %s", id, err.msg);
}

/* The ids course_list gives for the filter, in order, joined by spaces. */
struct ids {
	char s[1024];
};

static int add_id(const struct course *c, void *ctx)
{
	struct ids *l = ctx;
	size_t n = strlen(l->s);

	snprintf(l->s + n, sizeof(l->s) - n, "%s%s", n ? " " : "", c->v[CC_TITLE]);
	return 0;
}

static char *titles(struct replica *r, struct course_filter *f, const char *network,
		    const char *owner)
{
	static struct ids l;
	lm_err err;

	l.s[0] = '\0';
	if (course_filter_set(&r->st, f, network, owner, &err) != 0 ||
	    course_list(&r->st, f, add_id, &l, &err) != 0)
		fail_msg("list: %s", err.msg);
	return l.s;
}

static char *search(struct replica *r, const char *q)
{
	struct course_filter f;

	memset(&f, 0, sizeof(f));
	f.query = q;
	return titles(r, &f, NULL, NULL);
}

/* ---- tests ---- */

/* A valid fødselsnummer for 01.01.90: the individual number found by
 * trying, its check digits valid by construction. */
static void valid_fnr(char out[12])
{
	int i;

	for (i = 0; i < 100000; i++) {
		snprintf(out, 12, "010190%05d", i);
		if (dom_fnr_valid(out))
			return;
	}
	fail_msg("no valid fødselsnummer found");
}

static void test_every_field_checked(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1], fnr[12], long_title[300];

	memset(long_title, 'x', sizeof(long_title) - 1);
	long_title[sizeof(long_title) - 1] = '\0';
	assert_int_equal(add(f, &f->a, id, "", CC_KIND, "kursus", CC_TARGET, "alle", CC_AGE_GROUP,
			     "gamle", CC_STANDARD_METODE, "kanskje", CC_USER_REPS, "-1",
			     CC_SESSIONS, "1001", CC_SESSION_MINUTES, "2000", CC_CAPACITY, "abc",
			     CC_DELIVERY, "post", CC_PRICE, "12.5", CC_REGISTRATION,
			     "ring 12345678", CC_STATUS, "ferdig", CC_STARTS, "2026-13-01", CC_ENDS,
			     "2026-02-30", CC_VENUE, "Rom\n2", CC_LANGUAGE, "", -1),
			 17);
	has_err(f, "--title: must not be empty");
	has_err(f, "--kind: 'kursus' is not a kind; use kurs, temamøte, selvhjelpsgruppe");
	has_err(f, "--target: 'alle' is not a target group; use pasienter");
	has_err(f, "--age-group: 'gamle' is not a age group");
	has_err(f, "--standard-metode: 'kanskje' is neither ja nor nei");
	has_err(f, "--user-reps: -1 is out of range (0 to 1000)");
	has_err(f, "--sessions: 1001 is out of range");
	has_err(f, "--session-minutes: 2000 is out of range (0 to 1440)");
	has_err(f, "--capacity: 'abc' is not a whole number");
	has_err(f, "--delivery: 'post' is not a delivery; use fysisk, video or digitalt");
	has_err(f, "--price: '12.5' is not a whole number");
	has_err(f, "--registration: a web address or e-mail address has no spaces");
	has_err(f, "--status: 'ferdig' is not a status");
	has_err(f, "--starts: '2026-13-01': there is no month 13");
	has_err(f, "--ends: '2026-02-30': 2026-02 has no day 30");
	has_err(f, "--venue: holds a control character");
	has_err(f, "--language: must not be empty");

	assert_int_equal(add(f, &f->a, id, long_title, CC_REGISTRATION, "Ola Nordmann",
			     CC_CO_ORGANISERS, "", CC_DIAGNOSIS, "\x01", CC_STARTS, "2026-09-10",
			     CC_ENDS, "2026-09-01", CC_NETWORK, "nosuch", -1),
			 5);
	has_err(f, "--title: 299 bytes is too long; at most 200");
	has_err(f, "--registration: a web address or e-mail address has no spaces");
	has_err(f, "--diagnosis: holds a control character");
	has_err(f, "--network: no network 'nosuch' here");
	has_err(f, "--ends: 2026-09-01 is before the start, 2026-09-10");
	/* Alone. */
	assert_int_equal(add(f, &f->a, id, "T", CC_STARTS, "2026-09-10", CC_ENDS, "2026-09-01",
			     CC_REGISTRATION, "lms@trondheim.kommune.no", -1),
			 1);
	has_err(f, "--ends: 2026-09-01 is before the start, 2026-09-10");
	assert_int_equal(add(f, &f->a, id, "T", CC_REGISTRATION, "tlf98765432@x.no", -1), 1);
	has_err(f, "--registration: looks like it holds a phone number");

	/* The identity-number guard, in the title and the description. */
	valid_fnr(fnr);
	assert_int_equal(add(f, &f->a, id, fnr, -1), 1);
	has_err(f, "--title: holds what looks like a national identity number");
	{
		char desc[64], near[12];

		snprintf(desc, sizeof(desc), "Kontakt %.6s %s i dag", fnr, fnr + 6);
		assert_int_equal(add(f, &f->a, id, "T", CC_DESCRIPTION, desc, -1), 1);
		has_err(f, "--description: holds what looks like a national identity number");
		/* One digit off: the check digits no longer fit, so it passes. */
		snprintf(near, sizeof(near), "%s", fnr);
		near[10] = (char)('0' + (near[10] - '0' + 1) % 10);
		assert_false(dom_fnr_valid(near));
		snprintf(desc, sizeof(desc), "Rom %s", near);
		assert_int_equal(add(f, &f->a, id, near, CC_DESCRIPTION, desc, -1), 0);
	}
	/* Nothing invalid reached the store: only the near miss is there. */
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_course"), 1);
}

static void test_add_edit_archive(void **state)
{
	struct fx *f = *state;
	struct course_input in = {{NULL}};
	char id[COURSE_ID_LEN + 1];
	struct course c;
	struct course_filter flt;
	lm_err err;

	assert_int_equal(add(f, &f->a, id, "KOLS-skole", CC_DIAGNOSIS, "kols", CC_SESSIONS, "6",
			     CC_STANDARD_METODE, "ja", -1),
			 0);
	assert_int_equal(strlen(id), COURSE_ID_LEN);
	get(&f->a, id, &c);
	assert_string_equal(c.v[CC_OWNER], f->a.hex);
	assert_string_equal(c.v[CC_NETWORK], f->net);
	assert_string_equal(c.v[CC_STATUS], "planlagt");
	assert_string_equal(c.v[CC_LANGUAGE], "norsk");
	assert_string_equal(c.v[CC_DELIVERY], "fysisk");
	assert_string_equal(c.v[CC_AGE_GROUP], "alle");
	assert_string_equal(c.v[CC_STANDARD_METODE], "1");
	assert_null(c.v[CC_STARTS]);
	course_free(&c);

	/* Only the given fields change; ASCII spellings of the enum values. */
	in.v[CC_STATUS] = "pamelding";
	in.v[CC_DIAGNOSIS] = ""; /* --diagnosis-independent */
	reset_errs(f);
	assert_int_equal(course_edit(&f->a.st, id, &in, collect, f), 0);
	get(&f->a, id, &c);
	assert_string_equal(c.v[CC_STATUS], "påmelding");
	assert_null(c.v[CC_DIAGNOSIS]);
	assert_string_equal(c.v[CC_TITLE], "KOLS-skole");
	assert_string_equal(c.v[CC_SESSIONS], "6");
	course_free(&c);
	memset(&in, 0, sizeof(in));
	in.v[CC_NETWORK] = "nosuch";
	assert_int_equal(course_edit(&f->a.st, id, &in, collect, f), 1);
	has_err(f, "--network: no network 'nosuch'");

	memset(&flt, 0, sizeof(flt));
	assert_string_equal(titles(&f->a, &flt, NULL, NULL), "KOLS-skole");
	assert_int_equal(course_archive(&f->a.st, id, &err), 1);
	assert_int_equal(course_archive(&f->a.st, id, &err), 0);
	assert_string_equal(titles(&f->a, &flt, NULL, NULL), "");
	assert_string_equal(search(&f->a, "kols"), "");
	flt.archived = 1;
	assert_string_equal(titles(&f->a, &flt, NULL, NULL), "KOLS-skole");
}

static void test_owner_and_membership(void **state)
{
	struct fx *f = *state;
	struct course_input in = {{NULL}};
	struct run_input rin = {{NULL}};
	char id[COURSE_ID_LEN + 1], mine[COURSE_ID_LEN + 1], run[COURSE_ID_LEN + 1];
	struct course c;
	lm_err err;

	assert_int_equal(add(f, &f->a, id, "KOLS-skole", -1), 0);
	pull(&f->b, &f->a);
	get(&f->b, id, &c); /* B received it */
	course_free(&c);

	in.v[CC_TITLE] = "Overtatt";
	reset_errs(f);
	assert_int_equal(course_edit(&f->b.st, id, &in, collect, f), 1);
	has_err(f, "this course belongs to Trondheim kommune; only its owner can change it");
	assert_int_equal(course_archive(&f->b.st, id, &err), -1);
	assert_string_equal(
	    err.msg, "this course belongs to Trondheim kommune; only its owner can change it");
	rin.v[RC_STARTS] = "2026-09-01";
	reset_errs(f);
	assert_int_equal(course_run_add(&f->b.st, id, &rin, run, collect, f), 1);
	has_err(f, "belongs to Trondheim kommune");
	/* The triggers refuse it too, whatever the writer. */
	assert_int_not_equal(
	    sqlite3_exec(f->b.st.db, "UPDATE lm_course SET title = 'x'", NULL, NULL, NULL),
	    SQLITE_OK);

	/* B, a member, publishes its own course to the network. */
	assert_int_equal(add(f, &f->b, mine, "Mestring for pårørende", -1), 0);
	/* Removed from the network, it can no longer. */
	assert_int_equal(network_member_remove(&f->a.st, f->net, f->b.hex, &err), 1);
	pull(&f->b, &f->a);
	assert_int_not_equal(add(f, &f->b, mine, "Nytt kurs", -1), 0);
	has_err(f, "network: this site is not a member of the network Helse Midt");
}

/* Moved to another network, a course takes its runs along. */
static void test_move_network(void **state)
{
	struct fx *f = *state;
	struct course_input in = {{NULL}};
	struct run_input rin = {{NULL}};
	char id[COURSE_ID_LEN + 1], run[COURSE_ID_LEN + 1], nord[NETWORK_ID_MAX + 1];
	struct network n;
	struct course c;
	lm_err err;

	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "Helse Nord");
	snprintf(n.kind, sizeof(n.kind), "region");
	assert_int_equal(network_create(&f->a.st, "nord", &n, nord, sizeof(nord), &err), 0);
	assert_int_equal(add(f, &f->a, id, "KOLS-skole", -1), 0);
	rin.v[RC_STARTS] = "2026-09-01";
	assert_int_equal(course_run_add(&f->a.st, id, &rin, run, collect, f), 0);
	pull(&f->b, &f->a);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course_run"), 1);

	in.v[CC_NETWORK] = "Helse Nord";
	in.v[CC_TITLE] = "KOLS-skole nord";
	reset_errs(f);
	assert_int_equal(course_edit(&f->a.st, id, &in, collect, f), 0);
	get(&f->a, id, &c);
	assert_string_equal(c.v[CC_NETWORK], nord);
	assert_string_equal(c.v[CC_TITLE], "KOLS-skole nord");
	course_free(&c);
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_course_run WHERE scope LIKE "
					    "'nord@%' AND course = (SELECT id FROM lm_course)"),
			 1);
	assert_string_equal(search(&f->a, "nord"), "KOLS-skole nord");
	/* The move merges as a delete in midt and an insert in nord (this
	 * helper hands B every scope; sync sends B only midt's delete, as
	 * e2e_course shows). */
	pull(&f->b, &f->a);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course WHERE scope LIKE "
					    "'nord@%'"),
			 1);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course_run WHERE scope LIKE "
					    "'nord@%'"),
			 1);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course_fts"), 1);
	assert_int_equal(replica_check_rows(&f->b, &err), 0);

	/* B may not move its course into a network it is no member of. */
	assert_int_equal(add(f, &f->b, id, "Mestring", -1), 0);
	memset(&in, 0, sizeof(in));
	in.v[CC_NETWORK] = nord;
	reset_errs(f);
	assert_int_not_equal(course_edit(&f->b.st, id, &in, collect, f), 0);
	has_err(f, "--network: this site is not a member of the network Helse Nord");
}

static void test_find_by_prefix(void **state)
{
	struct fx *f = *state;
	struct course c = {{NULL}};
	char id[COURSE_ID_LEN + 1];
	lm_err err;

	assert_int_equal(add(f, &f->a, id, "K", -1), 0);
	/* Two ids sharing a prefix, written directly (the ids are random). */
	assert_int_equal(
	    replica_exec(&f->a,
			 "INSERT INTO lm_course(owner, id, scope, title, kind, target) "
			 "SELECT owner, 'abcd000000000001', scope, 'X', kind, target "
			 "FROM lm_course; INSERT INTO lm_course(owner, id, scope, title, "
			 "kind, target) SELECT owner, 'abcd000000000002', scope, 'Y', "
			 "kind, target FROM lm_course WHERE id = 'abcd000000000001'",
			 &err),
	    0);
	{
		char prefix[5];

		/* Its first four digits name it (unless they are abcd, the others'). */
		snprintf(prefix, sizeof(prefix), "%.4s", id);
		get(&f->a, strcmp(prefix, "abcd") ? prefix : id, &c);
		assert_string_equal(c.v[CC_ID], id);
		course_free(&c);
	}
	assert_int_equal(course_find(&f->a.st, "abcd", &c, &err), -1);
	assert_non_null(strstr(err.msg, "'abcd' names 2 courses here"));
	assert_int_equal(course_find(&f->a.st, "abcd0000000000021", &c, &err), -1);
	assert_non_null(strstr(err.msg, "is not a course id"));
	assert_int_equal(course_find(&f->a.st, "abc", &c, &err), -1);
	assert_non_null(strstr(err.msg, "the first 4 or more"));
	assert_int_equal(course_find(&f->a.st, "ABCD", &c, &err), -1);
	assert_non_null(strstr(err.msg, "'abcd' names 2 courses here"));
	get(&f->a, "ABCD000000000001", &c);
	assert_string_equal(c.v[CC_TITLE], "X");
	course_free(&c);
	assert_int_equal(course_find(&f->a.st, "abcg", &c, &err), -1);
	assert_non_null(strstr(err.msg, "'abcg' is not a course id"));
	assert_int_equal(course_find(&f->a.st, "ffffffff", &c, &err), -1);
	assert_non_null(strstr(err.msg, "no course 'ffffffff' here"));
	get(&f->a, "abcd000000000002", &c);
	assert_string_equal(c.v[CC_TITLE], "Y");
	course_free(&c);
}

static void test_search(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1], q[256];

	assert_int_equal(add(f, &f->a, id, "KOLS-skole", CC_DIAGNOSIS, "kols", CC_MUNICIPALITY,
			     "Trondheim", CC_STARTS, "2026-09-01", CC_ENDS, "2026-10-15", -1),
			 0);
	assert_int_equal(add(f, &f->a, id, "Mestring for pårørende", CC_KIND, "samtalegruppe",
			     CC_TARGET, "pårørende", CC_STARTS, "2026-11-01", CC_DESCRIPTION,
			     "For pårørende til personer med kols", -1),
			 0);
	assert_int_equal(add(f, &f->a, id, "Leve med diabetes", CC_DIAGNOSIS, "diabetes", CC_VENUE,
			     "Ørland helsesenter", CC_MUNICIPALITY, "Ørland", -1),
			 0);

	assert_string_equal(search(&f->a, "kols"), "KOLS-skole Mestring for pårørende");
	assert_string_equal(search(&f->a, "KOLS skole"), "KOLS-skole");
	assert_string_equal(search(&f->a, "pårørende"), "Mestring for pårørende");
	assert_string_equal(search(&f->a, "PÅRØRENDE"), "Mestring for pårørende");
	assert_string_equal(search(&f->a, "pårør"), "Mestring for pårørende");
	assert_string_equal(search(&f->a, "ørland"), "Leve med diabetes");
	assert_string_equal(search(&f->a, "mest"), "Mestring for pårørende");
	assert_string_equal(search(&f->a, "diab helse"), "Leve med diabetes");
	/* å is a letter of its own, not a. */
	assert_string_equal(search(&f->a, "parorende"), "");
	assert_string_equal(search(&f->a, "kols diabetes"), "");
	/* Quotes and FTS5 syntax in what is typed are just separators. */
	assert_string_equal(search(&f->a, "\"kols\" OR* (diabetes"), "");
	course_fts_query("kols-skole \"x\" NEAR(y)", q, sizeof(q));
	assert_string_equal(q, "\"kols\"* \"skole\"* \"x\"* \"NEAR\"* \"y\"*");

	/* Filters. */
	{
		struct course_filter flt;
		lm_err err;

		memset(&flt, 0, sizeof(flt));
		flt.kind = "samtalegruppe";
		assert_string_equal(titles(&f->a, &flt, NULL, NULL), "Mestring for pårørende");
		memset(&flt, 0, sizeof(flt));
		flt.target = "parorende";
		assert_string_equal(titles(&f->a, &flt, NULL, NULL), "Mestring for pårørende");
		memset(&flt, 0, sizeof(flt));
		flt.diagnosis = "independent";
		assert_string_equal(titles(&f->a, &flt, NULL, NULL), "Mestring for pårørende");
		flt.diagnosis = "Diabetes";
		assert_string_equal(titles(&f->a, &flt, NULL, NULL), "Leve med diabetes");
		memset(&flt, 0, sizeof(flt));
		flt.municipality = "trondheim";
		assert_string_equal(titles(&f->a, &flt, NULL, NULL), "KOLS-skole");
		memset(&flt, 0, sizeof(flt));
		flt.from = "2026-10-01";
		flt.to = "2026-10-31";
		assert_string_equal(titles(&f->a, &flt, NULL, NULL), "KOLS-skole");
		flt.to = "2026-11-01";
		assert_string_equal(titles(&f->a, &flt, NULL, NULL),
				    "KOLS-skole Mestring for pårørende");
		flt.from = "2026-10-16";
		assert_string_equal(titles(&f->a, &flt, NULL, NULL), "Mestring for pårørende");
		memset(&flt, 0, sizeof(flt));
		flt.status = "planlagt";
		flt.query = "kols";
		assert_string_equal(titles(&f->a, &flt, "Helse Midt", "Trondheim kommune"),
				    "KOLS-skole Mestring for pårørende");
		memset(&flt, 0, sizeof(flt));
		assert_string_equal(titles(&f->a, &flt, NULL, f->b.hex), "");
		/* Filter values are checked like the fields. */
		memset(&flt, 0, sizeof(flt));
		flt.kind = "kursus";
		assert_int_equal(course_filter_set(&f->a.st, &flt, NULL, NULL, &err), -1);
		assert_non_null(strstr(err.msg, "--kind: 'kursus' is not a kind"));
		memset(&flt, 0, sizeof(flt));
		flt.from = "2026-10-02";
		flt.to = "2026-10-01";
		assert_int_equal(course_filter_set(&f->a.st, &flt, NULL, NULL, &err), -1);
		assert_non_null(strstr(err.msg, "--to: 2026-10-01 is before --from"));
		memset(&flt, 0, sizeof(flt));
		assert_int_equal(course_filter_set(&f->a.st, &flt, "nosuch", NULL, &err), -1);
		assert_non_null(strstr(err.msg, "--network: no network 'nosuch'"));
	}
}

/* Best match first: a word in the title weighs more than in the
 * description, whatever the order the courses came in. */
static void test_search_rank(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1];

	assert_int_equal(add(f, &f->a, id, "Fysisk aktivitet", CC_DESCRIPTION,
			     "Trening for deg med kols eller astma", -1),
			 0);
	assert_int_equal(add(f, &f->a, id, "KOLS-skole", -1), 0);
	assert_string_equal(search(&f->a, "kols"), "KOLS-skole Fysisk aktivitet");
	assert_string_equal(search(&f->a, "astma"), "Fysisk aktivitet");
}

static void test_runs(void **state)
{
	struct fx *f = *state;
	struct run_input in = {{NULL}};
	char id[COURSE_ID_LEN + 1], run[COURSE_ID_LEN + 1];
	struct course_run r = {{NULL}};
	lm_err err;

	assert_int_equal(add(f, &f->a, id, "KOLS-skole", -1), 0);
	in.v[RC_STARTS] = "2026-09-10";
	in.v[RC_ENDS] = "2026-09-01";
	reset_errs(f);
	assert_int_equal(course_run_add(&f->a.st, id, &in, run, collect, f), 1);
	has_err(f, "--ends: 2026-09-01 is before the start, 2026-09-10");
	in.v[RC_ENDS] = "2026-10-15";
	assert_int_equal(course_run_add(&f->a.st, id, &in, run, collect, f), 0);

	memset(&in, 0, sizeof(in));
	in.v[RC_HELD] = "ja";
	in.v[RC_PATIENTS] = "12";
	in.v[RC_RELATIVES] = "3";
	in.v[RC_PROFESSIONAL_HOURS] = "2,5";
	in.v[RC_FORMS] = "10";
	in.v[RC_BENEFIT_GOOD] = "6";
	in.v[RC_BENEFIT_VERY_GOOD] = "4";
	reset_errs(f);
	assert_int_equal(course_run_update(&f->a.st, run, &in, collect, f), 0);
	memset(&in, 0, sizeof(in));
	in.v[RC_BENEFIT_NONE] = "1";
	assert_int_equal(course_run_update(&f->a.st, run, &in, collect, f), 1);
	has_err(f, "the benefit counts add up to 11, more than the 10 evaluation forms");
	memset(&in, 0, sizeof(in));
	in.v[RC_PATIENTS] = "-1";
	in.v[RC_USER_REP_HOURS] = "2.555";
	in.v[RC_HELD] = "kanskje";
	in.v[RC_STARTS] = "2026-02-29";
	reset_errs(f);
	assert_int_equal(course_run_update(&f->a.st, run, &in, collect, f), 4);
	has_err(f, "--patients: -1 is out of range");
	has_err(f, "--user-rep-hours: '2.555' is not a number of hours with at most two decimals");
	has_err(f, "--held: 'kanskje' is neither ja nor nei");
	has_err(f, "--starts: '2026-02-29': 2026-02 has no day 29");

	assert_int_equal(course_run_find(&f->a.st, run, &r, &err), 1);
	assert_string_equal(r.v[RC_COURSE], id);
	assert_string_equal(r.v[RC_NETWORK], f->net);
	assert_string_equal(r.v[RC_HELD], "1");
	assert_string_equal(r.v[RC_PATIENTS], "12");
	assert_string_equal(r.v[RC_PROFESSIONAL_HOURS], "2.5");
	assert_string_equal(r.v[RC_BENEFIT_NONE], "0");
	course_run_free(&r);
}

/* Export CSV (or JSON through the CLI, e2e) into a heap string. */
static char *export_csv(struct replica *r)
{
	struct course_filter flt;
	char *buf = NULL;
	size_t len;
	FILE *out = open_memstream(&buf, &len);
	lm_err err;

	assert_non_null(out);
	memset(&flt, 0, sizeof(flt));
	if (course_export_csv(&r->st, &flt, out, &err) != 0)
		fail_msg("export: %s", err.msg);
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* s with every from replaced by to (a new string). */
static char *replace_all(const char *s, const char *from, const char *to)
{
	size_t n = 0, lf = strlen(from), lt = strlen(to);
	char *out = malloc(strlen(s) * (lt > lf ? lt : 1) + 1);
	const char *hit;

	assert_non_null(out);
	while ((hit = strstr(s, from)) != NULL) {
		memcpy(out + n, s, (size_t)(hit - s));
		n += (size_t)(hit - s);
		memcpy(out + n, to, lt);
		n += lt;
		s = hit + lf;
	}
	strcpy(out + n, s);
	return out;
}

static int import(struct fx *f, struct replica *r, const char *name, const char *data,
		  enum course_format fmt, int *added, int *changed, int *same)
{
	reset_errs(f);
	return course_import(&r->st, name, data, strlen(data), fmt, collect_import, f, added,
			     changed, same);
}

static void test_import_all_or_nothing(void **state)
{
	struct fx *f = *state;
	char csv[2048];
	int added, changed, same;

	snprintf(csv, sizeof(csv),
		 "title,kind,target,network,description\r\n"
		 "KOLS-skole,kurs,pasienter,midt,\"Lær, og \"\"lev\"\"\nmed KOLS\"\r\n"
		 "Temakveld,temamøte,begge,midt,\r\n"
		 "Leir,kursus,pasienter,midt,\r\n"
		 "Gruppe,samtalegruppe,alle,%s,\r\n"
		 ",kurs,begge,nosuch,\r\n",
		 f->net);
	assert_int_equal(import(f, &f->a, "courses.csv", csv, COURSE_CSV, &added, &changed, &same),
			 4);
	has_err(f, "courses.csv:5: kind: 'kursus' is not a kind; use kurs, temamøte");
	has_err(f, "courses.csv:6: target: 'alle' is not a target group");
	has_err(f, "courses.csv:7: title: must not be empty");
	has_err(f, "courses.csv:7: network: no network 'nosuch' here");
	assert_int_equal(f->nerrs, 4);
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_course"), 0);
	assert_int_equal(added, 0);

	/* The file's own faults: unknown columns, wrong field counts, bad CSV. */
	assert_int_equal(
	    import(f, &f->a, "c.csv", "title,kinds\nA,kurs\n", COURSE_CSV, &added, &changed, &same),
	    1);
	has_err(f, "c.csv:1: column 'kinds' is not a course field");
	assert_int_equal(import(f, &f->a, "c.csv",
				"title,kind,target,network\nA,kurs\nB,kurs,begge,midt,x\n\"C\n",
				COURSE_CSV, &added, &changed, &same),
			 3);
	has_err(f, "c.csv:2: 2 fields, but the header has 4");
	has_err(f, "c.csv:3: 5 fields, but the header has 4");
	has_err(f, "c.csv:4: field 1: the quoted field opened here is never closed");
	assert_int_equal(import(f, &f->a, "c.json",
				"[{\"title\": \"A\", \"kind\": \"kurs\", \"target\": \"begge\", "
				"\"network\": \"midt\"}, {\"title\": \"B\", \"kind\": \"x\", "
				"\"network\": \"midt\", \"target\": \"begge\", \"colour\": 1}]",
				COURSE_JSON, &added, &changed, &same),
			 2);
	has_err(f, "c.json[1]: kind: 'x' is not a kind");
	has_err(f, "c.json[1]: 'colour' is not a course field");
	assert_int_equal(
	    import(f, &f->a, "c.json", "[{\"title\": \"A\"", COURSE_JSON, &added, &changed, &same),
	    1);
	has_err(f, "c.json: line 1: expected , or } in the object");
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_course"), 0);

	/* Many bad lines: every one named, up to the cap. */
	{
		char *big = malloc(70 * 40 + 64);
		size_t n;
		int i;

		assert_non_null(big);
		n = (size_t)sprintf(big, "title,kind,target,network\n");
		for (i = 0; i < 70; i++)
			n += (size_t)sprintf(big + n, "T%d,kursus,begge,midt\n", i);
		assert_int_equal(
		    import(f, &f->a, "big.csv", big, COURSE_CSV, &added, &changed, &same), 70);
		assert_int_equal(f->nerrs, COURSE_IMPORT_ERRORS + 1);
		has_err(f, "big.csv:51: kind");
		has_err(f, "... and more errors");
		free(big);
	}

	/* Fixed, the same file goes in whole. */
	snprintf(csv, sizeof(csv),
		 "title,kind,target,network,description\r\n"
		 "KOLS-skole,kurs,pasienter,midt,\"Lær, og \"\"lev\"\"\nmed KOLS\"\r\n"
		 "Temakveld,temamøte,begge,midt,\r\n");
	assert_int_equal(import(f, &f->a, "courses.csv", csv, COURSE_CSV, &added, &changed, &same),
			 0);
	assert_int_equal(added, 2);
	assert_string_equal(search(&f->a, "lev"), "KOLS-skole");
}

static void test_export_import_round_trip(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1], *one, *two;
	int added, changed, same;
	lm_err err;

	assert_int_equal(add(f, &f->a, id, "KOLS-skole, \"grunnkurs\"", CC_DESCRIPTION,
			     "Linje 1\nLinje 2, med komma", CC_DIAGNOSIS, "kols", CC_STARTS,
			     "2026-09-01", CC_STANDARD_METODE, "ja", CC_PRICE, "250",
			     CC_REGISTRATION, "https://kommune.no/lms", -1),
			 0);
	assert_int_equal(add(f, &f->a, id, "Mestring for pårørende", CC_TARGET, "pårørende", -1),
			 0);
	assert_int_equal(course_archive(&f->a.st, id, &err), 1);
	one = export_csv(&f->a);
	assert_non_null(strstr(one, "owner,id,network,title,description,kind,target,"));
	assert_non_null(strstr(one, "\"KOLS-skole, \"\"grunnkurs\"\"\",\"Linje 1\nLinje 2, med "
				    "komma\",kurs"));

	/* Unchanged: nothing written. */
	assert_int_equal(import(f, &f->a, "x.csv", one, COURSE_CSV, &added, &changed, &same), 0);
	assert_int_equal(same, 2);
	assert_int_equal(added + changed, 0);

	assert_int_equal(replica_exec(&f->a, "DELETE FROM lm_course", &err), 0);
	assert_int_equal(import(f, &f->a, "x.csv", one, COURSE_CSV, &added, &changed, &same), 0);
	assert_int_equal(added, 2);
	two = export_csv(&f->a);
	assert_string_equal(one, two);
	free(two);

	/* JSON goes through the command's writer: tests/e2e/test_course.sh. */
	free(one);
}

static void test_import_other_owner(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1], *one;
	int added, changed, same;

	assert_int_equal(add(f, &f->a, id, "KOLS-skole", -1), 0);
	one = export_csv(&f->a);
	pull(&f->b, &f->a);
	/* At B, A's rows are A's: refused, with A named. */
	assert_int_equal(import(f, &f->b, "a.csv", one, COURSE_CSV, &added, &changed, &same), 1);
	has_err(f, "a.csv:2: owner: this course belongs to Trondheim kommune, not to this site");
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course WHERE owner = (SELECT "
					    "value FROM meta WHERE key = 'site_id')"),
			 0);

	/* With the owner column emptied, they become B's own courses, with the
	 * same ids and everything else as it was: B's export is A's, but for
	 * the owner. */
	{
		char from[80], to[80], *blank, *want, *mine = NULL;
		struct course_filter flt;
		size_t len;
		FILE *out;
		lm_err err;

		/* Every record begins with its owner, right after a CRLF. */
		snprintf(from, sizeof(from), "\r\n%s,", f->a.hex);
		blank = replace_all(one, from, "\r\n,");
		snprintf(to, sizeof(to), "\r\n%s,", f->b.hex);
		want = replace_all(one, from, to);
		assert_int_equal(
		    import(f, &f->b, "a.csv", blank, COURSE_CSV, &added, &changed, &same), 0);
		assert_int_equal(added, 1);
		out = open_memstream(&mine, &len);
		assert_non_null(out);
		memset(&flt, 0, sizeof(flt));
		assert_int_equal(course_filter_set(&f->b.st, &flt, NULL, f->b.hex, &err), 0);
		assert_int_equal(course_export_csv(&f->b.st, &flt, out, &err), 0);
		assert_int_equal(fclose(out), 0);
		assert_string_equal(mine, want);
		/* The id names B's own course at B, A's at A. */
		{
			struct course c;

			get(&f->b, id, &c);
			assert_string_equal(c.v[CC_OWNER], f->b.hex);
			course_free(&c);
		}
		free(blank);
		free(want);
		free(mine);
	}
	free(one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_field_checked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_edit_archive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owner_and_membership, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_move_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_find_by_prefix, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_rank, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_import_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_other_owner, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
