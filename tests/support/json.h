/* SPDX-License-Identifier: MIT */
/* A small, strict JSON reader for test data (RFC 8259): objects, arrays,
 * strings, numbers, true, false and null. It reads a whole document into a
 * tree of json_value and rejects anything the grammar does not allow:
 * trailing commas, comments, leading zeros, raw control characters in
 * strings, lone surrogates, duplicate member names, trailing bytes, nesting
 * deeper than JSON_MAX_DEPTH. Bytes of strings are passed through as they
 * are (the test files are ASCII).
 *
 * Owner: json_parse fills a json_value the caller provides; json_free frees
 * everything below it (not the value itself). A failed parse frees its own
 * partial result.
 */
#ifndef LMSYNC_TESTS_JSON_H
#define LMSYNC_TESTS_JSON_H

#include <stddef.h>

#include "proto/err.h"

#define JSON_MAX_DEPTH 64

typedef enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
} json_type;

typedef struct json_value {
	json_type type;
	double number;		  /* JSON_NUMBER */
	char *str;		  /* JSON_STRING, NUL-terminated */
	size_t str_len;		  /* JSON_STRING, without the NUL */
	struct json_value *items; /* JSON_ARRAY elements, JSON_OBJECT member values */
	char **keys;		  /* JSON_OBJECT member names, count of them */
	size_t count;
} json_value;

/* Parse text (len bytes, no NUL needed) into *out. Returns 0, or -1 with a
 * message giving the line and column of the problem. */
int json_parse(const char *text, size_t len, json_value *out, lm_err *err);

/* Free what json_parse allocated under v. */
void json_free(json_value *v);

/* The member named key of an object, or NULL if v is not an object or has
 * no such member. */
const json_value *json_get(const json_value *v, const char *key);

/* The member named key if it is a string, else NULL. */
const char *json_get_string(const json_value *v, const char *key);

#endif
