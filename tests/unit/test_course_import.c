/* SPDX-License-Identifier: MIT */
/* Importing and exporting the course catalogue (domain/course.h), on the
 * fixture of tests/unit/course_fx.h:
 *
 *  - import: one bad line and nothing is written; every error named by line
 *    (or JSON index) and field, up to the cap; the file's own faults
 *    (unknown or doubled columns, field counts, unclosed quotes, bad JSON);
 *  - export, delete, import, export gives the same bytes; an unchanged
 *    import writes nothing;
 *  - another site's rows are refused, and with the owner column emptied
 *    become this site's, exported the same but for the owner.
 */
#include "tests/unit/course_fx.h"

/* Export CSV (or JSON through the CLI, e2e) into a heap string. */
static char *cfx_export_csv(struct replica *r)
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
static char *cfx_replace_all(const char *s, const char *from, const char *to)
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

static int cfx_import(struct fx *f, struct replica *r, const char *name, const char *data,
		      enum course_format fmt, int *added, int *changed, int *same)
{
	cfx_reset(f);
	return course_import(&r->st, name, data, strlen(data), fmt, cfx_collect_import, f, added,
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
	assert_int_equal(
	    cfx_import(f, &f->a, "courses.csv", csv, COURSE_CSV, &added, &changed, &same), 4);
	cfx_has_err(f, "courses.csv:5: kind: 'kursus' is not a kind; use kurs, temamøte");
	cfx_has_err(f, "courses.csv:6: target: 'alle' is not a target group");
	cfx_has_err(f, "courses.csv:7: title: must not be empty");
	cfx_has_err(f, "courses.csv:7: network: no network 'nosuch' here");
	assert_int_equal(f->nerrs, 4);
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_course"), 0);
	assert_int_equal(added, 0);

	/* The file's own faults: unknown columns, wrong field counts, bad CSV. */
	assert_int_equal(cfx_import(f, &f->a, "c.csv", "title,kinds\nA,kurs\n", COURSE_CSV, &added,
				    &changed, &same),
			 1);
	cfx_has_err(f, "c.csv:1: column 'kinds' is not a course field");
	assert_int_equal(cfx_import(f, &f->a, "c.csv",
				    "title,kind,target,network\nA,kurs\nB,kurs,begge,midt,x\n\"C\n",
				    COURSE_CSV, &added, &changed, &same),
			 3);
	cfx_has_err(f, "c.csv:2: 2 fields, but the header has 4");
	cfx_has_err(f, "c.csv:3: 5 fields, but the header has 4");
	cfx_has_err(f, "c.csv:4: field 1: the quoted field opened here is never closed");
	assert_int_equal(
	    cfx_import(f, &f->a, "c.json",
		       "[{\"title\": \"A\", \"kind\": \"kurs\", \"target\": \"begge\", "
		       "\"network\": \"midt\"}, {\"title\": \"B\", \"kind\": \"x\", "
		       "\"network\": \"midt\", \"target\": \"begge\", \"colour\": 1}]",
		       COURSE_JSON, &added, &changed, &same),
	    2);
	cfx_has_err(f, "c.json[1]: kind: 'x' is not a kind");
	cfx_has_err(f, "c.json[1]: 'colour' is not a course field");
	assert_int_equal(cfx_import(f, &f->a, "c.json", "[{\"title\": \"A\"", COURSE_JSON, &added,
				    &changed, &same),
			 1);
	cfx_has_err(f, "c.json: line 1: expected , or } in the object");
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
		    cfx_import(f, &f->a, "big.csv", big, COURSE_CSV, &added, &changed, &same), 70);
		assert_int_equal(f->nerrs, COURSE_IMPORT_ERRORS + 1);
		cfx_has_err(f, "big.csv:51: kind");
		cfx_has_err(f, "... and more errors");
		free(big);
	}

	/* Fixed, the same file goes in whole. */
	snprintf(csv, sizeof(csv),
		 "title,kind,target,network,description\r\n"
		 "KOLS-skole,kurs,pasienter,midt,\"Lær, og \"\"lev\"\"\nmed KOLS\"\r\n"
		 "Temakveld,temamøte,begge,midt,\r\n");
	assert_int_equal(
	    cfx_import(f, &f->a, "courses.csv", csv, COURSE_CSV, &added, &changed, &same), 0);
	assert_int_equal(added, 2);
	assert_string_equal(cfx_search(&f->a, "lev"), "KOLS-skole");
}

static void test_export_import_round_trip(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1], full[COURSE_ID_LEN + 1], *one, *two;
	int added, changed, same;
	lm_err err;

	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole, \"grunnkurs\"", CC_DESCRIPTION,
				 "Linje 1\nLinje 2, med komma", CC_DIAGNOSIS, "kols", CC_STARTS,
				 "2026-09-01", CC_STANDARD_METODE, "ja", CC_USER_REPS, "2",
				 CC_PRICE, "250", CC_REGISTRATION, "https://kommune.no/lms", -1),
			 0);
	assert_int_equal(
	    cfx_add(f, &f->a, id, "Mestring for pårørende", CC_TARGET, "pårørende", -1), 0);
	assert_int_equal(course_archive(&f->a.st, id, 1, full, &err), 1);
	one = cfx_export_csv(&f->a);
	assert_non_null(strstr(one, "owner,id,network,title,description,kind,target,"));
	assert_non_null(strstr(one, "\"KOLS-skole, \"\"grunnkurs\"\"\",\"Linje 1\nLinje 2, med "
				    "komma\",kurs"));

	/* Unchanged: nothing written. */
	assert_int_equal(cfx_import(f, &f->a, "x.csv", one, COURSE_CSV, &added, &changed, &same),
			 0);
	assert_int_equal(same, 2);
	assert_int_equal(added + changed, 0);

	assert_int_equal(replica_exec(&f->a, "DELETE FROM lm_course", &err), 0);
	assert_int_equal(cfx_import(f, &f->a, "x.csv", one, COURSE_CSV, &added, &changed, &same),
			 0);
	assert_int_equal(added, 2);
	two = cfx_export_csv(&f->a);
	assert_string_equal(one, two);
	free(two);

	/* JSON goes through the command's writer: tests/e2e/test_course.sh. */
	free(one);
}

/* A course stored in the standard method without brukerrepresentanter,
 * from before that was checked: its own export imports again unchanged,
 * but it comes back as a new course only with someone to run it. */
static void test_import_of_a_course_stored_before_a_check(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1], *one;
	int added, changed, same;
	lm_err err;

	assert_int_equal(
	    cfx_add(f, &f->a, id, "Diabetesskole", CC_STANDARD_METODE, "ja", CC_USER_REPS, "2", -1),
	    0);
	assert_int_equal(replica_exec(&f->a, "UPDATE lm_course SET user_reps = 0", &err), 0);
	one = cfx_export_csv(&f->a);
	assert_int_equal(cfx_import(f, &f->a, "x.csv", one, COURSE_CSV, &added, &changed, &same),
			 0);
	assert_int_equal(same, 1);
	assert_int_equal(added + changed, 0);

	assert_int_equal(replica_exec(&f->a, "DELETE FROM lm_course", &err), 0);
	cfx_reset(f);
	assert_int_equal(cfx_import(f, &f->a, "x.csv", one, COURSE_CSV, &added, &changed, &same),
			 1);
	cfx_has_err(f, "x.csv:2: user_reps: must be 1 or more for a course in the standard "
		       "method (standard_metode ja)");
	free(one);
}

static void test_import_other_owner(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1], *one;
	int added, changed, same;

	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole", -1), 0);
	one = cfx_export_csv(&f->a);
	cfx_pull(&f->b, &f->a);
	/* At B, A's rows are A's: refused, with A named. */
	assert_int_equal(cfx_import(f, &f->b, "a.csv", one, COURSE_CSV, &added, &changed, &same),
			 1);
	cfx_has_err(f,
		    "a.csv:2: owner: this course belongs to Trondheim kommune, not to this site");
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
		blank = cfx_replace_all(one, from, "\r\n,");
		snprintf(to, sizeof(to), "\r\n%s,", f->b.hex);
		want = cfx_replace_all(one, from, to);
		assert_int_equal(
		    cfx_import(f, &f->b, "a.csv", blank, COURSE_CSV, &added, &changed, &same), 0);
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

			cfx_get(&f->b, id, &c);
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
	    cmocka_unit_test_setup_teardown(test_import_all_or_nothing, cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_export_import_round_trip, cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_import_of_a_course_stored_before_a_check,
					    cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_import_other_owner, cfx_setup, cfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
