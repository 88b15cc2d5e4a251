#!/usr/bin/env bash
# The collection benchmark: wattaudit's collector against Debian's collectd (modbus plugin
# writing RRD files), same simulated meters, same interval, one run; see bench/README.md.
#
#   bench/collect/run.sh [--channels "100 1000"] [--duration 90] [--warm 20] [--interval 2]
#                        [--cache DURATION+10] [--only wattaudit|collectd] [--keep] [--build DIR]
#
# For each channel count N it starts a farm of simulated Modbus TCP gateways (20-outlet PDUs,
# 5 per gateway, 127.0.0.1 ports 27000..), writes a wattaudit site config and the equivalent
# collectd.conf, and measures four configurations in turn, each in a run of `duration` seconds
# whose CPU is read `warm` seconds in and again just before the stop (between the two: the
# running cost, without start-up; after the second: the stop, where the caches write):
#   wattaudit direct      wattaudit collect writing with librrd
#   wattaudit rrdcached   the same through a real rrdcached started for the run
#   collectd rrdtool      collectd -f, modbus + rrdtool plugin with its cache
#   collectd rrdcached    collectd -f, modbus + rrdcached plugin, same rrdcached settings
# CPU and peak RSS come from wait4() of each process (collector, and rrdcached where used),
# transactions from the farm's request counters, stored values from the RRD files afterwards.
# Each tool's files are created by an unmeasured warm-up run first, so file creation (a one-off
# in a real deployment) is not counted for either.  Everything listens on loopback only and
# everything started here is stopped here, by pid.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build-bench"
channels="100 1000"
duration=90
warm=20
cache=""
interval=2
only=""""
keep=0
port0=27000
per_pdu=20     # outlets per simulated PDU
per_gw=5       # PDUs (unit ids 1..5) behind one gateway

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --channels) channels=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warm) warm=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --build) build=$2; shift 2 ;;
    *) usage ;;
  esac
done
# The caches hold values a little longer than a run, so that each file is written exactly once
# per run, at the stop, with every value of the run (bench/README.md).
[ -n "$cache" ] || cache=$((duration + 10))
if [ "$warm" -lt 1 ] || [ "$warm" -ge "$duration" ]; then
  echo "run.sh: --warm must be at least 1 and less than --duration" >&2
  exit 2
fi
for n in $channels; do
  if [ $((n % per_pdu)) -ne 0 ] || [ "$n" -le 0 ] || [ "$n" -gt $((per_pdu * per_gw * 100)) ]; then
    echo "run.sh: channel counts must be multiples of $per_pdu up to $((per_pdu * per_gw * 100))" >&2
    exit 2
  fi
done

for cmd in cmake collectd rrdcached rrdtool; do
  command -v "$cmd" >/dev/null || { echo "run.sh: $cmd is not installed" >&2; exit 1; }
done
[ -f /usr/lib/collectd/modbus.so ] || { echo "run.sh: collectd-core has no modbus plugin" >&2; exit 1; }

echo "== building (Release) in $build"
# Warnings are the test build's business (scripts/test.sh); -O2 finds other ones, which must
# not stop a measurement.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWA_SANITIZE=OFF -DWA_WERROR=OFF >/dev/null
targets="wa_bench_mbfarm wa_bench_runmeter wa_bench_rrdcount"
[ "$only" = collectd ] || targets="$targets wattaudit"
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $targets >/dev/null
bin="$build/bench"
wattaudit="$build/cli/wattaudit"

tmp=$(mktemp -d /tmp/wa-bench-collect.XXXXXX)
started=()      # pids of the runmeter wrappers and the farm, for cleanup
cleanup() {
  local p
  for p in "${started[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${started[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [ "$keep" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget() { # pid: drop from the cleanup list once it has been waited for
  local p keep_list=()
  for p in "${started[@]}"; do [ "$p" = "$1" ] || keep_list+=("$p"); done
  started=("${keep_list[@]+"${keep_list[@]}"}")
}

wait_for() { # seconds, then a test command; 0 when it came true in time
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while [ $SECONDS -lt "$end" ]; do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  return 1
}

stop() { # pid [grace seconds]: SIGTERM (runmeter forwards it), wait, SIGKILL after the grace
  local pid=$1 grace=${2:-120} i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: pid $pid still running after ${grace}s, killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

field() { # file key: the value after `key` in a "key value key value" file
  awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' "$1"
}

# ---------------------------------------------------------------------------------------------
# Configuration files

gen_profile() { # dir
  mkdir -p "$1"
  {
    echo '# Synthetic 20-outlet metered PDU for bench/collect/run.sh: outlet n active power is a'
    echo '# float32 (ABCD) in input registers 2(n-1) and 2(n-1)+1, as wa_bench_mbfarm serves it.'
    echo 'vendor = "wattaudit bench";'
    echo 'model = "synthetic 20-outlet PDU";'
    echo 'source = "bench/collect/run.sh (synthetic; served by bench/collect/mbfarm.c)";'
    echo 'max_regs = 100;'
    echo 'defaults = { function = "input"; type = "float32"; order = "ABCD"; };'
    echo 'registers = ('
    local i sep=","
    for ((i = 1; i <= per_pdu; i++)); do
      [ "$i" -eq "$per_pdu" ] && sep=""
      echo "  { channel = \"outlet$i\"; quantity = \"power\"; address = $((2 * (i - 1))); unit = \"W\"; min = 0.0; max = 5000.0; }$sep"
    done
    echo ');'
  } >"$1/bench-pdu20.conf"
}

# Gateways and units for N channels: gateway g (0-based) on port0+g serves units 1..k.
n_pdus() { echo $(($1 / per_pdu)); }
n_gws() { echo $((($(n_pdus "$1") + per_gw - 1) / per_gw)); }
units_on() { # N gw: how many PDUs gateway gw serves
  local left=$(($(n_pdus "$1") - $2 * per_gw))
  [ "$left" -gt "$per_gw" ] && left=$per_gw
  echo "$left"
}

gen_wa_conf() { # N dir rrdcached-address-or-empty
  local n=$1 dir=$2 cached=$3 g u sep
  local gws; gws=$(n_gws "$n")
  mkdir -p "$dir"
  {
    echo 'timezone = "UTC";'
    echo "status_file = \"$dir/status.json\";"
    echo "profile_dirs = [ \"$tmp/profiles\" ];"
    # The smallest layout siteconf allows (2.4 MB a file at a 2 s step; the defaults, 35 days
    # at the poll step and 400 days at 300 s, would make each file over 100 MB).  rrd_update's
    # cost depends on the number of archives and data sources, not on their lengths.
    # Caches alike: direct mode holds samples for --cache seconds, as collectd's rrdtool cache
    # (CacheTimeout) does; with rrdcached the daemon holds them (-w) and the collector hands
    # them over every 5 s, its default.  quality = false: the files keep power, energy and
    # energy_raw, as collectd's keep the one value it is told to collect.
    local flush=$cache; [ -n "$cached" ] && flush=5
    echo "storage = { data_dir = \"$dir/data\"; rrdcached = \"$cached\"; full_days = 1;"
    echo "            mid_step = 300; mid_days = 1; long_step = 3600; long_days = 7;"
    echo "            flush_interval = $flush; quality = false; };"
    echo 'sites = ( { id = "bench"; name = "collection benchmark"; buses = ('
    for ((g = 0; g < gws; g++)); do
      printf '  { id = "gw%02d"; tcp = "127.0.0.1:%d"; devices = (\n' "$g" $((port0 + g))
      local k; k=$(units_on "$n" "$g")
      for ((u = 1; u <= k; u++)); do
        sep=","; [ "$u" -eq "$k" ] && sep=""
        printf '    { id = "pdu%02d"; unit = %d; profile = "bench-pdu20"; interval = %d; }%s\n' \
          $((g * per_gw + u)) "$u" "$interval" "$sep"
      done
      sep=","; [ "$g" -eq $((gws - 1)) ] && sep=""
      echo "  ) }$sep"
    done
    echo ') } );'
  } >"$dir/site.conf"
}

gen_cd_conf() { # N dir mode(rrdtool|rrdcached) rrdcached-socket
  local n=$1 dir=$2 mode=$3 sock=$4 g u i
  local gws; gws=$(n_gws "$n")
  mkdir -p "$dir/rrd"
  {
    echo 'Hostname "bench"'
    echo 'FQDNLookup false'
    echo "BaseDir \"$dir\""
    echo "PIDFile \"$dir/collectd.pid\""
    echo 'PluginDir "/usr/lib/collectd"'
    echo 'TypesDB "/usr/share/collectd/types.db"'
    echo "Interval $interval"
    echo 'LoadPlugin logfile'
    echo "<Plugin logfile>"
    echo '  LogLevel "info"'
    echo "  File \"$dir/collectd.log\""
    echo '  Timestamp true'
    echo '</Plugin>'
    echo 'LoadPlugin modbus'
    if [ "$mode" = rrdtool ]; then
      # collectd.conf(5), Plugin rrdtool: a cache "lessens the load" of many files; the
      # WritesPerSecond range 25..80 is the one it recommends for very large setups.
      echo 'LoadPlugin rrdtool'
      echo '<Plugin rrdtool>'
      echo "  DataDir \"$dir/rrd\""
      echo "  CacheTimeout $cache"
      echo "  CacheFlush $((cache * 2))"
      echo "  RandomTimeout $((cache / 6))"
      echo '  WritesPerSecond 50'
      echo '</Plugin>'
    else
      # collectd.conf(5), Plugin rrdcached: same host, UNIX socket, absolute DataDir.
      echo 'LoadPlugin rrdcached'
      echo '<Plugin rrdcached>'
      echo "  DaemonAddress \"unix:$sock\""
      echo "  DataDir \"$dir/rrd\""
      echo '  CreateFiles true'
      echo '  CollectStatistics false'
      echo '</Plugin>'
    fi
    echo '<Plugin modbus>'
    for ((i = 1; i <= per_pdu; i++)); do
      echo "  <Data \"outlet$i\">"
      echo "    RegisterBase $((2 * (i - 1)))"
      echo '    RegisterType Float'
      echo '    RegisterCmd ReadInput'
      echo '    Type power'
      echo "    Instance \"outlet$i\""
      echo '  </Data>'
    done
    for ((g = 0; g < gws; g++)); do
      printf '  <Host "gw%02d">\n' "$g"
      echo '    Address "127.0.0.1"'
      echo "    Port \"$((port0 + g))\""
      echo "    Interval $interval"
      local k; k=$(units_on "$n" "$g")
      for ((u = 1; u <= k; u++)); do
        echo "    <Slave $u>"
        printf '      Instance "pdu%02d"\n' $((g * per_gw + u))
        for ((i = 1; i <= per_pdu; i++)); do echo "      Collect \"outlet$i\""; done
        echo '    </Slave>'
      done
      echo '  </Host>'
    done
    echo '</Plugin>'
  } >"$dir/collectd-$mode.conf"
}

# ---------------------------------------------------------------------------------------------
# Running

farm_pid=""
farm_stats=""
farm_snapshot() { # out
  kill -USR1 "$farm_pid"
  sleep 0.3
  cp "$farm_stats" "$1"
}

collector_cmd() { # tool mode dir: prints nothing, sets the array cmd
  case "$1" in
    wattaudit) cmd=("$wattaudit" collect --config "$3/site-$2.conf") ;;
    collectd) cmd=(collectd -f -C "$3/collectd-$2.conf") ;;
  esac
}

count_rrd() { find "$1" -name '*.rrd' 2>/dev/null | wc -l; }
have_files() { [ "$(count_rrd "$1")" -ge "$2" ]; }

last_stop=0     # epoch second the previous collector run ended
settle() {
  # Leave more than the longest RRD heartbeat (wattaudit: 3 x step) between runs, so that a
  # run's first update cannot make rows known across the gap before it.
  local wait_s=$((last_stop + 3 * interval + 2 - $(date +%s)))
  [ "$wait_s" -gt 0 ] && sleep "$wait_s"
  return 0
}

start_rrdcached() { # tag dir: sets cached_pid
  local sock="$2/rrdcached.sock"
  rm -f "$sock"
  # -w/-z as the collectd rrdtool cache's CacheTimeout/RandomTimeout; -g stays in the
  # foreground so that runmeter sees its CPU and RSS; -F flushes everything on SIGTERM.
  "$bin/wa_bench_runmeter" "$2/$1.rrdcached.ru" -- rrdcached -g -F -l "unix:$sock" \
    -p "$2/rrdcached.pid" -b "$2" -w "$cache" -z $((cache / 6)) -f $((cache * 2)) -t 4 \
    >"$2/$1.rrdcached.log" 2>&1 &
  cached_pid=$!
  started+=("$cached_pid")
  wait_for 10 test -S "$sock" || { echo "run.sh: rrdcached did not start" >&2; cat "$2/$1.rrdcached.log" >&2; exit 1; }
}

warm_up() { # tool n dir: creates every file with an unmeasured run
  local tool=$1 n=$2 dir=$3 pid
  local data="$dir/data"; [ "$tool" = collectd ] && data="$dir/rrd"
  local mode=direct; [ "$tool" = collectd ] && mode=rrdtool
  collector_cmd "$tool" "$mode" "$dir"
  settle
  local t0=$SECONDS
  "$bin/wa_bench_runmeter" "$dir/warmup.ru" -- "${cmd[@]}" >"$dir/warmup.log" 2>&1 &
  pid=$!
  started+=("$pid")
  if ! wait_for 300 have_files "$data" "$n"; then
    echo "run.sh: $tool warm-up made $(count_rrd "$data") of $n files" >&2
    tail -20 "$dir/warmup.log" >&2
    exit 1
  fi
  sleep $((2 * interval))
  stop "$pid"
  last_stop=$(date +%s)
  echo "   $tool: $n files created in $((SECONDS - t0)) s (warm-up, not measured)"
}

mark_cpu() { # file line: the cpu_s of the line-th mark of a runmeter OUT.mark
  awk -v l="$2" 'NR == l { print $2 }' "$1"
}

# measure tool mode n dir: one run of $duration seconds; appends one line to $tmp/results
measure() {
  local tool=$1 mode=$2 n=$3 dir=$4 tag="$1-$2" pid cached_pid=""
  local data="$dir/data"; [ "$tool" = collectd ] && data="$dir/rrd"
  settle
  if [ "$mode" = rrdcached ]; then start_rrdcached "$tag" "$dir"; fi
  collector_cmd "$tool" "$mode" "$dir"
  farm_snapshot "$dir/$tag.farm0"
  local t0; t0=$(date +%s)
  "$bin/wa_bench_runmeter" "$dir/$tag.ru" -- "${cmd[@]}" >"$dir/$tag.log" 2>&1 &
  pid=$!
  started+=("$pid")
  # The first mark ends start-up (loading, connecting, reading every file's last update); the
  # second comes just before the stop.  Between them: the running cost.
  sleep "$warm"
  kill -USR1 "$pid"
  [ -z "$cached_pid" ] || kill -USR1 "$cached_pid"
  local ta; ta=$(date +%s)
  sleep $((duration - warm))
  local t1; t1=$(date +%s)
  kill -USR1 "$pid"
  [ -z "$cached_pid" ] || kill -USR1 "$cached_pid"
  sleep 0.5
  stop "$pid"
  last_stop=$(date +%s)
  local stop_s=$((last_stop - t1))
  if [ -n "$cached_pid" ]; then stop "$cached_pid"; fi
  farm_snapshot "$dir/$tag.farm1"

  local rc; rc=$(field "$dir/$tag.ru" status)
  if [ "$rc" != 0 ] && [ "$rc" != 143 ]; then
    echo "run.sh: $tag exited with status $rc; its log:" >&2
    tail -20 "$dir/$tag.log" >&2
  fi
  local cpu_c rss_c cpu_d=0 rss_d=0 ma mb da=0 db=0
  ma=$(mark_cpu "$dir/$tag.ru.mark" 1); mb=$(mark_cpu "$dir/$tag.ru.mark" 2)
  cpu_c=$(awk '{ printf "%.3f", $4 + $6 }' "$dir/$tag.ru")
  rss_c=$(field "$dir/$tag.ru" maxrss_kb)
  if [ -n "$cached_pid" ]; then
    cpu_d=$(awk '{ printf "%.3f", $4 + $6 }' "$dir/$tag.rrdcached.ru")
    rss_d=$(field "$dir/$tag.rrdcached.ru" maxrss_kb)
    da=$(mark_cpu "$dir/$tag.rrdcached.ru.mark" 1); db=$(mark_cpu "$dir/$tag.rrdcached.ru.mark" 2)
  fi
  local counted values files between
  counted=$("$bin/wa_bench_rrdcount" "$data" "$interval" "$t0" "$t1" 2>"$dir/$tag.count.err" || true)
  values=$(echo "$counted" | awk '{ print $4 }')
  files=$(echo "$counted" | awk '{ print $2 }')
  between=$("$bin/wa_bench_rrdcount" "$data" "$interval" "$ta" "$t1" 2>>"$dir/$tag.count.err" | awk '{ print $4 }' || true)
  local req polls
  req=$(($(field "$dir/$tag.farm1" requests) - $(field "$dir/$tag.farm0" requests)))
  polls=$(($(field "$dir/$tag.farm1" at_zero) - $(field "$dir/$tag.farm0" at_zero)))
  local exc=$(($(field "$dir/$tag.farm1" exceptions) - $(field "$dir/$tag.farm0" exceptions)))
  local conns=$(($(field "$dir/$tag.farm1" connections) - $(field "$dir/$tag.farm0" connections)))
  # tool mode n seconds cpu_collector cpu_daemon rss_collector_kb rss_daemon_kb values files
  # requests device_polls exceptions connections stop_seconds collector_mark1 collector_mark2
  # daemon_mark1 daemon_mark2 values_between_marks
  echo "$tool $mode $n $duration $cpu_c $cpu_d $rss_c $rss_d ${values:-0} ${files:-0} $req $polls $exc $conns $stop_s ${ma:-0} ${mb:-0} ${da:-0} ${db:-0} ${between:-0}" >>"$tmp/results"
  printf '   %-10s %-9s %3d s: cpu %6.2f s + daemon %5.2f s (%.3f s + %.3f s between the marks), %7d values in %d files (%d between), %d requests for %d device polls, stop %d s\n' \
    "$tool" "$mode" "$duration" "$cpu_c" "$cpu_d" "$(awk -v a="${ma:-0}" -v b="${mb:-0}" 'BEGIN { print b - a }')" \
    "$(awk -v a="$da" -v b="$db" 'BEGIN { print b - a }')" "${values:-0}" "${files:-0}" "${between:-0}" "$req" "$polls" "$stop_s"
}

# ---------------------------------------------------------------------------------------------

gen_profile "$tmp/profiles"
: >"$tmp/results"
echo "== interval $interval s, one run of $duration s per configuration (CPU marked at $warm s and before the stop), cache/rrdcached -w $cache s, temp $tmp"
for n in $channels; do
  gws=$(n_gws "$n")
  echo "== $n channels: $(n_pdus "$n") PDUs x $per_pdu outlets on $gws gateways (127.0.0.1:$port0..$((port0 + gws - 1)))"
  nd="$tmp/n$n"
  mkdir -p "$nd"
  farm_stats="$nd/farm.stats"
  "$bin/wa_bench_mbfarm" --ports "$port0:$gws" --stats "$farm_stats" --ready "$nd/farm.ready" \
    --max-seconds 1800 >"$nd/farm.log" 2>&1 &
  farm_pid=$!
  started+=("$farm_pid")
  wait_for 10 test -f "$nd/farm.ready" || { echo "run.sh: the gateway farm did not start" >&2; cat "$nd/farm.log" >&2; exit 1; }

  if [ "$only" != collectd ]; then
    gen_wa_conf "$n" "$nd/wa" ""
    mv "$nd/wa/site.conf" "$nd/wa/site-direct.conf"
    gen_wa_conf "$n" "$nd/wa" "unix:$nd/wa/rrdcached.sock"
    mv "$nd/wa/site.conf" "$nd/wa/site-rrdcached.conf"
    warm_up wattaudit "$n" "$nd/wa"
    for m in direct rrdcached; do
      measure wattaudit "$m" "$n" "$nd/wa"
    done
    [ "$keep" = 1 ] || rm -rf "$nd/wa/data"
  fi
  if [ "$only" != wattaudit ]; then
    gen_cd_conf "$n" "$nd/cd" rrdtool ""
    gen_cd_conf "$n" "$nd/cd" rrdcached "$nd/cd/rrdcached.sock"
    warm_up collectd "$n" "$nd/cd"
    for m in rrdtool rrdcached; do
      measure collectd "$m" "$n" "$nd/cd"
    done
    [ "$keep" = 1 ] || rm -rf "$nd/cd/rrd"
  fi
  stop "$farm_pid" 10
done

echo
awk -v interval="$interval" -v duration="$duration" -v warm="$warm" -f "$(dirname "$0")/report.awk" "$tmp/results"
