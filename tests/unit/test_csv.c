/* SPDX-License-Identifier: MIT */
/* domain/csv: RFC 4180 read and written back, byte for byte: quotes, commas
 * and line breaks inside fields, CRLF and LF, UTF-8, empty fields, a byte
 * order mark; malformed input refused with the line it is on; semicolons
 * read as a spreadsheet in a Norwegian locale writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/csv.h"

/* Every record of s, fields joined by '|' and records ended by ';'. */
static char *read_all(const char *s, int *lines, lm_err *err, int *rc)
{
	struct csv_reader r;
	struct csv_record rec = {{NULL}, 0, 0, NULL, 0};
	size_t cap = 4096, n = 0, i;
	char *out = calloc(1, cap);
	int k = 0;

	assert_non_null(out);
	csv_reader_init(&r, s, strlen(s));
	while ((*rc = csv_read(&r, &rec, err)) == 1) {
		if (lines)
			lines[k++] = rec.line;
		for (i = 0; i < rec.n; i++)
			n +=
			    (size_t)snprintf(out + n, cap - n, "%s%s", i ? "|" : "", rec.fields[i]);
		n += (size_t)snprintf(out + n, cap - n, ";");
	}
	csv_record_free(&rec);
	return out;
}

static void test_plain_and_quoted(void **state)
{
	int rc, lines[8];
	lm_err err;
	char *got = read_all("a,b,c\r\n\"x, y\",\"say \"\"hei\"\"\",\"two\nlines\"\r\nlast,,\n",
			     lines, &err, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(got, "a|b|c;x, y|say \"hei\"|two\nlines;last||;");
	/* The third record starts on line 4: the second spans lines 2 and 3. */
	assert_int_equal(lines[0], 1);
	assert_int_equal(lines[1], 2);
	assert_int_equal(lines[2], 4);
	free(got);
}

/* A spreadsheet set to Norwegian separates by semicolons ("CSV
 * (semikolondelt)"): a first line with semicolons and no comma says so. A
 * comma inside a field is then text; a first line with a comma keeps
 * commas. */
static void test_semicolons(void **state)
{
	int rc;
	lm_err err;
	char *got =
	    read_all("\xef\xbb\xbftitle;kind\r\nKOLS-skole, Trondheim;kurs\r\n\"a;b\";c\r\n", NULL,
		     &err, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(got, "title|kind;KOLS-skole, Trondheim|kurs;a;b|c;");
	free(got);
	got = read_all("title,kind\nKols;astma,kurs\n", NULL, &err, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "title|kind;Kols;astma|kurs;");
	free(got);
}

/* Windows-1252, as a spreadsheet on Norwegian Windows saves CSV: æ ø å
 * and the typographic characters of 0x80 to 0x9F; a byte it leaves
 * undefined means the file is something else. */
static void test_from_windows1252(void **state)
{
	char *out;
	size_t n;

	(void)state;
	assert_int_equal(
	    csv_from_windows1252("Bod\xf8 \xc6\xd8\xc5 \x80 \x96 \x93x\x94", 16, &out, &n), 0);
	assert_string_equal(out, "Bodø ÆØÅ € – “x”");
	assert_int_equal(n, strlen(out));
	free(out);
	assert_int_equal(csv_from_windows1252("X\x81", 2, &out, &n), -1);
}

static void test_utf8_bom_blank_lines(void **state)
{
	int rc, lines[8];
	lm_err err;
	char *got = read_all("\xef\xbb\xbftittel,sted\n\nMestring for pårørende,Ørland\r\n\r\n"
			     "\"Kurs i Ålesund\",\"\"\n",
			     lines, &err, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(got, "tittel|sted;Mestring for pårørende|Ørland;Kurs i Ålesund|;");
	assert_int_equal(lines[1], 3);
	assert_int_equal(lines[2], 5);
	free(got);
}

static void test_no_final_newline(void **state)
{
	int rc;
	lm_err err;
	char *got = read_all("a,\"b\"", NULL, &err, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(got, "a|b;");
	free(got);
}

static void malformed(const char *s, const char *want)
{
	int rc;
	lm_err err;
	char *got = read_all(s, NULL, &err, &rc);

	assert_int_equal(rc, -1);
	if (strstr(err.msg, want) == NULL)
		fail_msg("for %s: expected '%s' in '%s'", s, want, err.msg);
	free(got);
}

static void test_malformed(void **state)
{
	(void)state;
	/* The quote opened on line 3 never closes: named by where it opened. */
	malformed("a,b\nc,d\ne,\"open\nmore\n", "line 3: field 2: the quoted field opened here is "
						"never closed");
	malformed("a,b\nx\"y,z\n", "line 2: field 1: a quote in a field that does not start");
	malformed("\"a\"b,c\n", "line 1: field 1: text after the closing quote");
	malformed("\"a\"\rb\n", "line 1: field 1: a carriage return not followed");
}

/* Written and read back: the same fields; written again: the same bytes. */
static void test_round_trip(void **state)
{
	static const char *const fields[] = {
	    "plain",	   "",
	    "with, comma", "with \"quotes\"",
	    "line\nbreak", "crlf\r\ninside",
	    "æøå ÆØÅ",	   " spaces kept ",
	    "\"",	   ",",
	};
	size_t nf = sizeof(fields) / sizeof(fields[0]), i, len, len2;
	struct csv_reader r;
	struct csv_record rec = {{NULL}, 0, 0, NULL, 0};
	char *buf = NULL, *buf2 = NULL;
	FILE *out;
	lm_err err;
	int rec_no;

	(void)state;
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	for (rec_no = 0; rec_no < 2; rec_no++) {
		for (i = 0; i < nf; i++)
			csv_field(out, fields[i], i == 0);
		csv_end(out);
	}
	assert_int_equal(fclose(out), 0);
	assert_string_equal(buf + strlen(buf) - 2, "\r\n");

	out = open_memstream(&buf2, &len2);
	assert_non_null(out);
	csv_reader_init(&r, buf, len);
	for (rec_no = 0; rec_no < 2; rec_no++) {
		assert_int_equal(csv_read(&r, &rec, &err), 1);
		assert_int_equal(rec.n, nf);
		for (i = 0; i < nf; i++) {
			assert_string_equal(rec.fields[i], fields[i]);
			csv_field(out, rec.fields[i], i == 0);
		}
		csv_end(out);
	}
	assert_int_equal(csv_read(&r, &rec, &err), 0);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	csv_record_free(&rec);
	free(buf);
	free(buf2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_and_quoted), cmocka_unit_test(test_utf8_bom_blank_lines),
	    cmocka_unit_test(test_no_final_newline), cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_round_trip),	     cmocka_unit_test(test_semicolons),
	    cmocka_unit_test(test_from_windows1252),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
