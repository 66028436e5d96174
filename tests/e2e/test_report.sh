#!/usr/bin/env bash
# End-to-end: `lmsync report` through the real binary, on a store whose
# network, courses, runs and agreements are written by the sqlite3 shell as
# the owning site (the capture triggers and owner policies apply to it as to
# any client). One site owns every course here: what the report sums does
# not depend on how many sites wrote the rows once they are merged into the
# store it reads, and test_report (unit) checks exactly that on three sites'
# stores merged into one another. No daemon is needed: reports read the
# store. test_two_owners_through_a_hub adds the whole path once: two owners'
# rows carried by lmsyncd through a hub, and the same report at both.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" "$@"

# A site far away that the network names as a member: 64 hex digits.
OTHER=$(printf 'b%.0s' $(seq 1 64))

sql() {
	sqlite3 "$1/store.db" "$2" || fail "sqlite3: $2"
}

site_hex() {
	sqlite3 "$1/store.db" "SELECT value FROM meta WHERE key = 'site_id'"
}

# report_site: a kommune site with network vestfold (this site leder, OTHER
# medlem), courses and runs; a second network 'annet' this site is no
# member of. Prints the site's directory.
report_site() {
	local dir me net other
	dir=$(new_site sandefjord kommune)
	me=$(site_hex "$dir")
	net="vestfold@$me"
	other="annet@$me"
	sql "$dir" "
INSERT INTO lm_network(id, scope, name, kind, host) VALUES
  ('$net', '$net', 'LMS-Vestfold', 'interkommunalt', '$me'),
  ('$other', '$other', 'Annet nettverk', 'tema', '$me');
INSERT INTO lm_network_member(network, org, scope, role) VALUES
  ('$net', '$me', '$net', 'leder'), ('$net', '$OTHER', '$net', 'medlem');
INSERT INTO lm_course(owner, id, scope, title, kind, target, diagnosis, standard_metode,
  user_reps, municipality, archived) VALUES
  ('$me', 'c1', '$net', 'Mestringstreff', 'kurs', 'pasienter', NULL, 1, 2, 'Sandefjord', 0),
  ('$me', 'c2', '$net', 'KOLS-skole', 'kurs', 'begge', 'KOLS', 0, 0, 'Larvik', 0),
  ('$me', 'c3', '$net', 'Temakveld', 'temamøte', 'pårørende', 'KOLS', 0, 1, 'Larvik', 1),
  ('$me', 'c4', '$other', 'Annet', 'kurs', 'pasienter', NULL, 0, 0, 'Larvik', 0),
  ('$me', 'c5', '$net', 'Diabeteskurs', 'kurs', 'begge', 'diabetes', 1, 1, 'Sandefjord', 0);
INSERT INTO lm_course_run(owner, id, scope, course, starts, held, sessions_held, patients,
  relatives, professional_hours, user_rep_hours, forms, benefit_none, benefit_some,
  benefit_good, benefit_very_good) VALUES
  ('$me', 'r1', '$net', 'c1', '2026-03-01', 1, 6, 9, 2, 15.5, 6, 8, 0, 1, 4, 3),
  ('$me', 'r2', '$net', 'c2', '2026-04-01', 1, 4, 12, 7, 10, 0, 15, 1, 2, 6, 6),
  ('$me', 'r3', '$net', 'c2', '2026-06-30', 1, 4, 8, 6, 10.25, 0, 10, 0, 0, 5, 5),
  ('$me', 'r4', '$net', 'c2', '2026-06-01', 0, 0, 40, 40, 0, 0, 0, 0, 0, 0, 0),
  ('$me', 'r5', '$net', 'c3', '2026-03-03', 1, 1, 30, 30, 2, 2, 30, 0, 0, 0, 30),
  ('$me', 'r6', '$net', 'c1', '2026-07-01', 1, 6, 30, 30, 2, 2, 30, 0, 0, 0, 30),
  ('$me', 'r7', '$net', 'c5', '2026-01-01', 1, 8, 30, 20, 24, 12, 40, 5, 10, 12, 13),
  ('$me', 'r8', '$other', 'c4', '2026-03-03', 1, 1, 30, 30, 2, 2, 30, 0, 0, 0, 30);"
	echo "$dir"
}

period_args=(--network vestfold --from 2026-01-01 --to 2026-06-30)

test_help_explains_terms() {
	expect_rc 0 "$LMSYNC" --help
	contains "$OUT" "report"
	expect_rc 0 "$LMSYNC" report --help
	contains "$OUT" "usage: lmsync [-d DIR] report activity|completeness|close|agreements"
	contains "$OUT" "brukerrepresentanter (user representatives"
	contains "$OUT" "Standard metode (planned"
	contains "$OUT" "<5  a count of persons from 1 to 4"
	contains "$OUT" "the smallest shown cell of the column is hidden"
	expect_rc 0 "$LMSYNC" report activity --help
	contains "$OUT" "report completeness --network N --period P"
}

test_activity_total_only() {
	local dir
	dir=$(report_site)
	expect_rc 0 lm "$dir" report activity "${period_args[@]}" --format csv
	# r1, r2, r3 (the to day) and r7 (the from day); not r4 (not held), r5
	# (archived course), r6 (after to), r8 (other network). Relatives 35 and
	# patients 59 shown; the ratings' ingen (6) too: nothing is small.
	[ "$(printf '%s' "$OUT" | tr -d '\r')" = "group,courses,runs,sessions,patients,relatives,participants,professional_hours,user_rep_hours,user_rep_runs,user_rep_runs_pct,standard_metode_pct,forms,benefit_ingen,benefit_noe,benefit_god,benefit_svaert_god
total,3,4,22,59,35,94,59.75,18.00,2,50,67,73,6,13,27,27" ] || fail "csv: $OUT"
	# RFC 4180 line ends.
	[ "$(printf '%s' "$OUT" | head -1 | od -c | grep -c '\\r')" = 1 ] || fail "no CRLF: $OUT"
}

test_activity_by_diagnosis_three_formats() {
	local dir
	dir=$(report_site)
	expect_rc 0 lm "$dir" report activity "${period_args[@]}" --by diagnosis --format csv
	# diagnoseuavhengig has 2 pårørende: <5, its row's participant counts x;
	# KOLS (13 pårørende, the smallest other) is hidden so 2 cannot be
	# worked out from the total; diabetes stays. The ratings cascade to the
	# total: ingen 1 (KOLS) beside 5 (diabetes) would sum to the total's 6.
	[ "$(printf '%s' "$OUT" | tr -d '\r' | tail -4)" = "KOLS,1,2,8,x,x,x,20.25,0.00,0,0,0,x,<5,<5,x,x
diabetes,1,1,8,30,20,50,24.00,12.00,1,100,100,x,x,x,x,x
diagnoseuavhengig,1,1,6,x,<5,x,15.50,6.00,1,100,100,x,0,<5,<5,<5
total,3,4,22,59,35,94,59.75,18.00,2,50,67,x,x,x,x,x" ] || fail "csv: $OUT"
	expect_rc 0 lm "$dir" report activity "${period_args[@]}" --by diagnosis --format json
	printf '%s' "$OUT" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert [r["group"] for r in rows] == ["KOLS", "diabetes", "diagnoseuavhengig", "total"], rows
u = rows[2]
assert u["relatives"] == "<5" and u["patients"] == "x" and u["benefit_ingen"] == 0, u
assert rows[1]["patients"] == 30 and rows[1]["professional_hours"] == 24.0, rows[1]
assert rows[3]["participants"] == 94 and rows[3]["forms"] == "x", rows[3]
assert isinstance(rows[3]["courses"], int) and rows[3]["user_rep_runs_pct"] == 50
' || fail "json: $OUT"
	# --json is --format json.
	local json=$OUT
	expect_rc 0 lm "$dir" report activity "${period_args[@]}" --by diagnosis --json
	[ "$OUT" = "$json" ] || fail "--json differs from --format json"
	expect_rc 0 lm "$dir" report activity "${period_args[@]}" --by diagnosis
	contains "$OUT" "Activity in vestfold@"
	[[ "$OUT" =~ diagnosis\ +courses\ +runs\ +sessions\ +patients\ +pårørende ]] || fail "table: $OUT"
	[[ "$OUT" =~ diagnoseuavhengig\ +1\ +1\ +6\ +x\ +\<5\ +x\ +15.50 ]] || fail "table: $OUT"
	[[ "$OUT" =~ total\ +3\ +4\ +22\ +59\ +35\ +94 ]] || fail "table: $OUT"
	# Columns line up: the header's "svært god" ends where every row ends.
	[ "$(printf '%s\n' "$OUT" | tail -5 | python3 -c '
import sys
print(len(set(len(l.rstrip("\n")) for l in sys.stdin)))')" = 1 ] || fail "ragged table: $OUT"
}

test_activity_other_groupings() {
	local dir
	dir=$(report_site)
	expect_rc 0 lm "$dir" report activity "${period_args[@]}" --by org --format csv
	contains "$OUT" "sandefjord,3,4,22,59,35,94"
	expect_rc 0 lm "$dir" report activity "${period_args[@]}" --by kind --format csv
	contains "$OUT" "kurs,3,4,22,59,35,94"
	expect_rc 0 lm "$dir" report activity "${period_args[@]}" --by target --format csv
	[ "$(printf '%s' "$OUT" | tr -d '\r' | cut -d, -f1-4 | tail -3 | tr '\n' ' ')" = \
		"begge,2,3,16 pasienter,1,1,6 total,3,4,22 " ] || fail "by target: $OUT"
	expect_rc 0 lm "$dir" report activity "${period_args[@]}" --by municipality --format csv
	[ "$(printf '%s' "$OUT" | tr -d '\r' | cut -d, -f1-3 | tail -3 | tr '\n' ' ')" = \
		"Larvik,1,2 Sandefjord,2,2 total,3,4 " ] || fail "by municipality: $OUT"
	# The network by its display name and by its whole id.
	expect_rc 0 lm "$dir" report activity --network LMS-Vestfold --from 2026-01-01 \
		--to 2026-06-30 --format csv
	contains "$OUT" "total,3,4,22"
	expect_rc 0 lm "$dir" report activity --network "vestfold@$(site_hex "$dir")" \
		--from 2026-01-01 --to 2026-06-30 --format csv
	contains "$OUT" "total,3,4,22"
}

test_completeness_after_close() {
	local dir
	dir=$(report_site)
	expect_rc 0 lm "$dir" report completeness --network vestfold --period 2026
	contains "$OUT" "Reporting for 2026 (2026-01-01 to 2026-12-31)"
	contains "$OUT" "0 of 2 members closed"
	expect_rc 0 lm "$dir" report close --network vestfold --period 2026
	contains "$OUT" "Closed this site's reporting for 2026 in vestfold@"
	expect_rc 0 lm "$dir" report close --network vestfold --period 2026
	contains "$OUT" "closed its reporting for 2026 in vestfold@"
	contains "$OUT" "already"
	[ "$(sqlite3 "$dir/store.db" "SELECT count(*) FROM lm_report_close")" = 1 ] ||
		fail "closing twice wrote twice"
	# The closing is a replicated write: captured for sealing.
	[ "$(sqlite3 "$dir/store.db" "SELECT count(*) FROM repl_capture WHERE tbl = 'lm_report_close'")" \
		-ge 1 ] || fail "the closing was not captured"
	expect_rc 0 lm "$dir" report completeness --network vestfold --period 2026
	contains "$OUT" "1 of 2 members closed"
	# Sites as `status` shows them in the table: the first group of the id.
	[[ "$OUT" =~ sandefjord\ +$(lm "$dir" id | cut -c1-7)\ +leder\ +yes\ +20[0-9-]+T ]] ||
		fail "table: $OUT"
	[[ "$OUT" =~ bbbbbbb\ +[0-9A-Z]{7}\ +medlem\ +no ]] || fail "table: $OUT"
	expect_rc 0 lm "$dir" report completeness --network vestfold --period 2026 --json
	printf '%s' "$OUT" | python3 -c '
import json, sys
m = {r["role"]: r for r in json.load(sys.stdin)}
assert m["leder"]["closed"] is True and m["leder"]["closed_at"].startswith("20"), m
assert m["medlem"]["closed"] is False and m["medlem"]["closed_at"] == "", m
' || fail "json: $OUT"
	# Another period is not closed by it.
	expect_rc 0 lm "$dir" report completeness --network vestfold --period 2026-Q3 --format csv
	[ "$(printf '%s' "$OUT" | tr -d '\r' | head -1)" = "org,site,role,closed,closed_at" ] ||
		fail "csv: $OUT"
	contains "$OUT" "leder,no,"
}

test_close_refused() {
	local dir
	dir=$(report_site)
	# annet: this site made it but is no member of it.
	expect_rc 1 lm "$dir" report close --network annet --period 2026
	contains "$OUT" "this site is no member of network annet@"
	expect_rc 1 lm "$dir" report close --network vestfold --period 2199
	contains "$OUT" "--period: 2199 has not begun yet"
	expect_rc 2 lm "$dir" report close --network vestfold --period 2026-H3
	contains "$OUT" "--period: '2026-H3' is not a period"
	expect_rc 2 lm "$dir" report close --network vestfold
	contains "$OUT" "report close needs --network and --period"
	[ "$(sqlite3 "$dir/store.db" "SELECT count(*) FROM lm_report_close")" = 0 ] ||
		fail "a refused closing wrote a row"
}

test_agreements() {
	local dir me a1 a2
	dir=$(report_site)
	me=$(site_hex "$dir")
	a1="avtale-fonna@$me"
	a2="avtale-annen@$me"
	sql "$dir" "
INSERT INTO lm_agreement(id, scope, title, hf) VALUES ('$a1', '$a1', 'Samarbeidsavtale', '$OTHER'),
  ('$a2', '$a2', 'Samarbeidsavtale 2', '$OTHER');
INSERT INTO lm_agreement_party(agreement, org, scope, role) VALUES
  ('$a1', '$me', '$a1', 'kommune'), ('$a1', '$OTHER', '$a1', 'helseforetak'),
  ('$a2', '$me', '$a2', 'kommune');
INSERT INTO lm_agreement_item(agreement, id, scope, what, status, due) VALUES
  ('$a1', 'i1', '$a1', 'Felles kursplan', 'åpen', '2026-03-01'),
  ('$a1', 'i2', '$a1', 'Henvisningsrutine', 'pågår', '2026-12-01'),
  ('$a1', 'i3', '$a1', 'Brukerrepresentanter', 'fullført', '2026-02-01'),
  ('$a2', 'i4', '$a2', 'Utskrivning', 'avvik', '2026-04-01'),
  ('$a2', 'i5', '$a2', 'Evaluering', 'åpen', NULL);"
	expect_rc 0 lm "$dir" report agreements --date 2026-06-01 --format csv
	[ "$(printf '%s' "$OUT" | tr -d '\r')" = "helseforetak,helseforetak_site,kommune,kommune_site,agreements,open,overdue,avvik,done
bbbbbbb,$OTHER,sandefjord,$me,2,3,2,1,1" ] || fail "csv: $OUT"
	expect_rc 0 lm "$dir" report agreements --date 2026-01-01 --json
	printf '%s' "$OUT" | python3 -c '
import json, sys
(p,) = json.load(sys.stdin)
assert (p["open"], p["overdue"], p["avvik"], p["done"]) == (3, 0, 1, 1), p
' || fail "json: $OUT"
	expect_rc 0 lm "$dir" report agreements
	contains "$OUT" "Agreement follow-up per helseforetak and kommune, overdue as of $(date +%F)"
	expect_rc 2 lm "$dir" report agreements --date 2026-13-01
	contains "$OUT" "--date"
}

test_agreements_none() {
	local dir
	dir=$(report_site)
	expect_rc 0 lm "$dir" report agreements
	contains "$OUT" "No agreements here yet."
	expect_rc 0 lm "$dir" report agreements --json
	[ "$OUT" = "[]" ] || fail "json: $OUT"
}

test_errors() {
	local dir
	dir=$(report_site)
	expect_rc 2 lm "$dir" report
	contains "$OUT" "which one: activity, completeness, close or agreements?"
	expect_rc 2 lm "$dir" report summary
	contains "$OUT" "unknown subcommand 'summary'"
	expect_rc 2 lm "$dir" report activity --network vestfold --from 2026-02-30 --to 2026-06-30
	contains "$OUT" "--from: '2026-02-30'"
	contains "$OUT" "Try 'lmsync report --help'."
	expect_rc 2 lm "$dir" report activity --network vestfold --from 2026-01-01 --to 30/06/2026
	contains "$OUT" "--to: '30/06/2026' is not a date"
	# The Norwegian way of writing it is one.
	expect_rc 0 lm "$dir" report activity --network vestfold --from 1.1.2026 --to 30.06.2026
	contains "$OUT" "2026-01-01 to 2026-06-30"
	expect_rc 2 lm "$dir" report activity --network vestfold --from 2026-07-01 --to 2026-06-30
	contains "$OUT" "--from 2026-07-01 is after --to 2026-06-30"
	expect_rc 2 lm "$dir" report activity --network vestfold --from 2026-01-01
	contains "$OUT" "report activity needs --network, --from and --to"
	expect_rc 2 lm "$dir" report activity "${period_args[@]}" --by county
	contains "$OUT" "--by: 'county' is no grouping; use org, kind, target, diagnosis or municipality"
	expect_rc 2 lm "$dir" report activity "${period_args[@]}" --format xml
	contains "$OUT" "--format: 'xml' is no format; use table, csv or json"
	expect_rc 2 lm "$dir" report activity "${period_args[@]}" --period 2026
	contains "$OUT" "unknown or incomplete option '--period'"
	expect_rc 2 lm "$dir" report activity "${period_args[@]}" extra
	contains "$OUT" "activity takes no argument 'extra'"
	expect_rc 1 lm "$dir" report activity --network nowhere --from 2026-01-01 --to 2026-06-30
	contains "$OUT" "--network: no network 'nowhere' here"
	expect_rc 1 lm "$dir" report completeness --network nowhere --period 2026
	contains "$OUT" "--network: no network 'nowhere' here"
	expect_rc 2 lm "$dir" report completeness --network vestfold --period 2026-13
	contains "$OUT" "--period: '2026-13' is not a period"
	expect_rc 1 lm "$T/none" report activity "${period_args[@]}"
	contains "$OUT" "holds no site"
}

# wsql DIR QUERY: the sqlite3 shell while lmsyncd may be writing.
wsql() {
	sqlite3 -cmd ".timeout 10000" "$1/store.db" "$2"
}

# exactly N DIR QUERY
exactly() {
	[ "$(wsql "$2" "$3")" = "$1" ]
}

same_report() {
	[ "$(lm "$1" report activity "${@:3}")" = "$(lm "$2" report activity "${@:3}")" ]
}

test_two_owners_through_a_hub() {
	local hub a b me net s
	hub=$(new_site hub hub)
	a=$(new_site fonna helseforetak)
	b=$(new_site bomlo kommune)
	hub_for "$hub" "$a" "$b"
	me=$(site_hex "$a")
	net="fonna@$me"
	# A makes the network, B a member of it, the hub its relay.
	sql "$a" "INSERT INTO lm_network(id, scope, name, kind, host) VALUES
		('$net', '$net', 'Fonna-nettverket', 'helseforetak', '$me');
		INSERT INTO lm_network_member(network, org, scope, role) VALUES
		('$net', '$me', '$net', 'leder'), ('$net', '$(site_hex "$b")', '$net', 'medlem');"
	lm "$a" member add "$net" "$(lm "$b" id)" --role member >/dev/null || fail "grant b"
	lm "$a" member add "$net" "$(lm "$hub" id)" --role relay >/dev/null || fail "grant hub"
	for s in "$hub" "$a" "$b"; do start_daemon "$s"; done
	wait_for 30 exactly 2 "$b" "SELECT count(*) FROM lm_network_member WHERE network = '$net'" ||
		fail "b did not receive the network"
	# Each owner writes its own course and runs.
	wsql "$a" "INSERT INTO lm_course(owner, id, scope, title, kind, target, diagnosis,
		standard_metode, user_reps, municipality) VALUES
		('$me', 'k1', '$net', 'KOLS-skole', 'kurs', 'pasienter', 'KOLS', 1, 2, 'Haugesund');
		INSERT INTO lm_course_run(owner, id, scope, course, starts, held, sessions_held,
		patients, relatives, professional_hours, user_rep_hours, forms, benefit_none,
		benefit_some, benefit_good, benefit_very_good) VALUES
		('$me', 'r1', '$net', 'k1', '2026-02-01', 1, 5, 14, 6, 20, 10, 18, 0, 2, 8, 8),
		('$me', 'r2', '$net', 'k1', '2026-09-01', 1, 5, 11, 9, 20, 10, 15, 0, 0, 7, 8);" ||
		fail "writing at a"
	wsql "$b" "INSERT INTO lm_course(owner, id, scope, title, kind, target, diagnosis,
		standard_metode, user_reps, municipality) VALUES
		('$(site_hex "$b")', 'k1', '$net', 'Mestringstreff', 'kurs', 'begge', NULL, 1, 2,
		'Bømlo');
		INSERT INTO lm_course_run(owner, id, scope, course, starts, held, sessions_held,
		patients, relatives, professional_hours, user_rep_hours, forms, benefit_none,
		benefit_some, benefit_good, benefit_very_good) VALUES
		('$(site_hex "$b")', 'r1', '$net', 'k1', '2026-03-01', 1, 6, 8, 3, 15, 15, 11, 1,
		2, 4, 4);" || fail "writing at b"
	for s in "$a" "$b"; do
		wait_for 30 exactly 3 "$s" "SELECT count(*) FROM lm_course_run" ||
			fail "$(basename "$s") holds $(wsql "$s" 'SELECT count(*) FROM lm_course_run') runs, not 3"
		wait_for 30 exactly 2 "$s" "SELECT count(*) FROM lm_org" ||
			fail "$(basename "$s") does not know both organisations"
	done
	# The same figures at both, from their own stores. B's 3 pårørende hide
	# its participant counts, and A's 15 with them (the smallest other), so
	# 3 is not 18 - 15; every evaluation row holds a count below 5.
	wait_for 10 same_report "$a" "$b" --network fonna --from 2026-01-01 --to 2026-12-31 \
		--by org --format csv || fail "the reports differ"
	expect_rc 0 lm "$b" report activity --network fonna --from 2026-01-01 --to 2026-12-31 \
		--by org --format csv
	[ "$(printf '%s' "$OUT" | tr -d '\r' | tail -3)" = "bomlo,1,1,6,x,<5,x,15.00,15.00,1,100,100,x,<5,<5,<5,<5
fonna,1,2,10,x,x,x,40.00,20.00,2,100,100,x,0,<5,x,x
total,2,3,16,33,18,51,55.00,35.00,3,100,100,x,<5,<5,x,x" ] || fail "csv at b: $OUT"
	# B closes; A sees it.
	expect_rc 0 lm "$b" report close --network fonna --period 2026-H1
	wait_for 30 exactly 1 "$a" "SELECT count(*) FROM lm_report_close" ||
		fail "a did not receive b's closing"
	expect_rc 0 lm "$a" report completeness --network fonna --period 2026-H1
	contains "$OUT" "1 of 2 members closed"
	[[ "$OUT" =~ bomlo\ +$(lm "$b" id | cut -c1-7)\ +medlem\ +yes ]] ||
		fail "completeness at a: $OUT"
}

run_tests
