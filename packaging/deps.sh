#!/usr/bin/env bash
# deps.sh — install the Debian 12 packages that building anafs, `make demo`
# and the tests need, and nothing else.  Each group below says what uses
# it; README.md has them as a table.  The installed package (`make deb`) needs
# none of the -dev packages: its Depends come from dpkg-shlibdeps.
#
#   packaging/deps.sh           build, demo and test groups
#   packaging/deps.sh --fuzz    and the fuzzing toolchain (`make fuzz`)
#
# Idempotent and quick when nothing is missing: each package is checked with
# dpkg-query, and apt-get (update, then install) runs only for the missing
# ones.  Uses sudo only when not root and sudo exists.
#
# Environment:
#   DEPS_DRY_RUN=1   print the apt-get commands instead of running them.
set -euo pipefail

fuzz=0
for arg in "$@"; do
	case $arg in
	--fuzz) fuzz=1 ;;
	*)
		echo "usage: $0 [--fuzz]" >&2
		exit 2
		;;
	esac
done

# build: every target compiles and links against these.
packages=(
	build-essential
	cmake
	pkg-config
	g++                  # cache/xrd.cc, the one C++ file (XrdCl is C++)
	libdeflate-dev       # zlib-format baskets (fast inflate; no zlib itself)
	liblz4-dev
	libzstd-dev
	liblzma-dev
	libxxhash-dev        # checksums of ROOT LZ4 blocks, the column cache
	libfuse3-dev         # fs/: the FUSE mount
	libsqlite3-dev       # exec/store: the job store
	libnng-dev           # exec/wire: coordinator <-> worker messages
	libssl-dev           # exec/wire: HMAC-SHA256 and random bytes (libcrypto)
	libxrootd-client-dev # cache/xrd.cc: root:// sources (XrdCl)
)

# mount: `make demo` and every mount test.
packages+=(
	fuse3   # fusermount3
	python3 # `make demo`'s summary and every test helper, as /usr/bin/python3
)

# tests: `make test`.
packages+=(
	python3-numpy      # tests/agc_check.py, tests/samples_check.py: the numpy references
	python3-jsonschema # hist.json and `anafs ls --json` against their schemas
	librsvg2-bin       # rsvg-convert: tests/plot_render_check.py renders the SVG plots
	gdb                # a mount test that hangs prints the daemon's stacks
	tmux               # tests/watch_check.py: `anafs watch` in a pane, read with capture-pane
)

# servers: the tests against real servers they start on loopback.
packages+=(
	slurmctld             # tests/slurm_check.py: a one-node Slurm
	slurmd
	slurm-client          # sbatch, squeue, scancel
	munge                 # Slurm's authentication
	xrootd-client         # xrdfs, for tests/xrd_util.py
	xrootd-server         # /usr/bin/xrootd: tests/src_xrd_check.py, remote_check.py
	xrootd-server-plugins
)

# deb: the Debian package, `make deb` and tests/deb_check.py (ctest deb);
# man-db for tests/manpage_check.py too.
packages+=(
	dpkg-dev # dpkg-shlibdeps, dpkg-parsechangelog (dpkg-deb is dpkg's)
	lintian  # the package's check: no error allowed
	man-db   # man --warnings renders anafs(1) and anafs-query(5)
)

# jupyter: tests/jupyter_check.py: a real Jupyter Notebook driven by a headless
# Chromium (playwright-core comes from npm into the build tree).
packages+=(
	jupyter-notebook  # Jupyter Notebook 6.4, the server under test
	python3-ipykernel # the kernel that runs the notebook cell
	chromium          # the browser, headless, via playwright-core
)
# npm installs playwright-core (CI has the npm registry).  A nodejs from
# elsewhere (nodesource) ships its own npm and conflicts with Debian's.
command -v npm >/dev/null 2>&1 || packages+=(npm)

# fuzz: `make fuzz` only, which passes --fuzz.
if ((fuzz)); then
	packages+=(
		clang              # libFuzzer targets
		libclang-rt-14-dev # libFuzzer runtime for clang 14
	)
fi

is_installed() {
	local status
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[[ $status == "install ok installed" ]]
}

missing=()
for p in "${packages[@]}"; do
	is_installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

echo "deps: installing ${missing[*]}"

sudo=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
fi

run() {
	if [[ ${DEPS_DRY_RUN:-0} == 1 ]]; then
		echo "deps: would run: $*"
	else
		"$@"
	fi
}

run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"
