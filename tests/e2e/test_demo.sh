#!/usr/bin/env bash
# End-to-end: `make demo` runs to the end and shows what it promises: a
# course added in one kommune found in the other, an agreement item that
# reaches its kommune and never the other, the regional report at a kommune,
# every daemon stopped with exit 0. Its sites are removed afterwards.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" "$@"

test_demo_runs_and_shows_each_step() {
	local root
	expect_rc 0 "$(dirname "$0")/../../scripts/demo" "$BUILD_DIR"
	root=$(printf '%s\n' "$OUT" | sed -n 's/^The four sites live in \([^:]*\):.*/\1/p')
	[ -n "$root" ] && [ -d "$root" ] || fail "the demo did not say where its data lives: $OUT"
	rm -rf "$root"
	contains "$OUT" "the hub has 3 of 3 sites connected"
	contains "$OUT" "Imported"
	contains "$OUT" "6 new, 0 changed"
	# Malvik's search finds Trondheim's course.
	printf '%s\n' "$OUT" | sed -n '/^malvik\$ lmsync course search mestring/,/^malvik\$/p' |
		grep -q "Mestringstreff (Trondheim kommune)" || fail "Malvik did not find the course"
	contains "$OUT" "pågår     felles"
	contains "$OUT" "malvik: rows of avtale-trondheim in its store: 0"
	contains "$OUT" "2 of 3 members closed"
	printf '%s\n' "$OUT" | grep -q "^total  *4  *4  *20 " || fail "no report total: $OUT"
	contains "$OUT" "all four daemons stopped (exit 0)"
}

run_tests
