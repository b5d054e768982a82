#!/usr/bin/env bash
# mkdeb.sh — build the Debian package anafs_VERSION_ARCH.deb from a built
# tree, without rebuilding anything.  `make deb` runs it as
# `packaging/mkdeb.sh build build`; tests/deb_check.py runs it into a
# temporary folder.
#
#   packaging/mkdeb.sh BUILD_DIR OUT_DIR     prints the path of the .deb
#
# Steps: `cmake --install BUILD_DIR --prefix /usr` into a staging tree
# (OUT_DIR/deb-root/debian/anafs, as debhelper lays it out), the binary
# and the XRootD module (usr/lib/anafs/anafs-xrd.so)
# stripped (no debug package), man pages and the changelog compressed
# (gzip -9n), the copyright file, DEBIAN/control with Depends from
# dpkg-shlibdeps plus fuse3, DEBIAN/md5sums, then dpkg-deb
# --root-owner-group --build.  Needs dpkg-dev (dpkg-shlibdeps,
# dpkg-parsechangelog) and binutils (strip); packaging/deps.sh installs them.
set -euo pipefail

if (($# != 2)); then
	echo "usage: $0 BUILD_DIR OUT_DIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)

die() {
	echo "mkdeb: $*" >&2
	exit 1
}

[[ -x $build/anafs ]] || die "$build/anafs is missing: build first (make build)"
for tool in dpkg-deb dpkg-shlibdeps dpkg-parsechangelog strip gzip; do
	command -v "$tool" >/dev/null || die "$tool is missing: run packaging/deps.sh"
done

upstream=$("$build/anafs" --version | awk '{print $2}')
version=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)
[[ ${version%-*} == "$upstream" ]] ||
	die "packaging/debian/changelog's newest entry is $version, the binary is $upstream: add an entry"
arch=$(dpkg --print-architecture)
deb=$out/anafs_${version}_${arch}.deb

work=$out/deb-root
root=$work/debian/anafs
rm -rf "$work"
mkdir -p "$root"
umask 022

DESTDIR=$root cmake --install "$build" --prefix /usr >"$work/install.log" ||
	die "cmake --install failed: $work/install.log"

doc=$root/usr/share/doc/anafs
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/anafs" \
	"$root/usr/lib/anafs/anafs-xrd.so"
find "$root/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
gzip -9n -c "$here/debian/changelog" >"$doc/changelog.Debian.gz"
cp "$here/debian/copyright" "$doc/copyright"
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root/usr/bin/anafs"

# Shared-library dependencies, as dh_shlibdeps finds them (it wants a
# debian/control beside the staging tree).
printf 'Source: anafs\n\nPackage: anafs\nArchitecture: any\n' >"$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O -e debian/anafs/usr/bin/anafs \
	-e debian/anafs/usr/lib/anafs/anafs-xrd.so 2>"$work/shlibdeps.log") ||
	die "dpkg-shlibdeps failed: $work/shlibdeps.log"
shlibs=${shlibs#shlibs:Depends=}
size=$(du -k -s --apparent-size "$root" | cut -f1)

mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<EOF
Package: anafs
Version: $version
Architecture: $arch
Maintainer: anafs maintainers <maintainers@users.noreply.b-seed-3d3b658c.example>
Installed-Size: $size
Depends: $shlibs, fuse3
Recommends: python3
Section: science
Priority: optional
Description: analysis jobs of HEP data (ROOT TTrees) as files
 anafs is a FUSE file system that runs high-energy-physics analysis jobs:
 mount it, write a query (define, filter, hist, samples, regions,
 variations) under jobs/, and read progress, histograms (UHI JSON, SVG
 plots, CSV), cutflow and status back with cat, from a shell, a Makefile
 or a Jupyter notebook, while a daemon runs the job on local worker
 processes or on Slurm or HTCondor pilots.  It reads ROOT files (zlib,
 LZ4, LZMA, ZSTD) locally or over root:// through a node-local cache.
 .
 The package holds the anafs command, the man pages anafs(1) and
 anafs-query(5), bash completion, the Python module anafs, and a systemd
 user unit, anafs@.service, that mounts a folder of your home at login.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
