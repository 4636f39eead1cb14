#!/usr/bin/env bash
# Small checks, where process start-up is everything: keysat-verify file and keysat-verify
# license on a 3-byte file and one key, against minisign -V of the same file in the same run, as
# ratios of process time (user + system CPU, the mean of many runs) and of wall time. Also the
# static binaries' sizes. Target: keysat-verify no slower than minisign (ratio <= 1.0).
# Usage: bash bench/run_startup.sh [BUILD_DIR]   (default build-bench)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-bench}
[[ -d $build ]] || build=$root/$build
build=$(cd "$build" && pwd)
issue=$build/tools/keysat-issue
verify=$build/tools/keysat-verify
for exe in "$issue" "$verify"; do
    [[ -x $exe ]] || { echo "run_startup.sh: $exe is missing; build $build first" >&2; exit 2; }
done
for tool in hyperfine minisign python3; do
    command -v "$tool" >/dev/null || { echo "run_startup.sh: $tool is not installed" >&2; exit 2; }
done
runs=${RUNS:-300}
tmp=$(mktemp -d /tmp/keysat-startup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "== machine: $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME"), $(minisign -v), $(hyperfine --version)"
for exe in "$verify" "$issue"; do
    printf '== %s: %s bytes, %s\n' "$(basename "$exe")" "$(stat -c %s "$exe")" \
        "$(LC_ALL=C ldd "$exe" 2>&1 | grep -q 'not a dynamic' && echo static || echo dynamic)"
done

# One key pair signs both the file (minisign's prehashed signature) and the license key.
"$issue" keygen --unencrypted --kdf interactive -o "$tmp/k" >/dev/null 2>&1
printf 'abc' >"$tmp/small"
"$issue" sign -s "$tmp/k.key" "$tmp/small" >/dev/null
minisign -Vm "$tmp/small" -p "$tmp/k.pub" -q || { echo "minisign refuses the signature" >&2; exit 2; }
key=$("$issue" license -s "$tmp/k.key" --product 6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0 --days 30)
"$verify" license -p "$tmp/k.pub" "$key" >/dev/null

hyperfine --style basic -N --runs "$runs" --warmup 20 --export-json "$tmp/startup.json" \
    -n minisign "minisign -Vm $tmp/small -p $tmp/k.pub -q" \
    -n keysat-verify-file "$verify file -p $tmp/k.pub $tmp/small" \
    -n keysat-verify-license "$verify license -p $tmp/k.pub $key" \
    -n keysat-verify-version "$verify --version" >/dev/null

echo
python3 - "$tmp/startup.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = results["minisign"]
cpu = lambda r: r["user"] + r["system"]
print(f"{'command':<24} {'wall ms':>9} {'cpu ms':>8} {'wall / minisign':>16} {'cpu / minisign':>15}")
for name, r in results.items():
    print(f"{name:<24} {r['mean'] * 1e3:9.2f} {cpu(r) * 1e3:8.2f} "
          f"{r['mean'] / base['mean']:16.2f} {cpu(r) / cpu(base):15.2f}")
PY
