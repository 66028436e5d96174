/* SPDX-License-Identifier: MIT */
/* Lower case and order beyond ASCII (store/textfold.h): the names Norwegian
 * and Sami coordinators type, in C and as lm_lower() and the collation
 * lm_name on a store connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/textfold.h"
#include "tests/support/tmpdir.h"

static void folds_to(const char *in, const char *want)
{
	char out[256];
	size_t len = strlen(in);

	assert_true(len < sizeof(out));
	textfold_lower(in, len, out);
	out[len] = '\0';
	assert_string_equal(out, want);
}

static void test_norwegian_letters(void **state)
{
	(void)state;
	folds_to("ØRLAND KOMMUNE", "ørland kommune");
	folds_to("Ålesund", "ålesund");
	folds_to("ÆØÅ æøå", "æøå æøå");
	folds_to("Helse Møre og Romsdal HF", "helse møre og romsdal hf");
	folds_to("BÆRUM", "bærum");
}

static void test_sami_and_other_latin_letters(void **state)
{
	(void)state;
	folds_to("KÁRÁŠJOHKA", "kárášjohka");
	folds_to("ČĐŊŠŦŽ", "čđŋšŧž");
	folds_to("ĹĽŇ ŹŻ", "ĺľň źż");
	folds_to("ÉÜÖÄ Ÿ", "éüöä ÿ");
}

/* What has no lower case of the same length stays, and so does what is
 * not UTF-8: the fold never moves a byte. */
static void test_what_stays(void **state)
{
	(void)state;
	folds_to("× ß ı İ ĸ ſ 123 -_.", "× ß ı İ ĸ ſ 123 -_.");
	folds_to("\xc3", "\xc3");		  /* cut short */
	folds_to("\xc3(", "\xc3(");		  /* no continuation byte */
	folds_to("\xe2\x82\xac", "\xe2\x82\xac"); /* €, three bytes */
	folds_to("\xc5\xbf\xc6\x80", "\xc5\xbf\xc6\x80");
}

static int before(const char *a, const char *b)
{
	return textfold_compare(a, strlen(a), b, strlen(b)) < 0 &&
	       textfold_compare(b, strlen(b), a, strlen(a)) > 0;
}

/* Norwegian order: æ ø å after z, in that order, whatever the case; é and
 * the Sami letters with their base letter; equal names compare equal. */
static void test_norwegian_order(void **state)
{
	static const char *const sorted[] = {
	    "Árdna", "Aremark", "Bærum",  "Čáhcesuolu", "Eid",	   "Étne",
	    "Zzz",   "Æsir",	"Ørland", "ålen",	"Ålesund", "ålesund",
	};
	size_t i, j, n = sizeof(sorted) / sizeof(sorted[0]);

	(void)state;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (!before(sorted[i], sorted[j]))
				fail_msg("'%s' does not sort before '%s'", sorted[i], sorted[j]);
	assert_int_equal(textfold_compare("Bø", 3, "Bø", 3), 0);
	assert_true(before("Ål", "Åla")); /* the shorter first */
	assert_true(before("Øy", "Åa"));
	/* A lone byte that is no UTF-8 (æ in Windows-1252) is no letter: after
	 * every one, not taken for æ. */
	assert_true(before("Åse", "\xe6"));
}

/* lm_lower on a real store: what lmsync's lookups compare with. */
static void test_sql_function(void **state)
{
	struct store st;
	sqlite3_stmt *stmt;
	char dir[256], path[512];
	lm_err err;

	(void)state;
	assert_int_equal(tmpdir_make("textfold", dir, sizeof(dir), "store.db", path, sizeof(path)),
			 0);
	assert_int_equal(store_open(&st, path, STORE_CREATE, &err), 0);
	assert_int_equal(
	    sqlite3_prepare_v2(st.db,
			       "SELECT lm_lower('Ørsta'), lm_lower('ØRSTA') = "
			       "lm_lower('ørsta'), lm_lower(NULL) IS NULL, lower('Ørsta')",
			       -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "ørsta");
	assert_int_equal(sqlite3_column_int(stmt, 1), 1);
	assert_int_equal(sqlite3_column_int(stmt, 2), 1);
	/* Why it exists: SQLite's own leaves Ø as it is. */
	assert_string_equal((const char *)sqlite3_column_text(stmt, 3), "Ørsta");
	sqlite3_finalize(stmt);
	/* The collation, as the lists of networks and organisations use it. */
	assert_int_equal(
	    sqlite3_prepare_v2(st.db,
			       "SELECT group_concat(n, ',') FROM (SELECT column1 AS n "
			       "FROM (VALUES ('Ås'), ('Ørland'), ('bø'), ('Zzz'), ('Bærum')) "
			       "ORDER BY n COLLATE lm_name)",
			       -1, &stmt, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "Bærum,bø,Zzz,Ørland,Ås");
	sqlite3_finalize(stmt);
	store_close(&st);
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_norwegian_letters),
	    cmocka_unit_test(test_sami_and_other_latin_letters),
	    cmocka_unit_test(test_what_stays),
	    cmocka_unit_test(test_norwegian_order),
	    cmocka_unit_test(test_sql_function),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
