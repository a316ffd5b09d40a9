#!/bin/sh
# Makes sure the Debian packages named on the command line are installed:
# installs them when running as root on Debian, otherwise says what to run.
set -eu
missing=
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet.
    apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; }
    exit 0
fi
echo "error: missing Debian packages:$missing" >&2
echo "       install them with: sudo apt-get install$missing" >&2
exit 1
