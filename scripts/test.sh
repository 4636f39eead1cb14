#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: the normal build, then the
# unit and end-to-end tests again under AddressSanitizer and UndefinedBehaviorSanitizer, then
# every libFuzzer target over its regressions and for 20 seconds (tests/fuzz/README.md).
# Usage: scripts/test.sh [--no-sanitize] [--no-fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1 fuzz=1
for arg in "$@"; do
  case $arg in
    --no-sanitize) sanitize=0 ;;
    --no-fuzz) fuzz=0 ;;
    *) echo "usage: scripts/test.sh [--no-sanitize] [--no-fuzz]" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh
# Paths relative to the checkout, so that ccache shares objects with clones (the newcomer test).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYSAT_WERROR=ON
cmake --build build -j"$jobs"
(cd build && ctest -j"$jobs" --output-on-failure)

if [ "$sanitize" = 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKEYSAT_SANITIZE=ON -DKEYSAT_BENCH=OFF -DKEYSAT_WERROR=ON
  cmake --build build-asan -j"$jobs"
  # Style and repository checks ran above; here only the code under the sanitizers.
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest -j"$jobs" --output-on-failure \
       -E 'sources_are_formatted|docs_are_up_to_date|newcomer_clone_runs|repository_stands_alone|setup_script_elevates_only_apt')
fi
if [ "$fuzz" = 1 ]; then
  bash tests/fuzz/run.sh 20
fi
echo "all tests passed"
