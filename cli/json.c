/* SPDX-License-Identifier: MIT */
/* JSON writer; see json.h. A key counts as the start of its value, so the
 * comma goes before the key and none between the key and its value. */
#include "cli/json.h"

#include <inttypes.h>

void json_init(struct json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->count[0] = 0;
	j->after_key = 0;
}

static void before_value(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->count[j->depth] > 0)
		fputc(',', j->out);
	j->count[j->depth]++;
}

static void open_level(struct json *j, char c)
{
	before_value(j);
	fputc(c, j->out);
	if (j->depth + 1 < JSON_DEPTH_MAX)
		j->depth++;
	j->count[j->depth] = 0;
}

static void close_level(struct json *j, char c)
{
	fputc(c, j->out);
	if (j->depth > 0)
		j->depth--;
}

void json_object_begin(struct json *j)
{
	open_level(j, '{');
}

void json_object_end(struct json *j)
{
	close_level(j, '}');
}

void json_array_begin(struct json *j)
{
	open_level(j, '[');
}

void json_array_end(struct json *j)
{
	close_level(j, ']');
}

static void write_string(FILE *out, const char *s)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void json_key(struct json *j, const char *key)
{
	before_value(j);
	write_string(j->out, key);
	fputc(':', j->out);
	j->after_key = 1;
}

void json_str(struct json *j, const char *s)
{
	before_value(j);
	if (s == NULL)
		fputs("null", j->out);
	else
		write_string(j->out, s);
}

void json_int(struct json *j, int64_t v)
{
	before_value(j);
	fprintf(j->out, "%" PRId64, v);
}

void json_bool(struct json *j, int v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j)
{
	before_value(j);
	fputs("null", j->out);
}

void json_kv_str(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_kv_int(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kv_bool(struct json *j, const char *key, int v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_finish(struct json *j)
{
	fputc('\n', j->out);
}
