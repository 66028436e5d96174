# Thin wrapper over CMake: the two README commands and a few conveniences.
# Every target first makes sure the Debian packages are there.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build demo check check-unit check-asan check-tsan format install clean fuzz bench

all: build

deps:
	@./scripts/install-deps

$(BUILD)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS)

# The main job on an embedded default: a local hub and sites on loopback.
demo: build
	@./scripts/demo $(BUILD)

# Every test, then the same tests under AddressSanitizer + UBSan, then the
# end-to-end tests (real daemons, whose sealer and checkpointer are worker
# threads) under ThreadSanitizer.
check: check-unit check-asan check-tsan

check-unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(BUILD_ASAN)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DLMSYNC_SANITIZE=ON $(CMAKE_ARGS) >/dev/null

check-asan: deps $(BUILD_ASAN)/CMakeCache.txt
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	@cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) -LE noasan

$(BUILD_TSAN)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLMSYNC_TSAN=ON $(CMAKE_ARGS) >/dev/null

# A race report stops the daemon (halt_on_error), so the test fails, and
# its log, which the test prints, holds the report.
check-tsan: deps $(BUILD_TSAN)/CMakeCache.txt
	@cmake --build $(BUILD_TSAN) -j $(JOBS)
	@cd $(BUILD_TSAN) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --output-on-failure -j $(JOBS) -L e2e

# Every libFuzzer target (clang, ASan + UBSan) for FUZZ_SECONDS each, from a
# scratch copy of its seeds under $(BUILD_FUZZ) so the repository's corpus
# stays as it is; inputs found along the way stay in the scratch corpus for
# the next run. A crash, leak or failed check fails the target and leaves
# the input in $(BUILD_FUZZ)/fuzz_<target>-crash-*. `make fuzz FUZZ_SECONDS=10`.
BUILD_FUZZ   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= frame handshake message changeset

fuzz: deps
	@CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DLMSYNC_FUZZ=ON \
		$(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
		corpus=$(BUILD_FUZZ)/corpus/$$t; log=$(BUILD_FUZZ)/fuzz_$$t.log; \
		mkdir -p $$corpus && cp tests/fuzz/corpus/$$t/* $$corpus/ || exit 1; \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s from $$corpus (log in $$log)"; \
		if ! $(BUILD_FUZZ)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(BUILD_FUZZ)/fuzz_$$t- $$corpus >$$log 2>&1; then \
			tail -n 40 $$log; echo "fuzz_$$t FAILED: see $$log" >&2; exit 1; \
		fi; \
		grep -E '^(#[0-9]+|Done)' $$log | tail -n 2; \
	done

# Every benchmark, by hand (BENCHMARKS.md): bench/sync_bench.py (issue 5),
# then bench/compare_bench.py (issue 7), which runs build/bench/merge_bench
# and measures streaming, small transactions, bootstrap, a 100-site hub and
# wire bytes against PostgreSQL 15 logical replication; about 5 minutes on
# 2 cores, ending with a table of targets met and not met.
# BENCH_ARGS passes options to compare_bench.py (`make bench BENCH_ARGS="--reps 5
# --bootstrap-rows 200000"`; merge_bench's own through it:
# BENCH_ARGS="--merge-args=--bare-in-written-order"), SYNC_BENCH_ARGS to
# sync_bench.py. merge_bench alone: $(BUILD)/bench/merge_bench [--rows N] [--reps N].
BENCH_ARGS ?=
SYNC_BENCH_ARGS ?=

bench: build
	@/usr/bin/python3 bench/sync_bench.py --build $(BUILD) $(SYNC_BENCH_ARGS)
	@/usr/bin/python3 bench/compare_bench.py --build $(BUILD) $(BENCH_ARGS)
	@echo "Record the results in BENCHMARKS.md (command, machine, date, table)."

# Installs lmsync, lmsyncd, the systemd unit and the docs under PREFIX.
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

format:
	@clang-format -i $$(find proto store daemon cli conf tests bench -name '*.[ch]')

clean:
	@rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ)
