#!/bin/sh
# Builds the HVR simulator and packs it as a distribution tarball that the install playbook
# unpacks into HVR_HOME exactly like a real HVR distribution:
#
#   bin/hvrsim                 the multi-call binary
#   bin/<command> -> hvrsim    one symlink per HVR command it simulates
#   lib/README.SIMULATOR       what this is, how it behaves (sim/README.md)
#   VERSION                    "hvr-simulator <version>"
#
# The tarball is reproducible: the same binary and README give the same bytes (sorted
# entries, fixed mtimes, owner 0, gzip without name or time), so a checksum can decide
# whether a node needs a reinstall.
#
# Usage: sim/package.sh OUTDIR [--binary PATH]
#   --binary PATH   pack this hvrsim binary instead of building one (tests use it)
set -eu

usage() {
    echo "usage: $0 OUTDIR [--binary PATH]" >&2
    exit 2
}

[ $# -ge 1 ] || usage
outdir=$1
shift
binary=
while [ $# -gt 0 ]; do
    case $1 in
        --binary) [ $# -ge 2 ] || usage; binary=$2; shift 2 ;;
        *) usage ;;
    esac
done

simdir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$simdir")
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$simdir/Cargo.toml" | head -n 1)
[ -n "$version" ] || { echo "$0: no version in $simdir/Cargo.toml" >&2; exit 1; }

if [ -z "$binary" ]; then
    # A target dir of its own keeps these flags from invalidating the workspace's builds;
    # remapping the source path keeps the binary identical wherever the tree is checked out.
    CARGO_TARGET_DIR="$root/target/hvrsim-package" \
    CARGO_PROFILE_RELEASE_DEBUG=false \
    RUSTFLAGS="--remap-path-prefix=$root=." \
        cargo build --quiet --release --locked --manifest-path "$root/Cargo.toml" -p hvr-simulator
    binary="$root/target/hvrsim-package/release/hvrsim"
fi
[ -x "$binary" ] || { echo "$0: $binary is not an executable" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
mkdir -p "$stage/bin" "$stage/lib"
cp "$binary" "$stage/bin/hvrsim"
"$stage/bin/hvrsim" commands > "$stage/commands"
while read -r command; do
    ln -s hvrsim "$stage/bin/$command"
done < "$stage/commands"
rm "$stage/commands"
cp "$simdir/README.md" "$stage/lib/README.SIMULATOR"
printf 'hvr-simulator %s\n' "$version" > "$stage/VERSION"
chmod 0755 "$stage/bin" "$stage/lib" "$stage/bin/hvrsim"
chmod 0644 "$stage/lib/README.SIMULATOR" "$stage/VERSION"

mkdir -p "$outdir"
tarball="$outdir/hvr-simulator-$version.tar.gz"
# --sort=name orders entries inside directories; the top-level ones are listed in byte order.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$stage" -cf - VERSION bin lib | gzip -n -9 > "$tarball.tmp"
mv "$tarball.tmp" "$tarball"
echo "$tarball"
