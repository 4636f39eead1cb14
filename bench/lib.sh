# Sourced by bench/run_*.sh, not run: the build directory, the programs and tools a script needs,
# and a temporary directory removed on exit together with every process whose pid is in $pids.
#   bench_init NAME [BUILD_DIR]   sets root, build (default build-bench), tmp and pids
#   need_programs PROGRAM...      each must be built in $build/tools
#   need_tools TOOL...            each must be on PATH
# KEEP=1 keeps the temporary directory and the processes (for a look after a run).

bench_init() {
    bench_name=$1
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    build=${2:-build-bench}
    [[ -d $build ]] || build=$root/$build
    [[ -d $build ]] || { echo "$bench_name: no build directory $build" >&2; exit 2; }
    build=$(cd "$build" && pwd)
    tmp=$(mktemp -d "/tmp/keysat-bench-${bench_name%.sh}.XXXXXX")
    pids=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    if [[ -n ${KEEP:-} ]]; then
        echo "kept $tmp"
        return
    fi
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}

need_programs() {
    for exe in "$@"; do
        [[ -x $build/tools/$exe ]] ||
            { echo "$bench_name: $build/tools/$exe is missing; build $build first" >&2; exit 2; }
    done
}

need_tools() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$bench_name: $tool is not installed" >&2; exit 2; }
    done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
