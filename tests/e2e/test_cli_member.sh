#!/usr/bin/env bash
# End-to-end: registering tables for replication, governed scopes and their
# members, through lmsync alone (no daemon: every command works on the store).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" "$@"

# The store of a site, as conf/sitedir.h lays it out.
store_of() {
	echo "$1/store.db"
}

# new_course_site NAME: a site with a course table made by the sqlite3 shell.
new_course_site() {
	local dir
	dir=$(new_site "$1" kommune)
	sqlite3 "$(store_of "$dir")" "CREATE TABLE course (id TEXT PRIMARY KEY NOT NULL,
		scope TEXT NOT NULL DEFAULT '', title TEXT, seats INTEGER NOT NULL DEFAULT 0)" ||
		fail "create table in $dir"
	echo "$dir"
}

test_table_register_and_list() {
	local dir
	dir=$(new_course_site A)
	expect_rc 0 lm "$dir" table register course --key id --scope scope --policy scope
	contains "$OUT" "Registered course: key id, scope column scope, policy scope."
	[ "$(sqlite3 "$(store_of "$dir")" \
		"SELECT pk_cols || '|' || scope_col || '|' || policy FROM repl_table WHERE name = 'course'")" \
		= "id|scope|scope" ] || fail "repl_table has no row for course"
	expect_rc 0 lm "$dir" table list
	[[ "$OUT" =~ course\ +id\ +scope\ +scope ]] || fail "table list: $OUT"
	[[ "$OUT" =~ lm_member\ +of_scope,member\ +scope\ +admin ]] || fail "table list: $OUT"
	expect_rc 0 lm "$dir" table list --json
	[ "$(printf '%s' "$OUT" | python3 -c 'import json, sys
t = {x["name"]: x for x in json.load(sys.stdin)}
print(t["course"]["key"], t["course"]["scope_column"], t["course"]["policy"])')" \
		= "['id'] scope scope" ] || fail "table list --json: $OUT"
}

test_table_register_is_idempotent() {
	local dir
	dir=$(new_course_site A)
	expect_rc 0 lm "$dir" table register course --key id --scope scope --policy owner
	expect_rc 0 lm "$dir" table register course --key id --scope scope --policy scope
	contains "$OUT" "course was registered already; its triggers are re-installed"
	[ "$(sqlite3 "$(store_of "$dir")" "SELECT count(*) || policy FROM repl_table WHERE name = 'course'")" \
		= 1scope ] || fail "second register did not update the registration"
	[ "$(sqlite3 "$(store_of "$dir")" \
		"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'course'")" \
		= 3 ] || fail "expected exactly 3 capture triggers on course"
}

test_writes_by_sqlite3_are_captured() {
	local dir db
	dir=$(new_course_site A)
	db=$(store_of "$dir")
	sqlite3 "$db" "INSERT INTO course(id, scope, title) VALUES ('before', 'open', 'Diabetes')"
	expect_rc 0 lm "$dir" table register course --key id --scope scope --policy scope
	sqlite3 "$db" "INSERT INTO course(id, scope, title) VALUES ('k1', 'open', 'KOLS-skole')" ||
		fail "insert into a registered table"
	[ "$(sqlite3 "$db" "SELECT group_concat(pk, ' ') FROM (SELECT pk FROM repl_capture
		WHERE tbl = 'course' AND col IS NULL ORDER BY pk)")" = '["before"] ["k1"]' ] ||
		fail "repl_capture: $(sqlite3 "$db" 'SELECT * FROM repl_capture')"
	# Sealing is lmsyncd's work: without it, nothing is in the log yet.
	expect_rc 0 lm "$dir" changes
	contains "$OUT" "No change sets yet."
}

test_table_register_errors() {
	local dir
	dir=$(new_course_site A)
	expect_rc 1 lm "$dir" table register nosuch --key id --scope scope --policy scope
	contains "$OUT" "cannot register nosuch: no table 'nosuch' in $(store_of "$dir")"
	expect_rc 1 lm "$dir" table register course --key code --scope scope --policy scope
	contains "$OUT" "course has no column 'code' for the key"
	expect_rc 1 lm "$dir" table register course --key id --scope id --policy scope
	contains "$OUT" "the scope column cannot be part of the key"
	sqlite3 "$(store_of "$dir")" "CREATE TABLE strict_t (id TEXT PRIMARY KEY NOT NULL,
		scope TEXT, must TEXT NOT NULL)"
	expect_rc 1 lm "$dir" table register strict_t --key id --scope scope --policy scope
	contains "$OUT" "strict_t.must is NOT NULL without a default"
	expect_rc 1 lm "$dir" table register meta --key key --scope value --policy scope
	contains "$OUT" "one of lmsync's own tables"
	[ "$(sqlite3 "$(store_of "$dir")" "SELECT count(*) FROM repl_table WHERE name NOT LIKE 'lm\_%' ESCAPE '\'")" \
		= 0 ] || fail "a refused register left a registration"
}

test_usage_errors_exit_2() {
	local dir
	dir=$(new_course_site A)
	expect_rc 2 lm "$dir" table register course --key id --scope scope
	contains "$OUT" "needs --key, --scope and --policy"
	expect_rc 2 lm "$dir" table register course --key id --scope scope --policy everyone
	contains "$OUT" "unknown write policy 'everyone'"
	expect_rc 2 lm "$dir" table register --key id --scope scope --policy scope
	expect_rc 2 lm "$dir" table drop course
	expect_rc 2 lm "$dir" table
	expect_rc 2 lm "$dir" table list --colour
	expect_rc 2 lm "$dir" member add "x@$(lm "$dir" id --hex)" "$(lm "$dir" id)"
	contains "$OUT" "needs --role"
	expect_rc 2 lm "$dir" member add "x@$(lm "$dir" id --hex)" "$(lm "$dir" id)" --role boss
	contains "$OUT" "unknown role 'boss'"
	expect_rc 2 lm "$dir" member add onlyscope --role member
	expect_rc 2 lm "$dir" member remove onlyscope
	expect_rc 2 lm "$dir" member list a b
	expect_rc 2 lm "$dir" member kick
	expect_rc 2 lm "$dir" scope create
	expect_rc 2 lm "$dir" scope delete x
	expect_rc 0 lm "$dir" member --help
	contains "$OUT" "member add SCOPE SITE --role admin|member|reader|relay"
}

test_scope_create_prints_a_governed_id() {
	local dir hex
	dir=$(new_site A kommune)
	hex=$(lm "$dir" id --hex)
	expect_rc 0 lm "$dir" scope create kurs-midt
	[ "$OUT" = "kurs-midt@$hex" ] || fail "scope create printed '$OUT'"
	[ "$(sqlite3 "$(store_of "$dir")" 'SELECT count(*) FROM lm_member')" = 0 ] ||
		fail "scope create wrote a member row"
	expect_rc 1 lm "$dir" scope create "a@b"
	contains "$OUT" "has an '@'"
	expect_rc 1 lm "$dir" scope create ""
	contains "$OUT" "at least one character"
	expect_rc 1 lm "$dir" scope create "$(printf 'x%.0s' $(seq 64))"
	contains "$OUT" "at most 63"
	expect_rc 0 lm "$dir" scope create "$(printf 'x%.0s' $(seq 63))"
	expect_rc 1 lm "$dir" scope create "$(printf 'tab\there')"
	contains "$OUT" "control character"
}

test_members_add_list_remove() {
	local a b c s idb idc hexb
	a=$(new_site A kommune)
	b=$(new_site B helseforetak)
	c=$(new_site C hub)
	idb=$(lm "$b" id)
	idc=$(lm "$c" id)
	hexb=$(lm "$b" id --hex)
	s=$(lm "$a" scope create avtale)
	expect_rc 0 lm "$a" member list
	contains "$OUT" "No governed scopes here yet"
	expect_rc 0 lm "$a" member add "$s" "$idb" --role member
	contains "$OUT" "$idb now has the role member in $s"
	# Written as an ordinary replicated write: in lm_member and captured.
	[ "$(sqlite3 "$(store_of "$a")" "SELECT role FROM lm_member WHERE of_scope = '$s'
		AND member = '$hexb' AND scope = '$s'")" = member ] || fail "no lm_member row"
	[ "$(sqlite3 "$(store_of "$a")" "SELECT count(*) FROM repl_capture WHERE tbl = 'lm_member'")" \
		= 1 ] || fail "the member row was not captured"
	expect_rc 0 lm "$a" member add "$s" "$idb" --role member
	contains "$OUT" "already"
	# 64 hex digits work as well as the text form.
	expect_rc 0 lm "$a" member add "$s" "$(lm "$c" id --hex)" --role relay
	expect_rc 0 lm "$a" member add "$s" "$idb" --role admin
	expect_rc 0 lm "$a" member list "$s"
	contains "$OUT" "$s"
	[[ "$OUT" =~ admin\ +$(lm "$a" id)\ +root,\ this\ site ]] || fail "root not listed as admin, root, this site: $OUT"
	[[ "$OUT" =~ admin\ +$idb ]] || fail "B is not admin: $OUT"
	[[ "$OUT" =~ relay\ +$idc ]] || fail "C is not relay: $OUT"
	expect_rc 0 lm "$a" member list --json
	[ "$(printf '%s' "$OUT" | python3 -c 'import json, sys
print(" ".join("%s:%s:%d" % (m["site"][:7], m["role"], m["root"]) for m in json.load(sys.stdin)))')" \
		= "$(lm "$a" id | cut -c1-7):admin:1 ${idb:0:7}:admin:0 ${idc:0:7}:relay:0" ] ||
		fail "member list --json: $OUT"
	expect_rc 0 lm "$a" member remove "$s" "$idc"
	contains "$OUT" "Removed $idc from $s"
	expect_rc 0 lm "$a" member list "$s"
	case "$OUT" in *"$idc"*) fail "C still listed after remove: $OUT" ;; esac
	expect_rc 1 lm "$a" member remove "$s" "$idc"
	contains "$OUT" "has no role in $s"
	# The root is admin by its id; no row can change that.
	expect_rc 1 lm "$a" member add "$s" "$(lm "$a" id)" --role reader
	contains "$OUT" "is the root of $s"
}

test_member_errors() {
	local a b s
	a=$(new_site A kommune)
	b=$(new_site B kommune)
	s=$(lm "$a" scope create avtale)
	# B holds no role in A's scope: its own triggers refuse the write.
	expect_rc 1 lm "$b" member add "$s" "$(lm "$b" id)" --role admin
	contains "$OUT" "this site is not an administrator of $s"
	contains "$OUT" "ask the operator of the root site $(lm "$a" id)"
	[ "$(sqlite3 "$(store_of "$b")" 'SELECT count(*) FROM lm_member')" = 0 ] ||
		fail "a refused member write left a row"
	[ "$(sqlite3 "$(store_of "$b")" "SELECT count(*) FROM repl_capture WHERE tbl = 'lm_member'")" = 0 ] ||
		fail "a refused member write was captured"
	expect_rc 1 lm "$a" member add open-scope "$(lm "$b" id)" --role member
	contains "$OUT" "'open-scope' is not a governed scope"
	expect_rc 1 lm "$a" member add "$s" SV7QFJK-CB5G8W7-GD6DCT2-Z9WT318-3FWT7VG-GHSZ2CW-9PV8S8J-538N148 --role member
	contains "$OUT" "SITE:"
	expect_rc 0 lm "$a" member list open-scope
	contains "$OUT" "'open-scope' is an open scope"
}

run_tests
