#!/usr/bin/env bash
# End-to-end: no fødselsnummer leaves a site, whoever writes it. lmsync's own
# commands refuse one (test_course, test_agreement); here the sqlite3 shell
# writes it straight into a replicated table, and the daemon keeps the row
# back, says so in its log and in `lmsync quarantine`, and sends the whole
# row once a change removes the number.
. "$(dirname "$0")/lib.sh" "$@"

FNR=15057545612 # valid check digits

test_row_with_an_identity_number_is_not_sent() {
	local hub a b out
	hub=$(new_site hub hub) || exit 1
	a=$(note_site a) || exit 1
	b=$(note_site b) || exit 1
	hub_for "$hub" "$a" "$b"
	for s in "$hub" "$a" "$b"; do start_daemon "$s"; done
	sql "$a" "INSERT INTO note(id, scope, body, n) VALUES
		('p1', 'region', 'Deltaker $FNR meldte seg på', 1),
		('p2', 'region', 'Kurs i mestring', 2)" || fail "write at a"
	wait_for 30 exactly 1 "$b" "SELECT count(*) FROM note WHERE id = 'p2'" ||
		fail "b never got the row without a number"
	expect_rc 0 lm "$a" sync --wait --timeout 20
	exactly 0 "$b" "SELECT count(*) FROM note WHERE id = 'p1'" || fail "b holds the row"
	# Not in any file of the hub's or b's: store, WAL, log of change sets.
	if grep -rqa "$FNR" "$hub" "$b"; then
		fail "the number is in $(grep -rla "$FNR" "$hub" "$b" | tr '\n' ' ')"
	fi
	grep -q 'held back rows=1' "$a/daemon.log" || fail "a's log does not say: $(tail -3 "$a/daemon.log")"
	out=$(lm "$a" quarantine) || fail "quarantine at a"
	contains "$out" "not sent: note [\"p1\"]"
	contains "$out" "body holds what looks like a national identity number"
	out=$(lm "$a" status) || fail "status at a"
	contains "$out" "Not sent   1 row whose text looks like a national identity number"
	lm "$a" status --json | /usr/bin/python3 -c '
import json, sys
assert json.load(sys.stdin)["store"]["rows_not_sent"] == 1' || fail "status --json at a"
	# Another change that keeps it: still not sent.
	sql "$a" "UPDATE note SET n = 3 WHERE id = 'p1'" || fail "update at a"
	sql "$a" "UPDATE note SET n = 3 WHERE id = 'p2'" || fail "update at a"
	wait_for 30 exactly 3 "$b" "SELECT n FROM note WHERE id = 'p2'" || fail "b missed p2's change"
	exactly 0 "$b" "SELECT count(*) FROM note WHERE id = 'p1'" || fail "b holds the row"
	# Removed: the whole row arrives.
	sql "$a" "UPDATE note SET body = 'Deltaker meldte seg på' WHERE id = 'p1'" || fail "fix at a"
	wait_for 30 exactly "Deltaker meldte seg på|3" "$b" "SELECT body || '|' || n FROM note WHERE id = 'p1'" ||
		fail "b holds '$(sql "$b" "SELECT body || '|' || n FROM note WHERE id = 'p1'")' for p1"
	out=$(lm "$a" quarantine) || fail "quarantine at a"
	contains "$out" "Nothing quarantined, held or unsent."
	case "$(lm "$a" status)" in *"Not sent"*) fail "status at a still says rows are not sent" ;; esac
}

run_tests
