#!/bin/sh
# Fetches a pinned Debian source package into a directory, patches applied.
#
#   fetch-debian-source.sh PACKAGE VERSION SUITE ORIG_TARBALL SHA256 DEST
#
# The machine's apt configuration is only read, never changed: a temporary
# source list (with the mirror the machine already uses) and temporary state
# and cache directories are passed to apt-get with -o options.
set -eu
pkg=$1 version=$2 suite=$3 orig=$4 sha256=$5 dest=$6

for tool in apt-get dpkg-source sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "error: $tool is missing (Debian: apt-get install dpkg-dev apt coreutils)" >&2
        exit 1
    }
done

# The first non-security Debian mirror the machine is configured with.
mirror=$(
    {
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}'
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" || $1 == "deb-src" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }'
    } | grep -v -e security -e '^$' | grep -i debian | head -n 1
)
if [ -z "$mirror" ]; then
    echo "error: no Debian mirror found in /etc/apt/sources.list{,.d/}: cannot fetch $pkg" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/dl"
echo "deb-src $mirror $suite main" > "$work/sources.list"
apt_opts="-o Dir::Etc::SourceList=$work/sources.list -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists=$work/lists -o Dir::Cache=$work/cache -o APT::Sandbox::User=root -q"

echo "fetching $pkg $version from $suite"
# shellcheck disable=SC2086
apt-get $apt_opts update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }
# shellcheck disable=SC2086
(cd "$work/dl" && apt-get $apt_opts source --download-only "$pkg=$version") >"$work/source.log" 2>&1 ||
    { cat "$work/source.log" >&2; exit 1; }

echo "$sha256  $work/dl/$orig" | sha256sum -c --quiet - || {
    echo "error: $orig does not have the pinned SHA-256 $sha256" >&2
    exit 1
}

mkdir -p "$(dirname "$dest")"
dest=$(cd "$(dirname "$dest")" && pwd)/$(basename "$dest")
rm -rf "$dest.partial"
# Unpack inside the work directory: dpkg-source links the orig tarball next
# to where it runs.
(cd "$work/dl" && dpkg-source -x "${pkg}_${version}.dsc" "$dest.partial") >"$work/unpack.log" 2>&1 ||
    { cat "$work/unpack.log" >&2; exit 1; }
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "$pkg $version -> $dest"
