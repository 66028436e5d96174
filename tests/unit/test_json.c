/* SPDX-License-Identifier: MIT */
/* The --json writer, compared byte for byte: commas in the right places at
 * every depth, empty containers, RFC 8259 escaping, UTF-8 passed through and
 * 64-bit integers at their extremes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/json.h"

/* A writer over a memory FILE; out() closes it and returns the text. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
	struct json j;
};

static int setup(void **state)
{
	struct capture *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	c->f = open_memstream(&c->buf, &c->len);
	if (c->f == NULL) {
		free(c);
		return -1;
	}
	json_init(&c->j, c->f);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct capture *c = *state;

	if (c->f)
		fclose(c->f);
	free(c->buf);
	free(c);
	return 0;
}

static const char *out(struct capture *c)
{
	assert_int_equal(fclose(c->f), 0);
	c->f = NULL;
	assert_int_equal(strlen(c->buf), c->len);
	return c->buf;
}

static void test_nested(void **state)
{
	struct capture *c = *state;
	struct json *j = &c->j;

	json_object_begin(j);
	json_kv_int(j, "a", 1);
	json_key(j, "b");
	json_array_begin(j);
	json_int(j, 1);
	json_int(j, 2);
	json_object_begin(j);
	json_kv_str(j, "c", "d");
	json_object_end(j);
	json_array_end(j);
	json_key(j, "e");
	json_object_begin(j);
	json_kv_bool(j, "f", 1);
	json_key(j, "g");
	json_null(j);
	json_object_end(j);
	json_kv_bool(j, "h", 0);
	json_object_end(j);
	json_finish(j);
	assert_string_equal(out(c),
			    "{\"a\":1,\"b\":[1,2,{\"c\":\"d\"}],\"e\":{\"f\":true,\"g\":null},"
			    "\"h\":false}\n");
}

/* The comma after a nested container, in arrays and in objects. */
static void test_commas_after_containers(void **state)
{
	struct capture *c = *state;
	struct json *j = &c->j;

	json_array_begin(j);
	json_array_begin(j);
	json_int(j, 1);
	json_array_end(j);
	json_array_begin(j);
	json_int(j, 2);
	json_int(j, 3);
	json_array_end(j);
	json_object_begin(j);
	json_key(j, "x");
	json_array_begin(j);
	json_array_end(j);
	json_key(j, "y");
	json_object_begin(j);
	json_object_end(j);
	json_kv_int(j, "z", 0);
	json_object_end(j);
	json_str(j, "end");
	json_array_end(j);
	json_finish(j);
	assert_string_equal(out(c), "[[1],[2,3],{\"x\":[],\"y\":{},\"z\":0},\"end\"]\n");
}

static void test_empty_containers(void **state)
{
	struct capture *c = *state;
	struct json *j = &c->j;

	json_object_begin(j);
	json_key(j, "peers");
	json_array_begin(j);
	json_array_end(j);
	json_key(j, "meta");
	json_object_begin(j);
	json_object_end(j);
	json_object_end(j);
	json_finish(j);
	assert_string_equal(out(c), "{\"peers\":[],\"meta\":{}}\n");
}

static void test_empty_top_level(void **state)
{
	struct capture *c = *state;
	struct json *j = &c->j;

	json_array_begin(j);
	json_array_begin(j);
	json_array_end(j);
	json_object_begin(j);
	json_object_end(j);
	json_array_begin(j);
	json_array_end(j);
	json_array_end(j);
	assert_string_equal(out(c), "[[],{},[]]");
}

/* A list of objects, as `lmsync peer list --json` writes it. */
static void test_array_of_objects(void **state)
{
	static const char *const names[] = {"Alta", "Bodø", "Tromsø"};
	struct capture *c = *state;
	struct json *j = &c->j;
	int i;

	json_object_begin(j);
	json_kv_bool(j, "ok", 1);
	json_key(j, "peers");
	json_array_begin(j);
	for (i = 0; i < 3; i++) {
		json_object_begin(j);
		json_kv_str(j, "name", names[i]);
		json_kv_int(j, "n", i);
		json_object_end(j);
	}
	json_array_end(j);
	json_kv_int(j, "count", 3);
	json_object_end(j);
	json_finish(j);
	assert_string_equal(out(c), "{\"ok\":true,\"peers\":[{\"name\":\"Alta\",\"n\":0},"
				    "{\"name\":\"Bodø\",\"n\":1},{\"name\":\"Tromsø\",\"n\":2}],"
				    "\"count\":3}\n");
}

static void test_escaping(void **state)
{
	struct capture *c = *state;
	struct json *j = &c->j;

	json_array_begin(j);
	json_str(j, "say \"hi\"");
	json_str(j, "C:\\lmsync\\");
	json_str(j, "two\nlines\tand tab");
	json_str(j, "\x01\x02\x1f\r\b\f");
	json_str(j, "del\x7f");
	json_str(j, "/ stays");
	json_str(j, "");
	json_str(j, NULL);
	json_array_end(j);
	assert_string_equal(out(c), "[\"say \\\"hi\\\"\","
				    "\"C:\\\\lmsync\\\\\","
				    "\"two\\nlines\\tand tab\","
				    "\"\\u0001\\u0002\\u001f\\u000d\\u0008\\u000c\","
				    "\"del\\u007f\","
				    "\"/ stays\","
				    "\"\","
				    "null]");
}

static void test_key_escaping(void **state)
{
	struct capture *c = *state;
	struct json *j = &c->j;

	json_object_begin(j);
	json_kv_str(j, "a\"b\\c\n", "v");
	json_kv_int(j, "ø", 1);
	json_object_end(j);
	assert_string_equal(out(c), "{\"a\\\"b\\\\c\\n\":\"v\",\"ø\":1}");
}

static void test_utf8_unchanged(void **state)
{
	static const char text[] = "æøå ÆØÅ – Lærings- og mestringssenteret i Tromsø € 😀";
	struct capture *c = *state;
	struct json *j = &c->j;
	char want[256];

	json_str(j, text);
	snprintf(want, sizeof(want), "\"%s\"", text);
	assert_string_equal(out(c), want);
}

static void test_int64_extremes(void **state)
{
	struct capture *c = *state;
	struct json *j = &c->j;

	json_array_begin(j);
	json_int(j, INT64_MIN);
	json_int(j, INT64_MAX);
	json_int(j, 0);
	json_int(j, -1);
	json_int(j, (int64_t)UINT32_MAX + 1);
	json_array_end(j);
	assert_string_equal(out(c), "[-9223372036854775808,9223372036854775807,0,-1,4294967296]");
}

/* Two documents written one after the other with the same writer. */
static void test_reinit(void **state)
{
	struct capture *c = *state;
	struct json *j = &c->j;

	json_object_begin(j);
	json_kv_int(j, "a", 1);
	json_object_end(j);
	json_finish(j);
	json_init(j, c->f);
	json_object_begin(j);
	json_kv_int(j, "b", 2);
	json_object_end(j);
	json_finish(j);
	assert_string_equal(out(c), "{\"a\":1}\n{\"b\":2}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commas_after_containers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_containers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_top_level, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_array_of_objects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_escaping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_utf8_unchanged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_int64_extremes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reinit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
