/* SPDX-License-Identifier: MIT */
/* Parsing, validating and writing lmsync.conf; see conf.h. */
#include "conf/conf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_PORT 7411

static const struct {
	const char *name;
	const char *help;
} kinds[SITE_KIND_COUNT] = {
    [SITE_KOMMUNE] = {"kommune", "a municipality's learning and mastery service"},
    [SITE_INTERKOMMUNAL] = {"interkommunal",
			    "an inter-municipal service (interkommunalt samarbeid)"},
    [SITE_HELSEFORETAK] = {"helseforetak", "a hospital trust (HF) and its LMS"},
    [SITE_HUB] = {"hub", "a regional hub that stores and forwards for its sites"},
    [SITE_NASJONAL] = {"nasjonal", "a national service, such as NK LMH"},
    [SITE_BRUKERORGANISASJON] = {"brukerorganisasjon", "a user organisation"},
    [SITE_RHF] = {"rhf", "a regional health authority (regionalt helseforetak), such as "
			 "the regional LMS function of Helse Midt-Norge"},
};

static const char *const levels[] = {"debug", "info", "warn", "error"};

const char *site_kind_name(enum site_kind kind)
{
	return kind < SITE_KIND_COUNT ? kinds[kind].name : "?";
}

const char *site_kind_help(enum site_kind kind)
{
	return kind < SITE_KIND_COUNT ? kinds[kind].help : "?";
}

int site_kind_parse(const char *s, enum site_kind *kind, lm_err *err)
{
	int i;

	for (i = 0; i < SITE_KIND_COUNT; i++) {
		if (strcmp(s, kinds[i].name) == 0) {
			*kind = (enum site_kind)i;
			return 0;
		}
	}
	return lm_errf(err,
		       "unknown site kind '%s'; use one of kommune, interkommunal, "
		       "helseforetak, rhf, hub, nasjonal, brukerorganisasjon",
		       s);
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? levels[level] : "?";
}

int log_level_parse(const char *s, enum log_level *level, lm_err *err)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (strcmp(s, levels[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return lm_errf(err, "unknown log level '%s'; use debug, info, warn or error", s);
}

int conf_name_check(const char *name, lm_err *err)
{
	const unsigned char *p;

	if (name[0] == '\0')
		return lm_errf(err, "the site name must not be empty");
	if (strlen(name) >= CONF_NAME_MAX)
		return lm_errf(err, "the site name is longer than %d bytes", CONF_NAME_MAX - 1);
	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return lm_errf(err, "the site name contains a control character");
	return 0;
}

static int parse_port(const char *s, uint16_t *port, lm_err *err)
{
	char *end;
	long v;

	/* Digits only: strtol alone would take " 80" and "+80". */
	errno = 0;
	v = strtol(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 || v < 1 || v > 65535)
		return lm_errf(err, "'%s' is not a port number (1-65535)", s);
	*port = (uint16_t)v;
	return 0;
}

static int host_char_ok(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

int conf_addr_parse(const char *s, struct conf_addr *addr, lm_err *err)
{
	const char *colon, *host = s;
	size_t hostlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return lm_errf(err, "'%s' is not HOST:PORT; write IPv6 as [::1]:7411", s);
		host = s + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
		if (hostlen == 0 || strspn(host, "0123456789abcdefABCDEF:.") < hostlen ||
		    memchr(host, ':', hostlen) == NULL)
			return lm_errf(err, "'%s' has a malformed IPv6 address", s);
	} else {
		size_t i;

		colon = strrchr(s, ':');
		if (colon == NULL)
			return lm_errf(err, "'%s' is not HOST:PORT (for example 127.0.0.1:%d)", s,
				       DEFAULT_PORT);
		hostlen = (size_t)(colon - s);
		if (hostlen == 0)
			return lm_errf(err, "'%s' has no host before the ':'", s);
		for (i = 0; i < hostlen; i++)
			if (!host_char_ok(s[i]))
				return lm_errf(err,
					       "'%s' is not HOST:PORT: '%c' cannot be in a host "
					       "name (IPv6 goes in brackets)",
					       s, s[i]);
	}
	if (hostlen >= sizeof(addr->host))
		return lm_errf(err, "'%s' has a host name longer than %zu characters", s,
			       sizeof(addr->host) - 1);
	if (parse_port(colon + 1, &addr->port, err) != 0)
		return lm_err_wrap(err, "'%s'", s);
	memcpy(addr->host, host, hostlen);
	addr->host[hostlen] = '\0';
	return 0;
}

void conf_addr_format(const struct conf_addr *addr, char *out, size_t cap)
{
	if (strchr(addr->host, ':'))
		snprintf(out, cap, "[%s]:%u", addr->host, addr->port);
	else
		snprintf(out, cap, "%s:%u", addr->host, addr->port);
}

int conf_duration_parse(const char *s, uint32_t *ms, lm_err *err)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	uint64_t v = 0;
	const char *p = s;
	size_t i;

	for (; isdigit((unsigned char)*p) && v <= UINT32_MAX; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (p == s || v > UINT32_MAX)
		return lm_errf(err, "'%s' is not a duration; write it like 250ms, 10s, 2m or 1h",
			       s);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (v == 0 || v * units[i].ms > UINT32_MAX)
			return lm_errf(err, "duration '%s' must be above 0 and below 49 days", s);
		*ms = (uint32_t)(v * units[i].ms);
		return 0;
	}
	return lm_errf(err, "'%s' has no unit; write it like 250ms, 10s, 2m or 1h", s);
}

static int parse_count(const char *s, uint32_t lo, uint32_t hi, uint32_t *out, lm_err *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 || v < lo || v > hi)
		return lm_errf(err, "'%s' is not a whole number from %u to %u", s, lo, hi);
	*out = (uint32_t)v;
	return 0;
}

void conf_defaults(struct conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->limits.handshake_timeout_ms = 10000;
	conf->limits.keepalive_ms = 15000;
	conf->limits.dead_after_ms = 45000;
	conf->limits.reconnect_max_ms = 30000;
	conf->limits.max_connections = 512;
	conf->limits.max_handshakes = 64;
	conf->limits.max_skew_ms = 300000;
	conf->kind = SITE_KOMMUNE;
	snprintf(conf->listen.host, sizeof(conf->listen.host), "127.0.0.1");
	conf->listen.port = DEFAULT_PORT;
	conf->log_level = LOG_INFO;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Strip one pair of surrounding double quotes, so `name = "A B"` works. */
static char *unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

enum {
	SEEN_NAME = 1 << 0,
	SEEN_KIND = 1 << 1,
	SEEN_LISTEN = 1 << 2,
	SEEN_LOG_LEVEL = 1 << 3,
	SEEN_LIMITS = 1 << 4, /* first of the limit keys' bits, one each */
};

/* The [network] limit keys: durations, or counts when max is set. */
static const struct {
	const char *key;
	size_t offset;
	uint32_t min, max;
} limit_keys[] = {
    {"handshake_timeout", offsetof(struct conf_limits, handshake_timeout_ms), 0, 0},
    {"keepalive", offsetof(struct conf_limits, keepalive_ms), 0, 0},
    {"dead_after", offsetof(struct conf_limits, dead_after_ms), 0, 0},
    {"reconnect_max", offsetof(struct conf_limits, reconnect_max_ms), 0, 0},
    {"max_connections", offsetof(struct conf_limits, max_connections), 1, 100000},
    {"max_handshakes", offsetof(struct conf_limits, max_handshakes), 1, 100000},
    {"max_skew", offsetof(struct conf_limits, max_skew_ms), 0, 0},
};
#define NLIMIT_KEYS (sizeof(limit_keys) / sizeof(limit_keys[0]))

static int set_limit(struct conf *conf, const char *key, const char *value, unsigned *bit,
		     lm_err *err)
{
	size_t i;

	for (i = 0; i < NLIMIT_KEYS; i++) {
		uint32_t *field;

		if (strcmp(key, limit_keys[i].key) != 0)
			continue;
		field = (uint32_t *)((char *)&conf->limits + limit_keys[i].offset);
		*bit = (unsigned)SEEN_LIMITS << i;
		if (limit_keys[i].max == 0)
			return conf_duration_parse(value, field, err);
		return parse_count(value, limit_keys[i].min, limit_keys[i].max, field, err);
	}
	return 1;
}

struct parse_state {
	char section[32];
	unsigned seen;
};

static int set_key(struct conf *conf, struct parse_state *ps, const char *key, char *value,
		   lm_err *err)
{
	const char *sec = ps->section;
	unsigned bit = 0;
	int rc;

	if (strcmp(sec, "site") == 0 && strcmp(key, "name") == 0) {
		bit = SEEN_NAME;
		rc = conf_name_check(value, err);
		if (rc == 0)
			snprintf(conf->name, sizeof(conf->name), "%s", value);
	} else if (strcmp(sec, "site") == 0 && strcmp(key, "kind") == 0) {
		bit = SEEN_KIND;
		rc = site_kind_parse(value, &conf->kind, err);
	} else if (strcmp(sec, "network") == 0 && strcmp(key, "listen") == 0) {
		bit = SEEN_LISTEN;
		rc = conf_addr_parse(value, &conf->listen, err);
	} else if (strcmp(sec, "network") == 0 &&
		   (rc = set_limit(conf, key, value, &bit, err)) != 1) {
		/* set_limit matched the key; rc says whether its value parsed. */
	} else if (strcmp(sec, "daemon") == 0 && strcmp(key, "log_level") == 0) {
		bit = SEEN_LOG_LEVEL;
		rc = log_level_parse(value, &conf->log_level, err);
	} else if (sec[0] == '\0') {
		return lm_errf(err,
			       "'%s' is outside any section; put it under [site], "
			       "[network] or [daemon]",
			       key);
	} else {
		return lm_errf(err, "unknown key '%s' in section [%s]", key, sec);
	}
	if (rc != 0)
		return -1;
	if (ps->seen & bit)
		return lm_errf(err, "'%s' is set twice", key);
	ps->seen |= bit;
	return 0;
}

static int parse_line(struct conf *conf, struct parse_state *ps, char *line, lm_err *err)
{
	char *s = trim(line), *eq, *key, *value;

	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		size_t n = strlen(s);

		if (s[n - 1] != ']')
			return lm_errf(err, "section header '%s' lacks its closing ']'", s);
		s[n - 1] = '\0';
		s = trim(s + 1);
		if (strcmp(s, "site") != 0 && strcmp(s, "network") != 0 && strcmp(s, "daemon") != 0)
			return lm_errf(err,
				       "unknown section [%s]; known: [site], [network], "
				       "[daemon]",
				       s);
		snprintf(ps->section, sizeof(ps->section), "%s", s);
		return 0;
	}
	eq = strchr(s, '=');
	if (eq == NULL)
		return lm_errf(err, "'%s' is not `key = value`", s);
	*eq = '\0';
	key = trim(s);
	value = unquote(trim(eq + 1));
	if (*key == '\0')
		return lm_errf(err, "a line has a value but no key before '='");
	return set_key(conf, ps, key, value, err);
}

int conf_load(const char *path, struct conf *conf, lm_err *err)
{
	struct parse_state ps = {{0}, 0};
	char line[1024];
	unsigned lineno = 0;
	FILE *f;
	int rc = 0;

	conf_defaults(conf);
	f = fopen(path, "r");
	if (f == NULL)
		return lm_errf(err, "cannot read %s: %s", path, strerror(errno));
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			rc = lm_errf(err, "%s:%u: line longer than %zu characters", path, lineno,
				     sizeof(line) - 2);
			break;
		}
		if (parse_line(conf, &ps, line, err) != 0)
			rc = lm_err_wrap(err, "%s:%u", path, lineno);
	}
	if (rc == 0 && ferror(f))
		rc = lm_errf(err, "cannot read %s: %s", path, strerror(errno));
	fclose(f);
	if (rc == 0 && !(ps.seen & SEEN_NAME))
		rc = lm_errf(err, "%s: [site] has no `name = ...`; every site needs a name", path);
	if (rc == 0 && !(ps.seen & SEEN_KIND))
		rc = lm_errf(err, "%s: [site] has no `kind = ...`", path);
	if (rc == 0 && conf->limits.dead_after_ms <= conf->limits.keepalive_ms)
		rc = lm_errf(err,
			     "%s: dead_after (%ums) must be longer than keepalive (%ums), or "
			     "every quiet peer would be dropped",
			     path, conf->limits.dead_after_ms, conf->limits.keepalive_ms);
	return rc;
}

int conf_write_new(const char *path, const struct conf *conf, lm_err *err)
{
	char listen[CONF_HOST_MAX + 16];
	FILE *f;
	int fd, rc = 0, i;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return lm_errf(err, "cannot create %s: %s", path, strerror(errno));
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return lm_errf(err, "cannot write %s: %s", path, strerror(errno));
	}
	conf_addr_format(&conf->listen, listen, sizeof(listen));
	fprintf(f, "# lmsync site configuration, written by `lmsync init`.\n"
		   "# Format: `key = value` under [section] headers; lines starting with\n"
		   "# '#' are comments. Reference: docs/CONFIGURATION.md.\n"
		   "# lmsyncd reads this file at start; restart it after editing.\n\n");
	fprintf(f,
		"[site]\n# The organisation this site acts for, as people should see it.\n"
		"name = \"%s\"\n\n",
		conf->name);
	fprintf(f, "# What kind of organisation it is:\n");
	for (i = 0; i < SITE_KIND_COUNT; i++)
		fprintf(f, "#   %-19s %s\n", kinds[i].name, kinds[i].help);
	fprintf(f, "kind = %s\n\n", site_kind_name(conf->kind));
	fprintf(f,
		"[network]\n# Address and TCP port lmsyncd listens on for peers.\n"
		"# Use 0.0.0.0:PORT or [::]:PORT to accept connections from other hosts.\n"
		"listen = %s\n\n",
		listen);
	fprintf(f,
		"[daemon]\n# How much lmsyncd logs: debug, info, warn or error.\n"
		"log_level = %s\n",
		log_level_name(conf->log_level));
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = lm_errf(err, "cannot write %s: %s", path, strerror(errno));
	if (fclose(f) != 0 && rc == 0)
		rc = lm_errf(err, "cannot write %s: %s", path, strerror(errno));
	return rc;
}
