/* SPDX-License-Identifier: MIT */
/* A small streaming JSON writer for --json output: one value per call,
 * commas and nesting tracked here, strings escaped per RFC 8259. */
#ifndef LMSYNC_CLI_JSON_H
#define LMSYNC_CLI_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

struct json {
	FILE *out;
	int depth;
	int count[JSON_DEPTH_MAX]; /* values written at each depth */
	int after_key;		   /* a key was written; its value comes next */
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
/* Inside an object: the key of the next value. */
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);

/* Shorthands for a key and its value. */
void json_kv_str(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, int64_t v);
void json_kv_bool(struct json *j, const char *key, int v);

/* End the document with a newline. */
void json_finish(struct json *j);

#endif
