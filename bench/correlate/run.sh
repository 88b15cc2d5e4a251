#!/usr/bin/env bash
# The correlation benchmark (bench/README.md, "correlate"): 200 circuits with 1,000 hosts over
# 90 days at 1-minute resolution, analysed without the hosts (plain) and with them
# (correlation) in one run; prints both times, the ratio and whether it meets the target.
#
#   bench/correlate/run.sh [--build DIR] [--dir DIR] [--rounds N] [--circuits N] [--hosts N]
#                          [--days N] [--seed N] [--jobs N] [--keep]
#
# --dir: where the generated site goes (default /tmp/wa-corrbench/site, about 8 GB).  Without
# --keep it is deleted at the end; with it, a later run with the same parameters reuses it.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
build=$src/build-bench
dir=/tmp/wa-corrbench/site
rounds=5
circuits=200
hosts=1000
days=90
seed=1
jobs=2
keep=0
while (($#)); do
    case $1 in
    --build) build=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --circuits) circuits=$2; shift 2 ;;
    --hosts) hosts=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--dir DIR] [--rounds N] [--circuits N] [--hosts N] [--days N] [--seed N] [--jobs N] [--keep]" >&2; exit 2 ;;
    esac
done
# Built every time (an incremental build is quick): analysis/ changes under a benchmark.
if [[ ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWA_SANITIZE=OFF -DBUILD_TESTING=OFF >/dev/null
fi
if ! out=$(cmake --build "$build" -j2 --target wa_bench_corrgen wa_bench_corrtime 2>&1); then
    echo "$out" >&2
    exit 1
fi
bin=$build/bench/correlate
cleanup() {
    if ((keep)); then
        echo "bench: kept $dir (a run with the same parameters reuses it)"
    elif [[ -f $dir/truth.txt || -f $dir/stamp ]]; then # only a folder the generator made
        rm -rf "$dir"
    fi
}
trap cleanup EXIT

echo "bench: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) memory," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg); build $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")"
mkdir -p "$(dirname "$dir")"
"$bin/wa_bench_corrgen" -D "$dir" -c "$circuits" -n "$hosts" -d "$days" -s "$seed" -j "$jobs"
echo "bench: $(du -sh "$dir/data" | cut -f1) of RRD files in $dir/data"
rc=0
"$bin/wa_bench_corrtime" -D "$dir" -r "$rounds" || rc=$?
exit $rc
