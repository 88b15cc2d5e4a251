#!/usr/bin/env bash
# Dashboard latency under load: wrk (a second process) against `wattaudit serve` on loopback.
# In one run of one server it measures the overview's data (/api/sites), one chart's series
# (/api/series), the page shell (/), and, for each, a static file of exactly the same size
# served by the same server from www/.  Prints p50 and p99 of each and the p99 ratios.
#
#   bench/dashboard/run.sh [--build DIR] [--demo DIR] [--duration S] [--rounds N]
#                          [--connections N] [--threads N] [--port P] [--keep]
#                          [--config FILE [--data DIR]] [--url PATH]...
#
# --demo DIR: a `wattaudit demo --dir DIR` folder to serve (default: made here, 28 days).
# --config FILE: serve this site config instead (its own data folder, or --data DIR), e.g. the
#   lab site with its computers that tests/dashboard's dash_corr_fixture writes.
# --url PATH: a request to measure (repeatable) instead of the overview, a series and the page.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
build=$src/build-bench
demo=""
duration=5
rounds=5
conns=8
threads=1
port=27080
keep=0
config=""
data=""
urls_dyn=()
while (($#)); do
    case $1 in
    --build) build=$2; shift 2 ;;
    --demo) demo=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --config) config=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --url) urls_dyn+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--demo DIR] [--duration S] [--rounds N] [--connections N] [--threads N] [--port P] [--keep] [--config FILE [--data DIR]] [--url PATH]..." >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }
if [[ ! -x $build/cli/wattaudit ]]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$build" -j2 --target wattaudit >/dev/null
fi
wa=$build/cli/wattaudit
work=$(mktemp -d /tmp/wa-bench-dash.XXXXXX)
server=""
cleanup() {
    [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    ((keep)) && echo "bench: kept $work" || rm -rf "$work"
}
trap cleanup EXIT

if [[ -n $config ]]; then
    site=(--config "$config" --status "")
    [[ -n $data ]] && site+=(--data "$data")
else
    if [[ -z $demo ]]; then
        demo=$work/demo
        echo "bench: simulating 28 days of the demo site (about a minute)"
        "$wa" demo --dir "$demo" --days 28 >/dev/null
    fi
    site=(--config "$src/examples/demo-site.conf" --data "$demo/data" --status "$demo/status.json")
fi
cp -r "$src/dashboard/www" "$work/www"
echo 'bench-password-1' | "$wa" useradd --users "$work/users" --role admin bench >/dev/null
"$wa" serve "${site[@]}" --users "$work/users" --www "$work/www" --port "$port" -q >"$work/serve.out" 2>&1 &
server=$!
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -fs "$base/api/session" -o /dev/null 2>/dev/null && break; sleep 0.1; done

# Log in as a browser would: visitor session, its CSRF token, then the form.
jar=$work/cookies
csrf=$(curl -fs -c "$jar" "$base/api/session" | sed 's/.*"csrf":"\([0-9a-f]*\)".*/\1/')
curl -fs -b "$jar" -c "$jar" -d "user=bench&password=bench-password-1&csrf=$csrf" "$base/api/login" >/dev/null
session=$(awk '$6 == "wa_session" {print $7}' "$jar")
cookie="Cookie: wa_session=$session"

if ((${#urls_dyn[@]} == 0)); then
    urls_dyn=(/api/sites "/api/series?channel=campus/pdu-a/outlet7&points=800" /)
fi
# Each request and a static file of exactly its size, served from www/ by the same server.
declare -A size static
urls=()
pairs=()
for ((i = 0; i < ${#urls_dyn[@]}; i++)); do
    url=${urls_dyn[$i]}
    curl -fs -H "$cookie" "$base$url" -o /dev/null || { echo "bench: $url fails" >&2; exit 1; }
    size[$url]=$(curl -fs -H "$cookie" "$base$url" | wc -c)
    static[$url]=/www/bench-$i.txt
    size[${static[$url]}]=${size[$url]}
    head -c "${size[$url]}" /dev/zero | tr '\0' 'x' >"$work/www/bench-$i.txt"
    urls+=("$url" "${static[$url]}")
    pairs+=("$url|${static[$url]}")
done

# wrk --latency prints "50%  1.23ms" ... "99%  4.56ms"; convert to microseconds.
run() {
    local out
    out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -H "$cookie" "$base$1")
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    echo "$(to_us "$p50") $(to_us "$p99") $rps"
}
to_us() {
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        if (u == "us") print n; else if (u == "ms") print n * 1000; else if (u == "s") print n * 1e6; else print n }'
}

printf "bench: %s connections, %s wrk threads, %s rounds of %s s per URL, server %s\n" \
    "$conns" "$threads" "$rounds" "$duration" "$base"
# The URLs take turns, round after round, so that a burst of load from elsewhere on the
# machine hits all of them alike; each figure is the median over the rounds.
declare -A p50s p99s rpss
for ((r = 0; r < rounds; r++)); do
    for url in "${urls[@]}"; do
        read -r p50 p99 rps < <(run "$url")
        p50s[$url]+="$p50 "
        p99s[$url]+="$p99 "
        rpss[$url]+="$rps "
    done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf "%-44s %7s %9s %9s %9s\n" "request (median of rounds)" "bytes" "p50 us" "p99 us" "req/s"
declare -A m99
for url in "${urls[@]}"; do
    m99[$url]=$(median "${p99s[$url]}")
    printf "%-44s %7s %9.0f %9.0f %9.0f\n" "$url" "${size[$url]}" "$(median "${p50s[$url]}")" "${m99[$url]}" "$(median "${rpss[$url]}")"
done
fail=0
for pair in "${pairs[@]}"; do
    dyn=${pair%%|*}
    st=${pair##*|}
    ratio=$(awk -v a="${m99[$dyn]}" -v b="${m99[$st]}" 'BEGIN { printf "%.2f", a / b }')
    verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 3 ? "ok" : "OVER") }')
    [[ $verdict == ok ]] || fail=1
    printf "p99 %-40s / static of the same size = %s (target <= 3: %s)\n" "$dyn" "$ratio" "$verdict"
done
exit $fail
