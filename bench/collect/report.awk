# Prints the table and the ratios of bench/collect/run.sh from its results file, one line per
# measured configuration:
#   tool mode channels cpu_collector cpu_daemon rss_collector_kb rss_daemon_kb values files
#   requests device_polls exceptions connections stop_seconds
# Targets (the issue): CPU per stored value at most 1/5 of collectd's, fewer Modbus
# transactions per poll cycle, peak RSS no more than collectd's.
function cpu(k) { return (c[k] + d[k]) }
function per1k(k) { return v[k] > 0 ? 1000 * cpu(k) / v[k] : -1 }
function txc(k) { return pl[k] > 0 ? rq[k] / (pl[k] / dev[k]) : -1 }
function rss(k) { return (rc[k] + rd[k]) / 1024 }
function verdict(ok) { return ok ? "PASS" : "FAIL" }
function compare(n, a, b, label,   r1, r2, r3) {
  if (!((n, a) in c) || !((n, b) in c)) return
  r1 = per1k(b) > 0 ? per1k(a) / per1k(b) : -1
  r2 = txc(b) > 0 ? txc(a) / txc(b) : -1
  r3 = rss(b) > 0 ? rss(a) / rss(b) : -1
  printf "  %-36s cpu/value %6.3f (<= 0.200 %s)  tx/cycle %6.3f (< 1 %s)  peak RSS %5.2f (<= 1 %s)\n",
         label, r1, verdict(r1 >= 0 && r1 <= 0.2), r2, verdict(r2 >= 0 && r2 < 1),
         r3, verdict(r3 >= 0 && r3 <= 1)
  if (!(r1 >= 0 && r1 <= 0.2 && r2 >= 0 && r2 < 1 && r3 >= 0 && r3 <= 1)) failed++
  compared++
}
{
  k = $3 SUBSEP $1 " " $2
  c[k] = $4; d[k] = $5; rc[k] = $6; rd[k] = $7; v[k] = $8; f[k] = $9; rq[k] = $10; pl[k] = $11
  ex[k] = $12; cn[k] = $13; st[k] = $14; dev[k] = $3 / 20
  if (!($3 in seen)) { seen[$3] = 1; ns[++nn] = $3 }
  order[$3, ++cnt[$3]] = $1 " " $2
}
END {
  printf "interval %d s, %d s per configuration; CPU = collector + rrdcached (user + system), RSS = sum of peaks\n\n", interval, duration
  for (i = 1; i <= nn; i++) {
    n = ns[i]
    printf "%d channels (%d devices)\n", n, n / 20
    printf "  %-20s %8s %8s %8s %12s %9s %9s %9s %10s\n", "configuration", "cpu s", "daemon", "values",
           "cpu s/1000v", "tx/cycle", "RSS MB", "daemon", "exceptions"
    for (j = 1; j <= cnt[n]; j++) {
      k = n SUBSEP order[n, j]
      printf "  %-20s %8.3f %8.3f %8d %12.4f %9.1f %9.1f %9.1f %10d\n", order[n, j], c[k], d[k], v[k],
             per1k(k), txc(k), rc[k] / 1024, rd[k] / 1024, ex[k]
    }
    print "ratios wattaudit / collectd:"
    compare(n, n SUBSEP "wattaudit direct", n SUBSEP "collectd rrdtool", "direct librrd vs rrdtool plugin cache")
    compare(n, n SUBSEP "wattaudit rrdcached", n SUBSEP "collectd rrdcached", "rrdcached vs rrdcached")
    print ""
  }
  if (compared) printf "%s: %d of %d comparisons meet all three targets\n", failed ? "FAIL" : "PASS", compared - failed, compared
}
