# Thin wrapper over CMake: the two README commands and a few conveniences.
# Every target first makes sure the Debian packages are there.

BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build demo check check-unit check-asan format install clean

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

# Every test, then the same tests under AddressSanitizer + UBSan.
check: check-unit check-asan

check-unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(BUILD_ASAN)/CMakeCache.txt: | deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DLMSYNC_SANITIZE=ON $(CMAKE_ARGS) >/dev/null

check-asan: deps $(BUILD_ASAN)/CMakeCache.txt
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	@cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) -LE noasan

# Installs lmsync, lmsyncd, the systemd unit and the docs under PREFIX.
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

format:
	@clang-format -i $$(find proto store daemon cli conf tests bench -name '*.[ch]')

clean:
	@rm -rf $(BUILD) $(BUILD_ASAN)
