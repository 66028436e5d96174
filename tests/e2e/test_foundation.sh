#!/usr/bin/env bash
# End-to-end: a site that a new user can create, start, inspect and stop.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" "$@"

test_init_creates_private_files() {
	local dir
	dir=$(new_site "Trondheim kommune" kommune)
	[ "$(file_mode "$dir")" = 700 ] || fail "site dir mode $(file_mode "$dir")"
	[ "$(file_mode "$dir/site.key")" = 600 ] || fail "key mode $(file_mode "$dir/site.key")"
	[ -f "$dir/lmsync.conf" ] || fail "no lmsync.conf"
	[ -f "$dir/store.db" ] || fail "no store.db"
	contains "$(cat "$dir/lmsync.conf")" "name = \"Trondheim kommune\""
	contains "$(cat "$dir/lmsync.conf")" "kind = kommune"
	contains "$(cat "$dir/lmsync.conf")" "listen = 127.0.0.1:$(cat "$dir/port")"
	[ "$(sqlite3 "$dir/store.db" 'PRAGMA journal_mode')" = wal ] || fail "store not in WAL mode"
	[ "$(sqlite3 "$dir/store.db" 'PRAGMA user_version')" -ge 1 ] || fail "no schema version"
}

test_init_prints_the_site_id() {
	local out id
	expect_rc 0 "$LMSYNC" -d "$T/s" init --name "Molde kommune" --kind kommune
	out=$OUT
	id=$(lm "$T/s" id)
	contains "$out" "Site id: $id"
	[[ "$id" =~ ^([0-9A-Z]{7}-){7}[0-9A-Z]{7}$ ]] || fail "id '$id' is not 8 groups of 7"
	[[ "$(lm "$T/s" id --hex)" =~ ^[0-9a-f]{64}$ ]] || fail "id --hex is not 64 hex digits"
}

test_second_init_refuses_and_changes_nothing() {
	local dir before
	dir=$(new_site A kommune)
	before=$(cd "$dir" && sha256sum site.key lmsync.conf store.db)
	expect_rc 1 lm "$dir" init --name B --kind hub
	contains "$OUT" "already holds a site"
	contains "$OUT" "nothing was changed"
	[ "$before" = "$(cd "$dir" && sha256sum site.key lmsync.conf store.db)" ] ||
		fail "second init changed the site"
}

test_init_validates_before_writing() {
	expect_rc 2 "$LMSYNC" -d "$T/x" init --name A --kind fylke
	contains "$OUT" "unknown site kind 'fylke'"
	expect_rc 2 "$LMSYNC" -d "$T/x" init --name A --kind kommune --listen 127.0.0.1:99999
	contains "$OUT" "99999"
	expect_rc 2 "$LMSYNC" -d "$T/x" init --kind kommune
	contains "$OUT" "--name and --kind are required"
	[ ! -e "$T/x" ] || fail "a refused init left $T/x behind"
}

test_every_kind_is_accepted() {
	local k
	for k in kommune interkommunal helseforetak hub nasjonal brukerorganisasjon; do
		expect_rc 0 "$LMSYNC" -d "$T/$k" init --name "$k site" --kind "$k"
	done
}

test_broken_config_names_file_and_line() {
	local dir rc
	dir=$(new_site A kommune)
	sed -i 's/^listen = .*/listen = 127.0.0.1/' "$dir/lmsync.conf"
	line=$(grep -n '^listen' "$dir/lmsync.conf" | cut -d: -f1)
	"$LMSYNCD" -d "$dir" 2>"$T/err"
	rc=$?
	[ "$rc" != 0 ] || fail "lmsyncd started with a broken config"
	contains "$(cat "$T/err")" "$dir/lmsync.conf:$line:"
	contains "$(cat "$T/err")" "not HOST:PORT"
	echo "colour = blue" >>"$dir/lmsync.conf"
	sed -i "s/^listen = .*/listen = 127.0.0.1:$(cat "$dir/port")/" "$dir/lmsync.conf"
	line=$(wc -l <"$dir/lmsync.conf")
	"$LMSYNCD" -d "$dir" 2>"$T/err" && fail "lmsyncd accepted an unknown key"
	contains "$(cat "$T/err")" "lmsync.conf:$line: unknown key 'colour' in section [daemon]"
}

test_readable_key_is_refused() {
	local dir mode
	dir=$(new_site A kommune)
	for mode in 644 640 604 660; do
		chmod "$mode" "$dir/site.key"
		"$LMSYNCD" -d "$dir" 2>"$T/err" && fail "lmsyncd started with key mode $mode"
		contains "$(cat "$T/err")" "chmod 600"
		expect_rc 1 lm "$dir" id
		contains "$OUT" "readable or writable by group or others"
	done
	chmod 600 "$dir/site.key"
	start_daemon "$dir"
	stop_daemon "$dir"
}

test_status_without_daemon() {
	local dir json
	dir=$(new_site "Klæbu kommune" kommune)
	expect_rc 3 lm "$dir" status
	contains "$OUT" "Klæbu kommune (kommune)"
	contains "$OUT" "not running"
	contains "$OUT" "$(lm "$dir" id)"
	expect_rc 3 lm "$dir" status --json
	json=$OUT
	python3 - "$json" "$(lm "$dir" id)" <<'PY' || fail "status --json: $json"
import json, sys
s = json.loads(sys.argv[1])
assert s["daemon"]["running"] is False
assert s["site"]["name"] == "Klæbu kommune" and s["site"]["kind"] == "kommune"
assert s["site"]["id"] == sys.argv[2]
assert s["store"]["schema"] >= 1 and s["peers"] == []
PY
}

test_status_with_daemon() {
	local dir
	dir=$(new_site A helseforetak)
	start_daemon "$dir"
	[ "$(file_mode "$dir/control.sock")" = 600 ] || fail "control socket mode"
	expect_rc 0 lm "$dir" status
	contains "$OUT" "running: pid $DAEMON_PID"
	contains "$OUT" "listen 127.0.0.1:$(cat "$dir/port")"
	expect_rc 0 lm "$dir" status --json
	python3 -c 'import json,sys; d=json.loads(sys.argv[1])["daemon"]; assert d["running"] and d["pid"] == int(sys.argv[2]) and d["uptime_ms"] >= 0' \
		"$OUT" "$DAEMON_PID" || fail "status --json: $OUT"
	stop_daemon "$dir"
	[ ! -e "$dir/control.sock" ] || fail "control socket left behind"
	expect_rc 3 lm "$dir" status
}

test_signals_stop_cleanly() {
	local dir sig
	dir=$(new_site A kommune)
	for sig in TERM INT; do
		start_daemon "$dir"
		kill -"$sig" "$DAEMON_PID"
		wait_exit "$DAEMON_PID" 2
		[ "$EXIT_RC" = 0 ] || fail "SIG$sig: exit '$EXIT_RC' (want 0 within 2 s)"
	done
	contains "$(cat "$dir/daemon.log")" "stopping reason=SIGINT"
	contains "$(cat "$dir/daemon.log")" "stopping reason=SIGTERM"
}

test_one_daemon_per_site() {
	local dir
	dir=$(new_site A kommune)
	start_daemon "$dir"
	"$LMSYNCD" -d "$dir" 2>"$T/err" && fail "a second lmsyncd started on the same site"
	contains "$(cat "$T/err")" "another lmsyncd (pid $DAEMON_PID) already holds"
	expect_rc 0 lm "$dir" status
	stop_daemon "$dir"
}

test_restart_after_kill_9() {
	local dir
	dir=$(new_site A kommune)
	start_daemon "$dir"
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	[ -e "$dir/control.sock" ] || fail "expected a stale socket after SIGKILL"
	expect_rc 3 lm "$dir" status
	start_daemon "$dir"
	expect_rc 0 lm "$dir" status
	stop_daemon "$dir"
}

test_store_of_another_site_is_refused() {
	local a b
	a=$(new_site A kommune)
	b=$(new_site B kommune)
	cp "$b/site.key" "$a/site.key"
	"$LMSYNCD" -d "$a" 2>"$T/err" && fail "lmsyncd started with a foreign key"
	contains "$(cat "$T/err")" "the key or the store was replaced"
}

test_peer_add_list_remove() {
	local a b c idb idc
	a=$(new_site A kommune)
	b=$(new_site "St. Olavs hospital" helseforetak)
	c=$(new_site "Hub Midt" hub)
	idb=$(lm "$b" id)
	idc=$(lm "$c" id --hex)
	expect_rc 0 lm "$a" peer list
	contains "$OUT" "No peers"
	expect_rc 0 lm "$a" peer add "$idb" --addr 127.0.0.1:17412 --name "St. Olavs"
	expect_rc 0 lm "$a" peer add "$idc" --addr "[::1]:17413" --hub
	expect_rc 1 lm "$a" peer add "$idb" --addr 127.0.0.1:17412
	contains "$OUT" "already configured"
	expect_rc 0 lm "$a" peer list
	contains "$OUT" "St. Olavs"
	contains "$OUT" "$idb"
	contains "$OUT" "$(lm "$c" id)"
	expect_rc 0 lm "$a" peer list --json
	python3 -c '
import json, sys
peers = {p["id"]: p for p in json.loads(sys.argv[1])}
b = peers[sys.argv[2]]
assert b["addr"] == "127.0.0.1:17412" and b["name"] == "St. Olavs" and not b["hub"]
hub = [p for p in peers.values() if p["hub"]]
assert len(hub) == 1 and hub[0]["addr"] == "[::1]:17413"
' "$OUT" "$idb" || fail "peer list --json: $OUT"
	expect_rc 0 lm "$a" peer remove "$idb"
	expect_rc 1 lm "$a" peer remove "$idb"
	contains "$OUT" "no peer"
	expect_rc 0 lm "$a" peer list
	case "$OUT" in *St.\ Olavs*) fail "removed peer still listed" ;; esac
}

test_peer_add_refuses_bad_input() {
	local a id typo
	a=$(new_site A kommune)
	id=$(lm "$(new_site B kommune)" id)
	# One character changed: the check catches it.
	typo="${id:0:10}$([ "${id:10:1}" = 7 ] && echo 8 || echo 7)${id:11}"
	expect_rc 1 lm "$a" peer add "$typo" --addr 127.0.0.1:1
	contains "$OUT" "mistyped"
	expect_rc 1 lm "$a" peer add "${id:0:30}" --addr 127.0.0.1:1
	contains "$OUT" "characters"
	expect_rc 1 lm "$a" peer add "$(lm "$a" id)" --addr 127.0.0.1:1
	contains "$OUT" "own id"
	expect_rc 2 lm "$a" peer add "$id" --addr nowhere
	contains "$OUT" "HOST:PORT"
	expect_rc 2 lm "$a" peer add "$id"
	contains "$OUT" "--addr"
	expect_rc 0 lm "$a" peer list
	contains "$OUT" "No peers"
}

test_running_daemon_reloads_peers() {
	local a id
	a=$(new_site A kommune)
	id=$(lm "$(new_site B kommune)" id)
	start_daemon "$a"
	expect_rc 0 lm "$a" peer add "$id" --addr 127.0.0.1:17412
	contains "$OUT" "lmsyncd reloaded its peer list"
	contains "$(cat "$a/daemon.log")" "peers loaded count=1"
	# An edit behind the daemon's back is picked up on SIGHUP.
	sqlite3 "$a/store.db" "DELETE FROM peer"
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 1 50); do
		grep -q "peers loaded count=0" "$a/daemon.log" && break
		sleep 0.1
	done
	contains "$(cat "$a/daemon.log")" "peers loaded count=0"
	expect_rc 0 lm "$a" status
	stop_daemon "$a"
}

test_dir_defaults_to_env_then_home() {
	local id
	LMSYNC_DIR="$T/env" "$LMSYNC" init --name E --kind kommune >/dev/null || fail "init via LMSYNC_DIR"
	[ -f "$T/env/site.key" ] || fail "LMSYNC_DIR was not used"
	(unset LMSYNC_DIR; HOME="$T/home" "$LMSYNC" init --name H --kind kommune >/dev/null) ||
		fail "init via HOME"
	[ -f "$T/home/.local/share/lmsync/site.key" ] || fail "HOME default not used"
	id=$(cd / && unset LMSYNC_DIR && HOME="$T/home" "$LMSYNC" id)
	[ "$id" = "$(lm "$T/home/.local/share/lmsync" id)" ] || fail "default dir id differs"
}

# fits_80_columns TEXT: no line of TEXT but usage lines (one line each, by
# design) is wider than 80 characters; æ, ø and å count one.
fits_80_columns() {
	printf '%s\n' "$1" | /usr/bin/python3 -c '
import sys
wide = [l for l in sys.stdin.read().splitlines()
        if len(l) > 80 and not l.startswith("usage:")]
for l in wide:
    print("    %d: %s" % (len(l), l), file=sys.stderr)
sys.exit(1 if wide else 0)'
}

test_help_and_usage_errors() {
	local cmd
	expect_rc 0 "$LMSYNC" --help
	for cmd in init id peer status; do
		contains "$OUT" "$cmd"
	done
	contains "$OUT" "kommune"
	fits_80_columns "$OUT" || fail "lmsync --help has lines wider than 80 columns"
	# Every command in the list answers --help with its own usage line, and
	# its help fits a terminal of 80 columns.
	local n=0
	for cmd in $(printf '%s\n' "$OUT" | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p'); do
		expect_rc 0 "$LMSYNC" "$cmd" --help
		contains "$OUT" "usage: lmsync"
		contains "$OUT" " $cmd"
		fits_80_columns "$OUT" || fail "lmsync $cmd --help has lines wider than 80 columns"
		n=$((n + 1))
	done
	[ "$n" -ge 15 ] || fail "only $n commands listed in lmsync --help"
	expect_rc 0 "$LMSYNC" peer add --help
	expect_rc 2 "$LMSYNC" frobnicate
	contains "$OUT" "unknown command 'frobnicate'"
	expect_rc 2 "$LMSYNC" --frob
	expect_rc 2 "$LMSYNC" status --frob
	contains "$OUT" "usage: lmsync [-d DIR] status"
	expect_rc 2 "$LMSYNC" id extra
	expect_rc 2 "$LMSYNC"
	expect_rc 0 "$LMSYNCD" --help
	contains "$OUT" "SIGHUP"
	fits_80_columns "$OUT" || fail "lmsyncd --help has lines wider than 80 columns"
	expect_rc 2 "$LMSYNCD" --frob
	expect_rc 0 "$LMSYNC" --version
	expect_rc 1 "$LMSYNC" -d "$T/none" status
	contains "$OUT" "holds no site"
	expect_rc 1 "$LMSYNCD" -d "$T/none"
}

run_tests
