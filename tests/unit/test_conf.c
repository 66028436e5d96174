/* SPDX-License-Identifier: MIT */
/* The configuration file and the site directory, on real files in a fresh
 * temporary directory: round trips through conf_write_new and conf_load, every
 * kind of mistake reported at its "PATH:LINE: ", address and name checks, and
 * how sitedir_resolve picks DIR from -d, $LMSYNC_DIR and $HOME. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/sitedir.h"
#include "tests/support/tmpdir.h"

/* Each test has a fresh directory with lmsync.conf (not created) in it. */
static int setup(void **state)
{
	return tmpdir_fx_setup(state, "conf", "lmsync.conf");
}

static int teardown(void **state)
{
	return tmpdir_fx_teardown(state);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, cap - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

static int has(const char *haystack, const char *needle)
{
	return strstr(haystack, needle) != NULL;
}

/* conf_write_new then conf_load gives back every field. */
static void test_round_trip(void **state)
{
	static const struct {
		const char *name;
		enum site_kind kind;
		const char *listen;
		enum log_level level;
	} cases[] = {
	    {"Lærings- og mestringssenteret i Tromsø", SITE_KOMMUNE, "127.0.0.1:7411", LOG_INFO},
	    {"Ålesund & Ørsta LMS", SITE_INTERKOMMUNAL, "[::1]:7411", LOG_DEBUG},
	    {"Helse Bergen #2", SITE_HELSEFORETAK, "hub.example.no:7411", LOG_WARN},
	    {"Nord-hub; Bodø", SITE_HUB, "0.0.0.0:65535", LOG_ERROR},
	    {"NK LMH", SITE_NASJONAL, "[::]:1", LOG_INFO},
	    {"Brukerforeningen æøå ÆØÅ", SITE_BRUKERORGANISASJON, "lms-1.kommune.no:7412",
	     LOG_DEBUG},
	};
	struct tmpdir_fx *f = *state;
	struct conf in, out;
	char path[160], listen[CONF_HOST_MAX + 16];
	lm_err err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s/rt%zu.conf", f->dir, i);
		conf_defaults(&in);
		snprintf(in.name, sizeof(in.name), "%s", cases[i].name);
		in.kind = cases[i].kind;
		assert_int_equal(conf_addr_parse(cases[i].listen, &in.listen, &err), 0);
		in.log_level = cases[i].level;
		assert_int_equal(conf_write_new(path, &in, &err), 0);

		memset(&out, 0x5a, sizeof(out));
		if (conf_load(path, &out, &err) != 0)
			fail_msg("case %zu: %s", i, err.msg);
		assert_string_equal(out.name, cases[i].name);
		assert_int_equal(out.kind, cases[i].kind);
		assert_string_equal(out.listen.host, in.listen.host);
		assert_int_equal(out.listen.port, in.listen.port);
		conf_addr_format(&out.listen, listen, sizeof(listen));
		assert_string_equal(listen, cases[i].listen);
		assert_int_equal(out.log_level, cases[i].level);
	}
}

/* Every name conf_name_check accepts survives the file, even names that look
 * like the file's own syntax. */
static void test_round_trip_awkward_names(void **state)
{
	static const char *const names[] = {
	    " leading space", "trailing space ", "\"quoted\"",	    "\"",
	    "a = b",	      "[site]",		 "; not a comment",
	};
	struct tmpdir_fx *f = *state;
	struct conf in, out;
	char path[160];
	lm_err err;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(conf_name_check(names[i], &err), 0);
		snprintf(path, sizeof(path), "%s/awk%zu.conf", f->dir, i);
		conf_defaults(&in);
		snprintf(in.name, sizeof(in.name), "%s", names[i]);
		assert_int_equal(conf_write_new(path, &in, &err), 0);
		if (conf_load(path, &out, &err) != 0)
			fail_msg("name '%s': %s", names[i], err.msg);
		if (strcmp(out.name, names[i]) != 0)
			fail_msg("name '%s' came back as '%s'", names[i], out.name);
	}
}

static void test_load_long_line(void **state)
{
	struct tmpdir_fx *f = *state;
	char text[1200], prefix[256];
	struct conf c;
	lm_err err;

	snprintf(text, sizeof(text), "[site]\n# ");
	memset(text + strlen(text), 'x', 1050);
	text[9 + 1050] = '\0';
	strcat(text, "\nname = A\nkind = hub\n");
	write_file(f->path, text);
	assert_int_equal(conf_load(f->path, &c, &err), -1);
	snprintf(prefix, sizeof(prefix), "%s:2: line longer than", f->path);
	assert_true(has(err.msg, prefix));
}

static void test_write_new_refuses_existing(void **state)
{
	struct tmpdir_fx *f = *state;
	char before[4096], after[4096];
	struct conf c;
	lm_err err;

	conf_defaults(&c);
	snprintf(c.name, sizeof(c.name), "Første");
	assert_int_equal(conf_write_new(f->path, &c, &err), 0);
	read_file(f->path, before, sizeof(before));

	snprintf(c.name, sizeof(c.name), "Andre");
	c.kind = SITE_HUB;
	assert_int_equal(conf_write_new(f->path, &c, &err), -1);
	assert_true(has(err.msg, f->path));
	read_file(f->path, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(conf_load(f->path, &c, &err), 0);
	assert_string_equal(c.name, "Første");
	assert_int_equal(c.kind, SITE_KOMMUNE);
}

/* The message starts with exactly "PATH:LINE: " and then says what is wrong. */
static void test_load_errors_carry_line(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *says;
	} cases[] = {
	    {"[site]\nname = A\nkind = hub\ncolour = red\n", 4,
	     "unknown key 'colour' in section [site]"},
	    {"[site]\nname = A\nkind = hub\n[network]\nname = B\n", 5,
	     "unknown key 'name' in section [network]"},
	    {"[site]\nname = A\n\n[nettverk]\n", 4, "unknown section [nettverk]"},
	    {"# first a comment\nname = A\n[site]\n", 2, "'name' is outside any section"},
	    {"[site]\nname A\n", 2, "'name A' is not `key = value`"},
	    {"[site]\nname = A\nkind = hub\nname = B\n", 4, "'name' is set twice"},
	    {"[site]\nkind = hub\nname = A\n[site]\nkind = hub\n", 5, "'kind' is set twice"},
	    {"[site]\nname = A\nkind = fylke\n", 3, "unknown site kind 'fylke'"},
	    {"[site]\nname = A\nkind = hub\n[network]\nlisten = 127.0.0.1:0\n", 5,
	     "'0' is not a port number"},
	    {"[site]\nname = A\nkind = hub\n[network]\nlisten = 127.0.0.1:65536\n", 5,
	     "'65536' is not a port number"},
	    {"[site]\nname = A\nkind = hub\n[network]\nlisten = 127.0.0.1:x\n", 5,
	     "'x' is not a port number"},
	    {"[site]\nname = A\nkind = hub\n[network]\nlisten = ::1:7411\n", 5, "IPv6"},
	    {"[site]\nname = A\nkind = hub\n[daemon]\nlog_level = loud\n", 5,
	     "unknown log level 'loud'"},
	    {"[site]\nname = A\n[network\nlisten = 127.0.0.1:1\n", 3,
	     "section header '[network' lacks its closing ']'"},
	    {"[site]\n= A\n", 2, "no key before '='"},
	    {"[site]\nname =\n", 2, "must not be empty"},
	    {"[site]\nname = \"\"\n", 2, "must not be empty"},
	};
	struct tmpdir_fx *f = *state;
	char prefix[256];
	struct conf c;
	lm_err err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(f->path);
		write_file(f->path, cases[i].text);
		memset(&err, 0, sizeof(err));
		assert_int_equal(conf_load(f->path, &c, &err), -1);
		snprintf(prefix, sizeof(prefix), "%s:%u: ", f->path, cases[i].line);
		if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !has(err.msg, cases[i].says))
			fail_msg("case %zu: expected \"%s...%s\", got \"%s\"", i, prefix,
				 cases[i].says, err.msg);
	}
}

static void test_load_missing_fields_and_file(void **state)
{
	struct tmpdir_fx *f = *state;
	char expect[256], missing[160];
	struct conf c;
	lm_err err;

	write_file(f->path, "[site]\nkind = hub\n[network]\nlisten = 127.0.0.1:7411\n");
	assert_int_equal(conf_load(f->path, &c, &err), -1);
	snprintf(expect, sizeof(expect), "%s: [site] has no `name = ...`", f->path);
	assert_true(has(err.msg, expect));

	unlink(f->path);
	write_file(f->path, "[site]\nname = A\n");
	assert_int_equal(conf_load(f->path, &c, &err), -1);
	snprintf(expect, sizeof(expect), "%s: [site] has no `kind = ...`", f->path);
	assert_true(has(err.msg, expect));

	snprintf(missing, sizeof(missing), "%s/nope.conf", f->dir);
	assert_int_equal(conf_load(missing, &c, &err), -1);
	assert_true(has(err.msg, missing));
	assert_true(has(err.msg, "No such file"));
}

static void test_comments_blanks_quotes_defaults(void **state)
{
	struct tmpdir_fx *f = *state;
	struct conf c;
	lm_err err;

	write_file(f->path, "# a comment = with an equals sign\n"
			    "; another comment [site]\n"
			    "\n"
			    "   \t  \n"
			    "  [ site ]  \n"
			    "\t# indented comment\n"
			    "  name   =   \"  Vestre Viken HF  \"  \n"
			    "kind=\"helseforetak\"\n"
			    "\n"
			    "[network]\n"
			    "; listen = 10.0.0.1:1\n"
			    "listen = \"[::1]:7411\"\n");
	if (conf_load(f->path, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(c.name, "  Vestre Viken HF  ");
	assert_int_equal(c.kind, SITE_HELSEFORETAK);
	assert_string_equal(c.listen.host, "::1");
	assert_int_equal(c.listen.port, 7411);
	assert_int_equal(c.log_level, LOG_INFO);

	/* Only name and kind are required; the rest take their defaults. */
	unlink(f->path);
	write_file(f->path, "[site]\nname = Alta\nkind = kommune");
	if (conf_load(f->path, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(c.name, "Alta");
	assert_string_equal(c.listen.host, "127.0.0.1");
	assert_int_equal(c.listen.port, 7411);
	assert_int_equal(c.log_level, LOG_INFO);
}

static void test_duration_parse(void **state)
{
	static const struct {
		const char *text;
		int ok;
		uint32_t ms;
	} cases[] = {
	    {"250ms", 1, 250}, {"10s", 1, 10000},      {"2m", 1, 120000}, {"1h", 1, 3600000},
	    {"1ms", 1, 1},     {"0s", 0, 0},	       {"10", 0, 0},	  {"s", 0, 0},
	    {"", 0, 0},	       {"-1s", 0, 0},	       {"1.5s", 0, 0},	  {"10 s", 0, 0},
	    {"5d", 0, 0},      {"4294967296ms", 0, 0}, {"50000h", 0, 0},
	};
	size_t i;
	uint32_t ms;
	lm_err err;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ms = 7;
		if (cases[i].ok) {
			assert_int_equal(conf_duration_parse(cases[i].text, &ms, &err), 0);
			assert_int_equal(ms, cases[i].ms);
		} else {
			assert_int_equal(conf_duration_parse(cases[i].text, &ms, &err), -1);
			assert_int_equal(ms, 7);
			assert_true(strstr(err.msg, "duration") != NULL ||
				    strstr(err.msg, "unit") != NULL);
		}
	}
}

static void test_network_limits(void **state)
{
	struct tmpdir_fx *f = *state;
	struct conf c;
	lm_err err;

	write_file(f->path, "[site]\nname = A\nkind = hub\n[network]\n"
			    "handshake_timeout = 2s\nkeepalive = 500ms\ndead_after = 3s\n"
			    "reconnect_max = 1m\nmax_connections = 10\nmax_handshakes = 4\n");
	assert_int_equal(conf_load(f->path, &c, &err), 0);
	assert_int_equal(c.limits.handshake_timeout_ms, 2000);
	assert_int_equal(c.limits.keepalive_ms, 500);
	assert_int_equal(c.limits.dead_after_ms, 3000);
	assert_int_equal(c.limits.reconnect_max_ms, 60000);
	assert_int_equal(c.limits.max_connections, 10);
	assert_int_equal(c.limits.max_handshakes, 4);

	/* Defaults when absent. */
	write_file(f->path, "[site]\nname = A\nkind = hub\n");
	assert_int_equal(conf_load(f->path, &c, &err), 0);
	assert_int_equal(c.limits.handshake_timeout_ms, 10000);
	assert_int_equal(c.limits.keepalive_ms, 15000);
	assert_int_equal(c.limits.dead_after_ms, 45000);

	write_file(f->path, "[site]\nname = A\nkind = hub\n[network]\nkeepalive = 10\n");
	assert_int_equal(conf_load(f->path, &c, &err), -1);
	assert_non_null(strstr(err.msg, "lmsync.conf:5: "));
	assert_non_null(strstr(err.msg, "no unit"));

	write_file(f->path, "[site]\nname = A\nkind = hub\n[network]\nmax_connections = 0\n");
	assert_int_equal(conf_load(f->path, &c, &err), -1);
	assert_non_null(strstr(err.msg, "lmsync.conf:5: "));

	write_file(f->path, "[site]\nname = A\nkind = hub\n[network]\nkeepalive = 1s\n"
			    "keepalive = 2s\n");
	assert_int_equal(conf_load(f->path, &c, &err), -1);
	assert_non_null(strstr(err.msg, "lmsync.conf:6: 'keepalive' is set twice"));

	/* A keepalive no shorter than dead_after would drop every quiet peer. */
	write_file(f->path, "[site]\nname = A\nkind = hub\n[network]\nkeepalive = 5s\n"
			    "dead_after = 5s\n");
	assert_int_equal(conf_load(f->path, &c, &err), -1);
	assert_non_null(strstr(err.msg, "dead_after"));

	write_file(f->path, "[site]\nname = A\nkind = hub\n[daemon]\nkeepalive = 5s\n");
	assert_int_equal(conf_load(f->path, &c, &err), -1);
	assert_non_null(strstr(err.msg, "unknown key 'keepalive' in section [daemon]"));
}

static void test_addr_parse_table(void **state)
{
	static const struct {
		const char *in;
		int ok;
		const char *host;
		uint16_t port;
	} cases[] = {
	    {"127.0.0.1:7411", 1, "127.0.0.1", 7411},
	    {"[::1]:7411", 1, "::1", 7411},
	    {"hub.example.no:7411", 1, "hub.example.no", 7411},
	    {"[fe80::1:2]:1", 1, "fe80::1:2", 1},
	    {"[::]:65535", 1, "::", 65535},
	    {"lms_1-a:80", 1, "lms_1-a", 80},
	    {"::1:7411", 0, NULL, 0},
	    {"host", 0, NULL, 0},
	    {":7411", 0, NULL, 0},
	    {"[::1]7411", 0, NULL, 0},
	    {"[::1]", 0, NULL, 0},
	    {"[::1:7411", 0, NULL, 0},
	    {"[]:7411", 0, NULL, 0},
	    {"[::g]:7411", 0, NULL, 0},
	    {"a b:1", 0, NULL, 0},
	    {"h:+80", 0, NULL, 0},
	    {"h: 80", 0, NULL, 0},
	    {"[1.2.3.4]:80", 0, NULL, 0},
	    {"host:", 0, NULL, 0},
	    {"host:0", 0, NULL, 0},
	    {"host:65536", 0, NULL, 0},
	    {"host:99999999999999999999", 0, NULL, 0},
	    {"host:-1", 0, NULL, 0},
	    {"host:12x", 0, NULL, 0},
	    {"", 0, NULL, 0},
	    {"bærum.no:1", 0, NULL, 0},
	};
	struct conf_addr a;
	lm_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = conf_addr_parse(cases[i].in, &a, &err);

		if (cases[i].ok) {
			if (rc != 0)
				fail_msg("'%s' refused: %s", cases[i].in, err.msg);
			assert_string_equal(a.host, cases[i].host);
			assert_int_equal(a.port, cases[i].port);
		} else {
			if (rc != -1)
				fail_msg("'%s' accepted", cases[i].in);
			/* The message quotes the input. */
			if (cases[i].in[0] != '\0' && !has(err.msg, cases[i].in))
				fail_msg("'%s': message does not quote it: %s", cases[i].in,
					 err.msg);
		}
	}
}

static void test_addr_parse_long_host(void **state)
{
	char in[CONF_HOST_MAX + 16];
	struct conf_addr a;
	lm_err err;

	(void)state;
	/* 255 characters fit, 256 do not. */
	memset(in, 'a', CONF_HOST_MAX - 1);
	snprintf(in + CONF_HOST_MAX - 1, sizeof(in) - (CONF_HOST_MAX - 1), ":1");
	assert_int_equal(conf_addr_parse(in, &a, &err), 0);
	assert_int_equal(strlen(a.host), CONF_HOST_MAX - 1);

	memset(in, 'a', CONF_HOST_MAX);
	snprintf(in + CONF_HOST_MAX, sizeof(in) - CONF_HOST_MAX, ":1");
	assert_int_equal(conf_addr_parse(in, &a, &err), -1);
	assert_true(has(err.msg, "longer than 255"));
}

static void test_addr_format_round_trip(void **state)
{
	static const char *const addrs[] = {
	    "127.0.0.1:7411", "[::1]:7411", "hub.example.no:7411", "[fe80::a:b]:1", "x:65535",
	};
	struct conf_addr a, b;
	char out[CONF_HOST_MAX + 16];
	lm_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		assert_int_equal(conf_addr_parse(addrs[i], &a, &err), 0);
		conf_addr_format(&a, out, sizeof(out));
		assert_string_equal(out, addrs[i]);
		assert_int_equal(conf_addr_parse(out, &b, &err), 0);
		assert_string_equal(a.host, b.host);
		assert_int_equal(a.port, b.port);
	}
}

static void test_site_kind_parse(void **state)
{
	static const char *const names[SITE_KIND_COUNT] = {
	    "kommune",	"interkommunal",      "helseforetak", "hub",
	    "nasjonal", "brukerorganisasjon", "rhf",
	};
	static const char *const bad[] = {"fylke", "Kommune", "hub ", "", "kommuner"};
	enum site_kind k;
	lm_err err;
	char quoted[64];
	int i;

	(void)state;
	for (i = 0; i < SITE_KIND_COUNT; i++) {
		k = SITE_KIND_COUNT;
		assert_int_equal(site_kind_parse(names[i], &k, &err), 0);
		assert_int_equal(k, i);
		assert_string_equal(site_kind_name(k), names[i]);
		assert_string_not_equal(site_kind_help(k), "?");
	}
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		k = SITE_HUB;
		assert_int_equal(site_kind_parse(bad[i], &k, &err), -1);
		assert_int_equal(k, SITE_HUB);
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		assert_true(has(err.msg, quoted));
		assert_true(has(err.msg, "brukerorganisasjon"));
	}
	assert_string_equal(site_kind_name(SITE_KIND_COUNT), "?");
}

static void test_name_check(void **state)
{
	char name[CONF_NAME_MAX + 1];
	lm_err err;

	(void)state;
	assert_int_equal(conf_name_check("Tromsø kommune – LMS", &err), 0);
	assert_int_equal(conf_name_check("#1; [a] = b", &err), 0);
	assert_int_equal(conf_name_check("", &err), -1);
	assert_true(has(err.msg, "empty"));
	assert_int_equal(conf_name_check("a\tb", &err), -1);
	assert_true(has(err.msg, "control character"));
	assert_int_equal(conf_name_check("a\nb", &err), -1);
	assert_true(has(err.msg, "control character"));
	assert_int_equal(conf_name_check("\x1b[31mred", &err), -1);
	assert_int_equal(conf_name_check("del\x7f", &err), -1);
	assert_true(has(err.msg, "control character"));

	memset(name, 'n', CONF_NAME_MAX - 1);
	name[CONF_NAME_MAX - 1] = '\0';
	assert_int_equal(conf_name_check(name, &err), 0);
	memset(name, 'n', CONF_NAME_MAX);
	name[CONF_NAME_MAX] = '\0';
	assert_int_equal(conf_name_check(name, &err), -1);
	assert_true(has(err.msg, "longer than 127"));
}

/* Save and restore the environment sitedir_resolve reads. */
struct saved_env {
	char *dir, *home;
};

static char *dup_env(const char *name)
{
	const char *v = getenv(name);

	return v ? strdup(v) : NULL;
}

static void env_save(struct saved_env *s)
{
	s->dir = dup_env("LMSYNC_DIR");
	s->home = dup_env("HOME");
}

static void env_restore(struct saved_env *s)
{
	if (s->dir)
		setenv("LMSYNC_DIR", s->dir, 1);
	else
		unsetenv("LMSYNC_DIR");
	if (s->home)
		setenv("HOME", s->home, 1);
	else
		unsetenv("HOME");
	free(s->dir);
	free(s->home);
}

static void assert_paths(const struct sitedir *sd, const char *dir)
{
	char want[256];

	assert_string_equal(sd->dir, dir);
	snprintf(want, sizeof(want), "%s/site.key", dir);
	assert_string_equal(sd->key, want);
	snprintf(want, sizeof(want), "%s/lmsync.conf", dir);
	assert_string_equal(sd->conf, want);
	snprintf(want, sizeof(want), "%s/store.db", dir);
	assert_string_equal(sd->store, want);
	snprintf(want, sizeof(want), "%s/control.sock", dir);
	assert_string_equal(sd->control, want);
	snprintf(want, sizeof(want), "%s/lmsyncd.lock", dir);
	assert_string_equal(sd->lock, want);
}

static void test_sitedir_precedence(void **state)
{
	struct saved_env saved;
	struct sitedir sd;
	lm_err err;

	(void)state;
	env_save(&saved);
	setenv("LMSYNC_DIR", "/srv/lmsync/env", 1);
	setenv("HOME", "/home/kari", 1);
	assert_int_equal(sitedir_resolve(&sd, "/srv/lmsync/opt", &err), 0);
	assert_paths(&sd, "/srv/lmsync/opt");
	assert_int_equal(sitedir_resolve(&sd, NULL, &err), 0);
	assert_paths(&sd, "/srv/lmsync/env");
	assert_int_equal(sitedir_resolve(&sd, "", &err), 0);
	assert_paths(&sd, "/srv/lmsync/env");

	unsetenv("LMSYNC_DIR");
	assert_int_equal(sitedir_resolve(&sd, NULL, &err), 0);
	assert_paths(&sd, "/home/kari/.local/share/lmsync");
	setenv("LMSYNC_DIR", "", 1);
	assert_int_equal(sitedir_resolve(&sd, NULL, &err), 0);
	assert_paths(&sd, "/home/kari/.local/share/lmsync");

	unsetenv("LMSYNC_DIR");
	unsetenv("HOME");
	assert_int_equal(sitedir_resolve(&sd, NULL, &err), -1);
	assert_true(has(err.msg, "-d DIR"));
	assert_true(has(err.msg, "LMSYNC_DIR"));
	assert_int_equal(sitedir_resolve(&sd, "rel/dir", &err), 0);
	assert_paths(&sd, "rel/dir");
	env_restore(&saved);
}

static void test_sitedir_trailing_slashes(void **state)
{
	struct saved_env saved;
	struct sitedir sd;
	lm_err err;

	(void)state;
	assert_int_equal(sitedir_resolve(&sd, "/srv/site/", &err), 0);
	assert_paths(&sd, "/srv/site");
	assert_int_equal(sitedir_resolve(&sd, "/srv/site///", &err), 0);
	assert_paths(&sd, "/srv/site");
	assert_int_equal(sitedir_resolve(&sd, "/", &err), 0);
	assert_string_equal(sd.dir, "/");

	env_save(&saved);
	setenv("LMSYNC_DIR", "/srv/env//", 1);
	assert_int_equal(sitedir_resolve(&sd, NULL, &err), 0);
	assert_paths(&sd, "/srv/env");
	env_restore(&saved);
}

static void test_sitedir_too_long(void **state)
{
	/* The longest file names are control.sock and lmsyncd.lock (12): with
	 * the '/' and the NUL, DIR may be at most 108 - 14 = 94 bytes. */
	char dir[200];
	struct sitedir sd;
	lm_err err;

	(void)state;
	memset(dir, 0, sizeof(dir));
	dir[0] = '/';
	memset(dir + 1, 'd', 93);
	assert_int_equal(strlen(dir), 94);
	assert_int_equal(sitedir_resolve(&sd, dir, &err), 0);
	assert_int_equal(strlen(sd.control), SITEDIR_PATH_MAX - 1);

	dir[94] = 'd';
	assert_int_equal(sitedir_resolve(&sd, dir, &err), -1);
	assert_true(has(err.msg, "-d"));
	assert_true(has(err.msg, "too long"));

	memset(dir + 1, 'd', 150);
	assert_int_equal(sitedir_resolve(&sd, dir, &err), -1);
	assert_true(has(err.msg, "-d"));
	assert_true(has(err.msg, "too long"));
}

static void assert_dir_0700(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void test_sitedir_create(void **state)
{
	struct tmpdir_fx *f = *state;
	char opt[128], path[160];
	struct sitedir sd;
	mode_t old;
	lm_err err;

	snprintf(opt, sizeof(opt), "%s/a/b/site/", f->dir);
	assert_int_equal(sitedir_resolve(&sd, opt, &err), 0);
	old = umask(0);
	assert_int_equal(sitedir_create(&sd, &err), 0);
	umask(old);
	snprintf(path, sizeof(path), "%s/a", f->dir);
	assert_dir_0700(path);
	snprintf(path, sizeof(path), "%s/a/b", f->dir);
	assert_dir_0700(path);
	assert_dir_0700(sd.dir);
	/* Creating it again is fine. */
	assert_int_equal(sitedir_create(&sd, &err), 0);

	/* A file in the way is reported by its path. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	write_file(path, "x");
	snprintf(opt, sizeof(opt), "%s/file/site", f->dir);
	assert_int_equal(sitedir_resolve(&sd, opt, &err), 0);
	assert_int_equal(sitedir_create(&sd, &err), -1);
	assert_true(has(err.msg, "cannot create directory"));
	assert_true(has(err.msg, path));
}

static void test_sitedir_has_site(void **state)
{
	struct tmpdir_fx *f = *state;
	struct sitedir sd;
	lm_err err;

	assert_int_equal(sitedir_resolve(&sd, f->dir, &err), 0);
	assert_int_equal(sitedir_has_site(&sd), 0);
	/* A stale lock or socket alone is not a site. */
	write_file(sd.lock, "123\n");
	write_file(sd.control, "");
	assert_int_equal(sitedir_has_site(&sd), 0);

	write_file(sd.key, "k");
	assert_int_equal(sitedir_has_site(&sd), 1);
	unlink(sd.key);
	write_file(sd.conf, "c");
	assert_int_equal(sitedir_has_site(&sd), 1);
	unlink(sd.conf);
	write_file(sd.store, "s");
	assert_int_equal(sitedir_has_site(&sd), 1);
	unlink(sd.store);
	assert_int_equal(sitedir_has_site(&sd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_round_trip_awkward_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_new_refuses_existing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_long_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_errors_carry_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_missing_fields_and_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_comments_blanks_quotes_defaults, setup, teardown),
	    cmocka_unit_test(test_duration_parse),
	    cmocka_unit_test_setup_teardown(test_network_limits, setup, teardown),
	    cmocka_unit_test(test_addr_parse_table),
	    cmocka_unit_test(test_addr_parse_long_host),
	    cmocka_unit_test(test_addr_format_round_trip),
	    cmocka_unit_test(test_site_kind_parse),
	    cmocka_unit_test(test_name_check),
	    cmocka_unit_test(test_sitedir_precedence),
	    cmocka_unit_test(test_sitedir_trailing_slashes),
	    cmocka_unit_test(test_sitedir_too_long),
	    cmocka_unit_test_setup_teardown(test_sitedir_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sitedir_has_site, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
