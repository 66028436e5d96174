#!/usr/bin/env bash
# End-to-end: docs/PROTOCOL.md is enough to write a peer. cs_peer.py, an
# independent implementation of sync at the change-set level written from the
# document alone (dissononce, PyNaCl, msgpack; none of our C code), pulls a
# real lmsyncd's change sets and checks them itself (signatures, hashes,
# chains, seq, rows), and pushes change sets it sealed and signed itself;
# one with a flipped byte must be refused.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" "$@"

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3

# cs ARGS...: run the independent change-set peer.
cs() {
	"$PY" "$E2E_DIR/cs_peer.py" "$@"
}

# check JSON PROGRAM [ARGS...]: run the Python PROGRAM with d the parsed JSON
# and sys.argv[2:] its arguments; it prints what is wrong and exits 1, or
# exits 0.
check() {
	local json=$1 prog=$2
	shift 2
	"$PY" -c "import json, sys
d = json.loads(sys.argv[1])
$prog" "$json" "$@"
}

# site_with_peer: site A (table note, policy scope) and the independent peer
# np (key in $T/np), a configured peer of A. Sets A, AHEX (A's id in hex),
# NP (np's), ADDR.
site_with_peer() {
	A=$(note_site A) || exit 1
	NP=$("$PY" "$E2E_DIR/noise_peer.py" keygen "$T/np") || fail "keygen"
	lm "$A" peer add "$NP" --addr 127.0.0.1:1 --name np >/dev/null || fail "peer add np"
	ADDR="127.0.0.1:$(cat "$A/port")"
	AHEX=$(lm "$A" id --hex) || fail "id"
}

# sealed DIR: every captured write of DIR is sealed into a change set.
sealed() {
	exactly 0 "$1" "SELECT count(*) FROM repl_capture"
}

wait_sealed() {
	wait_for 20 sealed "$1" || fail "$(basename "$1") did not seal its writes within 20 s"
}

# The log as the daemon stores it, for comparing hashes: one JSON object
# {"SCOPE ORIGIN SEQ": HASH} of DIR's change sets (scopes matching WHERE).
stored_hashes() {
	sql "$1" "SELECT json_group_object(scope || ' ' || lower(hex(origin)) || ' ' || seq, lower(hex(hash)))
		FROM changeset WHERE $2"
}

test_pull_decodes_and_verifies_what_sqlite_wrote() {
	local open_scope shared secret out
	site_with_peer
	shared=$(lm "$A" scope create delt) || fail "scope create"
	secret=$(lm "$A" scope create hemmelig) || fail "scope create"
	lm "$A" member add "$shared" "$NP" --role reader >/dev/null || fail "grant np"
	start_daemon "$A"
	open_scope=region
	sql "$A" "INSERT INTO note(id, scope, body, n) VALUES
		('r1', '$open_scope', 'Kurs i mestring av KOLS på Lærings- og mestringssenteret', 1),
		('r2', '$open_scope', NULL, 9007199254740993),
		('r3', '$open_scope', 'slettes', -42),
		('r4', '$open_scope', '', 0),
		('s1', '$shared', 'delt med np', 7),
		('h1', '$secret', 'ikke for np', 8)" || fail "insert"
	wait_sealed "$A"
	# A second change set per scope: an update (with bases) and a delete.
	sql "$A" "UPDATE note SET body = 'endret', n = 2 WHERE id = 'r1';
		DELETE FROM note WHERE id = 'r3';
		UPDATE note SET body = 'også endret' WHERE id = 's1'" || fail "update"
	wait_sealed "$A"
	out=$(cs pull "$ADDR" --key "$T/np" --expect-site "$AHEX") ||
		fail "pull exited $?: $out"
	# What sqlite3 holds at A, in the scopes np may read.
	local want hashes
	want=$(sqlite3 -json "$A/store.db" "SELECT id, scope, body, n FROM note WHERE scope != '$secret' ORDER BY id")
	hashes=$(stored_hashes "$A" "scope != '$secret'")
	check "$out" '
want = json.loads(sys.argv[2])
stored = json.loads(sys.argv[3])
secret, shared = sys.argv[4], sys.argv[5]
bad = []
sets = d["sets"]
if d["failures"] or d["verified"] != d["changesets"] or not sets:
    bad.append("not every change set verified: %r" % d["failures"])
if d["doc_form_mismatches"]:
    bad.append("lmsync does not write what PROTOCOL.md says: %r" % d["doc_form_mismatches"])
# Every chain was received from seq 1 up to the head the daemon announced.
announced = sum(n for origins in d["vector"].values() for n in origins.values())
if announced != len(sets):
    bad.append("the vector announces %d change sets, %d arrived" % (announced, len(sets)))
if secret in d["vector"] or any(c["scope"] == secret for c in sets):
    bad.append("np received the scope it holds no role in")
# The hashes cs_peer computed are those lmsyncd stores.
got = {"%s %s %d" % (c["scope"], c["origin"], c["seq"]): c["hash"] for c in sets}
if got != stored:
    bad.append("hashes differ from the store: %r vs %r" % (got, stored))
# Fold the note rows as a receiver would (one origin, so seq order decides).
rows = {}
for c in sets:
    for r in c["rows"]:
        if r["table"] != "note":
            continue
        key = r["pk"][0]
        cur = rows.get(key)
        if cur is None or r["cl"] > cur["cl"]:
            cur = rows[key] = {"cl": r["cl"], "scope": c["scope"], "cols": {}}
        cur["cols"].update(r["cols"])
held = sorted(
    [{"id": k, "scope": v["scope"], "body": v["cols"].get("body"), "n": v["cols"].get("n")}
     for k, v in rows.items() if v["cl"] % 2 == 1],
    key=lambda x: x["id"])
# Compared as JSON text, so that 1 and 1.0 differ.
if json.dumps(held, sort_keys=True) != json.dumps(want, sort_keys=True):
    bad.append("decoded rows %r, sqlite3 holds %r" % (held, want))
allrows = [r for c in sets for r in c["rows"]]
if not any(r["table"] == "note" and r["cl"] == 2 and r["cols"] == {} for r in allrows):
    bad.append("no delete decoded")
if not any(r["table"] == "note" and "bases" in r for r in allrows):
    bad.append("no row with bases decoded")
members = [r for c in sets if c["scope"] == shared for r in c["rows"] if r["table"] == "lm_member"]
if not members:
    bad.append("the member list of the shared scope did not arrive")
if bad:
    print("\n".join(bad)); sys.exit(1)' "$want" "$hashes" "$secret" "$shared" || fail "pull: $out"
}

# The verifier is not vacuous: with every received signature altered by one
# bit, pull fails and names each change set.
test_pull_fails_on_an_altered_signature() {
	local out rc
	site_with_peer
	start_daemon "$A"
	sql "$A" "INSERT INTO note(id, scope, body) VALUES ('x1', 'region', 'x')" || fail "insert"
	wait_sealed "$A"
	out=$(cs pull "$ADDR" --key "$T/np" --flip-signature)
	rc=$?
	[ "$rc" = 4 ] || fail "pull with altered signatures exited $rc, not 4: $out"
	check "$out" '
f = d["failures"]
ok = d["changesets"] == 0 and f and all("signature does not verify" in x["problems"] for x in f)
sys.exit(0 if ok else 1)' || fail "pull did not report the signatures: $out"
}

# push ARGS...: cs push to A as np; output in $OUT, exit code in $RC.
push() {
	OUT=$(cs push "$ADDR" --key "$T/np" --table note "$@")
	RC=$?
}

# note_is DIR ID BODY N: DIR holds the note ID with BODY and N in scope region.
note_is() {
	[ "$(sql "$1" "SELECT scope || '|' || body || '|' || n FROM note WHERE id = '$2'")" = "region|$3|$4" ]
}

test_pushed_change_sets_are_applied() {
	site_with_peer
	start_daemon "$A"
	push --scope region --row "np-1:body=fra en uavhengig peer,n=1" --row "np-2:body=æøå,n=-5"
	[ "$RC" = 0 ] || fail "push exited $RC: $OUT"
	check "$OUT" 'sys.exit(0 if d["seq"] == 1 and d["acked_head"] == 1 and not d["failures"] and not d["doc_form_mismatches"] else 1)' ||
		fail "push: $OUT"
	wait_for 10 note_is "$A" np-1 "fra en uavhengig peer" 1 || fail "A did not apply np-1: $(sql "$A" "SELECT * FROM note")"
	note_is "$A" np-2 "æøå" -5 || fail "A did not apply np-2: $(sql "$A" "SELECT * FROM note")"
	# A stores the change set under the hash np computed.
	[ "$(sql "$A" "SELECT lower(hex(hash)) FROM changeset WHERE lower(hex(origin)) = '$NP' AND seq = 1")" = \
		"$(check "$OUT" 'print(d["hash"])')" ] || fail "A stores another hash for np's seq 1"
	# The next one follows the chain, in another session, and updates a row.
	push --scope region --row "np-1:body=endret av np,n=2"
	[ "$RC" = 0 ] || fail "second push exited $RC: $OUT"
	check "$OUT" 'sys.exit(0 if d["seq"] == 2 and d["daemon_head_before"] == 1 else 1)' || fail "second push: $OUT"
	wait_for 10 note_is "$A" np-1 "endret av np" 2 || fail "A did not apply the update: $(sql "$A" "SELECT * FROM note")"
	exactly 0 "$A" "SELECT count(*) FROM quarantine" || fail "A quarantined np's change sets: $(lm "$A" quarantine)"
	stop_daemon "$A"
}

# A row whose cols name its key or scope column breaks the format (the key
# travels in pk, the scope is the change set's): quarantined, and the reason
# says which.
test_key_or_scope_in_cols_is_quarantined_with_the_reason() {
	site_with_peer
	start_daemon "$A"
	push --scope region --row "np-1:scope=region,body=x"
	[ "$RC" = 0 ] || fail "push exited $RC: $OUT"
	push --scope region --row "np-2:id=np-2,body=y"
	[ "$RC" = 0 ] || fail "push exited $RC: $OUT"
	wait_for 10 exactly 2 "$A" "SELECT count(*) FROM quarantine" || fail "A did not quarantine both"
	exactly 0 "$A" "SELECT count(*) FROM note" || fail "A applied a quarantined row"
	expect_rc 0 lm "$A" quarantine
	contains "$OUT" "cols names note.scope, the scope column, which is the change set's scope"
	contains "$OUT" "cols names note.id, a key column, which travels in pk"
	stop_daemon "$A"
}

test_altered_push_is_refused_and_not_applied() {
	site_with_peer
	start_daemon "$A"
	push --scope region --row "np-1:body=først,n=1"
	[ "$RC" = 0 ] || fail "push exited $RC: $OUT"
	# Seq 2 with one byte of its body flipped after signing, then with one
	# byte of its signature flipped: refused (the ack reports head 1, or A
	# closes), not applied, not logged.
	push --scope region --row "np-2:body=tamper-me,n=2" --tamper body
	[ "$RC" = 5 ] || fail "the altered body: push exited $RC, not 5 (refused): $OUT"
	push --scope region --row "np-2:body=tamper-me,n=2" --tamper signature
	[ "$RC" = 5 ] || fail "the altered signature: push exited $RC, not 5 (refused): $OUT"
	exactly 0 "$A" "SELECT count(*) FROM note WHERE id = 'np-2'" || fail "A applied an altered change set"
	exactly 1 "$A" "SELECT max(seq) FROM changeset WHERE lower(hex(origin)) = '$NP'" ||
		fail "A logged an altered change set"
	[ "$(grep -c "rejected change set" "$A/daemon.log")" -ge 2 ] || fail "A's log does not report two rejections"
	# The chain goes on from seq 1: the genuine seq 2 is taken.
	push --scope region --row "np-2:body=ekte,n=2"
	[ "$RC" = 0 ] || fail "the genuine seq 2: push exited $RC: $OUT"
	wait_for 10 note_is "$A" np-2 ekte 2 || fail "A did not apply the genuine seq 2"
	stop_daemon "$A"
}

run_tests
