#!/usr/bin/env bash
# Download Debian's Xen source (xen_*.orig.tar.xz, a real Xen 4.17 release tree) into a
# cache directory with apt-get, from the deb mirrors this machine already uses (as
# deb-src, in a private apt state: the system's apt configuration is not touched).
# Prints the path of the tarball. A second call downloads nothing.
#   fetch-xen-source.sh [CACHE_DIR]   (default ~/.cache/xenops-lab/xen-source)
set -euo pipefail
cache=${1:-$HOME/.cache/xenops-lab/xen-source}
mkdir -p "$cache"
found=$(find "$cache" -maxdepth 1 -name 'xen_4.17*.orig.tar.xz' | sort | tail -n 1)
if [ -n "$found" ]; then
    echo "$found"
    exit 0
fi
command -v apt-get >/dev/null || { echo "apt-get is needed to download the Xen source" >&2; exit 1; }
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
# The first Debian archive URI (and its suite) of the system's apt sources.
uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1 || true)
[ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$uri" ] || { echo "no Debian archive found in the apt sources of this machine" >&2; exit 1; }
suite=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
[ -n "$suite" ] || suite=bookworm
mkdir -p "$state/lists/partial" "$state/sourceparts"
echo "deb-src $uri $suite main" > "$state/sources.list"
opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=$state/sourceparts"
      -o "Dir::State::Lists=$state/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Sandbox::User=root")
apt-get -qq "${opts[@]}" update
(cd "$cache" && apt-get -qq "${opts[@]}" source --download-only xen >&2)
found=$(find "$cache" -maxdepth 1 -name 'xen_4.17*.orig.tar.xz' | sort | tail -n 1)
[ -n "$found" ] || { echo "apt-get source xen gave no xen_4.17*.orig.tar.xz in $cache" >&2; exit 1; }
echo "$found"
