#!/usr/bin/env bash
# End-to-end: organisations and networks through lmsync, then through real
# lmsyncd processes and a hub: a network's description and members reach its
# members and never a site outside it; every organisation's description
# reaches every site.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" "$@"

# count DIR QUERY: one number from DIR's store.
count() {
	sqlite3 -cmd ".timeout 5000" "$1/store.db" "$2"
}

# holds DIR N QUERY: QUERY gives N in DIR's store (asked anew each call).
holds() {
	[ "$(count "$1" "$3")" = "$2" ]
}

test_org_set_show_list() {
	local hf
	hf=$(new_site "St. Olavs" helseforetak)
	expect_rc 0 lm "$hf" org show
	contains "$OUT" "Name       St. Olavs"
	contains "$OUT" "Kind       helseforetak"
	expect_rc 0 lm "$hf" org set --orgnr 974760673 --region "Helse Midt-Norge" --kind rhf
	expect_rc 0 lm "$hf" org show --json
	[ "$(printf '%s' "$OUT" | /usr/bin/python3 -c 'import json, sys
o = json.load(sys.stdin); print(o["orgnr"], o["kind"], o["region"])')" = "974760673 rhf Helse Midt-Norge" ] ||
		fail "org show --json: $OUT"
	expect_rc 0 lm "$hf" org list
	[[ "$OUT" =~ St\.\ Olavs\ +rhf\ +974760673 ]] || fail "org list: $OUT"
	# As Enhetsregisteret writes it, in groups of three: kept as 9 digits.
	expect_rc 0 lm "$hf" org set --orgnr "974 760 673"
	expect_rc 0 lm "$hf" org show
	contains "$OUT" "Orgnr      974760673"
	expect_rc 1 lm "$hf" org set --orgnr 974760674
	contains "$OUT" "--orgnr: '974760674' is not a valid organisation number"
	expect_rc 1 lm "$hf" org set --kommunenr 50011
	contains "$OUT" "--kommunenr"
	expect_rc 1 lm "$hf" org set --kind sykehus
	contains "$OUT" "--kind: 'sykehus' is not a kind; use kommune, interkommunal"
	expect_rc 1 lm "$hf" org set --name "Kontakt 15057545612"
	contains "$OUT" "national identity number"
	expect_rc 2 lm "$hf" org set
	expect_rc 0 lm "$hf" org show --json
	contains "$OUT" '"orgnr":"974760673"'
}

test_network_commands_and_errors() {
	local hf a id
	hf=$(new_site hf helseforetak)
	a=$(new_site a kommune)
	connect_sites "$hf" "$a"
	expect_rc 2 lm "$hf" network create midt --title "LMS Midt"
	expect_rc 1 lm "$hf" network create midt --title "LMS Midt" --kind forening
	contains "$OUT" "--kind: 'forening' is not a kind; use region, helseforetak"
	id=$(lm "$hf" network create midt --title "LMS-nettverket i Midt-Norge" --kind region \
		--mandate "Felles handlingsplan og årsrapport") || fail "network create"
	[ "$id" = "midt@$(lm "$hf" id --hex)" ] || fail "network id $id"
	expect_rc 1 lm "$hf" network create midt --title "Again" --kind region
	contains "$OUT" "exists already"
	expect_rc 0 lm "$hf" network member add midt a --role medlem
	contains "$OUT" "a is now medlem of $id"
	expect_rc 0 lm "$hf" network member add "LMS-nettverket i Midt-Norge" a --role koordinator
	expect_rc 0 lm "$hf" network member list midt --json
	[ "$(printf '%s' "$OUT" | /usr/bin/python3 -c 'import json, sys
print(" ".join(m["role"] for m in json.load(sys.stdin)))')" = "leder koordinator" ] ||
		fail "member list: $OUT"
	[ "$(lm "$hf" member list "$id" | grep -c admin)" = 2 ] ||
		fail "koordinator is not an admin of the scope"
	expect_rc 0 lm "$hf" network show midt
	contains "$OUT" "Mandate  Felles handlingsplan og årsrapport"
	expect_rc 1 lm "$hf" network member add midt nobody --role medlem
	contains "$OUT" "'nobody' is neither a site id nor the name"
	expect_rc 2 lm "$hf" network member add midt a --role sjef
	expect_rc 1 lm "$hf" network show sor
	contains "$OUT" "no network 'sor' here"
	expect_rc 0 lm "$hf" network member remove midt a
	contains "$OUT" "Removed a from $id"
	expect_rc 1 lm "$hf" network member remove midt a
	contains "$OUT" "is no member"
	# a holds no copy: it cannot administer what it has not received.
	expect_rc 1 lm "$a" network member add "$id" a --role leder
	expect_rc 0 lm "$a" network list
	contains "$OUT" "(none yet"
}

test_network_reaches_members_only() {
	local hub hf a b id s
	hub=$(new_site hub hub)
	hf=$(new_site hf helseforetak)
	a=$(new_site a kommune)
	b=$(new_site b kommune)
	hub_for "$hub" "$hf" "$a" "$b"
	# Names of the other sites, for the commands below.
	lm "$hf" peer add "$(lm "$a" id)" --addr 127.0.0.1:1 --name a >/dev/null
	id=$(lm "$hf" network create midt --title "LMS Midt" --kind region) || fail "create"
	lm "$hf" network member add midt a --role medlem >/dev/null || fail "member add"
	for s in "$hub" "$hf" "$a" "$b"; do start_daemon "$s"; done
	wait_for 20 holds "$a" 2 "SELECT count(*) FROM lm_network_member" ||
		fail "a did not receive the network's members"
	expect_rc 0 lm "$a" network show midt
	contains "$OUT" "LMS Midt (region)"
	contains "$OUT" "leder        hf"
	# A medlem does not manage members: it is told whom to ask.
	expect_rc 1 lm "$a" network member add midt "$(lm "$b" id)" --role medlem
	contains "$OUT" "only the network's leder, nestleder or koordinator can change its members, and this site is a medlem there; ask hf"
	# The directory reaches everyone, the network only its members.
	wait_for 20 holds "$b" 3 "SELECT count(*) FROM lm_org" ||
		fail "b did not receive the directory: $(count "$b" "SELECT name FROM lm_org")"
	lm "$hf" sync --wait --timeout 20 >/dev/null || fail "hf not in step"
	lm "$b" sync --wait --timeout 20 >/dev/null || fail "b not in step"
	[ "$(count "$b" "SELECT count(*) FROM lm_network") $(count "$b" "SELECT count(*) FROM lm_network_member")" = "0 0" ] ||
		fail "b holds the network"
	[ "$(count "$b" "SELECT count(*) FROM changeset WHERE scope = '$id'")" = 0 ] ||
		fail "b holds change sets of $id"
	[ "$(count "$hub" "SELECT count(*) FROM changeset WHERE scope = '$id'")" -ge 1 ] ||
		fail "the hub does not relay $id"
	expect_rc 0 lm "$b" org show hf
	contains "$OUT" "Kind       helseforetak"
}

# A hub added after the network (a new regional hub, say) is given role relay
# in every network and agreement this site administers, so they travel on.
test_a_later_hub_relays_what_exists() {
	local hf hub id
	hf=$(new_site hf helseforetak)
	hub=$(new_site hub hub)
	id=$(lm "$hf" network create midt --title "LMS Midt" --kind region) || fail "create"
	expect_rc 0 lm "$hf" peer add "$(lm "$hub" id)" --addr 127.0.0.1:1 --hub --name hub
	contains "$OUT" "Gave the hub the role relay in 1 network or agreement this site administers."
	[ "$(count "$hf" "SELECT role FROM lm_member WHERE of_scope = '$id' AND member = '$(lm "$hub" id --hex)'")" = relay ] ||
		fail "the later hub has no relay role in $id"
	expect_rc 0 lm "$hf" peer remove "$(lm "$hub" id)"
	expect_rc 0 lm "$hf" peer add "$(lm "$hub" id)" --addr 127.0.0.1:1 --hub --name hub
	[[ "$OUT" != *"Gave the hub"* ]] || fail "granted twice: $OUT"
}

test_a_hub_has_no_directory() {
	local hub
	hub=$(new_site hub hub)
	expect_rc 1 lm "$hub" network list
	contains "$OUT" "this site holds no networks: it is a hub"
	expect_rc 1 lm "$hub" org show
	contains "$OUT" "this site holds no directory of organisations: it is a hub"
	expect_rc 1 lm "$hub" report agreements
	contains "$OUT" "this site holds no reports: it is a hub"
}

run_tests
