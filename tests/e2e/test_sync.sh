#!/usr/bin/env bash
# End-to-end: daemons keep their stores in step through a regional hub,
# across stops, kill -9, tampering and a peer that stops reading. Real
# lmsyncd processes on 127.0.0.1, driven through lmsync and the sqlite3 shell
# (any SQLite client may write a replicated table).
. "$(dirname "$0")/lib.sh" "$@"

# hub_and_sites: a hub and the sites a, b and c, which know only the hub; sets
# the caller's hub, a, b and c.
hub_and_sites() {
	hub=$(new_site hub hub) || exit 1
	a=$(note_site a) || exit 1
	b=$(note_site b) || exit 1
	c=$(note_site c) || exit 1
	hub_for "$hub" "$a" "$b" "$c"
}

# write DIR FROM TO SCOPE [PREFIX]: rows PREFIX-FROM..PREFIX-TO in one transaction.
write() {
	local prefix=${5:-$(basename "$1")}
	sql "$1" "WITH RECURSIVE c(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM c WHERE i < $3)
		INSERT INTO note(id, scope, body, n) SELECT '$prefix-' || i, '$4',
		'Kurs i mestring av KOLS, samling ' || i || ' på Lærings- og mestringssenteret', i FROM c" ||
		fail "write rows $2..$3 at $1"
}

# at_least N DIR QUERY: the query's number is N or more.
at_least() {
	[ "$(sql "$2" "$3")" -ge "$1" ]
}

dump() {
	sql "$1" "SELECT id, scope, body, n FROM note ORDER BY id" | md5sum
}

count() {
	sql "$1" "SELECT count(*) FROM note ${2:-}"
}

same() {
	[ "$(dump "$1")" = "$(dump "$2")" ]
}

# converge SECONDS A B: wait until A and B hold the same notes.
converge() {
	wait_for "$1" same "$2" "$3" ||
		fail "$(basename "$2") ($(count "$2") notes) and $(basename "$3") ($(count "$3") notes) did not converge within $1 s"
}

test_hub_and_three_sites_converge() {
	local hub a b c
	hub_and_sites
	for s in "$hub" "$a" "$b" "$c"; do start_daemon "$s"; done
	write "$a" 1 1000 region
	[ "$(count "$a")" = 1000 ] || fail "a holds $(count "$a") notes"
	converge 30 "$a" "$b"
	converge 30 "$a" "$c"
	# sync --wait agrees: everyone is in step with the hub.
	expect_rc 0 lm "$a" sync --wait --timeout 20
	expect_rc 0 lm "$b" sync --wait --timeout 20
	contains "$OUT" "in step"
	# Each row exactly once, with one change set log per origin at B.
	[ "$(count "$b")" = 1000 ] || fail "b holds $(count "$b") notes"
	# status shows the scope, in step.
	expect_rc 0 lm "$b" status
	contains "$OUT" "scope region"
	contains "$OUT" "in step"
}

test_stopped_site_catches_up_through_the_hub_alone() {
	local hub a b c
	hub_and_sites
	for s in "$hub" "$a" "$b" "$c"; do start_daemon "$s"; done
	write "$a" 1 10 region
	converge 20 "$a" "$c"
	stop_daemon "$c"
	write "$a" 11 300 region
	write "$b" 1 200 region
	converge 20 "$a" "$b"
	expect_rc 0 lm "$a" sync --wait --timeout 20
	expect_rc 0 lm "$b" sync --wait --timeout 20
	stop_daemon "$a"
	start_daemon "$c"
	converge 30 "$b" "$c"
	[ "$(count "$c")" = 500 ] || fail "c holds $(count "$c") notes, not 500"
}

test_kill_9_mid_stream_loses_nothing() {
	local hub a b c pid
	hub_and_sites
	for s in "$hub" "$b" "$c"; do start_daemon "$s"; done
	write "$a" 1 20000 region
	start_daemon "$a"
	pid=$DAEMON_PID
	# Kill A as soon as the hub has some of it, not all.
	wait_for 60 at_least 1 "$hub" "SELECT count(*) FROM changeset" || fail "the hub got nothing"
	kill -KILL "$pid"
	wait_exit "$pid" 5
	write "$a" 20001 20100 region
	start_daemon "$a"
	converge 120 "$a" "$b"
	converge 60 "$a" "$c"
	[ "$(count "$c")" = 20100 ] || fail "c holds $(count "$c") notes, not 20100"
	[ "$(sql "$c" "SELECT count(DISTINCT id) FROM note")" = 20100 ] ||
		fail "c holds a note twice"
}

# The hub forwards what it merged before its flush and acks only after it:
# killed (-9) in the middle of relaying a stream, and restarted, it loses
# nothing it acknowledged, and the sites end with every row once.
test_kill_9_of_the_hub_mid_relay_loses_nothing() {
	local hub a b c hubpid
	hub_and_sites
	start_daemon "$hub"
	hubpid=$DAEMON_PID
	start_daemon "$a"
	start_daemon "$b"
	write "$a" 1 30000 region
	wait_for 60 at_least 1 "$b" "SELECT count(*) FROM note" || fail "b got nothing through the hub"
	kill -KILL "$hubpid"
	wait_exit "$hubpid" 5
	[ "$(count "$b")" -lt 30000 ] || echo "    (b had everything before the kill)"
	write "$a" 30001 30100 region
	start_daemon "$hub"
	converge 120 "$a" "$b"
	expect_rc 0 lm "$a" sync --wait --timeout 60
	[ "$(count "$b")" = 30100 ] || fail "b holds $(count "$b") notes, not 30100"
	[ "$(sql "$b" "SELECT count(DISTINCT id) FROM note")" = 30100 ] || fail "b holds a note twice"
	exactly 0 "$b" "SELECT count(*) FROM quarantine" || fail "b quarantined change sets"
}

# lmsyncd seals a bulk write chunk by chunk on a worker thread: SIGTERM in
# the middle lets the chunk being sealed finish, exits 0, and the next start
# seals the rest, each row once. Status is asked in the middle: the loop
# answers while the worker seals.
test_sigterm_mid_seal_stops_cleanly_and_resumes() {
	local hub a b c left
	hub_and_sites
	for s in "$hub" "$a" "$b"; do start_daemon "$s"; done
	write "$a" 1 40000 region
	wait_for 60 at_least 1 "$hub" "SELECT count(*) FROM changeset" || fail "the hub got nothing"
	expect_rc 0 lm "$a" status
	stop_daemon "$a"
	contains "$(tail -1 "$a/daemon.log")" "stopped"
	left=$(sql "$a" "SELECT count(*) FROM repl_capture")
	[ "$left" -gt 0 ] || echo "    (A had sealed everything before SIGTERM)"
	start_daemon "$a"
	converge 120 "$a" "$b"
	expect_rc 0 lm "$a" sync --wait --timeout 60
	exactly 0 "$a" "SELECT count(*) FROM repl_capture" || fail "A left captures unsealed"
	[ "$(count "$b")" = 40000 ] || fail "b holds $(count "$b") notes, not 40000"
	[ "$(sql "$b" "SELECT count(DISTINCT id) FROM note")" = 40000 ] || fail "b holds a note twice"
}

# Under a steady run of single changes, lmsyncd checkpoints soon after its
# small commits and makes the copied WAL start over, so the WAL stays short:
# otherwise it grows (100 MB and more) until the load pauses, and every other
# client's commit checkpoints for itself past SQLite's 1,000 pages.
test_wal_stays_short_under_single_changes() {
	local hub a b c i wal
	hub_and_sites
	start_daemon "$hub"
	start_daemon "$a"
	for i in $(seq 1 300); do
		sql "$a" "INSERT INTO note(id, scope, body) VALUES ('enkel-$i', 'region', 'x')" ||
			fail "insert $i"
	done
	expect_rc 0 lm "$a" sync --wait --timeout 30
	wal=$(stat -c %s "$a/store.db-wal")
	# 750 pages of 16 KiB. With the early checkpoints: 1.7 to 3.2 MB, under
	# TSan 1.5 to 3.9 MB, and once 8.6 MB on a loaded 2-core CI machine.
	# Without them: 17 to 23 MB, under TSan 15.8 to 16.7 MB, as the writer's
	# own checkpoints begin at 1,000 pages.
	[ "$wal" -lt 12288000 ] || fail "A's WAL is $wal bytes after 300 single changes"
	exactly 300 "$a" "SELECT count(*) FROM note" || fail "A lost notes"
}

# slowest_status DIR SECONDS: the longest `lmsync status` answer, in ms, of
# those asked one after another for SECONDS.
slowest_status() {
	local end slowest=0 t0 t1
	end=$(($(date +%s%N) + $2 * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		t0=$(date +%s%N)
		lm "$1" status >/dev/null || fail "status failed"
		t1=$(date +%s%N)
		[ $(((t1 - t0) / 1000000)) -gt "$slowest" ] && slowest=$(((t1 - t0) / 1000000))
		sleep 0.05
	done
	echo "$slowest"
}

# A site starts with a large backlog of local writes (made while lmsyncd was
# down) and a change set arrives at once: the merge waits for the worker to
# seal the backlog chunk by chunk, instead of sealing all of it on the loop
# first (a merge compares with every local write), so the daemon keeps
# answering meanwhile. Then everything arrives, each row once.
test_merge_waits_for_a_local_backlog() {
	local hub a b c slowest
	hub_and_sites
	start_daemon "$hub"
	start_daemon "$b"
	write "$b" 1 1 region fra-b
	expect_rc 0 lm "$b" sync --wait --timeout 30
	write "$a" 1 300000 region
	start_daemon "$a"
	slowest=$(slowest_status "$a" 2)
	[ "$(sql "$a" "SELECT count(*) FROM repl_capture")" -gt 0 ] ||
		echo "    (A had sealed its backlog within 2 s: the check above saw little of it)"
	[ "$slowest" -lt 1000 ] || fail "lmsync status took $slowest ms while A sealed its backlog"
	wait_for 120 exactly 1 "$a" "SELECT count(*) FROM note WHERE id = 'fra-b-1'" ||
		fail "b's note did not reach a"
	converge 180 "$a" "$b"
	[ "$(count "$b")" = 300001 ] || fail "b holds $(count "$b") notes, not 300001"
}

# file_grew FILE BYTES: FILE is larger than BYTES.
file_grew() {
	[ "$(stat -c %s "$1")" -gt "$2" ]
}

# lmsyncd checkpoints its WAL on a worker thread, so that neither the loop
# nor a commit waits for one: rows written at a site reach the database
# file itself (the sqlite3 shell that writes them never checkpoints this
# little; its connection is not the last one).
test_daemon_checkpoints_the_wal() {
	local a before
	a=$(note_site a) || exit 1
	start_daemon "$a"
	before=$(stat -c %s "$a/store.db")
	write "$a" 1 3000 region
	wait_for 20 file_grew "$a/store.db" $((before + 200000)) ||
		fail "store.db stayed at $(stat -c %s "$a/store.db") bytes (from $before): no checkpoint"
	# The checkpoint can copy the write before the sealer is through it
	# (under TSan it was): wait for the captures too, not only for the file.
	wait_for 20 exactly 0 "$a" "SELECT count(*) FROM repl_capture" ||
		fail "A left captures unsealed: $(tail -3 "$a/daemon.log")"
	stop_daemon "$a"
	contains "$(tail -1 "$a/daemon.log")" "stopped"
}

test_site_outside_a_scope_never_holds_it() {
	local hub a b c scope
	hub_and_sites
	scope=$(lm "$a" scope create avtale) || fail "scope create"
	lm "$a" member add "$scope" "$(lm "$hub" id)" --role relay >/dev/null || fail "grant hub"
	lm "$a" member add "$scope" "$(lm "$b" id)" --role member >/dev/null || fail "grant b"
	for s in "$hub" "$a" "$b" "$c"; do start_daemon "$s"; done
	write "$a" 1 50 "$scope" secret
	write "$a" 1 20 region open
	wait_for 30 exactly 50 "$b" "SELECT count(*) FROM note WHERE scope = '$scope'" ||
		fail "b holds $(count "$b" "WHERE scope = '$scope'") of 50 notes of $scope"
	wait_for 30 exactly 20 "$c" "SELECT count(*) FROM note" ||
		fail "c holds $(count "$c") of the 20 open notes"
	expect_rc 0 lm "$c" sync --wait --timeout 20
	[ "$(count "$c" "WHERE scope = '$scope'")" = 0 ] || fail "c holds rows of $scope"
	exactly 0 "$c" "SELECT count(*) FROM changeset WHERE scope = '$scope'" ||
		fail "c holds change sets of $scope"
	exactly 0 "$c" "SELECT count(*) FROM lm_member" || fail "c holds the member list of $scope"
	# The hub relays it without being able to read a table it does not have.
	at_least 2 "$hub" "SELECT count(*) FROM changeset WHERE scope = '$scope'" ||
		fail "the hub does not hold $scope"
}

test_change_set_altered_at_the_hub_is_rejected() {
	local hub a b c
	hub_and_sites
	start_daemon "$hub"
	start_daemon "$a"
	write "$a" 1 300 region
	wait_for 20 at_least 1 "$hub" "SELECT count(*) FROM changeset" ||
		fail "the hub never got a's change set"
	lm "$a" sync --wait --timeout 20 >/dev/null || fail "a not in step with the hub"
	stop_daemon "$a"
	stop_daemon "$hub"
	# Change one text byte inside the body of the first change set, in the
	# hub's log file: 'KOLS' becomes 'KULS'. (300 notes make a change set
	# large enough for the file; small ones stay in the table.)
	local at len off
	# (The first in the file: a site's own directory entry, sealed first,
	# is small and stays in the table.)
	at=$(sql "$hub" "SELECT at FROM changeset WHERE at IS NOT NULL ORDER BY local_id LIMIT 1") &&
		len=$(sql "$hub" "SELECT len FROM changeset WHERE at IS NOT NULL ORDER BY local_id LIMIT 1") &&
		[ -n "$at" ] || fail "the first change set is not in the hub's log file"
	off=$(grep -obUa KOLS "$hub/store.db-log" | head -n 1 | cut -d: -f1)
	[ -n "$off" ] && [ "$off" -ge "$at" ] && [ "$off" -lt $((at + len)) ] ||
		fail "'KOLS' is not inside the first change set ($at + $len, found at '$off')"
	printf U | dd of="$hub/store.db-log" bs=1 seek=$((off + 1)) conv=notrunc status=none ||
		fail "editing the hub's log file"
	start_daemon "$hub"
	start_daemon "$b"
	start_daemon "$c"
	write "$c" 1 7 region
	wait_for 30 exactly 7 "$b" "SELECT count(*) FROM note WHERE id LIKE 'c-%'" ||
		fail "b did not keep syncing c's notes"
	[ "$(count "$b" "WHERE id LIKE 'a-%'")" = 0 ] || fail "b applied the altered change set"
	expect_rc 1 lm "$b" sync --timeout 1
	expect_rc 0 lm "$b" status
	contains "$OUT" "refused here"
	contains "$OUT" "rejected"
	grep -q "rejected change set" "$b/daemon.log" || fail "b's log does not report the rejection"
}

test_grant_after_the_writes_sends_them() {
	local hub a b scope
	hub=$(new_site hub hub) || exit 1
	a=$(note_site a) || exit 1
	b=$(note_site b) || exit 1
	hub_for "$hub" "$a" "$b"
	for s in "$hub" "$a" "$b"; do start_daemon "$s"; done
	scope=$(lm "$a" scope create sent) || fail "scope create"
	# Written, sealed and skipped for the hub while it has no role there.
	write "$a" 1 30 "$scope"
	wait_for 10 at_least 1 "$a" "SELECT count(*) FROM changeset WHERE scope = '$scope'" ||
		fail "a never sealed its rows"
	lm "$a" sync --wait --timeout 10 >/dev/null || fail "a not in step"
	exactly 0 "$hub" "SELECT count(*) FROM changeset WHERE scope = '$scope'" ||
		fail "the hub got $scope before any grant"
	lm "$a" member add "$scope" "$(lm "$b" id)" --role member >/dev/null || fail "grant b"
	sleep 0.5
	lm "$a" member add "$scope" "$(lm "$hub" id)" --role relay >/dev/null || fail "grant hub"
	wait_for 30 exactly 30 "$b" "SELECT count(*) FROM note WHERE scope = '$scope'" ||
		fail "b holds $(count "$b" "WHERE scope = '$scope'") of the 30 notes written before the grants"
}

test_hubs_peer_with_hubs() {
	local h1 h2 a b scope
	h1=$(new_site h1 hub) || exit 1
	h2=$(new_site h2 hub) || exit 1
	a=$(note_site a) || exit 1
	b=$(note_site b) || exit 1
	hub_for "$h1" "$a"
	hub_for "$h2" "$b"
	connect_sites "$h1" "$h2"
	# A governed scope crosses both hubs once both may relay it.
	scope=$(lm "$a" scope create region) || fail "scope create"
	lm "$a" member add "$scope" "$(lm "$h1" id)" --role relay >/dev/null || fail "grant h1"
	lm "$a" member add "$scope" "$(lm "$h2" id)" --role relay >/dev/null || fail "grant h2"
	lm "$a" member add "$scope" "$(lm "$b" id)" --role member >/dev/null || fail "grant b"
	for s in "$h1" "$h2" "$a" "$b"; do start_daemon "$s"; done
	write "$a" 1 100 "$scope"
	write "$b" 1 100 open
	converge 30 "$a" "$b"
	[ "$(count "$b")" = 200 ] || fail "b holds $(count "$b") notes, not 200"
}

# RSS of a process in KiB.
rss() {
	awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

test_stalled_peer_costs_bounded_memory_and_delays_nobody() {
	local hub a b c hubpid cpid before after inflight
	hub_and_sites
	start_daemon "$hub"
	hubpid=$DAEMON_PID
	start_daemon "$a"
	start_daemon "$b"
	start_daemon "$c"
	cpid=$DAEMON_PID
	write "$a" 1 10 region
	converge 20 "$a" "$c"
	kill -STOP "$cpid"
	before=$(rss "$hubpid")
	write "$a" 11 20010 region
	converge 60 "$a" "$b"
	after=$(rss "$hubpid")
	# What the hub has sent c and c has not acknowledged stays within the
	# window (1 MiB and one message), whatever c does not read.
	inflight=$(lm "$hub" status --json | /usr/bin/python3 -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["name"] == "c":
        print(p["sync"]["inflight"] if p.get("sync") else 0)')
	kill -CONT "$cpid"
	[ "$inflight" -le $((1048576 + 65536)) ] || fail "the hub has $inflight bytes in flight to c"
	# 20,000 notes are about 3 MB of change sets: the hub must not have
	# buffered them for c beyond its window and the socket buffers (the
	# store's page cache grows too). Under AddressSanitizer freed memory
	# stays resident in its quarantine, so RSS says nothing there.
	if ! ldd "$LMSYNCD" | grep -q libasan; then
		[ $((after - before)) -lt 12288 ] ||
			fail "the hub grew by $((after - before)) KiB while c was stopped"
	fi
	converge 60 "$a" "$c"
}

run_tests
