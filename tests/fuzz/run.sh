#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, KEYSAT_FUZZ=ON) in their own build directory, runs each
# one over its regression inputs, then fuzzes each for SECONDS (default 20) from a copy of its
# seed corpus. Fails, naming the target, on any crash, leak, timeout, out-of-memory or sanitizer
# report. See tests/fuzz/README.md.
#
#   tests/fuzz/run.sh [SECONDS]
#
# Environment:
#   KEYSAT_FUZZ_BUILD    build directory (default: build-fuzz at the repository root)
#   KEYSAT_FUZZ_CC/CXX   compilers for a new build directory (default: clang-16, clang++-16)
#   KEYSAT_FUZZ_TARGETS  the targets to run, separated by spaces (default: all)
#   KEYSAT_FUZZ_JOBS     targets fuzzed at once (default: the number of processors)
#   KEYSAT_FUZZ_KEEP     a directory to keep each target's grown corpus in (<dir>/<target>/)
set -euo pipefail

secs=${1:-20}
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < 1)); then
    echo "usage: tests/fuzz/run.sh [SECONDS]" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${KEYSAT_FUZZ_BUILD:-$root/build-fuzz}
jobs=${KEYSAT_FUZZ_JOBS:-$(nproc)}
all_targets="http_head http_chunked lic1 token revocations minisig pubkey keyfile config
             json_body bulk_csv bulk_jsonl ledger manifest"
targets=${KEYSAT_FUZZ_TARGETS:-$all_targets}

# Configure (the compilers only for a new directory: CMake cannot switch them later) and build
# only the library modules the targets need, plus the targets.
if [[ ! -f $build/CMakeCache.txt ]]; then
    CC=${KEYSAT_FUZZ_CC:-clang-16} CXX=${KEYSAT_FUZZ_CXX:-clang++-16} \
        cmake -S "$root" -B "$build" -DKEYSAT_FUZZ=ON -DKEYSAT_TESTS=OFF -DKEYSAT_BENCH=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
else
    cmake "$build" >/dev/null
fi
start=$(date +%s)
cmake --build "$build" --target keysat_fuzz -j "$(nproc)" >/dev/null
echo "fuzz targets built in $(($(date +%s) - start)) s ($build)"

work=$(mktemp -d "${TMPDIR:-/tmp}/keysat-fuzz.XXXXXX")
keep_work=0
cleanup() { ((keep_work)) || rm -rf "$work"; }
trap cleanup EXIT

# ASan hands freed memory back to the kernel every few seconds by default; in the CI's virtual
# machine one such madvise stalled a fuzzer past its timeout under load, so it keeps the memory.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_release_to_os_interval_ms=-1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

bin_of() { echo "$build/tests/fuzz/fuzz_$1"; }

# A libFuzzer log that shows a problem even where the exit status might not.
reported() {
    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|==[0-9]+== ?ERROR' "$1"
}

# The lines of a log that say what went wrong and where (libFuzzer's own frames left out).
excerpt() {
    grep -E 'Running:|ERROR|runtime error|property broken|SUMMARY|^ +#[0-9]+ ' "$1" |
        grep -vE 'fuzzer::|__sanitizer|libc|_start|pthread_kill|raise|abort' | head -n 25 || true
}

failed=()

# 1. Every target over its saved regression inputs (each run once).
for t in $targets; do
    dir=$here/regressions/$t
    [[ -d $dir ]] || continue
    mapfile -t inputs < <(find "$dir" -type f ! -name '*.md' | sort)
    ((${#inputs[@]})) || continue
    log=$work/$t.regressions.log
    if ! "$(bin_of "$t")" -rss_limit_mb=2048 -timeout=30 "${inputs[@]}" >"$log" 2>&1 ||
        reported "$log"; then
        echo "FAIL $t: a regression input fails again (log: $log)"
        excerpt "$log"
        failed+=("$t (regressions)")
        keep_work=1
    else
        echo "ok   $t: ${#inputs[@]} regression inputs"
    fi
done

# 2. Fuzz each target for $secs seconds from a temporary copy of its corpus (the committed
#    corpus is never written). At most $jobs at once.
fuzz_one() {
    local t=$1
    local corpus=$work/corpus/$t artifacts=$work/artifacts/$t log=$work/$t.log
    mkdir -p "$corpus" "$artifacts"
    if [[ -d $here/corpus/$t ]]; then
        find "$here/corpus/$t" -maxdepth 1 -type f -exec cp {} "$corpus/" \;
    fi
    local dict=()
    [[ -f $here/dict/$t.dict ]] && dict=(-dict="$here/dict/$t.dict")
    local status=0
    "$(bin_of "$t")" "${dict[@]}" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 ||
        status=$?
    echo "$status" >"$work/$t.status"
}

running=0
for t in $targets; do
    if [[ ! -x $(bin_of "$t") ]]; then
        echo "no such fuzz target: $t" >&2
        exit 2
    fi
    fuzz_one "$t" &
    running=$((running + 1))
    if ((running >= jobs)); then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

printf '%-14s %12s %10s %8s %8s %8s  %s\n' target executions exec/s cov ft corpus result
for t in $targets; do
    log=$work/$t.log status=$(cat "$work/$t.status")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    units=$(find "$work/corpus/$t" -type f | wc -l)
    if [[ -n ${KEYSAT_FUZZ_KEEP:-} ]]; then
        mkdir -p "$KEYSAT_FUZZ_KEEP/$t"
        cp "$work/corpus/$t"/* "$KEYSAT_FUZZ_KEEP/$t/" 2>/dev/null || true
    fi
    result=ok
    if [[ $status != 0 ]] || reported "$log"; then
        result="FAIL (exit $status)"
        failed+=("$t")
        keep_work=1
    fi
    printf '%-14s %12s %10s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
        "${ft:-?}" "$units" "$result"
done

for t in "${failed[@]}"; do
    t=${t%% *}
    echo
    echo "=== $t: $(find "$work/artifacts/$t" -type f -printf '%f ' 2>/dev/null | head -c 300)"
    excerpt "$work/$t.log"
    echo "(log: $work/$t.log; inputs: $work/artifacts/$t/)"
done
if ((${#failed[@]})); then
    echo "fuzzing failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzzing passed: $(wc -w <<<"$targets") targets, $secs s each"
