/* SPDX-License-Identifier: MIT */
/* The site configuration file (lmsync.conf): format, defaults, validation.
 *
 * The format is line-based and documented in docs/CONFIGURATION.md:
 * `[section]` headers, `key = value` lines, whole-line comments starting with
 * '#' or ';'. Every problem is reported with the file name and line number.
 * conf_write_new writes a fresh, commented file for `lmsync init`.
 */
#ifndef LMSYNC_CONF_CONF_H
#define LMSYNC_CONF_CONF_H

#include <stdint.h>

#include "proto/err.h"

#define CONF_NAME_MAX 128
#define CONF_HOST_MAX 256

/* What kind of organisation a site acts for. */
enum site_kind {
	SITE_KOMMUNE,
	SITE_INTERKOMMUNAL,
	SITE_HELSEFORETAK,
	SITE_HUB,
	SITE_NASJONAL,
	SITE_BRUKERORGANISASJON,
	SITE_RHF,
	SITE_KIND_COUNT
};

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct conf_addr {
	char host[CONF_HOST_MAX]; /* as written, without IPv6 brackets */
	uint16_t port;
};

/* Transport limits; durations in milliseconds. */
struct conf_limits {
	uint32_t handshake_timeout_ms; /* connect or accept to hello, else closed */
	uint32_t keepalive_ms;	       /* ping a peer this often */
	uint32_t dead_after_ms;	       /* close a peer silent this long */
	uint32_t reconnect_max_ms;     /* cap of the reconnect backoff */
	uint32_t max_connections;      /* peer connections at once, all states */
	uint32_t max_handshakes;       /* inbound connections not yet authenticated */
	uint32_t max_skew_ms;	       /* change sets dated further ahead of our clock wait */
};

struct conf {
	char name[CONF_NAME_MAX];
	enum site_kind kind;
	struct conf_addr listen;
	struct conf_limits limits;
	enum log_level log_level;
};

/* Kinds: the name used in files and commands, and a one-line explanation. */
const char *site_kind_name(enum site_kind kind);
const char *site_kind_help(enum site_kind kind);
int site_kind_parse(const char *s, enum site_kind *kind, lm_err *err);

const char *log_level_name(enum log_level level);
int log_level_parse(const char *s, enum log_level *level, lm_err *err);

/* A site name: non-empty, shorter than CONF_NAME_MAX, no control characters. */
int conf_name_check(const char *name, lm_err *err);

/* Parse "HOST:PORT" where HOST is a name, an IPv4 address or [IPv6]. */
int conf_addr_parse(const char *s, struct conf_addr *addr, lm_err *err);
/* Format back to "HOST:PORT" ("[::1]:7411" for IPv6). */
void conf_addr_format(const struct conf_addr *addr, char *out, size_t cap);

/* Parse a duration: a whole number with a unit, "250ms", "10s", "2m", "1h". */
int conf_duration_parse(const char *s, uint32_t *ms, lm_err *err);

/* Fill conf with the defaults of everything that has one. */
void conf_defaults(struct conf *conf);

/* Read and validate path. On error the message starts "PATH:LINE: ". */
int conf_load(const char *path, struct conf *conf, lm_err *err);

/* Create path (it must not exist) holding conf with explanatory comments. */
int conf_write_new(const char *path, const struct conf *conf, lm_err *err);

#endif
