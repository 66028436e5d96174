/* SPDX-License-Identifier: MIT */
/* The coordinators' input checks (domain/validate.h, domain/enums.h) and the
 * domain schema (domain/schema.h) on a real store:
 *
 *  - the identity-number guard finds valid fødselsnumre written together or
 *    as 6 + 5, and lets near misses and longer digit runs through;
 *  - organisation numbers, kommunenumre, dates and periods are checked to
 *    the digit, with messages that name the field;
 *  - enumerations accept their ASCII spellings and name the allowed values;
 *  - the schema installs once, registers every table, refuses invalid rows
 *    in SQL too, and keeps the course index in step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "domain/enums.h"
#include "domain/network.h"
#include "domain/org.h"
#include "domain/schema.h"
#include "domain/validate.h"
#include "store/fnr.h"
#include "tests/support/store_fx.h"

/* Valid numbers computed by hand with the published weights. */
#define FNR_A "15057545612"
#define FNR_B "31129987688"

static void test_fnr_check_digits(void **state)
{
	(void)state;
	assert_true(fnr_valid(FNR_A));
	assert_true(fnr_valid(FNR_B));
	assert_false(fnr_valid("15057545613")); /* second check digit off */
	assert_false(fnr_valid("15057545602")); /* first check digit off */
	assert_false(fnr_valid("12345678901"));
}

static int find(const char *s, size_t *at)
{
	return fnr_find(s, strlen(s), 0, at);
}

static int find_bounded(const char *s)
{
	size_t at;

	return fnr_find(s, strlen(s), 1, &at);
}

static void test_fnr_found_in_text(void **state)
{
	size_t at = 0;

	(void)state;
	assert_true(find("Deltaker " FNR_A " meldte seg på", &at));
	assert_int_equal(at, 9);
	assert_true(find("150575 45612", &at));
	assert_int_equal(at, 0);
	assert_true(find("nr. 150575-45612.", &at));
	assert_true(find(FNR_B, &at));
	/* Near misses: a wrong check digit, 12 digits, 10 digits, a phone. */
	assert_false(find("15057545613", &at));
	assert_false(find("9" FNR_A, &at));
	assert_false(find("1505754561", &at));
	assert_false(find("Ring 73 86 80 00 eller 99887766", &at));
	assert_false(find("", &at));
	/* Bounded (the seal's backstop): apart from letters and digits, as a
	 * person writes it, not inside an identifier such as a hex site id. */
	assert_true(find_bounded("Deltaker " FNR_A ", tlf"));
	assert_true(find_bounded("(150575-45612)"));
	assert_true(find_bounded(FNR_B));
	assert_true(find("8a" FNR_A "ff", &at));
	assert_false(find_bounded("8a" FNR_A "ff"));
	assert_false(find_bounded("x150575 45612"));
	assert_false(find_bounded("150575 45612b"));
	/* Only the length given is read. */
	assert_int_equal(fnr_find(FNR_A "9", 11, 0, &at), 1);
	assert_int_equal(fnr_find(FNR_A, 10, 0, &at), 0);
}

/* Whole-buffer UTF-8, and whether it holds letters of two or more bytes:
 * what tells a Windows-1252 file (none) from damaged UTF-8 (some). */
static void test_utf8_valid(void **state)
{
	int multi;

	(void)state;
	assert_int_equal(dom_utf8_valid("Bodø", 5, &multi), 1);
	assert_int_equal(multi, 1);
	assert_int_equal(dom_utf8_valid("Bodo", 4, &multi), 1);
	assert_int_equal(multi, 0);
	assert_int_equal(dom_utf8_valid("Bod\xf8", 4, &multi), 0); /* Windows-1252 */
	assert_int_equal(multi, 0);
	assert_int_equal(dom_utf8_valid("L\xc3\xa6ring \xf8", 10, &multi), 0);
	assert_int_equal(multi, 1);
	assert_int_equal(dom_utf8_valid("\xc3", 1, &multi), 0);		/* cut short */
	assert_int_equal(dom_utf8_valid("\xc0\x80", 2, &multi), 0);	/* overlong */
	assert_int_equal(dom_utf8_valid("\xed\xa0\x80", 3, &multi), 0); /* a surrogate */
}

/* Dates as typed or as a Norwegian spreadsheet writes them, kept as
 * YYYY-MM-DD; anything else refused with both forms named. */
static void test_parse_date(void **state)
{
	char out[11];
	lm_err err;

	(void)state;
	assert_int_equal(dom_parse_date("--starts", "2026-09-14", out, &err), 0);
	assert_string_equal(out, "2026-09-14");
	assert_int_equal(dom_parse_date("--starts", "14.09.2026", out, &err), 0);
	assert_string_equal(out, "2026-09-14");
	assert_int_equal(dom_parse_date("--starts", "3.9.2026", out, &err), 0);
	assert_string_equal(out, "2026-09-03");
	assert_int_equal(dom_parse_date("--starts", "29.02.2028", out, &err), 0);
	assert_int_equal(dom_parse_date("--starts", "29.02.2026", out, &err), -1);
	assert_string_equal(err.msg, "--starts: '29.02.2026': 2026-02 has no day 29");
	assert_int_equal(dom_parse_date("--starts", "14.13.2026", out, &err), -1);
	assert_non_null(strstr(err.msg, "there is no month 13"));
	assert_int_equal(dom_parse_date("--starts", "2026/09/14", out, &err), -1);
	assert_non_null(strstr(err.msg, "write YYYY-MM-DD or DD.MM.YYYY"));
	assert_int_equal(dom_parse_date("--starts", "14.09.26", out, &err), -1);
	assert_int_equal(dom_parse_date("--starts", "14.09.2026x", out, &err), -1);
	assert_int_equal(dom_parse_date("--starts", "114.09.2026", out, &err), -1);
	assert_int_equal(dom_parse_date("--starts", "2026-09-14 ", out, &err), -1);
	assert_int_equal(dom_parse_date("--starts", "", out, &err), -1);
	assert_int_equal(dom_parse_date("--starts", "12", out, &err), -1); /* no read past it */
	assert_int_equal(dom_parse_date("--starts", "1.", out, &err), -1);
	assert_int_equal(dom_parse_date("--starts", "1.2.", out, &err), -1);
}

static void test_text_rules(void **state)
{
	lm_err err;

	(void)state;
	assert_int_equal(dom_check_text("--title", "KOLS-skole på Ørland", 200, 0, 1, &err), 0);
	assert_int_equal(dom_check_text("--title", "", 200, 0, 1, &err), -1);
	assert_string_equal(err.msg, "--title: must not be empty");
	assert_int_equal(dom_check_text("--title", "", 200, 0, 0, &err), 0);
	assert_int_equal(dom_check_text("--note", "Til " FNR_A, 200, 1, 1, &err), -1);
	assert_non_null(
	    strstr(err.msg, "--note: holds what looks like a national identity number"));
	assert_int_equal(dom_check_text("--title", "to\nlinjer", 200, 0, 1, &err), -1);
	assert_non_null(strstr(err.msg, "line breaks are not allowed here"));
	assert_int_equal(dom_check_text("--description", "to\nlinjer", 200, 1, 1, &err), 0);
	assert_int_equal(dom_check_text("--title", "bad \xc3\x28 utf8", 200, 0, 1, &err), -1);
	assert_non_null(strstr(err.msg, "not valid UTF-8"));
	assert_int_equal(dom_check_text("--title", "\xc0\xaf", 200, 0, 1, &err), -1); /* overlong */
	assert_int_equal(dom_check_text("--title", "abcdef", 5, 0, 1, &err), -1);
	assert_string_equal(err.msg, "--title: 6 bytes is too long; at most 5");
}

static void test_orgnr_and_kommunenr(void **state)
{
	lm_err err;

	(void)state;
	assert_int_equal(dom_check_orgnr("--orgnr", "974760673", &err), 0);
	assert_int_equal(dom_check_orgnr("--orgnr", "937884117", &err), 0);
	assert_int_equal(dom_check_orgnr("--orgnr", "974760674", &err), -1);
	assert_non_null(strstr(err.msg, "--orgnr: '974760674' is not a valid organisation number"));
	assert_int_equal(dom_check_orgnr("--orgnr", "97476067", &err), -1);
	assert_non_null(strstr(err.msg, "it has 9 digits"));
	assert_int_equal(dom_check_orgnr("--orgnr", "97476067x", &err), -1);
	assert_int_equal(dom_check_kommunenr("--kommunenr", "5001", &err), 0);
	assert_int_equal(dom_check_kommunenr("--kommunenr", "0301", &err), 0);
	assert_int_equal(dom_check_kommunenr("--kommunenr", "0000", &err), -1);
	assert_int_equal(dom_check_kommunenr("--kommunenr", "501", &err), -1);
	assert_non_null(strstr(err.msg, "--kommunenr: '501' is not a kommunenummer"));
}

static void test_dates_and_periods(void **state)
{
	char from[11], to[11];
	lm_err err;

	(void)state;
	assert_int_equal(dom_check_date("--due", "2026-12-03", &err), 0);
	assert_int_equal(dom_check_date("--due", "2028-02-29", &err), 0);
	assert_int_equal(dom_check_date("--due", "2026-02-29", &err), -1);
	assert_string_equal(err.msg, "--due: '2026-02-29': 2026-02 has no day 29");
	assert_int_equal(dom_check_date("--due", "2100-02-29", &err), -1);
	assert_int_equal(dom_check_date("--due", "2026-13-01", &err), -1);
	assert_int_equal(dom_check_date("--due", "3.12.2026", &err), -1);
	assert_non_null(strstr(err.msg, "write YYYY-MM-DD"));
	assert_int_equal(dom_check_date("--due", "2026-12-3", &err), -1);
	assert_int_equal(dom_period_parse("--period", "2026", from, to, &err), 0);
	assert_string_equal(from, "2026-01-01");
	assert_string_equal(to, "2026-12-31");
	assert_int_equal(dom_period_parse("--period", "2026-H2", from, to, &err), 0);
	assert_string_equal(from, "2026-07-01");
	assert_string_equal(to, "2026-12-31");
	assert_int_equal(dom_period_parse("--period", "2028-Q1", from, to, &err), 0);
	assert_string_equal(to, "2028-03-31");
	assert_int_equal(dom_period_parse("--period", "2028-02", from, to, &err), 0);
	assert_string_equal(to, "2028-02-29");
	assert_int_equal(dom_period_parse("--period", "2026-Q5", from, to, &err), -1);
	assert_int_equal(dom_period_parse("--period", "26", from, to, &err), -1);
	assert_non_null(strstr(err.msg, "--period: '26' is not a period"));
}

static void test_numbers(void **state)
{
	double h;
	long v;
	int b;
	lm_err err;

	(void)state;
	assert_int_equal(dom_parse_int("--capacity", "12", 0, 500, &v, &err), 0);
	assert_int_equal(v, 12);
	assert_int_equal(dom_parse_int("--capacity", "-1", 0, 500, &v, &err), -1);
	assert_string_equal(err.msg, "--capacity: -1 is out of range (0 to 500)");
	assert_int_equal(dom_parse_int("--capacity", "12a", 0, 500, &v, &err), -1);
	assert_int_equal(dom_parse_int("--capacity", "", 0, 500, &v, &err), -1);
	assert_int_equal(dom_parse_hours("--hours", "2,5", 100, &h, &err), 0);
	assert_true(h > 2.49 && h < 2.51);
	assert_int_equal(dom_parse_hours("--hours", "2.555", 100, &h, &err), -1);
	assert_int_equal(dom_parse_hours("--hours", "1e3", 100000, &h, &err), -1);
	assert_int_equal(dom_parse_hours("--hours", "101", 100, &h, &err), -1);
	assert_int_equal(dom_parse_bool("--standard-metode", "Ja", &b, &err), 0);
	assert_int_equal(b, 1);
	assert_int_equal(dom_parse_bool("--standard-metode", "nei", &b, &err), 0);
	assert_int_equal(b, 0);
	assert_int_equal(dom_parse_bool("--standard-metode", "kanskje", &b, &err), -1);
}

static void test_registration(void **state)
{
	lm_err err;

	(void)state;
	assert_int_equal(dom_check_registration("--registration", "lms@stolav.no", &err), 0);
	assert_int_equal(
	    dom_check_registration("--registration", "https://trondheim.kommune.no/lms", &err), 0);
	assert_int_equal(dom_check_registration("--registration", "ring 99887766", &err), -1);
	assert_int_equal(dom_check_registration("--registration", "99887766", &err), -1);
	assert_non_null(strstr(err.msg, "phone number"));
	assert_int_equal(dom_check_registration("--registration", "post@", &err), -1);
	assert_int_equal(dom_check_registration("--registration", "kontoret", &err), -1);
}

static void test_enum_spellings(void **state)
{
	char list[256];
	lm_err err;

	(void)state;
	assert_string_equal(dom_enum_parse(&dom_item_status, "--status", "åpen", &err), "åpen");
	assert_string_equal(dom_enum_parse(&dom_item_status, "--status", "apen", &err), "åpen");
	assert_string_equal(dom_enum_parse(&dom_item_status, "--status", "Aapen", &err), "åpen");
	assert_string_equal(dom_enum_parse(&dom_item_status, "--status", "pagar", &err), "pågår");
	assert_string_equal(dom_enum_parse(&dom_course_kind, "--kind", "e-laering", &err),
			    "e-læring");
	assert_string_equal(dom_enum_parse(&dom_course_kind, "--kind", "TEMAMØTE", &err),
			    "temamøte");
	assert_string_equal(dom_enum_parse(&dom_benefit, "--x", "svaert god", &err), "svært-god");
	assert_string_equal(dom_enum_parse(&dom_party_role, "--role", "observator", &err),
			    "observatør");
	assert_null(dom_enum_parse(&dom_course_kind, "--kind", "kursus", &err));
	assert_non_null(strstr(err.msg, "--kind: 'kursus' is not a kind; use kurs, temamøte"));
	assert_non_null(strstr(err.msg, "leir or e-læring"));
	dom_enum_list(&dom_delivery, list, sizeof(list));
	assert_string_equal(list, "fysisk, video or digitalt");
}

/* ---- the schema on a real store ------------------------------------- */

/* A new store, claimed by a key of its own (any key will do). */
static int fx_setup(void **state)
{
	struct store_fx *f;
	uint8_t pk[32], sk[64];
	lm_err err;

	if (store_fx_setup_open(state, "validate") != 0)
		return -1;
	f = *state;
	crypto_sign_keypair(pk, sk);
	if (store_claim(&f->st, pk, &err) != 0) {
		(void)store_fx_teardown(state);
		return -1;
	}
	return 0;
}

static int fx_teardown(void **state)
{
	return store_fx_teardown(state);
}

static long qint(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt;
	long v = -1;

	assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

static void test_schema_installs_once(void **state)
{
	struct store_fx *f = *state;
	lm_err err;

	assert_int_equal(domain_installed(&f->st, &err), 0);
	assert_int_equal(domain_install(&f->st, &err), 0);
	assert_int_equal(domain_installed(&f->st, &err), 1);
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM repl_table WHERE name LIKE 'lm\\_%' "
				      "ESCAPE '\\' AND name <> 'lm_member'"),
			 11);
	/* Again: nothing changes, nothing fails. */
	assert_int_equal(domain_install(&f->st, &err), 0);
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
				      "AND tbl_name = 'lm_course'"),
			 6);
}

static void test_schema_refuses_in_sql(void **state)
{
	struct store_fx *f = *state;
	char me[65], sql[512];
	lm_err err;

	assert_int_equal(domain_install(&f->st, &err), 0);
	assert_int_equal(domain_site_hex(&f->st, me, &err), 0);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO lm_course(owner, id, scope, title, kind) VALUES ('%s', 'c1', 'open', "
		 "'KOLS-skole', 'kursus')",
		 me);
	assert_int_not_equal(sqlite3_exec(f->st.db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(f->st.db), "CHECK constraint failed"));
	/* Another site's course: the owner trigger refuses it. */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO lm_course(owner, id, scope, title) VALUES ('%064d', 'c1', 'open', "
		 "'x')",
		 0);
	assert_int_not_equal(sqlite3_exec(f->st.db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(f->st.db), "only its owner can change it"));
	/* Notes are append-only. */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO lm_agreement_note(author, id, scope, kind, body) VALUES ('%s', 'n1', "
		 "'open', 'notat', 'Møte holdt')",
		 me);
	assert_int_equal(sqlite3_exec(f->st.db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(f->st.db, "UPDATE lm_agreement_note SET body = 'x'", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(f->st.db), "never changed"));
	assert_int_not_equal(
	    sqlite3_exec(f->st.db, "DELETE FROM lm_agreement_note", NULL, NULL, NULL), SQLITE_OK);
}

static void test_course_index_follows_writes(void **state)
{
	struct store_fx *f = *state;
	char me[65], sql[512];
	lm_err err;

	assert_int_equal(domain_install(&f->st, &err), 0);
	assert_int_equal(domain_site_hex(&f->st, me, &err), 0);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO lm_course(owner, id, scope, title, description) VALUES ('%s', 'c1', "
		 "'open', 'KOLS-skole', 'For deg som lever med kols og pårørende')",
		 me);
	assert_int_equal(sqlite3_exec(f->st.db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM lm_course_fts WHERE lm_course_fts "
				      "MATCH 'kols'"),
			 1);
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM lm_course_fts WHERE lm_course_fts "
				      "MATCH 'pårørende'"),
			 1);
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM lm_course_fts WHERE lm_course_fts "
				      "MATCH 'parorende'"),
			 0);
	assert_int_equal(
	    sqlite3_exec(f->st.db, "UPDATE lm_course SET title = 'Hjerteskole'", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM lm_course_fts WHERE lm_course_fts "
				      "MATCH 'title:kols'"),
			 0);
	assert_int_equal(sqlite3_exec(f->st.db, "DELETE FROM lm_course", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM lm_course_fts"), 0);
}

static void test_org_and_network(void **state)
{
	struct store_fx *f = *state;
	char id[NETWORK_ID_MAX + 1], got[NETWORK_ID_MAX + 1], me[65];
	struct network n;
	struct org o;
	lm_err err;

	assert_int_equal(domain_install(&f->st, &err), 0);
	assert_int_equal(domain_site_hex(&f->st, me, &err), 0);
	memset(&o, 0, sizeof(o));
	snprintf(o.name, sizeof(o.name), "St. Olavs hospital");
	snprintf(o.kind, sizeof(o.kind), "helseforetak");
	snprintf(o.orgnr, sizeof(o.orgnr), "974760673");
	assert_int_equal(org_set_self(&f->st, &o, &err), 0);
	snprintf(o.orgnr, sizeof(o.orgnr), "974760674");
	assert_int_equal(org_set_self(&f->st, &o, &err), -1);
	assert_non_null(strstr(err.msg, "--orgnr"));
	assert_int_equal(org_get(&f->st, me, &o, &err), 1);
	assert_string_equal(o.orgnr, "974760673");
	snprintf(o.kommunenr, sizeof(o.kommunenr), "5001");
	assert_int_equal(org_set_self(&f->st, &o, &err), -1);
	assert_string_equal(err.msg, "--kommunenr: only a kommune has a kommunenummer, and this "
				     "organisation is of kind helseforetak");
	o.kommunenr[0] = '\0';
	snprintf(o.kind, sizeof(o.kind), "hub");
	assert_int_equal(org_set_self(&f->st, &o, &err), -1);
	assert_non_null(strstr(err.msg, "--kind: hub is the kind of a relaying site"));
	snprintf(o.kind, sizeof(o.kind), "helseforetak");

	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "LMS-nettverket i Midt-Norge");
	snprintf(n.kind, sizeof(n.kind), "region");
	assert_int_equal(network_create(&f->st, "lms-midt", &n, id, sizeof(id), &err), 0);
	assert_int_equal(network_create(&f->st, "lms-midt", &n, id, sizeof(id), &err), -1);
	assert_non_null(strstr(err.msg, "exists already"));
	assert_int_equal(network_resolve(&f->st, "lms-midt", got, sizeof(got), &err), 0);
	assert_string_equal(got, id);
	assert_int_equal(
	    network_resolve(&f->st, "lms-nettverket i midt-norge", got, sizeof(got), &err), 0);
	assert_int_equal(network_resolve(&f->st, "lms-sør", got, sizeof(got), &err), -1);
	assert_int_equal(qint(&f->st, "SELECT count(*) FROM lm_network_member WHERE role = "
				      "'leder'"),
			 1);
	snprintf(n.kind, sizeof(n.kind), "forening");
	assert_int_equal(network_create(&f->st, "annet", &n, id, sizeof(id), &err), -1);
	assert_non_null(strstr(err.msg, "--kind: 'forening' is not a kind"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fnr_check_digits),
	    cmocka_unit_test(test_fnr_found_in_text),
	    cmocka_unit_test(test_text_rules),
	    cmocka_unit_test(test_utf8_valid),
	    cmocka_unit_test(test_parse_date),
	    cmocka_unit_test(test_orgnr_and_kommunenr),
	    cmocka_unit_test(test_dates_and_periods),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_registration),
	    cmocka_unit_test(test_enum_spellings),
	    cmocka_unit_test_setup_teardown(test_schema_installs_once, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_schema_refuses_in_sql, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_course_index_follows_writes, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_org_and_network, fx_setup, fx_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
