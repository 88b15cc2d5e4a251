# Prints the table and the ratios of bench/collect/run.sh from its results file, one line per
# measured run:
#   tool mode channels seconds cpu_collector cpu_daemon rss_collector_kb rss_daemon_kb values
#   files requests device_polls exceptions connections stop_seconds collector_mark1
#   collector_mark2 daemon_mark1 daemon_mark2 values_between_marks
# "whole" is the run's CPU over its values.  "steady" splits the run at two CPU marks, one
# after start-up (-v warm seconds in) and one just before the stop:
#   running cost per value = CPU between the marks / values stored between them,
#   which leaves out what starting costs once (loading, connecting, reading files);
#   plus the stop's cost / the run's values: the final flush, where the caches (collectd's
#   and rrdcached's) write each file once with every value of the run.
# Targets (the issue): CPU per stored value at most 1/5 of collectd's (judged on steady),
# fewer Modbus transactions per poll cycle, peak RSS (collector + rrdcached) no more than
# collectd's; judged on the like-for-like pairs (direct against the rrdtool plugin's cache,
# rrdcached against rrdcached).  "best of each" is printed for information.
function key(n, cfg) { return n SUBSEP cfg }
function tot(k) { return c[k] + d[k] }
function whole(n, cfg,   k) { k = key(n, cfg); return v[k] > 0 ? 1000 * tot(k) / v[k] : -1 }
function steady(n, cfg,   k, run, stop) {
  k = key(n, cfg)
  if (vb[k] <= 0 || v[k] <= 0) return -1
  run = (mb[k] - ma[k]) + (db[k] - da[k])
  stop = (c[k] - mb[k]) + (d[k] - db[k])
  return 1000 * (run / vb[k] + stop / v[k])
}
function txc(n, cfg,   k) { k = key(n, cfg); return pl[k] > 0 ? rq[k] / (pl[k] / (n / 20)) : -1 }
function peak(n, cfg, which,   k) { k = key(n, cfg); return (which == "c" ? rc[k] : rd[k]) / 1024 }
function rss(n, cfg) { return peak(n, cfg, "c") + peak(n, cfg, "d") }
function ratio(a, b) { return b > 0 && a >= 0 ? a / b : -1 }
function verdict(ok) { return ok ? "PASS" : "FAIL" }
function best(n, tool,   j, cfg, b) {
  b = ""
  for (j = 1; j <= cnt[n]; j++) {
    cfg = cfgs[n, j]
    if (index(cfg, tool " ") == 1 && steady(n, cfg) > 0 && (b == "" || steady(n, cfg) < steady(n, b)))
      b = cfg
  }
  return b
}
function compare(n, a, b, label, judged,   r0, r1, r2, r3, ok) {
  if (!(key(n, a) in c) || !(key(n, b) in c)) return
  r0 = ratio(whole(n, a), whole(n, b)); r1 = ratio(steady(n, a), steady(n, b))
  r2 = ratio(txc(n, a), txc(n, b)); r3 = ratio(rss(n, a), rss(n, b))
  ok = r1 >= 0 && r1 <= 0.2 && r2 >= 0 && r2 < 1 && r3 >= 0 && r3 <= 1
  printf "  %-34s cpu/value %5.2f %s (whole run %5.2f)  tx/cycle %5.3f %s  peak RSS %4.2f %s%s\n",
         label, r1, verdict(r1 >= 0 && r1 <= 0.2), r0, r2, verdict(r2 >= 0 && r2 < 1),
         r3, verdict(r3 >= 0 && r3 <= 1), judged ? "" : "  (information)"
  if (!judged) return
  compared++
  if (!ok) failed++
}
{
  cfg = $1 " " $2
  k = key($3, cfg)
  c[k] = $5; d[k] = $6; rc[k] = $7; rd[k] = $8; v[k] = $9; rq[k] = $11; pl[k] = $12; ex[k] = $13
  ma[k] = $16; mb[k] = $17; da[k] = $18; db[k] = $19; vb[k] = $20
  if (!($3 in seen)) { seen[$3] = 1; ns[++nn] = $3 }
  if (!(($3, cfg) in seencfg)) { seencfg[$3, cfg] = 1; cfgs[$3, ++cnt[$3]] = cfg }
}
END {
  printf "interval %d s; one run of %d s per configuration.  CPU = collector + rrdcached, user + system,\n", interval, duration
  printf "from wait4() and the process CPU clocks.  steady = CPU between a mark %d s in and one just before\n", warm
  printf "the stop, per value stored between them, + the stop's cost (final flushes: the caches write each\n"
  printf "file once) per value of the run.\n"
  printf "RSS = peak resident set (wait4 ru_maxrss) of the collector and of its rrdcached.\n\n"
  for (i = 1; i <= nn; i++) {
    n = ns[i]
    printf "%d channels (%d PDUs):\n", n, n / 20
    printf "  %-20s %7s %7s %7s %13s %13s %9s %7s %7s %5s\n", "", "cpu s", "daemon", "values",
           "whole s/1kval", "steady s/1kval", "tx/cycle", "RSS MB", "daemon", "exc"
    for (j = 1; j <= cnt[n]; j++) {
      cfg = cfgs[n, j]; k = key(n, cfg)
      printf "  %-20s %7.3f %7.3f %7d %13.4f %13.4f %9.1f %7.1f %7.1f %5d\n", cfg, c[k], d[k], v[k],
             whole(n, cfg), steady(n, cfg), txc(n, cfg), peak(n, cfg, "c"), peak(n, cfg, "d"), ex[k]
    }
    print "  ratios wattaudit / collectd (targets: cpu/value <= 0.20, tx/cycle < 1, RSS <= 1):"
    compare(n, "wattaudit direct", "collectd rrdtool", "librrd direct / rrdtool cache", 1)
    compare(n, "wattaudit rrdcached", "collectd rrdcached", "rrdcached / rrdcached", 1)
    bw = best(n, "wattaudit"); bc = best(n, "collectd")
    if (bw != "" && bc != "") {
      lw = bw; sub(/^wattaudit /, "", lw); lc = bc; sub(/^collectd /, "", lc)
      compare(n, bw, bc, "best of each: " lw " / " lc, 0)
    }
    print ""
  }
  if (compared) printf "%s: %d of %d like-for-like comparisons meet all three targets\n", failed ? "FAIL" : "PASS", compared - failed, compared
}
