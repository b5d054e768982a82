# anafs — entry points for people and CI.  CMake does the real build; this
# file only strings the steps together.  See README.md.
#
#   make demo    install missing packages, build, mount, submit a shipped query, watch it, unmount
#   make test    build, run every test, then the unit tests under ASan+UBSan
#   make tsan    build under ThreadSanitizer in build-tsan/, run the unit and integration tests
#   make fuzz    build the libFuzzer targets with clang in build-fuzz/
#   make deb     build, then the Debian package build/anafs_VERSION_ARCH.deb (docs/install.md)
#   make bench   build, run the reader benchmark
#   make bench-remote  build, run bench/remote_bench.py (root, xrootd; BENCH_REMOTE_ARGS)
#   make bench-agc     build, run bench/agc_bench.py (the AGC query's speed; BENCH_AGC_ARGS)
#   make bench-speed   build, run bench/speed_bench.py (issue 12's figures; BENCH_SPEED_ARGS)
#   make clean   remove the build directories

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
MAKEFLAGS += --no-print-directory

SHARED ?= ../shared
NPROC := $(shell nproc 2>/dev/null || echo 2)
TEST_JOBS ?= 2
BENCH_ARGS ?=
BENCH_REMOTE_ARGS ?=
BENCH_AGC_ARGS ?=

# ctest fails when it finds no test at all: a run that tested nothing
# must not pass.
CTEST := ctest --output-on-failure --no-tests=error --no-label-summary -j$(TEST_JOBS)
# Sanitizer reports with stacks; a UBSan finding fails the test.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all deps build test asan tsan fuzz deb bench bench-remote bench-agc bench-speed demo clean

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

# ThreadSanitizer: every test but the reader's own (single-threaded, and
# slow under TSan) and the packaging tests (files, not threads; the
# packaged binary is stripped).  A report fails the test (halt_on_error).
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp ANAFS_TSAN=1
tsan: deps
	$(call configure,build-tsan,-DANAFS_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
	cmake --build build-tsan -j$(NPROC)
	$(TSAN_ENV) $(CTEST) --test-dir build-tsan -E 'rootio_|fuzz_|cli_ls|plot_render|hist_schema|^deb$$|^manpage$$|^completion$$'

# The fuzzing toolchain (clang, its libFuzzer runtime) is installed for
# this target only.
fuzz:
	packaging/deps.sh --fuzz
	$(call configure,build-fuzz,-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DANAFS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
	cmake --build build-fuzz -j$(NPROC)
	@echo "fuzz: targets are in build-fuzz/tests/fuzz/; run one on a scratch corpus, e.g."
	@echo "  mkdir -p /tmp/fuzz-rootfile"
	@echo "  build-fuzz/tests/fuzz/fuzz_rootfile -max_total_time=600 /tmp/fuzz-rootfile tests/fuzz/corpus/rootfile"

# The Debian package from the built tree, nothing rebuilt: staging by
# cmake --install, control from dpkg-shlibdeps, dpkg-deb (packaging/mkdeb.sh).
deb: build
	packaging/mkdeb.sh build build

bench: build
	build/bench/bench_reader $(BENCH_ARGS)
	build/bench/bench_query

# anafs over root:// through a delaying proxy and through XCache, against
# local files (bench/README.md).  Needs root and Debian's xrootd; exits 77
# (skipped) without them.  Not part of `make bench`: a few minutes.
bench-remote: build
	/usr/bin/python3 bench/remote_bench.py $(BENCH_REMOTE_ARGS)

# The AGC ttbar query (examples/agc_ttbar.query): its rate on one and two
# cores, the cost of its variations, instruction counts (bench/README.md).
# Not part of `make bench`: about 2.5 minutes on two cores.
bench-agc: build
	/usr/bin/python3 bench/agc_bench.py --anafs build/anafs $(BENCH_AGC_ARGS)

# Per query: events/s per core against bare decompression and uproot, the
# second run with the column cache warm, the first partial on a mount, 1 and
# 2 cores (bench/README.md).  Not part of `make bench`: a few minutes.
bench-speed: build
	/usr/bin/python3 bench/speed_bench.py --anafs build/anafs $(BENCH_SPEED_ARGS)

# The whole idea in one command: list a shipped ROOT file, mount anafs on
# build/demo-mnt (state in build/demo-state, fresh each time), submit
# examples/jets.query (2M events of the LZMA bench file, a few seconds of
# work), watch it live with `anafs watch`, then show the jobs, the cutflow,
# the plots' names and a one-line summary per histogram, say where to look
# next, and unmount.  The daemon is started in examples/: relative dataset
# paths of submitted queries start where `anafs mount` ran, so the query's
# ../../shared/... means what it means to `anafs run`.  The column cache is
# off for the mount (ANAFS_COLCACHE=off): the query lists one file 20
# times, and a warm cache would make every copy after the first, and every
# later `make demo`, end before there is anything to watch.  One shell for
# the mount's lifetime, so that the EXIT trap unmounts however the recipe
# ends.  The state folder is an absolute path: the daemon leaves its
# working folder once the mount is up.
DEMO_MNT := build/demo-mnt
DEMO_STATE := $(CURDIR)/build/demo-state
demo: build
	@echo "$$ anafs ls $(SHARED)/data/bench/nano_like_lzma_100k.root Events"
	@build/anafs ls $(SHARED)/data/bench/nano_like_lzma_100k.root Events > build/demo-ls.txt
	@head -6 build/demo-ls.txt
	@echo "  ... ($$(wc -l < build/demo-ls.txt) lines: build/demo-ls.txt)"
	@echo
	@echo "$$ cat examples/jets.query       # its two dataset lines: the bench file 20 times"
	@grep -v -e '^#' -e '^dataset' examples/jets.query
	@M=$(DEMO_MNT); S=$(DEMO_STATE); \
	if mountpoint -q $$M; then build/anafs umount $$M --state $$S; fi; \
	rm -rf $$S; mkdir -p $$M; \
	echo; echo "$$ (cd examples && ANAFS_COLCACHE=off anafs mount ../$$M --state ../build/demo-state)"; \
	(cd examples && ANAFS_COLCACHE=off ../build/anafs mount ../$$M --state $$S); \
	trap 'echo "$$ anafs umount $$M"; build/anafs umount $$M --state $$S' EXIT; \
	export ANAFS_MOUNT=$$M; \
	echo "$$ export ANAFS_MOUNT=$$M"; \
	echo "$$ anafs submit examples/jets.query"; build/anafs submit examples/jets.query; \
	echo "$$ anafs watch jets"; rc=0; build/anafs watch jets || rc=$$?; \
	test $$rc = 0 || { echo "anafs watch: exit $$rc"; cat $$M/jobs/jets/error; exit 1; }; \
	echo "$$ anafs status"; build/anafs status; \
	echo "$$ cat $$M/jobs/jets/cutflow"; cat $$M/jobs/jets/cutflow; \
	echo "$$ ls $$M/jobs/jets/hist"; ls -C $$M/jobs/jets/hist; \
	echo "$$ examples/hist_summary.py $$M/jobs/jets/hist.json"; \
	/usr/bin/python3 examples/hist_summary.py $$M/jobs/jets/hist.json; \
	echo; \
	echo "Next: mount it yourself (build/anafs mount DIR) and read DIR/README; each job is"; \
	echo "a folder of files: DIR/jobs/N/progress, hist.json, hist/*.svg (open one in a browser),"; \
	echo "cutflow, log.  Try examples/dimuon.query too.  Docs: docs/mount.md (the files),"; \
	echo "docs/query.md (the language), docs/cli.md (the commands, watch and status among them)."

clean:
	rm -rf build build-asan build-tsan build-fuzz
