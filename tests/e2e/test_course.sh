#!/usr/bin/env bash
# End-to-end: the course catalogue through the real lmsync binary. Every
# command works on the store, so no daemon is needed, except in the last
# test: two sites and a hub, where a course published at one site is listed
# at the other, which cannot change it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" "$@"

# network DIR NAME DISPLAY: a network made as its root site would (the
# `lmsync network` command is someone else's); prints its id.
network() {
	local id
	id=$(lm "$1" scope create "$2") || fail "scope create $2"
	sql "$1" "INSERT INTO lm_network(id, scope, name, kind) VALUES ('$id', '$id', '$3', 'region')" ||
		fail "insert network $2"
	echo "$id"
}

# site_with_network NAME: a kommune site with the network midt ("Helse Midt").
site_with_network() {
	local dir
	dir=$(new_site "$1" kommune) || exit 1
	network "$dir" midt "Helse Midt" >/dev/null
	echo "$dir"
}

add_kols() {
	lm "$1" course add --network midt --title "KOLS-skole" --kind kurs --target pasienter \
		--diagnosis kols --sessions 6 --session-minutes 150 --starts 2026-09-01 \
		--ends 2026-10-15 --municipality Trondheim --registration lms@trondheim.kommune.no \
		--description "Lær å leve med KOLS, sammen med brukerrepresentanter" \
		--standard-metode ja --user-reps 2
}

test_add_list_search_show() {
	local a kols pg out
	a=$(site_with_network trondheim)
	kols=$(add_kols "$a") || fail "course add"
	[[ "$kols" =~ ^[0-9a-f]{16}$ ]] || fail "course add printed '$kols', not an id"
	pg=$(lm "$a" course add --network "Helse Midt" --title "Mestring for pårørende" \
		--kind samtalegruppe --target pårørende --age-group voksne --delivery video) ||
		fail "course add 2"
	expect_rc 0 lm "$a" course list
	contains "$OUT" "$kols  2026-09-01  kurs"
	contains "$OUT" "Mestring for pårørende (trondheim)"
	expect_rc 0 lm "$a" course search kols
	contains "$OUT" "KOLS-skole"
	[[ "$OUT" != *"pårørende"* ]] || fail "search kols found the other course: $OUT"
	expect_rc 0 lm "$a" course search PÅRØR
	contains "$OUT" "Mestring for pårørende"
	expect_rc 0 lm "$a" course search diabetes
	contains "$OUT" "No course matches."
	expect_rc 0 lm "$a" course list --kind samtalegruppe
	[[ "$OUT" != *KOLS* ]] || fail "--kind samtalegruppe: $OUT"
	expect_rc 0 lm "$a" course list --diagnosis independent --from 2026-01-01
	contains "$OUT" "No courses here yet"
	expect_rc 0 lm "$a" course list --from 1.10.2026 --to 31.10.2026 --owner trondheim
	contains "$OUT" "KOLS-skole"
	expect_rc 0 lm "$a" course show "${kols:0:4}"
	contains "$OUT" "KOLS-skole"
	contains "$OUT" "network          Helse Midt (midt@"
	contains "$OUT" "standard_metode  ja"
	contains "$OUT" "No runs yet"
	out=$(lm "$a" course list --json | python3 -c 'import json, sys
c = {x["title"]: x for x in json.load(sys.stdin)}
k = c["KOLS-skole"]
print(k["kind"], k["sessions"], k["standard_metode"], k["diagnosis"], k["owner_name"],
      c["Mestring for pårørende"]["diagnosis"], c["Mestring for pårørende"]["delivery"])') ||
		fail "list --json is not JSON"
	[ "$out" = "kurs 6 True kols trondheim None video" ] || fail "list --json: $out"
	expect_rc 0 lm "$a" course show "$pg" --json
	[ "$(printf '%s' "$OUT" | python3 -c 'import json, sys
d = json.load(sys.stdin); print(d["course"]["title"], len(d["runs"]))')" = \
		"Mestring for pårørende 0" ] || fail "show --json: $OUT"
}

test_edit_and_archive() {
	local a kols
	a=$(site_with_network trondheim)
	kols=$(add_kols "$a")
	expect_rc 0 lm "$a" course edit "$kols" --status påmelding --diagnosis-independent
	contains "$OUT" "Changed course $kols."
	expect_rc 0 lm "$a" course show "$kols"
	contains "$OUT" "status           påmelding"
	contains "$OUT" "diagnosis        diagnosis-independent"
	contains "$OUT" "sessions         6"
	expect_rc 0 lm "$a" course archive "$kols"
	contains "$OUT" "Archived course"
	expect_rc 0 lm "$a" course archive "$kols"
	contains "$OUT" "archived already"
	expect_rc 0 lm "$a" course list
	contains "$OUT" "No courses here yet"
	expect_rc 0 lm "$a" course search kols
	contains "$OUT" "No course matches."
	expect_rc 0 lm "$a" course list --archived
	contains "$OUT" "KOLS-skole (trondheim) [archived]"
	expect_rc 0 lm "$a" course archive "${kols:0:5}" --undo
	contains "$OUT" "Course $kols is back in list and search."
	expect_rc 0 lm "$a" course archive "$kols" --undo
	contains "$OUT" "is not archived; nothing changed"
	expect_rc 0 lm "$a" course search kols
	contains "$OUT" "KOLS-skole (trondheim)"
}

test_errors() {
	local a kols
	a=$(site_with_network trondheim)
	kols=$(add_kols "$a")
	# Invalid values: exit 1, every one named.
	expect_rc 1 lm "$a" course add --network midt --title T --kind kursus --target alle \
		--price -5 --starts 2026-02-30
	contains "$OUT" "lmsync: --kind: 'kursus' is not a kind; use kurs, temamøte, selvhjelpsgruppe"
	contains "$OUT" "lmsync: --target: 'alle' is not a target group"
	contains "$OUT" "lmsync: --price: -5 is out of range"
	contains "$OUT" "lmsync: --starts: '2026-02-30': 2026-02 has no day 30"
	expect_rc 1 lm "$a" course add --network nosuch --title T --kind kurs --target begge
	contains "$OUT" "--network: no network 'nosuch' here"
	expect_rc 1 lm "$a" course add --network midt --title "T 01019012345x" --kind kurs \
		--target begge --registration "Kari Nordmann"
	contains "$OUT" "--registration:"
	expect_rc 1 lm "$a" course edit "$kols" --ends 2026-08-01
	contains "$OUT" "--ends: 2026-08-01 is before the start, 2026-09-01"
	expect_rc 1 lm "$a" course show ffff
	contains "$OUT" "no course 'ffff' here"
	expect_rc 1 lm "$a" course show abc
	contains "$OUT" "the first 4 or more"
	# Usage: exit 2.
	expect_rc 2 lm "$a" course add --title T --kind kurs --target begge
	contains "$OUT" "course add needs --network"
	expect_rc 2 lm "$a" course add --network midt --title T --kind kurs --target begge --colour red
	expect_rc 2 lm "$a" course edit "$kols"
	contains "$OUT" "needs a field to change"
	expect_rc 2 lm "$a" course edit "$kols" --diagnosis kols --diagnosis-independent
	expect_rc 2 lm "$a" course frobnicate
	contains "$OUT" "unknown subcommand 'frobnicate'"
	expect_rc 2 lm "$a" course search
	expect_rc 2 lm "$a" course export --format xml
	expect_rc 2 lm "$a" course import courses.txt
	contains "$OUT" "give --format csv or --format json"
	expect_rc 2 lm "$a" course run add "$kols"
	contains "$OUT" "needs --starts"
	expect_rc 2 lm "$a" course run add "$kols" --starts 2026-09-01 --patients 3
	# Filters are checked too.
	expect_rc 1 lm "$a" course list --kind kursus
	contains "$OUT" "--kind: 'kursus' is not a kind"
	expect_rc 1 lm "$a" course list --owner "Nobody kommune"
	contains "$OUT" "--owner:"
}

test_help() {
	local a
	a=$(site_with_network trondheim)
	expect_rc 0 lm "$a" course --help
	contains "$OUT" "course add --network N --title T --kind K --target G"
	contains "$OUT" "temamøte"
	contains "$OUT" "a self-help group"
	contains "$OUT" "--diagnosis-independent"
	contains "$OUT" "brukerrepresentanter"
	contains "$OUT" "påmelding"
	contains "$OUT" "course run update RUN"
	expect_rc 0 lm "$a" course add --help
	contains "$OUT" "FIELDS (add and edit):"
	expect_rc 0 lm "$a" --help
	contains "$OUT" "course"
}

test_runs() {
	local a kols run
	a=$(site_with_network trondheim)
	kols=$(add_kols "$a")
	run=$(lm "$a" course run add "${kols:0:6}" --starts 2026-09-01 --ends 2026-10-15) ||
		fail "run add"
	[[ "$run" =~ ^[0-9a-f]{16}$ ]] || fail "run add printed '$run'"
	expect_rc 0 lm "$a" course run update "$run" --held ja --sessions-held 6 --patients 11 \
		--relatives 4 --professional-hours 15 --user-rep-hours 7,5 --forms 12 \
		--benefit-some 2 --benefit-good 6 --benefit-very-good 4
	expect_rc 1 lm "$a" course run update "$run" --benefit-none 1
	contains "$OUT" "add up to 13, more than the 12 evaluation forms"
	expect_rc 1 lm "$a" course run update "$run" --ends 2026-08-01
	contains "$OUT" "--ends: 2026-08-01 is before the start"
	expect_rc 0 lm "$a" course run list "$kols"
	contains "$OUT" "$run  $kols  2026-09-01  2026-10-15  ja"
	expect_rc 0 lm "$a" course run list --json
	[ "$(printf '%s' "$OUT" | python3 -c 'import json, sys
r = json.load(sys.stdin)[0]
print(r["patients"], r["relatives"], r["user_rep_hours"], r["benefit_good"], r["held"])')" = \
		"11 4 7.5 6 True" ] || fail "run list --json: $OUT"
	expect_rc 0 lm "$a" course show "$kols"
	contains "$OUT" "Runs (gjennomføringer):"
	contains "$OUT" "patients 11, pårørende 4, forms 12"
}

test_export_import_round_trip() {
	local a kols
	a=$(site_with_network trondheim)
	kols=$(add_kols "$a")
	lm "$a" course add --network midt --title 'Temakveld, "Å leve godt"' --kind temamøte \
		--target begge --description $'Linje 1\nLinje 2, med komma' >/dev/null || fail add
	lm "$a" course archive "$kols" >/dev/null || fail archive
	lm "$a" course export >"$T/one.csv" || fail "export csv"
	head -1 "$T/one.csv" | grep -q '^owner,id,network,title,description,kind,target,age_group,' ||
		fail "csv header: $(head -1 "$T/one.csv")"
	grep -q $'\r$' "$T/one.csv" || fail "csv lines end in CRLF"
	lm "$a" course export --format json --output "$T/one.json" || fail "export json"
	python3 -c 'import json, sys; assert len(json.load(open(sys.argv[1]))) == 2' "$T/one.json" ||
		fail "export json: $(cat "$T/one.json")"
	# Unchanged: nothing to do.
	expect_rc 0 lm "$a" course import "$T/one.csv"
	contains "$OUT" "0 new, 0 changed, 2 unchanged"
	sql "$a" "DELETE FROM lm_course"
	expect_rc 0 lm "$a" course import "$T/one.csv"
	contains "$OUT" "2 new, 0 changed, 0 unchanged"
	lm "$a" course export --output "$T/two.csv" || fail "export again"
	cmp "$T/one.csv" "$T/two.csv" || fail "CSV round trip differs"
	sql "$a" "DELETE FROM lm_course"
	expect_rc 0 lm "$a" course import "$T/one.json"
	lm "$a" course export --format json >"$T/two.json" || fail "export json again"
	cmp "$T/one.json" "$T/two.json" || fail "JSON round trip differs"
	# Edited in a spreadsheet: a changed title is an update.
	sed 's/Temakveld/Temakveld i Trondheim/' "$T/one.csv" >"$T/three.csv"
	expect_rc 0 lm "$a" course import "$T/three.csv"
	contains "$OUT" "0 new, 1 changed, 1 unchanged"
	expect_rc 0 lm "$a" course search trondheim
	contains "$OUT" "Temakveld i Trondheim"
	# Filtered export.
	expect_rc 0 lm "$a" course export --network "Helse Midt" --owner trondheim --format json
	contains "$OUT" "KOLS-skole"
	# A destination that cannot take it: the export fails and says so.
	if [ -w /dev/full ]; then
		expect_rc 1 lm "$a" course export --output /dev/full
		contains "$OUT" "writing /dev/full: No space left on device"
		expect_rc 1 sh -c "'$LMSYNC' -d '$a' course export --format json >/dev/full"
		contains "$OUT" "writing stdout: No space left on device"
	fi
}

# Names are matched without regard to case, æ, ø and å included (SQLite's
# lower() folds ASCII only): a site named Ørland, a network Helse Møre, a
# course in Ørsta, each found as typed in capitals or small letters; and
# tables line them up.
test_names_match_in_any_case() {
	local a
	a=$(new_site "Ørland" kommune) || exit 1
	network "$a" more "Helse Møre" >/dev/null
	lm "$a" course add --network "HELSE MØRE" --title "Lærings- og mestringskurs" --kind kurs \
		--target pasienter --municipality Ørsta >/dev/null || fail "course add"
	expect_rc 0 lm "$a" course list --network "helse møre"
	contains "$OUT" "Lærings- og mestringskurs"
	expect_rc 0 lm "$a" course list --municipality "ØRSTA"
	contains "$OUT" "Lærings- og mestringskurs"
	expect_rc 0 lm "$a" course list --municipality "ørsta" --owner "ØRLAND"
	contains "$OUT" "Lærings- og mestringskurs"
	expect_rc 0 lm "$a" course list --municipality "Ålesund"
	case "$OUT" in *mestringskurs*) fail "Ålesund lists the course in Ørsta" ;; esac
	# Tables pad by letters, not bytes: Ø takes two bytes and one column.
	expect_rc 0 lm "$a" org list
	printf '%s\n' "$OUT" | /usr/bin/python3 -c '
import sys
head, row = sys.stdin.read().splitlines()[:2]
assert row.startswith("Ørland"), row
assert head.index("Kind") == row.index("kommune"), (head, row)' ||
		fail "org list does not line up: $OUT"
	# Lists follow the Norwegian alphabet: æ, ø, å after z, in that order.
	network "$a" asen "Åsen nettverk" >/dev/null
	network "$a" ostfold "Østfold nettverk" >/dev/null
	network "$a" bodo "bodø nettverk" >/dev/null
	expect_rc 0 lm "$a" network list
	[ "$(printf '%s\n' "$OUT" | sed 1d | awk '{print $1}' | paste -sd '|')" = \
		"bodø|Helse|Østfold|Åsen" ] || fail "network list order: $OUT"
}

# What a spreadsheet set to Norwegian saves as "CSV (semikolondelt)":
# semicolons, CRLF, a byte order mark; or Windows-1252 instead of UTF-8.
test_import_of_a_semicolon_file() {
	local a
	a=$(site_with_network trondheim)
	printf '\xef\xbb\xbftitle;kind;target;network;municipality;starts;ends\r\nHjerteskole, høst;kurs;pasienter;midt;Trondheim;1.9.2026;15.10.2026\r\n' \
		>"$T/semikolon.csv"
	expect_rc 0 lm "$a" course import "$T/semikolon.csv"
	contains "$OUT" "1 new, 0 changed, 0 unchanged"
	# Dates as the spreadsheet writes them (DD.MM.YYYY), kept as YYYY-MM-DD.
	exactly "Hjerteskole, høst|Trondheim|2026-09-01|2026-10-15" "$a" \
		"SELECT title || '|' || municipality || '|' || starts || '|' || ends FROM lm_course" ||
		fail "imported as $(sql "$a" "SELECT title, municipality, starts, ends FROM lm_course")"
	# Saved as Windows-1252, as Excel on Norwegian Windows does: read so,
	# and said. Damaged UTF-8 (a valid ø beside a lone byte) is refused.
	printf 'title;kind;target;network\r\nKurs i Bod\xf8 \x96 v\xe5r;kurs;pasienter;midt\r\n' \
		>"$T/windows.csv"
	expect_rc 0 lm "$a" course import "$T/windows.csv"
	contains "$OUT" "Read $T/windows.csv as Windows-1252, since it is not UTF-8"
	exactly 1 "$a" "SELECT count(*) FROM lm_course WHERE title = 'Kurs i Bodø – vår'" ||
		fail "imported as $(sql "$a" "SELECT title FROM lm_course")"
	printf 'title;kind;target;network\r\nBod\xc3\xb8 \xe5;kurs;pasienter;midt\r\n' >"$T/damaged.csv"
	expect_rc 1 lm "$a" course import "$T/damaged.csv"
	contains "$OUT" "damaged.csv:2: title: not valid UTF-8 text"
}

test_import_errors() {
	local a
	a=$(site_with_network trondheim)
	printf 'title,kind,target,network\nKOLS-skole,kurs,pasienter,midt\n"Temakveld, mai",kursus,begge,midt\nLeir,leir,alle,midt\n' \
		>"$T/courses.csv"
	expect_rc 1 lm "$a" course import "$T/courses.csv"
	contains "$OUT" "courses.csv:3: kind: 'kursus' is not a kind; use kurs, temamøte"
	contains "$OUT" "courses.csv:4: target: 'alle' is not a target group"
	contains "$OUT" "nothing was imported from $T/courses.csv: 2 errors"
	[ "$(sql "$a" "SELECT count(*) FROM lm_course")" = 0 ] || fail "a bad file imported rows"
	printf '[{"title": "A", "kind": "kurs", "target": "begge", "network": "midt", "price": "gratis"}]' \
		>"$T/c.data"
	expect_rc 1 lm "$a" course import "$T/c.data" --format json
	contains "$OUT" "c.data[0]: price: 'gratis' is not a whole number"
	expect_rc 1 lm "$a" course import "$T/nosuch.csv"
	contains "$OUT" "cannot read"
}

# Two sites and a hub: A publishes to its network, B (a member) sees the
# course and cannot change it; B's own course reaches A.
test_two_sites_through_hub() {
	local hub a b net kols bid
	hub=$(new_site hub hub) || exit 1
	a=$(new_site trondheim kommune) || exit 1
	b=$(new_site molde kommune) || exit 1
	hub_for "$hub" "$a" "$b"
	expect_rc 1 lm "$hub" course list
	contains "$OUT" "this site holds no course catalogue: it is a hub"
	net=$(network "$a" midt "Helse Midt")
	lm "$a" member add "$net" "$(lm "$b" id)" --role member >/dev/null || fail "member add b"
	lm "$a" member add "$net" "$(lm "$hub" id)" --role relay >/dev/null || fail "member add hub"
	kols=$(add_kols "$a") || fail "course add at a"
	start_daemon "$hub"
	start_daemon "$a"
	start_daemon "$b"
	wait_for 30 sh -c "'$LMSYNC' -d '$b' course list | grep -q KOLS-skole" ||
		fail "the course did not reach b: $(lm "$b" course list 2>&1)"
	expect_rc 0 lm "$b" course list --network "Helse Midt"
	contains "$OUT" "KOLS-skole (trondheim)"
	expect_rc 1 lm "$b" course edit "$kols" --title "Overtatt"
	contains "$OUT" "this course belongs to trondheim; only its owner can change it"
	expect_rc 1 lm "$b" course run add "$kols" --starts 2026-09-01
	contains "$OUT" "belongs to trondheim"
	bid=$(lm "$b" course add --network midt --title "Mestring for pårørende" --kind kurs \
		--target pårørende) || fail "course add at b"
	wait_for 30 sh -c "'$LMSYNC' -d '$a' course search pårørende | grep -q $bid" ||
		fail "b's course did not reach a"
	expect_rc 0 lm "$a" course list --owner molde
	contains "$OUT" "Mestring for pårørende (molde)"
	# Moved to a network b is no member of, the course leaves b.
	network "$a" nord "Helse Nord" >/dev/null
	expect_rc 0 lm "$a" course edit "$kols" --network nord
	wait_for 30 sh -c "! '$LMSYNC' -d '$b' course list | grep -q KOLS-skole" ||
		fail "the moved course is still listed at b: $(lm "$b" course list 2>&1)"
	expect_rc 0 lm "$a" course list --network nord
	contains "$OUT" "KOLS-skole (trondheim)"
}

run_tests
