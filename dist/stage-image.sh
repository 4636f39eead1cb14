#!/bin/sh
# Usage: dist/stage-image.sh BUILD_DIR STAGE_DIR
#
# The Dockerfile's last build step, also run by the tests on the host: copies the four tools
# (stripped) and the entrypoint from a build into STAGE_DIR/usr/local/bin, and writes
# STAGE_DIR/runtime-packages, the Debian packages that hold every shared library they load (found
# with ldd and dpkg, so the list is right on every architecture). The runtime stage installs
# exactly those.
set -eu

[ $# -eq 2 ] || { sed -n '2,8s/^# \{0,1\}//p' "$0" >&2; exit 2; }
build=$1
stage=$2
here=$(cd "$(dirname "$0")" && pwd)
tools="keysat-serve keysat-migrate keysat-issue keysat-verify"

mkdir -p "$stage/usr/local/bin"
for t in $tools; do
    [ -x "$build/tools/$t" ] || { echo "stage-image: $build/tools/$t is not built" >&2; exit 2; }
    cp "$build/tools/$t" "$stage/usr/local/bin/$t"
    strip --strip-debug "$stage/usr/local/bin/$t"
done
cp "$here/docker-entrypoint.sh" "$stage/usr/local/bin/docker-entrypoint.sh"
chmod 0755 "$stage/usr/local/bin/"*

# Every library a tool loads, by path, and the package that owns it. With usrmerge a library can
# be recorded under /lib or under /usr/lib: ask for both.
: >"$stage/runtime-packages.tmp"
: >"$stage/libraries"
for t in $tools; do
    # A static program has none; any other failure of ldd would leave the list short.
    if out=$(ldd "$build/tools/$t" 2>&1); then
        printf '%s\n' "$out" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' >>"$stage/libraries"
    elif ! printf '%s' "$out" | grep -q 'not a dynamic executable'; then
        echo "stage-image: ldd $t failed: $out" >&2
        exit 1
    fi
done
sort -u "$stage/libraries" | while read -r lib; do
    real=$(readlink -f "$lib")
    owner=
    for p in "$lib" "$real" "/usr$lib" "/usr$real" "${lib#/usr}" "${real#/usr}"; do
        owner=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$owner" ] && break
    done
    [ -n "$owner" ] || { echo "stage-image: no Debian package holds $lib" >&2; exit 1; }
    echo "$owner" >>"$stage/runtime-packages.tmp"
done
sort -u "$stage/runtime-packages.tmp" >"$stage/runtime-packages"
rm -f "$stage/runtime-packages.tmp" "$stage/libraries"
echo "stage-image: $(wc -l <"$stage/runtime-packages") runtime packages: $(tr '\n' ' ' <"$stage/runtime-packages")" >&2
