#!/usr/bin/env bash
# Shared harness for end-to-end tests: real lmsync and lmsyncd binaries on
# real directories, driven the way an operator would. Every wait is bounded,
# every daemon started is killed on exit, every test runs in its own
# directory, and the script ends with "N passed, M failed".
#
# Usage in a test script:
#   . "$(dirname "$0")/lib.sh" "$@"     # $1 is the build directory
#   test_something() { ...; }           # any function named test_*
#   run_tests                           # E2E_ONLY=REGEX: only those tests

set -u

BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LMSYNC="$BUILD_DIR/cli/lmsync"
LMSYNCD="$BUILD_DIR/daemon/lmsyncd"
E2E_ROOT=$(mktemp -d /tmp/lmsync-e2e.XXXXXX)
E2E_PIDS=()

e2e_kill_daemons() {
	local pid
	for pid in "${E2E_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
}

e2e_cleanup() {
	e2e_kill_daemons
	rm -rf "$E2E_ROOT"
}
trap e2e_cleanup EXIT

fail() {
	echo "    FAIL: $*" >&2
	exit 1
}

# lm DIR ARGS...: run lmsync on the site in DIR.
lm() {
	local dir=$1
	shift
	"$LMSYNC" -d "$dir" "$@"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now, below
# the kernel's ephemeral range (a port bind(0) picked can be handed out again
# as the source port of a site's outgoing connection before its daemon
# listens on it), and not given to another site of this run.
free_port() {
	/usr/bin/python3 - "$E2E_ROOT/ports" <<'EOF'
import random, socket, sys
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
try:
    taken = set(int(p) for p in open(sys.argv[1]).read().split())
except OSError:
    taken = set()
for _ in range(1000):
    port = random.randrange(max(1024, low - 12000), low)
    if port in taken:
        continue
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    with open(sys.argv[1], "a") as f:
        f.write("%d\n" % port)
    print(port)
    sys.exit(0)
sys.exit("no free port below %d" % low)
EOF
}

# new_site NAME KIND: init a site under the test's directory on a free port
# (written to DIR/port). Prints DIR.
new_site() {
	local dir="$T/$1" port
	port=$(free_port)
	"$LMSYNC" -d "$dir" init --name "$1" --kind "$2" --listen "127.0.0.1:$port" >/dev/null ||
		fail "init $1"
	echo "$port" >"$dir/port"
	echo "$dir"
}

# sql DIR QUERY: the sqlite3 shell on DIR's store, waiting while lmsyncd writes.
sql() {
	sqlite3 -cmd ".timeout 10000" "$1/store.db" "$2"
}

# exactly N DIR QUERY: the query's result is N.
exactly() {
	[ "$(sql "$2" "$3")" = "$1" ]
}

NOTE_SQL="CREATE TABLE note (id TEXT NOT NULL PRIMARY KEY, scope TEXT NOT NULL DEFAULT '', body TEXT, n INTEGER)"

# note_site NAME: a kommune site with the replicated table note (policy
# scope), which any SQLite client may write. Prints DIR.
note_site() {
	local dir
	dir=$(new_site "$1" kommune)
	sql "$dir" "$NOTE_SQL" || fail "create note in $1"
	lm "$dir" table register note --key id --scope scope --policy scope >/dev/null ||
		fail "register note in $1"
	echo "$dir"
}

# set_network DIR KEY VALUE: set a [network] key in DIR/lmsync.conf.
set_network() {
	sed -i "/^\[network\]/a $2 = $3" "$1/lmsync.conf"
}

# connect_sites A B: make A and B peers of each other.
connect_sites() {
	lm "$1" peer add "$(lm "$2" id)" --addr "127.0.0.1:$(cat "$2/port")" --name "$(basename "$2")" >/dev/null ||
		fail "peer add $2 to $1"
	lm "$2" peer add "$(lm "$1" id)" --addr "127.0.0.1:$(cat "$1/port")" --name "$(basename "$1")" >/dev/null ||
		fail "peer add $1 to $2"
}

# hub_for HUB SITES...: every site knows the hub (and only it), and the hub knows them.
hub_for() {
	local hub=$1 s
	shift
	for s in "$@"; do
		lm "$s" peer add "$(lm "$hub" id)" --addr "127.0.0.1:$(cat "$hub/port")" --hub \
			--name hub >/dev/null || fail "peer add hub to $s"
		lm "$hub" peer add "$(lm "$s" id)" --addr "127.0.0.1:$(cat "$s/port")" \
			--name "$(basename "$s")" >/dev/null || fail "peer add $s to hub"
	done
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# start_daemon DIR: start lmsyncd in the background, logging to DIR/daemon.log,
# and wait (at most 10 s) until it answers status. Sets DAEMON_PID.
start_daemon() {
	local dir=$1 i
	"$LMSYNCD" -d "$dir" 2>>"$dir/daemon.log" &
	DAEMON_PID=$!
	E2E_PIDS+=("$DAEMON_PID")
	echo "$DAEMON_PID" >"$dir/daemon.pid"
	for i in $(seq 1 100); do
		if "$LMSYNC" -d "$dir" status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "lmsyncd exited at start: $(tail -3 "$dir/daemon.log")"
		sleep 0.1
	done
	fail "lmsyncd in $dir did not answer status within 10 s"
}

# wait_exit PID SECONDS: wait for a child of this shell to exit; sets
# EXIT_RC to its exit code, or to "timeout". (Not in $(...): a subshell
# cannot wait for its parent's children.)
wait_exit() {
	local pid=$1 limit=$2 i
	EXIT_RC=timeout
	for i in $(seq 1 $((limit * 20))); do
		# A zombie still answers kill -0; ps tells it apart.
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != "" ] &&
			[ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]; then
			sleep 0.05
			continue
		fi
		wait "$pid"
		EXIT_RC=$?
		return 0
	done
}

# stop_daemon DIR: SIGTERM the daemon started for DIR and expect exit 0.
stop_daemon() {
	local dir=$1 pid
	pid=$(cat "$dir/daemon.pid")
	kill -TERM "$pid"
	wait_exit "$pid" 5
	[ "$EXIT_RC" = 0 ] || fail "lmsyncd in $dir ended with '$EXIT_RC' after SIGTERM"
}

# expect_rc CODE CMD...: run CMD, require exit CODE; output goes to $OUT.
expect_rc() {
	local want=$1 got
	shift
	OUT=$("$@" 2>&1)
	got=$?
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; output: $OUT"
}

# contains TEXT NEEDLE: require NEEDLE in TEXT.
contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "expected to find '$2' in: $1" ;;
	esac
}

file_mode() {
	stat -c %a "$1"
}

run_tests() {
	local name passed=0 failed=0
	# E2E_ONLY=REGEX runs only the tests whose names match it.
	for name in $(declare -F | awk '{print $3}' | grep '^test_' | grep -E -- "${E2E_ONLY:-.}"); do
		T="$E2E_ROOT/$name"
		mkdir -p "$T"
		# Each test runs in a subshell that kills the daemons it started.
		if (trap e2e_kill_daemons EXIT; "$name"); then
			echo "ok   $name"
			passed=$((passed + 1))
		else
			echo "FAIL $name"
			failed=$((failed + 1))
		fi
	done
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
}
