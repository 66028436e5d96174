#!/usr/bin/env bash
# End-to-end: removing a member from a governed scope (issues 4 and 5). A hub
# relays the scope S of site A (its root, the administrator) to B and M;
# A removes M. M must receive its own removal (and everything of S before it
# in the sender's log), then nothing more of S; its next write in S is
# refused; `lmsync sync --wait` returns at every site, and status says
# plainly that M is no longer a member. Re-adding M brings S back to it.
# Real lmsyncd processes on 127.0.0.1, driven through lmsync and the sqlite3
# shell; every wait is bounded.
. "$(dirname "$0")/lib.sh" "$@"

# write DIR FROM TO PREFIX: notes PREFIX-FROM..PREFIX-TO in S, one transaction.
write() {
	sql "$1" "WITH RECURSIVE c(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM c WHERE i < $3)
		INSERT INTO note(id, scope, body, n) SELECT '$4-' || i, '$S', 'Samling ' || i, i FROM c" ||
		fail "write $4-$2..$3 at $(basename "$1")"
}

# The scope's replicated tables, as a checksum to compare sites by.
dump() {
	sql "$1" "SELECT id, scope, body, n FROM note WHERE scope = '$S' ORDER BY id;
		SELECT of_scope, member, role FROM lm_member WHERE of_scope = '$S' ORDER BY member" | md5sum
}

same() {
	[ "$(dump "$1")" = "$(dump "$2")" ]
}

notes() {
	sql "$1" "SELECT count(*) FROM note WHERE scope = '$S' ${2:-}"
}

# M holds a member row of its own in S (it has not learnt of its removal).
m_listed() {
	[ "$(sql "$m" "SELECT count(*) FROM lm_member WHERE of_scope = '$S' AND member = '$mhex'")" = 1 ]
}

m_unlisted() {
	! m_listed
}

# holds_notes N DIR: within 30 s DIR holds exactly N notes of S.
holds_notes() {
	wait_for 30 exactly "$1" "$2" "SELECT count(*) FROM note WHERE scope = '$S'" ||
		fail "$(basename "$2") holds $(notes "$2") of the $1 notes of S"
}

# setup: the hub, A, B and M, S granted to the hub (relay), B and M (member);
# sets hub, a, b, m, S, mid and mhex.
setup() {
	hub=$(new_site hub hub) || exit 1
	a=$(note_site a) || exit 1
	b=$(note_site b) || exit 1
	m=$(note_site m) || exit 1
	hub_for "$hub" "$a" "$b" "$m"
	S=$(lm "$a" scope create gruppe) || fail "scope create"
	mid=$(lm "$m" id)
	mhex=$(lm "$m" id --hex)
	lm "$a" member add "$S" "$(lm "$hub" id)" --role relay >/dev/null || fail "grant hub"
	lm "$a" member add "$S" "$(lm "$b" id)" --role member >/dev/null || fail "grant b"
	lm "$a" member add "$S" "$mid" --role member >/dev/null || fail "grant m"
	for s in "$hub" "$a" "$b" "$m"; do start_daemon "$s"; done
	write "$a" 1 20 a
	write "$m" 1 5 m
	holds_notes 25 "$b"
	holds_notes 25 "$m"
}

# in_step DIR: sync --wait at DIR returns 0 within a bounded time.
in_step() {
	expect_rc 0 lm "$1" sync --wait --timeout 30
}

every_site_in_step() {
	local s
	for s in "$hub" "$a" "$b" "$m"; do in_step "$s"; done
}

# M's write in S is refused by its capture triggers, with the usual message.
m_cannot_write() {
	OUT=$(sql "$m" "INSERT INTO note(id, scope, body) VALUES ('m-refused', '$S', 'nei')" 2>&1) &&
		fail "m could still write in S after its removal"
	contains "$OUT" "this site has no role in this scope"
	exactly 0 "$m" "SELECT count(*) FROM note WHERE id = 'm-refused'" || fail "the refused row is there"
}

test_removed_while_connected() {
	local held
	setup
	expect_rc 0 lm "$a" member remove "$S" "$mid"
	# M receives its removal: its own member row goes.
	wait_for 30 m_unlisted || fail "m never received its removal from S"
	m_cannot_write
	held=$(sql "$m" "SELECT count(*) FROM changeset WHERE scope = '$S'")
	# What A writes after the removal reaches B, not M.
	write "$a" 21 30 a
	holds_notes 35 "$b"
	every_site_in_step
	[ "$(notes "$m" "AND id LIKE 'a-%'")" = 20 ] ||
		fail "m holds $(notes "$m" "AND id LIKE 'a-%'") of A's notes, not the 20 from before its removal"
	exactly "$held" "$m" "SELECT count(*) FROM changeset WHERE scope = '$S'" ||
		fail "m received change sets of S after its removal"
	same "$a" "$b" || fail "a and b differ on S"
	# Status and sync say what happened, in plain words.
	expect_rc 0 lm "$m" status
	contains "$OUT" "this site is no longer a member"
	contains "$OUT" "removed by a"
	case "$OUT" in *"refused by the peer"*) fail "m's status shows an opaque refusal: $OUT" ;; esac
	expect_rc 0 lm "$hub" status
	contains "$OUT" "no longer a member"
}

test_removed_while_offline() {
	setup
	stop_daemon "$m"
	expect_rc 0 lm "$a" member remove "$S" "$mid"
	write "$a" 21 30 a
	holds_notes 35 "$b"
	in_step "$a"
	# M, offline, does not know and writes on; the hub restarts meanwhile
	# (what it routes is read from its store, not kept per session).
	m_listed || fail "m learnt of its removal while offline"
	write "$m" 6 8 m
	stop_daemon "$hub"
	start_daemon "$hub"
	start_daemon "$m"
	wait_for 30 m_unlisted || fail "m never received its removal from S after reconnecting"
	m_cannot_write
	every_site_in_step
	# The notes M wrote after its removal reached neither A nor B.
	[ "$(notes "$a" "AND id LIKE 'm-%'")" = 5 ] || fail "a holds $(notes "$a" "AND id LIKE 'm-%'") of m's notes, not 5"
	same "$a" "$b" || fail "a and b differ on S"
	[ "$(notes "$m" "AND id LIKE 'a-%'")" = 20 ] || fail "m received A's notes from after its removal"
	expect_rc 0 lm "$m" status
	contains "$OUT" "this site is no longer a member"
	contains "$OUT" "held"
	expect_rc 0 lm "$m" sync --wait --timeout 30
	contains "$OUT" "no longer a member"

	# Re-added, M receives what it missed, and what it wrote meanwhile
	# (held, not refused) now counts everywhere.
	expect_rc 0 lm "$a" member add "$S" "$mid" --role member
	wait_for 30 m_listed || fail "m never received its new grant"
	wait_for 30 same "$a" "$m" || fail "m did not catch up with a after the new grant"
	wait_for 30 same "$a" "$b" || fail "b did not take m's held notes after the new grant"
	[ "$(notes "$b" "AND id LIKE 'm-%'")" = 8 ] || fail "b holds $(notes "$b" "AND id LIKE 'm-%'") of m's 8 notes"
	write "$m" 9 9 m
	wait_for 30 exactly 9 "$b" "SELECT count(*) FROM note WHERE scope = '$S' AND id LIKE 'm-%'" ||
		fail "m's write after the new grant did not reach b"
	every_site_in_step
	same "$a" "$b" || fail "a and b differ on S"
	same "$a" "$m" || fail "a and m differ on S"
}

# Two hubs: A and B behind h1, M behind h2. Each hub cuts the scope for M
# at the removal's place in its own log.
test_removed_across_two_hubs() {
	local h1 h2 s
	h1=$(new_site h1 hub) || exit 1
	h2=$(new_site h2 hub) || exit 1
	a=$(note_site a) || exit 1
	b=$(note_site b) || exit 1
	m=$(note_site m) || exit 1
	hub_for "$h1" "$a" "$b"
	hub_for "$h2" "$m"
	connect_sites "$h1" "$h2"
	S=$(lm "$a" scope create kjede) || fail "scope create"
	mid=$(lm "$m" id)
	mhex=$(lm "$m" id --hex)
	lm "$a" member add "$S" "$(lm "$h1" id)" --role relay >/dev/null || fail "grant h1"
	lm "$a" member add "$S" "$(lm "$h2" id)" --role relay >/dev/null || fail "grant h2"
	lm "$a" member add "$S" "$(lm "$b" id)" --role member >/dev/null || fail "grant b"
	lm "$a" member add "$S" "$mid" --role member >/dev/null || fail "grant m"
	for s in "$h1" "$h2" "$a" "$b" "$m"; do start_daemon "$s"; done
	write "$a" 1 10 a
	write "$m" 1 3 m
	holds_notes 13 "$b"
	holds_notes 13 "$m"
	expect_rc 0 lm "$a" member remove "$S" "$mid"
	wait_for 30 m_unlisted || fail "m never received its removal through two hubs"
	m_cannot_write
	write "$a" 11 15 a
	holds_notes 18 "$b"
	for s in "$h1" "$h2" "$a" "$b" "$m"; do in_step "$s"; done
	[ "$(notes "$m" "AND id LIKE 'a-%'")" = 10 ] || fail "m received A's notes from after its removal"
	same "$a" "$b" || fail "a and b differ on S"
}

# The coordinators' command: a network's leder takes a kommune out of it.
test_network_member_remove() {
	local hub hf k m s net
	hub=$(new_site hub hub) || exit 1
	hf=$(new_site hf helseforetak) || exit 1
	k=$(new_site k kommune) || exit 1
	m=$(new_site m kommune) || exit 1
	hub_for "$hub" "$hf" "$k" "$m"
	lm "$hf" peer add "$(lm "$k" id)" --addr 127.0.0.1:1 --name k >/dev/null
	lm "$hf" peer add "$(lm "$m" id)" --addr 127.0.0.1:1 --name m >/dev/null
	net=$(lm "$hf" network create midt --title "LMS Midt" --kind region) || fail "network create"
	S=$net
	mhex=$(lm "$m" id --hex)
	lm "$hf" network member add midt k --role medlem >/dev/null || fail "add k"
	lm "$hf" network member add midt m --role medlem >/dev/null || fail "add m"
	for s in "$hub" "$hf" "$k" "$m"; do start_daemon "$s"; done
	wait_for 30 exactly 3 "$m" "SELECT count(*) FROM lm_network_member" ||
		fail "m did not receive the network's members"
	expect_rc 0 lm "$hf" network member remove midt m
	wait_for 30 exactly 2 "$m" "SELECT count(*) FROM lm_network_member" ||
		fail "m never received its removal from the network"
	wait_for 30 m_unlisted || fail "m still holds its role in the network"
	expect_rc 1 lm "$m" course add --network "$net" --title "KOLS-skole" --kind kurs --target pasienter \
		--starts 2026-09-01 --municipality Trondheim
	contains "$OUT" "this site is not a member of the network LMS Midt"
	for s in "$hub" "$hf" "$k" "$m"; do in_step "$s"; done
	expect_rc 0 lm "$m" sync
	contains "$OUT" "this site is no longer a member of $net (removed by hf"
	[ "$(network_dump "$hf")" = "$(network_dump "$k")" ] || fail "hf and k differ on the network"
}

network_dump() {
	sql "$1" "SELECT network, org, role FROM lm_network_member ORDER BY org;
		SELECT of_scope, member, role FROM lm_member WHERE of_scope = '$S' ORDER BY member" | md5sum
}

run_tests
