/* SPDX-License-Identifier: MIT */
/* Scope membership; see member.h. */
#include "store/member.h"

#include <sodium.h>
#include <string.h>

#define ROOT_HEX (2 * CS_KEY_LEN)

int scope_root(const char *scope, uint8_t root[CS_KEY_LEN])
{
	size_t len = strlen(scope), i;
	const char *hex;

	if (len < ROOT_HEX + 2 || scope[len - ROOT_HEX - 1] != '@')
		return 0;
	hex = scope + len - ROOT_HEX;
	for (i = 0; i < ROOT_HEX; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return 0;
	return sodium_hex2bin(root, CS_KEY_LEN, hex, ROOT_HEX, NULL, NULL, NULL) == 0;
}

static enum member_role role_parse(const char *s)
{
	static const char *const names[] = {"", "relay", "reader", "member", "admin"};
	int i;

	for (i = ROLE_RELAY; s != NULL && i <= ROLE_ADMIN; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum member_role)i;
	return ROLE_NONE;
}

const char *member_role_name(enum member_role role)
{
	static const char *const names[] = {"none", "relay", "reader", "member", "admin"};

	return (unsigned)role <= ROLE_ADMIN ? names[role] : "?";
}

int member_role(struct store *st, const char *scope, const uint8_t site[CS_KEY_LEN],
		enum member_role *role, lm_err *err)
{
	uint8_t root[CS_KEY_LEN];
	char hex[ROOT_HEX + 1];
	sqlite3_stmt *stmt;
	int rc;

	*role = ROLE_NONE;
	if (scope_root(scope, root) && sodium_memcmp(root, site, CS_KEY_LEN) == 0) {
		*role = ROLE_ADMIN;
		return 0;
	}
	stmt = store_stmt(st, "SELECT role FROM " MEMBER_TABLE " WHERE of_scope = ? AND member = ?",
			  err);
	if (stmt == NULL)
		return -1;
	sodium_bin2hex(hex, sizeof(hex), site, CS_KEY_LEN);
	sqlite3_bind_text(stmt, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*role = role_parse((const char *)sqlite3_column_text(stmt, 0));
	store_release(st, stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lm_errf(err, "%s: reading the members of %s: %s", st->path, scope,
			       sqlite3_errmsg(st->db));
	return 0;
}
