#!/usr/bin/env bash
# End-to-end: a site whose disk cannot flush stops at once, with exit status 1
# and a message that says what to do, before anything more leaves it; started
# again on a good disk, it catches up. The failing disk is e2e/failsync.c,
# preloaded into that one lmsyncd: its fdatasync fails with EIO while a file
# exists.
. "$(dirname "$0")/lib.sh" "$1"

FAILSYNC=${2:?usage: $0 BUILD_DIR FAILSYNC_SO}

# start_failing_daemon DIR: start_daemon, with flushes that fail once
# $T/disk-fails exists. An ASan build checks that its runtime is loaded
# first; the shim comes before it here.
start_failing_daemon() {
	LD_PRELOAD=$FAILSYNC LMSYNC_TEST_FAILSYNC=$T/disk-fails \
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		start_daemon "$1"
}

# stopped_for_the_disk DIR PID: the daemon exited 1 and its log says why.
stopped_for_the_disk() {
	wait_exit "$2" 30
	[ "$EXIT_RC" = 1 ] || fail "lmsyncd in $1 ended with '$EXIT_RC', expected 1: $(tail -3 "$1/daemon.log")"
	grep -q 'the store could not be flushed to disk' "$1/daemon.log" ||
		fail "the log does not say why: $(tail -3 "$1/daemon.log")"
	grep -q 'check the disk' "$1/daemon.log" || fail "the log does not say what to do"
}

# b_on_a_failing_disk: sites a and b on a hub, all running, b's lmsyncd
# (pid in $pid) with flushes that fail once $T/disk-fails exists. Sets hub,
# a, b and pid.
b_on_a_failing_disk() {
	hub=$(new_site hub hub) || exit 1
	a=$(note_site a) || exit 1
	b=$(note_site b) || exit 1
	hub_for "$hub" "$a" "$b"
	start_daemon "$hub"
	start_daemon "$a"
	start_failing_daemon "$b"
	pid=$DAEMON_PID
}

test_a_failed_flush_after_a_merge_stops_the_site() {
	b_on_a_failing_disk
	sql "$a" "INSERT INTO note(id, scope, body) VALUES ('n1', 'region', 'first')" || fail "write at a"
	wait_for 30 exactly 1 "$b" "SELECT count(*) FROM note WHERE id = 'n1'" || fail "b never got n1"
	touch "$T/disk-fails"
	sql "$a" "INSERT INTO note(id, scope, body) VALUES ('n2', 'region', 'second')" || fail "write at a"
	stopped_for_the_disk "$b" "$pid"
	# The merge's own COMMIT may meet the failure first (SQLite flushes a
	# WAL it starts over), or the flush after it.
	grep -q 'disk I/O error' "$b/daemon.log" ||
		fail "the log does not name the failure: $(tail -3 "$b/daemon.log")"
	rm "$T/disk-fails"
	start_daemon "$b"
	wait_for 30 exactly 1 "$b" "SELECT count(*) FROM note WHERE id = 'n2'" || fail "b never got n2"
	expect_rc 0 lm "$a" sync --wait --timeout 20
}

test_a_failed_flush_of_a_seal_sends_nothing() {
	b_on_a_failing_disk
	expect_rc 0 lm "$b" sync --wait --timeout 20
	touch "$T/disk-fails"
	# The sqlite3 shell's own commit reaches the disk; b's seal of it does not.
	sql "$b" "INSERT INTO note(id, scope, body) VALUES ('b1', 'region', 'from b')" || fail "write at b"
	stopped_for_the_disk "$b" "$pid"
	grep -q 'sealing local changes failed' "$b/daemon.log" ||
		fail "the log does not name the seal: $(tail -3 "$b/daemon.log")"
	sleep 0.5
	exactly 0 "$a" "SELECT count(*) FROM note WHERE id = 'b1'" || fail "b1 left b"
	rm "$T/disk-fails"
	start_daemon "$b"
	wait_for 30 exactly 1 "$a" "SELECT count(*) FROM note WHERE id = 'b1'" || fail "a never got b1"
}

run_tests
