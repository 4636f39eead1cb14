#!/usr/bin/env bash
# Runs the three required benchmarks against an existing Release build and prints the figures.
# Usage: bash bench/run.sh [BUILD_DIR]   (default build-bench; relative to the repo root or cwd)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-bench}
[[ -d $build ]] || build=$root/$build
build=$(cd "$build" && pwd)
issue=$build/tools/keysat-issue
verify=$build/tools/keysat-verify
sign_raw=$build/bench/bench_sign_raw
verify_bench=$build/bench/bench_verify
for exe in "$issue" "$verify" "$sign_raw" "$verify_bench"; do
    [[ -x $exe ]] || { echo "run.sh: $exe is missing; build $build first" >&2; exit 2; }
done
for tool in hyperfine minisign python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed" >&2; exit 2; }
done

readonly k_keys=100000
readonly k_namespace=1b671a64-40d5-491e-99b0-da01ff1f3341
tmp=$(mktemp -d /tmp/keysat-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

mean_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$1"; }
calc() { python3 -c "print(f'{$1:.${2:-3}f}')"; }
field() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
maxrss_kib() { /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>&1; cat "$tmp/rss"; }

echo "== machine: $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME"), $(g++ --version | head -1)"
echo "== libsodium $(pkg-config --modversion libsodium 2>/dev/null || echo '?'), $(minisign -v), $(hyperfine --version)"
echo "== build: $build"

echo
echo "== 1. bulk issuance: keysat-issue bulk vs raw crypto_sign_detached ($k_keys keys)"
python3 "$root/bench/gen_bulk_input.py" "$k_keys" >"$tmp/in.csv"
"$issue" keygen --unencrypted -o "$tmp/k" >"$tmp/keygen.log" 2>&1 || { cat "$tmp/keygen.log"; exit 2; }
bulk_cmd="$issue bulk -s $tmp/k.key --now 1700000000 --namespace $k_namespace < $tmp/in.csv > /dev/null"
"$sign_raw" "$k_keys" 3 | tee "$tmp/raw1"
hyperfine --style basic --runs 5 --warmup 1 --export-json "$tmp/bulk.json" -n keysat-issue-bulk "$bulk_cmd" \
    -n keysat-issue-bulk-jobs1 "${bulk_cmd/ bulk / bulk --jobs 1 }"
"$sign_raw" "$k_keys" 3 | tee "$tmp/raw2"
raw_sign=$(calc "($(field sign_per_s "$tmp/raw1") + $(field sign_per_s "$tmp/raw2")) / 2" 1)
bulk_rate=$(calc "$k_keys / $(mean_of "$tmp/bulk.json")" 1)
bulk_ratio=$(calc "$bulk_rate / $raw_sign")
bulk1_rate=$(calc "$k_keys / $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][1]["mean"])' "$tmp/bulk.json")" 1)
bulk1_ratio=$(calc "$bulk1_rate / $raw_sign")

echo
echo "== 2. offline verification: verify_license_key vs raw crypto_sign_verify_detached ($k_keys keys)"
"$verify_bench" "$k_keys" 3 | tee "$tmp/verify"
lib_verify=$(field library_verify_per_s "$tmp/verify")
raw_verify=$(field raw_verify_per_s "$tmp/verify")
verify_ratio=$(field ratio "$tmp/verify")
# For scale only: the binary checks one key per process.
head -2 "$tmp/in.csv" | "$issue" bulk -s "$tmp/k.key" --now 1700000000 --namespace "$k_namespace" |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["key"])' >"$tmp/one.key"
hyperfine --style basic -N --runs 200 --warmup 10 --export-json "$tmp/one.json" \
    -n keysat-verify-license "$verify license -p $tmp/k.pub --at 1700000001 $(cat "$tmp/one.key")"
binary_verify=$(calc "1 / $(mean_of "$tmp/one.json")" 1)

echo
echo "== 3. keysat-verify file vs minisign -V (prehashed signatures made by minisign -S)"
minisign -G -W -p "$tmp/m.pub" -s "$tmp/m.key" </dev/null >/dev/null
declare -A rss
for size in 64M 1G; do
    head -c "$size" /dev/urandom >"$tmp/f$size"
    minisign -S -s "$tmp/m.key" -m "$tmp/f$size" </dev/null >/dev/null
    rss[keysat_$size]=$(maxrss_kib "$verify" file -p "$tmp/m.pub" "$tmp/f$size")
    rss[minisign_$size]=$(maxrss_kib minisign -Vm "$tmp/f$size" -p "$tmp/m.pub" -q)
    [[ $size == 1G ]] || rm -f "$tmp/f$size"
done
hyperfine --style basic -N --runs 5 --warmup 1 --export-json "$tmp/file.json" \
    -n keysat-verify "$verify file -p $tmp/m.pub $tmp/f1G" \
    -n minisign "minisign -Vm $tmp/f1G -p $tmp/m.pub -q"
read -r keysat_file_s minisign_file_s < <(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["results"]; print(r[0]["mean"], r[1]["mean"])' "$tmp/file.json")
file_ratio=$(calc "$minisign_file_s / $keysat_file_s" 2)

echo
echo "== summary"
printf '%-58s %s\n' \
    "bulk: keysat-issue bulk keys/s" "$bulk_rate" \
    "bulk: raw crypto_sign_detached/s (before/after mean)" "$raw_sign" \
    "bulk: ratio (target >= 0.8)" "$bulk_ratio" \
    "bulk --jobs 1: keys/s" "$bulk1_rate" \
    "bulk --jobs 1: ratio (one signing thread)" "$bulk1_ratio" \
    "verify: verify_license_key/s (best of 3)" "$lib_verify" \
    "verify: raw crypto_sign_verify_detached/s (best of 3)" "$raw_verify" \
    "verify: ratio (target >= 0.8)" "$verify_ratio" \
    "verify: keysat-verify license binary, keys/s (1/process)" "$binary_verify" \
    "file 1 GiB: keysat-verify file mean s" "$(calc "$keysat_file_s")" \
    "file 1 GiB: minisign -V mean s" "$(calc "$minisign_file_s")" \
    "file 1 GiB: speed-up over minisign (target >= 1.5)" "$file_ratio" \
    "file: max RSS KiB keysat-verify 64 MiB / 1 GiB" "${rss[keysat_64M]} / ${rss[keysat_1G]}" \
    "file: max RSS KiB minisign 64 MiB / 1 GiB" "${rss[minisign_64M]} / ${rss[minisign_1G]}"
