# anafs — entry points for people and CI.  CMake does the real build; this
# file only strings the steps together.  See README.md.
#
#   make demo    install missing packages, build, list a shipped ROOT file
#   make test    build, run every test, then the unit tests under ASan+UBSan
#   make fuzz    build the libFuzzer targets with clang in build-fuzz/
#   make bench   build, run the reader benchmark
#   make clean   remove the build directories

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
MAKEFLAGS += --no-print-directory

SHARED ?= ../shared
NPROC := $(shell nproc 2>/dev/null || echo 2)
TEST_JOBS ?= 2
BENCH_ARGS ?=

# ctest fails when it finds no test at all: a run that tested nothing
# must not pass.
CTEST := ctest --output-on-failure --no-tests=error --no-label-summary -j$(TEST_JOBS)
# Sanitizer reports with stacks; a UBSan finding fails the test.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all deps build test asan fuzz bench demo clean

all: build

deps:
	packaging/deps.sh

# configure DIR, ARGS: run CMake only when DIR has no cache; afterwards
# `cmake --build` re-runs CMake itself when a CMakeLists.txt changes.  A
# failed configure removes the cache so that the next run configures again.
configure = test -f $(1)/CMakeCache.txt || cmake -S . -B $(1) $(2) \
	|| { rm -f $(1)/CMakeCache.txt; exit 1; }

define asan-build
$(call configure,build-asan,-DANAFS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
cmake --build build-asan -j$(NPROC)
endef

build: deps
	$(call configure,build,-DCMAKE_BUILD_TYPE=RelWithDebInfo)
	cmake --build build -j$(NPROC)

asan: deps
	$(asan-build)

# The whole suite, then the unit tests again under ASan+UBSan.  The
# sanitizer run comes last so that the output ends with its summary.
test: build
	$(CTEST) --test-dir build
	$(asan-build)
	$(SAN_ENV) $(CTEST) --test-dir build-asan -L unit

fuzz: deps
	$(call configure,build-fuzz,-DCMAKE_C_COMPILER=clang -DANAFS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
	cmake --build build-fuzz -j$(NPROC)
	@echo "fuzz: targets are in build-fuzz/tests/fuzz/; run one on a scratch corpus, e.g."
	@echo "  mkdir -p /tmp/fuzz-rootfile"
	@echo "  build-fuzz/tests/fuzz/fuzz_rootfile -max_total_time=600 /tmp/fuzz-rootfile tests/fuzz/corpus/rootfile"

bench: build
	build/bench/bench_reader $(BENCH_ARGS)
	build/bench/bench_query

# For now the demo lists a shipped file and runs a shipped query on it;
# it becomes the mount demo later.
demo: build
	build/anafs ls $(SHARED)/data/root/nano_dimuon.root Events > build/demo-ls.txt
	@head -12 build/demo-ls.txt
	@echo "  ... ($$(wc -l < build/demo-ls.txt) lines: build/demo-ls.txt)"
	@echo
	@echo "$$ cat examples/dimuon.query"
	@grep -v '^#' examples/dimuon.query
	@echo
	@echo "$$ anafs run examples/dimuon.query --cutflow -o build/demo-hist.json"
	build/anafs run examples/dimuon.query --cutflow -o build/demo-hist.json
	@echo
	@/usr/bin/python3 examples/hist_summary.py build/demo-hist.json
	@echo "(the whole result: build/demo-hist.json, UHI JSON)"

clean:
	rm -rf build build-asan build-fuzz
