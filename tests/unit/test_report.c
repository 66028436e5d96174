/* SPDX-License-Identifier: MIT */
/* Regional reports (domain/report.h) on real stores with several owners:
 *
 *  - three sites (a helseforetak A, two kommuner B and C) in one network
 *    that A made, each writing its own courses and runs, sealed and merged
 *    into one another's stores (tests/support/replica.h), so the owner
 *    triggers are those of production;
 *  - the activity report for every --by, checked against figures this test
 *    sums itself from its fixture arrays, in C; at A and at B, which must
 *    agree;
 *  - the edges: from and to included, the days beside them not, runs not
 *    held, archived courses and courses of another network left out;
 *  - the suppression markers reach the rows (every count of 1 to 4 hidden);
 *  - completeness with a closed and an unclosed member, closing again,
 *    closing a period not begun, closing by a non-member;
 *  - the agreements report's counts per helseforetak-kommune pair.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/org.h"
#include "domain/report.h"
#include "domain/schema.h"
#include "tests/support/domain_site.h"
#include "tests/support/replica.h"
#include "tests/support/replica_check.h"
#include "tests/support/tmpdir.h"

#define EPOCH_MS UINT64_C(1795440000000)
#define SKEW_MS	 UINT64_C(300000)
#define NSITES	 4 /* A, B, C in the network; D outside it */

static const char *const site_names[NSITES] = {"Helse Fonna HF", "Bømlo kommune", "Stord kommune",
					       "Utsira kommune"};
static const char *const site_kinds[NSITES] = {"helseforetak", "kommune", "kommune", "kommune"};

struct fcourse {
	int site;
	const char *id;
	int other_network; /* published to the second network */
	const char *kind, *target, *diagnosis, *municipality;
	int std, user_reps, archived;
};

static const struct fcourse courses[] = {
    {0, "c1", 0, "kurs", "pasienter", "KOLS", "Haugesund", 1, 2, 0},
    {0, "c2", 0, "temamøte", "pårørende", NULL, "Haugesund", 0, 0, 0},
    {1, "c3", 0, "kurs", "begge", "diabetes", "Bømlo", 1, 1, 0},
    {1, "c4", 0, "selvhjelpsgruppe", "pasienter", NULL, "Bømlo", 0, 0, 0},
    {2, "c5", 0, "kurs", "pasienter", "KOLS", "Stord", 0, 3, 0},
    {2, "c6", 0, "kurs", "begge", "KOLS", "Stord", 1, 0, 1},	     /* archived */
    {0, "c7", 1, "kurs", "pasienter", "KOLS", "Haugesund", 1, 1, 0}, /* other network */
    {1, "c1", 0, "fagdag", "helsepersonell", NULL, "", 0, 0, 0},     /* same id, B's own */
};
#define NCOURSES (sizeof(courses) / sizeof(courses[0]))

struct frun {
	int site;
	const char *course, *id, *starts;
	int held, sessions;
	long patients, relatives;
	double prof, urep;
	long forms, b[4];
};

static const struct frun runs[] = {
    {0, "c1", "r1", "2026-01-01", 1, 6, 9, 2, 15.5, 6, 8, {0, 1, 4, 3}}, /* from itself */
    {0, "c1", "r2", "2026-03-10", 1, 6, 3, 0, 15.25, 6, 3, {0, 0, 1, 2}},
    {0, "c1", "r3", "2026-06-30", 1, 5, 12, 1, 12, 5, 10, {1, 2, 3, 4}},   /* to itself */
    {0, "c1", "r4", "2025-12-31", 1, 6, 50, 50, 99, 9, 50, {0, 0, 0, 50}}, /* day before */
    {0, "c1", "r5", "2026-07-01", 1, 6, 50, 50, 99, 9, 50, {0, 0, 0, 50}}, /* day after */
    {0, "c2", "r6", "2026-02-02", 1, 1, 0, 14, 2.5, 0, 11, {0, 1, 5, 5}},
    {0, "c2", "r7", "2026-02-09", 0, 0, 40, 40, 0, 0, 0, {0, 0, 0, 0}}, /* not held */
    {1, "c3", "r1", "2026-04-01", 1, 4, 7, 6, 8, 8, 12, {0, 2, 6, 4}},
    {1, "c4", "r2", "2026-05-05", 1, 10, 6, 0, 0, 20, 0, {0, 0, 0, 0}},
    {1, "c1", "r3", "2026-05-20", 1, 1, 0, 0, 6.75, 0, 0, {0, 0, 0, 0}},
    {2, "c5", "r1", "2026-02-15", 1, 6, 11, 3, 18, 12, 9, {0, 1, 3, 5}},
    {2, "c5", "r2", "2026-06-01", 1, 6, 8, 2, 18, 12, 10, {1, 1, 4, 4}},
    {2, "c6", "r3", "2026-03-03", 1, 6, 30, 30, 9, 9, 30, {0, 0, 0, 30}}, /* archived */
    {0, "c7", "r8", "2026-03-03", 1, 6, 30, 30, 9, 9, 30, {0, 0, 0, 30}}, /* other network */
};
#define NRUNS (sizeof(runs) / sizeof(runs[0]))

#define FROM "2026-01-01"
#define TO   "2026-06-30"

struct fx {
	char dir[64];
	struct replica s[NSITES];
	char net[NETWORK_ID_MAX + 1], other[NETWORK_ID_MAX + 1];
	uint64_t now;
};

static void seal(struct fx *f, struct replica *r)
{
	lm_err err;

	f->now += 10;
	if (replica_seal(r, f->now, NULL, &err) != 0)
		fail_msg("seal %s: %s", r->path, err.msg);
}

static void pull(struct fx *f, struct replica *to, struct replica *from)
{
	lm_err err;

	if (replica_pull(to, from, f->now, SKEW_MS, NULL, &err) != 0)
		fail_msg("pull into %s: %s", to->path, err.msg);
}

static const char *q(const char *s, char *buf, size_t cap)
{
	if (s == NULL)
		return "NULL";
	snprintf(buf, cap, "'%s'", s);
	return buf;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct network n;
	char file[2] = "a", b1[64];
	lm_err err;
	size_t i;
	int k;

	if (f == NULL || sodium_init() < 0 ||
	    tmpdir_make("report", f->dir, sizeof(f->dir), NULL, NULL, 0) != 0) {
		free(f);
		return -1;
	}
	f->now = EPOCH_MS;
	for (k = 0; k < NSITES; k++) {
		file[0] = (char)('a' + k);
		domain_site_make(&f->s[k], f->dir, file, (uint8_t)('A' + k), site_names[k],
				 site_kinds[k]);
	}
	/* A makes the network and a second one, and gives B and C roles. */
	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "Fonna-nettverket");
	snprintf(n.kind, sizeof(n.kind), "helseforetak");
	if (network_create(&f->s[0].st, "fonna", &n, f->net, sizeof(f->net), &err) != 0 ||
	    network_create(&f->s[0].st, "annet", &n, f->other, sizeof(f->other), &err) != 0 ||
	    network_member_set(&f->s[0].st, f->net, f->s[1].hex, "medlem", &err) != 0 ||
	    network_member_set(&f->s[0].st, f->net, f->s[2].hex, "koordinator", &err) != 0)
		fail_msg("network: %s", err.msg);
	for (k = 0; k < NSITES; k++)
		seal(f, &f->s[k]);
	for (k = 1; k < NSITES; k++)
		pull(f, &f->s[k], &f->s[0]);
	/* Each site writes its own courses and runs, as their owner. */
	for (i = 0; i < NCOURSES; i++) {
		const struct fcourse *c = &courses[i];

		replica_sqlf(
		    &f->s[c->site],
		    "INSERT INTO lm_course(owner, id, scope, title, kind, target, diagnosis, "
		    "standard_metode, user_reps, municipality, archived) VALUES ('%s', '%s', "
		    "'%s', 'Kurs %s', '%s', '%s', %s, %d, %d, '%s', %d)",
		    f->s[c->site].hex, c->id, c->other_network ? f->other : f->net, c->id, c->kind,
		    c->target, q(c->diagnosis, b1, sizeof(b1)), c->std, c->user_reps,
		    c->municipality, c->archived);
	}
	for (i = 0; i < NRUNS; i++) {
		const struct frun *r = &runs[i];
		const struct fcourse *c = NULL;
		size_t j;

		for (j = 0; j < NCOURSES; j++)
			if (courses[j].site == r->site && strcmp(courses[j].id, r->course) == 0)
				c = &courses[j];
		assert_non_null(c);
		replica_sqlf(
		    &f->s[r->site],
		    "INSERT INTO lm_course_run(owner, id, scope, course, starts, held, "
		    "sessions_held, patients, relatives, professional_hours, user_rep_hours, "
		    "forms, benefit_none, benefit_some, benefit_good, benefit_very_good) VALUES "
		    "('%s', '%s', '%s', '%s', '%s', %d, %d, %ld, %ld, %.2f, %.2f, %ld, %ld, %ld, "
		    "%ld, %ld)",
		    f->s[r->site].hex, r->id, c->other_network ? f->other : f->net, r->course,
		    r->starts, r->held, r->sessions, r->patients, r->relatives, r->prof, r->urep,
		    r->forms, r->b[0], r->b[1], r->b[2], r->b[3]);
	}
	/* Everybody gets everything its roles let it have. */
	for (k = 0; k < NSITES; k++)
		seal(f, &f->s[k]);
	for (k = 0; k < 3; k++) {
		int j;

		for (j = 0; j < 3; j++)
			if (j != k)
				pull(f, &f->s[k], &f->s[j]);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int k;

	for (k = 0; k < NSITES; k++)
		replica_destroy(&f->s[k]);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* ---- the expected figures, summed here from the arrays ---- */

struct sums {
	char label[128];
	long courses, runs, sessions, urep_runs, std_courses;
	long long prof, urep;
	long person[REP_NPERSON];
	const struct fcourse *seen[NCOURSES];
};

static const char *group_of(enum rep_by by, const struct fcourse *c)
{
	switch (by) {
	case REP_BY_ORG:
		return site_names[c->site];
	case REP_BY_KIND:
		return c->kind;
	case REP_BY_TARGET:
		return c->target;
	case REP_BY_DIAGNOSIS:
		return c->diagnosis ? c->diagnosis : "diagnoseuavhengig";
	case REP_BY_MUNICIPALITY:
		return c->municipality[0] ? c->municipality : "(not given)";
	default:
		return "total";
	}
}

static void add_run(struct sums *s, const struct frun *r, const struct fcourse *c)
{
	int k, known = 0;

	for (k = 0; k < (int)s->courses; k++)
		known |= s->seen[k] == c;
	if (!known) {
		s->seen[s->courses++] = c;
		s->std_courses += c->std;
	}
	s->runs++;
	s->sessions += r->sessions;
	s->urep_runs += c->user_reps > 0;
	s->prof += llround(r->prof * 100);
	s->urep += llround(r->urep * 100);
	s->person[REP_PATIENTS] += r->patients;
	s->person[REP_RELATIVES] += r->relatives;
	s->person[REP_PARTICIPANTS] += r->patients + r->relatives;
	s->person[REP_FORMS] += r->forms;
	for (k = 0; k < 4; k++)
		s->person[REP_BENEFIT_NONE + k] += r->b[k];
}

static int by_label(const void *a, const void *b)
{
	return strcmp(((const struct sums *)a)->label, ((const struct sums *)b)->label);
}

/* The groups of by in label order, and the total; returns the groups. */
static int expected(enum rep_by by, const char *from, const char *to, struct sums *g,
		    struct sums *total)
{
	int n = 0, i, k;
	size_t j;

	memset(total, 0, sizeof(*total));
	snprintf(total->label, sizeof(total->label), "total");
	for (i = 0; i < (int)NRUNS; i++) {
		const struct frun *r = &runs[i];
		const struct fcourse *c = NULL;

		for (j = 0; j < NCOURSES; j++)
			if (courses[j].site == r->site && strcmp(courses[j].id, r->course) == 0)
				c = &courses[j];
		if (!r->held || c->archived || c->other_network || strcmp(r->starts, from) < 0 ||
		    strcmp(r->starts, to) > 0)
			continue;
		add_run(total, r, c);
		if (by == REP_BY_NONE)
			continue;
		for (k = 0; k < n && strcmp(g[k].label, group_of(by, c)) != 0; k++)
			;
		if (k == n) {
			memset(&g[n], 0, sizeof(g[n]));
			snprintf(g[n++].label, sizeof(g[0].label), "%s", group_of(by, c));
		}
		add_run(&g[k], r, c);
	}
	qsort(g, (size_t)n, sizeof(*g), by_label);
	return n;
}

static void expect_row(const struct rep_row *got, const struct sums *want)
{
	int k;

	if (strcmp(got->label, want->label) != 0)
		fail_msg("group '%s', expected '%s'", got->label, want->label);
	assert_int_equal(got->courses, want->courses);
	assert_int_equal(got->runs, want->runs);
	assert_int_equal(got->sessions, want->sessions);
	assert_int_equal(got->user_rep_runs, want->urep_runs);
	assert_int_equal(got->std_courses, want->std_courses);
	assert_int_equal(got->prof_centi, want->prof);
	assert_int_equal(got->user_rep_centi, want->urep);
	for (k = 0; k < REP_NPERSON; k++) {
		if (got->person[k] != want->person[k])
			fail_msg("%s: person count %d is %ld, expected %ld", want->label, k,
				 got->person[k], want->person[k]);
		/* Suppression reached the row: 1 to 4 is never shown. */
		if (want->person[k] >= 1 && want->person[k] <= 4 && got->mark[k] == SUP_SHOWN)
			fail_msg("%s: person count %d (%ld) is shown", want->label, k,
				 want->person[k]);
		if (want->person[k] == 0 && got->mark[k] != SUP_SHOWN)
			fail_msg("%s: person count %d is 0 but hidden", want->label, k);
	}
}

static void check_report(struct replica *r, const char *net, enum rep_by by, const char *from,
			 const char *to)
{
	struct sums g[16], total;
	struct rep_activity a;
	lm_err err;
	int n, i;

	n = expected(by, from, to, g, &total);
	if (rep_activity(&r->st, net, from, to, by, &a, &err) != 0)
		fail_msg("%s", err.msg);
	if (a.n != n)
		fail_msg("by %s: %d groups, expected %d", rep_by_name(by), a.n, n);
	for (i = 0; i < n; i++)
		expect_row(&a.rows[i], &g[i]);
	expect_row(&a.total, &total);
	rep_activity_free(&a);
}

static void test_activity_every_grouping(void **state)
{
	struct fx *f = *state;
	enum rep_by by;
	int k;

	/* The fixture has what it should: 3 owners' rows at every member. */
	for (k = 0; k < 3; k++)
		assert_int_equal(replica_int(&f->s[k], "SELECT count(DISTINCT owner) FROM "
						       "lm_course_run"),
				 3);
	for (by = REP_BY_NONE; by <= REP_BY_MUNICIPALITY; by++) {
		check_report(&f->s[0], f->net, by, FROM, TO);
		check_report(&f->s[1], f->net, by, FROM, TO); /* B's own store: the same */
		check_report(&f->s[2], f->net, by, "2026-02-01", "2026-03-31");
	}
}

static void test_activity_edges(void **state)
{
	struct fx *f = *state;
	struct rep_activity a;
	lm_err err;

	/* One day: only r1 (the from edge) and nothing else that day. */
	assert_int_equal(rep_activity(&f->s[0].st, f->net, FROM, FROM, REP_BY_NONE, &a, &err), 0);
	assert_int_equal(a.total.runs, 1);
	assert_int_equal(a.total.person[REP_PATIENTS], 9);
	rep_activity_free(&a);
	assert_int_equal(rep_activity(&f->s[0].st, f->net, TO, TO, REP_BY_ORG, &a, &err), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.total.runs, 1);
	assert_int_equal(a.total.person[REP_PATIENTS], 12);
	rep_activity_free(&a);
	/* The day before and after, alone: r4 and r5. */
	assert_int_equal(
	    rep_activity(&f->s[0].st, f->net, "2025-12-31", "2025-12-31", REP_BY_NONE, &a, &err),
	    0);
	assert_int_equal(a.total.runs, 1);
	assert_int_equal(a.total.person[REP_PATIENTS], 50);
	rep_activity_free(&a);
	/* The other network holds c7's run alone. */
	assert_int_equal(rep_activity(&f->s[0].st, f->other, FROM, TO, REP_BY_NONE, &a, &err), 0);
	assert_int_equal(a.total.runs, 1);
	assert_int_equal(a.total.courses, 1);
	rep_activity_free(&a);
	/* Nothing in range: zeros, shown. */
	assert_int_equal(
	    rep_activity(&f->s[0].st, f->net, "2030-01-01", "2030-12-31", REP_BY_KIND, &a, &err),
	    0);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.total.runs, 0);
	assert_int_equal(a.total.mark[REP_PATIENTS], SUP_SHOWN);
	rep_activity_free(&a);
	/* from after to is refused. */
	assert_int_equal(rep_activity(&f->s[0].st, f->net, TO, FROM, REP_BY_NONE, &a, &err), -1);
	assert_non_null(strstr(err.msg, "after"));
}

static void test_percent(void **state)
{
	(void)state;
	assert_int_equal(rep_percent(1, 3), 33);
	assert_int_equal(rep_percent(2, 3), 67);
	assert_int_equal(rep_percent(1, 2), 50);
	assert_int_equal(rep_percent(1, 8), 13); /* 12.5 rounds up */
	assert_int_equal(rep_percent(0, 0), 0);
}

static void test_by_parse(void **state)
{
	enum rep_by by;
	lm_err err;

	(void)state;
	assert_int_equal(rep_by_parse("--by", "diagnosis", &by, &err), 0);
	assert_int_equal(by, REP_BY_DIAGNOSIS);
	assert_int_equal(rep_by_parse("--by", "county", &by, &err), -1);
	assert_non_null(strstr(err.msg, "--by: 'county'"));
	assert_non_null(strstr(err.msg, "municipality"));
}

static const struct rep_member *member(const struct rep_member *m, int n, const char *org)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(m[i].org, org) == 0)
			return &m[i];
	fail_msg("%s is not in the member list", org);
	return NULL;
}

static void test_completeness_and_close(void **state)
{
	struct fx *f = *state;
	struct rep_member *m;
	char at[32];
	lm_err err;
	int n;

	/* B closes 2026; closing again changes nothing. */
	assert_int_equal(
	    rep_close(&f->s[1].st, f->net, "2026", "2026-12-01T10:00:00Z", at, sizeof(at), &err),
	    1);
	assert_string_equal(at, "2026-12-01T10:00:00Z");
	assert_int_equal(
	    rep_close(&f->s[1].st, f->net, "2026", "2026-12-02T10:00:00Z", at, sizeof(at), &err),
	    0);
	assert_string_equal(at, "2026-12-01T10:00:00Z");
	/* A period not begun, a bad period, a site outside the network. */
	assert_int_equal(
	    rep_close(&f->s[1].st, f->net, "2027-Q1", "2026-12-01T10:00:00Z", at, sizeof(at), &err),
	    -1);
	assert_non_null(strstr(err.msg, "has not begun"));
	assert_int_equal(
	    rep_close(&f->s[1].st, f->net, "2026-Q5", "2026-12-01T10:00:00Z", at, sizeof(at), &err),
	    -1);
	assert_non_null(strstr(err.msg, "--period: '2026-Q5'"));
	assert_int_equal(
	    rep_close(&f->s[3].st, f->net, "2026", "2026-12-01T10:00:00Z", at, sizeof(at), &err),
	    -1);
	assert_non_null(strstr(err.msg, "no member"));
	/* A learns of B's closing by replication. */
	seal(f, &f->s[1]);
	pull(f, &f->s[0], &f->s[1]);
	assert_int_equal(rep_completeness(&f->s[0].st, f->net, "2026", &m, &n, &err), 0);
	assert_int_equal(n, 3);
	/* By name: Bømlo, Helse Fonna, Stord. */
	assert_string_equal(m[0].name, "Bømlo kommune");
	assert_string_equal(m[1].name, "Helse Fonna HF");
	assert_string_equal(m[2].name, "Stord kommune");
	assert_true(member(m, n, f->s[1].hex)->closed);
	assert_string_equal(member(m, n, f->s[1].hex)->closed_at, "2026-12-01T10:00:00Z");
	assert_string_equal(member(m, n, f->s[1].hex)->role, "medlem");
	assert_false(member(m, n, f->s[0].hex)->closed);
	assert_string_equal(member(m, n, f->s[0].hex)->closed_at, "");
	assert_false(member(m, n, f->s[2].hex)->closed);
	free(m);
	/* Another period: nobody has closed it. */
	assert_int_equal(rep_completeness(&f->s[0].st, f->net, "2026-H1", &m, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_false(m[0].closed || m[1].closed || m[2].closed);
	free(m);
	assert_int_equal(rep_completeness(&f->s[0].st, f->net, "26", &m, &n, &err), -1);
}

/* Agreements at A: items by (agreement, status, due). */
struct fitem {
	int agreement;
	const char *status, *due;
};

static void test_agreements(void **state)
{
	static const struct fitem items[] = {
	    {0, "åpen", "2026-01-15"},
	    {0, "pågår", "2026-12-31"},
	    {0, "fullført", "2026-01-01"},
	    {0, "avvik", "2026-02-01"},
	    {0, "åpen", NULL},
	    {1, "avvik", "2027-01-01"},
	    {1, "fullført", "2026-03-01"},
	    {1, "åpen", "2026-05-31"},
	    {2, "pågår", "2026-05-30"},
	};
	/* Agreement 0: A with B and C; 1: A with B; 2: A with no kommune. */
	struct fx *f = *state;
	char id[3][NETWORK_ID_MAX + 1], due[32];
	struct rep_pair *p;
	long want[3][4] = {{0}}; /* open, overdue, avvik, done per agreement */
	const char *date = "2026-05-31";
	lm_err err;
	int n, i, a;

	for (a = 0; a < 3; a++) {
		snprintf(id[a], sizeof(id[a]), "avtale%d@%s", a, f->s[0].hex);
		replica_sqlf(
		    &f->s[0],
		    "INSERT INTO lm_agreement(id, scope, title, hf, status) VALUES ('%s', '%s', "
		    "'Samarbeidsavtale', '%s', '')",
		    id[a], id[a], f->s[0].hex);
	}
	replica_sqlf(
	    &f->s[0],
	    "INSERT INTO lm_agreement_party(agreement, org, scope, role) VALUES ('%s', '%s', "
	    "'%s', 'helseforetak'), ('%s', '%s', '%s', 'kommune'), ('%s', '%s', '%s', "
	    "'kommune'), ('%s', '%s', '%s', 'kommune')",
	    id[0], f->s[0].hex, id[0], id[0], f->s[1].hex, id[0], id[0], f->s[2].hex, id[0], id[1],
	    f->s[1].hex, id[1]);
	for (i = 0; i < (int)(sizeof(items) / sizeof(items[0])); i++) {
		const struct fitem *it = &items[i];
		long *w = want[it->agreement];

		if (it->due)
			snprintf(due, sizeof(due), "'%s'", it->due);
		else
			snprintf(due, sizeof(due), "NULL");
		replica_sqlf(
		    &f->s[0],
		    "INSERT INTO lm_agreement_item(agreement, id, scope, what, status, due) "
		    "VALUES ('%s', 'i%d', '%s', 'Punkt', '%s', %s)",
		    id[it->agreement], i, id[it->agreement], it->status, due);
		w[0] += strcmp(it->status, "åpen") == 0 || strcmp(it->status, "pågår") == 0;
		w[1] += it->due && strcmp(it->due, date) < 0 && strcmp(it->status, "fullført") != 0;
		w[2] += strcmp(it->status, "avvik") == 0;
		w[3] += strcmp(it->status, "fullført") == 0;
	}
	assert_int_equal(rep_agreements(&f->s[0].st, date, &p, &n, &err), 0);
	/* Pairs by name: (Helse Fonna, no kommune), (Helse Fonna, Bømlo),
	 * (Helse Fonna, Stord); "(" sorts before letters. */
	assert_int_equal(n, 3);
	assert_string_equal(p[0].kommune_name, "(no kommune party)");
	assert_string_equal(p[1].kommune_name, "Bømlo kommune");
	assert_string_equal(p[2].kommune_name, "Stord kommune");
	for (i = 0; i < 3; i++)
		assert_string_equal(p[i].hf_name, "Helse Fonna HF");
	/* No kommune: agreement 2 alone. */
	assert_int_equal(p[0].agreements, 1);
	assert_int_equal(p[0].open, want[2][0]);
	assert_int_equal(p[0].overdue, want[2][1]);
	/* Bømlo: agreements 0 and 1. */
	assert_int_equal(p[1].agreements, 2);
	assert_int_equal(p[1].open, want[0][0] + want[1][0]);
	assert_int_equal(p[1].overdue, want[0][1] + want[1][1]);
	assert_int_equal(p[1].deviations, want[0][2] + want[1][2]);
	assert_int_equal(p[1].done, want[0][3] + want[1][3]);
	/* Stord: agreement 0. */
	assert_int_equal(p[2].agreements, 1);
	assert_int_equal(p[2].open, want[0][0]);
	assert_int_equal(p[2].overdue, want[0][1]);
	assert_int_equal(p[2].deviations, want[0][2]);
	assert_int_equal(p[2].done, want[0][3]);
	/* By hand, so the sums above cannot both be wrong: agreement 0 has 3
	 * open, 2 overdue (2026-01-15 åpen, 2026-02-01 avvik), 1 avvik, 1 done. */
	assert_int_equal(p[2].open, 3);
	assert_int_equal(p[2].overdue, 2);
	free(p);
	/* Nothing at B: it holds no agreement. */
	assert_int_equal(rep_agreements(&f->s[1].st, date, &p, &n, &err), 0);
	assert_int_equal(n, 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_activity_every_grouping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_activity_edges, setup, teardown),
	    cmocka_unit_test(test_percent),
	    cmocka_unit_test(test_by_parse),
	    cmocka_unit_test_setup_teardown(test_completeness_and_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agreements, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
