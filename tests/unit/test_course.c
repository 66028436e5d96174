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
 *  (import and export: test_course_import.c).
 */
#include "store/fnr.h"
#include "tests/unit/course_fx.h"

/* ---- tests ---- */

/* A valid fødselsnummer for 01.01.90: the individual number found by
 * trying, its check digits valid by construction. */
static void valid_fnr(char out[12])
{
	int i;

	for (i = 0; i < 100000; i++) {
		snprintf(out, 12, "010190%05d", i);
		if (fnr_valid(out))
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
	assert_int_equal(cfx_add(f, &f->a, id, "", CC_KIND, "kursus", CC_TARGET, "alle",
				 CC_AGE_GROUP, "gamle", CC_STANDARD_METODE, "kanskje", CC_USER_REPS,
				 "-1", CC_SESSIONS, "1001", CC_SESSION_MINUTES, "2000", CC_CAPACITY,
				 "abc", CC_DELIVERY, "post", CC_PRICE, "12.5", CC_REGISTRATION,
				 "ring 12345678", CC_STATUS, "ferdig", CC_STARTS, "2026-13-01",
				 CC_ENDS, "2026-02-30", CC_VENUE, "Rom\n2", CC_LANGUAGE, "", -1),
			 17);
	cfx_has_err(f, "--title: must not be empty");
	cfx_has_err(f, "--kind: 'kursus' is not a kind; use kurs, temamøte, selvhjelpsgruppe");
	cfx_has_err(f, "--target: 'alle' is not a target group; use pasienter");
	cfx_has_err(f, "--age-group: 'gamle' is not a age group");
	cfx_has_err(f, "--standard-metode: 'kanskje' is neither ja nor nei");
	cfx_has_err(f, "--user-reps: -1 is out of range (0 to 1000)");
	cfx_has_err(f, "--sessions: 1001 is out of range");
	cfx_has_err(f, "--session-minutes: 2000 is out of range (0 to 1440)");
	cfx_has_err(f, "--capacity: 'abc' is not a whole number");
	cfx_has_err(f, "--delivery: 'post' is not a delivery; use fysisk, video or digitalt");
	cfx_has_err(f, "--price: '12.5' is not a whole number");
	cfx_has_err(f, "--registration: a web address or e-mail address has no spaces");
	cfx_has_err(f, "--status: 'ferdig' is not a status");
	cfx_has_err(f, "--starts: '2026-13-01': there is no month 13");
	cfx_has_err(f, "--ends: '2026-02-30': 2026-02 has no day 30");
	cfx_has_err(f, "--venue: holds a control character");
	cfx_has_err(f, "--language: must not be empty");

	assert_int_equal(cfx_add(f, &f->a, id, long_title, CC_REGISTRATION, "Ola Nordmann",
				 CC_CO_ORGANISERS, "", CC_DIAGNOSIS, "\x01", CC_STARTS,
				 "2026-09-10", CC_ENDS, "2026-09-01", CC_NETWORK, "nosuch", -1),
			 5);
	cfx_has_err(f, "--title: 299 bytes is too long; at most 200");
	cfx_has_err(f, "--registration: a web address or e-mail address has no spaces");
	cfx_has_err(f, "--diagnosis: holds a control character");
	cfx_has_err(f, "--network: no network 'nosuch' here");
	cfx_has_err(f, "--ends: 2026-09-01 is before the start, 2026-09-10");
	/* Alone. */
	assert_int_equal(cfx_add(f, &f->a, id, "T", CC_STARTS, "2026-09-10", CC_ENDS, "2026-09-01",
				 CC_REGISTRATION, "lms@trondheim.kommune.no", -1),
			 1);
	cfx_has_err(f, "--ends: 2026-09-01 is before the start, 2026-09-10");
	assert_int_equal(cfx_add(f, &f->a, id, "T", CC_REGISTRATION, "tlf98765432@x.no", -1), 1);
	cfx_has_err(f, "--registration: looks like it holds a phone number");

	/* The identity-number guard, in the title and the description. */
	valid_fnr(fnr);
	assert_int_equal(cfx_add(f, &f->a, id, fnr, -1), 1);
	cfx_has_err(f, "--title: holds what looks like a national identity number");
	{
		char desc[64], near[12];

		snprintf(desc, sizeof(desc), "Kontakt %.6s %s i dag", fnr, fnr + 6);
		assert_int_equal(cfx_add(f, &f->a, id, "T", CC_DESCRIPTION, desc, -1), 1);
		cfx_has_err(f, "--description: holds what looks like a national identity number");
		/* One digit off: the check digits no longer fit, so it passes. */
		snprintf(near, sizeof(near), "%s", fnr);
		near[10] = (char)('0' + (near[10] - '0' + 1) % 10);
		assert_false(fnr_valid(near));
		snprintf(desc, sizeof(desc), "Rom %s", near);
		assert_int_equal(cfx_add(f, &f->a, id, near, CC_DESCRIPTION, desc, -1), 0);
	}
	/* The standard method is run with brukerrepresentanter. */
	assert_int_equal(cfx_add(f, &f->a, id, "T", CC_STANDARD_METODE, "ja", -1), 1);
	cfx_has_err(f, "--user-reps: must be 1 or more for a course in the standard method "
		       "(--standard-metode ja)");
	/* Nothing invalid reached the store: only the near miss is there. */
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_course"), 1);
}

static void test_add_edit_archive(void **state)
{
	struct fx *f = *state;
	struct course_input in = {{NULL}};
	char id[COURSE_ID_LEN + 1], full[COURSE_ID_LEN + 1], prefix[8];
	struct course c;
	struct course_filter flt;
	lm_err err;

	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole", CC_DIAGNOSIS, "kols", CC_SESSIONS, "6",
				 CC_STANDARD_METODE, "ja", CC_USER_REPS, "2", -1),
			 0);
	assert_int_equal(strlen(id), COURSE_ID_LEN);
	cfx_get(&f->a, id, &c);
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
	cfx_reset(f);
	assert_int_equal(course_edit(&f->a.st, id, &in, cfx_collect, f), 0);
	cfx_get(&f->a, id, &c);
	assert_string_equal(c.v[CC_STATUS], "påmelding");
	assert_null(c.v[CC_DIAGNOSIS]);
	assert_string_equal(c.v[CC_TITLE], "KOLS-skole");
	assert_string_equal(c.v[CC_SESSIONS], "6");
	course_free(&c);
	memset(&in, 0, sizeof(in));
	in.v[CC_NETWORK] = "nosuch";
	assert_int_equal(course_edit(&f->a.st, id, &in, cfx_collect, f), 1);
	cfx_has_err(f, "--network: no network 'nosuch'");
	/* Standard method, and so brukerrepresentanter: judged when either
	 * changes, not on an edit of another field of a course stored
	 * without them. */
	memset(&in, 0, sizeof(in));
	in.v[CC_USER_REPS] = "0";
	cfx_reset(f);
	assert_int_equal(course_edit(&f->a.st, id, &in, cfx_collect, f), 1);
	cfx_has_err(f, "--user-reps: must be 1 or more for a course in the standard method");
	{
		char sql[128];

		snprintf(sql, sizeof(sql), "UPDATE lm_course SET user_reps = 0 WHERE id = '%s'",
			 id);
		assert_int_equal(replica_exec(&f->a, sql, &err), 0);
	}
	memset(&in, 0, sizeof(in));
	in.v[CC_SESSIONS] = "7";
	cfx_reset(f);
	assert_int_equal(course_edit(&f->a.st, id, &in, cfx_collect, f), 0);
	in.v[CC_STANDARD_METODE] = "nei";
	assert_int_equal(course_edit(&f->a.st, id, &in, cfx_collect, f), 0);

	memset(&flt, 0, sizeof(flt));
	assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "KOLS-skole");
	assert_int_equal(course_archive(&f->a.st, id, 1, full, &err), 1);
	assert_string_equal(full, id);
	assert_int_equal(course_archive(&f->a.st, id, 1, full, &err), 0);
	assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "");
	assert_string_equal(cfx_search(&f->a, "kols"), "");
	flt.archived = 1;
	assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "KOLS-skole");
	/* And back again, found by a prefix of its id. */
	flt.archived = 0;
	memcpy(prefix, id, 6);
	prefix[6] = '\0';
	assert_int_equal(course_archive(&f->a.st, prefix, 0, full, &err), 1);
	assert_string_equal(full, id);
	assert_int_equal(course_archive(&f->a.st, id, 0, full, &err), 0);
	assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "KOLS-skole");
	assert_string_equal(cfx_search(&f->a, "kols"), "KOLS-skole");
}

static void test_owner_and_membership(void **state)
{
	struct fx *f = *state;
	struct course_input in = {{NULL}};
	struct run_input rin = {{NULL}};
	char id[COURSE_ID_LEN + 1], mine[COURSE_ID_LEN + 1], run[COURSE_ID_LEN + 1],
	    full[COURSE_ID_LEN + 1];
	struct course c;
	lm_err err;

	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole", -1), 0);
	cfx_pull(&f->b, &f->a);
	cfx_get(&f->b, id, &c); /* B received it */
	course_free(&c);

	in.v[CC_TITLE] = "Overtatt";
	cfx_reset(f);
	assert_int_equal(course_edit(&f->b.st, id, &in, cfx_collect, f), 1);
	cfx_has_err(f, "this course belongs to Trondheim kommune; only its owner can change it");
	assert_int_equal(course_archive(&f->b.st, id, 1, full, &err), -1);
	assert_string_equal(
	    err.msg, "this course belongs to Trondheim kommune; only its owner can change it");
	rin.v[RC_STARTS] = "2026-09-01";
	cfx_reset(f);
	assert_int_equal(course_run_add(&f->b.st, id, &rin, run, cfx_collect, f), 1);
	cfx_has_err(f, "belongs to Trondheim kommune");
	/* The triggers refuse it too, whatever the writer. */
	assert_int_not_equal(
	    sqlite3_exec(f->b.st.db, "UPDATE lm_course SET title = 'x'", NULL, NULL, NULL),
	    SQLITE_OK);

	/* B, a member, publishes its own course to the network. */
	assert_int_equal(cfx_add(f, &f->b, mine, "Mestring for pårørende", -1), 0);
	/* The network's root keeps its role for good, and so its member row:
	 * both are removed together or not at all. */
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_network_member"), 2);
	assert_int_equal(network_member_remove(&f->a.st, f->net, f->a.hex, &err), -1);
	assert_non_null(strstr(err.msg, "is the root of"));
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_network_member"), 2);
	assert_int_equal(sqlite3_get_autocommit(f->a.st.db), 1);
	/* Removed from the network, it can no longer. */
	assert_int_equal(network_member_remove(&f->a.st, f->net, f->b.hex, &err), 1);
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_network_member"), 1);
	cfx_pull(&f->b, &f->a);
	assert_int_not_equal(cfx_add(f, &f->b, mine, "Nytt kurs", -1), 0);
	cfx_has_err(f, "network: this site is not a member of the network Helse Midt");
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
	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole", -1), 0);
	rin.v[RC_STARTS] = "2026-09-01";
	assert_int_equal(course_run_add(&f->a.st, id, &rin, run, cfx_collect, f), 0);
	cfx_pull(&f->b, &f->a);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course_run"), 1);

	in.v[CC_NETWORK] = "Helse Nord";
	in.v[CC_TITLE] = "KOLS-skole nord";
	cfx_reset(f);
	assert_int_equal(course_edit(&f->a.st, id, &in, cfx_collect, f), 0);
	cfx_get(&f->a, id, &c);
	assert_string_equal(c.v[CC_NETWORK], nord);
	assert_string_equal(c.v[CC_TITLE], "KOLS-skole nord");
	course_free(&c);
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_course_run WHERE scope LIKE "
					    "'nord@%' AND course = (SELECT id FROM lm_course)"),
			 1);
	assert_string_equal(cfx_search(&f->a, "nord"), "KOLS-skole nord");
	/* The move merges as a delete in midt and an insert in nord (this
	 * helper hands B every scope; sync sends B only midt's delete, as
	 * e2e_course shows). */
	cfx_pull(&f->b, &f->a);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course WHERE scope LIKE "
					    "'nord@%'"),
			 1);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course_run WHERE scope LIKE "
					    "'nord@%'"),
			 1);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course_fts"), 1);
	assert_int_equal(replica_check_rows(&f->b, &err), 0);

	/* B may not move its course into a network it is no member of. */
	assert_int_equal(cfx_add(f, &f->b, id, "Mestring", -1), 0);
	memset(&in, 0, sizeof(in));
	in.v[CC_NETWORK] = nord;
	cfx_reset(f);
	assert_int_not_equal(course_edit(&f->b.st, id, &in, cfx_collect, f), 0);
	cfx_has_err(f, "--network: this site is not a member of the network Helse Nord");
}

/* The search index follows merged rows: a merge runs with triggers off and
 * keeps the index through its hook (course_fts.c), and after a restart
 * (no hook on the new connection) with the index's own triggers. Either
 * way one entry per course, found by its current words only. */
static void test_search_index_follows_merges(void **state)
{
	struct fx *f = *state;
	struct course_input in = {{NULL}};
	char id[COURSE_ID_LEN + 1];
	lm_err err;

	f->b.st.quiet_min_bytes = 0; /* these merges are small: quiet anyway */
	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole", -1), 0);
	cfx_pull(&f->b, &f->a);
	assert_string_equal(cfx_search(&f->b, "kols"), "KOLS-skole");

	in.v[CC_TITLE] = "Hjertekurs";
	cfx_reset(f);
	assert_int_equal(course_edit(&f->a.st, id, &in, cfx_collect, f), 0);
	cfx_pull(&f->b, &f->a);
	assert_string_equal(cfx_search(&f->b, "kols"), "");
	assert_string_equal(cfx_search(&f->b, "hjerte"), "Hjertekurs");
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course_fts"), 1);

	assert_int_equal(replica_restart(&f->b, &err), 0);
	in.v[CC_TITLE] = "Diabeteskurs";
	cfx_reset(f);
	assert_int_equal(course_edit(&f->a.st, id, &in, cfx_collect, f), 0);
	cfx_pull(&f->b, &f->a);
	assert_string_equal(cfx_search(&f->b, "hjerte"), "");
	assert_string_equal(cfx_search(&f->b, "diabetes"), "Diabeteskurs");
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course_fts"), 1);

	/* A row deleted by a merge leaves the index too. */
	assert_int_equal(domain_install(&f->b.st, &err), 0); /* the hook again */
	f->b.st.quiet_min_bytes = 0;
	assert_int_equal(replica_exec(&f->a, "DELETE FROM lm_course", &err), 0);
	cfx_pull(&f->b, &f->a);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course"), 0);
	assert_int_equal(replica_int(&f->b, "SELECT count(*) FROM lm_course_fts"), 0);
}

/* A store of domain version 1 kept the index by course key: installing
 * again rebuilds it from lm_course, by rowid. */
static void test_search_index_rebuilt_on_upgrade(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1];
	lm_err err;

	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole", -1), 0);
	assert_int_equal(cfx_add(f, &f->a, id, "Hjertekurs", -1), 0);
	/* What version 1 left: an index with stray entries, not by rowid. */
	assert_int_equal(replica_exec(&f->a,
				      "DELETE FROM lm_course_fts; INSERT INTO lm_course_fts(rowid, "
				      "owner, id, title) VALUES (99, 'x', 'y', 'Utdatert'); UPDATE "
				      "meta SET value = '1' WHERE key = 'domain_version'",
				      &err),
			 0);
	assert_int_equal(domain_installed(&f->a.st, &err), 0);
	assert_int_equal(domain_install(&f->a.st, &err), 0);
	assert_int_equal(domain_installed(&f->a.st, &err), 1);
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_course_fts"), 2);
	assert_int_equal(replica_int(&f->a, "SELECT count(*) FROM lm_course_fts f JOIN lm_course c "
					    "ON c.rowid = f.rowid AND c.id = f.id"),
			 2);
	assert_string_equal(cfx_search(&f->a, "kols"), "KOLS-skole");
	assert_string_equal(cfx_search(&f->a, "utdatert"), "");
}

static void test_find_by_prefix(void **state)
{
	struct fx *f = *state;
	struct course c = {{NULL}};
	char id[COURSE_ID_LEN + 1];
	lm_err err;

	assert_int_equal(cfx_add(f, &f->a, id, "K", -1), 0);
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
		cfx_get(&f->a, strcmp(prefix, "abcd") ? prefix : id, &c);
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
	cfx_get(&f->a, "ABCD000000000001", &c);
	assert_string_equal(c.v[CC_TITLE], "X");
	course_free(&c);
	assert_int_equal(course_find(&f->a.st, "abcg", &c, &err), -1);
	assert_non_null(strstr(err.msg, "'abcg' is not a course id"));
	assert_int_equal(course_find(&f->a.st, "ffffffff", &c, &err), -1);
	assert_non_null(strstr(err.msg, "no course 'ffffffff' here"));
	cfx_get(&f->a, "abcd000000000002", &c);
	assert_string_equal(c.v[CC_TITLE], "Y");
	course_free(&c);
}

static void test_search(void **state)
{
	struct fx *f = *state;
	char id[COURSE_ID_LEN + 1], q[256];

	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole", CC_DIAGNOSIS, "kols", CC_MUNICIPALITY,
				 "Trondheim", CC_STARTS, "2026-09-01", CC_ENDS, "2026-10-15", -1),
			 0);
	assert_int_equal(cfx_add(f, &f->a, id, "Mestring for pårørende", CC_KIND, "samtalegruppe",
				 CC_TARGET, "pårørende", CC_STARTS, "2026-11-01", CC_DESCRIPTION,
				 "For pårørende til personer med kols", -1),
			 0);
	assert_int_equal(cfx_add(f, &f->a, id, "Leve med diabetes", CC_DIAGNOSIS, "diabetes",
				 CC_VENUE, "Ørland helsesenter", CC_MUNICIPALITY, "Ørland", -1),
			 0);

	assert_string_equal(cfx_search(&f->a, "kols"), "KOLS-skole Mestring for pårørende");
	assert_string_equal(cfx_search(&f->a, "KOLS skole"), "KOLS-skole");
	assert_string_equal(cfx_search(&f->a, "pårørende"), "Mestring for pårørende");
	assert_string_equal(cfx_search(&f->a, "PÅRØRENDE"), "Mestring for pårørende");
	assert_string_equal(cfx_search(&f->a, "pårør"), "Mestring for pårørende");
	assert_string_equal(cfx_search(&f->a, "ørland"), "Leve med diabetes");
	assert_string_equal(cfx_search(&f->a, "mest"), "Mestring for pårørende");
	assert_string_equal(cfx_search(&f->a, "diab helse"), "Leve med diabetes");
	/* å is a letter of its own, not a. */
	assert_string_equal(cfx_search(&f->a, "parorende"), "");
	assert_string_equal(cfx_search(&f->a, "kols diabetes"), "");
	/* Quotes and FTS5 syntax in what is typed are just separators. */
	assert_string_equal(cfx_search(&f->a, "\"kols\" OR* (diabetes"), "");
	course_fts_query("kols-skole \"x\" NEAR(y)", q, sizeof(q));
	assert_string_equal(q, "\"kols\"* \"skole\"* \"x\"* \"NEAR\"* \"y\"*");

	/* Filters. */
	{
		struct course_filter flt;
		lm_err err;

		memset(&flt, 0, sizeof(flt));
		flt.kind = "samtalegruppe";
		assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "Mestring for pårørende");
		memset(&flt, 0, sizeof(flt));
		flt.target = "parorende";
		assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "Mestring for pårørende");
		memset(&flt, 0, sizeof(flt));
		flt.diagnosis = "independent";
		assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "Mestring for pårørende");
		flt.diagnosis = "Diabetes";
		assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "Leve med diabetes");
		memset(&flt, 0, sizeof(flt));
		flt.municipality = "trondheim";
		assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "KOLS-skole");
		memset(&flt, 0, sizeof(flt));
		flt.from = "2026-10-01";
		flt.to = "2026-10-31";
		assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "KOLS-skole");
		flt.to = "2026-11-01";
		assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL),
				    "KOLS-skole Mestring for pårørende");
		flt.from = "2026-10-16";
		assert_string_equal(cfx_titles(&f->a, &flt, NULL, NULL), "Mestring for pårørende");
		memset(&flt, 0, sizeof(flt));
		flt.status = "planlagt";
		flt.query = "kols";
		assert_string_equal(cfx_titles(&f->a, &flt, "Helse Midt", "Trondheim kommune"),
				    "KOLS-skole Mestring for pårørende");
		memset(&flt, 0, sizeof(flt));
		assert_string_equal(cfx_titles(&f->a, &flt, NULL, f->b.hex), "");
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

	assert_int_equal(cfx_add(f, &f->a, id, "Fysisk aktivitet", CC_DESCRIPTION,
				 "Trening for deg med kols eller astma", -1),
			 0);
	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole", -1), 0);
	assert_string_equal(cfx_search(&f->a, "kols"), "KOLS-skole Fysisk aktivitet");
	assert_string_equal(cfx_search(&f->a, "astma"), "Fysisk aktivitet");
}

static void test_runs(void **state)
{
	struct fx *f = *state;
	struct run_input in = {{NULL}};
	char id[COURSE_ID_LEN + 1], run[COURSE_ID_LEN + 1];
	struct course_run r = {{NULL}};
	lm_err err;

	assert_int_equal(cfx_add(f, &f->a, id, "KOLS-skole", -1), 0);
	in.v[RC_STARTS] = "2026-09-10";
	in.v[RC_ENDS] = "2026-09-01";
	cfx_reset(f);
	assert_int_equal(course_run_add(&f->a.st, id, &in, run, cfx_collect, f), 1);
	cfx_has_err(f, "--ends: 2026-09-01 is before the start, 2026-09-10");
	in.v[RC_ENDS] = "2026-10-15";
	assert_int_equal(course_run_add(&f->a.st, id, &in, run, cfx_collect, f), 0);

	memset(&in, 0, sizeof(in));
	in.v[RC_HELD] = "ja";
	in.v[RC_PATIENTS] = "12";
	in.v[RC_RELATIVES] = "3";
	in.v[RC_PROFESSIONAL_HOURS] = "2,5";
	in.v[RC_FORMS] = "10";
	in.v[RC_BENEFIT_GOOD] = "6";
	in.v[RC_BENEFIT_VERY_GOOD] = "4";
	cfx_reset(f);
	assert_int_equal(course_run_update(&f->a.st, run, &in, cfx_collect, f), 0);
	memset(&in, 0, sizeof(in));
	in.v[RC_BENEFIT_NONE] = "1";
	assert_int_equal(course_run_update(&f->a.st, run, &in, cfx_collect, f), 1);
	cfx_has_err(f, "-very-good) add up to 11, more than the 10 evaluation forms");
	memset(&in, 0, sizeof(in));
	in.v[RC_PATIENTS] = "-1";
	in.v[RC_USER_REP_HOURS] = "2.555";
	in.v[RC_HELD] = "kanskje";
	in.v[RC_STARTS] = "2026-02-29";
	cfx_reset(f);
	assert_int_equal(course_run_update(&f->a.st, run, &in, cfx_collect, f), 4);
	cfx_has_err(f, "--patients: -1 is out of range");
	cfx_has_err(f,
		    "--user-rep-hours: '2.555' is not a number of hours with at most two decimals");
	cfx_has_err(f, "--held: 'kanskje' is neither ja nor nei");
	cfx_has_err(f, "--starts: '2026-02-29': 2026-02 has no day 29");

	assert_int_equal(course_run_find(&f->a.st, run, &r, &err), 1);
	assert_string_equal(r.v[RC_COURSE], id);
	assert_string_equal(r.v[RC_NETWORK], f->net);
	assert_string_equal(r.v[RC_HELD], "1");
	assert_string_equal(r.v[RC_PATIENTS], "12");
	assert_string_equal(r.v[RC_PROFESSIONAL_HOURS], "2.5");
	assert_string_equal(r.v[RC_BENEFIT_NONE], "0");
	course_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_field_checked, cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_add_edit_archive, cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_owner_and_membership, cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_move_network, cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_search_index_follows_merges, cfx_setup,
					    cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_search_index_rebuilt_on_upgrade, cfx_setup,
					    cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_find_by_prefix, cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_search, cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_search_rank, cfx_setup, cfx_teardown),
	    cmocka_unit_test_setup_teardown(test_runs, cfx_setup, cfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
