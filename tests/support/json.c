/* SPDX-License-Identifier: MIT */
/* The strict JSON reader; see json.h. A recursive descent parser over a
 * cursor, one function per grammar rule, growing arrays with realloc. */
#include "tests/support/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
	const char *s;
	size_t len;
	size_t pos;
	int depth;
	lm_err *err;
} parser;

/* A growable byte buffer for string contents. */
typedef struct strbuf {
	char *p;
	size_t len, cap;
} strbuf;

static int parse_value(parser *ps, json_value *out);

static int fail(parser *ps, const char *what)
{
	size_t i, line = 1, col = 1;

	for (i = 0; i < ps->pos && i < ps->len; i++) {
		if (ps->s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return lm_errf(ps->err, "line %zu, column %zu: %s", line, col, what);
}

static int peek(const parser *ps)
{
	return ps->pos < ps->len ? (unsigned char)ps->s[ps->pos] : -1;
}

static void skip_space(parser *ps)
{
	int c;

	while ((c = peek(ps)) == ' ' || c == '\t' || c == '\n' || c == '\r')
		ps->pos++;
}

static int expect_word(parser *ps, const char *word)
{
	size_t n = strlen(word);

	if (ps->len - ps->pos < n || memcmp(ps->s + ps->pos, word, n) != 0)
		return fail(ps, "unexpected character: expected a value");
	ps->pos += n;
	return 0;
}

static int strbuf_put(strbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16;
		char *q;

		while (cap < b->len + n + 1)
			cap *= 2;
		q = realloc(b->p, cap);
		if (q == NULL)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int hex4(parser *ps, unsigned *out)
{
	unsigned v = 0;
	int i;

	if (ps->len - ps->pos < 4)
		return fail(ps, "a \\u escape needs four hex digits");
	for (i = 0; i < 4; i++) {
		char c = ps->s[ps->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(ps, "a \\u escape needs four hex digits");
	}
	*out = v;
	return 0;
}

static size_t utf8_encode(unsigned cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* \uXXXX, with a surrogate pair read as one code point. */
static int parse_unicode(parser *ps, strbuf *b)
{
	unsigned cp, lo;
	char utf8[4];

	if (hex4(ps, &cp) < 0)
		return -1;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return fail(ps, "a lone low surrogate in a \\u escape");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (expect_word(ps, "\\u") < 0 || hex4(ps, &lo) < 0)
			return fail(ps, "a high surrogate must be followed by a \\u low surrogate");
		if (lo < 0xDC00 || lo > 0xDFFF)
			return fail(ps, "a high surrogate must be followed by a low surrogate");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	return strbuf_put(b, utf8, utf8_encode(cp, utf8)) < 0 ? fail(ps, "out of memory") : 0;
}

static int parse_escape(parser *ps, strbuf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	int c = peek(ps);

	if (c < 0)
		return fail(ps, "the string ends inside an escape");
	ps->pos++;
	if (c == 'u')
		return parse_unicode(ps, b);
	hit = c ? strchr(from, c) : NULL;
	if (hit == NULL)
		return fail(ps, "unknown escape in a string");
	return strbuf_put(b, &to[hit - from], 1) < 0 ? fail(ps, "out of memory") : 0;
}

/* A string, the cursor on its opening quote. */
static int parse_string_raw(parser *ps, strbuf *b)
{
	int c;

	ps->pos++;
	while ((c = peek(ps)) != '"') {
		if (c < 0)
			return fail(ps, "the string has no closing quote");
		if (c < 0x20)
			return fail(ps, "a control character inside a string must be escaped");
		if (c == '\\') {
			ps->pos++;
			if (parse_escape(ps, b) < 0)
				return -1;
			continue;
		}
		if (strbuf_put(b, ps->s + ps->pos, 1) < 0)
			return fail(ps, "out of memory");
		ps->pos++;
	}
	ps->pos++;
	if (b->p == NULL && strbuf_put(b, "", 0) < 0)
		return fail(ps, "out of memory");
	return 0;
}

static int parse_string(parser *ps, json_value *out)
{
	strbuf b = {NULL, 0, 0};

	if (parse_string_raw(ps, &b) < 0) {
		free(b.p);
		return -1;
	}
	out->type = JSON_STRING;
	out->str = b.p;
	out->str_len = b.len;
	return 0;
}

static void skip_digits(parser *ps)
{
	int c;

	while ((c = peek(ps)) >= '0' && c <= '9')
		ps->pos++;
}

static int parse_number(parser *ps, json_value *out)
{
	size_t start = ps->pos, n;
	char buf[128];

	if (peek(ps) == '-')
		ps->pos++;
	if (peek(ps) == '0')
		ps->pos++;
	else if (peek(ps) >= '1' && peek(ps) <= '9')
		skip_digits(ps);
	else
		return fail(ps, "a number needs digits");
	if (peek(ps) == '.') {
		ps->pos++;
		if (!(peek(ps) >= '0' && peek(ps) <= '9'))
			return fail(ps, "a number needs digits after its decimal point");
		skip_digits(ps);
	}
	if (peek(ps) == 'e' || peek(ps) == 'E') {
		ps->pos++;
		if (peek(ps) == '+' || peek(ps) == '-')
			ps->pos++;
		if (!(peek(ps) >= '0' && peek(ps) <= '9'))
			return fail(ps, "a number needs digits in its exponent");
		skip_digits(ps);
	}
	n = ps->pos - start;
	if (n >= sizeof(buf))
		return fail(ps, "a number is too long");
	memcpy(buf, ps->s + start, n);
	buf[n] = '\0';
	out->type = JSON_NUMBER;
	out->number = strtod(buf, NULL);
	return 0;
}

/* Append a zeroed slot to v's items (and keys, for objects). */
static json_value *add_item(parser *ps, json_value *v)
{
	json_value *items = realloc(v->items, (v->count + 1) * sizeof(*items));
	char **keys;

	if (items == NULL) {
		fail(ps, "out of memory");
		return NULL;
	}
	v->items = items;
	if (v->type == JSON_OBJECT) {
		keys = realloc(v->keys, (v->count + 1) * sizeof(*keys));
		if (keys == NULL) {
			fail(ps, "out of memory");
			return NULL;
		}
		v->keys = keys;
		keys[v->count] = NULL;
	}
	memset(&items[v->count], 0, sizeof(*items));
	return &items[v->count++];
}

static int parse_member(parser *ps, json_value *obj)
{
	strbuf name = {NULL, 0, 0};
	json_value *slot;

	if (peek(ps) != '"')
		return fail(ps, "expected a member name in double quotes");
	if (parse_string_raw(ps, &name) < 0) {
		free(name.p);
		return -1;
	}
	if (json_get(obj, name.p) != NULL) {
		free(name.p);
		return fail(ps, "a member name appears twice in one object");
	}
	slot = add_item(ps, obj);
	if (slot == NULL) {
		free(name.p);
		return -1;
	}
	obj->keys[obj->count - 1] = name.p;
	skip_space(ps);
	if (peek(ps) != ':')
		return fail(ps, "expected ':' after a member name");
	ps->pos++;
	return parse_value(ps, slot);
}

static int parse_element(parser *ps, json_value *arr)
{
	json_value *slot = add_item(ps, arr);

	return slot == NULL ? -1 : parse_value(ps, slot);
}

/* An array or an object, the cursor on its opening bracket. */
static int parse_container(parser *ps, json_value *out, json_type type)
{
	char close = type == JSON_ARRAY ? ']' : '}';

	out->type = type;
	ps->pos++;
	skip_space(ps);
	if (peek(ps) == close) {
		ps->pos++;
		return 0;
	}
	for (;;) {
		skip_space(ps);
		if ((type == JSON_ARRAY ? parse_element(ps, out) : parse_member(ps, out)) < 0)
			return -1;
		skip_space(ps);
		if (peek(ps) == close) {
			ps->pos++;
			return 0;
		}
		if (peek(ps) != ',')
			return fail(ps, type == JSON_ARRAY ? "expected ',' or ']' in an array"
							   : "expected ',' or '}' in an object");
		ps->pos++;
	}
}

static int parse_value(parser *ps, json_value *out)
{
	int c, rc;

	skip_space(ps);
	c = peek(ps);
	if (c == '{' || c == '[') {
		if (++ps->depth > JSON_MAX_DEPTH)
			return fail(ps, "nesting is too deep");
		rc = parse_container(ps, out, c == '{' ? JSON_OBJECT : JSON_ARRAY);
		ps->depth--;
		return rc;
	}
	if (c == '"')
		return parse_string(ps, out);
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(ps, out);
	if (c == 't') {
		out->type = JSON_TRUE;
		return expect_word(ps, "true");
	}
	if (c == 'f') {
		out->type = JSON_FALSE;
		return expect_word(ps, "false");
	}
	out->type = JSON_NULL;
	if (c < 0)
		return fail(ps, "the document ends where a value should be");
	return expect_word(ps, "null");
}

int json_parse(const char *text, size_t len, json_value *out, lm_err *err)
{
	parser ps = {text, len, 0, 0, err};

	memset(out, 0, sizeof(*out));
	if (parse_value(&ps, out) < 0) {
		json_free(out);
		return -1;
	}
	skip_space(&ps);
	if (ps.pos != len) {
		json_free(out);
		return fail(&ps, "unexpected bytes after the document");
	}
	return 0;
}

void json_free(json_value *v)
{
	size_t i;

	for (i = 0; i < v->count; i++) {
		json_free(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

const json_value *json_get(const json_value *v, const char *key)
{
	size_t i;

	if (v == NULL || v->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < v->count; i++)
		if (v->keys[i] != NULL && strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}

const char *json_get_string(const json_value *v, const char *key)
{
	const json_value *m = json_get(v, key);

	return m != NULL && m->type == JSON_STRING ? m->str : NULL;
}
