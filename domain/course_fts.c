/* SPDX-License-Identifier: MIT */
/* The catalogue's full-text index, lm_course_fts: local, never replicated.
 *
 * An index entry has the rowid of its course row, so keeping it in step
 * is a lookup by rowid whatever the catalogue's size. Triggers keep it for
 * every writer; a merge, which runs with triggers off (store/mergehook.h),
 * calls course_fts_on_merge for each course row it writes instead. Search
 * joins the index to lm_course by rowid and key, so an entry a replacing
 * insert left behind under an old rowid matches no course. */
#include "domain/course.h"

#include <sqlite3.h>

#include "store/mergehook.h"

#define FTS_COLS "owner, id, title, description, diagnosis, venue, municipality, co_organisers"
#define FTS_NEW                                                                                    \
	"NEW.owner, NEW.id, NEW.title, NEW.description, NEW.diagnosis, NEW.venue, "               \
	"NEW.municipality, NEW.co_organisers"
#define KEY_IS_ARG "owner = json_extract(?1, '$[0]') AND id = json_extract(?1, '$[1]')"

/* unicode61 folds case and keeps æ, ø, å as letters of their own; a hyphen
 * separates words, so "kols" finds "KOLS-skole". Domain version 1 kept the
 * index by (owner, id), which made each update scan it: rebuilt here. */
const char course_fts_sql[] =
    "DROP TRIGGER IF EXISTS lm_course_fts_ins;\n"
    "DROP TRIGGER IF EXISTS lm_course_fts_upd;\n"
    "DROP TRIGGER IF EXISTS lm_course_fts_del;\n"
    "DROP TABLE IF EXISTS lm_course_fts;\n"
    "CREATE VIRTUAL TABLE lm_course_fts USING fts5(\n"
    "  owner UNINDEXED, id UNINDEXED, title, description, diagnosis, venue, municipality,\n"
    "  co_organisers, tokenize = \"unicode61 remove_diacritics 0\");\n"
    "CREATE TRIGGER lm_course_fts_ins AFTER INSERT ON lm_course BEGIN\n"
    "  INSERT OR REPLACE INTO lm_course_fts(rowid, " FTS_COLS ") VALUES (NEW.rowid, " FTS_NEW
    ");\n"
    "END;\n"
    "CREATE TRIGGER lm_course_fts_upd AFTER UPDATE ON lm_course BEGIN\n"
    "  DELETE FROM lm_course_fts WHERE rowid = OLD.rowid;\n"
    "  INSERT OR REPLACE INTO lm_course_fts(rowid, " FTS_COLS ") VALUES (NEW.rowid, " FTS_NEW
    ");\n"
    "END;\n"
    "CREATE TRIGGER lm_course_fts_del AFTER DELETE ON lm_course BEGIN\n"
    "  DELETE FROM lm_course_fts WHERE rowid = OLD.rowid;\n"
    "END;\n"
    "INSERT INTO lm_course_fts(rowid, " FTS_COLS ") SELECT rowid, " FTS_COLS " FROM lm_course;\n";

static int course_fts_on_merge(struct store *st, const char *key_json, int deleting, void *ctx,
			       lm_err *err)
{
	sqlite3_stmt *stmt = store_stmt(
	    st,
	    deleting ? "DELETE FROM lm_course_fts WHERE rowid = (SELECT rowid FROM lm_course "
		       "WHERE " KEY_IS_ARG ")"
		     : "INSERT OR REPLACE INTO lm_course_fts(rowid, " FTS_COLS ") SELECT rowid, " FTS_COLS
		       " FROM lm_course WHERE " KEY_IS_ARG,
	    err);
	int rc;

	(void)ctx;
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, key_json, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	store_release(st, stmt);
	if (rc != SQLITE_DONE)
		return lm_errf(err, "%s: keeping the course search index: %s", st->path,
			       sqlite3_errmsg(st->db));
	return 0;
}

int course_fts_hook(struct store *st, lm_err *err)
{
	return mergehook_add(st, "lm_course", "lm_course_fts_", course_fts_on_merge, NULL, err);
}
