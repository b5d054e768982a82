#!/usr/bin/env bash
# deps.sh — install the Debian 12 packages anafs needs to build and test.
#
# Idempotent and quick when nothing is missing: each package is checked with
# dpkg-query, and apt-get (update, then install) runs only for the missing
# ones.  Uses sudo only when not root and sudo exists.
#
# Environment:
#   DEPS_DRY_RUN=1   print the apt-get commands instead of running them.
set -euo pipefail

# Build and test of the ROOT reader.
packages=(
	build-essential
	cmake
	pkg-config
	clang              # `make fuzz` (libFuzzer targets)
	libclang-rt-14-dev # libFuzzer runtime for clang 14
	libdeflate-dev     # zlib-format baskets (fast inflate)
	liblz4-dev
	libzstd-dev
	liblzma-dev
	libxxhash-dev      # checksums of ROOT LZ4 blocks
	zlib1g-dev
	python3            # test helpers; always called as /usr/bin/python3
	python3-numpy
	python3-jsonschema # validates `anafs ls --json` and hist.json output
	librsvg2-bin       # rsvg-convert: renders plot.svg in the plot tests
	gdb                # a mount test that hangs prints the daemon's stacks
)

# Chosen dependencies of later issues (the mount, the job store, workers).
# Installed now so that those issues add code, not setup.
packages+=(
	libfuse3-dev   # fs/: the FUSE mount
	fuse3          # fusermount3 for mount tests
	libsqlite3-dev # exec/: the job store
	libnng-dev     # exec/: coordinator <-> worker messages
	libssl-dev     # exec/wire: HMAC-SHA256 and random bytes (libcrypto)
	slurmctld      # tests/slurm_check.py: a one-node Slurm on loopback
	slurmd
	slurm-client   # sbatch, squeue, scancel
	munge          # Slurm's authentication
)

# root:// sources (cache/xrd.cc) and their tests against a real server.
packages+=(
	g++                   # cache/xrd.cc, the one C++ file (XrdCl is C++)
	libxrootd-client-dev  # XrdCl headers and libXrdCl
	xrootd-client         # xrdfs, for tests/xrd_util.py
	xrootd-server         # /usr/bin/xrootd: tests/src_xrd_check.py
	xrootd-server-plugins
)

# tests/jupyter_check.py: a real Jupyter Notebook driven by a headless
# Chromium (playwright-core comes from npm into the build tree).
packages+=(
	jupyter-notebook  # Jupyter Notebook 6.4, the server under test
	python3-ipykernel # the kernel that runs the notebook cell
	chromium          # the browser, headless, via playwright-core
)
# npm installs playwright-core (CI has the npm registry).  A nodejs from
# elsewhere (nodesource) ships its own npm and conflicts with Debian's.
command -v npm >/dev/null 2>&1 || packages+=(npm)

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
